//! Refusals that repeat. The first of a kind (operation and reason) is logged; its repeats are
//! counted, and the count is logged with the first repeat a minute later, and so on, and at
//! the latest when the kind is forgotten or the run ends. A rate limit reached refuses every
//! alert after it: ten thousand identical lines would bury the one that says why, and cost a
//! write each. Every refusal is still audited and in its alert's report.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use palisade_core::capability::Operation;

/// How often a kind of refusal that keeps repeating is logged again.
const EVERY: Duration = Duration::from_secs(60);
/// The most kinds tracked at once. Reasons can hold a plugin's strings, so the kinds are not
/// bounded by the host; past this, the ones not logged for a minute are dropped (their
/// counts logged first), and a kind that finds no room is logged every time rather than lost.
const MOST_KINDS: usize = 1024;
/// How much of a reason is kept to name its kind in the count logged at the end.
const REASON_KEPT: usize = 256;

pub struct Repeats {
    plugin: Box<str>,
    /// By a hash of the kind. The hash's keys are drawn at random for each process, so a
    /// plugin cannot choose a reason that passes for another and silences its line.
    kinds: Mutex<HashMap<u64, Seen>>,
    hasher: RandomState,
}

struct Seen {
    logged_at: Instant,
    /// Repeats since then, not logged.
    since: u64,
    operation: Operation,
    /// The reason's start, to say which kind a count left at the end belongs to.
    reason: Box<str>,
}

impl Seen {
    fn log_count(&self, plugin: &str) {
        if self.since > 0 {
            let (operation, reason) = (self.operation, &self.reason);
            tracing::warn!(plugin = %plugin, %operation, %reason, also_refused_since_last_logged = self.since, "refused");
        }
    }
}

impl Repeats {
    /// The refusals of the plugin `plugin`.
    pub fn new(plugin: &str) -> Repeats {
        Repeats {
            plugin: plugin.into(),
            kinds: Mutex::default(),
            hasher: RandomState::new(),
        }
    }

    /// Whether to log this refusal now: `Some` with how many like it were not logged since
    /// the last, `None` to count it only.
    pub fn log_now(&self, operation: Operation, reason: &str) -> Option<u64> {
        self.log_now_at(operation, reason, Instant::now())
    }

    fn log_now_at(&self, operation: Operation, reason: &str, now: Instant) -> Option<u64> {
        let kind = self.hasher.hash_one((operation, reason));
        let mut kinds = self.kinds.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(seen) = kinds.get_mut(&kind) {
            if now.saturating_duration_since(seen.logged_at) < EVERY {
                seen.since += 1;
                return None;
            }
            let since = std::mem::take(&mut seen.since);
            seen.logged_at = now;
            return Some(since);
        }
        if kinds.len() >= MOST_KINDS {
            kinds.retain(|_, seen| {
                let keep = now.saturating_duration_since(seen.logged_at) < EVERY;
                if !keep {
                    seen.log_count(&self.plugin);
                }
                keep
            });
        }
        if kinds.len() < MOST_KINDS {
            kinds.insert(
                kind,
                Seen {
                    logged_at: now,
                    since: 0,
                    operation,
                    reason: reason[..reason.floor_char_boundary(REASON_KEPT)].into(),
                },
            );
        }
        Some(0)
    }

    /// How many refusals were counted and not logged yet, over every kind.
    #[cfg(test)]
    fn pending(&self) -> u64 {
        let kinds = self.kinds.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kinds.values().map(|seen| seen.since).sum()
    }
}

/// The run is over: counts not logged yet are, so a run shorter than a minute still says how
/// many times each refusal repeated.
impl Drop for Repeats {
    fn drop(&mut self) {
        let kinds = self
            .kinds
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for seen in kinds.values() {
            seen.log_count(&self.plugin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::capability::ops;

    const LIMIT: Operation = ops::TICKET_CREATE;
    const OTHER: Operation = ops::NETWORK_BLOCK_IP;

    #[test]
    fn a_repeated_refusal_is_logged_once_a_minute_with_the_count_of_those_not_logged() {
        let repeats = Repeats::new("p");
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        assert_eq!(repeats.log_now_at(LIMIT, "limit", at(0)), Some(0));
        assert_eq!(repeats.log_now_at(LIMIT, "limit", at(1)), None);
        assert_eq!(repeats.log_now_at(LIMIT, "limit", at(59)), None);
        assert_eq!(
            repeats.log_now_at(OTHER, "limit", at(59)),
            Some(0),
            "operations apart"
        );
        assert_eq!(
            repeats.log_now_at(LIMIT, "other", at(59)),
            Some(0),
            "reasons apart"
        );
        assert_eq!(repeats.log_now_at(LIMIT, "limit", at(60)), Some(2));
        assert_eq!(repeats.log_now_at(LIMIT, "limit", at(61)), None);
        assert_eq!(repeats.pending(), 1, "left for the end of the run");
        assert_eq!(repeats.log_now_at(LIMIT, "limit", at(200)), Some(1));
        assert_eq!(repeats.pending(), 0);
    }

    #[test]
    fn kinds_past_the_most_tracked_are_logged_every_time_not_dropped() {
        let repeats = Repeats::new("p");
        let now = Instant::now();
        for kind in 0..MOST_KINDS {
            assert_eq!(repeats.log_now_at(LIMIT, &kind.to_string(), now), Some(0));
        }
        for _ in 0..3 {
            assert_eq!(repeats.log_now_at(LIMIT, "one too many", now), Some(0));
        }
        assert_eq!(
            repeats.log_now_at(LIMIT, "7", now),
            None,
            "a tracked kind is still counted"
        );
        // A minute on, the stale kinds make room again, and the count of the one they held
        // back is logged as they go.
        let later = now + EVERY;
        assert_eq!(repeats.log_now_at(LIMIT, "one too many", later), Some(0));
        assert_eq!(repeats.log_now_at(LIMIT, "one too many", later), None);
        assert_eq!(repeats.pending(), 1, "only the new kind's repeat is left");
    }

    #[test]
    fn a_long_reason_is_kept_only_in_part() {
        let repeats = Repeats::new("p");
        let reason = "é".repeat(REASON_KEPT);
        assert_eq!(repeats.log_now(LIMIT, &reason), Some(0));
        let kinds = repeats.kinds.lock().unwrap();
        let kept = &kinds.values().next().unwrap().reason;
        assert!(kept.len() <= REASON_KEPT && reason.starts_with(&**kept));
    }
}
