//! The order a batch is handled in: highest priority first within a window of alerts, with
//! repeats attached to their first alert instead of being run again, and each alert placed in
//! its incident.

use palisade_alert::Alert;
use palisade_alert::dedup::{Dedup, DedupConfig};
use palisade_alert::grouping::{Assigned, Grouping, GroupingConfig};
use palisade_alert::priority::{Criticality, Priority};
use std::collections::HashMap;
use std::time::Instant;

/// One line as read.
pub struct Received {
    /// 1-based line number in the input.
    pub number: usize,
    /// When the line was read: where the alert's time to respond starts.
    pub at: Instant,
    /// The alert, or why the line was rejected.
    pub line: Result<Box<Alert>, String>,
}

/// What to do next, in the order to do it.
pub enum Work {
    /// Run it through the plugins.
    Alert(Box<Queued>),
    /// A repeat of the alert with id `of`: not run again.
    Duplicate { queued: Box<Queued>, of: String },
    /// A line that is not an alert: report it.
    Rejected { number: usize, error: String },
}

pub struct Queued {
    pub number: usize,
    pub received: Instant,
    pub alert: Alert,
    pub priority: Priority,
    /// The ids of this alert's duplicates found in the same window.
    pub duplicates: Vec<String>,
    /// Its incident; `None` without `[intake.grouping]`.
    pub incident: Option<Assigned>,
}

/// Orders windows of a batch; keeps the dedup and grouping state across them for the whole run.
pub struct Batcher {
    criticality: Criticality,
    dedup: Option<Dedup>,
    grouping: Option<Grouping>,
}

impl Batcher {
    pub fn new(
        criticality: Criticality,
        dedup: Option<DedupConfig>,
        grouping: Option<GroupingConfig>,
    ) -> Batcher {
        Batcher {
            criticality,
            dedup: dedup.map(Dedup::new),
            grouping: grouping.map(Grouping::new),
        }
    }

    /// One window in the order to handle it: rejected lines first (they cost nothing), then
    /// the alerts by priority, highest first, ties in input order. An alert whose fingerprint
    /// an earlier-handled one had becomes a duplicate of it; when that first alert is in the
    /// same window, it lists the duplicate. Incidents are assigned in the same order, so an
    /// incident's id is its most urgent first alert's.
    pub fn order(&mut self, window: Vec<Received>) -> Vec<Work> {
        let mut work = Vec::with_capacity(window.len());
        let mut alerts = Vec::new();
        for received in window {
            match received.line {
                Err(error) => work.push(Work::Rejected {
                    number: received.number,
                    error,
                }),
                Ok(alert) => {
                    let priority = self.criticality.priority(&alert);
                    alerts.push(Queued {
                        number: received.number,
                        received: received.at,
                        alert: *alert,
                        priority,
                        duplicates: Vec::new(),
                        incident: None,
                    });
                }
            }
        }
        alerts.sort_by(|a, b| {
            b.priority
                .score
                .cmp(&a.priority.score)
                .then(a.number.cmp(&b.number))
        });
        let mut firsts: HashMap<String, usize> = HashMap::new();
        for mut queued in alerts {
            queued.incident = self
                .grouping
                .as_mut()
                .map(|grouping| grouping.assign(&queued.alert));
            let first = self.dedup.as_mut().and_then(|dedup| dedup.check(&queued.alert));
            match first {
                Some(of) => {
                    if let Some(&index) = firsts.get(&of)
                        && let Work::Alert(first) = &mut work[index]
                    {
                        first.duplicates.push(queued.alert.id.clone());
                    }
                    work.push(Work::Duplicate {
                        queued: Box::new(queued),
                        of,
                    });
                }
                None => {
                    firsts.insert(queued.alert.id.clone(), work.len());
                    work.push(Work::Alert(Box::new(queued)));
                }
            }
        }
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_alert::native::parse_line;

    fn received(number: usize, id: &str, severity: &str, host: &str) -> Received {
        let alert = parse_line(&format!(
            r#"{{"id":"{id}","title":"t","source":"s","rule":{{"id":"r-{severity}"}},"category":"c","severity":"{severity}","confidence":80,"timestamp":"2026-11-26T09:00:00Z","entities":[{{"type":"host","hostname":"{host}"}}]}}"#
        ))
        .unwrap();
        Received {
            number,
            at: Instant::now(),
            line: Ok(Box::new(alert)),
        }
    }

    fn order(work: &[Work]) -> Vec<String> {
        work.iter()
            .map(|work| match work {
                Work::Alert(queued) => format!("{} {:?}", queued.alert.id, queued.duplicates),
                Work::Duplicate { queued, of } => format!("{} of {of}", queued.alert.id),
                Work::Rejected { number, .. } => format!("line {number}"),
            })
            .collect()
    }

    #[test]
    fn a_window_is_handled_highest_priority_first_and_ties_in_input_order() {
        let criticality = Criticality::new(&["dc-*".into()], &[]).unwrap();
        let mut batcher = Batcher::new(criticality, None, None);
        let window = vec![
            received(1, "low", "low", "laptop-1"),
            received(2, "medium-a", "medium", "laptop-2"),
            Received {
                number: 3,
                at: Instant::now(),
                line: Err("not JSON".into()),
            },
            received(4, "high", "high", "laptop-3"),
            received(5, "medium-dc", "medium", "dc-01"),
            received(6, "medium-b", "medium", "laptop-4"),
            received(7, "critical", "critical", "laptop-5"),
        ];
        assert_eq!(
            order(&batcher.order(window)),
            [
                "line 3",
                "critical []",
                "high []",
                "medium-dc []",
                "medium-a []",
                "medium-b []",
                "low []"
            ]
        );
    }

    #[test]
    fn duplicates_attach_to_the_first_handled_even_across_windows() {
        let mut batcher = Batcher::new(Criticality::default(), Some(DedupConfig::default()), None);
        let first = batcher.order(vec![
            received(1, "a", "high", "dc-01"),
            received(2, "b", "low", "laptop"),
            received(3, "a-again", "high", "dc-01"),
        ]);
        assert_eq!(order(&first), ["a [\"a-again\"]", "a-again of a", "b []"]);
        let second = batcher.order(vec![received(4, "a-third", "high", "dc-01")]);
        assert_eq!(order(&second), ["a-third of a"]);
    }

    #[test]
    fn incidents_are_assigned_in_the_order_alerts_are_handled() {
        let mut batcher = Batcher::new(Criticality::default(), None, Some(GroupingConfig::default()));
        let work = batcher.order(vec![
            received(1, "low-on-dc", "low", "dc-01"),
            received(2, "other", "medium", "laptop"),
            received(3, "high-on-dc", "high", "dc-01"),
        ]);
        let incidents: Vec<(String, String, bool)> = work
            .iter()
            .filter_map(|work| match work {
                Work::Alert(queued) => queued
                    .incident
                    .as_ref()
                    .map(|i| (queued.alert.id.clone(), i.incident.clone(), i.new)),
                _ => None,
            })
            .collect();
        assert_eq!(
            incidents,
            [
                ("high-on-dc".into(), "high-on-dc".into(), true),
                ("other".into(), "other".into(), true),
                ("low-on-dc".into(), "high-on-dc".into(), false),
            ]
        );
    }
}
