//! Warnings that repeat. The first of a kind is logged; its repeats are counted, and the
//! count is logged with the first repeat a minute later, and so on. A rate limit reached
//! refuses every alert after it: ten thousand identical lines would bury the one that says
//! why, and cost a write each. Every refusal is still audited and in its alert's report.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a kind of warning that keeps repeating is logged again.
const EVERY: Duration = Duration::from_secs(60);
/// The most kinds tracked at once. Reasons can hold a plugin's strings, so the kinds are not
/// bounded by the host; past this, the ones not logged for a minute are dropped, and a kind
/// that finds no room is logged every time rather than lost.
const MOST_KINDS: usize = 1024;

#[derive(Default)]
pub struct Repeats {
    /// By a hash of the kind, so a long reason costs no memory here. The hash's keys are drawn
    /// at random for each process, so a plugin cannot choose a reason that passes for another
    /// and silences its line.
    kinds: Mutex<HashMap<u64, Seen>>,
    hasher: RandomState,
}

struct Seen {
    logged_at: Instant,
    /// Repeats since then, not logged.
    since: u64,
}

impl Repeats {
    /// Whether to log this warning of `kind` now: `Some` with how many like it were not
    /// logged since the last, `None` to count it only.
    pub fn log_now(&self, kind: impl Hash) -> Option<u64> {
        self.log_now_at(kind, Instant::now())
    }

    fn log_now_at(&self, kind: impl Hash, now: Instant) -> Option<u64> {
        let kind = self.hasher.hash_one(kind);
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
            kinds.retain(|_, seen| now.saturating_duration_since(seen.logged_at) < EVERY);
        }
        if kinds.len() < MOST_KINDS {
            kinds.insert(
                kind,
                Seen {
                    logged_at: now,
                    since: 0,
                },
            );
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_warning_is_logged_once_a_minute_with_the_count_of_those_not_logged() {
        let repeats = Repeats::default();
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        assert_eq!(repeats.log_now_at("limit", at(0)), Some(0));
        assert_eq!(repeats.log_now_at("limit", at(1)), None);
        assert_eq!(repeats.log_now_at("limit", at(59)), None);
        assert_eq!(repeats.log_now_at("other", at(59)), Some(0), "kinds apart");
        assert_eq!(repeats.log_now_at("limit", at(60)), Some(2));
        assert_eq!(repeats.log_now_at("limit", at(61)), None);
        assert_eq!(repeats.log_now_at("limit", at(200)), Some(1));
    }

    #[test]
    fn kinds_past_the_most_tracked_are_logged_every_time_not_dropped() {
        let repeats = Repeats::default();
        let now = Instant::now();
        for kind in 0..MOST_KINDS {
            assert_eq!(repeats.log_now_at(kind.to_string(), now), Some(0));
        }
        for _ in 0..3 {
            assert_eq!(repeats.log_now_at("one too many", now), Some(0));
        }
        assert_eq!(
            repeats.log_now_at("7", now),
            None,
            "a tracked kind is still counted"
        );
        // A minute on, the stale kinds make room again.
        let later = now + EVERY;
        assert_eq!(repeats.log_now_at("one too many", later), Some(0));
        assert_eq!(repeats.log_now_at("one too many", later), None);
    }
}
