//! What one invocation of a plugin may use.

use palisade_core::located::Reporter;
use palisade_store::{KvQuota, PerHour};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use toml::Spanned;

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
    /// Bytes of arguments (names, text, tags, observables, state values) the plugin hands
    /// the host in one invocation, so the host's work for one alert stays bounded.
    pub argument_bytes: usize,
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
            argument_bytes: 4 << 20,
            kv: KvQuota::default(),
            per_hour: PerHour::default(),
        }
    }
}

/// The most host memory one `wasi:http` resource may hold: a header map (its in-memory size
/// is capped at [`HTTP_FIELDS_BYTES`]) or an outgoing body's buffer (two chunks of
/// [`HTTP_BODY_CHUNK`]).
const HOST_RESOURCE_BYTES: usize = 128 << 10;
/// A header map's in-memory size; eight times what HTTP proxies take on the wire.
pub const HTTP_FIELDS_BYTES: usize = 64 << 10;
/// An outgoing body is handed to the host in chunks of this size, two at most in flight.
pub const HTTP_BODY_CHUNK: usize = 64 << 10;

impl Limits {
    /// Resources (streams, header maps, requests, bodies, pollables) the plugin may hold in
    /// the host at once. They need no grant and live outside its linear memory, so their
    /// number is what bounds them: together they hold at most as much again as the memory limit.
    pub fn host_resources(&self) -> usize {
        (self.memory_bytes / HOST_RESOURCE_BYTES).clamp(256, 1 << 14)
    }
}

/// `[defaults.limits]` and `[plugins.NAME.limits]` as written.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    memory_mib: Option<Spanned<u64>>,
    timeout_ms: Option<Spanned<u64>>,
    host_calls: Option<Spanned<u32>>,
    destructive_operations: Option<Spanned<u32>>,
    output_kib: Option<Spanned<u64>>,
    arguments_kib: Option<Spanned<u64>>,
    kv_keys: Option<Spanned<u64>>,
    kv_mib: Option<Spanned<u64>>,
    notifications_per_hour: Option<Spanned<u32>>,
    tickets_per_hour: Option<Spanned<u32>>,
    comments_per_hour: Option<Spanned<u32>>,
}

impl Limits {
    /// `base` with the limits `raw` sets, each checked against its range (`key` locates them).
    pub fn from_toml(base: Limits, raw: &RawLimits, key: &str, report: &mut Reporter) -> Limits {
        let mut limits = base;
        let mut within = |value: &Option<Spanned<u64>>, range, field: &str| {
            value
                .as_ref()
                .and_then(|value| report.in_range(value, range, format!("{key}.{field}")))
        };
        if let Some(mib) = within(&raw.memory_mib, 1..=(MAX_MEMORY_BYTES >> 20) as u64, "memory_mib") {
            limits.memory_bytes = (mib as usize) << 20;
        }
        if let Some(ms) = within(&raw.timeout_ms, 1..=MAX_TIMEOUT.as_millis() as u64, "timeout_ms") {
            limits.timeout = Duration::from_millis(ms);
        }
        if let Some(kib) = within(&raw.output_kib, 1..=64 * 1024, "output_kib") {
            limits.output_bytes = kib as usize * 1024;
        }
        if let Some(kib) = within(&raw.arguments_kib, 1..=1 << 20, "arguments_kib") {
            limits.argument_bytes = kib as usize * 1024;
        }
        if let Some(keys) = within(&raw.kv_keys, 1..=10_000_000, "kv_keys") {
            limits.kv.keys = keys;
        }
        if let Some(mib) = within(&raw.kv_mib, 1..=64 * 1024, "kv_mib") {
            limits.kv.bytes = mib << 20;
        }
        if let Some(calls) = raw.host_calls.clone() {
            limits.host_calls = calls.into_inner();
        }
        if let Some(count) = raw.destructive_operations.clone() {
            limits.destructive_operations = count.into_inner();
        }
        // Zero is allowed: the admin forbids the kind without taking the grant away.
        let rates = [
            (
                &raw.notifications_per_hour,
                "notifications_per_hour",
                &mut limits.per_hour.notifications,
            ),
            (
                &raw.tickets_per_hour,
                "tickets_per_hour",
                &mut limits.per_hour.tickets,
            ),
            (
                &raw.comments_per_hour,
                "comments_per_hour",
                &mut limits.per_hour.comments,
            ),
        ];
        for (value, field, limit) in rates {
            if let Some(value) = value
                .as_ref()
                .and_then(|v| report.in_range(v, 0..=1_000_000, format!("{key}.{field}")))
            {
                *limit = value;
            }
        }
        limits
    }
}

/// The most a config may set, so that a typo cannot disable a limit.
pub const MAX_MEMORY_BYTES: usize = 4 << 30;
pub use palisade_core::MAX_TIMEOUT;

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
