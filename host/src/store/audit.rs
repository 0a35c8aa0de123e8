//! The audit trail: append-only (the database refuses updates and deletes of it), one row per
//! alert processed, plugin invocation, host call, approval decision, undo and breaker event.

use rusqlite::{Connection, params};
use serde::Serialize;
use std::sync::{Arc, Mutex, mpsc};

/// Appends to the audit and reads it. Writes go through one writer thread that commits
/// whatever has queued up in one transaction (group commit), so recording every host call
/// costs a channel send on the hot path; reads flush first, so they see every earlier write.
#[derive(Clone)]
pub struct Audit {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
}

/// The writer thread; dropping the last handle drains the queue and waits for it.
pub(super) struct Writer {
    sender: Mutex<Option<mpsc::Sender<Message>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

enum Message {
    Insert(Row),
    Flush(mpsc::Sender<()>),
}

struct Row {
    at: String,
    at_unix: i64,
    kind: String,
    alert_id: Option<String>,
    plugin: Option<String>,
    operation: Option<String>,
    target: Option<String>,
    decision: String,
    detail: String,
}

/// The most rows one transaction holds, so a flood of records still commits regularly.
const MAX_BATCH: usize = 4096;
/// How long the writer gathers records before committing them.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(20);

impl Writer {
    pub(super) fn start(connection: Arc<Mutex<Connection>>) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel::<Message>();
        let thread = std::thread::Builder::new()
            .name("palisade-audit".into())
            .spawn(move || {
                // Blocks while idle; the first record of a batch wakes the thread.
                while let Ok(first) = receiver.recv() {
                    // Collect for a moment: one transaction for many records is what makes
                    // auditing every host call affordable. The thread sleeps instead of
                    // waiting on the channel, so the records sent meanwhile cost no wake-up
                    // each (a send wakes only a receiver blocked in `recv`); a flush unparks
                    // it and ends the wait at once.
                    let deadline = std::time::Instant::now() + BATCH_WINDOW;
                    let mut flushing = matches!(first, Message::Flush(_));
                    let mut batch = vec![first];
                    loop {
                        while batch.len() < MAX_BATCH {
                            match receiver.try_recv() {
                                Ok(message) => {
                                    flushing |= matches!(message, Message::Flush(_));
                                    batch.push(message);
                                }
                                Err(_) => break,
                            }
                        }
                        let left = deadline.saturating_duration_since(std::time::Instant::now());
                        if flushing || batch.len() >= MAX_BATCH || left.is_zero() {
                            break;
                        }
                        std::thread::park_timeout(left);
                    }
                    if let Err(error) = write_batch(&connection, &batch) {
                        tracing::error!(%error, rows = batch.len(), "cannot write audit records");
                    }
                    for message in batch {
                        if let Message::Flush(done) = message {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn send(&self, message: Message) -> bool {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sender.as_ref().is_some_and(|sender| sender.send(message).is_ok())
    }

    /// Ends the writer's gathering wait, for a flush that someone is waiting on.
    fn wake(&self) {
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
        {
            thread.thread().unpark();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
        // The last batch is written at once rather than after the gathering window.
        self.wake();
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        {
            let _ = thread.join();
        }
    }
}

fn write_batch(connection: &Mutex<Connection>, batch: &[Message]) -> Result<(), rusqlite::Error> {
    let mut connection = super::lock(connection);
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO audit (at, at_unix, kind, alert_id, plugin, operation, target, decision, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for message in batch {
            if let Message::Insert(row) = message {
                insert.execute(params![
                    row.at,
                    row.at_unix,
                    row.kind,
                    row.alert_id,
                    row.plugin,
                    row.operation,
                    row.target,
                    row.decision,
                    row.detail
                ])?;
            }
        }
    }
    transaction.commit()
}

/// One thing that happened.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent<'a> {
    /// `alert`, `duplicate`, `invocation`, `host-call`, `approval`, `undo` or `breaker`.
    pub kind: &'a str,
    pub alert_id: Option<&'a str>,
    pub plugin: Option<&'a str>,
    pub operation: Option<String>,
    pub target: Option<&'a str>,
    /// What was decided or how it ended: `executed`, `held`, `denied`, `completed`, ...
    pub decision: &'a str,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub alert_id: Option<String>,
    pub plugin: Option<String>,
    pub operation: Option<String>,
    pub target: Option<String>,
    pub decision: String,
    pub detail: serde_json::Value,
}

/// Which records `palisade audit` shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub alert_id: Option<String>,
    pub plugin: Option<String>,
    /// Unix seconds.
    pub since: Option<i64>,
    pub limit: Option<u32>,
}

impl Audit {
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<Writer>) -> Audit {
        Audit { connection, writer }
    }

    /// Queues a record. Losing one must be visible, but must not stop containment: a failed
    /// write is logged as an error.
    pub fn log(&self, event: &AuditEvent<'_>) {
        let now = time::OffsetDateTime::now_utc();
        let row = Row {
            at: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            at_unix: now.unix_timestamp(),
            kind: event.kind.to_owned(),
            alert_id: event.alert_id.map(str::to_owned),
            plugin: event.plugin.map(str::to_owned),
            operation: event.operation.clone(),
            target: event.target.map(str::to_owned),
            decision: event.decision.to_owned(),
            detail: redact(event.detail.clone()).to_string(),
        };
        if !self.writer.send(Message::Insert(row)) {
            tracing::error!(
                kind = event.kind,
                "cannot write the audit record: the audit writer has stopped"
            );
        }
    }

    /// Waits until every record queued so far is in the database.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.writer.send(Message::Flush(done)) {
            self.writer.wake();
            let _ = wait.recv();
        }
    }

    pub fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, rusqlite::Error> {
        self.flush();
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare(
            "SELECT id, at, kind, alert_id, plugin, operation, target, decision, detail FROM audit
             WHERE (?1 IS NULL OR alert_id = ?1) AND (?2 IS NULL OR plugin = ?2) AND (?3 IS NULL OR at_unix >= ?3)
             ORDER BY id LIMIT ?4",
        )?;
        let rows = statement.query_map(
            params![
                filter.alert_id,
                filter.plugin,
                filter.since,
                filter.limit.map_or(-1, i64::from)
            ],
            |row| {
                let detail: String = row.get(8)?;
                Ok(AuditRecord {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    kind: row.get(2)?,
                    alert_id: row.get(3)?,
                    plugin: row.get(4)?,
                    operation: row.get(5)?,
                    target: row.get(6)?,
                    decision: row.get(7)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                })
            },
        )?;
        rows.collect()
    }
}

/// Field names whose values are never stored, whatever a plugin or vendor put in them.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "credential",
];

/// Replaces the values of secret-looking fields, at any depth.
pub fn redact(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let lower = key.to_lowercase();
                    if SECRET_FIELDS.iter().any(|secret| lower.contains(secret)) {
                        (key, Value::String("[redacted]".into()))
                    } else {
                        (key, redact(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn records_are_filtered_and_cannot_be_changed() {
        let store = Store::in_memory().unwrap();
        let audit = store.audit();
        for (alert, plugin) in [("a-1", "spray"), ("a-2", "spray"), ("a-1", "triage")] {
            audit.log(&AuditEvent {
                kind: "invocation",
                alert_id: Some(alert),
                plugin: Some(plugin),
                decision: "completed",
                detail: serde_json::json!({"duration_ms": 1}),
                ..AuditEvent::default()
            });
        }
        let filter = AuditFilter {
            alert_id: Some("a-1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(audit.query(&filter).unwrap().len(), 2);
        let filter = AuditFilter {
            plugin: Some("spray".into()),
            ..AuditFilter::default()
        };
        assert_eq!(audit.query(&filter).unwrap().len(), 2);

        let connection = store.connection.lock().unwrap();
        assert!(connection.execute("UPDATE audit SET decision = 'x'", []).is_err());
        assert!(connection.execute("DELETE FROM audit", []).is_err());
    }

    #[test]
    fn secret_looking_fields_are_redacted_at_any_depth() {
        let value = redact(
            serde_json::json!({"user": "alice", "request": {"new_password": "hunter2", "Api_Key": "k"}}),
        );
        assert_eq!(value["user"], "alice");
        assert_eq!(value["request"]["new_password"], "[redacted]");
        assert_eq!(value["request"]["Api_Key"], "[redacted]");
    }
}
