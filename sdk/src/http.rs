//! Outbound HTTP (grant `http`), over `wasi:http`.
//!
//! ```no_run
//! use palisade_sdk::http::{self, HttpError, Request};
//!
//! # fn run() -> Result<(), HttpError> {
//! // A GET, the body read whole:
//! let page = http::get("https://rdap.example.net/ip/203.0.113.7")?.error_for_status()?;
//! let text = page.text();
//!
//! // A request with headers, a body and a timeout:
//! let reply = Request::post("https://intel.example.net/v1/lookup")
//!     .header("accept", "application/json")
//!     .body(r#"{"indicator": "203.0.113.7"}"#)
//!     .timeout(std::time::Duration::from_secs(2))
//!     .send()?;
//! if reply.status() == 404 { /* unknown */ }
//! # Ok(()) }
//! ```
//!
//! With the crate feature `json`, [`Request::json`] sends a serializable value and
//! [`Response::json`] parses the body.
//!
//! The admin grants `http` and lists, in `[plugins.NAME.http]`, the scheme, host and port the
//! plugin may reach. The host checks every request: one that is not allowed fails with
//! [`HttpError::Denied`], and so does one whose host resolves to a loopback, private or
//! link-local address the admin did not open. Redirects are followed (at most
//! [`Request::max_redirects`], 5 by default) as new requests, so each passes the same checks;
//! `authorization` and `cookie` headers are not carried to another origin. The host caps the
//! response size and the time to connect and between bytes; passing either is
//! [`HttpError::TooLarge`] or [`HttpError::Timeout`].
//!
//! `?` turns an [`HttpError`] into an [`ActionError`] in [`Action::handle`](crate::Action::handle).

use std::fmt;
use std::time::Duration;

use crate::ActionError;

/// The HTTP method of a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
    /// `OPTIONS`
    Options,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused the request: `http` is not granted, the URL's scheme, host and port
    /// are not on the allow list, or the host resolves to an address the plugin may not reach.
    Denied(String),
    /// The URL, a header or the method is malformed.
    InvalidRequest(String),
    /// Connecting, the first byte or the next bytes took longer than allowed.
    Timeout(String),
    /// The response body is larger than allowed.
    TooLarge(String),
    /// The server answered with this error status ([`Response::error_for_status`]).
    Status(u16),
    /// Anything else: name lookup, connection, TLS, protocol, a body that is not JSON.
    Failed(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "denied: {m}"),
            HttpError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            HttpError::Timeout(m) => write!(f, "timeout: {m}"),
            HttpError::TooLarge(m) => write!(f, "too large: {m}"),
            HttpError::Status(status) => write!(f, "status {status}"),
            HttpError::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for ActionError {
    fn from(error: HttpError) -> ActionError {
        let message = format!("http: {error}");
        match error {
            HttpError::Denied(_) => ActionError::Denied(message),
            HttpError::InvalidRequest(_) => ActionError::InvalidInput(message),
            HttpError::TooLarge(_) => ActionError::LimitExceeded(message),
            HttpError::Status(404) => ActionError::NotFound(message),
            HttpError::Timeout(_) | HttpError::Status(_) | HttpError::Failed(_) => {
                ActionError::ConnectorFailed(message)
            }
        }
    }
}

/// `GET url`, following redirects, the body read whole.
pub fn get(url: &str) -> Result<Response, HttpError> {
    Request::get(url).send()
}

/// An HTTP request, built step by step and sent with [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
    max_redirects: u32,
    max_body: usize,
}

/// Redirects followed unless [`Request::max_redirects`] says otherwise.
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// Response bytes kept unless [`Request::max_body`] says otherwise (the host has its own cap).
pub const DEFAULT_MAX_BODY: usize = 16 << 20;

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Request {
        Request::new(Method::Get, url)
    }

    /// `POST url`.
    pub fn post(url: impl Into<String>) -> Request {
        Request::new(Method::Post, url)
    }

    /// `PUT url`.
    pub fn put(url: impl Into<String>) -> Request {
        Request::new(Method::Put, url)
    }

    /// `DELETE url`.
    pub fn delete(url: impl Into<String>) -> Request {
        Request::new(Method::Delete, url)
    }

    /// Adds a header (`host`, `connection` and other hop-by-hop headers are the host's).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The request body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// `value` as a JSON body, with `content-type: application/json`.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Request, HttpError> {
        let body = serde_json::to_vec(value).map_err(|e| HttpError::InvalidRequest(format!("JSON: {e}")))?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// The longest to wait to connect, for the first byte, and between bytes; the host's
    /// limit applies when it is shorter.
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// Redirects to follow; `0` returns the redirect response itself.
    pub fn max_redirects(mut self, redirects: u32) -> Request {
        self.max_redirects = redirects;
        self
    }

    /// The most response bytes to read; a larger body is [`HttpError::TooLarge`].
    pub fn max_body(mut self, bytes: usize) -> Request {
        self.max_body = bytes;
        self
    }

    /// Sends the request and reads the response, following redirects.
    pub fn send(self) -> Result<Response, HttpError> {
        let mut request = self;
        let mut redirects = 0;
        loop {
            let url = Url::parse(&request.url)?;
            let response = wire::send(&request, &url)?;
            let location = response.header("location").map(str::to_owned);
            let follow =
                matches!(response.status, 301 | 302 | 303 | 307 | 308) && redirects < request.max_redirects;
            let Some(location) = location.filter(|_| follow) else {
                return Ok(response);
            };
            redirects += 1;
            let next = url.join(&location)?;
            if next.origin() != url.origin() {
                request.headers.retain(|(name, _)| {
                    !name.eq_ignore_ascii_case("authorization") && !name.eq_ignore_ascii_case("cookie")
                });
            }
            let keeps_method =
                matches!(response.status, 307 | 308) || matches!(request.method, Method::Get | Method::Head);
            if !keeps_method {
                request.method = Method::Get;
                request.body.clear();
                request.headers.retain(|(name, _)| {
                    !name.eq_ignore_ascii_case("content-type") && !name.eq_ignore_ascii_case("content-length")
                });
            }
            request.url = next.to_string();
        }
    }
}

/// An HTTP response, its body read whole.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    url: String,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The response itself when the status is 2xx, else [`HttpError::Status`].
    pub fn error_for_status(self) -> Result<Response, HttpError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(HttpError::Status(self.status))
        }
    }

    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in the order received.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| HttpError::Failed(format!("the body is not the JSON expected: {e}")))
    }

    /// The URL that answered, after redirects.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The parts of an `http` or `https` URL that wasi:http takes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    https: bool,
    authority: String,
    /// Starts with `/`.
    path_and_query: String,
}

impl Url {
    fn parse(text: &str) -> Result<Url, HttpError> {
        let invalid = |why: &str| HttpError::InvalidRequest(format!("{text:?}: {why}"));
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("not an absolute URL"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(invalid("the scheme is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        if authority.contains('@') {
            return Err(invalid("credentials in a URL are not sent"));
        }
        if authority.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(invalid("the host has white space"));
        }
        let path_and_query = match path.chars().next() {
            None => "/".to_owned(),
            Some('?') => format!("/{path}"),
            _ => path.to_owned(),
        };
        Ok(Url {
            https,
            authority: authority.to_owned(),
            path_and_query,
        })
    }

    /// Where a `location` header points, from this URL.
    fn join(&self, location: &str) -> Result<Url, HttpError> {
        let location = location.trim();
        if location.contains("://") && !location.starts_with('/') {
            return Url::parse(location);
        }
        let scheme = if self.https { "https" } else { "http" };
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let path = if location.starts_with('/') {
            location.to_owned()
        } else if location.starts_with('?') {
            let path = self.path_and_query.split('?').next().unwrap_or("/");
            format!("{path}{location}")
        } else {
            let path = self.path_and_query.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Url::parse(&format!("{scheme}://{}{path}", self.authority))
    }

    /// Scheme and authority, lower case.
    fn origin(&self) -> (bool, String) {
        (self.https, self.authority.to_ascii_lowercase())
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path_and_query)
    }
}

/// The wasi:http calls.
mod wire {
    use super::{HttpError, Method, Request, Response, Url};
    use crate::bindings::wasi::http::outgoing_handler;
    use crate::bindings::wasi::http::types::{
        ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest, RequestOptions,
        Scheme,
    };
    use crate::bindings::wasi::io::streams::StreamError;

    /// Bytes asked for per read, and written per write.
    const CHUNK: usize = 64 * 1024;

    pub(super) fn send(request: &Request, url: &Url) -> Result<Response, HttpError> {
        let headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone().into_bytes()))
            .collect();
        let fields = Fields::from_list(&headers)
            .map_err(|e| HttpError::InvalidRequest(format!("a header is not allowed or malformed: {e:?}")))?;
        let outgoing = OutgoingRequest::new(fields);
        let invalid = |what: &str| HttpError::InvalidRequest(format!("the {what} was refused"));
        outgoing
            .set_method(&match request.method {
                Method::Get => WasiMethod::Get,
                Method::Head => WasiMethod::Head,
                Method::Post => WasiMethod::Post,
                Method::Put => WasiMethod::Put,
                Method::Delete => WasiMethod::Delete,
                Method::Patch => WasiMethod::Patch,
                Method::Options => WasiMethod::Options,
            })
            .map_err(|_| invalid("method"))?;
        outgoing
            .set_scheme(Some(&if url.https { Scheme::Https } else { Scheme::Http }))
            .map_err(|_| invalid("scheme"))?;
        outgoing
            .set_authority(Some(&url.authority))
            .map_err(|_| invalid("host"))?;
        outgoing
            .set_path_with_query(Some(&url.path_and_query))
            .map_err(|_| invalid("path"))?;
        let body = outgoing.body().map_err(|_| invalid("body"))?;

        let options = request.timeout.map(|timeout| {
            let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
            let options = RequestOptions::new();
            let _ = options.set_connect_timeout(Some(nanos));
            let _ = options.set_first_byte_timeout(Some(nanos));
            let _ = options.set_between_bytes_timeout(Some(nanos));
            options
        });
        let pending = outgoing_handler::handle(outgoing, options).map_err(from_code)?;

        // The body is written after `handle`: the host reads it as it sends.
        if !request.body.is_empty() {
            let stream = body.write().map_err(|_| invalid("body"))?;
            for chunk in request.body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Failed(format!("writing the body: {}", stream_error(e))))?;
            }
            drop(stream);
        }
        OutgoingBody::finish(body, None).map_err(from_code)?;

        let incoming = loop {
            match pending.get() {
                Some(Ok(result)) => break result.map_err(from_code)?,
                Some(Err(())) => return Err(HttpError::Failed("the response was already taken".into())),
                None => pending.subscribe().block(),
            }
        };
        drop(pending);

        let status = incoming.status();
        let headers = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let body = incoming
            .consume()
            .map_err(|_| HttpError::Failed("no response body".into()))?;
        let stream = body
            .stream()
            .map_err(|_| HttpError::Failed("no response body".into()))?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(CHUNK as u64) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > request.max_body {
                        return Err(HttpError::TooLarge(format!(
                            "the response body is over {} bytes",
                            request.max_body
                        )));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(error)) => {
                    return Err(
                        match crate::bindings::wasi::http::types::http_error_code(&error) {
                            Some(code) => from_code(code),
                            None => from_description(&error.to_debug_string()),
                        },
                    );
                }
            }
        }
        drop(stream);
        let _trailers = IncomingBody::finish(body);
        drop(incoming);
        Ok(Response {
            status,
            headers,
            body: bytes,
            url: url.to_string(),
        })
    }

    fn stream_error(error: StreamError) -> String {
        match error {
            StreamError::Closed => "the stream was closed".into(),
            StreamError::LastOperationFailed(error) => error.to_debug_string(),
        }
    }

    /// A body error wasmtime 48 does not expose as an error code (it keeps its own error type
    /// behind the stream's `error`), recognized by its description.
    fn from_description(description: &str) -> HttpError {
        if description.contains("BodySize") || description.contains("body size exceeds") {
            HttpError::TooLarge(format!(
                "the response body is over the host's limit ({description})"
            ))
        } else if description.contains("Timeout") || description.contains("timeout") {
            HttpError::Timeout(format!("waiting for the response body ({description})"))
        } else {
            HttpError::Failed(description.to_owned())
        }
    }

    /// The host's error code as an [`HttpError`].
    fn from_code(code: ErrorCode) -> HttpError {
        match code {
            ErrorCode::HttpRequestDenied => HttpError::Denied(
                "the host refused the request: `http` is not granted, or the URL's scheme, host and port are not on the allow list".into(),
            ),
            ErrorCode::DestinationIpProhibited => HttpError::Denied(
                "the host refused the address: the host name or address is loopback, private, link-local or otherwise off limits".into(),
            ),
            ErrorCode::HttpResponseBodySize(size) => HttpError::TooLarge(match size {
                Some(size) => format!("the response body is over the host's limit ({size} bytes)"),
                None => "the response body is over the host's limit".into(),
            }),
            ErrorCode::DnsTimeout => HttpError::Timeout("name lookup".into()),
            ErrorCode::ConnectionTimeout => HttpError::Timeout("connect".into()),
            ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
                HttpError::Timeout("waiting for the response".into())
            }
            ErrorCode::ConnectionWriteTimeout => HttpError::Timeout("sending the request".into()),
            ErrorCode::HttpRequestUriInvalid => HttpError::InvalidRequest("the URL".into()),
            ErrorCode::HttpRequestMethodInvalid => HttpError::InvalidRequest("the method".into()),
            ErrorCode::HttpProtocolError => HttpError::Failed("HTTP protocol error (is the scheme right?)".into()),
            other => HttpError::Failed(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_what_wasi_http_takes() {
        let url = Url::parse("https://rdap.example.net/ip/1.2.3.4?x=1#frag").unwrap();
        assert!(url.https);
        assert_eq!(url.authority, "rdap.example.net");
        assert_eq!(url.path_and_query, "/ip/1.2.3.4?x=1");
        assert_eq!(Url::parse("http://h:8080").unwrap().path_and_query, "/");
        assert_eq!(Url::parse("http://h?q").unwrap().path_and_query, "/?q");
        for bad in [
            "rdap.example.net",
            "ftp://x/",
            "https:///x",
            "http://u:p@h/",
            "http://a b/",
        ] {
            assert!(
                matches!(Url::parse(bad), Err(HttpError::InvalidRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn redirect_locations_resolve_against_the_url() {
        let base = Url::parse("http://a.example:8080/dir/page?q=1").unwrap();
        let join = |location: &str| base.join(location).unwrap().to_string();
        assert_eq!(join("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x");
        assert_eq!(join("//b.example/y"), "http://b.example/y");
        assert_eq!(join("/root"), "http://a.example:8080/root");
        assert_eq!(join("other"), "http://a.example:8080/dir/other");
        assert_eq!(join("?p=2"), "http://a.example:8080/dir/page?p=2");
        assert_ne!(base.origin(), base.join("//b.example/").unwrap().origin());
        assert_eq!(base.origin(), base.join("/x").unwrap().origin());
    }

    #[test]
    fn errors_become_action_errors_a_plugin_can_match() {
        assert!(matches!(
            ActionError::from(HttpError::Denied("x".into())),
            ActionError::Denied(m) if m.starts_with("http: denied")
        ));
        assert!(matches!(
            ActionError::from(HttpError::Status(404)),
            ActionError::NotFound(_)
        ));
        assert!(matches!(
            ActionError::from(HttpError::TooLarge("x".into())),
            ActionError::LimitExceeded(_)
        ));
        assert!(matches!(
            ActionError::from(HttpError::Timeout("x".into())),
            ActionError::ConnectorFailed(_)
        ));
    }
}
