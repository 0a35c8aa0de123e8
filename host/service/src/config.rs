//! `[serve]` and `[serve.sources.NAME]`: where the service listens, its bounds, and how each
//! sender proves who it is. Read from the same file as the rest of the config, with errors
//! located the same way.

use crate::auth::{Auth, Encoding};
use palisade_alert::intake::Format;
use palisade_connectors::SecretRef;
use palisade_core::located::{self, ConfigErrors, Reporter};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// `[serve]`, validated.
#[derive(Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub tls: Option<Tls>,
    /// The largest request body taken, in bytes; a larger one is answered 413.
    pub body_limit: usize,
    /// Alerts waiting at most; a request that would go over is answered 429.
    pub queue_limit: usize,
    /// How long a stop waits for the alerts in flight.
    pub drain_timeout: Duration,
    /// A repeat (same id or content from the same source) within this is not queued again.
    pub dedup_window: Duration,
    /// An alert that has waited this long is taken oldest first, with up to half of each
    /// lease, instead of behind every worse one.
    pub oldest_first_after: Duration,
    pub sources: BTreeMap<String, Source>,
    /// The people and programs that may use the API, by name.
    pub tokens: Vec<ApiToken>,
    /// The people who may sign in to the console, by name.
    pub users: BTreeMap<String, ConsoleUser>,
}

/// `[serve.users.NAME]`: one person who signs in to the console.
#[derive(Clone)]
pub struct ConsoleUser {
    pub role: Role,
    /// An argon2id PHC string, checked at load (`palisade user add` writes it).
    pub password_hash: String,
}

impl std::fmt::Debug for ConsoleUser {
    // A hash is not the password, but it is what an attacker would try offline: kept out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConsoleUser({:?}, password hash redacted)", self.role)
    }
}

/// What a holder of an API token may do; each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read reports, approvals, the audit and the breaker.
    Viewer,
    /// Also approve and deny held operations.
    Approver,
    /// Also reset the breaker.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "approver" => Ok(Role::Approver),
            "admin" => Ok(Role::Admin),
            _ => Err(format!("no role {text:?}: viewer, approver or admin")),
        }
    }
}

/// One API token: only its SHA-256 is kept.
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// Who acts with it, as approvals and the audit name them (`api:NAME`).
    pub name: String,
    pub role: Role,
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One sender of alerts.
#[derive(Debug)]
pub struct Source {
    /// The format its documents are in; `None` detects each.
    pub format: Option<Format>,
    pub auth: Auth,
}

#[derive(Deserialize)]
struct File {
    serve: Option<Spanned<RawServe>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    listen: Option<Spanned<String>>,
    tls: Option<RawTls>,
    body_limit_kib: Option<Spanned<u64>>,
    queue_limit: Option<Spanned<u64>>,
    drain_timeout_seconds: Option<Spanned<u64>>,
    dedup_window_minutes: Option<Spanned<u64>>,
    oldest_first_after_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    tokens: BTreeMap<String, Spanned<RawToken>>,
    #[serde(default)]
    sources: BTreeMap<String, Spanned<RawSource>>,
    #[serde(default)]
    users: BTreeMap<String, Spanned<RawUser>>,
}

/// `[serve.users.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    role: Role,
    password_hash: Spanned<String>,
}

/// `[serve.tokens.NAME]`: the token from a secret, or its SHA-256 written in the config.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    role: Role,
    token: Option<Spanned<SecretRef>>,
    sha256: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: String,
    key: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Scheme {
    Hmac,
    Bearer,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    format: Option<Spanned<String>>,
    auth: Spanned<Scheme>,
    /// `auth = "bearer"`: the token senders present.
    token: Option<Spanned<SecretRef>>,
    /// `auth = "hmac"`: the key requests are signed with.
    secret: Option<Spanned<SecretRef>>,
    signature_header: Option<String>,
    timestamp_header: Option<String>,
    prefix: Option<String>,
    encoding: Option<Spanned<String>>,
    template: Option<Spanned<String>>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8440";

impl ServeConfig {
    /// Reads `[serve]` of the config text of the file at `path` (its folder locates relative
    /// paths).
    pub fn parse(path: &Path, text: &str) -> Result<ServeConfig, ConfigErrors> {
        let dir = path.parent().unwrap_or(Path::new("."));
        located::read(path, text, |file: File, report| {
            ServeConfig::from_toml(file.serve, dir, report)
        })
    }

    fn from_toml(raw: Option<Spanned<RawServe>>, dir: &Path, report: &mut Reporter) -> ServeConfig {
        let Some(raw) = raw else {
            report.error(
                None,
                "serve",
                "`palisade serve` needs a [serve] table with at least one source",
            );
            return ServeConfig::empty();
        };
        let span = raw.span();
        let raw = raw.into_inner();
        let listen = match &raw.listen {
            None => DEFAULT_LISTEN.parse().expect("a valid address"),
            Some(text) => text.get_ref().parse().unwrap_or_else(|error| {
                report.error(
                    Some(text.span()),
                    "serve.listen",
                    format!("not an address and port: {error}"),
                );
                DEFAULT_LISTEN.parse().expect("a valid address")
            }),
        };
        let kib = |value: &Option<Spanned<u64>>, range, default, key: &str, report: &mut Reporter| {
            value
                .as_ref()
                .and_then(|value| report.in_range(value, range, key))
                .unwrap_or(default)
        };
        let body_limit = kib(
            &raw.body_limit_kib,
            1..=64 * 1024,
            1024,
            "serve.body_limit_kib",
            report,
        ) as usize
            * 1024;
        let queue_limit = kib(
            &raw.queue_limit,
            1..=10_000_000,
            100_000,
            "serve.queue_limit",
            report,
        ) as usize;
        let drain = kib(
            &raw.drain_timeout_seconds,
            0..=3600,
            30,
            "serve.drain_timeout_seconds",
            report,
        );
        let dedup = kib(
            &raw.dedup_window_minutes,
            0..=7 * 24 * 60,
            60,
            "serve.dedup_window_minutes",
            report,
        );
        let oldest_first_after = kib(
            &raw.oldest_first_after_seconds,
            1..=24 * 3600,
            300,
            "serve.oldest_first_after_seconds",
            report,
        );
        let mut sources = BTreeMap::new();
        for (name, source) in raw.sources {
            if !valid_name(&name) {
                report.error(
                    Some(source.span()),
                    format!("serve.sources.{name}"),
                    "a source name is letters, digits, '-' and '_' (it is part of the URL)",
                );
                continue;
            }
            if let Some(source) = Source::from_toml(source, dir, &format!("serve.sources.{name}"), report) {
                sources.insert(name, source);
            }
        }
        if sources.is_empty() && report.errors.is_empty() {
            report.error(
                Some(span),
                "serve.sources",
                "no source: declare [serve.sources.NAME] for each sender",
            );
        }
        let tokens = raw
            .tokens
            .into_iter()
            .filter_map(|(name, token)| ApiToken::from_toml(name, token, dir, report))
            .collect();
        let users = raw
            .users
            .into_iter()
            .filter_map(|(name, user)| ConsoleUser::from_toml(&name, user, report).map(|user| (name, user)))
            .collect();
        ServeConfig {
            listen,
            tokens,
            users,
            tls: raw.tls.map(|tls| Tls {
                cert: dir.join(tls.cert),
                key: dir.join(tls.key),
            }),
            body_limit,
            queue_limit,
            drain_timeout: Duration::from_secs(drain),
            dedup_window: Duration::from_secs(dedup * 60),
            oldest_first_after: Duration::from_secs(oldest_first_after),
            sources,
        }
    }

    fn empty() -> ServeConfig {
        ServeConfig {
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            tls: None,
            body_limit: 0,
            queue_limit: 0,
            drain_timeout: Duration::ZERO,
            dedup_window: Duration::ZERO,
            oldest_first_after: Duration::ZERO,
            sources: BTreeMap::new(),
            tokens: Vec::new(),
            users: BTreeMap::new(),
        }
    }
}

impl ApiToken {
    fn from_toml(
        name: String,
        raw: Spanned<RawToken>,
        dir: &Path,
        report: &mut Reporter,
    ) -> Option<ApiToken> {
        let key = format!("serve.tokens.{name}");
        if !valid_name(&name) {
            report.error(
                Some(raw.span()),
                key,
                "a token name is letters, digits, '-' and '_'",
            );
            return None;
        }
        let span = raw.span();
        let raw = raw.into_inner();
        let sha256 = match (&raw.token, &raw.sha256) {
            (Some(token), None) => match token.get_ref().resolve(dir) {
                Ok(secret) => Sha256::digest(secret.expose_secret().as_bytes()).into(),
                Err(error) => {
                    report.error(Some(token.span()), format!("{key}.token"), error);
                    return None;
                }
            },
            (None, Some(digest)) => match hex::decode(digest.get_ref())
                .ok()
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
            {
                Some(digest) => digest,
                None => {
                    report.error(
                        Some(digest.span()),
                        format!("{key}.sha256"),
                        "64 hex digits: the token's SHA-256",
                    );
                    return None;
                }
            },
            _ => {
                report.error(
                    Some(span),
                    key,
                    "set one of `token` (a secret) and `sha256` (its digest)",
                );
                return None;
            }
        };
        Some(ApiToken {
            name,
            role: raw.role,
            sha256,
        })
    }
}

impl ConsoleUser {
    fn from_toml(name: &str, raw: Spanned<RawUser>, report: &mut Reporter) -> Option<ConsoleUser> {
        let key = format!("serve.users.{name}");
        if !crate::console::users::valid_user_name(name) {
            report.error(
                Some(raw.span()),
                key,
                "a user name is 1 to 64 letters, digits, '-', '_', '.' and '@'",
            );
            return None;
        }
        let raw = raw.into_inner();
        if let Err(error) = crate::console::users::check_hash(raw.password_hash.get_ref()) {
            report.error(
                Some(raw.password_hash.span()),
                format!("{key}.password_hash"),
                format!("{error} (`palisade user add {name}` writes one)"),
            );
            return None;
        }
        Some(ConsoleUser {
            role: raw.role,
            password_hash: raw.password_hash.into_inner(),
        })
    }
}

impl Source {
    fn from_toml(raw: Spanned<RawSource>, dir: &Path, key: &str, report: &mut Reporter) -> Option<Source> {
        let span = raw.span();
        let raw = raw.into_inner();
        let format = match &raw.format {
            None => None,
            Some(text) if text.get_ref() == "auto" => None,
            Some(text) => match text.get_ref().parse::<Format>() {
                Ok(format) => Some(format),
                Err(error) => {
                    report.error(Some(text.span()), format!("{key}.format"), error.to_string());
                    None
                }
            },
        };
        let secret = |value: &Option<Spanned<SecretRef>>, name: &str, report: &mut Reporter| {
            let Some(value) = value else {
                report.error(
                    Some(span.clone()),
                    format!("{key}.{name}"),
                    format!("this scheme needs `{name}`"),
                );
                return None;
            };
            value
                .get_ref()
                .resolve(dir)
                .map_err(|error| report.error(Some(value.span()), format!("{key}.{name}"), error))
                .ok()
        };
        let auth = match raw.auth.get_ref() {
            Scheme::Bearer => {
                let misplaced = [
                    ("secret", raw.secret.is_some()),
                    ("signature_header", raw.signature_header.is_some()),
                    ("timestamp_header", raw.timestamp_header.is_some()),
                    ("prefix", raw.prefix.is_some()),
                    ("encoding", raw.encoding.is_some()),
                    ("template", raw.template.is_some()),
                ];
                for (name, _) in misplaced.iter().filter(|(_, set)| *set) {
                    report.error(
                        Some(span.clone()),
                        format!("{key}.{name}"),
                        "only `auth = \"hmac\"` takes this",
                    );
                }
                Auth::bearer(secret(&raw.token, "token", report)?.expose_secret())
            }
            Scheme::Hmac => {
                if raw.token.is_some() {
                    report.error(
                        Some(span.clone()),
                        format!("{key}.token"),
                        "only `auth = \"bearer\"` takes this",
                    );
                }
                let encoding = match raw.encoding.as_ref().map(|e| (e.get_ref().as_str(), e.span())) {
                    None | Some(("hex", _)) => Encoding::Hex,
                    Some(("base64", _)) => Encoding::Base64,
                    Some((_, at)) => {
                        report.error(Some(at), format!("{key}.encoding"), "`hex` or `base64`");
                        Encoding::Hex
                    }
                };
                let template = raw
                    .template
                    .as_ref()
                    .map_or("{timestamp}.{body}", |t| t.get_ref().as_str());
                if template.matches("{timestamp}").count() != 1 || template.matches("{body}").count() != 1 {
                    report.error(
                        raw.template.as_ref().map(|t| t.span()),
                        format!("{key}.template"),
                        "the signed message names `{timestamp}` and `{body}` once each, the timestamp first",
                    );
                } else if template.find("{timestamp}") > template.find("{body}") {
                    report.error(
                        raw.template.as_ref().map(|t| t.span()),
                        format!("{key}.template"),
                        "the timestamp comes before the body in the signed message",
                    );
                }
                let secret = secret(&raw.secret, "secret", report)?;
                Auth::Hmac {
                    secret: secret.expose_secret().as_bytes().to_vec(),
                    signature_header: header_name(raw.signature_header, "x-palisade-signature"),
                    timestamp_header: header_name(raw.timestamp_header, "x-palisade-timestamp"),
                    prefix: raw.prefix.unwrap_or_else(|| "sha256=".to_owned()),
                    encoding,
                    template: template.to_owned(),
                }
            }
        };
        Some(Source { format, auth })
    }
}

fn header_name(name: Option<String>, default: &str) -> String {
    name.unwrap_or_else(|| default.to_owned()).to_ascii_lowercase()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dir: &Path, text: &str) -> Result<ServeConfig, ConfigErrors> {
        ServeConfig::parse(&dir.join("palisade.toml"), text)
    }

    #[test]
    fn sources_take_their_scheme_and_secrets_from_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("edr.key"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("siem.token"), "t0ken").unwrap();
        let config = parse(
            dir.path(),
            r#"
[defaults]
state_dir = "state"

[serve]
listen = "127.0.0.1:0"
body_limit_kib = 64

[serve.tokens.oncall]
role = "approver"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

[serve.sources.edr]
auth = "hmac"
secret = { file = "edr.key" }
signature_header = "X-Slack-Signature"
prefix = "v0="
template = "v0:{timestamp}:{body}"

[serve.sources.siem]
format = "splunk"
auth = "bearer"
token = { file = "siem.token" }
"#,
        )
        .unwrap();
        assert_eq!(config.body_limit, 64 * 1024);
        assert_eq!(
            (config.tokens[0].name.as_str(), config.tokens[0].role),
            ("oncall", Role::Approver)
        );
        assert_eq!(config.sources.len(), 2);
        let Auth::Hmac {
            signature_header,
            secret,
            ..
        } = &config.sources["edr"].auth
        else {
            panic!("hmac")
        };
        assert_eq!(
            (signature_header.as_str(), secret.as_slice()),
            ("x-slack-signature", &b"s3cret"[..])
        );
        assert!(config.sources["siem"].format.is_some());
    }

    #[test]
    fn every_mistake_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let errors = parse(
            dir.path(),
            r#"[serve]
listen = "everywhere"
queue_limit = 0

[serve.sources.edr]
auth = "hmac"
template = "{body}"

[serve.sources.siem]
auth = "bearer"
token = { env = "PALISADE_TEST_UNSET_TOKEN" }
format = "xml"
"#,
        )
        .unwrap_err();
        let found: Vec<(usize, &str)> = errors.0.iter().map(|e| (e.line, e.key.as_str())).collect();
        assert!(found.contains(&(2, "serve.listen")), "{errors}");
        assert!(found.contains(&(3, "serve.queue_limit")), "{errors}");
        assert!(found.contains(&(7, "serve.sources.edr.template")), "{errors}");
        assert!(
            found.iter().any(|(_, key)| *key == "serve.sources.edr.secret"),
            "{errors}"
        );
        assert!(found.contains(&(11, "serve.sources.siem.token")), "{errors}");
        assert!(found.contains(&(12, "serve.sources.siem.format")), "{errors}");
        assert!(
            !errors.to_string().contains("PALISADE_TEST_UNSET_TOKEN="),
            "{errors}"
        );
    }

    #[test]
    fn console_users_take_only_argon2id_hashes_and_mistakes_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "t0ken").unwrap();
        let hash = crate::console::users::hash_password("correct horse battery").unwrap();
        let text = format!(
            "[serve]\n[serve.sources.edr]\nauth = \"bearer\"\ntoken = {{ file = \"t\" }}\n\n\
             [serve.users.alice]\nrole = \"approver\"\npassword_hash = \"{hash}\"\n\n\
             [serve.users.bob]\nrole = \"viewer\"\npassword_hash = \"{}\"\n\n\
             [serve.users.\"carol smith\"]\nrole = \"viewer\"\npassword_hash = \"{hash}\"\n",
            hash.replacen("argon2id", "argon2i", 1)
        );
        let errors = parse(dir.path(), &text).unwrap_err();
        let found: Vec<(usize, &str)> = errors.0.iter().map(|e| (e.line, e.key.as_str())).collect();
        assert!(found.contains(&(12, "serve.users.bob.password_hash")), "{errors}");
        assert!(
            found.iter().any(|(_, key)| *key == "serve.users.carol smith"),
            "{errors}"
        );
        assert!(errors.to_string().contains("only argon2id"), "{errors}");
        assert!(!found.iter().any(|(_, key)| key.contains("alice")), "{errors}");
        let good = text.split("[serve.users.bob]").next().unwrap();
        let config = parse(dir.path(), good).unwrap();
        assert_eq!(config.users["alice"].role, Role::Approver);
        assert!(!format!("{:?}", config.users["alice"]).contains("argon2"));
    }

    #[test]
    fn a_config_without_serve_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let errors = parse(dir.path(), "[defaults]\nstate_dir = \"s\"\n").unwrap_err();
        assert!(errors.to_string().contains("[serve]"), "{errors}");
    }
}
