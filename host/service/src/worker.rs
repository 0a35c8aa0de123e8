//! The workers: queued alerts are leased oldest first, read again by their source's intake,
//! and run through the pipeline's [`Runner`] as `palisade run` runs a file. An alert leaves
//! the queue only in the transaction that keeps its report.

use crate::App;
use futures::StreamExt;
use palisade_pipeline::batch::Received;
use palisade_pipeline::{Finished, Pipeline, Runner, Schedule};
use serde_json::json;
use std::sync::Arc;
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
    let owner = format!("{}-{}", std::process::id(), palisade_core::clock::now());
    let schedule = Schedule {
        grace: Some(WINDOW_GRACE),
        ..Schedule::of(&app.config)
    };
    let (sender, receiver) = mpsc::channel::<Received>(schedule.concurrency);
    let runner = Runner::new(pipeline, app.config.clone(), schedule);
    let feeding = tokio::spawn(feed(app.clone(), owner.clone(), sender, stop));
    let input = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|received| (received, receiver))
    });
    let mut finished = std::pin::pin!(runner.run(input));
    while let Some(done) = finished.next().await {
        let (seq, report) = report(done);
        let Some(seq) = seq else {
            tracing::error!(%report, "an alert ended without its queue entry; it is run again at the next start");
            continue;
        };
        match app.queue.complete(seq, &owner, report).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(seq, "the alert's lease was lost; its report was not kept"),
            Err(error) => tracing::error!(seq, %error, "cannot keep a report; the alert stays queued"),
        }
    }
    let _ = feeding.await;
}

/// Leases alerts as the runner has room for them, until `stop`.
async fn feed(app: Arc<App>, owner: String, sender: mpsc::Sender<Received>, mut stop: watch::Receiver<bool>) {
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
                match app.intakes.get(&alert.source) {
                    Some(intake) => intake
                        .parse(&alert.document)
                        .map(Box::new)
                        .map_err(|error| error.to_string()),
                    None => Err(format!("source {} is no longer configured", alert.source)),
                }
            };
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

/// The queue entry an alert came from, and its report as kept in the store.
fn report(done: Finished) -> (Option<i64>, String) {
    let (number, report) = match done {
        Finished::Processed {
            number,
            priority,
            duplicates,
            incident,
            report,
            ..
        } => (
            number,
            json!({"type": "alert", "report": report, "priority": priority,
                   "duplicates": duplicates, "incident": incident.map(|i| i.incident)}),
        ),
        Finished::Duplicate {
            number, alert, of, ..
        } => (number, json!({"type": "duplicate", "alert": alert, "of": of})),
        Finished::Rejected { number, error } => (number, json!({"type": "rejected", "error": error})),
    };
    ((number > 0).then_some(number as i64), report.to_string())
}
