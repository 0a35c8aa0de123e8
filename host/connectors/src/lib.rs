//! Connectors: the host's side of each capability, talking to the vendor systems.
//!
//! One folder per capability holds its trait and its backends, one file per backend. A
//! connector knows nothing of WebAssembly: it gets typed requests and the [`CallContext`] of
//! the plugin and alert they are made for. Credentials stay inside the backend.

pub mod endpoint;
pub mod identity;
pub mod intel;
pub mod network;
pub mod notify;
pub mod siem;
pub mod ticket;

mod action;

pub mod config;
pub mod decide;
mod envelope;
pub mod http;
mod oauth;
pub(crate) mod outbox;
mod redact;
pub mod resolve;
pub mod secret;
#[cfg(test)]
mod stub;
pub mod vendor;
mod webhook;

pub use action::{ActionRequest, Resolved, Subject};
pub use config::ConnectorConfig;
pub use envelope::Envelope;
pub use secret::SecretRef;

use anyhow::Context;
use palisade_core::capability::Capability;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who an operation is made for; carried to the vendor (ticket links, audit trails).
#[derive(Debug, Clone, Serialize)]
pub struct CallContext {
    pub plugin: String,
    pub alert_id: String,
    /// The host's id for this operation.
    pub action_id: String,
}

impl CallContext {
    /// A context for a new operation, with a fresh action id.
    pub fn new(plugin: &str, alert_id: &str) -> CallContext {
        CallContext {
            plugin: plugin.to_owned(),
            alert_id: alert_id.to_owned(),
            action_id: new_action_id(),
        }
    }
}

/// Action ids are unique across processes sharing a store: a random 64-bit prefix drawn once
/// per process, then a counter (one random draw per process, not per operation).
fn new_action_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    format!("act-{prefix:016x}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// What a vendor returned for an operation with side effects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionReceipt {
    /// The vendor's reference (job id, ticket number), where it returns one.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Why a connector call failed. Messages carry the vendor's explanation and never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The name fits more than one record; the message lists the candidates. Acting on any
    /// one of them would be a guess.
    #[error("ambiguous: {0}")]
    Ambiguous(String),
    /// The vendor refused the host's credentials or their permissions.
    #[error("{0}")]
    Unauthorized(String),
    /// The vendor's rate limit, still exceeded after the retries.
    #[error("{0}")]
    RateLimited(String),
    /// This backend cannot perform the operation (the vendor's API has no such action).
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Failed(String),
}

impl ConnectorError {
    /// The kind of failure, for counting: `not-found`, `rate-limited`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorError::NotFound(_) => "not-found",
            ConnectorError::InvalidInput(_) => "invalid-input",
            ConnectorError::Ambiguous(_) => "ambiguous",
            ConnectorError::Unauthorized(_) => "unauthorized",
            ConnectorError::RateLimited(_) => "rate-limited",
            ConnectorError::Unsupported(_) => "unsupported",
            ConnectorError::Failed(_) => "failed",
        }
    }

    /// The same kind of error with its message rewritten (redacted, or given context).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> ConnectorError {
        match self {
            ConnectorError::NotFound(m) => ConnectorError::NotFound(f(m)),
            ConnectorError::InvalidInput(m) => ConnectorError::InvalidInput(f(m)),
            ConnectorError::Ambiguous(m) => ConnectorError::Ambiguous(f(m)),
            ConnectorError::Unauthorized(m) => ConnectorError::Unauthorized(f(m)),
            ConnectorError::RateLimited(m) => ConnectorError::RateLimited(f(m)),
            ConnectorError::Unsupported(m) => ConnectorError::Unsupported(f(m)),
            ConnectorError::Failed(m) => ConnectorError::Failed(f(m)),
        }
    }
}

/// The backends serving each capability for one plugin (or one connector).
#[derive(Clone, Default)]
pub struct CapabilitySet {
    pub intel: Option<Arc<dyn intel::IntelSource>>,
    pub siem: Option<Arc<dyn siem::SiemSearch>>,
    pub ticket: Option<Arc<dyn ticket::Ticketing>>,
    pub identity: Option<Arc<dyn identity::IdentityProvider>>,
    pub endpoint: Option<Arc<dyn endpoint::Endpoint>>,
    pub network: Option<Arc<dyn network::NetworkControl>>,
    pub notify: Option<Arc<dyn notify::Notifier>>,
}

impl CapabilitySet {
    fn take(&mut self, capability: Capability, from: &CapabilitySet) {
        match capability {
            Capability::Kv | Capability::Http => {}
            Capability::Intel => self.intel = from.intel.clone(),
            Capability::Siem => self.siem = from.siem.clone(),
            Capability::Ticket => self.ticket = from.ticket.clone(),
            Capability::Identity => self.identity = from.identity.clone(),
            Capability::Endpoint => self.endpoint = from.endpoint.clone(),
            Capability::Network => self.network = from.network.clone(),
            Capability::Notify => self.notify = from.notify.clone(),
        }
    }
}

/// Every configured connector, by name.
pub struct Registry {
    connectors: BTreeMap<String, CapabilitySet>,
}

impl Registry {
    /// Builds each configured connector; an embedded file that cannot be read fails here,
    /// before any alert runs.
    pub fn build(configs: &BTreeMap<String, ConnectorConfig>) -> anyhow::Result<Registry> {
        let http = webhook::http_client()?;
        let mut connectors = BTreeMap::new();
        for (name, config) in configs {
            let set = match config {
                ConnectorConfig::Webhook(config) => {
                    let client = Arc::new(webhook::WebhookClient::new(http.clone(), config.clone()));
                    webhook_set(client)
                }
                ConnectorConfig::Embedded(config) => {
                    embedded_set(config).with_context(|| format!("connector {name:?}"))?
                }
                ConnectorConfig::Vendor(config) => {
                    vendor_set(config, &http).with_context(|| format!("connector {name:?}"))?
                }
            };
            connectors.insert(name.clone(), set);
        }
        Ok(Registry { connectors })
    }

    /// Lifts expired blocks in the lists the host keeps (the EDL files), so a list a
    /// firewall polls does not keep an address past its block's end between runs. A failure
    /// is logged, not fatal: the next write sweeps again.
    pub async fn sweep_expired(&self) {
        for (name, set) in &self.connectors {
            let Some(network) = &set.network else { continue };
            match network.sweep_expired().await {
                Ok(0) => {}
                Ok(lists) => tracing::info!(connector = %name, lists, "expired blocks lifted"),
                Err(error) => tracing::warn!(connector = %name, %error, "cannot lift expired blocks"),
            }
        }
    }

    /// The backends a plugin's bindings (capability -> connector name) select.
    pub fn for_plugin(&self, bindings: &BTreeMap<Capability, String>) -> CapabilitySet {
        let mut set = CapabilitySet::default();
        for (capability, name) in bindings {
            if let Some(connector) = self.connectors.get(name) {
                set.take(*capability, connector);
            }
        }
        set
    }
}

fn webhook_set(client: Arc<webhook::WebhookClient>) -> CapabilitySet {
    CapabilitySet {
        intel: Some(Arc::new(intel::webhook::WebhookIntel(client.clone()))),
        siem: Some(Arc::new(siem::webhook::WebhookSiem(client.clone()))),
        ticket: Some(Arc::new(ticket::webhook::WebhookTicketing(client.clone()))),
        identity: Some(Arc::new(identity::webhook::WebhookIdentity(client.clone()))),
        endpoint: Some(Arc::new(endpoint::webhook::WebhookEndpoint(client.clone()))),
        network: Some(Arc::new(network::webhook::WebhookNetwork(client.clone()))),
        notify: Some(Arc::new(notify::webhook::WebhookNotifier(client))),
    }
}

fn vendor_set(config: &crate::config::VendorConfig, http: &reqwest::Client) -> anyhow::Result<CapabilitySet> {
    let mut set = config.settings.build(&vendor::BuildContext {
        http: http.clone(),
        settings: config.http.clone(),
        dir: config.dir.clone(),
    })?;
    if !config.cache_ttl.is_zero()
        && let Some(source) = set.intel.take()
    {
        set.intel = Some(Arc::new(intel::cache::CachedIntel::new(source, config.cache_ttl)));
    }
    Ok(set)
}

fn embedded_set(config: &crate::config::EmbeddedConfig) -> anyhow::Result<CapabilitySet> {
    let outbox = Arc::new(outbox::Outbox::open(&config.outbox)?);
    Ok(CapabilitySet {
        intel: Some(Arc::new(intel::embedded::IndicatorFile::load(
            config.indicators.as_deref(),
        )?)),
        siem: Some(Arc::new(siem::embedded::EventsFile::new(config.events.clone()))),
        ticket: Some(Arc::new(ticket::embedded::OutboxTicketing::new(outbox.clone()))),
        identity: Some(Arc::new(identity::embedded::Directory::load(
            config.directory.as_deref(),
            outbox.clone(),
        )?)),
        endpoint: Some(Arc::new(endpoint::embedded::Inventory::load(
            config.inventory.as_deref(),
            outbox.clone(),
        )?)),
        network: Some(Arc::new(network::embedded::OutboxNetwork(outbox.clone()))),
        notify: Some(Arc::new(notify::embedded::OutboxNotifier(outbox))),
    })
}

/// Reads a JSON file an embedded backend answers from, naming it in any error.
fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path_in_file = error.path().to_string();
        let inner = error.into_inner();
        anyhow::anyhow!(
            "{}:{}:{}: {}: {}",
            path.display(),
            inner.line(),
            inner.column(),
            path_in_file,
            inner
        )
    })
}
