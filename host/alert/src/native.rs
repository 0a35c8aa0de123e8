//! Palisade's native alert format: one JSON object per line.
//!
//! ```json
//! {"id": "okta-4711", "title": "Password spray", "source": "Okta",
//!  "rule": {"id": "spray-01", "name": "Password spray"}, "category": "credential-access",
//!  "severity": "high", "confidence": 92, "timestamp": "2026-11-26T09:12:00Z",
//!  "entities": [{"type": "user", "name": "alice", "sign_in": "success"},
//!               {"type": "ip", "address": "203.0.113.7", "direction": "source"}],
//!  "tags": ["okta"]}
//! ```
//!
//! `id` is optional (a stable id is derived from the line when absent), as are `rule`,
//! `entities` and `tags`; everything else is required. Unknown fields are refused so that a
//! misspelt field is reported instead of silently ignored.

use super::{Alert, Entity, Severity, Status};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a line is not an alert.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or JSON of the wrong shape; `path` names the field.
    #[error("{}column {column}: {message}", path_prefix(path))]
    Shape {
        path: String,
        column: usize,
        message: String,
    },
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("field `{path}`, ")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeAlert {
    #[serde(default)]
    id: Option<String>,
    title: String,
    source: String,
    #[serde(default)]
    rule: Option<NativeRule>,
    category: String,
    severity: Severity,
    /// Absent when the source states none.
    #[serde(default)]
    confidence: Option<u8>,
    timestamp: String,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    tags: Vec<String>,
    /// Its status at the source: new, in-progress, failed, resolved, closed, suppressed, passed.
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeRule {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Parses one line of the native format.
pub fn parse_line(line: &str) -> Result<Alert, ParseError> {
    let native = shape(line)?;
    if let Some(confidence) = native.confidence
        && confidence > 100
    {
        return Err(ParseError::Invalid {
            field: "confidence",
            message: format!("{confidence} is above 100"),
        });
    }
    let timestamp = OffsetDateTime::parse(&native.timestamp, &Rfc3339)
        .map_err(|error| ParseError::Invalid {
            field: "timestamp",
            message: format!("{:?} is not an RFC 3339 time: {error}", native.timestamp),
        })?
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("a parsed time formats");
    let id = match native.id {
        Some(id) if id.trim().is_empty() => {
            return Err(ParseError::Invalid {
                field: "id",
                message: "is empty".into(),
            });
        }
        Some(id) => id,
        None => derived_id(line),
    };
    let (rule_id, rule_name) = native.rule.map(|rule| (rule.id, rule.name)).unwrap_or_default();
    Ok(Alert {
        id,
        title: native.title,
        source_product: native.source,
        rule_id,
        rule_name,
        category: native.category,
        severity: native.severity,
        confidence: native.confidence,
        timestamp,
        entities: native.entities,
        tags: native.tags,
        annotations: Vec::new(),
        verdict: None,
        risk_score: None,
        status: native.status,
        raw: line.to_owned(),
    })
}

/// The line as the native format's fields. Most lines are well formed, so they are parsed at
/// full speed; only a line that fails is parsed again, tracking the path, to say where.
/// Anything after the alert's object is refused: a second alert glued to the first on one
/// line would otherwise be dropped without a word.
fn shape(line: &str) -> Result<NativeAlert, ParseError> {
    if let Ok(native) = serde_json::from_str(line) {
        return Ok(native);
    }
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let native: NativeAlert = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        ParseError::Shape {
            path,
            column: inner.column(),
            message: strip_position(&inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|error| ParseError::Shape {
        path: String::new(),
        column: error.column(),
        message: strip_position(&error.to_string()),
    })?;
    Ok(native)
}

/// A stable id for an alert that came without one: the same line always gets the same id,
/// so reruns and dedup agree.
pub(crate) fn derived_id(line: &str) -> String {
    let digest = Sha256::digest(line.trim().as_bytes());
    format!("sha256-{}", &hex::encode(digest)[..16])
}

/// serde_json appends " at line L column C"; the caller reports the position its own way.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, SignInResult};

    const SPRAY: &str = r#"{"id":"a-1","title":"Spray","source":"Okta","rule":{"id":"r1","name":"Password spray"},"category":"credential-access","severity":"high","confidence":92,"timestamp":"2026-11-26T10:12:00+01:00","entities":[{"type":"user","name":"alice","sign_in":"success"},{"type":"ip","address":"203.0.113.7","direction":"source"}],"tags":["okta"]}"#;

    #[test]
    fn a_complete_alert_parses_with_its_entities_and_a_utc_timestamp() {
        let alert = parse_line(SPRAY).unwrap();
        assert_eq!(alert.id, "a-1");
        assert_eq!(alert.rule_name.as_deref(), Some("Password spray"));
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(
            alert.entities[0],
            Entity::User {
                name: "alice".into(),
                domain: None,
                email: None,
                id: None,
                display_name: None,
                sign_in: Some(SignInResult::Success)
            }
        );
        assert_eq!(
            alert.entities[1],
            Entity::Ip {
                address: "203.0.113.7".parse().unwrap(),
                direction: Some(Direction::Source)
            }
        );
        assert_eq!(alert.raw, SPRAY);
    }

    #[test]
    fn an_alert_without_id_gets_a_stable_derived_one() {
        let line = SPRAY.replace(r#""id":"a-1","#, "");
        let first = parse_line(&line).unwrap().id;
        assert!(first.starts_with("sha256-"));
        assert_eq!(first, parse_line(&line).unwrap().id);
    }

    #[test]
    fn a_misspelt_severity_names_the_field_and_the_choices() {
        let error = parse_line(&SPRAY.replace("\"high\"", "\"hgih\"")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("field `severity`"), "{message}");
        assert!(message.contains("unknown variant `hgih`"), "{message}");
    }

    #[test]
    fn a_bad_entity_is_located_inside_the_list() {
        let error = parse_line(&SPRAY.replace("203.0.113.7", "not-an-ip"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("entities[1]"), "{error}");
    }

    #[test]
    fn truncated_json_and_out_of_range_values_are_refused() {
        assert!(parse_line(&SPRAY[..40]).is_err());
        assert!(
            parse_line(&SPRAY.replace("92", "120"))
                .unwrap_err()
                .to_string()
                .contains("confidence")
        );
        assert!(parse_line(&SPRAY.replace("2026-11-26T10:12:00+01:00", "yesterday")).is_err());
        assert!(parse_line(&SPRAY.replace("\"title\"", "\"titel\"")).is_err());
    }

    #[test]
    fn two_alerts_glued_on_one_line_are_refused_not_half_read() {
        let error = parse_line(&format!("{SPRAY}{SPRAY}")).unwrap_err();
        assert!(error.to_string().contains("trailing characters"), "{error}");
        assert!(
            parse_line(&format!("{SPRAY}  \r")).is_ok(),
            "trailing blanks are fine"
        );
    }
}
