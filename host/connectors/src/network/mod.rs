//! Network controls: blocking addresses and domains.

pub mod cloudflare;
pub mod edl;
pub mod embedded;
pub mod webhook;

use super::{ActionReceipt, CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkAction {
    BlockIp,
    UnblockIp,
    BlockDomain,
    UnblockDomain,
}

impl NetworkAction {
    pub fn operation(self) -> &'static str {
        match self {
            NetworkAction::BlockIp => "block-ip",
            NetworkAction::UnblockIp => "unblock-ip",
            NetworkAction::BlockDomain => "block-domain",
            NetworkAction::UnblockDomain => "unblock-domain",
        }
    }

    /// Whether the target is an address or range (else a domain).
    pub fn on_address(self) -> bool {
        matches!(self, NetworkAction::BlockIp | NetworkAction::UnblockIp)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockRequest<'a> {
    /// An IP address or CIDR range, or a domain.
    pub target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    pub reason: &'a str,
}

#[async_trait::async_trait]
pub trait NetworkControl: Send + Sync {
    async fn act(
        &self,
        cx: &CallContext,
        action: NetworkAction,
        request: &BlockRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError>;

    /// Whether a block given a duration is lifted by the backend itself when it is up (a list
    /// the host keeps and sweeps, a vendor that expires entries). When not, the host schedules
    /// the unblock and carries it out when due.
    fn expires_blocks(&self) -> bool {
        false
    }

    /// Lifts the blocks whose time is up, for backends that keep the list themselves (a
    /// vendor that expires blocks on its own needs nothing). Returns how many lists changed.
    async fn sweep_expired(&self) -> Result<usize, ConnectorError> {
        Ok(0)
    }
}
