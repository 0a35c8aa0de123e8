//! Analysts' verdicts on alerts, and what they say about each detection rule: its precision,
//! with an honest bound for small samples, which decides whether the rule's destructive
//! automation may run without a person (`policy::Autonomy`).
//!
//! Each processed alert's rule is recorded (the rule id, else the title). A verdict is one per
//! alert: an analyst's explicit one replaces any earlier; an approval (evidence that the alert
//! was true) or a denial whose reason says false positive is kept only while no analyst has
//! said otherwise.

use super::writer::{Message, Record, Writer};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an analyst says an alert was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    TruePositive,
    FalsePositive,
    /// Real activity, but benign (an admin's sanctioned scan): automation should not have
    /// acted, so for a rule's precision it counts against it.
    Benign,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::TruePositive, Verdict::FalsePositive, Verdict::Benign];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::TruePositive => "true-positive",
            Verdict::FalsePositive => "false-positive",
            Verdict::Benign => "benign",
        }
    }

    pub fn parse(text: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|verdict| verdict.as_str() == text)
    }
}

/// Where a verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// An analyst said so: it wins.
    Analyst,
    /// A held operation on the alert was approved.
    Approval,
    /// A held operation was denied as a false positive.
    Denial,
}

impl Evidence {
    fn as_str(self) -> &'static str {
        match self {
            Evidence::Analyst => "analyst",
            Evidence::Approval => "approval",
            Evidence::Denial => "denial",
        }
    }
}

/// One processed alert's rule, as recorded.
pub(super) struct AlertRule {
    pub alert_id: String,
    pub rule: String,
    pub rule_name: Option<String>,
    pub at: i64,
}

/// The verdicts that count for a rule's precision: within `period`, at most the `latest` of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub period: Duration,
    pub latest: u32,
}

/// A rule's measured precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Precision {
    pub labelled: u32,
    pub true_positives: u32,
    /// The Wilson score interval's lower bound at 95%: three right out of three is 0.44, not 1.
    pub lower_bound: f64,
}

impl Precision {
    pub fn of(true_positives: u32, labelled: u32) -> Precision {
        Precision {
            labelled,
            true_positives,
            lower_bound: wilson_lower_bound(true_positives, labelled),
        }
    }

    /// true / labelled; 0 without labels.
    pub fn point(&self) -> f64 {
        if self.labelled == 0 {
            0.0
        } else {
            f64::from(self.true_positives) / f64::from(self.labelled)
        }
    }
}

/// The lower bound of the Wilson score interval for `successes` out of `n` at 95% (z = 1.96).
pub fn wilson_lower_bound(successes: u32, n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = f64::from(n);
    let p = f64::from(successes.min(n as u32)) / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let margin = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).max(0.0)
}

#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    #[error("no processed alert {0} (verdicts are on alerts Palisade has handled)")]
    UnknownAlert(String),
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
}

#[derive(Clone)]
pub struct Verdicts {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
}

impl Verdicts {
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<Writer>) -> Verdicts {
        Verdicts { connection, writer }
    }

    /// Records which rule a processed alert came from (queued with the audit).
    pub fn alert_rule(&self, alert_id: &str, rule: &str, rule_name: Option<&str>) {
        let row = AlertRule {
            alert_id: alert_id.to_owned(),
            rule: rule.to_owned(),
            rule_name: rule_name.map(str::to_owned),
            at: super::now(),
        };
        if !self.writer.send(Message::Record(Record::AlertRule(row))) {
            tracing::error!(
                alert = alert_id,
                "cannot record the alert's rule: the store's writer has stopped"
            );
        }
    }

    /// Records how long a processed alert took from receipt to its first response.
    pub fn responded(&self, alert_id: &str, ms: f64) {
        let record = Record::Responded {
            alert_id: alert_id.to_owned(),
            ms,
        };
        if !self.writer.send(Message::Record(record)) {
            tracing::error!(
                alert = alert_id,
                "cannot record the time to respond: the store's writer has stopped"
            );
        }
    }

    /// The rule (and its name) a processed alert came from.
    pub fn rule_of(&self, alert_id: &str) -> Result<Option<(String, Option<String>)>, rusqlite::Error> {
        self.writer.flush();
        let connection = super::lock(&self.connection);
        connection
            .query_row(
                "SELECT rule, rule_name FROM alert_rules WHERE alert_id = ?1",
                params![alert_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
    }

    /// Records a verdict. An analyst's replaces any earlier one; other evidence is kept only
    /// while no analyst has given one.
    pub fn record(
        &self,
        alert_id: &str,
        verdict: Verdict,
        evidence: Evidence,
        by: &str,
        note: Option<&str>,
    ) -> Result<(), VerdictError> {
        if self.rule_of(alert_id)?.is_none() {
            return Err(VerdictError::UnknownAlert(alert_id.to_owned()));
        }
        let connection = super::lock(&self.connection);
        connection.execute(
            "INSERT INTO verdicts (alert_id, verdict, source, by, note, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (alert_id) DO UPDATE SET verdict = ?2, source = ?3, by = ?4, note = ?5, at = ?6
             WHERE ?3 = 'analyst' OR verdicts.source != 'analyst'",
            params![
                alert_id,
                verdict.as_str(),
                evidence.as_str(),
                by,
                note,
                super::now()
            ],
        )?;
        Ok(())
    }

    /// A rule's precision over its latest verdicts within the window.
    pub fn precision(&self, rule: &str, window: Window) -> Result<Precision, rusqlite::Error> {
        precision_in(&super::lock(&self.connection), rule, window)
    }
}

/// Verdicts read from a state database that is not written to: `palisade simulate` measures
/// precision from the real verdicts and changes nothing.
pub struct ReadOnlyVerdicts {
    connection: Mutex<Connection>,
}

impl ReadOnlyVerdicts {
    /// `None` when there is no database yet (every rule then starts supervised).
    pub fn open(path: &std::path::Path) -> Result<Option<ReadOnlyVerdicts>, rusqlite::Error> {
        if !path.exists() {
            return Ok(None);
        }
        let connection = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(10))?;
        Ok(Some(ReadOnlyVerdicts {
            connection: Mutex::new(connection),
        }))
    }

    pub fn precision(&self, rule: &str, window: Window) -> Result<Precision, rusqlite::Error> {
        precision_in(&super::lock(&self.connection), rule, window)
    }
}

fn precision_in(connection: &Connection, rule: &str, window: Window) -> Result<Precision, rusqlite::Error> {
    let since = super::now() - window.period.as_secs() as i64;
    let mut statement = connection.prepare_cached(
        "SELECT v.verdict FROM verdicts v JOIN alert_rules r ON r.alert_id = v.alert_id
         WHERE r.rule = ?1 AND v.at >= ?2 ORDER BY v.at DESC, v.rowid DESC LIMIT ?3",
    )?;
    let verdicts = statement.query_map(params![rule, since, window.latest], |row| row.get::<_, String>(0))?;
    let (mut labelled, mut true_positives) = (0u32, 0u32);
    for verdict in verdicts {
        labelled += 1;
        if verdict? == Verdict::TruePositive.as_str() {
            true_positives += 1;
        }
    }
    Ok(Precision::of(true_positives, labelled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    const WINDOW: Window = Window {
        period: Duration::from_secs(90 * 86_400),
        latest: 500,
    };

    #[test]
    fn the_wilson_bound_is_honest_for_small_samples() {
        assert_eq!(wilson_lower_bound(0, 0), 0.0);
        let three = wilson_lower_bound(3, 3);
        assert!((three - 0.4385).abs() < 0.001, "{three}");
        let many = wilson_lower_bound(98, 100);
        assert!((many - 0.9300).abs() < 0.001, "{many}");
        assert!(wilson_lower_bound(980, 1000) > 0.969);
    }

    #[test]
    fn an_analysts_verdict_wins_over_approvals_and_a_later_one_replaces_it() {
        let store = Store::in_memory().unwrap();
        let verdicts = store.verdicts();
        verdicts.alert_rule("a-1", "okta-spray-01", Some("Password spray"));
        verdicts.alert_rule("a-2", "okta-spray-01", Some("Password spray"));
        assert!(matches!(
            verdicts.record("nope", Verdict::TruePositive, Evidence::Analyst, "dana", None),
            Err(VerdictError::UnknownAlert(_))
        ));
        verdicts
            .record(
                "a-1",
                Verdict::FalsePositive,
                Evidence::Analyst,
                "dana",
                Some("a pen test"),
            )
            .unwrap();
        // An approval afterwards does not overrule the analyst.
        verdicts
            .record("a-1", Verdict::TruePositive, Evidence::Approval, "sam", None)
            .unwrap();
        verdicts
            .record("a-2", Verdict::TruePositive, Evidence::Approval, "sam", None)
            .unwrap();
        assert_eq!(
            verdicts.precision("okta-spray-01", WINDOW).unwrap(),
            Precision::of(1, 2)
        );
        // The analyst changes their mind; then an analyst overrules the approval.
        verdicts
            .record("a-1", Verdict::TruePositive, Evidence::Analyst, "dana", None)
            .unwrap();
        verdicts
            .record("a-2", Verdict::Benign, Evidence::Analyst, "lee", None)
            .unwrap();
        assert_eq!(
            verdicts.precision("okta-spray-01", WINDOW).unwrap(),
            Precision::of(1, 2)
        );
        assert_eq!(verdicts.precision("other", WINDOW).unwrap(), Precision::of(0, 0));
    }

    #[test]
    fn only_the_latest_verdicts_within_the_window_count() {
        let store = Store::in_memory().unwrap();
        let verdicts = store.verdicts();
        for n in 0..10 {
            let id = format!("a-{n}");
            verdicts.alert_rule(&id, "r", None);
            let verdict = if n < 5 {
                Verdict::FalsePositive
            } else {
                Verdict::TruePositive
            };
            verdicts
                .record(&id, verdict, Evidence::Analyst, "x", None)
                .unwrap();
        }
        let latest_five = Window { latest: 5, ..WINDOW };
        assert_eq!(verdicts.precision("r", latest_five).unwrap(), Precision::of(5, 5));
        assert_eq!(verdicts.precision("r", WINDOW).unwrap(), Precision::of(5, 10));
    }
}
