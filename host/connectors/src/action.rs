//! A destructive operation as data: what the broker executes, what an approval stores until
//! a person decides, and what undo reverses.

use super::endpoint::{EndpointAction, HostInfo, HostRequest};
use super::identity::{AccountRequest, IdentityAction, UserProfile};
use super::network::{BlockRequest, NetworkAction};
use super::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::{Operation, ops};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "capability", rename_all = "lowercase")]
pub enum ActionRequest {
    Identity {
        action: IdentityAction,
        /// The name the plugin passed.
        user: String,
        reason: String,
        /// The account the gate decided on, once resolved: what is acted on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<Resolved>,
    },
    Endpoint {
        #[serde(flatten)]
        action: EndpointAction,
        /// The name the plugin passed.
        hostname: String,
        reason: String,
        /// The device the gate decided on, once resolved: what is acted on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<Resolved>,
    },
    Network {
        action: NetworkAction,
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_seconds: Option<u32>,
        reason: String,
    },
}

/// The vendor record an operation acts on: its id, and the name people know it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub id: String,
    pub name: String,
}

/// What a target resolved to, for the policy gate.
#[derive(Debug, Clone)]
pub enum Subject {
    Account(UserProfile),
    Device(HostInfo),
    /// Network targets need no vendor: their canonical form is what is acted on.
    Network(String),
}

impl ActionRequest {
    /// Bytes of text the plugin passed, counted against its invocation's budget.
    pub fn argument_bytes(&self) -> usize {
        match self {
            ActionRequest::Identity { user, reason, .. } => user.len() + reason.len(),
            ActionRequest::Endpoint {
                action,
                hostname,
                reason,
                ..
            } => {
                let digest = match action {
                    EndpointAction::QuarantineFile { sha256 } => sha256.len(),
                    _ => 0,
                };
                hostname.len() + reason.len() + digest
            }
            ActionRequest::Network { target, reason, .. } => target.len() + reason.len(),
        }
    }

    pub fn operation(&self) -> Operation {
        match self {
            ActionRequest::Identity { action, .. } => match action {
                IdentityAction::DisableUser => ops::IDENTITY_DISABLE_USER,
                IdentityAction::EnableUser => ops::IDENTITY_ENABLE_USER,
                IdentityAction::RevokeSessions => ops::IDENTITY_REVOKE_SESSIONS,
                IdentityAction::ResetPassword => ops::IDENTITY_RESET_PASSWORD,
            },
            ActionRequest::Endpoint { action, .. } => match action {
                EndpointAction::IsolateHost => ops::ENDPOINT_ISOLATE_HOST,
                EndpointAction::ReleaseHost => ops::ENDPOINT_RELEASE_HOST,
                EndpointAction::KillProcess { .. } => ops::ENDPOINT_KILL_PROCESS,
                EndpointAction::QuarantineFile { .. } => ops::ENDPOINT_QUARANTINE_FILE,
            },
            ActionRequest::Network { action, .. } => match action {
                NetworkAction::BlockIp => ops::NETWORK_BLOCK_IP,
                NetworkAction::UnblockIp => ops::NETWORK_UNBLOCK_IP,
                NetworkAction::BlockDomain => ops::NETWORK_BLOCK_DOMAIN,
                NetworkAction::UnblockDomain => ops::NETWORK_UNBLOCK_DOMAIN,
            },
        }
    }

    /// The account, host, address or domain acted on.
    pub fn target(&self) -> &str {
        match self {
            ActionRequest::Identity { user, .. } => user,
            ActionRequest::Endpoint { hostname, .. } => hostname,
            ActionRequest::Network { target, .. } => target,
        }
    }

    /// The account or device the operation names, as the vendor records it, or the canonical
    /// form of an address or domain. A name with a control character is refused, as some
    /// vendors and URL builders silently drop one.
    pub async fn resolve(
        &self,
        connectors: &CapabilitySet,
        cx: &CallContext,
    ) -> Result<Subject, ConnectorError> {
        let missing =
            || ConnectorError::Unsupported(format!("no connector serves {}", self.operation().capability));
        super::resolve::checked("target", self.target())?;
        match self {
            ActionRequest::Identity { user, .. } => {
                let provider = connectors.identity.as_ref().ok_or_else(missing)?;
                Ok(Subject::Account(provider.lookup_user(cx, user).await?))
            }
            ActionRequest::Endpoint { hostname, .. } => {
                let edr = connectors.endpoint.as_ref().ok_or_else(missing)?;
                Ok(Subject::Device(edr.lookup_host(cx, hostname).await?))
            }
            ActionRequest::Network { action, target, .. } => {
                let invalid = |error: palisade_core::canonical::NameError| {
                    ConnectorError::InvalidInput(format!("{target:?}: {error}"))
                };
                let canonical = if action.on_address() {
                    let net = palisade_core::canonical::address::parse(target).map_err(invalid)?;
                    if net.prefix_len() == net.max_prefix_len() {
                        net.addr().to_string()
                    } else {
                        net.to_string()
                    }
                } else {
                    palisade_core::canonical::domain::domain(target).map_err(invalid)?
                };
                Ok(Subject::Network(canonical))
            }
        }
    }

    /// Binds the operation to what its target resolved to, so executing it (now, on approval,
    /// or its undo) acts on that record and nothing else.
    pub fn bind(&mut self, subject: &Subject) {
        match (self, subject) {
            (ActionRequest::Identity { resolved, .. }, Subject::Account(account)) => {
                *resolved = Some(Resolved {
                    id: account.id.clone(),
                    name: account.name.clone(),
                });
            }
            (ActionRequest::Endpoint { resolved, .. }, Subject::Device(device)) => {
                *resolved = Some(Resolved {
                    id: device.id.clone(),
                    name: device.hostname.clone(),
                });
            }
            (ActionRequest::Network { target, .. }, Subject::Network(canonical)) => {
                target.clone_from(canonical);
            }
            _ => {}
        }
    }

    /// The resolved record, once [`ActionRequest::bind`] set one.
    pub fn resolved(&self) -> Option<&Resolved> {
        match self {
            ActionRequest::Identity { resolved, .. } | ActionRequest::Endpoint { resolved, .. } => {
                resolved.as_ref()
            }
            ActionRequest::Network { .. } => None,
        }
    }

    /// The operation that reverses this one, where one exists. Revoked sessions, reset
    /// passwords, killed processes and quarantined files cannot be restored through the ABI.
    pub fn compensation(&self) -> Option<ActionRequest> {
        let reason = format!("undo of {} {}", self.operation(), self.target());
        match self {
            ActionRequest::Identity {
                action,
                user,
                resolved,
                ..
            } => {
                let action = match action {
                    IdentityAction::DisableUser => IdentityAction::EnableUser,
                    IdentityAction::EnableUser => IdentityAction::DisableUser,
                    IdentityAction::RevokeSessions | IdentityAction::ResetPassword => return None,
                };
                Some(ActionRequest::Identity {
                    action,
                    user: user.clone(),
                    reason,
                    resolved: resolved.clone(),
                })
            }
            ActionRequest::Endpoint {
                action,
                hostname,
                resolved,
                ..
            } => {
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
                    resolved: resolved.clone(),
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

    /// Carries the operation out through the connector that serves its capability, on the
    /// record it is bound to. One held before it could be resolved (and so approved by a
    /// person who saw only the name) is resolved now, and fails if it still cannot be.
    pub async fn execute(
        &self,
        connectors: &CapabilitySet,
        cx: &CallContext,
    ) -> Result<ActionReceipt, ConnectorError> {
        if self.resolved().is_none() && !matches!(self, ActionRequest::Network { .. }) {
            let mut bound = self.clone();
            bound.bind(&self.resolve(connectors, cx).await?);
            return Box::pin(bound.execute(connectors, cx)).await;
        }
        let missing =
            || ConnectorError::Failed(format!("no connector serves {}", self.operation().capability));
        match self {
            ActionRequest::Identity {
                action,
                reason,
                resolved: Some(account),
                ..
            } => {
                let provider = connectors.identity.as_ref().ok_or_else(missing)?;
                let request = AccountRequest {
                    user_id: &account.id,
                    user: &account.name,
                    reason,
                };
                provider.act(cx, *action, &request).await
            }
            ActionRequest::Endpoint {
                action,
                reason,
                resolved: Some(device),
                ..
            } => {
                let edr = connectors.endpoint.as_ref().ok_or_else(missing)?;
                let request = HostRequest {
                    device_id: &device.id,
                    hostname: &device.name,
                    action,
                    reason,
                };
                edr.act(cx, &request).await
            }
            ActionRequest::Identity { resolved: None, .. }
            | ActionRequest::Endpoint { resolved: None, .. } => {
                unreachable!("bound above")
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
                resolved: Some(Resolved {
                    id: "00u0ceo".into(),
                    name: "ceo@example.com".into(),
                }),
            },
            ActionRequest::Endpoint {
                action: EndpointAction::KillProcess { pid: 7 },
                hostname: "h".into(),
                reason: "r".into(),
                resolved: None,
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
        let device = Resolved {
            id: "d-1".into(),
            name: "h".into(),
        };
        let isolate = ActionRequest::Endpoint {
            action: EndpointAction::IsolateHost,
            hostname: "H".into(),
            reason: "r".into(),
            resolved: Some(device.clone()),
        };
        let release = isolate.compensation().unwrap();
        assert_eq!(release.operation().to_string(), "endpoint.release-host");
        assert_eq!(release.resolved(), Some(&device), "undone on the same device");
        let revoke = ActionRequest::Identity {
            action: IdentityAction::RevokeSessions,
            user: "u".into(),
            reason: "r".into(),
            resolved: None,
        };
        assert!(revoke.compensation().is_none());
    }
}
