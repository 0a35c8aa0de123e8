//! An operation a plugin was not granted is refused by the host and never reaches a vendor,
//! even when a connector for it is configured.

use palisade_e2e::{Case, Receiver, note, spray_alert, strings};

#[test]
fn ungranted_containment_is_denied_and_only_the_granted_ticket_is_sent() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(
        r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["ticket.create"]
"#,
    );
    case.alerts(&[spray_alert("spray-denied", 92)]);

    let run = case.run();
    assert_eq!(
        run.code,
        Some(0),
        "a denial is the plugin's business, not a failure\n{run}"
    );

    assert!(receiver.calls("identity", "revoke-sessions").is_empty(), "{run}");
    let requests = receiver.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.capability() != "identity" && r.capability() != "network"),
        "{requests:#?}"
    );
    let tickets = receiver.calls("ticket", "create");
    assert_eq!(tickets.len(), 1, "the ticket is still opened: {requests:#?}");
    let description = tickets[0].request()["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("denied"),
        "the ticket records the denials:\n{description}"
    );

    let spray = run.plugin("spray-denied", "password-spray");
    assert_eq!(spray["status"], "completed", "{run}");
    // One entry per refused call: alice's and bob's revocations, the block.
    assert_eq!(
        strings(&spray["denied"]),
        [
            "identity.revoke-sessions",
            "identity.revoke-sessions",
            "network.block-ip"
        ],
        "{run}"
    );
    assert_eq!(
        note(&spray, "denied").as_deref(),
        Some("identity.revoke-sessions, network.block-ip"),
        "{run}"
    );
    let alice = note(&spray, "identity.revoke-sessions:alice").unwrap_or_default();
    assert!(alice.starts_with("error: denied"), "{alice:?}\n{run}");
    assert_eq!(
        note(&spray, "sessions_revoked").as_deref(),
        Some("0 of 2"),
        "{run}"
    );
    assert_eq!(note(&spray, "ticket").as_deref(), Some("T-1"), "{run}");
    let tags = strings(&spray["outcome"]["tags"]);
    assert!(
        !tags.contains(&"contained".to_owned()),
        "nothing was contained: {tags:?}"
    );
    let summary = run.summary();
    assert_eq!(summary["denied"], 3, "three calls refused: {summary}");
    assert_eq!(summary["actions_executed"], 1, "only the ticket: {summary}");
}

#[test]
fn a_hostile_call_outside_the_grants_is_denied_and_reaches_nothing() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    // The connectors are there, and the plugin holds an unrelated grant: only the grants
    // stand between the plugin and the identity provider and firewall.
    case.config(
        r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"

[plugins.hostile]
path = "${HOSTILE}"
stage = "respond"
grants = ["ticket.create"]
settings = { attack = "denied-call" }
"#,
    );
    case.alerts(&[spray_alert("hostile-denied", 92)]);

    let run = case.run();
    let hostile = run.plugin("hostile-denied", "hostile");
    assert_eq!(hostile["status"], "completed", "{run}");
    assert_eq!(
        note(&hostile, "disable_user").as_deref(),
        Some("denied: identity.disable-user"),
        "{run}"
    );
    assert_eq!(
        note(&hostile, "block_ip").as_deref(),
        Some("denied: network.block-ip"),
        "{run}"
    );
    let mut denied = strings(&hostile["denied"]);
    denied.sort();
    assert_eq!(denied, ["identity.disable-user", "network.block-ip"], "{run}");
    assert!(hostile["actions"].as_array().is_none_or(Vec::is_empty), "{run}");
    assert!(receiver.requests().is_empty(), "{:#?}", receiver.requests());
    assert_eq!(run.code, Some(0), "{run}");
}

#[test]
fn a_limit_that_refuses_every_later_alert_is_logged_once_and_its_count_when_the_run_ends() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(
        r#"
[defaults.connectors]
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["ticket.create"]
limits = { tickets_per_hour = 1 }
"#,
    );
    let ids = ["limit-1", "limit-2", "limit-3", "limit-4"];
    let alerts: Vec<String> = ids.iter().map(|id| spray_alert(id, 92)).collect();
    case.alerts(&alerts);

    let run = case.run();
    assert_eq!(run.code, Some(0), "a refusal is the plugin's business\n{run}");
    assert_eq!(receiver.calls("ticket", "create").len(), 1, "{run}");
    let refused: Vec<String> = ids
        .iter()
        .filter(|id| {
            let spray = run.plugin(id, "password-spray");
            note(&spray, "ticket").is_some_and(|ticket| ticket.starts_with("error: limit-exceeded"))
        })
        .map(|id| id.to_string())
        .collect();
    assert_eq!(
        refused.len(),
        3,
        "every later alert's ticket is refused: {refused:?}\n{run}"
    );

    // The run is shorter than the minute between repeated lines: the first refusal is
    // logged, and the two after it are counted in one line as the run ends.
    let stderr = run.stderr_plain();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("refused") && line.contains("ticket.create"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(!lines[0].contains("also_refused_since_last_logged"), "{stderr}");
    assert!(lines[1].contains("also_refused_since_last_logged=2"), "{stderr}");
}
