//! `POST /v1/sources/{source}/alerts`: one JSON document, a JSON array of them, or one per line
//! (NDJSON). The sender is authenticated first; each document is read by the source's intake;
//! the answer comes only once the alerts are committed to the queue, and names every alert
//! accepted, every repeat and every line refused with why.

use crate::App;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use palisade_alert::dedup::fingerprint;
use palisade_store::{Admitted, AuditEvent, AuditKind, Offered, QueueError};
use serde_json::json;
use serde_json::value::RawValue;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// When to try again after a 429 or 503, in seconds.
const RETRY_AFTER: &str = "5";

pub(crate) async fn accept(
    State(app): State<Arc<App>>,
    Path(source): Path<String>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if app.draining.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", RETRY_AFTER)],
            "stopping\n",
        )
            .into_response();
    }
    // Unknown source and bad credentials get the same bare answer: nothing to probe with.
    let settings = app.settings();
    let Some(configured) = settings.serve.sources.get(&source) else {
        // Not counted by source: the name is the sender's, and would grow the label set.
        refused(&app, &source, remote, "unknown source");
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if let Err(why) = configured
        .auth
        .verify(&headers, &body, palisade_core::clock::now())
    {
        refused(&app, &source, remote, why.as_str());
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad_request("the body is not UTF-8");
    };
    let documents = match documents(text) {
        Ok(documents) if documents.is_empty() => return bad_request("the body holds no alert"),
        Ok(documents) => documents,
        Err(error) => return bad_request(&error),
    };
    let intake = &settings.intakes[&source];
    let dedup_fields = settings.config.intake.dedup.clone().unwrap_or_default().fields;
    let criticality = &settings.config.intake.priority.criticality;
    let (mut offered, mut rejected) = (Vec::new(), Vec::new());
    for (number, document) in documents {
        match intake.parse(document) {
            Ok(alert) => offered.push(Offered {
                priority: criticality.priority(&alert).score,
                fingerprint: fingerprint(&alert, &dedup_fields),
                alert_id: alert.id,
                document: document.to_owned(),
            }),
            Err(error) => rejected.push(json!({"line": number, "error": error.to_string()})),
        }
    }
    app.metrics.rejected(&source, "malformed", rejected.len());
    let offered_count = offered.len();
    if offered.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"accepted": [], "duplicates": [], "rejected": rejected})),
        )
            .into_response();
    }
    let window = settings.serve.dedup_window.as_secs() as i64;
    match app
        .queue
        .enqueue(&source, offered, settings.serve.queue_limit, window)
        .await
    {
        Ok(admitted) => {
            app.queued.notify_one();
            let (mut accepted, mut duplicates) = (Vec::new(), Vec::new());
            for alert in admitted {
                match alert {
                    Admitted::Queued { alert_id } => accepted.push(json!(alert_id)),
                    Admitted::Duplicate { alert_id, of } => {
                        duplicates.push(json!({"id": alert_id, "of": of}))
                    }
                }
            }
            app.metrics.accepted(&source, accepted.len(), duplicates.len());
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"accepted": accepted, "duplicates": duplicates, "rejected": rejected})),
            )
                .into_response()
        }
        Err(QueueError::Full { .. }) => {
            app.metrics.rejected(&source, "queue-full", offered_count);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", RETRY_AFTER)],
                "the queue is full\n",
            )
                .into_response()
        }
        Err(QueueError::Store(error)) => {
            tracing::error!(%error, "cannot queue alerts");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", RETRY_AFTER)],
                "cannot queue now\n",
            )
                .into_response()
        }
    }
}

fn bad_request(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response()
}

/// Audited with the source and the remote address; the sender learns nothing.
fn refused(app: &App, source: &str, remote: SocketAddr, reason: &str) {
    tracing::warn!(source, %remote, reason, "intake refused");
    app.store.audit().log(AuditEvent {
        kind: AuditKind::Intake,
        decision: "refused",
        detail: json!({"source": source, "remote": remote.to_string(), "reason": reason}),
        ..AuditEvent::default()
    });
}

/// The documents of a body, each with its number (line, or item of an array) and its exact
/// text, so an alert's `raw` is what the sender sent.
fn documents(text: &str) -> Result<Vec<(usize, &str)>, String> {
    if text.trim_start().starts_with('[') {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|error| format!("not a JSON array: {error}"))?;
        return Ok(items
            .iter()
            .enumerate()
            .map(|(index, item)| (index + 1, item.get()))
            .collect());
    }
    // One document, which may span lines; otherwise one per line.
    if serde_json::from_str::<&RawValue>(text).is_ok() {
        return Ok(vec![(1, text.trim())]);
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index + 1, line.trim()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_one_document_an_array_or_one_per_line_each_kept_as_sent() {
        let one = "{\n  \"id\": \"a-1\"\n}\n";
        assert_eq!(documents(one).unwrap(), [(1, "{\n  \"id\": \"a-1\"\n}")]);
        let array = r#"[{"id":"a-1"},  {"id" : "a-2"}]"#;
        assert_eq!(
            documents(array).unwrap(),
            [(1, r#"{"id":"a-1"}"#), (2, r#"{"id" : "a-2"}"#)]
        );
        let lines = "{\"id\":\"a-1\"}\n\nnot json\n{\"id\":\"a-3\"}\n";
        assert_eq!(
            documents(lines).unwrap(),
            [(1, r#"{"id":"a-1"}"#), (3, "not json"), (4, r#"{"id":"a-3"}"#)]
        );
        assert!(documents("[{\"id\":").is_err());
    }
}
