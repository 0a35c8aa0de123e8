//! `/ui/approvals`: each operation held for a person, with its alert, its target, why it was
//! held, what approving will do and when it expires; approve it, or deny it with a reason.
//! Waiting ones first, the last decided ones below. Decisions go through the API's calls and
//! are named `console:USER`; with htmx the row is swapped in place, without it the page comes
//! back saying what happened (read from the store, so a link cannot fake it).

use super::super::layout::{self, Here, csrf_field};
use super::super::session::Signed;
use super::super::{Posted, unavailable};
use super::login::Nothing;
use crate::App;
use crate::api::decide;
use crate::config::Role;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use palisade_response::ApproveError;
use palisade_store::{Approval, ApprovalStatus};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Decided operations listed at most, newest first.
const DECIDED_SHOWN: u32 = 100;

#[derive(Deserialize, Default)]
pub(crate) struct Shown {
    /// The operation just decided, to say how it went.
    decided: Option<String>,
}

pub(crate) async fn page(
    State(app): State<Arc<App>>,
    signed: Signed,
    Query(shown): Query<Shown>,
) -> Response {
    let approvals = app.store.approvals();
    let all = match approvals.recent(DECIDED_SHOWN) {
        Ok(all) => all,
        Err(error) => return unavailable(error),
    };
    let notice = shown
        .decided
        .and_then(|id| approvals.get(&id).ok().flatten())
        .as_ref()
        .and_then(outcome);
    let (waiting, decided): (Vec<&Approval>, Vec<&Approval>) = all
        .iter()
        .partition(|approval| approval.status == ApprovalStatus::Pending);
    let main = html! {
        h1 { "Approvals" }
        @if let Some(notice) = notice { (layout::done(&notice)) }
        h2 { "Held operations" }
        p class="muted" {
            (waiting.len()) " waiting for a person. "
            @if !signed.may(Role::Approver) { "Your role (" (signed.role.as_str()) ") may read them; an approver decides." }
        }
        table id="approvals" {
            thead {
                tr {
                    th scope="col" { "Alert" }
                    th scope="col" { "Operation" }
                    th scope="col" { "Target" }
                    th scope="col" { "Why it was held" }
                    th scope="col" { "Approving will" }
                    th scope="col" { "Expires / decided" }
                    th scope="col" { "Decision" }
                }
            }
            tbody { @for approval in &waiting { (row(&app, &signed, approval, None)) } }
            tbody class="decided" { @for approval in &decided { (row(&app, &signed, approval, None)) } }
        }
        @if waiting.is_empty() && decided.is_empty() { p { "Nothing has been held." } }
    };
    layout::page(&signed, Here::Approvals, "Approvals", main).into_response()
}

/// How a decided operation ended, in a sentence.
fn outcome(approval: &Approval) -> Option<String> {
    let what = format!("{} on {}", approval.operation, approval.target);
    match approval.status {
        ApprovalStatus::Executed => Some(format!(
            "Approved: executed {what}{}.",
            approval
                .action_id
                .as_ref()
                .map_or(String::new(), |id| format!(" (action {id})"))
        )),
        ApprovalStatus::Failed => Some(format!("Approved, but {what} failed at the vendor.")),
        ApprovalStatus::Executing => Some(format!("Approved: {what} is being carried out.")),
        ApprovalStatus::Denied => Some(format!(
            "Denied: {what} ({}).",
            approval.decision_note.as_deref().unwrap_or("no reason")
        )),
        ApprovalStatus::Expired => Some(format!("Expired: {what} was not decided in time.")),
        ApprovalStatus::Pending => None,
    }
}

/// What carrying the operation out does, from its request: the operation, its target and
/// the request's own settings (a block's duration, the record the target resolved to).
fn will(approval: &Approval) -> Markup {
    let details: Vec<(String, String)> = approval
        .request
        .as_object()
        .map(|request| {
            request
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "capability" | "action" | "reason"))
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    (key.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        "Run " code { (approval.operation) } " on " strong { (approval.target) } " through " (approval.plugin) "'s connector."
        @if !details.is_empty() {
            br;
            span class="muted" { @for (key, value) in &details { (key) "=" (value) " " } }
        }
    }
}

fn row(app: &App, signed: &Signed, approval: &Approval, note: Option<Markup>) -> Markup {
    let alert_title = approval
        .alert
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(&approval.alert_id);
    let base = format!("/ui/approvals/{}", layout::segment(&approval.id));
    let (approve, deny) = (format!("{base}/approve"), format!("{base}/deny"));
    let reason_id = format!("reason-{}", approval.id);
    let pending = approval.status == ApprovalStatus::Pending;
    // What approving carried out, when an approver may still undo it.
    let undoable = approval
        .action_id
        .as_ref()
        .filter(|_| approval.status == ApprovalStatus::Executed && signed.may(Role::Approver))
        .and_then(|action| app.store.actions().get(action).ok().flatten())
        .filter(|row| row.undone_at.is_none() && row.compensation.is_some());
    html! {
        tr id={ "approval-" (approval.id) } data-approval-id=(approval.id) {
            td { a href=(layout::alert_href(&approval.alert_id)) { (alert_title) } br; span class="muted mono" { (approval.alert_id) } }
            td { code { (approval.operation) } }
            td { (approval.target) }
            td { (approval.reason) }
            td { (will(approval)) }
            td {
                @if pending {
                    "Expires " (layout::when(approval.expires_at))
                } @else {
                    span class={ "decision-" (approval.status.as_str()) } { (approval.status.as_str()) }
                    @if let Some(by) = &approval.decided_by { " by " (by) }
                    @if let Some(at) = approval.decided_at { " at " (layout::when(at)) }
                    @if let Some(note) = &approval.decision_note {
                        br;
                        @if approval.status == ApprovalStatus::Denied { "Reason: " } @else { "Receipt: " }
                        (note)
                    }
                }
            }
            td {
                @if pending && signed.may(Role::Approver) {
                    form class="approve" method="post" action=(approve) hx-post=(approve) hx-target="closest tr" hx-swap="outerHTML" {
                        (csrf_field(signed))
                        button type="submit" { "Approve" }
                    }
                    form class="deny" method="post" action=(deny) hx-post=(deny) hx-target="closest tr" hx-swap="outerHTML" {
                        (csrf_field(signed))
                        label for=(reason_id) { "Reason" }
                        input id=(reason_id) name="reason" type="text" required maxlength=(decide::MAX_REASON_CHARS);
                        button type="submit" class="secondary" { "Deny" }
                    }
                } @else if pending {
                    span class="muted" { "Waiting for an approver" }
                } @else if let Some(action) = &undoable {
                    // Undone from the alert's page, which then says so.
                    form class="undo" method="post" action={ "/ui/actions/" (layout::segment(&action.action_id)) "/undo" } {
                        (csrf_field(signed))
                        button type="submit" class="danger" { "Undo" }
                    }
                } @else {
                    "–"
                }
                @if let Some(note) = note { (note) }
            }
        }
    }
}

/// The answer to a decision: with htmx the operation's row as it now is, with `said` in it;
/// otherwise back to the page, which says how it went.
fn answer(
    app: &App,
    posted_signed: &Signed,
    htmx: bool,
    id: &str,
    said: Result<Option<String>, (StatusCode, String)>,
) -> Response {
    if htmx {
        let note = match &said {
            Ok(Some(text)) => layout::done(text),
            Ok(None) => layout::done("Decided."),
            Err((_, error)) => layout::failed(error),
        };
        return match app.store.approvals().get(id) {
            Ok(Some(approval)) => row(app, posted_signed, &approval, Some(note)).into_response(),
            _ => note.into_response(),
        };
    }
    match said {
        Ok(_) => Redirect::to(&format!("/ui/approvals?decided={}", layout::segment(id))).into_response(),
        Err((status, error)) => {
            let main = html! {
                h1 { "Not decided" }
                (layout::failed(&error))
                p { a href="/ui/approvals" { "Back to the approvals" } }
            };
            (
                status,
                layout::page(posted_signed, Here::Approvals, "Not decided", main),
            )
                .into_response()
        }
    }
}

/// `POST /ui/approvals/{id}/approve` (approver): carries the operation out, once.
pub(crate) async fn approve(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    if let Some(refused) = posted.refused(&app, Role::Approver) {
        return refused;
    }
    let said = match decide::approve(&app, &id, &posted.signed.by()).await {
        Ok(approved) => Ok(Some(match &approved.result {
            Ok(reference) => format!(
                "Approved: executed {} on {}{}.",
                approved.approval.operation,
                approved.target,
                reference
                    .as_ref()
                    .map_or(String::new(), |r| format!(" (receipt {r})"))
            ),
            Err(error) => format!(
                "Approved, but {} on {} failed: {error}",
                approved.approval.operation, approved.target
            ),
        })),
        Err(ApproveError::NotFound(_)) => {
            let status = StatusCode::NOT_FOUND;
            return (
                status,
                layout::refusal(status, &format!("No held operation {id}.")),
            )
                .into_response();
        }
        Err(error) => Err((StatusCode::CONFLICT, error.to_string())),
    };
    answer(&app, &posted.signed, posted.htmx, &id, said)
}

#[derive(Deserialize)]
pub(crate) struct DenyForm {
    #[serde(default)]
    reason: String,
}

/// `POST /ui/approvals/{id}/deny` (approver) with a `reason`: nothing is executed.
pub(crate) async fn deny(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    posted: Posted<DenyForm>,
) -> Response {
    if let Some(refused) = posted.refused(&app, Role::Approver) {
        return refused;
    }
    let said = match decide::deny(&app, &id, &posted.signed.by(), &posted.form.reason) {
        Ok(denied) => Ok(outcome(&denied)),
        Err(decide::DenyError::Decision(palisade_store::ApprovalError::NotFound(_))) => {
            let status = StatusCode::NOT_FOUND;
            return (
                status,
                layout::refusal(status, &format!("No held operation {id}.")),
            )
                .into_response();
        }
        Err(error @ decide::DenyError::NoReason) => Err((StatusCode::BAD_REQUEST, error.to_string())),
        Err(error) => Err((StatusCode::CONFLICT, error.to_string())),
    };
    answer(&app, &posted.signed, posted.htmx, &id, said)
}
