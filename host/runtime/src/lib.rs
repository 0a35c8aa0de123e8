//! The sandbox: one engine, plugins compiled once and linked once, and a fresh store and
//! instance for every (alert, plugin) so nothing leaks from one alert to the next; and the
//! [`capability`] broker that answers their host calls within their grants.
//!
//! The two live in one crate because they are one boundary: the engine links the broker's
//! host functions, and the broker ends an invocation through the engine's limits.

mod cache;
pub mod capability;
mod engine;
mod imports;
pub mod limits;
mod plugin;
mod state;

pub use cache::{CompiledCache, CompiledFrom, Hashed};
pub use engine::{Runtime, RuntimeOptions};
pub use imports::{ImportError, ImportInfo};
pub use limits::{LimitKind, Limits};
pub use palisade_abi::{bindings, outcome_size};
pub use plugin::{Invocation, InvocationStatus, LoadError, Plugin, PluginInfo};
