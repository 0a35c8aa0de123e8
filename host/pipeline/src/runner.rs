//! The run loop: alerts in, reports out as each alert finishes. Alerts are taken a window at
//! a time, ordered by the [`Batcher`] (priority, dedup, grouping), and run `concurrency` at
//! once, each its own task so alerts spread over the worker threads. `palisade run`,
//! `simulate` and the benchmarks drive it; so will a service.

use super::batch::{Batcher, Received, Work};
use super::{AlertReport, Pipeline};
use crate::config::Config;
use futures::{Stream, StreamExt};
use palisade_alert::Alert;
use palisade_alert::grouping::Assigned;
use palisade_alert::priority::Priority;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the runner schedules, from the config.
#[derive(Clone)]
pub struct Schedule {
    /// Alerts in flight at once.
    pub concurrency: usize,
    /// Alerts ordered together: a file's next `window` alerts.
    pub window: usize,
    /// For input that arrives over time (stdin, a queue): a pause longer than this ends the
    /// window, so a lone alert is not kept waiting for others.
    pub grace: Option<Duration>,
}

impl Schedule {
    pub fn of(config: &Config) -> Schedule {
        Schedule {
            concurrency: config.concurrency,
            window: config.intake.priority.window,
            grace: None,
        }
    }
}

/// How one alert (or line) ended.
pub enum Finished {
    Processed {
        /// Its line number in the input.
        number: usize,
        /// When it was read: where its time to respond starts.
        received: Instant,
        priority: Priority,
        /// The ids of its duplicates found in the same window.
        duplicates: Vec<String>,
        incident: Option<Assigned>,
        report: Box<AlertReport>,
    },
    /// A repeat of the alert `of`: not run again, recorded under `of`.
    Duplicate {
        number: usize,
        priority: Priority,
        incident: Option<Assigned>,
        alert: Box<Alert>,
        of: String,
    },
    /// A line that is not an alert, or an alert whose processing failed inside the host.
    Rejected { number: usize, error: String },
}

pub struct Runner {
    pipeline: Arc<Pipeline>,
    config: Arc<Config>,
    schedule: Schedule,
}

impl Runner {
    pub fn new(pipeline: Pipeline, config: Arc<Config>, schedule: Schedule) -> Runner {
        Runner {
            pipeline: Arc::new(pipeline),
            config,
            schedule,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Runs every alert of `input` through the pipeline and yields each as it finishes.
    /// Work starts in priority order; `concurrency` alerts are always running, so one slow
    /// vendor call holds up its own alert, not the ones behind it.
    pub fn run(
        &self,
        input: impl Stream<Item = Received> + Send + 'static,
    ) -> impl Stream<Item = Finished> + Send + 'static {
        let Schedule {
            concurrency,
            window,
            grace,
        } = self.schedule.clone();
        let batcher = Batcher::new(
            self.config.intake.priority.criticality.clone(),
            self.config.intake.dedup.clone(),
            self.config.intake.grouping.clone(),
        );
        let work = futures::stream::unfold(
            (Box::pin(input.fuse()), batcher),
            move |(mut lines, mut batcher)| async move {
                let received = read_window(&mut lines, window, grace).await;
                if received.is_empty() {
                    return None;
                }
                let work = batcher.order(received);
                Some((futures::stream::iter(work), (lines, batcher)))
            },
        )
        .flatten();
        let pipeline = self.pipeline.clone();
        work.map(move |work| {
            let pipeline = pipeline.clone();
            async move {
                tokio::spawn(async move { handle(&pipeline, work).await })
                    .await
                    // A panic inside the host while processing one alert: report it, go on.
                    .unwrap_or_else(|error| Finished::Rejected {
                        number: 0,
                        error: format!("internal error while processing an alert: {error}"),
                    })
            }
        })
        .buffer_unordered(concurrency)
    }
}

async fn handle(pipeline: &Pipeline, work: Work) -> Finished {
    match work {
        Work::Alert(queued) => {
            let mut queued = *queued;
            // Plugins see the priority the batch was ordered by; a plugin's risk score then
            // becomes the priority (see `alert::priority`).
            queued.alert.tags.push(queued.priority.tag());
            let incident = queued.incident.as_ref().map(|i| i.incident.as_str());
            let report = pipeline.process(queued.alert, incident).await;
            if let Some(at) = report.first_response() {
                let ms = at.saturating_duration_since(queued.received).as_secs_f64() * 1000.0;
                pipeline.responded(&report.alert.id, ms);
            }
            Finished::Processed {
                number: queued.number,
                received: queued.received,
                priority: queued.priority.after_plugins(&report.alert),
                duplicates: queued.duplicates,
                incident: queued.incident,
                report: Box::new(report),
            }
        }
        Work::Duplicate { queued, of } => {
            pipeline.duplicate(&queued.alert, &of);
            Finished::Duplicate {
                number: queued.number,
                priority: queued.priority,
                incident: queued.incident,
                alert: Box::new(queued.alert),
                of,
            }
        }
        Work::Rejected { number, error } => Finished::Rejected { number, error },
    }
}

/// The next window: up to `max` lines; with a `grace`, only those that arrive until `grace`
/// after the first one did (its `at`), so no alert waits in a window longer than that, however
/// steadily others follow it. Lines that arrived long ago (a queue's backlog) close the window at
/// once: it holds what is ready. Empty at the end of the input.
async fn read_window(
    lines: &mut (impl Stream<Item = Received> + Unpin),
    max: usize,
    grace: Option<Duration>,
) -> Vec<Received> {
    let mut window = Vec::new();
    let Some(first) = lines.next().await else {
        return window;
    };
    let closes = grace.map(|grace| tokio::time::Instant::from_std(first.at) + grace);
    window.push(first);
    while window.len() < max {
        // `next` keeps its progress in the stream, so a window that closes loses nothing; and
        // `timeout_at` polls it before the clock, so what is ready is taken past the close.
        let next = match closes {
            None => lines.next().await,
            Some(closes) => match tokio::time::timeout_at(closes, lines.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
        };
        match next {
            Some(received) => window.push(received),
            None => break,
        }
    }
    window
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(number: usize) -> Received {
        Received {
            number,
            at: Instant::now(),
            line: Err(String::new()),
        }
    }

    fn numbers(window: &[Received]) -> Vec<usize> {
        window.iter().map(|received| received.number).collect()
    }

    #[tokio::test]
    async fn a_window_holds_at_most_its_size_and_ends_with_the_input() {
        let mut lines = futures::stream::iter((1..=5).map(received)).fuse();
        assert_eq!(numbers(&read_window(&mut lines, 2, None).await), [1, 2]);
        assert_eq!(numbers(&read_window(&mut lines, 2, None).await), [3, 4]);
        assert_eq!(numbers(&read_window(&mut lines, 2, None).await), [5]);
        assert!(read_window(&mut lines, 2, None).await.is_empty());
        assert!(read_window(&mut lines, 2, None).await.is_empty());
    }

    #[tokio::test]
    async fn with_a_grace_a_pause_in_the_input_ends_the_window_and_loses_nothing() {
        let slow = futures::stream::unfold(0usize, |number| async move {
            if number == 2 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            (number < 4).then(|| (received(number + 1), number + 1))
        });
        let mut lines = Box::pin(slow.fuse());
        let grace = Some(Duration::from_millis(50));
        assert_eq!(numbers(&read_window(&mut lines, 10, grace).await), [1, 2]);
        assert_eq!(numbers(&read_window(&mut lines, 10, grace).await), [3, 4]);
        assert!(read_window(&mut lines, 10, grace).await.is_empty());
    }

    #[tokio::test]
    async fn a_steady_feed_does_not_hold_an_alert_past_the_grace() {
        // One alert every 5 ms, never a pause: the window still closes 50 ms after its first.
        let steady = futures::stream::unfold(0usize, |number| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            (number < 200).then(|| (received(number + 1), number + 1))
        });
        let mut lines = Box::pin(steady.fuse());
        let started = Instant::now();
        let window = read_window(&mut lines, 10_000, Some(Duration::from_millis(50))).await;
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert!((2..=12).contains(&window.len()), "{}", window.len());
        let next = read_window(&mut lines, 10_000, Some(Duration::from_millis(50))).await;
        assert_eq!(
            next[0].number,
            window.len() + 1,
            "nothing is lost between windows"
        );
    }

    #[tokio::test]
    async fn a_backlog_that_arrived_long_ago_is_taken_as_it_is_ready() {
        // A queue's backlog: alerts accepted a minute ago, three ready, then nothing for now.
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(60))
            .unwrap_or_else(Instant::now);
        let backlog = (1..=3).map(|number| Received {
            at: long_ago,
            ..received(number)
        });
        let mut lines = Box::pin(futures::stream::iter(backlog).chain(futures::stream::pending()));
        let window = tokio::time::timeout(
            Duration::from_secs(5),
            read_window(&mut lines, 10_000, Some(Duration::from_secs(30))),
        )
        .await
        .expect("the window closes without waiting for more");
        assert_eq!(numbers(&window), [1, 2, 3]);
    }
}
