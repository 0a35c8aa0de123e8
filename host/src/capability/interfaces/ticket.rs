use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::broker::not_configured;
use crate::capability::{Broker, Capability, Operation};
use crate::connectors::ticket::NewTicket;
use crate::runtime::bindings::palisade::action::ticket;
use crate::runtime::bindings::types::ActionError;

/// Entities attached to one ticket; more is a plugin misbehaving.
const MAX_OBSERVABLES: usize = 1000;

impl ticket::Host for Broker {
    async fn create(
        &mut self,
        new: ticket::NewTicket,
    ) -> wasmtime::Result<Result<ticket::TicketRef, ActionError>> {
        let operation = Operation::lookup(Capability::Ticket, "create").expect("in the catalogue");
        let cx = match self.admit(operation)? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = bounded(&new.title, MAX_NAME, "the title").and(bounded(
            &new.description,
            MAX_TEXT,
            "the description",
        )) {
            return Ok(Err(error));
        }
        if new.observables.len() > MAX_OBSERVABLES {
            return Ok(Err(ActionError::InvalidInput(format!(
                "at most {MAX_OBSERVABLES} observables"
            ))));
        }
        let observables = match new
            .observables
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(observables) => observables,
            Err(message) => return Ok(Err(ActionError::InvalidInput(message))),
        };
        let Some(ticketing) = self.plugin.connectors.ticket.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let request = NewTicket {
            title: new.title,
            description: new.description,
            severity: new.severity.into(),
            tags: new.tags,
            observables,
        };
        if self.simulated(operation, &request.title, &cx) {
            return Ok(Ok(ticket::TicketRef {
                id: format!("SIMULATED-{}", cx.action_id),
                url: None,
            }));
        }
        let result = ticketing.create(&cx, &request).await;
        Ok(self
            .record(operation, &request.title, &cx, result, |reference| {
                Some(reference.id.clone())
            })
            .map(|reference| ticket::TicketRef {
                id: reference.id,
                url: reference.url,
            }))
    }

    async fn comment(
        &mut self,
        ticket_id: String,
        body: String,
    ) -> wasmtime::Result<Result<(), ActionError>> {
        let operation = Operation::lookup(Capability::Ticket, "comment").expect("in the catalogue");
        let cx = match self.admit(operation)? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) =
            bounded(&ticket_id, MAX_NAME, "the ticket id").and(bounded(&body, MAX_TEXT, "the comment"))
        {
            return Ok(Err(error));
        }
        let Some(ticketing) = self.plugin.connectors.ticket.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        if self.simulated(operation, &ticket_id, &cx) {
            return Ok(Ok(()));
        }
        let result = ticketing.comment(&cx, &ticket_id, &body).await;
        Ok(self.record(operation, &ticket_id, &cx, result, |_| None))
    }
}
