//! `/ui/`: the state of things at a glance (queue, waiting approvals, breaker) and the last
//! 24 hours as charts: alerts, actions by decision, time to respond.

use super::super::charts::{Chart, Kind, Series};
use super::super::layout::{self, Here};
use super::super::session::Signed;
use super::super::unavailable;
use crate::App;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::sync::Arc;

const HOURS: usize = 24;
const HOUR: i64 = 3600;

/// How the chart groups the audit's action decisions: what automation or a person did.
const DECISION_SERIES: [(&str, &str, &[&str]); 4] = [
    ("Executed", "series-executed", &["executed", "approved-executed"]),
    ("Held for a person", "series-held", &["held"]),
    ("Refused or denied", "series-refused", &["refused", "denied"]),
    (
        "Failed or simulated",
        "series-other",
        &["failed", "approved-failed", "simulated"],
    ),
];

pub(crate) async fn page(State(app): State<Arc<App>>, signed: Signed) -> Response {
    match render(&app, palisade_core::clock::now()) {
        Ok(main) => layout::page(&signed, Here::Overview, "Overview", main).into_response(),
        Err(error) => unavailable(error),
    }
}

fn render(app: &App, now: i64) -> Result<Markup, rusqlite::Error> {
    let (depth, oldest) = app.queue.depth()?;
    let stored = app.store.reports().count()?;
    let waiting = app.store.approvals().list(false)?.len();
    let trips = app.store.breaker().status()?;
    let first = (now.div_euclid(HOUR) - (HOURS as i64 - 1)) * HOUR;
    let hours: Vec<i64> = (0..HOURS as i64).map(|n| first + n * HOUR).collect();
    let slot = |start: i64| {
        usize::try_from((start - first) / HOUR)
            .ok()
            .filter(|slot| *slot < HOURS)
    };

    let mut alerts = vec![None; HOURS];
    let mut median = vec![None; HOURS];
    let mut p95 = vec![None; HOURS];
    for hour in app.store.reports().hourly(first)? {
        if let Some(at) = slot(hour.start) {
            alerts[at] = Some(f64::from(hour.alerts));
            median[at] = hour.ttr_median_ms;
            p95[at] = hour.ttr_p95_ms;
        }
    }
    let mut decisions = vec![vec![None; HOURS]; DECISION_SERIES.len()];
    for (start, decision, count) in app.store.audit().hourly_decisions(first)? {
        let series = DECISION_SERIES
            .iter()
            .position(|(_, _, members)| members.contains(&decision.as_str()))
            .unwrap_or(DECISION_SERIES.len() - 1);
        if let Some(at) = slot(start) {
            let cell: &mut Option<f64> = &mut decisions[series][at];
            *cell = Some(cell.unwrap_or(0.0) + f64::from(count));
        }
    }
    let alerts_chart = Chart {
        title: "Alerts per hour",
        hours: &hours,
        series: vec![Series {
            label: "Alerts".into(),
            class: "bar".into(),
            values: alerts,
        }],
        kind: Kind::Bars,
        unit: "",
    };
    let actions_chart = Chart {
        title: "Actions per hour by decision",
        hours: &hours,
        series: DECISION_SERIES
            .iter()
            .zip(decisions)
            .map(|((label, class, _), values)| Series {
                label: (*label).into(),
                class: (*class).into(),
                values,
            })
            .collect(),
        kind: Kind::Bars,
        unit: "",
    };
    let respond_chart = Chart {
        title: "Time to respond",
        hours: &hours,
        series: vec![
            Series {
                label: "Median".into(),
                class: "line-median".into(),
                values: median,
            },
            Series {
                label: "95th percentile".into(),
                class: "line-p95".into(),
                values: p95,
            },
        ],
        kind: Kind::Lines,
        unit: " ms",
    };
    Ok(html! {
        h1 { "Overview" }
        h2 { "Now" }
        div class="cards" {
            div class="card" {
                p class="figure" { (depth) }
                p { "alerts queued" }
                @if let Some(age) = oldest { p class="muted" { "oldest " (age) " s ago" } }
            }
            div class="card" {
                p class="figure" { (stored) }
                p { a href="/ui/alerts" { "alerts reported" } }
            }
            div class="card" {
                p class="figure" { (waiting) }
                p { a href="/ui/approvals" { "operations waiting for a person" } }
            }
            div class="card" {
                @if trips.is_empty() {
                    p class="figure decision-completed" { "Closed" }
                    p { a href="/ui/breaker" { "breaker" } ": automation may act" }
                } @else {
                    p class="figure decision-refused" { "Tripped" }
                    p { a href="/ui/breaker" { "breaker" } ": " (trips.len()) " scope(s) holding destructive operations" }
                }
            }
        }
        h2 { "Alerts per hour" }
        (alerts_chart.render())
        h2 { "Actions per hour by decision" }
        (actions_chart.render())
        h2 { "Time to respond" }
        p class="muted" { "From an alert's arrival to its first response action, per hour: median and 95th percentile." }
        (respond_chart.render())
    })
}
