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
//! | `remember` | looks through all of its linear memory for what an earlier alert left, then leaves this alert's id in a global, on the heap (kept and freed) and in pages it grows | `earlier_calls`, `found`, `planted`, `missed` |
//! | `notify-flood` | sends `count` (default 250) notifications, stopping at the first refusal | `sent`, `refusal` |
//! | `comment-foreign` | comments on the ticket `ticket`, then opens a ticket and comments on that | `foreign`, `own` |
//! | `argument-flood` | `kv.set` of 64 KiB on one key, 100 times, stopping at the first refusal | `accepted`, `refusal` |
//! | `http-hoard` | fills 4096 `wasi:http` header maps (no grant needed) with 32 KiB each and keeps them | `fields`, `bytes` |
//! | `http-body-buffer` | writes to an outgoing body that is never sent until the host stops taking bytes | `accepted` |
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

    fn handle(alert: Alert) -> Result<Outcome, ActionError> {
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
            Some("remember") => Ok(remember(&alert.id)),
            Some("huge-error") => Err(ActionError::Failed("E".repeat(8 * MIB))),
            Some("empty-notes") => Ok(empty_notes()),
            Some("terminal") => Ok(terminal()),
            Some("ticket-tags") => Ok(ticket_tags()),
            Some("kv-flood") => Ok(kv_flood(&alert.id)),
            Some("notify-flood") => Ok(notify_flood()),
            Some("comment-foreign") => Ok(comment_foreign()),
            Some("http-hoard") => Ok(http_hoard()),
            Some("argument-flood") => Ok(argument_flood()),
            Some("http-body-buffer") => Ok(http_body_buffer()),
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

/// Two hundred thousand empty notes: zero bytes of text, if only text were counted.
fn empty_notes() -> Outcome {
    (0..200_000).fold(Outcome::new(), |outcome, _| outcome.note("", ""))
}

/// Strings that, printed raw, would clear the line and forge an approval on the screen.
fn terminal() -> Outcome {
    Outcome::new()
        .note(
            "forged",
            "\u{1b}[2K\rap-0000  approved  identity.disable-user ceo@example.com",
        )
        .summary("done\nok  fake-1  All clear  [low]\u{1b}[31m")
}

/// One ticket with a million tags: a few MiB of guest memory, a huge line at the vendor.
fn ticket_tags() -> Outcome {
    let ticket = palisade_sdk::ticket::NewTicket {
        title: "tags".into(),
        description: String::new(),
        severity: palisade_sdk::Severity::Low,
        tags: (0..1_000_000).map(|n| n.to_string()).collect(),
        observables: Vec::new(),
    };
    let result = match palisade_sdk::ticket::create(&ticket) {
        Ok(reference) => format!("ok:{}", reference.id),
        Err(error) => format!("err:{error}"),
    };
    Outcome::new().note("ticket", result)
}

/// Fills `kv` with 64 KiB values until the host says no: the disk, a little per alert.
fn kv_flood(alert: &str) -> Outcome {
    let value = vec![b'K'; 64 * 1024];
    let mut stored = 0;
    let mut refusal = String::from("none");
    for n in 0..64 {
        match palisade_sdk::kv::set(&format!("{alert}-{n}"), &value, None) {
            Ok(()) => stored += 1,
            Err(error) => {
                refusal = format!("err:{error}");
                break;
            }
        }
    }
    Outcome::new()
        .note("stored", stored.to_string())
        .note("refusal", refusal)
}

/// Pages the on-call team over and over: no sandbox escape, but harm all the same.
fn notify_flood() -> Outcome {
    let count: u32 = setting_parse("count").ok().flatten().unwrap_or(250);
    let message = palisade_sdk::notify::Message {
        channel: None,
        title: "Wake up".into(),
        body: "again".into(),
        severity: palisade_sdk::Severity::Critical,
    };
    let mut sent = 0;
    let mut refusal = String::from("none");
    for _ in 0..count {
        match palisade_sdk::notify::send(&message) {
            Ok(()) => sent += 1,
            Err(error) => {
                refusal = format!("err:{error}");
                break;
            }
        }
    }
    Outcome::new()
        .note("sent", sent.to_string())
        .note("refusal", refusal)
}

/// Writes into a case it has nothing to do with, then into its own.
fn comment_foreign() -> Outcome {
    let foreign = setting("ticket").unwrap_or_default();
    let foreign = result(palisade_sdk::ticket::comment(&foreign, "Closing as benign."));
    let ticket = palisade_sdk::ticket::NewTicket {
        title: "mine".into(),
        description: String::new(),
        severity: palisade_sdk::Severity::Low,
        tags: Vec::new(),
        observables: Vec::new(),
    };
    let own = match palisade_sdk::ticket::create(&ticket) {
        Ok(reference) => result(palisade_sdk::ticket::comment(&reference.id, "More evidence.")),
        Err(error) => format!("err:create:{error}"),
    };
    Outcome::new().note("foreign", foreign).note("own", own)
}

/// Each call is within every per-call bound; together they are megabytes of host work.
fn argument_flood() -> Outcome {
    let value = vec![b'A'; 64 * 1024];
    let mut accepted = 0;
    let mut refusal = String::from("none");
    for _ in 0..100 {
        match palisade_sdk::kv::set("big", &value, None) {
            Ok(()) => accepted += 1,
            Err(error) => {
                refusal = format!("err:{error}");
                break;
            }
        }
    }
    Outcome::new()
        .note("accepted", accepted.to_string())
        .note("refusal", refusal)
}

/// Header maps are host memory, outside the plugin's linear memory: each is capped in size by
/// the host (past the cap, `append` traps), so the attack makes as many maps of 32 KiB as it
/// can and keeps them all: 128 MiB if nothing stops it.
fn http_hoard() -> Outcome {
    use palisade_sdk::bindings::wasi::http::types::Fields;
    let value = vec![b'h'; 8 * 1024];
    let mut kept = Vec::new();
    let mut bytes = 0usize;
    for _ in 0..4096 {
        let fields = Fields::new();
        for n in 0..4 {
            if fields.append(&format!("x-{n}"), &value).is_err() {
                break;
            }
            bytes += value.len();
        }
        kept.push(fields);
    }
    Outcome::new()
        .note("fields", kept.len().to_string())
        .note("bytes", bytes.to_string())
}

/// An outgoing body buffers in the host what is written to it until the request is sent.
fn http_body_buffer() -> Outcome {
    use palisade_sdk::bindings::wasi::http::types::{Fields, OutgoingRequest};
    let request = OutgoingRequest::new(Fields::new());
    let Ok(body) = request.body() else {
        return Outcome::new().note("accepted", "err:body");
    };
    let Ok(stream) = body.write() else {
        return Outcome::new().note("accepted", "err:stream");
    };
    let mut accepted = 0u64;
    while accepted < 64 * MIB as u64 {
        match stream.check_write() {
            Ok(0) | Err(_) => break,
            Ok(budget) => {
                let chunk = vec![b'b'; budget.min(MIB as u64) as usize];
                if stream.write(&chunk).is_err() {
                    break;
                }
                accepted += chunk.len() as u64;
            }
        }
    }
    Outcome::new().note("accepted", accepted.to_string())
}

fn stdout() -> Outcome {
    println!("hello from the hostile plugin");
    eprintln!("to stderr");
    Outcome::new().note("printed", "yes")
}

/// Counts the calls this instance has seen: above 0, the instance outlived an alert.
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A mark in the plugin's globals (`.bss`), where a reused instance would still have it.
static KEPT: std::sync::Mutex<[u8; 64]> = std::sync::Mutex::new([0; 64]);

/// Pages grown for marks: 2 MiB, past any window the host keeps resident between instances.
const GROWN_PAGES: usize = 32;

/// Tries to carry data from one alert to the next, the way a plugin could leak one alert's
/// details into another alert's ticket: first it looks through every byte of its memory for a
/// mark an earlier alert left, then it leaves this alert's mark everywhere memory could
/// survive, and searches again to prove the search finds each one (`missed` is 0).
fn remember(alert_id: &str) -> Outcome {
    let earlier_calls = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // Built at run time, so the prefix never sits in the plugin's own data to be found.
    let prefix: Vec<u8> = b":REBMEMER-ESADILAP".iter().rev().copied().collect();
    let found: Vec<String> = find_marks(&prefix).into_iter().map(|mark| mark.id).collect();

    let mut mark = prefix.clone();
    mark.extend_from_slice(alert_id.as_bytes());
    mark.push(b';');
    // Where the mark was left, to be found again.
    let mut planted = Vec::new();
    if let Ok(mut kept) = KEPT.lock() {
        let len = mark.len().min(kept.len());
        kept[..len].copy_from_slice(&mark[..len]);
        planted.push(kept.as_ptr() as usize);
    }
    planted.push(black_box(Box::leak(mark.clone().into_boxed_slice())).as_ptr() as usize);
    if let Some(start) = linear_memory::grow(GROWN_PAGES) {
        for offset in [0, MIB, 2 * MIB - mark.len()] {
            let target = (start + offset) as *mut u8;
            // SAFETY: the pages were just grown for this and nothing else uses them.
            unsafe { std::ptr::copy_nonoverlapping(mark.as_ptr(), target, mark.len()) };
            planted.push(target as usize);
        }
    }
    // Freed memory keeps what was written until it is reused: left, but not looked for.
    drop(black_box(mark.repeat(64)));

    let seen: Vec<usize> = find_marks(&prefix).into_iter().map(|mark| mark.address).collect();
    let missed = planted.iter().filter(|address| !seen.contains(address)).count();
    Outcome::new()
        .note("earlier_calls", earlier_calls.to_string())
        .note("found", found.join(","))
        .note("planted", planted.len().to_string())
        .note("missed", missed.to_string())
}

/// A copy of the mark's prefix in linear memory, and the alert id after it.
struct Mark {
    address: usize,
    id: String,
}

/// Every copy of `prefix` in linear memory, other than `prefix` itself.
fn find_marks(prefix: &[u8]) -> Vec<Mark> {
    let size = linear_memory::size();
    let mut marks = Vec::new();
    // From 8 up: address 0 is null to Rust, and holds no mark.
    let mut address = 8;
    while address + prefix.len() <= size {
        if address != prefix.as_ptr() as usize && (0..prefix.len()).all(|i| byte_at(address + i) == prefix[i])
        {
            let id: Vec<u8> = (address + prefix.len()..size.min(address + prefix.len() + 64))
                .map(byte_at)
                .take_while(|&b| b != b';')
                .collect();
            marks.push(Mark {
                address,
                id: String::from_utf8_lossy(&id).into_owned(),
            });
            address += prefix.len();
        } else {
            address += 1;
        }
    }
    marks
}

/// Any byte of linear memory, whoever owns it: a hostile plugin reads what it likes.
fn byte_at(address: usize) -> u8 {
    // SAFETY: every address below the memory's size is mapped in wasm; a volatile read keeps
    // the compiler from reasoning about allocations it does not know.
    unsafe { std::ptr::read_volatile(address as *const u8) }
}

/// The plugin's own linear memory, in bytes. Native builds (the crate's unit tests) have none.
mod linear_memory {
    #[cfg(target_arch = "wasm32")]
    const PAGE: usize = 64 * 1024;

    /// Its size now.
    #[cfg(target_arch = "wasm32")]
    pub fn size() -> usize {
        core::arch::wasm32::memory_size(0) * PAGE
    }

    /// Grows it by `pages`; the address of the first new byte.
    #[cfg(target_arch = "wasm32")]
    pub fn grow(pages: usize) -> Option<usize> {
        match core::arch::wasm32::memory_grow(0, pages) {
            usize::MAX => None,
            previous => Some(previous * PAGE),
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn size() -> usize {
        0
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn grow(_pages: usize) -> Option<usize> {
        None
    }
}
