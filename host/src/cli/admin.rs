//! What the admin and analysts do after a run: approve or deny held operations, undo
//! executed ones, reset the circuit breaker, read the audit.

use super::exit;
use super::output::terminal_safe as safe;
use palisade_pipeline::config::Config;
use palisade_response as response;
use palisade_store::{AuditFilter, Store};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct StoreArgs {
    /// The configuration file (it says where the state folder is).
    #[arg(short, long, default_value = "palisade.toml")]
    pub config: PathBuf,
}

#[derive(clap::Subcommand)]
pub enum ApprovalsCommand {
    /// Held operations waiting for a decision (all of them with --all).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Execute a held operation, through the plugin's connector, exactly once.
    Approve {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Who approves (default: the USER environment variable).
        #[arg(long)]
        by: Option<String>,
    },
    /// Refuse a held operation; nothing is executed.
    Deny {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum BreakerCommand {
    /// Whether the circuit breaker is tripped, and why.
    Status {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Reset the breaker (all of it, or one plugin's) so automation may act again.
    Reset {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        plugin: Option<String>,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum ActionsCommand {
    /// Executed operations that have not been undone.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only blocks set for a time that the host lifts when due, soonest first.
        #[arg(long)]
        scheduled: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct UndoArgs {
    /// The action id from the run's output or the audit.
    action_id: String,
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    by: Option<String>,
}

#[derive(clap::Args)]
pub struct FeedbackArgs {
    /// The alert's id, as the run reported it.
    alert_id: String,
    /// true-positive, false-positive or benign (real but harmless: automation should not act).
    #[arg(value_parser = parse_verdict)]
    verdict: palisade_store::Verdict,
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    note: Option<String>,
    #[arg(long)]
    by: Option<String>,
}

fn parse_verdict(text: &str) -> Result<palisade_store::Verdict, String> {
    palisade_store::Verdict::parse(text)
        .ok_or_else(|| format!("{text:?} is not true-positive, false-positive or benign"))
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    alert: Option<String>,
    #[arg(long)]
    plugin: Option<String>,
    /// RFC 3339 time, or an age such as 30m, 24h, 7d.
    #[arg(long)]
    since: Option<String>,
    /// At most this many records.
    #[arg(long)]
    limit: Option<u32>,
    #[arg(long)]
    json: bool,
}

pub(super) fn open(config: &Path) -> Result<(Config, Store), u8> {
    let config = Config::load(config).map_err(|errors| {
        eprintln!("{errors}");
        exit::FATAL
    })?;
    let path = config.state_dir.join("palisade.db");
    if !path.exists() {
        eprintln!(
            "error: no state database at {} (has `palisade run` run with this config?)",
            path.display()
        );
        return Err(exit::FATAL);
    }
    let store = Store::open(&path).map_err(|error| {
        eprintln!("error: cannot open {}: {error}", path.display());
        exit::FATAL
    })?;
    Ok((config, store))
}

fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

pub async fn approvals(command: ApprovalsCommand) -> u8 {
    match command {
        ApprovalsCommand::List { store, all, json } => {
            let (_, store) = match open(&store.config) {
                Ok(opened) => opened,
                Err(code) => return code,
            };
            let list = match store.approvals().list(all) {
                Ok(list) => list,
                Err(error) => {
                    eprintln!("error: {error}");
                    return exit::FATAL;
                }
            };
            for approval in &list {
                if json {
                    println!("{}", serde_json::to_string(approval).unwrap_or_default());
                } else {
                    // Each field escaped on its own: only the host's line break is a line break.
                    println!(
                        "{}  {}  {} {}  alert {} ({})  plugin {}\n      held because {}",
                        safe(&approval.id),
                        approval.status,
                        approval.operation,
                        safe(&approval.target),
                        safe(&approval.alert_id),
                        safe(approval.alert["title"].as_str().unwrap_or("")),
                        safe(&approval.plugin),
                        safe(&approval.reason)
                    );
                }
            }
            if list.is_empty() && !json {
                println!("no held operations");
            }
            exit::OK
        }
        ApprovalsCommand::Approve { id, store, by } => approve(&id, &store.config, &who(by)).await,
        ApprovalsCommand::Deny {
            id,
            store,
            reason,
            by,
        } => {
            let (_, store) = match open(&store.config) {
                Ok(opened) => opened,
                Err(code) => return code,
            };
            match response::deny(&store, &id, &who(by), &reason) {
                Ok(approval) => {
                    println!(
                        "denied {id}: {} {} will not be executed",
                        approval.operation,
                        safe(&approval.target)
                    );
                    exit::OK
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    exit::FATAL
                }
            }
        }
    }
}

async fn approve(id: &str, config: &Path, by: &str) -> u8 {
    let (config, store) = match open(config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    match response::approve(&config, &store, id, by).await {
        Ok(approved) => match approved.result {
            Ok(_) => {
                println!(
                    "approved {id}: executed {} {} as action {}",
                    approved.approval.operation,
                    safe(&approved.target),
                    approved.action_id
                );
                exit::OK
            }
            Err(error) => {
                eprintln!("error: approved {id}, but the connector failed: {error}");
                exit::FATAL
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            exit::FATAL
        }
    }
}

pub async fn undo(args: UndoArgs) -> u8 {
    let (config, store) = match open(&args.store.config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    match response::undo(&config, &store, &args.action_id, &who(args.by)).await {
        Ok(undone) => {
            println!(
                "undone {}: executed {} {} as action {}",
                args.action_id,
                undone.compensation.operation(),
                safe(undone.compensation.target()),
                undone.action_id
            );
            exit::OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::FATAL
        }
    }
}

pub fn feedback(args: FeedbackArgs) -> u8 {
    let (_, store) = match open(&args.store.config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let by = who(args.by);
    match response::feedback(&store, &args.alert_id, args.verdict, &by, args.note.as_deref()) {
        Ok(()) => {
            println!(
                "{}: {} (by {})",
                safe(&args.alert_id),
                args.verdict.as_str(),
                safe(&by)
            );
            exit::OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::FATAL
        }
    }
}

pub async fn breaker(command: BreakerCommand) -> u8 {
    match command {
        BreakerCommand::Status { store } => {
            let (config, store) = match open(&store.config) {
                Ok(opened) => opened,
                Err(code) => return code,
            };
            for plugin in &config.plugins {
                let radius = plugin.policy.blast_radius;
                let counted = match store.breaker().counts(radius.window) {
                    Ok(counts) => counts.get(&plugin.name).copied().unwrap_or(0),
                    Err(error) => {
                        eprintln!("error: {error}");
                        return exit::FATAL;
                    }
                };
                let limit = radius
                    .per_plugin
                    .map_or("no limit".to_owned(), |limit| format!("limit {limit}"));
                println!(
                    "{}: {counted} destructive operations in the last {} min ({limit})",
                    plugin.name,
                    radius.window.as_secs() / 60
                );
            }
            match store.breaker().status() {
                Ok(trips) if trips.is_empty() => println!("circuit breaker: closed (automation may act)"),
                Ok(trips) => {
                    for trip in trips {
                        println!(
                            "circuit breaker TRIPPED ({}) since {}: {}",
                            trip.scope,
                            format_time(trip.tripped_at),
                            trip.reason
                        );
                    }
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    return exit::FATAL;
                }
            }
            exit::OK
        }
        BreakerCommand::Reset { store, plugin, by } => {
            let (_, store) = match open(&store.config) {
                Ok(opened) => opened,
                Err(code) => return code,
            };
            match response::reset_breaker(&store, plugin.as_deref(), &who(by)) {
                Ok(cleared) => {
                    println!("circuit breaker reset ({cleared} trips cleared)");
                    exit::OK
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    exit::FATAL
                }
            }
        }
    }
}

pub async fn audit(args: AuditArgs) -> u8 {
    let (_, store) = match open(&args.store.config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let since = match args.since.as_deref().map(parse_since).transpose() {
        Ok(since) => since,
        Err(message) => {
            eprintln!("error: --since: {message}");
            return exit::USAGE;
        }
    };
    let filter = AuditFilter {
        alert_id: args.alert,
        plugin: args.plugin,
        since,
        limit: args.limit,
        ..AuditFilter::default()
    };
    let records = match store.audit().query(&filter) {
        Ok(records) => records,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    for record in records {
        if args.json {
            println!("{}", serde_json::to_string(&record).unwrap_or_default());
            continue;
        }
        let mut line = format!("{}  {:<10} {:<22}", record.at, record.kind, record.decision);
        for part in [
            &record.alert_id,
            &record.plugin,
            &record.operation,
            &record.target,
        ]
        .into_iter()
        .flatten()
        {
            line.push_str(&format!(" {part}"));
        }
        if !record.detail.is_null() {
            line.push_str(&format!("  {}", record.detail));
        }
        println!("{}", safe(&line));
    }
    exit::OK
}

/// An RFC 3339 time or an age (`90s`, `30m`, `24h`, `7d`) as Unix seconds.
pub(super) fn parse_since(text: &str) -> Result<i64, String> {
    if let Ok(at) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(at.unix_timestamp());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is neither an RFC 3339 time nor an age such as 24h"
            ));
        }
    };
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age such as 24h"))?;
    Ok(palisade_core::clock::now() - number * seconds)
}

fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

pub fn actions(command: ActionsCommand) -> u8 {
    let ActionsCommand::List {
        store,
        scheduled,
        json,
    } = command;
    let (_, store) = match open(&store.config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let listed = if scheduled {
        store.actions().lapsing(None).map(|rows| {
            rows.into_iter()
                .map(|(row, due)| (row, Some(due)))
                .collect::<Vec<_>>()
        })
    } else {
        store
            .actions()
            .standing()
            .map(|rows| rows.into_iter().map(|row| (row, None)).collect())
    };
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    for (action, due) in listed {
        if json {
            let mut line = serde_json::json!({
                "action_id": action.action_id, "at": action.at, "plugin": action.plugin,
                "alert_id": action.alert_id, "operation": action.operation, "target": action.target,
                "undoable": action.compensation.is_some(),
            });
            if let Some(due) = due {
                line["lapses_at"] = due.into();
            }
            println!("{line}");
            continue;
        }
        let when = due.map_or(String::new(), |due| format!("  lapses {}", rfc3339(due)));
        println!(
            "{}  {}  {} {}  (plugin {}, alert {}){when}",
            action.action_id,
            rfc3339(action.at),
            action.operation,
            safe(&action.target),
            action.plugin,
            safe(&action.alert_id)
        );
    }
    exit::OK
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_and_ages() {
        assert_eq!(parse_since("2026-11-26T00:00:00Z").unwrap(), 1_795_651_200);
        let day_ago = parse_since("1d").unwrap();
        assert!((palisade_core::clock::now() - day_ago - 86_400).abs() <= 1);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("xh").is_err());
    }
}
