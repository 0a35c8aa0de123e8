use super::exit;
use super::output::Output;
use super::progress::Progress;
use crate::alert::Alert;
use crate::alert::grouping::Assigned;
use crate::alert::intake::{Format, Intake, IntakeError, MAX_ALERT_BYTES};
use crate::alert::priority::Priority;
use crate::config::Config;
use crate::pipeline::batch::{Batcher, Received, Work};
use crate::pipeline::{AlertReport, Pipeline, RunMode, Tally};
use futures::{Stream, StreamExt};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, BufReader};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(short, long, default_value = "palisade.toml")]
    config: PathBuf,
    /// Alerts, one JSON object per line; `-` or nothing reads standard input.
    alerts: Option<PathBuf>,
    /// One JSON object per alert on stdout, then a summary object.
    #[arg(long)]
    json: bool,
    /// Alerts processed at once, 1 to 256 (default: the config's `defaults.concurrency`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: Option<u64>,
    /// The alerts' format: `auto` detects each line's (native, OCSF Detection and Security
    /// Findings, Elastic Security alerts, Splunk notables and webhook payloads, Sentinel alerts
    /// and incidents, and the config's mappings that have a `match`); or one of native, ocsf,
    /// ecs, splunk, sentinel, mapping:NAME (a `[intake.mappings.NAME]` of the config).
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    format: FormatArg,
}

#[derive(Clone)]
struct FormatArg(Option<Format>);

fn parse_format(text: &str) -> Result<FormatArg, String> {
    match text {
        "auto" => Ok(FormatArg(None)),
        other => other.parse().map(|format| FormatArg(Some(format))),
    }
}

pub async fn run(args: RunArgs, mode: RunMode) -> u8 {
    let mut config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return exit::FATAL;
        }
    };
    // Before the pipeline is built: the instance pool is sized for the alerts in flight.
    if let Some(concurrency) = args.concurrency {
        config.concurrency = concurrency as usize;
    }
    let intake = match Intake::new(args.format.0.clone(), config.mappings.clone()) {
        Ok(intake) => Arc::new(intake),
        Err(error) => {
            eprintln!("error: --format: {error}");
            return exit::FATAL;
        }
    };
    let stdin = args.alerts.as_deref().is_none_or(|path| path.as_os_str() == "-");
    let input: Box<dyn AsyncBufRead + Unpin + Send> = match args.alerts.as_deref() {
        None => Box::new(BufReader::new(tokio::io::stdin())),
        Some(path) if path.as_os_str() == "-" => Box::new(BufReader::new(tokio::io::stdin())),
        Some(path) => match tokio::fs::File::open(path).await {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(error) => {
                eprintln!("error: cannot read alerts from {}: {error}", path.display());
                return exit::FATAL;
            }
        },
    };
    let (pipeline, failures) = match Pipeline::build(&config, mode).await {
        Ok(built) => built,
        Err(error) => {
            eprintln!("error: {error:#}");
            return exit::FATAL;
        }
    };
    let mut output = Output::new(args.json);
    let file = args.alerts.as_deref().filter(|_| !stdin);
    let progress = Progress::new(args.json, std::io::stderr().is_terminal(), file);
    let mut simulation = Simulation::default();
    let mut tally = Tally::default();
    for routed in pipeline.plugins() {
        output.plugin_loaded(&routed.plugin);
    }
    for failure in &failures {
        progress.suspend(|| output.plugin_error(&failure.plugin, &failure.error.to_string()));
        tally.plugins_not_loaded += 1;
    }

    let concurrency = config.concurrency;
    let lines = futures::stream::unfold((input, 0usize), move |(mut input, mut number)| {
        let intake = intake.clone();
        async move {
            loop {
                number += 1;
                let read = read_line(&mut input).await;
                let at = Instant::now();
                let line = match read {
                    Ok(ReadLine::End) => return None,
                    Ok(ReadLine::Line(bytes)) => match parse(&intake, &bytes) {
                        Some(line) => line,
                        None => continue,
                    },
                    Ok(ReadLine::TooLong(size)) => Err(IntakeError::TooLarge {
                        size,
                        limit: MAX_ALERT_BYTES,
                    }
                    .to_string()),
                    Err(error) => Err(format!("cannot read: {error}")),
                };
                return Some((Received { number, at, line }, (input, number)));
            }
        }
    });
    // A batch is handled highest priority first, a window at a time so memory stays bounded:
    // a file's window is its next `window` alerts; stdin's is what arrives without a pause.
    let window = config.priority.window;
    let grace = stdin.then_some(STDIN_PAUSE);
    let batcher = Batcher::new(
        config.priority.criticality.clone(),
        config.dedup.clone(),
        config.grouping.clone(),
    );
    if config.grouping.is_some() {
        tally.incidents = Some(0);
    }
    let work = futures::stream::unfold(
        (Box::pin(lines.fuse()), batcher),
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
    // Each alert is its own task, so alerts spread over the worker threads. Work starts in
    // priority order and is reported as it finishes: `concurrency` alerts are always running,
    // so one slow vendor call holds up its own alert, not the ones behind it (which ordered
    // output would, by holding their slots until it finished).
    let pipeline = std::sync::Arc::new(pipeline);
    let mut results = std::pin::pin!(
        work.map(|work| {
            let pipeline = pipeline.clone();
            tokio::spawn(async move {
                match work {
                    Work::Alert(queued) => {
                        let queued = *queued;
                        let incident = queued.incident.as_ref().map(|i| i.incident.as_str());
                        let report = pipeline.process(queued.alert, incident).await;
                        Done::Processed {
                            number: queued.number,
                            received: queued.received,
                            priority: queued.priority,
                            duplicates: queued.duplicates,
                            incident: queued.incident,
                            report: Box::new(report),
                        }
                    }
                    Work::Duplicate { queued, of } => Done::Duplicate {
                        number: queued.number,
                        priority: queued.priority,
                        incident: queued.incident,
                        alert: Box::new(queued.alert),
                        of,
                    },
                    Work::Rejected { number, error } => Done::Rejected(number, error),
                }
            })
        })
        .buffer_unordered(concurrency)
    );
    while let Some(joined) = results.next().await {
        tally.lines += 1;
        progress.inc();
        // A panic inside the host while processing one alert: report it, keep going.
        let done = joined.unwrap_or_else(|error| {
            Done::Rejected(0, format!("internal error while processing an alert: {error}"))
        });
        match done {
            Done::Processed {
                number,
                received,
                priority,
                duplicates,
                incident,
                report,
            } => {
                tally.count_incident(incident.as_ref());
                let time_to_respond = report
                    .first_response()
                    .map(|at| at.saturating_duration_since(received).as_secs_f64() * 1000.0);
                tally.add(&report);
                tally.times_to_respond.extend(time_to_respond);
                simulation.add(&report);
                let batched = Batched {
                    priority,
                    time_to_respond_ms: time_to_respond,
                    duplicates,
                    incident: incident.map(|i| i.incident),
                };
                progress.suspend(|| output.alert(number, &report, &batched));
            }
            Done::Duplicate {
                number,
                priority,
                incident,
                alert,
                of,
            } => {
                tally.duplicates += 1;
                tally.count_incident(incident.as_ref());
                pipeline.duplicate(&alert, &of);
                let incident = incident.map(|i| i.incident);
                progress.suspend(|| output.duplicate(number, &alert, priority, &of, incident.as_deref()));
            }
            Done::Rejected(number, error) => {
                tally.rejected += 1;
                progress.suspend(|| output.rejected(number, &error));
            }
        }
    }
    progress.finish();
    output.summary(&tally);
    if mode == RunMode::Simulate {
        output.simulation(&simulation);
    }
    if tally.clean() { exit::OK } else { exit::PARTIAL }
}

/// How long stdin may pause before the alerts read so far are handled as one window.
const STDIN_PAUSE: Duration = Duration::from_millis(50);

/// What [`run`] shows for an alert besides its report.
pub struct Batched {
    pub priority: Priority,
    /// From when the line was read to the first response action; `None` without one.
    pub time_to_respond_ms: Option<f64>,
    /// The ids of its duplicates found in the same window.
    pub duplicates: Vec<String>,
    /// Its incident's id; `None` without `[intake.grouping]`.
    pub incident: Option<String>,
}

enum Done {
    Processed {
        number: usize,
        received: Instant,
        priority: Priority,
        duplicates: Vec<String>,
        incident: Option<Assigned>,
        report: Box<AlertReport>,
    },
    Duplicate {
        number: usize,
        priority: Priority,
        incident: Option<Assigned>,
        alert: Box<Alert>,
        of: String,
    },
    Rejected(usize, String),
}

/// The next window: up to `max` lines; with a `grace`, only those that arrive without a pause
/// longer than it. Empty at the end of the input.
async fn read_window(
    lines: &mut (impl Stream<Item = Received> + Unpin),
    max: usize,
    grace: Option<Duration>,
) -> Vec<Received> {
    let mut window = Vec::new();
    let Some(first) = lines.next().await else {
        return window;
    };
    window.push(first);
    while window.len() < max {
        // `next` keeps its progress in the stream, so a pause that ends the window loses nothing.
        let next = match grace {
            None => lines.next().await,
            Some(grace) => match tokio::time::timeout(grace, lines.next()).await {
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

enum ReadLine {
    Line(Vec<u8>),
    /// A line longer than [`MAX_ALERT_BYTES`], skipped to its end; its length.
    TooLong(usize),
    End,
}

/// Reads one line, holding at most [`MAX_ALERT_BYTES`] (and its newline) in memory: the rest
/// of a longer line is read past, not kept, so one huge line cannot exhaust memory.
async fn read_line(input: &mut (dyn AsyncBufRead + Unpin + Send)) -> std::io::Result<ReadLine> {
    let mut bytes = Vec::new();
    let read = (&mut *input)
        .take(MAX_ALERT_BYTES as u64 + 1)
        .read_until(b'\n', &mut bytes)
        .await?;
    if read == 0 {
        return Ok(ReadLine::End);
    }
    let content = bytes.len() - usize::from(bytes.ends_with(b"\n"));
    if content <= MAX_ALERT_BYTES {
        return Ok(ReadLine::Line(bytes));
    }
    let mut size = bytes.len();
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(ReadLine::TooLong(size));
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(ReadLine::TooLong(size + at));
            }
            None => {
                let length = buffer.len();
                input.consume(length);
                size += length;
            }
        }
    }
}

/// `None` for a blank line, which is not an alert and not an error.
fn parse(intake: &Intake, bytes: &[u8]) -> Option<Result<Box<Alert>, String>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim(),
        Err(_) => return Some(Err("not UTF-8 text".into())),
    };
    if text.is_empty() {
        return None;
    }
    Some(
        intake
            .parse(text)
            .map(Box::new)
            .map_err(|error| error.to_string()),
    )
}

/// `palisade simulate`'s answer: per plugin and operation, what would have been done.
#[derive(Debug, Default, serde::Serialize)]
pub struct Simulation {
    pub operations: std::collections::BTreeMap<(String, String), WouldCounts>,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct WouldCounts {
    pub executed: usize,
    pub held: usize,
    pub refused: usize,
}

impl Simulation {
    fn add(&mut self, report: &crate::pipeline::AlertReport) {
        use crate::capability::ActionResult;
        for run in &report.plugins {
            for action in &run.invocation.calls.actions {
                if !action.operation.destructive {
                    continue;
                }
                let ActionResult::Simulated { would } = &action.result else {
                    continue;
                };
                let counts = self
                    .operations
                    .entry((run.plugin.clone(), action.operation.to_string()))
                    .or_default();
                if would.starts_with("hold") {
                    counts.held += 1;
                } else if would.starts_with("refuse") {
                    counts.refused += 1;
                } else {
                    counts.executed += 1;
                }
            }
        }
    }
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
}
