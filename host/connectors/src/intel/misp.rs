//! MISP, through its attribute search (`POST /attributes/restSearch`) with an automation key
//! (`Authorization: <key>`, no scheme).
//!
//! ```toml
//! [connectors.misp]
//! kind = "misp"
//! url = "https://misp.acme.example"
//! api_key = { env = "MISP_API_KEY" }
//! limit = 50               # attributes read per lookup (1 to 1000, default 50)
//! only_to_ids = false      # true: only attributes flagged for detection (to_ids) match
//! malicious_score = 90     # score when an attribute flagged to_ids matches (default 90)
//! suspicious_score = 50    # score when only attributes without to_ids match (default 50)
//! cache_ttl_seconds = 3600 # shared intel key
//! ```
//!
//! lookup searches the attributes whose value is the indicator, among the MISP types that hold
//! that kind of indicator: `ip-src`, `ip-dst` and their `|port` forms and `domain|ip` for an
//! IP address; `domain`, `hostname` and `domain|ip` for a domain; `url` for a URL; `md5`,
//! `sha1`, `sha256` or `sha512` (chosen by length) and their `filename|` forms for a file
//! hash. The request carries `Accept: application/json` and `Content-Type: application/json`
//! and the body `{returnFormat: "json", value, type: [...], limit, page: 1,
//! includeEventTags: true}` (and `to_ids: true` with `only_to_ids`). The search is a read, so
//! it is retried like one.
//!
//! An attribute flagged `to_ids` (meant for detection) makes the indicator malicious; matches
//! without it make it suspicious; no match (`{"response":{"Attribute":[]}}`) leaves it unknown
//! with score 0. Tags are the attributes' and their events' tag names; sources name the events
//! (`misp event 42: <info>`).
//!
//! Errors are `{"name":"...","message":"...","url":"..."}`: 403 for a key MISP refuses, 429
//! `Rate limit exceeded.` past the role's search limit (with `X-Rate-Limit-Reset`, the seconds
//! left in MISP's 15-minute window). MISP documents no 404 for the search, which answers no
//! match with an empty list: a 404 means `url` does not lead to MISP's API, so it is a failure,
//! never an unknown indicator.
//!
//! MISP's documentation:
//! - <https://www.misp-project.org/openapi/#tag/Attributes/operation/restSearchAttributes>
//! - <https://www.circl.lu/doc/misp/automation/> (the `Authorization`, `Accept` and
//!   `Content-Type` headers)

use super::{Indicator, IntelSource, Report, Reputation};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Misp {
    api_key: Spanned<SecretRef>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    only_to_ids: bool,
    #[serde(default = "default_malicious_score")]
    malicious_score: u8,
    #[serde(default = "default_suspicious_score")]
    suspicious_score: u8,
}

fn default_limit() -> u32 {
    50
}

fn default_malicious_score() -> u8 {
    90
}

fn default_suspicious_score() -> u8 {
    50
}

/// The most attributes read per lookup: a verdict needs a few, not a whole feed.
const MAX_LIMIT: u32 = 1000;

impl VendorBackend for Misp {
    const KIND: &'static str = "misp";
    const CAPABILITY: Capability = Capability::Intel;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("api_key", &self.api_key)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            anyhow::bail!("limit must be between 1 and {MAX_LIMIT}");
        }
        if self.malicious_score > 100 || self.suspicious_score > self.malicious_score {
            anyhow::bail!("scores need suspicious_score <= malicious_score <= 100");
        }
        let auth = Auth::Header {
            name: reqwest::header::AUTHORIZATION,
            scheme: None,
            secret: cx.secret("api_key", &self.api_key)?,
        };
        Ok(CapabilitySet {
            intel: Some(Arc::new(MispIntel {
                client: cx.client("misp", auth, error_message),
                limit: self.limit,
                only_to_ids: self.only_to_ids,
                malicious_score: self.malicious_score,
                suspicious_score: self.suspicious_score,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// MISP's error body: `{"name":"...","message":"...","url":"/attributes/restSearch"}`. The
/// `url` is left out: errors name no URL.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct MispError {
        name: Option<String>,
        message: Option<String>,
        #[serde(default)]
        errors: Option<serde_json::Value>,
    }
    let error: MispError = serde_json::from_slice(body).ok()?;
    let mut message = match (error.name, error.message) {
        (Some(name), Some(message)) if name != message => format!("{name}: {message}"),
        (name, message) => message.or(name)?,
    };
    // Validation failures detail the fields, as strings or as a map of field to reasons.
    match error.errors {
        Some(serde_json::Value::String(detail)) => message.push_str(&format!(" ({detail})")),
        Some(detail @ serde_json::Value::Object(_)) => message.push_str(&format!(" ({detail})")),
        _ => {}
    }
    Some(message)
}

struct MispIntel {
    client: Arc<VendorClient>,
    limit: u32,
    only_to_ids: bool,
    malicious_score: u8,
    suspicious_score: u8,
}

#[derive(Deserialize)]
struct SearchReply {
    response: Found,
}

#[derive(Deserialize)]
struct Found {
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
struct Attribute {
    event_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    category: Option<String>,
    #[serde(default)]
    to_ids: bool,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
    #[serde(rename = "Event")]
    event: Option<Event>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

#[derive(Deserialize)]
struct Event {
    id: Option<String>,
    info: Option<String>,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
}

/// The MISP attribute types that can hold this indicator.
fn misp_types(indicator: &Indicator) -> Vec<&'static str> {
    match indicator {
        Indicator::Ip(_) => vec!["ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"],
        Indicator::Domain(_) => vec!["domain", "hostname", "domain|ip"],
        Indicator::Url(_) => vec!["url"],
        Indicator::FileHash(hash) => match hash.trim().len() {
            32 => vec!["md5", "filename|md5"],
            40 => vec!["sha1", "filename|sha1"],
            64 => vec!["sha256", "filename|sha256"],
            128 => vec!["sha512", "filename|sha512"],
            _ => vec![
                "md5",
                "sha1",
                "sha256",
                "sha512",
                "filename|md5",
                "filename|sha1",
                "filename|sha256",
                "filename|sha512",
            ],
        },
    }
}

impl MispIntel {
    fn report(&self, indicator: &Indicator, attributes: Vec<Attribute>) -> Report {
        let (reputation, score) = if attributes.iter().any(|attribute| attribute.to_ids) {
            (Reputation::Malicious, self.malicious_score)
        } else if !attributes.is_empty() {
            (Reputation::Suspicious, self.suspicious_score)
        } else {
            (Reputation::Unknown, 0)
        };
        let mut tags: Vec<String> = Vec::new();
        let mut sources: Vec<String> = Vec::new();
        let mut kinds: Vec<String> = Vec::new();
        let push = |list: &mut Vec<String>, value: String| {
            if !list.contains(&value) {
                list.push(value);
            }
        };
        for attribute in &attributes {
            for tag in &attribute.tags {
                push(&mut tags, tag.name.clone());
            }
            if let Some(kind) = &attribute.kind {
                let kind = match &attribute.category {
                    Some(category) => format!("{kind} ({category})"),
                    None => kind.clone(),
                };
                push(&mut kinds, kind);
            }
            let event_id = attribute
                .event
                .as_ref()
                .and_then(|event| event.id.clone())
                .or_else(|| attribute.event_id.clone());
            if let Some(event) = &attribute.event {
                for tag in &event.tags {
                    push(&mut tags, tag.name.clone());
                }
            }
            let info = attribute.event.as_ref().and_then(|event| event.info.clone());
            let source = match (event_id, info) {
                (Some(id), Some(info)) => format!("misp event {id}: {info}"),
                (Some(id), None) => format!("misp event {id}"),
                (None, Some(info)) => format!("misp event: {info}"),
                (None, None) => "misp".to_owned(),
            };
            push(&mut sources, source);
        }
        let description = (!attributes.is_empty()).then(|| {
            let flagged = attributes.iter().filter(|attribute| attribute.to_ids).count();
            format!(
                "{} matching attribute(s), {flagged} flagged for detection (to_ids), in {} event(s); types: {}",
                attributes.len(),
                sources.len(),
                kinds.join(", ")
            )
        });
        Report {
            indicator: indicator.value().to_owned(),
            reputation,
            score,
            sources,
            tags,
            description,
        }
    }
}

#[async_trait::async_trait]
impl IntelSource for MispIntel {
    async fn lookup(&self, _cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
        let value = indicator.value().trim();
        // MISP reads `%` in a value as a wildcard and a leading `!` as a negation: an alert
        // must not turn a lookup into a dump of every attribute. A URL may carry `%`
        // escapes, which then match a little loosely, but never at its start.
        let wildcard = match indicator {
            Indicator::Url(_) => value.starts_with('%'),
            _ => value.contains('%'),
        };
        if value.is_empty() || wildcard || value.starts_with('!') {
            return Err(ConnectorError::InvalidInput(format!(
                "{value:?} is not an indicator MISP can look up"
            )));
        }
        let mut body = json!({
            "returnFormat": "json",
            "value": value,
            "type": misp_types(indicator),
            "limit": self.limit,
            "page": 1,
            "includeEventTags": true,
        });
        if self.only_to_ids {
            body["to_ids"] = json!(true);
        }
        // A search: repeating it changes nothing.
        let request = Request::post("attributes/restSearch").json(&body).idempotent();
        let reply: SearchReply = match self.client.json(&request, "attribute search").await {
            Ok(reply) => reply,
            // No match is an empty list, so a 404 is a wrong `url`, not an unknown indicator.
            Err(ConnectorError::NotFound(detail)) => {
                return Err(ConnectorError::Failed(format!(
                    "{detail}: HTTP 404 from the search (check the connector's url)"
                )));
            }
            Err(error) => return Err(error),
        };
        Ok(self.report(indicator, reply.response.attributes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const KEY: &str = "misp0123456789abcdef0123456789abcdef0123";

    fn misp(stub: &Stub, only_to_ids: bool) -> MispIntel {
        MispIntel {
            client: stub.client(
                "/",
                Auth::Header {
                    name: reqwest::header::AUTHORIZATION,
                    scheme: None,
                    secret: SecretString::from(KEY),
                },
                "misp",
                error_message,
            ),
            limit: 50,
            only_to_ids,
            malicious_score: 90,
            suspicious_score: 50,
        }
    }

    fn cx() -> CallContext {
        CallContext::new("enrich", "alert-1")
    }

    /// A restSearch as MISP documents it: the bare key in `Authorization`, JSON both ways.
    fn search(body: serde_json::Value) -> Exchange {
        Exchange::expect("POST", "/attributes/restSearch")
            .header("authorization", KEY)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .json(body)
    }

    const FOUND: &str = r##"{"response":{"Attribute":[
        {"id":"1201","event_id":"42","object_id":"0","object_relation":null,"category":"Network activity",
         "type":"ip-dst","to_ids":true,"uuid":"5e0b6a7c-8f7c-4a5e-9c1d-2b3a4c5d6e7f","timestamp":"1795500000",
         "distribution":"5","sharing_group_id":"0","comment":"","deleted":false,"disable_correlation":false,
         "first_seen":null,"last_seen":null,"value":"203.0.113.7",
         "Event":{"org_id":"1","distribution":"1","id":"42","info":"Emotet C2 infrastructure","orgc_id":"1","uuid":"5e0b6a7c-0000-4a5e-9c1d-2b3a4c5d6e7f"},
         "Tag":[{"id":"7","name":"tlp:amber","colour":"#FFC000","numerical_value":null,"is_galaxy":false,"local":0},
                {"id":"12","name":"misp-galaxy:malpedia=\"Emotet\"","colour":"#0088cc","is_galaxy":true,"local":0}]},
        {"id":"1388","event_id":"57","category":"Network activity","type":"ip-src","to_ids":false,
         "value":"203.0.113.7","Event":{"id":"57","info":"Scanning activity","orgc_id":"2"},
         "Tag":[{"id":"7","name":"tlp:amber"}]}
    ]}}"##;

    #[tokio::test]
    async fn a_to_ids_match_is_malicious_with_tags_and_events() {
        let stub = Stub::start(vec![
            search(json!({
                "returnFormat": "json",
                "value": "203.0.113.7",
                "type": ["ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"],
                "limit": 50,
                "page": 1,
                "includeEventTags": true,
            }))
            .reply(200, FOUND),
        ]);
        let report = misp(&stub, false)
            .lookup(&cx(), &Indicator::Ip("203.0.113.7".into()))
            .await
            .unwrap();
        assert_eq!(
            report,
            Report {
                indicator: "203.0.113.7".into(),
                reputation: Reputation::Malicious,
                score: 90,
                sources: vec![
                    "misp event 42: Emotet C2 infrastructure".into(),
                    "misp event 57: Scanning activity".into()
                ],
                tags: vec!["tlp:amber".into(), "misp-galaxy:malpedia=\"Emotet\"".into()],
                description: Some(
                    "2 matching attribute(s), 1 flagged for detection (to_ids), in 2 event(s); types: ip-dst (Network activity), ip-src (Network activity)".into()
                ),
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn matches_without_to_ids_are_suspicious_and_none_is_unknown() {
        let stub = Stub::start(vec![
            search(json!({"value": "evil.example", "type": ["domain", "hostname", "domain|ip"]})).reply(
                200,
                r#"{"response":{"Attribute":[{"id":"9","event_id":"3","type":"domain","category":"Network activity",
                    "to_ids":false,"value":"evil.example","Event":{"id":"3","info":"Phishing kit"},
                    "Tag":[]}]}}"#,
            ),
            search(json!({
                "value": "44d88612fea8a8f36de82e1278abb02f",
                "type": ["md5", "filename|md5"],
                "to_ids": true,
            }))
            .reply(200, r#"{"response":{"Attribute":[]}}"#),
        ]);
        let domain = misp(&stub, false)
            .lookup(&cx(), &Indicator::Domain("evil.example".into()))
            .await
            .unwrap();
        assert_eq!((domain.reputation, domain.score), (Reputation::Suspicious, 50));
        assert_eq!(domain.sources, vec!["misp event 3: Phishing kit".to_owned()]);
        let unseen = misp(&stub, true)
            .lookup(
                &cx(),
                &Indicator::FileHash("44d88612fea8a8f36de82e1278abb02f".into()),
            )
            .await
            .unwrap();
        assert_eq!(
            unseen,
            Report {
                indicator: "44d88612fea8a8f36de82e1278abb02f".into(),
                reputation: Reputation::Unknown,
                score: 0,
                sources: vec![],
                tags: vec![],
                description: None,
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_search_is_retried_after_a_server_error() {
        let stub = Stub::start(vec![
            search(json!({"value": "198.51.100.1"})).reply(503, "<html>Service Unavailable</html>"),
            search(json!({"value": "198.51.100.1"})).reply(200, r#"{"response":{"Attribute":[]}}"#),
        ]);
        let retried = misp(&stub, false)
            .lookup(&cx(), &Indicator::Ip("198.51.100.1".into()))
            .await
            .unwrap();
        assert_eq!((retried.reputation, retried.score), (Reputation::Unknown, 0));
        stub.finish();
    }

    #[tokio::test]
    async fn a_refused_key_is_unauthorized_and_the_error_names_no_url_or_key() {
        let stub = Stub::start(vec![search(json!({"value": "198.51.100.2"})).reply(
            403,
            r#"{"name":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","message":"Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.","url":"\/attributes\/restSearch"}"#,
        )]);
        let refused = misp(&stub, false)
            .lookup(&cx(), &Indicator::Ip("198.51.100.2".into()))
            .await
            .unwrap_err();
        assert_eq!(
            refused,
            ConnectorError::Unauthorized(
                "misp attribute search: HTTP 403: Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header. (check the connector's credentials and their permissions)"
                    .into()
            )
        );
        let text = refused.to_string();
        assert!(!text.contains("restSearch") && !text.contains(KEY), "{text}");
        stub.finish();
    }

    #[tokio::test]
    async fn a_spent_search_limit_is_rate_limited() {
        // MISP's X-Rate-Limit-Reset counts the seconds left in its window: ten minutes is
        // longer than an alert waits, so the search fails at once instead of retrying.
        let limited = || {
            search(json!({"value": "198.51.100.6"}))
                .reply(
                    429,
                    r#"{"name":"Rate limit exceeded.","message":"Rate limit exceeded.","url":"\/attributes\/restSearch"}"#,
                )
                .reply_header("x-rate-limit-limit", "100")
                .reply_header("x-rate-limit-remaining", "0")
                .reply_header("x-rate-limit-reset", "600")
        };
        let stub = Stub::start(vec![limited()]);
        assert_eq!(
            misp(&stub, false)
                .lookup(&cx(), &Indicator::Ip("198.51.100.6".into()))
                .await
                .unwrap_err(),
            ConnectorError::RateLimited("misp attribute search: HTTP 429: Rate limit exceeded.".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_404_is_a_wrong_url_not_an_unknown_indicator() {
        let stub = Stub::start(vec![search(json!({"value": "198.51.100.3"})).reply(
            404,
            r#"{"name":"Not Found","message":"Not Found","url":"\/misp\/attributes\/restSearch"}"#,
        )]);
        assert_eq!(
            misp(&stub, false)
                .lookup(&cx(), &Indicator::Ip("198.51.100.3".into()))
                .await
                .unwrap_err(),
            ConnectorError::Failed(
                "misp attribute search: Not Found: HTTP 404 from the search (check the connector's url)"
                    .into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_wildcard_from_an_alert_is_refused() {
        let stub = Stub::start(vec![]);
        let intel = misp(&stub, false);
        for indicator in [
            Indicator::Domain("%".into()),
            Indicator::Ip("!203.0.113.7".into()),
            Indicator::Url("%://".into()),
        ] {
            let error = intel.lookup(&cx(), &indicator).await.unwrap_err();
            assert!(matches!(error, ConnectorError::InvalidInput(_)), "{error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_malformed_reply_names_the_field() {
        let stub = Stub::start(vec![
            search(json!({"value": "198.51.100.4"}))
                .reply(200, r#"{"response":{"Attribute":[{"to_ids":"yes"}]}}"#),
        ]);
        let error = misp(&stub, false)
            .lookup(&cx(), &Indicator::Ip("198.51.100.4".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Failed(message) if message.contains("response.Attribute[0].to_ids")),
            "{error}"
        );
        stub.finish();
    }
}
