//! The identity provider: user lookup and account containment.
//!
//! Containment acts on an account in two steps, so the thing the policy gate checked is the
//! thing acted on: [`IdentityProvider::lookup_user`] resolves whatever name a plugin passed
//! (login, email, short name, the provider's id) to the provider's one record, the gate decides
//! on every name in that record, and [`IdentityProvider::act`] then acts on the record's id.

pub mod embedded;
pub mod entra;
pub mod okta;
pub mod webhook;

use super::{ActionReceipt, CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

/// An account as the identity provider records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// The provider's immutable id: what containment acts on.
    pub id: String,
    /// The login (UPN, Okta login).
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The directory domain (Active Directory NetBIOS or DNS domain), where the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Every other name the provider resolves to this account: short name (sAMAccountName,
    /// Okta login shortname), other email addresses, immutable ids. Protection is checked on
    /// each of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl UserProfile {
    /// Every name this record answers to (id, login, addresses, aliases, short names, and the
    /// `DOMAIN\\short` forms); the display name is not one, as no provider resolves by it.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.id.clone(), self.name.clone()];
        names.extend(self.email.clone());
        names.extend(self.aliases.iter().cloned());
        if let Some(domain) = &self.domain {
            // DOMAIN\short and short@domain, the forms Active Directory and Sentinel use.
            for short in self.short_names() {
                names.push(format!("{domain}\\{short}"));
                names.push(format!("{short}@{domain}"));
            }
        }
        names.extend(self.short_names());
        names
    }

    /// The local parts of the login and addresses: an admin who protects `ceo` means them too.
    fn short_names(&self) -> Vec<String> {
        let mut shorts: Vec<String> = std::iter::once(&self.name)
            .chain(self.email.iter())
            .chain(self.aliases.iter())
            .filter_map(|name| name.split_once('@').map(|(local, _)| local.to_owned()))
            .chain(
                std::iter::once(&self.name)
                    .chain(self.aliases.iter())
                    .filter_map(|name| name.rsplit_once('\\').map(|(_, short)| short.to_owned())),
            )
            .collect();
        shorts.sort();
        shorts.dedup();
        shorts
    }
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

/// An operation on one resolved account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountRequest<'a> {
    /// The provider's id of the account, from [`IdentityProvider::lookup_user`]: what is acted on.
    pub user_id: &'a str,
    /// Its login, for the vendor's own records and for people reading them.
    pub user: &'a str,
    pub reason: &'a str,
}

#[async_trait::async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The one account the provider knows by `name`: its id, login, email address or short
    /// name, as the provider itself resolves them. `NotFound` when there is none,
    /// `Ambiguous` (naming the candidates) when there is more than one.
    async fn lookup_user(&self, cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError>;
    /// Acts on the account `request.user_id` names.
    async fn act(
        &self,
        cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError>;
}
