//! `/ui/plugins`: each configured plugin as the workers run it: its stage, the digest of the
//! component loaded (or why it was not), what it is granted, its limits, and its last errors
//! from the audit.

use super::super::layout::{self, Here};
use super::super::session::Signed;
use super::super::unavailable;
use crate::App;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use palisade_runtime::Limits;
use palisade_store::AuditRecord;
use std::sync::Arc;

/// Errors shown per plugin.
const LAST_ERRORS: usize = 5;

pub(crate) async fn page(State(app): State<Arc<App>>, signed: Signed) -> Response {
    match render(&app) {
        Ok(main) => layout::page(&signed, Here::Plugins, "Plugins", main).into_response(),
        Err(error) => unavailable(error),
    }
}

/// A plugin's limits in one line.
pub(crate) fn limits_summary(limits: &Limits) -> String {
    format!(
        "{} MiB memory · {} ms · {} host calls · {} destructive operations · {} KiB output",
        limits.memory_bytes / (1024 * 1024),
        limits.timeout.as_millis(),
        limits.host_calls,
        limits.destructive_operations,
        limits.output_bytes / 1024
    )
}

/// The plugin's newest invocations that did not complete, newest first.
fn last_errors(app: &App, plugin: &str) -> Result<Vec<AuditRecord>, rusqlite::Error> {
    app.store.audit().invocation_errors(plugin, LAST_ERRORS as u32)
}

fn render(app: &App) -> Result<Markup, rusqlite::Error> {
    let settings = app.settings();
    let loaded = app.loaded();
    let mut sections = Vec::new();
    for plugin in &settings.config.plugins {
        let errors = last_errors(app, &plugin.name)?;
        let load = loaded.iter().find(|loaded| loaded.name == plugin.name);
        sections.push(html! {
            h2 id={ "plugin-" (plugin.name) } { (plugin.name) }
            dl class="facts" {
                dt { "Stage" } dd { (plugin.stage.as_str()) }
                dt { "Component" } dd class="mono" { (plugin.path.display()) }
                dt { "SHA-256" } dd class="mono" {
                    @match load {
                        Some(crate::LoadedPlugin { sha256: Some(digest), .. }) => (digest),
                        Some(crate::LoadedPlugin { error: Some(error), .. }) => span class="decision-failed" { "not loaded: " (error) },
                        _ => span class="muted" { "not loaded yet" },
                    }
                }
                @if let Some(version) = load.and_then(|load| load.version.as_deref()) {
                    dt { "Version" } dd { (version) }
                }
                dt { "Grants" } dd {
                    @let grants: Vec<String> = plugin.grants.iter().map(|grant| grant.to_string()).collect();
                    @if grants.is_empty() { span class="muted" { "none: it can only read the alert" } }
                    @for grant in &grants { span class="tag" { (grant) } }
                }
                dt { "Limits" } dd { (limits_summary(&plugin.limits)) }
            }
            h3 { "Last errors" }
            @if errors.is_empty() {
                p class="muted" { "None recorded." }
            } @else {
                table class="errors" {
                    thead { tr { th scope="col" { "At" } th scope="col" { "Alert" } th scope="col" { "How it ended" } th scope="col" { "Detail" } } }
                    tbody {
                        @for error in &errors {
                            tr {
                                td { (error.at) }
                                td { @if let Some(alert) = &error.alert_id { a href=(layout::alert_href(alert)) { (alert) } } }
                                td { span class={ "decision-" (error.decision) } { (error.decision) } }
                                td { (error.detail.get("detail").map_or_else(|| error.detail.to_string(), |d| d.as_str().map_or_else(|| d.to_string(), str::to_owned))) }
                            }
                        }
                    }
                }
            }
        });
    }
    Ok(html! {
        h1 { "Plugins" }
        @if sections.is_empty() { p { "No plugin is configured." } }
        @for section in sections { (section) }
    })
}
