//! What the benchmarks share: the plugins built for `wasm32-wasip2`, synthetic alerts, and a
//! description of the machine.

// Each benchmark uses part of this module.
#![allow(dead_code)]

pub mod floor;
pub mod serving;
pub mod starter;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The plugin components, built in release mode.
#[derive(Debug, Clone)]
pub struct Plugins {
    pub triage: PathBuf,
    pub ip_reputation: PathBuf,
    pub password_spray: PathBuf,
    /// `tests/bench-plugin`: `kv_gets` kv.get calls, then returns.
    pub bench: PathBuf,
}

const PACKAGES: [&str; 4] = ["triage", "ip-reputation", "password-spray", "bench-plugin"];

/// Builds the plugins once per process (`cargo build --release --target wasm32-wasip2`).
pub fn plugins() -> &'static Plugins {
    static PLUGINS: OnceLock<Plugins> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        palisade_e2e::build_plugins(&PACKAGES);
        let wasm = palisade_e2e::plugin_wasm;
        Plugins {
            triage: wasm("triage"),
            ip_reputation: wasm("ip-reputation"),
            password_spray: wasm("password-spray"),
            bench: wasm("bench-plugin"),
        }
    })
}

/// Public addresses the synthetic alerts come from; the first [`MALICIOUS`] of them are known
/// to the embedded intel file as malicious, the rest are unknown to it.
pub const SOURCES: u64 = 200;
pub const MALICIOUS: u64 = 50;

pub fn source_ip(n: u64) -> String {
    format!("203.0.113.{}", n % SOURCES + 1)
}

/// Alert `i` of a synthetic stream: a password spray in Palisade's native format, from one
/// public address, against three accounts, one of which signed in.
pub fn spray_line(i: u64, confidence: u8) -> String {
    let user = |k: u64| format!("user{}@example.com", (i + k) % 10_000);
    format!(
        concat!(
            r#"{{"id":"bench-{i}","title":"Password spray against 3 accounts","source":"Okta","#,
            r#""rule":{{"id":"okta-password-spray","name":"Password spray"}},"category":"credential-access","#,
            r#""severity":"high","confidence":{confidence},"timestamp":"2026-11-26T09:12:44Z","entities":["#,
            r#"{{"type":"ip","address":"{ip}","direction":"source"}},"#,
            r#"{{"type":"user","name":"{u0}","sign_in":"success"}},"#,
            r#"{{"type":"user","name":"{u1}","sign_in":"failure"}},"#,
            r#"{{"type":"user","name":"{u2}","sign_in":"failure"}}],"tags":["okta","identity"]}}"#
        ),
        i = i,
        confidence = confidence,
        ip = source_ip(i),
        u0 = user(0),
        u1 = user(1),
        u2 = user(2),
    )
}

/// The embedded intel file: the first [`MALICIOUS`] source addresses are malicious.
pub fn indicators_json() -> String {
    let indicators: Vec<serde_json::Value> = (0..MALICIOUS)
        .map(|n| {
            serde_json::json!({
                "indicator": source_ip(n),
                "reputation": "malicious",
                "score": 90,
                "sources": ["abuse-feed"],
                "tags": ["password-spray"],
            })
        })
        .collect();
    serde_json::json!({ "indicators": indicators }).to_string()
}

/// `cargo build --release -p palisade`, and the binary it made.
pub fn release_binary() -> PathBuf {
    let root = palisade_e2e::workspace_root();
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "palisade"])
        .current_dir(&root)
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build --release -p palisade failed");
    palisade_e2e::target_dir().join("release").join("palisade")
}

/// `nproc`, the CPU model and the memory, for the report.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or(0.0, |kib| kib / (1024.0 * 1024.0));
    format!("{cpus} CPUs ({model}), {memory_gib:.1} GiB memory")
}

/// The three-plugin chain of the end-to-end benchmark (and the demo): `ip-reputation` enriches,
/// `triage` scores, `password-spray` contains, with the `embedded` connector (files, no
/// network). Writes `palisade.toml` and the intel file into `dir` and returns the config path.
///
/// `mode` is the policy mode (`enforce`, `dry-run`); `breaker` the blast-radius limit per
/// plugin and in all (the product's defaults are 50 and 200 an hour).
pub fn chain_config(dir: &Path, concurrency: usize, mode: &str, breaker: u32) -> PathBuf {
    let plugins = plugins();
    std::fs::write(dir.join("indicators.json"), indicators_json()).expect("write indicators.json");
    let text = format!(
        r#"[defaults]
state_dir = "state"
concurrency = {concurrency}

[defaults.connectors]
intel = "local"
ticket = "local"
identity = "local"
network = "local"
notify = "local"

[connectors.local]
kind = "embedded"
outbox = "state/outbox.jsonl"
indicators = "indicators.json"

[plugins.ip-reputation]
path = "{ip_reputation}"
stage = "enrich"
grants = ["intel.lookup"]

[plugins.triage]
path = "{triage}"
stage = "triage"
settings = {{ vip_users = ["ceo", "cfo"], crown_jewels = ["dc01", "payroll-db"] }}

[plugins.password-spray]
path = "{password_spray}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
settings = {{ min_confidence = 80, block_hours = 24 }}
# Every spray opens a ticket; the benchmark measures the chain, not the hourly limits.
limits = {{ tickets_per_hour = 1000000, comments_per_hour = 1000000 }}

[plugins.password-spray.match]
rules = ["*password spray*"]
categories = ["credential-access"]
min_severity = "medium"

[policy]
mode = "{mode}"
min_confidence = 60

[policy.protected]
users = ["ceo@example.com", "cfo@example.com"]
hosts = ["dc*", "payroll-db"]
ip_ranges = ["10.0.0.0/8"]

[policy.blast_radius]
window_minutes = 60
per_plugin = {breaker}
global = {breaker}
"#,
        ip_reputation = plugins.ip_reputation.display(),
        triage = plugins.triage.display(),
        password_spray = plugins.password_spray.display(),
    );
    let path = dir.join("palisade.toml");
    std::fs::write(&path, text).expect("write palisade.toml");
    path
}
