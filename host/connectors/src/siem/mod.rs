//! SIEM searches, for correlation.

pub mod elasticsearch;
pub mod embedded;
pub mod spl;
pub mod splunk;
pub mod webhook;

use super::{CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

/// The most events one search returns, whatever the plugin asks.
pub const MAX_EVENTS: u32 = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Query {
    pub query: String,
    pub earliest: Option<String>,
    pub latest: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub timestamp: Option<String>,
    pub raw: serde_json::Value,
}

#[async_trait::async_trait]
pub trait SiemSearch: Send + Sync {
    async fn search(&self, cx: &CallContext, query: &Query) -> Result<Vec<Event>, ConnectorError>;
}
