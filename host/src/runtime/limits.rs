//! What one invocation of a plugin may use.

use crate::store::{KvQuota, PerHour};
use serde::Serialize;
use std::time::Duration;

/// Limits for one (alert, plugin) invocation. Exceeding any ends the invocation with
/// `limit-exceeded`; the host and the other alerts carry on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Linear memory, all memories of the instance together.
    pub memory_bytes: usize,
    /// Wall-clock deadline, enforced by epoch interruption, so a guest that never yields stops.
    #[serde(with = "millis")]
    pub timeout: Duration,
    /// Calls into the host (every interface, `log` included).
    pub host_calls: u32,
    /// Destructive operations (disable user, isolate host, block IP, ...).
    pub destructive_operations: u32,
    /// Bytes of outcome, and separately of stdout and of stderr, kept from the plugin.
    pub output_bytes: usize,
    /// The plugin's `kv` state across all alerts and runs: keys, and bytes of keys and values.
    pub kv: KvQuota,
    /// Notifications, tickets and comments the plugin may send per hour, across all alerts
    /// and runs.
    pub per_hour: PerHour,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(5),
            host_calls: 256,
            destructive_operations: 20,
            output_bytes: 256 << 10,
            kv: KvQuota::default(),
            per_hour: PerHour::default(),
        }
    }
}

/// The most a config may set, so that a typo cannot disable a limit.
pub const MAX_MEMORY_BYTES: usize = 4 << 30;
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Which limit ended an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    Memory,
    Deadline,
    HostCalls,
    Output,
}

impl LimitKind {
    pub fn describe(self, limits: &Limits) -> String {
        match self {
            LimitKind::Memory => format!("memory limit of {} MiB reached", limits.memory_bytes >> 20),
            LimitKind::Deadline => format!("deadline of {} ms reached", limits.timeout.as_millis()),
            LimitKind::HostCalls => format!("limit of {} host calls reached", limits.host_calls),
            LimitKind::Output => format!("output limit of {} KiB reached", limits.output_bytes >> 10),
        }
    }
}

mod millis {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u128(duration.as_millis())
    }
}
