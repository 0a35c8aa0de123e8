//! `palisade serve` under load: the release binary on the three-plugin chain (embedded
//! connectors, dry-run), alerts posted one per request with the default HMAC signature over
//! keep-alive connections by 1, 16 and 64 senders at once, while the workers run them.
//! Reports accepted alerts per second and the accept latency (p50, p99), the time until the
//! queue is drained, the time from an alert's acceptance to its first action under that load
//! (the service's own histogram, so bucket bounds), the time a restart after `kill -9` takes to be ready with alerts queued,
//! the rate the workers alone drain that queue at, and `palisade run` on the same alerts, side
//! by side.
//!
//! `PALISADE_BENCH_SERVE_ALERTS` (default 5000) alerts per sender count;
//! `PALISADE_BENCH_SERVE_SENDERS` (default `1,16,64`); `PALISADE_BENCH_BINARY`, a binary to
//! measure instead of this tree's release build (another commit's, to compare side by side).

mod common;

use common::serving::{Serving, post_all};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let alerts: u64 = env_number("PALISADE_BENCH_SERVE_ALERTS", 5000);
    let senders: Vec<usize> = std::env::var("PALISADE_BENCH_SERVE_SENDERS")
        .unwrap_or_else(|_| "1,16,64".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let palisade =
        std::env::var_os("PALISADE_BENCH_BINARY").map_or_else(common::release_binary, PathBuf::from);
    println!("machine: {}", common::machine());
    println!("palisade serve, the three-plugin chain in dry-run, {alerts} alerts per run, one per request\n");
    println!(
        "| senders | accepted/s | p50 ms | p99 ms | drained after s | alert to action p50 / p99 s | palisade run s (same alerts) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut next = 0u64;
    for &count in &senders {
        let dir = tempfile::tempdir().expect("a folder");
        let config = config(dir.path());
        let serving = Serving::start(&palisade, &config);
        let first = next;
        next += alerts;
        let started = Instant::now();
        let latencies = post_all(serving.address, first..first + alerts, count, line);
        let posting = started.elapsed();
        serving.wait_drained();
        let drained = started.elapsed();
        let (status, metrics) = common::serving::get(serving.address, "/metrics");
        assert_eq!(status, 200, "/metrics: {metrics}");
        let to_action = |q: f64| respond_quantile(&metrics, q).map_or("-".to_owned(), |s| format!("{s}"));
        drop(serving);
        let run = run_file(&palisade, first..first + alerts);
        println!(
            "| {count} | {:.0} | {:.2} | {:.2} | {:.1} | ≤ {} / ≤ {} | {:.1} |",
            alerts as f64 / posting.as_secs_f64(),
            latencies.value_at_quantile(0.5) as f64 / 1000.0,
            latencies.value_at_quantile(0.99) as f64 / 1000.0,
            drained.as_secs_f64(),
            to_action(0.5),
            to_action(0.99),
            run.as_secs_f64(),
        );
    }

    // A restart after kill -9 with alerts queued: how soon it takes alerts again.
    let queued = env_number("PALISADE_BENCH_SERVE_QUEUED", 10_000);
    let dir = tempfile::tempdir().expect("a folder");
    let config = config(dir.path());
    let serving = Serving::start(&palisade, &config);
    post_all(serving.address, next..next + queued, 64, line);
    let depth = serving.queue_depth();
    drop(serving); // SIGKILL
    let started = Instant::now();
    let serving = Serving::start(&palisade, &config);
    let ready = started.elapsed();
    let depth_then = serving.queue_depth();
    println!(
        "\nrestart after kill -9 with {depth} alerts queued: ready in {:.0} ms (queue depth then {depth_then})",
        ready.as_secs_f64() * 1000.0,
    );
    // The workers alone, nothing arriving: the rate they drain a full queue at, against
    // `palisade run` on a file of as many alerts.
    serving.wait_drained();
    let draining = started.elapsed() - ready;
    drop(serving);
    let run = run_file(&palisade, next..next + depth_then);
    println!(
        "workers alone: {depth_then} queued alerts drained in {:.2} s ({:.0} alerts/s); palisade run on as many: {:.2} s ({:.0} alerts/s)",
        draining.as_secs_f64(),
        depth_then as f64 / draining.as_secs_f64(),
        run.as_secs_f64(),
        depth_then as f64 / run.as_secs_f64(),
    );
}

/// The upper bound of the `time_to_respond_seconds` histogram bucket holding quantile `q`:
/// from an alert's acceptance (its wait in the queue included) to its first response, as the
/// service's own `/metrics` counts it.
fn respond_quantile(metrics: &str, q: f64) -> Option<f64> {
    let buckets: Vec<(f64, f64)> = metrics
        .lines()
        .filter(|line| line.contains("time_to_respond_seconds_bucket"))
        .filter_map(|line| {
            let le = line.split("le=\"").nth(1)?.split('"').next()?;
            let count = line.rsplit(' ').next()?.parse().ok()?;
            Some((
                if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                },
                count,
            ))
        })
        .collect();
    let total = buckets.last()?.1;
    buckets
        .iter()
        .find(|(_, count)| *count >= q * total && total > 0.0)
        .map(|(le, _)| *le)
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The chain's config in dry-run with one signing source, breaker limits out of the way.
fn config(dir: &Path) -> PathBuf {
    common::serving::config(dir, "dry-run")
}

/// `palisade run` on the same alerts, in a fresh folder; how long it took.
fn run_file(palisade: &Path, alerts: std::ops::Range<u64>) -> Duration {
    let dir = tempfile::tempdir().expect("a folder");
    let config = config(dir.path());
    let lines: Vec<String> = alerts.map(line).collect();
    std::fs::write(dir.path().join("alerts.jsonl"), lines.join("\n") + "\n").expect("write alerts");
    let started = Instant::now();
    let status = Command::new(palisade)
        .args(["run", "--config"])
        .arg(&config)
        .arg(dir.path().join("alerts.jsonl"))
        .arg("--json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run palisade");
    assert!(
        status.code().is_some_and(|code| code == 0 || code == 3),
        "palisade run: {status}"
    );
    started.elapsed()
}

/// Alert `i` as every run of this bench posts it.
fn line(i: u64) -> String {
    common::spray_line(i, 95)
}
