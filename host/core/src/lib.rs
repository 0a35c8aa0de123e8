//! The vocabulary every part of Palisade shares and nothing else: config errors located by
//! file, line and key ([`located`]), the one spelling of names, addresses and domains that the
//! gate and the connectors compare ([`canonical`]), the capabilities and operations a plugin
//! can be granted ([`capability`]), and the clock ([`clock`]).
//!
//! It depends on no other Palisade crate, so every one of them can use it.

pub mod canonical;
pub mod capability;
pub mod clock;
pub mod located;

use std::time::Duration;

/// The longest a config may let anything wait (a plugin's invocation, a vendor's reply), so
/// that a typo cannot disable a time limit.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
