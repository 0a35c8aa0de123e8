//! Microsoft Teams, through an incoming webhook (a channel's Incoming Webhook connector, or a
//! Workflows "When a Teams webhook request is received" trigger). The webhook's URL is its
//! credential (a Workflows URL carries its signature, `sig`, in the query), so it is a secret
//! and the connector takes it instead of `url`.
//!
//! ```toml
//! [connectors.teams]
//! kind = "teams"
//! webhook_url = { env = "TEAMS_WEBHOOK_URL" }   # https://acme.webhook.office.com/webhookb2/... or a Workflows URL
//! timeout_ms = 5000                             # the shared HTTP keys apply, except `url`
//! ```
//!
//! send: `POST <webhook_url>` with `Content-Type: application/json` and a message carrying
//! one Adaptive Card (version 1.4), `{"type": "message", "attachments": [{"contentType":
//! "application/vnd.microsoft.card.adaptive", "content": {...}}]}`: the title in bold, the
//! severity (in the attention colour when high or critical), the body, and the Palisade alert
//! id, each text from the alert as a plain `TextRun` that Teams does not read as Markdown.
//! Teams answers 200 with `1` (Incoming Webhook) or 202 (Workflows). Errors are plain text
//! from the Incoming Webhook and `{"error":{"code","message"}}` from Workflows. The legacy
//! connector reports some failures, a throttled post among them, as a 200 whose text says
//! `Webhook message delivery failed` ("Connectors do not throw 429s"); those are errors too
//! (`HTTP error 429` in it is rate limited, not retried: the post may have gone through).
//! Workflows answer a throttled post with a 429 and `Retry-After`, waited out. A 404 (a
//! webhook or flow deleted) is a fault of the connector's configuration, so never a plugin's
//! `not-found`. The channel is the webhook's: a message's `channel` is not used. A message is
//! sent again only after a 429.
//!
//! Microsoft's documentation:
//! - <https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook>
//! - <https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>
//!   (sending Adaptive Cards; rate limiting for connectors)
//! - <https://support.microsoft.com/en-us/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498>
//! - <https://learn.microsoft.com/en-us/power-automate/limits-and-config> (Workflows throttling)

use super::{Message, Notifier};
use crate::http::{Request, VendorClient};
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
pub struct Teams {
    webhook_url: Spanned<SecretRef>,
}

impl VendorBackend for Teams {
    const KIND: &'static str = "teams";
    const CAPABILITY: Capability = Capability::Notify;
    const URL_SECRET: Option<&'static str> = Some("webhook_url");

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("webhook_url", &self.webhook_url)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        Ok(CapabilitySet {
            notify: Some(Arc::new(TeamsNotifier {
                client: cx.client_at("teams", "webhook_url", &self.webhook_url, error_message)?,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Teams' errors are plain text (`Bad payload received by generic incoming webhook.`);
/// Workflows answer JSON `{"error":{"code":"...","message":"..."}}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Workflows {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        code: Option<String>,
        message: String,
    }
    if let Ok(Workflows { error }) = serde_json::from_slice(body) {
        return Some(match error.code {
            Some(code) => format!("{} ({code})", error.message),
            None => error.message,
        });
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty() && !text.contains('<')).then(|| text.to_owned())
}

struct TeamsNotifier {
    client: Arc<VendorClient>,
}

/// Text from an alert, shown as it is: a `TextBlock` renders Markdown, so an attacker's
/// `[click](https://evil.example)` in an alert would become a link in the channel. A
/// `TextRun` in a `RichTextBlock` is never read as Markdown
/// (<https://adaptivecards.io/explorer/TextRun.html>); `run` carries its formatting.
fn plain(text: &str, mut run: Value) -> Value {
    run["type"] = "TextRun".into();
    run["text"] = text.into();
    json!({"type": "RichTextBlock", "inlines": [run]})
}

fn card(cx: &CallContext, message: &Message) -> Value {
    let mut body = vec![
        plain(
            message.title.trim(),
            json!({"weight": "Bolder", "size": "Medium"}),
        ),
        json!({
            "type": "TextBlock",
            "text": format!("Severity: {}", message.severity),
            "color": match message.severity {
                Severity::Critical | Severity::High => "Attention",
                Severity::Medium => "Warning",
                Severity::Low | Severity::Informational => "Default",
            },
            "weight": "Bolder",
            "spacing": "None",
            "wrap": true,
        }),
    ];
    if !message.body.trim().is_empty() {
        body.push(plain(message.body.trim(), json!({})));
    }
    body.push(plain(
        &format!("Palisade · alert {}", cx.alert_id),
        json!({"isSubtle": true, "size": "Small"}),
    ));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

#[async_trait::async_trait]
impl Notifier for TeamsNotifier {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError> {
        if message.channel.is_some() {
            tracing::debug!("teams: the webhook's own channel is used, not the message's");
        }
        let request = Request::post("")
            .json(&card(cx, message))
            .once_unless_rate_limited();
        let reply = match self.client.send(&request, "post message").await {
            Ok(reply) => reply,
            // A 404 names the webhook or flow, which the plugin did not choose.
            Err(ConnectorError::NotFound(detail)) => {
                return Err(ConnectorError::Failed(format!(
                    "{detail} (the webhook or its workflow is gone: check the connector's webhook_url)"
                )));
            }
            Err(error) => return Err(error),
        };
        let text = String::from_utf8_lossy(&reply.body);
        let text = text.trim();
        if text.contains("delivery failed") || text.contains("returned HTTP error") {
            // A 200 is not redacted by the client's status handling, and Teams may quote the
            // request, whose URL is the credential.
            let message = self.client.message("post message", text);
            return Err(if text.contains("HTTP error 429") {
                ConnectorError::RateLimited(message)
            } else {
                ConnectorError::Failed(message)
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use std::time::Duration;

    const HOOK: &str = "/webhookb2/0f1e2d3c@a1b2c3d4/IncomingWebhook/5e6f7a8b/9c0d1e2f";
    /// A Workflows trigger URL: its query is the credential.
    const WORKFLOW: &str = "/workflows/5e6f7a8b9c0d/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9vYmFyc2lnbmF0dXJl";

    fn teams_at(stub: &Stub, hook: &str) -> TeamsNotifier {
        TeamsNotifier {
            client: stub.webhook_client(hook, "teams", error_message),
        }
    }

    fn teams(stub: &Stub) -> TeamsNotifier {
        teams_at(stub, HOOK)
    }

    fn message() -> Message {
        Message {
            channel: Some("ignored".into()),
            title: "Account disabled: alice".into(),
            body: "Password spray from 198.51.100.23".into(),
            severity: Severity::High,
        }
    }

    fn post(hook: &str) -> Exchange {
        Exchange::expect("POST", hook).header("content-type", "application/json")
    }

    fn cx() -> CallContext {
        CallContext::new("p", "a")
    }

    /// The whole message, as Teams documents an Adaptive Card sent to a webhook.
    fn expected_card() -> Value {
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "Account disabled: alice", "weight": "Bolder", "size": "Medium"}]},
                        {"type": "TextBlock", "text": "Severity: high", "color": "Attention", "weight": "Bolder", "spacing": "None", "wrap": true},
                        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "Password spray from 198.51.100.23"}]},
                        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "Palisade · alert alert-3", "isSubtle": true, "size": "Small"}]},
                    ],
                },
            }],
        })
    }

    #[tokio::test]
    async fn an_adaptive_card_is_posted_to_an_incoming_webhook() {
        let stub = Stub::start(vec![post(HOOK).json(expected_card()).reply(200, "1")]);
        let cx = CallContext::new("spray", "alert-3");
        // The stub compares arrays whole, so every block above is checked field by field.
        assert_eq!(super::card(&cx, &message()), expected_card());
        teams(&stub).send(&cx, &message()).await.unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn a_workflows_webhook_keeps_its_signed_query_and_202_is_success() {
        let stub = Stub::start(vec![post(WORKFLOW).json(expected_card()).reply(202, "")]);
        teams_at(&stub, WORKFLOW)
            .send(&CallContext::new("spray", "alert-3"), &message())
            .await
            .unwrap();
        stub.finish();
    }

    #[test]
    fn markdown_in_an_alert_never_reaches_teams_as_markdown() {
        let hostile = Message {
            title: "[Reset your password](https://evil.example/login) **now**".into(),
            body: "![x](https://evil.example/pixel.png)\n- [ok](https://evil.example)".into(),
            ..message()
        };
        let sent = super::card(&CallContext::new("spray", "alert-[x](y)"), &hostile);
        let body = sent["attachments"][0]["content"]["body"]
            .as_array()
            .unwrap()
            .clone();
        for block in &body {
            let text = block["text"].as_str().unwrap_or_default();
            if block["type"] == "TextBlock" {
                // The only Markdown-reading blocks carry the host's own words.
                assert!(!text.contains("evil") && !text.contains('['), "{block}");
            } else {
                assert_eq!(block["type"], "RichTextBlock", "{block}");
                assert_eq!(block["inlines"][0]["type"], "TextRun", "{block}");
            }
        }
        assert_eq!(body[0]["inlines"][0]["text"], hostile.title);
    }

    #[tokio::test]
    async fn a_throttled_connector_post_in_a_200_is_rate_limited_and_not_sent_again() {
        let stub = Stub::start(vec![
            post(HOOK).reply(
                200,
                "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.",
            ),
            post(HOOK).reply(
                200,
                "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413 with ContextId tcid=0.",
            ),
        ]);
        let teams = teams(&stub);
        assert_eq!(
            teams.send(&cx(), &message()).await.unwrap_err(),
            ConnectorError::RateLimited(
                "teams post message: Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef."
                    .into()
            )
        );
        let failed = teams.send(&cx(), &message()).await.unwrap_err();
        assert!(
            matches!(&failed, ConnectorError::Failed(text) if text.contains("HTTP error 413")),
            "{failed}"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_throttled_workflow_is_waited_out_for_its_retry_after() {
        let throttled =
            r#"{"error":{"code":"WorkflowRequestsThrottled","message":"The workflow is throttled."}}"#;
        let stub = Stub::start(vec![
            post(WORKFLOW)
                .reply(429, throttled)
                .reply_header("retry-after", "1"),
            post(WORKFLOW).reply(202, ""),
            post(WORKFLOW)
                .reply(429, throttled)
                .reply_header("retry-after", "600"),
        ]);
        let teams = teams_at(&stub, WORKFLOW);
        let started = std::time::Instant::now();
        teams.send(&cx(), &message()).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        // Longer than a minute: the alert does not wait for it.
        assert_eq!(
            teams.send(&cx(), &message()).await.unwrap_err(),
            ConnectorError::RateLimited(
                "teams post message: HTTP 429: The workflow is throttled. (WorkflowRequestsThrottled)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_reply_that_quotes_the_webhook_url_never_carries_it() {
        let echo = |url: &str| format!("Webhook message delivery failed for POST {url}");
        let stub = Stub::start(vec![
            // A failure in a 200, which the client's status handling never sees.
            post(HOOK).reply(200, &echo(HOOK)),
            post(WORKFLOW).reply(200, &echo(WORKFLOW)),
            // Just the key, JSON-quoted.
            post(WORKFLOW).reply(
                400,
                r#"{"error":{"code":"InvalidSignature","message":"sig \"Zm9vYmFyc2lnbmF0dXJl\" does not match"}}"#,
            ),
        ]);
        let mut errors = vec![teams(&stub).send(&cx(), &message()).await.unwrap_err()];
        let workflow = teams_at(&stub, WORKFLOW);
        for _ in 0..2 {
            errors.push(workflow.send(&cx(), &message()).await.unwrap_err());
        }
        for error in &errors {
            let text = error.to_string();
            assert!(
                text.contains("teams post message: ")
                    && text.contains("[redacted]")
                    && !text.contains("IncomingWebhook/")
                    && !text.contains("0f1e2d3c@a1b2c3d4")
                    && !text.contains("Zm9vYmFy")
                    && !text.contains("sig="),
                "{text}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn errors_are_typed_and_never_carry_the_webhook_url() {
        let stub = Stub::start(vec![
            post(HOOK).reply(400, "Bad payload received by generic incoming webhook."),
            post(WORKFLOW).reply(
                401,
                r#"{"error":{"code":"DirectApiAuthorizationRequired","message":"The request must be authenticated only by Shared Access scheme."}}"#,
            ),
            post(WORKFLOW).reply(
                404,
                r#"{"error":{"code":"WorkflowNotFound","message":"The workflow could not be found."}}"#,
            ),
            post(HOOK).reply(502, r#"{"error":{"code":"BadGateway","message":"The flow failed"}}"#),
        ]);
        let mut errors = vec![teams(&stub).send(&cx(), &message()).await.unwrap_err()];
        let workflow = teams_at(&stub, WORKFLOW);
        for _ in 0..2 {
            errors.push(workflow.send(&cx(), &message()).await.unwrap_err());
        }
        // A 5xx may come after the card was posted: it is not sent again.
        errors.push(teams(&stub).send(&cx(), &message()).await.unwrap_err());
        assert_eq!(
            errors,
            [
                ConnectorError::InvalidInput(
                    "teams post message: Bad payload received by generic incoming webhook.".into()
                ),
                ConnectorError::Unauthorized(
                    "teams post message: HTTP 401: The request must be authenticated only by Shared Access scheme. (DirectApiAuthorizationRequired) (check the connector's credentials and their permissions)"
                        .into()
                ),
                ConnectorError::Failed(
                    "teams post message: The workflow could not be found. (WorkflowNotFound) (the webhook or its workflow is gone: check the connector's webhook_url)"
                        .into()
                ),
                ConnectorError::Failed("teams post message: HTTP 502: The flow failed (BadGateway)".into()),
            ]
        );
        for error in &errors {
            let text = error.to_string();
            assert!(
                !text.contains("webhookb2") && !text.contains("sig=") && !text.contains("Zm9vYmFy"),
                "{text}"
            );
        }
        stub.finish();
    }
}
