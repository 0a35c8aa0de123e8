//! The audit trail: append-only (the database refuses updates and deletes of it), one row per
//! alert processed, plugin invocation, host call, approval decision, undo and breaker event.

use super::writer::{AuditRow, Message, Record, Writer};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Appends to the audit and reads it. Writes go through the group-commit writer
/// ([`super::writer`]), so recording every host call costs a channel send on the hot path;
/// reads flush first, so they see every earlier write.
#[derive(Clone)]
pub struct Audit {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
}

/// What an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditKind {
    /// An alert after its last stage.
    #[default]
    Alert,
    /// A repeat of an alert, attached to its first.
    Duplicate,
    /// One plugin's run on one alert.
    Invocation,
    /// A call a plugin made to the host.
    HostCall,
    /// A person's decision on a held operation.
    Approval,
    Undo,
    Breaker,
    /// An analyst's verdict on an alert.
    Feedback,
    /// A request to the service's intake refused (authentication, an unknown source).
    Intake,
    /// A call to the service's API refused (no token, too small a role).
    Api,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Alert => "alert",
            AuditKind::Duplicate => "duplicate",
            AuditKind::Invocation => "invocation",
            AuditKind::HostCall => "host-call",
            AuditKind::Approval => "approval",
            AuditKind::Undo => "undo",
            AuditKind::Breaker => "breaker",
            AuditKind::Feedback => "feedback",
            AuditKind::Intake => "intake",
            AuditKind::Api => "api",
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent<'a> {
    pub kind: AuditKind,
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
    pub fn log(&self, event: AuditEvent<'_>) {
        let now = time::OffsetDateTime::now_utc();
        let row = AuditRow {
            at: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            at_unix: now.unix_timestamp(),
            kind: event.kind.as_str().to_owned(),
            alert_id: event.alert_id.map(str::to_owned),
            plugin: event.plugin.map(str::to_owned),
            operation: event.operation,
            target: event.target.map(str::to_owned),
            decision: event.decision.to_owned(),
            // Into a buffer directly: `Value`'s `Display` writes through `fmt` token by token,
            // and was half of this function's time in a profile.
            detail: serde_json::to_string(&redact(event.detail)).unwrap_or_default(),
        };
        if !self.writer.send(Message::Record(Record::Audit(row))) {
            tracing::error!(
                kind = event.kind.as_str(),
                "cannot write the audit record: the audit writer has stopped"
            );
        }
    }

    /// Waits until every record queued so far is in the database.
    pub fn flush(&self) {
        self.writer.flush();
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
pub fn redact(mut value: serde_json::Value) -> serde_json::Value {
    redact_in_place(&mut value);
    value
}

/// In place: every audit record passes here, so nothing is rebuilt or copied.
fn redact_in_place(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if is_secret_field(key) {
                    *value = Value::String("[redacted]".into());
                } else {
                    redact_in_place(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_in_place),
        _ => {}
    }
}

/// Whether a field's name contains a secret-looking word, in any case. ASCII names (nearly
/// all) are compared without allocating; others are lowercased by Unicode's rules, under which
/// some non-ASCII letters (the Kelvin sign) become ASCII ones.
fn is_secret_field(key: &str) -> bool {
    if key.is_ascii() {
        let key = key.as_bytes();
        SECRET_FIELDS.iter().any(|secret| {
            key.windows(secret.len())
                .any(|window| window.eq_ignore_ascii_case(secret.as_bytes()))
        })
    } else {
        let lower = key.to_lowercase();
        SECRET_FIELDS.iter().any(|secret| lower.contains(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn records_are_filtered_and_cannot_be_changed() {
        let store = Store::in_memory().unwrap();
        let audit = store.audit();
        for (alert, plugin) in [("a-1", "spray"), ("a-2", "spray"), ("a-1", "triage")] {
            audit.log(AuditEvent {
                kind: crate::AuditKind::Invocation,
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

    #[test]
    fn secret_field_names_match_in_any_case_and_script() {
        for secret in ["password", "X-Auth-TOKEN", "clientSecret", "to\u{212A}en"] {
            assert!(is_secret_field(secret), "{secret}");
        }
        for plain in ["user", "target", "tok", "pass"] {
            assert!(!is_secret_field(plain), "{plain}");
        }
        let value = redact(serde_json::json!([{"Authorization": "Bearer x"}, {"list": [{"apiKey": 1}]}]));
        assert_eq!(value[0]["Authorization"], "[redacted]");
        assert_eq!(value[1]["list"][0]["apiKey"], "[redacted]");
    }
}
