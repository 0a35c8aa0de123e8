//! The policy gate on destructive operations, seen from outside: protected accounts and
//! confidence minimums hold or refuse, the circuit breaker trips across processes, a held
//! operation is executed once on approval and never on denial, undo calls the compensating
//! operation, simulate touches nothing, and the audit keeps no secret.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};

use palisade_e2e::{Case, Receiver, Recorded, Reply, Run, SPRAY_IP};
use serde_json::{Value, json};

/// identity, network, ticket and notify served by the receiver, with a token from the
/// environment; `POLICY` is replaced by each test's `[policy]` tables.
const CONFIG: &str = r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"
notify = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
timeout_ms = 5000
token = { env = "PALISADE_E2E_TOKEN" }

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]

POLICY
"#;

const REVOKE: &str = "identity.revoke-sessions";
const BLOCK: &str = "network.block-ip";

/// Hex digits no other process would produce.
fn random_hex() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut hasher = state.build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    let first = hasher.finish();
    hasher.write_u64(first);
    format!("{first:016x}{:016x}", hasher.finish())
}

/// A case with the receiver, a fresh token and the config with `policy` in place.
fn case_with(receiver: &Receiver, policy: &str) -> Case {
    let case = Case::new()
        .receiver(receiver)
        .env("PALISADE_E2E_TOKEN", &format!("tok-{}", random_hex()));
    case.config(&CONFIG.replace("POLICY", policy));
    case
}

/// A password-spray alert: `signed_in` accounts whose sign-in succeeded, `failed` ones whose
/// did not, from the source addresses `ips`.
fn spray(id: &str, confidence: u8, signed_in: &[&str], failed: &[&str], ips: &[&str]) -> String {
    let mut entities = Vec::new();
    for user in signed_in {
        entities.push(json!({"type": "user", "name": user, "sign_in": "success"}));
    }
    for user in failed {
        entities.push(json!({"type": "user", "name": user, "sign_in": "failure"}));
    }
    for ip in ips {
        entities.push(json!({"type": "ip", "address": ip, "direction": "source"}));
    }
    json!({
        "id": id,
        "title": "Password spray",
        "source": "Okta",
        "rule": {"id": "okta-spray-01", "name": "Password spray"},
        "category": "credential-access",
        "severity": "high",
        "confidence": confidence,
        "timestamp": "2026-11-26T09:12:00Z",
        "entities": entities,
        "tags": ["okta"],
    })
    .to_string()
}

/// The password-spray run's actions on alert `id`.
fn actions(run: &Run, id: &str) -> Vec<Value> {
    run.plugin(id, "password-spray")["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The one action of `operation` on `target`.
fn action(run: &Run, id: &str, operation: &str, target: &str) -> Value {
    let mut found: Vec<Value> = actions(run, id)
        .into_iter()
        .filter(|a| a["operation"] == operation && a["target"] == target)
        .collect();
    assert_eq!(found.len(), 1, "expected one {operation} {target} on {id}\n{run}");
    found.remove(0)
}

/// The statuses of the destructive actions on `id` (the ticket left out), as (operation,
/// target, status).
fn statuses(run: &Run, id: &str) -> BTreeSet<(String, String, String)> {
    actions(run, id)
        .iter()
        .filter(|a| a["operation"] == REVOKE || a["operation"] == BLOCK)
        .map(|a| {
            let field = |name: &str| a[name].as_str().unwrap_or_default().to_owned();
            (field("operation"), field("target"), field("status"))
        })
        .collect()
}

fn triple(operation: &str, target: &str, status: &str) -> (String, String, String) {
    (operation.to_owned(), target.to_owned(), status.to_owned())
}

/// The users whose sessions the receiver was asked to revoke, in order.
fn revoked(receiver: &Receiver) -> Vec<String> {
    receiver
        .calls("identity", "revoke-sessions")
        .iter()
        .map(|r| r.request()["user"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `palisade approvals list --json` (with `--all` when asked), each line parsed.
fn approvals(case: &Case, all: bool) -> Vec<Value> {
    let mut args = vec!["approvals", "list", "--config", "palisade.toml", "--json"];
    if all {
        args.push("--all");
    }
    let list = case.palisade(&args);
    assert_eq!(list.code, Some(0), "{list}");
    list.json()
}

/// The stored approval with that id.
fn approval(case: &Case, id: &str) -> Value {
    let all = approvals(case, true);
    all.iter()
        .find(|a| a["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no approval {id} in {all:#?}"))
}

fn approve(case: &Case, id: &str, by: &str) -> Run {
    case.palisade(&[
        "approvals",
        "approve",
        id,
        "--config",
        "palisade.toml",
        "--by",
        by,
    ])
}

fn breaker_status(case: &Case) -> String {
    let status = case.palisade(&["breaker", "status", "--config", "palisade.toml"]);
    assert_eq!(status.code, Some(0), "{status}");
    status.stdout
}

/// The approval id of a held action, checked against the reason's presence.
fn held_id(action: &Value) -> String {
    assert_eq!(action["status"], "held", "{action:#}");
    assert!(
        action["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "a held action says why: {action:#}"
    );
    action["approval_id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("a held action carries its approval id: {action:#}"))
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Protected entities.

#[test]
fn a_protected_executive_is_held_for_approval_while_the_other_account_is_revoked() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        r#"
[policy.protected]
users = ["ceo@example.com"]
"#,
    );
    case.alerts(&[spray(
        "vip-1",
        97,
        &["ceo@example.com", "alice@example.com"],
        &[],
        &[SPRAY_IP],
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let ceo = action(&run, "vip-1", REVOKE, "ceo@example.com");
    let approval_id = held_id(&ceo);
    let reason = ceo["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("protected") && reason.contains("ceo@example.com"),
        "{reason}"
    );
    assert_eq!(
        action(&run, "vip-1", REVOKE, "alice@example.com")["status"],
        "executed",
        "{run}"
    );
    assert_eq!(
        action(&run, "vip-1", BLOCK, SPRAY_IP)["status"],
        "executed",
        "{run}"
    );
    let summary = run.summary();
    assert_eq!(summary["actions_held"], 1, "{summary}");
    assert_eq!(
        summary["actions_executed"], 3,
        "alice's revocation, the block and the ticket: {summary}"
    );
    assert_eq!(summary["actions_refused"], 0, "{summary}");

    assert_eq!(
        revoked(&receiver),
        ["alice@example.com"],
        "no identity call for the protected account: {:#?}",
        receiver.requests()
    );
    assert!(
        receiver
            .effects()
            .iter()
            .filter(|r| r.capability() == "identity")
            .all(|r| r.request()["user"] != "ceo@example.com"),
        "{:#?}",
        receiver.requests()
    );

    let pending = approvals(&case, false);
    assert_eq!(pending.len(), 1, "{pending:#?}");
    let held = &pending[0];
    assert_eq!(held["id"], approval_id.as_str(), "{held:#}");
    assert_eq!(held["status"], "pending", "{held:#}");
    assert_eq!(held["plugin"], "password-spray", "{held:#}");
    assert_eq!(held["alert_id"], "vip-1", "{held:#}");
    assert_eq!(held["operation"], REVOKE, "{held:#}");
    assert_eq!(held["target"], "ceo@example.com", "{held:#}");
    assert!(
        held["reason"].as_str().unwrap_or_default().contains("protected"),
        "{held:#}"
    );
    assert_eq!(held["request"]["user"], "ceo@example.com", "{held:#}");
    assert_eq!(
        held["alert"]["confidence"], 97,
        "the approver sees the alert: {held:#}"
    );
    assert!(held["decided_by"].is_null(), "{held:#}");
}

#[test]
fn an_account_in_a_protected_group_is_held_for_approval() {
    let receiver = Receiver::with_rule(|r| {
        if !r.is("identity", "lookup-user") {
            return None;
        }
        // Every other account is the directory's default record, in no group.
        let user = r.request()["user"].as_str().unwrap_or_default();
        (user == "vp@example.com").then(|| {
            Reply::json(
                200,
                &json!({"id": "u-vp", "name": user, "groups": ["staff", "executives"], "enabled": true}),
            )
        })
    });
    let case = case_with(
        &receiver,
        r#"
[policy.protected]
groups = ["executives"]
"#,
    );
    case.alerts(&[spray(
        "vip-2",
        97,
        &["vp@example.com", "alice@example.com"],
        &[],
        &[SPRAY_IP],
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let vp = action(&run, "vip-2", REVOKE, "vp@example.com");
    let approval_id = held_id(&vp);
    assert!(
        vp["reason"].as_str().unwrap_or_default().contains("executives"),
        "the reason names the group: {vp:#}"
    );
    assert_eq!(
        action(&run, "vip-2", REVOKE, "alice@example.com")["status"],
        "executed",
        "alice is in no protected group\n{run}"
    );
    assert_eq!(
        revoked(&receiver),
        ["alice@example.com"],
        "{:#?}",
        receiver.requests()
    );
    let looked_up: BTreeSet<String> = receiver
        .calls("identity", "lookup-user")
        .iter()
        .map(|r| r.request()["user"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        looked_up.contains("vp@example.com"),
        "the groups were asked of the directory: {looked_up:?}"
    );

    let pending = approvals(&case, false);
    assert_eq!(pending.len(), 1, "{pending:#?}");
    assert_eq!(pending[0]["id"], approval_id.as_str(), "{pending:#?}");
    assert_eq!(pending[0]["target"], "vp@example.com", "{pending:#?}");
}

// ---------------------------------------------------------------------------------------------
// Confidence minimums.

const REVOKE_NEEDS_95: &str = r#"
[policy]
min_confidence_by_operation = { "identity.revoke-sessions" = 95 }
"#;

#[test]
fn an_operation_below_its_confidence_minimum_is_refused_by_default() {
    let receiver = Receiver::start();
    let case = case_with(&receiver, REVOKE_NEEDS_95);
    case.alerts(&[spray("conf-1", 92, &["alice", "bob"], &["carol"], &[SPRAY_IP])]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    for user in ["alice", "bob"] {
        let revoke = action(&run, "conf-1", REVOKE, user);
        assert_eq!(revoke["status"], "refused", "{run}");
        let reason = revoke["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("92") && reason.contains("95"), "{reason}");
    }
    assert_eq!(
        action(&run, "conf-1", BLOCK, SPRAY_IP)["status"],
        "executed",
        "the block has only the default minimum of 50\n{run}"
    );
    let summary = run.summary();
    assert_eq!(summary["actions_refused"], 2, "{summary}");
    assert_eq!(summary["actions_held"], 0, "{summary}");

    assert!(
        receiver.effects().iter().all(|r| r.capability() != "identity"),
        "{:#?}",
        receiver.requests()
    );
    assert_eq!(receiver.calls("network", "block-ip").len(), 1);
    assert!(approvals(&case, true).is_empty(), "a refusal is not held");
}

#[test]
fn an_operation_below_its_confidence_minimum_is_held_when_below_confidence_is_hold() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        &format!("{REVOKE_NEEDS_95}below_confidence = \"hold\"\n"),
    );
    case.alerts(&[spray("conf-2", 92, &["alice", "bob"], &["carol"], &[SPRAY_IP])]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let mut held = BTreeSet::new();
    for user in ["alice", "bob"] {
        let revoke = action(&run, "conf-2", REVOKE, user);
        held.insert(held_id(&revoke));
        assert!(
            revoke["reason"].as_str().unwrap_or_default().contains("95"),
            "{revoke:#}"
        );
    }
    assert_eq!(
        action(&run, "conf-2", BLOCK, SPRAY_IP)["status"],
        "executed",
        "{run}"
    );
    assert_eq!(run.summary()["actions_held"], 2, "{run}");

    assert!(
        receiver.effects().iter().all(|r| r.capability() != "identity"),
        "{:#?}",
        receiver.requests()
    );
    let pending: BTreeSet<String> = approvals(&case, false)
        .iter()
        .map(|a| a["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(pending, held);
}

#[test]
fn a_plugin_policy_adds_protected_accounts_and_overrides_the_global_minimum() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        r#"
[plugins.password-spray.policy]
min_confidence_by_operation = { "identity.revoke-sessions" = 90 }

[plugins.password-spray.policy.protected]
users = ["bob"]

[policy]
min_confidence_by_operation = { "identity.revoke-sessions" = 95 }

[policy.protected]
users = ["ceo@example.com"]
"#,
    );
    case.alerts(&[spray(
        "override-1",
        92,
        &["alice", "bob", "ceo@example.com"],
        &[],
        &[SPRAY_IP],
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        statuses(&run, "override-1"),
        BTreeSet::from([
            triple(REVOKE, "alice", "executed"),
            triple(REVOKE, "bob", "held"),
            triple(REVOKE, "ceo@example.com", "held"),
            triple(BLOCK, SPRAY_IP, "executed"),
        ]),
        "the plugin's minimum of 90 replaces the global 95; its protected account adds to the global one\n{run}"
    );
    assert_eq!(revoked(&receiver), ["alice"]);
}

// ---------------------------------------------------------------------------------------------
// The circuit breaker.

#[test]
fn the_breaker_trips_past_the_blast_radius_holds_later_runs_and_reopens_on_reset() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        r#"
[policy.blast_radius]
per_plugin = 2
"#,
    );
    // Two accounts and an address: three destructive operations against a limit of two.
    case.alerts(&[spray("burst-1", 92, &["alice", "bob"], &[], &[SPRAY_IP])]);
    let first = case.run();
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(
        statuses(&first, "burst-1"),
        BTreeSet::from([
            triple(REVOKE, "alice", "executed"),
            triple(REVOKE, "bob", "executed"),
            triple(BLOCK, SPRAY_IP, "held"),
        ]),
        "{first}"
    );
    let block = action(&first, "burst-1", BLOCK, SPRAY_IP);
    held_id(&block);
    assert!(
        block["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("circuit breaker"),
        "{block:#}"
    );
    assert_eq!(revoked(&receiver), ["alice", "bob"]);
    assert!(receiver.calls("network", "block-ip").is_empty());

    let status = breaker_status(&case);
    assert!(status.contains("TRIPPED"), "{status}");
    assert!(status.contains("password-spray"), "{status}");
    assert!(
        status.contains("password-spray: 2 destructive operations"),
        "the count is what was executed: {status}"
    );

    let notices = receiver.calls("notify", "send");
    assert_eq!(notices.len(), 1, "one announcement: {:#?}", receiver.requests());
    let notice = notices[0].request().to_string().to_lowercase();
    assert!(
        notice.contains("circuit breaker") && notice.contains("tripped"),
        "{notice}"
    );

    // Another process, the same state: still tripped, everything destructive is held.
    case.alerts(&[spray("burst-2", 92, &["dave"], &[], &["198.51.100.9"])]);
    let second = case.run();
    assert_eq!(second.code, Some(0), "{second}");
    assert_eq!(
        statuses(&second, "burst-2"),
        BTreeSet::from([
            triple(REVOKE, "dave", "held"),
            triple(BLOCK, "198.51.100.9", "held"),
        ]),
        "{second}"
    );
    assert_eq!(revoked(&receiver), ["alice", "bob"], "nothing more was revoked");
    assert!(receiver.calls("network", "block-ip").is_empty());
    assert_eq!(
        receiver.calls("notify", "send").len(),
        1,
        "a breaker already tripped is not announced again"
    );
    assert!(breaker_status(&case).contains("TRIPPED"));

    let reset = case.palisade(&["breaker", "reset", "--config", "palisade.toml", "--by", "admin"]);
    assert_eq!(reset.code, Some(0), "{reset}");
    assert!(!breaker_status(&case).contains("TRIPPED"));

    case.alerts(&[spray("burst-3", 92, &["erin"], &[], &["198.51.100.10"])]);
    let third = case.run();
    assert_eq!(third.code, Some(0), "{third}");
    assert_eq!(
        statuses(&third, "burst-3"),
        BTreeSet::from([
            triple(REVOKE, "erin", "executed"),
            triple(BLOCK, "198.51.100.10", "executed"),
        ]),
        "{third}"
    );
    assert_eq!(revoked(&receiver), ["alice", "bob", "erin"]);
    let blocked: Vec<Value> = receiver
        .calls("network", "block-ip")
        .iter()
        .map(|r| r.request()["target"].clone())
        .collect();
    assert_eq!(blocked, [json!("198.51.100.10")]);
}

// ---------------------------------------------------------------------------------------------
// Approvals.

/// Four signed-in accounts, three of them protected.
const THREE_EXECUTIVES: &str = r#"
[policy.protected]
users = ["ceo@example.com", "cfo@example.com", "cto@example.com"]
"#;

/// Runs the executives' alert and returns the approval ids of ceo, cfo and cto.
fn hold_three(case: &Case, receiver: &Receiver) -> [String; 3] {
    case.alerts(&[spray(
        "exec-1",
        97,
        &[
            "ceo@example.com",
            "cfo@example.com",
            "cto@example.com",
            "alice@example.com",
        ],
        &[],
        &[],
    )]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(revoked(receiver), ["alice@example.com"], "{run}");
    ["ceo@example.com", "cfo@example.com", "cto@example.com"]
        .map(|user| held_id(&action(&run, "exec-1", REVOKE, user)))
}

fn revocations_of(receiver: &Receiver, user: &str) -> Vec<Recorded> {
    receiver
        .calls("identity", "revoke-sessions")
        .into_iter()
        .filter(|r| r.request()["user"] == user)
        .collect()
}

#[test]
fn an_approved_operation_is_executed_exactly_once() {
    let receiver = Receiver::start();
    let case = case_with(&receiver, THREE_EXECUTIVES);
    let [ceo, _, _] = hold_three(&case, &receiver);

    let approved = approve(&case, &ceo, "analyst-1");
    assert_eq!(approved.code, Some(0), "{approved}");
    let calls = revocations_of(&receiver, "ceo@example.com");
    assert_eq!(calls.len(), 1, "{:#?}", receiver.requests());
    assert_eq!(calls[0].body["alert_id"], "exec-1", "{:#?}", calls[0].body);
    assert_eq!(calls[0].body["plugin"], "password-spray", "{:#?}", calls[0].body);
    assert!(
        calls[0]
            .header("authorization")
            .is_some_and(|h| h.starts_with("Bearer tok-")),
        "the approval uses the connector's credentials: {:#?}",
        calls[0].headers
    );

    let record = approval(&case, &ceo);
    assert_eq!(record["status"], "executed", "{record:#}");
    assert_eq!(record["decided_by"], "analyst-1", "{record:#}");
    assert!(record["decided_at"].is_i64(), "{record:#}");
    assert_eq!(
        record["action_id"], calls[0].body["action_id"],
        "the approval names the action it executed: {record:#}"
    );
    assert!(
        !approvals(&case, false).iter().any(|a| a["id"] == ceo.as_str()),
        "an executed approval is no longer pending"
    );

    let decisions: Vec<Value> = audit(&case, &["--alert", "exec-1"])
        .into_iter()
        .filter(|r| r["kind"] == "approval")
        .collect();
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(decisions[0]["decision"], "approved-executed", "{decisions:#?}");
    assert_eq!(decisions[0]["target"], "ceo@example.com", "{decisions:#?}");
    assert_eq!(decisions[0]["detail"]["by"], "analyst-1", "{decisions:#?}");

    let again = approve(&case, &ceo, "analyst-2");
    assert_ne!(again.code, Some(0), "{again}");
    assert!(again.stderr_plain().contains("already decided"), "{again}");
    assert_eq!(revocations_of(&receiver, "ceo@example.com").len(), 1);
    assert_eq!(approval(&case, &ceo)["decided_by"], "analyst-1");
}

#[test]
fn an_approval_does_not_outlive_a_withdrawn_grant() {
    let receiver = Receiver::start();
    let case = case_with(&receiver, THREE_EXECUTIVES);
    let [ceo, _, _] = hold_three(&case, &receiver);

    // The admin withdraws the grant while the operation waits.
    let withdrawn = case.config_text().replace("\"identity.revoke-sessions\", ", "");
    assert_ne!(withdrawn, case.config_text(), "the grant is in the config");
    case.config(&withdrawn);

    let refused = approve(&case, &ceo, "analyst-1");
    assert_ne!(refused.code, Some(0), "{refused}");
    assert!(refused.stderr_plain().contains("no longer granted"), "{refused}");
    assert!(revocations_of(&receiver, "ceo@example.com").is_empty());
    assert_eq!(
        approval(&case, &ceo)["status"],
        "pending",
        "it can still be denied"
    );
}

#[test]
fn two_simultaneous_approvals_execute_the_operation_once() {
    let receiver = Receiver::start();
    let case = case_with(&receiver, THREE_EXECUTIVES);
    let held = hold_three(&case, &receiver);
    let users = ["ceo@example.com", "cfo@example.com", "cto@example.com"];

    // Each held operation approved by two processes at once; all six start together.
    let runs: Vec<[Run; 2]> = std::thread::scope(|scope| {
        let handles: Vec<_> = held
            .iter()
            .map(|id| {
                [
                    scope.spawn(|| approve(&case, id, "analyst-a")),
                    scope.spawn(|| approve(&case, id, "analyst-b")),
                ]
            })
            .collect();
        handles
            .into_iter()
            .map(|pair| pair.map(|handle| handle.join().unwrap()))
            .collect()
    });
    for ((id, user), [a, b]) in held.iter().zip(users).zip(&runs) {
        let succeeded = [a, b].iter().filter(|r| r.code == Some(0)).count();
        assert_eq!(succeeded, 1, "exactly one approval of {id} wins\n{a}\n{b}");
        let (winner, loser) = if a.code == Some(0) {
            ("analyst-a", b)
        } else {
            ("analyst-b", a)
        };
        assert!(
            loser.stderr_plain().contains("already decided"),
            "the other approval is refused because it was decided, not for another reason\n{loser}"
        );
        assert_eq!(
            revocations_of(&receiver, user).len(),
            1,
            "{user}: {:#?}",
            receiver.requests()
        );
        let record = approval(&case, id);
        assert_eq!(record["status"], "executed", "{record:#}");
        assert_eq!(record["decided_by"], winner, "{record:#}");
    }
    assert_eq!(revoked(&receiver).len(), 4, "alice's and the three approved");
}

#[test]
fn a_denied_operation_is_never_executed() {
    let receiver = Receiver::start();
    let case = case_with(&receiver, THREE_EXECUTIVES);
    let [_, _, cto] = hold_three(&case, &receiver);
    let before = receiver.requests().len();

    let denied = case.palisade(&[
        "approvals",
        "deny",
        &cto,
        "--config",
        "palisade.toml",
        "--reason",
        "travelling, sign-ins expected",
        "--by",
        "analyst-1",
    ]);
    assert_eq!(denied.code, Some(0), "{denied}");
    assert_eq!(receiver.requests().len(), before, "{:#?}", receiver.requests());
    let record = approval(&case, &cto);
    assert_eq!(record["status"], "denied", "{record:#}");
    assert_eq!(record["decided_by"], "analyst-1", "{record:#}");
    assert_eq!(
        record["decision_note"], "travelling, sign-ins expected",
        "{record:#}"
    );

    let approved = approve(&case, &cto, "analyst-2");
    assert_ne!(approved.code, Some(0), "{approved}");
    assert!(approved.stderr_plain().contains("denied"), "{approved}");
    assert!(revocations_of(&receiver, "cto@example.com").is_empty());
    assert_eq!(receiver.requests().len(), before);
    assert_eq!(approval(&case, &cto)["status"], "denied");
}

// ---------------------------------------------------------------------------------------------
// Undo.

#[test]
fn undo_calls_the_compensating_operation_once_and_refuses_the_irreversible() {
    let receiver = Receiver::start();
    let case = case_with(&receiver, "");
    case.alerts(&[spray("undo-1", 92, &["alice"], &[], &[SPRAY_IP])]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let block = action(&run, "undo-1", BLOCK, SPRAY_IP);
    assert_eq!(block["status"], "executed", "{run}");
    let block_id = block["action_id"].as_str().unwrap_or_default().to_owned();
    let revoke = action(&run, "undo-1", REVOKE, "alice");
    assert_eq!(revoke["status"], "executed", "{run}");
    let revoke_id = revoke["action_id"].as_str().unwrap_or_default().to_owned();
    assert!(!block_id.is_empty() && !revoke_id.is_empty(), "{run}");

    let undo = case.palisade(&[
        "undo",
        &block_id,
        "--config",
        "palisade.toml",
        "--by",
        "analyst-1",
    ]);
    assert_eq!(undo.code, Some(0), "{undo}");
    let unblocks = receiver.calls("network", "unblock-ip");
    assert_eq!(unblocks.len(), 1, "{:#?}", receiver.requests());
    assert_eq!(
        unblocks[0].request()["target"],
        SPRAY_IP,
        "{:#?}",
        unblocks[0].body
    );
    assert_eq!(unblocks[0].body["alert_id"], "undo-1", "{:#?}", unblocks[0].body);

    let undone: Vec<Value> = audit(&case, &["--alert", "undo-1"])
        .into_iter()
        .filter(|r| r["kind"] == "undo")
        .collect();
    assert_eq!(undone.len(), 1, "{undone:#?}");
    assert_eq!(undone[0]["decision"], "undone", "{undone:#?}");
    assert_eq!(undone[0]["operation"], "network.unblock-ip", "{undone:#?}");
    assert_eq!(undone[0]["detail"]["undoes"], block_id.as_str(), "{undone:#?}");

    let again = case.palisade(&["undo", &block_id, "--config", "palisade.toml"]);
    assert_ne!(again.code, Some(0), "{again}");
    assert!(again.stderr_plain().contains("already undone"), "{again}");
    assert_eq!(receiver.calls("network", "unblock-ip").len(), 1);

    let before = receiver.requests().len();
    let irreversible = case.palisade(&["undo", &revoke_id, "--config", "palisade.toml"]);
    assert_ne!(irreversible.code, Some(0), "{irreversible}");
    let message = irreversible.stderr_plain();
    assert!(
        message.contains("cannot be undone") && message.contains(REVOKE),
        "the message says why: {irreversible}"
    );
    assert_eq!(
        receiver.requests().len(),
        before,
        "nothing is sent: {:#?}",
        receiver.requests()
    );
}

// ---------------------------------------------------------------------------------------------
// Simulate.

#[test]
fn simulate_sends_no_action_records_nothing_and_counts_what_would_happen() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        r#"
[policy.protected]
users = ["ceo@example.com"]
"#,
    );
    let sprays = [
        spray("sim-1", 92, &["alice", "bob"], &["carol"], &[SPRAY_IP]),
        spray("sim-2", 97, &["ceo@example.com", "dave"], &[], &["198.51.100.9"]),
    ];
    let simulate = || {
        case.alerts(&sprays);
        let simulated = case.palisade(&["simulate", "--config", "palisade.toml", "--json", "alerts.jsonl"]);
        assert_eq!(simulated.code, Some(0), "{simulated}");
        simulated
    };

    // On a fresh state folder, simulate creates no database.
    let first = simulate();
    assert!(
        !case.dir().join("state/palisade.db").exists(),
        "simulate created the real store\n{first}"
    );
    // Targets are still resolved, so the gate decides on the records it would act on.
    assert!(receiver.effects().is_empty(), "{:#?}", receiver.requests());

    // A live run of an alert nothing acts on, so the real store exists to be looked at.
    case.alerts(&[spray("quiet-1", 10, &["alice"], &[], &[SPRAY_IP])]);
    let live = case.run();
    assert_eq!(live.code, Some(0), "{live}");
    assert!(receiver.effects().is_empty(), "{:#?}", receiver.requests());
    let audit_before = audit(&case, &[]);

    let simulated = simulate();
    let requests = receiver.effects();
    assert!(
        requests
            .iter()
            .all(|r| !["identity", "network", "ticket"].contains(&r.capability())),
        "{requests:#?}"
    );
    assert!(requests.is_empty(), "no action at all was sent: {requests:#?}");

    for id in ["sim-1", "sim-2"] {
        for a in actions(&simulated, id) {
            assert_eq!(a["status"], "simulated", "{a:#}\n{simulated}");
        }
    }
    assert!(
        action(&simulated, "sim-2", REVOKE, "ceo@example.com")["would"]
            .as_str()
            .unwrap_or_default()
            .starts_with("hold"),
        "{simulated}"
    );
    assert_eq!(
        action(&simulated, "sim-1", REVOKE, "alice")["would"],
        "execute",
        "{simulated}"
    );

    let lines = simulated.json();
    let last = lines.last().cloned().unwrap_or_default();
    assert_eq!(
        last["type"], "simulation",
        "the last line is the simulation\n{simulated}"
    );
    let counts: BTreeSet<(String, String, u64, u64, u64)> = last["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["plugin"].as_str().unwrap_or_default().to_owned(),
                o["operation"].as_str().unwrap_or_default().to_owned(),
                o["would_execute"].as_u64().unwrap_or(u64::MAX),
                o["would_hold"].as_u64().unwrap_or(u64::MAX),
                o["would_refuse"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    assert_eq!(
        counts,
        BTreeSet::from([
            ("password-spray".to_owned(), REVOKE.to_owned(), 3, 1, 0),
            ("password-spray".to_owned(), BLOCK.to_owned(), 2, 0, 0),
        ]),
        "{last:#}"
    );
    let summary = lines
        .iter()
        .find(|l| l["type"] == "summary")
        .cloned()
        .unwrap_or_else(|| panic!("a summary\n{simulated}"));
    assert_eq!(summary["actions_executed"], 0, "{summary}");
    assert_eq!(summary["actions_held"], 0, "{summary}");
    assert!(
        summary["actions_simulated"].as_u64().unwrap_or_default() >= 6,
        "{summary}"
    );

    assert!(approvals(&case, true).is_empty(), "simulate stores no approval");
    let status = breaker_status(&case);
    assert!(!status.contains("TRIPPED"), "{status}");
    let audit_after = audit(&case, &[]);
    assert_eq!(
        audit_after.len(),
        audit_before.len(),
        "simulate writes nothing to the real audit: {audit_after:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The audit.

/// `palisade audit --json EXTRA`, each line parsed.
fn audit(case: &Case, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "--config", "palisade.toml", "--json"];
    args.extend_from_slice(extra);
    let run = case.palisade(&args);
    assert_eq!(run.code, Some(0), "{run}");
    run.json()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn the_audit_records_every_call_filters_by_alert_and_plugin_and_holds_no_secret() {
    let receiver = Receiver::start();
    let secret = format!("tok-{}", random_hex());
    let case = Case::new()
        .receiver(&receiver)
        .env("PALISADE_E2E_TOKEN", &secret)
        .env("RUST_LOG", "debug");
    case.config(&CONFIG.replace(
        "POLICY",
        r#"
[plugins.triage]
path = "${TRIAGE}"
stage = "triage"

[policy.protected]
users = ["ceo@example.com"]
"#,
    ));
    case.alerts(&[
        spray(
            "audit-1",
            92,
            &["alice", "ceo@example.com"],
            &["carol"],
            &[SPRAY_IP],
        ),
        spray("audit-2", 92, &["bob"], &[], &["198.51.100.9"]),
    ]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let requests = receiver.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {secret}").as_str()),
            "the token reached the vendor: {request:#?}"
        );
    }

    let state = case.dir().join("state");
    let mut scanned = Vec::new();
    for name in ["palisade.db", "palisade.db-wal", "palisade.db-shm"] {
        let path = state.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "{} holds the token",
            path.display()
        );
        scanned.push((name, bytes.len()));
    }
    assert!(
        scanned
            .iter()
            .any(|(name, len)| *name == "palisade.db" && *len > 0),
        "the database exists: {scanned:?}"
    );
    // Nor anything else palisade wrote there (the compiled-plugin cache, ...).
    let mut folders = vec![state.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !contains(&bytes, secret.as_bytes()),
                    "{} holds the token",
                    path.display()
                );
            }
        }
    }
    assert!(
        run.stderr.contains("DEBUG") || run.stderr_plain().contains("DEBUG"),
        "the run logged at debug level\n{run}"
    );
    assert!(!run.stderr.contains(&secret), "stderr holds the token\n{run}");
    assert!(!run.stdout.contains(&secret), "stdout holds the token");

    let everything = case.palisade(&["audit", "--config", "palisade.toml", "--json"]);
    assert_eq!(everything.code, Some(0), "{everything}");
    assert!(!everything.stdout.contains(&secret), "{everything}");
    let text = case.palisade(&["audit", "--config", "palisade.toml"]);
    assert_eq!(text.code, Some(0), "{text}");
    assert!(!text.stdout.contains(&secret), "{text}");

    let records = everything.json();
    let kinds_of = |alert: &str| -> BTreeSet<String> {
        records
            .iter()
            .filter(|r| r["alert_id"] == alert)
            .map(|r| r["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    for alert in ["audit-1", "audit-2"] {
        let kinds = kinds_of(alert);
        for kind in ["alert", "invocation", "host-call"] {
            assert!(kinds.contains(kind), "{alert} has a {kind} record: {kinds:?}");
        }
    }
    let host_calls: BTreeSet<(String, String, String)> = records
        .iter()
        .filter(|r| r["alert_id"] == "audit-1" && r["kind"] == "host-call")
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (field("operation"), field("target"), field("decision"))
        })
        .collect();
    for expected in [
        triple(REVOKE, "alice", "executed"),
        triple(REVOKE, "ceo@example.com", "held"),
        triple(BLOCK, SPRAY_IP, "executed"),
    ] {
        assert!(host_calls.contains(&expected), "{expected:?} in {host_calls:#?}");
    }
    assert!(
        host_calls
            .iter()
            .any(|(operation, _, _)| operation == "ticket.create"),
        "{host_calls:#?}"
    );

    let one_alert = audit(&case, &["--alert", "audit-2"]);
    assert!(!one_alert.is_empty());
    assert!(
        one_alert.iter().all(|r| r["alert_id"] == "audit-2"),
        "{one_alert:#?}"
    );
    assert_eq!(
        one_alert.len(),
        records.iter().filter(|r| r["alert_id"] == "audit-2").count()
    );

    let one_plugin = audit(&case, &["--plugin", "triage"]);
    assert!(!one_plugin.is_empty());
    assert!(
        one_plugin.iter().all(|r| r["plugin"] == "triage"),
        "{one_plugin:#?}"
    );
    assert_eq!(
        one_plugin.len(),
        records.iter().filter(|r| r["plugin"] == "triage").count()
    );
    let spray_records = audit(&case, &["--plugin", "password-spray"]);
    assert!(
        spray_records.iter().all(|r| r["plugin"] == "password-spray"),
        "{spray_records:#?}"
    );
    assert!(
        spray_records.iter().any(|r| r["kind"] == "host-call"),
        "{spray_records:#?}"
    );

    let none = audit(&case, &["--alert", "no-such-alert"]);
    assert!(none.is_empty(), "{none:#?}");

    assert_eq!(audit(&case, &["--since", "1h"]).len(), records.len());
    assert!(audit(&case, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    let bad = case.palisade(&["audit", "--config", "palisade.toml", "--since", "yesterday"]);
    assert_eq!(bad.code, Some(2), "{bad}");
}

#[test]
fn a_rule_acts_alone_only_once_verdicts_earn_it_and_loses_it_when_it_misfires() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        "[policy.autonomy]\nmin_precision = 0.5\nmin_labelled = 4\n",
    );
    let block = |run: &Run, id: &str| action(run, id, BLOCK, SPRAY_IP);
    let sprays = |ids: &[&str]| -> Vec<String> {
        ids.iter()
            .map(|id| spray(id, 95, &["alice"], &[], &[SPRAY_IP]))
            .collect()
    };
    let feedback = |id: &str, verdict: &str| {
        let said = case.palisade(&[
            "feedback",
            id,
            verdict,
            "--config",
            "palisade.toml",
            "--by",
            "dana",
        ]);
        assert_eq!(said.code, Some(0), "{said}");
    };

    // A new rule starts supervised.
    case.alerts(&sprays(&["s-1", "s-2", "s-3", "s-4"]));
    let run = case.run();
    for id in ["s-1", "s-2", "s-3", "s-4"] {
        let held = block(&run, id);
        assert_eq!(held["status"], "held", "{run}");
        let reason = held["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("0 labelled alerts of the 4 needed"), "{reason}");
    }
    assert!(receiver.calls("network", "block-ip").is_empty());

    // Four analysts' verdicts later, its lower bound (0.51) earns it the block.
    for id in ["s-1", "s-2", "s-3", "s-4"] {
        feedback(id, "true-positive");
    }
    // A simulation measures from the same verdicts, and records nothing.
    case.alerts(&sprays(&["sim-1"]));
    let simulated = case.palisade(&["simulate", "--config", "palisade.toml", "--json", "alerts.jsonl"]);
    let summary = simulated
        .json()
        .into_iter()
        .find(|line| line["type"] == "simulation")
        .unwrap_or_default();
    let alone: Vec<String> = summary["acting_alone"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            format!(
                "{} {} {}",
                entry["rule"].as_str().unwrap_or_default(),
                entry["operation"].as_str().unwrap_or_default(),
                entry["would_execute"]
            )
        })
        .collect();
    assert!(
        alone.contains(&"Password spray network.block-ip 1".to_owned()),
        "{alone:?}\n{simulated}"
    );

    case.alerts(&sprays(&["s-5"]));
    let run = case.run();
    assert_eq!(block(&run, "s-5")["status"], "executed", "{run}");
    assert_eq!(receiver.calls("network", "block-ip").len(), 1);

    // One verdict turns out wrong: the rule loses its autonomy by itself.
    feedback("s-1", "false-positive");
    case.alerts(&sprays(&["s-6"]));
    let run = case.run();
    let held = block(&run, "s-6");
    assert_eq!(held["status"], "held", "{run}");
    assert_eq!(
        held["reason"], "Password spray: lower bound 0.30 over 4 labelled alerts, below 0.50",
        "{run}"
    );
    assert_eq!(receiver.calls("network", "block-ip").len(), 1);

    // Verdicts are audited, and one on an alert Palisade never saw is refused.
    let audit = case.palisade(&["audit", "--config", "palisade.toml", "--json", "--alert", "s-1"]);
    let verdicts: Vec<String> = audit
        .json()
        .into_iter()
        .filter(|record| record["kind"] == "feedback")
        .map(|record| record["decision"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(verdicts, ["true-positive", "false-positive"], "in order\n{audit}");
    let unknown = case.palisade(&["feedback", "never-seen", "benign", "--config", "palisade.toml"]);
    assert_eq!(unknown.code, Some(1), "{unknown}");

    // The report's figures, counted by hand: six alerts, four labelled (three true); s-5's
    // revoke and block ran alone, the other five alerts' two operations each were held.
    let report = case.palisade(&["report", "--config", "palisade.toml", "--json"]);
    assert_eq!(report.code, Some(0), "{report}");
    let rules = report.json();
    assert_eq!(rules.len(), 1, "{report}");
    let rule = &rules[0];
    assert_eq!(rule["rule"], "okta-spray-01", "{report}");
    assert_eq!(rule["name"], "Password spray", "{report}");
    assert_eq!(rule["alerts"], 6, "{report}");
    assert_eq!(rule["precision"]["labelled"], 4, "{report}");
    assert_eq!(rule["precision"]["true_positives"], 3, "{report}");
    assert_eq!(rule["autonomous"], false, "{report}");
    assert_eq!(rule["executed_alone"], 2, "{report}");
    assert_eq!(rule["held"], 10, "{report}");
    assert_eq!(
        (rule["approved"].clone(), rule["denied"].clone()),
        (json!(0), json!(0)),
        "{report}"
    );
    assert!(rule["respond_alone_ms"]["median"].as_f64().is_some(), "{report}");
    let plugin = &rule["plugins"][0];
    assert_eq!(plugin["plugin"], "password-spray", "{report}");
    assert_eq!(plugin["precision"]["labelled"], 4, "{report}");
    assert_eq!(
        (plugin["executed_alone"].clone(), plugin["held"].clone()),
        (json!(2), json!(10)),
        "{report}"
    );

    // An approval counts as evidence the alert was true; a denial that says false positive,
    // as evidence it was not (each only where no analyst has spoken).
    let figures = |case: &Case| -> Value {
        let report = case.palisade(&["report", "--config", "palisade.toml", "--json"]);
        report.json().into_iter().next().unwrap_or_default()
    };
    let approval = held["approval_id"].as_str().unwrap_or_default().to_owned();
    let approved = case.palisade(&[
        "approvals",
        "approve",
        &approval,
        "--config",
        "palisade.toml",
        "--by",
        "sam",
    ]);
    assert_eq!(approved.code, Some(0), "{approved}");
    let rule = figures(&case);
    assert_eq!(rule["precision"]["labelled"], 5, "{rule}");
    assert_eq!(rule["precision"]["true_positives"], 4, "{rule}");
    assert_eq!(rule["approved"], 1, "{rule}");
    let revoke = actions(&run, "s-6")
        .into_iter()
        .find(|a| a["operation"] == REVOKE)
        .unwrap_or_default();
    let revoke_approval = revoke["approval_id"].as_str().unwrap_or_default().to_owned();
    let denied = case.palisade(&[
        "approvals",
        "deny",
        &revoke_approval,
        "--config",
        "palisade.toml",
        "--reason",
        "False positive: the red team's exercise",
    ]);
    assert_eq!(denied.code, Some(0), "{denied}");
    let rule = figures(&case);
    assert_eq!(rule["precision"]["labelled"], 5, "{rule}");
    assert_eq!(rule["precision"]["true_positives"], 3, "{rule}");
    assert_eq!(rule["denied"], 1, "{rule}");
}

/// A lookup the intel source cannot answer is in the audit as a person reads it: its kind and
/// the source's message, not the host's debug text.
#[test]
fn a_lookup_the_source_cannot_answer_is_audited_in_words() {
    let demo = palisade_e2e::workspace_root().join("plugins/demo");
    let case = Case::new().var("DEMO", &demo.display().to_string());
    case.config(
        r#"
[defaults.connectors]
intel = "local"

[connectors.local]
kind = "embedded"
outbox = "outbox.jsonl"
indicators = "${DEMO}/indicators.json"

[plugins.ip-reputation]
path = "${IP_REPUTATION}"
stage = "enrich"
grants = ["intel.lookup"]
"#,
    );
    let unknown = "198.18.7.7";
    let alert = json!({
        "id": "unknown-source",
        "title": "Password spray",
        "source": "Okta",
        "category": "credential-access",
        "severity": "high",
        "confidence": 90,
        "timestamp": "2026-11-26T09:12:00Z",
        "entities": [{"type": "ip", "address": unknown, "direction": "source"}],
    });
    case.alerts(&[alert.to_string()]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let audit = case.palisade(&[
        "audit",
        "--config",
        "palisade.toml",
        "--json",
        "--plugin",
        "ip-reputation",
    ]);
    assert_eq!(audit.code, Some(0), "{audit}");
    let lookups: Vec<Value> = audit
        .json()
        .into_iter()
        .filter(|record| record["operation"] == "intel.lookup")
        .collect();
    assert_eq!(lookups.len(), 1, "{audit}");
    assert_eq!(lookups[0]["target"], unknown, "{audit}");
    assert_eq!(lookups[0]["decision"], "failed", "{audit}");
    assert_eq!(
        lookups[0]["detail"]["error"],
        format!("not found: indicator \"{unknown}\" is not known"),
        "{audit}"
    );
}
