//! `palisade.toml`: what the admin allows, validated before anything runs.
//!
//! Relative paths are taken from the config file's folder. Every error names the file, line,
//! column and key; all errors of a file are reported together.

use crate::located as error;
mod intake;
mod schema;
mod secret;
mod vendor;

pub use error::{ConfigError, ConfigErrors};
pub use schema::DEFAULT_CONCURRENCY;
pub use secret::SecretRef;

use crate::capability::{Capability, Grants};
use crate::pipeline::{AlertMatch, Stage};
use crate::runtime::Limits;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    /// `[policy.autonomy]` as configured globally (plugins may override it).
    pub autonomy: Option<crate::policy::Autonomy>,
    pub file: PathBuf,
    /// Where the host keeps its database (and, by default, its compiled-code cache).
    pub state_dir: PathBuf,
    /// Where compiled plugins are cached: `[defaults] compiled_dir`, by default
    /// `<state_dir>/compiled`. Several configs may share one; entries are keyed by content.
    pub compiled_dir: PathBuf,
    /// Alerts processed at once.
    pub concurrency: usize,
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// In the order they appear in the file, which is their order within a stage.
    pub plugins: Vec<PluginConfig>,
    /// `[intake.mappings.NAME]`: alert formats the admin described, in file order.
    pub mappings: Vec<crate::alert::mapping::Mapping>,
    /// `[intake.priority]`: which entities make an alert more urgent, and how many alerts are
    /// sorted at once.
    pub priority: PriorityConfig,
    /// `[intake.dedup]`; `None` when the section is absent (no deduplication).
    pub dedup: Option<crate::alert::dedup::DedupConfig>,
    /// `[intake.grouping]`; `None` when the section is absent (every alert its own incident).
    pub grouping: Option<crate::alert::grouping::GroupingConfig>,
}

/// `[intake.priority]`, validated.
#[derive(Debug, Clone)]
pub struct PriorityConfig {
    pub criticality: crate::alert::priority::Criticality,
    /// Alerts read and sorted at once, at most.
    pub window: usize,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            criticality: crate::alert::priority::Criticality::default(),
            window: crate::alert::priority::DEFAULT_WINDOW,
        }
    }
}

#[derive(Debug)]
pub enum ConnectorConfig {
    Embedded(EmbeddedConfig),
    Webhook(WebhookConfig),
    Vendor(VendorConfig),
}

impl ConnectorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::Embedded(_) => "embedded",
            ConnectorConfig::Webhook(_) => "webhook",
            ConnectorConfig::Vendor(vendor) => vendor.kind.name,
        }
    }

    /// Whether this connector can serve a capability: the generic kinds serve them all, a
    /// vendor backend only its own.
    pub fn serves(&self, capability: Capability) -> bool {
        match self {
            ConnectorConfig::Embedded(_) | ConnectorConfig::Webhook(_) => capability.uses_connector(),
            ConnectorConfig::Vendor(vendor) => vendor.kind.capability == capability,
        }
    }
}

/// A backend speaking one vendor's API (`kind = "okta"`, `"crowdstrike"`, ...).
#[derive(Debug)]
pub struct VendorConfig {
    pub kind: &'static crate::connectors::vendor::Kind,
    /// `None` for a backend that does not talk HTTP.
    pub http: Option<crate::connectors::http::HttpSettings>,
    /// How long an intel answer is reused; zero for other capabilities.
    pub cache_ttl: Duration,
    pub settings: Box<dyn crate::connectors::vendor::Configured>,
    /// The config file's folder, which secret files are relative to.
    pub dir: PathBuf,
}

/// The file-backed backend that needs no external service.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Actions (tickets, identity, endpoint, network, notify) are appended here as JSON lines.
    pub outbox: PathBuf,
    /// Users and groups for `identity.lookup-user` (JSON).
    pub directory: Option<PathBuf>,
    /// Known indicators for `intel.lookup` (JSON).
    pub indicators: Option<PathBuf>,
    /// Events for `siem.search` (JSON lines).
    pub events: Option<PathBuf>,
    /// Hosts for `endpoint.lookup-host` (JSON).
    pub inventory: Option<PathBuf>,
}

/// POSTs a JSON description of each operation to a URL and maps the reply back.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: reqwest::Url,
    pub timeout: Duration,
    pub auth: Option<WebhookAuth>,
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct WebhookAuth {
    /// Header name, `Authorization` by default.
    pub header: String,
    /// Prefix before the secret, `Bearer` by default when the header is `Authorization`.
    pub scheme: Option<String>,
    pub secret: SecretString,
}

#[derive(Debug)]
pub struct PluginConfig {
    pub name: String,
    pub path: PathBuf,
    pub stage: Stage,
    pub grants: Grants,
    /// The connector serving each capability for this plugin.
    pub connectors: BTreeMap<Capability, String>,
    pub matcher: AlertMatch,
    pub limits: Limits,
    /// Plain settings the plugin reads through `config.get`.
    pub settings: BTreeMap<String, String>,
    /// The gate for this plugin's destructive operations.
    pub policy: crate::policy::Policy,
    /// Where outbound HTTP may go; set exactly when `http` is granted.
    pub http: Option<crate::capability::http::HttpPolicy>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigErrors(vec![ConfigError {
                file: path.to_owned(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read: {error}"),
            }])
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text; `path` locates relative paths and names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        schema::parse(path, text)
    }
}
