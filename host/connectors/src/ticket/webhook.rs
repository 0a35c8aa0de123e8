use super::{CommentRequest, NewTicket, TicketRef, Ticketing};
use crate::webhook::WebhookClient;
use crate::{CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookTicketing(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl Ticketing for WebhookTicketing {
    async fn create(&self, cx: &CallContext, ticket: &NewTicket) -> Result<TicketRef, ConnectorError> {
        self.0.call(cx, "ticket", "create", ticket).await
    }

    async fn comment(&self, cx: &CallContext, ticket_id: &str, body: &str) -> Result<(), ConnectorError> {
        let _: serde::de::IgnoredAny = self
            .0
            .call(cx, "ticket", "comment", &CommentRequest { ticket_id, body })
            .await?;
        Ok(())
    }
}
