//! Which alerts a plugin handles.

use crate::alert::{Alert, Severity};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A plugin's filter on alerts. Every condition given must hold; an empty filter takes all.
#[derive(Debug, Clone, Default)]
pub struct AlertMatch {
    /// Globs over the rule id and the rule name (case-insensitive); either may match.
    rules: Option<GlobSet>,
    /// Globs over the source product (case-insensitive).
    sources: Option<GlobSet>,
    /// Exact categories, case-insensitive.
    categories: Vec<String>,
    min_severity: Option<Severity>,
}

impl AlertMatch {
    pub fn new(
        rules: &[String],
        sources: &[String],
        categories: &[String],
        min_severity: Option<Severity>,
    ) -> Result<AlertMatch, globset::Error> {
        Ok(AlertMatch {
            rules: glob_set(rules)?,
            sources: glob_set(sources)?,
            categories: categories.iter().map(|c| c.to_lowercase()).collect(),
            min_severity,
        })
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
        let severity_ok = self.min_severity.is_none_or(|min| alert.severity >= min);
        rule_ok && source_ok && category_ok && severity_ok
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
    use crate::alert::native::parse_line;

    fn alert() -> Alert {
        parse_line(r#"{"title":"t","source":"Okta","rule":{"id":"okta-spray-01","name":"Password Spray"},"category":"Credential-Access","severity":"high","confidence":90,"timestamp":"2026-11-26T09:00:00Z"}"#).unwrap()
    }

    #[test]
    fn an_empty_filter_takes_every_alert() {
        assert!(AlertMatch::default().matches(&alert()));
    }

    #[test]
    fn rules_match_id_or_name_by_glob_ignoring_case() {
        let by_id = AlertMatch::new(&["okta-spray-*".into()], &[], &[], None).unwrap();
        let by_name = AlertMatch::new(&["*password spray*".into()], &[], &[], None).unwrap();
        let other = AlertMatch::new(&["edr-*".into()], &[], &[], None).unwrap();
        assert!(by_id.matches(&alert()));
        assert!(by_name.matches(&alert()));
        assert!(!other.matches(&alert()));
    }

    #[test]
    fn every_condition_must_hold() {
        let strict = AlertMatch::new(
            &[],
            &["okta".into()],
            &["credential-access".into()],
            Some(Severity::Critical),
        )
        .unwrap();
        assert!(!strict.matches(&alert()), "high is below critical");
        let ok = AlertMatch::new(
            &[],
            &["okta".into()],
            &["credential-access".into()],
            Some(Severity::Medium),
        )
        .unwrap();
        assert!(ok.matches(&alert()));
    }
}
