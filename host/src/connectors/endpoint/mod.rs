//! Endpoint detection and response: host lookup and host containment.

pub mod crowdstrike;
pub mod defender;
pub mod embedded;
pub mod webhook;

use super::{ActionReceipt, CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub id: String,
    pub hostname: String,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    #[serde(default)]
    pub isolated: bool,
    #[serde(default)]
    pub last_seen: Option<String>,
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

#[derive(Debug, Clone, Serialize)]
pub struct HostRequest<'a> {
    pub hostname: &'a str,
    #[serde(flatten)]
    pub action: &'a EndpointAction,
    pub reason: &'a str,
}

#[async_trait::async_trait]
pub trait Endpoint: Send + Sync {
    async fn lookup_host(&self, cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError>;
    async fn act(&self, cx: &CallContext, request: &HostRequest<'_>)
    -> Result<ActionReceipt, ConnectorError>;
}
