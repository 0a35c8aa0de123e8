//! Capabilities, their operations, and grants: the operations an admin allows a plugin,
//! written `capability.operation`.

use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// A host capability a plugin can be granted operations of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Kv,
    Intel,
    Siem,
    Ticket,
    Identity,
    Endpoint,
    Network,
    Notify,
    /// Outbound HTTP (`wasi:http`) to the hosts on the plugin's allow list.
    Http,
}

impl Capability {
    pub const ALL: [Capability; 9] = [
        Capability::Kv,
        Capability::Intel,
        Capability::Siem,
        Capability::Ticket,
        Capability::Identity,
        Capability::Endpoint,
        Capability::Network,
        Capability::Notify,
        Capability::Http,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Kv => "kv",
            Capability::Intel => "intel",
            Capability::Siem => "siem",
            Capability::Ticket => "ticket",
            Capability::Identity => "identity",
            Capability::Endpoint => "endpoint",
            Capability::Network => "network",
            Capability::Notify => "notify",
            Capability::Http => "http",
        }
    }

    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether a connector serves this capability (`kv` is the host's own store, `http` the
    /// host's own client with the plugin's allow list).
    pub fn uses_connector(self) -> bool {
        !matches!(self, Capability::Kv | Capability::Http)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation of a capability, e.g. `identity.revoke-sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    pub capability: Capability,
    pub name: &'static str,
    /// Changes something outside Palisade that an analyst may need to undo.
    pub destructive: bool,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `http` has one operation and is granted by its capability's name alone.
        if self.capability == Capability::Http {
            return f.write_str("http");
        }
        write!(f, "{}.{}", self.capability, self.name)
    }
}

impl Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

const fn op(capability: Capability, name: &'static str, destructive: bool) -> Operation {
    Operation {
        capability,
        name,
        destructive,
    }
}

/// Every operation by name, for call sites: a typo is a compile error, not a panic.
pub mod ops {
    use super::{Capability, Operation, op};

    pub const KV_GET: Operation = op(Capability::Kv, "get", false);
    pub const KV_SET: Operation = op(Capability::Kv, "set", false);
    pub const KV_DELETE: Operation = op(Capability::Kv, "delete", false);
    pub const KV_INCREMENT: Operation = op(Capability::Kv, "increment", false);
    pub const INTEL_LOOKUP: Operation = op(Capability::Intel, "lookup", false);
    pub const SIEM_SEARCH: Operation = op(Capability::Siem, "search", false);
    pub const TICKET_CREATE: Operation = op(Capability::Ticket, "create", false);
    pub const TICKET_COMMENT: Operation = op(Capability::Ticket, "comment", false);
    /// `ticket.comment` on any ticket. Without it a plugin comments only on tickets opened
    /// for the alert it handles or that alert's incident. Granting it grants `ticket.comment`.
    pub const TICKET_COMMENT_ANY: Operation = op(Capability::Ticket, "comment-any", false);
    pub const IDENTITY_LOOKUP_USER: Operation = op(Capability::Identity, "lookup-user", false);
    pub const IDENTITY_DISABLE_USER: Operation = op(Capability::Identity, "disable-user", true);
    pub const IDENTITY_ENABLE_USER: Operation = op(Capability::Identity, "enable-user", true);
    pub const IDENTITY_REVOKE_SESSIONS: Operation = op(Capability::Identity, "revoke-sessions", true);
    pub const IDENTITY_RESET_PASSWORD: Operation = op(Capability::Identity, "reset-password", true);
    pub const ENDPOINT_LOOKUP_HOST: Operation = op(Capability::Endpoint, "lookup-host", false);
    pub const ENDPOINT_ISOLATE_HOST: Operation = op(Capability::Endpoint, "isolate-host", true);
    pub const ENDPOINT_RELEASE_HOST: Operation = op(Capability::Endpoint, "release-host", true);
    pub const ENDPOINT_KILL_PROCESS: Operation = op(Capability::Endpoint, "kill-process", true);
    pub const ENDPOINT_QUARANTINE_FILE: Operation = op(Capability::Endpoint, "quarantine-file", true);
    pub const NETWORK_BLOCK_IP: Operation = op(Capability::Network, "block-ip", true);
    pub const NETWORK_UNBLOCK_IP: Operation = op(Capability::Network, "unblock-ip", true);
    pub const NETWORK_BLOCK_DOMAIN: Operation = op(Capability::Network, "block-domain", true);
    pub const NETWORK_UNBLOCK_DOMAIN: Operation = op(Capability::Network, "unblock-domain", true);
    pub const NOTIFY_SEND: Operation = op(Capability::Notify, "send", false);
    /// An outgoing HTTP request through `wasi:http/outgoing-handler`, granted as `http`;
    /// where it may go is the plugin's `[plugins.NAME.http]` table.
    pub const HTTP: Operation = op(Capability::Http, "request", false);
}

/// Every operation the host offers: the WIT interfaces' functions, one for one, and
/// [`ops::TICKET_COMMENT_ANY`], which widens one of them.
pub const OPERATIONS: &[Operation] = &[
    ops::KV_GET,
    ops::KV_SET,
    ops::KV_DELETE,
    ops::KV_INCREMENT,
    ops::INTEL_LOOKUP,
    ops::SIEM_SEARCH,
    ops::TICKET_CREATE,
    ops::TICKET_COMMENT,
    ops::TICKET_COMMENT_ANY,
    ops::IDENTITY_LOOKUP_USER,
    ops::IDENTITY_DISABLE_USER,
    ops::IDENTITY_ENABLE_USER,
    ops::IDENTITY_REVOKE_SESSIONS,
    ops::IDENTITY_RESET_PASSWORD,
    ops::ENDPOINT_LOOKUP_HOST,
    ops::ENDPOINT_ISOLATE_HOST,
    ops::ENDPOINT_RELEASE_HOST,
    ops::ENDPOINT_KILL_PROCESS,
    ops::ENDPOINT_QUARANTINE_FILE,
    ops::NETWORK_BLOCK_IP,
    ops::NETWORK_UNBLOCK_IP,
    ops::NETWORK_BLOCK_DOMAIN,
    ops::NETWORK_UNBLOCK_DOMAIN,
    ops::NOTIFY_SEND,
    ops::HTTP,
];

pub use ops::HTTP;

impl Operation {
    /// Looks up `capability.operation`.
    pub fn parse(text: &str) -> Result<Operation, GrantError> {
        if text == "http" {
            return Ok(HTTP);
        }
        if text.starts_with("http.") {
            return Err(GrantError::UnknownOperation {
                grant: text.to_owned(),
                known: "http (granted by its name alone; where it may go is [plugins.NAME.http])".into(),
            });
        }
        let (capability, name) = text
            .split_once('.')
            .ok_or_else(|| GrantError::Malformed(text.to_owned()))?;
        let capability = Capability::parse(capability).ok_or_else(|| GrantError::UnknownCapability {
            grant: text.to_owned(),
            capability: capability.to_owned(),
        })?;
        OPERATIONS
            .iter()
            .copied()
            .find(|op| op.capability == capability && op.name == name)
            .ok_or_else(|| GrantError::UnknownOperation {
                grant: text.to_owned(),
                known: OPERATIONS
                    .iter()
                    .filter(|op| op.capability == capability)
                    .map(|op| op.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Finds the operation a WIT import function stands for.
    pub fn lookup(capability: Capability, name: &str) -> Option<Operation> {
        OPERATIONS
            .iter()
            .copied()
            .find(|op| op.capability == capability && op.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("grant {0:?} is not of the form `capability.operation`")]
    Malformed(String),
    #[error(
        "grant {grant:?} names unknown capability {capability:?}; known: kv, intel, siem, ticket, identity, endpoint, network, notify, http"
    )]
    UnknownCapability { grant: String, capability: String },
    #[error("grant {grant:?} names an unknown operation; this capability has: {known}")]
    UnknownOperation { grant: String, known: String },
}

/// The operations granted to one plugin. Nothing is granted unless listed: there are no
/// wildcards, so a new destructive operation never becomes available by accident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    operations: BTreeSet<Operation>,
}

impl Grants {
    pub fn new(operations: impl IntoIterator<Item = Operation>) -> Grants {
        let mut operations: BTreeSet<Operation> = operations.into_iter().collect();
        if operations.contains(&ops::TICKET_COMMENT_ANY) {
            operations.insert(ops::TICKET_COMMENT);
        }
        Grants { operations }
    }

    pub fn allows(&self, operation: Operation) -> bool {
        self.operations.contains(&operation)
    }

    pub fn iter(&self) -> impl Iterator<Item = Operation> + '_ {
        self.operations.iter().copied()
    }

    pub fn capabilities(&self) -> BTreeSet<Capability> {
        self.operations.iter().map(|op| op.capability).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_operations_parse_and_print_back() {
        let op = Operation::parse("identity.revoke-sessions").unwrap();
        assert!(op.destructive);
        assert_eq!(op.to_string(), "identity.revoke-sessions");
        assert!(!Operation::parse("intel.lookup").unwrap().destructive);
    }

    #[test]
    fn misspelt_grants_are_refused_with_the_alternatives() {
        let error = Operation::parse("identity.disabel-user").unwrap_err().to_string();
        assert!(error.contains("identity.disable-user"), "{error}");
        assert!(matches!(
            Operation::parse("shell.exec"),
            Err(GrantError::UnknownCapability { .. })
        ));
        assert!(matches!(
            Operation::parse("identity"),
            Err(GrantError::Malformed(_))
        ));
        assert!(Operation::parse("identity.*").is_err(), "no wildcards");
    }

    #[test]
    fn http_is_granted_by_its_name_alone() {
        let http = Operation::parse("http").unwrap();
        assert_eq!(http, HTTP);
        assert_eq!(http.to_string(), "http");
        assert!(!http.destructive);
        assert!(!http.capability.uses_connector());
        let error = Operation::parse("http.get").unwrap_err().to_string();
        assert!(error.contains("granted by its name alone"), "{error}");
    }

    #[test]
    fn every_operation_is_granted_by_its_own_name() {
        for operation in OPERATIONS {
            assert_eq!(Operation::parse(&operation.to_string()).as_ref(), Ok(operation));
        }
    }

    #[test]
    fn commenting_on_any_ticket_includes_commenting() {
        let grants = Grants::new([Operation::parse("ticket.comment-any").unwrap()]);
        assert!(grants.allows(ops::TICKET_COMMENT_ANY));
        assert!(grants.allows(Operation::parse("ticket.comment").unwrap()));
        let scoped = Grants::new([Operation::parse("ticket.comment").unwrap()]);
        assert!(!scoped.allows(ops::TICKET_COMMENT_ANY));
    }

    #[test]
    fn only_listed_operations_are_allowed() {
        let grants = Grants::new([Operation::parse("network.block-ip").unwrap()]);
        assert!(grants.allows(Operation::parse("network.block-ip").unwrap()));
        assert!(!grants.allows(Operation::parse("network.unblock-ip").unwrap()));
        assert!(!Grants::default().allows(Operation::parse("kv.get").unwrap()));
    }
}
