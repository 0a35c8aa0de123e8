//! `palisade serve`: alerts arrive by authenticated webhook, are committed to the store's
//! durable queue before they are acknowledged, and are taken by workers through the same
//! [`Runner`](palisade_pipeline::Runner) as `palisade run`. An alert leaves the queue only in
//! the transaction that keeps its report, so a crash loses nothing acknowledged.
//!
//! [`config`] reads `[serve]`; [`auth`] checks senders; [`intake`] answers their requests;
//! [`worker`] runs what was queued; [`api`] serves people and the console; [`server`]
//! listens and stops gracefully.

mod api;
pub mod auth;
pub mod config;
mod intake;
mod metrics;
mod server;
mod worker;

use config::ServeConfig;
use palisade_alert::intake::Intake;
use palisade_pipeline::config::Config;
use palisade_pipeline::{BuildOptions, Pipeline, RunMode};
use palisade_store::{Queue, Store};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::signal::unix::{SignalKind, signal};

/// What the request handlers share.
pub(crate) struct App {
    pub serve: ServeConfig,
    pub config: Arc<Config>,
    pub store: Store,
    pub queue: Queue,
    /// One intake per source, in the source's format.
    pub intakes: BTreeMap<String, Arc<Intake>>,
    /// Set by SIGTERM or SIGINT: intake answers 503 and `/readyz` says not ready.
    pub draining: AtomicBool,
    /// Woken when alerts are queued, so an idle worker takes them at once.
    pub queued: tokio::sync::Notify,
    pub metrics: metrics::Metrics,
}

/// Why the service could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Start(String),
}

/// Serves until SIGTERM or SIGINT, then drains. `listen` overrides `[serve] listen`.
pub async fn serve(config_path: &Path, listen: Option<SocketAddr>) -> Result<(), ServeError> {
    let config = Config::load(config_path).map_err(|errors| ServeError::Config(errors.to_string()))?;
    let mut serve =
        ServeConfig::load(config_path).map_err(|errors| ServeError::Config(errors.to_string()))?;
    if let Some(listen) = listen {
        serve.listen = listen;
    }
    let mut intakes = BTreeMap::new();
    for (name, source) in &serve.sources {
        let intake = Intake::new(source.format.clone(), config.intake.mappings.clone())
            .map_err(|error| ServeError::Config(format!("serve.sources.{name}.format: {error}")))?;
        intakes.insert(name.clone(), Arc::new(intake));
    }
    // Handlers first: a signal that comes right after the readiness line is not lost.
    let (mut terminate, mut interrupt) = (
        signal(SignalKind::terminate())
            .map_err(|e| ServeError::Start(format!("cannot handle SIGTERM: {e}")))?,
        signal(SignalKind::interrupt())
            .map_err(|e| ServeError::Start(format!("cannot handle SIGINT: {e}")))?,
    );
    // Every outside effect once: a plugin run again on an alert after a crash is answered
    // from the ledger, and an effect whose outcome was lost is held for a person.
    let (pipeline, failures) =
        Pipeline::build_with(&config, RunMode::Live, BuildOptions { exactly_once: true })
            .await
            .map_err(|error| ServeError::Start(format!("{error:#}")))?;
    for failure in &failures {
        tracing::error!(plugin = %failure.plugin, error = %failure.error, "plugin not loaded; serving without it");
    }
    let store = pipeline
        .store()
        .clone()
        .durable()
        .map_err(|error| ServeError::Start(error.to_string()))?;
    // One service per state folder: a second would take the first one's leases.
    let _lock = lock_state(&config.state_dir)?;
    let queue = store.queue();
    let released = queue.release_all().await.map_err(ServeError::Start)?;
    if released > 0 {
        tracing::warn!(released, "alerts a stopped service had taken are queued again");
    }
    let config = Arc::new(config);
    let app = Arc::new(App {
        serve,
        config: config.clone(),
        store,
        queue,
        intakes,
        draining: AtomicBool::new(false),
        queued: tokio::sync::Notify::new(),
        metrics: metrics::Metrics::new(),
    });
    let (listener, tls) = server::bind(&app).await?;
    let stop_workers = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(worker::work(app.clone(), pipeline, stop_workers.1));
    let stop_http = tokio::sync::watch::channel(false);
    let http = tokio::spawn(server::serve(app.clone(), listener, tls, stop_http.1));

    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: draining"),
        _ = interrupt.recv() => tracing::info!("SIGINT: draining"),
    }
    app.draining.store(true, Ordering::SeqCst);
    let _ = stop_workers.0.send(true);
    // HTTP stays up while the workers drain: senders get 503, probes an answer.
    match tokio::time::timeout(app.serve.drain_timeout, workers).await {
        Ok(_) => tracing::info!("drained"),
        Err(_) => tracing::warn!("drain timeout: the alerts still in flight stay queued for the next start"),
    }
    let _ = stop_http.0.send(true);
    let _ = http.await;
    Ok(())
}

/// An exclusive lock on the state folder, released by the kernel when the process dies.
fn lock_state(dir: &Path) -> Result<std::fs::File, ServeError> {
    let path = dir.join("serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| ServeError::Start(format!("cannot open {}: {error}", path.display())))?;
    file.try_lock().map_err(|_| {
        ServeError::Start(format!(
            "another palisade serve holds {} (one service per state folder)",
            dir.display()
        ))
    })?;
    Ok(file)
}
