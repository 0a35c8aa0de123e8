//! Users from a local directory file; account actions go to the outbox.
//!
//! ```json
//! {"users": [{"id": "00u1", "name": "alice", "email": "alice@example.com",
//!             "display_name": "Alice", "groups": ["finance"], "enabled": true}]}
//! ```

use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::connectors::outbox::Outbox;
use crate::connectors::{ActionReceipt, CallContext, ConnectorError, Envelope};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

pub struct Directory {
    users: Vec<UserProfile>,
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
            Some(path) => crate::connectors::read_json::<DirectoryFile>(path)?.users,
            None => Vec::new(),
        };
        Ok(Directory { users, outbox })
    }
}

#[async_trait::async_trait]
impl IdentityProvider for Directory {
    async fn lookup_user(&self, _cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError> {
        self.users
            .iter()
            .find(|user| {
                user.name.eq_ignore_ascii_case(name)
                    || user
                        .email
                        .as_deref()
                        .is_some_and(|email| email.eq_ignore_ascii_case(name))
            })
            .cloned()
            .ok_or_else(|| ConnectorError::NotFound(format!("no user {name:?} in the directory")))
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
