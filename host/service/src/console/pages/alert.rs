//! `/ui/alerts/{id}`: one alert's report: the normalized alert and its entities, each plugin
//! run with its notes and limits, every action with its decision and receipt (and an Undo
//! button where it can be undone and the person may), the tickets, the document as it arrived
//! and the report as kept.
//! `POST /ui/actions/{id}/undo` reverses an executed action through the API's own call.
//!
//! The report is JSON written by this build or an older one: every field is read as optional,
//! so a report missing one shows a dash, never an error.

use super::super::layout::{self, Here, csrf_field};
use super::super::session::Signed;
use super::super::{Posted, unavailable};
use super::login::Nothing;
use super::plugins::limits_summary;
use crate::App;
use crate::api::decide;
use crate::config::Role;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use palisade_response::UndoFailure;
use palisade_store::ReportSummary;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Deserialize, Default)]
pub(crate) struct Shown {
    /// An action just undone, to say so.
    undone: Option<String>,
}

pub(crate) async fn page(
    State(app): State<Arc<App>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let (summary, report) = match app.store.reports().get(&id) {
        Ok(Some(found)) => found,
        Ok(None) => {
            let main = html! { h1 { "No such alert" } (layout::failed(&format!("No report is kept for alert {id}."))) };
            return (
                StatusCode::NOT_FOUND,
                layout::page(&signed, Here::Alerts, "No such alert", main),
            )
                .into_response();
        }
        Err(error) => return unavailable(error),
    };
    let report: Value = serde_json::from_str(&report).unwrap_or(Value::String(report));
    let title = if summary.title.is_empty() {
        summary.alert_id.clone()
    } else {
        summary.title.clone()
    };
    // Said only when the store agrees: a link cannot make the page claim an undo.
    let notice = shown
        .undone
        .and_then(|action| app.store.actions().get(&action).ok().flatten())
        .filter(|row| row.undone_at.is_some() && row.alert_id == summary.alert_id)
        .map(|row| format!("Undone: {} on {} was reversed.", row.operation, row.target));
    let main = render(&app, &signed, &summary, &report, notice.as_deref());
    layout::page(&signed, Here::Alerts, &title, main).into_response()
}

/// A JSON field as text: strings bare, numbers and booleans as written, missing as a dash.
fn field(value: &Value, key: &str) -> String {
    scalar(value.get(key).unwrap_or(&Value::Null))
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "–".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn render(
    app: &App,
    signed: &Signed,
    summary: &ReportSummary,
    report: &Value,
    notice: Option<&str>,
) -> Markup {
    let alert = report.get("alert").unwrap_or(&Value::Null);
    let document = app
        .store
        .reports()
        .document(&summary.alert_id)
        .unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read the alert's document");
            None
        });
    let runs = list(report, "plugins");
    let actions: Vec<&Value> = runs.iter().flat_map(|run| list(run, "actions")).collect();
    let tickets: Vec<&Value> = actions
        .iter()
        .copied()
        .filter(|action| {
            field(action, "operation") == "ticket.create" && field(action, "status") == "executed"
        })
        .collect();
    let settings = app.settings();
    let title = if summary.title.is_empty() {
        &summary.alert_id
    } else {
        &summary.title
    };
    // The summary's columns first; the report's own values for a row kept before they existed.
    let or_report = |kept: &Option<String>, value: &Value, key: &str| {
        kept.clone()
            .or_else(|| value.get(key).filter(|v| !v.is_null()).map(scalar))
            .unwrap_or_else(|| "–".into())
    };
    let rule = summary.rule.clone().or_else(|| {
        ["rule_name", "rule_id"]
            .iter()
            .find_map(|key| alert.get(*key).and_then(Value::as_str).map(str::to_owned))
    });
    let priority = report.get("priority").unwrap_or(&Value::Null);
    let label = summary
        .priority_label
        .clone()
        .or_else(|| priority.get("label").and_then(Value::as_str).map(str::to_owned));
    let score = summary
        .priority_score
        .map(u64::from)
        .or_else(|| priority.get("score").and_then(Value::as_u64));
    html! {
        h1 { (title) }
        @if let Some(notice) = notice { (layout::done(notice)) }
        h2 { "Alert" }
        dl class="facts" {
            dt { "Id" } dd class="mono" { (summary.alert_id) }
            dt { "Source" } dd { (summary.source) @if alert.get("source_product").is_some() { " (" (field(alert, "source_product")) ")" } }
            dt { "Rule" } dd { (rule.as_deref().unwrap_or("–")) }
            dt { "Category" } dd { (field(alert, "category")) }
            dt { "Severity" } dd { (or_report(&summary.severity, alert, "severity")) }
            dt { "Confidence" } dd { (field(alert, "confidence")) }
            dt { "Priority" } dd {
                @match (&label, score) {
                    (Some(label), Some(score)) => { span class={ "tag " (label) } { (label.to_uppercase()) } " score " (score) }
                    _ => "–",
                }
            }
            dt { "Verdict" } dd { (or_report(&summary.verdict, alert, "verdict")) }
            dt { "Risk" } dd { (or_report(&summary.risk.map(|risk| risk.to_string()), alert, "risk_score")) }
            dt { "Outcome" } dd { (or_report(&Some(summary.outcome.clone()).filter(|o| !o.is_empty()), report, "type")) }
            dt { "Time to respond" } dd {
                (summary.time_to_respond_ms.or_else(|| report.get("time_to_respond_ms").and_then(Value::as_f64)).map_or("–".into(), |ms| format!("{ms:.1} ms")))
            }
            dt { "Raised" } dd { (field(alert, "timestamp")) }
            dt { "Finished" } dd { (layout::when(summary.finished_at)) }
            dt { "Tags" } dd { @for tag in list(alert, "tags") { span class="tag" { (scalar(tag)) } } }
            @if let Some(incident) = report.get("incident").filter(|i| !i.is_null()) {
                dt { "Incident" } dd { (scalar(incident)) }
            }
            @if let Some(of) = report.get("of") {
                dt { "Repeat of" } dd { a href=(layout::alert_href(&scalar(of))) { (scalar(of)) } }
            }
            @if let Some(error) = report.get("error") {
                dt { "Error" } dd { (scalar(error)) }
            }
        }
        h2 { "Entities" }
        @if list(alert, "entities").is_empty() {
            p { "None." }
        } @else {
            table id="entities" {
                thead { tr { th scope="col" { "Type" } th scope="col" { "What" } } }
                tbody {
                    @for entity in list(alert, "entities") {
                        tr {
                            td { (field(entity, "type")) }
                            td {
                                @if let Some(fields) = entity.as_object() {
                                    @for (key, value) in fields.iter().filter(|(key, _)| *key != "type") {
                                        span class="muted" { (key) "=" } (scalar(value)) " "
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Plugin runs" }
        @if runs.is_empty() { p { "No plugin ran on this alert." } }
        @for run in runs {
            @let name = field(run, "plugin");
            @let status = field(run, "status");
            h3 { (name) " · " (field(run, "stage")) }
            dl class="facts" {
                dt { "Status" } dd { span class={ "decision-" (status) } { (status) } @if run.get("detail").is_some_and(|d| !d.is_null()) { ": " (field(run, "detail")) } }
                dt { "Summary" } dd { (run.get("outcome").map_or("–".into(), |outcome| field(outcome, "summary"))) }
                dt { "Duration" } dd { (field(run, "duration")) " ms, " (field(run, "host_calls")) " host calls" }
                dt { "Limits" } dd {
                    @match settings.config.plugins.iter().find(|plugin| plugin.name == name) {
                        Some(plugin) => (limits_summary(&plugin.limits)),
                        None => span class="muted" { "no longer configured" },
                    }
                }
                @if !list(run, "denied").is_empty() {
                    dt { "Not granted" } dd { @for denied in list(run, "denied") { span class="tag" { (scalar(denied)) } } }
                }
            }
            @let notes = run.get("outcome").map_or(&[][..], |outcome| list(outcome, "notes"));
            @if !notes.is_empty() {
                table class="notes" {
                    caption class="muted" { "Notes from " (name) }
                    thead { tr { th scope="col" { "Note" } th scope="col" { "Value" } } }
                    tbody {
                        @for note in notes {
                            tr {
                                td { (note.get(0).map_or("–".into(), scalar)) }
                                td { (note.get(1).map_or("–".into(), scalar)) }
                            }
                        }
                    }
                }
            }
            @if !list(run, "reads").is_empty() {
                p class="muted" {
                    "Lookups: "
                    @for read in list(run, "reads") { (field(read, "operation")) " " (field(read, "target")) " (" (field(read, "answer")) "); " }
                }
            }
        }
        h2 { "Actions" }
        @if actions.is_empty() {
            p { "No action was asked for." }
        } @else {
            table id="actions" {
                thead {
                    tr {
                        th scope="col" { "Operation" }
                        th scope="col" { "Target" }
                        th scope="col" { "Decision" }
                        th scope="col" { "Receipt" }
                        th scope="col" { "Undo" }
                    }
                }
                tbody { @for action in &actions { (action_row(app, signed, action, None)) } }
            }
        }
        h2 { "Tickets" }
        @if tickets.is_empty() {
            p { "No ticket was opened." }
        } @else {
            ul { @for ticket in &tickets { li { (layout::external(&field(ticket, "reference"))) " — " (field(ticket, "target")) } } }
        }
        h2 { "Raw document" }
        @match &document {
            Some(document) => {
                p class="muted" { "Exactly as the sender posted it." }
                pre { code { (document) } }
            }
            None => p { "Not kept: this alert was reported by an earlier version." },
        }
        h2 { "Report as kept" }
        pre { code { (serde_json::to_string_pretty(report).unwrap_or_default()) } }
    }
}

/// One action and what can be done about it now. `note` says how an undo just went.
fn action_row(app: &App, signed: &Signed, action: &Value, note: Option<Markup>) -> Markup {
    let id = field(action, "action_id");
    let status = field(action, "status");
    let approval = (status == "held")
        .then(|| {
            app.store
                .approvals()
                .get(&field(action, "approval_id"))
                .ok()
                .flatten()
        })
        .flatten();
    // What was carried out, as the store keeps it for undo: the action itself, or for a held
    // one the execution its approval made.
    let executed = match (status.as_str(), &approval) {
        ("executed", _) => Some(id.clone()),
        (_, Some(approval)) => approval.action_id.clone(),
        _ => None,
    };
    let stored = executed.and_then(|executed| app.store.actions().get(&executed).ok().flatten());
    let undo = stored
        .as_ref()
        .map(|row| format!("/ui/actions/{}/undo", layout::segment(&row.action_id)))
        .unwrap_or_default();
    html! {
        tr data-action-id=(id) {
            td { (field(action, "operation")) }
            td { (field(action, "target")) }
            td { span class={ "decision-" (status) } { (status) } }
            td {
                @match status.as_str() {
                    "executed" => (layout::external(&field(action, "reference"))),
                    "held" => {
                        (field(action, "reason")) ". "
                        @match &approval {
                            Some(approval) => {
                                a href="/ui/approvals" { "Approval " (approval.id) } ": " (approval.status.as_str())
                                @if let Some(by) = &approval.decided_by { " by " (by) }
                            }
                            None => { "Approval " (field(action, "approval_id")) }
                        }
                    }
                    "refused" => (field(action, "reason")),
                    "failed" => (field(action, "error")),
                    "simulated" => { "would be " (field(action, "would")) }
                    _ => "–",
                }
            }
            td {
                @match &stored {
                    Some(row) if row.undone_at.is_some() => {
                        "Undone" @if let Some(by) = &row.undone_by { " by " (by) }
                        @if let Some(at) = row.undone_at { " at " (layout::when(at)) }
                    }
                    Some(row) if row.compensation.is_some() && signed.may(Role::Approver) => {
                        form class="undo" method="post" action=(undo) hx-post=(undo) hx-target="closest tr" hx-swap="outerHTML" {
                            (csrf_field(signed))
                            button type="submit" class="danger" aria-label={ "Undo " (field(action, "operation")) " on " (field(action, "target")) } { "Undo" }
                        }
                    }
                    Some(row) if row.compensation.is_some() => span class="muted" { "An approver can undo it" },
                    Some(_) => span class="muted" { "Cannot be undone" },
                    None => "–",
                }
                @if let Some(note) = note { (note) }
            }
        }
    }
}

/// `POST /ui/actions/{id}/undo` (approver): the compensation runs once. Without scripts the
/// answer is the alert's page again, saying so; with htmx, the action's row as it now is.
pub(crate) async fn undo(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    if let Some(refused) = posted.refused(&app, Role::Approver) {
        return refused;
    }
    let alert_id = match app.store.actions().get(&id) {
        Ok(Some(row)) => row.alert_id,
        Ok(None) => {
            let status = StatusCode::NOT_FOUND;
            return (
                status,
                layout::refusal(status, &format!("No executed action {id}.")),
            )
                .into_response();
        }
        Err(error) => return unavailable(error),
    };
    let result = decide::undo(&app, &id, &posted.signed.by()).await;
    if posted.htmx {
        let note = match &result {
            Ok(_) => layout::done("Undone."),
            Err(error) => layout::failed(&error.to_string()),
        };
        return match reported_action(&app, &alert_id, &id) {
            Some(action) => action_row(&app, &posted.signed, &action, Some(note)).into_response(),
            None => note.into_response(),
        };
    }
    match result {
        Ok(_) => Redirect::to(&format!(
            "{}?undone={}#actions",
            layout::alert_href(&alert_id),
            layout::segment(&id)
        ))
        .into_response(),
        Err(error) => {
            let status = match error {
                UndoFailure::NotFound(_) => StatusCode::NOT_FOUND,
                UndoFailure::Connector(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::CONFLICT,
            };
            let main = html! {
                h1 { "Not undone" }
                (layout::failed(&error.to_string()))
                p { a href=(layout::alert_href(&alert_id)) { "Back to the alert" } }
            };
            (
                status,
                layout::page(&posted.signed, Here::Alerts, "Not undone", main),
            )
                .into_response()
        }
    }
}

/// The report's action that `action_id` carried out: the action itself, or the held one whose
/// approval executed as `action_id`.
fn reported_action(app: &App, alert_id: &str, action_id: &str) -> Option<Value> {
    let (_, report) = app.store.reports().get(alert_id).ok()??;
    let report: Value = serde_json::from_str(&report).ok()?;
    let actions: Vec<&Value> = list(&report, "plugins")
        .iter()
        .flat_map(|run| list(run, "actions"))
        .collect();
    let approved = |action: &&Value| {
        app.store
            .approvals()
            .get(&field(action, "approval_id"))
            .ok()
            .flatten()
            .is_some_and(|approval| approval.action_id.as_deref() == Some(action_id))
    };
    actions
        .iter()
        .find(|action| field(action, "action_id") == action_id)
        .or_else(|| {
            actions
                .iter()
                .find(|action| field(action, "status") == "held" && approved(action))
        })
        .map(|action| (*action).clone())
}
