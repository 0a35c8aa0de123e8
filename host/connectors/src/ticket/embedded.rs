use super::{CommentRequest, NewTicket, TicketRef, Ticketing};
use crate::outbox::Outbox;
use crate::{CallContext, ConnectorError, Envelope};
use std::sync::Arc;

/// Tickets written to the outbox; the ticket id is the host's action id, so it is unique
/// across runs.
pub struct OutboxTicketing {
    outbox: Arc<Outbox>,
}

impl OutboxTicketing {
    pub fn new(outbox: Arc<Outbox>) -> OutboxTicketing {
        OutboxTicketing { outbox }
    }
}

#[async_trait::async_trait]
impl Ticketing for OutboxTicketing {
    async fn create(&self, cx: &CallContext, ticket: &NewTicket) -> Result<TicketRef, ConnectorError> {
        self.outbox
            .append(&Envelope::new(cx, "ticket", "create", ticket))?;
        Ok(TicketRef {
            id: format!("PAL-{}", cx.action_id),
            url: None,
        })
    }

    async fn comment(&self, cx: &CallContext, ticket_id: &str, body: &str) -> Result<(), ConnectorError> {
        self.outbox.append(&Envelope::new(
            cx,
            "ticket",
            "comment",
            &CommentRequest { ticket_id, body },
        ))
    }
}
