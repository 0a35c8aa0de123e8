//! What every vendor backend needs from HTTP: a base URL from config, a credential the host
//! keeps, a timeout, retries with backoff on 429 and 5xx (honouring `Retry-After`) for the
//! requests that are safe to repeat, a cap on the reply, and errors that carry the vendor's
//! message and never a secret or a URL.

use super::ConnectorError;
use super::oauth::ClientCredentials;
use super::redact::Redactor;
use backon::BackoffBuilder;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// The settings every vendor connector shares (`url`, `timeout_ms`, `retries`,
/// `max_response_kib` in `palisade.toml`).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: Url,
    pub timeout: Duration,
    /// Attempts after the first, for requests that are safe to repeat.
    pub retries: u32,
    pub max_response_bytes: usize,
    /// The first backoff delay; later ones grow exponentially, with jitter.
    pub backoff: Duration,
}

impl HttpSettings {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_RETRIES: u32 = 3;
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 << 20;

    pub fn new(base_url: Url) -> HttpSettings {
        HttpSettings {
            base_url,
            timeout: Self::DEFAULT_TIMEOUT,
            retries: Self::DEFAULT_RETRIES,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            backoff: Duration::from_millis(250),
        }
    }
}

/// The longest a vendor's `Retry-After` is waited out; past it, the call fails as rate
/// limited rather than stalling the alert.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How a request proves who the host is to the vendor.
#[derive(Clone)]
pub enum Auth {
    None,
    /// A header carrying a secret, optionally after a scheme (`Authorization: SSWS <token>`).
    Header {
        name: HeaderName,
        scheme: Option<&'static str>,
        secret: SecretString,
    },
    /// HTTP basic authentication.
    Basic {
        user: String,
        password: SecretString,
    },
    /// An OAuth2 bearer token fetched with client credentials and refreshed before it expires.
    OAuth(Arc<ClientCredentials>),
}

impl Auth {
    pub fn bearer(secret: SecretString) -> Auth {
        Auth::Header {
            name: reqwest::header::AUTHORIZATION,
            scheme: Some("Bearer"),
            secret,
        }
    }
}

/// Whether a failed request may be sent again. A destructive operation that is not
/// idempotent is sent once: a retry after a lost reply could act twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Safe,
    Never,
    /// Repeated only after a 429: the vendor refused it unread, so a retry cannot act twice,
    /// while a 5xx or a lost reply may come after the vendor acted (a message posted).
    RateLimitedOnly,
}

pub enum Body {
    Empty,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

/// One request to a vendor, relative to the connector's base URL.
pub struct Request {
    method: Method,
    /// Path segments, each percent-encoded on its own so a user name cannot change the path.
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Body,
    retry: Retry,
}

impl Request {
    /// `path` is split on `/`; use [`Request::segment`] for values that come from an alert.
    pub fn new(method: Method, path: &str) -> Request {
        let retry = if matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE) {
            Retry::Safe
        } else {
            Retry::Never
        };
        Request {
            method,
            segments: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            retry,
        }
    }

    pub fn get(path: &str) -> Request {
        Request::new(Method::GET, path)
    }

    pub fn post(path: &str) -> Request {
        Request::new(Method::POST, path)
    }

    /// One path segment taken as data: `/` and `?` in it are encoded, never interpreted.
    pub fn segment(mut self, value: impl Into<String>) -> Request {
        self.segments.push(value.into());
        self
    }

    /// More path after a [`Request::segment`].
    pub fn path(mut self, path: &str) -> Request {
        self.segments
            .extend(path.split('/').filter(|s| !s.is_empty()).map(str::to_owned));
        self
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Request {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: &'static str) -> Request {
        self.headers
            .push((HeaderName::from_static(name), HeaderValue::from_static(value)));
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Request {
        self.body = Body::Json(serde_json::to_value(body).unwrap_or(serde_json::Value::Null));
        self
    }

    pub fn form(mut self, fields: Vec<(String, String)>) -> Request {
        self.body = Body::Form(fields);
        self
    }

    /// Marks a POST as safe to repeat (a search, a lookup, an idempotent vendor action).
    pub fn idempotent(mut self) -> Request {
        self.retry = Retry::Safe;
        self
    }

    /// Marks a request as never repeated, whatever its method.
    pub fn once(mut self) -> Request {
        self.retry = Retry::Never;
        self
    }

    /// Marks a request that creates something as repeated only when the vendor answers 429
    /// (it was refused, not acted on); never after a 5xx, a timeout or a lost reply.
    pub fn once_unless_rate_limited(mut self) -> Request {
        self.retry = Retry::RateLimitedOnly;
        self
    }
}

/// A vendor's successful reply.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    /// A query parameter of the `Link: <...>; rel="next"` header (RFC 8288), for cursor paging.
    /// Only the cursor is taken: the next request still goes to the configured base URL, never
    /// to a host the reply names.
    pub fn next_page_cursor(&self, parameter: &str) -> Option<String> {
        self.headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .find(|link| link.contains("rel=\"next\""))
            .and_then(|link| {
                let target = link
                    .split(';')
                    .next()?
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>');
                let url = Url::parse(target).ok()?;
                url.query_pairs()
                    .find(|(name, _)| name == parameter)
                    .map(|(_, value)| value.into_owned())
            })
    }

    /// Decodes the body, naming the vendor and operation when it is not what the API documents.
    /// The error may quote the body: a backend decodes with [`VendorClient::decode`], which
    /// redacts it.
    pub fn json<T: DeserializeOwned>(&self, vendor: &str, what: &str) -> Result<T, ConnectorError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            ConnectorError::Failed(format!(
                "{vendor} {what}: unexpected reply at {}: {}",
                error.path(),
                error.inner()
            ))
        })
    }
}

/// Reads the vendor's explanation out of an error body, where its API documents one.
pub type ErrorMessage = fn(&[u8]) -> Option<String>;

/// Told of every vendor request once it is answered or given up (its vendor, how it ended,
/// how long it took with its retries): how a service counts them for its metrics.
pub type Observer = dyn Fn(&'static str, Result<(), &ConnectorError>, std::time::Duration) + Send + Sync;

static OBSERVER: std::sync::OnceLock<Box<Observer>> = std::sync::OnceLock::new();

/// Installs the process's observer of vendor requests; false when one is installed already.
pub fn observe(observer: Box<Observer>) -> bool {
    OBSERVER.set(observer).is_ok()
}

/// A client for one vendor connector.
pub struct VendorClient {
    http: reqwest::Client,
    settings: HttpSettings,
    auth: Auth,
    vendor: &'static str,
    error_message: ErrorMessage,
    redactor: Redactor,
}

impl VendorClient {
    pub fn new(
        http: reqwest::Client,
        settings: HttpSettings,
        auth: Auth,
        vendor: &'static str,
        error_message: ErrorMessage,
    ) -> VendorClient {
        let redactor = Redactor::new(&auth, &settings.base_url);
        VendorClient {
            http,
            settings,
            auth,
            vendor,
            error_message,
            redactor,
        }
    }

    /// Marks the base URL as a credential (an incoming webhook's URL embeds its token): its
    /// path and query are then kept out of errors like the client's other secrets.
    pub fn url_is_secret(mut self) -> VendorClient {
        self.redactor.add_url(&self.settings.base_url);
        self
    }

    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    /// `text` with every credential this client sends replaced, in each form a vendor may
    /// echo it. Every text taken from a reply goes through this before it reaches an error.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// `{vendor} {what}: {detail}` for an error built from what the vendor said, where the
    /// HTTP status did not already make one (a refusal in a 2xx body): the detail redacted
    /// whole, then cut to a log line's length.
    pub fn message(&self, what: &str, detail: &str) -> String {
        format!("{} {what}: {}", self.vendor, bounded(&self.redact(detail)))
    }

    /// The error with every credential this client sends replaced in its message: for an
    /// error whose text quotes a reply's values (a record's name or id).
    pub fn redact_error(&self, error: ConnectorError) -> ConnectorError {
        error.map_message(|message| self.redact(&message))
    }

    /// Decodes a reply, redacting the error (a decoding error may quote the body).
    pub fn decode<T: DeserializeOwned>(&self, reply: &Reply, what: &str) -> Result<T, ConnectorError> {
        reply
            .json(self.vendor, what)
            .map_err(|error| self.redact_error(error))
    }

    /// [`resolve::exactly_one`](crate::resolve::exactly_one) among the records of a reply,
    /// whose descriptions of the candidates are redacted.
    pub fn exactly_one<T>(
        &self,
        what: &str,
        wanted: &str,
        candidates: Vec<T>,
        describe: impl Fn(&T) -> String,
    ) -> Result<T, ConnectorError> {
        crate::resolve::exactly_one(self.vendor, what, wanted, candidates, describe)
            .map_err(|error| self.redact_error(error))
    }

    /// Sends a request, retrying where it is safe, and returns a 2xx reply or a typed error.
    /// `what` names the operation in errors (`suspend user`).
    pub async fn send(&self, request: &Request, what: &str) -> Result<Reply, ConnectorError> {
        let started = std::time::Instant::now();
        let result = self.send_retrying(request, what).await;
        if let Some(observer) = OBSERVER.get() {
            observer(self.vendor, result.as_ref().map(|_| ()), started.elapsed());
        }
        result
    }

    async fn send_retrying(&self, request: &Request, what: &str) -> Result<Reply, ConnectorError> {
        // The URL parser drops a `.` or `..` segment and an empty one adds a `/`: either way
        // a value from an alert would name another resource (`users/..` is `users`).
        if request
            .segments
            .iter()
            .any(|segment| matches!(segment.as_str(), "" | "." | ".."))
        {
            return Err(ConnectorError::InvalidInput(format!(
                "{} {what}: a path segment cannot be empty, `.` or `..`",
                self.vendor
            )));
        }
        let mut delays = backon::ExponentialBuilder::new()
            .with_min_delay(self.settings.backoff)
            .with_max_delay(MAX_BACKOFF)
            .with_max_times(match request.retry {
                Retry::Safe | Retry::RateLimitedOnly => self.settings.retries as usize,
                Retry::Never => 0,
            })
            .with_jitter()
            .build();
        let mut reauthorized = false;
        loop {
            let (error, retry_after) = match self.attempt(request, what).await? {
                Attempt::Done(reply) => return Ok(reply),
                // The vendor refused the token before acting, so even a request that is
                // never repeated may go once more, with a fresh token.
                Attempt::Reauthorize(_) if !reauthorized => {
                    reauthorized = true;
                    continue;
                }
                Attempt::Reauthorize(error) => return Err(error),
                Attempt::Retryable { error, retry_after } => (error, retry_after),
            };
            if request.retry == Retry::RateLimitedOnly && !matches!(error, ConnectorError::RateLimited(_)) {
                return Err(error);
            }
            let Some(backoff) = delays.next() else {
                return Err(error);
            };
            let delay = match retry_after {
                Some(wait) if wait > MAX_RETRY_AFTER => return Err(error),
                Some(wait) => wait.max(self.settings.backoff),
                None => backoff,
            };
            tracing::debug!(vendor = self.vendor, what, ?delay, %error, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends and decodes a JSON reply.
    pub async fn json<T: DeserializeOwned>(
        &self,
        request: &Request,
        what: &str,
    ) -> Result<T, ConnectorError> {
        self.decode(&self.send(request, what).await?, what)
    }

    async fn attempt(&self, request: &Request, what: &str) -> Result<Attempt, ConnectorError> {
        let url = self.url(request);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .timeout(self.settings.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(value),
            Body::Form(fields) => builder.form(fields),
        };
        builder = self.authorize(builder, what).await?;

        let transport = |error: reqwest::Error| {
            // `without_url`: a base URL may carry a key in its query.
            let error = error.without_url();
            let message = format!("{} {what}: {}", self.vendor, describe_transport(&error));
            (error, ConnectorError::Failed(message))
        };
        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(error) => {
                let (error, failure) = transport(error);
                // Connection failures and timeouts are worth another try; a request that
                // could not even be built is not.
                return if error.is_connect() || error.is_timeout() {
                    Ok(Attempt::Retryable {
                        error: failure,
                        retry_after: None,
                    })
                } else {
                    Err(failure)
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let retry_after = retry_after(&headers, status);
        let mut body = bytes::BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.settings.max_response_bytes {
                        return Err(ConnectorError::Failed(format!(
                            "{} {what}: reply larger than {} KiB",
                            self.vendor,
                            self.settings.max_response_bytes >> 10
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    let (_, failure) = transport(error);
                    return Ok(Attempt::Retryable {
                        error: failure,
                        retry_after: None,
                    });
                }
            }
        }
        let body = body.freeze();
        if status.is_success() {
            return Ok(Attempt::Done(Reply {
                status,
                headers,
                body,
            }));
        }
        let error = self.status_error(status, &body, what);
        if let Auth::OAuth(credentials) = &self.auth
            && status == StatusCode::UNAUTHORIZED
        {
            // A token revoked or expired early: the next attempt fetches a new one.
            credentials.forget().await;
            return Ok(Attempt::Reauthorize(error));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Ok(Attempt::Retryable { error, retry_after })
        } else {
            Err(error)
        }
    }

    fn url(&self, request: &Request) -> Url {
        let mut url = self.settings.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(&request.segments);
        }
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        url
    }

    async fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::RequestBuilder, ConnectorError> {
        let (name, value) = match &self.auth {
            Auth::None => return Ok(builder),
            Auth::Basic { user, password } => {
                return Ok(builder.basic_auth(user, Some(password.expose_secret())));
            }
            Auth::Header { name, scheme, secret } => (
                name.clone(),
                match scheme {
                    Some(scheme) => format!("{scheme} {}", secret.expose_secret()),
                    None => secret.expose_secret().to_owned(),
                },
            ),
            Auth::OAuth(credentials) => {
                let token = credentials.token(&self.http, self.vendor).await?;
                (
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {}", token.expose_secret()),
                )
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            ConnectorError::Failed(format!(
                "{} {what}: the credential is not a valid header value",
                self.vendor
            ))
        })?;
        value.set_sensitive(true);
        Ok(builder.header(name, value))
    }

    /// Maps a vendor's error status to the error a plugin and an analyst can act on.
    fn status_error(&self, status: StatusCode, body: &[u8], what: &str) -> ConnectorError {
        let detail = (self.error_message)(body).unwrap_or_else(|| reply_text(body));
        // A vendor, or a proxy in front of it, may echo the request's credentials back:
        // redacted whole before the cut, which could otherwise split one and keep its start.
        let detail = bounded(&self.redact(&detail));
        let vendor = self.vendor;
        let code = status.as_u16();
        match status {
            StatusCode::NOT_FOUND => ConnectorError::NotFound(format!("{vendor} {what}: {detail}")),
            StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                ConnectorError::InvalidInput(format!("{vendor} {what}: {detail}"))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
                "{vendor} {what}: HTTP {code}: {detail} (check the connector's credentials and their permissions)"
            )),
            StatusCode::TOO_MANY_REQUESTS => {
                ConnectorError::RateLimited(format!("{vendor} {what}: HTTP 429: {detail}"))
            }
            _ => ConnectorError::Failed(format!("{vendor} {what}: HTTP {code}: {detail}")),
        }
    }
}

enum Attempt {
    Done(Reply),
    Reauthorize(ConnectorError),
    Retryable {
        error: ConnectorError,
        retry_after: Option<Duration>,
    },
}

/// Vendors' own rate-limit headers: the epoch second at which requests are taken again
/// (Okta's `X-Rate-Limit-Reset`, CrowdStrike's `X-Ratelimit-Retryafter`), or the seconds
/// left in the window (MISP sends the same `X-Rate-Limit-Reset` name so). No epoch second
/// since 2001 is below [`EPOCH_FLOOR`], and no window above it.
const RATE_LIMIT_RESETS: [&str; 2] = ["x-rate-limit-reset", "x-ratelimit-retryafter"];

/// How long the vendor asks to wait: `Retry-After` (seconds or an HTTP date), else, on a 429,
/// a vendor's own reset time (Okta sends its reset on every reply, where it means nothing
/// about a 5xx).
fn retry_after(headers: &reqwest::header::HeaderMap, status: StatusCode) -> Option<Duration> {
    let until = |when: std::time::SystemTime| {
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
    };
    if let Some(value) = headers.get(reqwest::header::RETRY_AFTER) {
        let value = value.to_str().ok()?.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        return httpdate::parse_http_date(value).ok().map(until);
    }
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    RATE_LIMIT_RESETS.iter().find_map(|name| {
        let value: u64 = headers.get(*name)?.to_str().ok()?.trim().parse().ok()?;
        Some(if value < EPOCH_FLOOR {
            Duration::from_secs(value)
        } else {
            until(std::time::UNIX_EPOCH + Duration::from_secs(value))
        })
    })
}

const EPOCH_FLOOR: u64 = 1_000_000_000;

fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// A body with no documented message as an error's text, trimmed; not yet cut (see
/// [`bounded`]), so that it is redacted whole.
pub(crate) fn reply_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "no details".into()
    } else {
        text.to_owned()
    }
}

/// An error text cut to its start, so a proxy's HTML page cannot flood a log line. Cut only
/// after redaction: a credential across the cut would keep its start.
pub(crate) fn bounded(text: &str) -> String {
    const LIMIT: usize = 300;
    let mut short: String = text.chars().take(LIMIT).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};

    fn message(body: &[u8]) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("message")?
            .as_str()
            .map(str::to_owned)
    }

    fn client(stub: &Stub, auth: Auth) -> VendorClient {
        let mut settings = HttpSettings::new(stub.url("/api?key=in-the-url"));
        settings.timeout = Duration::from_millis(500);
        settings.backoff = Duration::from_millis(5);
        VendorClient::new(
            crate::webhook::http_client().unwrap(),
            settings,
            auth,
            "acme",
            message,
        )
    }

    fn token() -> Auth {
        Auth::bearer(SecretString::from("s3cr3t"))
    }

    #[tokio::test]
    async fn credentials_a_vendor_echoes_back_in_an_error_are_redacted() {
        let stub = Stub::start(vec![
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(
                400,
                r#"{"message":"bad request; headers were: Authorization: Bearer s3cr3t"}"#,
            ),
            // Basic credentials, as sent (base64 of user:password) and as they are.
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(
                403,
                r#"{"message":"denied Basic cGFsaXNhZGU6aHVudGVyMg== (user palisade, password hunter2)"}"#,
            ),
        ]);
        let echoed = client(&stub, token())
            .send(&Request::get("x"), "read x")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            !echoed.contains("s3cr3t") && echoed.contains("[redacted]"),
            "{echoed}"
        );
        let basic = Auth::Basic {
            user: "palisade".into(),
            password: SecretString::from("hunter2"),
        };
        let echoed = client(&stub, basic)
            .send(&Request::get("x"), "read x")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            !echoed.contains("hunter2") && !echoed.contains("cGFsaXNhZGU6aHVudGVyMg=="),
            "{echoed}"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_credential_across_the_cut_or_in_a_decoding_error_is_redacted() {
        let stub = Stub::start(vec![
            // The token starts 3 characters before the 300-character cut.
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(
                404,
                &format!(r#"{{"message":"{}Bearer s3cr3t"}}"#, "x".repeat(290)),
            ),
            // Not what the API documents: serde's message quotes the value.
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(200, r#"{"count":"s3cr3t in-the-url"}"#),
        ]);
        #[derive(Debug, serde::Deserialize)]
        struct Counted {
            #[allow(dead_code)]
            count: u32,
        }
        let client = client(&stub, token());
        let cut = client.send(&Request::get("x"), "read x").await.unwrap_err();
        assert_eq!(
            cut,
            ConnectorError::NotFound(format!("acme read x: {}Bearer [re…", "x".repeat(290)))
        );
        let decoded = client
            .json::<Counted>(&Request::get("x"), "read x")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            decoded.contains("\"[redacted] [redacted]\"") && !decoded.contains("s3cr"),
            "{decoded}"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_secret_url_is_kept_out_of_errors() {
        let hook = "/services/T0/B0/Xc4vB6nM8aS0dF2gH4jKzz";
        let stub = Stub::start(vec![
            Exchange::expect("POST", hook).reply(400, &format!("invalid_payload at POST {hook}")),
            Exchange::expect("POST", hook).reply(403, "invalid_token Xc4vB6nM8aS0dF2gH4jKzz"),
        ]);
        let client = stub.webhook_client(hook, "slack", |_| None);
        for _ in 0..2 {
            let text = client
                .send(&Request::post(""), "post message")
                .await
                .unwrap_err()
                .to_string();
            assert!(
                text.contains("[redacted]") && !text.contains("Xc4vB6") && !text.contains("/B0/"),
                "{text}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn segments_from_alerts_are_encoded_and_the_credential_sent() {
        let stub = Stub::start(vec![
            Exchange::expect(
                "GET",
                "/api/users/a%2F..%2Fadmin%3Fx/groups?key=in-the-url&limit=5",
            )
            .header("authorization", "Bearer s3cr3t")
            .reply(200, r#"{"ok":true}"#),
        ]);
        let reply: serde_json::Value = client(&stub, token())
            .json(
                &Request::get("users")
                    .segment("a/../admin?x")
                    .path("groups")
                    .query("limit", "5"),
                "list groups",
            )
            .await
            .unwrap();
        assert_eq!(reply["ok"], true);
        stub.finish();
    }

    #[tokio::test]
    async fn a_segment_that_would_name_another_resource_is_refused() {
        let stub = Stub::start(vec![]);
        let client = client(&stub, token());
        for value in ["", ".", ".."] {
            let error = client
                .send(&Request::get("users").segment(value), "get user")
                .await
                .unwrap_err();
            assert!(
                matches!(error, ConnectorError::InvalidInput(_)),
                "{value:?}: {error}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
        let stub = Stub::start(vec![
            Exchange::expect("GET", "/api/x?key=in-the-url")
                .reply(429, r#"{"message":"slow down"}"#)
                .reply_header("retry-after", "1"),
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(503, "busy"),
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(200, "{}"),
        ]);
        let started = std::time::Instant::now();
        client(&stub, token())
            .send(&Request::get("x"), "read x")
            .await
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn okta_and_falcon_rate_limit_resets_are_waited_out_on_a_429_only() {
        let in_seconds = |seconds| {
            (std::time::SystemTime::now() + Duration::from_secs(seconds))
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                .to_string()
        };
        // Each later than the wait before it ends.
        let (in_two_seconds, in_four_seconds) = (in_seconds(2), in_seconds(4));
        let stub = Stub::start(vec![
            Exchange::expect("GET", "/api/x?key=in-the-url")
                .reply(429, r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#)
                .reply_header("x-rate-limit-reset", &in_two_seconds),
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(200, "{}"),
            Exchange::expect("GET", "/api/x?key=in-the-url")
                .reply(429, r#"{"errors":[{"code":429,"message":"API rate limit exceeded."}]}"#)
                .reply_header("x-ratelimit-retryafter", &in_four_seconds),
            Exchange::expect("GET", "/api/x?key=in-the-url").reply(200, "{}"),
        ]);
        let client = client(&stub, token());
        for _ in 0..2 {
            let started = std::time::Instant::now();
            client.send(&Request::get("x"), "read x").await.unwrap();
            assert!(
                started.elapsed() >= Duration::from_millis(900),
                "the vendor's reset time was not honoured"
            );
        }
        stub.finish();
        // On a 5xx the reset says nothing about when to retry.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-rate-limit-reset", in_two_seconds.parse().unwrap());
        assert_eq!(retry_after(&headers, StatusCode::SERVICE_UNAVAILABLE), None);
    }

    #[tokio::test]
    async fn a_destructive_post_is_never_retried() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/api/suspend?key=in-the-url")
                .json(serde_json::json!({"user": "alice"}))
                .reply(503, r#"{"message":"try later"}"#),
        ]);
        let error = client(&stub, token())
            .send(
                &Request::post("suspend").json(&serde_json::json!({"user": "alice"})),
                "suspend",
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Failed("acme suspend: HTTP 503: try later".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_create_is_repeated_after_a_429_but_not_after_a_5xx() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/api/messages?key=in-the-url")
                .reply(429, r#"{"message":"slow down"}"#)
                .reply_header("retry-after", "0"),
            Exchange::expect("POST", "/api/messages?key=in-the-url").reply(502, "bad gateway"),
        ]);
        let error = client(&stub, token())
            .send(
                &Request::post("messages").once_unless_rate_limited(),
                "post message",
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Failed("acme post message: HTTP 502: bad gateway".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit_with_the_vendor_message() {
        let stub = Stub::start(
            (0..4)
                .map(|_| {
                    Exchange::expect("GET", "/api/x?key=in-the-url").reply(429, r#"{"message":"quota"}"#)
                })
                .collect(),
        );
        let error = client(&stub, token())
            .send(&Request::get("x"), "read x")
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::RateLimited("acme read x: HTTP 429: quota".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn errors_are_typed_and_carry_no_secret_or_url() {
        let stub = Stub::start(vec![
            Exchange::expect("GET", "/api/a?key=in-the-url").reply(404, r#"{"message":"no such user"}"#),
            Exchange::expect("GET", "/api/a?key=in-the-url").reply(400, "<html>bad</html>"),
            Exchange::expect("GET", "/api/a?key=in-the-url").reply(401, r#"{"message":"bad token"}"#),
        ]);
        let client = client(&stub, token());
        let request = Request::get("a");
        assert_eq!(
            client.send(&request, "read a").await.unwrap_err(),
            ConnectorError::NotFound("acme read a: no such user".into())
        );
        assert_eq!(
            client.send(&request, "read a").await.unwrap_err(),
            ConnectorError::InvalidInput("acme read a: <html>bad</html>".into())
        );
        let unauthorized = client.send(&request, "read a").await.unwrap_err();
        assert!(
            matches!(unauthorized, ConnectorError::Unauthorized(_)),
            "{unauthorized}"
        );
        stub.finish();

        let gone = client.send(&request, "read a").await.unwrap_err().to_string();
        assert!(!gone.contains("s3cr3t") && !gone.contains("in-the-url"), "{gone}");
    }

    #[tokio::test]
    async fn an_oversized_reply_is_refused() {
        let stub = Stub::start(vec![
            Exchange::expect("GET", "/api/big?key=in-the-url").reply(200, &"x".repeat(4096)),
        ]);
        let mut client = client(&stub, Auth::None);
        client.settings.max_response_bytes = 1024;
        let error = client.send(&Request::get("big"), "read").await.unwrap_err();
        assert!(error.to_string().contains("larger than 1 KiB"), "{error}");
    }
}
