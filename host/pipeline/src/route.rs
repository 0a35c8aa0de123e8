//! Which alerts a plugin handles.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use palisade_alert::mapping::EntityKind;
use palisade_alert::{Alert, Entity, Severity, Status};
use palisade_core::located::Reporter;
use serde::Deserialize;
use toml::Spanned;

/// `[plugins.NAME.match]` as written, checked by the config.
#[derive(Debug, Clone, Default)]
pub struct MatchRules {
    /// Globs over the rule id and the rule name.
    pub rules: Vec<String>,
    /// Globs over the source product.
    pub sources: Vec<String>,
    pub categories: Vec<String>,
    /// Any of these tags.
    pub tags: Vec<String>,
    pub min_severity: Option<Severity>,
    pub max_severity: Option<Severity>,
    pub min_confidence: Option<u8>,
    pub max_confidence: Option<u8>,
    /// All of these kinds among the entities.
    pub entity_kinds: Vec<EntityKind>,
    /// Any of these statuses at the source (an alert that states none is `new`). Listing a
    /// status that is not live is also how a respond-stage plugin opts in to such alerts.
    pub statuses: Vec<Status>,
}

/// A plugin's filter on alerts. Every condition given must hold; an empty filter takes all.
#[derive(Debug, Clone, Default)]
pub struct AlertMatch {
    /// Globs over the rule id and the rule name (case-insensitive); either may match.
    rules: Option<GlobSet>,
    /// Globs over the source product (case-insensitive).
    sources: Option<GlobSet>,
    /// Exact categories, case-insensitive.
    categories: Vec<String>,
    /// Exact tags, case-insensitive; the alert needs one of them.
    tags: Vec<String>,
    min_severity: Option<Severity>,
    max_severity: Option<Severity>,
    min_confidence: Option<u8>,
    max_confidence: Option<u8>,
    /// The alert needs an entity of each.
    entity_kinds: Vec<EntityKind>,
    statuses: Vec<Status>,
}

impl AlertMatch {
    pub fn new(rules: &MatchRules) -> Result<AlertMatch, globset::Error> {
        Ok(AlertMatch {
            rules: glob_set(&rules.rules)?,
            sources: glob_set(&rules.sources)?,
            categories: rules.categories.iter().map(|c| c.to_lowercase()).collect(),
            tags: rules.tags.iter().map(|t| t.to_lowercase()).collect(),
            min_severity: rules.min_severity,
            max_severity: rules.max_severity,
            min_confidence: rules.min_confidence,
            max_confidence: rules.max_confidence,
            entity_kinds: rules.entity_kinds.clone(),
            statuses: rules.statuses.clone(),
        })
    }

    /// Whether `pattern` is a glob a rule or source condition accepts.
    pub fn check_glob(pattern: &str) -> Result<(), globset::Error> {
        GlobBuilder::new(pattern).case_insensitive(true).build().map(drop)
    }

    pub fn matches(&self, alert: &Alert) -> bool {
        let rule_ok = self.rules.as_ref().is_none_or(|rules| {
            [&alert.rule_id, &alert.rule_name]
                .into_iter()
                .flatten()
                .any(|rule| rules.is_match(rule))
        });
        let source_ok = self
            .sources
            .as_ref()
            .is_none_or(|sources| sources.is_match(&alert.source_product));
        let category_ok =
            self.categories.is_empty() || self.categories.contains(&alert.category.to_lowercase());
        let tag_ok = self.tags.is_empty()
            || alert
                .tags
                .iter()
                .any(|tag| self.tags.contains(&tag.to_lowercase()));
        let severity_ok = self.min_severity.is_none_or(|min| alert.severity >= min)
            && self.max_severity.is_none_or(|max| alert.severity <= max);
        // An unstated confidence is within no stated bound.
        let confidence_ok = self
            .min_confidence
            .is_none_or(|min| alert.confidence.is_some_and(|c| c >= min))
            && self
                .max_confidence
                .is_none_or(|max| alert.confidence.is_some_and(|c| c <= max));
        let entities_ok = self
            .entity_kinds
            .iter()
            .all(|kind| alert.entities.iter().any(|entity| kind_of(entity) == *kind));
        let status_ok =
            self.statuses.is_empty() || self.statuses.contains(&alert.status.unwrap_or(Status::New));
        rule_ok
            && source_ok
            && category_ok
            && tag_ok
            && severity_ok
            && confidence_ok
            && entities_ok
            && status_ok
    }

    /// Whether the plugin asked for alerts with `status` by name: a respond-stage plugin runs
    /// on an alert that is not live only then.
    pub fn names_status(&self, status: Status) -> bool {
        self.statuses.contains(&status)
    }
}

/// `[plugins.NAME.match]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatch {
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    min_severity: Option<Spanned<Severity>>,
    max_severity: Option<Spanned<Severity>>,
    min_confidence: Option<Spanned<i64>>,
    max_confidence: Option<Spanned<i64>>,
    #[serde(default)]
    entity_kinds: Vec<Spanned<String>>,
    #[serde(default)]
    statuses: Vec<Spanned<String>>,
}

impl AlertMatch {
    /// `[plugins.NAME.match]`: every mistake located; a filter with one matches what it would
    /// without the mistaken condition, and the config is refused anyway.
    pub(crate) fn from_toml(raw: RawMatch, key: &str, report: &mut Reporter) -> AlertMatch {
        let globs = |list: &[Spanned<String>], name: &str, report: &mut Reporter| {
            let mut valid = Vec::new();
            for (index, pattern) in list.iter().enumerate() {
                match AlertMatch::check_glob(pattern.get_ref()) {
                    Ok(()) => valid.push(pattern.get_ref().clone()),
                    Err(error) => report.error(
                        Some(pattern.span()),
                        format!("{key}.{name}[{index}]"),
                        format!("not a glob: {}", error.kind()),
                    ),
                }
            }
            valid
        };
        let confidence = |value: &Option<Spanned<i64>>, name: &str, report: &mut Reporter| {
            let value = value.as_ref()?;
            match u8::try_from(*value.get_ref()) {
                Ok(number) if number <= 100 => Some((number, value.span())),
                _ => {
                    report.error(
                        Some(value.span()),
                        format!("{key}.{name}"),
                        "a confidence is a whole number from 0 to 100",
                    );
                    None
                }
            }
        };
        let min_confidence = confidence(&raw.min_confidence, "min_confidence", report);
        let max_confidence = confidence(&raw.max_confidence, "max_confidence", report);
        if let (Some((min, _)), Some((max, span))) = (&min_confidence, &max_confidence)
            && max < min
        {
            report.error(
                Some(span.clone()),
                format!("{key}.max_confidence"),
                format!("{max} is below min_confidence {min}: no alert would match"),
            );
        }
        if let (Some(min), Some(max)) = (&raw.min_severity, &raw.max_severity)
            && max.get_ref() < min.get_ref()
        {
            report.error(
                Some(max.span()),
                format!("{key}.max_severity"),
                format!(
                    "{} is below min_severity {}: no alert would match",
                    max.get_ref().as_str(),
                    min.get_ref().as_str()
                ),
            );
        }
        let mut entity_kinds = Vec::new();
        for (index, kind) in raw.entity_kinds.iter().enumerate() {
            match EntityKind::parse(kind.get_ref()) {
                Some(parsed) => entity_kinds.push(parsed),
                None => report.error(
                    Some(kind.span()),
                    format!("{key}.entity_kinds[{index}]"),
                    format!(
                        "unknown entity kind {:?}; kinds are {}",
                        kind.get_ref(),
                        EntityKind::NAMES
                    ),
                ),
            }
        }
        let mut statuses = Vec::new();
        for (index, status) in raw.statuses.iter().enumerate() {
            match palisade_alert::Status::parse(status.get_ref()) {
                Some(parsed) => statuses.push(parsed),
                None => report.error(
                    Some(status.span()),
                    format!("{key}.statuses[{index}]"),
                    format!(
                        "unknown status {:?}; statuses are {}",
                        status.get_ref(),
                        palisade_alert::Status::ALL.map(|s| s.as_str()).join(", ")
                    ),
                ),
            }
        }
        let rules = MatchRules {
            rules: globs(&raw.rules, "rules", report),
            sources: globs(&raw.sources, "sources", report),
            categories: raw.categories,
            tags: raw.tags,
            min_severity: raw.min_severity.map(Spanned::into_inner),
            max_severity: raw.max_severity.map(Spanned::into_inner),
            min_confidence: min_confidence.map(|(value, _)| value),
            max_confidence: max_confidence.map(|(value, _)| value),
            entity_kinds,
            statuses,
        };
        // The globs were checked one by one above.
        AlertMatch::new(&rules).unwrap_or_default()
    }
}

fn kind_of(entity: &Entity) -> EntityKind {
    match entity {
        Entity::User { .. } => EntityKind::User,
        Entity::Host { .. } => EntityKind::Host,
        Entity::Ip { .. } => EntityKind::Ip,
        Entity::Domain { .. } => EntityKind::Domain,
        Entity::Url { .. } => EntityKind::Url,
        Entity::FileHash { .. } => EntityKind::FileHash,
        Entity::EmailAddress { .. } => EntityKind::EmailAddress,
        Entity::Process { .. } => EntityKind::Process,
    }
}

fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, globset::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(GlobBuilder::new(pattern).case_insensitive(true).build()?);
    }
    builder.build().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_alert::native::parse_line;

    fn alert() -> Alert {
        parse_line(r#"{"title":"t","source":"Okta","rule":{"id":"okta-spray-01","name":"Password Spray"},"category":"Credential-Access","severity":"high","confidence":90,"timestamp":"2026-11-26T09:00:00Z","tags":["Okta","identity"],"entities":[{"type":"user","name":"alice"},{"type":"ip","address":"203.0.113.7"}]}"#).unwrap()
    }

    fn matcher(rules: MatchRules) -> AlertMatch {
        AlertMatch::new(&rules).unwrap()
    }

    #[test]
    fn an_empty_filter_takes_every_alert() {
        assert!(AlertMatch::default().matches(&alert()));
    }

    #[test]
    fn rules_match_id_or_name_by_glob_ignoring_case() {
        let rules = |glob: &str| MatchRules {
            rules: vec![glob.into()],
            ..MatchRules::default()
        };
        assert!(matcher(rules("okta-spray-*")).matches(&alert()));
        assert!(matcher(rules("*password spray*")).matches(&alert()));
        assert!(!matcher(rules("edr-*")).matches(&alert()));
    }

    #[test]
    fn every_condition_must_hold() {
        let strict = MatchRules {
            sources: vec!["okta".into()],
            categories: vec!["credential-access".into()],
            min_severity: Some(Severity::Critical),
            ..MatchRules::default()
        };
        assert!(
            !matcher(strict.clone()).matches(&alert()),
            "high is below critical"
        );
        let ok = MatchRules {
            min_severity: Some(Severity::Medium),
            ..strict
        };
        assert!(matcher(ok).matches(&alert()));
    }

    #[test]
    fn tags_match_any_of_them_ignoring_case() {
        let tags = |tags: &[&str]| MatchRules {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..MatchRules::default()
        };
        assert!(matcher(tags(&["okta"])).matches(&alert()));
        assert!(matcher(tags(&["edr", "IDENTITY"])).matches(&alert()));
        assert!(!matcher(tags(&["edr", "cloud"])).matches(&alert()));
    }

    #[test]
    fn severity_and_confidence_ranges_include_their_bounds() {
        let range = |min_c, max_c, max_s| MatchRules {
            min_confidence: min_c,
            max_confidence: max_c,
            max_severity: max_s,
            ..MatchRules::default()
        };
        // The alert: high, confidence 90.
        assert!(matcher(range(Some(90), Some(90), Some(Severity::High))).matches(&alert()));
        assert!(!matcher(range(Some(91), None, None)).matches(&alert()));
        assert!(!matcher(range(None, Some(89), None)).matches(&alert()));
        assert!(
            !matcher(range(None, None, Some(Severity::Medium))).matches(&alert()),
            "a plugin for the lesser alerts leaves a high one alone"
        );
    }

    #[test]
    fn entity_kinds_must_all_be_present() {
        let kinds = |kinds: &[EntityKind]| MatchRules {
            entity_kinds: kinds.to_vec(),
            ..MatchRules::default()
        };
        assert!(matcher(kinds(&[EntityKind::User, EntityKind::Ip])).matches(&alert()));
        assert!(!matcher(kinds(&[EntityKind::User, EntityKind::Host])).matches(&alert()));
    }

    #[test]
    fn statuses_match_the_sources_status_and_no_status_is_new() {
        let closed_only = matcher(MatchRules {
            statuses: vec![Status::Closed, Status::Resolved],
            ..MatchRules::default()
        });
        let mut alert = alert();
        assert!(!closed_only.matches(&alert), "no status is new");
        alert.status = Some(Status::Closed);
        assert!(closed_only.matches(&alert));
        assert!(closed_only.names_status(Status::Closed));
        assert!(!closed_only.names_status(Status::Suppressed));
        let new_only = matcher(MatchRules {
            statuses: vec![Status::New],
            ..MatchRules::default()
        });
        assert!(!new_only.matches(&alert));
    }
}
