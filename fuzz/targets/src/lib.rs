//! Every fuzz target's body, as a plain function of the input bytes: stable Rust, no libFuzzer.
//!
//! `fuzz/fuzz_targets/<name>.rs` calls it under libFuzzer (nightly, `fuzz/run`);
//! `tests/replay.rs` calls it on every committed corpus file and crash reproducer (stable,
//! `cargo test`), so a regression fails the normal suite. A body panics only when an invariant
//! is broken: each input is answered with a value or an error message. Inputs that need
//! structure are decoded with `arbitrary` inside the body, so both sides decode the same bytes
//! the same way. See docs/fuzzing.md.

mod alert;
pub mod backend;
mod canonical;
mod config;
mod http;
mod plugin;
mod vendor;
mod wit;

pub use alert::{alert_bytes, alert_structured};
pub use backend::backend_reply;
pub use canonical::canonical_protected;
pub use config::config_toml;
pub use http::http_guard;
pub use plugin::{plugin_bytes, plugin_smith};
pub use vendor::{spl_query, vendor_reply};
pub use wit::wit_convert;

/// A target's body.
pub type Body = fn(&[u8]);

/// (name, body): the name is the cargo-fuzz target, `fuzz/corpus/<name>` and
/// `fuzz/artifacts/<name>`.
pub const TARGETS: &[(&str, Body)] = &[
    ("alert_bytes", alert_bytes),
    ("alert_structured", alert_structured),
    ("config_toml", config_toml),
    ("canonical_protected", canonical_protected),
    ("http_guard", http_guard),
    ("vendor_reply", vendor_reply),
    ("backend_reply", backend_reply),
    ("spl_query", spl_query),
    ("plugin_bytes", plugin_bytes),
    ("plugin_smith", plugin_smith),
    ("wit_convert", wit_convert),
];
