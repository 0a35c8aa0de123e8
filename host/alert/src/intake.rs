//! The intake's public face: one line of input in, one [`Alert`] or one [`IntakeError`] out.
//!
//! ```
//! use palisade_alert::intake::{self, Format};
//!
//! let line = r#"{"title":"t","source":"Okta","category":"c","severity":"high","confidence":90,"timestamp":"2026-11-26T09:00:00Z"}"#;
//! let alert = intake::parse(line, None).unwrap(); // detected
//! assert_eq!(alert.source_product, "Okta");
//! assert!(intake::parse(line, Some(&Format::Ocsf)).is_err());
//! ```
//!
//! The format is detected per line (see [`super::detect`]) unless one is named. Whatever the
//! format, the document as it arrived stays in [`Alert::raw`], which plugins receive as the
//! WIT `alert.raw`.

use super::detect::{self, Detected};
use super::mapping::Mapping;
use super::{Alert, ecs, native, ocsf, sentinel, splunk};
use serde_json::Value;

/// A longer alert is rejected rather than parsed.
pub const MAX_ALERT_BYTES: usize = 4 << 20;

/// A format an alert can be read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Native,
    Ocsf,
    Ecs,
    Splunk,
    Sentinel,
    /// A `[intake.mappings.NAME]` from the config.
    Mapping(String),
}

impl Format {
    pub const CHOICES: &'static str = "auto, native, ocsf, ecs, splunk, sentinel, mapping:NAME";
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Format::Native => f.write_str("native"),
            Format::Ocsf => f.write_str("ocsf"),
            Format::Ecs => f.write_str("ecs"),
            Format::Splunk => f.write_str("splunk"),
            Format::Sentinel => f.write_str("sentinel"),
            Format::Mapping(name) => write!(f, "mapping:{name}"),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        Ok(match text {
            "native" => Format::Native,
            "ocsf" => Format::Ocsf,
            "ecs" | "elastic" => Format::Ecs,
            "splunk" => Format::Splunk,
            "sentinel" => Format::Sentinel,
            _ => match text.strip_prefix("mapping:") {
                Some(name) if !name.is_empty() => Format::Mapping(name.to_owned()),
                _ => {
                    return Err(format!(
                        "unknown format {text:?}; formats are {}",
                        Format::CHOICES
                    ));
                }
            },
        })
    }
}

/// Why a line is not an alert. The caller adds the line number.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the alert is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("not JSON: column {column}: {message}")]
    NotJson { column: usize, message: String },
    #[error("not a JSON object: an alert is one object per line")]
    NotAnObject,
    #[error("not an alert in a known format; tried {}; name one with --format", tried.join(", "))]
    Undetected { tried: Vec<String> },
    #[error("{format}: missing required field `{field}`")]
    Missing { format: String, field: String },
    #[error("{format}: field `{field}`: {message}")]
    Invalid {
        format: String,
        field: String,
        message: String,
    },
    #[error("native: {0}")]
    Native(#[from] native::ParseError),
    #[error("no mapping named {name:?} in the config (mappings: {known})")]
    UnknownMapping { name: String, known: String },
}

impl IntakeError {
    pub(crate) fn missing(format: &str, field: impl Into<String>) -> IntakeError {
        IntakeError::Missing {
            format: format.to_owned(),
            field: field.into(),
        }
    }

    pub(crate) fn invalid(format: &str, field: impl Into<String>, message: impl Into<String>) -> IntakeError {
        IntakeError::Invalid {
            format: format.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads alerts in one named format, or detects each line's.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    format: Option<Format>,
    mappings: Vec<Mapping>,
}

impl Intake {
    /// `format` `None` detects each line's format; `mappings` come from the config. A named
    /// mapping must exist.
    pub fn new(format: Option<Format>, mappings: Vec<Mapping>) -> Result<Intake, IntakeError> {
        if let Some(Format::Mapping(name)) = &format
            && !mappings.iter().any(|m| &m.name == name)
        {
            return Err(IntakeError::UnknownMapping {
                name: name.clone(),
                known: known(&mappings),
            });
        }
        Ok(Intake { format, mappings })
    }

    /// One line (without its newline) to an alert. An alert whose source states no
    /// confidence is tagged [`UNSTATED_TAG`], so plugins built against the 0.1.0 ABI (whose
    /// confidence is a number) and routing rules can tell it from a stated one.
    pub fn parse(&self, line: &str) -> Result<Alert, IntakeError> {
        let mut alert = self.normalize(line)?;
        if alert.confidence.is_none() && !alert.tags.iter().any(|tag| tag == UNSTATED_TAG) {
            alert.tags.push(UNSTATED_TAG.to_owned());
        }
        // Plugins see the status as a tag: WIT 0.1.0 has no field for it.
        if let Some(status) = alert.status {
            let tag = format!("status:{status}");
            if !alert.tags.contains(&tag) {
                alert.tags.push(tag);
            }
        }
        Ok(alert)
    }

    fn normalize(&self, line: &str) -> Result<Alert, IntakeError> {
        if line.len() > MAX_ALERT_BYTES {
            return Err(IntakeError::TooLarge {
                size: line.len(),
                limit: MAX_ALERT_BYTES,
            });
        }
        // The native format's own parser gives the best errors and needs no detour.
        if self.format == Some(Format::Native) {
            return Ok(native::parse_line(line)?);
        }
        let document: Value = serde_json::from_str(line).map_err(|error| IntakeError::NotJson {
            column: error.column(),
            message: strip_position(&error.to_string()),
        })?;
        if !document.is_object() {
            return Err(IntakeError::NotAnObject);
        }
        let detected = match &self.format {
            None => detect::detect(&document, &self.mappings)
                .ok_or_else(|| IntakeError::Undetected { tried: self.tried() })?,
            Some(Format::Native) => Detected::Native,
            Some(Format::Ocsf) => Detected::Ocsf,
            Some(Format::Ecs) => Detected::Ecs,
            Some(Format::Splunk) => Detected::Splunk,
            Some(Format::Sentinel) => Detected::Sentinel,
            Some(Format::Mapping(name)) => Detected::Mapping(
                self.mappings
                    .iter()
                    .find(|m| &m.name == name)
                    .expect("Intake::new checked the mapping exists"),
            ),
        };
        match detected {
            Detected::Native => Ok(native::parse_line(line)?),
            Detected::Ocsf => ocsf::normalize(&document, line),
            Detected::Ecs => ecs::normalize(&document, line),
            Detected::Splunk => splunk::normalize(&document, line),
            Detected::Sentinel => sentinel::normalize(&document, line),
            Detected::Mapping(mapping) => mapping.normalize(&document, line),
        }
    }

    fn tried(&self) -> Vec<String> {
        let mut tried: Vec<String> = self
            .mappings
            .iter()
            .filter(|m| !m.when.is_empty())
            .map(|m| format!("{} (its match)", m.format_name()))
            .collect();
        tried.extend(detect::SIGNATURES.iter().map(|s| (*s).to_owned()));
        tried
    }
}

/// The tag of an alert whose source states no confidence.
pub const UNSTATED_TAG: &str = "confidence:unstated";

/// One line in a named format, or detected; without the config's mappings.
pub fn parse(line: &str, format: Option<&Format>) -> Result<Alert, IntakeError> {
    Intake::new(format.cloned(), Vec::new())?.parse(line)
}

fn known(mappings: &[Mapping]) -> String {
    if mappings.is_empty() {
        "none".into()
    } else {
        mappings
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// serde_json appends " at line L column C"; the column is reported on its own.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, Severity, SignInResult};

    const SAMPLES: [(&str, &str); 5] = [
        (
            "native",
            include_str!("../../../tests/fixtures/alerts/native/password-spray.json"),
        ),
        (
            "ocsf",
            include_str!("../../../tests/fixtures/alerts/ocsf/password-spray.json"),
        ),
        (
            "ecs",
            include_str!("../../../tests/fixtures/alerts/ecs/password-spray.json"),
        ),
        (
            "splunk",
            include_str!("../../../tests/fixtures/alerts/splunk/webhook-password-spray.json"),
        ),
        (
            "sentinel",
            include_str!("../../../tests/fixtures/alerts/sentinel/securityalert-password-spray.json"),
        ),
    ];

    /// A sample as one line, as it arrives in a JSONL file.
    fn line(sample: &str) -> String {
        serde_json::from_str::<Value>(sample).unwrap().to_string()
    }

    /// What the response depends on: who signed in, who did not, where from.
    fn essence(alert: &Alert) -> Vec<String> {
        let mut out: Vec<String> = alert
            .entities
            .iter()
            .map(|e| match e {
                Entity::User { name, sign_in, .. } => format!("user {name} {sign_in:?}"),
                // Sentinel's ip entity has no direction; the address is what counts.
                Entity::Ip { address, .. } => format!("ip {address}"),
                other => other.label(),
            })
            .collect();
        out.sort();
        out
    }

    /// Every real-shaped sample kept per format (`tests/fixtures/alerts/<format>/`) is read
    /// by auto-detection as that format; the mapping samples need their config, and are read
    /// in `config::intake`.
    #[test]
    fn every_kept_sample_is_read_as_its_format() {
        use crate::detect::Detected;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/alerts");
        let mut read = 0;
        for format in ["native", "ocsf", "ecs", "splunk", "sentinel"] {
            for entry in std::fs::read_dir(root.join(format)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let document: Value = serde_json::from_str(&text).unwrap();
                let detected = match crate::detect::detect(&document, &[]) {
                    Some(Detected::Native) => "native",
                    Some(Detected::Ocsf) => "ocsf",
                    Some(Detected::Ecs) => "ecs",
                    Some(Detected::Splunk) => "splunk",
                    Some(Detected::Sentinel) => "sentinel",
                    Some(Detected::Mapping(_)) | None => "none",
                };
                assert_eq!(detected, format, "{}", path.display());
                parse(&line(&text), None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                read += 1;
            }
        }
        assert!(read >= 10, "{read} samples");
    }

    #[test]
    fn each_formats_status_is_read_and_shown_to_plugins_as_a_tag() {
        use crate::Status;
        let with = |sample: &str, change: &dyn Fn(&mut Value)| {
            let mut document: Value = serde_json::from_str(sample).unwrap();
            change(&mut document);
            parse(&document.to_string(), None).unwrap()
        };
        let ocsf = include_str!("../../../tests/fixtures/alerts/ocsf/password-spray.json");
        let passed = with(ocsf, &|d| d["compliance"] = serde_json::json!({"status_id": 1}));
        assert_eq!(passed.status, Some(Status::Passed));
        assert!(
            passed.tags.contains(&"status:passed".to_owned()),
            "{:?}",
            passed.tags
        );
        let resolved = with(ocsf, &|d| d["status_id"] = 4.into());
        assert_eq!(resolved.status, Some(Status::Resolved));
        let ecs = include_str!("../../../tests/fixtures/alerts/ecs/endpoint-malware-trusted-dll.json");
        assert_eq!(with(ecs, &|_| {}).status, Some(Status::New));
        let closed = with(ecs, &|d| d["kibana.alert.workflow_status"] = "closed".into());
        assert_eq!(closed.status, Some(Status::Closed));
        let notable =
            include_str!("../../../tests/fixtures/alerts/splunk/notable-index-row-without-event-id.json");
        assert_eq!(
            with(notable, &|d| d["status"] = "5".into()).status,
            Some(Status::Closed)
        );
        assert_eq!(
            with(notable, &|d| d["status_label"] = "In Progress".into()).status,
            Some(Status::InProgress)
        );
        let sentinel =
            include_str!("../../../tests/fixtures/alerts/sentinel/securityalert-password-spray.json");
        assert_eq!(
            with(sentinel, &|d| d["Status"] = "Dismissed".into()).status,
            Some(Status::Closed)
        );
        let closed =
            include_str!("../../../tests/fixtures/alerts/sentinel/incident-closed-false-positive.json");
        assert_eq!(with(closed, &|_| {}).status, Some(Status::Closed));
        let passed = include_str!("../../../tests/fixtures/alerts/ocsf/compliance-finding-passed.json");
        assert_eq!(with(passed, &|_| {}).status, Some(Status::Passed));
        let rest = include_str!("../../../tests/fixtures/alerts/sentinel/rest-alert-resource.json");
        assert_eq!(with(rest, &|_| {}).status, Some(Status::New));
    }

    #[test]
    fn the_same_spray_from_every_format_gives_the_same_entities_and_scales() {
        let native = parse(&line(SAMPLES[0].1), None).unwrap();
        for (name, sample) in SAMPLES {
            let line = line(sample);
            let detected = parse(&line, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            let named = parse(&line, Some(&name.parse().unwrap())).unwrap();
            assert_eq!(detected, named, "{name}");
            assert_eq!(essence(&detected), essence(&native), "{name}");
            assert_eq!(detected.severity, Severity::High, "{name}");
            assert!(
                detected.confidence >= Some(80),
                "{name}: {:?}",
                detected.confidence
            );
            assert_eq!(detected.category, "credential-access", "{name}");
            assert_eq!(detected.raw, line, "{name}: the original document is kept");
        }
        assert!(essence(&native).contains(&format!("user alice {:?}", Some(SignInResult::Success))));
    }

    #[test]
    fn an_undetectable_line_names_the_formats_tried() {
        let mapping = Mapping {
            name: "acme".into(),
            when: vec![(crate::fields::path("vendor"), "acme".into())],
            fields: Default::default(),
            defaults: Default::default(),
            severity_values: Default::default(),
            entities: Vec::new(),
        };
        let intake = Intake::new(None, vec![mapping]).unwrap();
        let error = intake.parse(r#"{"hello":"world"}"#).unwrap_err().to_string();
        for format in ["mapping:acme", "ocsf", "ecs", "splunk", "sentinel", "native"] {
            assert!(error.contains(format), "{format} in {error}");
        }
    }

    #[test]
    fn bad_lines_are_refused_with_the_reason() {
        let error = parse("{\"a\": ", None).unwrap_err();
        assert!(matches!(error, IntakeError::NotJson { .. }), "{error}");
        assert!(matches!(
            parse("[1]", None).unwrap_err(),
            IntakeError::NotAnObject
        ));
        let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_ALERT_BYTES));
        let error = parse(&huge, None).unwrap_err().to_string();
        assert!(
            error.contains(&format!("limit of {MAX_ALERT_BYTES} bytes")),
            "{error}"
        );
        let error = parse(&line(SAMPLES[1].1), Some(&Format::Ecs))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("ecs: missing required field"), "{error}");
        let error = Intake::new(Some(Format::Mapping("nope".into())), Vec::new()).unwrap_err();
        assert!(error.to_string().contains("no mapping named \"nope\""), "{error}");
    }

    #[test]
    fn formats_parse_from_their_names() {
        for name in ["native", "ocsf", "ecs", "splunk", "sentinel", "mapping:acme"] {
            assert_eq!(name.parse::<Format>().unwrap().to_string(), name);
        }
        assert_eq!("elastic".parse::<Format>().unwrap(), Format::Ecs);
        assert!("mapping:".parse::<Format>().is_err());
        assert!("qradar".parse::<Format>().unwrap_err().contains("mapping:NAME"));
    }
}
