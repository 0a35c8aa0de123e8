use serde::{Deserialize, Serialize};
use std::fmt;

/// The stages an alert passes through, in this order. A later stage sees what earlier ones
/// added to the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Intel and SIEM correlation.
    Enrich,
    /// Risk score, verdict, priority.
    Triage,
    /// Containment: revoke sessions, disable users, isolate hosts, block addresses.
    Respond,
    /// Tickets and chat.
    Notify,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Enrich, Stage::Triage, Stage::Respond, Stage::Notify];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Enrich => "enrich",
            Stage::Triage => "triage",
            Stage::Respond => "respond",
            Stage::Notify => "notify",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
