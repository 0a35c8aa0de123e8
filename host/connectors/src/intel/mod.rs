//! Threat intelligence lookups.

pub mod abuseipdb;
pub mod cache;
pub mod embedded;
pub mod misp;
pub mod virustotal;
pub mod webhook;

use super::{CallContext, ConnectorError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum Indicator {
    Ip(String),
    Domain(String),
    Url(String),
    FileHash(String),
}

impl Indicator {
    pub fn value(&self) -> &str {
        match self {
            Indicator::Ip(value)
            | Indicator::Domain(value)
            | Indicator::Url(value)
            | Indicator::FileHash(value) => value,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reputation {
    Unknown,
    Benign,
    Suspicious,
    Malicious,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub indicator: String,
    pub reputation: Reputation,
    /// 0 to 100.
    pub score: u8,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[async_trait::async_trait]
pub trait IntelSource: Send + Sync {
    async fn lookup(&self, cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError>;
}
