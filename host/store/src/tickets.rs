//! The tickets plugins opened, and for which alert and incident: a plugin may comment only on
//! a ticket opened for the alert it handles or that alert's incident (unless it is granted
//! `ticket.comment-any`), so an attacker's alert cannot make automation write into someone
//! else's case.

use super::writer::{Count, Message, Record, Writer, counted};
use rusqlite::{OptionalExtension, Transaction, params};
use std::sync::Arc;

/// One ticket opened by a plugin.
#[derive(Debug, Clone)]
pub struct OpenedTicket {
    pub ticket: String,
    pub alert_id: String,
    pub incident: Option<String>,
    pub plugin: String,
    pub at: i64,
}

#[derive(Clone)]
pub struct Tickets {
    writer: Arc<Writer>,
}

impl Tickets {
    pub(super) fn new(writer: Arc<Writer>) -> Tickets {
        Tickets { writer }
    }

    /// Queues the record of an opened ticket; false when the writer has stopped.
    pub fn opened(&self, ticket: OpenedTicket) -> bool {
        self.writer.send(Message::Record(Record::Ticket(ticket)))
    }

    /// Whether `ticket` was opened for `alert_id` or for `incident`. Asked through the writer,
    /// so every ticket recorded before the question is seen.
    pub async fn opened_for(
        &self,
        ticket: &str,
        alert_id: &str,
        incident: Option<&str>,
    ) -> Result<bool, String> {
        let (ticket, alert_id, incident) = (
            ticket.to_owned(),
            alert_id.to_owned(),
            incident.map(str::to_owned),
        );
        let ask = Count::ask(move |transaction: &Transaction<'_>| {
            transaction
                .prepare_cached(
                    "SELECT 1 FROM tickets WHERE ticket = ?1 AND (alert_id = ?2 OR incident = ?3) LIMIT 1",
                )?
                .query_row(params![ticket, alert_id, incident], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        });
        counted(&self.writer, ask).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn opened(ticket: &str, alert_id: &str, incident: Option<&str>) -> OpenedTicket {
        OpenedTicket {
            ticket: ticket.into(),
            alert_id: alert_id.into(),
            incident: incident.map(Into::into),
            plugin: "spray".into(),
            at: 1,
        }
    }

    #[tokio::test]
    async fn a_ticket_belongs_to_its_alert_and_its_incident_only() {
        let tickets = Store::in_memory().unwrap().tickets();
        assert!(tickets.opened(opened("SEC-1", "a-1", Some("spray-203.0.113.7"))));
        assert!(tickets.opened(opened("SEC-2", "a-2", None)));
        assert!(tickets.opened_for("SEC-1", "a-1", None).await.unwrap());
        assert!(
            tickets
                .opened_for("SEC-1", "a-9", Some("spray-203.0.113.7"))
                .await
                .unwrap(),
            "another alert of the incident"
        );
        assert!(!tickets.opened_for("SEC-1", "a-2", None).await.unwrap());
        assert!(
            !tickets
                .opened_for("SEC-2", "a-1", Some("spray-203.0.113.7"))
                .await
                .unwrap()
        );
        assert!(!tickets.opened_for("SEC-404", "a-1", None).await.unwrap());
    }
}
