use super::exit;
use super::output::Output;
use super::progress::Progress;
use futures::StreamExt;
use palisade_alert::intake::{Format, Intake};
use palisade_alert::priority::Priority;
use palisade_pipeline::config::Config;
use palisade_pipeline::{Finished, Pipeline, RunMode, Runner, Schedule, Tally, read_lines};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, BufReader};

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
    let intake = match Intake::new(args.format.0.clone(), config.intake.mappings.clone()) {
        Ok(intake) => Arc::new(intake),
        Err(error) => {
            eprintln!("error: --format: {error}");
            return exit::FATAL;
        }
    };
    let stdin = args.alerts.as_deref().is_none_or(|path| path.as_os_str() == "-");
    // tokio reads files and stdin on its blocking pool, a thread hop per read: large reads
    // keep the hops few (8 KiB, the default, made 640 of them for 10,000 alerts). A read
    // returns what is there, so a slow feed on stdin is not held back.
    let input: Box<dyn AsyncBufRead + Unpin + Send> = match args.alerts.as_deref().filter(|_| !stdin) {
        None => Box::new(BufReader::with_capacity(READS, tokio::io::stdin())),
        Some(path) => match tokio::fs::File::open(path).await {
            Ok(file) => Box::new(BufReader::with_capacity(READS, file)),
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
    if mode == RunMode::Live {
        // Blocks set for a time on backends that cannot lift them, due since the last run.
        for (action, result) in palisade_response::lapse_due(&config, pipeline.store()).await {
            match result {
                Ok(undone) => eprintln!("lifted {action} as scheduled (action {})", undone.action_id),
                Err(error) => eprintln!("warning: {action} is due to lapse but was not lifted: {error}"),
            }
        }
    }
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

    let grace = stdin.then_some(STDIN_PAUSE);
    let schedule = Schedule {
        grace,
        ..Schedule::of(&config)
    };
    if config.intake.grouping.is_some() {
        tally.incidents = Some(0);
    }
    let store = pipeline.store().clone();
    let runner = Runner::new(pipeline, Arc::new(config), schedule);
    let mut finished = std::pin::pin!(runner.run(read_lines(input, intake)));
    while let Some(done) = finished.next().await {
        tally.lines += 1;
        progress.inc();
        match done {
            Finished::Processed {
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
            Finished::Duplicate {
                number,
                priority,
                incident,
                alert,
                of,
            } => {
                tally.duplicates += 1;
                tally.count_incident(incident.as_ref());
                let incident = incident.map(|i| i.incident);
                progress.suspend(|| output.duplicate(number, &alert, priority, &of, incident.as_deref()));
            }
            Finished::Rejected { number, error } => {
                tally.rejected += 1;
                progress.suspend(|| output.rejected(number, &error));
            }
        }
    }
    progress.finish();
    store.audit().flush();
    tally.records_lost = store.records_lost();
    output.summary(&tally);
    if mode == RunMode::Simulate {
        output.simulation(&simulation);
    }
    if tally.clean() { exit::OK } else { exit::PARTIAL }
}

/// The most each read of the alerts takes.
const READS: usize = 256 << 10;

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

/// `palisade simulate`'s answer: per plugin and operation, what would have been done.
#[derive(Debug, Default, serde::Serialize)]
pub struct Simulation {
    pub operations: std::collections::BTreeMap<(String, String), WouldCounts>,
    /// Per detection rule and operation, how many would have run without a person (with
    /// `[policy.autonomy]`: only rules whose measured precision earned it).
    pub alone: std::collections::BTreeMap<(String, String), usize>,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct WouldCounts {
    pub executed: usize,
    pub held: usize,
    pub refused: usize,
}

impl Simulation {
    fn add(&mut self, report: &palisade_pipeline::AlertReport) {
        use palisade_runtime::capability::ActionResult;
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
                    let rule = report.alert.rule_label().to_owned();
                    *self
                        .alone
                        .entry((rule, action.operation.to_string()))
                        .or_default() += 1;
                }
            }
        }
    }
}
