//! Any other JSON alert, through a field mapping the admin writes in `palisade.toml`:
//!
//! ```toml
//! [intake.mappings.acme]
//! # Optional: detect this format when every path has that value (text compared ignoring case).
//! match = { "vendor" = "Acme IdP", "kind" = "detection" }
//! # Alert fields from field paths (dots, `[0]`, `[*]`; see `FieldPath`).
//! id = "alert.id"              # optional: a stable id is derived from the line
//! title = "alert.name"
//! source = "vendor"
//! rule_id = "alert.rule.id"
//! rule_name = "alert.rule.name"
//! category = "alert.tactic"
//! severity = "alert.level"
//! confidence = "alert.score"
//! timestamp = "alert.created"  # required
//! tags = "alert.labels"
//!
//! # Values for fields the document lacks (or that have no path).
//! [intake.mappings.acme.defaults]
//! source = "Acme IdP"
//! category = "credential-access"
//!
//! # The vendor's severity values, when they are not Palisade's words.
//! [intake.mappings.acme.severity_values]
//! "1" = "low"
//! "2" = "medium"
//! "3" = "high"
//!
//! [[intake.mappings.acme.entities]]
//! kind = "user"                # user, host, ip, domain, url, file-hash, email-address, process
//! path = "accounts.compromised[*]"
//! sign_in = "success"          # users: the sign-in result of every name the path reaches
//!
//! [[intake.mappings.acme.entities]]
//! kind = "ip"
//! path = "attacker.ip"
//! direction = "source"         # ips: source or destination
//! ```
//!
//! `title` (a path or a default), `timestamp` (a path) and `severity` (a path or a default)
//! are required; the config check says so. A document without a mapped required field is
//! rejected naming the field.
//!
//! Severity: the `severity_values` table first, then Palisade's words (informational or
//! info, low, medium or moderate, high, critical), ignoring case. Confidence: a number 0-100
//! (a fraction 0-1 is scaled), or Low 30, Medium 60, High 90; absent: the default, else 50.
//! Times: RFC 3339, or seconds or milliseconds since 1970.

use super::fields::{self, Entities, FieldPath};
use super::intake::IntakeError;
use super::{Alert, Direction, Severity, SignInResult};
use serde_json::Value;
use std::collections::BTreeMap;

/// A validated mapping, as the config builds it.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub name: String,
    /// Selects the mapping during detection when every path has its value; empty: only
    /// `--format mapping:NAME` selects it.
    pub when: Vec<(FieldPath, String)>,
    pub fields: BTreeMap<AlertField, FieldPath>,
    pub defaults: BTreeMap<AlertField, String>,
    /// Lower-cased vendor value -> severity.
    pub severity_values: BTreeMap<String, Severity>,
    pub entities: Vec<EntityRule>,
}

/// The alert fields a mapping can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertField {
    Id,
    Title,
    Source,
    RuleId,
    RuleName,
    Category,
    Severity,
    Confidence,
    Timestamp,
    Tags,
}

impl AlertField {
    pub const ALL: [AlertField; 10] = [
        AlertField::Id,
        AlertField::Title,
        AlertField::Source,
        AlertField::RuleId,
        AlertField::RuleName,
        AlertField::Category,
        AlertField::Severity,
        AlertField::Confidence,
        AlertField::Timestamp,
        AlertField::Tags,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertField::Id => "id",
            AlertField::Title => "title",
            AlertField::Source => "source",
            AlertField::RuleId => "rule_id",
            AlertField::RuleName => "rule_name",
            AlertField::Category => "category",
            AlertField::Severity => "severity",
            AlertField::Confidence => "confidence",
            AlertField::Timestamp => "timestamp",
            AlertField::Tags => "tags",
        }
    }

    pub fn parse(name: &str) -> Option<AlertField> {
        AlertField::ALL.into_iter().find(|field| field.as_str() == name)
    }
}

/// Which entities a path yields.
#[derive(Debug, Clone)]
pub struct EntityRule {
    pub kind: EntityKind,
    pub path: FieldPath,
    pub sign_in: Option<SignInResult>,
    pub direction: Option<Direction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Host,
    Ip,
    Domain,
    Url,
    FileHash,
    EmailAddress,
    Process,
}

impl EntityKind {
    pub const NAMES: &'static str = "user, host, ip, domain, url, file-hash, email-address, process";

    pub fn parse(name: &str) -> Option<EntityKind> {
        Some(match name {
            "user" => EntityKind::User,
            "host" => EntityKind::Host,
            "ip" => EntityKind::Ip,
            "domain" => EntityKind::Domain,
            "url" => EntityKind::Url,
            "file-hash" => EntityKind::FileHash,
            "email-address" => EntityKind::EmailAddress,
            "process" => EntityKind::Process,
            _ => return None,
        })
    }
}

/// Palisade's severity words, and the usual synonyms.
pub fn severity_word(word: &str) -> Option<Severity> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "informational" | "info" => Severity::Informational,
        "low" => Severity::Low,
        "medium" | "moderate" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

impl Mapping {
    /// The format's name in messages: `mapping:NAME`.
    pub fn format_name(&self) -> String {
        format!("mapping:{}", self.name)
    }

    /// Whether detection picks this mapping for the document.
    pub fn matches(&self, document: &Value) -> bool {
        !self.when.is_empty()
            && self.when.iter().all(|(path, want)| {
                path.values(document)
                    .into_iter()
                    .filter_map(fields::scalar_text)
                    .any(|value| value.eq_ignore_ascii_case(want))
            })
    }

    pub(crate) fn normalize(&self, document: &Value, raw: &str) -> Result<Alert, IntakeError> {
        let format = self.format_name();
        let missing = |field: AlertField| {
            let described = match self.fields.get(&field) {
                Some(path) => format!("{path} ({})", field.as_str()),
                None => field.as_str().to_owned(),
            };
            IntakeError::Missing {
                format: format.clone(),
                field: described,
            }
        };
        let invalid = |field: AlertField, message: String| IntakeError::Invalid {
            format: format.clone(),
            field: self
                .fields
                .get(&field)
                .map_or_else(|| field.as_str().to_owned(), |path| path.to_string()),
            message,
        };
        let value = |field: AlertField| -> Option<Value> {
            self.fields
                .get(&field)
                .and_then(|path| path.first(document))
                .filter(|v| fields::scalar_text(v).is_some())
                .cloned()
                .or_else(|| self.defaults.get(&field).map(|d| Value::String(d.clone())))
        };
        let text = |field: AlertField| value(field).as_ref().and_then(fields::scalar_text);

        let title = text(AlertField::Title).ok_or_else(|| missing(AlertField::Title))?;
        let time = value(AlertField::Timestamp).ok_or_else(|| missing(AlertField::Timestamp))?;
        let timestamp =
            fields::timestamp(&time).map_err(|message| invalid(AlertField::Timestamp, message))?;
        let severity_text = text(AlertField::Severity).ok_or_else(|| missing(AlertField::Severity))?;
        let severity = self
            .severity_values
            .get(&severity_text.to_ascii_lowercase())
            .copied()
            .or_else(|| severity_word(&severity_text))
            .ok_or_else(|| {
                invalid(
                    AlertField::Severity,
                    format!("{severity_text:?} is not a severity: name it in severity_values"),
                )
            })?;
        let confidence = match value(AlertField::Confidence) {
            None => None,
            Some(value) => Some({
                let number = match &value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                number
                    .and_then(fields::percent)
                    .or_else(|| fields::scalar_text(&value).and_then(|w| fields::confidence_word(&w)))
                    .ok_or_else(|| {
                        invalid(
                            AlertField::Confidence,
                            format!("{value} is not a confidence (0-100, or low, medium, high)"),
                        )
                    })?
            }),
        };
        let tags = match self.fields.get(&AlertField::Tags) {
            Some(path) => path.values(document).into_iter().flat_map(fields::list).collect(),
            None => self
                .defaults
                .get(&AlertField::Tags)
                .cloned()
                .into_iter()
                .collect(),
        };
        let mut entities = Entities::default();
        for rule in &self.entities {
            for found in rule.path.values(document) {
                for text in fields::list(found) {
                    add_entity(rule, &text, &mut entities);
                }
            }
        }
        Ok(Alert {
            id: text(AlertField::Id).unwrap_or_else(|| super::native::derived_id(raw)),
            title,
            source_product: text(AlertField::Source).unwrap_or_else(|| self.name.clone()),
            rule_id: text(AlertField::RuleId),
            rule_name: text(AlertField::RuleName),
            category: text(AlertField::Category)
                .map(|c| fields::kebab(&c))
                .unwrap_or_else(|| "uncategorized".into()),
            severity,
            confidence,
            timestamp,
            entities: entities.into_vec(),
            tags,
            annotations: Vec::new(),
            verdict: None,
            risk_score: None,
            status: None,
            raw: raw.to_owned(),
        })
    }
}

fn add_entity(rule: &EntityRule, text: &str, entities: &mut Entities) {
    match rule.kind {
        EntityKind::User => entities.user_signed(text, rule.sign_in),
        EntityKind::Host => entities.host(text, None, None, None, Vec::new()),
        EntityKind::Ip => {
            entities.ip(text, rule.direction);
        }
        EntityKind::Domain => entities.domain(text),
        EntityKind::Url => entities.url(text),
        EntityKind::FileHash => entities.hash(None, text, None),
        EntityKind::EmailAddress => entities.email(text, None),
        EntityKind::Process => entities.process(text, None, None, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entity;

    pub(crate) const SPRAY: &str =
        include_str!("../../../tests/fixtures/alerts/mapping/acme-password-spray.json");

    fn acme() -> Mapping {
        let path = |p: &str| FieldPath::parse(p).unwrap();
        Mapping {
            name: "acme".into(),
            when: vec![(path("vendor"), "acme idp".into())],
            fields: [
                (AlertField::Id, path("alert.id")),
                (AlertField::Title, path("alert.name")),
                (AlertField::Severity, path("alert.level")),
                (AlertField::Confidence, path("alert.score")),
                (AlertField::Timestamp, path("alert.created")),
                (AlertField::RuleId, path("alert.rule")),
                (AlertField::Tags, path("labels")),
            ]
            .into(),
            defaults: [
                (AlertField::Source, "Acme IdP".to_owned()),
                (AlertField::Category, "Credential Access".to_owned()),
            ]
            .into(),
            severity_values: [("3".to_owned(), Severity::High)].into(),
            entities: vec![
                EntityRule {
                    kind: EntityKind::User,
                    path: path("accounts.compromised[*]"),
                    sign_in: Some(SignInResult::Success),
                    direction: None,
                },
                EntityRule {
                    kind: EntityKind::User,
                    path: path("accounts.failed"),
                    sign_in: Some(SignInResult::Failure),
                    direction: None,
                },
                EntityRule {
                    kind: EntityKind::Ip,
                    path: path("attacker.ip"),
                    sign_in: None,
                    direction: Some(Direction::Source),
                },
            ],
        }
    }

    #[test]
    fn a_mapped_spray_fills_every_field() {
        let document: Value = serde_json::from_str(SPRAY).unwrap();
        let mapping = acme();
        assert!(mapping.matches(&document));
        let alert = mapping.normalize(&document, SPRAY).unwrap();
        assert_eq!(alert.id, "acme-77");
        assert_eq!(alert.title, "Password spray against 3 accounts");
        assert_eq!(alert.source_product, "Acme IdP");
        assert_eq!(alert.rule_id.as_deref(), Some("okta-spray-01"));
        assert_eq!(alert.category, "credential-access");
        assert_eq!(alert.severity, Severity::High, "from severity_values");
        assert_eq!(alert.confidence, Some(92), "0.92 scaled");
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(alert.tags, ["identity"]);
        assert_eq!(
            alert.entities,
            [
                Entity::User {
                    name: "alice".into(),
                    domain: None,
                    email: None,
                    id: None,
                    display_name: None,
                    sign_in: Some(SignInResult::Success)
                },
                Entity::User {
                    name: "bob".into(),
                    domain: None,
                    email: None,
                    id: None,
                    display_name: None,
                    sign_in: Some(SignInResult::Success)
                },
                Entity::User {
                    name: "carol".into(),
                    domain: None,
                    email: None,
                    id: None,
                    display_name: None,
                    sign_in: Some(SignInResult::Failure)
                },
                Entity::Ip {
                    address: "203.0.113.7".parse().unwrap(),
                    direction: Some(Direction::Source)
                },
            ]
        );
    }

    #[test]
    fn a_missing_mapped_field_and_an_unknown_severity_are_named() {
        let mapping = acme();
        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["alert"].as_object_mut().unwrap().remove("name");
        let error = mapping.normalize(&document, SPRAY).unwrap_err().to_string();
        assert!(
            error.contains("mapping:acme") && error.contains("`alert.name (title)`"),
            "{error}"
        );

        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["alert"]["level"] = 9.into();
        let error = mapping.normalize(&document, SPRAY).unwrap_err().to_string();
        assert!(error.contains("\"9\" is not a severity"), "{error}");

        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["vendor"] = "Other".into();
        assert!(!mapping.matches(&document));
    }
}
