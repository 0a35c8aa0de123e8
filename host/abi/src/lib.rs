//! The plugin ABI as the host sees it: the bindings generated from each WIT version the host
//! links, and the conversions between their types and the host's own.
//!
//! One module per WIT version, so a plugin built against an older version keeps working when
//! a newer one adds to the interface.

pub mod v0_1;

/// The version plugins are linked against today.
pub use v0_1 as bindings;
pub use v0_1::{entity_size, outcome_size};
