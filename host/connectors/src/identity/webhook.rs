use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::webhook::WebhookClient;
use crate::{ActionReceipt, CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookIdentity(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl IdentityProvider for WebhookIdentity {
    async fn lookup_user(&self, cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError> {
        #[derive(serde::Serialize)]
        struct Lookup<'a> {
            user: &'a str,
        }
        crate::resolve::checked("user", name)?;
        self.0
            .call(cx, "identity", "lookup-user", &Lookup { user: name })
            .await
    }

    async fn act(
        &self,
        cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.0.call(cx, "identity", action.operation(), request).await
    }
}
