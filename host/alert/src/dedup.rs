//! Duplicates: the same alert raised again, recognized by a fingerprint over chosen fields
//! within a time window, so it does not run through the plugins a second time.
//!
//! | field | what goes into the fingerprint |
//! | --- | --- |
//! | `rule` | the rule id, else the rule name (case-insensitive) |
//! | `source` | the source product (case-insensitive) |
//! | `title` | the title, exactly |
//! | `category` | the category (case-insensitive) |
//! | `severity` | the severity |
//! | `entities` | every entity's kind and name, sorted (the order and the extra details such as a sign-in result do not matter) |
//!
//! A later alert is a duplicate when its fingerprint is the first one's and its timestamp is
//! within the window of the first one's (either side, since a batch is not in time order). An
//! alert outside the window starts a new first. The state is kept in memory for one run, at
//! most [`MAX_REMEMBERED`] fingerprints: past that, the longest-remembered is forgotten.

use super::{Alert, Entity};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The fields a fingerprint is taken over unless the config says otherwise.
pub const DEFAULT_FIELDS: [Field; 2] = [Field::Rule, Field::Entities];

/// The window unless the config says otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60 * 60);

/// How many first alerts are remembered at once, so memory stays bounded over a long run.
pub const MAX_REMEMBERED: usize = 100_000;

/// The longest window the config may set: one week.
pub const MAX_WINDOW_MINUTES: u32 = 7 * 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Rule,
    Source,
    Title,
    Category,
    Severity,
    Entities,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Rule,
        Field::Source,
        Field::Title,
        Field::Category,
        Field::Severity,
        Field::Entities,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Rule => "rule",
            Field::Source => "source",
            Field::Title => "title",
            Field::Category => "category",
            Field::Severity => "severity",
            Field::Entities => "entities",
        }
    }

    pub fn parse(text: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.as_str() == text)
    }
}

/// `[intake.dedup]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupConfig {
    /// Sorted, without repeats.
    pub fields: Vec<Field>,
    pub window: Duration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            fields: DEFAULT_FIELDS.to_vec(),
            window: DEFAULT_WINDOW,
        }
    }
}

/// The fingerprint of an alert over `fields`: a SHA-256, hex.
pub fn fingerprint(alert: &Alert, fields: &[Field]) -> String {
    let mut hash = Sha256::new();
    for field in fields {
        let part = match field {
            Field::Rule => alert
                .rule_id
                .as_ref()
                .or(alert.rule_name.as_ref())
                .map(|rule| rule.to_lowercase())
                .unwrap_or_default(),
            Field::Source => alert.source_product.to_lowercase(),
            Field::Title => alert.title.clone(),
            Field::Category => alert.category.to_lowercase(),
            Field::Severity => alert.severity.as_str().to_owned(),
            Field::Entities => {
                let mut names: Vec<String> = alert.entities.iter().map(entity_key).collect();
                names.sort();
                names.dedup();
                names.join("\u{1f}")
            }
        };
        hash.update(field.as_str().as_bytes());
        hash.update([0x1e]);
        hash.update(part.as_bytes());
        hash.update([0x1d]);
    }
    hex::encode(hash.finalize())
}

/// An entity's kind and name, what identifies it across mentions.
fn entity_key(entity: &Entity) -> String {
    match entity {
        Entity::User { name, .. } => format!("user:{}", name.to_lowercase()),
        Entity::Host { hostname, .. } => format!("host:{}", hostname.to_lowercase()),
        Entity::Ip { address, .. } => format!("ip:{address}"),
        Entity::Domain { name } => format!("domain:{}", name.to_lowercase()),
        Entity::Url { url } => format!("url:{url}"),
        Entity::FileHash { value, .. } => format!("file:{}", value.to_lowercase()),
        Entity::EmailAddress { address, .. } => format!("email:{}", address.to_lowercase()),
        Entity::Process { name, host, .. } => {
            format!("process:{name}@{}", host.as_deref().unwrap_or_default())
        }
    }
}

/// The first alert of each fingerprint seen in this run.
#[derive(Debug)]
pub struct Dedup {
    config: DedupConfig,
    first: HashMap<String, (String, Option<OffsetDateTime>)>,
    /// The fingerprints in the order they were remembered, to forget the oldest.
    order: VecDeque<String>,
    limit: usize,
}

impl Dedup {
    pub fn new(config: DedupConfig) -> Dedup {
        Dedup::with_limit(config, MAX_REMEMBERED)
    }

    fn with_limit(config: DedupConfig, limit: usize) -> Dedup {
        Dedup {
            config,
            first: HashMap::new(),
            order: VecDeque::new(),
            limit: limit.max(1),
        }
    }

    /// The id of the first alert this one duplicates, or `None` when it is a first itself
    /// (and is remembered as such).
    pub fn check(&mut self, alert: &Alert) -> Option<String> {
        let key = fingerprint(alert, &self.config.fields);
        let time = OffsetDateTime::parse(&alert.timestamp, &Rfc3339).ok();
        if let Some((id, first_time)) = self.first.get(&key)
            && let (Some(first_time), Some(time)) = (first_time, time)
            && (time - *first_time).unsigned_abs() <= self.config.window
        {
            return Some(id.clone());
        }
        if self.first.insert(key.clone(), (alert.id.clone(), time)).is_none() {
            self.order.push_back(key);
            while self.order.len() > self.limit {
                if let Some(oldest) = self.order.pop_front() {
                    self.first.remove(&oldest);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::parse_line;

    fn alert(id: &str, rule: &str, time: &str, users: &[&str]) -> Alert {
        let entities: Vec<String> = users
            .iter()
            .map(|user| format!(r#"{{"type":"user","name":"{user}"}}"#))
            .collect();
        parse_line(&format!(
            r#"{{"id":"{id}","title":"t {id}","source":"Okta","rule":{{"id":"{rule}"}},"category":"c","severity":"high","confidence":90,"timestamp":"{time}","entities":[{}]}}"#,
            entities.join(",")
        ))
        .unwrap()
    }

    #[test]
    fn the_fingerprint_covers_only_the_chosen_fields() {
        let a = alert("a", "spray", "2026-11-26T09:00:00Z", &["alice", "bob"]);
        let b = alert("b", "SPRAY", "2026-11-26T09:30:00Z", &["Bob", "alice"]);
        let c = alert("c", "spray", "2026-11-26T09:00:00Z", &["alice"]);
        let rule_entities = DEFAULT_FIELDS;
        assert_eq!(fingerprint(&a, &rule_entities), fingerprint(&b, &rule_entities));
        assert_ne!(fingerprint(&a, &rule_entities), fingerprint(&c, &rule_entities));
        assert_eq!(fingerprint(&a, &[Field::Rule]), fingerprint(&c, &[Field::Rule]));
        // The titles differ ("t a", "t b").
        assert_ne!(
            fingerprint(&a, &[Field::Rule, Field::Title]),
            fingerprint(&b, &[Field::Rule, Field::Title])
        );
        assert_eq!(fingerprint(&a, &[Field::Severity]).len(), 64);
    }

    #[test]
    fn a_duplicate_is_within_the_window_of_the_first() {
        let mut dedup = Dedup::new(DedupConfig::default());
        let users = ["alice", "bob"];
        assert_eq!(
            dedup.check(&alert("a", "spray", "2026-11-26T09:00:00Z", &users)),
            None
        );
        assert_eq!(
            dedup.check(&alert("b", "spray", "2026-11-26T09:59:00Z", &users)),
            Some("a".into())
        );
        // Earlier than the first, still within the hour.
        assert_eq!(
            dedup.check(&alert("c", "spray", "2026-11-26T08:30:00Z", &users)),
            Some("a".into())
        );
        // Another rule is not a duplicate.
        assert_eq!(
            dedup.check(&alert("d", "other", "2026-11-26T09:00:00Z", &users)),
            None
        );
        // Past the window of the first one: a new first, which later ones attach to.
        assert_eq!(
            dedup.check(&alert("e", "spray", "2026-11-26T10:00:01Z", &users)),
            None
        );
        assert_eq!(
            dedup.check(&alert("f", "spray", "2026-11-26T10:30:00Z", &users)),
            Some("e".into())
        );
    }

    #[test]
    fn the_window_is_configurable() {
        let mut dedup = Dedup::new(DedupConfig {
            fields: vec![Field::Rule],
            window: Duration::from_secs(5 * 60),
        });
        assert_eq!(
            dedup.check(&alert("a", "r", "2026-11-26T09:00:00Z", &["x"])),
            None
        );
        assert_eq!(
            dedup.check(&alert("b", "r", "2026-11-26T09:05:00Z", &["y"])),
            Some("a".into())
        );
        assert_eq!(
            dedup.check(&alert("c", "r", "2026-11-26T09:05:01Z", &["z"])),
            None
        );
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest_fingerprint() {
        let mut dedup = Dedup::with_limit(DedupConfig::default(), 2);
        let at = "2026-11-26T09:00:00Z";
        assert_eq!(dedup.check(&alert("a", "r1", at, &[])), None);
        assert_eq!(dedup.check(&alert("b", "r2", at, &[])), None);
        assert_eq!(dedup.check(&alert("c", "r3", at, &[])), None);
        assert_eq!(dedup.check(&alert("b2", "r2", at, &[])), Some("b".into()));
        // r1 was forgotten: a repeat of it is a first again.
        assert_eq!(dedup.check(&alert("a2", "r1", at, &[])), None);
        assert_eq!(dedup.first.len(), 2);
    }
}
