use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::Broker;
use palisade_abi::bindings::palisade::action::network;
use palisade_abi::bindings::types::{ActionError, Receipt};
use palisade_connectors::ActionRequest;
use palisade_connectors::network::NetworkAction;

impl Broker {
    async fn network_action(
        &mut self,
        action: NetworkAction,
        target: String,
        duration_seconds: Option<u32>,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        let valid = bounded(&target, MAX_NAME, "the target")
            .and(bounded(&reason, MAX_TEXT, "the reason"))
            .and(validate_target(action, &target));
        let request = ActionRequest::Network {
            action,
            target,
            duration_seconds,
            reason,
        };
        self.destructive(request, valid).await
    }
}

/// A firewall rule built from a malformed address could block far more than intended, so
/// addresses must parse as an IP or a CIDR range before any connector sees them.
fn validate_target(action: NetworkAction, target: &str) -> Result<(), ActionError> {
    match action {
        NetworkAction::BlockIp | NetworkAction::UnblockIp => {
            let (address, prefix) = match target.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (target, None),
            };
            let address: std::net::IpAddr = address.parse().map_err(|_| {
                ActionError::InvalidInput(format!("{target:?} is not an IP address or CIDR range"))
            })?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            if let Some(prefix) = prefix
                && !prefix.parse::<u8>().is_ok_and(|p| p <= max)
            {
                return Err(ActionError::InvalidInput(format!(
                    "{target:?} has an invalid prefix length"
                )));
            }
            Ok(())
        }
        NetworkAction::BlockDomain | NetworkAction::UnblockDomain => {
            let valid = !target.is_empty()
                && target.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if valid {
                Ok(())
            } else {
                Err(ActionError::InvalidInput(format!(
                    "{target:?} is not a domain name"
                )))
            }
        }
    }
}

impl network::Host for Broker {
    async fn block_ip(
        &mut self,
        address: String,
        duration_seconds: Option<u32>,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.network_action(NetworkAction::BlockIp, address, duration_seconds, reason)
            .await
    }

    async fn unblock_ip(
        &mut self,
        address: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.network_action(NetworkAction::UnblockIp, address, None, reason)
            .await
    }

    async fn block_domain(
        &mut self,
        domain: String,
        duration_seconds: Option<u32>,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.network_action(NetworkAction::BlockDomain, domain, duration_seconds, reason)
            .await
    }

    async fn unblock_domain(
        &mut self,
        domain: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.network_action(NetworkAction::UnblockDomain, domain, None, reason)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_ranges_and_domain_names_reach_a_firewall() {
        assert!(validate_target(NetworkAction::BlockIp, "203.0.113.7").is_ok());
        assert!(validate_target(NetworkAction::BlockIp, "2001:db8::/32").is_ok());
        assert!(validate_target(NetworkAction::BlockIp, "203.0.113.0/33").is_err());
        assert!(validate_target(NetworkAction::BlockIp, "0.0.0.0/0 ; rm").is_err());
        assert!(validate_target(NetworkAction::BlockIp, "evil.example").is_err());
        assert!(validate_target(NetworkAction::BlockDomain, "evil.example").is_ok());
        assert!(validate_target(NetworkAction::BlockDomain, "evil..example").is_err());
        assert!(validate_target(NetworkAction::BlockDomain, "a b").is_err());
    }
}
