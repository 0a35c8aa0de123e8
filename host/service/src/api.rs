//! The API for people's programs: reports, held operations (list, approve, deny),
//! executed ones (list, undo), the audit and the breaker, each behind a bearer token whose role allows it. Decisions go through
//! the response lifecycle ([`decide`], shared with the console), as the CLI's do, and name the
//! token that made them.

use crate::App;
use crate::config::{ApiToken, Role};
use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use palisade_store::{AuditEvent, AuditFilter, AuditKind};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Who is calling, once their token is checked against the role the route needs.
struct Caller {
    name: String,
}

impl Caller {
    /// How approvals and the audit name a decision made through the API.
    fn by(&self) -> String {
        format!("api:{}", self.name)
    }
}

/// The caller holding a token with at least `role`; otherwise the answer to give (401 for no
/// or an unknown token, 403 for too small a role), audited either way.
fn caller(
    app: &App,
    headers: &HeaderMap,
    remote: SocketAddr,
    role: Role,
    route: &str,
) -> Result<Caller, StatusCode> {
    let digest = crate::auth::bearer_digest(headers).ok();
    // Every token is compared, found or not: the time taken says nothing of which matched.
    let settings = app.settings();
    let mut found: Option<&ApiToken> = None;
    for token in &settings.serve.tokens {
        if let Some(digest) = &digest
            && bool::from(token.sha256.ct_eq(digest))
        {
            found = Some(token);
        }
    }
    let refuse = |status: StatusCode, reason: &str, name: Option<&str>| {
        audit_refusal(app, AuditKind::Api, route, remote, reason, ("token", name));
        status
    };
    match found {
        None => Err(refuse(StatusCode::UNAUTHORIZED, "no valid token", None)),
        Some(token) if token.role < role => {
            Err(refuse(StatusCode::FORBIDDEN, "role too small", Some(&token.name)))
        }
        Some(token) => Ok(Caller {
            name: token.name.clone(),
        }),
    }
}

/// A refused request, in the log and the audit: the API's (`who` is the token's name) and the
/// console's (the user's) alike, so one audit query finds both.
pub(crate) fn audit_refusal(
    app: &App,
    kind: AuditKind,
    route: &str,
    remote: SocketAddr,
    reason: &str,
    who: (&str, Option<&str>),
) {
    tracing::warn!(kind = kind.as_str(), route, %remote, reason, "request refused");
    let mut detail = json!({"route": route, "remote": remote.to_string(), "reason": reason});
    detail[who.0] = json!(who.1);
    app.store.audit().log(AuditEvent {
        kind,
        decision: "refused",
        detail,
        ..AuditEvent::default()
    });
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "the store cannot answer");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// `GET /v1/alerts/{id}`: a processed alert's report.
pub(crate) async fn report(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = caller(&app, &headers, remote, Role::Viewer, "alerts") {
        return refused.into_response();
    }
    match app.queue.report(&id) {
        Ok(Some(report)) => ([("content-type", "application/json")], report).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => unavailable(error),
    }
}

#[derive(Deserialize)]
pub(crate) struct ApprovalsQuery {
    /// Decided ones too, not only those waiting.
    #[serde(default)]
    all: bool,
}

/// `GET /v1/approvals`: the operations held for a person.
pub(crate) async fn approvals(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Query(query): Query<ApprovalsQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = caller(&app, &headers, remote, Role::Viewer, "approvals") {
        return refused.into_response();
    }
    match app.store.approvals().list(query.all) {
        Ok(list) => Json(json!({"approvals": list})).into_response(),
        Err(error) => unavailable(error),
    }
}

/// `POST /v1/approvals/{id}/approve`: carries the held operation out, once.
pub(crate) async fn approve(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&app, &headers, remote, Role::Approver, "approve") {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    match decide::approve(&app, &id, &caller.by()).await {
        Ok(approved) => {
            let (executed, result) = match &approved.result {
                Ok(reference) => (true, json!(reference)),
                Err(error) => (false, json!(error.to_string())),
            };
            Json(
                json!({"id": id, "executed": executed, "action_id": approved.action_id,
                        "target": approved.target, "result": result}),
            )
            .into_response()
        }
        Err(palisade_response::ApproveError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => (StatusCode::CONFLICT, Json(json!({"error": error.to_string()}))).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct Reason {
    reason: String,
}

/// `POST /v1/approvals/{id}/deny` with `{"reason": "..."}`.
pub(crate) async fn deny(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Reason>,
) -> Response {
    let caller = match caller(&app, &headers, remote, Role::Approver, "deny") {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    match decide::deny(&app, &id, &caller.by(), &body.reason) {
        Ok(denied) => Json(json!({"id": id, "denied": denied})).into_response(),
        Err(decide::DenyError::NoReason) => (
            StatusCode::BAD_REQUEST,
            format!("{}\n", decide::DenyError::NoReason),
        )
            .into_response(),
        Err(error) => (StatusCode::CONFLICT, Json(json!({"error": error.to_string()}))).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ActionsQuery {
    /// Only blocks set for a time that the host lifts when due.
    #[serde(default)]
    scheduled: bool,
}

/// `GET /v1/actions[?scheduled=true]`: executed operations not undone.
pub(crate) async fn actions(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Query(query): Query<ActionsQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = caller(&app, &headers, remote, Role::Viewer, "actions") {
        return refused.into_response();
    }
    let listed = if query.scheduled {
        app.store.actions().lapsing(None).map(|rows| {
            rows.into_iter()
                .map(|(row, due)| json!({"action": row, "lapses_at": due}))
                .collect::<Vec<_>>()
        })
    } else {
        app.store
            .actions()
            .standing()
            .map(|rows| rows.into_iter().map(|row| json!({"action": row})).collect())
    };
    match listed {
        Ok(actions) => Json(json!({"actions": actions})).into_response(),
        Err(error) => unavailable(error),
    }
}

/// `POST /v1/actions/{id}/undo`: runs an executed operation's compensation, once.
pub(crate) async fn undo(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&app, &headers, remote, Role::Approver, "undo") {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    match decide::undo(&app, &id, &caller.by()).await {
        Ok(undone) => Json(json!({"id": id, "undone": true, "compensation_action_id": undone.action_id}))
            .into_response(),
        Err(palisade_response::UndoFailure::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => (StatusCode::CONFLICT, Json(json!({"error": error.to_string()}))).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    alert: Option<String>,
    plugin: Option<String>,
    /// Unix seconds.
    since: Option<i64>,
    limit: Option<u32>,
}

/// `GET /v1/audit?alert=&plugin=&since=&limit=`: at most 1,000 records, newest last.
pub(crate) async fn audit(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Query(query): Query<AuditQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = caller(&app, &headers, remote, Role::Viewer, "audit") {
        return refused.into_response();
    }
    let filter = AuditFilter {
        alert_id: query.alert,
        plugin: query.plugin,
        since: query.since,
        limit: Some(query.limit.unwrap_or(100).min(1000)),
        ..AuditFilter::default()
    };
    match app.store.audit().query(&filter) {
        Ok(records) => Json(json!({"records": records})).into_response(),
        Err(error) => unavailable(error),
    }
}

/// `GET /v1/breaker`: which plugins' breakers are tripped.
pub(crate) async fn breaker(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = caller(&app, &headers, remote, Role::Viewer, "breaker") {
        return refused.into_response();
    }
    match app.store.breaker().status() {
        Ok(trips) => Json(json!({"tripped": trips})).into_response(),
        Err(error) => unavailable(error),
    }
}

#[derive(Deserialize)]
pub(crate) struct Reset {
    plugin: Option<String>,
}

/// `POST /v1/breaker/reset` with `{"plugin": "..."}` (or none: every plugin).
pub(crate) async fn reset(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Reset>,
) -> Response {
    let caller = match caller(&app, &headers, remote, Role::Admin, "breaker-reset") {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    match decide::reset(&app, body.plugin.as_deref(), &caller.by()) {
        Ok(cleared) => Json(json!({"cleared": cleared})).into_response(),
        Err(error) => unavailable(error),
    }
}

/// A person's decisions, for the API and the console alike: the lifecycle's calls on the config
/// in force, and the same rules (a denial says why).
pub(crate) mod decide {
    use crate::App;
    use palisade_response::{ApproveError, Approved, UndoFailure, Undone};
    use palisade_store::{Approval, ApprovalError};

    /// The longest denial reason kept.
    pub(crate) const MAX_REASON_CHARS: usize = 1000;

    pub(crate) async fn approve(app: &App, id: &str, by: &str) -> Result<Approved, ApproveError> {
        palisade_response::approve(&*app.settings().config, &app.store, id, by).await
    }

    #[derive(Debug, thiserror::Error)]
    pub(crate) enum DenyError {
        #[error("a denial needs a reason")]
        NoReason,
        #[error(transparent)]
        Decision(#[from] ApprovalError),
    }

    /// Refuses a held operation; `reason` is trimmed and cut to [`MAX_REASON_CHARS`].
    pub(crate) fn deny(app: &App, id: &str, by: &str, reason: &str) -> Result<Approval, DenyError> {
        let reason: String = reason.trim().chars().take(MAX_REASON_CHARS).collect();
        if reason.is_empty() {
            return Err(DenyError::NoReason);
        }
        Ok(palisade_response::deny(&app.store, id, by, &reason)?)
    }

    pub(crate) async fn undo(app: &App, action_id: &str, by: &str) -> Result<Undone, UndoFailure> {
        palisade_response::undo(&*app.settings().config, &app.store, action_id, by).await
    }

    pub(crate) fn reset(app: &App, plugin: Option<&str>, by: &str) -> Result<usize, rusqlite::Error> {
        palisade_response::reset_breaker(&app.store, plugin, by)
    }
}
