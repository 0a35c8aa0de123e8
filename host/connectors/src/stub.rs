//! A vendor API on loopback for connector tests: it expects a scripted sequence of requests,
//! checks each one's method, path, query, headers and body the way the vendor would, and
//! answers with the documented reply. A request that does not match is answered 400 and
//! fails the test at [`Stub::finish`].

use super::http::{Auth, ErrorMessage, HttpSettings, VendorClient};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MICROSOFT_TENANT: &str = "contoso.onmicrosoft.com";

pub struct Exchange {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    json: Option<Value>,
    form: Vec<(String, String)>,
    status: u16,
    body: String,
    reply_headers: Vec<(String, String)>,
}

impl Exchange {
    /// A request the stub expects next: `path` includes the query string, as sent.
    pub fn expect(method: &'static str, path: &str) -> Exchange {
        Exchange {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            json: None,
            form: Vec::new(),
            status: 200,
            body: String::new(),
            reply_headers: Vec::new(),
        }
    }

    /// A header the request must carry with this exact value (names are case-insensitive).
    pub fn header(mut self, name: &str, value: &str) -> Exchange {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body that must contain these fields (objects compared key by key; other values
    /// exactly).
    pub fn json(mut self, body: Value) -> Exchange {
        self.json = Some(body);
        self
    }

    /// A form field the `application/x-www-form-urlencoded` body must carry.
    pub fn form(mut self, name: &str, value: &str) -> Exchange {
        self.form.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn reply(mut self, status: u16, body: &str) -> Exchange {
        self.status = status;
        self.body = body.to_owned();
        self
    }

    pub fn reply_header(mut self, name: &str, value: &str) -> Exchange {
        self.reply_headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The client-credentials token request the Microsoft identity platform documents, for
    /// [`Stub::microsoft_auth`], answered with `token`.
    pub fn microsoft_token(secret: &str, scope: &str, token: &str) -> Exchange {
        Exchange::expect("POST", &format!("/{MICROSOFT_TENANT}/oauth2/v2.0/token"))
            .form("grant_type", "client_credentials")
            .form("client_id", "app-id")
            .form("client_secret", secret)
            .form("scope", scope)
            .reply(
                200,
                &format!(
                    r#"{{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"{token}"}}"#
                ),
            )
    }

    /// What is wrong with a received request, if anything.
    fn mismatch(&self, request: &mut tiny_http::Request) -> Option<String> {
        let mut problems = Vec::new();
        if request.method().as_str() != self.method || request.url() != self.path {
            problems.push(format!(
                "expected {} {}, got {} {}",
                self.method,
                self.path,
                request.method(),
                request.url()
            ));
        }
        let header = |name: &str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str().to_owned())
        };
        for (name, value) in &self.headers {
            let got = header(name);
            if got.as_deref() != Some(value) {
                problems.push(format!("header {name}: expected {value:?}, got {got:?}"));
            }
        }
        let content_type = header("content-type").unwrap_or_default();
        let mut body = String::new();
        if request.as_reader().read_to_string(&mut body).is_err() {
            problems.push("body is not UTF-8".into());
        }
        if let Some(expected) = &self.json {
            if !content_type.starts_with("application/json") {
                problems.push(format!(
                    "content-type: expected application/json, got {content_type:?}"
                ));
            }
            match serde_json::from_str::<Value>(&body) {
                Ok(got) if contains(&got, expected) => {}
                Ok(got) => problems.push(format!("body: expected to contain {expected}, got {got}")),
                Err(error) => problems.push(format!("body is not JSON ({error}): {body}")),
            }
        }
        if !self.form.is_empty() {
            if content_type != "application/x-www-form-urlencoded" {
                problems.push(format!("content-type: expected a form, got {content_type:?}"));
            }
            let got: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            for field in &self.form {
                if !got.contains(field) {
                    problems.push(format!("form: expected {}={:?}, got {got:?}", field.0, field.1));
                }
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

/// `got` has every field of `expected`, recursively.
fn contains(got: &Value, expected: &Value) -> bool {
    match (got, expected) {
        (Value::Object(got), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| got.get(key).is_some_and(|g| contains(g, value))),
        _ => got == expected,
    }
}

pub struct Stub {
    address: std::net::SocketAddr,
    failures: Arc<Mutex<Vec<String>>>,
    left: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    pub fn start(exchanges: Vec<Exchange>) -> Stub {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind loopback");
        let address = server.server_addr().to_ip().expect("an IP address");
        let failures = Arc::new(Mutex::new(Vec::new()));
        let left = Arc::new(Mutex::new(exchanges.len()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (failures, left, stop) = (failures.clone(), left.clone(), stop.clone());
            move || {
                let mut script = exchanges.into_iter();
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(20)) else {
                        continue;
                    };
                    let Some(exchange) = script.next() else {
                        failures.lock().unwrap().push(format!(
                            "unexpected request {} {}",
                            request.method(),
                            request.url()
                        ));
                        let _ = request.respond(tiny_http::Response::empty(500));
                        continue;
                    };
                    *left.lock().unwrap() -= 1;
                    let response = match exchange.mismatch(&mut request) {
                        Some(problem) => {
                            let body = serde_json::json!({ "message": format!("stub: {problem}") });
                            failures.lock().unwrap().push(problem);
                            tiny_http::Response::from_string(body.to_string()).with_status_code(400)
                        }
                        None => {
                            let mut response = tiny_http::Response::from_string(exchange.body)
                                .with_status_code(exchange.status);
                            for (name, value) in exchange.reply_headers.iter().chain(std::iter::once(&(
                                "Content-Type".to_owned(),
                                "application/json".to_owned(),
                            ))) {
                                response.add_header(
                                    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap(),
                                );
                            }
                            response
                        }
                    };
                    let _ = request.respond(response);
                }
            }
        });
        Stub {
            address,
            failures,
            left,
            stop,
            thread: Some(thread),
        }
    }

    /// A URL on the stub: `path` may carry a query.
    pub fn url(&self, path: &str) -> reqwest::Url {
        format!("http://{}{path}", self.address).parse().unwrap()
    }

    /// A vendor client on the stub (`path` is the base URL's path) that backs off for
    /// milliseconds, not seconds, between retries.
    pub fn client(
        &self,
        path: &str,
        auth: Auth,
        vendor: &'static str,
        error_message: ErrorMessage,
    ) -> Arc<VendorClient> {
        let mut settings = HttpSettings::new(self.url(path));
        settings.backoff = Duration::from_millis(5);
        Arc::new(VendorClient::new(
            crate::webhook::http_client().expect("an HTTP client"),
            settings,
            auth,
            vendor,
            error_message,
        ))
    }

    /// A client whose URL is its credential (an incoming webhook), as
    /// [`BuildContext::client_at`](crate::vendor::BuildContext::client_at) builds it.
    pub fn webhook_client(
        &self,
        path: &str,
        vendor: &'static str,
        error_message: ErrorMessage,
    ) -> Arc<VendorClient> {
        let mut settings = HttpSettings::new(self.url(path));
        settings.backoff = Duration::from_millis(5);
        Arc::new(
            VendorClient::new(
                crate::webhook::http_client().expect("an HTTP client"),
                settings,
                Auth::None,
                vendor,
                error_message,
            )
            .url_is_secret(),
        )
    }

    /// OAuth client credentials against a Microsoft identity platform tenant on the stub, as
    /// the Entra and Defender backends sign in; [`Exchange::microsoft_token`] is the request.
    pub fn microsoft_auth(&self, secret: &str, scope: &str) -> Auth {
        let credentials = super::oauth::ClientCredentials::microsoft(
            MICROSOFT_TENANT,
            Some(
                self.url(&format!("/{MICROSOFT_TENANT}/oauth2/v2.0/token"))
                    .as_str(),
            ),
            "app-id",
            secrecy::SecretString::from(secret.to_owned()),
            scope,
        )
        .expect("a valid tenant");
        Auth::OAuth(Arc::new(credentials))
    }

    /// Stops the server and fails the test if a request did not match or one never came.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let failures = self.failures.lock().unwrap().clone();
        assert!(failures.is_empty(), "the vendor stub saw: {failures:#?}");
        let left = *self.left.lock().unwrap();
        assert_eq!(left, 0, "{left} expected request(s) never came");
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the policy gate decides on `request` with `connectors` as the plugin's vendors, at
/// confidence 99, protecting the CEO's account `ceo@example.com`, hosts `dc*` and
/// `10.0.0.0/8`: how a backend's test shows that every name its vendor resolves to a protected
/// record is held before any action is sent.
pub async fn gate_decision(
    connectors: super::CapabilitySet,
    request: &mut super::ActionRequest,
) -> palisade_policy::Decision {
    let policy = palisade_policy::Policy {
        protected: palisade_policy::Protected::new(
            &["ceo@example.com".into()],
            &[],
            &["dc*".into()],
            &["10.0.0.0/8".parse().expect("a network")],
            &[],
        )
        .expect("valid patterns"),
        ..palisade_policy::Policy::default()
    };
    let cx = super::CallContext::new("spray", "alert-1");
    crate::decide::resolve_and_decide(request, &connectors, &cx, &policy, Some(99))
        .await
        .expect("the capability is served")
}
