//! `/ui/audit`: the audit trail, newest first, a hundred records to a page, searched by alert,
//! plugin, operation, decision, kind and time. Pages go back by record id (`before=`), so a
//! page stays the same while new records arrive.

use super::super::layout::{self, Here};
use super::super::session::Signed;
use super::super::unavailable;
use super::{TimeRange, link, text};
use crate::App;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use palisade_store::{AuditFilter, AuditKind, AuditRecord};
use serde::Deserialize;
use std::sync::Arc;

const PAGE: u32 = 100;
/// Detail longer than this is folded.
const DETAIL_SHOWN: usize = 160;
const KINDS: [&str; 11] = [
    "alert",
    "duplicate",
    "invocation",
    "host-call",
    "approval",
    "undo",
    "breaker",
    "feedback",
    "intake",
    "api",
    "console",
];

#[derive(Deserialize, Default)]
pub(crate) struct Filters {
    alert: Option<String>,
    plugin: Option<String>,
    operation: Option<String>,
    decision: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    before: Option<String>,
}

pub(crate) async fn page(
    State(app): State<Arc<App>>,
    signed: Signed,
    Query(filters): Query<Filters>,
) -> Response {
    match render(&app, &filters) {
        Ok(main) => layout::page(&signed, Here::Audit, "Audit", main).into_response(),
        Err(error) => unavailable(error),
    }
}

fn render(app: &App, filters: &Filters) -> Result<Markup, rusqlite::Error> {
    let mut problems = Vec::new();
    let times = TimeRange::read(filters.since.as_deref(), filters.until.as_deref(), &mut problems);
    let kind = text(filters.kind.as_deref());
    let before = text(filters.before.as_deref()).and_then(|before| before.parse::<i64>().ok());
    let filter = AuditFilter {
        alert_id: text(filters.alert.as_deref()),
        plugin: text(filters.plugin.as_deref()),
        operation: text(filters.operation.as_deref()),
        decision: text(filters.decision.as_deref()),
        kind: kind.as_deref().and_then(AuditKind::parse),
        since: times.since,
        until: times.until,
        before_id: before,
        newest_first: true,
        limit: Some(PAGE),
    };
    if kind.is_some() && filter.kind.is_none() {
        problems.push("kind: not a kind of record; ignored".into());
    }
    let records = app.store.audit().query(&filter)?;
    let older = (records.len() == PAGE as usize)
        .then(|| records.last().map(|record| record.id))
        .flatten();
    let pairs = |before: Option<i64>| {
        let mut pairs = vec![
            ("alert", filter.alert_id.clone()),
            ("plugin", filter.plugin.clone()),
            ("operation", filter.operation.clone()),
            ("decision", filter.decision.clone()),
            ("kind", filter.kind.map(|kind| kind.as_str().to_owned())),
        ];
        pairs.extend(times.pairs());
        pairs.push(("before", before.map(|id| id.to_string())));
        link("/ui/audit", &pairs)
    };
    let input = |name: &str, label: &str, value: &Option<String>| {
        html! {
            div {
                label for=(name) { (label) }
                input id=(name) name=(name) type="text" value=(value.as_deref().unwrap_or(""));
            }
        }
    };
    Ok(html! {
        h1 { "Audit" }
        @for problem in &problems { (layout::failed(problem)) }
        h2 { "Search" }
        form id="audit-filters" class="filters" method="get" action="/ui/audit" {
            (input("alert", "Alert id", &filter.alert_id))
            (input("plugin", "Plugin", &filter.plugin))
            (input("operation", "Operation", &filter.operation))
            (input("decision", "Decision", &filter.decision))
            div {
                label for="kind" { "Kind" }
                select id="kind" name="kind" {
                    option value="" { "Any" }
                    @for name in KINDS {
                        option value=(name) selected[filter.kind.map(AuditKind::as_str) == Some(name)] { (name) }
                    }
                }
            }
            (times.fields("Since", "Before"))
            div { button type="submit" { "Search" } }
            div { a href="/ui/audit" { "Clear" } }
        }
        h2 { "Records, newest first" }
        @if records.is_empty() {
            p { "No record matches." }
        } @else {
            table id="audit" {
                thead {
                    tr {
                        th scope="col" class="num" { "Id" }
                        th scope="col" { "At" }
                        th scope="col" { "Kind" }
                        th scope="col" { "Alert" }
                        th scope="col" { "Plugin" }
                        th scope="col" { "Operation" }
                        th scope="col" { "Target" }
                        th scope="col" { "Decision" }
                        th scope="col" { "Detail" }
                    }
                }
                tbody { @for record in &records { (row(record)) } }
            }
        }
        nav class="pager" aria-label="Pages" {
            @if before.is_some() { a href=(pairs(None)) { "Newest" } }
            @if let Some(id) = older { a href=(pairs(Some(id))) rel="next" { "Older" } }
        }
    })
}

fn row(record: &AuditRecord) -> Markup {
    let detail = if record.detail.is_null() {
        String::new()
    } else {
        record.detail.to_string()
    };
    let short: String = detail.chars().take(DETAIL_SHOWN).collect();
    html! {
        tr data-audit-id=(record.id) {
            td class="num" { (record.id) }
            td { (record.at) }
            td { (record.kind) }
            td { @if let Some(alert) = &record.alert_id { a href=(layout::alert_href(alert)) { (alert) } } }
            td { (record.plugin.as_deref().unwrap_or("")) }
            td { (record.operation.as_deref().unwrap_or("")) }
            td { (record.target.as_deref().unwrap_or("")) }
            td { span class={ "decision-" (record.decision) } { (record.decision) } }
            td class="mono" {
                @if short.len() < detail.len() {
                    details { summary { (short) "…" } (detail) }
                } @else {
                    (detail)
                }
            }
        }
    }
}
