//! Moving alerts through the stages: the [`config`] they are moved by, which plugins see an
//! alert, in what order, and what they concluded; [`batch`] decides the order a batch is
//! handled in, and [`Runner`] runs a stream of alerts, reporting each as it finishes.

pub mod batch;
pub mod config;
mod lines;
mod report;
mod route;
mod runner;
mod stage;

pub use lines::read_lines;
pub use report::{AlertLine, AlertReport, Percentiles, PluginRun, Skipped, Tally};
pub use route::{AlertMatch, MatchRules};
pub use runner::{Finished, Runner, Schedule};
pub use stage::Stage;

use crate::config::{Config, PluginConfig};
use palisade_alert::Alert;
use palisade_connectors::Registry;
use palisade_runtime::capability::incident::{Incident, IncidentTickets};
use palisade_runtime::capability::{AlertContext, PluginContext};
use palisade_runtime::{LoadError, Plugin, Runtime, RuntimeOptions};
use palisade_store::{AuditEvent, AuditKind, Store};
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

/// Whether operations with side effects outside Palisade are carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// As the policy says.
    Live,
    /// `palisade simulate`: every destructive operation is dry-run, tickets and notifications
    /// are not sent, and nothing is written to the real store (a scratch one in memory is used).
    Simulate,
    /// `palisade check`: plugins are loaded and compiled to be inspected, and nothing is
    /// created or changed: no state folder, no compiled-code cache, no expired block swept.
    Check,
}

/// What a caller of [`Pipeline::build_with`] turns on beyond the run mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Exactly-once effects (`palisade serve`): each destructive operation, ticket, comment
    /// and notification is marked started in the store's ledger before its connector is
    /// called and done after; a plugin run again on its alert is answered from the ledger, and
    /// an operation whose outcome is unknown after a restart is held for a person. Off, every
    /// call goes to its connector, as `palisade run` has always done.
    pub exactly_once: bool,
}

pub struct Pipeline {
    /// Kept alive for the plugins' engine and its epoch ticker.
    _runtime: Arc<Runtime>,
    store: Store,
    mode: RunMode,
    /// Sorted by stage; within a stage, in config order.
    plugins: Vec<Routed>,
    /// The tickets plugins opened for incidents in this run.
    incident_tickets: Arc<IncidentTickets>,
}

impl Pipeline {
    /// The store the pipeline records to; a service queues its alerts in it too.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Loads every configured plugin. Plugins that fail to load are returned beside the
    /// pipeline, which runs without them.
    pub async fn build(config: &Config, mode: RunMode) -> anyhow::Result<(Pipeline, Vec<LoadFailure>)> {
        Pipeline::build_with(config, mode, BuildOptions::default()).await
    }

    /// [`Pipeline::build`], with what a caller turns on beyond the run mode.
    pub async fn build_with(
        config: &Config,
        mode: RunMode,
        with: BuildOptions,
    ) -> anyhow::Result<(Pipeline, Vec<LoadFailure>)> {
        if mode != RunMode::Check {
            std::fs::create_dir_all(&config.state_dir).map_err(|error| {
                anyhow::anyhow!(
                    "cannot create state folder {}: {error}",
                    config.state_dir.display()
                )
            })?;
        }
        let registry = Registry::build(&config.connectors)?;
        if mode == RunMode::Live {
            // Simulate touches nothing, not even an expired block.
            registry.sweep_expired().await;
        }
        let store = match mode {
            RunMode::Live => Store::open(&config.state_dir.join("palisade.db"))?,
            RunMode::Simulate | RunMode::Check => Store::in_memory()?,
        };
        // A simulation measures rules' precision from the real verdicts, and writes nothing.
        let measured = match mode {
            RunMode::Simulate => {
                palisade_store::ReadOnlyVerdicts::open(&config.state_dir.join("palisade.db"))
                    .unwrap_or_else(|error| {
                        tracing::warn!(%error, "cannot read the verdicts: every rule is taken as supervised");
                        None
                    })
                    .map(Arc::new)
            }
            _ => None,
        };
        let options = RuntimeOptions {
            cache_dir: (mode != RunMode::Check).then(|| config.compiled_dir.clone()),
            // Each alert in flight runs one plugin at a time; describe() at load needs one more.
            max_instances: config.concurrency as u32 + 1,
            max_memory_bytes: config
                .plugins
                .iter()
                .map(|plugin| plugin.limits.memory_bytes)
                .max()
                .unwrap_or(palisade_runtime::Limits::default().memory_bytes),
        };
        let runtime = Arc::new(Runtime::new(&options)?);
        let mut plugins = Vec::new();
        let mut failures = Vec::new();
        for plugin_config in &config.plugins {
            let mut context = plugin_context(plugin_config, &registry, &store, mode, &measured);
            // Only a live run sends anything to be recorded as sent.
            context.ledger = (with.exactly_once && mode == RunMode::Live).then(|| store.ledger());
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
                store,
                mode,
                plugins,
                incident_tickets: Arc::default(),
            },
            failures,
        ))
    }

    pub fn plugins(&self) -> &[Routed] {
        &self.plugins
    }

    /// Runs an alert through every matching plugin, stage by stage; each plugin sees what
    /// the ones before it added. A plugin that fails does not stop the others. With an
    /// `incident`, a plugin's second `ticket.create` for it comments on its first ticket.
    pub async fn process(&self, mut alert: Alert, incident: Option<&str>) -> AlertReport {
        // Routing looks at what the source said (rule, category, severity), which stages do
        // not change, so it is decided once.
        let matching: Vec<&Routed> = self
            .plugins
            .iter()
            .filter(|routed| routed.matcher.matches(&alert))
            .collect();
        // What the gate keeps with a held operation: the source's view, which stages do not change.
        let mut context = AlertContext::of(&alert);
        context.incident = incident.map(|id| Incident {
            id: id.to_owned(),
            tickets: self.incident_tickets.clone(),
        });
        let mut runs = Vec::new();
        let mut skipped = Vec::new();
        for routed in matching {
            // A closed, resolved, suppressed or passed finding is no threat to contain: a
            // respond-stage plugin runs on it only when its match names that status.
            if routed.stage == Stage::Respond
                && let Some(status) = alert.status.filter(|status| !status.is_live())
                && !routed.matcher.names_status(status)
            {
                skipped.push(Skipped {
                    plugin: routed.plugin.name.clone(),
                    stage: routed.stage,
                    reason: format!(
                        "the alert is {status} at its source (list \"{status}\" in the plugin's match statuses to respond anyway)"
                    ),
                });
                continue;
            }
            let invocation = routed.plugin.invoke_with(&alert, context.clone()).await;
            if let Some(outcome) = &invocation.outcome {
                let priority = palisade_alert::priority::current_tag(&alert);
                alert.apply(&routed.plugin.name, outcome);
                palisade_alert::priority::settle_tag(&mut alert, priority);
            }
            runs.push(PluginRun {
                plugin: routed.plugin.name.clone(),
                stage: routed.stage,
                invocation,
            });
        }
        let report = AlertReport {
            alert,
            plugins: runs,
            skipped,
        };
        self.audit(&report, incident);
        report
    }

    /// Records how long `alert_id` took from receipt to its first response, for the report.
    pub fn responded(&self, alert_id: &str, ms: f64) {
        if self.mode == RunMode::Live {
            self.store.verdicts().responded(alert_id, ms);
        }
    }

    /// Records a repeat of the alert `of` that was not run through the plugins, under the
    /// first alert's id, so its audit trail shows what was attached to it.
    pub fn duplicate(&self, alert: &Alert, of: &str) {
        if self.mode != RunMode::Live {
            return;
        }
        self.store.audit().log(AuditEvent {
            kind: AuditKind::Duplicate,
            alert_id: Some(of),
            decision: "attached",
            detail: serde_json::json!({
                "duplicate": alert.id,
                "title": alert.title,
                "source": alert.source_product,
                "rule": alert.rule_name.as_ref().or(alert.rule_id.as_ref()),
                "severity": alert.severity,
                "confidence": alert.confidence,
                "timestamp": alert.timestamp,
            }),
            ..AuditEvent::default()
        });
    }

    /// One record per invocation and one for the alert, after its last stage.
    fn audit(&self, report: &AlertReport, incident: Option<&str>) {
        if self.mode != RunMode::Live {
            return;
        }
        let audit = self.store.audit();
        let alert = &report.alert;
        // Which rule the alert came from, for its verdicts to count toward.
        self.store
            .verdicts()
            .alert_rule(&alert.id, alert.rule_key(), Some(alert.rule_label()));
        for run in &report.plugins {
            let invocation = &run.invocation;
            let (decision, detail) = match &invocation.status {
                palisade_runtime::InvocationStatus::Completed => ("completed", None),
                palisade_runtime::InvocationStatus::Failed(detail) => ("failed", Some(detail)),
                palisade_runtime::InvocationStatus::LimitExceeded(detail) => ("limit-exceeded", Some(detail)),
                palisade_runtime::InvocationStatus::Trapped(detail) => ("trapped", Some(detail)),
            };
            audit.log(AuditEvent {
                kind: AuditKind::Invocation,
                alert_id: Some(&alert.id),
                plugin: Some(&run.plugin),
                decision,
                detail: serde_json::json!({
                    "stage": run.stage,
                    "duration_ms": invocation.duration.as_secs_f64() * 1000.0,
                    "detail": detail,
                    "host_calls": invocation.calls.host_calls,
                    "denied": invocation.calls.denied,
                    "summary": invocation.outcome.as_ref().and_then(|o| o.summary.as_deref()),
                }),
                ..AuditEvent::default()
            });
        }
        audit.log(AuditEvent {
            kind: AuditKind::Alert,
            alert_id: Some(&alert.id),
            decision: if report.succeeded() {
                "processed"
            } else {
                "processed-with-errors"
            },
            detail: serde_json::json!({
                "title": alert.title,
                "source": alert.source_product,
                "rule": alert.rule_name.as_ref().or(alert.rule_id.as_ref()),
                "severity": alert.severity,
                "confidence": alert.confidence,
                "verdict": alert.verdict,
                "risk_score": alert.risk_score,
                "tags": alert.tags,
                "incident": incident,
                "plugins": report.plugins.iter().map(|run| run.plugin.as_str()).collect::<Vec<_>>(),
            }),
            ..AuditEvent::default()
        });
    }
}

fn plugin_context(
    config: &PluginConfig,
    registry: &Registry,
    store: &Store,
    mode: RunMode,
    measured: &Option<Arc<palisade_store::ReadOnlyVerdicts>>,
) -> PluginContext {
    PluginContext {
        name: config.name.as_str().into(),
        grants: Arc::new(config.grants.clone()),
        connectors: registry.for_plugin(&config.connectors),
        settings: Arc::new(config.settings.clone()),
        http: config.http.clone().map(Arc::new),
        store: Some(store.clone()),
        limits: config.limits,
        policy: Arc::new(config.policy.clone()),
        simulate: mode != RunMode::Live,
        measured: measured.clone(),
        ledger: None,
        repeats: Arc::new(palisade_runtime::capability::Repeats::new(&config.name)),
    }
}
