//! ServiceNow incidents, through the Table API
//! (<https://www.servicenow.com/docs/r/australia/api-reference/rest-apis/c_TableAPI.html>),
//! with HTTP basic authentication (an integration user) or an OAuth bearer token
//! (<https://www.servicenow.com/docs/r/australia/api-reference/rest-api-explorer/t_EnableOAuthWithREST.html>).
//!
//! ```toml
//! [connectors.servicenow]
//! kind = "servicenow"
//! url = "https://acme.service-now.com"
//! user = "palisade.integration"
//! password = { env = "SERVICENOW_PASSWORD" }
//! # or, instead of user and password: token = { env = "SERVICENOW_OAUTH_TOKEN" }
//! category = "security"                                   # optional
//! caller_id = "5137153cc611227c000bbd1bd8cd2005"          # optional: the caller's sys_id
//! assignment_group = "287ebd7da9fe198100f92cc8d1d2154e"   # optional: the group's sys_id
//! ```
//!
//! - create: `POST /api/now/table/incident?sysparm_fields=sys_id,number` (Table API,
//!   "Table - POST /now/table/{tableName}") with `short_description` (the title),
//!   `description` (the text, severity, tags, observables and the Palisade ids),
//!   `urgency` and `impact` from the severity, `correlation_id` (the Palisade alert id),
//!   `correlation_display` (`Palisade`) and the optional fields above. Values are sent as
//!   actual values (no `sysparm_input_display_value`), so the reference fields take sys_ids.
//! - comment: `PATCH /api/now/table/incident/{sys_id}?sysparm_fields=sys_id` (Table API,
//!   "Table - PATCH /now/table/{tableName}/{sys_id}") with `{"work_notes": ...}`: each call
//!   appends a work note, so it is sent once (and again only after a 429). Journal fields
//!   render `[code]...[/code]` as HTML by default
//!   (<https://www.servicenow.com/docs/r/australia/platform-administration/render-journal-field-entries-as-html.html>),
//!   so those tags are broken in the note. A missing incident is a 404 (`No Record found`).
//!
//! The ticket id is the incident's `sys_id`, the key the Table API addresses records by; the
//! URL opens the incident in the UI. A comment also takes the incident number
//! (`INC0010001`) an analyst would quote, looked up first with
//! `GET /api/now/table/incident?sysparm_query=number=...` ("Table - GET /now/table/{tableName}").
//!
//! Errors are ServiceNow's `{"error":{"message","detail"},"status":"failure"}`
//! (<https://www.servicenow.com/docs/r/australia/api-reference/rest-api-explorer/r_RESTAPIHTTPResponseCodes.html>).
//! A rate-limit rule refuses a request with a 429, `X-RateLimit-Reset` (epoch seconds) and
//! `Retry-After` (seconds)
//! (<https://www.servicenow.com/docs/r/australia/api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.html>):
//! the shared HTTP layer waits out `Retry-After` up to a minute; a longer wait (the limits
//! are hourly) fails at once as rate limited.
//!
//! Severity, with ServiceNow's default priority matrix giving the priority:
//!
//! | Palisade      | urgency | impact | priority     |
//! | ------------- | ------- | ------ | ------------ |
//! | critical      | 1       | 1      | 1 (critical) |
//! | high          | 1       | 2      | 2 (high)     |
//! | medium        | 2       | 2      | 3 (moderate) |
//! | low           | 3       | 2      | 4 (low)      |
//! | informational | 3       | 3      | 5 (planning) |

use super::{NewTicket, TicketRef, Ticketing, describe};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_alert::Severity;
use palisade_core::capability::Capability;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Settings")]
pub struct ServiceNow {
    credential: Credential,
    category: Option<String>,
    caller_id: Option<String>,
    assignment_group: Option<String>,
}

#[derive(Debug)]
enum Credential {
    Basic {
        user: String,
        password: Spanned<SecretRef>,
    },
    Bearer(Spanned<SecretRef>),
}

/// The table as written; [`ServiceNow`] once one credential is chosen.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    user: Option<String>,
    password: Option<Spanned<SecretRef>>,
    token: Option<Spanned<SecretRef>>,
    category: Option<String>,
    caller_id: Option<String>,
    assignment_group: Option<String>,
}

impl TryFrom<Settings> for ServiceNow {
    type Error = &'static str;

    fn try_from(settings: Settings) -> Result<ServiceNow, Self::Error> {
        let credential = match (settings.user, settings.password, settings.token) {
            (Some(user), Some(password), None) => Credential::Basic { user, password },
            (None, None, Some(token)) => Credential::Bearer(token),
            _ => {
                return Err(
                    "servicenow takes either `user` and `password` (basic authentication) or `token` (an OAuth bearer token)",
                );
            }
        };
        Ok(ServiceNow {
            credential,
            category: settings.category,
            caller_id: settings.caller_id,
            assignment_group: settings.assignment_group,
        })
    }
}

impl VendorBackend for ServiceNow {
    const KIND: &'static str = "servicenow";
    const CAPABILITY: Capability = Capability::Ticket;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        match &self.credential {
            Credential::Basic { password, .. } => vec![("password", password)],
            Credential::Bearer(token) => vec![("token", token)],
        }
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let auth = match &self.credential {
            Credential::Basic { user, password } => Auth::Basic {
                user: user.clone(),
                password: cx.secret("password", password)?,
            },
            Credential::Bearer(token) => Auth::bearer(cx.secret("token", token)?),
        };
        Ok(CapabilitySet {
            ticket: Some(Arc::new(ServiceNowIncidents {
                client: cx.client("servicenow", auth, error_message),
                base: cx.settings.as_ref().map(|settings| settings.base_url.clone()),
                category: self.category.clone(),
                caller_id: self.caller_id.clone(),
                assignment_group: self.assignment_group.clone(),
            })),
            ..CapabilitySet::default()
        })
    }
}

/// ServiceNow's error body:
/// `{"error":{"message":"No Record found","detail":"Record doesn't exist ..."},"status":"failure"}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: String,
        detail: Option<String>,
    }
    let Body { error } = serde_json::from_slice(body).ok()?;
    Some(match error.detail.filter(|detail| !detail.trim().is_empty()) {
        Some(detail) => format!("{}: {detail}", error.message),
        None => error.message,
    })
}

struct ServiceNowIncidents {
    client: Arc<VendorClient>,
    base: Option<reqwest::Url>,
    category: Option<String>,
    caller_id: Option<String>,
    assignment_group: Option<String>,
}

/// (urgency, impact), 1 the highest.
fn urgency_impact(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Critical => ("1", "1"),
        Severity::High => ("1", "2"),
        Severity::Medium => ("2", "2"),
        Severity::Low => ("3", "2"),
        Severity::Informational => ("3", "3"),
    }
}

#[derive(Serialize)]
struct NewIncident<'a> {
    short_description: &'a str,
    description: String,
    urgency: &'static str,
    impact: &'static str,
    correlation_id: &'a str,
    correlation_display: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment_group: Option<&'a str>,
}

#[derive(Deserialize)]
struct One<T> {
    result: T,
}

#[derive(Deserialize)]
struct Record {
    sys_id: String,
}

fn description(cx: &CallContext, ticket: &NewTicket) -> String {
    let mut text = ticket.description.trim().to_owned();
    text.push_str(&format!("\n\nSeverity: {}", ticket.severity));
    if !ticket.tags.is_empty() {
        text.push_str(&format!("\nTags: {}", ticket.tags.join(", ")));
    }
    if !ticket.observables.is_empty() {
        text.push_str("\n\nObservables:");
        for entity in &ticket.observables {
            text.push_str("\n- ");
            text.push_str(&describe(entity));
        }
    }
    text.push_str(&format!(
        "\n\nPalisade alert {} (action {})",
        cx.alert_id, cx.action_id
    ));
    text.trim_start().to_owned()
}

/// `text` with every `[code]` and `[/code]` broken by a space (`[ code]`), in any case: a
/// journal field renders what they enclose as HTML, and a note may quote an attacker's text.
fn defuse_code_tags(text: &str) -> String {
    // ASCII lowercasing keeps every byte offset, so offsets in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in lower.match_indices('[') {
        if lower[at..].starts_with("[code]") || lower[at..].starts_with("[/code]") {
            out.push_str(&text[copied..=at]);
            out.push(' ');
            copied = at + 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A `sys_id`: 32 hexadecimal digits.
fn is_sys_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ServiceNowIncidents {
    fn link(&self, sys_id: &str) -> Option<String> {
        let mut url = self.base.clone()?;
        url.path_segments_mut().ok()?.pop_if_empty().push("nav_to.do");
        url.set_query(None);
        url.query_pairs_mut()
            .append_pair("uri", &format!("incident.do?sys_id={sys_id}"));
        Some(url.to_string())
    }

    /// The `sys_id` of an incident given by `sys_id` or by number.
    async fn sys_id(&self, ticket_id: &str) -> Result<String, ConnectorError> {
        if is_sys_id(ticket_id) {
            return Ok(ticket_id.to_owned());
        }
        // The number goes into an encoded query, where `^` would add conditions: only a
        // plain number is taken.
        if ticket_id.is_empty() || !ticket_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConnectorError::InvalidInput(format!(
                "servicenow: {ticket_id:?} is neither an incident sys_id nor an incident number"
            )));
        }
        let request = Request::get("api/now/table/incident")
            .query("sysparm_query", format!("number={ticket_id}"))
            .query("sysparm_fields", "sys_id")
            .query("sysparm_limit", "1");
        let found: One<Vec<Record>> = self.client.json(&request, "find incident").await?;
        found
            .result
            .into_iter()
            .next()
            .map(|record| record.sys_id)
            .ok_or_else(|| {
                ConnectorError::NotFound(format!("servicenow find incident: no incident {ticket_id}"))
            })
    }
}

#[async_trait::async_trait]
impl Ticketing for ServiceNowIncidents {
    async fn create(&self, cx: &CallContext, ticket: &NewTicket) -> Result<TicketRef, ConnectorError> {
        let (urgency, impact) = urgency_impact(ticket.severity);
        let body = NewIncident {
            short_description: &ticket.title,
            description: description(cx, ticket),
            urgency,
            impact,
            correlation_id: &cx.alert_id,
            correlation_display: "Palisade",
            category: self.category.as_deref(),
            caller_id: self.caller_id.as_deref(),
            assignment_group: self.assignment_group.as_deref(),
        };
        let request = Request::post("api/now/table/incident")
            .query("sysparm_fields", "sys_id,number")
            .json(&body)
            .once_unless_rate_limited();
        let created: One<Record> = self.client.json(&request, "create incident").await?;
        Ok(TicketRef {
            url: self.link(&created.result.sys_id),
            id: created.result.sys_id,
        })
    }

    async fn comment(&self, _cx: &CallContext, ticket_id: &str, body: &str) -> Result<(), ConnectorError> {
        let sys_id = self.sys_id(ticket_id).await?;
        let request = Request::new(Method::PATCH, "api/now/table/incident")
            .segment(sys_id)
            .query("sysparm_fields", "sys_id")
            .json(&serde_json::json!({ "work_notes": defuse_code_tags(body) }))
            .once_unless_rate_limited();
        self.client.send(&request, "add work note").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_alert::Entity;

    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;
    use serde_json::json;
    use std::time::{Duration, Instant};

    const PASSWORD: &str = "sn-integration-pa55";
    /// `palisade.integration:sn-integration-pa55`, base64.
    const BASIC: &str = "Basic cGFsaXNhZGUuaW50ZWdyYXRpb246c24taW50ZWdyYXRpb24tcGE1NQ==";
    const SYS_ID: &str = "9d385017c611228701d22104cc95c371";
    const CALLER: &str = "5137153cc611227c000bbd1bd8cd2005";
    const GROUP: &str = "287ebd7da9fe198100f92cc8d1d2154e";
    const CREATE: &str = "/api/now/table/incident?sysparm_fields=sys_id%2Cnumber";
    const RATE_LIMITED: &str = r#"{"error":{"message":"Rate limit exceeded","detail":"Rate limit of 10 requests per hour for Table API exceeded"},"status":"failure"}"#;

    fn servicenow_with(stub: &Stub, auth: Auth) -> ServiceNowIncidents {
        ServiceNowIncidents {
            client: stub.client("/", auth, "servicenow", error_message),
            base: Some("https://acme.service-now.com".parse().unwrap()),
            category: Some("security".into()),
            caller_id: Some(CALLER.into()),
            assignment_group: Some(GROUP.into()),
        }
    }

    fn servicenow(stub: &Stub) -> ServiceNowIncidents {
        servicenow_with(
            stub,
            Auth::Basic {
                user: "palisade.integration".into(),
                password: SecretString::from(PASSWORD),
            },
        )
    }

    /// A Table API write as ServiceNow documents it: credentials, a JSON body, a JSON reply.
    fn write(method: &'static str, path: &str) -> Exchange {
        Exchange::expect(method, path)
            .header("authorization", BASIC)
            .header("accept", "application/json")
            .header("content-type", "application/json")
    }

    fn work_note() -> String {
        format!("/api/now/table/incident/{SYS_ID}?sysparm_fields=sys_id")
    }

    fn find(number: &str) -> String {
        format!(
            "/api/now/table/incident?sysparm_query=number%3D{number}&sysparm_fields=sys_id&sysparm_limit=1"
        )
    }

    fn ticket() -> NewTicket {
        NewTicket {
            title: "Malware beacon from ws-042".into(),
            description: "EDR saw a beacon to a known C2.".into(),
            severity: Severity::Critical,
            tags: vec!["malware".into()],
            observables: vec![Entity::Domain {
                name: "c2.evil.example".into(),
            }],
        }
    }

    fn in_seconds(seconds: u64) -> String {
        (std::time::SystemTime::now() + Duration::from_secs(seconds))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string()
    }

    #[tokio::test]
    async fn an_incident_is_opened_with_mapped_urgency_and_a_work_note_added() {
        let cx = CallContext::new("beacon", "alert-9");
        let stub = Stub::start(vec![
            write("POST", CREATE)
                .json(json!({
                    "short_description": "Malware beacon from ws-042",
                    "description": format!(
                        "EDR saw a beacon to a known C2.\n\nSeverity: critical\nTags: malware\n\nObservables:\n- domain: c2.evil.example\n\nPalisade alert alert-9 (action {})",
                        cx.action_id
                    ),
                    "urgency": "1",
                    "impact": "1",
                    "correlation_id": "alert-9",
                    "correlation_display": "Palisade",
                    "category": "security",
                    "caller_id": CALLER,
                    "assignment_group": GROUP,
                }))
                .reply(201, &format!(r#"{{"result":{{"sys_id":"{SYS_ID}","number":"INC0010001"}}}}"#)),
            write("PATCH", &work_note())
                .json(json!({"work_notes": "Host isolated."}))
                .reply(200, &format!(r#"{{"result":{{"sys_id":"{SYS_ID}"}}}}"#)),
        ]);
        let servicenow = servicenow(&stub);
        let created = servicenow.create(&cx, &ticket()).await.unwrap();
        assert_eq!(
            created,
            TicketRef {
                id: SYS_ID.into(),
                url: Some(format!(
                    "https://acme.service-now.com/nav_to.do?uri=incident.do%3Fsys_id%3D{SYS_ID}"
                )),
            }
        );
        servicenow
            .comment(&cx, &created.id, "Host isolated.")
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn an_oauth_token_is_sent_as_a_bearer_authorization() {
        let stub = Stub::start(vec![
            Exchange::expect("PATCH", &work_note())
                .header("authorization", "Bearer sn-oauth-access-token")
                .header("content-type", "application/json")
                .json(json!({"work_notes": "note"}))
                .reply(200, &format!(r#"{{"result":{{"sys_id":"{SYS_ID}"}}}}"#)),
        ]);
        servicenow_with(&stub, Auth::bearer(SecretString::from("sn-oauth-access-token")))
            .comment(&CallContext::new("p", "a"), SYS_ID, "note")
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn a_work_note_by_number_looks_the_incident_up_retrying_a_429() {
        let stub = Stub::start(vec![
            Exchange::expect("GET", &find("INC0010001"))
                .header("authorization", BASIC)
                .header("accept", "application/json")
                .reply(429, RATE_LIMITED)
                .reply_header("retry-after", "0"),
            Exchange::expect("GET", &find("INC0010001"))
                .reply(200, &format!(r#"{{"result":[{{"sys_id":"{SYS_ID}"}}]}}"#)),
            write("PATCH", &work_note())
                .json(json!({"work_notes": "note"}))
                .reply(200, &format!(r#"{{"result":{{"sys_id":"{SYS_ID}"}}}}"#)),
            Exchange::expect("GET", &find("INC0099999")).reply(200, r#"{"result":[]}"#),
        ]);
        let servicenow = servicenow(&stub);
        let cx = CallContext::new("p", "a");
        servicenow.comment(&cx, "INC0010001", "note").await.unwrap();
        assert_eq!(
            servicenow.comment(&cx, "INC0099999", "note").await.unwrap_err(),
            ConnectorError::NotFound("servicenow find incident: no incident INC0099999".into())
        );
        assert!(matches!(
            servicenow.comment(&cx, "INC1^ORactive=true", "note").await,
            Err(ConnectorError::InvalidInput(_))
        ));
        stub.finish();
    }

    #[tokio::test]
    async fn a_work_note_on_a_missing_incident_is_not_found() {
        let stub = Stub::start(vec![
            write("PATCH", &work_note())
                .json(json!({"work_notes": "x"}))
                .reply(
                    404,
                    r#"{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}"#,
                ),
        ]);
        assert_eq!(
            servicenow(&stub)
                .comment(&CallContext::new("p", "a"), SYS_ID, "x")
                .await
                .unwrap_err(),
            ConnectorError::NotFound(
                "servicenow add work note: No Record found: Record doesn't exist or ACL restricts the record retrieval"
                    .into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_work_note_cannot_embed_html_with_code_tags() {
        let stub = Stub::start(vec![
            write("PATCH", &work_note())
                .json(json!({"work_notes":
                    "Subject: [ code]<img src=https://evil.example/p.gif>[ /CODE] and [ Code]x[ /code]"}))
                .reply(200, &format!(r#"{{"result":{{"sys_id":"{SYS_ID}"}}}}"#)),
        ]);
        servicenow(&stub)
            .comment(
                &CallContext::new("p", "a"),
                SYS_ID,
                "Subject: [code]<img src=https://evil.example/p.gif>[/CODE] and [Code]x[/code]",
            )
            .await
            .unwrap();
        stub.finish();
        assert_eq!(
            defuse_code_tags("[[code]code] ünïcode [codex] [/cod"),
            "[[ code]code] ünïcode [codex] [/cod"
        );
    }

    #[tokio::test]
    async fn rejected_credentials_are_unauthorized_and_never_echoed() {
        let unauthenticated = r#"{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}"#;
        let stub = Stub::start(vec![
            write("POST", CREATE).reply(401, unauthenticated),
            Exchange::expect("GET", &find("INC0010001")).reply(401, unauthenticated),
        ]);
        let servicenow = servicenow(&stub);
        let cx = CallContext::new("p", "a");
        let create = servicenow.create(&cx, &ticket()).await.unwrap_err();
        assert_eq!(
            create,
            ConnectorError::Unauthorized(
                "servicenow create incident: HTTP 401: User Not Authenticated: Required to provide Auth information \
                 (check the connector's credentials and their permissions)"
                    .into()
            )
        );
        let comment = servicenow.comment(&cx, "INC0010001", "note").await.unwrap_err();
        assert!(
            matches!(&comment, ConnectorError::Unauthorized(m)
                if m.starts_with("servicenow find incident: HTTP 401: User Not Authenticated")),
            "{comment}"
        );
        for error in [create, comment] {
            assert!(!error.to_string().contains(PASSWORD), "{error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_rate_limited_create_waits_out_retry_after_then_is_sent_again() {
        let stub = Stub::start(vec![
            write("POST", CREATE)
                .reply(429, RATE_LIMITED)
                .reply_header("x-ratelimit-limit", "10")
                .reply_header("x-ratelimit-reset", &in_seconds(1))
                .reply_header("x-ratelimit-rule", "c6b4ec1fdb1323005d2ff1f2ca961922")
                .reply_header("retry-after", "1"),
            write("POST", CREATE)
                .json(json!({"short_description": "Malware beacon from ws-042", "urgency": "1"}))
                .reply(
                    201,
                    &format!(r#"{{"result":{{"sys_id":"{SYS_ID}","number":"INC0010002"}}}}"#),
                ),
        ]);
        let started = Instant::now();
        let created = servicenow(&stub)
            .create(&CallContext::new("p", "a"), &ticket())
            .await
            .unwrap();
        assert_eq!(created.id, SYS_ID);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not waited out"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn an_hourly_rate_limit_fails_at_once_as_rate_limited() {
        let stub = Stub::start(vec![
            write("PATCH", &work_note())
                .reply(429, RATE_LIMITED)
                .reply_header("x-ratelimit-limit", "10")
                .reply_header("x-ratelimit-reset", &in_seconds(1800))
                .reply_header("retry-after", "1800"),
        ]);
        let started = Instant::now();
        assert_eq!(
            servicenow(&stub)
                .comment(&CallContext::new("p", "a"), SYS_ID, "note")
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "servicenow add work note: HTTP 429: Rate limit exceeded: Rate limit of 10 requests per hour for Table API exceeded"
                    .into()
            )
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        stub.finish();
    }

    #[tokio::test]
    async fn a_create_answered_503_is_not_repeated() {
        let stub = Stub::start(vec![
            write("POST", CREATE)
                .reply(
                    503,
                    r#"{"error":{"message":"Service Unavailable","detail":""},"status":"failure"}"#,
                )
                .reply_header("retry-after", "0"),
        ]);
        let failed = servicenow(&stub)
            .create(&CallContext::new("p", "a"), &ticket())
            .await
            .unwrap_err();
        assert_eq!(
            failed,
            ConnectorError::Failed("servicenow create incident: HTTP 503: Service Unavailable".into())
        );
        assert!(!failed.to_string().contains(PASSWORD));
        stub.finish();
    }
}
