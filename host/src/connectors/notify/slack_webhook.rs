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
//! send: `POST <webhook_url>` with `{text, blocks, unfurl_links: false, unfurl_media:
//! false}`, formatted as the `slack` kind does. Slack answers `ok`, or a 4xx with a plain-text
//! code (`invalid_payload`, `no_text`, `channel_is_archived`, `no_service`,
//! `action_prohibited`), which the error carries. The webhook posts to the channel it was
//! created for: a message's `channel` cannot change it and is not used. A message is sent
//! again only after a 429.

use super::{Message, Notifier, slack};
use crate::capability::Capability;
use crate::config::SecretRef;
use crate::connectors::http::{Request, VendorClient};
use crate::connectors::vendor::{BuildContext, VendorBackend};
use crate::connectors::{CallContext, CapabilitySet, ConnectorError};
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
        self.client.send(&request, "post message").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use crate::connectors::http::Auth;
    use crate::connectors::stub::{Exchange, Stub};
    use serde_json::json;

    const HOOK: &str = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

    fn webhook(stub: &Stub) -> SlackWebhookNotifier {
        SlackWebhookNotifier {
            client: stub.client(HOOK, Auth::None, "slack", error_message),
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

    #[tokio::test]
    async fn a_message_is_posted_to_the_webhook_url() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", HOOK)
                .json(json!({
                    "text": "[CRITICAL] Host isolated: ws-042",
                    "blocks": [
                        {"type": "section", "text": {"type": "mrkdwn", "text": "*Host isolated: ws-042*\n*Severity:* critical"}},
                        {"type": "section", "text": {"type": "mrkdwn", "text": "Beacon to c2.evil.example"}},
                        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Palisade · alert alert-5"}]},
                    ],
                    "unfurl_links": false,
                }))
                .reply(200, "ok"),
        ]);
        webhook(&stub)
            .send(&CallContext::new("edr", "alert-5"), &message())
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn plain_text_errors_are_carried_and_only_a_429_is_retried() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", HOOK).reply(400, "invalid_payload"),
            Exchange::expect("POST", HOOK).reply(404, "no_service"),
            Exchange::expect("POST", HOOK)
                .reply(429, "rate_limited")
                .reply_header("retry-after", "0"),
            Exchange::expect("POST", HOOK).reply(200, "ok"),
            Exchange::expect("POST", HOOK).reply(500, "rollup_error"),
        ]);
        let webhook = webhook(&stub);
        let cx = CallContext::new("p", "a");
        assert_eq!(
            webhook.send(&cx, &message()).await.unwrap_err(),
            ConnectorError::InvalidInput("slack post message: invalid_payload".into())
        );
        assert_eq!(
            webhook.send(&cx, &message()).await.unwrap_err(),
            ConnectorError::NotFound("slack post message: no_service".into())
        );
        webhook.send(&cx, &message()).await.unwrap();
        let failed = webhook.send(&cx, &message()).await.unwrap_err();
        assert_eq!(
            failed,
            ConnectorError::Failed("slack post message: HTTP 500: rollup_error".into())
        );
        assert!(!failed.to_string().contains("XXXXXXXX"), "{failed}");
        stub.finish();
    }
}
