//! Signing in and out. The form carries its own CSRF token, matched against a cookie set with
//! it, since there is no session yet. A wrong user and a wrong password get the same answer
//! after the same work; five failures for a user or from an address within fifteen minutes
//! stop further attempts unchecked. Every attempt is audited, the password never.

use super::super::layout;
use super::super::session::{self, COOKIE};
use super::super::{Posted, audit_refusal, csrf, refuse_at, throttle, unavailable, users};
use crate::App;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use palisade_store::{AuditEvent, AuditKind};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// How long a login form may wait before it is sent.
const FORM_LIFETIME: i64 = 3600;
const ROUTE: &str = "/ui/login";

/// What the login form's answer shows: the message, the name typed.
fn page(token: &str, message: Option<&str>, user: &str) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to Palisade" }
            @if let Some(message) = message { (layout::failed(message)) }
            form class="login" method="post" action=(ROUTE) {
                input type="hidden" name="csrf" value=(token);
                div {
                    label for="user" { "User" }
                    input id="user" name="user" type="text" autocomplete="username" required value=(user);
                }
                div {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                div { button type="submit" { "Sign in" } }
            }
        },
    )
}

/// `GET /ui/login`: the form, with a fresh token in it and in a cookie; a person already signed
/// in goes to the overview.
pub(crate) async fn form(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if session::signed_in(&app, &headers).is_some() {
        return Redirect::to("/ui/").into_response();
    }
    let Ok(token) = session::random_token() else {
        return unavailable("no random token for the login form");
    };
    (
        [(
            header::SET_COOKIE,
            session::cookie(csrf::LOGIN_COOKIE, &token, FORM_LIFETIME),
        )],
        page(&token, None, ""),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/login`.
pub(crate) async fn submit(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tls = app.settings().serve.tls.is_some();
    if !csrf::same_origin(&headers, tls) {
        return refuse_at(
            &app,
            ROUTE,
            remote,
            None,
            StatusCode::FORBIDDEN,
            "request from another origin",
        );
    }
    let form: LoginForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let user = form.user.trim();
    let expected = session::cookie_value(&headers, csrf::LOGIN_COOKIE).unwrap_or("");
    if !csrf::matches(expected, Some(&form.csrf)) {
        return refuse_at(
            &app,
            ROUTE,
            remote,
            Some(user),
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token (reload the sign-in page)",
        );
    }
    let now = palisade_core::clock::now();
    let console = &app.console;
    if console.throttle.refused(user, remote.ip(), now) {
        audit_refusal(&app, ROUTE, remote, Some(user), "too many failed sign-ins");
        let message = format!(
            "Too many failed sign-ins for this user or from this address: try again in {} minutes.",
            throttle::WINDOW / 60
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, throttle::WINDOW.to_string())],
            page(expected, Some(&message), user),
        )
            .into_response();
    }
    let role = {
        // One check at a time; a closed semaphore (never) would only mean no check.
        let Ok(_permit) = console.hashing.acquire().await else {
            return unavailable("the password check is closed");
        };
        let settings = app.settings();
        let (name, password) = (user.to_owned(), form.password);
        tokio::task::spawn_blocking(move || users::verify(&settings.serve.users, &name, &password))
            .await
            .ok()
            .flatten()
    };
    let Some(role) = role else {
        console.throttle.failed(user, remote.ip(), now);
        audit_refusal(&app, ROUTE, remote, Some(user), "wrong user or password");
        return (
            StatusCode::UNAUTHORIZED,
            page(expected, Some("Wrong user or password"), user),
        )
            .into_response();
    };
    console.throttle.succeeded(user, remote.ip());
    let set_session = match session::sign_in(&app, user, role) {
        Ok(cookie) => cookie,
        Err(error) => return unavailable(error),
    };
    app.store.audit().log(AuditEvent {
        kind: AuditKind::Console,
        decision: "signed-in",
        detail: json!({"user": user, "role": role.as_str(), "remote": remote.to_string()}),
        ..AuditEvent::default()
    });
    (
        AppendHeaders([
            (header::SET_COOKIE, set_session),
            (header::SET_COOKIE, session::cookie(csrf::LOGIN_COOKIE, "", 0)),
        ]),
        Redirect::to("/ui/"),
    )
        .into_response()
}

/// `POST /ui/logout`: the session ends in the store, not only in this browser.
pub(crate) async fn logout(State(app): State<Arc<App>>, posted: Posted<Nothing>) -> Response {
    session::sign_out(&app, &posted.signed);
    app.store.audit().log(AuditEvent {
        kind: AuditKind::Console,
        decision: "signed-out",
        detail: json!({"user": posted.signed.user}),
        ..AuditEvent::default()
    });
    (
        [(header::SET_COOKIE, session::cookie(COOKIE, "", 0))],
        Redirect::to(ROUTE),
    )
        .into_response()
}

/// A form with nothing in it but the CSRF token.
#[derive(Deserialize)]
pub(crate) struct Nothing {}
