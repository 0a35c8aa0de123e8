use super::{Message, Notifier};
use crate::outbox::Outbox;
use crate::{CallContext, ConnectorError, Envelope};
use std::sync::Arc;

pub struct OutboxNotifier(pub Arc<Outbox>);

#[async_trait::async_trait]
impl Notifier for OutboxNotifier {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError> {
        self.0.append(&Envelope::new(cx, "notify", "send", message))
    }
}
