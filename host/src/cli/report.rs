//! `palisade report`: what automation did per detection rule, and whether each rule has
//! earned acting alone; the page a team lead shows to justify automation.

use super::admin::{StoreArgs, open, parse_since};
use super::exit;
use super::output::terminal_safe as safe;
use palisade_store::{RuleFigures, Spread};

#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// RFC 3339 time, or an age such as 30d, 24h.
    #[arg(long, default_value = "30d")]
    since: String,
    #[arg(long)]
    json: bool,
}

pub fn report(args: ReportArgs) -> u8 {
    let (config, store) = match open(&args.store.config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let since = match parse_since(&args.since) {
        Ok(since) => since,
        Err(message) => {
            eprintln!("error: --since: {message}");
            return exit::USAGE;
        }
    };
    let autonomy = config.autonomy.clone();
    let window = autonomy.clone().unwrap_or_default().window;
    let figures = match store.rules().figures(since, window) {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    // Whether the rule's operations may run alone under the global `[policy.autonomy]`
    // (per-operation minimums and plugin overrides can be stricter).
    let autonomous = |rule: &RuleFigures| {
        autonomy.as_ref().map(|autonomy| {
            rule.precision.labelled >= autonomy.min_labelled
                && rule.precision.lower_bound >= autonomy.min_precision
        })
    };
    if args.json {
        for rule in &figures {
            let mut line = serde_json::to_value(rule).unwrap_or_default();
            line["autonomous"] = autonomous(rule).map_or(serde_json::Value::Null, Into::into);
            println!("{line}");
        }
        return exit::OK;
    }
    if figures.is_empty() {
        println!("no alerts since {}", args.since);
        return exit::OK;
    }
    for rule in &figures {
        let name = rule.name.as_deref().filter(|name| *name != rule.rule);
        println!(
            "{}{}",
            safe(&rule.rule),
            name.map(|name| format!(" ({})", safe(name))).unwrap_or_default()
        );
        let precision = &rule.precision;
        println!(
            "  {} alerts, {} labelled, precision {:.2} (lower bound {:.2}); acts alone: {}",
            rule.alerts,
            precision.labelled,
            precision.point(),
            precision.lower_bound,
            match autonomous(rule) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "autonomy off",
            }
        );
        println!(
            "  operations: {} executed alone, {} held, {} approved, {} denied",
            rule.executed_alone, rule.held, rule.approved, rule.denied
        );
        println!(
            "  time to respond: alone {}; with a person {}",
            spread(rule.respond_alone_ms),
            spread(rule.respond_with_person_ms)
        );
        for plugin in &rule.plugins {
            println!(
                "  plugin {}: precision {:.2} (lower bound {:.2}) over {} labelled; {} executed alone, {} held",
                safe(&plugin.plugin),
                plugin.precision.point(),
                plugin.precision.lower_bound,
                plugin.precision.labelled,
                plugin.executed_alone,
                plugin.held
            );
        }
    }
    exit::OK
}

fn spread(spread: Option<Spread>) -> String {
    match spread {
        None => "none".into(),
        Some(Spread { median, p95 }) if p95 >= 60_000.0 => {
            format!(
                "median {:.1} min, p95 {:.1} min",
                median / 60_000.0,
                p95 / 60_000.0
            )
        }
        Some(Spread { median, p95 }) => format!("median {median:.1} ms, p95 {p95:.1} ms"),
    }
}
