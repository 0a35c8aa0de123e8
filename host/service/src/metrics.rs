//! `/metrics` in the Prometheus text format: what came in and from whom, what the queue holds,
//! what plugins did and what automation decided, how long alerts waited for a response, and
//! whether breakers are tripped, and how vendors answer. Counters are counted as things happen; the queue and the
//! breaker are read from the store when scraped.

use palisade_connectors::ConnectorError;
use palisade_pipeline::AlertReport;
use palisade_runtime::InvocationStatus;
use palisade_runtime::capability::ActionResult;
use palisade_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BySource {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByReason {
    source: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByOutcome {
    source: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByPlugin {
    plugin: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByOperation {
    operation: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByBackend {
    backend: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Backend {
    backend: String,
}

type Histograms = Family<Backend, Histogram, fn() -> Histogram>;

pub(crate) struct Metrics {
    registry: Registry,
    accepted: Family<BySource, Counter>,
    duplicates: Family<BySource, Counter>,
    rejected: Family<ByReason, Counter>,
    processed: Family<ByOutcome, Counter>,
    invocations: Family<ByPlugin, Counter>,
    actions: Family<ByOperation, Counter>,
    time_to_respond: Histogram,
    queue_depth: Gauge,
    queue_oldest: Gauge,
    breakers_tripped: Gauge,
    records_lost: Gauge,
    connector_requests: Family<ByBackend, Counter>,
    connector_seconds: Histograms,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("palisade");
        let metrics = Metrics {
            accepted: Family::default(),
            duplicates: Family::default(),
            rejected: Family::default(),
            processed: Family::default(),
            invocations: Family::default(),
            actions: Family::default(),
            // 1 ms to about 65 s.
            time_to_respond: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            queue_depth: Gauge::default(),
            queue_oldest: Gauge::default(),
            breakers_tripped: Gauge::default(),
            records_lost: Gauge::default(),
            connector_requests: Family::default(),
            // 1 ms to about 65 s, retries included.
            connector_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 17))
            }),
            registry: Registry::default(),
        };
        registry.register(
            "alerts_accepted",
            "Alerts queued, by source",
            metrics.accepted.clone(),
        );
        registry.register(
            "alerts_duplicate",
            "Alerts acknowledged as repeats and not queued, by source",
            metrics.duplicates.clone(),
        );
        registry.register(
            "alerts_rejected",
            "Requests or documents refused, by source and reason",
            metrics.rejected.clone(),
        );
        registry.register(
            "alerts_processed",
            "Alerts taken from the queue and reported, by source and outcome",
            metrics.processed.clone(),
        );
        registry.register(
            "plugin_invocations",
            "Plugin runs, by plugin and how they ended (limits by name)",
            metrics.invocations.clone(),
        );
        registry.register(
            "actions",
            "Operations plugins asked for, by operation and decision",
            metrics.actions.clone(),
        );
        registry.register(
            "time_to_respond_seconds",
            "From an alert's acceptance to its first response, its wait in the queue included",
            metrics.time_to_respond.clone(),
        );
        registry.register(
            "queue_depth",
            "Alerts waiting or in progress",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "queue_oldest_age_seconds",
            "Age of the oldest queued alert",
            metrics.queue_oldest.clone(),
        );
        registry.register(
            "breakers_tripped",
            "Plugins whose circuit breaker is tripped",
            metrics.breakers_tripped.clone(),
        );
        registry.register(
            "store_records_lost",
            "Audit, action and ticket records the store could not write since the service started (each logged with why)",
            metrics.records_lost.clone(),
        );
        registry.register(
            "connector_requests",
            "Requests to vendor APIs, by backend and how they ended (ok, or the kind of error)",
            metrics.connector_requests.clone(),
        );
        registry.register(
            "connector_request_seconds",
            "How long a vendor request took, retries included, by backend",
            metrics.connector_seconds.clone(),
        );
        Metrics { registry, ..metrics }
    }

    pub(crate) fn accepted(&self, source: &str, queued: usize, duplicates: usize) {
        let source = BySource {
            source: source.to_owned(),
        };
        self.accepted.get_or_create(&source).inc_by(queued as u64);
        self.duplicates.get_or_create(&source).inc_by(duplicates as u64);
    }

    pub(crate) fn rejected(&self, source: &str, reason: &str, count: usize) {
        self.rejected
            .get_or_create(&ByReason {
                source: source.to_owned(),
                reason: reason.to_owned(),
            })
            .inc_by(count as u64);
    }

    pub(crate) fn processed(&self, source: &str, outcome: &str) {
        self.processed
            .get_or_create(&ByOutcome {
                source: source.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// What each plugin did with an alert, and what was decided on its operations.
    pub(crate) fn report(&self, report: &AlertReport, time_to_respond: Option<f64>) {
        for run in &report.plugins {
            let result = match &run.invocation.status {
                InvocationStatus::Completed => "completed".to_owned(),
                InvocationStatus::Failed(_) => "failed".to_owned(),
                InvocationStatus::Trapped(_) => "trapped".to_owned(),
                InvocationStatus::LimitExceeded(limit) => format!("limit:{}", limit_name(limit)),
            };
            self.invocations
                .get_or_create(&ByPlugin {
                    plugin: run.plugin.clone(),
                    result,
                })
                .inc();
            for action in &run.invocation.calls.actions {
                let decision = match action.result {
                    ActionResult::Executed { .. } => "executed",
                    ActionResult::Failed { .. } => "failed",
                    ActionResult::Simulated { .. } => "simulated",
                    ActionResult::Held { .. } => "held",
                    ActionResult::Refused { .. } => "refused",
                };
                self.actions
                    .get_or_create(&ByOperation {
                        operation: action.operation.to_string(),
                        decision: decision.to_owned(),
                    })
                    .inc();
            }
        }
        if let Some(seconds) = time_to_respond {
            self.time_to_respond.observe(seconds);
        }
    }

    /// One vendor request, as the connectors report it.
    pub(crate) fn connector(&self, backend: &str, result: Result<(), &ConnectorError>, took: Duration) {
        let outcome = match result {
            Ok(()) => "ok",
            Err(error) => error.kind(),
        };
        self.connector_requests
            .get_or_create(&ByBackend {
                backend: backend.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.connector_seconds
            .get_or_create(&Backend {
                backend: backend.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The text a scraper reads, with the queue and the breakers as they are now.
    pub(crate) fn render(&self, store: &Store) -> Result<String, String> {
        let (depth, oldest) = store.queue().depth().map_err(|error| error.to_string())?;
        self.queue_depth.set(depth as i64);
        self.queue_oldest.set(oldest.unwrap_or(0));
        let tripped = store.breaker().status().map_err(|error| error.to_string())?;
        self.breakers_tripped.set(tripped.len() as i64);
        self.records_lost
            .set(i64::try_from(store.records_lost()).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|error| error.to_string())?;
        Ok(text)
    }
}

/// The limit's name without its detail (`memory: 33554432 bytes` is `memory`), so the label
/// takes a handful of values.
fn limit_name(detail: &str) -> &str {
    detail
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_requests_are_counted_by_backend_and_outcome_with_their_time() {
        let metrics = Metrics::new();
        metrics.connector("okta", Ok(()), Duration::from_millis(40));
        metrics.connector(
            "okta",
            Err(&ConnectorError::RateLimited("slow down".into())),
            Duration::from_secs(2),
        );
        let text = metrics.render(&Store::in_memory().unwrap()).unwrap();
        for line in [
            r#"palisade_connector_requests_total{backend="okta",outcome="ok"} 1"#,
            r#"palisade_connector_requests_total{backend="okta",outcome="rate-limited"} 1"#,
            r#"palisade_connector_request_seconds_count{backend="okta"} 2"#,
            "palisade_queue_depth 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
