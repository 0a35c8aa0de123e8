//! `palisade serve` under load: the release binary on the three-plugin chain (embedded
//! connectors, dry-run), alerts posted one per request with the default HMAC signature over
//! keep-alive connections by 1, 16 and 64 senders at once, while the workers run them.
//! Reports accepted alerts per second and the accept latency (p50, p99), the time until the
//! queue is drained, the time a restart after `kill -9` takes to be ready with alerts queued,
//! and `palisade run` on the same alerts, side by side.
//!
//! `PALISADE_BENCH_SERVE_ALERTS` (default 5000) alerts per sender count;
//! `PALISADE_BENCH_SERVE_SENDERS` (default `1,16,64`).

mod common;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-signing-key";

fn main() {
    let alerts: u64 = env_number("PALISADE_BENCH_SERVE_ALERTS", 5000);
    let senders: Vec<usize> = std::env::var("PALISADE_BENCH_SERVE_SENDERS")
        .unwrap_or_else(|_| "1,16,64".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let palisade = common::release_binary();
    println!("machine: {}", common::machine());
    println!("palisade serve, the three-plugin chain in dry-run, {alerts} alerts per run, one per request\n");
    println!("| senders | accepted/s | p50 ms | p99 ms | drained after s | palisade run s (same alerts) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut next = 0u64;
    for &count in &senders {
        let dir = tempfile::tempdir().expect("a folder");
        let config = config(dir.path());
        let serving = Serving::start(&palisade, &config);
        let first = next;
        next += alerts;
        let started = Instant::now();
        let latencies = post_all(serving.address, first..first + alerts, count);
        let posting = started.elapsed();
        serving.wait_drained();
        let drained = started.elapsed();
        drop(serving);
        let run = run_file(&palisade, first..first + alerts);
        println!(
            "| {count} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} |",
            alerts as f64 / posting.as_secs_f64(),
            latencies.value_at_quantile(0.5) as f64 / 1000.0,
            latencies.value_at_quantile(0.99) as f64 / 1000.0,
            drained.as_secs_f64(),
            run.as_secs_f64(),
        );
    }

    // A restart after kill -9 with alerts queued: how soon it takes alerts again.
    let queued = env_number("PALISADE_BENCH_SERVE_QUEUED", 10_000);
    let dir = tempfile::tempdir().expect("a folder");
    let config = config(dir.path());
    let serving = Serving::start(&palisade, &config);
    post_all(serving.address, next..next + queued, 16);
    let depth = serving.queue_depth();
    drop(serving); // SIGKILL
    let started = Instant::now();
    let serving = Serving::start(&palisade, &config);
    let ready = started.elapsed();
    println!(
        "\nrestart after kill -9 with {depth} alerts queued: ready in {:.0} ms (queue depth then {})",
        ready.as_secs_f64() * 1000.0,
        serving.queue_depth()
    );
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The chain's config with one signing source, breaker limits out of the way.
fn config(dir: &Path) -> PathBuf {
    let path = common::chain_config(dir, 16, "dry-run", 10_000_000);
    std::fs::write(dir.join("bench.key"), SECRET).expect("write the key");
    let mut text = std::fs::read_to_string(&path).expect("the config");
    text.push_str("\n[serve]\nqueue_limit = 1000000\n\n[serve.sources.bench]\nauth = \"hmac\"\nsecret = { file = \"bench.key\" }\n");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// `palisade run` on the same alerts, in a fresh folder; how long it took.
fn run_file(palisade: &Path, alerts: std::ops::Range<u64>) -> Duration {
    let dir = tempfile::tempdir().expect("a folder");
    let config = config(dir.path());
    let lines: Vec<String> = alerts.map(|i| common::spray_line(i, 95)).collect();
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

struct Serving {
    child: Child,
    address: SocketAddr,
}

impl Serving {
    fn start(palisade: &Path, config: &Path) -> Serving {
        let mut child = Command::new(palisade)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start palisade serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected: {line}"))
            .parse()
            .expect("an address");
        let serving = Serving { child, address };
        while get(serving.address, "/readyz").0 != 200 {
            std::thread::sleep(Duration::from_millis(5));
        }
        serving
    }

    fn queue_depth(&self) -> u64 {
        let (_, metrics) = get(self.address, "/metrics");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("palisade_queue_depth "))
            .and_then(|value| value.parse().ok())
            .unwrap_or(u64::MAX)
    }

    fn wait_drained(&self) {
        while self.queue_depth() > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn get(address: SocketAddr, path: &str) -> (u16, String) {
    runtime().block_on(async {
        let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", "bench")
            .body(Full::new(bytes::Bytes::new()))
            .expect("a request");
        let response = sender.send_request(request).await.expect("an answer");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

/// Posts alerts `range`, one per request, from `senders` keep-alive connections at once; the
/// latency of each request in microseconds.
fn post_all(
    address: SocketAddr,
    range: std::ops::Range<u64>,
    senders: usize,
) -> hdrhistogram::Histogram<u64> {
    let next = Arc::new(AtomicU64::new(range.start));
    let end = range.end;
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..senders {
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
                let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .expect("handshake");
                tokio::spawn(connection);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return latencies;
                    }
                    let body = common::spray_line(i, 95);
                    let timestamp = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .expect("a clock")
                        .as_secs();
                    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("a key");
                    mac.update(format!("{timestamp}.{body}").as_bytes());
                    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                    let request = hyper::Request::post("/v1/sources/bench/alerts")
                        .header("host", "bench")
                        .header("x-palisade-timestamp", timestamp.to_string())
                        .header("x-palisade-signature", signature)
                        .body(Full::new(bytes::Bytes::from(body)))
                        .expect("a request");
                    let started = Instant::now();
                    sender.ready().await.expect("the connection is ready");
                    let response = sender.send_request(request).await.expect("an answer");
                    let status = response.status().as_u16();
                    let _ = response.into_body().collect().await;
                    latencies
                        .record(started.elapsed().as_micros() as u64)
                        .expect("in range");
                    assert_eq!(status, 202, "alert {i}");
                }
            }));
        }
        let mut all = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
        for task in tasks {
            all.add(task.await.expect("a sender")).expect("same bounds");
        }
        all
    })
}
