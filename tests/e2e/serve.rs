//! `palisade serve`: alerts posted by authenticated senders are acknowledged once committed,
//! run by the same pipeline as `palisade run`, reported, and survive a kill.

use palisade_e2e::{Case, Receiver, Reply, SPRAY_IP, Serving, signature, spray_alert};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const EDR_SECRET: &str = "edr-signing-key-for-tests";
const API_TOKEN: &str = "api-token-for-tests";
const ONCALL_TOKEN: &str = "oncall-token-for-tests";

/// The spray plugin acting through the receiver; two sources, one signing, one with a token.
const CONFIG: &str = r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
timeout_ms = 5000

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]

# Above what the tests send: a re-send after a kill must show, not be held by the breaker.
[policy.blast_radius]
per_plugin = 1000
global = 1000

[policy.protected]
ip_ranges = ["203.0.113.66/32"]

[serve]
body_limit_kib = 64

[serve.tokens.viewer]
role = "viewer"
token = { env = "PALISADE_E2E_API_TOKEN" }

[serve.tokens.oncall]
role = "approver"
token = { env = "PALISADE_E2E_ONCALL_TOKEN" }

[serve.sources.edr]
auth = "hmac"
secret = { file = "edr.key" }

[serve.sources.siem]
auth = "bearer"
token = { env = "PALISADE_E2E_SIEM_TOKEN" }
"#;

fn case(receiver: &Receiver) -> Case {
    let case = Case::new()
        .receiver(receiver)
        .env("PALISADE_E2E_API_TOKEN", API_TOKEN)
        .env("PALISADE_E2E_ONCALL_TOKEN", ONCALL_TOKEN)
        .env("PALISADE_E2E_SIEM_TOKEN", "siem-token-for-tests");
    case.write("edr.key", EDR_SECRET);
    case.config(CONFIG);
    case
}

/// A spray from its own address, so it is no repeat of another by content.
fn spray(id: &str, source: u8, confidence: u8) -> String {
    spray_alert(id, confidence).replace(SPRAY_IP, &format!("203.0.113.{source}"))
}

fn api() -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {API_TOKEN}"))]
}

/// The report of `id` once the service has kept it.
fn report(serving: &Serving, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let answer = serving.get(&format!("/v1/alerts/{id}"), &api());
        if answer.status == 200 {
            return answer.json();
        }
        assert_eq!(answer.status, 404, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no report for {id}:\n{}",
            serving.stderr()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn a_signed_alert_is_acknowledged_run_and_reported_and_a_repeat_is_not_run_again() {
    let receiver = Receiver::start();
    let case = case(&receiver);
    let serving = case.serve();

    let accepted = serving.post_signed("edr", EDR_SECRET, &spray_alert("serve-1", 95));
    assert_eq!(accepted.status, 202, "{accepted:?}");
    assert_eq!(accepted.json()["accepted"], serde_json::json!(["serve-1"]));
    let kept = report(&serving, "serve-1");
    assert_eq!(kept["type"], "alert", "{kept}");
    assert_eq!(kept["alert"]["id"], "serve-1", "{kept}");
    assert_eq!(receiver.calls("network", "block-ip").len(), 1);

    // The same alert again: acknowledged as a repeat, not queued, not acted on twice.
    let again = serving.post_signed("edr", EDR_SECRET, &spray_alert("serve-1", 95));
    assert_eq!(again.status, 202, "{again:?}");
    assert_eq!(again.json()["duplicates"][0]["of"], "serve-1", "{again:?}");

    // NDJSON from the token source: the malformed line is named, the others taken.
    let body = format!(
        "{}\nnot an alert\n{}\n",
        spray("serve-2", 2, 95),
        spray("serve-3", 3, 40)
    );
    let mixed = serving.post(
        "/v1/sources/siem/alerts",
        &[("authorization", "Bearer siem-token-for-tests".to_owned())],
        body.as_bytes(),
    );
    assert_eq!(mixed.status, 202, "{mixed:?}");
    let answer = mixed.json();
    assert_eq!(
        answer["accepted"],
        serde_json::json!(["serve-2", "serve-3"]),
        "{answer}"
    );
    assert_eq!(answer["rejected"][0]["line"], 2, "{answer}");
    report(&serving, "serve-2");
    report(&serving, "serve-3");
    let blocked = receiver.calls("network", "block-ip");
    assert_eq!(blocked.len(), 2, "the confident sprays are contained, once each");

    // The metrics count what was posted, in text a Prometheus scraper reads.
    let scraped = serving.get("/metrics", &[]);
    assert_eq!(scraped.status, 200);
    let metrics = prometheus_samples(&scraped.body);
    for (sample, value) in [
        (r#"palisade_alerts_accepted_total{source="edr"}"#, 1.0),
        (r#"palisade_alerts_accepted_total{source="siem"}"#, 2.0),
        (r#"palisade_alerts_duplicate_total{source="edr"}"#, 1.0),
        (
            r#"palisade_alerts_rejected_total{source="siem",reason="malformed"}"#,
            1.0,
        ),
        (
            r#"palisade_alerts_processed_total{source="edr",outcome="completed"}"#,
            1.0,
        ),
        (
            r#"palisade_alerts_processed_total{source="siem",outcome="completed"}"#,
            2.0,
        ),
        (
            r#"palisade_actions_total{operation="network.block-ip",decision="executed"}"#,
            2.0,
        ),
        ("palisade_queue_depth", 0.0),
        ("palisade_store_records_lost", 0.0),
    ] {
        assert_eq!(metrics.get(sample), Some(&value), "{sample} in\n{}", scraped.body);
    }

    assert_eq!(serving.terminate(Duration::from_secs(30)), Some(0));
}

/// Every sample of a Prometheus text exposition, checking each line's form on the way.
fn prometheus_samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut samples = std::collections::BTreeMap::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP ")
                    || comment.starts_with("TYPE ")
                    || comment.starts_with("UNIT ")
                    || comment == "EOF",
                "{line}"
            );
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        assert!(name.starts_with("palisade_"), "{line}");
        samples.insert(name.to_owned(), value);
    }
    samples
}

#[test]
fn senders_that_cannot_prove_who_they_are_get_401_and_are_audited() {
    let receiver = Receiver::start();
    let case = case(&receiver);
    let serving = case.serve();
    let body = spray_alert("forged-1", 99);
    let path = "/v1/sources/edr/alerts";

    let wrong_key = serving.post(
        path,
        &signature("not-the-key", palisade_e2e::serve_now(), &body),
        body.as_bytes(),
    );
    let stale = serving.post(
        path,
        &signature(EDR_SECRET, palisade_e2e::serve_now() - 600, &body),
        body.as_bytes(),
    );
    let unsigned = serving.post(path, &[], body.as_bytes());
    let unknown = serving.post_signed("nobody", EDR_SECRET, &body);
    let bad_token = serving.post(
        "/v1/sources/siem/alerts",
        &[("authorization", "Bearer guess".to_owned())],
        body.as_bytes(),
    );
    for answer in [&wrong_key, &stale, &unsigned, &unknown, &bad_token] {
        assert_eq!(answer.status, 401, "{answer:?}");
        assert!(answer.body.is_empty(), "a refusal says nothing: {answer:?}");
    }
    // The tampered body: signed for one alert, carrying another.
    let mut tampered = signature(EDR_SECRET, palisade_e2e::serve_now(), &body);
    tampered.retain(|(name, _)| *name != "content-type");
    let other = spray_alert("forged-2", 99);
    assert_eq!(serving.post(path, &tampered, other.as_bytes()).status, 401);

    let oversized = format!("[{}]", vec![spray_alert("big", 90); 200].join(","));
    assert!(oversized.len() > 64 * 1024);
    assert_eq!(serving.post_signed("edr", EDR_SECRET, &oversized).status, 413);
    // Reading reports needs the API token.
    assert_eq!(serving.get("/v1/alerts/forged-1", &[]).status, 401);

    assert_eq!(serving.terminate(Duration::from_secs(30)), Some(0));
    assert!(receiver.effects().is_empty(), "nothing forged was acted on");
    let audit = case.palisade(&["audit", "--json"]);
    let refusals: Vec<Value> = audit
        .json()
        .into_iter()
        .filter(|record| record["kind"] == "intake")
        .collect();
    assert_eq!(refusals.len(), 6, "{audit}");
    let reasons: BTreeSet<String> = refusals
        .iter()
        .map(|r| r["detail"]["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    for reason in [
        "wrong signature or token",
        "timestamp outside the replay window",
        "no credentials",
        "unknown source",
    ] {
        assert!(reasons.contains(reason), "{reasons:?}");
    }
    assert!(refusals.iter().all(|r| {
        r["detail"]["remote"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    }));
}

/// A held block, as a person meets it through the API: a viewer sees it and may not approve it;
/// the approver's approval carries it out once, under the approver's name.
#[test]
fn a_held_operation_is_listed_for_viewers_and_carried_out_once_by_an_approver() {
    let receiver = Receiver::start();
    let case = case(&receiver);
    let serving = case.serve();
    assert_eq!(
        serving
            .post_signed("edr", EDR_SECRET, &spray("held-1", 66, 95))
            .status,
        202
    );
    report(&serving, "held-1");
    assert!(
        receiver.calls("network", "block-ip").is_empty(),
        "a protected address is not blocked alone"
    );

    let listed = serving.get("/v1/approvals", &api());
    assert_eq!(listed.status, 200, "{listed:?}");
    let approvals = listed.json()["approvals"].as_array().cloned().unwrap_or_default();
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(approvals[0]["operation"], "network.block-ip");
    let id = approvals[0]["id"].as_str().unwrap().to_owned();

    let path = format!("/v1/approvals/{id}/approve");
    assert_eq!(
        serving.post(&path, &api(), b"").status,
        403,
        "a viewer may not approve"
    );
    assert_eq!(serving.post(&path, &[], b"").status, 401);
    let oncall = vec![("authorization", format!("Bearer {ONCALL_TOKEN}"))];
    let approved = serving.post(&path, &oncall, b"");
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_eq!(approved.json()["executed"], true, "{approved:?}");
    // Once: a second approval finds it decided.
    assert_eq!(serving.post(&path, &oncall, b"").status, 409);
    let blocks = receiver.calls("network", "block-ip");
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].request()["target"], "203.0.113.66");

    // It went wrong after all: the approver undoes it, once.
    let action_id = approved.json()["action_id"].as_str().unwrap().to_owned();
    let standing = serving.get("/v1/actions", &api()).json();
    assert!(
        standing["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"]["action_id"] == action_id.as_str()),
        "{standing}"
    );
    let undo = format!("/v1/actions/{action_id}/undo");
    assert_eq!(
        serving.post(&undo, &api(), b"").status,
        403,
        "a viewer may not undo"
    );
    assert_eq!(serving.post(&undo, &oncall, b"").status, 200);
    assert_eq!(serving.post(&undo, &oncall, b"").status, 409, "undone once");
    assert_eq!(receiver.calls("network", "unblock-ip").len(), 1);

    let decided = serving.get("/v1/approvals?all=true", &api()).json();
    assert_eq!(decided["approvals"][0]["decided_by"], "api:oncall", "{decided}");
    // Resetting the breaker is an admin's; the approver's token is refused.
    let reset = serving.post(
        "/v1/breaker/reset",
        &[
            ("authorization", format!("Bearer {ONCALL_TOKEN}")),
            ("content-type", "application/json".into()),
        ],
        b"{}",
    );
    assert_eq!(reset.status, 403);
    let audit = serving.get("/v1/audit?limit=1000", &api()).json();
    let refusals = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "api")
        .count();
    assert_eq!(refusals, 4, "{audit}");
    assert_eq!(serving.terminate(Duration::from_secs(30)), Some(0));
}

/// SIGHUP with a broken config keeps the old one serving; with a good one, its new source
/// takes alerts.
#[test]
fn a_reload_with_errors_changes_nothing_and_a_good_one_takes_effect() {
    let receiver = Receiver::start();
    let case = case(&receiver);
    let serving = case.serve();
    let good = case.config_text();

    case.write(
        "palisade.toml",
        good.replace("body_limit_kib = 64", "body_limit_kib = 64\nqueue_limit = 0"),
    );
    serving.hangup("the config has errors");
    assert!(
        serving.stderr().contains("serve.queue_limit"),
        "{}",
        serving.stderr()
    );
    assert_eq!(
        serving
            .post_signed("edr", EDR_SECRET, &spray("reload-1", 11, 95))
            .status,
        202
    );
    let unknown = serving.post(
        "/v1/sources/script/alerts",
        &[("authorization", "Bearer script-token".to_owned())],
        b"{}",
    );
    assert_eq!(unknown.status, 401);

    case.write(
        "palisade.toml",
        format!("{good}\n[serve.sources.script]\nauth = \"bearer\"\ntoken = {{ file = \"script.token\" }}\n"),
    );
    case.write("script.token", "script-token");
    serving.hangup("SIGHUP: reloaded");
    let body = spray("reload-2", 12, 95);
    let taken = serving.post(
        "/v1/sources/script/alerts",
        &[("authorization", "Bearer script-token".to_owned())],
        body.as_bytes(),
    );
    assert_eq!(taken.status, 202, "{taken:?}");
    report(&serving, "reload-1");
    report(&serving, "reload-2");
    assert_eq!(serving.terminate(Duration::from_secs(30)), Some(0));
}

/// Killed with SIGKILL while alerts are in flight, restarted: every acknowledged alert is
/// reported exactly once and nothing acknowledged is lost.
#[test]
fn a_kill_loses_no_acknowledged_alert() {
    // Containment answers slowly, so the kill finds alerts in flight.
    let receiver = Receiver::with_rule(|recorded| {
        (recorded.operation() == "block-ip").then(|| {
            Reply::json(200, &serde_json::json!({"status": "done"})).after(Duration::from_millis(300))
        })
    });
    let case = case(&receiver);
    let ids: Vec<String> = (0..40).map(|n| format!("kill-{n}")).collect();
    let serving = case.serve();
    let numbered: Vec<(usize, String)> = ids.iter().cloned().enumerate().collect();
    for chunk in numbered.chunks(10) {
        let body = format!(
            "[{}]",
            chunk
                .iter()
                .map(|(n, id)| spray(id, *n as u8, 95))
                .collect::<Vec<_>>()
                .join(",")
        );
        let answer = serving.post_signed("edr", EDR_SECRET, &body);
        assert_eq!(answer.status, 202, "{answer:?}");
        assert_eq!(answer.json()["accepted"].as_array().map(Vec::len), Some(10));
    }
    let started = Instant::now();
    while receiver.calls("network", "block-ip").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            serving.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(serving); // SIGKILL, mid-run

    let serving = case.serve();
    for id in &ids {
        let kept = report(&serving, id);
        assert_eq!(kept["alert"]["id"], id.as_str(), "{kept}");
    }
    assert_eq!(serving.terminate(Duration::from_secs(30)), Some(0));
    // Each address was blocked at most once, though alerts in flight at the kill ran again:
    // a block sent before the kill is answered from the ledger or held, never sent twice.
    let mut blocked = BTreeSet::new();
    for call in receiver.calls("network", "block-ip") {
        let address = call.request()["target"].to_string();
        assert!(blocked.insert(address.clone()), "{address} blocked twice");
    }
}
