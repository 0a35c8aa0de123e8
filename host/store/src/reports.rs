//! The reports of finished alerts, each with a summary in columns of its own, so the console
//! lists, filters and charts a hundred thousand of them from indexes without reading a report.
//! A row is written by [`super::Queue::complete`], in the transaction that takes its alert off
//! the queue ([`keep`]); this module owns the table and reads it.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// The table as the first build with a queue made it; [`prepare`] adds the summary to it.
const TABLE: &str = "
CREATE TABLE IF NOT EXISTS reports (
    alert_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    report TEXT NOT NULL,
    finished_at INTEGER NOT NULL
);";

/// The summary's columns, added to a table that lacks them: a new store and one made by an
/// earlier build take the same path, so they cannot end up with different tables.
const SUMMARY_COLUMNS: &[(&str, &str)] = &[
    ("title", "TEXT NOT NULL DEFAULT ''"),
    ("rule", "TEXT"),
    ("severity", "TEXT"),
    ("priority_score", "INTEGER"),
    ("priority_label", "TEXT"),
    ("verdict", "TEXT"),
    ("risk", "INTEGER"),
    ("outcome", "TEXT NOT NULL DEFAULT ''"),
    ("time_to_respond_ms", "REAL"),
    ("actions_executed", "INTEGER NOT NULL DEFAULT 0"),
    ("actions_held", "INTEGER NOT NULL DEFAULT 0"),
    ("actions_refused", "INTEGER NOT NULL DEFAULT 0"),
    // The document as the sender posted it, moved here from the queue with the report; none
    // for the rows an earlier build kept.
    ("document", "TEXT"),
    // The list's sort key: the priority score, and after every scored alert the unscored ones
    // (duplicates, rejected documents). Not null, so one row-value comparison pages through it.
    (
        "worst",
        "INTEGER GENERATED ALWAYS AS (coalesce(priority_score, -1)) VIRTUAL",
    ),
];

/// Each list the console asks for walks one of these in its order and stops after a page: the
/// first for the unfiltered list, one per filter for a filtered one (its equality, then the
/// list's order), a time range read from the entries as they pass. The last serves the hourly
/// chart without reading the table.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS reports_worst_first ON reports (worst, finished_at, alert_id);
CREATE INDEX IF NOT EXISTS reports_by_label ON reports (priority_label, worst, finished_at, alert_id);
CREATE INDEX IF NOT EXISTS reports_by_verdict ON reports (verdict, worst, finished_at, alert_id);
CREATE INDEX IF NOT EXISTS reports_by_source ON reports (source, worst, finished_at, alert_id);
CREATE INDEX IF NOT EXISTS reports_by_rule ON reports (rule, worst, finished_at, alert_id);
CREATE INDEX IF NOT EXISTS reports_by_time ON reports (finished_at, time_to_respond_ms);
";

/// Fills the summary of the rows an earlier build kept, from their reports (the JSON that
/// build wrote, the same as this one's). A report that is not JSON keeps the defaults (an
/// empty title and outcome) rather than stopping the store from opening.
const BACKFILL: &str = "
UPDATE reports SET
    title = coalesce(CAST(json_extract(report, '$.alert.title') AS TEXT), ''),
    rule = CAST(coalesce(json_extract(report, '$.alert.rule_name'), json_extract(report, '$.alert.rule_id')) AS TEXT),
    severity = CAST(json_extract(report, '$.alert.severity') AS TEXT),
    verdict = CAST(json_extract(report, '$.alert.verdict') AS TEXT),
    risk = CASE json_type(report, '$.alert.risk_score') WHEN 'integer' THEN json_extract(report, '$.alert.risk_score') END,
    priority_score = CASE WHEN json_extract(report, '$.type') = 'alert'
        AND json_type(report, '$.priority.score') = 'integer' THEN json_extract(report, '$.priority.score') END,
    priority_label = CASE WHEN json_extract(report, '$.type') = 'alert'
        THEN CAST(json_extract(report, '$.priority.label') AS TEXT) END,
    time_to_respond_ms = CASE WHEN json_type(report, '$.time_to_respond_ms') IN ('integer', 'real')
        THEN json_extract(report, '$.time_to_respond_ms') END,
    outcome = CASE json_extract(report, '$.type')
        WHEN 'alert' THEN CASE WHEN EXISTS (SELECT 1 FROM json_each(report, '$.plugins') AS run
                                            WHERE json_extract(run.value, '$.status') IS NOT 'completed')
                          THEN 'plugin-errors' ELSE 'completed' END
        WHEN 'duplicate' THEN 'duplicate'
        -- The worker's words for an alert it gave up on (see host/service/src/worker.rs).
        WHEN 'rejected' THEN CASE WHEN json_extract(report, '$.error') LIKE 'taken % times without finishing%'
                             THEN 'failed' ELSE 'rejected' END
        ELSE '' END,
    actions_executed = (SELECT COUNT(*) FROM json_each(report, '$.plugins') AS run, json_each(run.value, '$.actions') AS action
                        WHERE json_extract(action.value, '$.status') = 'executed'),
    actions_held = (SELECT COUNT(*) FROM json_each(report, '$.plugins') AS run, json_each(run.value, '$.actions') AS action
                    WHERE json_extract(action.value, '$.status') = 'held'),
    actions_refused = (SELECT COUNT(*) FROM json_each(report, '$.plugins') AS run, json_each(run.value, '$.actions') AS action
                       WHERE json_extract(action.value, '$.status') = 'refused')
WHERE json_valid(report)
";

/// Makes the table, or brings one from an earlier build up to date without losing a row. In
/// one `IMMEDIATE` transaction: two processes opening an old store at once add each column
/// once, and a failed migration leaves the table as it was. A table already up to date (every
/// open but the first) takes no write lock, so opening the store waits on no writer.
pub(super) fn prepare(connection: &mut Connection) -> Result<(), rusqlite::Error> {
    if missing_columns(connection)?.is_empty() {
        return connection.execute_batch(INDEXES);
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(TABLE)?;
    // Again, under the lock: another process may have added them meanwhile.
    let missing = missing_columns(&transaction)?;
    for (name, definition) in &missing {
        transaction.execute_batch(&format!("ALTER TABLE reports ADD COLUMN {name} {definition}"))?;
    }
    if !missing.is_empty() {
        transaction.execute_batch(BACKFILL)?;
    }
    transaction.execute_batch(INDEXES)?;
    transaction.commit()
}

/// The summary's columns the table lacks; all of them when there is no table.
fn missing_columns(connection: &Connection) -> Result<Vec<(&'static str, &'static str)>, rusqlite::Error> {
    // `xinfo`: `table_info` leaves out generated columns.
    let present: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_xinfo('reports')")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(SUMMARY_COLUMNS
        .iter()
        .filter(|(name, _)| !present.iter().any(|column| column == name))
        .copied()
        .collect())
}

/// What the console shows of a finished alert without reading its report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportSummary {
    pub alert_id: String,
    pub source: String,
    /// Empty for a document that was not an alert.
    pub title: String,
    /// The rule's name, else its id.
    pub rule: Option<String>,
    pub severity: Option<String>,
    /// 0 to 100; `None` for a duplicate, a rejected document or a failed alert.
    pub priority_score: Option<u8>,
    /// `p1` (handle first) to `p4`.
    pub priority_label: Option<String>,
    /// As the alert says after its plugins: `malicious`, `suspicious`, `benign`.
    pub verdict: Option<String>,
    pub risk: Option<u8>,
    /// `completed`, `plugin-errors`, `duplicate`, `rejected` or `failed`; empty for a row an
    /// earlier build kept whose report could not be read.
    pub outcome: String,
    pub time_to_respond_ms: Option<f64>,
    pub actions_executed: u32,
    pub actions_held: u32,
    pub actions_refused: u32,
    /// Unix seconds. Set by the store when it keeps the report, as are `alert_id` and `source`
    /// (from the queue entry): what the caller puts there is replaced.
    pub finished_at: i64,
}

/// Which reports a list shows; `None` is any. `since` is inclusive, `until` exclusive (unix
/// seconds of `finished_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub priority_label: Option<String>,
    pub verdict: Option<String>,
    pub source: Option<String>,
    pub rule: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// Where the next page of a list starts: just after the last row shown, in the list's order
/// (worst first: priority score, then newest, then alert id). Written as opaque text that is
/// safe in a URL without escaping, for the console's `after=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCursor {
    worst: i64,
    finished_at: i64,
    alert_id: String,
}

/// Text that is no [`ReportCursor`]: a link edited by hand, or from another build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a position in the alert list")]
pub struct BadCursor;

impl ReportCursor {
    fn after(summary: &ReportSummary) -> ReportCursor {
        ReportCursor {
            worst: summary.priority_score.map_or(-1, i64::from),
            finished_at: summary.finished_at,
            alert_id: summary.alert_id.clone(),
        }
    }
}

impl std::fmt::Display for ReportCursor {
    /// `WORST.FINISHED_AT.HEX(ALERT_ID)`: an alert id may hold any character, its hex only
    /// ones a URL leaves alone.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.", self.worst, self.finished_at)?;
        self.alert_id.bytes().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl std::str::FromStr for ReportCursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<ReportCursor, BadCursor> {
        let mut parts = text.splitn(3, '.');
        let (Some(worst), Some(finished_at), Some(hex)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(BadCursor);
        };
        if hex.len() % 2 != 0 {
            return Err(BadCursor);
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|at| {
                hex.get(at..at + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or(BadCursor)?;
        Ok(ReportCursor {
            worst: worst.parse().map_err(|_| BadCursor)?,
            finished_at: finished_at.parse().map_err(|_| BadCursor)?,
            alert_id: String::from_utf8(bytes).map_err(|_| BadCursor)?,
        })
    }
}

/// One page of a list, and where the next starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPage {
    pub reports: Vec<ReportSummary>,
    pub next: Option<ReportCursor>,
}

/// The values the list's filters can take, for the console's selects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Choices {
    pub sources: Vec<String>,
    pub rules: Vec<String>,
    pub verdicts: Vec<String>,
}

/// One hour of finished alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hour {
    /// Unix seconds, a multiple of 3600.
    pub start: i64,
    pub alerts: u32,
    /// Over the alerts of the hour that had a response (nearest rank); `None` when none had.
    pub ttr_median_ms: Option<f64>,
    pub ttr_p95_ms: Option<f64>,
}

/// The most rows one page holds, whatever is asked.
pub const MAX_PAGE: u32 = 1000;
/// The most values each of [`Choices`]' lists holds.
const MAX_CHOICES: i64 = 500;
/// The most hours [`Reports::hourly`] answers with: 31 days.
const MAX_HOURS: i64 = 31 * 24;
const HOUR: i64 = 3600;

/// The summary's columns in [`summary`]'s order.
const SUMMARY: &str =
    "alert_id, source, title, rule, severity, priority_score, priority_label, verdict, risk,
    outcome, time_to_respond_ms, actions_executed, actions_held, actions_refused, finished_at";

/// Reads the reports; cheap to clone.
#[derive(Clone)]
pub struct Reports {
    connection: Arc<Mutex<Connection>>,
}

impl Reports {
    pub(super) fn new(connection: Arc<Mutex<Connection>>) -> Reports {
        Reports { connection }
    }

    /// Up to `limit` reports (at least 1, at most [`MAX_PAGE`]) that match `filter`, worst
    /// first, starting after `after`.
    pub fn list(
        &self,
        filter: &ReportFilter,
        after: Option<&ReportCursor>,
        limit: u32,
    ) -> Result<ReportPage, rusqlite::Error> {
        let limit = limit.clamp(1, MAX_PAGE);
        // One more than a page: whether it comes says whether there is a next page.
        let (sql, values) = list_query(filter, after, limit + 1);
        let connection = super::lock(&self.connection);
        let mut statement = connection.prepare_cached(&sql)?;
        let mut reports = statement
            .query_map(rusqlite::params_from_iter(values), summary)?
            .collect::<Result<Vec<_>, _>>()?;
        let more = reports.len() > limit as usize;
        reports.truncate(limit as usize);
        let next = more.then(|| reports.last().map(ReportCursor::after)).flatten();
        Ok(ReportPage { reports, next })
    }

    /// The summary and the report (JSON text) kept for `alert_id`.
    pub fn get(&self, alert_id: &str) -> Result<Option<(ReportSummary, String)>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        let sql = format!("SELECT {SUMMARY}, report FROM reports WHERE alert_id = ?1");
        connection
            .prepare_cached(&sql)?
            .query_row(params![alert_id], |row| Ok((summary(row)?, row.get(15)?)))
            .optional()
    }

    /// The document `alert_id` arrived as, exactly as its sender posted it; `None` when no
    /// report is kept for it or an earlier build kept it without.
    pub fn document(&self, alert_id: &str) -> Result<Option<String>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        Ok(connection
            .prepare_cached("SELECT document FROM reports WHERE alert_id = ?1")?
            .query_row(params![alert_id], |row| row.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    /// The sources, rules and verdicts the kept reports have, each sorted, at most 500.
    pub fn choices(&self) -> Result<Choices, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        Ok(Choices {
            sources: distinct(&connection, "source")?,
            rules: distinct(&connection, "rule")?,
            verdicts: distinct(&connection, "verdict")?,
        })
    }

    /// Every hour from the one holding `since` to the current one, empty ones included (at
    /// most the last 31 days'): how many alerts finished, and their times to respond.
    pub fn hourly(&self, since: i64) -> Result<Vec<Hour>, rusqlite::Error> {
        let last = hour_start(super::now());
        let first = hour_start(since.max(last.saturating_sub((MAX_HOURS - 1) * HOUR)));
        if first > last {
            return Ok(Vec::new());
        }
        let count = ((last - first) / HOUR + 1) as usize;
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); count];
        let mut alerts = vec![0u32; count];
        {
            let connection = super::lock(&self.connection);
            let mut statement = connection.prepare_cached(
                "SELECT finished_at, time_to_respond_ms FROM reports
                 WHERE finished_at >= ?1 AND finished_at < ?2",
            )?;
            let mut rows = statement.query(params![first, last.saturating_add(HOUR)])?;
            while let Some(row) = rows.next()? {
                let finished_at: i64 = row.get(0)?;
                let hour = ((finished_at - first) / HOUR) as usize;
                let (Some(alerts), Some(times)) = (alerts.get_mut(hour), times.get_mut(hour)) else {
                    continue;
                };
                *alerts = alerts.saturating_add(1);
                if let Some(ms) = row.get::<_, Option<f64>>(1)? {
                    times.push(ms);
                }
            }
        }
        Ok((0..count)
            .map(|hour| {
                let times = &mut times[hour];
                times.sort_by(f64::total_cmp);
                Hour {
                    start: first + hour as i64 * HOUR,
                    alerts: alerts[hour],
                    ttr_median_ms: nearest_rank(times, 50),
                    ttr_p95_ms: nearest_rank(times, 95),
                }
            })
            .collect())
    }

    /// How many reports are kept.
    pub fn count(&self) -> Result<u64, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        let count: i64 = connection.query_row("SELECT COUNT(*) FROM reports", [], |row| row.get(0))?;
        Ok(count.max(0) as u64)
    }
}

/// The statement of a list and its values. Only the conditions in use are in it:
/// `?1 IS NULL OR column = ?1` would keep SQLite from using the filter's index.
fn list_query(filter: &ReportFilter, after: Option<&ReportCursor>, limit: u32) -> (String, Vec<Value>) {
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (condition, value) in [
        ("priority_label = ?", &filter.priority_label),
        ("verdict = ?", &filter.verdict),
        ("source = ?", &filter.source),
        ("rule = ?", &filter.rule),
    ] {
        if let Some(value) = value {
            conditions.push(condition);
            values.push(Value::Text(value.clone()));
        }
    }
    // `+` keeps SQLite from answering a time range by the time index: it would read and sort
    // every row of the range (all of them, for a wide one) to show a page. Walking the list's
    // own index instead reads the time from each entry and stops after a page.
    for (condition, value) in [
        ("+finished_at >= ?", filter.since),
        ("+finished_at < ?", filter.until),
    ] {
        if let Some(value) = value {
            conditions.push(condition);
            values.push(Value::Integer(value));
        }
    }
    if let Some(after) = after {
        conditions.push("(worst, finished_at, alert_id) < (?, ?, ?)");
        values.extend([
            Value::Integer(after.worst),
            Value::Integer(after.finished_at),
            Value::Text(after.alert_id.clone()),
        ]);
    }
    let mut sql = format!("SELECT {SUMMARY} FROM reports");
    if !conditions.is_empty() {
        let _ = write!(sql, " WHERE {}", conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY worst DESC, finished_at DESC, alert_id DESC LIMIT ?");
    values.push(Value::Integer(i64::from(limit)));
    (sql, values)
}

/// Keeps an alert's report and summary, in the caller's transaction (the one that takes it off
/// the queue). A report kept before under the same id is replaced.
pub(super) fn keep(
    transaction: &Transaction<'_>,
    summary: &ReportSummary,
    report: &str,
    document: &str,
) -> Result<(), rusqlite::Error> {
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO reports (alert_id, source, report, finished_at, title, rule, severity,
                 priority_score, priority_label, verdict, risk, outcome, time_to_respond_ms,
                 actions_executed, actions_held, actions_refused, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?
        .execute(params![
            summary.alert_id,
            summary.source,
            report,
            summary.finished_at,
            summary.title,
            summary.rule,
            summary.severity,
            summary.priority_score,
            summary.priority_label,
            summary.verdict,
            summary.risk,
            summary.outcome,
            summary.time_to_respond_ms,
            summary.actions_executed,
            summary.actions_held,
            summary.actions_refused,
            document
        ])?;
    Ok(())
}

/// A row of [`SUMMARY`]'s columns. Numbers out of their type's range (only a hand-edited or
/// migrated row could hold one) read as none rather than failing the whole page.
fn summary(row: &Row<'_>) -> Result<ReportSummary, rusqlite::Error> {
    let small = |index: usize| -> Result<Option<u8>, rusqlite::Error> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .and_then(|value| u8::try_from(value).ok()))
    };
    let count = |index: usize| -> Result<u32, rusqlite::Error> {
        Ok(u32::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
    };
    Ok(ReportSummary {
        alert_id: row.get(0)?,
        source: row.get(1)?,
        title: row.get(2)?,
        rule: row.get(3)?,
        severity: row.get(4)?,
        priority_score: small(5)?,
        priority_label: row.get(6)?,
        verdict: row.get(7)?,
        risk: small(8)?,
        outcome: row.get(9)?,
        time_to_respond_ms: row.get(10)?,
        actions_executed: count(11)?,
        actions_held: count(12)?,
        actions_refused: count(13)?,
        finished_at: row.get(14)?,
    })
}

/// The distinct values of an indexed `column`, sorted: one index probe per value (each the
/// least above the last), where `SELECT DISTINCT` would read every row's entry.
fn distinct(connection: &Connection, column: &'static str) -> Result<Vec<String>, rusqlite::Error> {
    let sql = format!(
        "WITH RECURSIVE seen(value) AS (
             SELECT MIN({column}) FROM reports
             UNION ALL
             SELECT (SELECT MIN({column}) FROM reports WHERE {column} > seen.value) FROM seen
             WHERE seen.value IS NOT NULL
         )
         SELECT value FROM seen WHERE value IS NOT NULL LIMIT ?1"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let values = statement.query_map(params![MAX_CHOICES], |row| row.get(0))?;
    values.collect()
}

fn hour_start(at: i64) -> i64 {
    at.saturating_sub(at.rem_euclid(HOUR))
}

/// The value at percentile `p` of sorted `values` by the nearest-rank method, as
/// `palisade run` reports it; `None` for no values.
fn nearest_rank(values: &[f64], p: usize) -> Option<f64> {
    let rank = (p * values.len()).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    const ROWS: i64 = 100_000;

    /// Fills `ROWS` reports in one transaction, by a formula [`expected`] repeats: three
    /// sources, 200 rules, a tenth unscored (duplicates), one finished every 2 seconds back
    /// from `now` (so about 55 hours' worth).
    fn fill(store: &Store, now: i64) {
        let mut connection = crate::lock(&store.connection);
        let transaction = connection.transaction().unwrap();
        transaction
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
                 INSERT INTO reports (alert_id, source, report, finished_at, title, rule, severity,
                     priority_score, priority_label, verdict, risk, outcome, time_to_respond_ms,
                     actions_executed, actions_held, actions_refused)
                 SELECT printf('a-%06d', i), CASE i % 3 WHEN 0 THEN 'siem' WHEN 1 THEN 'edr' ELSE 'cloud' END,
                     '{}', ?2 - 2 * i, 'Alert ' || i, 'rule-' || (i % 200), 'high',
                     CASE WHEN i % 10 = 9 THEN NULL ELSE i % 101 END,
                     CASE WHEN i % 10 = 9 THEN NULL WHEN i % 101 >= 80 THEN 'p1' WHEN i % 101 >= 60 THEN 'p2'
                          WHEN i % 101 >= 35 THEN 'p3' ELSE 'p4' END,
                     CASE i % 4 WHEN 0 THEN 'malicious' WHEN 1 THEN 'suspicious' WHEN 2 THEN 'benign' END,
                     NULL, CASE WHEN i % 10 = 9 THEN 'duplicate' ELSE 'completed' END,
                     CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 1000) * 1.5 END, i % 2, 0, 0
                 FROM n",
                params![ROWS, now],
            )
            .unwrap();
        transaction.commit().unwrap();
    }

    /// Row `i` of [`fill`]: (alert id, source, rule, score, verdict, finished at, time to respond).
    struct Expected {
        alert_id: String,
        source: &'static str,
        rule: String,
        score: Option<u8>,
        verdict: Option<&'static str>,
        finished_at: i64,
        ttr: Option<f64>,
    }

    fn expected(now: i64) -> Vec<Expected> {
        (0..ROWS)
            .map(|i| Expected {
                alert_id: format!("a-{i:06}"),
                source: ["siem", "edr", "cloud"][(i % 3) as usize],
                rule: format!("rule-{}", i % 200),
                score: (i % 10 != 9).then_some((i % 101) as u8),
                verdict: [Some("malicious"), Some("suspicious"), Some("benign"), None][(i % 4) as usize],
                finished_at: now - 2 * i,
                ttr: (i % 5 != 0).then_some((i % 1000) as f64 * 1.5),
            })
            .collect()
    }

    /// The list's order: worst first, then newest, then by id.
    fn order_key(summary: &ReportSummary) -> (i64, i64, String) {
        (
            summary.priority_score.map_or(-1, i64::from),
            summary.finished_at,
            summary.alert_id.clone(),
        )
    }

    /// Every page of a list, followed by its cursors.
    fn walk(reports: &Reports, filter: &ReportFilter, limit: u32) -> Vec<ReportSummary> {
        let mut all = Vec::new();
        let mut after: Option<ReportCursor> = None;
        loop {
            let page = reports.list(filter, after.as_ref(), limit).unwrap();
            assert!(page.reports.len() <= limit as usize);
            all.extend(page.reports);
            // Through its text, as the console's links carry it.
            match page.next {
                Some(next) => after = Some(next.to_string().parse().unwrap()),
                None => return all,
            }
        }
    }

    #[test]
    fn a_hundred_thousand_reports_list_filter_page_and_chart_by_their_indexes() {
        let store = Store::in_memory().unwrap();
        let now = crate::now();
        fill(&store, now);
        let rows = expected(now);
        let reports = store.reports();
        assert_eq!(reports.count().unwrap(), ROWS as u64);

        // The first page: the worst, newest first among equals.
        let first = reports.list(&ReportFilter::default(), None, 50).unwrap();
        assert_eq!(first.reports.len(), 50);
        assert!(first.reports.iter().all(|r| r.priority_score == Some(100)));
        let keys: Vec<_> = first.reports.iter().map(order_key).collect();
        assert!(
            keys.windows(2).all(|pair| pair[0] > pair[1]),
            "worst, then newest first"
        );

        // A filtered list, paged to its end: exactly the matching rows, in order, once each.
        let filter = ReportFilter {
            verdict: Some("malicious".into()),
            source: Some("siem".into()),
            ..ReportFilter::default()
        };
        let listed = walk(&reports, &filter, MAX_PAGE);
        let mut matching: Vec<&Expected> = rows
            .iter()
            .filter(|row| row.verdict == Some("malicious") && row.source == "siem")
            .collect();
        assert_eq!(listed.len(), matching.len());
        matching.sort_by_key(|row| {
            std::cmp::Reverse((
                row.score.map_or(-1, i64::from),
                row.finished_at,
                row.alert_id.clone(),
            ))
        });
        assert!(
            listed
                .iter()
                .zip(&matching)
                .all(|(listed, row)| listed.alert_id == row.alert_id)
        );

        // A rule over a time range, and the label filter.
        let filter = ReportFilter {
            rule: Some("rule-7".into()),
            since: Some(now - 86_400),
            until: Some(now - 3_600),
            ..ReportFilter::default()
        };
        let listed = walk(&reports, &filter, 50);
        let in_range = |row: &&Expected| row.finished_at >= now - 86_400 && row.finished_at < now - 3_600;
        let matching = rows
            .iter()
            .filter(|row| row.rule == "rule-7")
            .filter(in_range)
            .count();
        assert_eq!(listed.len(), matching);
        assert!(listed.iter().all(|r| r.rule.as_deref() == Some("rule-7")));
        let p1 = ReportFilter {
            priority_label: Some("p1".into()),
            ..ReportFilter::default()
        };
        let page = reports.list(&p1, None, 50).unwrap();
        assert!(page.reports.iter().all(|r| r.priority_score >= Some(80)));

        // The last page of the whole list holds the unscored (duplicates), oldest last.
        let deep = walk(&reports, &ReportFilter::default(), MAX_PAGE);
        assert_eq!(deep.len(), ROWS as usize);
        assert!(
            deep.windows(2)
                .all(|pair| order_key(&pair[0]) > order_key(&pair[1]))
        );
        assert_eq!(deep.last().map(|r| r.priority_score), Some(None));

        // Each hour of the last day: its alerts, and the median and 95th percentile of times.
        let hours = reports.hourly(now - 86_400).unwrap();
        assert_eq!(hours.len(), 25, "the hour holding `since` to the current one");
        for hour in &hours {
            let mut times: Vec<f64> = Vec::new();
            let mut alerts = 0;
            for row in rows
                .iter()
                .filter(|row| row.finished_at >= hour.start && row.finished_at < hour.start + HOUR)
            {
                alerts += 1;
                times.extend(row.ttr);
            }
            times.sort_by(f64::total_cmp);
            assert_eq!(hour.alerts, alerts, "hour {}", hour.start);
            assert_eq!(hour.ttr_median_ms, nearest_rank(&times, 50));
            assert_eq!(hour.ttr_p95_ms, nearest_rank(&times, 95));
        }
        assert!(hours.iter().any(|hour| hour.alerts == 1800), "a full hour");

        let choices = reports.choices().unwrap();
        assert_eq!(choices.sources, ["cloud", "edr", "siem"]);
        assert_eq!(choices.rules.len(), 200);
        assert_eq!(choices.verdicts, ["benign", "malicious", "suspicious"]);
    }

    /// Each list walks an index in the list's order and stops after its page, whatever its
    /// depth: no sort of every matching row.
    #[test]
    fn every_list_reads_an_index_in_order_and_the_chart_reads_only_an_index() {
        let store = Store::in_memory().unwrap();
        let connection = crate::lock(&store.connection);
        let cursor: ReportCursor = "50.1700000000.612d31".parse().unwrap();
        let one = |build: fn(&mut ReportFilter)| {
            let mut filter = ReportFilter::default();
            build(&mut filter);
            filter
        };
        let filters = [
            ReportFilter::default(),
            one(|f| f.priority_label = Some("p1".into())),
            one(|f| f.verdict = Some("malicious".into())),
            one(|f| f.source = Some("siem".into())),
            one(|f| f.rule = Some("rule-1".into())),
            one(|f| (f.since, f.until) = (Some(0), Some(3600))),
        ];
        for filter in &filters {
            for after in [None, Some(&cursor)] {
                let (sql, values) = list_query(filter, after, 51);
                let plan = plan(&connection, &sql, values);
                assert!(!plan.contains("TEMP B-TREE"), "{filter:?}: {plan}");
                assert!(plan.contains("USING INDEX reports_"), "{filter:?}: {plan}");
            }
        }
        let plan = plan(
            &connection,
            "SELECT finished_at, time_to_respond_ms FROM reports WHERE finished_at >= ?1 AND finished_at < ?2",
            vec![Value::Integer(0), Value::Integer(1)],
        );
        assert!(plan.contains("USING COVERING INDEX reports_by_time"), "{plan}");
    }

    fn plan(connection: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details = statement
            .query_map(rusqlite::params_from_iter(values), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        details.join("; ")
    }

    #[test]
    fn a_cursor_survives_its_text_and_nothing_else_is_taken_for_one() {
        for alert_id in ["a-1", "", "id with spaces & ?after=ü.", "😀"] {
            let cursor = ReportCursor {
                worst: -1,
                finished_at: 1_700_000_000,
                alert_id: alert_id.into(),
            };
            let text = cursor.to_string();
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{text}"
            );
            assert_eq!(text.parse::<ReportCursor>(), Ok(cursor));
        }
        for bad in ["", "1", "1.2", "x.2.61", "1.2.6", "1.2.zz", "1.2.ff", "1.2.😀😀"] {
            assert_eq!(bad.parse::<ReportCursor>(), Err(BadCursor), "{bad:?}");
        }
    }

    #[test]
    fn a_page_is_between_one_and_the_most_rows_and_the_last_has_no_next() {
        let store = Store::in_memory().unwrap();
        fill(&store, crate::now());
        let reports = store.reports();
        let filter = ReportFilter::default();
        assert_eq!(reports.list(&filter, None, 0).unwrap().reports.len(), 1);
        assert_eq!(
            reports.list(&filter, None, u32::MAX).unwrap().reports.len(),
            MAX_PAGE as usize
        );
        let none = ReportFilter {
            source: Some("nowhere".into()),
            ..ReportFilter::default()
        };
        assert_eq!(
            reports.list(&none, None, 50).unwrap(),
            ReportPage {
                reports: Vec::new(),
                next: None
            }
        );
        // Exactly a page's worth: no next page to offer.
        let exact = ReportFilter {
            rule: Some("rule-3".into()),
            ..ReportFilter::default()
        };
        let all = reports.list(&exact, None, MAX_PAGE).unwrap();
        assert_eq!(all.reports.len(), 500);
        assert_eq!(reports.list(&exact, None, 500).unwrap().next, None);
        assert!(reports.list(&exact, None, 499).unwrap().next.is_some());
    }

    #[test]
    fn hours_are_empty_before_any_report_and_never_more_than_a_month() {
        let reports = Store::in_memory().unwrap().reports();
        let now = crate::now();
        let hours = reports.hourly(now - 3 * HOUR).unwrap();
        assert_eq!(hours.len(), 4);
        assert!(
            hours
                .iter()
                .all(|hour| hour.alerts == 0 && hour.ttr_median_ms.is_none() && hour.start % HOUR == 0)
        );
        assert_eq!(reports.hourly(i64::MIN).unwrap().len(), MAX_HOURS as usize);
        assert!(reports.hourly(now + 2 * HOUR).unwrap().is_empty());
    }

    /// A store made by the last build: reports without a summary.
    #[test]
    fn a_store_from_the_last_build_keeps_its_reports_and_gains_their_summaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let processed = serde_json::json!({
            "type": "alert", "line": 3, "priority": {"score": 72, "label": "p2"},
            "time_to_respond_ms": 41.5, "duplicates": [], "incident": null,
            "alert": {"id": "a-1", "title": "Password spray", "rule_id": "r-9", "rule_name": "Spray",
                      "severity": "high", "verdict": "malicious", "risk_score": 72},
            "plugins": [
                {"plugin": "triage", "status": "completed", "actions": []},
                {"plugin": "contain", "status": "failed", "detail": "x", "actions": [
                    {"action_id": "x1", "operation": "network.block-ip", "target": "203.0.113.7", "status": "executed"},
                    {"action_id": "x2", "operation": "identity.disable-user", "target": "ceo", "status": "held",
                     "approval_id": "ap-1", "reason": "protected"},
                    {"action_id": "x3", "operation": "identity.disable-user", "target": "cfo", "status": "refused",
                     "reason": "no"}]}]
        });
        let duplicate = serde_json::json!({
            "type": "duplicate", "of": "a-1",
            "alert": {"id": "a-2", "title": "Password spray", "rule_id": "r-9", "severity": "high"}
        });
        let given_up = serde_json::json!({"type": "rejected", "error": "taken 5 times without finishing; not run again"});
        let rejected = serde_json::json!({"type": "rejected", "error": "not JSON"});
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(TABLE).unwrap();
            for (id, report) in [
                ("a-1", processed.to_string()),
                ("a-2", duplicate.to_string()),
                ("a-3", given_up.to_string()),
                ("a-4", rejected.to_string()),
                ("a-5", "not json {".to_owned()),
            ] {
                connection
                    .execute(
                        "INSERT INTO reports (alert_id, source, report, finished_at) VALUES (?1, 'siem', ?2, 100)",
                        params![id, report],
                    )
                    .unwrap();
            }
        }
        let store = Store::open(&path).unwrap();
        let reports = store.reports();
        assert_eq!(reports.count().unwrap(), 5);
        let (a1, text) = reports.get("a-1").unwrap().unwrap();
        assert_eq!(text, processed.to_string(), "the report itself is untouched");
        assert_eq!(
            a1,
            ReportSummary {
                alert_id: "a-1".into(),
                source: "siem".into(),
                title: "Password spray".into(),
                rule: Some("Spray".into()),
                severity: Some("high".into()),
                priority_score: Some(72),
                priority_label: Some("p2".into()),
                verdict: Some("malicious".into()),
                risk: Some(72),
                outcome: "plugin-errors".into(),
                time_to_respond_ms: Some(41.5),
                actions_executed: 1,
                actions_held: 1,
                actions_refused: 1,
                finished_at: 100,
            }
        );
        let a2 = reports.get("a-2").unwrap().unwrap().0;
        assert_eq!(
            (a2.outcome.as_str(), a2.rule.as_deref(), a2.priority_score),
            ("duplicate", Some("r-9"), None)
        );
        let outcome = |id| reports.get(id).unwrap().unwrap().0.outcome;
        assert_eq!(outcome("a-3"), "failed");
        assert_eq!(outcome("a-4"), "rejected");
        assert_eq!(outcome("a-5"), "", "kept, though unreadable");
        // Listed worst first like new ones; opening it again changes nothing.
        drop(store);
        let store = Store::open(&path).unwrap();
        let page = store.reports().list(&ReportFilter::default(), None, 50).unwrap();
        assert_eq!(page.reports.len(), 5);
        assert_eq!(page.reports[0].alert_id, "a-1");
        assert_eq!(store.reports().get("a-1").unwrap().unwrap().0, a1);
    }
}
