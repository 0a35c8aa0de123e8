//! Every HTTP vendor backend's reply parsing, reached through the backends' public faces (the
//! capability traits), so each backend's private reply types and error-body readers run on
//! the bytes a vendor could send.
//!
//! One loopback HTTP server per process answers every request with the next reply of the
//! input (status, content type, `Link` header, body); connectors are built from inline TOML
//! configs, as `palisade.toml` declares them, pointed at that server. The input picks a
//! connector, an operation and its argument, then the replies.
//!
//! Checked beyond "no panic":
//! - no hang: the whole operation ends within [`MAX_OPERATION`] (each request is bounded by
//!   the connector's `timeout_ms`, and every reply comes at once);
//! - an error names the vendor, the resolver's verdicts too ("okta: no user X", "entra: 2
//!   users match X"), with no exception;
//! - an error never holds a credential the connector sent, whole or in part, even when the
//!   vendor echoes the request back: a reply body's `$AUTH$` becomes the request's credential
//!   header, `$TARGET$` its path and query, `$BODY$` its body (see
//!   [`ECHOED_CREDENTIALS_FAIL`]);
//! - a lookup answers with a record known by the name asked, so the policy gate decides on
//!   the account or device that is then acted on.
//!
//! Input layout (see [`encode`]): byte 0 picks the connector, byte 1 the operation, byte 2
//! its argument, byte 3 bit 0 says whether OAuth token requests are answered from the
//! replies too (else with a fixed valid token). The rest is the replies, separated by
//! [`SEPARATOR`]; each is a head line `SSS C LINK` (status digits, a content-type letter,
//! the `Link` header or nothing) and the body after the newline.

use palisade_alert::{Entity, HashAlgorithm, Severity};
use palisade_connectors::config::ConnectorConfig;
use palisade_connectors::endpoint::{EndpointAction, HostRequest};
use palisade_connectors::identity::{AccountRequest, IdentityAction};
use palisade_connectors::intel::Indicator;
use palisade_connectors::network::{BlockRequest, NetworkAction};
use palisade_connectors::notify::Message;
use palisade_connectors::resolve::same_name;
use palisade_connectors::siem::Query;
use palisade_connectors::ticket::NewTicket;
use palisade_connectors::vendor::BuildContext;
use palisade_connectors::{CallContext, CapabilitySet, ConnectorError};
use palisade_core::located::Reporter;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Between two replies in an input.
pub const SEPARATOR: &[u8] = b"\n\x1e\n";
/// Replies an input may script; a backend asks for at most a few dozen (20 pages of groups).
const MAX_REPLIES: usize = 32;
/// The bound on one whole operation: every reply is immediate, so only a loop that never ends
/// (or a wait the backend chose) takes this long. libFuzzer's `-timeout` (10 s) is above it.
pub const MAX_OPERATION: Duration = Duration::from_secs(5);

/// Dummy credentials, distinctive enough that any 8 characters of one in an error are a
/// leak, not a coincidence.
const API_TOKEN: &str = "Zq7xK2pW9mRt4vLnB8cD";
const CLIENT_SECRET: &str = "Hs5gT1yU3iO6pA0sDf2G";
const PASSWORD: &str = "Lk9jH8gF7dS6aQ5wE4rT";
/// The token the server grants when token replies are not scripted.
const GRANTED_TOKEN: &str = "Vb3nM1qW5eR7tY9uI2oP";
const BASIC_USER: &str = "palisade.integration";
/// The last segment of the webhook URL, which is its credential.
const WEBHOOK_KEY: &str = "Xc4vB6nM8aS0dF2gH4jK";

/// Where each request goes and what it is: `{URL}` is the server's base URL, `{TOKEN_URL}`
/// its token endpoint. Secrets are files in [`secret_dir`]; `retries = 1` keeps the retry
/// path in play (its backoff is shortened to 1 ms when the connector is built).
const CONNECTORS: &[(&str, &str)] = &[
    (
        "okta",
        r#"kind = "okta"
url = "{URL}"
token = { file = "api-token" }
revoke_oauth_tokens = true"#,
    ),
    (
        "entra",
        r#"kind = "entra"
url = "{URL}"
tenant_id = "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
client_id = "5a6b7c8d-0000-4000-8000-1234567890ab"
client_secret = { file = "client-secret" }
token_url = "{TOKEN_URL}""#,
    ),
    (
        "entra-direct-groups",
        r#"kind = "entra"
url = "{URL}"
tenant_id = "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
client_id = "5a6b7c8d-0000-4000-8000-1234567890ab"
client_secret = { file = "client-secret" }
token_url = "{TOKEN_URL}"
transitive_groups = false"#,
    ),
    (
        "crowdstrike",
        r#"kind = "crowdstrike"
url = "{URL}"
client_id = "0123456789abcdef0123456789abcdef"
client_secret = { file = "client-secret" }"#,
    ),
    (
        "defender",
        r#"kind = "defender"
url = "{URL}"
tenant_id = "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
client_id = "5a6b7c8d-0000-4000-8000-1234567890ab"
client_secret = { file = "client-secret" }
token_url = "{TOKEN_URL}"
isolation_type = "Selective""#,
    ),
    (
        "abuseipdb",
        r#"kind = "abuseipdb"
url = "{URL}"
api_key = { file = "api-token" }"#,
    ),
    (
        "virustotal",
        r#"kind = "virustotal"
url = "{URL}"
api_key = { file = "api-token" }"#,
    ),
    (
        "misp",
        r#"kind = "misp"
url = "{URL}"
api_key = { file = "api-token" }
only_to_ids = false"#,
    ),
    (
        "cloudflare",
        r#"kind = "cloudflare"
url = "{URL}/client/v4"
token = { file = "api-token" }
zone_id = "023e105f4ecef8ad9ca31a8372d0c353""#,
    ),
    (
        "cloudflare-account",
        r#"kind = "cloudflare"
url = "{URL}/client/v4"
token = { file = "api-token" }
account_id = "01a7362d577a6c3019a474fd6f485823"
mode = "managed_challenge""#,
    ),
    (
        "thehive",
        r#"kind = "thehive"
url = "{URL}"
api_key = { file = "api-token" }"#,
    ),
    (
        "thehive-case",
        r#"kind = "thehive"
url = "{URL}"
api_key = { file = "api-token" }
create = "case""#,
    ),
    (
        "jira",
        r#"kind = "jira"
url = "{URL}"
email = "palisade-bot@acme.example"
token = { file = "api-token" }
project = "SEC"
priority_by_severity = { critical = "Highest", high = "High" }"#,
    ),
    (
        "servicenow",
        r#"kind = "servicenow"
url = "{URL}"
user = "palisade.integration"
password = { file = "password" }
category = "security""#,
    ),
    (
        "servicenow-token",
        r#"kind = "servicenow"
url = "{URL}"
token = { file = "api-token" }"#,
    ),
    (
        "slack",
        r#"kind = "slack"
url = "{URL}"
token = { file = "api-token" }
channel = "C0123456789""#,
    ),
    (
        "slack-webhook",
        r#"kind = "slack-webhook"
webhook_url = { file = "{WEBHOOK_URL_FILE}" }"#,
    ),
    (
        "teams",
        r#"kind = "teams"
webhook_url = { file = "{WEBHOOK_URL_FILE}" }"#,
    ),
    (
        "elasticsearch",
        r#"kind = "elasticsearch"
url = "{URL}"
index = "logs-*"
api_key = { file = "api-token" }"#,
    ),
    (
        "opensearch",
        r#"kind = "opensearch"
url = "{URL}"
index = "security-events"
user = "palisade.integration"
password = { file = "password" }
time_field = "timestamp""#,
    ),
    (
        "splunk",
        r#"kind = "splunk"
url = "{URL}"
token = { file = "api-token" }
app = "search"
allow_commands = ["tstats"]"#,
    ),
];

/// Every connector the target builds, by the name inputs and seeds use.
pub fn connector_names() -> impl Iterator<Item = &'static str> {
    CONNECTORS.iter().map(|(name, _)| *name)
}

/// What a plugin can ask of each capability, by name.
const IDENTITY_OPERATIONS: &[&str] = &[
    "lookup-user",
    "disable-user",
    "enable-user",
    "revoke-sessions",
    "reset-password",
];
const ENDPOINT_OPERATIONS: &[&str] = &[
    "lookup-host",
    "describe-host",
    "isolate-host",
    "release-host",
    "kill-process",
    "quarantine-file",
];
const INTEL_OPERATIONS: &[&str] = &["lookup"];
const NETWORK_OPERATIONS: &[&str] = &["block-ip", "unblock-ip", "block-domain", "unblock-domain"];
const NOTIFY_OPERATIONS: &[&str] = &["send"];
const TICKET_OPERATIONS: &[&str] = &["create", "comment"];
const SIEM_OPERATIONS: &[&str] = &["search"];

/// Names a plugin may pass, each in a form some vendor resolves: address, login, short name,
/// `DOMAIN\name`, Okta id, Entra object id.
const USERS: &[&str] = &[
    "alice@acme.example",
    "alice",
    "ACME\\alice",
    "00u1a2b3c4d5e6f7g8h9",
    "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f",
];
/// Hostname, FQDN, address, Falcon AID, Defender machine id.
const HOSTS: &[&str] = &[
    "FIN-WS-07",
    "fin-ws-07.corp.example.com",
    "10.1.4.7",
    "4f1a9b2c3d4e5f60718293a4b5c6d7e8",
    "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
];
const SHA256: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const BLOCK_TARGETS: &[&str] = &["203.0.113.7", "198.51.100.0/24", "2001:db8::/64", "2001:db8::7"];
const DOMAINS: &[&str] = &["evil.example", "login.evil.example"];
const TICKETS: &[&str] = &[
    "SEC-24",
    "~4104",
    "INC0010001",
    "46d44a5c2f7d1110b8b5d2ca6c99b6b9",
];
const QUERIES: &[&str] = &[
    "index=main sourcetype=okta user=alice",
    "| tstats count where index=main by host",
    "source.ip:203.0.113.7 AND event.outcome:success",
    "",
];

/// The operations of a connector's capability.
fn operations(set: &CapabilitySet) -> &'static [&'static str] {
    if set.identity.is_some() {
        IDENTITY_OPERATIONS
    } else if set.endpoint.is_some() {
        ENDPOINT_OPERATIONS
    } else if set.intel.is_some() {
        INTEL_OPERATIONS
    } else if set.network.is_some() {
        NETWORK_OPERATIONS
    } else if set.notify.is_some() {
        NOTIFY_OPERATIONS
    } else if set.ticket.is_some() {
        TICKET_OPERATIONS
    } else {
        SIEM_OPERATIONS
    }
}

/// One reply the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// `None` sends no `Content-Type`.
    pub content_type: Option<&'static str>,
    pub link: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: Some("application/json"),
            link: None,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            content_type: Some("text/plain"),
            ..Reply::json(status, body)
        }
    }

    pub fn link(mut self, link: &str) -> Reply {
        self.link = Some(link.to_owned());
        self
    }
}

const CONTENT_TYPES: &[(u8, &str)] = &[
    (b'j', "application/json"),
    (b'u', "application/json; charset=utf-8"),
    (b'p', "application/problem+json"),
    (b'h', "text/html"),
    (b't', "text/plain"),
];

/// Statuses vendors document, for status digits that name none in 200-599.
const STATUSES: &[u16] = &[
    200, 201, 202, 204, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503,
];

impl Reply {
    fn decode(chunk: &[u8]) -> Reply {
        let (head, body) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..at], &chunk[at + 1..]),
            None => (chunk, &[][..]),
        };
        let digits = head.get(..3).unwrap_or(head);
        let status = std::str::from_utf8(digits)
            .ok()
            .and_then(|text| text.parse::<u16>().ok())
            .filter(|code| (200..=599).contains(code))
            .unwrap_or_else(|| {
                let index = digits.iter().map(|&b| b as usize).sum::<usize>();
                STATUSES[index % STATUSES.len()]
            });
        let content_type = head.get(4).and_then(|letter| {
            CONTENT_TYPES
                .iter()
                .find(|(code, _)| code == letter)
                .map(|(_, name)| *name)
        });
        // A header value holds no control character but tab; the rest is kept, bytes past
        // ASCII included (HTTP's obs-text).
        let link: String = head
            .get(6..)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\t' || (b >= 0x20 && b != 0x7f && b < 0x80))
            .map(|&b| b as char)
            .collect();
        Reply {
            status,
            content_type,
            link: (!link.trim().is_empty()).then_some(link),
            body: body.to_vec(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{:03}", self.status).as_bytes());
        out.push(b' ');
        out.push(
            CONTENT_TYPES
                .iter()
                .find(|(_, name)| Some(*name) == self.content_type)
                .map_or(b'-', |(code, _)| *code),
        );
        out.push(b' ');
        out.extend_from_slice(self.link.as_deref().unwrap_or_default().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&self.body);
    }
}

/// The input that runs `operation` (by name) on `connector` with the argument at `argument`,
/// answered by `replies`; token requests are answered from the replies when `token_replies`.
pub fn encode(
    connector: &str,
    operation: &str,
    argument: u8,
    token_replies: bool,
    replies: &[Reply],
) -> Vec<u8> {
    let index = CONNECTORS
        .iter()
        .position(|(name, _)| *name == connector)
        .unwrap_or_else(|| panic!("no connector {connector}"));
    let set = build(index);
    let op = operations(&set)
        .iter()
        .position(|name| *name == operation)
        .unwrap_or_else(|| panic!("{connector} has no {operation}"));
    let mut out = vec![index as u8, op as u8, argument, token_replies as u8];
    for (at, reply) in replies.iter().enumerate() {
        if at > 0 {
            out.extend_from_slice(SEPARATOR);
        }
        reply.encode(&mut out);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The loopback server.

struct Script {
    replies: VecDeque<Reply>,
    /// Once the replies run out, the last is sent again: a vendor that keeps paging, or keeps
    /// failing, whatever the backend asks.
    last: Reply,
    token_replies: bool,
    /// Each request as `METHOD /path?query`, for tests.
    requests: Vec<String>,
}

struct Server {
    url: String,
    script: Mutex<Script>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<&'static Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let server: &'static Server = Box::leak(Box::new(Server {
            url: format!("http://{}", listener.local_addr().expect("its address")),
            script: Mutex::new(Script {
                replies: VecDeque::new(),
                last: Reply::json(200, ""),
                token_replies: false,
                requests: Vec::new(),
            }),
        }));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(server, stream));
            }
        });
        server
    })
}

/// One request as the server read it.
struct Received {
    method: String,
    target: String,
    /// The credential header's value (`Authorization`, `Key`, `x-apikey`), for `$AUTH$`.
    credential: Vec<u8>,
    body: Vec<u8>,
}

/// Answers the requests of one keep-alive connection until the client closes it.
fn serve(server: &Server, stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let reply = server.answer(&request);
        if write_reply(&mut writer, &request, &reply).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut credential) = (0usize, Vec::new());
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        if name == "content-length" {
            length = value.trim().parse().ok()?;
        } else if matches!(name.as_str(), "authorization" | "key" | "x-apikey") {
            credential = value.trim().as_bytes().to_vec();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        target,
        credential,
        body,
    })
}

impl Server {
    fn answer(&self, request: &Received) -> Reply {
        let mut script = self.script.lock().unwrap_or_else(|e| e.into_inner());
        script
            .requests
            .push(format!("{} {}", request.method, request.target));
        let path = request.target.split('?').next().unwrap_or_default();
        if path.ends_with("/token") && !script.token_replies {
            return Reply::json(
                200,
                &format!(r#"{{"access_token":"{GRANTED_TOKEN}","token_type":"Bearer","expires_in":3599}}"#),
            );
        }
        let mut reply = match script.replies.pop_front() {
            Some(reply) => {
                script.last = reply.clone();
                reply
            }
            None => script.last.clone(),
        };
        // A token endpoint's 429 or 5xx is asked again after fixed waits of 250 and 500 ms
        // (the oauth unit tests cover that); the fuzzer keeps its speed without them.
        if path.ends_with("/token") && (reply.status == 429 || reply.status >= 500) {
            reply.status = 400;
        }
        reply.body = echoed(&reply.body, request);
        reply
    }
}

/// The body with `$AUTH$`, `$TARGET$` and `$BODY$` replaced by what the request carried (its
/// credential header, its path and query, its body): a vendor, or a proxy, that echoes the
/// request back.
fn echoed(body: &[u8], request: &Received) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(b"$AUTH$".as_slice()) {
            out.extend_from_slice(&request.credential);
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"$TARGET$".as_slice()) {
            out.extend_from_slice(request.target.as_bytes());
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"$BODY$".as_slice()) {
            out.extend_from_slice(&request.body);
            rest = after;
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

fn write_reply(writer: &mut impl Write, request: &Received, reply: &Reply) -> std::io::Result<()> {
    // These carry no body (RFC 9110): a body would be read as the next reply.
    let bodiless = matches!(reply.status, 204 | 304) || request.method == "HEAD";
    let body: &[u8] = if bodiless { &[] } else { &reply.body };
    let mut head = format!("HTTP/1.1 {} Fuzz\r\n", reply.status).into_bytes();
    if let Some(content_type) = reply.content_type {
        head.extend_from_slice(format!("content-type: {content_type}\r\n").as_bytes());
    }
    if let Some(link) = &reply.link {
        head.extend_from_slice(b"link: ");
        head.extend_from_slice(link.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !bodiless {
        head.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(body);
    writer.write_all(&head)?;
    writer.flush()
}

// ---------------------------------------------------------------------------------------------
// The connectors.

/// Where the dummy secrets live: one folder for every process, as the values are constants.
fn secret_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("palisade-fuzz-backend-reply");
        std::fs::create_dir_all(&dir).expect("a folder for the dummy secrets");
        for (name, value) in [
            ("api-token", API_TOKEN),
            ("client-secret", CLIENT_SECRET),
            ("password", PASSWORD),
        ] {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(value) {
                // Written aside and renamed: another process may be reading it.
                let aside = dir.join(format!("{name}.{}", std::process::id()));
                std::fs::write(&aside, value).expect("a dummy secret");
                std::fs::rename(&aside, &path).expect("a dummy secret");
            }
        }
        dir
    })
}

struct Built {
    config: palisade_connectors::config::VendorConfig,
    /// Built once for kinds whose URL is the secret (their per-process URL file is removed
    /// once read); the others are built for each input, so no OAuth token outlives one.
    once: Option<CapabilitySet>,
}

fn connectors() -> &'static [Built] {
    static BUILT: OnceLock<Vec<Built>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let server = server();
        let dir = secret_dir();
        let webhook_file = format!("webhook-url.{}", std::process::id());
        std::fs::write(
            dir.join(&webhook_file),
            format!("{}/services/T0/B0/{WEBHOOK_KEY}", server.url),
        )
        .expect("the webhook URL file");
        let built = CONNECTORS
            .iter()
            .map(|(name, template)| {
                let text = format!(
                    "[connectors.{name}]\n{}\ntimeout_ms = 2000\nretries = 1\n",
                    template
                        .replace("{URL}", &server.url)
                        .replace("{TOKEN_URL}", &format!("{}/oauth2/v2.0/token", server.url))
                        .replace("{WEBHOOK_URL_FILE}", &webhook_file)
                );
                let config = parse(name, &text, dir);
                let once = config.kind.url_secret.is_some().then(|| build_from(&config));
                Built { config, once }
            })
            .collect();
        let _ = std::fs::remove_file(dir.join(&webhook_file));
        built
    })
}

fn parse(name: &str, text: &str, dir: &Path) -> palisade_connectors::config::VendorConfig {
    let path = dir.join("palisade.toml");
    let mut report = Reporter::new(&path, text);
    let root = toml::de::DeTable::parse(text).expect("the config is TOML");
    let (_, table) = palisade_connectors::config::tables(&root)
        .into_iter()
        .next()
        .expect("one connector");
    let config = ConnectorConfig::from_toml(table, dir, &format!("connectors.{name}"), &mut report);
    assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
    match config {
        Some(ConnectorConfig::Vendor(config)) => config,
        _ => panic!("{name} is not a vendor connector"),
    }
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    // As the host builds its own (connectors::webhook::http_client): redirects are not
    // followed.
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    })
}

fn build_from(config: &palisade_connectors::config::VendorConfig) -> CapabilitySet {
    let mut settings = config.http.clone();
    if let Some(settings) = &mut settings {
        settings.backoff = Duration::from_millis(1);
    }
    config
        .settings
        .build(&BuildContext {
            http: http_client().clone(),
            settings,
            dir: config.dir.clone(),
        })
        .unwrap_or_else(|error| panic!("{}: {error:#}", config.kind.name))
}

fn build(index: usize) -> CapabilitySet {
    let built = &connectors()[index];
    match &built.once {
        Some(set) => set.clone(),
        None => build_from(&built.config),
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

// ---------------------------------------------------------------------------------------------
// One operation.

/// What an input did, for the seed tests.
#[derive(Debug)]
pub struct Run {
    pub connector: &'static str,
    pub operation: &'static str,
    /// The value's debug form, or the error's message.
    pub result: Result<String, String>,
    /// Each request the backend sent, `METHOD /path?query`.
    pub requests: Vec<String>,
    /// A piece of a credential the error holds (see [`ECHOED_CREDENTIALS_FAIL`]).
    pub leak: Option<String>,
}

/// A name looked up, and the record the backend answered with: the names that record
/// answers to.
enum Resolved {
    Nothing,
    Names { asked: &'static str, names: Vec<String> },
}

/// Runs one input and checks the invariants; `None` for an input too short to pick an
/// operation.
pub fn run(data: &[u8]) -> Option<Run> {
    let [connector, operation, argument, flags, rest @ ..] = data else {
        return None;
    };
    // One server and one script per process: runs on several test threads take turns.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let index = *connector as usize % CONNECTORS.len();
    let set = build(index);
    let ops = operations(&set);
    let operation = ops[*operation as usize % ops.len()];
    let vendor = connectors()[index].config.kind.name;
    let replies: VecDeque<Reply> = if rest.is_empty() {
        VecDeque::new()
    } else {
        split(rest).take(MAX_REPLIES).map(Reply::decode).collect()
    };
    let server = server();
    {
        let mut script = server.script.lock().unwrap_or_else(|e| e.into_inner());
        script.last = replies.back().cloned().unwrap_or_else(|| Reply::json(200, ""));
        script.replies = replies;
        script.token_replies = flags & 1 == 1;
        script.requests.clear();
    }
    let outcome = runtime()
        .block_on(async { tokio::time::timeout(MAX_OPERATION, call(&set, operation, *argument)).await });
    let requests = std::mem::take(&mut server.script.lock().unwrap_or_else(|e| e.into_inner()).requests);
    let Ok((result, resolved)) = outcome else {
        panic!(
            "{} {operation} took over {MAX_OPERATION:?}: {requests:?}",
            CONNECTORS[index].0
        );
    };
    match &result {
        Ok(_) => {
            if let Resolved::Names { asked, names } = resolved {
                assert!(
                    names.iter().any(|name| same_name(name, asked)),
                    "{vendor} answered {asked:?} with a record known as {names:?}"
                );
            }
        }
        Err(error) => check_error(vendor, error, operation),
    }
    let result = result.map_err(|error| error.to_string());
    let leak = result.as_ref().err().and_then(|message| leak(message, data));
    if ECHOED_CREDENTIALS_FAIL && let Some(part) = &leak {
        panic!("{vendor} {operation}: a credential ({part}) is in the error: {result:?}");
    }
    Some(Run {
        connector: CONNECTORS[index].0,
        operation,
        result,
        requests,
        leak,
    })
}

fn split(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                let chunk = &rest[..at];
                rest = &rest[at + SEPARATOR.len()..];
                Some(chunk)
            }
            None => Some(std::mem::take(&mut rest)),
        }
    })
}

/// The vendor as errors name it: the `kind`, but `slack` for a Slack webhook.
fn spelled(vendor: &str) -> &str {
    match vendor {
        "slack-webhook" => "slack",
        other => other,
    }
}

/// Whether an echoed credential in an error fails the target. The campaign found that it
/// could (errors built from a 2xx body, OAuth token refusals, webhook URLs, a credential
/// across the 300-character cut); each vendor client now redacts every text built from a
/// reply, and `echoed_credentials_are_redacted` (tests/backend_seeds.rs) replays the
/// committed reproducers. Set it to false only to let a campaign go past a finding of this
/// kind to others; the leak is still reported in `Run::leak`.
const ECHOED_CREDENTIALS_FAIL: bool = true;

/// Fewer characters of a credential than this in an error are taken as chance.
const LEAK_CHARS: usize = 6;

fn check_error(vendor: &str, error: &ConnectorError, operation: &str) {
    let message = error.to_string();
    assert!(
        message.to_lowercase().contains(spelled(vendor)),
        "{vendor} {operation}: the error does not name the vendor: {message}"
    );
}

/// The first piece of a credential the error holds that the input did not spell itself (text
/// the input spells is the vendor's, not an echo).
pub fn leak(message: &str, input: &[u8]) -> Option<String> {
    credentials().iter().find_map(|credential| {
        credential
            .as_bytes()
            .windows(LEAK_CHARS)
            .filter(|part| !input.windows(LEAK_CHARS).any(|typed| typed == *part))
            .map(|part| std::str::from_utf8(part).expect("ASCII"))
            .find(|part| message.contains(part))
            .map(str::to_owned)
    })
}

/// Every credential a connector sends, in the form it is sent: the dummy secrets, the token
/// the server grants, basic authentication's `user:password` in base64, and the webhook path.
pub fn credentials() -> &'static [String] {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    ALL.get_or_init(|| {
        use base64::Engine;
        vec![
            API_TOKEN.to_owned(),
            CLIENT_SECRET.to_owned(),
            PASSWORD.to_owned(),
            GRANTED_TOKEN.to_owned(),
            WEBHOOK_KEY.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(format!("{BASIC_USER}:{PASSWORD}")),
        ]
    })
}

fn pick<T: Copy>(all: &[T], index: u8) -> T {
    all[index as usize % all.len()]
}

fn ticket(argument: u8) -> NewTicket {
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ];
    NewTicket {
        title: "Password spray from 203.0.113.7".into(),
        description: "12 accounts failed to sign in within 5 minutes.\nSource: [code]203.0.113.7[/code]"
            .into(),
        severity: pick(&severities, argument),
        tags: if argument.is_multiple_of(2) {
            vec!["password spray".into(), "credential-access".into()]
        } else {
            Vec::new()
        },
        observables: vec![
            Entity::Ip {
                address: "203.0.113.7".parse().expect("an address"),
                direction: None,
            },
            Entity::User {
                name: "alice@acme.example".into(),
                domain: None,
                email: Some("alice@acme.example".into()),
                id: None,
                display_name: None,
                sign_in: None,
            },
            Entity::Host {
                hostname: "FIN-WS-07".into(),
                fqdn: Some("fin-ws-07.corp.example.com".into()),
                id: None,
                os: None,
                ip_addresses: vec!["10.1.4.7".into()],
            },
            Entity::FileHash {
                algorithm: HashAlgorithm::Sha256,
                value: SHA256.into(),
                file_name: Some("invoice.exe".into()),
            },
            Entity::Domain {
                name: "evil.example".into(),
            },
        ],
    }
}

async fn call(
    set: &CapabilitySet,
    operation: &'static str,
    argument: u8,
) -> (Result<String, ConnectorError>, Resolved) {
    let cx = CallContext::new("fuzz", "alert-1");
    let shown = |value: &dyn std::fmt::Debug| format!("{value:?}");
    let reason = "password spray from 203.0.113.7";
    if let Some(identity) = &set.identity {
        let user = pick(USERS, argument);
        if operation == "lookup-user" {
            return match identity.lookup_user(&cx, user).await {
                Ok(profile) => (
                    Ok(shown(&profile)),
                    Resolved::Names {
                        asked: user,
                        names: profile.names(),
                    },
                ),
                Err(error) => (Err(error), Resolved::Nothing),
            };
        }
        let action = match operation {
            "disable-user" => IdentityAction::DisableUser,
            "enable-user" => IdentityAction::EnableUser,
            "revoke-sessions" => IdentityAction::RevokeSessions,
            _ => IdentityAction::ResetPassword,
        };
        let request = AccountRequest {
            user_id: pick(
                &["00u1a2b3c4d5e6f7g8h9", "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"],
                argument,
            ),
            user: "alice@acme.example",
            reason,
        };
        let result = identity.act(&cx, action, &request).await.map(|r| shown(&r));
        return (result, Resolved::Nothing);
    }
    if let Some(endpoint) = &set.endpoint {
        let host = pick(HOSTS, argument);
        let looked_up = match operation {
            "lookup-host" => Some(endpoint.lookup_host(&cx, host).await),
            "describe-host" => Some(endpoint.describe_host(&cx, host).await),
            _ => None,
        };
        if let Some(looked_up) = looked_up {
            return match looked_up {
                Ok(info) => {
                    let mut names = info.names();
                    // A vendor id is compared as the vendor spells it, case aside.
                    names.push(info.id.to_ascii_lowercase());
                    (Ok(shown(&info)), Resolved::Names { asked: host, names })
                }
                Err(error) => (Err(error), Resolved::Nothing),
            };
        }
        let action = match operation {
            "isolate-host" => EndpointAction::IsolateHost,
            "release-host" => EndpointAction::ReleaseHost,
            "kill-process" => EndpointAction::KillProcess { pid: 4242 },
            _ => EndpointAction::QuarantineFile {
                sha256: SHA256.into(),
            },
        };
        let request = HostRequest {
            device_id: pick(&HOSTS[3..], argument),
            hostname: "FIN-WS-07",
            action: &action,
            reason,
        };
        return (
            endpoint.act(&cx, &request).await.map(|r| shown(&r)),
            Resolved::Nothing,
        );
    }
    if let Some(intel) = &set.intel {
        let indicators = [
            Indicator::Ip("203.0.113.7".into()),
            Indicator::Ip("2001:db8::7".into()),
            Indicator::Domain("evil.example".into()),
            Indicator::Url("http://evil.example/login?next=/".into()),
            Indicator::FileHash(SHA256.into()),
            Indicator::FileHash("44d88612fea8a8f36de82e1278abb02f".into()),
            Indicator::FileHash("3395856ce81f2b7382dee72602f798b642f14140".into()),
        ];
        let indicator = &indicators[argument as usize % indicators.len()];
        return (
            intel.lookup(&cx, indicator).await.map(|r| shown(&r)),
            Resolved::Nothing,
        );
    }
    if let Some(network) = &set.network {
        let action = match operation {
            "block-ip" => NetworkAction::BlockIp,
            "unblock-ip" => NetworkAction::UnblockIp,
            "block-domain" => NetworkAction::BlockDomain,
            _ => NetworkAction::UnblockDomain,
        };
        let target = if action.on_address() {
            pick(BLOCK_TARGETS, argument)
        } else {
            pick(DOMAINS, argument)
        };
        let request = BlockRequest {
            target,
            duration_seconds: (argument & 0x80 != 0).then_some(3600),
            reason,
        };
        return (
            network.act(&cx, action, &request).await.map(|r| shown(&r)),
            Resolved::Nothing,
        );
    }
    if let Some(notify) = &set.notify {
        let message = Message {
            channel: (argument % 2 == 1).then(|| "#secops".into()),
            title: "Password spray <from> 203.0.113.7 & *more*".into(),
            body: "12 accounts; sessions of 2 revoked.\n`alice` <@U123>".into(),
            severity: pick(&[Severity::High, Severity::Critical, Severity::Low], argument),
        };
        return (
            notify.send(&cx, &message).await.map(|r| shown(&r)),
            Resolved::Nothing,
        );
    }
    if let Some(ticketing) = &set.ticket {
        let result = if operation == "create" {
            ticketing.create(&cx, &ticket(argument)).await.map(|r| shown(&r))
        } else {
            ticketing
                .comment(&cx, pick(TICKETS, argument), "Sessions revoked for alice.")
                .await
                .map(|r| shown(&r))
        };
        return (result, Resolved::Nothing);
    }
    let siem = set.siem.as_ref().expect("every connector serves a capability");
    let query = Query {
        query: pick(QUERIES, argument).into(),
        earliest: pick(&[Some("-24h"), Some("2026-11-26T08:00:00Z"), None], argument).map(Into::into),
        latest: (argument % 2 == 1).then(|| "now".into()),
        // Bit 2 and up pick the limit, so every query meets every limit.
        limit: [10, 5000, 0][(argument as usize >> 2) % 3],
    };
    (
        siem.search(&cx, &query).await.map(|r| shown(&r)),
        Resolved::Nothing,
    )
}

/// A vendor's replies to one operation of one backend: a value or an error that names the
/// vendor and holds no credential, within a bounded time.
pub fn backend_reply(data: &[u8]) {
    let _ = run(data);
}
