//! Searches a local JSON-lines file of events.
//!
//! The query is whitespace-separated `field=value` terms that must all hold; a field is a
//! dotted path into the event (`source.ip=203.0.113.7 event.outcome=success`), and values
//! compare as text, ignoring case. The time range applies to `@timestamp` or `timestamp`.

use super::{Event, MAX_EVENTS, Query, SiemSearch};
use crate::{CallContext, ConnectorError};
use serde_json::Value;
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct EventsFile {
    path: Option<PathBuf>,
}

impl EventsFile {
    pub fn new(path: Option<PathBuf>) -> EventsFile {
        EventsFile { path }
    }
}

#[async_trait::async_trait]
impl SiemSearch for EventsFile {
    async fn search(&self, _cx: &CallContext, query: &Query) -> Result<Vec<Event>, ConnectorError> {
        let Some(path) = &self.path else {
            return Ok(Vec::new());
        };
        let terms = parse_terms(&query.query)?;
        let earliest = parse_bound(query.earliest.as_deref(), "earliest")?;
        let latest = parse_bound(query.latest.as_deref(), "latest")?;
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|error| ConnectorError::Failed(format!("cannot read {}: {error}", path.display())))?;
        let limit = query.limit.min(MAX_EVENTS) as usize;
        let mut events = Vec::new();
        // Lines that are not JSON objects are skipped: a SIEM export is not ours to reject.
        for event in text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        {
            if events.len() >= limit {
                break;
            }
            let timestamp = ["@timestamp", "timestamp"]
                .iter()
                .find_map(|field| event.get(field).and_then(Value::as_str))
                .map(str::to_owned);
            let at = timestamp
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            let in_range = match at {
                Some(at) => earliest.is_none_or(|e| at >= e) && latest.is_none_or(|l| at <= l),
                None => earliest.is_none() && latest.is_none(),
            };
            if in_range
                && terms
                    .iter()
                    .all(|(field, value)| field_matches(&event, field, value))
            {
                events.push(Event {
                    timestamp,
                    raw: event,
                });
            }
        }
        Ok(events)
    }
}

fn parse_terms(query: &str) -> Result<Vec<(&str, &str)>, ConnectorError> {
    query
        .split_whitespace()
        .map(|term| {
            term.split_once('=')
                .filter(|(field, _)| !field.is_empty())
                .ok_or_else(|| {
                    ConnectorError::InvalidInput(format!("query term {term:?} is not field=value"))
                })
        })
        .collect()
}

fn parse_bound(bound: Option<&str>, name: &str) -> Result<Option<OffsetDateTime>, ConnectorError> {
    bound
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| ConnectorError::InvalidInput(format!("{name} {text:?} is not an RFC 3339 time")))
        })
        .transpose()
}

fn field_matches(event: &Value, path: &str, expected: &str) -> bool {
    let mut value = event;
    for part in path.split('.') {
        match value.get(part) {
            Some(inner) => value = inner,
            None => return false,
        }
    }
    match value {
        Value::String(text) => text.eq_ignore_ascii_case(expected),
        Value::Array(items) => items
            .iter()
            .any(|item| item.as_str().is_some_and(|s| s.eq_ignore_ascii_case(expected))),
        other => other.to_string().eq_ignore_ascii_case(expected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> CallContext {
        CallContext {
            plugin: "p".into(),
            alert_id: "a".into(),
            action_id: "x".into(),
        }
    }

    #[tokio::test]
    async fn terms_and_the_time_range_select_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"@timestamp":"2026-11-26T09:00:00Z","user":{"name":"alice"},"event":{"outcome":"success"},"source":{"ip":"203.0.113.7"}}"#, "\n",
                r#"{"@timestamp":"2026-11-26T09:01:00Z","user":{"name":"bob"},"event":{"outcome":"failure"},"source":{"ip":"203.0.113.7"}}"#, "\n",
                "not json\n",
                r#"{"@timestamp":"2026-11-20T09:00:00Z","user":{"name":"carol"},"event":{"outcome":"success"},"source":{"ip":"203.0.113.7"}}"#, "\n",
            ),
        )
        .unwrap();
        let siem = EventsFile::new(Some(path));
        let query = Query {
            query: "source.ip=203.0.113.7 event.outcome=SUCCESS".into(),
            earliest: Some("2026-11-26T00:00:00Z".into()),
            latest: None,
            limit: 10,
        };
        let events = siem.search(&cx(), &query).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].raw["user"]["name"], "alice");

        let bad = Query {
            query: "nonsense".into(),
            ..query
        };
        assert!(matches!(
            siem.search(&cx(), &bad).await,
            Err(ConnectorError::InvalidInput(_))
        ));
    }
}
