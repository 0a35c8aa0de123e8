//! `palisade user add`: a console user's password hashed (argon2id) into the config, the rest
//! of the file left byte for byte. The password is asked twice on the terminal without echo,
//! or read from one line of stdin; it is never printed, nor is its hash.

use super::exit;
use palisade_service::config::Role;
use palisade_service::console::users;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a console user, or give an existing one a new role and password. The service takes
    /// it at its next reload (SIGHUP). Exit 0 written, 1 the config could not be read or
    /// written, 2 bad usage (name, role, a password too short or not repeated the same).
    Add(AddArgs),
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// The name they sign in with; decisions are recorded as `console:NAME`.
    name: String,
    /// What they may do: viewer (read), approver (also approve, deny and undo), admin (also
    /// reset the breaker).
    #[arg(long, value_parser = ["viewer", "approver", "admin"])]
    role: String,
    /// The configuration file to write `[serve.users.NAME]` into.
    #[arg(short, long, default_value = "palisade.toml")]
    config: PathBuf,
    /// Read the password from the first line of stdin instead of asking on the terminal.
    #[arg(long)]
    password_stdin: bool,
}

pub fn user(command: UserCommand) -> u8 {
    let UserCommand::Add(args) = command;
    match add(&args) {
        Ok(()) => {
            println!(
                "{}: console user {} ({}) written; reload the service (SIGHUP) to let them sign in",
                args.config.display(),
                args.name,
                args.role
            );
            exit::OK
        }
        Err((code, message)) => {
            eprintln!("error: {message}");
            code
        }
    }
}

fn add(args: &AddArgs) -> Result<(), (u8, String)> {
    let usage = |message: String| (exit::USAGE, message);
    let fatal = |message: String| (exit::FATAL, message);
    if !users::valid_user_name(&args.name) {
        return Err(usage(
            "a user name is 1 to 64 letters, digits, '-', '_', '.' and '@'".into(),
        ));
    }
    let role: Role = args.role.parse().map_err(usage)?;
    // Read first: a config that is missing or not TOML is found before the password is asked.
    let text = std::fs::read_to_string(&args.config)
        .map_err(|error| fatal(format!("cannot read {}: {error}", args.config.display())))?;
    users::set_user(&text, &args.name, role, "check")
        .map_err(|error| fatal(format!("{}: {error}", args.config.display())))?;
    let password = if args.password_stdin {
        read_stdin_line().map_err(|error| fatal(format!("cannot read the password from stdin: {error}")))?
    } else {
        let first = ask("Password: ").map_err(fatal)?;
        if first.chars().count() >= users::MIN_PASSWORD_CHARS {
            let again = ask("Again: ").map_err(fatal)?;
            if again != first {
                return Err(usage("the two passwords differ; nothing was written".into()));
            }
        }
        first
    };
    let hash = users::hash_password(&password).map_err(usage)?;
    let written = users::set_user(&text, &args.name, role, &hash).map_err(fatal)?;
    replace(&args.config, &written)
        .map_err(|error| fatal(format!("cannot write {}: {error}", args.config.display())))
}

/// The first line of stdin, without its line ending.
fn read_stdin_line() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Asks on the terminal with echo off, and puts the terminal back as it was however the read
/// ends.
fn ask(prompt: &str) -> Result<String, String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let no_terminal = |error: std::io::Error| {
        format!("no terminal to ask for the password on ({error}); use --password-stdin")
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(no_terminal)?;
    let saved = tcgetattr(&tty).map_err(|error| no_terminal(error.into()))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&tty, OptionalActions::Flush, &quiet).map_err(|error| no_terminal(error.into()))?;
    let read = (|| {
        let mut writer = &tty;
        writer.write_all(prompt.as_bytes())?;
        writer.flush()?;
        let mut line = String::new();
        std::io::BufReader::new(&tty).read_line(&mut line)?;
        Ok::<_, std::io::Error>(line.trim_end_matches(['\n', '\r']).to_owned())
    })();
    let _ = tcsetattr(&tty, OptionalActions::Now, &saved);
    read.map_err(|error| format!("cannot read the password: {error}"))
}

/// Writes `text` over `path` at once (a file beside it, renamed over it), keeping its
/// permissions: a reader never sees half a config, and a config readable only by the service
/// stays so.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(path)?.permissions();
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.as_file().set_permissions(permissions)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
