//! The exactly-once ledger: one row per operation with an outside effect (a destructive
//! operation, a ticket, a comment, a notification), keyed by an idempotency key derived from
//! (alert, plugin, operation, target). The row is marked started, committed, before the
//! connector is called, and done (with the receipt the plugin got) after. So when a plugin
//! runs again on its alert (after a crash, a redelivery, a duplicate), an operation already
//! done is answered from here and never sent again, and one found started and never finished
//! is never re-sent blindly: its outcome is unknown, and a person decides.
//!
//! States:
//! - `started`: the call may be on its way to the vendor. Found by the run that started it,
//!   it is a duplicate in flight; found by a later run, its outcome is unknown.
//! - `done`: the vendor acted; the receipt is kept.
//! - `failed`: the vendor refused (it answered, and said no: not found, invalid, unauthorized,
//!   rate-limited, unsupported), so nothing happened and a later attempt may go ahead.
//! - `unknown`: the call ended without a refusal we can trust (a timeout, a lost connection, a
//!   5xx, a reply we could not read after the vendor may have acted), so it may have happened.
//! - `held`: its outcome was unknown and it waits for a person (`approval_id`); how the person
//!   decided is read from the approval.
//!
//! Every step is its own `IMMEDIATE` transaction on the connection, not a record for the
//! batching writer: it is committed when the call returns. The commit is made with
//! `synchronous=FULL` whatever the store's setting, so a started mark survives a power cut
//! too, not only a crash of the process.

use super::writer::{Count, Writer, counted, sent};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use std::sync::{Arc, Mutex, OnceLock};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    key TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    plugin TEXT NOT NULL,
    operation TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    run TEXT NOT NULL,
    action_id TEXT NOT NULL,
    receipt TEXT,
    error TEXT,
    approval_id TEXT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS ledger_by_alert ON ledger (alert_id);
";

/// The identity of one operation with an outside effect: the same alert, plugin, operation and
/// target give the same key, in any process. The target is the record acted on once the
/// vendor resolved it (its id), else the canonical target (an address, a domain, a channel
/// and a digest of the message).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A JSON array of the four parts: unambiguous whatever they contain, and readable.
    pub fn new(alert_id: &str, plugin: &str, operation: &str, target: &str) -> IdempotencyKey {
        IdempotencyKey(serde_json::json!([alert_id, plugin, operation, target]).to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An operation about to be sent, as [`Ledger::begin`] records it.
#[derive(Debug, Clone)]
pub struct Effect<'a> {
    pub alert_id: &'a str,
    pub plugin: &'a str,
    /// `network.block-ip`, `ticket.create`, ...
    pub operation: &'a str,
    /// The resolved record's id, else the canonical target; what the key is made of.
    pub target: &'a str,
    /// The host's id for this attempt, which a later answer from the ledger carries.
    pub action_id: &'a str,
}

impl Effect<'_> {
    pub fn key(&self) -> IdempotencyKey {
        IdempotencyKey::new(self.alert_id, self.plugin, self.operation, self.target)
    }
}

/// What a done operation answered: the action id of the attempt that did it and what the
/// plugin got (`{"reference": ..}` for a destructive operation, the ticket's ref, `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receipt {
    pub action_id: String,
    pub value: serde_json::Value,
}

/// An attempt whose outcome nobody knows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unfinished {
    /// The process run that started it.
    pub run: String,
    pub action_id: String,
    pub started_at: i64,
    /// How it ended, when it ended with an error that leaves the outcome open; `None` when
    /// the run stopped (crashed, was killed) before the call returned.
    pub error: Option<String>,
    /// When a person was asked before and that approval ended without an answer (it expired,
    /// or approving it failed).
    pub approval_id: Option<String>,
}

impl Unfinished {
    /// Why the operation waits for a person, for the approval and the audit.
    pub fn reason(&self) -> String {
        let mut reason = match &self.error {
            None => format!(
                "outcome unknown after a restart: attempt {} was started by an earlier run ({}) and never finished",
                self.action_id, self.run
            ),
            Some(error) => format!(
                "outcome unknown: attempt {} ended without a clear answer from the vendor ({error})",
                self.action_id
            ),
        };
        if let Some(approval) = &self.approval_id {
            reason.push_str(&format!("; approval {approval} ended without executing it"));
        }
        reason.push_str(". Check the vendor first: approving sends it again, once");
        reason
    }
}

/// What [`Ledger::begin`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Begin {
    /// Never sent, or refused by the vendor before: marked started, go ahead, then
    /// [`Ledger::finish`] (or [`Ledger::release`] if it is not sent after all).
    Fresh,
    /// Done already: answer with this receipt and do not call the vendor.
    Done(Receipt),
    /// Sent and never finished, or finished without a trustworthy answer: it may have happened.
    /// Hold it for a person ([`Ledger::held`]); never send it again without one.
    Unknown(Unfinished),
    /// Started by this run and not finished: the same operation is being sent right now.
    InFlight { action_id: String, since: i64 },
    /// Its outcome was unknown and it already waits for a person.
    Held { approval_id: String },
    /// A person decided not to send it again.
    Denied {
        approval_id: String,
        note: Option<String>,
    },
}

/// How a sent operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The vendor acted; what the plugin got.
    Done(serde_json::Value),
    /// The vendor answered and refused: nothing happened, so a later attempt may be made.
    Refused(String),
    /// No answer to trust: it may have happened. A later attempt is held for a person.
    Unknown(String),
}

/// A row of the ledger, for people and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerEntry {
    pub key: String,
    pub alert_id: String,
    pub plugin: String,
    pub operation: String,
    pub target: String,
    /// `started`, `done`, `failed`, `unknown` or `held`.
    pub state: String,
    pub run: String,
    pub action_id: String,
    pub receipt: Option<serde_json::Value>,
    pub error: Option<String>,
    pub approval_id: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// The ledger, as seen by one process run.
#[derive(Clone)]
pub struct Ledger {
    connection: Arc<Mutex<Connection>>,
    /// Every change goes through the store's group-commit writer: many alerts' operations
    /// share one synchronous commit. On a connection of its own, a commit each, the ledger
    /// held `palisade serve`'s workers to about 1,000 alerts a second.
    writer: Arc<Writer>,
    run: Arc<str>,
}

/// This process's run id: drawn once, different for every start of a process.
fn this_run() -> Arc<str> {
    static RUN: OnceLock<Arc<str>> = OnceLock::new();
    RUN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        format!("run-{}-{nanos:x}", std::process::id()).into()
    })
    .clone()
}

impl Ledger {
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<Writer>) -> Ledger {
        Ledger {
            connection,
            writer,
            run: this_run(),
        }
    }

    /// The process run this handle records as.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The same ledger, recording as another process run: what a restart looks like to it
    /// (for tests and tools; a process has one run).
    pub fn as_run(&self, run: &str) -> Ledger {
        Ledger {
            connection: self.connection.clone(),
            writer: self.writer.clone(),
            run: run.into(),
        }
    }

    /// Looks the operation up and, when it may go ahead, marks it started, committed
    /// (`synchronous=FULL`) before this returns. `Err` says why nothing is known or recorded.
    pub async fn begin(&self, effect: &Effect<'_>) -> Result<Begin, String> {
        let key = effect.key();
        let run = self.run.clone();
        let started = [
            effect.alert_id,
            effect.plugin,
            effect.operation,
            effect.target,
            effect.action_id,
        ]
        .map(str::to_owned);
        self.durably(move |transaction| {
            let found = examine(transaction, &key, &run)?;
            if found == Begin::Fresh {
                let [alert_id, plugin, operation, target, action_id] = &started;
                transaction.execute(
                    "INSERT INTO ledger (key, alert_id, plugin, operation, target, state, run, action_id, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7, ?8)
                     ON CONFLICT (key) DO UPDATE SET state = 'started', run = ?6, action_id = ?7,
                         started_at = ?8, receipt = NULL, error = NULL, approval_id = NULL, finished_at = NULL",
                    params![key.as_str(), alert_id, plugin, operation, target, &*run, action_id, super::now()],
                )?;
            }
            if let Begin::Done(receipt) = &found {
                // Done by an approval: kept here, so the next look needs no approval.
                transaction.execute(
                    "UPDATE ledger SET state = 'done', receipt = ?2, action_id = ?3,
                         finished_at = coalesce(finished_at, ?4)
                     WHERE key = ?1 AND state = 'held'",
                    params![key.as_str(), receipt.value.to_string(), receipt.action_id, super::now()],
                )?;
            }
            Ok(found)
        })
        .await
    }

    /// What [`Ledger::begin`] would answer, changing nothing (`Fresh`: nothing is recorded,
    /// or only a refusal).
    pub fn peek(&self, key: &IdempotencyKey) -> Result<Begin, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        examine(&connection, key, &self.run)
    }

    /// Records how an operation this run started ended. Sent to the store's writer before this
    /// returns, so whatever is written to the store after it (the alert's report, a later
    /// `begin` of the same operation) commits with it or later, and sees it: nobody needs to
    /// wait for the answer to go on. The answer comes once committed (`synchronous=FULL`);
    /// false when there was no such started operation.
    pub fn finish(
        &self,
        key: &IdempotencyKey,
        outcome: Outcome,
    ) -> impl Future<Output = Result<bool, String>> + Send + 'static {
        let (state, receipt, error) = match outcome {
            Outcome::Done(value) => ("done", Some(value.to_string()), None),
            Outcome::Refused(error) => ("failed", None, Some(error)),
            Outcome::Unknown(error) => ("unknown", None, Some(error)),
        };
        let (key, run) = (key.clone(), self.run.clone());
        sent(
            &self.writer,
            Count::ask_durably(move |transaction: &Transaction<'_>| {
                let changed = transaction.execute(
                    "UPDATE ledger SET state = ?3, receipt = ?4, error = ?5, finished_at = ?6
                     WHERE key = ?1 AND run = ?2 AND state = 'started'",
                    params![key.as_str(), &*run, state, receipt, error, super::now()],
                )?;
                Ok(changed == 1)
            }),
        )
    }

    /// Forgets an operation this run started and then did not send (a limit or the breaker
    /// stopped it): nothing happened. False when there was no such started operation.
    pub async fn release(&self, key: &IdempotencyKey) -> Result<bool, String> {
        let (key, run) = (key.clone(), self.run.clone());
        self.durably(move |transaction| {
            let changed = transaction.execute(
                "DELETE FROM ledger WHERE key = ?1 AND run = ?2 AND state = 'started'",
                params![key.as_str(), &*run],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// Records that an operation whose outcome is unknown waits for a person, as
    /// `approval_id`. False when it was not unknown (someone finished it meanwhile).
    pub async fn held(&self, key: &IdempotencyKey, approval_id: &str) -> Result<bool, String> {
        let (key, approval_id) = (key.clone(), approval_id.to_owned());
        self.durably(move |transaction| {
            let changed = transaction.execute(
                "UPDATE ledger SET state = 'held', approval_id = ?2
                 WHERE key = ?1 AND state IN ('started', 'unknown', 'held')",
                params![key.as_str(), approval_id],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub fn get(&self, key: &IdempotencyKey) -> Result<Option<LedgerEntry>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM ledger WHERE key = ?1"),
                params![key.as_str()],
                row_to_entry,
            )
            .optional()
    }

    /// Every operation recorded for an alert, oldest first.
    pub fn for_alert(&self, alert_id: &str) -> Result<Vec<LedgerEntry>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare(&format!(
            "SELECT {COLUMNS} FROM ledger WHERE alert_id = ?1 ORDER BY started_at, key"
        ))?;
        let rows = statement.query_map(params![alert_id], row_to_entry)?;
        rows.collect()
    }

    /// Forgets operations that settled (done, or refused by the vendor) before `before` (unix
    /// seconds) on alerts no longer queued, so the ledger stays its size. A row is only needed
    /// while its alert may run again: a crash before the report, or a repeat inside the dedup
    /// window, so `before` must lie before the window. Rows a person must still see (started,
    /// unknown, held) are kept whatever their age.
    pub fn forget_settled(&self, before: i64) -> Result<usize, rusqlite::Error> {
        // Not durable: a forgetting lost in a crash is done again at the next upkeep.
        let mut connection = super::lock(&self.connection);
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let forgotten = transaction.execute(
            "DELETE FROM ledger WHERE state IN ('done', 'failed') AND finished_at < ?1
             AND alert_id NOT IN (SELECT alert_id FROM queue)",
            params![before],
        )?;
        transaction.commit()?;
        Ok(forgotten)
    }

    /// `step` in the writer's next transaction, committed with `synchronous=FULL` before the
    /// answer (the writer raises it for that commit if the store's setting is lower).
    async fn durably<T: Send + 'static>(
        &self,
        step: impl FnOnce(&Transaction<'_>) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, String> {
        counted(&self.writer, Count::ask_durably(step)).await
    }
}

/// The answer [`Ledger::begin`] gives for `key`, seen by `run`, before it records anything.
fn examine(connection: &Connection, key: &IdempotencyKey, run: &str) -> Result<Begin, rusqlite::Error> {
    let Some(entry) = connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM ledger WHERE key = ?1"),
            params![key.as_str()],
            row_to_entry,
        )
        .optional()?
    else {
        return Ok(Begin::Fresh);
    };
    let unfinished = |error: Option<String>, approval_id: Option<String>| Unfinished {
        run: entry.run.clone(),
        action_id: entry.action_id.clone(),
        started_at: entry.started_at,
        error,
        approval_id,
    };
    Ok(match entry.state.as_str() {
        "done" => Begin::Done(Receipt {
            action_id: entry.action_id.clone(),
            value: entry.receipt.clone().unwrap_or(serde_json::Value::Null),
        }),
        "failed" => Begin::Fresh,
        "started" if entry.run == run => Begin::InFlight {
            action_id: entry.action_id.clone(),
            since: entry.started_at,
        },
        "started" => Begin::Unknown(unfinished(None, None)),
        "held" => {
            let approval_id = entry.approval_id.clone().unwrap_or_default();
            let approval: Option<(String, Option<String>, Option<String>)> = connection
                .query_row(
                    "SELECT status, decision_note, action_id FROM approvals WHERE id = ?1",
                    params![approval_id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            match approval {
                Some((status, _, _)) if status == "pending" || status == "executing" => {
                    Begin::Held { approval_id }
                }
                // Approved and carried out: the approval's note is the vendor's reference.
                Some((status, note, action_id)) if status == "executed" => Begin::Done(Receipt {
                    action_id: action_id.unwrap_or_else(|| entry.action_id.clone()),
                    value: serde_json::json!({"reference": note.filter(|note| !note.is_empty())}),
                }),
                Some((status, note, _)) if status == "denied" => Begin::Denied { approval_id, note },
                // Expired, failed when approved, or gone: still unknown, for a person again.
                _ => Begin::Unknown(unfinished(entry.error.clone(), Some(approval_id))),
            }
        }
        // `unknown`, and any state a later version adds: fail closed.
        _ => Begin::Unknown(unfinished(entry.error.clone(), None)),
    })
}

const COLUMNS: &str = "key, alert_id, plugin, operation, target, state, run, action_id, receipt, error, \
                       approval_id, started_at, finished_at";

fn row_to_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerEntry> {
    let receipt: Option<String> = row.get(8)?;
    Ok(LedgerEntry {
        key: row.get(0)?,
        alert_id: row.get(1)?,
        plugin: row.get(2)?,
        operation: row.get(3)?,
        target: row.get(4)?,
        state: row.get(5)?,
        run: row.get(6)?,
        action_id: row.get(7)?,
        receipt: receipt.map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))),
        error: row.get(9)?,
        approval_id: row.get(10)?,
        started_at: row.get(11)?,
        finished_at: row.get(12)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Approval, ApprovalStatus, Store};

    fn block<'a>(action_id: &'a str) -> Effect<'a> {
        Effect {
            alert_id: "a-1",
            plugin: "spray",
            operation: "network.block-ip",
            target: "203.0.113.7",
            action_id,
        }
    }

    fn hold(store: &Store, id: &str) {
        store
            .approvals()
            .hold(&Approval {
                id: id.into(),
                created_at: crate::now(),
                expires_at: crate::now() + 3600,
                plugin: "spray".into(),
                alert_id: "a-1".into(),
                alert: serde_json::Value::Null,
                operation: "network.block-ip".into(),
                target: "203.0.113.7".into(),
                request: serde_json::Value::Null,
                reason: "outcome unknown".into(),
                status: ApprovalStatus::Pending,
                decided_by: None,
                decided_at: None,
                decision_note: None,
                action_id: None,
            })
            .unwrap();
    }

    #[test]
    fn the_key_is_the_four_parts_and_nothing_can_be_confused() {
        let key = IdempotencyKey::new("a", "p", "network.block-ip", "1.2.3.4");
        assert_eq!(key, IdempotencyKey::new("a", "p", "network.block-ip", "1.2.3.4"));
        assert_ne!(key, IdempotencyKey::new("a", "p", "network.block-ip", "1.2.3.5"));
        assert_ne!(key, IdempotencyKey::new("b", "p", "network.block-ip", "1.2.3.4"));
        // A separator inside a part cannot make two different operations one key.
        assert_ne!(
            IdempotencyKey::new("a\",\"p", "q", "o", "t"),
            IdempotencyKey::new("a", "p\",\"q", "o", "t")
        );
    }

    #[tokio::test]
    async fn settled_operations_are_forgotten_and_those_a_person_must_see_are_kept() {
        let ledger = Store::in_memory().unwrap().ledger();
        let effect = |alert_id, action_id| Effect {
            alert_id,
            ..block(action_id)
        };
        let (done, refused, unknown, queued) = (
            effect("a-done", "act-1"),
            effect("a-refused", "act-2"),
            effect("a-unknown", "act-3"),
            effect("a-queued", "act-4"),
        );
        for each in [&done, &refused, &unknown, &queued] {
            assert_eq!(ledger.begin(each).await.unwrap(), Begin::Fresh);
        }
        let receipt = || Outcome::Done(serde_json::json!({"reference": "r"}));
        ledger.finish(&done.key(), receipt()).await.unwrap();
        ledger
            .finish(&refused.key(), Outcome::Refused("400".into()))
            .await
            .unwrap();
        ledger
            .finish(&unknown.key(), Outcome::Unknown("timeout".into()))
            .await
            .unwrap();
        ledger.finish(&queued.key(), receipt()).await.unwrap();
        // Still queued: a crash before its report runs it again, and the ledger must answer.
        crate::lock(&ledger.connection)
            .execute(
                "INSERT INTO queue (alert_id, source, document, accepted_at) VALUES ('a-queued', 's', '{}', 0)",
                [],
            )
            .unwrap();

        assert_eq!(
            ledger.forget_settled(crate::now() - 60).unwrap(),
            0,
            "nothing is old yet"
        );
        assert_eq!(ledger.forget_settled(crate::now() + 1).unwrap(), 2);
        assert!(ledger.get(&done.key()).unwrap().is_none());
        assert!(ledger.get(&refused.key()).unwrap().is_none());
        assert_eq!(ledger.get(&unknown.key()).unwrap().unwrap().state, "unknown");
        assert_eq!(ledger.get(&queued.key()).unwrap().unwrap().state, "done");
    }

    #[tokio::test]
    async fn done_is_answered_from_the_ledger_and_in_flight_is_refused() {
        let ledger = Store::in_memory().unwrap().ledger();
        let first = block("act-1");
        assert_eq!(ledger.begin(&first).await.unwrap(), Begin::Fresh);
        // The same operation while the first is on its way, in the same run.
        assert!(matches!(
            ledger.begin(&block("act-2")).await.unwrap(),
            Begin::InFlight { action_id, .. } if action_id == "act-1"
        ));
        let receipt = serde_json::json!({"reference": "outbox:act-1"});
        assert!(
            ledger
                .finish(&first.key(), Outcome::Done(receipt.clone()))
                .await
                .unwrap()
        );
        assert_eq!(
            ledger.begin(&block("act-3")).await.unwrap(),
            Begin::Done(Receipt {
                action_id: "act-1".into(),
                value: receipt
            })
        );
        // Finished once: a second finish changes nothing.
        assert!(
            !ledger
                .finish(&first.key(), Outcome::Unknown("late".into()))
                .await
                .unwrap()
        );
        assert_eq!(ledger.get(&first.key()).unwrap().unwrap().state, "done");
    }

    #[tokio::test]
    async fn a_refusal_may_be_tried_again_and_an_unclear_failure_may_not() {
        let ledger = Store::in_memory().unwrap().ledger();
        let attempt = block("act-1");
        assert_eq!(ledger.begin(&attempt).await.unwrap(), Begin::Fresh);
        ledger
            .finish(&attempt.key(), Outcome::Refused("HTTP 400: bad address".into()))
            .await
            .unwrap();
        assert_eq!(ledger.begin(&block("act-2")).await.unwrap(), Begin::Fresh);
        ledger
            .finish(&attempt.key(), Outcome::Unknown("HTTP 503".into()))
            .await
            .unwrap();
        match ledger.begin(&block("act-3")).await.unwrap() {
            Begin::Unknown(unfinished) => {
                assert_eq!(unfinished.action_id, "act-2");
                assert_eq!(unfinished.error.as_deref(), Some("HTTP 503"));
                assert!(
                    unfinished.reason().contains("outcome unknown"),
                    "{}",
                    unfinished.reason()
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_finish_nobody_waits_for_is_seen_by_whatever_follows_it() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("state.db");
        let first = block("act-1");
        {
            let ledger = Store::open(&path).unwrap().ledger();
            assert_eq!(ledger.begin(&first).await.unwrap(), Begin::Fresh);
            // Its answer dropped unread: the alert went on.
            drop(ledger.finish(
                &first.key(),
                Outcome::Done(serde_json::json!({"reference": "r-1"})),
            ));
            assert!(matches!(
                ledger.begin(&block("act-2")).await.unwrap(),
                Begin::Done(Receipt { ref action_id, .. }) if action_id == "act-1"
            ));
        }
        // And it was committed: a later run finds it done, not unknown.
        let entry = Store::open(&path)
            .unwrap()
            .ledger()
            .get(&first.key())
            .unwrap()
            .unwrap();
        assert_eq!(entry.state, "done");
    }

    #[tokio::test]
    async fn an_operation_not_sent_after_all_is_released() {
        let ledger = Store::in_memory().unwrap().ledger();
        let attempt = block("act-1");
        assert_eq!(ledger.begin(&attempt).await.unwrap(), Begin::Fresh);
        assert!(ledger.release(&attempt.key()).await.unwrap());
        assert!(ledger.get(&attempt.key()).unwrap().is_none());
        assert_eq!(ledger.begin(&block("act-2")).await.unwrap(), Begin::Fresh);
        // Another run's attempt is not this run's to release.
        assert!(!ledger.as_run("other").release(&attempt.key()).await.unwrap());
    }

    #[tokio::test]
    async fn across_a_restart_done_stays_done_and_started_becomes_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.db");
        let done = Effect {
            target: "198.51.100.1",
            ..block("act-1")
        };
        let crashed = block("act-2");
        {
            let store = Store::open(&path).unwrap();
            let ledger = store.ledger().as_run("run-before-the-crash");
            assert_eq!(ledger.begin(&done).await.unwrap(), Begin::Fresh);
            ledger
                .finish(
                    &done.key(),
                    Outcome::Done(serde_json::json!({"reference": "r-1"})),
                )
                .await
                .unwrap();
            // Started, and the process dies before the connector answers.
            assert_eq!(ledger.begin(&crashed).await.unwrap(), Begin::Fresh);
        }
        let store = Store::open(&path).unwrap();
        let ledger = store.ledger();
        assert_ne!(ledger.run(), "run-before-the-crash");
        assert!(matches!(
            ledger.begin(&Effect { action_id: "act-3", ..done.clone() }).await.unwrap(),
            Begin::Done(Receipt { action_id, value }) if action_id == "act-1" && value["reference"] == "r-1"
        ));
        let unknown = match ledger.begin(&block("act-4")).await.unwrap() {
            Begin::Unknown(unfinished) => unfinished,
            other => panic!("{other:?}"),
        };
        assert_eq!(unknown.run, "run-before-the-crash");
        assert_eq!(unknown.action_id, "act-2");
        assert_eq!(unknown.error, None);
        assert!(
            unknown.reason().contains("after a restart"),
            "{}",
            unknown.reason()
        );
        // Looking did not change it: still unknown, still never sent again.
        assert_eq!(ledger.get(&crashed.key()).unwrap().unwrap().state, "started");
        assert!(
            !ledger
                .finish(&crashed.key(), Outcome::Done(serde_json::Value::Null))
                .await
                .unwrap()
        );
        assert!(matches!(
            ledger.begin(&block("act-5")).await.unwrap(),
            Begin::Unknown(_)
        ));
    }

    #[tokio::test]
    async fn a_held_unknown_follows_its_approval() {
        let store = Store::in_memory().unwrap();
        let before = store.ledger().as_run("earlier");
        let now = store.ledger();
        let key = block("act-1").key();
        before.begin(&block("act-1")).await.unwrap();
        assert!(matches!(
            now.begin(&block("act-2")).await.unwrap(),
            Begin::Unknown(_)
        ));

        // Held for a person: asking again gives the same approval, not a second one.
        hold(&store, "ap-2");
        assert!(now.held(&key, "ap-2").await.unwrap());
        assert_eq!(
            now.begin(&block("act-3")).await.unwrap(),
            Begin::Held {
                approval_id: "ap-2".into()
            }
        );
        assert_eq!(
            now.as_run("later").peek(&key).unwrap(),
            Begin::Held {
                approval_id: "ap-2".into()
            }
        );

        // Approved and executed: done, with the approval's execution as the receipt.
        store.approvals().claim("ap-2", "analyst").unwrap();
        store
            .approvals()
            .finish("ap-2", true, Some("act-9"), "outbox:act-9")
            .unwrap();
        let done = Begin::Done(Receipt {
            action_id: "act-9".into(),
            value: serde_json::json!({"reference": "outbox:act-9"}),
        });
        assert_eq!(now.begin(&block("act-4")).await.unwrap(), done);
        assert_eq!(now.get(&key).unwrap().unwrap().state, "done");
        assert_eq!(now.begin(&block("act-5")).await.unwrap(), done);
    }

    #[tokio::test]
    async fn a_denied_unknown_is_not_sent_and_an_expired_one_goes_back_to_a_person() {
        let store = Store::in_memory().unwrap();
        let key = block("act-1").key();
        store
            .ledger()
            .as_run("earlier")
            .begin(&block("act-1"))
            .await
            .unwrap();
        hold(&store, "ap-2");
        store.ledger().held(&key, "ap-2").await.unwrap();
        store
            .approvals()
            .deny("ap-2", "analyst", "already blocked")
            .unwrap();
        assert!(matches!(
            store.ledger().begin(&block("act-3")).await.unwrap(),
            Begin::Denied { approval_id, note } if approval_id == "ap-2" && note.as_deref() == Some("already blocked")
        ));

        let other = Effect {
            target: "198.51.100.9",
            ..block("act-4")
        };
        store.ledger().as_run("earlier").begin(&other).await.unwrap();
        store.ledger().held(&other.key(), "ap-gone").await.unwrap();
        match store.ledger().begin(&other).await.unwrap() {
            Begin::Unknown(unfinished) => {
                assert_eq!(unfinished.approval_id.as_deref(), Some("ap-gone"));
                assert!(unfinished.reason().contains("ap-gone"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn begin_leaves_the_connections_own_durability_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("palisade.db")).unwrap();
        store.ledger().begin(&block("act-1")).await.unwrap();
        let connection = crate::lock(&store.connection);
        let synchronous: i64 = connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, 1, "NORMAL, as the store opened it");
    }
}
