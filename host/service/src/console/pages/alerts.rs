//! `/ui/alerts`: the reported alerts, worst first, filtered by priority, verdict, source, rule
//! and time, fifty to a page. The filter form is a plain GET, so it works without scripts and
//! every filtered view is a link.

use super::super::layout::{self, Here};
use super::super::session::Signed;
use super::super::unavailable;
use super::{TimeRange, link, text};
use crate::App;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use palisade_alert::priority::Label;
use palisade_store::{ReportCursor, ReportFilter, ReportSummary};
use serde::Deserialize;
use std::sync::Arc;

const PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub(crate) struct Filters {
    priority: Option<String>,
    verdict: Option<String>,
    source: Option<String>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after: Option<String>,
}

pub(crate) async fn page(
    State(app): State<Arc<App>>,
    signed: Signed,
    Query(filters): Query<Filters>,
) -> Response {
    match render(&app, &filters) {
        Ok(main) => layout::page(&signed, Here::Alerts, "Alerts", main).into_response(),
        Err(error) => unavailable(error),
    }
}

fn render(app: &App, filters: &Filters) -> Result<Markup, rusqlite::Error> {
    let mut problems = Vec::new();
    let times = TimeRange::read(filters.since.as_deref(), filters.until.as_deref(), &mut problems);
    let filter = ReportFilter {
        priority_label: text(filters.priority.as_deref()),
        verdict: text(filters.verdict.as_deref()),
        source: text(filters.source.as_deref()),
        rule: text(filters.rule.as_deref()),
        since: times.since,
        until: times.until,
    };
    let after = match text(filters.after.as_deref()).map(|after| after.parse::<ReportCursor>()) {
        None => None,
        Some(Ok(cursor)) => Some(cursor),
        Some(Err(error)) => {
            problems.push(format!("{error}: showing the first page"));
            None
        }
    };
    let page = app.store.reports().list(&filter, after.as_ref(), PAGE)?;
    let choices = app.store.reports().choices()?;
    let kept = |key: &'static str, value: &Option<String>| (key, value.clone());
    let with_filters = |extra: Option<(&'static str, String)>| {
        let mut pairs = vec![
            kept("priority", &filter.priority_label),
            kept("verdict", &filter.verdict),
            kept("source", &filter.source),
            kept("rule", &filter.rule),
        ];
        pairs.extend(times.pairs());
        if let Some((key, value)) = extra {
            pairs.push((key, Some(value)));
        }
        link("/ui/alerts", &pairs)
    };
    let priorities: Vec<String> = Label::ALL.iter().map(|p| p.as_str().to_owned()).collect();
    Ok(html! {
        h1 { "Alerts" }
        @for problem in &problems { (layout::failed(problem)) }
        h2 { "Filters" }
        form id="alert-filters" class="filters" method="get" action="/ui/alerts" {
            (select("priority", "Priority", &priorities, &filter.priority_label))
            (select("verdict", "Verdict", &choices.verdicts, &filter.verdict))
            (select("source", "Source", &choices.sources, &filter.source))
            (select("rule", "Rule", &choices.rules, &filter.rule))
            (times.fields("Finished since", "Finished before"))
            div { button type="submit" { "Filter" } }
            div { a href="/ui/alerts" { "Clear filters" } }
        }
        h2 { "Worst first" }
        @if page.reports.is_empty() {
            p { "No alert matches." }
        } @else {
            table id="alerts" {
                thead {
                    tr {
                        th scope="col" { "Priority" }
                        th scope="col" { "Alert" }
                        th scope="col" { "Source" }
                        th scope="col" { "Rule" }
                        th scope="col" { "Verdict" }
                        th scope="col" { "Outcome" }
                        th scope="col" class="num" { "Executed / held / refused" }
                        th scope="col" { "Finished" }
                    }
                }
                tbody {
                    @for report in &page.reports { (row(report)) }
                }
            }
        }
        nav class="pager" aria-label="Pages" {
            @if after.is_some() { a href=(with_filters(None)) { "First page" } }
            @if let Some(next) = &page.next {
                a href=(with_filters(Some(("after", next.to_string())))) rel="next" { "Next page" }
            }
        }
    })
}

fn row(report: &ReportSummary) -> Markup {
    let title = if report.title.is_empty() {
        report.alert_id.as_str()
    } else {
        report.title.as_str()
    };
    html! {
        tr data-alert-id=(report.alert_id) {
            td {
                @match (&report.priority_label, report.priority_score) {
                    (Some(label), Some(score)) => { span class={ "tag " (label) } { (label.to_uppercase()) } " " (score) }
                    _ => span class="muted" { "–" },
                }
            }
            td {
                a href=(layout::alert_href(&report.alert_id)) { (title) }
                @if !report.title.is_empty() { br; span class="muted mono" { (report.alert_id) } }
            }
            td { (report.source) }
            td { (report.rule.as_deref().unwrap_or("–")) }
            td { (report.verdict.as_deref().unwrap_or("–")) }
            td { (report.outcome) }
            td class="num" { (report.actions_executed) " / " (report.actions_held) " / " (report.actions_refused) }
            td { (layout::when(report.finished_at)) }
        }
    }
}

/// A labelled select of `choices`, with "any" first; the current value stays selected even
/// when it is no longer among the choices.
fn select(name: &str, label: &str, choices: &[String], current: &Option<String>) -> Markup {
    let missing = current.as_ref().filter(|value| !choices.contains(value));
    html! {
        div {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                option value="" { "Any" }
                @if let Some(value) = missing { option value=(value) selected { (value) } }
                @for choice in choices {
                    option value=(choice) selected[current.as_ref() == Some(choice)] { (choice) }
                }
            }
        }
    }
}
