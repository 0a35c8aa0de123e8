//! Case management: tickets populated with the evidence.

pub mod embedded;
pub mod thehive;
pub mod webhook;

use super::{CallContext, ConnectorError};
use crate::alert::{Entity, Severity};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub struct NewTicket {
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub observables: Vec<Entity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
}

#[async_trait::async_trait]
pub trait Ticketing: Send + Sync {
    async fn create(&self, cx: &CallContext, ticket: &NewTicket) -> Result<TicketRef, ConnectorError>;
    async fn comment(&self, cx: &CallContext, ticket_id: &str, body: &str) -> Result<(), ConnectorError>;
}

#[derive(Debug, Clone, Serialize)]
pub struct CommentRequest<'a> {
    pub ticket_id: &'a str,
    pub body: &'a str,
}
