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
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> anyhow::Result<Component> {
        let path = self.dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(Sha256::digest(wasm)),
            self.engine_key
        ));
        if path.exists() {
            // SAFETY: the file is in a folder only this user can write, under a name derived
            // from the component's hash and this engine; wasmtime checks its header too.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(error) => tracing::warn!(path = %path.display(), %error, "ignoring unusable cache entry"),
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Err(error) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), %error, "cannot cache compiled plugin");
        }
        Ok(component)
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
