//! Plugin loading: whatever bytes a plugin author ships, the loader loads them or refuses them
//! with a message, through the host's own engine and linker (`Runtime::load`: read, compile,
//! import check, link, `describe()` in a sandbox that grants nothing).
//!
//! Slow: compiling a component takes a fraction of a second, so these targets manage about one
//! execution a second under ASan. They are given minutes, not seconds (docs/fuzzing.md).

use arbitrary::Unstructured;
use palisade_runtime::capability::PluginContext;
use palisade_runtime::{Limits, Runtime, RuntimeOptions};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use wit_component::{ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata};
use wit_parser::{ManglingAndAbi, Resolve, WorldId};

struct Host {
    tokio: tokio::runtime::Runtime,
    runtime: Runtime,
    /// Where each input is written for the loader, which reads a path.
    file: PathBuf,
    limits: Limits,
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let limits = Limits {
            // A generated `describe()` may loop: the deadline ends it, sooner than a plugin's.
            timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let options = RuntimeOptions {
            cache_dir: None,
            max_instances: 2,
            max_memory_bytes: limits.memory_bytes,
        };
        let dir = std::env::temp_dir().join(format!("palisade-fuzz-plugin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Host {
            tokio: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            runtime: Runtime::new(&options).expect("the host's engine"),
            file: dir.join("plugin.wasm"),
            limits,
        }
    })
}

/// Loads `wasm` as a plugin: `Ok` or a `LoadError` with a message, never a panic.
fn load(wasm: &[u8]) {
    let host = host();
    std::fs::write(&host.file, wasm).expect("the scratch file is writable");
    let context = PluginContext::isolated("fuzz", host.limits);
    let result = host
        .tokio
        .block_on(host.runtime.load("fuzz", &host.file, context));
    if let Err(error) = result {
        assert!(!error.to_string().is_empty(), "a refusal says why");
    }
}

/// Arbitrary and mutated component bytes (seeded with the project's real plugins).
pub fn plugin_bytes(data: &[u8]) {
    load(data);
}

struct World {
    resolve: Resolve,
    world: WorldId,
    /// A core module with exactly the world's core imports and exports.
    shape: Vec<u8>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit/v0.1.0"))
            .expect("the plugin WIT parses");
        let world = resolve
            .select_world(&[package], Some("action"))
            .expect("the action world");
        let shape = dummy_module(&resolve, world, ManglingAndAbi::Standard32);
        World {
            resolve,
            world,
            shape,
        }
    })
}

/// What wasmtime 48, built without its `gc` and `threads` features, accepts.
fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        gc_enabled: false,              // also turns off function references
        reference_types_enabled: false, // externref needs wasmtime's `gc` feature
        exceptions_enabled: false,
        threads_enabled: false,
        memory64_enabled: false,
        max_memory32_bytes: 64 << 20, // the runtime's memory limit
        max_table_elements: 100_000,
        ..wasm_smith::Config::default()
    }
}

/// wasm-smith modules of a plugin's shape (the world's imports, a subset, and its exports),
/// random bodies, wrapped into a component: reaches compilation, linking and `describe()`.
pub fn plugin_smith(data: &[u8]) {
    let world = world();
    let mut config = smith_config();
    config.available_imports = Some(world.shape.clone());
    config.exports = Some(world.shape.clone());
    config.max_memories = 0; // beyond the exported memory
    let Ok(module) = wasm_smith::Module::new(config, &mut Unstructured::new(data)) else {
        return;
    };
    let mut core = module.to_bytes();
    embed_component_metadata(&mut core, &world.resolve, world.world, StringEncoding::UTF8)
        .expect("metadata embeds");
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&core)
        .and_then(|mut encoder| encoder.encode())
        .expect("a module of the world's shape encodes as a component");
    load(&component);
}
