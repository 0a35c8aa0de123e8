//! Endpoint detection and response: host lookup and host containment.
//!
//! As with accounts, a host is first resolved to the EDR's one device record
//! ([`Endpoint::lookup_host`]), the policy gate decides on every name of that record, and
//! [`Endpoint::act`] acts on the device id.

pub mod crowdstrike;
pub mod defender;
pub mod embedded;
pub mod webhook;

use super::{ActionReceipt, CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

/// A device as the EDR records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The EDR's device id: what containment acts on.
    pub id: String,
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    /// Whether the device is cut off the network; `None` when the EDR cannot say (a
    /// containment or release still in progress).
    #[serde(default)]
    pub isolated: Option<bool>,
    #[serde(default)]
    pub last_seen: Option<String>,
}

impl HostInfo {
    /// Every name this device answers to, for the policy gate: id, hostname, FQDN, the short
    /// name of each, and its addresses (a protected host named by its address is still it).
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.id.clone(), self.hostname.clone()];
        names.extend(self.fqdn.clone());
        for name in [Some(&self.hostname), self.fqdn.as_ref()].into_iter().flatten() {
            if let Some((short, _)) = name.trim_start_matches('.').split_once('.')
                && short.parse::<std::net::Ipv4Addr>().is_err()
            {
                names.push(short.to_owned());
            }
        }
        names.extend(self.ip_addresses.iter().cloned());
        names
    }

    /// Whether `name` is one of this device's names: how a backend checks that the record a
    /// vendor's search returned is the one asked for, not a near match.
    pub fn answers_to(&self, name: &str) -> bool {
        self.names()
            .iter()
            .any(|known| super::resolve::same_name(known, name))
    }
}

/// A host operation with side effects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum EndpointAction {
    IsolateHost,
    ReleaseHost,
    KillProcess { pid: u32 },
    QuarantineFile { sha256: String },
}

impl EndpointAction {
    pub fn operation(&self) -> &'static str {
        match self {
            EndpointAction::IsolateHost => "isolate-host",
            EndpointAction::ReleaseHost => "release-host",
            EndpointAction::KillProcess { .. } => "kill-process",
            EndpointAction::QuarantineFile { .. } => "quarantine-file",
        }
    }
}

/// An operation on one resolved device.
#[derive(Debug, Clone, Serialize)]
pub struct HostRequest<'a> {
    /// The EDR's device id, from [`Endpoint::lookup_host`]: what is acted on.
    pub device_id: &'a str,
    /// Its hostname, for the vendor's own records and for people reading them.
    pub hostname: &'a str,
    #[serde(flatten)]
    pub action: &'a EndpointAction,
    pub reason: &'a str,
}

#[async_trait::async_trait]
pub trait Endpoint: Send + Sync {
    /// The one device the EDR knows by `hostname`: its device id, hostname, FQDN or an
    /// address, as the EDR itself resolves them. `NotFound` when there is none, `Ambiguous`
    /// (naming the candidates) when there is more than one.
    async fn lookup_host(&self, cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError>;
    /// The device as [`lookup_host`](Endpoint::lookup_host) resolves it, with its containment
    /// state where the EDR keeps that apart from the device record: what a plugin's
    /// `endpoint.lookup-host` answers. The policy gate needs only the record.
    async fn describe_host(&self, cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        self.lookup_host(cx, hostname).await
    }
    /// Acts on the device `request.device_id` names.
    async fn act(&self, cx: &CallContext, request: &HostRequest<'_>)
    -> Result<ActionReceipt, ConnectorError>;
}
