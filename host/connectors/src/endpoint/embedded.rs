//! Hosts from a local inventory file; host actions go to the outbox.
//!
//! ```json
//! {"hosts": [{"id": "d-17", "hostname": "fin-ws-07", "os": "Windows 11",
//!             "fqdn": "fin-ws-07.corp.example.com", "ip_addresses": ["10.1.4.7"],
//!             "isolated": false}]}
//! ```
//!
//! A host is found by its id, hostname, FQDN, short name or address, compared in canonical
//! form; a name no host has is not found and one that two hosts share is ambiguous, as with a
//! real EDR. Nothing is ever done to a host the inventory does not hold.

use super::{Endpoint, HostInfo, HostRequest};
use crate::outbox::Outbox;
use crate::resolve::{self, NameIndex};
use crate::{ActionReceipt, CallContext, ConnectorError, Envelope};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

pub struct Inventory {
    hosts: NameIndex<HostInfo>,
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
            Some(path) => crate::read_json::<InventoryFile>(path)?.hosts,
            None => Vec::new(),
        };
        Ok(Inventory {
            hosts: NameIndex::new(hosts, HostInfo::names),
            outbox,
        })
    }
}

#[async_trait::async_trait]
impl Endpoint for Inventory {
    async fn lookup_host(&self, _cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        resolve::checked("host", hostname)?;
        let matching = self.hosts.matching(hostname);
        resolve::exactly_one("embedded", "host in the inventory", hostname, matching, |host| {
            format!("{} ({})", host.hostname, host.id)
        })
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
