//! The alert model the host works with, and the parsers that produce it.
//!
//! [`Alert`] mirrors the WIT `alert` record. [`intake`] is the way in: it detects or is told
//! each line's format and hands it to a normalizer, one file per format: [`native`]
//! (Palisade's own), [`ocsf`], [`ecs`] (Elastic Security), [`splunk`], [`sentinel`], and
//! [`mapping`] (fields mapped in the config). Every normalizer keeps the document as it
//! arrived in [`Alert::raw`]. A batch is then ordered by [`priority`] and its repeats are
//! recognized by [`dedup`].

pub mod config;
pub mod dedup;
mod detect;
pub mod ecs;
pub mod fields;
pub mod grouping;
pub mod intake;
pub mod mapping;
pub mod native;
pub mod ocsf;
pub mod priority;
pub mod sentinel;
pub mod splunk;

use serde::{Deserialize, Serialize};

/// How bad an alert is if it is true, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an alert is in its life at the source, as the source said it. Only a live alert
/// (new, in progress, a failed compliance check) is acted on by default: a closed incident or
/// a passed check is not a threat to contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    New,
    InProgress,
    /// A compliance check that failed: something to fix.
    Failed,
    Resolved,
    Closed,
    Suppressed,
    /// A compliance check that passed.
    Passed,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::InProgress,
        Status::Failed,
        Status::Resolved,
        Status::Closed,
        Status::Suppressed,
        Status::Passed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InProgress => "in-progress",
            Status::Failed => "failed",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Suppressed => "suppressed",
            Status::Passed => "passed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == text)
    }

    pub fn is_live(self) -> bool {
        matches!(self, Status::New | Status::InProgress | Status::Failed)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Benign,
    Suspicious,
    Malicious,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Benign => "benign",
            Verdict::Suspicious => "suspicious",
            Verdict::Malicious => "malicious",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignInResult {
    Success,
    Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Source,
    Destination,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha256,
}

/// Something an alert is about. The JSON form is tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Entity {
    User {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_in: Option<SignInResult>,
    },
    Host {
        hostname: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fqdn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        os: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ip_addresses: Vec<String>,
    },
    Ip {
        address: std::net::IpAddr,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        direction: Option<Direction>,
    },
    Domain {
        name: String,
    },
    Url {
        url: String,
    },
    FileHash {
        algorithm: HashAlgorithm,
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_name: Option<String>,
    },
    EmailAddress {
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
    },
    Process {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command_line: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_name: Option<String>,
    },
}

impl Entity {
    /// A short human name for the entity, as analysts write it.
    pub fn label(&self) -> String {
        match self {
            Entity::User { name, .. } => format!("user {name}"),
            Entity::Host { hostname, .. } => format!("host {hostname}"),
            Entity::Ip { address, .. } => format!("ip {address}"),
            Entity::Domain { name } => format!("domain {name}"),
            Entity::Url { url } => format!("url {url}"),
            Entity::FileHash { value, .. } => format!("file {value}"),
            Entity::EmailAddress { address, .. } => format!("email {address}"),
            Entity::Process { name, pid, .. } => match pid {
                Some(pid) => format!("process {name} ({pid})"),
                None => format!("process {name}"),
            },
        }
    }
}

/// A finding a stage added to an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// The plugin that added it.
    pub source: String,
    pub key: String,
    pub value: String,
}

/// An alert as Palisade handles it, whatever format it arrived in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: String,
    pub title: String,
    pub source_product: String,
    pub rule_id: Option<String>,
    pub rule_name: Option<String>,
    pub category: String,
    pub severity: Severity,
    /// 0 to 100; `None` when the source states none (an unknown confidence is not a medium
    /// one: the policy gate holds destructive operations on it unless an admin says otherwise).
    pub confidence: Option<u8>,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub entities: Vec<Entity>,
    pub tags: Vec<String>,
    pub annotations: Vec<Annotation>,
    pub verdict: Option<Verdict>,
    pub risk_score: Option<u8>,
    /// Its status at the source; `None` when the source says none (taken as live).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The document as it arrived.
    #[serde(skip)]
    pub raw: String,
}

/// What one plugin concluded about an alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub verdict: Option<Verdict>,
    pub risk_score: Option<u8>,
    pub notes: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub summary: Option<String>,
}

impl Alert {
    /// The confidence as people read it: a number, or "unstated".
    pub fn confidence_label(&self) -> String {
        self.confidence
            .map_or_else(|| "unstated".to_owned(), |confidence| confidence.to_string())
    }

    /// Adds a plugin's findings to the alert, so later stages see them: notes become
    /// annotations attributed to the plugin, tags are merged, and a verdict or risk score
    /// replaces the earlier one.
    /// The detection rule it came from, for its precision: the rule id, else the title.
    pub fn rule_key(&self) -> &str {
        self.rule_id.as_deref().unwrap_or(&self.title)
    }

    /// The rule as people know it: its name, else its id, else the title.
    pub fn rule_label(&self) -> &str {
        self.rule_name
            .as_deref()
            .or(self.rule_id.as_deref())
            .unwrap_or(&self.title)
    }

    pub fn apply(&mut self, plugin: &str, outcome: &Outcome) {
        for (key, value) in &outcome.notes {
            self.annotations.push(Annotation {
                source: plugin.to_owned(),
                key: key.clone(),
                value: value.clone(),
            });
        }
        // In linear time: a plugin's tags are many only up to its output limit, but every
        // stage adds to the alert's.
        let mut known: std::collections::HashSet<String> = self.tags.iter().cloned().collect();
        for tag in &outcome.tags {
            if known.insert(tag.clone()) {
                self.tags.push(tag.clone());
            }
        }
        if let Some(verdict) = outcome.verdict {
            self.verdict = Some(verdict);
        }
        if let Some(risk) = outcome.risk_score {
            self.risk_score = Some(risk.min(100));
        }
    }
}
