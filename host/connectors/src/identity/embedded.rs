//! Users from a local directory file; account actions go to the outbox.
//!
//! ```json
//! {"users": [{"id": "00u1", "name": "alice@example.com", "email": "alice@example.com",
//!             "display_name": "Alice", "groups": ["finance"], "enabled": true,
//!             "domain": "EXAMPLE", "aliases": ["amartin"]}]}
//! ```
//!
//! A user is found by any of its names (id, login, email, aliases, short names, `DOMAIN\short`),
//! compared in canonical form; a name no user has is not found and a name two users share is
//! ambiguous, as with a real identity provider. Nothing is ever done to an account the
//! directory does not hold.

use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::outbox::Outbox;
use crate::resolve::{self, NameIndex};
use crate::{ActionReceipt, CallContext, ConnectorError, Envelope};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

pub struct Directory {
    users: NameIndex<UserProfile>,
    outbox: Arc<Outbox>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    users: Vec<UserProfile>,
}

impl Directory {
    pub fn load(path: Option<&Path>, outbox: Arc<Outbox>) -> anyhow::Result<Directory> {
        let users = match path {
            Some(path) => crate::read_json::<DirectoryFile>(path)?.users,
            None => Vec::new(),
        };
        Ok(Directory {
            users: NameIndex::new(users, UserProfile::names),
            outbox,
        })
    }
}

#[async_trait::async_trait]
impl IdentityProvider for Directory {
    async fn lookup_user(&self, _cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError> {
        resolve::checked("user", name)?;
        let matching = self.users.matching(name);
        resolve::exactly_one("embedded", "user in the directory", name, matching, |user| {
            format!("{} ({})", user.name, user.id)
        })
    }

    async fn act(
        &self,
        cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.outbox
            .append(&Envelope::new(cx, "identity", action.operation(), request))?;
        Ok(ActionReceipt {
            reference: Some(format!("outbox:{}", cx.action_id)),
        })
    }
}
