use super::{BlockRequest, NetworkAction, NetworkControl};
use crate::webhook::WebhookClient;
use crate::{ActionReceipt, CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookNetwork(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl NetworkControl for WebhookNetwork {
    async fn act(
        &self,
        cx: &CallContext,
        action: NetworkAction,
        request: &BlockRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.0.call(cx, "network", action.operation(), request).await
    }
}
