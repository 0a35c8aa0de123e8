//! Sign-in attempts, limited: after five failures for one user, or from one address, within
//! fifteen minutes, the next attempts are refused without checking the password, so guessing
//! goes at most twenty tries an hour per account and per address. Kept in memory: a restart
//! forgets it, and the audit keeps every attempt.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures allowed within the window before attempts are refused.
pub(crate) const LIMIT: usize = 5;
/// Seconds a failure counts for.
pub(crate) const WINDOW: i64 = 15 * 60;
/// Names and addresses remembered at most; past this, the ones with no recent failure go.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<Key, VecDeque<i64>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    /// An IPv4 address, or an IPv6 address's /64: one host is given a whole /64.
    Address(u128),
}

fn keys(user: &str, address: IpAddr) -> [Key; 2] {
    // A name is the attacker's to choose: its length is bounded so the map is.
    let user = user.chars().take(128).collect();
    let address = match address.to_canonical() {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) & !((1u128 << 64) - 1),
    };
    [Key::User(user), Key::Address(address)]
}

impl Throttle {
    /// Whether attempts for `user` or from `address` are refused at `now`.
    pub(crate) fn refused(&self, user: &str, address: IpAddr, now: i64) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys(user, address).iter().any(|key| {
            failures.get_mut(key).is_some_and(|times| {
                forget_old(times, now);
                times.len() >= LIMIT
            })
        })
    }

    pub(crate) fn failed(&self, user: &str, address: IpAddr, now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                forget_old(times, now);
                !times.is_empty()
            });
        }
        for key in keys(user, address) {
            let times = failures.entry(key).or_default();
            forget_old(times, now);
            // Never more than the limit: what is refused is refused, however often it is tried.
            if times.len() < LIMIT {
                times.push_back(now);
            }
        }
    }

    /// A user who signed in starts afresh; their address does not, so one good account does
    /// not reset the count of guesses at others.
    pub(crate) fn succeeded(&self, user: &str, address: IpAddr) {
        let [user, _] = keys(user, address);
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&user);
    }
}

fn forget_old(times: &mut VecDeque<i64>, now: i64) {
    while times.front().is_some_and(|at| now - at >= WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));

    #[test]
    fn five_failures_for_a_user_refuse_the_sixth_attempt_from_anywhere_for_fifteen_minutes() {
        let throttle = Throttle::default();
        for attempt in 0..LIMIT as i64 {
            assert!(!throttle.refused("alice", HOME, 1000 + attempt));
            throttle.failed("alice", HOME, 1000 + attempt);
        }
        assert!(throttle.refused("alice", HOME, 1005));
        assert!(throttle.refused("alice", AWAY, 1005));
        assert!(!throttle.refused("bob", AWAY, 1005));
        // The first failure leaves the window after fifteen minutes, and one attempt is free.
        assert!(throttle.refused("alice", AWAY, 1000 + WINDOW - 1));
        assert!(!throttle.refused("alice", AWAY, 1000 + WINDOW));
    }

    #[test]
    fn five_failures_from_an_address_refuse_every_user_from_there() {
        let throttle = Throttle::default();
        for (n, user) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            throttle.failed(user, HOME, 1000 + n as i64);
        }
        assert!(throttle.refused("alice", HOME, 1010));
        assert!(!throttle.refused("alice", AWAY, 1010));
    }

    #[test]
    fn an_ipv6_host_cannot_escape_by_changing_its_interface_id() {
        let throttle = Throttle::default();
        for n in 0..LIMIT as u16 {
            let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, n + 1));
            throttle.failed(&format!("user{n}"), address, 1000);
        }
        let other = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        assert!(throttle.refused("alice", other, 1001));
    }

    #[test]
    fn signing_in_clears_the_users_failures_but_not_the_addresss() {
        let throttle = Throttle::default();
        for n in 0..LIMIT as i64 {
            throttle.failed("alice", HOME, 1000 + n);
        }
        throttle.succeeded("alice", HOME);
        assert!(!throttle.refused("alice", AWAY, 1010));
        assert!(throttle.refused("alice", HOME, 1010));
    }
}
