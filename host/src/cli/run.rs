use super::exit;
use super::output::Output;
use crate::alert::intake::{Format, Intake, IntakeError, MAX_ALERT_BYTES};
use crate::config::Config;
use crate::pipeline::{Pipeline, RunMode, Tally};
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
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
    /// Alerts processed at once (default: the config's `defaults.concurrency`).
    #[arg(long)]
    concurrency: Option<usize>,
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

enum Line {
    Alert(usize, Box<crate::alert::Alert>),
    Rejected(usize, String),
}

pub async fn run(args: RunArgs, mode: RunMode) -> u8 {
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return exit::FATAL;
        }
    };
    let intake = match Intake::new(args.format.0.clone(), config.mappings.clone()) {
        Ok(intake) => Arc::new(intake),
        Err(error) => {
            eprintln!("error: --format: {error}");
            return exit::FATAL;
        }
    };
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
    let mut simulation = Simulation::default();
    let mut tally = Tally::default();
    for failure in &failures {
        output.plugin_error(&failure.plugin, &failure.error.to_string());
        tally.plugins_not_loaded += 1;
    }

    let concurrency = args.concurrency.unwrap_or(config.concurrency).max(1);
    let lines = futures::stream::unfold((input, 0usize), move |(mut input, mut number)| {
        let intake = intake.clone();
        async move {
            loop {
                number += 1;
                let bytes = match read_line(&mut input).await {
                    Ok(ReadLine::End) => return None,
                    Ok(ReadLine::Line(bytes)) => bytes,
                    Ok(ReadLine::TooLong(size)) => {
                        let error = IntakeError::TooLarge {
                            size,
                            limit: MAX_ALERT_BYTES,
                        };
                        return Some((Line::Rejected(number, error.to_string()), (input, number)));
                    }
                    Err(error) => {
                        return Some((
                            Line::Rejected(number, format!("cannot read: {error}")),
                            (input, number),
                        ));
                    }
                };
                let line = match parse(&intake, number, &bytes) {
                    Some(line) => line,
                    None => continue,
                };
                return Some((line, (input, number)));
            }
        }
    });
    // Each alert is its own task, so alerts spread over the worker threads; `buffered` keeps
    // the output in input order.
    let pipeline = std::sync::Arc::new(pipeline);
    let mut results = std::pin::pin!(
        lines
            .map(|line| {
                let pipeline = pipeline.clone();
                tokio::spawn(async move {
                    match line {
                        Line::Alert(number, alert) => Ok((number, pipeline.process(*alert).await)),
                        Line::Rejected(number, error) => Err((number, error)),
                    }
                })
            })
            .buffered(concurrency)
    );
    while let Some(joined) = results.next().await {
        tally.lines += 1;
        let result = match joined {
            Ok(result) => result,
            // A panic inside the host while processing one alert: report it, keep going.
            Err(error) => Err((0, format!("internal error while processing an alert: {error}"))),
        };
        match result {
            Ok((number, report)) => {
                tally.add(&report);
                simulation.add(&report);
                output.alert(number, &report);
            }
            Err((number, error)) => {
                tally.rejected += 1;
                output.rejected(number, &error);
            }
        }
    }
    output.summary(&tally);
    if mode == RunMode::Simulate {
        output.simulation(&simulation);
    }
    if tally.clean() { exit::OK } else { exit::PARTIAL }
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
fn parse(intake: &Intake, number: usize, bytes: &[u8]) -> Option<Line> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim(),
        Err(_) => return Some(Line::Rejected(number, "not UTF-8 text".into())),
    };
    if text.is_empty() {
        return None;
    }
    Some(match intake.parse(text) {
        Ok(alert) => Line::Alert(number, Box::new(alert)),
        Err(error) => Line::Rejected(number, error.to_string()),
    })
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
