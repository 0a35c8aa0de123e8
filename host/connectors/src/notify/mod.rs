//! Chat and paging.

pub mod embedded;
pub mod slack;
pub mod slack_webhook;
pub mod teams;
pub mod webhook;

use super::{CallContext, ConnectorError};
use palisade_alert::Severity;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub title: String,
    pub body: String,
    pub severity: Severity,
}

#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, cx: &CallContext, message: &Message) -> Result<(), ConnectorError>;
}
