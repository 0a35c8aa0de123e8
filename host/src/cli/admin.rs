//! What the admin and analysts do after a run: approve or deny held operations, undo
//! executed ones, reset the circuit breaker, read the audit.

use super::exit;
use super::output::terminal_safe as safe;
use crate::capability::{bind_for_approval, executed_action, shown_target};
use crate::config::Config;
use crate::connectors::{ActionRequest, CallContext, Registry};
use crate::store::{AuditEvent, AuditFilter, Store};
use serde_json::json;
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

fn open(config: &Path) -> Result<(Config, Store), u8> {
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
            let by = who(by);
            match store.approvals().deny(&id, &by, &reason) {
                Ok(approval) => {
                    store.audit().log(AuditEvent {
                        kind: "approval",
                        alert_id: Some(&approval.alert_id),
                        plugin: Some(&approval.plugin),
                        operation: Some(approval.operation.clone()),
                        target: Some(&approval.target),
                        decision: "denied",
                        detail: json!({"approval_id": id, "by": by, "reason": reason}),
                    });
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
    // Check that it can be executed before taking it, so a misconfiguration does not use up
    // the approval.
    let pending = match store.approvals().get(id) {
        Ok(Some(approval)) => approval,
        Ok(None) => {
            eprintln!("error: no held operation {id}");
            return exit::FATAL;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    let request: ActionRequest = match serde_json::from_value(pending.request.clone()) {
        Ok(request) => request,
        Err(error) => {
            eprintln!("error: held operation {id} is unreadable: {error}");
            return exit::FATAL;
        }
    };
    let connectors = match plugin_connectors(&config, &pending.plugin) {
        Ok(connectors) => connectors,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FATAL;
        }
    };
    // An approval vouches for the operation, not for the plugin: if the admin has since
    // withdrawn the grant (or the plugin), the held operation must not run.
    let Some(plugin) = config
        .plugins
        .iter()
        .find(|plugin| plugin.name == pending.plugin && plugin.grants.allows(request.operation()))
    else {
        eprintln!(
            "error: plugin {} is no longer granted {}; held operation {id} cannot be executed (deny it instead)",
            pending.plugin,
            request.operation()
        );
        return exit::FATAL;
    };
    // A request held because its target could not be resolved is bound now, and not run if
    // the record it names turns out protected.
    let mut request = request;
    let policy = &plugin.policy;
    let lookup = CallContext::new(&pending.plugin, &pending.alert_id);
    if let Err(reason) = bind_for_approval(&mut request, &connectors, &lookup, policy).await {
        eprintln!("error: held operation {id} cannot be executed: {reason} (deny it instead)");
        return exit::FATAL;
    }
    let approval = match store.approvals().claim(id, by) {
        Ok(approval) => approval,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    let cx = CallContext::new(&approval.plugin, &approval.alert_id);
    let result = request.execute(&connectors, &cx).await;
    let (executed, note) = match &result {
        Ok(receipt) => (true, receipt.reference.clone().unwrap_or_default()),
        Err(error) => (false, error.to_string()),
    };
    if let Err(error) =
        store
            .approvals()
            .finish(id, executed, executed.then_some(cx.action_id.as_str()), &note)
    {
        eprintln!("error: cannot record the outcome of {id}: {error}");
    }
    if let Ok(receipt) = &result {
        record_action(&store, &cx, &request, receipt.reference.clone());
    }
    store.audit().log(AuditEvent {
        kind: "approval",
        alert_id: Some(&approval.alert_id),
        plugin: Some(&approval.plugin),
        operation: Some(approval.operation.clone()),
        target: Some(&approval.target),
        decision: if executed {
            "approved-executed"
        } else {
            "approved-failed"
        },
        detail: json!({"approval_id": id, "by": by, "action_id": cx.action_id, "resolved": request.resolved(), "result": note}),
    });
    match result {
        Ok(_) => {
            println!(
                "approved {id}: executed {} {} as action {}",
                approval.operation,
                safe(&shown_target(&request)),
                cx.action_id
            );
            exit::OK
        }
        Err(error) => {
            eprintln!("error: approved {id}, but the connector failed: {error}");
            exit::FATAL
        }
    }
}

pub async fn undo(args: UndoArgs) -> u8 {
    let (config, store) = match open(&args.store.config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let by = who(args.by);
    let action = match store.actions().get(&args.action_id) {
        Ok(Some(action)) => action,
        Ok(None) => {
            eprintln!("error: no executed action {}", args.action_id);
            return exit::FATAL;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    let connectors = match plugin_connectors(&config, &action.plugin) {
        Ok(connectors) => connectors,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FATAL;
        }
    };
    let action = match store.actions().claim_undo(&args.action_id, &by) {
        Ok(action) => action,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    let Some(compensation) = action
        .compensation
        .clone()
        .and_then(|value| serde_json::from_value::<ActionRequest>(value).ok())
    else {
        let _ = store.actions().release(&args.action_id);
        eprintln!(
            "error: the compensating operation of {} is unreadable",
            args.action_id
        );
        return exit::FATAL;
    };
    let cx = CallContext::new(&action.plugin, &action.alert_id);
    let result = compensation.execute(&connectors, &cx).await;
    let decision = if result.is_ok() { "undone" } else { "undo-failed" };
    store.audit().log(AuditEvent {
        kind: "undo",
        alert_id: Some(&action.alert_id),
        plugin: Some(&action.plugin),
        operation: Some(compensation.operation().to_string()),
        target: Some(compensation.target()),
        decision,
        detail: json!({
            "undoes": args.action_id,
            "by": by,
            "action_id": cx.action_id,
            "error": result.as_ref().err().map(ToString::to_string),
        }),
    });
    match result {
        Ok(_) => {
            println!(
                "undone {}: executed {} {} as action {}",
                args.action_id,
                compensation.operation(),
                compensation.target(),
                cx.action_id
            );
            exit::OK
        }
        Err(error) => {
            let _ = store.actions().release(&args.action_id);
            eprintln!("error: the compensating operation failed (the undo can be retried): {error}");
            exit::FATAL
        }
    }
}

pub async fn breaker(command: BreakerCommand) -> u8 {
    match command {
        BreakerCommand::Status { store } => {
            let (_, store) = match open(&store.config) {
                Ok(opened) => opened,
                Err(code) => return code,
            };
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
            let by = who(by);
            match store.breaker().reset(plugin.as_deref()) {
                Ok(cleared) => {
                    store.audit().log(AuditEvent {
                        kind: "breaker",
                        plugin: plugin.as_deref(),
                        decision: "reset",
                        detail: json!({"by": by, "cleared": cleared}),
                        ..AuditEvent::default()
                    });
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
fn parse_since(text: &str) -> Result<i64, String> {
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
    Ok(crate::store::now() - number * seconds)
}

fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// The connectors the plugin is bound to in the current config.
fn plugin_connectors(config: &Config, plugin: &str) -> Result<crate::connectors::CapabilitySet, String> {
    let plugin_config = config
        .plugins
        .iter()
        .find(|p| p.name == plugin)
        .ok_or_else(|| format!("plugin {plugin} is no longer in {}", config.file.display()))?;
    let registry = Registry::build(&config.connectors).map_err(|error| format!("{error:#}"))?;
    Ok(registry.for_plugin(&plugin_config.connectors))
}

fn record_action(store: &Store, cx: &CallContext, request: &ActionRequest, reference: Option<String>) {
    if let Err(error) = store.actions().record(executed_action(cx, request, reference)) {
        eprintln!("error: cannot record action {} for undo: {error}", cx.action_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_and_ages() {
        assert_eq!(parse_since("2026-11-26T00:00:00Z").unwrap(), 1_795_651_200);
        let day_ago = parse_since("1d").unwrap();
        assert!((crate::store::now() - day_ago - 86_400).abs() <= 1);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("xh").is_err());
    }
}
