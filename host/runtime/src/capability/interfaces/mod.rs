//! The host side of each WIT interface, one file each. Every function goes through
//! [`Broker::admit`](super::Broker) before it touches a connector.

mod endpoint;
mod identity;
mod intel;
mod kv;
mod log;
mod network;
mod notify;
mod siem;
mod ticket;

use super::Broker;
use palisade_abi::bindings::palisade::action::types;

impl types::Host for Broker {}

/// Bounds a string a plugin hands the host, so a hostile plugin cannot make the host log or
/// forward megabytes.
fn bounded(text: &str, max: usize, what: &str) -> Result<(), types::ActionError> {
    if text.len() > max {
        Err(types::ActionError::InvalidInput(format!(
            "{what} is longer than {max} bytes"
        )))
    } else {
        Ok(())
    }
}

/// Identifiers (accounts, hosts, addresses, ticket ids) are short.
const MAX_NAME: usize = 1024;
/// Free text (reasons, descriptions, bodies).
const MAX_TEXT: usize = 64 * 1024;
