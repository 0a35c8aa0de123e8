//! What a held operation carries out when a person approves it: a destructive operation, or a
//! ticket, comment or notification whose earlier sending had an unknown outcome (the ledger
//! held it rather than send it twice blindly).

use palisade_connectors::notify::Message;
use palisade_connectors::ticket::NewTicket;
use palisade_connectors::{ActionRequest, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::{Operation, ops};
use serde::Deserialize;

pub(crate) enum Held {
    Action(ActionRequest),
    Ticket(NewTicket),
    Comment { ticket: String, body: String },
    Notify(Message),
}

/// The form the broker holds tickets, comments and notifications in.
#[derive(Deserialize)]
#[serde(tag = "operation")]
enum Effect {
    #[serde(rename = "ticket.create")]
    Ticket { ticket: NewTicket },
    #[serde(rename = "ticket.comment")]
    Comment { ticket: String, body: String },
    #[serde(rename = "notify.send")]
    Notify { message: Message },
}

impl Held {
    pub(crate) fn parse(request: &serde_json::Value) -> Result<Held, String> {
        if let Ok(action) = serde_json::from_value::<ActionRequest>(request.clone()) {
            return Ok(Held::Action(action));
        }
        let mut effect = request.clone();
        if let Some(object) = effect.as_object_mut() {
            // The capability is implied by the operation.
            object.remove("capability");
        }
        match serde_json::from_value::<Effect>(effect).map_err(|error| error.to_string())? {
            Effect::Ticket { ticket } => Ok(Held::Ticket(ticket)),
            Effect::Comment { ticket, body } => Ok(Held::Comment { ticket, body }),
            Effect::Notify { message } => Ok(Held::Notify(message)),
        }
    }

    pub(crate) fn operation(&self) -> Operation {
        match self {
            Held::Action(request) => request.operation(),
            Held::Ticket(_) => ops::TICKET_CREATE,
            Held::Comment { .. } => ops::TICKET_COMMENT,
            Held::Notify(_) => ops::NOTIFY_SEND,
        }
    }

    /// Carries it out once; the vendor's reference where it gives one.
    pub(crate) async fn execute(
        &self,
        connectors: &CapabilitySet,
        cx: &CallContext,
    ) -> Result<Option<String>, ConnectorError> {
        let unserved = |capability: &str| {
            ConnectorError::Unsupported(format!("no {capability} connector is configured"))
        };
        match self {
            Held::Action(request) => request
                .execute(connectors, cx)
                .await
                .map(|receipt| receipt.reference),
            Held::Ticket(ticket) => {
                let ticketing = connectors.ticket.as_ref().ok_or_else(|| unserved("ticket"))?;
                ticketing.create(cx, ticket).await.map(|opened| Some(opened.id))
            }
            Held::Comment { ticket, body } => {
                let ticketing = connectors.ticket.as_ref().ok_or_else(|| unserved("ticket"))?;
                ticketing.comment(cx, ticket, body).await.map(|()| None)
            }
            Held::Notify(message) => {
                let notifier = connectors.notify.as_ref().ok_or_else(|| unserved("notify"))?;
                notifier.send(cx, message).await.map(|()| None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_tickets_comments_and_notifications_are_read_back() {
        let ticket = serde_json::json!({"capability": "ticket", "operation": "ticket.create", "ticket":
            {"title": "t", "description": "d", "severity": "high", "tags": [], "observables": []}});
        assert!(matches!(Held::parse(&ticket), Ok(Held::Ticket(t)) if t.title == "t"));
        let comment = serde_json::json!({"capability": "ticket", "operation": "ticket.comment", "ticket": "SEC-1", "body": "b"});
        assert!(matches!(Held::parse(&comment), Ok(Held::Comment { ticket, .. }) if ticket == "SEC-1"));
        let message = serde_json::json!({"capability": "notify", "operation": "notify.send", "message":
            {"title": "t", "body": "b", "severity": "low"}});
        assert_eq!(
            Held::parse(&message).map(|held| held.operation()).ok(),
            Some(ops::NOTIFY_SEND)
        );
        assert!(Held::parse(&serde_json::json!({"operation": "network.block-ip"})).is_err());
    }
}
