//! What happened to an alert, for people and for scripts.

use super::Stage;
use crate::alert::Alert;
use crate::capability::ActionResult;
use crate::runtime::{Invocation, InvocationStatus};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct AlertReport {
    /// The alert as the last stage left it.
    pub alert: Alert,
    pub plugins: Vec<PluginRun>,
}

#[derive(Debug, Serialize)]
pub struct PluginRun {
    pub plugin: String,
    pub stage: Stage,
    #[serde(flatten)]
    pub invocation: Invocation,
}

impl AlertReport {
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

    /// Whether anything went wrong: a rejected line, a plugin not loaded, or an invocation
    /// that did not complete.
    pub fn clean(&self) -> bool {
        self.rejected == 0 && self.plugins_not_loaded == 0 && self.completed == self.invocations
    }
}
