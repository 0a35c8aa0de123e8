//! `[connectors.NAME]` tables of a vendor kind: the shared HTTP keys are read here, the rest
//! by the kind's own settings type, with errors located in the file either way.

use super::VendorConfig;
use super::error::Reporter;
use super::schema::http_url;
use crate::capability::Capability;
use crate::connectors::http::HttpSettings;
use crate::connectors::vendor::Kind;
use crate::runtime::limits::MAX_TIMEOUT;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

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

pub(super) fn parse(
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
                crate::connectors::vendor::secret_url(&value).map(drop)
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
            HttpSettings::new(crate::connectors::vendor::url_in_secret_placeholder()),
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
    use crate::config::{Config, ConnectorConfig};

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
            let config = Config::parse(&dir.path().join("palisade.toml"), &example)
                .unwrap_or_else(|errors| panic!("{errors}\nin:\n{example}"));
            for connector in config.connectors.values() {
                if let ConnectorConfig::Vendor(vendor) = connector {
                    documented.push(vendor.kind.name);
                }
            }
        }
        documented.sort();
        let mut all: Vec<&str> = crate::connectors::vendor::KINDS
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
