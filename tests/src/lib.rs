//! The end-to-end harness: builds the `palisade` binary and the plugins once per test process,
//! runs the binary as a user would, in a fresh temporary folder, and stands in for the vendor
//! systems with an HTTP [`Receiver`] on loopback that records what it was sent.
//!
//! ```no_run
//! use palisade_e2e::{Case, Receiver, spray_alert};
//!
//! let receiver = Receiver::start();
//! let case = Case::new().receiver(&receiver);
//! case.config(
//!     r#"
//! [connectors.hook]
//! kind = "webhook"
//! url = "${RECEIVER}"
//!
//! [plugins.password-spray]
//! path = "${PASSWORD_SPRAY}"
//! stage = "respond"
//! "#,
//! );
//! case.alerts(&[spray_alert("a-1", 92)]);
//! let run = case.run();
//! assert_eq!(run.code, Some(0), "{run}");
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

mod browser;
mod serve;
pub use browser::{Browser, screenshot_dir};
pub use serve::{Answer, Serving, datetime_local, now as serve_now, signature};

/// How long one `palisade` command may take before it is killed and the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The plugins the tests use, by package name.
const PLUGIN_PACKAGES: [&str; 5] = [
    "password-spray",
    "ip-reputation",
    "triage",
    "rdap-enrich",
    "hostile-plugin",
];

/// What the build produced.
#[derive(Debug)]
pub struct Artifacts {
    /// `target/debug/palisade`.
    pub palisade: PathBuf,
    pub password_spray: PathBuf,
    pub ip_reputation: PathBuf,
    pub triage: PathBuf,
    pub rdap_enrich: PathBuf,
    pub hostile: PathBuf,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate sits in the workspace")
        .to_owned()
}

/// Builds the host binary and the plugins, once per test process; panics with cargo's output
/// when a build fails.
pub fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(build)
}

/// Where cargo puts what it builds.
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds plugin packages to `wasm32-wasip2` components, in release mode, in one cargo call.
pub fn build_plugins(packages: &[&str]) {
    let mut args = vec!["build", "--release", "--target", "wasm32-wasip2"];
    for package in packages {
        args.extend(["-p", package]);
    }
    cargo(&workspace_root(), &args);
}

/// The component a plugin package built to; panics when the build did not produce it.
pub fn plugin_wasm(package: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.is_file(), "the build did not produce {}", path.display());
    path
}

/// A finished command's status and both outputs, for a failing assertion's message.
pub fn show_output(output: &std::process::Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The compiled-code cache every case shares unless its config names its own: a 12-18 MB
/// Python or JavaScript plugin takes seconds to compile, once per build of it, not once per
/// case. Entries are keyed by the component's SHA-256, so sharing never mixes plugins up.
pub fn shared_compiled_dir() -> PathBuf {
    target_dir().join("e2e-compiled")
}

/// Builds a plugin written in another language than Rust with its own build script,
/// `plugins/NAME/build OUT.wasm`, and returns the component. The script takes its toolchain
/// from `plugins/toolchains/setup` (the README's test command runs it); a missing toolchain
/// fails the build with a message that says so.
///
/// A build newer than everything it is made from (the plugin's folder, the WIT, the toolchain
/// pins) is reused, as make would: componentize-py and componentize-js do not build
/// byte-identical components, so building again would make every test process compile a new
/// 14-19 MB component instead of loading the last one from the shared cache.
pub fn foreign_plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Held across the build: two tests asking for one plugin build it once.
    let mut built = built.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let script = workspace_root().join("plugins").join(name).join("build");
    let out = target_dir().join("plugins").join(format!("{name}.wasm"));
    let sources = [
        workspace_root().join("plugins").join(name),
        workspace_root().join("wit"),
        workspace_root().join("plugins/toolchains"),
    ];
    let built_at = std::fs::metadata(&out).and_then(|m| m.modified()).ok();
    if let Some(built_at) = built_at
        && sources.iter().all(|source| newest_change(source) < built_at)
    {
        built.insert(name.to_owned(), out.clone());
        return out;
    }
    std::fs::create_dir_all(out.parent().expect("a file in a folder")).expect("create target/plugins");
    // Built aside and renamed into place: another test process may be loading the last build.
    let building = out.with_file_name(format!("{name}.{}.tmp.wasm", std::process::id()));
    let output = Command::new(&script)
        .arg(&building)
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`{}` failed ({}):\n{}\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        building.is_file(),
        "{} did not produce {}",
        script.display(),
        building.display()
    );
    std::fs::rename(&building, &out).unwrap_or_else(|e| panic!("rename to {}: {e}", out.display()));
    built.insert(name.to_owned(), out.clone());
    out
}

/// When anything under `path` last changed; generated folders a build or a tool leaves in a
/// plugin's folder (`node_modules`, `__pycache__`, `gen`) are not sources.
fn newest_change(path: &Path) -> std::time::SystemTime {
    let mut newest = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if ["node_modules", "__pycache__", "gen"].contains(&name.to_string_lossy().as_ref()) {
                continue;
            }
            newest = newest.max(newest_change(&entry.path()));
        }
    }
    newest
}

fn build() -> Artifacts {
    let root = workspace_root();
    let target = target_dir();
    cargo(&root, &["build", "-p", "palisade"]);
    build_plugins(&PLUGIN_PACKAGES);
    let wasm = plugin_wasm;
    let palisade = target
        .join("debug")
        .join(format!("palisade{}", std::env::consts::EXE_SUFFIX));
    assert!(
        palisade.is_file(),
        "the build did not produce {}",
        palisade.display()
    );
    Artifacts {
        palisade,
        password_spray: wasm("password-spray"),
        ip_reputation: wasm("ip-reputation"),
        triage: wasm("triage"),
        rdap_enrich: wasm("rdap-enrich"),
        hostile: wasm("hostile-plugin"),
    }
}

/// Removes the variables `cargo test` (or `cargo bench`) sets to describe this crate to its
/// processes, so that a cargo run by `command` is a user's plain cargo, not a build of this crate.
fn without_cargo_test_vars(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
}

/// A command that runs `line` with bash in `project`, a folder `palisade plugin new` wrote, as
/// its author would: with the pinned toolchains of `plugins/toolchains/setup` on PATH
/// (`plugins/toolchains/env`, so no network is needed), `PALISADE` naming the binary under test
/// (the project's `test` script runs it), and none of the variables `cargo test` sets for this
/// crate. Rust projects build into one shared folder, `target/scaffold`, so their dependencies
/// (wit-bindgen) are compiled once.
pub fn project_script(project: &Path, line: &str) -> Command {
    let env = workspace_root().join("plugins/toolchains/env");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("source \"$1\" && {line}"))
        .arg("bash")
        .arg(env)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir().join("scaffold"))
        .env("PALISADE", &artifacts().palisade);
    without_cargo_test_vars(&mut command);
    command
}

fn cargo(root: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command.args(args).current_dir(root);
    // `cargo test` describes this crate to its test processes; the inner build is a user's
    // plain `cargo build`, not a build of this crate.
    without_cargo_test_vars(&mut command);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo.to_string_lossy()));
    assert!(
        output.status.success(),
        "`cargo {}` failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// The loopback receiver.

/// One HTTP request the receiver got.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path and query.
    pub path: String,
    /// In the order received, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Null` when it is not JSON.
    pub body: Value,
    pub raw_body: String,
    /// When the receiver read it.
    pub at: Instant,
}

impl Recorded {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The envelope's `capability`.
    pub fn capability(&self) -> &str {
        self.body["capability"].as_str().unwrap_or_default()
    }

    /// The envelope's `operation`.
    pub fn operation(&self) -> &str {
        self.body["operation"].as_str().unwrap_or_default()
    }

    /// The envelope's `request`.
    pub fn request(&self) -> &Value {
        &self.body["request"]
    }

    pub fn is(&self, capability: &str, operation: &str) -> bool {
        self.capability() == capability && self.operation() == operation
    }
}

/// The receiver's answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Besides `Content-Type: application/json`.
    pub headers: Vec<(String, String)>,
    /// Sent with chunked transfer encoding, without a `Content-Length`.
    pub chunked: bool,
    /// Held this long before it is sent, as a slow vendor would; other requests are answered
    /// meanwhile.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            headers: Vec::new(),
            chunked: false,
            delay: None,
        }
    }

    /// This reply, sent only after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply {
            delay: Some(delay),
            ..self
        }
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply {
            headers: vec![("Location".into(), location.into())],
            ..Reply::json(302, &Value::Null)
        }
    }

    /// A 200 whose body is `body`, chunked or with its length.
    pub fn body(body: String, chunked: bool) -> Reply {
        Reply {
            body,
            chunked,
            ..Reply::json(200, &Value::Null)
        }
    }

    /// An `intel.lookup` report.
    pub fn intel(indicator: &str, reputation: &str, score: u8, sources: &[&str]) -> Reply {
        Reply::json(
            200,
            &serde_json::json!({
                "indicator": indicator,
                "reputation": reputation,
                "score": score,
                "sources": sources,
                "tags": [],
            }),
        )
    }

    pub fn not_found() -> Reply {
        Reply::json(404, &serde_json::json!({"error": "not found"}))
    }
}

type Rule = dyn Fn(&Recorded) -> Option<Reply> + Send + Sync;

/// A stand-in for every vendor system: an HTTP server on 127.0.0.1 that records each request
/// and answers by a rule. Requests the rule leaves alone (`None`) get the default answer:
/// `ticket.create` -> `{"id":"T-<n>","url":null}`, `intel.lookup` -> 404, anything else `{}`.
///
/// Built on hyper, so any number of connections are served at once, as a vendor's are: a run
/// with many alerts in flight opens many.
pub struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Serves until the receiver is dropped, which closes the listener and every connection.
    runtime: Option<tokio::runtime::Runtime>,
}

/// What every connection of one receiver shares.
struct Served {
    rule: Box<Rule>,
    /// How long each default answer is held.
    held: Option<Duration>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    tickets: AtomicU32,
}

impl Receiver {
    /// A receiver that gives the default answers.
    pub fn start() -> Receiver {
        Receiver::with_rule(|_| None)
    }

    /// A slow vendor: the default answers, each held `delay` (other requests are answered
    /// meanwhile).
    pub fn slow(delay: Duration) -> Receiver {
        Receiver::serve(Box::new(|_| None), Some(delay))
    }

    /// A receiver that answers with `rule`, or by default where it returns `None`. The rule runs
    /// on the receiver's own threads, for many requests at once: it must not block (a slow
    /// vendor is [`Reply::after`]).
    pub fn with_rule(rule: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) -> Receiver {
        Receiver::serve(Box::new(rule), None)
    }

    /// Serves `rule`, holding its default answers `held`.
    fn serve(rule: Box<Rule>, held: Option<Duration>) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("receiver")
            .enable_all()
            .build()
            .expect("the receiver's runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a bound address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Served {
            rule,
            held,
            requests: Arc::clone(&requests),
            tickets: AtomicU32::new(0),
        });
        runtime.spawn(async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    // Out of descriptors, say: wait for some to close rather than spin.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let served = Arc::clone(&served);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| answer(request, Arc::clone(&served)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            port,
            requests,
            runtime: Some(runtime),
        }
    }

    /// The URL to configure as a webhook connector's `url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/palisade", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request so far, in the order their bodies were read (requests on different
    /// connections interleave).
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The requests that would change something at the vendor: every one but the lookups the
    /// host sends to resolve a target or read intel.
    pub fn effects(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| !r.operation().starts_with("lookup"))
            .collect()
    }

    /// The requests for one operation, e.g. `("identity", "revoke-sessions")`.
    pub fn calls(&self, capability: &str, operation: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.is(capability, operation))
            .collect()
    }
}

impl Drop for Receiver {
    /// Without waiting for connections to finish, so a receiver may also be dropped inside an
    /// async test, where a runtime's blocking shutdown would panic.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A reply's body: whole, with its length, or in chunks without one.
type ReplyBody = http_body_util::Either<
    http_body_util::Full<bytes::Bytes>,
    http_body_util::StreamBody<
        futures::stream::Iter<
            std::vec::IntoIter<Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>>,
        >,
    >,
>;

/// Records one request and answers it by the rule.
async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    served: Arc<Served>,
) -> Result<hyper::Response<ReplyBody>, hyper::Error> {
    use http_body_util::BodyExt;

    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let raw = request.into_body().collect().await?.to_bytes();
    let raw_body = String::from_utf8_lossy(&raw).into_owned();
    let recorded = Recorded {
        method,
        path,
        headers,
        body: serde_json::from_str(&raw_body).unwrap_or(Value::Null),
        raw_body,
        at: Instant::now(),
    };
    let reply = (served.rule)(&recorded).unwrap_or_else(|| {
        let reply = if recorded.is("ticket", "create") {
            let n = served.tickets.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::json(200, &serde_json::json!({"id": format!("T-{n}"), "url": null}))
        } else if recorded.is("intel", "lookup") {
            Reply::not_found()
        } else if recorded.is("identity", "lookup-user") {
            // A directory that knows every account by the name asked for, as its own record.
            let name = recorded.request()["user"].as_str().unwrap_or_default();
            Reply::json(
                200,
                &serde_json::json!({"id": format!("uid-{name}"), "name": name}),
            )
        } else if recorded.is("endpoint", "lookup-host") {
            let name = recorded.request()["hostname"].as_str().unwrap_or_default();
            Reply::json(
                200,
                &serde_json::json!({"id": format!("did-{name}"), "hostname": name}),
            )
        } else {
            Reply::json(200, &serde_json::json!({}))
        };
        Reply {
            delay: served.held,
            ..reply
        }
    });
    served
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(recorded);
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }

    let body = bytes::Bytes::from(reply.body);
    let body = if reply.chunked {
        let frames = vec![Ok(hyper::body::Frame::data(body))];
        http_body_util::Either::Right(http_body_util::StreamBody::new(futures::stream::iter(frames)))
    } else {
        http_body_util::Either::Left(http_body_util::Full::new(body))
    };
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status).expect("a valid status");
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    for (name, value) in &reply.headers {
        headers.append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
            hyper::header::HeaderValue::from_str(value).expect("a valid header value"),
        );
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// A case: a temporary folder with a config and alerts, and the binary run in it.

/// A temporary folder holding one scenario's files; `palisade` runs with it as its working
/// directory. Config text may use `${NAME}` placeholders: `PASSWORD_SPRAY`, `IP_REPUTATION`,
/// `TRIAGE`, `HOSTILE` (the plugins' paths), `DIR` (the folder), `RECEIVER` (after
/// [`Case::receiver`]) and any set with [`Case::var`]; `RDAP_ENRICH` is the RDAP plugin.
pub struct Case {
    dir: tempfile::TempDir,
    vars: BTreeMap<String, String>,
    env: Vec<(String, String)>,
}

impl Default for Case {
    fn default() -> Self {
        Case::new()
    }
}

impl Case {
    /// A fresh folder; builds the binary and plugins first if this process has not yet.
    pub fn new() -> Case {
        let artifacts = artifacts();
        let dir = tempfile::Builder::new()
            .prefix("palisade-e2e-")
            .tempdir()
            .expect("create a temporary folder");
        let mut vars = BTreeMap::new();
        for (name, path) in [
            ("PASSWORD_SPRAY", &artifacts.password_spray),
            ("IP_REPUTATION", &artifacts.ip_reputation),
            ("TRIAGE", &artifacts.triage),
            ("RDAP_ENRICH", &artifacts.rdap_enrich),
            ("HOSTILE", &artifacts.hostile),
            ("DIR", &dir.path().to_owned()),
        ] {
            vars.insert(name.to_owned(), path.display().to_string());
        }
        Case {
            dir,
            vars,
            env: vec![("RUST_LOG".into(), "info".into())],
        }
    }

    /// Sets `${RECEIVER}` to the receiver's URL.
    pub fn receiver(self, receiver: &Receiver) -> Case {
        self.var("RECEIVER", &receiver.url())
    }

    pub fn var(mut self, name: &str, value: &str) -> Case {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// An environment variable for the `palisade` process only (the default `RUST_LOG=info`
    /// can be replaced this way).
    pub fn env(mut self, name: &str, value: &str) -> Case {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The environment each `palisade` process of the case gets.
    pub fn environment(&self) -> &[(String, String)] {
        &self.env
    }

    /// Writes a file into the folder, verbatim.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Substitutes the `${NAME}` placeholders; panics on an unknown one.
    pub fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').expect("an unclosed ${ placeholder");
            let name = &after[..end];
            let value = self
                .vars
                .get(name)
                .unwrap_or_else(|| panic!("unknown placeholder ${{{name}}} (known: {:?})", self.vars.keys()));
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Writes `palisade.toml`: `text` with its placeholders substituted and, unless it sets
    /// them, `state_dir = "state"` (a fresh state folder in this case's folder) and a
    /// `compiled_dir` shared by every case (see [`shared_compiled_dir`]) added to
    /// `[defaults]`. Returns the path; [`Case::config_text`] gives what was written.
    pub fn config(&self, text: &str) -> PathBuf {
        let mut text = self.substitute(text);
        let mut defaults = Vec::new();
        if !text.contains("state_dir") {
            defaults.push("state_dir = \"state\"".to_owned());
        }
        if !text.contains("compiled_dir") {
            defaults.push(format!(
                "compiled_dir = {:?}",
                shared_compiled_dir().display().to_string()
            ));
        }
        if !defaults.is_empty() {
            let added = defaults.join("\n");
            text = match text.lines().position(|line| line.trim() == "[defaults]") {
                Some(index) => {
                    let mut lines: Vec<&str> = text.lines().collect();
                    lines.insert(index + 1, &added);
                    lines.join("\n") + "\n"
                }
                None => format!("[defaults]\n{added}\n\n{text}"),
            };
        }
        self.write("palisade.toml", text)
    }

    /// The config as written.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config_path()).expect("the config was written")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("palisade.toml")
    }

    /// Writes `alerts.jsonl`, one line each.
    pub fn alerts(&self, lines: &[String]) -> PathBuf {
        let mut text = lines.join("\n");
        text.push('\n');
        self.write("alerts.jsonl", text)
    }

    pub fn alerts_path(&self) -> PathBuf {
        self.dir.path().join("alerts.jsonl")
    }

    /// `palisade run --config palisade.toml --json alerts.jsonl`.
    pub fn run(&self) -> Run {
        self.palisade(&["run", "--config", "palisade.toml", "--json", "alerts.jsonl"])
    }

    /// `palisade ARGS` in the case's folder, stdin closed.
    pub fn palisade(&self, args: &[&str]) -> Run {
        self.palisade_with_stdin(args, None)
    }

    /// `palisade ARGS` in the case's folder with `stdin` as its input. The process is killed,
    /// and the test fails, after [`RUN_TIMEOUT`].
    pub fn palisade_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = Command::new(&artifacts().palisade);
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("start palisade");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let input = input.to_owned();
            // A writer thread: a child that does not read its input must not block the test.
            std::thread::spawn(move || {
                let _ = pipe.write_all(input.as_bytes());
            });
        }
        let reader = |mut stream: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = stream.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = reader(Box::new(child.stdout.take().expect("stdout is piped")));
        let stderr = reader(Box::new(child.stderr.take().expect("stderr is piped")));
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for palisade") {
                break Some(status);
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = started.elapsed();
        let run = Run {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            code: status.and_then(|s| s.code()),
            stdout: String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned(),
            stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
            elapsed,
        };
        assert!(
            status.is_some(),
            "palisade did not finish within {RUN_TIMEOUT:?} and was killed\n{run}"
        );
        run
    }
}

/// What one `palisade` command did.
pub struct Run {
    pub args: Vec<String>,
    /// `None` when it was ended by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Each stdout line parsed as JSON; panics on a line that is not.
    pub fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("stdout line is not JSON ({e}): {}\n{self}", shorten(line, 2000))
                })
            })
            .collect()
    }

    /// The records of one `type`.
    pub fn records(&self, kind: &str) -> Vec<Value> {
        self.json().into_iter().filter(|r| r["type"] == kind).collect()
    }

    /// The `alert` record of the alert with that id.
    pub fn alert(&self, id: &str) -> Value {
        let mut found: Vec<Value> = self
            .records("alert")
            .into_iter()
            .filter(|r| r["alert"]["id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "expected one alert record for {id}\n{self}");
        found.remove(0)
    }

    /// What `plugin` did with alert `id`.
    pub fn plugin(&self, id: &str, plugin: &str) -> Value {
        let alert = self.alert(id);
        let mut found: Vec<Value> = alert["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["plugin"] == plugin)
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "expected {plugin} to run once on {id}\n{self}");
        found.remove(0)
    }

    /// The plugins that ran on alert `id`, in order.
    pub fn plugins_run(&self, id: &str) -> Vec<String> {
        self.alert(id)["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["plugin"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The last record, which must be the summary.
    pub fn summary(&self) -> Value {
        let last = self.json().pop().unwrap_or(Value::Null);
        assert_eq!(
            last["type"], "summary",
            "the last stdout line is the summary\n{self}"
        );
        last
    }

    /// stderr without terminal colour codes.
    pub fn stderr_plain(&self) -> String {
        strip_ansi(&self.stderr)
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "--- palisade {} (exit {:?}, {:.1} s)",
            self.args.join(" "),
            self.code,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "--- stdout:\n{}", shorten(&self.stdout, 12_000))?;
        write!(f, "--- stderr:\n{}", shorten(&self.stderr_plain(), 12_000))
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Values in the JSON report.

/// `outcome.notes` as (key, value) pairs; empty when there is no outcome.
pub fn notes(plugin_run: &Value) -> Vec<(String, String)> {
    plugin_run["outcome"]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned())))
        .collect()
}

/// The value of the note `key`, if the outcome has it.
pub fn note(plugin_run: &Value, key: &str) -> Option<String> {
    notes(plugin_run)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// A JSON array of strings as a `Vec`; empty when absent.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Alerts.

/// The source of the password spray.
pub const SPRAY_IP: &str = "203.0.113.7";

/// A password-spray alert in the native format: alice and bob signed in, carol did not, all
/// from [`SPRAY_IP`].
pub fn spray_alert(id: &str, confidence: u8) -> String {
    serde_json::json!({
        "id": id,
        "title": "Password spray against 3 accounts",
        "source": "Okta",
        "rule": {"id": "okta-spray-01", "name": "Password spray"},
        "category": "credential-access",
        "severity": "high",
        "confidence": confidence,
        "timestamp": "2026-11-26T09:12:00Z",
        "entities": [
            {"type": "user", "name": "alice", "sign_in": "success"},
            {"type": "user", "name": "bob", "sign_in": "success"},
            {"type": "user", "name": "carol", "sign_in": "failure"},
            {"type": "ip", "address": SPRAY_IP, "direction": "source"},
        ],
        "tags": ["okta"],
    })
    .to_string()
}

/// An unremarkable alert for a benign plugin (triage) to handle.
pub fn plain_alert(id: &str, rule: &str) -> String {
    serde_json::json!({
        "id": id,
        "title": "Suspicious PowerShell on a workstation",
        "source": "EDR",
        "rule": {"id": rule, "name": rule},
        "category": "execution",
        "severity": "medium",
        "confidence": 70,
        "timestamp": "2026-11-26T10:00:00Z",
        "entities": [{"type": "host", "hostname": "laptop-7"}],
        "tags": [],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    fn post(receiver: &Receiver, body: &str, headers: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", receiver.port())).unwrap();
        write!(
            stream,
            "POST /palisade HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[test]
    fn the_receiver_records_and_gives_the_default_answers() {
        let receiver = Receiver::start();
        let reply = post(
            &receiver,
            r#"{"capability":"ticket","operation":"create","request":{}}"#,
            "Authorization: Bearer t\r\n",
        );
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.ends_with(r#"{"id":"T-1","url":null}"#), "{reply}");
        let reply = post(&receiver, r#"{"capability":"intel","operation":"lookup"}"#, "");
        assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
        let reply = post(&receiver, r#"{"capability":"identity","operation":"x"}"#, "");
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.ends_with("{}"),
            "{reply}"
        );

        let requests = receiver.requests();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/palisade");
        assert_eq!(requests[0].header("authorization"), Some("Bearer t"));
        assert_eq!(receiver.calls("intel", "lookup").len(), 1);
    }

    /// A run with many alerts in flight opens many connections at once; none may wait for
    /// another to close (the server this replaced left some for seconds, failing plugins at
    /// their deadline).
    #[test]
    fn a_burst_of_connections_with_slow_replies_is_answered_at_once() {
        const DELAY: Duration = Duration::from_millis(300);
        let receiver = Receiver::slow(DELAY);
        let started = Instant::now();
        let replies: Vec<String> = std::thread::scope(|scope| {
            let posts: Vec<_> = (0..32)
                .map(|_| scope.spawn(|| post(&receiver, r#"{"capability":"identity"}"#, "")))
                .collect();
            posts.into_iter().map(|p| p.join().unwrap()).collect()
        });
        let elapsed = started.elapsed();
        assert!(
            replies.iter().all(|r| r.starts_with("HTTP/1.1 200")),
            "{replies:?}"
        );
        assert_eq!(receiver.requests().len(), 32);
        // Served one after another, 32 replies would take 9.6 s.
        assert!(elapsed < DELAY * 8, "32 slow replies took {elapsed:?}");
    }

    #[test]
    fn a_rule_overrides_the_default() {
        let receiver = Receiver::with_rule(|r| {
            r.is("intel", "lookup")
                .then(|| Reply::intel("203.0.113.7", "malicious", 95, &["feed"]))
        });
        let reply = post(&receiver, r#"{"capability":"intel","operation":"lookup"}"#, "");
        assert!(reply.contains(r#""reputation":"malicious""#), "{reply}");
    }

    #[test]
    fn placeholders_and_strip_ansi() {
        assert_eq!(strip_ansi("\u{1b}[3mplugin\u{1b}[0m=x"), "plugin=x");
        let mut vars = BTreeMap::new();
        vars.insert("A".to_owned(), "1".to_owned());
        let case = Case {
            dir: tempfile::tempdir().unwrap(),
            vars,
            env: Vec::new(),
        };
        assert_eq!(case.substitute("x${A}y${A}"), "x1y1");
        let compiled = format!("compiled_dir = {:?}", shared_compiled_dir().display().to_string());
        case.config("[defaults]\nconcurrency = 2\n");
        assert_eq!(
            case.config_text(),
            format!("[defaults]\nstate_dir = \"state\"\n{compiled}\nconcurrency = 2\n")
        );
        case.config("[plugins.x]\n");
        assert!(case.config_text().starts_with(&format!(
            "[defaults]\nstate_dir = \"state\"\n{compiled}\n\n[plugins.x]"
        )));
        // A config that names its own keeps it.
        case.config("[defaults]\ncompiled_dir = \"mine\"\n");
        assert_eq!(
            case.config_text(),
            "[defaults]\nstate_dir = \"state\"\ncompiled_dir = \"mine\"\n"
        );
    }
}
