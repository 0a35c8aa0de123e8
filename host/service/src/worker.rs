//! The workers: queued alerts are leased oldest first, read again by their source's intake,
//! and run through the pipeline's [`Runner`] as `palisade run` runs a file. An alert leaves
//! the queue only in the transaction that keeps its report.

use crate::App;
use futures::StreamExt;
use palisade_pipeline::batch::Received;
use palisade_pipeline::{AlertLine, Finished, Pipeline, Runner, Schedule};
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
/// A pause in arrivals this long ends the runner's window, so a lone alert does not wait.
const WINDOW_GRACE: Duration = Duration::from_millis(10);

/// Runs queued alerts until `stop`, then lets the ones in flight finish.
pub(crate) async fn work(app: Arc<App>, pipeline: Pipeline, stop: watch::Receiver<bool>) {
    // The settings the pipeline was built from: a reload starts new workers with its own.
    let settings = app.settings();
    let owner = format!("{}-{}", std::process::id(), palisade_core::clock::now());
    let schedule = Schedule {
        grace: Some(WINDOW_GRACE),
        ..Schedule::of(&settings.config)
    };
    let (sender, receiver) = mpsc::channel::<Received>(schedule.concurrency);
    let runner = Runner::new(pipeline, settings.config.clone(), schedule);
    // Each leased alert's source, for the metrics, until its report is kept.
    let sources = Arc::new(Mutex::new(HashMap::new()));
    let feeding = tokio::spawn(feed(app.clone(), owner.clone(), sender, sources.clone(), stop));
    let input = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|received| (received, receiver))
    });
    let mut finished = std::pin::pin!(runner.run(input));
    while let Some(done) = finished.next().await {
        let (seq, outcome, report) = report(&app, done);
        let Some(seq) = seq else {
            tracing::error!(%report, "an alert ended without its queue entry; it is run again at the next start");
            continue;
        };
        let source = sources.lock().unwrap_or_else(|e| e.into_inner()).remove(&seq);
        match app.queue.complete(seq, &owner, report).await {
            Ok(true) => app
                .metrics
                .processed(source.as_deref().unwrap_or("unknown"), outcome),
            Ok(false) => tracing::warn!(seq, "the alert's lease was lost; its report was not kept"),
            Err(error) => tracing::error!(seq, %error, "cannot keep a report; the alert stays queued"),
        }
    }
    let _ = feeding.await;
}

/// Leases alerts as the runner has room for them, until `stop`.
async fn feed(
    app: Arc<App>,
    owner: String,
    sender: mpsc::Sender<Received>,
    sources: Arc<Mutex<HashMap<i64, String>>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let room = sender.capacity().max(1);
        let leased = match app.queue.lease(&owner, room, LEASE_SECONDS).await {
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
            let line = if alert.attempts > MAX_ATTEMPTS {
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
            sources
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(alert.seq, alert.source.clone());
            let received = Received {
                number: alert.seq as usize,
                at: Instant::now(),
                line,
            };
            if sender.send(received).await.is_err() {
                return;
            }
        }
    }
}

/// The queue entry an alert came from, how it ended, and its report as kept in the store:
/// the object `palisade run --json` prints for it.
fn report(app: &App, done: Finished) -> (Option<i64>, &'static str, String) {
    let (number, outcome, report) = match done {
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
            let line = AlertLine::new(
                &report,
                number,
                priority,
                time_to_respond.map(|seconds| seconds * 1000.0),
                &duplicates,
                incident.as_ref().map(|i| i.incident.as_str()),
            );
            let outcome = if report.succeeded() {
                "completed"
            } else {
                "plugin-errors"
            };
            (
                number,
                outcome,
                serde_json::to_value(&line)
                    .unwrap_or_else(|e| json!({"type": "alert", "error": e.to_string()})),
            )
        }
        Finished::Duplicate {
            number, alert, of, ..
        } => (
            number,
            "duplicate",
            json!({"type": "duplicate", "alert": alert, "of": of}),
        ),
        Finished::Rejected { number, error } => {
            (number, "rejected", json!({"type": "rejected", "error": error}))
        }
    };
    ((number > 0).then_some(number as i64), outcome, report.to_string())
}
