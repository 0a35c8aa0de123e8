//! Reading an [`Alert`]: its entities by kind, its earlier annotations.

use crate::{Alert, Annotation, Device, Direction, Entity, FileHash, Ip, Severity, User};

impl Alert {
    /// An alert with the given id, title and severity, confidence 100 and everything else empty.
    ///
    /// Meant for tests; fill the rest with struct update syntax:
    ///
    /// ```
    /// # use palisade_sdk::{Alert, Direction, Ip, Severity, User};
    /// let alert = Alert {
    ///     entities: vec![User::new("alice").into(), Ip::new("203.0.113.7", Some(Direction::Source)).into()],
    ///     ..Alert::new("a-1", "Password spray", Severity::High)
    /// };
    /// assert_eq!(alert.users().count(), 1);
    /// ```
    pub fn new(id: impl Into<String>, title: impl Into<String>, severity: Severity) -> Self {
        Alert {
            id: id.into(),
            title: title.into(),
            source_product: String::new(),
            rule_id: None,
            rule_name: None,
            category: String::new(),
            severity,
            confidence: 100,
            timestamp: String::new(),
            entities: Vec::new(),
            tags: Vec::new(),
            annotations: Vec::new(),
            verdict: None,
            risk_score: None,
            raw: String::new(),
        }
    }

    /// The rule that fired: its name, else its id.
    pub fn rule(&self) -> Option<&str> {
        self.rule_name.as_deref().or(self.rule_id.as_deref())
    }

    /// The user entities, in the alert's order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.entities.iter().filter_map(|e| match e {
            Entity::User(u) => Some(u),
            _ => None,
        })
    }

    /// The host entities, in the alert's order.
    pub fn hosts(&self) -> impl Iterator<Item = &Device> {
        self.entities.iter().filter_map(|e| match e {
            Entity::Host(h) => Some(h),
            _ => None,
        })
    }

    /// The IP address entities, in the alert's order.
    pub fn ips(&self) -> impl Iterator<Item = &Ip> {
        self.entities.iter().filter_map(|e| match e {
            Entity::Ip(ip) => Some(ip),
            _ => None,
        })
    }

    /// The IP address entities marked as the source of the activity ([`Direction::Source`]).
    pub fn source_ips(&self) -> impl Iterator<Item = &Ip> {
        self.ips().filter(|ip| ip.direction == Some(Direction::Source))
    }

    /// The domain entities, in the alert's order.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.entities.iter().filter_map(|e| match e {
            Entity::Domain(d) => Some(d.as_str()),
            _ => None,
        })
    }

    /// The URL entities, in the alert's order.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.entities.iter().filter_map(|e| match e {
            Entity::Url(u) => Some(u.as_str()),
            _ => None,
        })
    }

    /// The file hash entities, in the alert's order.
    pub fn file_hashes(&self) -> impl Iterator<Item = &FileHash> {
        self.entities.iter().filter_map(|e| match e {
            Entity::FileHash(h) => Some(h),
            _ => None,
        })
    }

    /// The annotations the plugin named `plugin` added in earlier stages.
    pub fn annotations_from<'a>(&'a self, plugin: &'a str) -> impl Iterator<Item = &'a Annotation> {
        self.annotations.iter().filter(move |a| a.source == plugin)
    }

    /// The value of the latest annotation with this key from the plugin named `plugin`.
    pub fn annotation(&self, plugin: &str, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .rev()
            .find(|a| a.source == plugin && a.key == key)
            .map(|a| a.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotation(source: &str, key: &str, value: &str) -> Annotation {
        Annotation {
            source: source.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    fn alert() -> Alert {
        Alert {
            entities: vec![
                User::new("alice").into(),
                Ip::new("203.0.113.7", Some(Direction::Source)).into(),
                Ip::new("10.0.0.5", Some(Direction::Destination)).into(),
                Ip::new("198.51.100.1", None).into(),
                Device::new("web-1").into(),
                Entity::Domain("evil.example".into()),
                User::new("bob").into(),
            ],
            annotations: vec![
                annotation("ip-reputation", "intel:203.0.113.7", "malicious score=95"),
                annotation("triage", "risk", "80"),
                annotation("ip-reputation", "intel:203.0.113.7", "suspicious score=50"),
            ],
            ..Alert::new("a-1", "t", Severity::High)
        }
    }

    #[test]
    fn entities_by_kind() {
        let alert = alert();
        let users: Vec<_> = alert.users().map(|u| u.name.as_str()).collect();
        assert_eq!(users, ["alice", "bob"]);
        assert_eq!(alert.ips().count(), 3);
        let sources: Vec<_> = alert.source_ips().map(|ip| ip.address.as_str()).collect();
        assert_eq!(sources, ["203.0.113.7"]);
        assert_eq!(alert.hosts().next().map(|h| h.hostname.as_str()), Some("web-1"));
        assert_eq!(alert.domains().collect::<Vec<_>>(), ["evil.example"]);
        assert_eq!(alert.file_hashes().count(), 0);
    }

    #[test]
    fn annotations_by_plugin() {
        let alert = alert();
        assert_eq!(alert.annotations_from("ip-reputation").count(), 2);
        assert_eq!(
            alert.annotation("ip-reputation", "intel:203.0.113.7"),
            Some("suspicious score=50")
        );
        assert_eq!(alert.annotation("nobody", "risk"), None);
    }

    #[test]
    fn rule_prefers_name() {
        let mut alert = alert();
        assert_eq!(alert.rule(), None);
        alert.rule_id = Some("R-7".into());
        assert_eq!(alert.rule(), Some("R-7"));
        alert.rule_name = Some("Spray".into());
        assert_eq!(alert.rule(), Some("Spray"));
    }
}
