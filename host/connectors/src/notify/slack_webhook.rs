//! Slack, through an incoming webhook: the webhook's URL embeds its token, so it is a secret
//! and the connector takes it instead of `url`.
//!
//! ```toml
//! [connectors.slack-alerts]
//! kind = "slack-webhook"
//! webhook_url = { env = "SLACK_WEBHOOK_URL" }   # https://hooks.slack.com/services/T.../B.../...
//! timeout_ms = 5000                             # the shared HTTP keys apply, except `url`
//! ```
//!
//! send: `POST <webhook_url>` with `Content-Type: application/json` and `{text, blocks,
//! unfurl_links: false, unfurl_media: false}`, formatted as the `slack` kind does. Slack
//! answers 200 `ok`, or an HTTP error whose body is a plain-text code, which the error
//! carries: 400 `invalid_payload`, `no_text`, `user_not_found` (invalid input); 403
//! `action_prohibited`, `invalid_token` (unauthorized); 404 `channel_not_found`,
//! `no_service`, `no_team` and 410 `channel_is_archived` (failed: the webhook or its channel
//! is gone, a fault of the connector's configuration, not of the message, so never a
//! plugin's `not-found`); 500 `rollup_error`; 429 past the rate limit, with `Retry-After`.
//! The webhook posts to the channel it was created for: a message's `channel` cannot change
//! it and is not sent. A message is sent again only after a 429.
//!
//! Slack's documentation:
//! - <https://api.slack.com/messaging/webhooks> (posting, and handling errors)
//! - <https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks>
//!   (the status of each error code)
//! - <https://api.slack.com/apis/rate-limits> (incoming webhooks: HTTP 429 and `Retry-After`)

use super::{Message, Notifier, slack};
use crate::http::{Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackWebhook {
    webhook_url: Spanned<SecretRef>,
}

impl VendorBackend for SlackWebhook {
    const KIND: &'static str = "slack-webhook";
    const CAPABILITY: Capability = Capability::Notify;
    const URL_SECRET: Option<&'static str> = Some("webhook_url");

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("webhook_url", &self.webhook_url)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        Ok(CapabilitySet {
            notify: Some(Arc::new(SlackWebhookNotifier {
                client: cx.client_at("slack", "webhook_url", &self.webhook_url, error_message)?,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// The webhook's error body is a plain-text code (`invalid_payload`).
fn error_message(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty() && text.len() <= 200 && !text.contains('<')).then(|| text.to_owned())
}

struct SlackWebhookNotifier {
    client: Arc<VendorClient>,
}

#[async_trait::async_trait]
impl Notifier for SlackWebhookNotifier {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError> {
        if message.channel.is_some() {
            tracing::debug!("slack-webhook: the webhook's own channel is used, not the message's");
        }
        let request = Request::post("")
            .json(&slack::payload(cx, message))
            .once_unless_rate_limited();
        match self.client.send(&request, "post message").await {
            Ok(_) => Ok(()),
            // A 404 names the webhook or its channel, which the plugin did not choose.
            Err(ConnectorError::NotFound(detail)) => Err(ConnectorError::Failed(format!(
                "{detail} (the webhook or its channel is gone: check the connector's webhook_url)"
            ))),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use palisade_alert::Severity;
    use serde_json::json;
    use std::time::Duration;

    const HOOK: &str = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

    fn webhook(stub: &Stub) -> SlackWebhookNotifier {
        SlackWebhookNotifier {
            client: stub.webhook_client(HOOK, "slack", error_message),
        }
    }

    fn message() -> Message {
        Message {
            channel: None,
            title: "Host isolated: ws-042".into(),
            body: "Beacon to c2.evil.example".into(),
            severity: Severity::Critical,
        }
    }

    /// A post to the webhook URL, its body JSON as the webhook documents it.
    fn post() -> Exchange {
        Exchange::expect("POST", HOOK).header("content-type", "application/json")
    }

    fn cx() -> CallContext {
        CallContext::new("p", "a")
    }

    #[tokio::test]
    async fn a_message_is_posted_to_the_webhook_url() {
        let stub = Stub::start(vec![
            post()
                .json(json!({
                    "text": "[CRITICAL] Host isolated: ws-042",
                    "blocks": [
                        {"type": "section", "text": {"type": "mrkdwn", "text": "*Host isolated: ws-042*\n*Severity:* critical"}},
                        {"type": "section", "text": {"type": "mrkdwn", "text": "Beacon to c2.evil.example"}},
                        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Palisade · alert alert-5"}]},
                    ],
                    "unfurl_links": false,
                    "unfurl_media": false,
                }))
                .reply(200, "ok"),
        ]);
        webhook(&stub)
            .send(&CallContext::new("edr", "alert-5"), &message())
            .await
            .unwrap();
        stub.finish();
    }

    #[test]
    fn a_message_channel_is_not_sent_to_the_webhook() {
        let routed = Message {
            channel: Some("#elsewhere".into()),
            ..message()
        };
        let body = slack::payload(&cx(), &routed);
        assert!(body.get("channel").is_none(), "{body}");
        assert!(!body.to_string().contains("#elsewhere"), "{body}");
    }

    #[tokio::test]
    async fn plain_text_errors_are_typed_by_what_the_analyst_must_fix() {
        let stub = Stub::start(vec![
            post().reply(400, "invalid_payload"),
            post().reply(403, "invalid_token"),
            post().reply(403, "action_prohibited"),
            post().reply(404, "no_service"),
            post().reply(404, "channel_not_found"),
            post().reply(410, "channel_is_archived"),
            post().reply(500, "rollup_error"),
        ]);
        let webhook = webhook(&stub);
        let mut errors = Vec::new();
        for _ in 0..7 {
            errors.push(webhook.send(&cx(), &message()).await.unwrap_err());
        }
        assert_eq!(
            errors[0],
            ConnectorError::InvalidInput("slack post message: invalid_payload".into())
        );
        for (error, code) in errors[1..3].iter().zip(["invalid_token", "action_prohibited"]) {
            assert_eq!(
                *error,
                ConnectorError::Unauthorized(format!(
                    "slack post message: HTTP 403: {code} (check the connector's credentials and their permissions)"
                ))
            );
        }
        for (error, code) in errors[3..5].iter().zip(["no_service", "channel_not_found"]) {
            assert_eq!(
                *error,
                ConnectorError::Failed(format!(
                    "slack post message: {code} (the webhook or its channel is gone: check the connector's webhook_url)"
                ))
            );
        }
        assert_eq!(
            errors[5],
            ConnectorError::Failed("slack post message: HTTP 410: channel_is_archived".into())
        );
        // A 5xx may come after the message was posted: it is not sent again.
        assert_eq!(
            errors[6],
            ConnectorError::Failed("slack post message: HTTP 500: rollup_error".into())
        );
        for error in &errors {
            assert!(!error.to_string().contains("XXXXXXXX"), "{error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_reply_that_quotes_the_webhook_url_never_carries_it() {
        let stub = Stub::start(vec![
            post().reply(400, &format!("invalid_payload at {HOOK}")),
            post().reply(403, "invalid_token XXXXXXXXXXXXXXXXXXXXXXXX"),
            post().reply(404, &format!("no_service: https://hooks.slack.com{HOOK}")),
        ]);
        let webhook = webhook(&stub);
        for _ in 0..3 {
            let text = webhook.send(&cx(), &message()).await.unwrap_err().to_string();
            assert!(
                text.contains("slack post message: ")
                    && text.contains("[redacted]")
                    && !text.contains("XXXXXX")
                    && !text.contains("/services/"),
                "{text}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_429_is_waited_out_for_its_retry_after_and_sent_again() {
        let stub = Stub::start(vec![
            post().reply(429, "rate_limited").reply_header("retry-after", "1"),
            post().reply(200, "ok"),
            post()
                .reply(429, "rate_limited")
                .reply_header("retry-after", "3600"),
        ]);
        let webhook = webhook(&stub);
        let started = std::time::Instant::now();
        webhook.send(&cx(), &message()).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        // Longer than a minute: the alert does not wait for it.
        assert_eq!(
            webhook.send(&cx(), &message()).await.unwrap_err(),
            ConnectorError::RateLimited("slack post message: HTTP 429: rate_limited".into())
        );
        stub.finish();
    }
}
