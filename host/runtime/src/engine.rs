//! The one engine, its epoch ticker and the linker every plugin is instantiated against.

use super::cache::CompiledCache;
use super::limits::Limits;
use super::plugin::{LoadError, Plugin};
use super::state::State;
use crate::capability::{Broker, PluginContext};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of deadlines, and how often a running guest
/// yields to let other alerts progress.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled code is cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Invocations that may run at once.
    pub max_instances: u32,
    /// The largest memory limit of any plugin, which sizes the instance pool.
    pub max_memory_bytes: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            max_instances: 16,
            max_memory_bytes: Limits::default().memory_bytes,
        }
    }
}

pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<State>,
    cache: Option<CompiledCache>,
    ticker_stop: Arc<AtomicBool>,
    max_memory_bytes: usize,
}

impl Runtime {
    pub fn new(options: &RuntimeOptions) -> anyhow::Result<Runtime> {
        let engine = Engine::new(&engine_config(options))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        crate::capability::http::add_to_linker(&mut linker, State::http_view)?;
        add_palisade_to_linker(&mut linker)?;
        let cache = options
            .cache_dir
            .as_deref()
            .map(|dir| CompiledCache::open(dir, &engine))
            .transpose()?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), ticker_stop.clone())?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            ticker_stop,
            max_memory_bytes: options.max_memory_bytes,
        })
    }

    /// The most memory any instance may have: the pool's slot size.
    pub fn max_memory_bytes(&self) -> usize {
        self.max_memory_bytes
    }

    /// Loads, checks, compiles (or takes from the cache), links and describes a plugin.
    pub async fn load(&self, name: &str, path: &Path, context: PluginContext) -> Result<Plugin, LoadError> {
        Plugin::load(self, name, path, context, self.cache.as_ref()).await
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// The `palisade:action` interfaces, answered by the broker. One by one rather than the
/// world's `add_to_linker`, which would link `wasi:http` to the broker as well.
fn add_palisade_to_linker(linker: &mut Linker<State>) -> anyhow::Result<()> {
    use super::bindings::palisade::action::*;
    fn broker(state: &mut State) -> &mut Broker {
        &mut state.broker
    }
    types::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    log::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    config::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    kv::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    intel::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    siem::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    ticket::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    identity::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    endpoint::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    network::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    notify::add_to_linker::<State, HasSelf<Broker>>(linker, broker)?;
    Ok(())
}

/// What one plugin component may hold: enough for interpreted guests (Python, JavaScript),
/// which are several core modules, and a slot's share of the pool.
pub const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
pub const MEMORIES_PER_COMPONENT: u32 = 4;
pub const TABLES_PER_COMPONENT: u32 = 16;

fn engine_config(options: &RuntimeOptions) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);

    // Instances come from a pool: reserved once, reused, so a fresh instance per alert costs
    // microseconds. Each slot can hold a component with several core instances (interpreted
    // guests such as Python have a few).
    let slots = options.max_instances.max(1);
    // A returned instance's first pages are reset in place rather than handed back to the
    // kernel, so the next alert's instance takes no madvise and page faults; either way it
    // sees its initial memory. With PAGEMAP_SCAN (Linux 6.7+) only the pages the guest wrote
    // are reset, anywhere in its memory (vendor/README.md), so the window can cover what an
    // interpreter writes (a Python starter dirties about 190 pages, 0.75 MiB) at no cost to
    // small guests. Without it the whole window is zeroed on every return, so it stays at
    // what small guests use (128 KiB measured best, BENCHMARKS.md). What stays resident is at
    // most the window for each linear memory of each slot a run has used (a slot per alert in
    // flight, plus one), and only pages the guest wrote.
    let (keep_resident, pagemap_scan) = if PoolingAllocationConfig::is_pagemap_scan_available() {
        (4 << 20, Enabled::Yes)
    } else {
        (128 << 10, Enabled::No)
    };
    let mut pool = PoolingAllocationConfig::default();
    // Each component is capped at its slot's share, checked when it is loaded: one that
    // declares more memories, tables or core instances than a slot holds is refused then,
    // instead of taking other alerts' slots while it runs.
    pool.total_component_instances(slots)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .total_stacks(slots)
        .max_memory_size(options.max_memory_bytes)
        .table_elements(100_000)
        .linear_memory_keep_resident(keep_resident)
        .table_keep_resident(64 << 10)
        .pagemap_scan(pagemap_scan);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advances the epoch on its own thread, so deadlines hold even when every async worker is
/// busy running guests.
fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("palisade-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::Store;
    use wasmtime::component::Component;

    /// Host pages in the test module's memory: 16 MiB, of which `run` writes half, twice the
    /// window kept resident.
    const PAGES: u32 = 4096;

    /// A component whose memory starts as an image (a marker byte at the start of every host
    /// page, so the engine maps it copy-on-write) and whose `run` counts the bytes that differ
    /// from that start, then writes to every other page: far more separate runs of written
    /// pages than a single pagemap scan reports, spread over more than the resident window.
    fn scattered_writer() -> Vec<u8> {
        let data: String = (0..PAGES)
            .map(|page| format!("(data (i32.const {}) \"A\")", page * 4096))
            .collect();
        let wat = format!(
            r#"(component
                (core module $m
                    (memory {memory_pages})
                    {data}
                    (func (export "run") (result i32)
                        (local $page i32) (local $address i32) (local $changed i32)
                        (loop $next
                            (local.set $address (i32.mul (local.get $page) (i32.const 4096)))
                            (if (i32.ne (i32.load8_u (local.get $address)) (i32.const 65))
                                (then (local.set $changed (i32.add (local.get $changed) (i32.const 1)))))
                            (if (i32.ne (i32.load8_u offset=8 (local.get $address)) (i32.const 0))
                                (then (local.set $changed (i32.add (local.get $changed) (i32.const 1)))))
                            (if (i32.eqz (i32.and (local.get $page) (i32.const 1)))
                                (then
                                    (i32.store8 (local.get $address) (i32.const 66))
                                    (i32.store8 offset=8 (local.get $address) (i32.const 67))))
                            (local.set $page (i32.add (local.get $page) (i32.const 1)))
                            (br_if $next (i32.lt_u (local.get $page) (i32.const {PAGES}))))
                        (local.get $changed)))
                (core instance $i (instantiate $m))
                (func (export "run") (result u32) (canon lift (core func $i "run"))))"#,
            memory_pages = PAGES * 4096 / 65536,
        );
        wat::parse_str(wat).expect("valid WAT")
    }

    /// Every instance from the pool sees its memory as it started, however scattered the
    /// previous instance's writes in the same slot were: what one alert wrote is never there
    /// for the next, whichever way the engine resets a returned slot.
    #[test]
    fn a_pooled_instance_sees_none_of_the_previous_instances_scattered_writes() {
        let engine = Engine::new(&engine_config(&RuntimeOptions::default())).expect("an engine");
        let component = Component::new(&engine, scattered_writer()).expect("compiles");
        let linker = Linker::<()>::new(&engine);
        let pre = linker.instantiate_pre(&component).expect("links");
        for round in 0..4 {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(1 << 20);
            let instance = pre.instantiate(&mut store).expect("instantiates");
            let run = instance
                .get_typed_func::<(), (u32,)>(&mut store, "run")
                .expect("exports run");
            let (changed,) = run.call(&mut store, ()).expect("runs");
            assert_eq!(changed, 0, "round {round}: bytes left by an earlier instance");
            // The count sees writes: the same instance again finds its own (two per page
            // written).
            let (changed,) = run.call(&mut store, ()).expect("runs again");
            assert_eq!(
                changed, PAGES,
                "round {round}: the check missed this instance's writes"
            );
        }
    }
}
