//! Case management: tickets populated with the evidence.

pub mod embedded;
pub mod jira;
pub mod servicenow;
pub mod thehive;
pub mod webhook;

use super::{CallContext, ConnectorError};
use palisade_alert::{Entity, HashAlgorithm, Severity};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// One line describing an entity, for backends that list observables as text.
pub(crate) fn describe(entity: &Entity) -> String {
    match entity {
        Entity::User { name, email, .. } => match email {
            Some(email) => format!("user: {name} <{email}>"),
            None => format!("user: {name}"),
        },
        Entity::Host {
            hostname,
            ip_addresses,
            ..
        } if !ip_addresses.is_empty() => format!("host: {hostname} ({})", ip_addresses.join(", ")),
        Entity::Host { hostname, .. } => format!("host: {hostname}"),
        Entity::Ip { address, .. } => format!("ip: {address}"),
        Entity::Domain { name } => format!("domain: {name}"),
        Entity::Url { url } => format!("url: {url}"),
        Entity::FileHash { algorithm, value, .. } => {
            let algorithm = match algorithm {
                HashAlgorithm::Md5 => "md5",
                HashAlgorithm::Sha1 => "sha1",
                HashAlgorithm::Sha256 => "sha256",
            };
            format!("{algorithm}: {value}")
        }
        Entity::EmailAddress { address, .. } => format!("email: {address}"),
        Entity::Process {
            name, command_line, ..
        } => match command_line {
            Some(command_line) => format!("process: {name} ({command_line})"),
            None => format!("process: {name}"),
        },
    }
}
