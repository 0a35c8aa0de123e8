//! Capabilities: what a plugin may ask of the host, and the broker that answers within the
//! plugin's grants.
//!
//! Every host call passes [`Broker::admit`]: it is counted against the invocation's budget,
//! checked against the grants (a call not granted returns `denied`, reaches no connector and
//! is logged and recorded), and only then handed to the connector the admin chose.

mod broker;
mod gate;
pub mod http;
pub mod incident;
mod interfaces;
mod repeats;
pub mod sandbox;

pub use broker::{ActionRecord, ActionResult, AlertContext, Broker, CallLog, PluginContext};
pub use palisade_core::capability::{Capability, GrantError, Grants, HTTP, OPERATIONS, Operation, ops};
pub use repeats::Repeats;
