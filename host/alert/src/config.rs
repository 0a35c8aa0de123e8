//! `[intake]`: how alerts are read. Field mappings, `[intake.mappings.NAME]` (the format is
//! described in [`crate::mapping`]); `[intake.priority]`, the entities that make an
//! alert more urgent ([`crate::priority`]); `[intake.dedup]`, what makes an alert a
//! repeat of another ([`crate::dedup`]); `[intake.grouping]`, which alerts form one
//! incident ([`crate::grouping`]).

use crate::dedup::{self, DedupConfig};
use crate::fields::FieldPath;
use crate::grouping::{self, GroupingConfig};
use crate::mapping::{AlertField, EntityKind, EntityRule, Mapping, severity_word};
use crate::priority::{Criticality, DEFAULT_WINDOW, MAX_WINDOW};
use crate::{Direction, SignInResult};
use indexmap::IndexMap;
use palisade_core::located::Reporter;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawIntake {
    #[serde(default)]
    mappings: IndexMap<String, Spanned<RawMapping>>,
    #[serde(default)]
    priority: RawPriority,
    dedup: Option<Spanned<RawDedup>>,
    grouping: Option<Spanned<RawGrouping>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    #[serde(default)]
    crown_jewels: Vec<Spanned<String>>,
    #[serde(default)]
    vip_users: Vec<Spanned<String>>,
    window: Option<Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    fields: Option<Vec<Spanned<String>>>,
    window_minutes: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrouping {
    by: Option<Vec<Spanned<String>>>,
    window_minutes: Option<Spanned<u32>>,
}

/// `[intake]`, validated.
#[derive(Debug, Default)]
pub struct IntakeConfig {
    /// `[intake.mappings.NAME]`, in the order written: the first that matches a document wins.
    pub mappings: Vec<Mapping>,
    pub priority: PriorityConfig,
    /// `[intake.dedup]`; `None` when the section is absent (no deduplication).
    pub dedup: Option<DedupConfig>,
    /// `[intake.grouping]`; `None` when the section is absent (every alert its own incident).
    pub grouping: Option<GroupingConfig>,
}

/// `[intake.priority]`, validated.
#[derive(Debug, Clone)]
pub struct PriorityConfig {
    pub criticality: Criticality,
    /// Alerts read and sorted at once, at most.
    pub window: usize,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            criticality: Criticality::default(),
            window: DEFAULT_WINDOW,
        }
    }
}

impl IntakeConfig {
    pub fn from_toml(raw: RawIntake, report: &mut Reporter) -> IntakeConfig {
        IntakeConfig {
            mappings: mappings(raw.mappings, report),
            priority: priority(raw.priority, report),
            dedup: raw.dedup.map(|raw| dedup(raw, report)),
            grouping: raw.grouping.map(|raw| grouping(raw, report)),
        }
    }
}

fn grouping(raw: Spanned<RawGrouping>, report: &mut Reporter) -> GroupingConfig {
    let span = raw.span();
    let raw = raw.into_inner();
    let mut config = GroupingConfig::default();
    if let Some(by) = raw.by {
        let mut kinds = Vec::new();
        for (index, kind) in by.iter().enumerate() {
            match EntityKind::parse(kind.get_ref()) {
                Some(parsed) if !kinds.contains(&parsed) => kinds.push(parsed),
                Some(_) => {}
                None => report.error(
                    Some(kind.span()),
                    format!("intake.grouping.by[{index}]"),
                    format!(
                        "unknown entity kind {:?}; kinds are {}",
                        kind.get_ref(),
                        EntityKind::NAMES
                    ),
                ),
            }
        }
        if by.is_empty() {
            report.error(
                Some(span),
                "intake.grouping.by",
                "name at least one entity kind, e.g. by = [\"user\", \"host\", \"ip\"]",
            );
        }
        config.kinds = kinds;
    }
    if let Some(window) = window(
        raw.window_minutes,
        grouping::MAX_WINDOW_MINUTES,
        "intake.grouping",
        report,
    ) {
        config.window = window;
    }
    config
}

fn priority(raw: RawPriority, report: &mut Reporter) -> PriorityConfig {
    let patterns = |list: &[Spanned<String>], key: &str, report: &mut Reporter| {
        let mut valid = Vec::new();
        for (index, pattern) in list.iter().enumerate() {
            match Criticality::check(pattern.get_ref()) {
                Ok(()) => valid.push(pattern.get_ref().clone()),
                Err(error) => report.error(
                    Some(pattern.span()),
                    format!("intake.priority.{key}[{index}]"),
                    format!("not a glob: {}", error.kind()),
                ),
            }
        }
        valid
    };
    let crown_jewels = patterns(&raw.crown_jewels, "crown_jewels", report);
    let vip_users = patterns(&raw.vip_users, "vip_users", report);
    let criticality = Criticality::new(&crown_jewels, &vip_users).unwrap_or_default();
    let window = match &raw.window {
        Some(window) => report
            .in_range(window, 1..=MAX_WINDOW, "intake.priority.window")
            .unwrap_or(DEFAULT_WINDOW),
        None => DEFAULT_WINDOW,
    };
    PriorityConfig { criticality, window }
}

fn dedup(raw: Spanned<RawDedup>, report: &mut Reporter) -> DedupConfig {
    let span = raw.span();
    let raw = raw.into_inner();
    let mut config = DedupConfig::default();
    if let Some(fields) = raw.fields {
        let mut chosen = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            match dedup::Field::parse(field.get_ref()) {
                Some(parsed) => chosen.push(parsed),
                None => {
                    let names: Vec<&str> = dedup::Field::ALL.iter().map(|f| f.as_str()).collect();
                    report.error(
                        Some(field.span()),
                        format!("intake.dedup.fields[{index}]"),
                        format!(
                            "{:?} is not a fingerprint field; fields are {}",
                            field.get_ref(),
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        if fields.is_empty() {
            report.error(
                Some(span),
                "intake.dedup.fields",
                "name at least one field, e.g. fields = [\"rule\", \"entities\"]",
            );
        }
        chosen.sort();
        chosen.dedup();
        config.fields = chosen;
    }
    if let Some(window) = window(
        raw.window_minutes,
        dedup::MAX_WINDOW_MINUTES,
        "intake.dedup",
        report,
    ) {
        config.window = window;
    }
    config
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default, rename = "match")]
    when: IndexMap<Spanned<String>, Spanned<toml::Value>>,
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    rule_id: Option<Spanned<String>>,
    rule_name: Option<Spanned<String>>,
    category: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    confidence: Option<Spanned<String>>,
    timestamp: Option<Spanned<String>>,
    tags: Option<Spanned<String>>,
    #[serde(default)]
    defaults: IndexMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    severity_values: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    entities: Vec<Spanned<RawEntityRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntityRule {
    kind: Spanned<String>,
    path: Spanned<String>,
    sign_in: Option<Spanned<String>>,
    direction: Option<Spanned<String>>,
}

/// A `window_minutes` key, checked against its section's limit.
fn window(
    minutes: Option<Spanned<u32>>,
    max: u32,
    section: &str,
    report: &mut Reporter,
) -> Option<std::time::Duration> {
    let minutes = minutes?;
    let value = report.in_range(&minutes, 1..=max, format!("{section}.window_minutes"))?;
    Some(std::time::Duration::from_secs(u64::from(value) * 60))
}

fn mappings(raw: IndexMap<String, Spanned<RawMapping>>, report: &mut Reporter) -> Vec<Mapping> {
    raw.into_iter()
        .filter_map(|(name, raw)| mapping(name, raw, report))
        .collect()
}

fn mapping(name: String, raw: Spanned<RawMapping>, report: &mut Reporter) -> Option<Mapping> {
    let key = format!("intake.mappings.{name}");
    let span = raw.span();
    let raw = raw.into_inner();
    let errors_before = report.errors.len();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        report.error(
            Some(span.clone()),
            &key,
            "a mapping name is letters, digits, `-` and `_` (it is written --format mapping:NAME)",
        );
    }
    let path =
        |text: &Spanned<String>, entry: String, report: &mut Reporter| match FieldPath::parse(text.get_ref())
        {
            Ok(path) => Some(path),
            Err(error) => {
                report.error(Some(text.span()), entry, error);
                None
            }
        };

    let mut when = Vec::new();
    for (field, value) in &raw.when {
        let entry = format!("{key}.match.{}", field.get_ref());
        let parsed = path(field, entry.clone(), report);
        match scalar(value.get_ref()) {
            Some(value) => when.extend(parsed.map(|p| (p, value))),
            None => report.error(
                Some(value.span()),
                entry,
                "a match value is a string, number or boolean",
            ),
        }
    }

    let mut fields = BTreeMap::new();
    for (field, text) in [
        (AlertField::Id, &raw.id),
        (AlertField::Title, &raw.title),
        (AlertField::Source, &raw.source),
        (AlertField::RuleId, &raw.rule_id),
        (AlertField::RuleName, &raw.rule_name),
        (AlertField::Category, &raw.category),
        (AlertField::Severity, &raw.severity),
        (AlertField::Confidence, &raw.confidence),
        (AlertField::Timestamp, &raw.timestamp),
        (AlertField::Tags, &raw.tags),
    ] {
        if let Some(text) = text
            && let Some(parsed) = path(text, format!("{key}.{}", field.as_str()), report)
        {
            fields.insert(field, parsed);
        }
    }

    let mut defaults = BTreeMap::new();
    for (field, value) in &raw.defaults {
        let entry = format!("{key}.defaults.{}", field.get_ref());
        let Some(alert_field) = AlertField::parse(field.get_ref()) else {
            let names: Vec<&str> = AlertField::ALL.iter().map(|f| f.as_str()).collect();
            report.error(
                Some(field.span()),
                entry,
                format!("not an alert field; fields are {}", names.join(", ")),
            );
            continue;
        };
        if alert_field == AlertField::Timestamp {
            report.error(
                Some(field.span()),
                entry,
                "a timestamp comes from the document, not a default",
            );
            continue;
        }
        let Some(text) = scalar(value.get_ref()) else {
            report.error(
                Some(value.span()),
                entry,
                "a default is a string, number or boolean",
            );
            continue;
        };
        let acceptable = match alert_field {
            AlertField::Severity => severity_word(&text).is_some(),
            AlertField::Confidence => text.parse::<u8>().is_ok_and(|n| n <= 100),
            _ => true,
        };
        if !acceptable {
            report.error(
                Some(value.span()),
                entry,
                match alert_field {
                    AlertField::Severity => "not a severity: informational, low, medium, high, critical",
                    _ => "a confidence is a whole number from 0 to 100",
                },
            );
            continue;
        }
        defaults.insert(alert_field, text);
    }

    let mut severity_values = BTreeMap::new();
    for (vendor, ours) in &raw.severity_values {
        match severity_word(ours.get_ref()) {
            Some(severity) => {
                severity_values.insert(vendor.get_ref().to_ascii_lowercase(), severity);
            }
            None => report.error(
                Some(ours.span()),
                format!("{key}.severity_values.{}", vendor.get_ref()),
                format!(
                    "{:?} is not a severity: informational, low, medium, high, critical",
                    ours.get_ref()
                ),
            ),
        }
    }

    let mut entities = Vec::new();
    for (index, rule) in raw.entities.iter().enumerate() {
        let entry = format!("{key}.entities[{index}]");
        let rule = rule.get_ref();
        let kind = EntityKind::parse(rule.kind.get_ref());
        if kind.is_none() {
            report.error(
                Some(rule.kind.span()),
                format!("{entry}.kind"),
                format!(
                    "unknown entity kind {:?}; kinds are {}",
                    rule.kind.get_ref(),
                    EntityKind::NAMES
                ),
            );
        }
        let parsed = path(&rule.path, format!("{entry}.path"), report);
        let sign_in = rule.sign_in.as_ref().and_then(|value| {
            let result = match value.get_ref().as_str() {
                "success" => Some(SignInResult::Success),
                "failure" => Some(SignInResult::Failure),
                _ => None,
            };
            if kind != Some(EntityKind::User) || result.is_none() {
                report.error(
                    Some(value.span()),
                    format!("{entry}.sign_in"),
                    "sign_in is `success` or `failure`, for users only",
                );
            }
            result
        });
        let direction = rule.direction.as_ref().and_then(|value| {
            let direction = match value.get_ref().as_str() {
                "source" => Some(Direction::Source),
                "destination" => Some(Direction::Destination),
                _ => None,
            };
            if kind != Some(EntityKind::Ip) || direction.is_none() {
                report.error(
                    Some(value.span()),
                    format!("{entry}.direction"),
                    "direction is `source` or `destination`, for ips only",
                );
            }
            direction
        });
        if let (Some(kind), Some(path)) = (kind, parsed) {
            entities.push(EntityRule {
                kind,
                path,
                sign_in,
                direction,
            });
        }
    }

    for (field, what) in [
        (AlertField::Title, "a path or a default"),
        (AlertField::Severity, "a path or a default"),
        (AlertField::Timestamp, "a path"),
    ] {
        if !fields.contains_key(&field) && !defaults.contains_key(&field) && raw_has_no(&raw, field) {
            report.error(
                Some(span.clone()),
                format!("{key}.{}", field.as_str()),
                format!("a mapping needs `{}`: {what}", field.as_str()),
            );
        }
    }

    (report.errors.len() == errors_before).then_some(Mapping {
        name,
        when,
        fields,
        defaults,
        severity_values,
        entities,
    })
}

/// Whether the field was left out altogether (rather than given and found wrong, which has
/// its own error).
fn raw_has_no(raw: &RawMapping, field: AlertField) -> bool {
    match field {
        AlertField::Title => raw.title.is_none(),
        AlertField::Severity => raw.severity.is_none(),
        AlertField::Timestamp => raw.timestamp.is_none(),
        _ => true,
    }
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::located::{self, ConfigErrors};
    use std::path::Path;

    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        intake: RawIntake,
    }

    fn parse(text: &str) -> Result<IntakeConfig, ConfigErrors> {
        located::read(
            Path::new("/etc/palisade/palisade.toml"),
            text,
            |file: File, report| IntakeConfig::from_toml(file.intake, report),
        )
    }

    const ACME: &str = r#"
[intake.mappings.acme]
match = { vendor = "Acme IdP" }
id = "alert.id"
title = "alert.name"
severity = "alert.level"
confidence = "alert.score"
timestamp = "alert.created"
tags = "labels"

[intake.mappings.acme.defaults]
source = "Acme IdP"
category = "credential-access"

[intake.mappings.acme.severity_values]
"3" = "high"

[[intake.mappings.acme.entities]]
kind = "user"
path = "accounts.compromised[*]"
sign_in = "success"

[[intake.mappings.acme.entities]]
kind = "ip"
path = "attacker.ip"
direction = "source"
"#;

    #[test]
    fn a_mapping_validates_and_reads_its_sample() {
        let config = parse(ACME).unwrap();
        assert_eq!(config.mappings.len(), 1);
        let mapping = &config.mappings[0];
        assert_eq!(mapping.name, "acme");
        let sample = include_str!("../../../tests/fixtures/alerts/mapping/acme-password-spray.json");
        let document: serde_json::Value = serde_json::from_str(sample).unwrap();
        assert!(mapping.matches(&document));
        let alert = mapping.normalize(&document, sample).unwrap();
        assert_eq!(alert.id, "acme-77");
        assert_eq!(alert.entities.len(), 3, "{:?}", alert.entities);
    }

    #[test]
    fn mapping_mistakes_are_located_together() {
        let text = r#"
[intake.mappings.acme]
title = "alert..name"
severity = "alert.level"

[intake.mappings.acme.defaults]
severity = "severe"
colour = "red"

[intake.mappings.acme.severity_values]
"3" = "hgih"

[[intake.mappings.acme.entities]]
kind = "printer"
path = "x"

[[intake.mappings.acme.entities]]
kind = "host"
path = "y"
sign_in = "success"
"#;
        let errors = parse(text).unwrap_err().0;
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.key.as_str())).collect();
        for (line, key) in [
            (3, "intake.mappings.acme.title"),
            (7, "intake.mappings.acme.defaults.severity"),
            (8, "intake.mappings.acme.defaults.colour"),
            (11, "intake.mappings.acme.severity_values.3"),
            (14, "intake.mappings.acme.entities[0].kind"),
            (20, "intake.mappings.acme.entities[1].sign_in"),
            (2, "intake.mappings.acme.timestamp"),
        ] {
            assert!(
                found.contains(&(line, key)),
                "{key} at line {line} in {errors:#?}"
            );
        }
    }

    #[test]
    fn an_unknown_key_in_a_mapping_is_refused() {
        let errors = parse(
            "[intake.mappings.acme]\ntitle = \"t\"\ntimestamp = \"ts\"\nseverity = \"s\"\ntitel = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(errors.contains("titel"), "{errors}");
    }

    #[test]
    fn priority_and_dedup_are_read() {
        use crate::dedup::Field;
        let config = parse(
            r#"
[intake.priority]
crown_jewels = ["dc-*", "payroll-db"]
vip_users = ["ceo@acme.example", "cfo*"]
window = 500

[intake.dedup]
fields = ["entities", "rule", "rule"]
window_minutes = 30
"#,
        )
        .unwrap();
        assert_eq!(config.priority.window, 500);
        let dedup = config.dedup.unwrap();
        assert_eq!(dedup.fields, vec![Field::Rule, Field::Entities]);
        assert_eq!(dedup.window, std::time::Duration::from_secs(30 * 60));

        let defaults = parse("[intake.dedup]\n").unwrap();
        assert_eq!(defaults.dedup.unwrap(), crate::dedup::DedupConfig::default());
        let none = parse("").unwrap();
        assert!(none.dedup.is_none());
        assert_eq!(none.priority.window, crate::priority::DEFAULT_WINDOW);
    }

    #[test]
    fn grouping_is_read_and_its_mistakes_located() {
        use crate::grouping::GroupingConfig;
        use crate::mapping::EntityKind;
        let config =
            parse("[intake.grouping]\nby = [\"ip\", \"user\", \"ip\"]\nwindow_minutes = 10\n").unwrap();
        assert_eq!(
            config.grouping.unwrap(),
            GroupingConfig {
                kinds: vec![EntityKind::Ip, EntityKind::User],
                window: std::time::Duration::from_secs(600),
            }
        );
        assert_eq!(
            parse("[intake.grouping]\n").unwrap().grouping.unwrap(),
            GroupingConfig::default()
        );
        assert!(parse("").unwrap().grouping.is_none());
        let errors =
            parse("[intake.grouping]\nby = [\"user\", \"printer\"]\nwindow_minutes = 0\n").unwrap_err();
        let found: Vec<(usize, usize, &str)> = errors
            .0
            .iter()
            .map(|e| (e.line, e.column, e.key.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, 15, "intake.grouping.by[1]"),
                (3, 18, "intake.grouping.window_minutes"),
            ],
            "{errors}"
        );
        assert!(
            errors.to_string().contains("unknown entity kind \"printer\""),
            "{errors}"
        );
    }

    #[test]
    fn priority_and_dedup_mistakes_are_located() {
        let text = r#"
[intake.priority]
crown_jewels = ["dc-*", "db-[0-9"]
vip_users = ["ceo"]
window = 0

[intake.dedup]
fields = ["rule", "colour"]
window_minutes = 0
"#;
        let errors = parse(text).unwrap_err();
        let found: Vec<(usize, usize, &str)> = errors
            .0
            .iter()
            .map(|e| (e.line, e.column, e.key.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (3, 25, "intake.priority.crown_jewels[1]"),
                (5, 10, "intake.priority.window"),
                (8, 19, "intake.dedup.fields[1]"),
                (9, 18, "intake.dedup.window_minutes"),
            ],
            "{errors}"
        );
        assert!(
            errors
                .to_string()
                .contains("fields are rule, source, title, category, severity, entities"),
            "{errors}"
        );
        let unknown = parse("[intake.dedup]\nwindow_hours = 1\n")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("window_hours"), "{unknown}");
    }
}
