//! `[plugins.NAME.http]` as written, and its checks into an [`HttpPolicy`].

use super::{HttpPolicy, Origin};
use crate::capability::{Grants, HTTP};
use crate::limits::MAX_TIMEOUT;
use palisade_core::located::Reporter;
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

/// `[plugins.NAME.http]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    allow_private: bool,
    timeout_ms: Option<Spanned<u64>>,
    max_response_kib: Option<Spanned<u64>>,
}

/// The most a response body may be: 64 MiB, so a typo cannot make it unbounded.
const MAX_RESPONSE_KIB: u64 = 64 * 1024;

impl HttpPolicy {
    /// `[plugins.NAME.http]`, which must be there, with at least one origin, exactly when `http`
    /// is granted.
    pub fn from_toml(
        raw: Option<Spanned<RawHttp>>,
        raw_grants: &[Spanned<String>],
        grants: &Grants,
        plugin_key: &str,
        report: &mut Reporter,
    ) -> Option<HttpPolicy> {
        let key = format!("{plugin_key}.http");
        let granted = grants.allows(HTTP);
        let raw = match raw {
            None if granted => {
                let span = raw_grants
                    .iter()
                    .find(|g| g.get_ref() == "http")
                    .map(|g| g.span());
                report.error(
                    span,
                    format!("{plugin_key}.grants"),
                    format!(
                        "grants http but has no allow list: add [{key}] with allow = [\"https://host\", ...]"
                    ),
                );
                return None;
            }
            None => return None,
            Some(raw) if !granted => {
                report.error(
                    Some(raw.span()),
                    &key,
                    format!("an allow list without the `http` grant: add \"http\" to {plugin_key}.grants"),
                );
                return None;
            }
            Some(raw) => raw,
        };
        let span = raw.span();
        let raw = raw.into_inner();
        let mut allow = Vec::new();
        for (index, entry) in raw.allow.iter().enumerate() {
            match Origin::parse(entry.get_ref()) {
                Ok(origin) => allow.push(origin),
                Err(message) => report.error(
                    Some(entry.span()),
                    format!("{key}.allow[{index}]"),
                    format!("{:?} {message}", entry.get_ref()),
                ),
            }
        }
        if raw.allow.is_empty() {
            report.error(
                Some(span),
                format!("{key}.allow"),
                "granting http needs at least one origin, e.g. allow = [\"https://rdap.example.net\"]",
            );
        }
        let timeout = match &raw.timeout_ms {
            Some(ms) => report
                .in_range(
                    ms,
                    1..=MAX_TIMEOUT.as_millis() as u64,
                    format!("{key}.timeout_ms"),
                )
                .map_or(HttpPolicy::DEFAULT_TIMEOUT, Duration::from_millis),
            None => HttpPolicy::DEFAULT_TIMEOUT,
        };
        let max_response_bytes = match &raw.max_response_kib {
            Some(kib) => report
                .in_range(kib, 1..=MAX_RESPONSE_KIB, format!("{key}.max_response_kib"))
                .map_or(HttpPolicy::DEFAULT_MAX_RESPONSE_BYTES, |kib| kib * 1024),
            None => HttpPolicy::DEFAULT_MAX_RESPONSE_BYTES,
        };
        Some(HttpPolicy {
            allow,
            allow_private: raw.allow_private,
            timeout,
            max_response_bytes,
        })
    }
}
