//! Incidents: alerts that share an entity (of the kinds the config names) within a time window
//! belong to one incident, so a burst of related alerts is handled as one thing, for example
//! one ticket instead of fifty.
//!
//! An alert joins the incident of the first of its entities (in the order of the configured
//! kinds, then the alert's order) already seen in an incident, when the alert's timestamp is
//! within the window of that entity's sightings in it (either side: a batch is not in time
//! order, and the window slides as the incident grows). Otherwise it starts an incident, whose
//! id is its own. Incidents are not merged: an alert that links two incidents joins the first.
//! The state is kept in memory for one run, at most [`MAX_REMEMBERED`] entities: past that,
//! the longest-remembered is forgotten.

use super::Entity;
use super::mapping::EntityKind;
use crate::Alert;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The kinds that link alerts unless the config says otherwise.
pub const DEFAULT_KINDS: [EntityKind; 3] = [EntityKind::User, EntityKind::Host, EntityKind::Ip];

/// The window unless the config says otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The longest window the config may set: one week.
pub const MAX_WINDOW_MINUTES: u32 = 7 * 24 * 60;

/// How many entities are remembered at once, so memory stays bounded over a long run.
pub const MAX_REMEMBERED: usize = 100_000;

/// `[intake.grouping]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupingConfig {
    /// In the config's order, without repeats.
    pub kinds: Vec<EntityKind>,
    pub window: Duration,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            kinds: DEFAULT_KINDS.to_vec(),
            window: DEFAULT_WINDOW,
        }
    }
}

/// Which incident an alert belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// The incident's id: the id of its first alert.
    pub incident: String,
    /// Whether this alert started it.
    pub new: bool,
}

/// Where an entity was seen: its incident and the earliest and latest timestamps there.
#[derive(Debug)]
struct Sighting {
    incident: String,
    earliest: OffsetDateTime,
    latest: OffsetDateTime,
}

/// The incidents of this run, by the entities seen in them.
#[derive(Debug)]
pub struct Grouping {
    config: GroupingConfig,
    seen: HashMap<String, Sighting>,
    /// The entity keys in the order they were remembered, to forget the oldest.
    order: VecDeque<String>,
    limit: usize,
}

impl Grouping {
    pub fn new(config: GroupingConfig) -> Grouping {
        Grouping::with_limit(config, MAX_REMEMBERED)
    }

    fn with_limit(config: GroupingConfig, limit: usize) -> Grouping {
        Grouping {
            config,
            seen: HashMap::new(),
            order: VecDeque::new(),
            limit: limit.max(1),
        }
    }

    /// The incident `alert` belongs to; its entities are remembered in it.
    pub fn assign(&mut self, alert: &Alert) -> Assigned {
        let Some(time) = OffsetDateTime::parse(&alert.timestamp, &Rfc3339).ok() else {
            // Without a time there is no window to be within: an incident of its own.
            return Assigned {
                incident: alert.id.clone(),
                new: true,
            };
        };
        let mut keys: Vec<String> = Vec::new();
        for kind in &self.config.kinds {
            for entity in &alert.entities {
                if let Some(key) = key(entity, *kind)
                    && !keys.contains(&key)
                {
                    keys.push(key);
                }
            }
        }
        let window = self.config.window;
        let joined = keys.iter().find_map(|key| {
            self.seen.get(key).and_then(|sighting| {
                let within = time >= sighting.earliest - window && time <= sighting.latest + window;
                within.then(|| sighting.incident.clone())
            })
        });
        let assigned = match joined {
            Some(incident) => Assigned { incident, new: false },
            None => Assigned {
                incident: alert.id.clone(),
                new: true,
            },
        };
        for key in keys {
            match self.seen.get_mut(&key) {
                Some(sighting) if sighting.incident == assigned.incident => {
                    sighting.earliest = sighting.earliest.min(time);
                    sighting.latest = sighting.latest.max(time);
                }
                // Seen in another incident, or out of the window: it now points here.
                Some(sighting) => {
                    *sighting = Sighting {
                        incident: assigned.incident.clone(),
                        earliest: time,
                        latest: time,
                    };
                }
                None => {
                    self.seen.insert(
                        key.clone(),
                        Sighting {
                            incident: assigned.incident.clone(),
                            earliest: time,
                            latest: time,
                        },
                    );
                    self.order.push_back(key);
                    while self.order.len() > self.limit {
                        if let Some(oldest) = self.order.pop_front() {
                            self.seen.remove(&oldest);
                        }
                    }
                }
            }
        }
        assigned
    }
}

/// An entity's identity when it is of `kind`: what two alerts must both name to be linked.
fn key(entity: &Entity, kind: EntityKind) -> Option<String> {
    Some(match (entity, kind) {
        (Entity::User { name, .. }, EntityKind::User) => format!("user:{}", name.to_lowercase()),
        (Entity::Host { hostname, .. }, EntityKind::Host) => format!("host:{}", hostname.to_lowercase()),
        (Entity::Ip { address, .. }, EntityKind::Ip) => format!("ip:{address}"),
        (Entity::Domain { name }, EntityKind::Domain) => format!("domain:{}", name.to_lowercase()),
        (Entity::Url { url }, EntityKind::Url) => format!("url:{url}"),
        (Entity::FileHash { value, .. }, EntityKind::FileHash) => format!("file:{}", value.to_lowercase()),
        (Entity::EmailAddress { address, .. }, EntityKind::EmailAddress) => {
            format!("email:{}", address.to_lowercase())
        }
        (Entity::Process { name, host, .. }, EntityKind::Process) => {
            format!("process:{name}@{}", host.as_deref().unwrap_or_default())
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::parse_line;

    fn alert(id: &str, time: &str, entities: &[(&str, &str)]) -> Alert {
        let entities: Vec<String> = entities
            .iter()
            .map(|(kind, name)| match *kind {
                "user" => format!(r#"{{"type":"user","name":"{name}"}}"#),
                "host" => format!(r#"{{"type":"host","hostname":"{name}"}}"#),
                _ => format!(r#"{{"type":"ip","address":"{name}"}}"#),
            })
            .collect();
        parse_line(&format!(
            r#"{{"id":"{id}","title":"t","source":"s","category":"c","severity":"high","confidence":90,"timestamp":"{time}","entities":[{}]}}"#,
            entities.join(",")
        ))
        .unwrap()
    }

    fn incident(grouping: &mut Grouping, alert: &Alert) -> String {
        grouping.assign(alert).incident
    }

    #[test]
    fn alerts_sharing_an_entity_within_the_window_form_one_incident() {
        let mut grouping = Grouping::new(GroupingConfig::default());
        let first = grouping.assign(&alert(
            "a",
            "2026-11-26T09:00:00Z",
            &[("ip", "203.0.113.7"), ("user", "alice")],
        ));
        assert_eq!(
            first,
            Assigned {
                incident: "a".into(),
                new: true
            }
        );
        // Another user from the same address.
        let b = alert(
            "b",
            "2026-11-26T09:20:00Z",
            &[("user", "dave"), ("ip", "203.0.113.7")],
        );
        assert_eq!(
            grouping.assign(&b),
            Assigned {
                incident: "a".into(),
                new: false
            }
        );
        // Linked through dave, seen in b only; the window slides with the incident.
        let c = alert("c", "2026-11-26T09:45:00Z", &[("user", "Dave")]);
        assert_eq!(incident(&mut grouping, &c), "a");
        // Nothing in common.
        let d = alert("d", "2026-11-26T09:10:00Z", &[("host", "laptop-7")]);
        assert_eq!(
            grouping.assign(&d),
            Assigned {
                incident: "d".into(),
                new: true
            }
        );
        // The address again, more than 30 minutes after its last sighting: a new incident.
        let e = alert("e", "2026-11-26T09:50:01Z", &[("ip", "203.0.113.7")]);
        assert_eq!(incident(&mut grouping, &e), "e");
        let f = alert("f", "2026-11-26T10:00:00Z", &[("ip", "203.0.113.7")]);
        assert_eq!(incident(&mut grouping, &f), "e");
    }

    #[test]
    fn only_the_configured_kinds_link_alerts() {
        let mut grouping = Grouping::new(GroupingConfig {
            kinds: vec![EntityKind::Ip],
            window: Duration::from_secs(5 * 60),
        });
        let at = "2026-11-26T09:00:00Z";
        assert_eq!(
            incident(&mut grouping, &alert("a", at, &[("user", "alice")])),
            "a"
        );
        assert_eq!(
            incident(&mut grouping, &alert("b", at, &[("user", "alice")])),
            "b"
        );
        assert_eq!(
            incident(&mut grouping, &alert("c", at, &[("ip", "10.0.0.1")])),
            "c"
        );
        let later = "2026-11-26T09:05:00Z";
        assert_eq!(
            incident(&mut grouping, &alert("d", later, &[("ip", "10.0.0.1")])),
            "c"
        );
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest_entity() {
        let mut grouping = Grouping::with_limit(GroupingConfig::default(), 2);
        let at = "2026-11-26T09:00:00Z";
        incident(&mut grouping, &alert("a", at, &[("user", "alice")]));
        incident(&mut grouping, &alert("b", at, &[("user", "bob")]));
        incident(&mut grouping, &alert("c", at, &[("user", "carol")]));
        assert_eq!(grouping.seen.len(), 2);
        assert_eq!(incident(&mut grouping, &alert("b2", at, &[("user", "bob")])), "b");
        assert_eq!(
            incident(&mut grouping, &alert("a2", at, &[("user", "alice")])),
            "a2"
        );
    }
}
