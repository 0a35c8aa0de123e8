//! The generic webhook backend: POSTs an [`Envelope`] as JSON to the configured URL and
//! decodes the reply into the operation's typed result.
//!
//! Replies: 2xx with a JSON body (an empty body stands for `{}`); 404 means not found; 409
//! means the name fits more than one record (a lookup the gate then refuses to guess at); 400
//! and 422 mean invalid input; anything else is a connector failure. An error body's `error` or
//! `message` field, when present, is carried into the error.

use super::{CallContext, ConnectorError, Envelope};
use crate::config::WebhookConfig;
use crate::http::{Auth, bounded, reply_text};
use crate::redact::Redactor;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One HTTP client for all connectors, so connections are pooled. Redirects are not followed:
/// a webhook that redirects is misconfigured, and following would send the request elsewhere.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

pub struct WebhookClient {
    http: reqwest::Client,
    config: WebhookConfig,
    /// The token and the URL's query values, which a receiver (or a proxy in front of it)
    /// may echo back.
    redactor: Redactor,
}

impl WebhookClient {
    pub fn new(http: reqwest::Client, config: WebhookConfig) -> WebhookClient {
        let mut redactor = Redactor::new(&Auth::None, &config.url);
        if let Some(auth) = &config.auth {
            redactor.add(auth.secret.expose_secret());
        }
        WebhookClient {
            http,
            config,
            redactor,
        }
    }

    pub async fn call<R: Serialize, T: DeserializeOwned>(
        &self,
        cx: &CallContext,
        capability: &str,
        operation: &str,
        request: &R,
    ) -> Result<T, ConnectorError> {
        let envelope = Envelope::new(cx, capability, operation, request);
        let mut builder = self
            .http
            .post(self.config.url.clone())
            .timeout(self.config.timeout)
            .json(&envelope);
        if let Some(auth) = &self.config.auth {
            let value = match &auth.scheme {
                Some(scheme) => format!("{scheme} {}", auth.secret.expose_secret()),
                None => auth.secret.expose_secret().to_owned(),
            };
            let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                ConnectorError::Failed("the webhook token is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            builder = builder.header(auth.header.as_str(), value);
        }
        // `without_url`: a URL may carry a key in its query; errors never repeat it.
        let mut response = builder.send().await.map_err(|error| {
            ConnectorError::Failed(format!(
                "webhook {capability}.{operation}: {}",
                error.without_url()
            ))
        })?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| {
            ConnectorError::Failed(format!(
                "webhook {capability}.{operation}: {}",
                error.without_url()
            ))
        })? {
            if body.len() + chunk.len() > self.config.max_response_bytes {
                return Err(ConnectorError::Failed(format!(
                    "webhook {capability}.{operation}: reply larger than {} KiB",
                    self.config.max_response_bytes >> 10
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            // Redacted whole, then cut: a cut first could keep a secret's start.
            let detail = bounded(&self.redactor.redact(&error_detail(&body)));
            let message = format!(
                "webhook {capability}.{operation}: HTTP {}: {detail}",
                status.as_u16()
            );
            return Err(match status.as_u16() {
                404 => ConnectorError::NotFound(detail),
                409 => ConnectorError::Ambiguous(detail),
                400 | 422 => ConnectorError::InvalidInput(detail),
                _ => ConnectorError::Failed(message),
            });
        }
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &body
        };
        // serde's message may quote a value of the body.
        serde_json::from_slice(body).map_err(|error| {
            ConnectorError::Failed(format!(
                "webhook {capability}.{operation}: unexpected reply: {}",
                self.redactor.redact(&error.to_string())
            ))
        })
    }
}

/// The vendor's explanation from an error body, whole: the caller redacts it, then cuts it.
fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(
            ErrorBody {
                error: Some(text), ..
            }
            | ErrorBody {
                message: Some(text), ..
            },
        ) => reply_text(text.as_bytes()),
        _ => reply_text(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_prefer_the_vendor_message() {
        assert_eq!(error_detail(br#"{"error":"user is locked"}"#), "user is locked");
        assert_eq!(error_detail(br#"{"message":"rate limited"}"#), "rate limited");
        assert_eq!(error_detail(b"  "), "no details");
    }
}

#[cfg(test)]
mod server_tests {
    use super::*;
    use crate::config::WebhookAuth;
    use secrecy::SecretString;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A loopback server that answers each request with the next canned reply and reports
    /// what it received.
    struct Stub {
        url: String,
        received: mpsc::Receiver<(String, Option<String>, serde_json::Value)>,
    }

    fn serve(replies: Vec<(u16, &'static str)>) -> Stub {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hook?key=query-secret",
            server.server_addr().to_ip().unwrap()
        );
        let (sender, received) = mpsc::channel();
        std::thread::spawn(move || {
            for (status, body) in replies {
                let Ok(mut request) = server.recv() else { return };
                let mut text = String::new();
                request.as_reader().read_to_string(&mut text).unwrap();
                let auth = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string());
                let _ = sender.send((
                    request.url().to_owned(),
                    auth,
                    serde_json::from_str(&text).unwrap(),
                ));
                if status == 0 {
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                let _ = request.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        });
        Stub { url, received }
    }

    fn client(url: &str, max_response_bytes: usize) -> WebhookClient {
        WebhookClient::new(
            http_client().unwrap(),
            WebhookConfig {
                url: url.parse().unwrap(),
                timeout: Duration::from_millis(200),
                auth: Some(WebhookAuth {
                    header: "Authorization".into(),
                    scheme: Some("Bearer".into()),
                    secret: SecretString::from("s3cr3t-token"),
                }),
                max_response_bytes,
            },
        )
    }

    fn cx() -> CallContext {
        CallContext {
            plugin: "password-spray".into(),
            alert_id: "a-1".into(),
            action_id: "act-1".into(),
        }
    }

    #[tokio::test]
    async fn the_operation_is_posted_with_its_context_and_the_token() {
        let stub = serve(vec![(200, r#"{"reference":"job-7"}"#)]);
        let receipt: crate::ActionReceipt = client(&stub.url, 1024)
            .call(
                &cx(),
                "identity",
                "revoke-sessions",
                &serde_json::json!({"user": "alice"}),
            )
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some("job-7"));
        let (path, auth, body) = stub.received.recv().unwrap();
        assert_eq!(path, "/hook?key=query-secret");
        assert_eq!(auth.as_deref(), Some("Bearer s3cr3t-token"));
        assert_eq!(body["capability"], "identity");
        assert_eq!(body["operation"], "revoke-sessions");
        assert_eq!(body["plugin"], "password-spray");
        assert_eq!(body["alert_id"], "a-1");
        assert_eq!(body["request"]["user"], "alice");
    }

    #[tokio::test]
    async fn vendor_errors_map_to_typed_errors_without_secrets() {
        let stub = serve(vec![
            (
                404,
                r#"{"error":"no such user; you sent Bearer s3cr3t-token to /hook?key=query-secret"}"#,
            ),
            (422, r#"{"message":"bad address"}"#),
            (503, "maintenance"),
            (200, "not json"),
        ]);
        let client = client(&stub.url, 1024);
        let context = cx();
        let call = || client.call::<_, crate::ActionReceipt>(&context, "identity", "disable-user", &());
        assert_eq!(
            call().await.unwrap_err(),
            ConnectorError::NotFound(
                "no such user; you sent Bearer [redacted] to /hook?key=[redacted]".into()
            )
        );
        assert_eq!(
            call().await.unwrap_err(),
            ConnectorError::InvalidInput("bad address".into())
        );
        for error in [call().await.unwrap_err(), call().await.unwrap_err()] {
            let text = error.to_string();
            assert!(matches!(error, ConnectorError::Failed(_)), "{text}");
            assert!(
                !text.contains("s3cr3t") && !text.contains("query-secret"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn a_secret_echoed_across_the_cut_or_into_a_bad_reply_is_redacted() {
        // The token starts 4 characters before the 300-character cut.
        let at_the_cut: &'static str =
            Box::leak(format!(r#"{{"error":"{}Bearer s3cr3t-token"}}"#, "x".repeat(289)).into_boxed_str());
        let stub = serve(vec![(500, at_the_cut), (200, r#""s3cr3t-token""#)]);
        let client = client(&stub.url, 1024);
        let context = cx();
        let cut = client
            .call::<_, crate::ActionReceipt>(&context, "identity", "disable-user", &())
            .await
            .unwrap_err()
            .to_string();
        let decoded = client
            .call::<_, u32>(&context, "identity", "disable-user", &())
            .await
            .unwrap_err()
            .to_string();
        // Not even the secret's start, where the old cut-then-redact order kept it.
        for text in [cut, decoded] {
            assert!(!text.contains("s3cr") && text.contains("[red"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_slow_or_oversized_reply_fails_without_leaking_the_url() {
        let stub = serve(vec![(0, ""), (200, "x")]);
        let slow = client(&stub.url, 1024)
            .call::<_, serde_json::Value>(&cx(), "intel", "lookup", &())
            .await
            .unwrap_err()
            .to_string();
        assert!(!slow.contains("query-secret"), "{slow}");

        let big = serve(vec![(
            200,
            r#"{"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        )]);
        let error = client(&big.url, 16)
            .call::<_, serde_json::Value>(&cx(), "intel", "lookup", &())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("reply larger than"), "{error}");
    }

    /// The gate with a webhook receiver as the identity provider and the EDR: the names the
    /// receiver resolves to the protected CEO and domain controller are held, an ambiguous
    /// answer (409) is held for a person, and the receiver is asked for lookups only.
    #[tokio::test]
    async fn what_the_receiver_resolves_to_a_protected_record_is_held_and_never_acted_on() {
        use crate::ActionRequest;
        use crate::endpoint::{EndpointAction, webhook::WebhookEndpoint};
        use crate::identity::{IdentityAction, webhook::WebhookIdentity};
        use palisade_policy::Decision;
        let ceo = r#"{"id":"00u0ceo","name":"dortiz@example.com","aliases":["ceo@example.com"]}"#;
        let dc = r#"{"id":"d-0001","hostname":"srv-17","fqdn":"dc01.corp.example.com","ip_addresses":["10.0.0.10"]}"#;
        let stub = serve(vec![
            (200, ceo),
            (409, r#"{"error":"2 accounts are named shared"}"#),
            (200, dc),
        ]);
        let client = std::sync::Arc::new(client(&stub.url, 4096));
        let connectors = crate::CapabilitySet {
            identity: Some(std::sync::Arc::new(WebhookIdentity(client.clone()))),
            endpoint: Some(std::sync::Arc::new(WebhookEndpoint(client))),
            ..Default::default()
        };
        let revoke = |user: &str| ActionRequest::Identity {
            action: IdentityAction::RevokeSessions,
            user: user.into(),
            reason: "spray".into(),
            resolved: None,
        };
        let mut dortiz = revoke("dortiz");
        let held = crate::stub::gate_decision(connectors.clone(), &mut dortiz).await;
        assert!(
            matches!(&held, Decision::Hold(r) if r.contains("00u0ceo")),
            "{held:?}"
        );
        let mut shared = revoke("shared");
        let ambiguous = crate::stub::gate_decision(connectors.clone(), &mut shared).await;
        assert!(
            matches!(&ambiguous, Decision::Hold(r) if r.contains("2 accounts")),
            "{ambiguous:?}"
        );
        let mut srv = ActionRequest::Endpoint {
            action: EndpointAction::IsolateHost,
            hostname: "10.0.0.10".into(),
            reason: "malware".into(),
            resolved: None,
        };
        let dc = crate::stub::gate_decision(connectors.clone(), &mut srv).await;
        assert!(matches!(&dc, Decision::Hold(r) if r.contains("d-0001")), "{dc:?}");
        // A control character never reaches the receiver.
        let mut hidden = revoke("ce\u{0}o");
        let refused = crate::stub::gate_decision(connectors, &mut hidden).await;
        assert!(matches!(refused, Decision::Refuse(_)), "{refused:?}");
        let operations: Vec<String> = stub
            .received
            .try_iter()
            .map(|(_, _, body)| body["operation"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(operations, ["lookup-user", "lookup-user", "lookup-host"]);
    }
}
