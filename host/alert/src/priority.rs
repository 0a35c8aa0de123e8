//! How urgent an alert is, so a batch is handled highest priority first.
//!
//! The score, 0 to 100, is deterministic:
//!
//! ```text
//! score = min(100, base(severity) * (100 + confidence) / 200 + 15 * crown_jewel + 15 * vip)
//! ```
//!
//! | severity | base | | label | score |
//! | --- | --- | --- | --- | --- |
//! | informational | 10 | | p1 | 80-100 |
//! | low | 25 | | p2 | 60-79 |
//! | medium | 50 | | p3 | 35-59 |
//! | high | 75 | | p4 | 0-34 |
//! | critical | 90 | | | |
//!
//! Confidence scales the base between half (confidence 0) and all of it (100). An alert about a
//! crown-jewel host (`[intake.priority] crown_jewels`, globs over host names) gains 15, one about
//! a VIP user (`vip_users`, globs over user names and email addresses) 15 more. Ties keep the
//! input order.
//!
//! There is one priority, the host's: plugins see it as the tag `priority:p1`..`p4`, and once
//! a plugin scores the alert's risk (a triage plugin's `risk_score`), the risk score is the
//! score, on the same table. A plugin cannot set the tag itself.

use super::{Alert, Entity, Severity};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;

/// Points for an alert that names a crown-jewel host, and again for one that names a VIP user.
pub const ENTITY_BOOST: u32 = 15;

/// How many alerts are read and sorted at once, unless the config says otherwise.
pub const DEFAULT_WINDOW: usize = 10_000;

/// The most the config may set as the window.
pub const MAX_WINDOW: usize = 1_000_000;

/// p1 (handle first) to p4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    P1,
    P2,
    P3,
    P4,
}

impl Label {
    /// Every label, most urgent first.
    pub const ALL: [Label; 4] = [Label::P1, Label::P2, Label::P3, Label::P4];

    pub fn of(score: u8) -> Label {
        match score {
            80.. => Label::P1,
            60..=79 => Label::P2,
            35..=59 => Label::P3,
            _ => Label::P4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::P1 => "p1",
            Label::P2 => "p2",
            Label::P3 => "p3",
            Label::P4 => "p4",
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert's priority: the score and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Priority {
    pub score: u8,
    pub label: Label,
}

impl Priority {
    /// A score on the one table.
    pub fn of(score: u8) -> Priority {
        let score = score.min(100);
        Priority {
            score,
            label: Label::of(score),
        }
    }

    /// The priority once plugins have run: the risk score a plugin set, else this one.
    pub fn after_plugins(self, alert: &Alert) -> Priority {
        alert.risk_score.map_or(self, Priority::of)
    }

    /// The tag plugins see it by.
    pub fn tag(self) -> String {
        format!("{TAG_PREFIX}{}", self.label)
    }
}

const TAG_PREFIX: &str = "priority:";

/// The host's priority tag on `alert`, if it has one.
pub fn current_tag(alert: &Alert) -> Option<String> {
    alert.tags.iter().find(|tag| tag.starts_with(TAG_PREFIX)).cloned()
}

/// After a plugin's outcome is applied: one priority tag, the host's, from the risk score a
/// plugin set, else the tag the alert had before (`before`). A plugin's own is dropped.
pub fn settle_tag(alert: &mut Alert, before: Option<String>) {
    let settled = alert.risk_score.map(|risk| Priority::of(risk).tag()).or(before);
    alert.tags.retain(|tag| !tag.starts_with(TAG_PREFIX));
    alert.tags.extend(settled);
}

/// The entities that make an alert more urgent: crown-jewel hosts and VIP users.
#[derive(Debug, Clone, Default)]
pub struct Criticality {
    crown_jewels: Option<GlobSet>,
    vip_users: Option<GlobSet>,
}

/// The base score of a severity.
pub fn base(severity: Severity) -> u32 {
    match severity {
        Severity::Informational => 10,
        Severity::Low => 25,
        Severity::Medium => 50,
        Severity::High => 75,
        Severity::Critical => 90,
    }
}

impl Criticality {
    /// Globs, case-insensitive; `*` also crosses dots.
    pub fn new(crown_jewels: &[String], vip_users: &[String]) -> Result<Criticality, globset::Error> {
        Ok(Criticality {
            crown_jewels: globs(crown_jewels)?,
            vip_users: globs(vip_users)?,
        })
    }

    /// Checks one pattern, for the config's errors.
    pub fn check(pattern: &str) -> Result<(), globset::Error> {
        glob(pattern).map(drop)
    }

    pub fn priority(&self, alert: &Alert) -> Priority {
        // Ranking is not a safety decision: an unstated confidence ranks as the midpoint, so a
        // source that states none neither buries nor raises its alerts.
        let confidence = alert.confidence.unwrap_or(50).min(100);
        let mut score = base(alert.severity) * (100 + u32::from(confidence)) / 200;
        if self.names_crown_jewel(alert) {
            score += ENTITY_BOOST;
        }
        if self.names_vip(alert) {
            score += ENTITY_BOOST;
        }
        let score = score.min(100) as u8;
        Priority {
            score,
            label: Label::of(score),
        }
    }

    fn names_crown_jewel(&self, alert: &Alert) -> bool {
        let Some(hosts) = &self.crown_jewels else {
            return false;
        };
        let matches =
            |name: &str| hosts.is_match(name) || hosts.is_match(name.split('.').next().unwrap_or(name));
        alert.entities.iter().any(|entity| match entity {
            Entity::Host { hostname, fqdn, .. } => matches(hostname) || fqdn.as_deref().is_some_and(matches),
            Entity::Process { host: Some(host), .. } => matches(host),
            _ => false,
        })
    }

    fn names_vip(&self, alert: &Alert) -> bool {
        let Some(users) = &self.vip_users else {
            return false;
        };
        alert.entities.iter().any(|entity| match entity {
            Entity::User { name, email, .. } => {
                users.is_match(name) || email.as_deref().is_some_and(|email| users.is_match(email))
            }
            Entity::EmailAddress { address, .. } => users.is_match(address),
            _ => false,
        })
    }
}

fn glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
}

fn globs(patterns: &[String]) -> Result<Option<GlobSet>, globset::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(glob(pattern)?);
    }
    builder.build().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::parse_line;

    fn alert(severity: &str, confidence: u8, entities: &str) -> Alert {
        parse_line(&format!(
            r#"{{"title":"t","source":"s","category":"c","severity":"{severity}","confidence":{confidence},"timestamp":"2026-11-26T09:00:00Z","entities":{entities}}}"#
        ))
        .unwrap()
    }

    fn score(
        criticality: &Criticality,
        severity: &str,
        confidence: u8,
        entities: &str,
    ) -> (u8, &'static str) {
        let priority = criticality.priority(&alert(severity, confidence, entities));
        (priority.score, priority.label.as_str())
    }

    #[test]
    fn the_score_table() {
        let none = Criticality::default();
        for (severity, confidence, expected) in [
            ("informational", 100, (10, "p4")),
            ("low", 70, (21, "p4")),
            ("medium", 0, (25, "p4")),
            ("medium", 70, (42, "p3")),
            ("high", 92, (72, "p2")),
            ("high", 100, (75, "p2")),
            ("critical", 50, (67, "p2")),
            ("critical", 90, (85, "p1")),
            ("critical", 100, (90, "p1")),
        ] {
            assert_eq!(
                score(&none, severity, confidence, "[]"),
                expected,
                "{severity} {confidence}"
            );
        }
    }

    #[test]
    fn crown_jewels_and_vips_raise_the_score_up_to_100() {
        let criticality = Criticality::new(
            &["dc-*".into(), "payroll-db".into()],
            &["ceo@acme.example".into(), "cfo*".into()],
        )
        .unwrap();
        let dc = r#"[{"type":"host","hostname":"DC-01.corp.acme.example"}]"#;
        let payroll = r#"[{"type":"host","hostname":"laptop","fqdn":"payroll-db.acme.example"}]"#;
        let ceo = r#"[{"type":"user","name":"jdoe","email":"ceo@acme.example"}]"#;
        let cfo = r#"[{"type":"email-address","address":"cfo@acme.example"}]"#;
        let both = r#"[{"type":"host","hostname":"dc-02"},{"type":"user","name":"cfo"}]"#;
        let neither = r#"[{"type":"host","hostname":"laptop-7"},{"type":"user","name":"alice"}]"#;
        assert_eq!(score(&criticality, "high", 92, dc), (87, "p1"));
        assert_eq!(score(&criticality, "high", 92, payroll), (87, "p1"));
        assert_eq!(score(&criticality, "medium", 70, ceo), (57, "p3"));
        assert_eq!(score(&criticality, "medium", 70, cfo), (57, "p3"));
        assert_eq!(score(&criticality, "medium", 70, both), (72, "p2"));
        assert_eq!(score(&criticality, "critical", 100, both), (100, "p1"));
        assert_eq!(score(&criticality, "medium", 70, neither), (42, "p3"));
    }

    #[test]
    fn labels_cut_at_80_60_and_35() {
        assert_eq!(
            [100, 80, 79, 60, 59, 35, 34, 0].map(|s| Label::of(s).as_str()),
            ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"]
        );
    }

    #[test]
    fn there_is_one_priority_tag_and_a_risk_score_sets_it() {
        let mut alert = alert("high", 90, "[]");
        let intake = Criticality::default().priority(&alert);
        alert.tags.push(intake.tag());
        // A plugin that tags its own priority without scoring the risk changes nothing.
        let before = current_tag(&alert);
        alert.tags.push("priority:p1".into());
        settle_tag(&mut alert, before.clone());
        assert_eq!(current_tag(&alert), before);
        assert_eq!(
            alert.tags.iter().filter(|t| t.starts_with("priority:")).count(),
            1
        );
        // A risk score is the score, on the same table.
        alert.risk_score = Some(82);
        let before = current_tag(&alert);
        settle_tag(&mut alert, before);
        assert_eq!(current_tag(&alert).as_deref(), Some("priority:p1"));
        assert_eq!(intake.after_plugins(&alert), Priority::of(82));
        assert_eq!(Priority::of(82).label, Label::P1);
    }
}
