//! Vendor backends through the real binary: the connector speaks the vendor's API to a stand-in
//! on loopback, with the credential the admin gave and nowhere else.

use palisade_e2e::{Case, Receiver, Recorded, Reply, SPRAY_IP, note, spray_alert};
use serde_json::json;

fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("00okta-{}-{nanos}", std::process::id())
}

/// Okta's Users API as documented: users by login, sessions cleared by id. bob is unknown.
fn okta(request: &Recorded) -> Option<Reply> {
    let user = |login: &str| {
        json!({
            "id": format!("00u-{login}"),
            "status": "ACTIVE",
            "profile": {"login": login, "email": format!("{login}@acme.example")}
        })
    };
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/v1/users/alice") => Some(Reply::json(200, &user("alice"))),
        ("GET", "/api/v1/users/00u-alice/groups?limit=200") => Some(Reply::json(200, &json!([]))),
        ("GET", "/api/v1/users/bob") => Some(Reply::json(
            404,
            &json!({
                "errorCode": "E0000007",
                "errorSummary": "Not found: Resource not found: bob (User)",
                "errorLink": "E0000007",
                "errorId": "oae1",
                "errorCauses": []
            }),
        )),
        ("DELETE", "/api/v1/users/00u-alice/sessions") => Some(Reply {
            status: 204,
            ..Reply::body(String::new(), false)
        }),
        _ => None,
    }
}

#[test]
fn a_spray_clears_okta_sessions_with_the_api_token_held_by_the_host() {
    let receiver = Receiver::with_rule(okta);
    let token = token();
    let case = Case::new()
        .receiver(&receiver)
        .var("OKTA", &format!("http://127.0.0.1:{}", receiver.port()))
        .env("PALISADE_E2E_OKTA_TOKEN", &token);
    case.config(
        r#"
[defaults.connectors]
identity = "okta"
network = "hook"
ticket = "hook"

[connectors.okta]
kind = "okta"
url = "${OKTA}"
token = { env = "PALISADE_E2E_OKTA_TOKEN" }
retries = 1

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
"#,
    );
    case.alerts(&[spray_alert("spray-1", 92)]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let okta_calls: Vec<(String, String, Option<String>)> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| {
            (
                r.method.clone(),
                r.path.clone(),
                r.header("authorization").map(str::to_owned),
            )
        })
        .collect();
    let ssws = Some(format!("SSWS {token}"));
    // Each account is resolved before the gate decides; the sessions cleared are those of
    // the Okta id resolved.
    for call in [
        ("GET", "/api/v1/users/alice"),
        ("GET", "/api/v1/users/00u-alice/groups?limit=200"),
        ("DELETE", "/api/v1/users/00u-alice/sessions"),
        ("GET", "/api/v1/users/bob"),
    ] {
        assert!(
            okta_calls.contains(&(call.0.into(), call.1.into(), ssws.clone())),
            "{call:?} not in {okta_calls:#?}"
        );
    }
    assert_eq!(okta_calls.len(), 4, "a 404 is not retried: {okta_calls:#?}");

    let spray = run.plugin("spray-1", "password-spray");
    assert_eq!(
        note(&spray, "sessions_revoked").as_deref(),
        Some("1 of 2"),
        "{run}"
    );
    // An account Okta does not know is not acted on by its name: it waits for a person, who
    // reads Okta's reason.
    let bob = spray["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["target"] == "bob")
        .cloned()
        .unwrap_or_default();
    assert_eq!(bob["status"], "held", "{run}");
    assert!(
        bob["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("Resource not found: bob (User)"),
        "the approver sees Okta's reason: {bob:#}"
    );

    assert!(
        !run.stdout.contains(&token) && !run.stderr.contains(&token),
        "{run}"
    );
    let audit = case.palisade(&["audit", "--json", "--config", "palisade.toml"]);
    assert!(!audit.stdout.contains(&token), "the audit holds the token");

    // At the most verbose, the log is Palisade's and its plugins', not the HTTP stack's
    // (whose trace lines carry URLs and headers), and holds no secret.
    let traced = case.palisade(&["-vvv", "run", "--config", "palisade.toml", "alerts.jsonl"]);
    assert!(
        traced.stderr.contains("TRACE") || traced.stderr.contains("DEBUG") || traced.stderr.contains("INFO"),
        "{traced}"
    );
    assert!(
        !traced.stderr.contains(&token) && !traced.stdout.contains(&token),
        "{traced}"
    );
    // The HTTP stack's trace names the address it connects to; Palisade never logs a URL.
    let address = format!("127.0.0.1:{}", receiver.port());
    assert!(
        !traced.stderr.contains(&address),
        "the HTTP stack logs at -vvv: {traced}"
    );
}

/// AbuseIPDB's `check` as documented, for the spray's source address.
fn abuseipdb(request: &Recorded) -> Option<Reply> {
    (request.method == "GET" && request.path == format!("/api/v2/check?ipAddress={SPRAY_IP}&maxAgeInDays=90"))
        .then(|| {
            Reply::json(
                200,
                &json!({"data": {
                    "ipAddress": SPRAY_IP, "isPublic": true, "ipVersion": 4, "isWhitelisted": false,
                    "abuseConfidenceScore": 100, "countryCode": "NL", "usageType": "Data Center/Web Hosting/Transit",
                    "isp": "Example Hosting", "domain": "example.net", "totalReports": 1287,
                    "numDistinctUsers": 213, "lastReportedAt": "2026-11-26T08:59:00+00:00"
                }}),
            )
        })
}

#[test]
fn a_burst_of_alerts_about_one_address_asks_abuseipdb_once() {
    let receiver = Receiver::with_rule(abuseipdb);
    let key = token();
    let case = Case::new()
        .receiver(&receiver)
        .var("ABUSEIPDB", &format!("http://127.0.0.1:{}", receiver.port()))
        .env("PALISADE_E2E_ABUSEIPDB_KEY", &key);
    case.config(
        r#"
[connectors.abuseipdb]
kind = "abuseipdb"
url = "${ABUSEIPDB}"
api_key = { env = "PALISADE_E2E_ABUSEIPDB_KEY" }

[plugins.ip-reputation]
path = "${IP_REPUTATION}"
stage = "enrich"
grants = ["intel.lookup"]
connectors = { intel = "abuseipdb" }
"#,
    );
    let alerts: Vec<String> = (1..=5).map(|n| spray_alert(&format!("spray-{n}"), 92)).collect();
    case.alerts(&alerts);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let checks = receiver.requests();
    assert_eq!(
        checks.len(),
        1,
        "five alerts, one address, one vendor call: {checks:#?}"
    );
    assert_eq!(checks[0].header("key"), Some(key.as_str()));
    assert_eq!(checks[0].header("accept"), Some("application/json"));
    for n in 1..=5 {
        let intel = run.plugin(&format!("spray-{n}"), "ip-reputation");
        let reputation = note(&intel, &format!("intel:{SPRAY_IP}")).unwrap_or_default();
        assert!(
            reputation.starts_with("malicious score=100"),
            "spray-{n}: {reputation}\n{run}"
        );
    }
    assert!(!run.stdout.contains(&key) && !run.stderr.contains(&key), "{run}");
}
