//! Display and constructors for the WIT types.

use std::fmt;

use crate::bindings::palisade::action::intel::Reputation;
use crate::{ActionStatus, Device, Direction, Entity, Ip, PluginInfo, Severity, User, Verdict};

impl PluginInfo {
    /// What [`Action::describe`](crate::Action::describe) returns. `capabilities` are the
    /// operations the plugin asks to be granted, as `capability.operation`.
    ///
    /// ```
    /// # use palisade_sdk::PluginInfo;
    /// let info = PluginInfo::new(
    ///     env!("CARGO_PKG_NAME"),
    ///     env!("CARGO_PKG_VERSION"),
    ///     "Blocks attacking addresses",
    ///     ["network.block-ip"],
    /// );
    /// assert_eq!(info.capabilities, ["network.block-ip"]);
    /// ```
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
        capabilities: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        PluginInfo {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            capabilities: capabilities.into_iter().map(Into::into).collect(),
        }
    }
}

impl User {
    /// A user known only by its account name.
    pub fn new(name: impl Into<String>) -> Self {
        User {
            name: name.into(),
            domain: None,
            email: None,
            id: None,
            display_name: None,
            sign_in: None,
        }
    }
}

impl Device {
    /// A machine known only by its hostname.
    pub fn new(hostname: impl Into<String>) -> Self {
        Device {
            hostname: hostname.into(),
            fqdn: None,
            id: None,
            os: None,
            ip_addresses: Vec::new(),
        }
    }
}

impl Ip {
    /// An address, with the end of the connection it was on when the alert says.
    pub fn new(address: impl Into<String>, direction: Option<Direction>) -> Self {
        Ip {
            address: address.into(),
            direction,
        }
    }
}

impl From<User> for Entity {
    fn from(user: User) -> Self {
        Entity::User(user)
    }
}

impl From<Device> for Entity {
    fn from(host: Device) -> Self {
        Entity::Host(host)
    }
}

impl From<Ip> for Entity {
    fn from(ip: Ip) -> Self {
        Entity::Ip(ip)
    }
}

/// Lower case, as the WIT spells it: `informational`, `low`, `medium`, `high`, `critical`.
impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// Lower case, as the WIT spells it: `benign`, `suspicious`, `malicious`.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Benign => "benign",
            Verdict::Suspicious => "suspicious",
            Verdict::Malicious => "malicious",
        })
    }
}

/// Lower case, as the WIT spells it: `unknown`, `benign`, `suspicious`, `malicious`.
impl fmt::Display for Reputation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reputation::Unknown => "unknown",
            Reputation::Benign => "benign",
            Reputation::Suspicious => "suspicious",
            Reputation::Malicious => "malicious",
        })
    }
}

/// `executed`, `simulated`, `held (approval <id>)` or `refused (<reason>)`.
impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionStatus::Executed => f.write_str("executed"),
            ActionStatus::Simulated => f.write_str("simulated"),
            ActionStatus::Held(approval) => write!(f, "held (approval {approval})"),
            ActionStatus::Refused(reason) => write!(f, "refused ({reason})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_wit_names() {
        assert_eq!(Severity::Informational.to_string(), "informational");
        assert_eq!(Verdict::Malicious.to_string(), "malicious");
        assert_eq!(Reputation::Suspicious.to_string(), "suspicious");
        assert_eq!(
            ActionStatus::Held("ap-1".into()).to_string(),
            "held (approval ap-1)"
        );
        assert_eq!(
            ActionStatus::Refused("protected".into()).to_string(),
            "refused (protected)"
        );
    }

    #[test]
    fn severity_is_ordered() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Informational < Severity::Low);
    }
}
