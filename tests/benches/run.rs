//! `palisade run` as a user runs it: the release binary on the demo config
//! (`plugins/demo/palisade.toml`, its directory, intel and inventory files) with the breaker's
//! limits raised, N password-spray alerts from a file, `--json` to `/dev/null`. Every figure
//! is the binary's own: wall time, CPU (user and system, from `wait4`) and peak resident
//! memory, so nothing the CLI does (reading lines, the report, the demo's settings) is left
//! out.
//!
//! Each alert has one source address and two accounts of the demo's directory, one of which
//! signed in: password-spray revokes a session, blocks the address and opens a ticket (the
//! demo's ticket limit refuses most tickets after the first few hundred an hour, as it would
//! for a user).
//!
//! With `PALISADE_BENCH_BASELINE=/path/to/an/other/palisade`, that binary runs the same files
//! alternately with this build, and the table gives each one's median and the ratio, so a
//! change is judged side by side on the same machine in the same minutes.
//!
//! `cargo bench -p palisade-e2e --bench run`. Environment:
//! - `PALISADE_BENCH_RUN_ALERTS`: the sizes, default `10000,100000`;
//! - `PALISADE_BENCH_RUN_REPEATS`: runs of each binary per size and mode, default 5;
//! - `PALISADE_BENCH_RUN_MODES`: default `dry-run,enforce`;
//! - `PALISADE_BENCH_BASELINE`: the binary to compare with (none by default);
//! - `PALISADE_BENCH_BINARY`: the binary to measure instead of this tree's release build (to
//!   compare two builds of earlier commits);
//! - `PALISADE_BENCH_RUN_CHAIN`: `demo` (the default), or `floor`: the same config with each of
//!   the three plugins replaced by `tests/bench-plugin` making no call, so the figures are what
//!   the engine itself costs an alert (reading, three fresh instances, the audit, the report)
//!   and the difference from `demo` is what the demo's plugins do.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let sizes: Vec<u64> = env_list("PALISADE_BENCH_RUN_ALERTS", "10000,100000");
    let repeats: usize = std::env::var("PALISADE_BENCH_RUN_REPEATS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let modes: Vec<String> = env_list("PALISADE_BENCH_RUN_MODES", "dry-run,enforce");
    let chain = match std::env::var("PALISADE_BENCH_RUN_CHAIN").as_deref() {
        Ok("floor") => Chain::Floor,
        Ok("demo") | Err(_) => Chain::Demo,
        Ok(other) => panic!("PALISADE_BENCH_RUN_CHAIN is `demo` or `floor`, not `{other}`"),
    };
    let this = std::env::var_os("PALISADE_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(common::release_binary);
    let mut binaries = vec![("this build".to_owned(), this)];
    if let Ok(baseline) = std::env::var("PALISADE_BENCH_BASELINE") {
        binaries.push(("baseline".to_owned(), PathBuf::from(baseline)));
    }
    println!("machine: {}", common::machine());
    for (name, path) in &binaries {
        println!("{name}: {}", path.display());
    }
    println!(
        "\n`palisade run --config demo.toml ALERTS --json > /dev/null`, {chain:?} chain, {repeats} runs each, alternating; medians\n"
    );
    println!("| mode | alerts | binary | seconds | alerts/s | CPU us/alert | peak RSS MiB |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for mode in &modes {
        for &size in &sizes {
            let bench = Bench::new(mode, size, chain);
            // A first run of each binary compiles its plugins into the state folder's cache,
            // as a user's first run does once; the measured runs load them from there.
            for (_, binary) in &binaries {
                bench.run(binary);
            }
            let mut runs: Vec<Vec<Run>> = vec![Vec::new(); binaries.len()];
            for _ in 0..repeats {
                for (index, (_, binary)) in binaries.iter().enumerate() {
                    runs[index].push(bench.run(binary));
                }
            }
            let medians: Vec<Run> = runs.iter().map(|runs| Run::median(runs)).collect();
            for ((name, _), median) in binaries.iter().zip(&medians) {
                println!(
                    "| {mode} | {size} | {name} | {:.2} | {:.0} | {:.0} | {:.1} |",
                    median.wall.as_secs_f64(),
                    size as f64 / median.wall.as_secs_f64(),
                    median.cpu.as_secs_f64() * 1e6 / size as f64,
                    median.peak_rss_kib as f64 / 1024.0,
                );
            }
            if let [this, baseline] = medians.as_slice() {
                println!(
                    "| {mode} | {size} | this / baseline | {:.2}x | | {:.2}x | {:.2}x |",
                    this.wall.as_secs_f64() / baseline.wall.as_secs_f64(),
                    this.cpu.as_secs_f64() / baseline.cpu.as_secs_f64(),
                    this.peak_rss_kib as f64 / baseline.peak_rss_kib as f64,
                );
            }
        }
    }
}

fn env_list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|item| item.trim().parse().ok())
        .collect()
}

/// Which plugins the demo's three stages run.
#[derive(Debug, Clone, Copy)]
enum Chain {
    /// The demo's own: `ip-reputation`, `triage`, `password-spray`.
    Demo,
    /// `bench-plugin` in each stage, making no call: the engine's own cost.
    Floor,
}

/// A folder with the demo's files, a config in one mode, and an alerts file.
struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new(mode: &str, size: u64, chain: Chain) -> Bench {
        let dir = tempfile::tempdir().expect("a folder");
        let demo = palisade_e2e::workspace_root().join("plugins/demo");
        for file in [
            "directory.json",
            "indicators.json",
            "events.jsonl",
            "inventory.json",
        ] {
            std::fs::copy(demo.join(file), dir.path().join(file)).expect("copy the demo's files");
        }
        let text = std::fs::read_to_string(demo.join("palisade.toml")).expect("the demo config");
        let config = demo_config(&text, mode, chain);
        std::fs::write(dir.path().join("palisade.toml"), config).expect("write the config");
        let alerts: String = (0..size).map(|i| spray(i) + "\n").collect();
        std::fs::write(dir.path().join("alerts.jsonl"), alerts).expect("write the alerts");
        Bench { dir }
    }

    /// One run from an empty store, the compiled plugins kept.
    fn run(&self, binary: &Path) -> Run {
        let state = self.dir.path().join("state");
        if let Ok(entries) = std::fs::read_dir(&state) {
            for entry in entries.flatten() {
                if entry.file_name() != "compiled" {
                    let path = entry.path();
                    let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
                }
            }
        }
        let started = Instant::now();
        // Reaped by `wait4` below, which also reports its usage; `Child::wait` would not.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(binary)
            .args(["run", "--config", "palisade.toml", "alerts.jsonl", "--json"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start palisade run");
        let (status, usage) = wait_with_usage(child.id() as libc::pid_t);
        let wall = started.elapsed();
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "palisade run failed ({status:#x}); run it in {} to see why",
            self.dir.path().display()
        );
        let seconds = |time: libc::timeval| {
            Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
        };
        Run {
            wall,
            cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            peak_rss_kib: usage.ru_maxrss as u64,
        }
    }
}

/// The child's exit status and its own resource usage: `wait4` reports them for that one
/// process, where `getrusage(RUSAGE_CHILDREN)` would add up every child and keep the largest
/// peak of any.
fn wait_with_usage(pid: libc::pid_t) -> (libc::c_int, libc::rusage) {
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct, and `wait4` is
    // given pointers to locals that outlive the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    (status, usage)
}

#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

impl Run {
    /// Each figure's own median, so one slow run does not pull the others.
    fn median(runs: &[Run]) -> Run {
        fn middle<T: Ord + Copy>(mut values: Vec<T>) -> T {
            values.sort();
            values[values.len() / 2]
        }
        Run {
            wall: middle(runs.iter().map(|run| run.wall).collect()),
            cpu: middle(runs.iter().map(|run| run.cpu).collect()),
            peak_rss_kib: middle(runs.iter().map(|run| run.peak_rss_kib).collect()),
        }
    }
}

/// The demo's config as a user would run it at volume: the plugins this build made, the
/// policy in `mode`, the breaker's limits out of the way; nothing else changed. For the
/// [`Chain::Floor`], each plugin's table keeps its name and stage and runs `bench-plugin`
/// with nothing granted, matching every alert.
fn demo_config(text: &str, mode: &str, chain: Chain) -> String {
    let mut config: toml::Table = text.parse().expect("the demo config is TOML");
    let plugins = common::plugins();
    let built = [
        ("ip-reputation", &plugins.ip_reputation),
        ("triage", &plugins.triage),
        ("password-spray", &plugins.password_spray),
    ];
    let table = |value: &mut toml::Value| value.as_table_mut().expect("a table").clone();
    let mut plugin_tables = table(config.get_mut("plugins").expect("[plugins]"));
    for (name, path) in built {
        let plugin = plugin_tables
            .get_mut(name)
            .and_then(toml::Value::as_table_mut)
            .unwrap_or_else(|| panic!("the demo has no plugin {name}"));
        match chain {
            Chain::Demo => {
                plugin.insert("path".into(), path.display().to_string().into());
            }
            Chain::Floor => {
                let stage = plugin.get("stage").cloned().expect("a stage");
                plugin.clear();
                plugin.insert("path".into(), plugins.bench.display().to_string().into());
                plugin.insert("stage".into(), stage);
            }
        }
    }
    config.insert("plugins".into(), plugin_tables.into());
    let mut policy = table(config.get_mut("policy").expect("[policy]"));
    policy.insert("mode".into(), mode.into());
    let mut breaker = policy.get_mut("blast_radius").map(table).unwrap_or_default();
    breaker.insert("per_plugin".into(), 100_000_000.into());
    breaker.insert("global".into(), 100_000_000.into());
    policy.insert("blast_radius".into(), breaker.into());
    config.insert("policy".into(), policy.into());
    toml::to_string(&config).expect("a TOML table serializes")
}

/// Alert `i`: a password spray from one public address against two of the demo directory's
/// accounts, one of which signed in.
fn spray(i: u64) -> String {
    serde_json::json!({
        "id": format!("spray-{i}"),
        "title": "Password spray against Okta accounts from one address",
        "source": "Okta",
        "rule": {"id": "okta-password-spray", "name": "Password spray"},
        "category": "credential-access",
        "severity": "high",
        "confidence": 92,
        "timestamp": "2026-11-26T09:12:44Z",
        "entities": [
            {"type": "ip", "address": format!("203.0.{}.{}", (i / 250) % 256, i % 250 + 1), "direction": "source"},
            {"type": "user", "name": "alice@example.com", "sign_in": "success"},
            {"type": "user", "name": "carol@example.com", "sign_in": "failure"},
        ],
        "tags": ["okta"],
    })
    .to_string()
}
