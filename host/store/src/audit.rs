//! The audit trail: append-only (the database refuses updates and deletes of it), one row per
//! alert processed, plugin invocation, host call, approval decision, undo and breaker event.

use super::writer::{AuditRow, Message, Record, Writer};
use rusqlite::OptionalExtension;
use rusqlite::types::Value;
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
    /// A sign-in to the console, or a request to it refused.
    Console,
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
            AuditKind::Console => "console",
        }
    }

    /// The kind named `name` as [`AuditKind::as_str`] writes it.
    pub fn parse(name: &str) -> Option<AuditKind> {
        ALL_KINDS.into_iter().find(|kind| kind.as_str() == name)
    }
}

const ALL_KINDS: [AuditKind; 11] = [
    AuditKind::Alert,
    AuditKind::Duplicate,
    AuditKind::Invocation,
    AuditKind::HostCall,
    AuditKind::Approval,
    AuditKind::Undo,
    AuditKind::Breaker,
    AuditKind::Feedback,
    AuditKind::Intake,
    AuditKind::Api,
    AuditKind::Console,
];

/// The decisions a host-call record of an action (an operation with an outside effect, which
/// the broker records with its `action_id`) can have: see `push_action` in palisade-runtime.
/// A plugin's call with an outside effect, as the gate left it.
const ACTION_DECISIONS: [&str; 5] = ["executed", "held", "refused", "failed", "simulated"];

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

/// Which records `palisade audit`, the API and the console show; `None` is any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub alert_id: Option<String>,
    pub plugin: Option<String>,
    pub operation: Option<String>,
    pub decision: Option<String>,
    pub kind: Option<AuditKind>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Only records after this one in the order shown (older, newest first): the console's
    /// next page, from the last id of the page before.
    pub before_id: Option<i64>,
    /// Newest first (the console); otherwise oldest first, as `palisade audit` prints.
    pub newest_first: bool,
    pub limit: Option<u32>,
}

impl Audit {
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<Writer>) -> Audit {
        Audit { connection, writer }
    }

    /// Queues a record. Losing one must be visible, but must not stop containment: a failed
    /// write is logged as an error.
    pub fn log(&self, event: AuditEvent<'_>) {
        self.log_at(event, time::OffsetDateTime::now_utc());
    }

    fn log_at(&self, event: AuditEvent<'_>, now: time::OffsetDateTime) {
        let action = is_action(&event);
        let row = AuditRow {
            action,
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

    /// Waits until every record queued so far is in the database, or logged as lost
    /// ([`crate::Store::records_lost`]).
    pub fn flush(&self) {
        self.writer.flush();
    }

    pub fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, rusqlite::Error> {
        self.flush();
        let (sql, values) = query_sql(filter);
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), row_to_record)?;
        rows.collect()
    }

    /// A plugin's newest invocations that did not complete (failed, over a limit, trapped),
    /// newest first, through an index of those alone: they are rare among the records.
    pub fn invocation_errors(&self, plugin: &str, limit: u32) -> Result<Vec<AuditRecord>, rusqlite::Error> {
        self.flush();
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare_cached(&invocation_errors_sql())?;
        let rows = statement.query_map(params![plugin, limit], row_to_record)?;
        rows.collect()
    }

    /// The newest circuit-breaker record with `decision` (`tripped`, `reset`), through an index
    /// of the breaker's records alone.
    pub fn last_breaker(&self, decision: &str) -> Result<Option<AuditRecord>, rusqlite::Error> {
        self.flush();
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare_cached(&last_breaker_sql())?;
        statement.query_row(params![decision], row_to_record).optional()
    }

    /// How many actions were decided each hour since `since` (unix seconds), by decision:
    /// `(hour start, decision, count)`, in order; hours without any are left out. An action is
    /// an operation with an outside effect as a plugin's call left it (`executed`, `held`,
    /// `refused`, `failed`, `simulated`), and a person's decision on a held one
    /// (`approved-executed`, `approved-failed`, `denied`). Counted as the records are written
    /// (`action_hours`), so a chart reads a row per hour, not every record.
    pub fn hourly_decisions(&self, since: i64) -> Result<Vec<(i64, String, u32)>, rusqlite::Error> {
        self.flush();
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare_cached(
            "SELECT hour, decision, count FROM action_hours WHERE hour >= ?1 - 3599
             ORDER BY hour, decision",
        )?;
        let rows = statement.query_map(params![since], |row| {
            let count: i64 = row.get(2)?;
            Ok((row.get(0)?, row.get(1)?, u32::try_from(count).unwrap_or(u32::MAX)))
        })?;
        rows.collect()
    }
}

/// Whether a record is an action's decision, counted per hour in `action_hours`.
fn is_action(event: &AuditEvent<'_>) -> bool {
    match event.kind {
        AuditKind::Approval => true,
        // A failed lookup is a host call with the decision `failed` too: only an action's
        // record has an `action_id`.
        AuditKind::HostCall => {
            ACTION_DECISIONS.contains(&event.decision) && event.detail.get("action_id").is_some()
        }
        _ => false,
    }
}

/// The `action_hours` table, and its counts of the records written before it existed.
pub(super) fn count_action_hours(connection: &Connection) -> Result<(), rusqlite::Error> {
    if super::has_table(connection, "action_hours")? {
        return Ok(());
    }
    create_action_hours(connection)
}

/// Makes and fills `action_hours` unless another process did first.
fn create_action_hours(connection: &Connection) -> Result<(), rusqlite::Error> {
    let decisions = ACTION_DECISIONS
        .iter()
        .map(|decision| format!("'{decision}'"))
        .collect::<Vec<_>>()
        .join(", ");
    // CASE, not AND, so a detail that is not JSON is never parsed. Another process may be
    // opening the same old database: whichever takes the write lock second finds the table
    // made and counted (the writer counts each action into it as it is recorded, so it is
    // empty only while the audit holds no action), and changes nothing.
    connection.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS action_hours (
             hour INTEGER NOT NULL,
             decision TEXT NOT NULL,
             count INTEGER NOT NULL,
             PRIMARY KEY (hour, decision)
         ) STRICT, WITHOUT ROWID;
         INSERT INTO action_hours (hour, decision, count)
         SELECT (at_unix / 3600) * 3600, decision, COUNT(*) FROM audit
         WHERE ((kind = 'host-call' AND decision IN ({decisions})
                AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.action_id') END IS NOT NULL)
            OR kind = 'approval')
           AND NOT EXISTS (SELECT 1 FROM action_hours)
         GROUP BY 1, 2;
         COMMIT;"
    ))
}

const RECORD_COLUMNS: &str = "id, at, kind, alert_id, plugin, operation, target, decision, detail";

/// The invocations that did not complete; the same text as the partial index's condition
/// (`audit_invocation_errors` in the schema), which SQLite needs to match to use it.
const INVOCATION_ERRORS: &str =
    "(kind = 'invocation' AND (decision = 'failed' OR decision = 'limit-exceeded' OR decision = 'trapped'))";
/// The breaker's records; the condition of the partial index `audit_breaker`.
const BREAKER_RECORDS: &str = "kind = 'breaker'";

/// The decisions of most records: every invocation, alert, answered call, executed or
/// simulated action and failed lookup. Newest first, a scan finds a page of them at once;
/// only the others go into the partial index, so the alerts' writes barely pay for it.
const COMMON_DECISIONS: [&str; 6] = [
    "completed",
    "processed",
    "answered",
    "executed",
    "simulated",
    "failed",
];
/// The condition of the partial index `audit_by_uncommon_decision`.
/// Comparisons, not `NOT IN (...)`: SQLite evaluates it on every record written.
const UNCOMMON_DECISION: &str =
    "(decision <> 'completed' AND decision <> 'processed' AND decision <> 'answered'
     AND decision <> 'executed' AND decision <> 'simulated' AND decision <> 'failed')";

/// The statement of an audit query, and its values.
fn query_sql(filter: &AuditFilter) -> (String, Vec<Value>) {
    // Only the conditions in use are in the statement: `?1 IS NULL OR alert_id = ?1` would
    // keep SQLite from using the index on the alert or the plugin.
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    // A decision most records do not have is looked up in the partial index of those, in
    // time order; the index's own condition must be in the statement for SQLite to use it.
    let uncommon = filter
        .decision
        .as_deref()
        .is_some_and(|decision| !COMMON_DECISIONS.contains(&decision));
    if uncommon {
        conditions.push(UNCOMMON_DECISION);
    }
    for (condition, value) in [
        ("alert_id = ?", filter.alert_id.as_deref()),
        ("plugin = ?", filter.plugin.as_deref()),
        ("operation = ?", filter.operation.as_deref()),
        ("decision = ?", filter.decision.as_deref()),
        ("kind = ?", filter.kind.map(AuditKind::as_str)),
    ] {
        if let Some(value) = value {
            conditions.push(condition);
            values.push(Value::Text(value.to_owned()));
        }
    }
    // A time range, newest first, walks the time index backward (its entries are in
    // (time, id) order), so a page costs its own rows whatever the range: ordered by id,
    // SQLite sorted every record of a wide range, or scanned from the newest down to a
    // narrow old one (0.7 s of 500,000 records). Without a range, the ids' own order is
    // the cheaper walk. The next page starts below the last row of the one before, in the
    // same order.
    let by_time = filter.newest_first && (filter.since.is_some() || filter.until.is_some() || uncommon);
    for (condition, value) in [("at_unix >= ?", filter.since), ("at_unix < ?", filter.until)] {
        if let Some(value) = value {
            conditions.push(condition);
            values.push(Value::Integer(value));
        }
    }
    if let Some(before) = filter.before_id {
        if by_time {
            conditions.push("(at_unix, id) < ((SELECT at_unix FROM audit WHERE id = ?), ?)");
            values.push(Value::Integer(before));
        } else {
            conditions.push("id < ?");
        }
        values.push(Value::Integer(before));
    }
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM audit");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(if by_time {
        " ORDER BY at_unix DESC, id DESC LIMIT ?"
    } else if filter.newest_first {
        " ORDER BY id DESC LIMIT ?"
    } else {
        " ORDER BY id LIMIT ?"
    });
    values.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
    (sql, values)
}

fn invocation_errors_sql() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM audit INDEXED BY audit_invocation_errors
         WHERE plugin = ?1 AND {INVOCATION_ERRORS}
         ORDER BY id DESC LIMIT ?2"
    )
}

fn last_breaker_sql() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM audit WHERE {BREAKER_RECORDS} AND decision = ?1
         ORDER BY id DESC LIMIT 1"
    )
}

/// Indexes of the few records pages look for among the many: each holds only its rare rows,
/// so the alerts' writes barely pay for them.
pub(super) fn partial_indexes() -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS audit_invocation_errors ON audit (plugin, id) WHERE {INVOCATION_ERRORS};
         CREATE INDEX IF NOT EXISTS audit_breaker ON audit (id) WHERE {BREAKER_RECORDS};
         CREATE INDEX IF NOT EXISTS audit_by_uncommon_decision ON audit (decision, at_unix) WHERE {UNCOMMON_DECISION};"
    )
}

fn row_to_record(row: &rusqlite::Row<'_>) -> Result<AuditRecord, rusqlite::Error> {
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

    /// An audit row at a chosen time, as the writer would store it.
    fn insert(store: &Store, at_unix: i64, kind: &str, operation: &str, decision: &str, detail: &str) {
        let connection = crate::lock(&store.connection);
        connection
            .execute(
                "INSERT INTO audit (at, at_unix, kind, alert_id, plugin, operation, target, decision, detail)
                 VALUES ('', ?1, ?2, 'a-1', 'contain', ?3, 'x', ?4, ?5)",
                params![at_unix, kind, operation, decision, detail],
            )
            .unwrap();
    }

    #[test]
    fn the_console_pages_newest_first_by_operation_decision_and_time() {
        let store = Store::in_memory().unwrap();
        for at in 0..10 {
            let decision = if at % 2 == 0 { "executed" } else { "held" };
            insert(
                &store,
                1000 + at,
                "host-call",
                "identity.disable-user",
                decision,
                "{}",
            );
            insert(&store, 1000 + at, "host-call", "lookup.user", "answered", "{}");
        }
        let audit = store.audit();
        let filter = AuditFilter {
            operation: Some("identity.disable-user".into()),
            decision: Some("executed".into()),
            kind: Some(AuditKind::HostCall),
            since: Some(1002),
            until: Some(1008),
            newest_first: true,
            limit: Some(2),
            ..AuditFilter::default()
        };
        let first = audit.query(&filter).unwrap();
        let at = |records: &[AuditRecord]| records.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(first.len(), 2);
        assert!(first[0].id > first[1].id, "newest first");
        let next = AuditFilter {
            before_id: Some(first[1].id),
            ..filter.clone()
        };
        let second = audit.query(&next).unwrap();
        // 1002, 1004, 1006 match: the second page holds the oldest of them only.
        assert_eq!(second.len(), 1);
        assert!(second[0].id < first[1].id);
        let all = audit
            .query(&AuditFilter {
                limit: None,
                newest_first: false,
                ..filter.clone()
            })
            .unwrap();
        assert_eq!(at(&all), [second[0].id, first[1].id, first[0].id], "oldest first");
        assert!(
            all.iter()
                .all(|r| r.decision == "executed" && r.operation.as_deref() == Some("identity.disable-user"))
        );
    }

    #[test]
    fn hourly_decisions_count_actions_and_approvals_but_not_lookups() {
        let store = Store::in_memory().unwrap();
        let hour = 1_700_000_000 / 3600 * 3600;
        let action = r#"{"action_id":"act-1"}"#;
        insert(
            &store,
            hour - 1,
            "host-call",
            "network.block-ip",
            "executed",
            action,
        );
        insert(&store, hour, "host-call", "network.block-ip", "executed", action);
        insert(
            &store,
            hour + 10,
            "host-call",
            "network.block-ip",
            "executed",
            action,
        );
        insert(
            &store,
            hour + 20,
            "host-call",
            "identity.disable-user",
            "held",
            action,
        );
        insert(
            &store,
            hour + 3600,
            "host-call",
            "identity.disable-user",
            "refused",
            action,
        );
        insert(
            &store,
            hour + 3601,
            "host-call",
            "network.block-ip",
            "failed",
            action,
        );
        insert(
            &store,
            hour + 3602,
            "approval",
            "identity.disable-user",
            "approved-executed",
            "{}",
        );
        // Not actions: a lookup that failed, a read, a refused web request, a broken detail.
        insert(
            &store,
            hour + 30,
            "host-call",
            "lookup.user",
            "failed",
            r#"{"error":"x"}"#,
        );
        insert(&store, hour + 30, "host-call", "lookup.user", "answered", "null");
        insert(
            &store,
            hour + 30,
            "host-call",
            "http",
            "refused",
            r#"{"reason":"not allowed"}"#,
        );
        insert(&store, hour + 30, "host-call", "network.block-ip", "executed", "");
        insert(&store, hour + 30, "invocation", "", "completed", "{}");

        // Records written before the hourly counts existed are counted when they are made.
        {
            let connection = crate::lock(&store.connection);
            connection.execute_batch("DROP TABLE action_hours").unwrap();
            count_action_hours(&connection).unwrap();
            // A second process that found the table missing too, and took the write lock
            // after the first had made it: no error, and nothing counted twice.
            create_action_hours(&connection).unwrap();
        }
        let counts = store.audit().hourly_decisions(hour).unwrap();
        let expected = [
            (hour, "executed", 2),
            (hour, "held", 1),
            (hour + 3600, "approved-executed", 1),
            (hour + 3600, "failed", 1),
            (hour + 3600, "refused", 1),
        ];
        let counts: Vec<(i64, &str, u32)> = counts.iter().map(|(h, d, n)| (*h, d.as_str(), *n)).collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn actions_are_counted_in_their_hour_as_they_are_logged() {
        let store = Store::in_memory().unwrap();
        let audit = store.audit();
        let hour = 1_700_000_000 / 3600 * 3600;
        let log = |at: i64, kind: AuditKind, decision: &str, detail: serde_json::Value| {
            audit.log_at(
                AuditEvent {
                    kind,
                    decision,
                    detail,
                    ..AuditEvent::default()
                },
                time::OffsetDateTime::from_unix_timestamp(at).unwrap(),
            );
        };
        let action = serde_json::json!({"action_id": "act-1"});
        log(hour + 5, AuditKind::HostCall, "executed", action.clone());
        log(hour + 3599, AuditKind::HostCall, "executed", action.clone());
        log(hour + 3600, AuditKind::HostCall, "held", action);
        log(hour + 3700, AuditKind::Approval, "denied", serde_json::json!({}));
        // Not actions: a failed lookup, an invocation.
        log(
            hour + 10,
            AuditKind::HostCall,
            "failed",
            serde_json::json!({"error": "x"}),
        );
        log(
            hour + 10,
            AuditKind::Invocation,
            "completed",
            serde_json::json!({}),
        );
        let counts = audit.hourly_decisions(hour).unwrap();
        let counts: Vec<(i64, &str, u32)> = counts.iter().map(|(h, d, n)| (*h, d.as_str(), *n)).collect();
        assert_eq!(
            counts,
            [
                (hour, "executed", 2),
                (hour + 3600, "denied", 1),
                (hour + 3600, "held", 1)
            ]
        );
    }

    #[test]
    fn every_kind_is_parsed_back_from_its_name() {
        for kind in ALL_KINDS {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("Host-Call"), None);
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

    /// The plan SQLite makes for `sql` over many records, as one line.
    fn plan(store: &Store, sql: &str, values: &[&dyn rusqlite::ToSql]) -> String {
        let connection = crate::lock(&store.connection);
        let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = statement
            .query_map(values, |row| row.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn the_pages_lookups_of_rare_records_use_their_indexes() {
        let store = Store::in_memory().unwrap();
        {
            let connection = crate::lock(&store.connection);
            connection
                .execute_batch(
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
                     INSERT INTO audit (at, at_unix, kind, alert_id, plugin, operation, target, decision, detail)
                     SELECT '', 1000 + i / 10, CASE i % 3 WHEN 0 THEN 'invocation' WHEN 1 THEN 'host-call' ELSE 'alert' END,
                            'a-' || i, CASE i % 2 WHEN 0 THEN 'triage' ELSE 'spray' END, NULL, NULL,
                            CASE i % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'answered' ELSE 'processed' END, '{}'
                     FROM n;",
                )
                .unwrap();
        }
        let errors = plan(&store, &invocation_errors_sql(), &[&"triage", &5]);
        assert!(errors.contains("audit_invocation_errors"), "{errors}");
        let breaker = plan(&store, &last_breaker_sql(), &[&"reset"]);
        assert!(breaker.contains("audit_breaker"), "{breaker}");
        let planned = |filter: AuditFilter| {
            let (sql, values) = query_sql(&AuditFilter {
                newest_first: true,
                limit: Some(100),
                ..filter
            });
            let values: Vec<&dyn rusqlite::ToSql> =
                values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            plan(&store, &sql, &values)
        };
        let held = planned(AuditFilter {
            decision: Some("held".into()),
            ..AuditFilter::default()
        });
        assert!(held.contains("audit_by_uncommon_decision"), "{held}");
        let range = planned(AuditFilter {
            since: Some(1500),
            until: Some(1560),
            before_id: Some(100),
            ..AuditFilter::default()
        });
        assert!(
            range.contains("audit_by_time") && !range.contains("TEMP B-TREE"),
            "{range}"
        );
    }
}
