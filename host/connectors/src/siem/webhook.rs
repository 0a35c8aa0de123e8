use super::{Event, MAX_EVENTS, Query, SiemSearch};
use crate::webhook::WebhookClient;
use crate::{CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookSiem(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl SiemSearch for WebhookSiem {
    async fn search(&self, cx: &CallContext, query: &Query) -> Result<Vec<Event>, ConnectorError> {
        #[derive(serde::Deserialize)]
        struct Reply {
            events: Vec<Event>,
        }
        let reply: Reply = self.0.call(cx, "siem", "search", query).await?;
        let mut events = reply.events;
        events.truncate(query.limit.min(MAX_EVENTS) as usize);
        Ok(events)
    }
}
