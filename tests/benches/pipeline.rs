//! End to end: N synthetic alerts through the three-plugin chain (`ip-reputation` enriches,
//! `triage` scores, `password-spray` contains) with the `embedded` connector, in process,
//! through the library `Runner` that `palisade run` drives: a multi-thread tokio runtime,
//! windows ordered by priority, a task per alert and `concurrency` alerts in flight.
//! Reports alerts per second, per-alert latency percentiles and peak resident memory. Then the
//! process-per-action baseline (a Python process per alert, StackStorm's and Cortex's model)
//! beside the same alert through Palisade's triage plugin, in the same run.
//!
//! `cargo bench -p palisade-e2e --bench pipeline`. Each run of N alerts is a child process (this
//! binary again, `--child`), so its peak memory is its own. Environment:
//! - `PALISADE_BENCH_ALERTS`: the sizes, default `10000,100000`;
//! - `PALISADE_BENCH_CONCURRENCY`: alerts in flight, default the config's default (16);
//! - `PALISADE_BENCH_SCENARIOS`: default `dry-run,enforce` (see [`SCENARIOS`]);
//! - `PALISADE_BENCH_SPAWNS`: Python processes for the baseline, default 200; 0 skips it;
//! - `PALISADE_BENCH_WORKERS`: the async runtime's worker threads, default one per core;
//! - `PALISADE_BENCH_VENDOR_MS`, `PALISADE_BENCH_VENDOR_CONCURRENCY`, `PALISADE_BENCH_VENDOR_ALERTS`:
//!   the slow-vendor part (see [`slow_vendor`]), default 100 ms a reply, `4,16,64` in flight,
//!   400 alerts; `PALISADE_BENCH_VENDOR_ALERTS=0` skips it.

mod common;

use futures::StreamExt;
use palisade_alert::{Annotation, native};
use palisade_pipeline::batch::Received;
use palisade_pipeline::config::Config;
use palisade_pipeline::{AlertLine, Finished, Pipeline, RunMode, Runner, Schedule};
use palisade_runtime::capability::ActionResult;
use palisade_runtime::{InvocationStatus, Limits, Runtime, RuntimeOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The policy set-ups the chain runs under.
/// - `dry-run`: the policy gate decides every destructive operation and records it, nothing is
///   carried out; the ticket is written to the outbox. Everything but the breaker.
/// - `enforce`: operations carried out (appended to the embedded outbox), kept for undo and
///   counted by the circuit breaker, whose limits are raised so that it does not trip.
const SCENARIOS: [&str; 2] = ["dry-run", "enforce"];

/// Confidence of every synthetic alert: above password-spray's `min_confidence` (80), so all
/// three plugins do their whole job on every alert.
const CONFIDENCE: u8 = 92;

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The allocator the `palisade` binary uses (host/src/main.rs), since this runs alerts the way
/// `palisade run` does, in process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(index) = args.iter().position(|a| a == "--child") {
        let rest = &args[index + 1..];
        let dir = PathBuf::from(&rest[0]);
        let alerts: u64 = rest[1].parse().expect("a number of alerts");
        let concurrency: usize = rest[2].parse().expect("a concurrency");
        child(&dir, alerts, concurrency);
        return;
    }
    // `cargo test --benches` runs bench targets once as a smoke test: nothing to measure then.
    if !args.iter().any(|a| a == "--bench") {
        println!("pipeline benchmark: run it with `cargo bench -p palisade-e2e --bench pipeline`");
        return;
    }
    parent();
}

// ---------------------------------------------------------------------------------------------
// The parent: one child per (scenario, N), then the process-per-action baseline.

fn parent() {
    let plugins = common::plugins();
    let sizes: Vec<u64> = env_list("PALISADE_BENCH_ALERTS", "10000,100000")
        .iter()
        .map(|s| s.parse().expect("PALISADE_BENCH_ALERTS: numbers"))
        .collect();
    let scenarios = env_list("PALISADE_BENCH_SCENARIOS", &SCENARIOS.join(","));
    let concurrency = env_number(
        "PALISADE_BENCH_CONCURRENCY",
        palisade_pipeline::config::DEFAULT_CONCURRENCY,
    );
    println!("machine: {}", common::machine());
    println!("plugins: {}", plugins.triage.parent().map(Path::display).unwrap());
    println!("concurrency: {concurrency} alerts in flight; confidence {CONFIDENCE} on every alert\n");

    let mut rows = Vec::new();
    for scenario in &scenarios {
        assert!(
            SCENARIOS.contains(&scenario.as_str()),
            "unknown scenario {scenario}"
        );
        for &alerts in &sizes {
            let dir = tempfile::Builder::new()
                .prefix("palisade-bench-")
                .tempdir()
                .expect("a temporary folder");
            common::chain_config(dir.path(), concurrency, scenario, 1_000_000_000);
            // A first child compiles the plugins into the state folder's cache, so the measured
            // child loads them as `palisade run` does on any run but the first.
            run_child(dir.path(), 0, concurrency);
            let result = run_child(dir.path(), alerts, concurrency);
            println!("{scenario:>8} {alerts:>7} alerts: {}", one_line(&result));
            rows.push((scenario.clone(), result));
        }
    }
    println!("\n{}", table(&rows));

    slow_vendor();

    let spawns = env_number("PALISADE_BENCH_SPAWNS", 200);
    process_per_action(spawns, &rows);
}

/// The chain in enforce mode with its identity, network and ticket calls going to a vendor that
/// takes `PALISADE_BENCH_VENDOR_MS` to answer each (the tests' stub vendor on loopback, through
/// the webhook connector), at each number of alerts in flight: with real vendors a run waits on
/// the network, not the CPU, and how many alerts are in flight sets the pace.
fn slow_vendor() {
    let alerts = env_number("PALISADE_BENCH_VENDOR_ALERTS", 400) as u64;
    if alerts == 0 {
        return;
    }
    let delay = Duration::from_millis(env_number("PALISADE_BENCH_VENDOR_MS", 100) as u64);
    let vendor = palisade_e2e::Receiver::slow(delay);
    println!(
        "\nslow vendor: {} ms a reply, {alerts} alerts, enforce",
        delay.as_millis()
    );
    let mut rows = Vec::new();
    for concurrency in env_list("PALISADE_BENCH_VENDOR_CONCURRENCY", "4,16,64") {
        let concurrency: usize = concurrency
            .parse()
            .expect("PALISADE_BENCH_VENDOR_CONCURRENCY: numbers");
        let dir = tempfile::Builder::new()
            .prefix("palisade-bench-")
            .tempdir()
            .expect("a temporary folder");
        let config = common::chain_config(dir.path(), concurrency, "enforce", 1_000_000_000);
        let text = std::fs::read_to_string(&config).expect("read palisade.toml");
        let text = text
            .replace("identity = \"local\"", "identity = \"vendor\"")
            .replace("network = \"local\"", "network = \"vendor\"")
            .replace("ticket = \"local\"", "ticket = \"vendor\"")
            + &format!(
                "\n[connectors.vendor]\nkind = \"webhook\"\nurl = \"{}\"\ntimeout_ms = 10000\n",
                vendor.url()
            );
        std::fs::write(&config, text).expect("write palisade.toml");
        run_child(dir.path(), 0, concurrency);
        let result = run_child(dir.path(), alerts, concurrency);
        println!("{concurrency:>4} in flight: {}", one_line(&result));
        rows.push((format!("slow vendor, {concurrency} in flight"), result));
    }
    println!("\n{}", table(&rows));
}

fn run_child(dir: &Path, alerts: u64, concurrency: usize) -> Value {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let output = Command::new(exe)
        .args([
            "--child",
            &dir.display().to_string(),
            &alerts.to_string(),
            &concurrency.to_string(),
        ])
        .stderr(Stdio::piped())
        .output()
        .expect("run the child");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child failed ({}):\n{stderr}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut result: Value = serde_json::from_str(stdout.trim()).expect("the child prints one JSON object");
    result["log_lines"] = stderr.lines().count().into();
    result
}

fn one_line(r: &Value) -> String {
    format!(
        "{:.0} alerts/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {:.1} MiB ({} log lines)",
        r["alerts_per_second"].as_f64().unwrap_or(0.0),
        r["latency_ms"]["p50"].as_f64().unwrap_or(0.0),
        r["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
        r["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0,
        r["log_lines"],
    )
}

fn table(rows: &[(String, Value)]) -> String {
    let mut out = String::from(
        "| scenario | alerts | seconds | alerts/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | \
         CPU us/alert (audit writer) | load ms | RSS after load MiB | peak RSS MiB | invocations completed | actions |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for (scenario, r) in rows {
        let ms = |p: &str| r["latency_ms"][p].as_f64().unwrap_or(0.0);
        let mib = |k: &str| r[k].as_f64().unwrap_or(0.0) / 1024.0;
        out += &format!(
            "| {scenario} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} ({:.0}) | {:.1} | {:.1} | {:.1} | {} of {} | {} |\n",
            r["alerts"],
            r["seconds"].as_f64().unwrap_or(0.0),
            r["alerts_per_second"].as_f64().unwrap_or(0.0),
            ms("p50"),
            ms("p90"),
            ms("p99"),
            ms("p99.9"),
            ms("max"),
            r["cpu_us_per_alert"].as_f64().unwrap_or(0.0),
            r["audit_writer_cpu_us_per_alert"].as_f64().unwrap_or(0.0),
            r["load_ms"].as_f64().unwrap_or(0.0),
            mib("rss_after_load_kib"),
            mib("peak_rss_kib"),
            r["completed"],
            r["invocations"],
            r["actions"].as_str().unwrap_or_default(),
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The child: load the chain, run N alerts, print one JSON object.

fn child(dir: &Path, alerts: u64, concurrency: usize) {
    // As `palisade run` logs by default: warnings and errors on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Ok(workers) = std::env::var("PALISADE_BENCH_WORKERS") {
        builder.worker_threads(workers.parse().expect("PALISADE_BENCH_WORKERS: a number"));
    }
    let runtime = builder.enable_all().build().expect("a tokio runtime");
    let result = runtime.block_on(run_alerts(dir, alerts, concurrency));
    println!("{result}");
}

/// `VmRSS` and `VmHWM` (peak) of this process, in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system) of the whole process and of its threads named `palisade-audit`
/// (the audit's writer), in milliseconds; clock ticks are 10 ms.
fn cpu_ms() -> (f64, f64) {
    let ticks = |stat: &str| -> f64 {
        // After the command name in parentheses: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (field(14) + field(15)) * 10.0
    };
    let process = ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    let mut audit = 0.0;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if stat.contains("(palisade-audit)") {
            audit += ticks(&stat);
        }
    }
    (process, audit)
}

#[derive(Default)]
struct Counts {
    invocations: u64,
    completed: u64,
    actions: BTreeMap<&'static str, u64>,
}

async fn run_alerts(dir: &Path, alerts: u64, concurrency: usize) -> Value {
    let config = Config::load(&dir.join("palisade.toml")).unwrap_or_else(|e| panic!("{e}"));
    let loading = Instant::now();
    let (pipeline, failures) = Pipeline::build(&config, RunMode::Live)
        .await
        .expect("the pipeline");
    let load_ms = loading.elapsed().as_secs_f64() * 1000.0;
    assert!(failures.is_empty(), "plugins not loaded: {failures:?}");
    let (rss_after_load, peak_at_load) = memory();
    // Resets the peak, so it is the peak while alerts run.
    let _ = std::fs::write("/proc/self/clear_refs", "5");

    let mut latencies =
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("a histogram");
    let mut counts = Counts::default();
    let mut schedule = Schedule::of(&config);
    schedule.concurrency = concurrency;
    let runner = Runner::new(pipeline, Arc::new(config), schedule);
    let (cpu_before, audit_before) = cpu_ms();
    let started = Instant::now();
    // Lines as `palisade run` reads them: each parsed, numbered and timed when taken.
    let lines = futures::stream::iter(0..alerts).map(|i| {
        let line = common::spray_line(i, CONFIDENCE);
        Received {
            number: i as usize + 1,
            at: Instant::now(),
            line: Ok(Box::new(native::parse_line(&line).expect("a valid alert"))),
        }
    });
    let mut finished = std::pin::pin!(runner.run(lines));
    while let Some(done) = finished.next().await {
        let Finished::Processed {
            received,
            priority,
            report,
            ..
        } = done
        else {
            panic!("every alert is distinct and valid");
        };
        let latency = received.elapsed();
        // What `palisade run --json` does with a report, written nowhere.
        let line = AlertLine::new(&report, 0, priority, None, &[], None);
        std::hint::black_box(serde_json::to_string(&line).expect("a report serializes"));
        latencies.saturating_record(latency.as_micros() as u64);
        for run in &report.plugins {
            counts.invocations += 1;
            if run.invocation.status == InvocationStatus::Completed {
                counts.completed += 1;
            }
            for action in &run.invocation.calls.actions {
                let status = match action.result {
                    ActionResult::Executed { .. } => "executed",
                    ActionResult::Failed { .. } => "failed",
                    ActionResult::Simulated { .. } => "simulated",
                    ActionResult::Held { .. } => "held",
                    ActionResult::Refused { .. } => "refused",
                };
                *counts.actions.entry(status).or_default() += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_after, audit_after) = cpu_ms();
    let per_alert_us = |ms: f64| {
        if alerts > 0 {
            ms * 1000.0 / alerts as f64
        } else {
            0.0
        }
    };
    let (rss_end, peak_while_running) = memory();
    let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    json!({
        "alerts": alerts,
        "concurrency": concurrency,
        "load_ms": load_ms,
        "seconds": seconds,
        "alerts_per_second": if seconds > 0.0 { alerts as f64 / seconds } else { 0.0 },
        "latency_ms": {
            "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "p99.9": ms(0.999),
            "max": latencies.max() as f64 / 1000.0,
            "mean": latencies.mean() / 1000.0,
        },
        "cpu_us_per_alert": per_alert_us(cpu_after - cpu_before),
        "audit_writer_cpu_us_per_alert": per_alert_us(audit_after - audit_before),
        "rss_after_load_kib": rss_after_load,
        "peak_rss_at_load_kib": peak_at_load,
        "peak_rss_kib": peak_while_running.max(rss_end),
        "rss_end_kib": rss_end,
        "invocations": counts.invocations,
        "completed": counts.completed,
        "actions": counts.actions.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "),
    })
}

// ---------------------------------------------------------------------------------------------
// Process per action.

/// The interpreter itself, not a version manager's shim in front of it.
fn python() -> PathBuf {
    let output = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is installed");
    assert!(output.status.success(), "python3 does not run");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

fn spawn_triage(python: &Path, script: &Path, request: &[u8]) -> Value {
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(request)
        .expect("write the alert");
    let output = child.wait_with_output().expect("wait for python");
    assert!(output.status.success(), "the Python action failed");
    serde_json::from_slice(&output.stdout).expect("the Python action prints JSON")
}

fn process_per_action(spawns: usize, rows: &[(String, Value)]) {
    if spawns == 0 {
        return;
    }
    let plugins = common::plugins();
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/process-per-action/triage.py");
    let settings = BTreeMap::from([
        ("vip_users".to_owned(), "ceo,cfo".to_owned()),
        ("crown_jewels".to_owned(), "dc01,payroll-db".to_owned()),
    ]);

    // The alert as triage sees it in the chain: enriched by ip-reputation.
    let mut alert = native::parse_line(&common::spray_line(7, CONFIDENCE)).expect("a valid alert");
    alert.annotations.push(Annotation {
        source: "ip-reputation".into(),
        key: format!("intel:{}", common::source_ip(7)),
        value: "malicious score=90 sources=abuse-feed tags=password-spray".into(),
    });
    let request = serde_json::to_vec(&json!({"alert": alert, "settings": settings})).expect("JSON");

    // Palisade's triage plugin, a fresh instance per alert, one after another on one thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
    let context = palisade_runtime::capability::PluginContext {
        settings: Arc::new(settings.clone()),
        ..palisade_runtime::capability::PluginContext::isolated("triage", Limits::default())
    };
    let triage = rt
        .block_on(runtime.load("triage", &plugins.triage, context))
        .expect("load triage");
    let wasm = rt.block_on(triage.invoke(&alert)).outcome.expect("an outcome");

    // Same logic, same answer.
    let answer = spawn_triage(&python, &script, &request);
    assert_eq!(
        answer["risk_score"].as_u64(),
        wasm.risk_score.map(u64::from),
        "{answer}"
    );
    assert_eq!(answer["summary"].as_str(), wasm.summary.as_deref(), "{answer}");

    let invocations = 5_000;
    let started = Instant::now();
    rt.block_on(async {
        for _ in 0..invocations {
            std::hint::black_box(triage.invoke(&alert).await);
        }
    });
    let wasm_per_alert = started.elapsed() / invocations;

    // One process per alert, one after another.
    let mut latencies = Vec::with_capacity(spawns);
    let started = Instant::now();
    for _ in 0..spawns {
        let begun = Instant::now();
        std::hint::black_box(spawn_triage(&python, &script, &request));
        latencies.push(begun.elapsed());
    }
    let sequential = started.elapsed();
    latencies.sort();
    let process_mean = sequential / spawns as u32;

    // Two at a time, as many as there are cores.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                for _ in 0..spawns / cores {
                    std::hint::black_box(spawn_triage(&python, &script, &request));
                }
            });
        }
    });
    let parallel_per_second = (spawns / cores * cores) as f64 / started.elapsed().as_secs_f64();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "process per action ({}, {spawns} alerts, one process each):",
        python.display()
    );
    println!(
        "  one at a time: mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms per alert ({:.0} alerts/s)",
        ms(process_mean),
        ms(latencies[spawns / 2]),
        ms(latencies[(spawns * 99 / 100).min(spawns - 1)]),
        spawns as f64 / sequential.as_secs_f64()
    );
    println!("  {cores} at a time: {parallel_per_second:.0} alerts/s");
    println!(
        "palisade triage, fresh instance per alert, one thread: {:.1} us per alert",
        wasm_per_alert.as_secs_f64() * 1e6
    );
    println!(
        "  ratio, one (alert, plugin): process per action / palisade = {:.0}x (target >= 10,000x)",
        process_mean.as_secs_f64() / wasm_per_alert.as_secs_f64()
    );
    for (scenario, r) in rows {
        let throughput = r["alerts_per_second"].as_f64().unwrap_or(0.0);
        println!(
            "  ratio, throughput on {cores} cores: palisade {scenario} chain ({} alerts, 3 plugins each) / \
             process per action (1 plugin) = {:.0}x",
            r["alerts"],
            throughput / parallel_per_second
        );
    }
}
