//! Response actions reach the vendor systems as configured: the password-spray plugin's
//! containment and ticket, and the stages feeding one another.

use std::collections::BTreeSet;

use palisade_e2e::{Case, Receiver, Reply, SPRAY_IP, note, spray_alert, strings};
use serde_json::{Value, json};

/// identity, network and ticket served by the receiver, with a token from the environment.
const SPRAY_CONFIG: &str = r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
timeout_ms = 5000
token = { env = "PALISADE_E2E_TOKEN" }

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
"#;

/// A token no one else would send, so a request carrying it came from this run.
fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("e2e-token-{}-{nanos}", std::process::id())
}

#[test]
fn a_confident_spray_revokes_signed_in_accounts_blocks_the_source_and_opens_a_ticket() {
    let receiver = Receiver::start();
    let token = token();
    assert!(
        std::env::var_os("PALISADE_E2E_TOKEN").is_none(),
        "the token must reach palisade only through its own environment"
    );
    let case = Case::new().receiver(&receiver).env("PALISADE_E2E_TOKEN", &token);
    case.config(SPRAY_CONFIG);
    case.alerts(&[spray_alert("spray-1", 92)]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    // What the vendors saw: each account looked up, then exactly two revocations (by the id
    // the directory answered), one block, one ticket.
    let looked_up: BTreeSet<String> = receiver
        .calls("identity", "lookup-user")
        .iter()
        .map(|r| r.request()["user"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(looked_up, BTreeSet::from(["alice".to_owned(), "bob".to_owned()]));
    let requests = receiver.effects();
    let mut seen: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.capability().to_owned(), r.operation().to_owned()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("identity".to_owned(), "revoke-sessions".to_owned()),
            ("identity".to_owned(), "revoke-sessions".to_owned()),
            ("network".to_owned(), "block-ip".to_owned()),
            ("ticket".to_owned(), "create".to_owned()),
        ],
        "{requests:#?}\n{run}"
    );

    let revoked: BTreeSet<&str> = requests
        .iter()
        .filter(|r| r.is("identity", "revoke-sessions"))
        .map(|r| r.request()["user"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        revoked,
        BTreeSet::from(["alice", "bob"]),
        "carol's sign-in failed: her sessions stay"
    );
    for revoke in requests.iter().filter(|r| r.is("identity", "revoke-sessions")) {
        let user = revoke.request()["user"].as_str().unwrap_or_default();
        assert_eq!(
            revoke.request()["user_id"],
            format!("uid-{user}"),
            "acted on the record the lookup resolved"
        );
        let reason = revoke.request()["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("spray-1"),
            "the reason names the alert: {reason:?}"
        );
    }

    let block = &receiver.calls("network", "block-ip")[0];
    assert_eq!(block.request()["target"], SPRAY_IP, "{:#?}", block.body);
    assert_eq!(
        block.request()["duration_seconds"],
        24 * 3600,
        "block_hours defaults to 24"
    );

    let ticket = &receiver.calls("ticket", "create")[0];
    let description = ticket.request()["description"].as_str().unwrap_or_default();
    for expected in ["spray-1", "alice", "bob", SPRAY_IP] {
        assert!(
            description.contains(expected),
            "the ticket's description mentions {expected}:\n{description}"
        );
    }
    assert_eq!(ticket.request()["severity"], "high");
    let observables = ticket.request()["observables"].to_string();
    assert!(
        observables.contains(SPRAY_IP) && observables.contains("alice"),
        "{observables}"
    );

    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/palisade");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {token}").as_str()),
            "{request:#?}"
        );
        assert_eq!(request.body["alert_id"], "spray-1", "{request:#?}");
        assert_eq!(request.body["plugin"], "password-spray", "{request:#?}");
        assert!(
            request.body["action_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{request:#?}"
        );
    }
    let action_ids: BTreeSet<&str> = requests
        .iter()
        .filter_map(|r| r.body["action_id"].as_str())
        .collect();
    assert_eq!(
        action_ids.len(),
        requests.len(),
        "each call has its own action id"
    );

    // What the report says.
    let spray = run.plugin("spray-1", "password-spray");
    assert_eq!(spray["status"], "completed", "{run}");
    assert_eq!(spray["stage"], "respond");
    assert_eq!(
        note(&spray, "sessions_revoked").as_deref(),
        Some("2 of 2"),
        "{run}"
    );
    assert_eq!(note(&spray, "ips_blocked").as_deref(), Some("1 of 1"), "{run}");
    assert_eq!(note(&spray, "ticket").as_deref(), Some("T-1"), "{run}");
    assert!(strings(&spray["denied"]).is_empty(), "{run}");
    let actions: BTreeSet<(String, String, String)> = spray["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let field = |name: &str| a[name].as_str().unwrap_or_default().to_owned();
            (field("operation"), field("target"), field("status"))
        })
        .collect();
    for (operation, target) in [
        ("identity.revoke-sessions", "alice"),
        ("identity.revoke-sessions", "bob"),
        ("network.block-ip", SPRAY_IP),
    ] {
        assert!(
            actions.contains(&(operation.into(), target.into(), "executed".into())),
            "{operation} {target} is recorded as executed: {actions:?}"
        );
    }
    assert!(
        !actions.iter().any(|(_, target, _)| target == "carol"),
        "{actions:?}"
    );

    let alert = &run.alert("spray-1")["alert"];
    assert_eq!(alert["verdict"], "malicious");
    let tags = strings(&alert["tags"]);
    assert!(tags.contains(&"contained".to_owned()), "{tags:?}");
    assert!(
        tags.contains(&"okta".to_owned()),
        "the alert's own tags stay: {tags:?}"
    );
    run.summary();
}

#[test]
fn a_low_confidence_spray_calls_no_vendor() {
    let receiver = Receiver::start();
    let case = Case::new()
        .receiver(&receiver)
        .env("PALISADE_E2E_TOKEN", &token());
    case.config(SPRAY_CONFIG);
    case.alerts(&[spray_alert("spray-weak", 40)]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        receiver.requests().is_empty(),
        "{:#?}\n{run}",
        receiver.requests()
    );
    let spray = run.plugin("spray-weak", "password-spray");
    assert_eq!(spray["status"], "completed", "{run}");
    let skipped = note(&spray, "skipped").unwrap_or_default();
    assert!(skipped.contains("below min_confidence 80"), "{run}");
    assert!(spray["actions"].as_array().is_none_or(Vec::is_empty), "{run}");
}

#[test]
fn enrichment_reaches_triage_and_response_in_stage_order() {
    let receiver = Receiver::with_rule(|r| {
        (r.is("intel", "lookup") && r.request()["value"] == SPRAY_IP)
            .then(|| Reply::intel(SPRAY_IP, "malicious", 95, &["abuse-feed"]))
    });
    // The plugins are declared against their stage order: the stages, not the file, decide.
    let case = Case::new()
        .receiver(&receiver)
        .env("PALISADE_E2E_TOKEN", &token());
    case.config(
        r#"
[defaults.connectors]
intel = "hook"
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
token = { env = "PALISADE_E2E_TOKEN" }

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]

[plugins.triage]
path = "${TRIAGE}"
stage = "triage"

[plugins.ip-reputation]
path = "${IP_REPUTATION}"
stage = "enrich"
grants = ["intel.lookup"]
"#,
    );
    case.alerts(&[spray_alert("spray-2", 92)]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.plugins_run("spray-2"),
        ["ip-reputation", "triage", "password-spray"],
        "{run}"
    );
    let stages: Vec<Value> = run.alert("spray-2")["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stage"].clone())
        .collect();
    assert_eq!(stages, [json!("enrich"), json!("triage"), json!("respond")]);

    let lookups = receiver.calls("intel", "lookup");
    assert_eq!(lookups.len(), 1, "one public address, one lookup");
    assert_eq!(lookups[0].request(), &json!({"type": "ip", "value": SPRAY_IP}));

    let intel = run.plugin("spray-2", "ip-reputation");
    let reputation = note(&intel, &format!("intel:{SPRAY_IP}")).unwrap_or_default();
    assert!(reputation.starts_with("malicious score=95"), "{run}");

    // Triage weighed the intel: high=70 scaled by confidence 92 is 67, +15 for the address.
    let triage = run.plugin("spray-2", "triage");
    assert_eq!(
        note(&triage, "risk:intel").as_deref(),
        Some("+15 203.0.113.7"),
        "{run}"
    );
    assert_eq!(triage["outcome"]["risk_score"], 82, "{run}");
    assert_eq!(triage["outcome"]["verdict"], "malicious", "{run}");

    // The final alert carries every stage's findings, in stage order.
    let alert = &run.alert("spray-2")["alert"];
    let annotations: Vec<(String, String)> = alert["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["source"].as_str().unwrap_or_default().to_owned(),
                a["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let position = |source: &str, key: &str| {
        annotations
            .iter()
            .position(|(s, k)| s == source && k == key)
            .unwrap_or_else(|| panic!("no annotation {source} {key}: {annotations:?}"))
    };
    let intel_at = position("ip-reputation", &format!("intel:{SPRAY_IP}"));
    let risk_at = position("triage", "risk:intel");
    let spray_at = position("password-spray", "sessions_revoked");
    assert!(intel_at < risk_at && risk_at < spray_at, "{annotations:?}");
    let sources: Vec<&str> = annotations.iter().map(|(s, _)| s.as_str()).collect();
    let mut grouped = sources.clone();
    grouped.dedup();
    assert_eq!(
        grouped,
        ["ip-reputation", "triage", "password-spray"],
        "annotations are grouped by plugin in stage order: {sources:?}"
    );
    assert_eq!(alert["risk_score"], 82, "{run}");
    assert_eq!(alert["verdict"], "malicious", "{run}");
    let tags = strings(&alert["tags"]);
    for tag in ["intel:malicious", "priority:p1", "password-spray"] {
        assert!(tags.contains(&tag.to_owned()), "{tag} in {tags:?}");
    }
    // One priority: the host's, from the triage's risk score, in the tags and the report.
    let priorities: Vec<&String> = tags.iter().filter(|t| t.starts_with("priority:")).collect();
    assert_eq!(priorities, ["priority:p1"], "{tags:?}");
    assert_eq!(
        run.alert("spray-2")["priority"],
        serde_json::json!({"score": 82, "label": "p1"}),
        "{run}"
    );

    // The respond stage saw the earlier findings too: they are in the ticket.
    let ticket = &receiver.calls("ticket", "create")[0];
    let description = ticket.request()["description"].as_str().unwrap_or_default();
    assert!(
        description.contains(&format!("intel:{SPRAY_IP}")) && description.contains("risk:intel"),
        "{description}"
    );
}
