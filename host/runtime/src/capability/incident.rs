//! The tickets opened for incidents during a run, so that a later alert of the same incident
//! adds to the ticket a plugin already opened (`ticket.create` becomes `ticket.comment`)
//! instead of opening another: a burst of related alerts yields one ticket.
//!
//! Kept in memory for one run, per (plugin, incident), at most [`MAX_REMEMBERED`] incidents:
//! past that, the longest-remembered is forgotten (a later alert of it opens a new ticket).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many (plugin, incident) tickets are remembered at once.
pub const MAX_REMEMBERED: usize = 100_000;

/// The ticket of one (plugin, incident), once opened. The lock is held while the first alert
/// opens it, so a concurrent alert of the same incident waits and then comments.
pub type TicketSlot = Arc<tokio::sync::Mutex<Option<palisade_connectors::ticket::TicketRef>>>;

/// Every (plugin, incident) ticket of the run.
#[derive(Debug, Default)]
pub struct IncidentTickets {
    slots: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    by_key: HashMap<(Arc<str>, String), TicketSlot>,
    order: VecDeque<(Arc<str>, String)>,
}

impl IncidentTickets {
    /// The slot for `plugin`'s ticket of `incident`, made empty when there is none yet.
    pub fn slot(&self, plugin: &Arc<str>, incident: &str) -> TicketSlot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let key = (plugin.clone(), incident.to_owned());
        if let Some(slot) = slots.by_key.get(&key) {
            return slot.clone();
        }
        let slot = TicketSlot::default();
        slots.by_key.insert(key.clone(), slot.clone());
        slots.order.push_back(key);
        while slots.order.len() > MAX_REMEMBERED {
            if let Some(oldest) = slots.order.pop_front() {
                slots.by_key.remove(&oldest);
            }
        }
        slot
    }
}

/// The incident an alert belongs to, as a plugin's host calls see it.
#[derive(Debug, Clone)]
pub struct Incident {
    pub id: String,
    pub tickets: Arc<IncidentTickets>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_plugin_and_incident() {
        let tickets = IncidentTickets::default();
        let (spray, other): (Arc<str>, Arc<str>) = ("password-spray".into(), "notify".into());
        let first = tickets.slot(&spray, "spray-a");
        assert!(Arc::ptr_eq(&first, &tickets.slot(&spray, "spray-a")));
        assert!(!Arc::ptr_eq(&first, &tickets.slot(&other, "spray-a")));
        assert!(!Arc::ptr_eq(&first, &tickets.slot(&spray, "spray-b")));
    }
}
