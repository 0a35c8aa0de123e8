//! The workers: queued alerts are leased worst first (those waiting long, oldest first, with up
//! to half of each lease), read again by their source's intake,
//! and run through the pipeline's [`Runner`] as `palisade run` runs a file. An alert leaves
//! the queue only in the transaction that keeps its report.

use crate::App;
use futures::StreamExt;
use palisade_alert::Alert;
use palisade_alert::priority::Priority;
use palisade_pipeline::batch::Received;
use palisade_pipeline::{AlertLine, AlertReport, Finished, Pipeline, Runner, Schedule};
use palisade_runtime::capability::ActionResult;
use palisade_store::ReportSummary;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How long a lease lasts. One service holds a state folder (its lock), and at start it frees
/// every lease, so this only needs to outlast the slowest alert.
const LEASE_SECONDS: i64 = 3600;
/// An alert taken this many times without a report (the service died on it each time) is
/// reported as failed instead of run again.
const MAX_ATTEMPTS: u32 = 5;
/// Reports waiting for their commit at once, at most.
const KEEPING: usize = 256;
/// Alerts taken from the queue at once, when the runner has room for them: each lease is a
/// synchronous commit, so taking them one or two at a time, as the runner freed a place,
/// held the workers to about a thousand alerts a second.
const LEASE_BATCH: usize = 64;
/// The runner's window closes this long after its first alert was accepted, so no alert waits
/// in a window longer, however steadily others arrive.
const WINDOW_GRACE: Duration = Duration::from_millis(10);

/// How much lower than the threads that accept alerts the workers' threads run (added to the
/// process's nice value).
const WORKER_NICENESS: i32 = 10;

/// The threads the workers run plugins on: a runtime of their own, at a lower priority than the
/// one that accepts alerts and serves the console and the API. A burst is acknowledged in
/// milliseconds while plugins run on every cycle intake leaves; on one runtime, plugins running
/// beside intake held 16 senders to about 1,000 alerts/s at a p50 of 14 ms. Dropping it stops
/// its threads without waiting (the workers are stopped, or past their drain timeout, by then).
pub(crate) struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    pub(crate) fn start() -> std::io::Result<Background> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("palisade-worker")
            .enable_all()
            .on_thread_start(lower_priority)
            .build()?;
        Ok(Background(Some(runtime)))
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .map(tokio::runtime::Runtime::handle)
            .expect("present until dropped")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which an async context may not do.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lowers the calling thread's priority by [`WORKER_NICENESS`] (on Linux a nice value is a
/// thread's own). A thread left at the process's priority still works, only without the
/// preference, so a failure is logged, not fatal.
fn lower_priority() {
    let thread = rustix::thread::gettid();
    let result = rustix::process::getpriority_process(Some(thread)).and_then(|nice| {
        rustix::process::setpriority_process(Some(thread), (nice + WORKER_NICENESS).min(19))
    });
    if let Err(error) = result {
        tracing::warn!(%error, "cannot lower a worker thread's priority; it runs at the service's");
    }
}

/// A leased alert until its report is kept.
struct InFlight {
    /// For the metrics.
    source: String,
    /// Taken more than [`MAX_ATTEMPTS`] times, so sent to the runner as a line it cannot read.
    given_up: bool,
}

/// Runs queued alerts until `stop`, then lets the ones in flight finish.
pub(crate) async fn work(app: Arc<App>, pipeline: Pipeline, stop: watch::Receiver<bool>) {
    // The settings the pipeline was built from: a reload starts new workers with its own.
    let settings = app.settings();
    let owner = format!("{}-{}", std::process::id(), palisade_core::clock::now());
    let schedule = Schedule {
        grace: Some(WINDOW_GRACE),
        ..Schedule::of(&settings.config)
    };
    let (sender, receiver) = mpsc::channel::<Received>(schedule.concurrency.max(2 * LEASE_BATCH));
    let runner = Runner::new(pipeline, settings.config.clone(), schedule);
    // Each leased alert, by its queue entry, until its report is kept.
    let in_flight = Arc::new(Mutex::new(HashMap::new()));
    let feeding = tokio::spawn(feed(app.clone(), owner.clone(), sender, in_flight.clone(), stop));
    let input = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|received| (received, receiver))
    });
    // Reports are kept concurrently: each waits for the writer's commit, and the writer puts
    // every one waiting into one transaction, so a synchronous commit serves many alerts.
    // Kept one after another, a commit each, they held the workers to about 700 alerts a
    // second where the pipeline runs several thousand.
    runner
        .run(input)
        .map(|done| keep(&app, &owner, &in_flight, done))
        .buffer_unordered(KEEPING)
        .for_each(|()| async {})
        .await;
    let _ = feeding.await;
}

/// Keeps a finished alert's report and takes it off the queue, in one transaction.
async fn keep(app: &App, owner: &str, in_flight: &Mutex<HashMap<i64, InFlight>>, done: Finished) {
    let (seq, mut summary, report) = report(app, done);
    let Some(seq) = seq else {
        tracing::error!(%report, "an alert ended without its queue entry; it is run again at the next start");
        return;
    };
    let leased = in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&seq);
    given_up(&mut summary, leased.as_ref());
    let outcome = summary.outcome.clone();
    match app.queue.complete(seq, owner, summary, report).await {
        Ok(true) => app.metrics.processed(
            leased.as_ref().map_or("unknown", |leased| leased.source.as_str()),
            &outcome,
        ),
        Ok(false) => tracing::warn!(seq, "the alert's lease was lost; its report was not kept"),
        Err(error) => tracing::error!(seq, %error, "cannot keep a report; the alert stays queued"),
    }
}

/// Leases alerts as the runner has room for them, until `stop`.
async fn feed(
    app: Arc<App>,
    owner: String,
    sender: mpsc::Sender<Received>,
    in_flight: Arc<Mutex<HashMap<i64, InFlight>>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        // Waits for room for a batch (the feeder alone sends, so the room stays).
        tokio::select! {
            reserved = sender.reserve_many(LEASE_BATCH.min(sender.max_capacity())) => {
                if reserved.is_err() {
                    return;
                }
            }
            _ = stop.changed() => return,
        }
        let room = sender.capacity().max(1);
        let oldest_first_after = app.settings().serve.oldest_first_after.as_secs() as i64;
        let leased = match app
            .queue
            .lease(&owner, room, LEASE_SECONDS, oldest_first_after)
            .await
        {
            Ok(leased) => leased,
            Err(error) => {
                tracing::error!(%error, "cannot take alerts from the queue");
                Vec::new()
            }
        };
        if leased.is_empty() {
            tokio::select! {
                _ = app.queued.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        for alert in leased {
            let given_up = alert.attempts > MAX_ATTEMPTS;
            let line = if given_up {
                Err(format!(
                    "taken {} times without finishing; not run again",
                    alert.attempts - 1
                ))
            } else {
                match app.settings().intakes.get(&alert.source) {
                    Some(intake) => intake
                        .parse(&alert.document)
                        .map(Box::new)
                        .map_err(|error| error.to_string()),
                    None => Err(format!("source {} is no longer configured", alert.source)),
                }
            };
            in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(
                alert.seq,
                InFlight {
                    source: alert.source.clone(),
                    given_up,
                },
            );
            // The time to respond counts from the alert's arrival, its wait in the queue
            // included: that is what the sender and the person on call see.
            let now = Instant::now();
            let received = Received {
                number: alert.seq as usize,
                at: alert
                    .waited
                    .and_then(|waited| now.checked_sub(waited))
                    .unwrap_or(now),
                line,
            };
            if sender.send(received).await.is_err() {
                return;
            }
        }
    }
}

/// The queue entry an alert came from, its summary, and its report as kept in the store: the
/// object `palisade run --json` prints for it.
fn report(app: &App, done: Finished) -> (Option<i64>, ReportSummary, String) {
    let (number, summary, report) = match done {
        Finished::Processed {
            number,
            received,
            priority,
            duplicates,
            incident,
            report,
        } => {
            let time_to_respond = report
                .first_response()
                .map(|at| at.saturating_duration_since(received).as_secs_f64());
            app.metrics.report(&report, time_to_respond);
            let time_to_respond_ms = time_to_respond.map(|seconds| seconds * 1000.0);
            let line = AlertLine::new(
                &report,
                number,
                priority,
                time_to_respond_ms,
                &duplicates,
                incident.as_ref().map(|i| i.incident.as_str()),
            );
            (
                number,
                processed(&report, priority, time_to_respond_ms),
                serde_json::to_value(&line)
                    .unwrap_or_else(|e| json!({"type": "alert", "error": e.to_string()})),
            )
        }
        Finished::Duplicate {
            number, alert, of, ..
        } => (
            number,
            ReportSummary {
                outcome: "duplicate".into(),
                ..described(&alert)
            },
            json!({"type": "duplicate", "alert": alert, "of": of}),
        ),
        Finished::Rejected { number, error } => (
            number,
            ReportSummary {
                outcome: "rejected".into(),
                ..ReportSummary::default()
            },
            json!({"type": "rejected", "error": error}),
        ),
    };
    ((number > 0).then_some(number as i64), summary, report.to_string())
}

/// An alert given up on reached the runner as a line it could not read: `failed`, the queue's
/// doing, rather than `rejected`, the document's.
fn given_up(summary: &mut ReportSummary, leased: Option<&InFlight>) {
    if leased.is_some_and(|leased| leased.given_up) {
        summary.outcome = "failed".into();
    }
}

/// The summary of an alert run through the plugins: its priority after them, how it ended, and
/// how many of its actions were executed, held for a person or refused.
fn processed(report: &AlertReport, priority: Priority, time_to_respond_ms: Option<f64>) -> ReportSummary {
    let (mut executed, mut held, mut refused) = (0u32, 0u32, 0u32);
    for action in report
        .plugins
        .iter()
        .flat_map(|run| &run.invocation.calls.actions)
    {
        let count = match action.result {
            ActionResult::Executed { .. } => &mut executed,
            ActionResult::Held { .. } => &mut held,
            ActionResult::Refused { .. } => &mut refused,
            ActionResult::Failed { .. } | ActionResult::Simulated { .. } => continue,
        };
        *count = count.saturating_add(1);
    }
    ReportSummary {
        priority_score: Some(priority.score),
        priority_label: Some(priority.label.as_str().to_owned()),
        outcome: if report.succeeded() {
            "completed"
        } else {
            "plugin-errors"
        }
        .into(),
        time_to_respond_ms,
        actions_executed: executed,
        actions_held: held,
        actions_refused: refused,
        ..described(&report.alert)
    }
}

/// What the alert itself says: its title, rule, severity, verdict and risk. The store fills in
/// the alert id, the source and the time from the queue entry.
fn described(alert: &Alert) -> ReportSummary {
    ReportSummary {
        title: alert.title.clone(),
        rule: alert.rule_name.clone().or_else(|| alert.rule_id.clone()),
        severity: Some(alert.severity.as_str().to_owned()),
        verdict: alert.verdict.map(|verdict| verdict.to_string()),
        risk: alert.risk_score,
        ..ReportSummary::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_alert::Verdict;
    use palisade_pipeline::{PluginRun, Stage};
    use palisade_runtime::capability::{ActionRecord, CallLog, Operation};
    use palisade_runtime::{Invocation, InvocationStatus};

    #[tokio::test]
    async fn the_workers_threads_yield_to_the_threads_that_accept_alerts() {
        let nice = || rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let here = nice();
        let background = Background::start().unwrap();
        let there = background.handle().spawn(async move { nice() }).await.unwrap();
        assert_eq!(there, (here + WORKER_NICENESS).min(19));
        assert!(there > here || here == 19);
    }

    fn alert(rule: &str) -> Alert {
        palisade_alert::native::parse_line(&format!(
            r#"{{"id":"a-1","title":"Password spray","source":"siem","category":"identity","severity":"high",{rule}"confidence":80,"timestamp":"2026-11-26T09:00:00Z","entities":[]}}"#
        ))
        .unwrap()
    }

    fn action(operation: &str, result: ActionResult) -> ActionRecord {
        ActionRecord {
            action_id: format!("act-{operation}"),
            operation: Operation::parse(operation).unwrap(),
            target: "ceo@example.com".into(),
            result,
            at: Instant::now(),
        }
    }

    fn run(plugin: &str, status: InvocationStatus, actions: Vec<ActionRecord>) -> PluginRun {
        PluginRun {
            plugin: plugin.into(),
            stage: Stage::Respond,
            invocation: Invocation {
                status,
                outcome: None,
                duration: Duration::from_millis(3),
                calls: CallLog {
                    actions,
                    ..CallLog::default()
                },
                stdout: String::new(),
                stderr: String::new(),
            },
        }
    }

    #[test]
    fn a_processed_alert_is_summarized_with_its_priority_verdict_and_actions() {
        let mut alert = alert(r#""rule":{"id":"r-9","name":"Spray"},"#);
        alert.verdict = Some(Verdict::Malicious);
        alert.risk_score = Some(91);
        let held = ActionResult::Held {
            approval_id: "ap-1".into(),
            reason: "a protected account".into(),
        };
        let report = AlertReport {
            alert,
            plugins: vec![
                run(
                    "contain",
                    InvocationStatus::Completed,
                    vec![
                        action("network.block-ip", ActionResult::Executed { reference: None }),
                        action("identity.disable-user", held),
                        action(
                            "identity.revoke-sessions",
                            ActionResult::Refused { reason: "no".into() },
                        ),
                        action("network.block-ip", ActionResult::Failed { error: "down".into() }),
                    ],
                ),
                run("notify", InvocationStatus::Completed, Vec::new()),
            ],
            skipped: Vec::new(),
        };
        let summary = processed(&report, Priority::of(91), Some(12.5));
        assert_eq!(
            summary,
            ReportSummary {
                title: "Password spray".into(),
                rule: Some("Spray".into()),
                severity: Some("high".into()),
                priority_score: Some(91),
                priority_label: Some("p1".into()),
                verdict: Some("malicious".into()),
                risk: Some(91),
                outcome: "completed".into(),
                time_to_respond_ms: Some(12.5),
                actions_executed: 1,
                actions_held: 1,
                actions_refused: 1,
                ..ReportSummary::default()
            }
        );
    }

    #[test]
    fn a_plugin_that_failed_marks_the_alert_and_a_rule_without_a_name_shows_its_id() {
        let report = AlertReport {
            alert: alert(r#""rule":{"id":"r-9"},"#),
            plugins: vec![run("triage", InvocationStatus::Failed("trap".into()), Vec::new())],
            skipped: Vec::new(),
        };
        let summary = processed(&report, Priority::of(40), None);
        assert_eq!(summary.outcome, "plugin-errors");
        assert_eq!(summary.rule.as_deref(), Some("r-9"));
        assert_eq!(summary.priority_label.as_deref(), Some("p3"));
        assert_eq!((summary.actions_executed, summary.time_to_respond_ms), (0, None));
    }

    fn app() -> (Arc<App>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("edr.token"), "t0ken").unwrap();
        let path = dir.path().join("palisade.toml");
        std::fs::write(
            &path,
            "[defaults]\nstate_dir = \"state\"\n\n[serve]\nlisten = \"127.0.0.1:0\"\n\n\
             [serve.sources.edr]\nauth = \"bearer\"\ntoken = { file = \"edr.token\" }\n",
        )
        .unwrap();
        (App::for_tests(&path), dir)
    }

    #[test]
    fn a_duplicate_is_described_by_its_alert_and_listed_after_every_scored_one() {
        let (app, _dir) = app();
        let done = Finished::Duplicate {
            number: 7,
            priority: Priority::of(90),
            incident: None,
            alert: Box::new(alert(r#""rule":{"name":"Spray"},"#)),
            of: "a-0".into(),
        };
        let (seq, summary, report) = report(&app, done);
        assert_eq!(seq, Some(7));
        assert_eq!(
            (
                summary.outcome.as_str(),
                summary.title.as_str(),
                summary.rule.as_deref()
            ),
            ("duplicate", "Password spray", Some("Spray"))
        );
        assert_eq!(summary.priority_score, None);
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["of"], "a-0");
    }

    #[test]
    fn a_rejected_document_is_rejected_unless_the_queue_gave_it_up() {
        let (app, _dir) = app();
        let rejected = |error: &str| Finished::Rejected {
            number: 3,
            error: error.into(),
        };
        let (seq, mut summary, _) = report(&app, rejected("not JSON"));
        assert_eq!(
            (seq, summary.outcome.as_str(), summary.title.as_str()),
            (Some(3), "rejected", "")
        );
        let leased = |given_up| InFlight {
            source: "edr".into(),
            given_up,
        };
        given_up(&mut summary, Some(&leased(false)));
        assert_eq!(summary.outcome, "rejected");
        let (_, mut summary, _) = report(&app, rejected("taken 5 times without finishing; not run again"));
        given_up(&mut summary, Some(&leased(true)));
        assert_eq!(summary.outcome, "failed");
        // A panic inside the host has no queue entry to keep a report under.
        assert_eq!(
            report(
                &app,
                Finished::Rejected {
                    number: 0,
                    error: "panic".into()
                }
            )
            .0,
            None
        );
    }
}
