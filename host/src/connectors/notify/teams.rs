//! Microsoft Teams, through an incoming webhook (a channel's Incoming Webhook connector, or a
//! Workflows "When a Teams webhook request is received" trigger). The webhook's URL is its
//! credential, so it is a secret and the connector takes it instead of `url`.
//!
//! ```toml
//! [connectors.teams]
//! kind = "teams"
//! webhook_url = { env = "TEAMS_WEBHOOK_URL" }   # https://acme.webhook.office.com/webhookb2/... or a Workflows URL
//! timeout_ms = 5000                             # the shared HTTP keys apply, except `url`
//! ```
//!
//! send: `POST <webhook_url>` with a message carrying one Adaptive Card (version 1.4): the
//! title in bold, the severity (in the attention colour when high or critical), the body,
//! and the Palisade alert id, each text from the alert as a plain `TextRun` that Teams does
//! not read as Markdown. Teams answers 200 with `1` (Incoming Webhook) or 202
//! (Workflows); errors are plain text. The legacy connector reports some failures, a
//! throttled post among them, as a 200 whose text says `Webhook message delivery failed`;
//! those are errors too (`HTTP error 429` in it is rate limited). The channel is the
//! webhook's: a message's `channel` is not used. A message is sent again only after a 429.

use super::{Message, Notifier};
use crate::alert::Severity;
use crate::capability::Capability;
use crate::config::SecretRef;
use crate::connectors::http::{Request, VendorClient};
use crate::connectors::vendor::{BuildContext, VendorBackend};
use crate::connectors::{CallContext, CapabilitySet, ConnectorError};
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
        let reply = self.client.send(&request, "post message").await?;
        let text = String::from_utf8_lossy(&reply.body);
        let text = text.trim();
        if text.contains("delivery failed") || text.contains("returned HTTP error") {
            let message = format!(
                "teams post message: {}",
                text.chars().take(300).collect::<String>()
            );
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
    use crate::connectors::http::Auth;
    use crate::connectors::stub::{Exchange, Stub};

    const HOOK: &str = "/webhookb2/0f1e2d3c@a1b2c3d4/IncomingWebhook/5e6f7a8b/9c0d1e2f";

    fn teams(stub: &Stub) -> TeamsNotifier {
        TeamsNotifier {
            client: stub.client(HOOK, Auth::None, "teams", error_message),
        }
    }

    fn message() -> Message {
        Message {
            channel: Some("ignored".into()),
            title: "Account disabled: alice".into(),
            body: "Password spray from 198.51.100.23".into(),
            severity: Severity::High,
        }
    }

    #[tokio::test]
    async fn an_adaptive_card_is_posted_and_both_success_replies_accepted() {
        let card = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "Account disabled: alice", "weight": "Bolder", "size": "Medium"}]},
                        {"type": "TextBlock", "text": "Severity: high", "color": "Attention"},
                        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "Password spray from 198.51.100.23"}]},
                        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "Palisade · alert alert-3", "isSubtle": true, "size": "Small"}]},
                    ],
                },
            }],
        });
        // The stub compares arrays exactly: only the fields above are checked by value.
        let stub = Stub::start(vec![
            Exchange::expect("POST", HOOK)
                .json(json!({"type": "message"}))
                .reply(200, "1"),
            Exchange::expect("POST", HOOK).reply(202, ""),
        ]);
        let teams = teams(&stub);
        let cx = CallContext::new("spray", "alert-3");
        let sent = super::card(&cx, &message());
        let body = &sent["attachments"][0]["content"]["body"];
        for (n, expected) in card["attachments"][0]["content"]["body"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            for (key, value) in expected.as_object().unwrap() {
                assert_eq!(&body[n][key], value, "block {n}, {key}");
            }
        }
        assert_eq!(
            sent["attachments"][0]["contentType"],
            card["attachments"][0]["contentType"]
        );
        assert_eq!(sent["attachments"][0]["content"]["version"], "1.4");
        teams.send(&cx, &message()).await.unwrap();
        teams.send(&cx, &message()).await.unwrap();
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
    async fn failures_are_errors_even_in_a_200_and_only_a_429_is_retried() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", HOOK).reply(400, "Bad payload received by generic incoming webhook."),
            Exchange::expect("POST", HOOK).reply(
                200,
                "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.",
            ),
            Exchange::expect("POST", HOOK)
                .reply(429, "")
                .reply_header("retry-after", "0"),
            Exchange::expect("POST", HOOK).reply(200, "1"),
            Exchange::expect("POST", HOOK).reply(502, r#"{"error":{"code":"BadGateway","message":"The flow failed"}}"#),
        ]);
        let teams = teams(&stub);
        let cx = CallContext::new("p", "a");
        assert_eq!(
            teams.send(&cx, &message()).await.unwrap_err(),
            ConnectorError::InvalidInput(
                "teams post message: Bad payload received by generic incoming webhook.".into()
            )
        );
        let throttled = teams.send(&cx, &message()).await.unwrap_err();
        assert!(matches!(throttled, ConnectorError::RateLimited(_)), "{throttled}");
        teams.send(&cx, &message()).await.unwrap();
        let failed = teams.send(&cx, &message()).await.unwrap_err();
        assert_eq!(
            failed,
            ConnectorError::Failed("teams post message: HTTP 502: The flow failed (BadGateway)".into())
        );
        assert!(!failed.to_string().contains("webhookb2"), "{failed}");
        stub.finish();
    }
}
