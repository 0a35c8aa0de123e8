use super::{Endpoint, HostInfo, HostRequest};
use crate::webhook::WebhookClient;
use crate::{ActionReceipt, CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookEndpoint(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl Endpoint for WebhookEndpoint {
    async fn lookup_host(&self, cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        #[derive(serde::Serialize)]
        struct Lookup<'a> {
            hostname: &'a str,
        }
        crate::resolve::checked("host", hostname)?;
        self.0
            .call(cx, "endpoint", "lookup-host", &Lookup { hostname })
            .await
    }

    async fn act(
        &self,
        cx: &CallContext,
        request: &HostRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.0
            .call(cx, "endpoint", request.action.operation(), request)
            .await
    }
}
