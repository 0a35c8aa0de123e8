//! The generic webhook backend: POSTs an [`Envelope`] as JSON to the configured URL and
//! decodes the reply into the operation's typed result.
//!
//! Replies: 2xx with a JSON body (an empty body stands for `{}`); 404 means not found; 400 and
//! 422 mean invalid input; anything else is a connector failure. An error body's `error` or
//! `message` field, when present, is carried into the error.

use super::{CallContext, ConnectorError, Envelope};
use crate::config::WebhookConfig;
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
}

impl WebhookClient {
    pub fn new(http: reqwest::Client, config: WebhookConfig) -> WebhookClient {
        WebhookClient { http, config }
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
            let detail = error_detail(&body);
            let message = format!(
                "webhook {capability}.{operation}: HTTP {}: {detail}",
                status.as_u16()
            );
            return Err(match status.as_u16() {
                404 => ConnectorError::NotFound(detail),
                400 | 422 => ConnectorError::InvalidInput(detail),
                _ => ConnectorError::Failed(message),
            });
        }
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &body
        };
        serde_json::from_slice(body).map_err(|error| {
            ConnectorError::Failed(format!(
                "webhook {capability}.{operation}: unexpected reply: {error}"
            ))
        })
    }
}

/// The vendor's explanation from an error body, bounded so a large page cannot flood a log.
fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        message: Option<String>,
    }
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(
            ErrorBody {
                error: Some(text), ..
            }
            | ErrorBody {
                message: Some(text), ..
            },
        ) => text,
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let text = text.trim();
    if text.is_empty() {
        return "no details".into();
    }
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_prefer_the_vendor_message_and_stay_short() {
        assert_eq!(error_detail(br#"{"error":"user is locked"}"#), "user is locked");
        assert_eq!(error_detail(br#"{"message":"rate limited"}"#), "rate limited");
        assert_eq!(error_detail(b"  "), "no details");
        assert!(error_detail(&[b'x'; 5000]).chars().count() <= 301);
    }
}
