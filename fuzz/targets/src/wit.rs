//! The WIT conversions both ways (`palisade-abi`): the alert a plugin is given, the entities
//! it hands back, and its outcome. Inputs are arbitrary values of the host's types (and of
//! the WIT types, for what a plugin sends), built from `arbitrary`-derived mirrors.
//!
//! The property is that the ABI loses nothing it carries:
//! - alert -> WIT: every field of the WIT alert is the host alert's, except `confidence`,
//!   which is the stated one or 0 when none is stated (the runtime then puts the policy's
//!   assumption in); `status` is not carried. Each entity converts back to itself.
//! - WIT entity -> host: exactly the entities whose IP address parses are taken, each as the
//!   plugin sent it (the address as the address it spells); a refusal quotes the text. Taken
//!   back to WIT, an entity's size is unchanged unless its address was respelled.
//! - WIT outcome -> host: every field as sent, notes in order with duplicates kept, and
//!   `outcome_size` counts exactly the text plus one item cost per note and tag.

use arbitrary::{Arbitrary, Unstructured};
use palisade_abi::bindings::types as wit;
use palisade_abi::{entity_size, outcome_size};
use palisade_alert::{
    Alert, Annotation, Direction, Entity, HashAlgorithm, Outcome, Severity, SignInResult, Status, Verdict,
};
use std::net::IpAddr;

#[derive(Debug, Arbitrary)]
struct Input {
    alert: AlertInput,
    /// Entities as a plugin passes them to the host.
    sent: Vec<WitEntityInput>,
    outcome: OutcomeInput,
}

#[derive(Debug, Arbitrary)]
struct AlertInput {
    id: String,
    title: String,
    source_product: String,
    rule_id: Option<String>,
    rule_name: Option<String>,
    category: String,
    severity: u8,
    confidence: Option<u8>,
    timestamp: String,
    entities: Vec<EntityInput>,
    tags: Vec<String>,
    annotations: Vec<(String, String, String)>,
    verdict: Option<u8>,
    risk_score: Option<u8>,
    status: Option<u8>,
    raw: String,
}

#[derive(Debug, Clone, Arbitrary)]
enum EntityInput {
    User {
        name: String,
        domain: Option<String>,
        email: Option<String>,
        id: Option<String>,
        display_name: Option<String>,
        sign_in: Option<bool>,
    },
    Host {
        hostname: String,
        fqdn: Option<String>,
        id: Option<String>,
        os: Option<String>,
        ip_addresses: Vec<String>,
    },
    Ip {
        address: IpAddr,
        direction: Option<bool>,
    },
    Domain(String),
    Url(String),
    FileHash {
        algorithm: u8,
        value: String,
        file_name: Option<String>,
    },
    EmailAddress {
        address: String,
        display_name: Option<String>,
    },
    Process {
        name: String,
        pid: Option<u32>,
        command_line: Option<String>,
        host: Option<String>,
        parent_name: Option<String>,
    },
}

/// An entity from a plugin: like a host entity, but its IP address is any text.
#[derive(Debug, Arbitrary)]
enum WitEntityInput {
    /// An address spelled as the plugin likes (`::ffff:1.2.3.4`, `010.0.0.1`, garbage).
    Ip {
        address: String,
        direction: Option<bool>,
    },
    /// An address in its usual spelling.
    ValidIp {
        address: IpAddr,
        direction: Option<bool>,
    },
    Other(EntityInput),
}

#[derive(Debug, Arbitrary)]
struct OutcomeInput {
    verdict: Option<u8>,
    risk_score: Option<u8>,
    notes: Vec<(String, String)>,
    tags: Vec<String>,
    summary: Option<String>,
}

const SEVERITIES: [Severity; 5] = [
    Severity::Informational,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];
const VERDICTS: [Verdict; 3] = [Verdict::Benign, Verdict::Suspicious, Verdict::Malicious];
const STATUSES: [Status; 7] = [
    Status::New,
    Status::InProgress,
    Status::Failed,
    Status::Resolved,
    Status::Closed,
    Status::Suppressed,
    Status::Passed,
];
const HASHES: [HashAlgorithm; 3] = [HashAlgorithm::Md5, HashAlgorithm::Sha1, HashAlgorithm::Sha256];

fn pick<T: Copy>(all: &[T], index: u8) -> T {
    all[index as usize % all.len()]
}

fn direction(source: bool) -> Direction {
    if source {
        Direction::Source
    } else {
        Direction::Destination
    }
}

impl EntityInput {
    fn build(self) -> Entity {
        match self {
            EntityInput::User {
                name,
                domain,
                email,
                id,
                display_name,
                sign_in,
            } => Entity::User {
                name,
                domain,
                email,
                id,
                display_name,
                sign_in: sign_in.map(|ok| {
                    if ok {
                        SignInResult::Success
                    } else {
                        SignInResult::Failure
                    }
                }),
            },
            EntityInput::Host {
                hostname,
                fqdn,
                id,
                os,
                ip_addresses,
            } => Entity::Host {
                hostname,
                fqdn,
                id,
                os,
                ip_addresses,
            },
            EntityInput::Ip {
                address,
                direction: d,
            } => Entity::Ip {
                address,
                direction: d.map(direction),
            },
            EntityInput::Domain(name) => Entity::Domain { name },
            EntityInput::Url(url) => Entity::Url { url },
            EntityInput::FileHash {
                algorithm,
                value,
                file_name,
            } => Entity::FileHash {
                algorithm: pick(&HASHES, algorithm),
                value,
                file_name,
            },
            EntityInput::EmailAddress {
                address,
                display_name,
            } => Entity::EmailAddress {
                address,
                display_name,
            },
            EntityInput::Process {
                name,
                pid,
                command_line,
                host,
                parent_name,
            } => Entity::Process {
                name,
                pid,
                command_line,
                host,
                parent_name,
            },
        }
    }
}

impl AlertInput {
    fn build(self) -> Alert {
        Alert {
            id: self.id,
            title: self.title,
            source_product: self.source_product,
            rule_id: self.rule_id,
            rule_name: self.rule_name,
            category: self.category,
            severity: pick(&SEVERITIES, self.severity),
            confidence: self.confidence,
            timestamp: self.timestamp,
            entities: self.entities.into_iter().map(EntityInput::build).collect(),
            tags: self.tags,
            annotations: self
                .annotations
                .into_iter()
                .map(|(source, key, value)| Annotation { source, key, value })
                .collect(),
            verdict: self.verdict.map(|v| pick(&VERDICTS, v)),
            risk_score: self.risk_score,
            status: self.status.map(|s| pick(&STATUSES, s)),
            raw: self.raw,
        }
    }
}

/// The WIT alert carries every field of the host alert but `status`, `confidence` as the
/// stated one or 0, and entities that convert back to themselves.
fn check_alert(alert: &Alert) {
    let sent = wit::Alert::from(alert);
    assert_eq!(sent.id, alert.id);
    assert_eq!(sent.title, alert.title);
    assert_eq!(sent.source_product, alert.source_product);
    assert_eq!(sent.rule_id, alert.rule_id);
    assert_eq!(sent.rule_name, alert.rule_name);
    assert_eq!(sent.category, alert.category);
    assert_eq!(Severity::from(sent.severity), alert.severity);
    assert_eq!(sent.confidence, alert.confidence.unwrap_or(0));
    assert_eq!(sent.timestamp, alert.timestamp);
    assert_eq!(sent.tags, alert.tags);
    assert_eq!(sent.verdict.map(Verdict::from), alert.verdict);
    assert_eq!(sent.risk_score, alert.risk_score);
    assert_eq!(sent.raw, alert.raw);
    let annotations: Vec<Annotation> = sent
        .annotations
        .into_iter()
        .map(|a| Annotation {
            source: a.source,
            key: a.key,
            value: a.value,
        })
        .collect();
    assert_eq!(annotations, alert.annotations);
    assert_eq!(sent.entities.len(), alert.entities.len());
    for (converted, original) in sent.entities.into_iter().zip(&alert.entities) {
        assert_eq!(Entity::try_from(converted).as_ref(), Ok(original));
    }
}

/// The host entity a plugin's entity should become: the model the conversion is checked
/// against. `Err` for an address that does not parse.
fn expected(input: &WitEntityInput) -> (wit::Entity, Result<Entity, ()>) {
    match input {
        WitEntityInput::Ip {
            address,
            direction: d,
        } => (
            wit::Entity::Ip(wit::Ip {
                address: address.clone(),
                direction: d.map(wit_direction),
            }),
            address
                .parse::<IpAddr>()
                .map(|address| Entity::Ip {
                    address,
                    direction: d.map(direction),
                })
                .map_err(drop),
        ),
        WitEntityInput::ValidIp {
            address,
            direction: d,
        } => {
            let entity = Entity::Ip {
                address: *address,
                direction: d.map(direction),
            };
            (wit::Entity::from(&entity), Ok(entity))
        }
        WitEntityInput::Other(input) => {
            let entity = input.clone().build();
            (wit::Entity::from(&entity), Ok(entity))
        }
    }
}

/// The WIT spelling of a direction, written out here so the model does not borrow the
/// conversion it checks.
fn wit_direction(source: bool) -> wit::Direction {
    if source {
        wit::Direction::Source
    } else {
        wit::Direction::Destination
    }
}

/// A plugin's entity is taken exactly when the model takes it, as the model says; a refusal
/// quotes the text; and its size is kept through the round trip unless its address was
/// respelled into the usual form.
fn check_sent_entity(input: &WitEntityInput) {
    let (sent, model) = expected(input);
    let size = entity_size(&sent);
    let address = match &sent {
        wit::Entity::Ip(ip) => Some(ip.address.clone()),
        _ => None,
    };
    match (Entity::try_from(sent), model) {
        (Ok(taken), Ok(model)) => {
            assert_eq!(taken, model);
            let back = wit::Entity::from(&taken);
            let respelled = match (&back, &address) {
                (wit::Entity::Ip(ip), Some(sent)) => &ip.address != sent,
                _ => false,
            };
            if !respelled {
                assert_eq!(entity_size(&back), size, "{taken:?}");
            }
        }
        (Err(message), Err(())) => {
            let quoted = format!("{:?}", address.unwrap_or_default());
            assert!(message.contains(&quoted), "{message}");
        }
        (taken, model) => panic!("the plugin's entity became {taken:?}, the model says {model:?}"),
    }
}

/// The host outcome is the plugin's, field for field, and its size is its text plus one item
/// cost per note and tag.
fn check_outcome(input: OutcomeInput) {
    let notes: Vec<(String, String)> = input.notes;
    let sent = || wit::Outcome {
        verdict: input.verdict.map(|v| pick(&VERDICTS, v).into()),
        risk_score: input.risk_score,
        notes: notes
            .iter()
            .map(|(key, value)| wit::Note {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        tags: input.tags.clone(),
        summary: input.summary.clone(),
    };
    let size = outcome_size(&sent());
    let taken = Outcome::from(sent());
    assert_eq!(
        taken,
        Outcome {
            verdict: input.verdict.map(|v| pick(&VERDICTS, v)),
            risk_score: input.risk_score,
            notes: notes.clone(),
            tags: input.tags.clone(),
            summary: input.summary.clone(),
        }
    );
    let item = item_bytes();
    let text: usize = taken.notes.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + taken.tags.iter().map(String::len).sum::<usize>()
        + taken.summary.as_ref().map_or(0, String::len);
    assert_eq!(size, text + item * (taken.notes.len() + taken.tags.len()));
}

/// What one note or tag costs beyond its text (`ITEM_BYTES`, private to the ABI crate), read
/// off the function that charges it: an outcome with one empty tag.
fn item_bytes() -> usize {
    outcome_size(&wit::Outcome {
        verdict: None,
        risk_score: None,
        notes: Vec::new(),
        tags: vec![String::new()],
        summary: None,
    })
}

/// An alert to WIT and back, a plugin's entities to the host, and a plugin's outcome to the
/// host: nothing the ABI carries is lost or changed.
pub fn wit_convert(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_alert(&input.alert.build());
    for entity in &input.sent {
        check_sent_entity(entity);
    }
    check_outcome(input.outcome);
}
