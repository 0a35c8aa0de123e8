//! A loaded plugin: compiled and linked once, instantiated fresh for every alert.

use super::bindings::{Action, ActionPre, types as wit};
use super::cache::{CompiledCache, CompiledFrom, Hashed};
use super::engine::Runtime;
use super::imports::{self, ImportError, ImportInfo};
use super::limits::{LimitKind, Limits};
use super::state::{MemoryLimiter, State};
use crate::capability::sandbox::{CappedOutput, wasi_context};
use crate::capability::{AlertContext, Broker, CallLog, PluginContext};
use palisade_abi::outcome_size;
use palisade_alert::{Alert, Outcome};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, ResourceTable};
use wasmtime::{Store, UpdateDeadline};

/// The most bytes a plugin file may have; larger is refused before compiling.
const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// What a plugin says of itself in `describe()`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub capabilities: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is {size} bytes; a plugin is at most {MAX_COMPONENT_BYTES}")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path} is not a valid WebAssembly component: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path} needs {} MiB of memory to start, more than the largest memory_mib configured ({} MiB): raise memory_mib in this plugin's [plugins.NAME.limits]",
        .needs.div_ceil(1 << 20),
        .limit >> 20
    )]
    MemoryTooSmall { path: PathBuf, needs: u64, limit: u64 },
    #[error("{path} {source}")]
    Import { path: PathBuf, source: ImportError },
    #[error("{path} cannot be linked: {message}")]
    Link { path: PathBuf, message: String },
    #[error("{path}: describe() failed: {message}")]
    Describe { path: PathBuf, message: String },
}

pub struct Plugin {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub imports: Vec<ImportInfo>,
    pub info: PluginInfo,
    pub context: PluginContext,
    /// Whether its machine code came from the compiled-code cache.
    pub compiled_from: CompiledFrom,
    /// Reading, compiling or loading from the cache, linking and `describe()`.
    pub load_time: Duration,
    pre: ActionPre<State>,
    engine: wasmtime::Engine,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum InvocationStatus {
    /// `handle` returned an outcome.
    Completed,
    /// `handle` returned an error.
    Failed(String),
    /// A limit ended it.
    LimitExceeded(String),
    /// The guest trapped (a panic, an invalid operation).
    Trapped(String),
}

/// The result of running one alert through one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    #[serde(flatten)]
    pub status: InvocationStatus,
    pub outcome: Option<Outcome>,
    #[serde(serialize_with = "as_millis")]
    pub duration: Duration,
    #[serde(flatten)]
    pub calls: CallLog,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0)
}

impl Plugin {
    pub(super) async fn load(
        runtime: &Runtime,
        name: &str,
        path: &Path,
        context: PluginContext,
        cache: Option<&CompiledCache>,
    ) -> Result<Plugin, LoadError> {
        let started = std::time::Instant::now();
        let read_error = |source| LoadError::Read {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge {
                path: path.to_owned(),
                size,
            });
        }
        let wasm = std::fs::read(path).map_err(read_error)?;
        let hashed = Hashed::new(&wasm);

        // Compiling blocks; plugins load before any alert runs, so nothing waits on it.
        let (component, compiled_from) = match cache {
            Some(cache) => cache.load_or_compile(&runtime.engine, &hashed),
            None => Component::new(&runtime.engine, &wasm)
                .map(|component| (component, CompiledFrom::Source))
                .map_err(anyhow::Error::from),
        }
        .map_err(|error| {
            let message = format!("{error:#}");
            match starting_memory(&message) {
                Some(needs) => LoadError::MemoryTooSmall {
                    path: path.to_owned(),
                    needs,
                    limit: runtime.max_memory_bytes() as u64,
                },
                None => LoadError::Invalid {
                    path: path.to_owned(),
                    message,
                },
            }
        })?;

        let imports = imports::check(&runtime.engine, &component).map_err(|source| LoadError::Import {
            path: path.to_owned(),
            source,
        })?;
        let instance_pre = runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link {
                path: path.to_owned(),
                message: format!("{e:#}"),
            })?;
        let pre = ActionPre::new(instance_pre).map_err(|e| LoadError::Link {
            path: path.to_owned(),
            message: format!("{e:#}"),
        })?;

        let mut plugin = Plugin {
            name: name.to_owned(),
            path: path.to_owned(),
            size,
            sha256: hashed.sha256().to_owned(),
            imports,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                description: String::new(),
                capabilities: Vec::new(),
            },
            context,
            compiled_from,
            load_time: Duration::ZERO,
            pre,
            engine: runtime.engine.clone(),
        };
        plugin.info = plugin.describe().await.map_err(|message| LoadError::Describe {
            path: path.to_owned(),
            message,
        })?;
        plugin.load_time = started.elapsed();
        tracing::info!(
            plugin = name,
            compiled_from = %plugin.compiled_from,
            load_ms = plugin.load_time.as_secs_f64() * 1000.0,
            size = plugin.size,
            "plugin loaded"
        );
        Ok(plugin)
    }

    /// Calls `describe()` in a sandbox that grants nothing.
    async fn describe(&self) -> Result<PluginInfo, String> {
        let context = PluginContext::isolated(&self.name, self.context.limits);
        let (mut store, _, _) = self.new_store(context, AlertContext::none("describe"));
        let deadline = self.context.limits.timeout + Duration::from_millis(500);
        let call = async {
            let action = self.pre.instantiate_async(&mut store).await?;
            action.call_describe(&mut store).await
        };
        let info = match tokio::time::timeout(deadline, call).await {
            Ok(Ok(info)) => info,
            Ok(Err(error)) => {
                return Err(match limit_hit(&store) {
                    Some(kind) => kind.describe(&self.context.limits),
                    None => format!("{error:#}"),
                });
            }
            Err(_) => return Err("deadline reached".into()),
        };
        const MAX_INFO: usize = 64 * 1024;
        let size = info.name.len()
            + info.version.len()
            + info.description.len()
            + info.capabilities.iter().map(String::len).sum::<usize>();
        if size > MAX_INFO || info.capabilities.len() > 256 {
            return Err("the plugin info is implausibly large".into());
        }
        Ok(PluginInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            capabilities: info.capabilities,
        })
    }

    fn new_store(
        &self,
        context: PluginContext,
        alert: AlertContext,
    ) -> (Store<State>, CappedOutput, CappedOutput) {
        let limits: Limits = context.limits;
        let stdout = CappedOutput::new(limits.output_bytes);
        let stderr = CappedOutput::new(limits.output_bytes);
        let mut http = wasmtime_wasi_http::WasiHttpCtx::new();
        http.set_field_size_limit(super::limits::HTTP_FIELDS_BYTES);
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.host_resources());
        let state = State {
            wasi: wasi_context(stdout.clone(), stderr.clone()),
            http,
            table,
            broker: Broker::new(context, alert),
            memory: MemoryLimiter::new(limits.memory_bytes),
            limit_hit: None,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        let deadline = Instant::now() + limits.timeout;
        store.set_epoch_deadline(1);
        // Each tick: past the deadline the guest stops; before it, the guest yields so other
        // alerts' invocations progress on the same threads.
        store.epoch_deadline_callback(move |mut context| {
            if Instant::now() >= deadline {
                context.data_mut().limit_hit = Some(LimitKind::Deadline);
                return Err(wasmtime::format_err!("deadline reached"));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        (store, stdout, stderr)
    }

    /// Runs one alert through the plugin in a fresh instance.
    pub async fn invoke(&self, alert: &Alert) -> Invocation {
        self.invoke_with(alert, AlertContext::of(alert)).await
    }

    /// [`Plugin::invoke`], with the alert's context made once for all its plugins.
    pub async fn invoke_with(&self, alert: &Alert, context: AlertContext) -> Invocation {
        let started = Instant::now();
        let limits = self.context.limits;
        let (mut store, stdout, stderr) = self.new_store(self.context.clone(), context);
        let mut input = wit::Alert::from(alert);
        input.confidence = self.context.policy.shown_confidence(alert.confidence);
        // The epoch callback stops a guest that computes; this stops one that waits on a
        // slow host call.
        let grace = limits.timeout + super::engine::EPOCH_TICK * 10;
        let result = {
            let call = async {
                let action: Action = self.pre.instantiate_async(&mut store).await?;
                action.call_handle(&mut store, &input).await
            };
            tokio::time::timeout(grace, call).await
        };
        let (status, outcome) = match result {
            Err(_) => {
                store.data_mut().limit_hit = Some(LimitKind::Deadline);
                (
                    InvocationStatus::LimitExceeded(LimitKind::Deadline.describe(&limits)),
                    None,
                )
            }
            Ok(Ok(Ok(outcome))) if outcome_size(&outcome) > limits.output_bytes => {
                store.data_mut().limit_hit = Some(LimitKind::Output);
                (
                    InvocationStatus::LimitExceeded(LimitKind::Output.describe(&limits)),
                    None,
                )
            }
            Ok(Ok(Ok(outcome))) => (InvocationStatus::Completed, Some(Outcome::from(outcome))),
            Ok(Ok(Err(error))) => (
                InvocationStatus::Failed(bounded(describe_action_error(&error), limits.output_bytes)),
                None,
            ),
            Ok(Err(error)) => {
                match limit_hit(&store).or(host_resources_full(&error).then_some(LimitKind::Memory)) {
                    Some(kind) => (InvocationStatus::LimitExceeded(kind.describe(&limits)), None),
                    None => (InvocationStatus::Trapped(trap_message(&error, &stderr)), None),
                }
            }
        };
        let state = store.into_data();
        let (stdout, stdout_cut) = stdout.contents();
        let (stderr, stderr_cut) = stderr.contents();
        for (stream, text, cut) in [("stdout", &stdout, stdout_cut), ("stderr", &stderr, stderr_cut)] {
            for line in text.lines() {
                tracing::info!(target: "plugin", plugin = %self.name, alert = %alert.id, stream, "{line}");
            }
            if cut {
                tracing::warn!(plugin = %self.name, alert = %alert.id, stream, "output truncated at {} KiB", limits.output_bytes >> 10);
            }
        }
        match &status {
            InvocationStatus::Completed => {}
            InvocationStatus::Failed(error) => {
                tracing::warn!(plugin = %self.name, alert = %alert.id, %error, "plugin returned an error")
            }
            InvocationStatus::LimitExceeded(limit) => {
                tracing::warn!(plugin = %self.name, alert = %alert.id, %limit, "invocation stopped: limit exceeded")
            }
            InvocationStatus::Trapped(trap) => {
                tracing::warn!(plugin = %self.name, alert = %alert.id, %trap, "invocation trapped")
            }
        }
        Invocation {
            status,
            outcome,
            duration: started.elapsed(),
            calls: state.broker.log,
            stdout,
            stderr,
        }
    }
}

fn limit_hit(store: &Store<State>) -> Option<LimitKind> {
    let state = store.data();
    state
        .limit_hit
        .or(state.memory.exceeded.then_some(LimitKind::Memory))
        .or(state.broker.exhausted.then_some(LimitKind::HostCalls))
}

/// A trap because the plugin holds as many host resources as its memory limit allows.
fn host_resources_full(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<wasmtime::component::ResourceTableError>(),
            Some(wasmtime::component::ResourceTableError::Full)
        )
    })
}

/// The trap and, when the guest explained itself on stderr (a Rust panic does), its last words.
fn trap_message(error: &wasmtime::Error, stderr: &CappedOutput) -> String {
    let trap = error
        .downcast_ref::<wasmtime::Trap>()
        .map(ToString::to_string)
        .unwrap_or_else(|| format!("{error:#}"));
    let (text, _) = stderr.contents();
    // Rust's panic output ends with a "note: run with RUST_BACKTRACE" hint; the message is
    // the line before it.
    let last_words = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty() && !line.starts_with("note: "));
    match last_words {
        Some(last) => format!("{trap} ({})", last.trim()),
        None => trap,
    }
}

/// A plugin's error as far as the output limit: the rest would land whole in the report, the
/// log and the append-only audit.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!("... ({dropped} bytes cut at the output limit)"));
    text
}

/// An action error as a person reads it: its kind, then its message.
pub(crate) fn describe_action_error(error: &wit::ActionError) -> String {
    match error {
        wit::ActionError::Denied(what) => format!("denied: {what}"),
        wit::ActionError::InvalidInput(what) => format!("invalid input: {what}"),
        wit::ActionError::NotFound(what) => format!("not found: {what}"),
        wit::ActionError::ConnectorFailed(what) => format!("connector failed: {what}"),
        wit::ActionError::LimitExceeded(what) => format!("limit exceeded: {what}"),
        wit::ActionError::Failed(what) => format!("failed: {what}"),
    }
}

/// The bytes of memory a component needs at start, when `message` is the engine refusing it
/// because they exceed the memory an instance may have. wasmtime reports this as text only
/// ("memory has a minimum byte size of N which exceeds the limit of ..."); a unit test pins it.
pub(super) fn starting_memory(message: &str) -> Option<u64> {
    let (_, rest) = message.split_once("memory has a minimum byte size of ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[digits.len()..]
        .starts_with(" which exceeds the limit")
        .then(|| digits.parse().ok())
        .flatten()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Limits, RuntimeOptions};

    #[test]
    fn an_error_past_the_output_limit_is_cut_on_a_character_and_says_so() {
        assert_eq!(bounded("short".into(), 64), "short");
        let cut = bounded("é".repeat(100), 51);
        assert!(cut.starts_with(&"é".repeat(25)), "{cut}");
        assert!(cut.ends_with("... (150 bytes cut at the output limit)"), "{cut}");
    }

    #[tokio::test]
    async fn a_component_with_more_memories_than_a_slot_holds_is_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("memories.wasm");
        // Eight instances of a module with one memory each: twice what a slot holds.
        let instances = "(core instance (instantiate $m))".repeat(8);
        let component = format!("(component (core module $m (memory 1)) {instances})");
        std::fs::write(&wasm, wat::parse_str(component).unwrap()).unwrap();
        let runtime = Runtime::new(&RuntimeOptions::default()).unwrap();
        let error = runtime
            .load(
                "memories",
                &wasm,
                PluginContext::isolated("memories", Limits::default()),
            )
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("memories"), "{error}");
    }

    /// A component whose one module asks for 2 MiB of memory at start, and exports nothing.
    pub(crate) fn needs_two_mib() -> Vec<u8> {
        wat::parse_str("(component (core module (memory 32)))").expect("valid WAT")
    }

    #[tokio::test]
    async fn a_plugin_that_needs_more_memory_than_any_limit_is_told_so() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("big.wasm");
        std::fs::write(&wasm, needs_two_mib()).unwrap();
        let runtime = Runtime::new(&RuntimeOptions {
            cache_dir: Some(dir.path().join("compiled")),
            max_memory_bytes: 1 << 20,
            ..RuntimeOptions::default()
        })
        .unwrap();
        let context = PluginContext::isolated("big", Limits::default());
        let error = runtime.load("big", &wasm, context).await.err().expect("refused");
        match &error {
            LoadError::MemoryTooSmall { needs, limit, .. } => {
                assert_eq!((*needs, *limit), (2 << 20, 1 << 20));
            }
            other => panic!("expected MemoryTooSmall, got {other}"),
        }
        assert!(
            error.to_string().contains("needs 2 MiB of memory to start"),
            "{error}"
        );
        assert!(error.to_string().contains("memory_mib"), "{error}");
    }

    #[test]
    fn only_the_engines_memory_refusal_reads_as_starting_memory() {
        assert_eq!(
            starting_memory(
                "x: memory has a minimum byte size of 13303808 which exceeds the limit of 0x800000 bytes"
            ),
            Some(13_303_808)
        );
        assert_eq!(
            starting_memory("memory has a minimum byte size of 12 or so"),
            None
        );
        assert_eq!(starting_memory("invalid magic number"), None);
    }
}
