//! The web console under `/ui`: pages rendered on the server ([`maud`] escapes every value it
//! is given), htmx for the few partial updates, nothing loaded from elsewhere.
//!
//! Who may do what is decided here, on the server, for every request: a page needs a session
//! ([`session`]); a POST also needs the session's CSRF token and this origin ([`csrf`]), then
//! the role the action needs. Every refusal is audited (kind `console`). Decisions go through
//! the same calls as the API's ([`crate::api`]) and are named `console:USER`.

mod assets;
mod charts;
pub(crate) mod csrf;
mod layout;
mod pages;
pub(crate) mod session;
mod throttle;
pub mod users;

use crate::App;
use crate::config::Role;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use palisade_store::AuditKind;
use serde::de::DeserializeOwned;
use session::Signed;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the console keeps between requests, beside the store.
pub(crate) struct Console {
    throttle: throttle::Throttle,
    /// Password checks at once: each takes 19 MiB and tens of milliseconds, and a flood of
    /// sign-ins must not take the cores the workers need.
    hashing: tokio::sync::Semaphore,
}

impl Console {
    pub(crate) fn new() -> Console {
        Console {
            throttle: throttle::Throttle::default(),
            hashing: tokio::sync::Semaphore::new(1),
        }
    }
}

/// The policy every `/ui` answer carries: scripts, styles and images from this server only,
/// no inline ones, no frames, forms posted only here.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// The largest form the console takes.
const FORM_LIMIT: usize = 64 * 1024;

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::overview::page))
        .route("/ui/login", get(pages::login::form).post(pages::login::submit))
        .route("/ui/logout", post(pages::login::logout))
        .route("/ui/alerts", get(pages::alerts::page))
        .route("/ui/alerts/{id}", get(pages::alert::page))
        .route("/ui/actions/{id}/undo", post(pages::alert::undo))
        .route("/ui/approvals", get(pages::approvals::page))
        .route("/ui/approvals/{id}/approve", post(pages::approvals::approve))
        .route("/ui/approvals/{id}/deny", post(pages::approvals::deny))
        .route("/ui/audit", get(pages::audit::page))
        .route("/ui/plugins", get(pages::plugins::page))
        .route("/ui/breaker", get(pages::breaker::page))
        .route("/ui/breaker/reset", post(pages::breaker::reset))
        .route(assets::HTMX_PATH, get(assets::htmx))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::ICON_PATH, get(assets::icon))
        .layer(axum::middleware::map_response(secure))
}

/// The headers every console answer carries. Pages are not kept by the browser's cache (they
/// show who may do what); the assets say their own caching.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Where a request came from (the connection's address; no forwarding header is believed).
fn remote(parts: &Parts) -> SocketAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |info| info.0)
}

/// Refuses a request: logged, audited with the route, the remote address and the user, and
/// answered with a short page that says why.
fn refuse(app: &App, parts: &Parts, user: Option<&str>, status: StatusCode, reason: &str) -> Response {
    refuse_at(app, parts.uri.path(), remote(parts), user, status, reason)
}

fn refuse_at(
    app: &App,
    route: &str,
    remote: SocketAddr,
    user: Option<&str>,
    status: StatusCode,
    reason: &str,
) -> Response {
    audit_refusal(app, route, remote, user, reason);
    (status, layout::refusal(status, reason)).into_response()
}

/// A refusal in the audit. Route and user are the requester's to choose: they are cut short.
fn audit_refusal(app: &App, route: &str, remote: SocketAddr, user: Option<&str>, reason: &str) {
    let route: String = route.chars().take(200).collect();
    let user: Option<String> = user.map(|user| user.chars().take(128).collect());
    crate::api::audit_refusal(
        app,
        AuditKind::Console,
        &route,
        remote,
        reason,
        ("user", user.as_deref()),
    );
}

/// A POST from a signed-in person that passed the CSRF and origin checks, with its form.
pub(crate) struct Posted<T> {
    pub signed: Signed,
    pub form: T,
    /// Sent by htmx: answer with the fragment to swap in, not a redirect.
    pub htmx: bool,
    parts: Parts,
}

impl<T> Posted<T> {
    /// The refusal (403, audited) when the person's role is below `role`.
    pub fn refused(&self, app: &App, role: Role) -> Option<Response> {
        (!self.signed.may(role)).then(|| {
            refuse(
                app,
                &self.parts,
                Some(&self.signed.user),
                StatusCode::FORBIDDEN,
                &format!(
                    "role too small: {} needs {}",
                    self.signed.role.as_str(),
                    role.as_str()
                ),
            )
        })
    }
}

impl<T: DeserializeOwned> FromRequest<Arc<App>> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Posted<T>, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, app).await?;
        let user = Some(signed.user.as_str());
        let tls = app.settings().serve.tls.is_some();
        if !csrf::same_origin(&parts.headers, tls) {
            return Err(refuse(
                app,
                &parts,
                user,
                StatusCode::FORBIDDEN,
                "request from another origin",
            ));
        }
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "form too large\n").into_response());
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if !csrf::matches(&signed.csrf, csrf::given(&parts.headers, &pairs)) {
            return Err(refuse(
                app,
                &parts,
                user,
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token",
            ));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            (
                StatusCode::BAD_REQUEST,
                layout::refusal(StatusCode::BAD_REQUEST, &error.to_string()),
            )
                .into_response()
        })?;
        let htmx = parts
            .headers
            .get("hx-request")
            .is_some_and(|value| value == "true");
        Ok(Posted {
            signed,
            form,
            htmx,
            parts,
        })
    }
}

/// The store could not answer: logged, and said plainly.
fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "the store cannot answer the console");
    let status = StatusCode::SERVICE_UNAVAILABLE;
    (
        status,
        layout::refusal(status, "the store cannot answer; try again"),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
