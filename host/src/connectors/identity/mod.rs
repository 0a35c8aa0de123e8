//! The identity provider: user lookup and account containment.

pub mod embedded;
pub mod entra;
pub mod okta;
pub mod webhook;

use super::{ActionReceipt, CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// An account operation with side effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityAction {
    DisableUser,
    EnableUser,
    RevokeSessions,
    ResetPassword,
}

impl IdentityAction {
    pub fn operation(self) -> &'static str {
        match self {
            IdentityAction::DisableUser => "disable-user",
            IdentityAction::EnableUser => "enable-user",
            IdentityAction::RevokeSessions => "revoke-sessions",
            IdentityAction::ResetPassword => "reset-password",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountRequest<'a> {
    pub user: &'a str,
    pub reason: &'a str,
}

#[async_trait::async_trait]
pub trait IdentityProvider: Send + Sync {
    async fn lookup_user(&self, cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError>;
    async fn act(
        &self,
        cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError>;
}
