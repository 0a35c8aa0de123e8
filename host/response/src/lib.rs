//! The life of a destructive operation once a plugin asks for it: resolved and decided
//! ([`resolve_and_decide`]), then executed, held for a person or refused; a held one approved,
//! denied or left to expire; an executed one undone. Each step records to the store and the
//! audit here, whoever drives it: the broker for a plugin's call, the CLI (and next a service
//! and a console) for a person's decision.

mod decisions;
mod held;
mod record;

pub use decisions::{
    ApproveError, Approved, Bound, Plugins, UndoFailure, Undone, approve, deny, feedback, lapse_due,
    reset_breaker, undo,
};
pub use palisade_connectors::decide::{bind_for_approval, resolve_and_decide, shown_target};
pub use record::{Hold, executed_action, hold, record_executed};
