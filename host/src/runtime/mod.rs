//! The sandbox: one engine, plugins compiled once and linked once, and a fresh store and
//! instance for every (alert, plugin) so nothing leaks from one alert to the next.

pub(crate) mod abi;
pub mod bindings;
mod cache;
mod engine;
mod imports;
pub mod limits;
mod plugin;
mod state;

pub use abi::outcome_size;
pub use cache::{CompiledCache, CompiledFrom, Hashed};
pub use engine::{Runtime, RuntimeOptions};
pub use imports::{ImportError, ImportInfo};
pub use limits::{LimitKind, Limits};
pub use plugin::{Invocation, InvocationStatus, LoadError, Plugin, PluginInfo};
