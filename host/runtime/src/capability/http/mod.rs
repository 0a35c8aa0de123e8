//! The `http` capability: a plugin's outgoing `wasi:http` requests, sent by the host within
//! the plugin's allow list.
//!
//! A request passes, in order:
//! 1. the host-call budget (every `outgoing-handler.handle` is one host call);
//! 2. the grant: a plugin not granted `http` gets `HTTP-request-denied`, and a `denied` audit
//!    record, like any operation not granted;
//! 3. the allow list: scheme, host and port must match an entry of `[plugins.NAME.http]`;
//! 4. name resolution on the host, and every resolved address (or the literal one) checked by
//!    [`address`]: loopback, private and link-local only with `allow_private`, the cloud
//!    metadata service and non-routable addresses never (`destination-IP-prohibited`);
//! 5. a connection to the address that was checked, never a second lookup (DNS rebinding),
//!    with TLS verified against the original host name for `https`;
//! 6. timeouts (connect, first byte, between bytes) no longer than the config's, and a
//!    response body cut off with `HTTP-response-body-size` past `max_response_kib`.
//!
//! `wasi:http` does not follow redirects: a guest that follows one makes a new request, which
//! passes all of the above again. Every refusal is an error code to the guest, a warning in
//! the log (scheme, host and port only: paths and queries may carry secrets) and an audit
//! record.

pub mod address;
pub mod config;
mod hooks;
mod origin;
mod send;

pub use hooks::{HttpView, add_to_linker};
pub use origin::{Origin, Scheme, Target};

use palisade_store::{AuditEvent, Store};
use std::sync::Arc;
use std::time::Duration;

/// Where a plugin granted `http` may send requests, from `[plugins.NAME.http]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    /// The scheme, host and port requests may go to; never empty.
    pub allow: Vec<Origin>,
    /// The admin's opt-in to loopback, private, link-local and CGNAT addresses.
    pub allow_private: bool,
    /// The longest any of connect, first byte and between bytes may take.
    pub timeout: Duration,
    /// The most bytes of one response body.
    pub max_response_bytes: u64,
}

impl HttpPolicy {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1 << 20;

    /// Whether an entry of the allow list matches `target`.
    pub fn allows(&self, target: &Target) -> bool {
        self.allow.iter().any(|origin| origin.matches(target))
    }
}

/// Writes `host-call` audit records for the `http` operation from the request's own task,
/// which no longer holds the broker.
#[derive(Clone)]
pub(crate) struct HttpAudit {
    store: Option<Store>,
    plugin: Arc<str>,
    alert_id: Arc<str>,
}

impl HttpAudit {
    fn record(&self, target: &str, decision: &str, detail: serde_json::Value) {
        if let Some(store) = &self.store {
            store.audit().log(AuditEvent {
                kind: palisade_store::AuditKind::HostCall,
                alert_id: Some(&self.alert_id),
                plugin: Some(&self.plugin),
                operation: Some(super::HTTP.to_string()),
                target: Some(target),
                decision,
                detail,
            });
        }
    }

    /// A request the policy stopped: logged as a warning and audited as `refused`.
    fn refused(&self, target: &Target, method: &http::Method, reason: &str) {
        tracing::warn!(
            plugin = %self.plugin,
            alert = %self.alert_id,
            %target,
            %method,
            reason,
            "http: request refused"
        );
        self.record(
            &target.to_string(),
            "refused",
            serde_json::json!({"method": method.as_str(), "reason": reason}),
        );
    }

    /// A request that was allowed but did not get an answer.
    fn failed(&self, target: &Target, method: &http::Method, error: &str) {
        tracing::warn!(
            plugin = %self.plugin,
            alert = %self.alert_id,
            %target,
            %method,
            error,
            "http: request failed"
        );
        self.record(
            &target.to_string(),
            "failed",
            serde_json::json!({"method": method.as_str(), "error": error}),
        );
    }
}
