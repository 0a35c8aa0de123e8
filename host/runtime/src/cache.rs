//! Compiled code on disk, so a plugin is compiled once, not on every run.
//!
//! Loading compiled code runs it as native code, so the cache must hold only what this host
//! wrote: entries are keyed by the component's SHA-256 and the engine's configuration and
//! version, the folder is created private to this user, and a folder that others can write
//! is refused.

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a plugin's machine code came from when it was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompiledFrom {
    /// Compiled code this host cached for exactly these bytes: no compilation.
    Cache,
    /// Compiled from the component now (first load, changed file, or no cache).
    Source,
}

impl std::fmt::Display for CompiledFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CompiledFrom::Cache => "cache",
            CompiledFrom::Source => "source",
        })
    }
}

/// A component's bytes with their SHA-256, computed once: the hash is both the plugin's identity
/// and its cache key, and hashing an 18 MB Python component costs milliseconds.
pub struct Hashed<'a> {
    bytes: &'a [u8],
    sha256: String,
}

impl<'a> Hashed<'a> {
    pub fn new(bytes: &'a [u8]) -> Hashed<'a> {
        Hashed {
            bytes,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

pub struct CompiledCache {
    dir: PathBuf,
    engine_key: String,
}

/// Feeds `Hash` output into SHA-256, for a key that is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is used")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompiledCache {
    pub fn open(dir: &Path, engine: &Engine) -> anyhow::Result<CompiledCache> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create cache folder {}", dir.display()))?;
        let metadata = std::fs::metadata(dir)?;
        if metadata.uid() != rustix::process::geteuid().as_raw() {
            bail!(
                "cache folder {} belongs to another user; refusing to load code from it",
                dir.display()
            );
        }
        if metadata.permissions().mode() & 0o022 != 0 {
            bail!(
                "cache folder {} is writable by others; refusing to load code from it",
                dir.display()
            );
        }
        let mut hasher = ShaHasher(Sha256::new());
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(hasher.0.finalize())[..16].to_owned();
        Ok(CompiledCache {
            dir: dir.to_owned(),
            engine_key,
        })
    }

    /// The compiled component, from the cache when present; compiled and stored otherwise.
    /// Says which, so a user can see that a large plugin was not compiled again.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &Hashed<'_>,
    ) -> anyhow::Result<(Component, CompiledFrom)> {
        let path = self
            .dir
            .join(format!("{}-{}.cwasm", wasm.sha256, self.engine_key));
        if path.exists() {
            // SAFETY: the file is in a folder only this user can write, under a name derived
            // from the component's hash and this engine; wasmtime checks its header too.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CompiledFrom::Cache)),
                // The entry is sound; the engine cannot host the plugin. Compiling again
                // (seconds for a big plugin) would only end in the same refusal.
                Err(error) if super::plugin::starting_memory(&format!("{error:#}")).is_some() => {
                    return Err(anyhow::Error::from(error));
                }
                Err(error) => tracing::warn!(path = %path.display(), %error, "ignoring unusable cache entry"),
            }
        }
        let component = Component::new(engine, wasm.bytes)?;
        if let Err(error) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), %error, "cannot cache compiled plugin");
        }
        Ok((component, CompiledFrom::Source))
    }

    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        let bytes = component.serialize()?;
        // Written aside and renamed, so a reader never sees half a file.
        let mut temporary = tempfile::NamedTempFile::new_in(&self.dir)?;
        temporary.write_all(&bytes)?;
        temporary.as_file().sync_all()?;
        temporary.persist(path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component there is: the preamble of an empty one.
    const EMPTY_COMPONENT: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";

    /// The same component with a custom section appended: other bytes, so another entry.
    fn changed_component() -> Vec<u8> {
        let mut bytes = EMPTY_COMPONENT.to_vec();
        bytes.extend_from_slice(&[0, 4, 3, b'n', b'e', b'w']);
        bytes
    }

    fn engine() -> Engine {
        Engine::new(&wasmtime::Config::new()).expect("an engine")
    }

    /// Where `load` of these bytes took the code from.
    fn load(cache: &CompiledCache, engine: &Engine, bytes: &[u8]) -> CompiledFrom {
        cache
            .load_or_compile(engine, &Hashed::new(bytes))
            .expect("loads")
            .1
    }

    #[test]
    fn a_second_load_of_the_same_bytes_comes_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let first = CompiledCache::open(dir.path(), &engine).unwrap();
        assert_eq!(load(&first, &engine, &EMPTY_COMPONENT), CompiledFrom::Source);
        // A new cache over the same folder is what the next `palisade run` sees.
        let second = CompiledCache::open(dir.path(), &engine).unwrap();
        assert_eq!(load(&second, &engine, &EMPTY_COMPONENT), CompiledFrom::Cache);
    }

    #[test]
    fn changed_bytes_are_compiled_again() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = CompiledCache::open(dir.path(), &engine).unwrap();
        load(&cache, &engine, &EMPTY_COMPONENT);
        let changed = changed_component();
        assert_eq!(load(&cache, &engine, &changed), CompiledFrom::Source);
        assert_eq!(load(&cache, &engine, &changed), CompiledFrom::Cache);
    }

    #[test]
    fn an_unusable_entry_is_compiled_over_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = CompiledCache::open(dir.path(), &engine).unwrap();
        load(&cache, &engine, &EMPTY_COMPONENT);
        let entry = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::write(&entry, b"not compiled code").unwrap();
        assert_eq!(load(&cache, &engine, &EMPTY_COMPONENT), CompiledFrom::Source);
        assert_eq!(load(&cache, &engine, &EMPTY_COMPONENT), CompiledFrom::Cache);
    }

    /// An engine like the runtime's: instances from a pool whose memories hold `max_memory`.
    fn pooling_engine(max_memory: usize) -> Engine {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.max_memory_size(max_memory);
        let mut config = wasmtime::Config::new();
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        Engine::new(&config).expect("an engine")
    }

    /// What is logged at warn level or above while `f` runs on this thread.
    fn warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .finish();
        let result = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
        (result, text)
    }

    #[test]
    fn an_entry_the_pool_cannot_host_is_refused_not_compiled_again() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = crate::plugin::tests::needs_two_mib();
        let roomy = pooling_engine(64 << 20);
        let cache = CompiledCache::open(dir.path(), &roomy).unwrap();
        assert_eq!(load(&cache, &roomy, &wasm), CompiledFrom::Source);

        // The same compiler settings with smaller instances: the entry is this engine's too.
        let small = pooling_engine(1 << 20);
        let cache = CompiledCache::open(dir.path(), &small).unwrap();
        let (result, logged) = warnings(|| cache.load_or_compile(&small, &Hashed::new(&wasm)));
        let error = result.expect_err("refused");
        assert!(
            crate::plugin::starting_memory(&format!("{error:#}")).is_some(),
            "{error:#}"
        );
        assert!(
            !logged.contains("ignoring unusable cache entry"),
            "the entry was thrown away and compiled again:\n{logged}"
        );
    }

    #[test]
    fn a_folder_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = CompiledCache::open(dir.path(), &engine()).err().expect("refused");
        assert!(error.to_string().contains("writable by others"), "{error}");
    }
}
