//! Executed destructive operations and their compensating operations, for undo.

use super::writer::{Message, Record, Writer};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Records go through the group-commit writer with the audit, so executing an operation
/// costs no commit of its own; reads flush first, so they see every earlier record.
#[derive(Clone)]
pub struct Actions {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionRow {
    pub action_id: String,
    pub at: i64,
    pub plugin: String,
    pub alert_id: String,
    pub operation: String,
    pub target: String,
    pub request: serde_json::Value,
    pub reference: Option<String>,
    /// The operation that reverses this one; `None` when nothing can (revoked sessions stay revoked).
    pub compensation: Option<serde_json::Value>,
    pub undone_at: Option<i64>,
    pub undone_by: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the store's writer has stopped")]
pub struct RecordError;

#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("no executed action {0}")]
    NotFound(String),
    #[error("action {0} was already undone")]
    AlreadyUndone(String),
    #[error("action {id} ({operation}) cannot be undone: it has no compensating operation")]
    Irreversible { id: String, operation: String },
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
}

impl Actions {
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<Writer>) -> Actions {
        Actions { connection, writer }
    }

    /// Queues the record of an executed operation. `Err` when the writer has stopped, so the
    /// caller can report that this action cannot be undone from Palisade.
    pub fn record(&self, row: ActionRow) -> Result<(), RecordError> {
        if self.writer.send(Message::Record(Record::Action(row))) {
            Ok(())
        } else {
            Err(RecordError)
        }
    }

    pub fn get(&self, action_id: &str) -> Result<Option<ActionRow>, rusqlite::Error> {
        self.writer.flush();
        let connection = super::lock(&self.connection);
        connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM actions WHERE action_id = ?1"),
                params![action_id],
                row_to_action,
            )
            .optional()
    }

    /// Marks an action as being undone, once; the caller runs the compensation and calls
    /// [`Actions::release`] if it fails, so it can be tried again.
    pub fn claim_undo(&self, action_id: &str, by: &str) -> Result<ActionRow, UndoError> {
        self.writer.flush();
        let mut connection = super::lock(&self.connection);
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = transaction
            .query_row(
                &format!("SELECT {COLUMNS} FROM actions WHERE action_id = ?1"),
                params![action_id],
                row_to_action,
            )
            .optional()?
            .ok_or_else(|| UndoError::NotFound(action_id.to_owned()))?;
        if row.undone_at.is_some() {
            return Err(UndoError::AlreadyUndone(action_id.to_owned()));
        }
        if row.compensation.is_none() {
            return Err(UndoError::Irreversible {
                id: action_id.to_owned(),
                operation: row.operation,
            });
        }
        transaction.execute(
            "UPDATE actions SET undone_at = ?2, undone_by = ?3 WHERE action_id = ?1",
            params![action_id, super::now(), by],
        )?;
        transaction.commit()?;
        Ok(row)
    }

    /// Schedules the reversal of `action_id` at `due_at` (Unix seconds): a block for a set time
    /// on a backend that cannot expire it. Written in the same batch as the action's record
    /// (queue it after [`Actions::record`]), not in a commit of its own on the alert's path.
    pub fn lapse_at(&self, action_id: &str, due_at: i64) -> Result<(), RecordError> {
        let lapse = Record::Lapse {
            action_id: action_id.to_owned(),
            due_at,
        };
        if self.writer.send(Message::Record(lapse)) {
            Ok(())
        } else {
            Err(RecordError)
        }
    }

    /// Executed actions scheduled to lapse and not yet undone, soonest first, with their due
    /// times; only those due by `until` when it is given.
    pub fn lapsing(&self, until: Option<i64>) -> Result<Vec<(ActionRow, i64)>, rusqlite::Error> {
        self.writer.flush();
        let connection = super::lock(&self.connection);
        let columns = COLUMNS
            .split(", ")
            .map(|column| format!("a.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut statement = connection.prepare(&format!(
            "SELECT {columns}, l.due_at FROM lapses l JOIN actions a ON a.action_id = l.action_id
             WHERE a.undone_at IS NULL AND l.due_at <= ?1 ORDER BY l.due_at"
        ))?;
        let rows = statement.query_map(params![until.unwrap_or(i64::MAX)], |row| {
            Ok((row_to_action(row)?, row.get::<_, i64>(11)?))
        })?;
        rows.collect()
    }

    /// Executed actions not undone, newest first (at most 1,000).
    pub fn standing(&self) -> Result<Vec<ActionRow>, rusqlite::Error> {
        self.writer.flush();
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare(&format!(
            "SELECT {COLUMNS} FROM actions WHERE undone_at IS NULL ORDER BY at DESC LIMIT 1000"
        ))?;
        let rows = statement.query_map([], row_to_action)?;
        rows.collect()
    }

    pub fn release(&self, action_id: &str) -> Result<(), rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection.execute(
            "UPDATE actions SET undone_at = NULL, undone_by = NULL WHERE action_id = ?1",
            params![action_id],
        )?;
        Ok(())
    }
}

const COLUMNS: &str = "action_id, at, plugin, alert_id, operation, target, request, reference, compensation, undone_at, undone_by";

fn row_to_action(row: &rusqlite::Row<'_>) -> rusqlite::Result<ActionRow> {
    let request: String = row.get(6)?;
    let compensation: Option<String> = row.get(8)?;
    Ok(ActionRow {
        action_id: row.get(0)?,
        at: row.get(1)?,
        plugin: row.get(2)?,
        alert_id: row.get(3)?,
        operation: row.get(4)?,
        target: row.get(5)?,
        request: serde_json::from_str(&request).unwrap_or_default(),
        reference: row.get(7)?,
        compensation: compensation.and_then(|text| serde_json::from_str(&text).ok()),
        undone_at: row.get(9)?,
        undone_by: row.get(10)?,
    })
}
