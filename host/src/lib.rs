//! Palisade: incident-response automation that runs response actions as sandboxed
//! WebAssembly components, each with only the capabilities an admin granted it.
//!
//! The modules follow the data flow: [`config`] is what the admin wrote, [`alert`] what
//! arrived, [`runtime`] runs plugins in their sandbox, [`capability`] answers their host
//! calls within their grants, [`policy`] gates destructive operations, [`connectors`] reach
//! the vendor systems, [`pipeline`] moves an alert through the stages, [`store`] keeps state,
//! and [`cli`] is the command line. [`canonical`] gives names, addresses and domains the one
//! spelling the gate and the connectors compare.

pub mod alert;
pub mod canonical;
pub mod capability;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod located;
pub mod pipeline;
pub mod policy;
pub mod response;
pub mod runtime;
pub mod store;
