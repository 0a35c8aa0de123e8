//! What happened to an alert, for people and for scripts.

use super::Stage;
use palisade_alert::Alert;
use palisade_alert::priority::Priority;
use palisade_runtime::capability::ActionResult;
use palisade_runtime::{Invocation, InvocationStatus};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct AlertReport {
    /// The alert as the last stage left it.
    pub alert: Alert,
    pub plugins: Vec<PluginRun>,
    /// Plugins that matched but were not run, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// A plugin that matched an alert and was not run on it.
#[derive(Debug, Serialize)]
pub struct Skipped {
    pub plugin: String,
    pub stage: Stage,
    pub reason: String,
}

/// An alert's line in `palisade run --json`: its report and where it sat in the run.
/// Serialized straight from the report: a `serde_json::Value` tree of it cost a tenth of a
/// run's CPU.
#[derive(Debug, Serialize)]
pub struct AlertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The input line it came from, 1-based.
    line: usize,
    priority: Priority,
    time_to_respond_ms: Option<f64>,
    duplicates: &'a [String],
    incident: Option<&'a str>,
    #[serde(flatten)]
    report: &'a AlertReport,
}

impl<'a> AlertLine<'a> {
    pub fn new(
        report: &'a AlertReport,
        line: usize,
        priority: Priority,
        time_to_respond_ms: Option<f64>,
        duplicates: &'a [String],
        incident: Option<&'a str>,
    ) -> AlertLine<'a> {
        AlertLine {
            kind: "alert",
            line,
            priority,
            time_to_respond_ms,
            duplicates,
            incident,
            report,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PluginRun {
    pub plugin: String,
    pub stage: Stage,
    #[serde(flatten)]
    pub invocation: Invocation,
}

impl AlertReport {
    /// When the first response action was carried out, held for approval or simulated by a
    /// respond-stage plugin; `None` when there was none.
    pub fn first_response(&self) -> Option<std::time::Instant> {
        self.plugins
            .iter()
            .filter(|run| run.stage == Stage::Respond)
            .flat_map(|run| &run.invocation.calls.actions)
            .filter(|action| {
                matches!(
                    action.result,
                    ActionResult::Executed { .. }
                        | ActionResult::Held { .. }
                        | ActionResult::Simulated { .. }
                )
            })
            .map(|action| action.at)
            .min()
    }

    /// Whether every plugin completed.
    pub fn succeeded(&self) -> bool {
        self.plugins
            .iter()
            .all(|run| run.invocation.status == InvocationStatus::Completed)
    }
}

/// Counts over a whole run.
#[derive(Debug, Default, Serialize)]
pub struct Tally {
    pub lines: usize,
    pub alerts: usize,
    pub rejected: usize,
    pub plugins_not_loaded: usize,
    pub invocations: usize,
    pub completed: usize,
    pub failed: usize,
    pub limit_exceeded: usize,
    pub trapped: usize,
    pub actions_executed: usize,
    pub actions_failed: usize,
    pub actions_held: usize,
    pub actions_refused: usize,
    pub actions_simulated: usize,
    pub denied: usize,
    /// Alerts recognized as repeats of an earlier one and not run through the plugins.
    pub duplicates: usize,
    /// Incidents the alerts formed; `None` (shown as `null`) without `[intake.grouping]`.
    pub incidents: Option<usize>,
    /// Audit, action and ticket records the store could not write (each logged with why).
    pub records_lost: u64,
    /// Each responded alert's time to respond, in milliseconds; summarized by
    /// [`Tally::time_to_respond`].
    #[serde(skip)]
    pub times_to_respond: Vec<f64>,
}

/// The median and 95th percentile (nearest rank) of the times to respond, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub median: f64,
    pub p95: f64,
}

impl Tally {
    pub fn add(&mut self, report: &AlertReport) {
        self.alerts += 1;
        for run in &report.plugins {
            self.invocations += 1;
            match run.invocation.status {
                InvocationStatus::Completed => self.completed += 1,
                InvocationStatus::Failed(_) => self.failed += 1,
                InvocationStatus::LimitExceeded(_) => self.limit_exceeded += 1,
                InvocationStatus::Trapped(_) => self.trapped += 1,
            }
            for action in &run.invocation.calls.actions {
                match action.result {
                    ActionResult::Executed { .. } => self.actions_executed += 1,
                    ActionResult::Failed { .. } => self.actions_failed += 1,
                    ActionResult::Held { .. } => self.actions_held += 1,
                    ActionResult::Refused { .. } => self.actions_refused += 1,
                    ActionResult::Simulated { .. } => self.actions_simulated += 1,
                }
            }
            self.denied += run.invocation.calls.denied.len();
        }
    }

    /// Counts an alert's incident when the alert started it.
    pub fn count_incident(&mut self, incident: Option<&palisade_alert::grouping::Assigned>) {
        if let Some(assigned) = incident
            && assigned.new
        {
            *self.incidents.get_or_insert(0) += 1;
        }
    }

    /// Over the alerts that had a response; `None` when none had.
    pub fn time_to_respond(&self) -> Option<Percentiles> {
        let mut times = self.times_to_respond.clone();
        if times.is_empty() {
            return None;
        }
        times.sort_by(f64::total_cmp);
        Some(Percentiles {
            median: nearest_rank(&times, 50),
            p95: nearest_rank(&times, 95),
        })
    }

    /// Whether anything went wrong: a rejected line, a plugin not loaded, an invocation that
    /// did not complete, or a record the audit is missing.
    pub fn clean(&self) -> bool {
        self.rejected == 0
            && self.plugins_not_loaded == 0
            && self.completed == self.invocations
            && self.records_lost == 0
    }
}

/// The value at percentile `p` of sorted, non-empty `values`, by the nearest-rank method.
fn nearest_rank(values: &[f64], p: usize) -> f64 {
    let rank = (p * values.len()).div_ceil(100).max(1);
    values[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_to_respond_is_the_nearest_rank_median_and_p95() {
        let mut tally = Tally::default();
        assert_eq!(tally.time_to_respond(), None);
        tally.times_to_respond = (1..=20).rev().map(f64::from).collect();
        assert_eq!(
            tally.time_to_respond(),
            Some(Percentiles {
                median: 10.0,
                p95: 19.0
            })
        );
        tally.times_to_respond = vec![7.5];
        assert_eq!(
            tally.time_to_respond(),
            Some(Percentiles {
                median: 7.5,
                p95: 7.5
            })
        );
    }

    #[test]
    fn an_alert_line_is_the_report_with_its_place_in_the_run() {
        let alert = palisade_alert::native::parse_line(
            r#"{"id":"a-1","title":"t","source":"s","rule":{"id":"r"},"category":"c","severity":"high","confidence":80,"timestamp":"2026-11-26T09:00:00Z","entities":[]}"#,
        )
        .unwrap();
        let priority = palisade_alert::priority::Criticality::default().priority(&alert);
        let report = AlertReport {
            alert,
            plugins: Vec::new(),
            skipped: Vec::new(),
        };
        let duplicates = ["a-2".to_owned()];
        let line = AlertLine::new(&report, 7, priority, Some(1.25), &duplicates, Some("a-1"));
        let value = serde_json::to_value(&line).unwrap();
        assert_eq!(value["type"], "alert");
        assert_eq!(value["line"], 7);
        assert_eq!(value["alert"]["id"], "a-1");
        assert_eq!(value["plugins"], serde_json::json!([]));
        assert_eq!(value["priority"]["score"], priority.score);
        assert_eq!(value["time_to_respond_ms"], 1.25);
        assert_eq!(value["duplicates"], serde_json::json!(["a-2"]));
        assert_eq!(value["incident"], "a-1");
    }
}
