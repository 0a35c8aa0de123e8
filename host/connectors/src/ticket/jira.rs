//! Jira Cloud, through its REST API v3 with an Atlassian account's email and API token
//! (HTTP basic authentication:
//! <https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/>).
//!
//! ```toml
//! [connectors.jira]
//! kind = "jira"
//! url = "https://acme.atlassian.net"
//! email = "palisade-bot@acme.example"
//! token = { env = "JIRA_API_TOKEN" }
//! project = "SEC"
//! issue_type = "Task"                  # default "Task"
//! # optional: the issue priority for each alert severity (names as the Jira site has them)
//! priority_by_severity = { critical = "Highest", high = "High", medium = "Medium", low = "Low", informational = "Lowest" }
//! ```
//!
//! - create: `POST /rest/api/3/issue`
//!   (<https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post>)
//!   with the project key, summary, issue type, a description in Atlassian Document Format
//!   (<https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/>: the
//!   text, the severity, the observables as a list, and the Palisade alert and action ids),
//!   the tags as labels (Jira labels take no spaces: each run of whitespace becomes `-`; none
//!   are sent when there are no tags, as a project whose create screen lacks labels refuses
//!   the field) and, if configured, the priority.
//! - comment: `POST /rest/api/3/issue/{key}/comment`
//!   (<https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-post>)
//!   with the body in ADF. A missing issue (or one the account cannot see) is a 404.
//!
//! The ticket id is the issue key (`SEC-24`), which the comment takes; the URL is
//! `{url}/browse/SEC-24`. Neither call is idempotent: each is sent once, and again only
//! when Jira refused it with a 429 (<https://developer.atlassian.com/cloud/jira/platform/rate-limiting/>),
//! after its `Retry-After` seconds. Its `X-RateLimit-Reset` is an ISO 8601 time the shared
//! HTTP layer does not read: without `Retry-After`, the retry backs off exponentially.

use super::{NewTicket, TicketRef, Ticketing, describe};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_alert::Severity;
use palisade_core::capability::Capability;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jira {
    email: String,
    token: Spanned<SecretRef>,
    project: String,
    #[serde(default = "default_issue_type")]
    issue_type: String,
    #[serde(default)]
    priority_by_severity: BTreeMap<Severity, String>,
}

fn default_issue_type() -> String {
    "Task".into()
}

impl VendorBackend for Jira {
    const KIND: &'static str = "jira";
    const CAPABILITY: Capability = Capability::Ticket;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("token", &self.token)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let auth = Auth::Basic {
            user: self.email.clone(),
            password: cx.secret("token", &self.token)?,
        };
        Ok(CapabilitySet {
            ticket: Some(Arc::new(JiraIssues {
                client: cx.client("jira", auth, error_message),
                base: cx.settings.as_ref().map(|settings| settings.base_url.clone()),
                project: self.project.clone(),
                issue_type: self.issue_type.clone(),
                priority_by_severity: self.priority_by_severity.clone(),
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Jira's error body: `{"errorMessages":["..."],"errors":{"summary":"..."}}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct JiraError {
        #[serde(default)]
        error_messages: Vec<String>,
        #[serde(default)]
        errors: BTreeMap<String, String>,
    }
    let error: JiraError = serde_json::from_slice(body).ok()?;
    let parts: Vec<String> = error
        .error_messages
        .into_iter()
        .chain(
            error
                .errors
                .into_iter()
                .map(|(field, message)| format!("{field}: {message}")),
        )
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

struct JiraIssues {
    client: Arc<VendorClient>,
    base: Option<reqwest::Url>,
    project: String,
    issue_type: String,
    priority_by_severity: BTreeMap<Severity, String>,
}

/// Jira's limit on a summary, which is also one line.
const MAX_SUMMARY_CHARS: usize = 255;
const MAX_LABEL_CHARS: usize = 255;

fn summary(title: &str) -> String {
    title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_SUMMARY_CHARS)
        .collect()
}

/// Tags as Jira labels: no whitespace, not empty, each once.
fn labels(tags: &[String]) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for tag in tags {
        let label: String = tag
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .chars()
            .take(MAX_LABEL_CHARS)
            .collect();
        if !label.is_empty() && !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

fn text(value: &str) -> Value {
    json!({"type": "text", "text": value})
}

/// Plain text as ADF paragraphs: a blank line starts a paragraph, a newline breaks a line.
/// ADF refuses empty text nodes, so none is made.
fn paragraphs(body: &str) -> Vec<Value> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|paragraph| !paragraph.trim().is_empty())
        .map(|paragraph| {
            let mut content = Vec::new();
            for (n, line) in paragraph.trim_matches('\n').split('\n').enumerate() {
                if n > 0 {
                    content.push(json!({"type": "hardBreak"}));
                }
                if !line.is_empty() {
                    content.push(text(line));
                }
            }
            json!({"type": "paragraph", "content": content})
        })
        .collect()
}

fn doc(content: Vec<Value>) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn description(cx: &CallContext, ticket: &NewTicket) -> Value {
    let mut content = paragraphs(&ticket.description);
    content.push(json!({"type": "paragraph", "content": [
        {"type": "text", "text": "Severity: ", "marks": [{"type": "strong"}]},
        text(ticket.severity.as_str()),
    ]}));
    if !ticket.observables.is_empty() {
        content.push(json!({"type": "paragraph", "content": [
            {"type": "text", "text": "Observables", "marks": [{"type": "strong"}]},
        ]}));
        let items: Vec<Value> = ticket
            .observables
            .iter()
            .map(|entity| {
                json!({"type": "listItem", "content": [
                    {"type": "paragraph", "content": [text(&describe(entity))]},
                ]})
            })
            .collect();
        content.push(json!({"type": "bulletList", "content": items}));
    }
    content.push(json!({"type": "paragraph", "content": [text(&format!(
        "Palisade alert {} (action {})",
        cx.alert_id, cx.action_id
    ))]}));
    doc(content)
}

#[derive(Deserialize)]
struct Created {
    key: String,
}

impl JiraIssues {
    /// The new issue's `fields`, as `POST /rest/api/3/issue` takes them.
    fn fields(&self, cx: &CallContext, ticket: &NewTicket) -> Value {
        let mut fields = json!({
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": summary(&ticket.title),
            "description": description(cx, ticket),
        });
        // Any `labels` key, even an empty list, fails the create where the project's create
        // screen has no labels field.
        let labels = labels(&ticket.tags);
        if !labels.is_empty() {
            fields["labels"] = json!(labels);
        }
        if let Some(priority) = self.priority_by_severity.get(&ticket.severity) {
            fields["priority"] = json!({"name": priority});
        }
        fields
    }

    fn browse(&self, key: &str) -> Option<String> {
        let mut url = self.base.clone()?;
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(["browse", key]);
        url.set_query(None);
        Some(url.to_string())
    }
}

#[async_trait::async_trait]
impl Ticketing for JiraIssues {
    async fn create(&self, cx: &CallContext, ticket: &NewTicket) -> Result<TicketRef, ConnectorError> {
        let request = Request::post("rest/api/3/issue")
            .json(&json!({"fields": self.fields(cx, ticket)}))
            .once_unless_rate_limited();
        let created: Created = self.client.json(&request, "create issue").await?;
        Ok(TicketRef {
            url: self.browse(&created.key),
            id: created.key,
        })
    }

    async fn comment(&self, _cx: &CallContext, ticket_id: &str, body: &str) -> Result<(), ConnectorError> {
        let content = paragraphs(body);
        if content.is_empty() {
            return Err(ConnectorError::InvalidInput(
                "jira add comment: the comment is empty".into(),
            ));
        }
        let request = Request::post("rest/api/3/issue")
            .segment(ticket_id)
            .path("comment")
            .json(&json!({"body": doc(content)}))
            .once_unless_rate_limited();
        self.client.send(&request, "add comment").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_alert::Entity;

    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const TOKEN: &str = "ATATT3xFfGF0-jira-token";
    /// `palisade-bot@acme.example:ATATT3xFfGF0-jira-token`, base64.
    const BASIC: &str = "Basic cGFsaXNhZGUtYm90QGFjbWUuZXhhbXBsZTpBVEFUVDN4RmZHRjAtamlyYS10b2tlbg==";

    fn jira(stub: &Stub) -> JiraIssues {
        JiraIssues {
            client: stub.client(
                "/",
                Auth::Basic {
                    user: "palisade-bot@acme.example".into(),
                    password: SecretString::from(TOKEN),
                },
                "jira",
                error_message,
            ),
            base: Some("https://acme.atlassian.net".parse().unwrap()),
            project: "SEC".into(),
            issue_type: "Task".into(),
            priority_by_severity: BTreeMap::from([(Severity::High, "High".into())]),
        }
    }

    /// A request as Jira documents it: basic credentials, a JSON body, a JSON reply.
    fn post(path: &str) -> Exchange {
        Exchange::expect("POST", path)
            .header("authorization", BASIC)
            .header("accept", "application/json")
            .header("content-type", "application/json")
    }

    const RATE_LIMITED: &str = r#"{"errorMessages":["Rate limit exceeded."],"errors":{}}"#;

    fn ticket() -> NewTicket {
        NewTicket {
            title: "Password spray against\nalice".into(),
            description: "42 failed sign-ins in 5 minutes.\nThen one success.\n\nSource: Entra ID".into(),
            severity: Severity::High,
            tags: vec!["password spray".into(), "identity".into(), "identity".into()],
            observables: vec![
                Entity::User {
                    name: "alice".into(),
                    domain: None,
                    email: Some("alice@acme.example".into()),
                    id: None,
                    display_name: None,
                    sign_in: None,
                },
                Entity::Ip {
                    address: "198.51.100.23".parse().unwrap(),
                    direction: None,
                },
            ],
        }
    }

    #[tokio::test]
    async fn an_issue_is_created_in_adf_with_labels_and_priority_then_commented() {
        let cx = CallContext::new("password-spray", "alert-7");
        let stub = Stub::start(vec![
            post("/rest/api/3/issue")
                .json(json!({"fields": {
                    "project": {"key": "SEC"},
                    "issuetype": {"name": "Task"},
                    "summary": "Password spray against alice",
                    "labels": ["password-spray", "identity"],
                    "priority": {"name": "High"},
                    "description": {"type": "doc", "version": 1, "content": [
                        {"type": "paragraph", "content": [
                            {"type": "text", "text": "42 failed sign-ins in 5 minutes."},
                            {"type": "hardBreak"},
                            {"type": "text", "text": "Then one success."},
                        ]},
                        {"type": "paragraph", "content": [{"type": "text", "text": "Source: Entra ID"}]},
                        {"type": "paragraph", "content": [
                            {"type": "text", "text": "Severity: ", "marks": [{"type": "strong"}]},
                            {"type": "text", "text": "high"},
                        ]},
                        {"type": "paragraph", "content": [
                            {"type": "text", "text": "Observables", "marks": [{"type": "strong"}]},
                        ]},
                        {"type": "bulletList", "content": [
                            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                                {"type": "text", "text": "user: alice <alice@acme.example>"}]}]},
                            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                                {"type": "text", "text": "ip: 198.51.100.23"}]}]},
                        ]},
                        {"type": "paragraph", "content": [{"type": "text", "text":
                            format!("Palisade alert alert-7 (action {})", cx.action_id)}]},
                    ]},
                }}))
                .reply(
                    201,
                    r#"{"id":"10024","key":"SEC-24","self":"https://acme.atlassian.net/rest/api/3/issue/10024"}"#,
                ),
            post("/rest/api/3/issue/SEC-24/comment")
                .json(json!({"body": {"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "Sessions revoked."}]},
                ]}}))
                .reply(201, r#"{"id":"10100","self":"https://acme.atlassian.net/rest/api/3/issue/10024/comment/10100"}"#),
        ]);
        let jira = jira(&stub);
        let created = jira.create(&cx, &ticket()).await.unwrap();
        assert_eq!(
            created,
            TicketRef {
                id: "SEC-24".into(),
                url: Some("https://acme.atlassian.net/browse/SEC-24".into()),
            }
        );
        jira.comment(&cx, "SEC-24", "Sessions revoked.").await.unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn an_invalid_create_carries_jiras_field_errors() {
        let stub = Stub::start(vec![post("/rest/api/3/issue").reply(
            400,
            r#"{"errorMessages":[],"errors":{"issuetype":"Specify a valid issue type","project":"valid project is required"}}"#,
        )]);
        assert_eq!(
            jira(&stub).create(&CallContext::new("p", "a"), &ticket()).await.unwrap_err(),
            ConnectorError::InvalidInput(
                "jira create issue: issuetype: Specify a valid issue type; project: valid project is required".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_comment_on_a_missing_issue_is_not_found() {
        let stub = Stub::start(vec![
            post("/rest/api/3/issue/SEC-999/comment")
                .json(json!({"body": {"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "x"}]},
                ]}}))
                .reply(
                    404,
                    r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#,
                ),
        ]);
        assert_eq!(
            jira(&stub)
                .comment(&CallContext::new("p", "a"), "SEC-999", "x")
                .await
                .unwrap_err(),
            ConnectorError::NotFound(
                "jira add comment: Issue does not exist or you do not have permission to see it.".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_rejected_api_token_is_unauthorized_and_not_retried() {
        // Jira Cloud answers bad basic credentials with a 401 and a one-line text body.
        let stub = Stub::start(vec![
            post("/rest/api/3/issue").reply(401, "Client must be authenticated to access this resource."),
            post("/rest/api/3/issue/SEC-24/comment").reply(
                401,
                r#"{"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}"#,
            ),
        ]);
        let jira = jira(&stub);
        let cx = CallContext::new("p", "a");
        let create = jira.create(&cx, &ticket()).await.unwrap_err();
        assert_eq!(
            create,
            ConnectorError::Unauthorized(
                "jira create issue: HTTP 401: Client must be authenticated to access this resource. \
                 (check the connector's credentials and their permissions)"
                    .into()
            )
        );
        let comment = jira.comment(&cx, "SEC-24", "note").await.unwrap_err();
        assert!(
            matches!(&comment, ConnectorError::Unauthorized(m)
                if m.starts_with("jira add comment: HTTP 401: You are not authenticated.")),
            "{comment}"
        );
        for error in [create, comment] {
            assert!(!error.to_string().contains(TOKEN), "{error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_create_is_repeated_after_429_but_never_after_503() {
        let stub = Stub::start(vec![
            post("/rest/api/3/issue")
                .reply(429, r#"{"errorMessages":["Rate limit exceeded."],"errors":{}}"#)
                .reply_header("retry-after", "0"),
            post("/rest/api/3/issue").reply(201, r#"{"id":"10025","key":"SEC-25","self":"x"}"#),
            post("/rest/api/3/issue").reply(503, r#"{"errorMessages":["Service unavailable"],"errors":{}}"#),
        ]);
        let jira = jira(&stub);
        let cx = CallContext::new("p", "a");
        assert_eq!(jira.create(&cx, &ticket()).await.unwrap().id, "SEC-25");
        let failed = jira.create(&cx, &ticket()).await.unwrap_err();
        assert_eq!(
            failed,
            ConnectorError::Failed("jira create issue: HTTP 503: Service unavailable".into())
        );
        assert!(!failed.to_string().contains(TOKEN));
        stub.finish();
    }

    #[tokio::test]
    async fn a_rate_limited_create_waits_out_retry_after_then_is_sent_again() {
        let stub = Stub::start(vec![
            post("/rest/api/3/issue")
                .reply(429, RATE_LIMITED)
                .reply_header("retry-after", "1")
                .reply_header("x-ratelimit-reset", "2026-03-05T14:31Z")
                .reply_header("ratelimit-reason", "jira-burst-based"),
            post("/rest/api/3/issue")
                .json(
                    json!({"fields": {"project": {"key": "SEC"}, "summary": "Password spray against alice"}}),
                )
                .reply(201, r#"{"id":"10026","key":"SEC-26","self":"x"}"#),
        ]);
        let started = std::time::Instant::now();
        let created = jira(&stub)
            .create(&CallContext::new("p", "a"), &ticket())
            .await
            .unwrap();
        assert_eq!(created.id, "SEC-26");
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "Retry-After was not waited out"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_retry_after_beyond_a_minute_fails_at_once_as_rate_limited() {
        let stub = Stub::start(vec![
            post("/rest/api/3/issue/SEC-24/comment")
                .reply(429, RATE_LIMITED)
                .reply_header("retry-after", "120")
                .reply_header("ratelimit-reason", "jira-per-issue-on-write"),
        ]);
        let started = std::time::Instant::now();
        assert_eq!(
            jira(&stub)
                .comment(&CallContext::new("p", "a"), "SEC-24", "note")
                .await
                .unwrap_err(),
            ConnectorError::RateLimited("jira add comment: HTTP 429: Rate limit exceeded.".into())
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        stub.finish();
    }

    #[tokio::test]
    async fn a_comment_rate_limited_without_retry_after_backs_off_then_gives_up() {
        // Only Jira's ISO 8601 reset, which the shared layer does not read: it backs off
        // exponentially, three times, then reports the rate limit.
        let stub = Stub::start(
            (0..4)
                .map(|_| {
                    post("/rest/api/3/issue/SEC-24/comment")
                        .reply(429, RATE_LIMITED)
                        .reply_header("x-ratelimit-reset", "2026-03-05T14:31Z")
                })
                .collect(),
        );
        assert_eq!(
            jira(&stub)
                .comment(&CallContext::new("p", "a"), "SEC-24", "note")
                .await
                .unwrap_err(),
            ConnectorError::RateLimited("jira add comment: HTTP 429: Rate limit exceeded.".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn an_empty_comment_is_refused_without_a_call() {
        let stub = Stub::start(vec![]);
        let error = jira(&stub)
            .comment(&CallContext::new("p", "a"), "SEC-24", " \r\n\n \n")
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::InvalidInput("jira add comment: the comment is empty".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn without_tags_no_labels_are_sent_and_an_unmapped_severity_sets_no_priority() {
        let stub = Stub::start(vec![]);
        let mut ticket = ticket();
        ticket.tags = vec![" ".into()];
        ticket.severity = Severity::Low;
        let fields = jira(&stub).fields(&CallContext::new("p", "a"), &ticket);
        let mut keys: Vec<&str> = fields.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["description", "issuetype", "project", "summary"]);
        stub.finish();
    }

    #[test]
    fn labels_lose_their_spaces_and_duplicates() {
        assert_eq!(
            labels(&["a b\tc".into(), " ".into(), "a-b-c".into(), "x".into()]),
            vec!["a-b-c".to_owned(), "x".to_owned()]
        );
    }
}
