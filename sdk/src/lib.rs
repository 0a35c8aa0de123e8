//! Write Palisade response actions in Rust.
//!
//! A response action is a WebAssembly component that Palisade runs on alerts, in a sandbox. This
//! crate holds the bindings to the plugin ABI (WIT package `palisade:action@0.1.0`, world
//! `action`) and a few helpers that keep plugins short.
//!
//! # The shape of a plugin
//!
//! A plugin is a library crate built for `wasm32-wasip2`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]   # cdylib: the component; rlib: native unit tests
//!
//! [dependencies]
//! palisade-sdk = "0.1"
//! ```
//!
//! It implements [`Action`] on a type and hands that type to [`export!`]:
//!
//! ```
//! use palisade_sdk::prelude::*;
//!
//! struct RevokeOnSuccess;
//!
//! impl Action for RevokeOnSuccess {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new(
//!             env!("CARGO_PKG_NAME"),
//!             env!("CARGO_PKG_VERSION"),
//!             "Revokes the sessions of accounts that signed in during an attack",
//!             ["identity.revoke-sessions"],
//!         )
//!     }
//!
//!     fn handle(alert: Alert) -> Result<Outcome, ActionError> {
//!         let min_confidence = setting_parse::<u8>("min_confidence")?.unwrap_or(80);
//!         if alert.confidence < min_confidence {
//!             return Ok(Outcome::new().note("skipped", "confidence below threshold"));
//!         }
//!         let mut outcome = Outcome::new().verdict(Verdict::Malicious);
//!         for user in alert.users().filter(|u| u.sign_in == Some(SignInResult::Success)) {
//!             let reason = format!("alert {}", alert.id);
//!             match identity::revoke_sessions(&user.name, &reason) {
//!                 Ok(receipt) => outcome.add_note(format!("revoke:{}", user.name), receipt.status.to_string()),
//!                 // A denied or failed call is an answer, not a crash: note it and carry on.
//!                 Err(e) => outcome.add_note(format!("revoke:{}", user.name), e.to_string()),
//!             }
//!         }
//!         palisade_sdk::info!("handled alert {}", alert.id);
//!         Ok(outcome)
//!     }
//! }
//!
//! palisade_sdk::export!(RevokeOnSuccess);
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the file
//! `target/wasm32-wasip2/release/<crate_name>.wasm` is the component the admin installs.
//!
//! - [`Action::describe`] says who the plugin is and which operations it asks for. It must not
//!   call the host.
//! - [`Action::handle`] runs once per alert, on a fresh instance: nothing survives between alerts
//!   except what the plugin stores in [`kv`]. It returns an [`Outcome`] (verdict, risk score,
//!   notes, tags, summary) that later stages see as annotations, or an [`ActionError`] when the
//!   plugin could not do its job.
//!
//! # Settings
//!
//! The admin configures a plugin in `palisade.toml` under `[plugins.NAME.settings]`. Read a value
//! with [`setting`], a typed value with [`setting_parse`] (a malformed value is an
//! [`ActionError::InvalidInput`] naming the key, so `?` reports it well), a comma-separated list
//! with [`setting_list`]. Settings are plain values, never secrets: credentials stay in the host's
//! connectors.
//!
//! # Host capabilities and grants
//!
//! The plugin reaches the world only through the host: [`identity`], [`endpoint`], [`network`],
//! [`ticket`], [`notify`], [`intel`], [`siem`], [`kv`] and [`http`]. Every operation has a
//! grant name, `capability.operation` in kebab case: `identity.revoke-sessions`,
//! `network.block-ip`, `ticket.create`, `intel.lookup`, `kv.get`; outbound HTTP is the grant
//! `http`, with the scheme, host and port the plugin may reach listed by the admin. List the
//! ones the plugin needs in [`PluginInfo::capabilities`]; the admin decides what to grant.
//!
//! - An operation the admin did not grant returns [`ActionError::Denied`] naming the operation.
//!   Nothing reaches the vendor. Treat it as an answer: note it and carry on.
//! - A destructive operation (disable user, revoke sessions, isolate host, block IP, ...) that
//!   returns `Ok` may still not have happened: read [`Receipt::status`]. It is
//!   [`ActionStatus::Executed`], [`ActionStatus::Simulated`] (dry-run),
//!   [`ActionStatus::Held`] (waiting for a human's approval) or [`ActionStatus::Refused`] (by
//!   policy).
//! - Every invocation has limits (memory, time, host calls, destructive operations, output);
//!   reaching one ends the invocation or returns [`ActionError::LimitExceeded`].
//! - [`log`] and settings are always available. The sandbox has no files, environment,
//!   arguments, sockets or DNS; stdout and stderr go to the host's log, capped.
//!
//! # Outbound HTTP
//!
//! [`http::get`] and [`http::Request`] send requests through the host (`wasi:http`), which
//! lets through only what the admin allowed in `[plugins.NAME.http]` and caps time and size:
//!
//! ```no_run
//! use palisade_sdk::prelude::*;
//!
//! fn registrant(ip: &str) -> Result<String, ActionError> {
//!     let reply = http::get(&format!("https://rdap.example.net/ip/{ip}"))?.error_for_status()?;
//!     Ok(reply.text())
//! }
//! ```
//!
//! Enable the crate feature `json` for `Request::json` and `Response::json`.
//!
//! # Testing
//!
//! The host functions only work inside Palisade; natively they panic. Keep decisions in plain
//! functions that take the [`Alert`] and the settings as data, and unit-test those with
//! `cargo test`. [`Alert::new`], [`User::new`], [`Device::new`] and [`Ip::new`] help build inputs.

#![warn(missing_docs)]

mod alert;
mod error;
pub mod http;
mod log_macros;
mod outcome;
mod settings;
mod types;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    // The export macro is `pub` and finds the generated glue at `palisade_sdk::bindings`, so a
    // plugin crate needs no dependency on `wit-bindgen` itself.
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "action",
        pub_export_macro: true,
        default_bindings_module: "palisade_sdk::bindings",
        additional_derives: [PartialEq, Eq],
        // Holds a resource, which has no equality.
        additional_derives_ignore: ["stream-error"],
        // The world imports wasi:http/outgoing-handler; its WASI dependencies (wasi:io,
        // wasi:clocks) are generated here too. A plugin that does not send requests imports
        // none of them.
        generate_all,
        with: {
            "palisade:action/types@0.1.0/action-error": crate::ActionError,
        },
    });
}

pub use error::ActionError;
pub use settings::{parse_setting, setting, setting_list, setting_parse, split_list};

/// What a plugin implements: [`describe`](Action::describe) and [`handle`](Action::handle).
///
/// Hand the implementing type to [`export!`] to make it the component's entry points.
pub use bindings::Guest as Action;

/// Makes a type implementing [`Action`] the plugin's entry points:
/// `palisade_sdk::export!(MyAction);`
///
/// Invoke it once in the plugin crate. It defines the component's exports `describe` and
/// `handle`, which call the type's [`Action`] methods.
#[macro_export]
macro_rules! export {
    ($ty:ident) => {
        $crate::bindings::export!($ty with_types_in $crate::bindings);
    };
}

pub use bindings::palisade::action::types::{
    ActionStatus, Alert, Annotation, Device, Direction, EmailAddress, Entity, FileHash, HashAlgorithm, Ip,
    Note, Outcome, PluginInfo, Process, Receipt, Severity, SignInResult, User, Verdict,
};

/// Threat intelligence: [`intel::lookup`] (grant `intel.lookup`).
///
/// An indicator no source knows is [`ActionError::NotFound`]: that means "unknown", not failure.
pub use bindings::palisade::action::intel;

/// Key-value state private to this plugin, kept across alerts and runs (grants `kv.get`,
/// `kv.set`, `kv.delete`, `kv.increment`).
pub use bindings::palisade::action::kv;

/// SIEM search: [`siem::search`] (grant `siem.search`).
pub use bindings::palisade::action::siem;

/// Case management: [`ticket::create`] and [`ticket::comment`] (grants `ticket.create`,
/// `ticket.comment`). The host links every ticket to the alert being handled.
pub use bindings::palisade::action::ticket;

/// The identity provider: [`identity::lookup_user`] and the destructive
/// [`identity::disable_user`], [`identity::enable_user`], [`identity::revoke_sessions`],
/// [`identity::reset_password`] (grants `identity.<operation>`, kebab case).
pub use bindings::palisade::action::identity;

/// Endpoint detection and response: [`endpoint::lookup_host`] and the destructive
/// [`endpoint::isolate_host`], [`endpoint::release_host`], [`endpoint::kill_process`],
/// [`endpoint::quarantine_file`] (grants `endpoint.<operation>`, kebab case).
pub use bindings::palisade::action::endpoint;

/// Network controls, all destructive: [`network::block_ip`], [`network::unblock_ip`],
/// [`network::block_domain`], [`network::unblock_domain`] (grants `network.<operation>`).
pub use bindings::palisade::action::network;

/// Chat and paging: [`notify::send`] (grant `notify.send`).
pub use bindings::palisade::action::notify;

/// The host's log, attributed to the plugin and the alert. Always available.
///
/// Use the functions with a ready message, or the [`info!`](crate::info) family of macros to
/// format one.
pub mod log {
    pub use crate::bindings::palisade::action::log::{Level, log};

    /// Logs `message` at [`Level::Trace`].
    pub fn trace(message: &str) {
        log(Level::Trace, message);
    }

    /// Logs `message` at [`Level::Debug`].
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }

    /// Logs `message` at [`Level::Info`].
    pub fn info(message: &str) {
        log(Level::Info, message);
    }

    /// Logs `message` at [`Level::Warn`].
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }

    /// Logs `message` at [`Level::Error`].
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Everything a plugin usually needs: `use palisade_sdk::prelude::*;`
///
/// The types, the [`Action`] trait, the settings functions and the capability modules.
pub mod prelude {
    pub use crate::{
        Action, ActionError, ActionStatus, Alert, Annotation, Device, Direction, Entity, FileHash, Ip, Note,
        Outcome, PluginInfo, Receipt, Severity, SignInResult, User, Verdict, endpoint, http, identity, intel,
        kv, network, notify, setting, setting_list, setting_parse, siem, ticket,
    };
}
