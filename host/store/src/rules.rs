//! What automation did per detection rule since a time: the figures `palisade report` shows a
//! team lead to justify (or withhold) a rule's autonomy.

use super::verdicts::{Precision, Window};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// One rule's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleFigures {
    /// The rule id, else the alerts' title.
    pub rule: String,
    pub name: Option<String>,
    pub alerts: u32,
    pub precision: Precision,
    /// Destructive operations executed without a person.
    pub executed_alone: u32,
    pub held: u32,
    pub approved: u32,
    pub denied: u32,
    /// From an alert's receipt to its first response, automatic (milliseconds).
    pub respond_alone_ms: Option<Spread>,
    /// From holding an operation to a person's approval (milliseconds).
    pub respond_with_person_ms: Option<Spread>,
    /// The same per plugin that acted (or asked to act) on the rule's alerts.
    pub plugins: Vec<PluginFigures>,
}

/// A rule's figures for one plugin: the precision of the alerts it acted on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginFigures {
    pub plugin: String,
    pub precision: Precision,
    pub executed_alone: u32,
    pub held: u32,
}

/// The median and 95th percentile (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub p95: f64,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Spread {
            median: rank(0.5),
            p95: rank(0.95),
        })
    }
}

#[derive(Clone)]
pub struct Rules {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<super::writer::Writer>,
}

impl Rules {
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<super::writer::Writer>) -> Rules {
        Rules { connection, writer }
    }

    /// Every rule with alerts since `since` (Unix seconds), most alerts first; precision
    /// over `window` as the gate measures it.
    pub fn figures(&self, since: i64, window: Window) -> Result<Vec<RuleFigures>, rusqlite::Error> {
        self.writer.flush();
        let rules: Vec<(String, Option<String>, u32)> = {
            let connection = super::lock(&self.connection);
            let mut statement = connection.prepare(
                "SELECT rule, MAX(rule_name), COUNT(*) FROM alert_rules WHERE at >= ?1
                 GROUP BY rule ORDER BY COUNT(*) DESC, rule",
            )?;
            let rows =
                statement.query_map(params![since], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let verdicts = super::verdicts::Verdicts::new(self.connection.clone(), self.writer.clone());
        let mut out = Vec::with_capacity(rules.len());
        for (rule, name, alerts) in rules {
            let precision = verdicts.precision(&rule, window)?;
            let connection = super::lock(&self.connection);
            let count = |sql: &str| -> Result<u32, rusqlite::Error> {
                connection.query_row(sql, params![rule, since], |row| row.get(0))
            };
            let every_plugin: Option<&str> = None;
            let (executed_alone, held) = (
                connection.query_row(EXECUTED_ALONE, params![rule, since, every_plugin], |row| {
                    row.get(0)
                })?,
                connection.query_row(HELD, params![rule, since, every_plugin], |row| row.get(0))?,
            );
            let approved = count(
                "SELECT COUNT(*) FROM approvals p JOIN alert_rules r ON r.alert_id = p.alert_id
                 WHERE r.rule = ?1 AND p.created_at >= ?2 AND p.status IN ('executing', 'executed', 'failed')",
            )?;
            let denied = count(
                "SELECT COUNT(*) FROM approvals p JOIN alert_rules r ON r.alert_id = p.alert_id
                 WHERE r.rule = ?1 AND p.created_at >= ?2 AND p.status = 'denied'",
            )?;
            let values = |sql: &str| -> Result<Vec<f64>, rusqlite::Error> {
                let mut statement = connection.prepare(sql)?;
                let rows = statement.query_map(params![rule, since], |row| row.get::<_, f64>(0))?;
                rows.collect()
            };
            let respond_alone_ms = Spread::of(values(
                "SELECT responded_ms FROM alert_rules WHERE rule = ?1 AND at >= ?2 AND responded_ms IS NOT NULL",
            )?);
            let respond_with_person_ms = Spread::of(values(
                "SELECT (p.decided_at - p.created_at) * 1000.0 FROM approvals p
                 JOIN alert_rules r ON r.alert_id = p.alert_id
                 WHERE r.rule = ?1 AND p.created_at >= ?2 AND p.decided_at IS NOT NULL
                   AND p.status IN ('executing', 'executed', 'failed')",
            )?);
            let plugins = plugin_figures(&connection, &rule, since, window)?;
            out.push(RuleFigures {
                rule,
                name,
                alerts,
                precision,
                executed_alone,
                held,
                approved,
                denied,
                respond_alone_ms,
                respond_with_person_ms,
                plugins,
            });
        }
        Ok(out)
    }
}

/// Destructive operations of a rule's alerts executed without a person since `?2`, by the
/// plugin `?3` (every plugin when null).
const EXECUTED_ALONE: &str = "SELECT COUNT(*) FROM actions a JOIN alert_rules r ON r.alert_id = a.alert_id
     WHERE r.rule = ?1 AND a.at >= ?2 AND (?3 IS NULL OR a.plugin = ?3)
       AND NOT EXISTS (SELECT 1 FROM approvals p WHERE p.action_id = a.action_id)";

/// Operations of a rule's alerts held for a person since `?2`, by the plugin `?3` (every
/// plugin when null).
const HELD: &str = "SELECT COUNT(*) FROM approvals p JOIN alert_rules r ON r.alert_id = p.alert_id
     WHERE r.rule = ?1 AND p.created_at >= ?2 AND (?3 IS NULL OR p.plugin = ?3)";

/// Per plugin that executed or held an operation on the rule's alerts since `since`.
fn plugin_figures(
    connection: &Connection,
    rule: &str,
    since: i64,
    window: Window,
) -> Result<Vec<PluginFigures>, rusqlite::Error> {
    let mut statement = connection.prepare(
        "SELECT a.plugin FROM actions a JOIN alert_rules r ON r.alert_id = a.alert_id WHERE r.rule = ?1 AND a.at >= ?2
         UNION SELECT p.plugin FROM approvals p JOIN alert_rules r ON r.alert_id = p.alert_id WHERE r.rule = ?1 AND p.created_at >= ?2
         ORDER BY 1",
    )?;
    let plugins: Vec<String> = statement
        .query_map(params![rule, since], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let window_since = super::now() - window.period.as_secs() as i64;
    let mut out = Vec::with_capacity(plugins.len());
    for plugin in plugins {
        let (labelled, true_positives): (u32, u32) = connection.query_row(
            "SELECT COUNT(*), COALESCE(SUM(verdict = 'true-positive'), 0) FROM (
                 SELECT v.verdict FROM verdicts v JOIN alert_rules r ON r.alert_id = v.alert_id
                 WHERE r.rule = ?1 AND v.at >= ?3
                   AND v.alert_id IN (SELECT alert_id FROM actions WHERE plugin = ?2
                                      UNION SELECT alert_id FROM approvals WHERE plugin = ?2)
                 ORDER BY v.at DESC, v.rowid DESC LIMIT ?4)",
            params![rule, plugin, window_since, window.latest],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let count = |sql: &str| -> Result<u32, rusqlite::Error> {
            connection.query_row(sql, params![rule, since, plugin], |row| row.get(0))
        };
        let (executed_alone, held) = (count(EXECUTED_ALONE)?, count(HELD)?);
        out.push(PluginFigures {
            plugin,
            precision: Precision::of(true_positives, labelled),
            executed_alone,
            held,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Evidence, Store, Verdict};
    use std::time::Duration;

    #[test]
    fn figures_match_a_hand_count() {
        let store = Store::in_memory().unwrap();
        let verdicts = store.verdicts();
        for (id, ms) in [("a-1", 4.0), ("a-2", 6.0), ("a-3", 100.0)] {
            verdicts.alert_rule(id, "okta-spray-01", Some("Password spray"));
            verdicts.responded(id, ms);
        }
        verdicts.alert_rule("b-1", "edr-beacon", None);
        verdicts
            .record("a-1", Verdict::TruePositive, Evidence::Analyst, "x", None)
            .unwrap();
        verdicts
            .record("a-2", Verdict::TruePositive, Evidence::Analyst, "x", None)
            .unwrap();
        verdicts
            .record("a-3", Verdict::FalsePositive, Evidence::Analyst, "x", None)
            .unwrap();
        let window = Window {
            period: Duration::from_secs(86_400),
            latest: 100,
        };
        let figures = store.rules().figures(0, window).unwrap();
        assert_eq!(figures.len(), 2);
        let spray = &figures[0];
        assert_eq!(
            (spray.rule.as_str(), spray.name.as_deref()),
            ("okta-spray-01", Some("Password spray"))
        );
        assert_eq!(spray.alerts, 3);
        assert_eq!(spray.precision, Precision::of(2, 3));
        assert_eq!(
            spray.respond_alone_ms,
            Some(Spread {
                median: 6.0,
                p95: 100.0
            })
        );
        assert_eq!(
            (spray.executed_alone, spray.held, spray.approved, spray.denied),
            (0, 0, 0, 0)
        );
        assert_eq!(figures[1].alerts, 1);
        assert_eq!(figures[1].precision.labelled, 0);
    }
}
