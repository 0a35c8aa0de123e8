//! Hosts from a local inventory file; host actions go to the outbox.
//!
//! ```json
//! {"hosts": [{"id": "d-17", "hostname": "fin-ws-07", "os": "Windows 11",
//!             "ip_addresses": ["10.1.4.7"], "isolated": false}]}
//! ```

use super::{Endpoint, HostInfo, HostRequest};
use crate::connectors::outbox::Outbox;
use crate::connectors::{ActionReceipt, CallContext, ConnectorError, Envelope};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

pub struct Inventory {
    hosts: Vec<HostInfo>,
    outbox: Arc<Outbox>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    hosts: Vec<HostInfo>,
}

impl Inventory {
    pub fn load(path: Option<&Path>, outbox: Arc<Outbox>) -> anyhow::Result<Inventory> {
        let hosts = match path {
            Some(path) => crate::connectors::read_json::<InventoryFile>(path)?.hosts,
            None => Vec::new(),
        };
        Ok(Inventory { hosts, outbox })
    }
}

#[async_trait::async_trait]
impl Endpoint for Inventory {
    async fn lookup_host(&self, _cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        self.hosts
            .iter()
            .find(|host| host.hostname.eq_ignore_ascii_case(hostname))
            .cloned()
            .ok_or_else(|| ConnectorError::NotFound(format!("no host {hostname:?} in the inventory")))
    }

    async fn act(
        &self,
        cx: &CallContext,
        request: &HostRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.outbox.append(&Envelope::new(
            cx,
            "endpoint",
            request.action.operation(),
            request,
        ))?;
        Ok(ActionReceipt {
            reference: Some(format!("outbox:{}", cx.action_id)),
        })
    }
}
