use super::{Message, Notifier};
use crate::webhook::WebhookClient;
use crate::{CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookNotifier(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl Notifier for WebhookNotifier {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError> {
        let _: serde::de::IgnoredAny = self.0.call(cx, "notify", "send", message).await?;
        Ok(())
    }
}
