//! Exactly-once effects through the real broker and gate, with the embedded backends (whose
//! outbox file is what "the vendor received"): a plugin run again on its alert is answered
//! from the ledger, and an operation an earlier run started and never finished is held for a
//! person as unknown, never sent again blindly.

use palisade_abi::bindings::palisade::action::{network, notify, ticket};
use palisade_abi::bindings::types::{ActionError, ActionStatus, Receipt, Severity};
use palisade_connectors::config::EmbeddedConfig;
use palisade_connectors::{CapabilitySet, ConnectorConfig, Registry};
use palisade_core::capability::{Capability, Grants, Operation};
use palisade_policy::Policy;
use palisade_runtime::Limits;
use palisade_runtime::capability::{ActionResult, AlertContext, Broker, PluginContext};
use palisade_store::{ApprovalStatus, AuditFilter, Effect, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ALERT: &str = "okta-7741";
const PLUGIN: &str = "password-spray";
const ADDRESS: &str = "203.0.113.7";

struct Fixture {
    dir: tempfile::TempDir,
    connectors: CapabilitySet,
    policy: Policy,
    grants: Grants,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedConfig {
            outbox: dir.path().join("outbox.jsonl"),
            directory: None,
            indicators: None,
            events: None,
            inventory: None,
        };
        let registry = Registry::build(&BTreeMap::from([(
            "local".to_owned(),
            ConnectorConfig::Embedded(embedded),
        )]))
        .unwrap();
        let bindings = [Capability::Network, Capability::Ticket, Capability::Notify]
            .into_iter()
            .map(|capability| (capability, "local".to_owned()))
            .collect();
        let grants = Grants::new(
            [
                "network.block-ip",
                "ticket.create",
                "ticket.comment",
                "notify.send",
            ]
            .into_iter()
            .map(|name| Operation::parse(name).unwrap()),
        );
        Fixture {
            connectors: registry.for_plugin(&bindings),
            policy: Policy {
                approval_ttl: std::time::Duration::from_secs(3600),
                ..Policy::default()
            },
            grants,
            dir,
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("palisade.db")
    }

    /// One invocation's broker, as the pipeline makes it, recording to `store`, with the
    /// ledger as `run` sees it (`None`: the option off, as `palisade run`).
    fn broker(&self, store: &Store, run: Option<&str>) -> Broker {
        let ledger = run.map(|run| match run {
            "this process" => store.ledger(),
            other => store.ledger().as_run(other),
        });
        let context = PluginContext {
            grants: Arc::new(self.grants.clone()),
            connectors: self.connectors.clone(),
            store: Some(store.clone()),
            policy: Arc::new(self.policy.clone()),
            ledger,
            ..PluginContext::isolated(PLUGIN, Limits::default())
        };
        let alert = AlertContext {
            confidence: Some(92),
            rule: "spray".into(),
            rule_label: "Password spray".into(),
            ..AlertContext::none(ALERT)
        };
        Broker::new(context, alert)
    }

    /// What the vendor received: the outbox's lines for `operation`.
    fn sent(&self, operation: &str) -> usize {
        sent(&self.dir.path().join("outbox.jsonl"), operation)
    }
}

fn sent(outbox: &Path, operation: &str) -> usize {
    let Ok(text) = std::fs::read_to_string(outbox) else {
        return 0;
    };
    text.lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| {
            format!(
                "{}.{}",
                line["capability"].as_str().unwrap_or_default(),
                line["operation"].as_str().unwrap_or_default()
            ) == operation
        })
        .count()
}

async fn block(broker: &mut Broker) -> Receipt {
    network::Host::block_ip(broker, ADDRESS.into(), None, "spray".into())
        .await
        .unwrap()
        .unwrap()
}

fn new_ticket() -> ticket::NewTicket {
    ticket::NewTicket {
        title: "Password spray from 203.0.113.7".into(),
        description: "3 of 5 accounts signed in".into(),
        severity: Severity::High,
        tags: vec!["spray".into()],
        observables: Vec::new(),
    }
}

fn message() -> notify::Message {
    notify::Message {
        channel: Some("#soc".into()),
        title: "Blocked 203.0.113.7".into(),
        body: "password spray".into(),
        severity: Severity::High,
    }
}

/// Everything the plugin does on its alert: a block, a ticket, a comment on it, a message.
async fn respond(broker: &mut Broker) -> (Receipt, String) {
    let receipt = block(broker).await;
    let opened = ticket::Host::create(broker, new_ticket()).await.unwrap().unwrap();
    ticket::Host::comment(broker, opened.id.clone(), "blocked".into())
        .await
        .unwrap()
        .unwrap();
    notify::Host::send(broker, message()).await.unwrap().unwrap();
    (receipt, opened.id)
}

fn decisions(store: &Store) -> Vec<(String, String)> {
    let audit = store.audit();
    audit.flush();
    audit
        .query(&AuditFilter {
            alert_id: Some(ALERT.into()),
            ..AuditFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|record| (record.operation.unwrap_or_default(), record.decision))
        .collect()
}

fn the_block(action_id: &str) -> Effect<'_> {
    Effect {
        alert_id: ALERT,
        plugin: PLUGIN,
        operation: "network.block-ip",
        target: ADDRESS,
        action_id,
    }
}

#[tokio::test]
async fn a_plugin_run_again_on_its_alert_after_a_restart_sends_nothing_again() {
    let fixture = Fixture::new();
    let (first, ticket_id) = {
        let store = Store::open(&fixture.db()).unwrap();
        let mut broker = fixture.broker(&store, Some("the process before"));
        let answers = respond(&mut broker).await;
        assert!(matches!(answers.0.status, ActionStatus::Executed));
        answers
    };
    for operation in [
        "network.block-ip",
        "ticket.create",
        "ticket.comment",
        "notify.send",
    ] {
        assert_eq!(fixture.sent(operation), 1, "{operation}");
    }

    // The service restarts and the queue gives the alert to the plugin again.
    let store = Store::open(&fixture.db()).unwrap();
    let mut broker = fixture.broker(&store, Some("this process"));
    let (again, same_ticket) = respond(&mut broker).await;
    for operation in [
        "network.block-ip",
        "ticket.create",
        "ticket.comment",
        "notify.send",
    ] {
        assert_eq!(fixture.sent(operation), 1, "{operation} was sent again");
    }
    // The answers it would have got: the same execution, reference and ticket.
    assert!(matches!(again.status, ActionStatus::Executed));
    assert_eq!(again.action_id, first.action_id);
    assert_eq!(again.reference, first.reference);
    assert_eq!(same_ticket, ticket_id);
    assert!(
        broker
            .log
            .actions
            .iter()
            .all(|action| matches!(action.result, ActionResult::Executed { .. })),
        "{:?}",
        broker.log.actions
    );
    let replayed = decisions(&store)
        .into_iter()
        .filter(|(_, decision)| decision == "replayed")
        .count();
    assert_eq!(replayed, 4);

    // Without the option (`palisade run`), a run again sends again, as it always has.
    let mut unguarded = fixture.broker(&store, None);
    block(&mut unguarded).await;
    assert_eq!(fixture.sent("network.block-ip"), 2);
}

#[tokio::test]
async fn an_operation_an_earlier_run_started_and_never_finished_is_held_as_unknown() {
    let fixture = Fixture::new();
    {
        // The earlier run marked the block started, and was killed before the vendor answered.
        let store = Store::open(&fixture.db()).unwrap();
        let begun = store
            .ledger()
            .as_run("killed")
            .begin(&the_block("act-killed"))
            .await
            .unwrap();
        assert_eq!(begun, palisade_store::Begin::Fresh);
    }
    let store = Store::open(&fixture.db()).unwrap();
    let mut broker = fixture.broker(&store, Some("this process"));
    let receipt = block(&mut broker).await;
    let ActionStatus::Held(approval_id) = receipt.status else {
        panic!("not held: {receipt:?}");
    };
    assert_eq!(fixture.sent("network.block-ip"), 0, "sent again blindly");
    let approval = store.approvals().get(&approval_id).unwrap().unwrap();
    assert_eq!(approval.status, ApprovalStatus::Pending);
    assert!(
        approval.reason.contains("outcome unknown after a restart") && approval.reason.contains("act-killed"),
        "{}",
        approval.reason
    );
    assert!(decisions(&store).contains(&("network.block-ip".into(), "held".into())));

    // Run again while it waits: the same approval, not a second one, and still nothing sent.
    let mut again = fixture.broker(&store, Some("this process"));
    let receipt = block(&mut again).await;
    assert!(
        matches!(&receipt.status, ActionStatus::Held(id) if *id == approval_id),
        "{receipt:?}"
    );
    assert_eq!(store.approvals().list(false).unwrap().len(), 1);
    assert_eq!(fixture.sent("network.block-ip"), 0);

    // A person checks the vendor and approves: sent once, knowingly; after that the ledger
    // answers with that execution.
    let approved = palisade_response::approve(&fixture, &store, &approval_id, "analyst")
        .await
        .unwrap();
    assert!(approved.result.is_ok());
    assert_eq!(fixture.sent("network.block-ip"), 1);
    let mut after = fixture.broker(&store, Some("this process"));
    let receipt = block(&mut after).await;
    assert!(matches!(receipt.status, ActionStatus::Executed), "{receipt:?}");
    assert_eq!(receipt.action_id, approved.action_id);
    assert_eq!(fixture.sent("network.block-ip"), 1);
}

#[tokio::test]
async fn a_ticket_of_unknown_outcome_is_held_and_not_opened_again() {
    let fixture = Fixture::new();
    let store = Store::open(&fixture.db()).unwrap();
    // The earlier run opened it (or not: nobody knows) and died.
    store
        .ledger()
        .as_run("killed")
        .begin(&Effect {
            operation: "ticket.create",
            target: "Password spray from 203.0.113.7",
            ..the_block("act-killed")
        })
        .await
        .unwrap();
    let mut broker = fixture.broker(&store, Some("this process"));
    let answer = ticket::Host::create(&mut broker, new_ticket()).await.unwrap();
    let Err(ActionError::Failed(message)) = answer else {
        panic!("not held: {answer:?}");
    };
    assert!(message.starts_with("held for approval ap-"), "{message}");
    assert_eq!(fixture.sent("ticket.create"), 0);
    assert!(matches!(broker.log.actions[0].result, ActionResult::Held { .. }));
    let pending = store.approvals().list(false).unwrap();
    assert_eq!(pending.len(), 1);
    assert!(
        pending[0].reason.contains("outcome unknown"),
        "{}",
        pending[0].reason
    );

    // A person who checked the ticketing system approves it: opened once, and the next run
    // is answered from the approval.
    let approved = palisade_response::approve(&fixture, &store, &pending[0].id, "analyst")
        .await
        .unwrap();
    assert!(approved.result.is_ok(), "{:?}", approved.result.err());
    assert_eq!(fixture.sent("ticket.create"), 1);
    let mut again = fixture.broker(&store, Some("this process"));
    let answer = ticket::Host::create(&mut again, new_ticket()).await.unwrap();
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(fixture.sent("ticket.create"), 1);
}

#[tokio::test]
async fn the_same_operation_while_it_is_being_sent_in_this_run_is_refused() {
    let fixture = Fixture::new();
    let store = Store::open(&fixture.db()).unwrap();
    // Another invocation in this process is sending the block right now.
    store.ledger().begin(&the_block("act-sending")).await.unwrap();
    let mut broker = fixture.broker(&store, Some("this process"));
    let receipt = block(&mut broker).await;
    let ActionStatus::Refused(reason) = receipt.status else {
        panic!("not refused: {receipt:?}");
    };
    assert!(
        reason.contains("being sent right now") && reason.contains("act-sending"),
        "{reason}"
    );
    assert_eq!(fixture.sent("network.block-ip"), 0);
    assert!(decisions(&store).contains(&("network.block-ip".into(), "refused".into())));
}

impl palisade_response::Plugins for Fixture {
    fn bound(&self, plugin: &str) -> Result<palisade_response::Bound<'_>, String> {
        assert_eq!(plugin, PLUGIN);
        Ok(palisade_response::Bound {
            connectors: self.connectors.clone(),
            grants: &self.grants,
            policy: &self.policy,
        })
    }
}

/// A block for a set time on a backend that cannot lift it: the host schedules the unblock
/// and carries it out once when due, and not before.
#[tokio::test]
async fn a_block_for_a_set_time_is_lifted_once_when_due() {
    let fixture = Fixture::new();
    let store = Store::open(&fixture.db()).unwrap();
    let mut broker = fixture.broker(&store, None);
    let receipt = network::Host::block_ip(&mut broker, ADDRESS.into(), Some(1), "spray".into())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(receipt.status, ActionStatus::Executed), "{receipt:?}");
    let scheduled = store.actions().lapsing(None).unwrap();
    assert_eq!(scheduled.len(), 1, "the unblock is scheduled");
    assert!(
        palisade_response::lapse_due(&fixture, &store).await.is_empty(),
        "not before it is due"
    );
    assert_eq!(fixture.sent("network.unblock-ip"), 0);

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let lapsed = palisade_response::lapse_due(&fixture, &store).await;
    assert_eq!(lapsed.len(), 1);
    assert!(lapsed[0].1.is_ok(), "{:?}", lapsed[0].1.as_ref().err());
    assert_eq!(fixture.sent("network.unblock-ip"), 1);
    // Once: lifted, it is no longer scheduled.
    assert!(palisade_response::lapse_due(&fixture, &store).await.is_empty());
    assert!(store.actions().lapsing(None).unwrap().is_empty());
    assert_eq!(fixture.sent("network.unblock-ip"), 1);
}
