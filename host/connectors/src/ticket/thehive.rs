//! TheHive 5, through its v1 API (<https://docs.strangebee.com/thehive/api-docs/>) with an
//! API key (`Authorization: Bearer <key>`).
//!
//! ```toml
//! [connectors.thehive]
//! kind = "thehive"
//! url = "https://thehive.acme.example"
//! api_key = { env = "THEHIVE_API_KEY" }
//! create = "alert"          # or "case"; default "alert"
//! source = "palisade"       # the alert's `source`; default "palisade"
//! alert_type = "palisade"   # the alert's `type`; default "palisade"
//! ```
//!
//! - create, `create = "alert"`: `POST /api/v1/alert`
//!   (<https://docs.strangebee.com/thehive/api-docs/#tag/Alert/operation/Create%20Alert>)
//!   with the observables inline. The alert's `sourceRef` is the host's action id, unique per
//!   operation, so TheHive never merges two Palisade tickets (nor accepts the same one twice).
//! - create, `create = "case"`: `POST /api/v1/case`
//!   (<https://docs.strangebee.com/thehive/api-docs/#tag/Case/operation/Create%20case>), then
//!   one `POST /api/v1/case/{id}/observable`
//!   (<https://docs.strangebee.com/thehive/api-docs/#tag/Observable/operation/Create%20Observable%20in%20Case>)
//!   per observable.
//! - comment: `POST /api/v1/alert/{id}/comment`
//!   (<https://docs.strangebee.com/thehive/api-docs/#tag/Comment/operation/Create%20Comment%20in%20Alert>)
//!   or `POST /api/v1/case/{id}/comment`
//!   (<https://docs.strangebee.com/thehive/api-docs/#tag/Comment/operation/Create%20Comment%20in%20Case>)
//!   with `{"message": ...}`, as the connector creates alerts or cases (TheHive 5.1 and later
//!   take comments on alerts). A missing alert or case is a 404 (`NotFoundError`).
//!
//! Errors are `{"type": "...", "message": "..."}`; a rejected key is a 401
//! (`AuthenticationError`). TheHive's API reference describes no rate limiting: a 429 (from
//! a proxy in front of it) is waited out per `Retry-After` and the request sent again; a 503
//! is not repeated, as the alert, case or comment may already exist.
//!
//! The ticket id is TheHive's `_id` (`~4104`); its URL is the alert's or case's page.
//!
//! Severity, which TheHive counts 1 to 4:
//!
//! | Palisade      | TheHive      |
//! | ------------- | ------------ |
//! | informational | 1 (low)      |
//! | low           | 1 (low)      |
//! | medium        | 2 (medium)   |
//! | high          | 3 (high)     |
//! | critical      | 4 (critical) |
//!
//! Observables: ip -> `ip`, domain -> `domain`, url -> `url`, file hash -> `hash`, email
//! address -> `mail`, host -> `hostname` (and its fqdn as `fqdn`), user and process ->
//! `other` with a message saying what they are.

use super::{NewTicket, TicketRef, Ticketing};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_alert::{Entity, Severity};
use palisade_core::capability::Capability;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheHive {
    api_key: Spanned<SecretRef>,
    #[serde(default)]
    create: Create,
    #[serde(default = "default_label")]
    source: String,
    #[serde(default = "default_label")]
    alert_type: String,
}

fn default_label() -> String {
    "palisade".into()
}

/// What a ticket is in TheHive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Create {
    #[default]
    Alert,
    Case,
}

impl Create {
    fn api(self) -> &'static str {
        match self {
            Create::Alert => "api/v1/alert",
            Create::Case => "api/v1/case",
        }
    }

    fn page(self) -> &'static str {
        match self {
            Create::Alert => "alerts",
            Create::Case => "cases",
        }
    }
}

impl VendorBackend for TheHive {
    const KIND: &'static str = "thehive";
    const CAPABILITY: Capability = Capability::Ticket;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("api_key", &self.api_key)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let auth = Auth::bearer(cx.secret("api_key", &self.api_key)?);
        let base = cx.settings.as_ref().map(|settings| settings.base_url.clone());
        Ok(CapabilitySet {
            ticket: Some(Arc::new(TheHiveTickets {
                client: cx.client("thehive", auth, error_message),
                base,
                create: self.create,
                source: self.source.clone(),
                alert_type: self.alert_type.clone(),
            })),
            ..CapabilitySet::default()
        })
    }
}

/// TheHive's error body: `{"type":"NotFoundError","message":"Case ~123 not found"}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct TheHiveError {
        #[serde(rename = "type")]
        kind: Option<String>,
        message: String,
    }
    let error: TheHiveError = serde_json::from_slice(body).ok()?;
    Some(match error.kind {
        Some(kind) => format!("{} ({kind})", error.message),
        None => error.message,
    })
}

struct TheHiveTickets {
    client: Arc<VendorClient>,
    /// The base URL, for links to the web UI.
    base: Option<reqwest::Url>,
    create: Create,
    source: String,
    alert_type: String,
}

fn severity(severity: Severity) -> u8 {
    match severity {
        Severity::Informational | Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Observable {
    data_type: &'static str,
    data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl Observable {
    fn new(data_type: &'static str, data: impl Into<String>) -> Observable {
        Observable {
            data_type,
            data: data.into(),
            message: None,
        }
    }

    fn other(data: impl Into<String>, what: &str) -> Observable {
        Observable {
            message: Some(what.to_owned()),
            ..Observable::new("other", data)
        }
    }
}

/// The entities as TheHive observables, each (type, value) once: TheHive refuses an alert
/// that carries the same observable twice.
fn observables(entities: &[Entity]) -> Vec<Observable> {
    let mut out: Vec<Observable> = Vec::new();
    let mut push = |observable: Observable| {
        if !observable.data.trim().is_empty()
            && !out
                .iter()
                .any(|o| o.data_type == observable.data_type && o.data == observable.data)
        {
            out.push(observable);
        }
    };
    for entity in entities {
        match entity {
            Entity::Ip { address, .. } => push(Observable::new("ip", address.to_string())),
            Entity::Domain { name } => push(Observable::new("domain", name)),
            Entity::Url { url } => push(Observable::new("url", url)),
            Entity::FileHash { value, .. } => push(Observable::new("hash", value)),
            Entity::EmailAddress { address, .. } => push(Observable::new("mail", address)),
            Entity::Host {
                hostname,
                fqdn,
                ip_addresses,
                ..
            } => {
                push(Observable::new("hostname", hostname));
                if let Some(fqdn) = fqdn {
                    push(Observable::new("fqdn", fqdn));
                }
                for address in ip_addresses {
                    push(Observable::new("ip", address));
                }
            }
            Entity::User { name, email, .. } => {
                push(Observable::other(name, "user account"));
                if let Some(email) = email {
                    push(Observable::new("mail", email));
                }
            }
            Entity::Process {
                name, command_line, ..
            } => push(Observable::other(
                command_line.as_deref().unwrap_or(name),
                "process",
            )),
        }
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewAlert<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    source: &'a str,
    source_ref: &'a str,
    title: &'a str,
    description: &'a str,
    severity: u8,
    tags: &'a [String],
    observables: Vec<Observable>,
}

#[derive(Serialize)]
struct NewCase<'a> {
    title: &'a str,
    description: &'a str,
    severity: u8,
    tags: &'a [String],
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "_id")]
    id: String,
}

impl TheHiveTickets {
    fn reference(&self, id: String) -> TicketRef {
        let url = self.base.clone().map(|mut url| {
            if let Ok(mut path) = url.path_segments_mut() {
                path.pop_if_empty()
                    .extend([self.create.page(), id.as_str(), "details"]);
            }
            url.set_query(None);
            url.to_string()
        });
        TicketRef { id, url }
    }
}

#[async_trait::async_trait]
impl Ticketing for TheHiveTickets {
    async fn create(&self, cx: &CallContext, ticket: &NewTicket) -> Result<TicketRef, ConnectorError> {
        // The description is Markdown in TheHive; it must not be empty.
        let description = if ticket.description.trim().is_empty() {
            ticket.title.as_str()
        } else {
            ticket.description.as_str()
        };
        let severity = severity(ticket.severity);
        match self.create {
            Create::Alert => {
                let body = NewAlert {
                    kind: &self.alert_type,
                    source: &self.source,
                    source_ref: &cx.action_id,
                    title: &ticket.title,
                    description,
                    severity,
                    tags: &ticket.tags,
                    observables: observables(&ticket.observables),
                };
                // A new alert each time: repeated only when refused with a 429.
                let request = Request::post("api/v1/alert")
                    .json(&body)
                    .once_unless_rate_limited();
                let created: Created = self.client.json(&request, "create alert").await?;
                Ok(self.reference(created.id))
            }
            Create::Case => {
                let body = NewCase {
                    title: &ticket.title,
                    description,
                    severity,
                    tags: &ticket.tags,
                };
                let request = Request::post("api/v1/case")
                    .json(&body)
                    .once_unless_rate_limited();
                let created: Created = self.client.json(&request, "create case").await?;
                for observable in observables(&ticket.observables) {
                    let request = Request::post("api/v1/case")
                        .segment(created.id.clone())
                        .path("observable")
                        .json(&observable)
                        .once_unless_rate_limited();
                    if let Err(error) = self.client.send(&request, "add observable").await {
                        // The case exists: say so, or a retry by the plugin opens a second one.
                        // The case id is the reply's, so redacted like its text.
                        let case = self.client.redact(&created.id);
                        return Err(after_case_created(error, &case));
                    }
                }
                Ok(self.reference(created.id))
            }
        }
    }

    async fn comment(&self, _cx: &CallContext, ticket_id: &str, body: &str) -> Result<(), ConnectorError> {
        let request = Request::post(self.create.api())
            .segment(ticket_id)
            .path("comment")
            .json(&serde_json::json!({ "message": body }))
            .once_unless_rate_limited();
        self.client.send(&request, "add comment").await?;
        Ok(())
    }
}

fn after_case_created(error: ConnectorError, case: &str) -> ConnectorError {
    error.map_message(|message| format!("case {case} was created, but {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_alert::HashAlgorithm;

    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;
    use serde_json::json;

    const KEY: &str = "hive-api-key-0123456789";

    fn thehive(stub: &Stub, create: Create) -> TheHiveTickets {
        TheHiveTickets {
            client: stub.client(
                "/",
                Auth::bearer(SecretString::from(KEY)),
                "thehive",
                error_message,
            ),
            base: Some("https://thehive.acme.example".parse().unwrap()),
            create,
            source: "palisade".into(),
            alert_type: "palisade".into(),
        }
    }

    fn cx() -> CallContext {
        CallContext::new("phish-triage", "alert-42")
    }

    fn ticket() -> NewTicket {
        NewTicket {
            title: "Phishing: credential harvest".into(),
            description: "User clicked a **known** phishing link.".into(),
            severity: Severity::High,
            tags: vec!["phishing".into(), "palisade".into()],
            observables: vec![
                Entity::Ip {
                    address: "203.0.113.7".parse().unwrap(),
                    direction: None,
                },
                Entity::Domain {
                    name: "login-acme.example".into(),
                },
                Entity::Url {
                    url: "https://login-acme.example/o365".into(),
                },
                Entity::FileHash {
                    algorithm: HashAlgorithm::Sha256,
                    value: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                    file_name: None,
                },
                Entity::EmailAddress {
                    address: "alice@acme.example".into(),
                    display_name: None,
                },
                Entity::Host {
                    hostname: "ws-042".into(),
                    fqdn: None,
                    id: None,
                    os: None,
                    ip_addresses: vec!["203.0.113.7".into()],
                },
                Entity::User {
                    name: "alice".into(),
                    domain: None,
                    email: Some("alice@acme.example".into()),
                    id: None,
                    display_name: None,
                    sign_in: None,
                },
            ],
        }
    }

    /// A request as TheHive documents it: the API key as a bearer token, a JSON body, a JSON
    /// reply.
    fn post(path: &str) -> Exchange {
        Exchange::expect("POST", path)
            .header("authorization", &format!("Bearer {KEY}"))
            .header("accept", "application/json")
            .header("content-type", "application/json")
    }

    #[test]
    fn severity_maps_onto_the_thehive_scale() {
        let mapped: Vec<u8> = [
            Severity::Informational,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .map(severity)
        .collect();
        assert_eq!(mapped, vec![1, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn an_alert_carries_the_observables_and_a_unique_source_ref() {
        let cx = cx();
        let stub = Stub::start(vec![
            post("/api/v1/alert")
                .json(json!({
                    "type": "palisade",
                    "source": "palisade",
                    "sourceRef": cx.action_id,
                    "title": "Phishing: credential harvest",
                    "description": "User clicked a **known** phishing link.",
                    "severity": 3,
                    "tags": ["phishing", "palisade"],
                    "observables": [
                        {"dataType": "ip", "data": "203.0.113.7"},
                        {"dataType": "domain", "data": "login-acme.example"},
                        {"dataType": "url", "data": "https://login-acme.example/o365"},
                        {"dataType": "hash", "data": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
                        {"dataType": "mail", "data": "alice@acme.example"},
                        {"dataType": "hostname", "data": "ws-042"},
                        {"dataType": "other", "data": "alice", "message": "user account"},
                    ],
                }))
                .reply(
                    201,
                    r#"{"_id":"~41040","_type":"Alert","_createdBy":"palisade@acme","_createdAt":1717000000000,
                        "type":"palisade","source":"palisade","sourceRef":"x","title":"Phishing: credential harvest",
                        "severity":3,"status":"New","observableCount":7}"#,
                ),
            post("/api/v1/alert/~41040/comment")
                .json(json!({"message": "User disabled in Okta."}))
                .reply(201, r#"{"_id":"~8200","message":"User disabled in Okta."}"#),
        ]);
        let hive = thehive(&stub, Create::Alert);
        let created = hive.create(&cx, &ticket()).await.unwrap();
        assert_eq!(
            created,
            TicketRef {
                id: "~41040".into(),
                url: Some("https://thehive.acme.example/alerts/~41040/details".into()),
            }
        );
        hive.comment(&cx, &created.id, "User disabled in Okta.")
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn a_case_is_created_then_given_its_observables() {
        let mut ticket = ticket();
        ticket.observables.truncate(2);
        ticket.severity = Severity::Critical;
        let stub = Stub::start(vec![
            post("/api/v1/case")
                .json(json!({
                    "title": "Phishing: credential harvest",
                    "description": "User clicked a **known** phishing link.",
                    "severity": 4,
                    "tags": ["phishing", "palisade"],
                }))
                .reply(201, r#"{"_id":"~1234","_type":"Case","number":17,"title":"Phishing: credential harvest","severity":4,"status":"New"}"#),
            post("/api/v1/case/~1234/observable")
                .json(json!({"dataType": "ip", "data": "203.0.113.7"}))
                .reply(201, r#"[{"_id":"~5001","dataType":"ip","data":"203.0.113.7"}]"#),
            post("/api/v1/case/~1234/observable")
                .json(json!({"dataType": "domain", "data": "login-acme.example"}))
                .reply(201, r#"[{"_id":"~5002","dataType":"domain","data":"login-acme.example"}]"#),
            post("/api/v1/case/~1234/comment")
                .json(json!({"message": "Contained."}))
                .reply(201, r#"{"_id":"~8201","message":"Contained."}"#),
        ]);
        let hive = thehive(&stub, Create::Case);
        let created = hive.create(&cx(), &ticket).await.unwrap();
        assert_eq!(created.id, "~1234");
        assert_eq!(
            created.url.as_deref(),
            Some("https://thehive.acme.example/cases/~1234/details")
        );
        hive.comment(&cx(), "~1234", "Contained.").await.unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn a_comment_on_a_missing_case_is_not_found() {
        let stub = Stub::start(vec![
            post("/api/v1/case/~999/comment")
                .json(json!({"message": "note"}))
                .reply(404, r#"{"type":"NotFoundError","message":"Case ~999 not found"}"#),
        ]);
        assert_eq!(
            thehive(&stub, Create::Case)
                .comment(&cx(), "~999", "note")
                .await
                .unwrap_err(),
            ConnectorError::NotFound("thehive add comment: Case ~999 not found (NotFoundError)".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_comment_on_a_missing_alert_is_not_found() {
        let stub = Stub::start(vec![
            post("/api/v1/alert/~999/comment")
                .json(json!({"message": "note"}))
                .reply(
                    404,
                    r#"{"type":"NotFoundError","message":"Alert ~999 not found"}"#,
                ),
        ]);
        assert_eq!(
            thehive(&stub, Create::Alert)
                .comment(&cx(), "~999", "note")
                .await
                .unwrap_err(),
            ConnectorError::NotFound("thehive add comment: Alert ~999 not found (NotFoundError)".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_rejected_api_key_is_unauthorized_and_never_echoed() {
        let refused = r#"{"type":"AuthenticationError","message":"Authentication failure"}"#;
        let stub = Stub::start(vec![
            post("/api/v1/alert").reply(401, refused),
            post("/api/v1/alert/~41040/comment").reply(401, refused),
        ]);
        let hive = thehive(&stub, Create::Alert);
        let create = hive.create(&cx(), &ticket()).await.unwrap_err();
        assert_eq!(
            create,
            ConnectorError::Unauthorized(
                "thehive create alert: HTTP 401: Authentication failure (AuthenticationError) \
                 (check the connector's credentials and their permissions)"
                    .into()
            )
        );
        let comment = hive.comment(&cx(), "~41040", "note").await.unwrap_err();
        assert!(
            matches!(&comment, ConnectorError::Unauthorized(m)
                if m.starts_with("thehive add comment: HTTP 401: Authentication failure")),
            "{comment}"
        );
        for error in [create, comment] {
            assert!(!error.to_string().contains(KEY), "{error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn an_alert_answered_503_is_not_repeated() {
        let stub = Stub::start(vec![
            post("/api/v1/alert")
                .reply(
                    503,
                    r#"{"type":"InternalError","message":"database unavailable"}"#,
                )
                .reply_header("retry-after", "0"),
        ]);
        let failed = thehive(&stub, Create::Alert)
            .create(&cx(), &ticket())
            .await
            .unwrap_err();
        assert_eq!(
            failed,
            ConnectorError::Failed(
                "thehive create alert: HTTP 503: database unavailable (InternalError)".into()
            )
        );
        assert!(!failed.to_string().contains(KEY));
        stub.finish();
    }

    #[tokio::test]
    async fn a_comment_answered_503_is_not_sent_again() {
        // A 503 may come after TheHive stored the comment: a second one would duplicate it.
        let stub = Stub::start(vec![
            post("/api/v1/case/~1234/comment")
                .json(json!({"message": "note"}))
                .reply(503, "<html><body>503 Service Unavailable</body></html>")
                .reply_header("retry-after", "0"),
        ]);
        assert_eq!(
            thehive(&stub, Create::Case)
                .comment(&cx(), "~1234", "note")
                .await
                .unwrap_err(),
            ConnectorError::Failed(
                "thehive add comment: HTTP 503: <html><body>503 Service Unavailable</body></html>".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_failed_observable_says_the_case_was_created() {
        let stub = Stub::start(vec![
            post("/api/v1/case").reply(201, r#"{"_id":"~77"}"#),
            post("/api/v1/case/~77/observable")
                .json(json!({"dataType": "ip", "data": "203.0.113.7"}))
                .reply(400, r#"{"type":"BadRequest","message":"Invalid dataType"}"#),
        ]);
        let mut one = ticket();
        one.observables.truncate(1);
        assert_eq!(
            thehive(&stub, Create::Case)
                .create(&cx(), &one)
                .await
                .unwrap_err(),
            ConnectorError::InvalidInput(
                "case ~77 was created, but thehive add observable: Invalid dataType (BadRequest)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_rate_limited_alert_waits_out_retry_after_then_is_sent_again() {
        let cx = cx();
        let stub = Stub::start(vec![
            post("/api/v1/alert")
                .reply(429, r#"{"type":"TooManyRequests","message":"slow down"}"#)
                .reply_header("retry-after", "1"),
            // The same sourceRef: had the first been stored, TheHive would refuse a duplicate.
            post("/api/v1/alert")
                .json(json!({"sourceRef": cx.action_id, "title": "Phishing: credential harvest"}))
                .reply(201, r#"{"_id":"~41041"}"#),
        ]);
        let started = std::time::Instant::now();
        let created = thehive(&stub, Create::Alert)
            .create(&cx, &ticket())
            .await
            .unwrap();
        assert_eq!(created.id, "~41041");
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "Retry-After was not waited out"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_comment_still_rate_limited_after_the_retries_fails_as_rate_limited() {
        // No Retry-After: three backed-off retries, then the rate limit is reported.
        let stub = Stub::start(
            (0..4)
                .map(|_| {
                    post("/api/v1/alert/~41040/comment")
                        .json(json!({"message": "note"}))
                        .reply(429, r#"{"type":"TooManyRequests","message":"slow down"}"#)
                })
                .collect(),
        );
        assert_eq!(
            thehive(&stub, Create::Alert)
                .comment(&cx(), "~41040", "note")
                .await
                .unwrap_err(),
            ConnectorError::RateLimited("thehive add comment: HTTP 429: slow down (TooManyRequests)".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_malformed_reply_names_the_missing_field() {
        let stub = Stub::start(vec![post("/api/v1/alert").reply(201, r#"{"id":"~1"}"#)]);
        let error = thehive(&stub, Create::Alert)
            .create(&cx(), &ticket())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Failed(m) if m.contains("_id")),
            "{error}"
        );
        stub.finish();
    }
}
