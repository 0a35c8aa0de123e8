//! The `palisade` command line: argument parsing and output only; the work is done by the
//! host crates.

mod admin;
mod check;
mod inspect;
mod output;
mod plugin_test;
mod progress;
mod report;
mod run;
mod scaffold;
mod serve;
mod user;

use clap::{ArgAction, Parser, Subcommand};
use palisade_pipeline::RunMode;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, for scripts.
pub mod exit {
    /// Every alert went through every matching plugin without error.
    pub const OK: u8 = 0;
    /// Palisade could not start: invalid config, unreadable input, a broken state folder.
    pub const FATAL: u8 = 1;
    /// The command line was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The run finished, but input lines were rejected, plugins failed to load, returned
    /// errors, trapped or hit limits, or audit records could not be written. The output says
    /// which.
    pub const PARTIAL: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Incident-response automation: runs alerts through sandboxed WebAssembly response actions",
    long_about = "Incident-response automation: runs alerts through sandboxed WebAssembly response \
actions. Each plugin can call only the operations palisade.toml grants it; the host holds every \
credential.\n\nExit codes: 0 all went well; 1 could not start (config, input, state); 2 usage; \
3 finished, but lines were rejected or plugins failed, trapped or hit limits.",
    after_help = "Logs go to stderr: -v for info, -vv for debug, -vvv for trace (Palisade's own, and \
its plugins'), or RUST_LOG (e.g. RUST_LOG=palisade=debug)."
)]
struct Cli {
    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run alerts through the configured plugins, stage by stage.
    Run(run::RunArgs),
    /// Take alerts by authenticated webhook into a durable queue and run them as they come
    /// (`[serve]` in the config); SIGTERM or SIGINT drains.
    Serve(serve::ServeArgs),
    /// Run alerts with every destructive operation in dry-run: what would automation have done?
    /// Nothing outside Palisade is changed and nothing is recorded.
    Simulate(run::RunArgs),
    /// Validate a config, compile its plugins, and compare what each asks for with its grants.
    Check(check::CheckArgs),
    /// Operations held for a person: list, approve, deny.
    #[command(subcommand)]
    Approvals(admin::ApprovalsCommand),
    /// Reverse an executed destructive operation with its compensating operation.
    Undo(admin::UndoArgs),
    /// The circuit breaker on destructive operations: status, reset.
    #[command(subcommand)]
    Breaker(admin::BreakerCommand),
    /// Executed containment: what is scheduled to lapse, and when.
    #[command(subcommand)]
    Actions(admin::ActionsCommand),
    /// Query the audit trail.
    Audit(admin::AuditArgs),
    /// Say whether an alert was true: it counts toward its rule's precision, which decides
    /// whether the rule's destructive automation may act alone (`[policy.autonomy]`).
    Feedback(admin::FeedbackArgs),
    /// Per detection rule: alerts, verdicts, precision, whether it acts alone, operations
    /// executed, held, approved and denied, and the time to respond with and without a person.
    Report(report::ReportArgs),
    /// Work with plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// The people who sign in to the console (`palisade serve`, under /ui).
    #[command(subcommand)]
    User(user::UserCommand),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show what a plugin says of itself, what it imports, and its size.
    Inspect {
        /// The plugin component (.wasm).
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a plugin once on a fixture alert with connector answers from a file (no network);
    /// show its host calls, the policy decisions and its outcome, and with --expect compare
    /// them. Exit 0 as expected, 1 different (or the plugin failed), 2 bad usage or files.
    Test(plugin_test::TestArgs),
    /// Create a plugin project that builds as it is: the WIT, a starter triage action, a
    /// `build` script (NAME.wasm) and a `test` script with a fixture alert and its expected
    /// outcome. Never overwrites: the folder must not exist or be empty. Exit 0 created,
    /// 1 could not write, 2 bad usage (name, folder not empty).
    New(scaffold::NewArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::FATAL);
        }
    };
    // The command runs as a task on the runtime's worker threads, not on this one: a future
    // polled by `block_on` is woken across threads (a futex call, a switch) each time a task it
    // awaits finishes, which `palisade run` pays per alert.
    let command = runtime.spawn(async move {
        match cli.command {
            Command::Run(args) => run::run(args, RunMode::Live).await,
            Command::Simulate(args) => run::run(args, RunMode::Simulate).await,
            Command::Serve(args) => serve::serve(args).await,
            Command::Check(args) => check::check(args).await,
            Command::Approvals(command) => admin::approvals(command).await,
            Command::Undo(args) => admin::undo(args).await,
            Command::Breaker(command) => admin::breaker(command).await,
            Command::Actions(command) => admin::actions(command),
            Command::Audit(args) => admin::audit(args).await,
            Command::Feedback(args) => admin::feedback(args),
            Command::Report(args) => report::report(args),
            Command::Plugin(PluginCommand::Inspect { file, json }) => inspect::inspect(&file, json).await,
            Command::Plugin(PluginCommand::Test(args)) => plugin_test::test(args).await,
            Command::Plugin(PluginCommand::New(args)) => scaffold::new(args),
            Command::User(command) => user::user(command),
        }
    });
    let code = runtime.block_on(command).unwrap_or_else(|panicked| {
        eprintln!("error: internal error: {panicked}");
        exit::FATAL
    });
    ExitCode::from(code)
}

/// The log filter `-v`s ask for: more detail from Palisade and its plugins only. Other crates
/// stay at warnings, since the HTTP stack's debug and trace lines carry request URLs, and for
/// some vendors (Slack and Teams webhooks) the URL is the secret. `RUST_LOG` overrides this.
fn log_filter(verbose: u8) -> String {
    let level = match verbose {
        0 => return "warn".into(),
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    format!("warn,palisade={level},plugin={level}")
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(log_filter(verbose)));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
