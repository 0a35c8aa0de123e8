//! `palisade serve` for the benches that measure it (`serve`, `console`): the release binary
//! on the three-plugin chain with one signing source, started on loopback, alerts posted signed
//! one per request, and the queue watched until it is drained.

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

/// The bench source's HMAC secret.
pub const SECRET: &str = "bench-signing-key";

/// The chain's config (policy `mode`) with one signing source, `bench`, breaker limits out of
/// the way.
pub fn config(dir: &Path, mode: &str) -> PathBuf {
    let path = super::chain_config(dir, 16, mode, 10_000_000);
    std::fs::write(dir.join("bench.key"), SECRET).expect("write the key");
    let mut text = std::fs::read_to_string(&path).expect("the config");
    text.push_str("\n[serve]\nqueue_limit = 1000000\n\n[serve.sources.bench]\nauth = \"hmac\"\nsecret = { file = \"bench.key\" }\n");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// A running `palisade serve`; dropping it kills it (SIGKILL).
pub struct Serving {
    child: Child,
    pub address: SocketAddr,
}

impl Serving {
    /// Starts the binary on a free loopback port and waits until `/readyz` answers 200.
    pub fn start(palisade: &Path, config: &Path) -> Serving {
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

    pub fn queue_depth(&self) -> u64 {
        let (_, metrics) = get(self.address, "/metrics");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("palisade_queue_depth "))
            .and_then(|value| value.parse().ok())
            .unwrap_or(u64::MAX)
    }

    pub fn wait_drained(&self) {
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

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// `GET path` on a connection of its own: the status and the body.
pub fn get(address: SocketAddr, path: &str) -> (u16, String) {
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

/// Posts alerts `range` to the `bench` source, the body of alert `i` being `line(i)`, one per
/// request, signed with [`SECRET`], from `senders` keep-alive connections at once; the latency
/// of each request in microseconds.
pub fn post_all(
    address: SocketAddr,
    range: std::ops::Range<u64>,
    senders: usize,
    line: fn(u64) -> String,
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
                    let body = line(i);
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
