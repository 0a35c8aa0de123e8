use super::{BlockRequest, NetworkAction, NetworkControl};
use crate::outbox::Outbox;
use crate::{ActionReceipt, CallContext, ConnectorError, Envelope};
use std::sync::Arc;

/// Blocks are written to the outbox, for a person or a script to apply.
pub struct OutboxNetwork(pub Arc<Outbox>);

#[async_trait::async_trait]
impl NetworkControl for OutboxNetwork {
    async fn act(
        &self,
        cx: &CallContext,
        action: NetworkAction,
        request: &BlockRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.0
            .append(&Envelope::new(cx, "network", action.operation(), request))?;
        Ok(ActionReceipt {
            reference: Some(format!("outbox:{}", cx.action_id)),
        })
    }
}
