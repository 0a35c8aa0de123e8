//! Conversions between the ABI's generated types and the host's own.

use super::types as wit;
use palisade_alert::{self as alert, Alert, Annotation, Entity, Severity, Verdict};

impl From<Severity> for wit::Severity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Informational => wit::Severity::Informational,
            Severity::Low => wit::Severity::Low,
            Severity::Medium => wit::Severity::Medium,
            Severity::High => wit::Severity::High,
            Severity::Critical => wit::Severity::Critical,
        }
    }
}

impl From<wit::Severity> for Severity {
    fn from(severity: wit::Severity) -> Self {
        match severity {
            wit::Severity::Informational => Severity::Informational,
            wit::Severity::Low => Severity::Low,
            wit::Severity::Medium => Severity::Medium,
            wit::Severity::High => Severity::High,
            wit::Severity::Critical => Severity::Critical,
        }
    }
}

impl From<Verdict> for wit::Verdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Benign => wit::Verdict::Benign,
            Verdict::Suspicious => wit::Verdict::Suspicious,
            Verdict::Malicious => wit::Verdict::Malicious,
        }
    }
}

impl From<wit::Verdict> for Verdict {
    fn from(verdict: wit::Verdict) -> Self {
        match verdict {
            wit::Verdict::Benign => Verdict::Benign,
            wit::Verdict::Suspicious => Verdict::Suspicious,
            wit::Verdict::Malicious => Verdict::Malicious,
        }
    }
}

fn sign_in_to_wit(value: alert::SignInResult) -> wit::SignInResult {
    match value {
        alert::SignInResult::Success => wit::SignInResult::Success,
        alert::SignInResult::Failure => wit::SignInResult::Failure,
    }
}

fn sign_in_from_wit(value: wit::SignInResult) -> alert::SignInResult {
    match value {
        wit::SignInResult::Success => alert::SignInResult::Success,
        wit::SignInResult::Failure => alert::SignInResult::Failure,
    }
}

fn direction_to_wit(value: alert::Direction) -> wit::Direction {
    match value {
        alert::Direction::Source => wit::Direction::Source,
        alert::Direction::Destination => wit::Direction::Destination,
    }
}

fn direction_from_wit(value: wit::Direction) -> alert::Direction {
    match value {
        wit::Direction::Source => alert::Direction::Source,
        wit::Direction::Destination => alert::Direction::Destination,
    }
}

fn hash_to_wit(value: alert::HashAlgorithm) -> wit::HashAlgorithm {
    match value {
        alert::HashAlgorithm::Md5 => wit::HashAlgorithm::Md5,
        alert::HashAlgorithm::Sha1 => wit::HashAlgorithm::Sha1,
        alert::HashAlgorithm::Sha256 => wit::HashAlgorithm::Sha256,
    }
}

fn hash_from_wit(value: wit::HashAlgorithm) -> alert::HashAlgorithm {
    match value {
        wit::HashAlgorithm::Md5 => alert::HashAlgorithm::Md5,
        wit::HashAlgorithm::Sha1 => alert::HashAlgorithm::Sha1,
        wit::HashAlgorithm::Sha256 => alert::HashAlgorithm::Sha256,
    }
}

impl From<&Entity> for wit::Entity {
    fn from(entity: &Entity) -> Self {
        match entity.clone() {
            Entity::User {
                name,
                domain,
                email,
                id,
                display_name,
                sign_in,
            } => wit::Entity::User(wit::User {
                name,
                domain,
                email,
                id,
                display_name,
                sign_in: sign_in.map(sign_in_to_wit),
            }),
            Entity::Host {
                hostname,
                fqdn,
                id,
                os,
                ip_addresses,
            } => wit::Entity::Host(wit::Device {
                hostname,
                fqdn,
                id,
                os,
                ip_addresses,
            }),
            Entity::Ip { address, direction } => wit::Entity::Ip(wit::Ip {
                address: address.to_string(),
                direction: direction.map(direction_to_wit),
            }),
            Entity::Domain { name } => wit::Entity::Domain(name),
            Entity::Url { url } => wit::Entity::Url(url),
            Entity::FileHash {
                algorithm,
                value,
                file_name,
            } => wit::Entity::FileHash(wit::FileHash {
                algorithm: hash_to_wit(algorithm),
                value,
                file_name,
            }),
            Entity::EmailAddress {
                address,
                display_name,
            } => wit::Entity::EmailAddress(wit::EmailAddress {
                address,
                display_name,
            }),
            Entity::Process {
                name,
                pid,
                command_line,
                host,
                parent_name,
            } => wit::Entity::Process(wit::Process {
                name,
                pid,
                command_line,
                host,
                parent_name,
            }),
        }
    }
}

/// An entity a plugin passed to the host; an IP that does not parse is invalid input.
impl TryFrom<wit::Entity> for Entity {
    type Error = String;

    fn try_from(entity: wit::Entity) -> Result<Self, String> {
        Ok(match entity {
            wit::Entity::User(u) => Entity::User {
                name: u.name,
                domain: u.domain,
                email: u.email,
                id: u.id,
                display_name: u.display_name,
                sign_in: u.sign_in.map(sign_in_from_wit),
            },
            wit::Entity::Host(d) => Entity::Host {
                hostname: d.hostname,
                fqdn: d.fqdn,
                id: d.id,
                os: d.os,
                ip_addresses: d.ip_addresses,
            },
            wit::Entity::Ip(ip) => Entity::Ip {
                address: ip
                    .address
                    .parse()
                    .map_err(|_| format!("{:?} is not an IP address", ip.address))?,
                direction: ip.direction.map(direction_from_wit),
            },
            wit::Entity::Domain(name) => Entity::Domain { name },
            wit::Entity::Url(url) => Entity::Url { url },
            wit::Entity::FileHash(f) => Entity::FileHash {
                algorithm: hash_from_wit(f.algorithm),
                value: f.value,
                file_name: f.file_name,
            },
            wit::Entity::EmailAddress(e) => Entity::EmailAddress {
                address: e.address,
                display_name: e.display_name,
            },
            wit::Entity::Process(p) => Entity::Process {
                name: p.name,
                pid: p.pid,
                command_line: p.command_line,
                host: p.host,
                parent_name: p.parent_name,
            },
        })
    }
}

impl From<&Alert> for wit::Alert {
    fn from(alert: &Alert) -> Self {
        wit::Alert {
            id: alert.id.clone(),
            title: alert.title.clone(),
            source_product: alert.source_product.clone(),
            rule_id: alert.rule_id.clone(),
            rule_name: alert.rule_name.clone(),
            category: alert.category.clone(),
            severity: alert.severity.into(),
            // A plugin built against 0.1.0 sees a number; the runtime replaces this with what the
            // plugin's policy assumes for a source that states none.
            confidence: alert.confidence.unwrap_or(0),
            timestamp: alert.timestamp.clone(),
            entities: alert.entities.iter().map(Into::into).collect(),
            tags: alert.tags.clone(),
            annotations: alert
                .annotations
                .iter()
                .map(|a: &Annotation| wit::Annotation {
                    source: a.source.clone(),
                    key: a.key.clone(),
                    value: a.value.clone(),
                })
                .collect(),
            verdict: alert.verdict.map(Into::into),
            risk_score: alert.risk_score,
            raw: alert.raw.clone(),
        }
    }
}

impl From<wit::Outcome> for alert::Outcome {
    fn from(outcome: wit::Outcome) -> Self {
        alert::Outcome {
            verdict: outcome.verdict.map(Into::into),
            risk_score: outcome.risk_score,
            notes: outcome.notes.into_iter().map(|n| (n.key, n.value)).collect(),
            tags: outcome.tags,
            summary: outcome.summary,
        }
    }
}

/// What each note and tag costs beyond its text, for the output limit: an empty note is
/// still a record every later stage, report and audit carries.
pub const ITEM_BYTES: usize = 32;

/// Bytes an outcome counts against the output limit: its text, and [`ITEM_BYTES`] for each
/// note and tag.
pub fn outcome_size(outcome: &wit::Outcome) -> usize {
    outcome
        .notes
        .iter()
        .map(|n| ITEM_BYTES + n.key.len() + n.value.len())
        .sum::<usize>()
        + outcome
            .tags
            .iter()
            .map(|tag| ITEM_BYTES + tag.len())
            .sum::<usize>()
        + outcome.summary.as_ref().map_or(0, String::len)
}

/// Bytes of an entity a plugin hands the host: its text, and [`ITEM_BYTES`] for the entity
/// and each of its addresses.
pub fn entity_size(entity: &wit::Entity) -> usize {
    let text = |value: &Option<String>| value.as_ref().map_or(0, String::len);
    ITEM_BYTES
        + match entity {
            wit::Entity::User(u) => {
                u.name.len() + text(&u.domain) + text(&u.email) + text(&u.id) + text(&u.display_name)
            }
            wit::Entity::Host(d) => {
                d.hostname.len()
                    + text(&d.fqdn)
                    + text(&d.id)
                    + text(&d.os)
                    + d.ip_addresses
                        .iter()
                        .map(|ip| ITEM_BYTES + ip.len())
                        .sum::<usize>()
            }
            wit::Entity::Ip(ip) => ip.address.len(),
            wit::Entity::Domain(name) | wit::Entity::Url(name) => name.len(),
            wit::Entity::FileHash(f) => f.value.len() + text(&f.file_name),
            wit::Entity::EmailAddress(e) => e.address.len() + text(&e.display_name),
            wit::Entity::Process(p) => {
                p.name.len() + text(&p.command_line) + text(&p.host) + text(&p.parent_name)
            }
        }
}
