//! VirusTotal, through its API v3 object reports with an API key (`x-apikey` header).
//!
//! ```toml
//! [connectors.virustotal]
//! kind = "virustotal"
//! url = "https://www.virustotal.com"
//! api_key = { env = "VT_API_KEY" }
//! malicious_engines = 3    # engines flagging malicious from which the reputation is malicious (default 3)
//! cache_ttl_seconds = 3600 # answers are reused for an hour, to spare the quota (shared intel key)
//! ```
//!
//! lookup reads the indicator's object report, `x-apikey: <key>` and `Accept:
//! application/json` on each:
//! - IP address: `GET /api/v3/ip_addresses/{ip}`
//! - domain: `GET /api/v3/domains/{domain}`
//! - file hash (MD5, SHA-1 or SHA-256): `GET /api/v3/files/{hash}`
//! - URL: `GET /api/v3/urls/{id}`, where the id is the URL in unpadded base64url, as VirusTotal
//!   documents; VirusTotal canonicalises it.
//!
//! From `data.attributes.last_analysis_stats`, the score is the share of engines with a verdict
//! (harmless, malicious, suspicious, undetected; timeouts and failures excluded) that flag the
//! indicator malicious or suspicious, 0 to 100. The reputation follows engine counts, as
//! analysts read VirusTotal: malicious from `malicious_engines` engines flagging it malicious,
//! suspicious when any engine flags it malicious or suspicious, benign when engines analysed it
//! and none did, unknown when no engine has a verdict. Tags are VirusTotal's `tags`; the
//! description gives the counts and the community `reputation`.
//!
//! Errors are `{"error":{"code":"...","message":"..."}}`. An indicator VirusTotal has never
//! seen is a 404 `NotFoundError`: `NotFound`, with VirusTotal's message, which plugins read as
//! "no source knows it" (the WIT `not-found`). A 404 without that code (a wrong `url`, a proxy)
//! is a failure, so a misconfiguration never passes for an unknown indicator. A spent quota is
//! a 429 `QuotaExceededError` (per minute, day or month; VirusTotal sends no `Retry-After`):
//! retried with backoff, then rate limited. A bad key is a 401 `WrongCredentialsError`.
//!
//! VirusTotal's documentation:
//! - <https://docs.virustotal.com/reference/authentication> (the `x-apikey` header)
//! - <https://docs.virustotal.com/reference/ip-info>, <https://docs.virustotal.com/reference/domain-info>,
//!   <https://docs.virustotal.com/reference/file-info>, <https://docs.virustotal.com/reference/url-info>
//! - <https://docs.virustotal.com/reference/url> (URL identifiers: unpadded base64url)
//! - <https://docs.virustotal.com/reference/errors> (error codes and their HTTP status)

use super::{Indicator, IntelSource, Report, Reputation};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use base64::Engine;
use palisade_core::capability::Capability;
use reqwest::header::HeaderName;
use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirusTotal {
    api_key: Spanned<SecretRef>,
    #[serde(default = "default_malicious_engines")]
    malicious_engines: u32,
}

fn default_malicious_engines() -> u32 {
    3
}

impl VendorBackend for VirusTotal {
    const KIND: &'static str = "virustotal";
    const CAPABILITY: Capability = Capability::Intel;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("api_key", &self.api_key)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        if self.malicious_engines == 0 {
            anyhow::bail!("malicious_engines must be at least 1");
        }
        let auth = Auth::Header {
            name: HeaderName::from_static("x-apikey"),
            scheme: None,
            secret: cx.secret("api_key", &self.api_key)?,
        };
        Ok(CapabilitySet {
            intel: Some(Arc::new(VirusTotalIntel {
                client: cx.client("virustotal", auth, error_message),
                malicious_engines: self.malicious_engines,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// VirusTotal's error body: `{"error":{"code":"NotFoundError","message":"..."}}`, as
/// `<code>: <message>`: the code first, so a long message cut short keeps it.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        error: Error,
    }
    #[derive(Deserialize)]
    struct Error {
        code: Option<String>,
        message: Option<String>,
    }
    let Body { error } = serde_json::from_slice(body).ok()?;
    match (error.message, error.code) {
        (Some(message), Some(code)) => Some(format!("{code}: {message}")),
        (message, code) => message.or(code),
    }
}

/// Whether a not-found error is VirusTotal's `NotFoundError` (`<vendor> <what>: NotFoundError: ...`).
fn is_unseen(detail: &str) -> bool {
    detail
        .split_once(": ")
        .is_some_and(|(_, text)| text.starts_with("NotFoundError"))
}

struct VirusTotalIntel {
    client: Arc<VendorClient>,
    malicious_engines: u32,
}

#[derive(Deserialize)]
struct ObjectReply {
    data: Object,
}

#[derive(Deserialize)]
struct Object {
    attributes: Attributes,
}

#[derive(Deserialize)]
struct Attributes {
    /// Absent on an object VirusTotal has not analysed yet.
    #[serde(default)]
    last_analysis_stats: Stats,
    reputation: Option<i64>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Stats {
    #[serde(default)]
    harmless: u32,
    #[serde(default)]
    malicious: u32,
    #[serde(default)]
    suspicious: u32,
    #[serde(default)]
    undetected: u32,
}

/// The path of an indicator's object report.
fn object_request(indicator: &Indicator) -> Result<Request, ConnectorError> {
    let value = indicator.value().trim();
    if value.is_empty() {
        return Err(ConnectorError::InvalidInput("the indicator is empty".into()));
    }
    Ok(match indicator {
        Indicator::Ip(ip) => {
            let ip: std::net::IpAddr = ip
                .trim()
                .parse()
                .map_err(|_| ConnectorError::InvalidInput(format!("{ip:?} is not an IP address")))?;
            Request::get("api/v3/ip_addresses").segment(ip.to_string())
        }
        Indicator::Domain(_) => {
            let domain = value.trim_end_matches('.');
            if domain.is_empty() || domain.contains(|c: char| c == '/' || c.is_whitespace()) {
                return Err(ConnectorError::InvalidInput(format!("{value:?} is not a domain")));
            }
            Request::get("api/v3/domains").segment(domain)
        }
        Indicator::FileHash(_) => {
            if !matches!(value.len(), 32 | 40 | 64) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConnectorError::InvalidInput(format!(
                    "{value:?} is not an MD5, SHA-1 or SHA-256 hash"
                )));
            }
            Request::get("api/v3/files").segment(value.to_ascii_lowercase())
        }
        Indicator::Url(_) => Request::get("api/v3/urls")
            .segment(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value)),
    })
}

impl VirusTotalIntel {
    fn report(&self, indicator: &Indicator, attributes: Attributes) -> Report {
        let stats = attributes.last_analysis_stats;
        let flagged = stats.malicious + stats.suspicious;
        let verdicts = stats.harmless + stats.undetected + flagged;
        let score = if verdicts == 0 {
            0
        } else {
            // At most 100, as flagged <= verdicts.
            ((u64::from(flagged) * 100 + u64::from(verdicts) / 2) / u64::from(verdicts)) as u8
        };
        let reputation = if verdicts == 0 {
            Reputation::Unknown
        } else if stats.malicious >= self.malicious_engines {
            Reputation::Malicious
        } else if flagged > 0 {
            Reputation::Suspicious
        } else {
            Reputation::Benign
        };
        let mut description = format!(
            "{} malicious, {} suspicious, {} harmless, {} undetected",
            stats.malicious, stats.suspicious, stats.harmless, stats.undetected
        );
        if let Some(community) = attributes.reputation {
            description.push_str(&format!("; community reputation {community}"));
        }
        Report {
            indicator: indicator.value().to_owned(),
            reputation,
            score,
            sources: vec!["virustotal".into()],
            tags: attributes.tags,
            description: Some(description),
        }
    }
}

#[async_trait::async_trait]
impl IntelSource for VirusTotalIntel {
    async fn lookup(&self, _cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
        let request = object_request(indicator)?;
        let reply: ObjectReply = match self.client.json(&request, "object report").await {
            Ok(reply) => reply,
            // Only VirusTotal's own NotFoundError means it has never seen the indicator.
            Err(ConnectorError::NotFound(detail)) if !is_unseen(&detail) => {
                return Err(ConnectorError::Failed(format!(
                    "{detail}: HTTP 404 without VirusTotal's NotFoundError (check the connector's url)"
                )));
            }
            Err(error) => return Err(error),
        };
        Ok(self.report(indicator, reply.data.attributes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const KEY: &str = "vt-0123456789abcdef0123456789abcdef";

    fn virustotal(stub: &Stub) -> VirusTotalIntel {
        VirusTotalIntel {
            client: stub.client(
                "/",
                Auth::Header {
                    name: HeaderName::from_static("x-apikey"),
                    scheme: None,
                    secret: SecretString::from(KEY),
                },
                "virustotal",
                error_message,
            ),
            malicious_engines: 3,
        }
    }

    fn cx() -> CallContext {
        CallContext::new("enrich", "alert-1")
    }

    /// An object report request as VirusTotal documents it: the key in `x-apikey`, JSON asked for.
    fn get(path: &str) -> Exchange {
        Exchange::expect("GET", path)
            .header("x-apikey", KEY)
            .header("accept", "application/json")
    }

    fn object(kind: &str, id: &str, stats: &str, reputation: i64, tags: &str) -> String {
        format!(
            r#"{{"data":{{"type":"{kind}","id":"{id}","links":{{"self":"https://www.virustotal.com/api/v3/x/{id}"}},
                "attributes":{{"last_analysis_date":1795600000,"last_analysis_stats":{stats},
                "last_analysis_results":{{}},"reputation":{reputation},"tags":{tags},
                "total_votes":{{"harmless":0,"malicious":2}}}}}}}}"#
        )
    }

    const CLEAN: &str = r#"{"harmless":0,"malicious":0,"suspicious":0,"undetected":90,"timeout":0}"#;

    #[tokio::test]
    async fn each_indicator_kind_reads_its_object_report() {
        let url = "http://evil.example/login?next=/a";
        let url_id = "aHR0cDovL2V2aWwuZXhhbXBsZS9sb2dpbj9uZXh0PS9h";
        let hash = "44d88612fea8a8f36de82e1278abb02f";
        let stub = Stub::start(vec![
            get("/api/v3/ip_addresses/203.0.113.7").reply(
                200,
                &object(
                    "ip_address",
                    "203.0.113.7",
                    r#"{"harmless":60,"malicious":8,"suspicious":2,"undetected":20,"timeout":0}"#,
                    -11,
                    r#"["scanner"]"#,
                ),
            ),
            get("/api/v3/domains/evil.example").reply(
                200,
                &object(
                    "domain",
                    "evil.example",
                    r#"{"harmless":70,"malicious":1,"suspicious":0,"undetected":19,"timeout":0}"#,
                    0,
                    "[]",
                ),
            ),
            get(&format!("/api/v3/urls/{url_id}")).reply(
                200,
                &object(
                    "url",
                    "c0ffee",
                    r#"{"harmless":65,"malicious":0,"suspicious":0,"undetected":25,"timeout":1}"#,
                    0,
                    "[]",
                ),
            ),
            get(&format!("/api/v3/files/{hash}")).reply(
                200,
                &object(
                    "file",
                    hash,
                    r#"{"harmless":0,"type-unsupported":4,"suspicious":0,"confirmed-timeout":0,"timeout":0,"failure":0,"malicious":62,"undetected":10}"#,
                    -1200,
                    r#"["text","eicar"]"#,
                ),
            ),
        ]);
        let intel = virustotal(&stub);
        let ip = intel
            .lookup(&cx(), &Indicator::Ip("203.0.113.7".into()))
            .await
            .unwrap();
        assert_eq!(
            ip,
            Report {
                indicator: "203.0.113.7".into(),
                reputation: Reputation::Malicious,
                score: 11,
                sources: vec!["virustotal".into()],
                tags: vec!["scanner".into()],
                description: Some(
                    "8 malicious, 2 suspicious, 60 harmless, 20 undetected; community reputation -11".into()
                ),
            }
        );
        let domain = intel
            .lookup(&cx(), &Indicator::Domain("evil.example".into()))
            .await
            .unwrap();
        assert_eq!((domain.reputation, domain.score), (Reputation::Suspicious, 1));
        let clean = intel.lookup(&cx(), &Indicator::Url(url.into())).await.unwrap();
        assert_eq!((clean.reputation, clean.score), (Reputation::Benign, 0));
        assert_eq!(clean.indicator, url);
        let file = intel
            .lookup(&cx(), &Indicator::FileHash(hash.to_uppercase()))
            .await
            .unwrap();
        assert_eq!((file.reputation, file.score), (Reputation::Malicious, 86));
        assert_eq!(file.tags, vec!["text".to_owned(), "eicar".to_owned()]);
        stub.finish();
    }

    #[tokio::test]
    async fn a_url_id_is_unpadded_base64url_not_standard_base64() {
        // Standard base64 of this URL is `...X5+fiZjPT8/eA==`: a `/` would split the path.
        let url = "https://evil.example/a?b=~~~&c=??x";
        let stub = Stub::start(vec![
            get("/api/v3/urls/aHR0cHM6Ly9ldmlsLmV4YW1wbGUvYT9iPX5-fiZjPT8_eA")
                .reply(200, &object("url", "c0ffee", CLEAN, 0, "[]")),
        ]);
        let report = virustotal(&stub)
            .lookup(&cx(), &Indicator::Url(url.into()))
            .await
            .unwrap();
        assert_eq!(report.indicator, url);
        stub.finish();
    }

    #[tokio::test]
    async fn an_object_without_an_analysis_is_unknown() {
        let stub = Stub::start(vec![get("/api/v3/domains/new.example").reply(
            200,
            r#"{"data":{"type":"domain","id":"new.example","attributes":{"reputation":0,"tags":[]}}}"#,
        )]);
        let report = virustotal(&stub)
            .lookup(&cx(), &Indicator::Domain("new.example".into()))
            .await
            .unwrap();
        assert_eq!((report.reputation, report.score), (Reputation::Unknown, 0));
        stub.finish();
    }

    #[tokio::test]
    async fn an_indicator_virustotal_never_saw_is_not_found() {
        let long_url = format!("http://evil.example/{}", "a".repeat(400));
        let long_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&long_url);
        let stub = Stub::start(vec![
            get("/api/v3/files/da39a3ee5e6b4b0d3255bfef95601890afd80709").reply(
                404,
                r#"{"error":{"code":"NotFoundError","message":"File \"da39a3ee5e6b4b0d3255bfef95601890afd80709\" not found"}}"#,
            ),
            // A message past the length an error keeps still counts as VirusTotal's answer.
            get(&format!("/api/v3/urls/{long_id}")).reply(
                404,
                &format!(r#"{{"error":{{"code":"NotFoundError","message":"URL \"{long_id}\" not found"}}}}"#),
            ),
        ]);
        let intel = virustotal(&stub);
        assert_eq!(
            intel
                .lookup(
                    &cx(),
                    &Indicator::FileHash("da39a3ee5e6b4b0d3255bfef95601890afd80709".into())
                )
                .await
                .unwrap_err(),
            ConnectorError::NotFound(
                "virustotal object report: NotFoundError: File \"da39a3ee5e6b4b0d3255bfef95601890afd80709\" not found"
                    .into()
            )
        );
        let url = intel.lookup(&cx(), &Indicator::Url(long_url)).await.unwrap_err();
        assert!(matches!(url, ConnectorError::NotFound(_)), "{url}");
        stub.finish();
    }

    #[tokio::test]
    async fn a_404_that_is_not_virustotals_is_a_failure_not_an_unknown_indicator() {
        let stub = Stub::start(vec![
            get("/api/v3/ip_addresses/203.0.113.7").reply(404, "<html><body>Not Found</body></html>"),
        ]);
        let error = virustotal(&stub)
            .lookup(&cx(), &Indicator::Ip("203.0.113.7".into()))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Failed(
                "virustotal object report: <html><body>Not Found</body></html>: HTTP 404 without VirusTotal's NotFoundError (check the connector's url)"
                    .into()
            )
        );
        stub.finish();
    }

    const QUOTA: &str = r#"{"error":{"code":"QuotaExceededError","message":"Quota exceeded"}}"#;

    #[tokio::test]
    async fn a_spent_quota_is_retried_then_rate_limited() {
        // VirusTotal sends no Retry-After: the backoff spaces the attempts.
        let mut exchanges = vec![
            get("/api/v3/ip_addresses/198.51.100.9").reply(429, QUOTA),
            get("/api/v3/ip_addresses/198.51.100.9")
                .reply(200, &object("ip_address", "198.51.100.9", CLEAN, 0, "[]")),
        ];
        // The first attempt and the three retries the connector allows.
        exchanges.extend((0..4).map(|_| get("/api/v3/domains/x.example").reply(429, QUOTA)));
        let stub = Stub::start(exchanges);
        let intel = virustotal(&stub);
        let retried = intel
            .lookup(&cx(), &Indicator::Ip("198.51.100.9".into()))
            .await
            .unwrap();
        assert_eq!(retried.reputation, Reputation::Benign);
        assert_eq!(
            intel
                .lookup(&cx(), &Indicator::Domain("x.example".into()))
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "virustotal object report: HTTP 429: QuotaExceededError: Quota exceeded".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_wrong_or_missing_key_is_unauthorized_and_never_echoed() {
        let stub = Stub::start(vec![
            get("/api/v3/domains/x.example").reply(
                401,
                r#"{"error":{"code":"WrongCredentialsError","message":"Wrong API key"}}"#,
            ),
            get("/api/v3/domains/x.example").reply(
                403,
                r#"{"error":{"code":"ForbiddenError","message":"You are not allowed to perform the requested operation"}}"#,
            ),
        ]);
        let intel = virustotal(&stub);
        let wrong = intel
            .lookup(&cx(), &Indicator::Domain("x.example".into()))
            .await
            .unwrap_err();
        assert_eq!(
            wrong,
            ConnectorError::Unauthorized(
                "virustotal object report: HTTP 401: WrongCredentialsError: Wrong API key (check the connector's credentials and their permissions)"
                    .into()
            )
        );
        let forbidden = intel
            .lookup(&cx(), &Indicator::Domain("x.example".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(&forbidden, ConnectorError::Unauthorized(text) if text.contains("ForbiddenError")),
            "{forbidden}"
        );
        for error in [wrong, forbidden] {
            assert!(!error.to_string().contains(KEY), "{error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn values_that_are_not_indicators_reach_no_vendor() {
        let stub = Stub::start(vec![]);
        let intel = virustotal(&stub);
        for indicator in [
            Indicator::FileHash("not-a-hash".into()),
            Indicator::Ip("10.0.0".into()),
            Indicator::Domain(" ".into()),
            Indicator::Domain("..".into()),
            Indicator::Domain("../users/me".into()),
        ] {
            let error = intel.lookup(&cx(), &indicator).await.unwrap_err();
            assert!(matches!(error, ConnectorError::InvalidInput(_)), "{error}");
        }
        stub.finish();
    }
}
