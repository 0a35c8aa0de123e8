//! `hostile-plugin`: attacks the sandbox, for Palisade's end-to-end tests. Never deploy it.
//!
//! The setting `attack` chooses the attack; what the plugin observed goes into its outcome's
//! notes so a test can assert on it. An attack that gets through tags the outcome `escaped`.
//!
//! | `attack` | what it does | notes |
//! | --- | --- | --- |
//! | `spin` | loops forever without calling the host | |
//! | `memory-bomb` | allocates 1 MiB blocks, touching every page, keeping them all, forever | |
//! | `read-file` | reads `/etc/passwd`, lists `/` and `.`, creates `pwned.txt` | `read_file`, `read_dir_root`, `read_dir_cwd`, `create_file` |
//! | `env` | reads the environment and arguments | `env_count`, `args_count`, `secret` |
//! | `socket` | TCP connect to 127.0.0.1:`port`, resolves `localhost`, binds UDP | `tcp_connect`, `dns_lookup`, `udp_bind` |
//! | `trap` | panics | |
//! | `denied-call` | calls `identity.disable-user` and `network.block-ip` | `disable_user`, `block_ip` |
//! | `host-call-flood` | logs 1 000 000 times | `calls` |
//! | `output-flood` | writes 4 MiB to stdout, returns a 4 MiB summary | `stdout_bytes` |
//! | `stdout` | prints a line to stdout and one to stderr | `printed` |
//! | `http` | GETs each of `urls` (comma-separated), following redirects, `repeat` times (default 1) | `http:<index>`: `ok:<status>:<bytes>` |
//!
//! Results are `ok` or `err:<message>`; `secret` is `ok:<value>` or `err`; `disable_user` and
//! `block_ip` are `ok` or the error as displayed (`denied: identity.disable-user`). Any other
//! `attack`, or none, is an `invalid-input` error.

use std::hint::black_box;
use std::io::Write;

use palisade_sdk::prelude::*;

const MIB: usize = 1 << 20;

struct Hostile;

impl Action for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Attacks the sandbox; for Palisade's end-to-end tests only",
            [] as [&str; 0],
        )
    }

    fn handle(_alert: Alert) -> Result<Outcome, ActionError> {
        let attack = setting("attack");
        match attack.as_deref() {
            Some("spin") => spin(),
            Some("memory-bomb") => memory_bomb(),
            Some("read-file") => Ok(read_file()),
            Some("env") => Ok(env()),
            Some("socket") => socket(),
            Some("trap") => panic!("hostile plugin trapped on purpose"),
            Some("denied-call") => Ok(denied_call()),
            Some("host-call-flood") => Ok(host_call_flood()),
            Some("output-flood") => Ok(output_flood()),
            Some("stdout") => Ok(stdout()),
            Some("http") => http(),
            Some(other) => Err(ActionError::InvalidInput(format!("unknown attack {other:?}"))),
            None => Err(ActionError::InvalidInput(
                "unknown attack: the setting `attack` is not set".into(),
            )),
        }
    }
}

palisade_sdk::export!(Hostile);

/// `ok` or `err:<message>`.
fn result<T, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("err:{e}"),
    }
}

/// Tags `escaped`, and sets the verdict malicious, when any note's value is `ok...`.
fn judge(mut outcome: Outcome, keys: &[&str]) -> Outcome {
    let escaped = keys
        .iter()
        .any(|k| outcome.note_value(k).is_some_and(|v| v.starts_with("ok")));
    if escaped {
        outcome = outcome.verdict(Verdict::Malicious).tag("escaped");
    }
    outcome
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn memory_bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; MIB];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        hoard.push(black_box(block));
        black_box(&hoard);
    }
}

fn read_file() -> Outcome {
    let outcome = Outcome::new()
        .note("read_file", result(std::fs::read_to_string("/etc/passwd")))
        .note("read_dir_root", result(std::fs::read_dir("/")))
        .note("read_dir_cwd", result(std::fs::read_dir(".")))
        .note("create_file", result(std::fs::File::create("pwned.txt")));
    judge(
        outcome,
        &["read_file", "read_dir_root", "read_dir_cwd", "create_file"],
    )
}

fn env() -> Outcome {
    let env_count = std::env::vars_os().count();
    let secret = match std::env::var("PALISADE_E2E_SECRET") {
        Ok(value) => format!("ok:{value}"),
        Err(_) => "err".into(),
    };
    let mut outcome = Outcome::new()
        .note("env_count", env_count.to_string())
        .note("args_count", std::env::args_os().count().to_string())
        .note("secret", secret);
    if env_count > 0 {
        outcome = outcome.verdict(Verdict::Malicious).tag("escaped");
    }
    judge(outcome, &["secret"])
}

fn socket() -> Result<Outcome, ActionError> {
    use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
    let port = palisade_sdk::setting_parse::<u16>("port")?.unwrap_or(80);
    let outcome = Outcome::new()
        .note("tcp_connect", result(TcpStream::connect(("127.0.0.1", port))))
        .note("dns_lookup", result(("localhost", 80).to_socket_addrs()))
        .note("udp_bind", result(UdpSocket::bind("0.0.0.0:0")));
    Ok(judge(outcome, &["tcp_connect", "dns_lookup", "udp_bind"]))
}

/// Requests the host should refuse (or, for the URLs the test allows, let through): each
/// result is noted, `ok:<status>:<bytes>` or `err:<error>`.
fn http() -> Result<Outcome, ActionError> {
    let urls = palisade_sdk::setting_list("urls");
    let repeat = palisade_sdk::setting_parse::<u32>("repeat")?.unwrap_or(1);
    let mut outcome = Outcome::new();
    for round in 0..repeat {
        for (index, url) in urls.iter().enumerate() {
            let note = match palisade_sdk::http::get(url) {
                Ok(response) => format!("ok:{}:{}", response.status(), response.bytes().len()),
                Err(error) => format!("err:{error}"),
            };
            if round == 0 {
                outcome.add_note(format!("http:{index}"), note);
            }
        }
    }
    Ok(outcome)
}

fn denied_call() -> Outcome {
    Outcome::new()
        .note("disable_user", call(identity::disable_user("ceo", "hostile")))
        .note(
            "block_ip",
            call(network::block_ip("198.51.100.1", None, "hostile")),
        )
}

/// `ok` or the error as displayed.
fn call<T>(r: Result<T, ActionError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

fn host_call_flood() -> Outcome {
    const CALLS: u32 = 1_000_000;
    for _ in 0..CALLS {
        palisade_sdk::log::info("flood");
    }
    Outcome::new().note("calls", CALLS.to_string())
}

fn output_flood() -> Outcome {
    const TOTAL: usize = 4 * MIB;
    let chunk = vec![b'A'; 64 * 1024];
    let mut stdout = std::io::stdout().lock();
    for _ in 0..TOTAL / chunk.len() {
        let _ = stdout.write_all(&chunk);
    }
    let _ = stdout.flush();
    Outcome::new()
        .note("stdout_bytes", TOTAL.to_string())
        .summary("B".repeat(TOTAL))
}

fn stdout() -> Outcome {
    println!("hello from the hostile plugin");
    eprintln!("to stderr");
    Outcome::new().note("printed", "yes")
}
