//! `[connectors.NAME]`: which backend serves a capability and how to reach it. The generic
//! kinds (`embedded`, `webhook`) are read from one table; a vendor kind's shared HTTP keys here
//! and the rest by the kind's own settings type, with errors located in the file either way.

use crate::http::HttpSettings;
use crate::secret::SecretRef;
use crate::vendor::Kind;
use palisade_core::MAX_TIMEOUT;
use palisade_core::capability::Capability;
use palisade_core::located::Reporter;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

#[derive(Debug)]
pub enum ConnectorConfig {
    Embedded(EmbeddedConfig),
    Webhook(WebhookConfig),
    Vendor(VendorConfig),
}

impl ConnectorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::Embedded(_) => "embedded",
            ConnectorConfig::Webhook(_) => "webhook",
            ConnectorConfig::Vendor(vendor) => vendor.kind.name,
        }
    }

    /// Whether this connector can serve a capability: the generic kinds serve them all, a
    /// vendor backend only its own.
    pub fn serves(&self, capability: Capability) -> bool {
        match self {
            ConnectorConfig::Embedded(_) | ConnectorConfig::Webhook(_) => capability.uses_connector(),
            ConnectorConfig::Vendor(vendor) => vendor.kind.capability == capability,
        }
    }
}

/// A backend speaking one vendor's API (`kind = "okta"`, `"crowdstrike"`, ...).
#[derive(Debug)]
pub struct VendorConfig {
    pub kind: &'static crate::vendor::Kind,
    /// `None` for a backend that does not talk HTTP.
    pub http: Option<crate::http::HttpSettings>,
    /// How long an intel answer is reused; zero for other capabilities.
    pub cache_ttl: Duration,
    pub settings: Box<dyn crate::vendor::Configured>,
    /// The config file's folder, which secret files are relative to.
    pub dir: PathBuf,
}

/// The file-backed backend that needs no external service.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Actions (tickets, identity, endpoint, network, notify) are appended here as JSON lines.
    pub outbox: PathBuf,
    /// Users and groups for `identity.lookup-user` (JSON).
    pub directory: Option<PathBuf>,
    /// Known indicators for `intel.lookup` (JSON).
    pub indicators: Option<PathBuf>,
    /// Events for `siem.search` (JSON lines).
    pub events: Option<PathBuf>,
    /// Hosts for `endpoint.lookup-host` (JSON).
    pub inventory: Option<PathBuf>,
}

/// POSTs a JSON description of each operation to a URL and maps the reply back.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: reqwest::Url,
    pub timeout: Duration,
    pub auth: Option<WebhookAuth>,
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct WebhookAuth {
    /// Header name, `Authorization` by default.
    pub header: String,
    /// Prefix before the secret, `Bearer` by default when the header is `Authorization`.
    pub scheme: Option<String>,
    pub secret: SecretString,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ConnectorKind {
    Embedded,
    Webhook,
}

/// One table for every kind (serde's tagged enums would lose the spans); `connector`
/// checks that only the kind's own keys are set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    kind: Spanned<ConnectorKind>,
    outbox: Option<String>,
    directory: Option<String>,
    indicators: Option<String>,
    events: Option<String>,
    inventory: Option<String>,
    url: Option<Spanned<String>>,
    timeout_ms: Option<Spanned<u64>>,
    max_response_kib: Option<u64>,
    token: Option<Spanned<SecretRef>>,
    header: Option<String>,
    scheme: Option<String>,
}

impl ConnectorConfig {
    /// A `[connectors.NAME]` table, `key` naming it in errors; `dir` is the config's folder.
    pub fn from_toml(
        table: Spanned<DeValue<'_>>,
        dir: &Path,
        key: &str,
        report: &mut Reporter,
    ) -> Option<ConnectorConfig> {
        let span = table.span();
        let kind = table
            .get_ref()
            .as_table()
            .and_then(|t| t.get("kind"))
            .map(|kind| (kind.get_ref().as_str().map(str::to_owned), kind.span()));
        let Some((Some(kind), kind_span)) = kind else {
            report.error(
                Some(kind.map_or(span, |(_, at)| at)),
                format!("{key}.kind"),
                format!("a connector needs `kind`, one of: {}", connector_kinds()),
            );
            return None;
        };
        if !matches!(kind.as_str(), "embedded" | "webhook") {
            let Some(vendor_kind) = Kind::find(&kind) else {
                report.error(
                    Some(kind_span),
                    format!("{key}.kind"),
                    format!(
                        "unknown connector kind {kind:?}; kinds are: {}",
                        connector_kinds()
                    ),
                );
                return None;
            };
            return vendor(vendor_kind, &table, dir, key, report).map(ConnectorConfig::Vendor);
        }
        let raw: RawConnector =
            match serde_path_to_error::deserialize(toml::de::ValueDeserializer::from(table)) {
                Ok(raw) => raw,
                Err(error) => {
                    let path = error.path().to_string();
                    let inner = error.into_inner();
                    report.error(
                        inner.span().or(Some(span)),
                        format!("{key}.{path}"),
                        inner.message(),
                    );
                    return None;
                }
            };
        let kind = *raw.kind.get_ref();
        let embedded_keys = [
            ("outbox", raw.outbox.is_some()),
            ("directory", raw.directory.is_some()),
            ("indicators", raw.indicators.is_some()),
            ("events", raw.events.is_some()),
            ("inventory", raw.inventory.is_some()),
        ];
        let webhook_keys = [
            ("url", raw.url.is_some()),
            ("timeout_ms", raw.timeout_ms.is_some()),
            ("max_response_kib", raw.max_response_kib.is_some()),
            ("token", raw.token.is_some()),
            ("header", raw.header.is_some()),
            ("scheme", raw.scheme.is_some()),
        ];
        let (kind_name, foreign) = match kind {
            ConnectorKind::Embedded => ("embedded", webhook_keys),
            ConnectorKind::Webhook => ("webhook", {
                let mut keys = [("", false); 6];
                keys[..5].copy_from_slice(&embedded_keys);
                keys
            }),
        };
        let misplaced: Vec<&str> = foreign
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
        if !misplaced.is_empty() {
            report.error(
                Some(raw.kind.span()),
                key,
                format!("a {kind_name} connector does not take: {}", misplaced.join(", ")),
            );
            return None;
        }
        match kind {
            ConnectorKind::Embedded => {
                let Some(outbox) = raw.outbox else {
                    report.error(
                        Some(raw.kind.span()),
                        format!("{key}.outbox"),
                        "an embedded connector needs `outbox`, the file actions are appended to",
                    );
                    return None;
                };
                Some(ConnectorConfig::Embedded(EmbeddedConfig {
                    outbox: dir.join(outbox),
                    directory: raw.directory.map(|p| dir.join(p)),
                    indicators: raw.indicators.map(|p| dir.join(p)),
                    events: raw.events.map(|p| dir.join(p)),
                    inventory: raw.inventory.map(|p| dir.join(p)),
                }))
            }
            ConnectorKind::Webhook => {
                let Some(url) = raw.url else {
                    report.error(
                        Some(raw.kind.span()),
                        format!("{key}.url"),
                        "a webhook connector needs `url`",
                    );
                    return None;
                };
                let parsed = http_url(&url, &format!("{key}.url"), report)?;
                let timeout = match &raw.timeout_ms {
                    Some(ms) => Duration::from_millis(report.in_range(
                        ms,
                        1..=MAX_TIMEOUT.as_millis() as u64,
                        format!("{key}.timeout_ms"),
                    )?),
                    None => Duration::from_secs(10),
                };
                let auth = match raw.token {
                    Some(token) => match token.get_ref().resolve(dir) {
                        Ok(secret) => {
                            let header = raw.header.unwrap_or_else(|| "Authorization".into());
                            let scheme = raw.scheme.or_else(|| {
                                header
                                    .eq_ignore_ascii_case("authorization")
                                    .then(|| "Bearer".into())
                            });
                            Some(WebhookAuth {
                                header,
                                scheme,
                                secret,
                            })
                        }
                        Err(message) => {
                            report.error(Some(token.span()), format!("{key}.token"), message);
                            return None;
                        }
                    },
                    None => None,
                };
                Some(ConnectorConfig::Webhook(WebhookConfig {
                    url: parsed,
                    timeout,
                    auth,
                    max_response_bytes: (raw.max_response_kib.unwrap_or(1024) as usize).saturating_mul(1024),
                }))
            }
        }
    }
}

/// Each `[connectors.NAME]` table with its spans, read once its `kind` says which keys it
/// takes (serde's tagged enums would lose the spans).
pub fn tables<'i>(root: &Spanned<DeTable<'i>>) -> Vec<(String, Spanned<DeValue<'i>>)> {
    let Some(Some(tables)) = root.get_ref().get("connectors").map(|c| c.get_ref().as_table()) else {
        return Vec::new();
    };
    tables
        .iter()
        .map(|(name, table)| (name.get_ref().to_string(), table.clone()))
        .collect()
}

/// The list of connector kinds, for errors.
fn connector_kinds() -> String {
    let mut kinds = vec!["embedded", "webhook"];
    kinds.extend(crate::vendor::KINDS.iter().map(|kind| kind.name));
    kinds.join(", ")
}

/// An http(s) URL with a host and no credentials in it (they would end up in logs).
pub fn http_url(url: &Spanned<String>, key: &str, report: &mut Reporter) -> Option<reqwest::Url> {
    let parsed = match reqwest::Url::parse(url.get_ref()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => parsed,
        Ok(_) => {
            report.error(Some(url.span()), key, "must be an http or https URL");
            return None;
        }
        Err(error) => {
            report.error(Some(url.span()), key, format!("invalid URL: {error}"));
            return None;
        }
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        report.error(
            Some(url.span()),
            key,
            "credentials in the URL would be logged; use `token` instead",
        );
        return None;
    }
    Some(parsed)
}

/// Keys every HTTP vendor connector takes, besides `kind`.
const SHARED_KEYS: [&str; 6] = [
    "kind",
    "url",
    "timeout_ms",
    "retries",
    "max_response_kib",
    "cache_ttl_seconds",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shared {
    #[allow(dead_code)]
    kind: String,
    url: Option<Spanned<String>>,
    timeout_ms: Option<Spanned<u64>>,
    retries: Option<Spanned<u32>>,
    max_response_kib: Option<Spanned<u64>>,
    cache_ttl_seconds: Option<Spanned<u64>>,
}

/// How long an intel answer is reused when the config does not say: an hour saves most of
/// an API quota during a burst and is short enough for reputation to change.
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);

fn vendor(
    kind: &'static Kind,
    table: &Spanned<DeValue<'_>>,
    dir: &Path,
    key: &str,
    report: &mut Reporter,
) -> Option<VendorConfig> {
    let span = table.span();
    let DeValue::Table(entries) = table.get_ref() else {
        report.error(Some(span), key, "a connector is a table");
        return None;
    };
    let (mut shared, mut own) = (DeTable::new(), DeTable::new());
    for (name, value) in entries.iter() {
        let part = if SHARED_KEYS.contains(&name.get_ref().as_ref()) {
            &mut shared
        } else {
            &mut own
        };
        part.insert(name.clone(), value.clone());
    }
    let errors_before = report.errors.len();

    let shared: Shared = deserialize(shared, span.clone(), key, report)?;
    let settings = match kind.parse(toml::de::ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(own),
    ))) {
        Ok(settings) => Some(settings),
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let mut message = inner.message().to_owned();
            if message.starts_with("unknown field") && kind.http {
                message.push_str(
                    ", or one shared by HTTP connectors: url, timeout_ms, retries, max_response_kib",
                );
            }
            report.error(
                inner.span().or(Some(span.clone())),
                format!("{key}.{path}"),
                message,
            );
            None
        }
    };

    let http = if kind.http {
        http_settings(&shared, kind, span.clone(), key, report)
    } else {
        for (name, value) in [
            ("url", shared.url.as_ref().map(|v| v.span())),
            ("timeout_ms", shared.timeout_ms.as_ref().map(|v| v.span())),
            ("retries", shared.retries.as_ref().map(|v| v.span())),
            (
                "max_response_kib",
                shared.max_response_kib.as_ref().map(|v| v.span()),
            ),
        ] {
            if let Some(at) = value {
                report.error(
                    Some(at),
                    format!("{key}.{name}"),
                    format!("kind {} does not talk HTTP and takes no `{name}`", kind.name),
                );
            }
        }
        None
    };
    let cache_ttl = match shared.cache_ttl_seconds {
        Some(seconds) if kind.capability != Capability::Intel => {
            report.error(
                Some(seconds.span()),
                format!("{key}.cache_ttl_seconds"),
                "only intel connectors cache their answers",
            );
            Duration::ZERO
        }
        Some(seconds) => Duration::from_secs(seconds.into_inner()),
        None if kind.capability == Capability::Intel => DEFAULT_CACHE_TTL,
        None => Duration::ZERO,
    };

    let settings = settings?;
    for (name, secret) in settings.secrets() {
        let checked = secret.get_ref().resolve(dir).and_then(|value| {
            if kind.url_secret == Some(name) {
                crate::vendor::secret_url(&value).map(drop)
            } else {
                Ok(())
            }
        });
        if let Err(message) = checked {
            report.error(Some(secret.span()), format!("{key}.{name}"), message);
        }
    }
    if report.errors.len() > errors_before {
        return None;
    }
    Some(VendorConfig {
        kind,
        http,
        cache_ttl,
        settings,
        dir: dir.to_owned(),
    })
}

fn http_settings(
    shared: &Shared,
    kind: &Kind,
    span: std::ops::Range<usize>,
    key: &str,
    report: &mut Reporter,
) -> Option<HttpSettings> {
    if let Some(secret) = kind.url_secret {
        if let Some(url) = &shared.url {
            report.error(
                Some(url.span()),
                format!("{key}.url"),
                format!(
                    "kind {} takes its URL from the secret `{secret}` (the URL is its credential), not from `url`",
                    kind.name
                ),
            );
        }
        return Some(with_shared_keys(
            HttpSettings::new(crate::vendor::url_in_secret_placeholder()),
            shared,
            key,
            report,
        ));
    }
    let Some(url) = &shared.url else {
        report.error(
            Some(span),
            format!("{key}.url"),
            format!("kind {} needs `url`, the vendor API's base URL", kind.name),
        );
        return None;
    };
    let settings = HttpSettings::new(http_url(url, &format!("{key}.url"), report)?);
    Some(with_shared_keys(settings, shared, key, report))
}

/// `timeout_ms`, `retries` and `max_response_kib`, checked.
fn with_shared_keys(
    mut settings: HttpSettings,
    shared: &Shared,
    key: &str,
    report: &mut Reporter,
) -> HttpSettings {
    if let Some(ms) = &shared.timeout_ms
        && let Some(ms) = report.in_range(
            ms,
            1..=MAX_TIMEOUT.as_millis() as u64,
            format!("{key}.timeout_ms"),
        )
    {
        settings.timeout = Duration::from_millis(ms);
    }
    if let Some(retries) = &shared.retries
        && let Some(retries) = report.in_range(retries, 0..=10, format!("{key}.retries"))
    {
        settings.retries = retries;
    }
    if let Some(kib) = &shared.max_response_kib
        && let Some(kib) = report.in_range(kib, 1..=256 * 1024, format!("{key}.max_response_kib"))
    {
        settings.max_response_bytes = (kib as usize).saturating_mul(1024);
    }
    settings
}

fn deserialize<T: serde::de::DeserializeOwned>(
    table: DeTable<'_>,
    span: std::ops::Range<usize>,
    key: &str,
    report: &mut Reporter,
) -> Option<T> {
    let value = Spanned::new(span.clone(), DeValue::Table(table));
    match serde_path_to_error::deserialize(toml::de::ValueDeserializer::from(value)) {
        Ok(value) => Some(value),
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            report.error(
                inner.span().or(Some(span)),
                format!("{key}.{path}"),
                inner.message(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::located::ConfigErrors;

    /// The connectors an example declares, read as the config reads them.
    fn connectors_in(text: &str, dir: &Path) -> Result<Vec<ConnectorConfig>, ConfigErrors> {
        let path = dir.join("palisade.toml");
        let mut report = Reporter::new(&path, text);
        let root = DeTable::parse(text).expect("TOML");
        let mut connectors = Vec::new();
        for (name, table) in tables(&root) {
            connectors.extend(ConnectorConfig::from_toml(
                table,
                dir,
                &format!("connectors.{name}"),
                &mut report,
            ));
        }
        if report.errors.is_empty() {
            Ok(connectors)
        } else {
            Err(ConfigErrors(report.errors))
        }
    }

    /// The reference an admin copies from: every example table there is a valid config of
    /// the kind it documents, once its secrets point at a file that exists.
    #[test]
    fn every_example_in_the_connector_reference_is_a_valid_config() {
        let reference = include_str!("../../../docs/connectors.md");
        let dir = tempfile::tempdir().unwrap();
        // A URL serves both as a token and as a webhook URL kept secret.
        std::fs::write(dir.path().join("secret"), "https://hooks.example.com/T0/B0/x").unwrap();
        let mut documented = Vec::new();
        for block in reference.split("```toml\n").skip(1) {
            let example = with_secrets_in(block.split("```").next().unwrap_or_default(), "secret");
            let connectors = connectors_in(&example, dir.path())
                .unwrap_or_else(|errors| panic!("{errors}\nin:\n{example}"));
            for connector in &connectors {
                if let ConnectorConfig::Vendor(vendor) = connector {
                    documented.push(vendor.kind.name);
                }
            }
        }
        documented.sort();
        let mut all: Vec<&str> = crate::vendor::KINDS
            .iter()
            .map(|kind| kind.name)
            .filter(|name| *name != "opensearch")
            .collect();
        all.sort();
        assert_eq!(documented, all, "each kind has one example in docs/connectors.md");
    }

    /// Replaces each `{ env = "..." }` or `{ file = "..." }` with `{ file = "<file>" }`.
    fn with_secrets_in(example: &str, file: &str) -> String {
        let mut out = String::new();
        let mut rest = example;
        while let Some(start) = ["{ env = ", "{ file = "]
            .iter()
            .filter_map(|s| rest.find(s))
            .min()
        {
            let Some(end) = rest[start..].find('}') else { break };
            out.push_str(&rest[..start]);
            out.push_str(&format!("{{ file = \"{file}\" }}"));
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }
}
