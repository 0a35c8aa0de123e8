use super::{Message, Notifier};
use crate::connectors::outbox::Outbox;
use crate::connectors::{CallContext, ConnectorError, Envelope};
use std::sync::Arc;

pub struct OutboxNotifier(pub Arc<Outbox>);

#[async_trait::async_trait]
impl Notifier for OutboxNotifier {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError> {
        self.0.append(&Envelope::new(cx, "notify", "send", message))
    }
}
