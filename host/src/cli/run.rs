use super::exit;
use super::output::Output;
use crate::alert::native;
use crate::config::Config;
use crate::pipeline::{Pipeline, RunMode, Tally};
use futures::StreamExt;
use std::path::PathBuf;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

/// A longer line is rejected rather than parsed.
const MAX_LINE_BYTES: usize = 4 << 20;

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
    let lines = futures::stream::unfold((input, 0usize), |(mut input, mut number)| async move {
        loop {
            let mut bytes = Vec::new();
            number += 1;
            match input.read_until(b'\n', &mut bytes).await {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => {
                    return Some((
                        Line::Rejected(number, format!("cannot read: {error}")),
                        (input, number),
                    ));
                }
            }
            let line = match parse(number, &bytes) {
                Some(line) => line,
                None => continue,
            };
            return Some((line, (input, number)));
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

/// `None` for a blank line, which is not an alert and not an error.
fn parse(number: usize, bytes: &[u8]) -> Option<Line> {
    if bytes.len() > MAX_LINE_BYTES {
        return Some(Line::Rejected(
            number,
            format!("line is longer than {} MiB", MAX_LINE_BYTES >> 20),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim(),
        Err(_) => return Some(Line::Rejected(number, "not UTF-8 text".into())),
    };
    if text.is_empty() {
        return None;
    }
    Some(match native::parse_line(text) {
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
