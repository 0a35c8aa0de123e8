//! Operations held for a person, and their decisions. A held operation is executed at most
//! once: approving moves it out of `pending` in one transaction, so a second approval (even
//! from another process at the same moment) finds it already decided.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Approvals {
    connection: Arc<Mutex<Connection>>,
}

/// A held operation, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub plugin: String,
    pub alert_id: String,
    /// What the approver needs to judge: the alert's title, severity, confidence, entities.
    pub alert: serde_json::Value,
    pub operation: String,
    pub target: String,
    /// The operation itself, to execute on approval.
    pub request: serde_json::Value,
    /// Why it was held.
    pub reason: String,
    pub status: ApprovalStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
    pub action_id: Option<String>,
}

/// Where a held operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for a person.
    Pending,
    /// Approved and being carried out.
    Executing,
    Executed,
    /// Approved, but the connector failed.
    Failed,
    Denied,
    /// Nobody decided in time.
    Expired,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Executing => "executing",
            ApprovalStatus::Executed => "executed",
            ApprovalStatus::Failed => "failed",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Expired => "expired",
        }
    }

    fn parse(text: &str) -> Option<ApprovalStatus> {
        [
            ApprovalStatus::Pending,
            ApprovalStatus::Executing,
            ApprovalStatus::Executed,
            ApprovalStatus::Failed,
            ApprovalStatus::Denied,
            ApprovalStatus::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

impl std::fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::FromSql for ApprovalStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        ApprovalStatus::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown approval status {text:?}").into())
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("no held operation {0}")]
    NotFound(String),
    #[error("held operation {id} was already decided ({status})")]
    AlreadyDecided { id: String, status: ApprovalStatus },
    #[error("held operation {0} expired before anyone approved it")]
    Expired(String),
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
}

impl Approvals {
    pub(super) fn new(connection: Arc<Mutex<Connection>>) -> Approvals {
        Approvals { connection }
    }

    pub fn hold(&self, approval: &Approval) -> Result<(), rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection.execute(
            "INSERT INTO approvals (id, created_at, expires_at, plugin, alert_id, alert, operation, target,
                                    request, reason, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending')",
            params![
                approval.id,
                approval.created_at,
                approval.expires_at,
                approval.plugin,
                approval.alert_id,
                approval.alert.to_string(),
                approval.operation,
                approval.target,
                approval.request.to_string(),
                approval.reason
            ],
        )?;
        Ok(())
    }

    /// Held operations, newest first; pending ones past their time are marked expired first.
    pub fn list(&self, all: bool) -> Result<Vec<Approval>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        expire(&connection)?;
        let mut statement = connection.prepare(&format!(
            "SELECT {COLUMNS} FROM approvals WHERE ?1 OR status = 'pending' ORDER BY created_at DESC, id"
        ))?;
        let rows = statement.query_map(params![all], row_to_approval)?;
        rows.collect()
    }

    /// Every pending operation, then at most `decided` of the others, newest first: what a
    /// page shows, read without the whole history.
    pub fn recent(&self, decided: u32) -> Result<Vec<Approval>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        expire(&connection)?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT * FROM (SELECT {COLUMNS} FROM approvals WHERE status = 'pending'
                           ORDER BY created_at DESC, id)
             UNION ALL
             SELECT * FROM (SELECT {COLUMNS} FROM approvals WHERE status != 'pending'
                            ORDER BY created_at DESC, id LIMIT ?1)"
        ))?;
        let rows = statement.query_map(params![decided], row_to_approval)?;
        rows.collect()
    }

    pub fn get(&self, id: &str) -> Result<Option<Approval>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"),
                params![id],
                row_to_approval,
            )
            .optional()
    }

    /// Takes a pending operation for execution, recording who approved it and when.
    pub fn claim(&self, id: &str, by: &str) -> Result<Approval, ApprovalError> {
        self.decide(id, by, ApprovalStatus::Executing, None)
    }

    /// Refuses a pending operation; nothing is executed.
    pub fn deny(&self, id: &str, by: &str, note: &str) -> Result<Approval, ApprovalError> {
        self.decide(id, by, ApprovalStatus::Denied, Some(note))
    }

    fn decide(
        &self,
        id: &str,
        by: &str,
        status: ApprovalStatus,
        note: Option<&str>,
    ) -> Result<Approval, ApprovalError> {
        let mut connection = super::lock(&self.connection);
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        expire(&transaction)?;
        let current = transaction
            .query_row(
                &format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"),
                params![id],
                row_to_approval,
            )
            .optional()?
            .ok_or_else(|| ApprovalError::NotFound(id.to_owned()))?;
        match current.status {
            ApprovalStatus::Pending => {}
            ApprovalStatus::Expired => return Err(ApprovalError::Expired(id.to_owned())),
            other => {
                return Err(ApprovalError::AlreadyDecided {
                    id: id.to_owned(),
                    status: other,
                });
            }
        }
        let now = super::now();
        transaction.execute(
            "UPDATE approvals SET status = ?2, decided_by = ?3, decided_at = ?4, decision_note = ?5 WHERE id = ?1",
            params![id, status.as_str(), by, now, note],
        )?;
        transaction.commit()?;
        Ok(Approval {
            status,
            decided_by: Some(by.to_owned()),
            decided_at: Some(now),
            decision_note: note.map(str::to_owned),
            ..current
        })
    }

    /// Records how an approved operation ended.
    pub fn finish(
        &self,
        id: &str,
        executed: bool,
        action_id: Option<&str>,
        note: &str,
    ) -> Result<(), rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection.execute(
            "UPDATE approvals SET status = ?2, action_id = ?3, decision_note = ?4 WHERE id = ?1 AND status = 'executing'",
            params![
                id,
                if executed {
                    ApprovalStatus::Executed
                } else {
                    ApprovalStatus::Failed
                }
                .as_str(),
                action_id,
                note
            ],
        )?;
        Ok(())
    }
}

const COLUMNS: &str = "id, created_at, expires_at, plugin, alert_id, alert, operation, target, request, reason, \
                       status, decided_by, decided_at, decision_note, action_id";

fn row_to_approval(row: &rusqlite::Row<'_>) -> rusqlite::Result<Approval> {
    let json = |index: usize| -> rusqlite::Result<serde_json::Value> {
        let text: String = row.get(index)?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    };
    Ok(Approval {
        id: row.get(0)?,
        created_at: row.get(1)?,
        expires_at: row.get(2)?,
        plugin: row.get(3)?,
        alert_id: row.get(4)?,
        alert: json(5)?,
        operation: row.get(6)?,
        target: row.get(7)?,
        request: json(8)?,
        reason: row.get(9)?,
        status: row.get(10)?,
        decided_by: row.get(11)?,
        decided_at: row.get(12)?,
        decision_note: row.get(13)?,
        action_id: row.get(14)?,
    })
}

fn expire(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.execute(
        "UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?1",
        params![super::now()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn held(id: &str, expires_in: i64) -> Approval {
        Approval {
            id: id.into(),
            created_at: crate::now(),
            expires_at: crate::now() + expires_in,
            plugin: "spray".into(),
            alert_id: "a-1".into(),
            alert: serde_json::json!({"title": "t"}),
            operation: "identity.revoke-sessions".into(),
            target: "ceo".into(),
            request: serde_json::json!({"capability": "identity"}),
            reason: "protected".into(),
            status: ApprovalStatus::Pending,
            decided_by: None,
            decided_at: None,
            decision_note: None,
            action_id: None,
        }
    }

    #[test]
    fn an_operation_is_claimed_once_and_then_refused() {
        let approvals = Store::in_memory().unwrap().approvals();
        approvals.hold(&held("ap-1", 3600)).unwrap();
        assert_eq!(approvals.list(false).unwrap().len(), 1);
        let claimed = approvals.claim("ap-1", "analyst").unwrap();
        assert_eq!(claimed.decided_by.as_deref(), Some("analyst"));
        assert!(matches!(
            approvals.claim("ap-1", "other"),
            Err(ApprovalError::AlreadyDecided { .. })
        ));
        assert!(matches!(
            approvals.deny("ap-1", "other", "no"),
            Err(ApprovalError::AlreadyDecided { .. })
        ));
        approvals.finish("ap-1", true, Some("act-1"), "executed").unwrap();
        assert_eq!(
            approvals.get("ap-1").unwrap().unwrap().status,
            ApprovalStatus::Executed
        );
        assert!(approvals.list(false).unwrap().is_empty());
    }

    #[test]
    fn expired_operations_cannot_be_approved() {
        let approvals = Store::in_memory().unwrap().approvals();
        approvals.hold(&held("ap-2", -1)).unwrap();
        assert!(matches!(
            approvals.claim("ap-2", "analyst"),
            Err(ApprovalError::Expired(_))
        ));
        assert!(matches!(
            approvals.claim("nope", "analyst"),
            Err(ApprovalError::NotFound(_))
        ));
    }

    #[test]
    fn recent_gives_every_pending_operation_and_the_newest_decided_ones() {
        let approvals = Store::in_memory().unwrap().approvals();
        for i in 0..6 {
            let mut approval = held(&format!("ap-{i}"), 3600);
            approval.created_at += i;
            approvals.hold(&approval).unwrap();
        }
        for i in [0, 1, 2, 4] {
            approvals.deny(&format!("ap-{i}"), "analyst", "no").unwrap();
        }
        let ids: Vec<String> = approvals
            .recent(2)
            .unwrap()
            .into_iter()
            .map(|approval| approval.id)
            .collect();
        assert_eq!(ids, ["ap-5", "ap-3", "ap-4", "ap-2"]);
    }
}
