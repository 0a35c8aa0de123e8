//! Slack, through the Web API's `chat.postMessage` with a bot token (`xoxb-...`, scope
//! `chat:write`, the bot a member of the channel).
//!
//! ```toml
//! [connectors.slack]
//! kind = "slack"
//! url = "https://slack.com"
//! token = { env = "SLACK_BOT_TOKEN" }
//! channel = "C0123456789"     # default channel (an id, or a name like "#secops"); a message's own channel wins
//! ```
//!
//! send: `POST /api/chat.postMessage` with `Authorization: Bearer <token>`, `Content-Type:
//! application/json; charset=utf-8` and `{channel, text, blocks, unfurl_links: false,
//! unfurl_media: false}`: `text` is the notification fallback, `blocks` the readable message
//! (title in bold, severity, body, the Palisade alert id). Link previews are off, so Slack
//! never fetches a URL from an alert.
//!
//! Slack answers HTTP 200 with `{"ok": false, "error": "..."}` when it refuses a message:
//! `channel_not_found` is not found; `not_in_channel`, `is_archived`, `msg_too_long`,
//! `invalid_blocks` and the like are invalid input; `invalid_auth`, `not_authed`,
//! `token_revoked`, `missing_scope` (with the scope it `needed`) and the like are
//! unauthorized; `ratelimited` and `rate_limited` are rate limited. Past its limit Slack
//! answers HTTP 429 with `Retry-After` (seconds), waited out when it is at most a minute. A
//! posted message cannot be taken back, so it is sent again only after an HTTP 429 (Slack
//! refused it unread), never after a 5xx, a timeout or an `ok: false`.
//!
//! Slack's documentation:
//! - <https://api.slack.com/methods/chat.postMessage> (arguments, errors, warnings)
//! - <https://api.slack.com/web> (JSON bodies and the `Authorization: Bearer` header)
//! - <https://api.slack.com/apis/rate-limits> (HTTP 429 and `Retry-After`)

use super::{Message, Notifier};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_alert::Severity;
use palisade_core::capability::Capability;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    token: Spanned<SecretRef>,
    channel: Option<String>,
}

impl VendorBackend for Slack {
    const KIND: &'static str = "slack";
    const CAPABILITY: Capability = Capability::Notify;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("token", &self.token)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let auth = Auth::bearer(cx.secret("token", &self.token)?);
        Ok(CapabilitySet {
            notify: Some(Arc::new(SlackNotifier {
                client: cx.client("slack", auth, error_message),
                channel: self.channel.clone(),
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Slack's reply, on success and on refusal alike:
/// `{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] ..."]}}`,
/// or `{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"..."}`.
#[derive(Deserialize)]
struct SlackReply {
    ok: bool,
    error: Option<String>,
    /// The scope a `missing_scope` refusal lacks.
    needed: Option<String>,
    #[serde(default)]
    response_metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    messages: Vec<String>,
}

impl SlackReply {
    fn message(self) -> String {
        let mut message = self.error.unwrap_or_else(|| "unknown error".into());
        if let Some(scope) = self.needed {
            message.push_str(&format!(" (needs scope {scope})"));
        }
        for detail in self.response_metadata.map(|m| m.messages).unwrap_or_default() {
            message.push_str(": ");
            message.push_str(&detail);
        }
        message
    }
}

fn error_message(body: &[u8]) -> Option<String> {
    let reply: SlackReply = serde_json::from_slice(body).ok()?;
    reply.error.is_some().then(|| reply.message())
}

/// A refusal (`ok: false`) as the error a plugin can act on; `message` is already the
/// client's redacted text of it.
fn refusal(code: &str, message: String) -> ConnectorError {
    match code {
        "channel_not_found" | "user_not_found" => ConnectorError::NotFound(message),
        "invalid_auth"
        | "not_authed"
        | "token_revoked"
        | "token_expired"
        | "account_inactive"
        | "missing_scope"
        | "no_permission"
        | "access_denied"
        | "not_allowed_token_type"
        | "ekm_access_denied"
        | "org_login_required"
        | "team_access_not_granted" => {
            ConnectorError::Unauthorized(format!("{message} (check the connector's token and its scopes)"))
        }
        "ratelimited" | "rate_limited" => ConnectorError::RateLimited(message),
        "not_in_channel"
        | "is_archived"
        | "msg_too_long"
        | "no_text"
        | "invalid_blocks"
        | "invalid_blocks_format"
        | "too_many_attachments"
        | "invalid_arguments"
        | "channel_is_archived"
        | "restricted_action"
        | "restricted_action_read_only_channel"
        | "restricted_action_thread_only_channel"
        | "restricted_action_non_threadable_channel"
        | "cannot_reply_to_message" => ConnectorError::InvalidInput(message),
        _ => ConnectorError::Failed(message),
    }
}

struct SlackNotifier {
    client: Arc<VendorClient>,
    channel: Option<String>,
}

/// Slack's limit on a section block's text.
const MAX_SECTION_CHARS: usize = 3000;

/// Text for Slack's `mrkdwn`: `&`, `<` and `>` escaped as Slack asks, so a value from an
/// alert cannot become a link or a mention.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn bounded(text: String, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text;
    }
    let mut short: String = text.chars().take(limit - 1).collect();
    short.push('…');
    short
}

/// The message as Slack shows it: `text` for notifications, `blocks` in the channel. Shared
/// with the incoming-webhook kind.
pub(super) fn payload(cx: &CallContext, message: &Message) -> Value {
    let title = message.title.trim();
    let headline = bounded(
        format!("*{}*\n*Severity:* {}", escape(title), message.severity),
        MAX_SECTION_CHARS,
    );
    let mut blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": headline}})];
    let body = message.body.trim();
    if !body.is_empty() {
        blocks.push(json!({"type": "section", "text": {
            "type": "mrkdwn",
            "text": bounded(escape(body), MAX_SECTION_CHARS),
        }}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("Palisade · alert {}", escape(&cx.alert_id))},
    ]}));
    json!({
        "text": format!("[{}] {}", label(message.severity), escape(title)),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

fn label(severity: Severity) -> String {
    severity.as_str().to_uppercase()
}

#[async_trait::async_trait]
impl Notifier for SlackNotifier {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError> {
        let Some(channel) = message.channel.as_deref().or(self.channel.as_deref()) else {
            return Err(ConnectorError::InvalidInput(
                "slack post message: no channel: the message names none and the connector has no `channel`"
                    .into(),
            ));
        };
        let mut body = payload(cx, message);
        body["channel"] = json!(channel);
        // Slack asks for the charset on a JSON body (else the `missing_charset` warning).
        let request = Request::post("api/chat.postMessage")
            .header("content-type", "application/json; charset=utf-8")
            .json(&body)
            .once_unless_rate_limited();
        let reply: SlackReply = self.client.json(&request, "post message").await?;
        if reply.ok {
            return Ok(());
        }
        let code = reply.error.clone().unwrap_or_default();
        // A 200 is not redacted by the client's status handling: this text is the reply's.
        Err(refusal(
            &code,
            self.client.message("post message", &reply.message()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;
    use std::time::Duration;

    const TOKEN: &str = "xoxb-1111-2222-abcdefghijkl";

    fn slack(stub: &Stub, channel: Option<&str>) -> SlackNotifier {
        SlackNotifier {
            client: stub.client(
                "/",
                Auth::bearer(SecretString::from(TOKEN)),
                "slack",
                error_message,
            ),
            channel: channel.map(str::to_owned),
        }
    }

    fn message(channel: Option<&str>) -> Message {
        Message {
            channel: channel.map(str::to_owned),
            title: "Account disabled: alice".into(),
            body: "Password spray from 198.51.100.23 <script>".into(),
            severity: Severity::High,
        }
    }

    /// `chat.postMessage` as Slack documents it: a bearer token and a JSON body with its charset.
    fn post() -> Exchange {
        Exchange::expect("POST", "/api/chat.postMessage")
            .header("authorization", &format!("Bearer {TOKEN}"))
            .header("content-type", "application/json; charset=utf-8")
            .header("accept", "application/json")
    }

    const POSTED: &str = r#"{"ok":true,"channel":"C0123456789","ts":"1503435956.000247","message":{"text":"x","type":"message","subtype":"bot_message","ts":"1503435956.000247"}}"#;

    fn cx() -> CallContext {
        CallContext::new("p", "a")
    }

    #[tokio::test]
    async fn a_message_goes_to_the_default_channel_or_its_own() {
        let cx = CallContext::new("spray", "alert-3");
        let blocks = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Account disabled: alice*\n*Severity:* high"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "Password spray from 198.51.100.23 &lt;script&gt;"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Palisade · alert alert-3"}]},
        ]);
        let body = |channel: &str| {
            json!({
                "channel": channel,
                "text": "[HIGH] Account disabled: alice",
                "blocks": blocks,
                "unfurl_links": false,
                "unfurl_media": false,
            })
        };
        let stub = Stub::start(vec![
            post().json(body("C0123456789")).reply(200, POSTED),
            post().json(body("#secops-critical")).reply(200, POSTED),
        ]);
        let slack = slack(&stub, Some("C0123456789"));
        slack.send(&cx, &message(None)).await.unwrap();
        slack.send(&cx, &message(Some("#secops-critical"))).await.unwrap();
        stub.finish();
    }

    #[test]
    fn the_token_travels_in_the_header_never_in_the_body() {
        let mut body = payload(&CallContext::new("p", "a"), &message(None));
        body["channel"] = json!("C0123456789");
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["blocks", "channel", "text", "unfurl_links", "unfurl_media"],
            "{body}"
        );
        assert!(!body.to_string().contains(TOKEN));
    }

    #[tokio::test]
    async fn refusals_in_a_200_are_typed_errors() {
        let stub = Stub::start(vec![
            post().reply(200, r#"{"ok":false,"error":"channel_not_found"}"#),
            post().reply(200, r#"{"ok":false,"error":"not_in_channel"}"#),
            post().reply(200, r#"{"ok":false,"error":"is_archived"}"#),
            post().reply(
                200,
                r#"{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text]"]}}"#,
            ),
        ]);
        let slack = slack(&stub, Some("C0123456789"));
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::NotFound("slack post message: channel_not_found".into())
        );
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::InvalidInput("slack post message: not_in_channel".into())
        );
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::InvalidInput("slack post message: is_archived".into())
        );
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::InvalidInput(
                "slack post message: invalid_blocks: [ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text]"
                    .into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_bad_token_or_a_missing_scope_is_unauthorized_and_never_echoes_the_token() {
        let stub = Stub::start(vec![
            post().reply(200, r#"{"ok":false,"error":"invalid_auth"}"#),
            post().reply(200, r#"{"ok":false,"error":"not_authed"}"#),
            post().reply(200, r#"{"ok":false,"error":"token_revoked"}"#),
            post().reply(
                200,
                r#"{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"channels:read"}"#,
            ),
        ]);
        let slack = slack(&stub, Some("C0123456789"));
        for code in ["invalid_auth", "not_authed", "token_revoked"] {
            assert_eq!(
                slack.send(&cx(), &message(None)).await.unwrap_err(),
                ConnectorError::Unauthorized(format!(
                    "slack post message: {code} (check the connector's token and its scopes)"
                ))
            );
        }
        let scope = slack.send(&cx(), &message(None)).await.unwrap_err();
        assert_eq!(
            scope,
            ConnectorError::Unauthorized(
                "slack post message: missing_scope (needs scope chat:write) (check the connector's token and its scopes)"
                    .into()
            )
        );
        assert!(!scope.to_string().contains(TOKEN));
        stub.finish();
    }

    #[tokio::test]
    async fn a_refusal_in_a_200_that_echoes_the_token_never_carries_it() {
        // The client's status handling never sees these: Slack refuses with HTTP 200.
        let stub = Stub::start(vec![
            post().reply(
                200,
                &format!(
                    r#"{{"ok":false,"error":"invalid_auth","response_metadata":{{"messages":["[ERROR] {}Bearer {TOKEN}"]}}}}"#,
                    "x".repeat(280)
                ),
            ),
            post().reply(200, &format!(r#"{{"ok":false,"error":"{TOKEN}"}}"#)),
        ]);
        let slack = slack(&stub, Some("C0123456789"));
        let unauthorized = slack.send(&cx(), &message(None)).await.unwrap_err();
        assert!(
            matches!(unauthorized, ConnectorError::Unauthorized(_)),
            "{unauthorized}"
        );
        let failed = slack.send(&cx(), &message(None)).await.unwrap_err();
        assert_eq!(
            failed,
            ConnectorError::Failed("slack post message: [redacted]".into())
        );
        // Not even the token's start survives the cut at 300 characters.
        let text = unauthorized.to_string();
        assert!(!text.contains("xoxb"), "{text}");
        stub.finish();
    }

    #[tokio::test]
    async fn a_429_is_waited_out_and_retried_but_a_503_is_not() {
        let stub = Stub::start(vec![
            post()
                .reply(429, r#"{"ok":false,"error":"ratelimited"}"#)
                .reply_header("retry-after", "1"),
            post().reply(200, POSTED),
            post().reply(503, "upstream connect error"),
        ]);
        let slack = slack(&stub, Some("C0123456789"));
        let started = std::time::Instant::now();
        slack.send(&cx(), &message(None)).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::Failed("slack post message: HTTP 503: upstream connect error".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_rate_limit_longer_than_a_minute_fails_at_once() {
        let stub = Stub::start(vec![
            post()
                .reply(429, r#"{"ok":false,"error":"ratelimited"}"#)
                .reply_header("retry-after", "120"),
        ]);
        let started = std::time::Instant::now();
        assert_eq!(
            slack(&stub, Some("C0123456789"))
                .send(&cx(), &message(None))
                .await
                .unwrap_err(),
            ConnectorError::RateLimited("slack post message: HTTP 429: ratelimited".into())
        );
        assert!(started.elapsed() < Duration::from_secs(5), "the alert stalled");
        stub.finish();
    }

    #[tokio::test]
    async fn a_refusal_in_a_200_is_never_sent_again() {
        // `rate_limited` (too many messages) and `internal_error` may come after Slack acted.
        let stub = Stub::start(vec![
            post().reply(200, r#"{"ok":false,"error":"rate_limited"}"#),
            post().reply(200, r#"{"ok":false,"error":"internal_error"}"#),
        ]);
        let slack = slack(&stub, Some("C0123456789"));
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::RateLimited("slack post message: rate_limited".into())
        );
        assert_eq!(
            slack.send(&cx(), &message(None)).await.unwrap_err(),
            ConnectorError::Failed("slack post message: internal_error".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn without_a_channel_nothing_is_sent() {
        let stub = Stub::start(vec![]);
        let error = slack(&stub, None).send(&cx(), &message(None)).await.unwrap_err();
        assert!(matches!(error, ConnectorError::InvalidInput(_)), "{error}");
        stub.finish();
    }
}
