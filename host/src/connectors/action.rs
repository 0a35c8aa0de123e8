//! A destructive operation as data: what the broker executes, what an approval stores until
//! a person decides, and what undo reverses.

use super::endpoint::{EndpointAction, HostRequest};
use super::identity::{AccountRequest, IdentityAction};
use super::network::{BlockRequest, NetworkAction};
use super::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use crate::capability::{Capability, Operation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "capability", rename_all = "lowercase")]
pub enum ActionRequest {
    Identity {
        action: IdentityAction,
        user: String,
        reason: String,
    },
    Endpoint {
        #[serde(flatten)]
        action: EndpointAction,
        hostname: String,
        reason: String,
    },
    Network {
        action: NetworkAction,
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_seconds: Option<u32>,
        reason: String,
    },
}

impl ActionRequest {
    pub fn operation(&self) -> Operation {
        let (capability, name) = match self {
            ActionRequest::Identity { action, .. } => (Capability::Identity, action.operation()),
            ActionRequest::Endpoint { action, .. } => (Capability::Endpoint, action.operation()),
            ActionRequest::Network { action, .. } => (Capability::Network, action.operation()),
        };
        Operation::lookup(capability, name).expect("every action is in the catalogue")
    }

    /// The account, host, address or domain acted on.
    pub fn target(&self) -> &str {
        match self {
            ActionRequest::Identity { user, .. } => user,
            ActionRequest::Endpoint { hostname, .. } => hostname,
            ActionRequest::Network { target, .. } => target,
        }
    }

    /// The operation that reverses this one, where one exists. Revoked sessions, reset
    /// passwords, killed processes and quarantined files cannot be restored through the ABI.
    pub fn compensation(&self) -> Option<ActionRequest> {
        let reason = format!("undo of {} {}", self.operation(), self.target());
        match self {
            ActionRequest::Identity { action, user, .. } => {
                let action = match action {
                    IdentityAction::DisableUser => IdentityAction::EnableUser,
                    IdentityAction::EnableUser => IdentityAction::DisableUser,
                    IdentityAction::RevokeSessions | IdentityAction::ResetPassword => return None,
                };
                Some(ActionRequest::Identity {
                    action,
                    user: user.clone(),
                    reason,
                })
            }
            ActionRequest::Endpoint { action, hostname, .. } => {
                let action = match action {
                    EndpointAction::IsolateHost => EndpointAction::ReleaseHost,
                    EndpointAction::ReleaseHost => EndpointAction::IsolateHost,
                    EndpointAction::KillProcess { .. } | EndpointAction::QuarantineFile { .. } => {
                        return None;
                    }
                };
                Some(ActionRequest::Endpoint {
                    action,
                    hostname: hostname.clone(),
                    reason,
                })
            }
            ActionRequest::Network { action, target, .. } => {
                let action = match action {
                    NetworkAction::BlockIp => NetworkAction::UnblockIp,
                    NetworkAction::UnblockIp => NetworkAction::BlockIp,
                    NetworkAction::BlockDomain => NetworkAction::UnblockDomain,
                    NetworkAction::UnblockDomain => NetworkAction::BlockDomain,
                };
                Some(ActionRequest::Network {
                    action,
                    target: target.clone(),
                    duration_seconds: None,
                    reason,
                })
            }
        }
    }

    /// Carries the operation out through the connector that serves its capability.
    pub async fn execute(
        &self,
        connectors: &CapabilitySet,
        cx: &CallContext,
    ) -> Result<ActionReceipt, ConnectorError> {
        let missing =
            || ConnectorError::Failed(format!("no connector serves {}", self.operation().capability));
        match self {
            ActionRequest::Identity { action, user, reason } => {
                let provider = connectors.identity.as_ref().ok_or_else(missing)?;
                provider.act(cx, *action, &AccountRequest { user, reason }).await
            }
            ActionRequest::Endpoint {
                action,
                hostname,
                reason,
            } => {
                let edr = connectors.endpoint.as_ref().ok_or_else(missing)?;
                edr.act(
                    cx,
                    &HostRequest {
                        hostname,
                        action,
                        reason,
                    },
                )
                .await
            }
            ActionRequest::Network {
                action,
                target,
                duration_seconds,
                reason,
            } => {
                let network = connectors.network.as_ref().ok_or_else(missing)?;
                let request = BlockRequest {
                    target,
                    duration_seconds: *duration_seconds,
                    reason,
                };
                network.act(cx, *action, &request).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_json_as_stored_for_approval() {
        let requests = [
            ActionRequest::Identity {
                action: IdentityAction::DisableUser,
                user: "ceo".into(),
                reason: "r".into(),
            },
            ActionRequest::Endpoint {
                action: EndpointAction::KillProcess { pid: 7 },
                hostname: "h".into(),
                reason: "r".into(),
            },
            ActionRequest::Network {
                action: NetworkAction::BlockIp,
                target: "203.0.113.7".into(),
                duration_seconds: Some(60),
                reason: "r".into(),
            },
        ];
        for request in requests {
            let json = serde_json::to_value(&request).unwrap();
            assert_eq!(serde_json::from_value::<ActionRequest>(json).unwrap(), request);
        }
    }

    #[test]
    fn compensations_reverse_what_can_be_reversed() {
        let block = ActionRequest::Network {
            action: NetworkAction::BlockIp,
            target: "203.0.113.7".into(),
            duration_seconds: Some(60),
            reason: "r".into(),
        };
        assert_eq!(
            block.compensation().unwrap().operation().to_string(),
            "network.unblock-ip"
        );
        let isolate = ActionRequest::Endpoint {
            action: EndpointAction::IsolateHost,
            hostname: "h".into(),
            reason: "r".into(),
        };
        assert_eq!(
            isolate.compensation().unwrap().operation().to_string(),
            "endpoint.release-host"
        );
        let revoke = ActionRequest::Identity {
            action: IdentityAction::RevokeSessions,
            user: "u".into(),
            reason: "r".into(),
        };
        assert!(revoke.compensation().is_none());
    }
}
