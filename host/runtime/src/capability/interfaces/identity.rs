use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::broker::{not_configured, to_action_error};
use crate::capability::{Broker, ops};
use palisade_abi::bindings::palisade::action::identity;
use palisade_abi::bindings::types::{ActionError, Receipt};
use palisade_connectors::ActionRequest;
use palisade_connectors::identity::IdentityAction;

impl Broker {
    async fn account_action(
        &mut self,
        action: IdentityAction,
        user: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        let valid = bounded(&user, MAX_NAME, "the user name").and(bounded(&reason, MAX_TEXT, "the reason"));
        let request = ActionRequest::Identity {
            action,
            user,
            reason,
            resolved: None,
        };
        self.destructive(request, valid).await
    }
}

impl identity::Host for Broker {
    async fn lookup_user(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<identity::UserProfile, ActionError>> {
        let operation = ops::IDENTITY_LOOKUP_USER;
        let cx = match self.admit(operation, name.len())? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = bounded(&name, MAX_NAME, "the user name") {
            return Ok(Err(error));
        }
        let Some(provider) = self.plugin.connectors.identity.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let result = provider
            .lookup_user(&cx, &name)
            .await
            .map(|user| identity::UserProfile {
                id: user.id,
                name: user.name,
                email: user.email,
                display_name: user.display_name,
                groups: user.groups,
                enabled: user.enabled,
            })
            .map_err(to_action_error);
        self.audit_answer(operation, &name, &result);
        Ok(result)
    }

    async fn disable_user(
        &mut self,
        name: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.account_action(IdentityAction::DisableUser, name, reason)
            .await
    }

    async fn enable_user(
        &mut self,
        name: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.account_action(IdentityAction::EnableUser, name, reason)
            .await
    }

    async fn revoke_sessions(
        &mut self,
        name: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.account_action(IdentityAction::RevokeSessions, name, reason)
            .await
    }

    async fn reset_password(
        &mut self,
        name: String,
        reason: String,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        self.account_action(IdentityAction::ResetPassword, name, reason)
            .await
    }
}
