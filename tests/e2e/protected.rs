//! Protected means protected, seen from outside with the demo's own directory: the CEO's
//! account is held however an alert names it (short name, `DOMAIN\user`, an alias address,
//! another letter case, each format's own way), a name with a control character is refused,
//! a name the directory does not know is held rather than acted on, addresses that reach a
//! protected range in another spelling are held, and an alert whose source states no
//! confidence is held unless the admin says what to assume.

use palisade_e2e::{Case, Run, SPRAY_IP, workspace_root};
use serde_json::{Value, json};

/// The demo's gate and embedded directory, with the spray plugin alone so each test sees only
/// its calls. `SETTINGS` and `POLICY` are replaced per test.
const CONFIG: &str = r#"
[defaults.connectors]
identity = "local"
network = "local"
ticket = "local"

[connectors.local]
kind = "embedded"
outbox = "outbox.jsonl"
directory = "${DEMO}/directory.json"
inventory = "${DEMO}/inventory.json"

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
settings = SETTINGS

[policy]
mode = "enforce"
min_confidence = 60
POLICY

[policy.protected]
users = ["ceo@example.com", "cfo@example.com"]
hosts = ["dc*", "payroll-db"]
ip_ranges = ["10.0.0.0/8"]
"#;

const REVOKE: &str = "identity.revoke-sessions";
const BLOCK: &str = "network.block-ip";
/// The CEO's and Bob's ids in the demo directory.
const CEO_ID: &str = "00u0ceo";
const BOB_ID: &str = "00u2bob";

fn case(settings: &str, policy: &str) -> Case {
    let demo = workspace_root().join("plugins/demo");
    let case = Case::new().var("DEMO", &demo.display().to_string());
    case.config(&CONFIG.replace("SETTINGS", settings).replace("POLICY", policy));
    case
}

/// A native spray alert in which `signed_in` accounts signed in from `ips`.
fn spray(id: &str, confidence: Option<u8>, signed_in: &[&str], ips: &[&str]) -> String {
    let mut entities: Vec<Value> = signed_in
        .iter()
        .map(|user| json!({"type": "user", "name": user, "sign_in": "success"}))
        .collect();
    entities.extend(
        ips.iter()
            .map(|ip| json!({"type": "ip", "address": ip, "direction": "source"})),
    );
    let mut alert = json!({
        "id": id,
        "title": "Password spray",
        "source": "Okta",
        "rule": {"id": "okta-spray-01", "name": "Password spray"},
        "category": "credential-access",
        "severity": "high",
        "timestamp": "2026-11-26T09:12:00Z",
        "entities": entities,
    });
    if let Some(confidence) = confidence {
        alert["confidence"] = confidence.into();
    }
    alert.to_string()
}

/// A spray sample from the intake fixtures with `alice` renamed, in the file's own text.
fn sample(path: &str, alice: &str) -> String {
    let file = workspace_root().join("tests/fixtures/alerts").join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let value: Value = serde_json::from_str(&text.replace("alice", alice))
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    value.to_string()
}

/// The password-spray run's actions of `operation` on alert `id`, as (target, status, reason).
fn actions(run: &Run, id: &str, operation: &str) -> Vec<(String, String, String)> {
    run.plugin(id, "password-spray")["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["operation"] == operation)
        .map(|a| {
            let field = |name: &str| a[name].as_str().unwrap_or_default().to_owned();
            (field("target"), field("status"), field("reason"))
        })
        .collect()
}

/// The destructive operations that reached the outbox, as (operation, the id or address
/// acted on).
fn acted_on(case: &Case) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(case.dir().join("outbox.jsonl")) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("outbox lines are JSON"))
        .filter(|line| line["capability"] != "ticket")
        .map(|line| {
            let request = &line["request"];
            let on = request["user_id"].as_str().or(request["target"].as_str());
            (
                format!(
                    "{}.{}",
                    line["capability"].as_str().unwrap_or_default(),
                    line["operation"].as_str().unwrap_or_default()
                ),
                on.unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_ceo_is_held_however_each_alert_format_names_the_account() {
    let case = case("{ min_confidence = 80 }", "");
    // Each format names the CEO its own way where alice stood, beside bob.
    let alerts = [
        (
            "spray-native",
            sample("native/password-spray.json", "EXAMPLE\\\\ceo"),
        ),
        (
            "7c3f0e9a-5b2d-4f61-9a57-2f4c1d0e8b11",
            sample("ocsf/password-spray.json", "dortiz"),
        ),
        (
            "b1f0c2d4e6a8f0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0",
            sample("ecs/password-spray.json", "CEO"),
        ),
        (
            "scheduler__admin__SplunkEnterpriseSecuritySuite__RMD5a1b2c3d4e5f60718_at_1795684320_4711",
            sample("splunk/webhook-password-spray.json", "Dana.Ortiz"),
        ),
        (
            "4d5e6f70-8192-4a3b-9c4d-5e6f708192a3",
            sample("sentinel/securityalert-password-spray.json", "ceo"),
        ),
    ];
    case.alerts(&alerts.clone().map(|(_, line)| line));

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    for (id, _) in &alerts {
        let revocations = actions(&run, id, REVOKE);
        let ceo: Vec<_> = revocations
            .iter()
            .filter(|(target, ..)| !target.contains("bob"))
            .collect();
        assert_eq!(
            ceo.len(),
            1,
            "{id}: one revocation for the CEO: {revocations:?}\n{run}"
        );
        let (target, status, reason) = ceo[0];
        assert_eq!(status, "held", "{id}: {target} {reason}\n{run}");
        assert!(
            reason.contains("protected") && reason.contains(CEO_ID),
            "{id}: the reason names the record that matched: {reason}"
        );
        assert!(
            revocations
                .iter()
                .any(|(target, status, _)| target.contains("bob") && status == "executed"),
            "{id}: bob is not protected: {revocations:?}"
        );
    }
    let acted = acted_on(&case);
    assert!(
        acted.iter().all(|(_, on)| on != CEO_ID),
        "nothing reached the CEO's account: {acted:?}"
    );
    assert_eq!(
        acted
            .iter()
            .filter(|(operation, on)| operation == REVOKE && on == BOB_ID)
            .count(),
        alerts.len(),
        "bob's sessions were revoked once per alert, by his id: {acted:?}"
    );
    assert_eq!(run.summary()["actions_held"], alerts.len(), "{run}");
}

#[test]
fn hidden_characters_are_refused_and_unknown_names_are_held_never_acted_on() {
    let case = case("{ min_confidence = 80 }", "");
    case.alerts(&[
        spray("tab", Some(95), &["ceo\t"], &[]),
        spray("zero-width", Some(95), &["c\u{200B}eo@example.com"], &[]),
        // Cyrillic 'е' and 'о': a look-alike the directory does not know.
        spray("look-alike", Some(95), &["c\u{0435}\u{043E}@example.com"], &[]),
        spray("fullwidth", Some(95), &["ＣＥＯ@ＥＸＡＭＰＬＥ.ＣＯＭ"], &[]),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let only = |id: &str| {
        let found = actions(&run, id, REVOKE);
        assert_eq!(found.len(), 1, "{id}: {found:?}\n{run}");
        found[0].clone()
    };
    for id in ["tab", "zero-width"] {
        let (_, status, reason) = only(id);
        assert_eq!(status, "refused", "{id}: {reason}");
        assert!(
            reason.contains("control or invisible character"),
            "{id}: {reason}"
        );
    }
    let (_, status, reason) = only("look-alike");
    assert_eq!(status, "held", "{reason}");
    assert!(
        reason.contains("cannot resolve") && reason.contains("no user"),
        "{reason}"
    );
    let (_, status, reason) = only("fullwidth");
    assert_eq!(status, "held", "{reason}");
    assert!(reason.contains(CEO_ID), "{reason}");

    assert!(
        acted_on(&case).iter().all(|(operation, _)| operation != REVOKE),
        "no account was acted on: {:?}",
        acted_on(&case)
    );
}

#[test]
fn an_unresolved_target_can_be_refused_instead_of_held() {
    let case = case("{ min_confidence = 80 }", "unresolved = \"refuse\"");
    case.alerts(&[spray("ghost", Some(95), &["ghost@example.com", "bob"], &[])]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let revocations = actions(&run, "ghost", REVOKE);
    let (_, status, reason) = revocations
        .iter()
        .find(|(target, ..)| target == "ghost@example.com")
        .unwrap_or_else(|| panic!("{revocations:?}\n{run}"));
    assert_eq!(status, "refused", "{reason}");
    assert!(
        reason.contains("cannot resolve") && reason.contains("no user"),
        "{reason}"
    );
    assert_eq!(acted_on(&case), [(REVOKE.to_owned(), BOB_ID.to_owned())]);
}

#[test]
fn every_spelling_of_a_protected_address_is_held_and_public_ones_are_blocked_as_ipv4() {
    let case = case("{ min_confidence = 80 }", "");
    let reaching = [
        "10.1.2.3",
        "::ffff:10.1.2.3",
        "64:ff9b::a01:203",
        "2002:a01:203::1",
        "::10.1.2.3",
    ];
    case.alerts(&[spray(
        "addresses",
        Some(95),
        &[],
        &[&reaching[..], &["::ffff:203.0.113.7"]].concat(),
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    // In the order the plugin asked; each reported in the canonical form it was decided on.
    let blocks = actions(&run, "addresses", BLOCK);
    assert_eq!(blocks.len(), reaching.len() + 1, "{blocks:?}\n{run}");
    for (address, (_, status, reason)) in reaching.iter().zip(&blocks) {
        assert_eq!(status, "held", "{address}: {reason}");
        assert!(reason.contains("10.0.0.0/8"), "{address}: {reason}");
    }
    assert_eq!(blocks[reaching.len()].0, SPRAY_IP, "{blocks:?}");
    assert_eq!(
        acted_on(&case),
        [(BLOCK.to_owned(), SPRAY_IP.to_owned())],
        "the mapped public address is blocked in its IPv4 form, nothing else"
    );
}

#[test]
fn unstated_confidence_is_held_by_default_and_acted_on_only_with_an_assumption() {
    // The plugin's own minimum is 0 so that the gate, not the plugin, decides.
    let held = case("{ min_confidence = 0 }", "");
    held.alerts(&[spray("unstated", None, &["bob"], &[])]);
    let run = held.run();
    assert_eq!(run.code, Some(0), "{run}");
    let revocations = actions(&run, "unstated", REVOKE);
    assert_eq!(revocations.len(), 1, "{revocations:?}");
    assert_eq!(revocations[0].1, "held", "{revocations:?}");
    assert!(
        revocations[0].2.contains("states no confidence"),
        "{revocations:?}"
    );
    assert!(run.alert("unstated")["alert"]["confidence"].is_null(), "{run}");
    assert!(
        run.alert("unstated")["alert"]["tags"]
            .as_array()
            .is_some_and(|tags| tags.contains(&json!("confidence:unstated"))),
        "{run}"
    );
    assert!(acted_on(&held).is_empty(), "{:?}", acted_on(&held));

    let text = held.palisade(&["run", "--config", "palisade.toml", "alerts.jsonl"]);
    assert!(text.stdout.contains("confidence unstated"), "{text}");

    let assumed = case(
        "{ min_confidence = 80 }",
        "unstated_confidence = \"assume:90\"\n[policy.min_confidence_by_operation]\n\"identity.revoke-sessions\" = 80",
    );
    assumed.alerts(&[spray("unstated", None, &["bob"], &[])]);
    let run = assumed.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(actions(&run, "unstated", REVOKE)[0].1, "executed", "{run}");
    assert_eq!(acted_on(&assumed), [(REVOKE.to_owned(), BOB_ID.to_owned())]);
}
