//! AbuseIPDB, through its API v2 check endpoint (`GET /api/v2/check`) with an API key
//! (`Key` header).
//!
//! ```toml
//! [connectors.abuseipdb]
//! kind = "abuseipdb"
//! url = "https://api.abuseipdb.com"
//! api_key = { env = "ABUSEIPDB_API_KEY" }
//! max_age_days = 90        # reports older than this are ignored (1 to 365, default 90)
//! malicious_score = 75     # abuseConfidenceScore from which an address is malicious (default 75)
//! suspicious_score = 25    # and from which it is suspicious (default 25)
//! cache_ttl_seconds = 3600 # answers are reused for an hour (shared intel key)
//! ```
//!
//! lookup of an IP address reads `data.abuseConfidenceScore` as the score. The reputation is
//! malicious from `malicious_score`, suspicious from `suspicious_score`, benign for an address
//! AbuseIPDB whitelists, and unknown otherwise: AbuseIPDB records abuse only, so a low score
//! or no report at all is not evidence that an address is harmless. Tags are the usage type
//! and `country:XX`; the description names the ISP, the domain and the reports.
//!
//! Domains, URLs and file hashes are unsupported: AbuseIPDB knows IP addresses only.
//!
//! The request is `GET /api/v2/check?ipAddress=<ip>&maxAgeInDays=<days>` with `Key: <key>`
//! and `Accept: application/json` (without `verbose`: the reports themselves are not read).
//! Errors are `{"errors":[{"detail":"...","status":...}]}`: 401 for a missing or wrong key,
//! 422 for a bad parameter. Past the daily limit AbuseIPDB answers 429 with `Retry-After`
//! (seconds) and `X-RateLimit-Reset` (the epoch second the day's quota resets): a wait of at
//! most a minute is waited out, a longer one fails at once as rate limited.
//!
//! AbuseIPDB's documentation: <https://docs.abuseipdb.com/#check-endpoint> (the CHECK
//! endpoint), and on the same page <https://docs.abuseipdb.com/> its daily rate limits (the
//! 429 and its headers) and its error replies.

use super::{Indicator, IntelSource, Report, Reputation};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
use reqwest::header::HeaderName;
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbuseIpDb {
    api_key: Spanned<SecretRef>,
    #[serde(default = "default_max_age_days")]
    max_age_days: u16,
    #[serde(default = "default_malicious_score")]
    malicious_score: u8,
    #[serde(default = "default_suspicious_score")]
    suspicious_score: u8,
}

fn default_max_age_days() -> u16 {
    90
}

fn default_malicious_score() -> u8 {
    75
}

fn default_suspicious_score() -> u8 {
    25
}

impl VendorBackend for AbuseIpDb {
    const KIND: &'static str = "abuseipdb";
    const CAPABILITY: Capability = Capability::Intel;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("api_key", &self.api_key)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        // The range the check endpoint documents for maxAgeInDays.
        if !(1..=365).contains(&self.max_age_days) {
            anyhow::bail!("max_age_days must be between 1 and 365");
        }
        let thresholds = Thresholds {
            malicious: self.malicious_score,
            suspicious: self.suspicious_score,
        };
        thresholds.check()?;
        let auth = Auth::Header {
            name: HeaderName::from_static("key"),
            scheme: None,
            secret: cx.secret("api_key", &self.api_key)?,
        };
        Ok(CapabilitySet {
            intel: Some(Arc::new(AbuseIpDbIntel {
                client: cx.client("abuseipdb", auth, error_message),
                max_age_days: self.max_age_days,
                thresholds,
            })),
            ..CapabilitySet::default()
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Thresholds {
    malicious: u8,
    suspicious: u8,
}

impl Thresholds {
    fn check(&self) -> anyhow::Result<()> {
        if self.malicious > 100 || self.suspicious > self.malicious {
            anyhow::bail!("scores need suspicious_score <= malicious_score <= 100");
        }
        Ok(())
    }
}

/// AbuseIPDB's error body: `{"errors":[{"detail":"...","status":422,"source":{"parameter":"ipAddress"}}]}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<Detail>,
    }
    #[derive(Deserialize)]
    struct Detail {
        detail: String,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    let details: Vec<String> = errors.errors.into_iter().map(|error| error.detail).collect();
    (!details.is_empty()).then(|| details.join("; "))
}

struct AbuseIpDbIntel {
    client: Arc<VendorClient>,
    max_age_days: u16,
    thresholds: Thresholds,
}

#[derive(Deserialize)]
struct CheckReply {
    data: Check,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    ip_address: String,
    abuse_confidence_score: u8,
    #[serde(default)]
    total_reports: u64,
    #[serde(default)]
    num_distinct_users: Option<u64>,
    country_code: Option<String>,
    usage_type: Option<String>,
    isp: Option<String>,
    domain: Option<String>,
    is_whitelisted: Option<bool>,
    last_reported_at: Option<String>,
}

impl AbuseIpDbIntel {
    fn report(&self, check: Check) -> Result<Report, ConnectorError> {
        let score = check.abuse_confidence_score;
        if score > 100 {
            return Err(ConnectorError::Failed(format!(
                "abuseipdb check: abuseConfidenceScore {score} is above 100"
            )));
        }
        let reputation = if score >= self.thresholds.malicious {
            Reputation::Malicious
        } else if score >= self.thresholds.suspicious {
            Reputation::Suspicious
        } else if check.is_whitelisted == Some(true) {
            Reputation::Benign
        } else {
            Reputation::Unknown
        };
        let mut tags = Vec::new();
        if let Some(usage) = check.usage_type.filter(|usage| !usage.is_empty()) {
            tags.push(usage);
        }
        if let Some(country) = check.country_code.filter(|country| !country.is_empty()) {
            tags.push(format!("country:{country}"));
        }
        if check.is_whitelisted == Some(true) {
            tags.push("whitelisted".into());
        }
        let mut description = Vec::new();
        match (check.isp, check.domain) {
            (Some(isp), Some(domain)) => description.push(format!("ISP {isp} ({domain})")),
            (Some(isp), None) => description.push(format!("ISP {isp}")),
            (None, Some(domain)) => description.push(format!("domain {domain}")),
            (None, None) => {}
        }
        let mut reports = format!(
            "{} report(s) in the last {} days",
            check.total_reports, self.max_age_days
        );
        if let Some(users) = check.num_distinct_users {
            reports.push_str(&format!(" from {users} user(s)"));
        }
        if let Some(last) = check.last_reported_at {
            reports.push_str(&format!(", last at {last}"));
        }
        description.push(reports);
        Ok(Report {
            indicator: check.ip_address,
            reputation,
            score,
            sources: vec!["abuseipdb".into()],
            tags,
            description: Some(description.join("; ")),
        })
    }
}

#[async_trait::async_trait]
impl IntelSource for AbuseIpDbIntel {
    async fn lookup(&self, _cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
        let Indicator::Ip(address) = indicator else {
            return Err(ConnectorError::Unsupported(
                "abuseipdb knows IP addresses only, not domains, URLs or file hashes".into(),
            ));
        };
        // Checked here so a typo does not spend a request of the daily quota.
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| ConnectorError::InvalidInput(format!("{address:?} is not an IP address")))?;
        let request = Request::get("api/v2/check")
            .query("ipAddress", address.to_string())
            .query("maxAgeInDays", self.max_age_days.to_string());
        let reply: CheckReply = self.client.json(&request, "check").await?;
        self.report(reply.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;
    use std::time::Duration;

    const KEY: &str = "abuseipdb-0123456789abcdef";

    fn abuseipdb(stub: &Stub) -> AbuseIpDbIntel {
        AbuseIpDbIntel {
            client: stub.client(
                "/",
                Auth::Header {
                    name: HeaderName::from_static("key"),
                    scheme: None,
                    secret: SecretString::from(KEY),
                },
                "abuseipdb",
                error_message,
            ),
            max_age_days: 30,
            thresholds: Thresholds {
                malicious: 75,
                suspicious: 25,
            },
        }
    }

    fn cx() -> CallContext {
        CallContext::new("enrich-ip", "alert-1")
    }

    fn check(ip: &str) -> Exchange {
        Exchange::expect("GET", &format!("/api/v2/check?ipAddress={ip}&maxAgeInDays=30"))
            .header("key", KEY)
            .header("accept", "application/json")
    }

    // The check endpoint's documented reply.
    const REPORTED: &str = r#"{"data":{"ipAddress":"118.25.6.39","isPublic":true,"ipVersion":4,
        "isWhitelisted":false,"abuseConfidenceScore":100,"countryCode":"CN",
        "usageType":"Data Center/Web Hosting/Transit","isp":"Tencent Cloud Computing (Beijing) Co. Ltd",
        "domain":"tencent.com","hostnames":[],"isTor":false,"totalReports":1,"numDistinctUsers":1,
        "lastReportedAt":"2026-11-25T20:16:03+00:00"}}"#;

    #[tokio::test]
    async fn an_ip_is_checked_and_its_confidence_becomes_the_score() {
        let stub = Stub::start(vec![
            check("118.25.6.39").reply(200, REPORTED),
            check("8.8.8.8").reply(
                200,
                r#"{"data":{"ipAddress":"8.8.8.8","isPublic":true,"ipVersion":4,"isWhitelisted":true,
                    "abuseConfidenceScore":0,"countryCode":"US","usageType":"Content Delivery Network",
                    "isp":"Google LLC","domain":"google.com","hostnames":["dns.google"],"isTor":false,
                    "totalReports":0,"numDistinctUsers":0,"lastReportedAt":null}}"#,
            ),
            check("2001%3Adb8%3A%3A1").reply(
                200,
                r#"{"data":{"ipAddress":"2001:db8::1","isPublic":false,"ipVersion":6,"isWhitelisted":null,
                    "abuseConfidenceScore":30,"countryCode":null,"usageType":"Reserved","isp":null,
                    "domain":null,"totalReports":3,"numDistinctUsers":2,"lastReportedAt":null}}"#,
            ),
        ]);
        let intel = abuseipdb(&stub);
        let bad = intel
            .lookup(&cx(), &Indicator::Ip("118.25.6.39".into()))
            .await
            .unwrap();
        assert_eq!(
            bad,
            Report {
                indicator: "118.25.6.39".into(),
                reputation: Reputation::Malicious,
                score: 100,
                sources: vec!["abuseipdb".into()],
                tags: vec!["Data Center/Web Hosting/Transit".into(), "country:CN".into()],
                description: Some(
                    "ISP Tencent Cloud Computing (Beijing) Co. Ltd (tencent.com); 1 report(s) in the last 30 days from 1 user(s), last at 2026-11-25T20:16:03+00:00".into()
                ),
            }
        );
        let good = intel
            .lookup(&cx(), &Indicator::Ip("8.8.8.8".into()))
            .await
            .unwrap();
        assert_eq!((good.reputation, good.score), (Reputation::Benign, 0));
        assert!(good.tags.contains(&"whitelisted".to_owned()), "{:?}", good.tags);
        let v6 = intel
            .lookup(&cx(), &Indicator::Ip("2001:db8::1".into()))
            .await
            .unwrap();
        assert_eq!((v6.reputation, v6.score), (Reputation::Suspicious, 30));
        stub.finish();
    }

    #[tokio::test]
    async fn a_low_score_is_unknown_not_benign() {
        let stub = Stub::start(vec![check("203.0.113.7").reply(
            200,
            r#"{"data":{"ipAddress":"203.0.113.7","isWhitelisted":false,"abuseConfidenceScore":0,
                "countryCode":"ZZ","totalReports":0,"numDistinctUsers":0,"lastReportedAt":null}}"#,
        )]);
        let report = abuseipdb(&stub)
            .lookup(&cx(), &Indicator::Ip("203.0.113.7".into()))
            .await
            .unwrap();
        assert_eq!(report.reputation, Reputation::Unknown);
        stub.finish();
    }

    #[tokio::test]
    async fn other_indicators_are_unsupported_and_reach_no_vendor() {
        let stub = Stub::start(vec![]);
        let intel = abuseipdb(&stub);
        let domain = intel
            .lookup(&cx(), &Indicator::Domain("evil.example".into()))
            .await
            .unwrap_err();
        assert!(matches!(domain, ConnectorError::Unsupported(_)), "{domain}");
        let typo = intel
            .lookup(&cx(), &Indicator::Ip("203.0.113".into()))
            .await
            .unwrap_err();
        assert!(matches!(typo, ConnectorError::InvalidInput(_)), "{typo}");
        stub.finish();
    }

    #[tokio::test]
    async fn vendor_errors_carry_the_detail_and_a_rate_limit_is_waited_out() {
        let stub = Stub::start(vec![
            check("198.51.100.1")
                .reply(
                    429,
                    r#"{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.","status":429}]}"#,
                )
                .reply_header("retry-after", "1")
                .reply_header("x-ratelimit-limit", "1000")
                .reply_header("x-ratelimit-remaining", "0")
                .reply_header("x-ratelimit-reset", "1795737600"),
            check("198.51.100.1").reply(200, &REPORTED.replace("118.25.6.39", "198.51.100.1")),
            check("198.51.100.2").reply(
                401,
                r#"{"errors":[{"detail":"Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.","status":401}]}"#,
            ),
            check("198.51.100.3").reply(
                422,
                r#"{"errors":[{"detail":"The max age in days must be between 1 and 365.","source":{"parameter":"maxAgeInDays"},"status":422}]}"#,
            ),
        ]);
        let intel = abuseipdb(&stub);
        let started = std::time::Instant::now();
        let report = intel
            .lookup(&cx(), &Indicator::Ip("198.51.100.1".into()))
            .await
            .unwrap();
        assert_eq!(report.indicator, "198.51.100.1");
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );

        let unauthorized = intel
            .lookup(&cx(), &Indicator::Ip("198.51.100.2".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(unauthorized, ConnectorError::Unauthorized(_)),
            "{unauthorized}"
        );
        assert!(
            unauthorized.to_string().contains("Authentication failed"),
            "{unauthorized}"
        );
        assert!(!unauthorized.to_string().contains(KEY));

        assert_eq!(
            intel
                .lookup(&cx(), &Indicator::Ip("198.51.100.3".into()))
                .await
                .unwrap_err(),
            ConnectorError::InvalidInput(
                "abuseipdb check: The max age in days must be between 1 and 365.".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_spent_daily_quota_fails_at_once_as_rate_limited() {
        let stub = Stub::start(vec![
            check("198.51.100.5")
                .reply(
                    429,
                    r#"{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.","status":429}]}"#,
                )
                .reply_header("retry-after", "43200")
                .reply_header("x-ratelimit-limit", "1000")
                .reply_header("x-ratelimit-remaining", "0")
                .reply_header("x-ratelimit-reset", "1795737600"),
        ]);
        let started = std::time::Instant::now();
        let error = abuseipdb(&stub)
            .lookup(&cx(), &Indicator::Ip("198.51.100.5".into()))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::RateLimited(
                "abuseipdb check: HTTP 429: Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details."
                    .into()
            )
        );
        assert!(started.elapsed() < Duration::from_secs(5), "the alert stalled");
        stub.finish();
    }

    #[tokio::test]
    async fn a_malformed_reply_names_the_field() {
        let stub = Stub::start(vec![
            check("198.51.100.4").reply(200, r#"{"data":{"ipAddress":"198.51.100.4"}}"#),
        ]);
        let error = abuseipdb(&stub)
            .lookup(&cx(), &Indicator::Ip("198.51.100.4".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Failed(message) if message.contains("abuseConfidenceScore")),
            "{error}"
        );
        stub.finish();
    }
}
