//! `palisade.toml`: what the admin allows, validated before anything runs.
//!
//! Relative paths are taken from the config file's folder. Every error names the file, line,
//! column and key; all errors of a file are reported together.

use palisade_core::located as error;
mod schema;

pub use error::{ConfigError, ConfigErrors};
pub use palisade_connectors::SecretRef;
pub use palisade_connectors::config::{
    ConnectorConfig, EmbeddedConfig, VendorConfig, WebhookAuth, WebhookConfig,
};
pub use schema::DEFAULT_CONCURRENCY;

use crate::{AlertMatch, Stage};
use palisade_runtime::Limits;
use palisade_runtime::capability::{Capability, Grants};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    /// `[policy.autonomy]` as configured globally (plugins may override it).
    pub autonomy: Option<palisade_policy::Autonomy>,
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
    /// `[intake]`: alert formats the admin described, priority, dedup and grouping.
    pub intake: palisade_alert::config::IntakeConfig,
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
    pub policy: palisade_policy::Policy,
    /// Where outbound HTTP may go; set exactly when `http` is granted.
    pub http: Option<palisade_runtime::capability::http::HttpPolicy>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::parse(path, &error::read_file(path)?)
    }

    /// Validates config text; `path` locates relative paths and names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        schema::parse(path, text)
    }
}

impl palisade_response::Plugins for Config {
    fn bound(&self, plugin: &str) -> Result<palisade_response::Bound<'_>, String> {
        let configured = self
            .plugins
            .iter()
            .find(|configured| configured.name == plugin)
            .ok_or_else(|| format!("plugin {plugin} is no longer in {}", self.file.display()))?;
        let registry =
            palisade_connectors::Registry::build(&self.connectors).map_err(|error| format!("{error:#}"))?;
        Ok(palisade_response::Bound {
            connectors: registry.for_plugin(&configured.connectors),
            grants: &configured.grants,
            policy: &configured.policy,
        })
    }
}
