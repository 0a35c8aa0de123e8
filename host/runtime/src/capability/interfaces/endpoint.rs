use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::broker::{not_configured, to_action_error};
use crate::capability::{Broker, ops};
use palisade_abi::bindings::palisade::action::endpoint;
use palisade_abi::bindings::types::{ActionError, Receipt};
use palisade_connectors::ActionRequest;
use palisade_connectors::endpoint::EndpointAction;

impl Broker {
    async fn host_action(
        &mut self,
        action: EndpointAction,
        hostname: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        let mut valid =
            bounded(&hostname, MAX_NAME, "the hostname").and(bounded(&reason, MAX_TEXT, "the reason"));
        if let EndpointAction::QuarantineFile { sha256 } = &action
            && !(sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            valid = Err(ActionError::InvalidInput(format!(
                "{sha256:?} is not a SHA-256 digest"
            )));
        }
        self.destructive(
            ActionRequest::Endpoint {
                action,
                hostname,
                reason,
                resolved: None,
            },
            valid,
        )
        .await
    }
}

impl endpoint::Host for Broker {
    async fn lookup_host(
        &mut self,
        hostname: String,
    ) -> wasmtime::Result<Result<endpoint::HostInfo, ActionError>> {
        let operation = ops::ENDPOINT_LOOKUP_HOST;
        let cx = match self.admit(operation, hostname.len())? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = bounded(&hostname, MAX_NAME, "the hostname") {
            return Ok(Err(error));
        }
        let Some(edr) = self.plugin.connectors.endpoint.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let result = edr
            .describe_host(&cx, &hostname)
            .await
            .map(|host| endpoint::HostInfo {
                id: host.id,
                hostname: host.hostname,
                os: host.os,
                ip_addresses: host.ip_addresses,
                // WIT 0.1.0 has no "unknown": a plugin that must know asks again later.
                isolated: host.isolated.unwrap_or(false),
                last_seen: host.last_seen,
            })
            .map_err(to_action_error);
        self.audit_answer(operation, &hostname, &result);
        Ok(result)
    }

    async fn isolate_host(
        &mut self,
        hostname: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.host_action(EndpointAction::IsolateHost, hostname, reason)
            .await
    }

    async fn release_host(
        &mut self,
        hostname: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.host_action(EndpointAction::ReleaseHost, hostname, reason)
            .await
    }

    async fn kill_process(
        &mut self,
        hostname: String,
        pid: u32,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.host_action(EndpointAction::KillProcess { pid }, hostname, reason)
            .await
    }

    async fn quarantine_file(
        &mut self,
        hostname: String,
        sha256: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        let sha256 = sha256.to_ascii_lowercase();
        self.host_action(EndpointAction::QuarantineFile { sha256 }, hostname, reason)
            .await
    }
}
