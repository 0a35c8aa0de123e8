//! `palisade serve`: alerts arrive by authenticated webhook, are committed to the store's
//! durable queue before they are acknowledged, and are taken by workers through the same
//! [`Runner`](palisade_pipeline::Runner) as `palisade run`. An alert leaves the queue only in
//! the transaction that keeps its report, so a crash loses nothing acknowledged.
//!
//! [`config`] reads `[serve]`; [`auth`] checks senders; [`intake`] answers their requests;
//! [`worker`] runs what was queued; [`api`] serves people's programs and [`console`] people
//! in a browser; [`server`] listens and stops gracefully.

mod api;
pub mod auth;
pub mod config;
pub mod console;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::signal::unix::{SignalKind, signal};

/// What a config file says, as one value: swapped whole by SIGHUP, so a request or an alert
/// sees one version from start to end.
pub(crate) struct Settings {
    pub serve: ServeConfig,
    pub config: Arc<Config>,
    /// One intake per source, in the source's format.
    pub intakes: BTreeMap<String, Arc<Intake>>,
}

impl Settings {
    /// Reads and checks the whole file: the pipeline's config and `[serve]`, every error.
    fn load(config_path: &Path, listen: Option<SocketAddr>) -> Result<Settings, ServeError> {
        let text = palisade_core::located::read_file(config_path)
            .map_err(|errors| ServeError::Config(errors.to_string()))?;
        let config = Config::parse(config_path, &text);
        let serve = ServeConfig::parse(config_path, &text);
        let (config, mut serve) = match (config, serve) {
            (Ok(config), Ok(serve)) => (config, serve),
            (config, serve) => {
                let errors: Vec<String> = [config.err(), serve.err()]
                    .into_iter()
                    .flatten()
                    .map(|e| e.to_string())
                    .collect();
                return Err(ServeError::Config(errors.join("\n")));
            }
        };
        if let Some(listen) = listen {
            serve.listen = listen;
        }
        let mut intakes = BTreeMap::new();
        for (name, source) in &serve.sources {
            let intake = Intake::new(source.format.clone(), config.intake.mappings.clone())
                .map_err(|error| ServeError::Config(format!("serve.sources.{name}.format: {error}")))?;
            intakes.insert(name.clone(), Arc::new(intake));
        }
        Ok(Settings {
            serve,
            config: Arc::new(config),
            intakes,
        })
    }
}

/// What the request handlers and the workers share.
pub(crate) struct App {
    settings: RwLock<Arc<Settings>>,
    pub store: Store,
    pub queue: Queue,
    /// Set by SIGTERM or SIGINT: intake answers 503 and `/readyz` says not ready.
    pub draining: AtomicBool,
    /// Woken when alerts are queued, so an idle worker takes them at once.
    pub queued: tokio::sync::Notify,
    pub metrics: Arc<metrics::Metrics>,
    /// The console's sign-in throttle and password checks.
    pub console: console::Console,
    /// The plugins the workers run now, as loaded, for the console.
    loaded: RwLock<Arc<Vec<LoadedPlugin>>>,
}

impl App {
    /// The settings in force now.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn loaded(&self) -> Arc<Vec<LoadedPlugin>> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_loaded(&self, loaded: Vec<LoadedPlugin>) {
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
    }
}

/// A configured plugin as the pipeline loaded it: the digest of the component it runs, or why
/// it runs without it.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPlugin {
    pub name: String,
    pub sha256: Option<String>,
    pub version: Option<String>,
    pub error: Option<String>,
}

#[cfg(test)]
impl App {
    /// An app over a store in memory, without workers, for the handlers' tests.
    pub(crate) fn for_tests(config_path: &Path) -> Arc<App> {
        let settings = Settings::load(config_path, None).expect("a valid test config");
        let store = Store::in_memory().expect("a store in memory");
        Arc::new(App {
            settings: RwLock::new(Arc::new(settings)),
            queue: store.queue(),
            store,
            draining: AtomicBool::new(false),
            queued: tokio::sync::Notify::new(),
            metrics: Arc::new(metrics::Metrics::new()),
            console: console::Console::new(),
            loaded: RwLock::new(Arc::new(Vec::new())),
        })
    }

    /// Puts the config at `config_path` in force, as SIGHUP does.
    pub(crate) fn reload_for_tests(&self, config_path: &Path) {
        let settings = Settings::load(config_path, None).expect("a valid test config");
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    }
}

/// Why the service could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Start(String),
}

/// Builds the pipeline the workers run, and says what it loaded. Every outside effect once: a
/// plugin run again on an alert after a crash is answered from the ledger, and an effect whose
/// outcome was lost is held for a person.
async fn pipeline(config: &Config) -> Result<(Pipeline, Vec<LoadedPlugin>), ServeError> {
    let (pipeline, failures) =
        Pipeline::build_with(config, RunMode::Live, BuildOptions { exactly_once: true })
            .await
            .map_err(|error| ServeError::Start(format!("{error:#}")))?;
    let mut loaded: Vec<LoadedPlugin> = pipeline
        .plugins()
        .iter()
        .map(|routed| LoadedPlugin {
            name: routed.plugin.name.clone(),
            sha256: Some(routed.plugin.sha256.clone()),
            version: Some(routed.plugin.info.version.clone()).filter(|version| !version.is_empty()),
            error: None,
        })
        .collect();
    for failure in &failures {
        tracing::error!(plugin = %failure.plugin, error = %failure.error, "plugin not loaded; serving without it");
        loaded.push(LoadedPlugin {
            name: failure.plugin.clone(),
            sha256: None,
            version: None,
            error: Some(failure.error.to_string()),
        });
    }
    Ok((pipeline, loaded))
}

/// Serves until SIGTERM or SIGINT, then drains; SIGHUP reloads the config. `listen`
/// overrides `[serve] listen`.
pub async fn serve(config_path: &Path, listen: Option<SocketAddr>) -> Result<(), ServeError> {
    let settings = Settings::load(config_path, listen)?;
    // Handlers first: a signal that comes right after the readiness line is not lost.
    let handle = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| ServeError::Start(format!("cannot handle {name}: {e}")))
    };
    let mut terminate = handle(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = handle(SignalKind::interrupt(), "SIGINT")?;
    let mut hangup = handle(SignalKind::hangup(), "SIGHUP")?;
    let (first, loaded) = pipeline(&settings.config).await?;
    let store = first
        .store()
        .clone()
        .durable()
        .map_err(|error| ServeError::Start(error.to_string()))?;
    // One service per state folder: a second would take the first one's leases.
    let _lock = lock_state(&settings.config.state_dir)?;
    let queue = store.queue();
    let released = queue.release_all().await.map_err(ServeError::Start)?;
    if released > 0 {
        tracing::warn!(released, "alerts a stopped service had taken are queued again");
    }
    let app = Arc::new(App {
        settings: RwLock::new(Arc::new(settings)),
        store,
        queue,
        draining: AtomicBool::new(false),
        queued: tokio::sync::Notify::new(),
        metrics: Arc::new(metrics::Metrics::new()),
        console: console::Console::new(),
        loaded: RwLock::new(Arc::new(loaded)),
    });
    // The observer lives as long as the process: it holds the metrics, not the store, so
    // nothing keeps the store's writer from draining at exit.
    let counting = app.metrics.clone();
    palisade_connectors::http::observe(Box::new(move |vendor, result, took| {
        counting.connector(vendor, result, took)
    }));
    let (listener, tls) = server::bind(&app).await?;
    let background = worker::Background::start()
        .map_err(|error| ServeError::Start(format!("cannot start the workers' threads: {error}")))?;
    let mut workers = Workers::start(app.clone(), first, background.handle());
    let stop_http = tokio::sync::watch::channel(false);
    let http = tokio::spawn(server::serve(app.clone(), listener, tls, stop_http.1));
    let upkeep = tokio::spawn(upkeep(app.clone()));

    loop {
        tokio::select! {
            _ = terminate.recv() => { tracing::info!("SIGTERM: draining"); break; }
            _ = interrupt.recv() => { tracing::info!("SIGINT: draining"); break; }
            _ = hangup.recv() => workers = reload(&app, config_path, listen, workers, background.handle()).await,
        }
    }
    app.draining.store(true, Ordering::SeqCst);
    upkeep.abort();
    // HTTP stays up while the workers drain: senders get 503, probes an answer.
    if workers.stop(app.settings().serve.drain_timeout).await {
        tracing::info!("drained");
    } else {
        tracing::warn!("drain timeout: the alerts still in flight stay queued for the next start");
    }
    let _ = stop_http.0.send(true);
    let _ = http.await;
    // Open connections' tasks may still hold the app: the last records are committed here,
    // not left to whichever drops it last.
    app.store.audit().flush();
    let lost = app.store.records_lost();
    if lost > 0 {
        tracing::error!(
            records = lost,
            "records could not be written while the service ran (each logged): the audit has gaps"
        );
    }
    Ok(())
}

/// How often the service does its upkeep.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(10);

/// How long settled operations stay in the ledger at the least: an alert sent again days later
/// (a sender's retry after an outage) still finds its effects done and does not repeat them.
const LEDGER_KEPT: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Lifts, when due, the blocks set for a time on backends that cannot lift them, forgets the
/// alerts seen before the dedup window and the operations settled long ago so those tables stay
/// their size, and ends the console sessions past their time.
async fn upkeep(app: Arc<App>) {
    let mut tick = tokio::time::interval(UPKEEP);
    loop {
        tick.tick().await;
        let settings = app.settings();
        if let Err(error) = app
            .queue
            .forget_before(settings.serve.dedup_window.as_secs() as i64)
            .await
        {
            tracing::warn!(%error, "cannot forget the alerts seen before the dedup window");
        }
        let ledger = app.store.ledger();
        let settled_before = std::time::SystemTime::now()
            .checked_sub(LEDGER_KEPT.max(settings.serve.dedup_window))
            .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_secs() as i64);
        match tokio::task::spawn_blocking(move || ledger.forget_settled(settled_before)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cannot forget the settled operations"),
            Err(error) => tracing::warn!(%error, "the ledger upkeep stopped"),
        }
        if let Err(error) = app.store.sessions().purge_expired() {
            tracing::warn!(%error, "cannot end the console sessions past their time");
        }
        let lapsed = palisade_response::lapse_due(&*settings.config, &app.store).await;
        let lifted = lapsed.iter().filter(|(_, result)| result.is_ok()).count();
        if lifted > 0 {
            tracing::info!(lifted, "containment lifted as scheduled");
        }
    }
}

/// The worker loop and the switch that stops it.
struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Workers {
    /// Starts the worker loop on `background` (see [`worker::Background`]).
    fn start(app: Arc<App>, pipeline: Pipeline, background: &tokio::runtime::Handle) -> Workers {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        Workers {
            stop,
            task: background.spawn(worker::work(app, pipeline, stopped)),
        }
    }

    /// Stops taking alerts and waits for those in flight; false when `within` ran out first
    /// (they stay leased, and are queued again at the next start).
    async fn stop(self, within: std::time::Duration) -> bool {
        let _ = self.stop.send(true);
        tokio::time::timeout(within, self.task).await.is_ok()
    }
}

/// SIGHUP: the new config is read and checked whole, and its plugins loaded, before anything
/// changes; on any error the old one stays and the error is logged. Alerts in flight finish
/// on the config they started with; the workers then go on with the new one.
async fn reload(
    app: &Arc<App>,
    config_path: &Path,
    listen: Option<SocketAddr>,
    workers: Workers,
    background: &tokio::runtime::Handle,
) -> Workers {
    let current = app.settings();
    let settings = match Settings::load(config_path, listen) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(%error, "SIGHUP: the config has errors; serving on as before");
            return workers;
        }
    };
    if settings.config.state_dir != current.config.state_dir {
        tracing::error!("SIGHUP: the state folder changed; that takes a restart; serving on as before");
        return workers;
    }
    let (old, new) = (&current.serve, &settings.serve);
    if (
        old.listen,
        old.body_limit,
        old.tls.as_ref().map(|t| (&t.cert, &t.key)),
    ) != (
        new.listen,
        new.body_limit,
        new.tls.as_ref().map(|t| (&t.cert, &t.key)),
    ) {
        tracing::warn!("SIGHUP: listen, tls and body_limit_kib take effect at the next start");
    }
    let (pipeline, loaded) = match pipeline(&settings.config).await {
        Ok(built) => built,
        Err(error) => {
            tracing::error!(%error, "SIGHUP: the new config's pipeline cannot start; serving on as before");
            return workers;
        }
    };
    if !workers.stop(current.serve.drain_timeout).await {
        tracing::warn!("SIGHUP: alerts still running at the drain timeout finish on the old config");
    }
    // A user removed from the config is signed out everywhere now, not at their next request.
    for gone in current
        .serve
        .users
        .keys()
        .filter(|user| !settings.serve.users.contains_key(*user))
    {
        if let Err(error) = app.store.sessions().delete_user(gone) {
            tracing::error!(user = %gone, %error, "SIGHUP: cannot end a removed user's sessions");
        }
    }
    *app.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    app.set_loaded(loaded);
    tracing::info!("SIGHUP: reloaded");
    Workers::start(app.clone(), pipeline, background)
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
