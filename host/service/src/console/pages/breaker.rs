//! `/ui/breaker`: whether the circuit breaker on destructive operations is tripped, its
//! limits, and for admins a reset with a reason (kept in the audit beside the reset).

use super::super::layout::{self, Here, csrf_field};
use super::super::session::Signed;
use super::super::{Posted, unavailable};
use super::text;
use crate::App;
use crate::api::decide;
use crate::config::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use palisade_store::{AuditEvent, AuditKind};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn page(State(app): State<Arc<App>>, signed: Signed) -> Response {
    let trips = match app.store.breaker().status() {
        Ok(trips) => trips,
        Err(error) => return unavailable(error),
    };
    // The last reset, whoever made it (the console, the API, the CLI), as the audit has it.
    let last_reset = match app.store.audit().last_breaker("reset") {
        Ok(last_reset) => last_reset,
        Err(error) => return unavailable(error),
    };
    let settings = app.settings();
    let limits = settings
        .config
        .plugins
        .first()
        .map(|plugin| plugin.policy.blast_radius);
    let main = html! {
        h1 { "Breaker" }
        h2 { "Status" }
        @if trips.is_empty() {
            p { strong class="decision-completed" { "Closed." } " Automation may carry out destructive operations within its limits." }
        } @else {
            p { strong class="decision-refused" { "Tripped." } " Destructive operations in these scopes are held for a person until an admin resets the breaker." }
            table id="trips" {
                thead { tr { th scope="col" { "Scope" } th scope="col" { "Tripped at" } th scope="col" { "Why" } } }
                tbody {
                    @for trip in &trips {
                        tr { td { (trip.scope) } td { (layout::when(trip.tripped_at)) } td { (trip.reason) } }
                    }
                }
            }
        }
        @if let Some(reset) = &last_reset {
            p {
                "Last reset " (reset.at) " by "
                (reset.detail.get("by").and_then(|by| by.as_str()).unwrap_or("someone"))
                @if let Some(plugin) = &reset.plugin { " for " (plugin) }
                "."
            }
        }
        h2 { "Limits" }
        @match limits {
            Some(limits) => p {
                "At most "
                (limits.per_plugin.map_or("any number of".into(), |n| n.to_string())) " destructive operations per plugin and "
                (limits.global.map_or("any number".into(), |n| n.to_string())) " in all, per "
                (limits.window.as_secs() / 60) " minutes."
            },
            None => p { "No plugin is configured." },
        }
        h2 { "Reset" }
        @if signed.may(Role::Admin) {
            form id="breaker-reset" method="post" action="/ui/breaker/reset" {
                (csrf_field(&signed))
                div {
                    label for="plugin" { "Scope" }
                    select id="plugin" name="plugin" {
                        option value="" { "Every plugin" }
                        @for plugin in &settings.config.plugins { option value=(plugin.name) { (plugin.name) } }
                    }
                }
                div {
                    label for="reason" { "Reason" }
                    input id="reason" name="reason" type="text" required maxlength=(decide::MAX_REASON_CHARS);
                }
                div { button type="submit" class="danger" { "Reset the breaker" } }
            }
        } @else {
            p class="muted" { "An admin can reset the breaker; your role is " (signed.role.as_str()) "." }
        }
    };
    layout::page(&signed, Here::Breaker, "Breaker", main).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    plugin: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ui/breaker/reset` (admin) with a `reason` and an optional `plugin`.
pub(crate) async fn reset(State(app): State<Arc<App>>, posted: Posted<ResetForm>) -> Response {
    if let Some(refused) = posted.refused(&app, Role::Admin) {
        return refused;
    }
    let Some(reason) = text(Some(&posted.form.reason)) else {
        let status = StatusCode::BAD_REQUEST;
        return (status, layout::refusal(status, "A reset needs a reason.")).into_response();
    };
    let plugin = text(Some(&posted.form.plugin));
    let by = posted.signed.by();
    match decide::reset(&app, plugin.as_deref(), &by) {
        Ok(cleared) => {
            // The lifecycle's record says who reset what; this one says why.
            app.store.audit().log(AuditEvent {
                kind: AuditKind::Console,
                plugin: plugin.as_deref(),
                decision: "breaker-reset",
                detail: json!({"by": by, "reason": reason, "cleared": cleared}),
                ..AuditEvent::default()
            });
            Redirect::to("/ui/breaker").into_response()
        }
        Err(error) => unavailable(error),
    }
}
