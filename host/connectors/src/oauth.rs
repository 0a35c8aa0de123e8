//! OAuth2 client credentials (RFC 6749 §4.4), as CrowdStrike and Microsoft identity platform
//! use them: the host trades its client secret for a short-lived bearer token, keeps it until
//! shortly before it expires, and fetches a new one when the vendor rejects it.

use super::ConnectorError;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Tokens are renewed this long before the vendor says they expire, so a request never
/// carries one that lapses in flight.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
/// A token reply is a few kilobytes; anything much larger is not one, and is not read.
const MAX_TOKEN_REPLY_BYTES: usize = 64 * 1024;
/// A busy or unreachable token endpoint is asked again this many times: getting a token
/// changes nothing at the vendor, so a repeat is safe.
const TOKEN_RETRIES: u32 = 2;
/// The wait before the first repeat, doubled each time; a longer `Retry-After` up to
/// [`MAX_TOKEN_WAIT`] is honoured.
const TOKEN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_TOKEN_WAIT: Duration = Duration::from_secs(10);

pub struct ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    /// Fields the vendor wants besides the client's id and secret (`grant_type`, `scope`).
    extra: Vec<(&'static str, String)>,
    current: Mutex<Option<Token>>,
    /// The tokens granted last, newest first, for redaction: kept apart from `current`, whose
    /// lock is held for the whole of a fetch, and past a renewal, as a request sent with the
    /// previous token may be answered after it.
    granted: std::sync::Mutex<Vec<SecretString>>,
}

/// How many granted tokens redaction remembers: the current one and those a request still
/// in flight may carry.
const REMEMBERED_TOKENS: usize = 3;

struct Token {
    value: SecretString,
    renew_at: Instant,
}

impl ClientCredentials {
    pub fn new(
        token_url: Url,
        client_id: String,
        client_secret: SecretString,
        extra: Vec<(&'static str, String)>,
    ) -> ClientCredentials {
        ClientCredentials {
            token_url,
            client_id,
            client_secret,
            extra,
            current: Mutex::new(None),
            granted: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// An app registered in Microsoft Entra ID (the identity platform's v2.0 endpoint), as
    /// Microsoft Graph and Defender for Endpoint take it: `token_url` defaults to the tenant's
    /// `https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token` (overridden for
    /// national clouds and tests); `scope` is the API's `.default` scope.
    pub fn microsoft(
        tenant_id: &str,
        token_url: Option<&str>,
        client_id: &str,
        client_secret: SecretString,
        scope: &str,
    ) -> anyhow::Result<ClientCredentials> {
        let url = match token_url {
            Some(url) => url.to_owned(),
            None => {
                // The tenant goes into the token URL's path: a GUID or a domain name, nothing
                // that could change which URL it is.
                let plain = !tenant_id.is_empty()
                    && tenant_id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                anyhow::ensure!(
                    plain,
                    "tenant_id {tenant_id:?} is not a tenant id (a GUID) or a domain name"
                );
                format!("https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token")
            }
        };
        let token_url = Url::parse(&url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| anyhow::anyhow!("token_url {url:?} is not an http or https URL"))?;
        anyhow::ensure!(!client_id.trim().is_empty(), "client_id is empty");
        Ok(ClientCredentials::new(
            token_url,
            client_id.to_owned(),
            client_secret,
            vec![
                ("grant_type", "client_credentials".into()),
                ("scope", scope.to_owned()),
            ],
        ))
    }

    /// A valid token, fetched once for all concurrent callers when the held one is due.
    pub async fn token(&self, http: &reqwest::Client, vendor: &str) -> Result<SecretString, ConnectorError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let token = self.fetch(http, vendor).await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }

    /// The client secret and the tokens granted last, for redacting vendor text that echoes
    /// them.
    pub fn secrets(&self) -> Vec<SecretString> {
        let granted = self.granted.lock().unwrap_or_else(|e| e.into_inner());
        std::iter::once(self.client_secret.clone())
            .chain(granted.iter().cloned())
            .collect()
    }

    fn remember(&self, token: &SecretString) {
        let mut granted = self.granted.lock().unwrap_or_else(|e| e.into_inner());
        granted.insert(0, token.clone());
        granted.truncate(REMEMBERED_TOKENS);
    }

    /// Drops the held token, after the vendor refused it.
    pub async fn forget(&self) {
        *self.current.lock().await = None;
    }

    async fn fetch(&self, http: &reqwest::Client, vendor: &str) -> Result<Token, ConnectorError> {
        #[derive(serde::Deserialize)]
        struct Granted {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        #[derive(serde::Deserialize)]
        struct Refused {
            error: Option<String>,
            error_description: Option<String>,
            /// CrowdStrike's envelope.
            #[serde(default)]
            errors: Vec<serde_json::Value>,
        }

        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", &self.client_id),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        form.extend(self.extra.iter().map(|(name, value)| (*name, value.as_str())));
        let failed = |detail: String| ConnectorError::Unauthorized(format!("{vendor} token: {detail}"));
        let transport = |error: reqwest::Error| {
            ConnectorError::Failed(format!("{vendor} token: {}", error.without_url()))
        };
        let mut attempt = 0;
        let (status, body) = loop {
            let sent = http
                .post(self.token_url.clone())
                .timeout(TOKEN_TIMEOUT)
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&form)
                .send()
                .await;
            let mut wait = TOKEN_BACKOFF * 2u32.pow(attempt);
            let retryable = match &sent {
                Err(error) => !error.is_builder(),
                Ok(response) => {
                    let status = response.status();
                    if let Some(asked) = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                    {
                        wait = wait.max(Duration::from_secs(asked));
                    }
                    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
                }
            };
            if retryable && attempt < TOKEN_RETRIES && wait <= MAX_TOKEN_WAIT {
                attempt += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            let mut response = sent.map_err(transport)?;
            let status = response.status();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                if body.len() + chunk.len() > MAX_TOKEN_REPLY_BYTES {
                    return Err(ConnectorError::Failed(format!(
                        "{vendor} token: reply larger than {MAX_TOKEN_REPLY_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            break (status, body);
        };
        if !status.is_success() {
            let detail = serde_json::from_slice::<Refused>(&body)
                .ok()
                .and_then(|refused| {
                    refused.error_description.or(refused.error).or_else(|| {
                        refused
                            .errors
                            .first()
                            .and_then(|e| e["message"].as_str().map(str::to_owned))
                    })
                })
                .unwrap_or_else(|| "no details".into());
            // Token endpoints quote the request when they refuse it (`$BODY$`: the form with
            // the client secret): redacted whole, then cut, so no start of it survives.
            let secrets = self.secrets();
            let detail = crate::redact::redact(&detail, secrets.iter().map(|s| s.expose_secret()));
            let detail = crate::http::bounded(&detail);
            return Err(failed(format!("HTTP {}: {detail}", status.as_u16())));
        }
        let granted: Granted = serde_json::from_slice(&body)
            .map_err(|_| failed("the token endpoint's reply has no access_token".into()))?;
        let lifetime = Duration::from_secs(granted.expires_in.unwrap_or(300));
        let value = SecretString::from(granted.access_token);
        self.remember(&value);
        Ok(Token {
            value,
            renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Auth, HttpSettings, Request, VendorClient};
    use crate::stub::{Exchange, Stub};
    use std::sync::Arc;

    fn token_request() -> Exchange {
        Exchange::expect("POST", "/oauth2/token")
            .form("client_id", "app-id")
            .form("client_secret", "app-secret")
            .form("grant_type", "client_credentials")
    }

    #[tokio::test]
    async fn a_token_is_fetched_once_reused_and_renewed_when_the_vendor_refuses_it() {
        let stub = Stub::start(vec![
            token_request().reply(
                200,
                r#"{"access_token":"tok-1","token_type":"bearer","expires_in":1799}"#,
            ),
            Exchange::expect("GET", "/devices")
                .header("authorization", "Bearer tok-1")
                .reply(200, "{}"),
            Exchange::expect("POST", "/devices")
                .header("authorization", "Bearer tok-1")
                .reply(401, "{}"),
            token_request().reply(200, r#"{"access_token":"tok-2","expires_in":1799}"#),
            Exchange::expect("POST", "/devices")
                .header("authorization", "Bearer tok-2")
                .reply(200, "{}"),
        ]);
        let credentials = Arc::new(ClientCredentials::new(
            stub.url("/oauth2/token"),
            "app-id".into(),
            SecretString::from("app-secret"),
            vec![("grant_type", "client_credentials".into())],
        ));
        let mut settings = HttpSettings::new(stub.url("/"));
        settings.backoff = Duration::from_millis(5);
        let client = VendorClient::new(
            crate::webhook::http_client().unwrap(),
            settings,
            Auth::OAuth(credentials),
            "falcon",
            |_| None,
        );
        client.send(&Request::get("devices"), "query").await.unwrap();
        // Refused once: the client fetches a new token and sends the request again.
        client
            .send(&Request::post("devices").once(), "query")
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn a_refused_client_secret_is_reported_without_the_secret() {
        let stub = Stub::start(vec![token_request().reply(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
        )]);
        let credentials = ClientCredentials::new(
            stub.url("/oauth2/token"),
            "app-id".into(),
            SecretString::from("app-secret"),
            vec![("grant_type", "client_credentials".into())],
        );
        let error = credentials
            .token(&crate::webhook::http_client().unwrap(), "entra")
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Unauthorized(
                "entra token: HTTP 401: AADSTS7000215: Invalid client secret provided.".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_refusal_that_quotes_the_request_carries_neither_the_secret_nor_a_token() {
        // An Entra-style secret, whose `~`, `+` and `/` the form body escapes.
        const SECRET: &str = "Xy8Q~abc+def/ghij.kl_mn";
        const FORM: &str =
            "client_id=app-id&client_secret=Xy8Q%7Eabc%2Bdef%2Fghij.kl_mn&grant_type=client_credentials";
        let request = || {
            Exchange::expect("POST", "/oauth2/token")
                .form("client_id", "app-id")
                .form("client_secret", SECRET)
        };
        let refused = |description: &str| {
            serde_json::json!({"error": "invalid_client", "error_description": description}).to_string()
        };
        let stub = Stub::start(vec![
            request().reply(401, &refused(&format!("Invalid client secret in {FORM}"))),
            // The secret starts 4 characters before the 300-character cut.
            request().reply(401, &refused(&format!("{}{SECRET}", "x".repeat(296)))),
            // A token granted, which the next refusal echoes (expiring at once, it is renewed).
            request().reply(200, r#"{"access_token":"tok-granted-0123456789","expires_in":1}"#),
            request().reply(400, &refused("token tok-granted-0123456789 is already in use")),
        ]);
        let credentials = ClientCredentials::new(
            stub.url("/oauth2/token"),
            "app-id".into(),
            SecretString::from(SECRET),
            vec![("grant_type", "client_credentials".into())],
        );
        let http = crate::webhook::http_client().unwrap();
        let mut errors = Vec::new();
        for _ in 0..2 {
            errors.push(credentials.token(&http, "entra").await.unwrap_err());
        }
        credentials.token(&http, "entra").await.unwrap();
        errors.push(credentials.token(&http, "entra").await.unwrap_err());
        for error in &errors {
            let text = error.to_string();
            assert!(
                matches!(error, ConnectorError::Unauthorized(_))
                    && text.starts_with("entra token: HTTP 40")
                    && text.contains("[red")
                    && !text.contains("Xy8Q")
                    && !text.contains("tok-granted"),
                "{text}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_busy_token_endpoint_is_asked_again_and_an_oversized_reply_is_not_read() {
        let huge = format!(r#"{{"access_token":"{}"}}"#, "x".repeat(MAX_TOKEN_REPLY_BYTES));
        let stub = Stub::start(vec![
            token_request().reply(503, r#"{"error":"temporarily_unavailable"}"#),
            token_request()
                .reply(429, r#"{"error":"slow_down"}"#)
                .reply_header("retry-after", "0"),
            token_request().reply(200, r#"{"access_token":"tok-3","expires_in":1}"#),
            token_request().reply(200, &huge),
        ]);
        let credentials = ClientCredentials::new(
            stub.url("/oauth2/token"),
            "app-id".into(),
            SecretString::from("app-secret"),
            vec![("grant_type", "client_credentials".into())],
        );
        let http = crate::webhook::http_client().unwrap();
        let token = credentials.token(&http, "falcon").await.unwrap();
        assert_eq!(token.expose_secret(), "tok-3");
        // Its lifetime is shorter than the renewal margin: the next call fetches again.
        let error = credentials.token(&http, "falcon").await.unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Failed(m) if m.contains("larger than")),
            "{error}"
        );
        stub.finish();
    }
}
