//! `palisade serve` as a sender and an operator meet it: started on a free loopback port,
//! posted to with signed requests, signalled, and killed.

use crate::{Case, artifacts};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A running service; dropping it kills it with SIGKILL, as a crash would.
pub struct Serving {
    child: Child,
    pub address: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// What the service answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Case {
    /// Starts `palisade serve` on the case's config and waits until it is ready.
    pub fn serve(&self) -> Serving {
        let mut command = Command::new(&artifacts().palisade);
        command
            .args(["serve", "--config", "palisade.toml", "--listen", "127.0.0.1:0"])
            .current_dir(self.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in self.environment() {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start palisade serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut chunk) {
                if read == 0 {
                    break;
                }
                kept.lock().unwrap().extend_from_slice(&chunk[..read]);
            }
        });
        let (lines, readiness) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        // Keeps reading: a full pipe would block the service.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let line = readiness
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "palisade serve did not say where it listens:\n{}",
                    String::from_utf8_lossy(&stderr.lock().unwrap())
                )
            });
        let address = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .parse()
            .expect("an address");
        let serving = Serving {
            child,
            address,
            stderr,
        };
        let started = Instant::now();
        while serving.get("/readyz", &[]).status != 200 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "not ready:\n{}",
                serving.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        serving
    }
}

impl Serving {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub fn get(&self, path: &str, headers: &[(&str, String)]) -> Answer {
        self.request("GET", path, headers, Vec::new())
    }

    pub fn post(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
        self.request("POST", path, headers, body.to_vec())
    }

    /// Posts `body` to a source, signed with `secret` the default way.
    pub fn post_signed(&self, source: &str, secret: &str, body: &str) -> Answer {
        self.post(
            &format!("/v1/sources/{source}/alerts"),
            &signature(secret, now(), body),
            body.as_bytes(),
        )
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let stream = tokio::net::TcpStream::connect(self.address)
                .await
                .expect("connect to the service");
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("HTTP handshake");
            tokio::spawn(connection);
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", self.address.to_string());
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let response = sender
                .send_request(
                    request
                        .body(Full::new(bytes::Bytes::from(body)))
                        .expect("a request"),
                )
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Answer {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            }
        })
    }

    /// Sends SIGHUP (reload the config) and waits until the service logged `until`.
    pub fn hangup(&self, until: &str) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::HUP).expect("signal the service");
        let started = Instant::now();
        while !self.stderr().contains(until) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no {until:?} after SIGHUP:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the service to exit; its exit code.
    pub fn terminate(mut self, within: Duration) -> Option<i32> {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal the service");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                started.elapsed() < within,
                "still running after SIGTERM:\n{}",
                self.stderr()
            );
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

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The default signature headers: HMAC-SHA256 of `{timestamp}.{body}`, hex, `sha256=`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    vec![
        ("x-palisade-timestamp", timestamp.to_string()),
        (
            "x-palisade-signature",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        ),
        ("content-type", "application/json".to_owned()),
    ]
}

/// Unix seconds as the console's `datetime-local` filter fields take them: `YYYY-MM-DDTHH:MM`,
/// UTC.
pub fn datetime_local(unix: i64) -> String {
    let format = time::format_description::parse_borrowed::<2>("[year]-[month]-[day]T[hour]:[minute]")
        .expect("a valid format description");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_time_reads_as_the_console_form_takes_it() {
        assert_eq!(super::datetime_local(1_796_389_016), "2026-12-04T12:56");
        assert_eq!(super::datetime_local(0), "1970-01-01T00:00");
    }
}
