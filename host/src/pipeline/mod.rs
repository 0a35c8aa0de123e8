//! Moving alerts through the stages: which plugins see an alert, in what order, and what
//! they concluded.

mod report;
mod route;
mod stage;

pub use report::{AlertReport, PluginRun, Tally};
pub use route::AlertMatch;
pub use stage::Stage;

use crate::alert::Alert;
use crate::capability::PluginContext;
use crate::config::{Config, PluginConfig};
use crate::connectors::Registry;
use crate::runtime::{LoadError, Plugin, Runtime, RuntimeOptions};
use crate::store::KvStore;
use std::sync::Arc;

/// A plugin the pipeline runs: the loaded component and where it sits.
pub struct Routed {
    pub plugin: Plugin,
    pub stage: Stage,
    pub matcher: AlertMatch,
}

/// A plugin that could not be loaded; the run goes on without it.
#[derive(Debug)]
pub struct LoadFailure {
    pub plugin: String,
    pub error: LoadError,
}

pub struct Pipeline {
    /// Kept alive for the plugins' engine and its epoch ticker.
    _runtime: Arc<Runtime>,
    /// Sorted by stage; within a stage, in config order.
    plugins: Vec<Routed>,
}

impl Pipeline {
    /// Loads every configured plugin. Plugins that fail to load are returned beside the
    /// pipeline, which runs without them.
    pub async fn build(config: &Config) -> anyhow::Result<(Pipeline, Vec<LoadFailure>)> {
        std::fs::create_dir_all(&config.state_dir).map_err(|error| {
            anyhow::anyhow!(
                "cannot create state folder {}: {error}",
                config.state_dir.display()
            )
        })?;
        let registry = Registry::build(&config.connectors)?;
        let kv = KvStore::open(&config.state_dir.join("palisade.db"))?;
        let options = RuntimeOptions {
            cache_dir: Some(config.state_dir.join("compiled")),
            // Each alert in flight runs one plugin at a time; describe() at load needs one more.
            max_instances: config.concurrency as u32 + 1,
            max_memory_bytes: config
                .plugins
                .iter()
                .map(|plugin| plugin.limits.memory_bytes)
                .max()
                .unwrap_or(crate::runtime::Limits::default().memory_bytes),
        };
        let runtime = Arc::new(Runtime::new(&options)?);
        let mut plugins = Vec::new();
        let mut failures = Vec::new();
        for plugin_config in &config.plugins {
            let context = plugin_context(plugin_config, &registry, &kv);
            match runtime
                .load(&plugin_config.name, &plugin_config.path, context)
                .await
            {
                Ok(plugin) => plugins.push(Routed {
                    plugin,
                    stage: plugin_config.stage,
                    matcher: plugin_config.matcher.clone(),
                }),
                Err(error) => {
                    tracing::error!(plugin = %plugin_config.name, %error, "plugin not loaded");
                    failures.push(LoadFailure {
                        plugin: plugin_config.name.clone(),
                        error,
                    });
                }
            }
        }
        plugins.sort_by_key(|routed| routed.stage);
        Ok((
            Pipeline {
                _runtime: runtime,
                plugins,
            },
            failures,
        ))
    }

    pub fn plugins(&self) -> &[Routed] {
        &self.plugins
    }

    /// Runs an alert through every matching plugin, stage by stage; each plugin sees what
    /// the ones before it added. A plugin that fails does not stop the others.
    pub async fn process(&self, mut alert: Alert) -> AlertReport {
        // Routing looks at what the source said (rule, category, severity), which stages do
        // not change, so it is decided once.
        let matching: Vec<&Routed> = self
            .plugins
            .iter()
            .filter(|routed| routed.matcher.matches(&alert))
            .collect();
        let mut runs = Vec::new();
        for routed in matching {
            let invocation = routed.plugin.invoke(&alert).await;
            if let Some(outcome) = &invocation.outcome {
                alert.apply(&routed.plugin.name, outcome);
            }
            runs.push(PluginRun {
                plugin: routed.plugin.name.clone(),
                stage: routed.stage,
                invocation,
            });
        }
        AlertReport { alert, plugins: runs }
    }
}

fn plugin_context(config: &PluginConfig, registry: &Registry, kv: &KvStore) -> PluginContext {
    PluginContext {
        name: config.name.as_str().into(),
        grants: Arc::new(config.grants.clone()),
        connectors: registry.for_plugin(&config.connectors),
        settings: Arc::new(config.settings.clone()),
        kv: Some(kv.clone()),
        limits: config.limits,
    }
}
