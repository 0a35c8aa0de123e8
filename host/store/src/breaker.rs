//! The circuit breaker: at most N destructive operations per plugin and in all per window.
//! Past the limit it trips, and further destructive operations are held until an admin
//! resets it. Its state is in the database, so it holds across processes and restarts.
//!
//! Counting is done by the store's writer thread, in the transaction it commits the audit in:
//! an alert's thread asks and awaits the answer instead of holding the database while it
//! counts. On two cores, a thread that held the shared connection and was preempted used to
//! stall every other alert for a scheduler time slice (milliseconds).

use super::writer::{Count, Writer, counted};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Breaker {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
    leases: Arc<Leases>,
}

/// The breaker could not count: the caller holds the operation (fail closed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BreakerError(pub(super) String);

/// The limits a check applies.
#[derive(Debug, Clone, Copy)]
pub struct BreakerLimits {
    pub window: Duration,
    pub per_plugin: Option<u32>,
    pub global: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerCheck {
    /// Counted; go ahead.
    Allowed,
    /// Hold it. `tripped_now` is true for the operation that tripped the breaker.
    Tripped { reason: String, tripped_now: bool },
}

#[derive(Debug, Clone, Serialize)]
pub struct Trip {
    /// `global` or `plugin:NAME`.
    pub scope: String,
    pub tripped_at: i64,
    pub reason: String,
}

impl Breaker {
    pub(super) fn new(
        connection: Arc<Mutex<Connection>>,
        writer: Arc<Writer>,
        leases: Arc<Leases>,
    ) -> Breaker {
        Breaker {
            connection,
            writer,
            leases,
        }
    }

    /// Counts one destructive operation of `plugin`, or says why it must be held.
    ///
    /// Most calls take an execution this process counted ahead (a lease) and write nothing;
    /// the others count a few at once in one transaction. The limit holds either way: what is
    /// leased is counted. What a lease leaves unused goes back after [`LEASE_FOR`], or when a
    /// limit is reached in this process, so the breaker trips early only when another process
    /// holds a lease.
    pub async fn admit(&self, plugin: &str, limits: BreakerLimits) -> Result<BreakerCheck, BreakerError> {
        let returned = match self.leases.take(plugin) {
            Taken::Leased => return Ok(BreakerCheck::Allowed),
            Taken::Ask(returned) => returned,
        };
        let (want, lease) = self.leases.want(plugin);
        let plugin_name = plugin.to_owned();
        let leases = self.leases.clone();
        let ask = Count::ask(move |transaction| {
            settle_in(transaction, &returned, &leases.holder)?;
            admit_in(transaction, &plugin_name, limits, (want, lease), &leases)
        });
        match counted(&self.writer, ask).await.map_err(BreakerError)? {
            Admitted::Counted { minute, slots, lease } => {
                // One is this operation; the rest wait for the next ones.
                self.leases.keep(plugin, lease, minute, slots - 1);
                Ok(BreakerCheck::Allowed)
            }
            Admitted::Held(check) => Ok(check),
        }
    }

    /// Hands back what this process leased and has not used, so the counts are exact.
    pub async fn settle(&self) -> Result<(), BreakerError> {
        let returned = self.leases.drain();
        if returned.is_empty() {
            return Ok(());
        }
        let holder = self.leases.holder.clone();
        let ask = Count::ask(move |transaction| settle_in(transaction, &returned, &holder));
        counted(&self.writer, ask).await.map_err(BreakerError)
    }

    pub fn status(&self) -> Result<Vec<Trip>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        let mut statement =
            connection.prepare("SELECT scope, tripped_at, reason FROM breaker ORDER BY scope")?;
        let rows = statement.query_map([], |row| {
            Ok(Trip {
                scope: row.get(0)?,
                tripped_at: row.get(1)?,
                reason: row.get(2)?,
            })
        })?;
        rows.collect()
    }

    /// The destructive operations counted per plugin inside `window`, leases not yet handed
    /// back included (they are exact once every process has settled).
    pub fn counts(&self, window: Duration) -> Result<BTreeMap<String, u32>, rusqlite::Error> {
        self.writer.flush();
        let since = super::now() / 60 - (window.as_secs() / 60).max(1) as i64;
        let connection = super::lock(&self.connection);
        let mut statement = connection
            .prepare("SELECT plugin, SUM(count) FROM destructive_counts WHERE minute > ?1 GROUP BY plugin")?;
        let rows = statement.query_map(params![since], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect()
    }

    /// Resets the breaker (one plugin's, or all) and forgets the counted operations, so
    /// automation starts afresh. Returns the trips cleared.
    ///
    /// Executions leased and not yet handed back stay counted: a process may still use them,
    /// and forgetting them would let it act past the limit.
    pub fn reset(&self, plugin: Option<&str>) -> Result<usize, rusqlite::Error> {
        self.writer.flush();
        let mut connection = super::lock(&self.connection);
        let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // This process's own unused leases go back first; other processes' stay counted.
        settle_in(&transaction, &self.leases.drain(), &self.leases.holder)?;
        self.leases.lock().tripped = false;
        let since = super::now() - LEASE_ROWS_KEPT_SECONDS;
        transaction.execute("DELETE FROM breaker_leases WHERE at < ?1", params![since])?;
        let cleared = match plugin {
            Some(plugin) => {
                transaction.execute(
                    "DELETE FROM destructive_counts WHERE plugin = ?1",
                    params![plugin],
                )?;
                transaction.execute(
                    "INSERT INTO destructive_counts (plugin, minute, count)
                     SELECT plugin, minute, SUM(slots) FROM breaker_leases WHERE plugin = ?1
                     GROUP BY plugin, minute",
                    params![plugin],
                )?;
                transaction.execute(
                    "DELETE FROM breaker WHERE scope = ?1",
                    params![format!("plugin:{plugin}")],
                )?
            }
            None => {
                transaction.execute("DELETE FROM destructive_counts", [])?;
                transaction.execute(
                    "INSERT INTO destructive_counts (plugin, minute, count)
                     SELECT plugin, minute, SUM(slots) FROM breaker_leases GROUP BY plugin, minute",
                    [],
                )?;
                transaction.execute("DELETE FROM breaker", [])?
            }
        };
        transaction.commit()?;
        Ok(cleared)
    }
}

/// How long a process may use executions it leased; what is left after goes back.
const LEASE_FOR: Duration = Duration::from_secs(1);
/// How many executions one lease counts at most.
const LEASE_MAX: u32 = 64;
/// A lease takes at most this share of what is left under the tightest limit, so processes
/// sharing the store each find some.
const LEASE_SHARE: u32 = 4;
/// A lease's row outlives its use by far: a row this old belongs to a process that died
/// before settling it, and stops counting at the next reset.
const LEASE_ROWS_KEPT_SECONDS: i64 = 60;

/// The executions this process counted ahead and has not used, per plugin, shared by every
/// handle on one [`Store`](crate::Store). Dropping the last handle hands back what is left.
///
/// Each lease has a row in `breaker_leases` while it may be used, so that a reset (which
/// forgets the counts) keeps it counted; using an execution writes nothing, and the row goes
/// when the lease is used up or handed back, with the next count.
pub(super) struct Leases {
    /// Names this process's rows in `breaker_leases`.
    holder: String,
    state: Mutex<LeaseState>,
    writer: Arc<Writer>,
}

#[derive(Default)]
struct LeaseState {
    by_plugin: HashMap<String, Plugin>,
    /// Leases to settle with the next count: used up, or handed back with what they left.
    settled: Vec<Settled>,
    /// This process saw the breaker tripped: leases are not used until a count succeeds
    /// again, so everything is held as the trip says.
    tripped: bool,
    next_id: i64,
}

#[derive(Default)]
struct Plugin {
    /// Oldest first.
    leases: std::collections::VecDeque<Lease>,
    /// How many the next lease asks for: doubles while leases run out within their time,
    /// back to one when one goes back unused.
    next: u32,
}

struct Lease {
    id: i64,
    /// The minute the executions were counted in.
    minute: i64,
    left: u32,
    at: Instant,
}

/// A lease done with, and the executions it hands back to the count of its minute.
struct Settled {
    id: i64,
    plugin: String,
    minute: i64,
    unused: u32,
}

/// What [`Leases::take`] found.
enum Taken {
    Leased,
    /// None left: ask the store, settling these first.
    Ask(Vec<Settled>),
}

/// What counting in the store gave.
enum Admitted {
    /// `slots` executions counted in `minute`, this operation's included; the others are
    /// lease `lease`.
    Counted {
        minute: i64,
        slots: u32,
        lease: i64,
    },
    Held(BreakerCheck),
}

impl Leases {
    pub(super) fn new(writer: Arc<Writer>) -> Leases {
        static HOLDERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let holder = format!(
            "{}-{nanos}-{}",
            std::process::id(),
            HOLDERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Leases {
            holder,
            state: Mutex::default(),
            writer,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One leased execution of `plugin`, or the leases to settle before asking the store.
    fn take(&self, plugin: &str) -> Taken {
        let mut state = self.lock();
        let LeaseState {
            by_plugin,
            settled,
            tripped,
            ..
        } = &mut *state;
        // Past their time, leases go back, whatever plugin they are for.
        for (name, leases) in by_plugin.iter_mut() {
            while leases
                .leases
                .front()
                .is_some_and(|lease| lease.at.elapsed() >= LEASE_FOR)
            {
                let Some(lease) = leases.leases.pop_front() else {
                    break;
                };
                if lease.left > 0 {
                    // Went back unused: the load it was sized for has passed.
                    leases.next = 1;
                }
                settled.push(Settled {
                    id: lease.id,
                    plugin: name.clone(),
                    minute: lease.minute,
                    unused: lease.left,
                });
            }
        }
        if !*tripped
            && let Some(leases) = by_plugin.get_mut(plugin)
            && let Some(lease) = leases.leases.front_mut()
        {
            lease.left -= 1;
            if lease.left == 0 {
                let lease = leases.leases.pop_front().expect("the lease just used");
                settled.push(Settled {
                    id: lease.id,
                    plugin: plugin.to_owned(),
                    minute: lease.minute,
                    unused: 0,
                });
            }
            return Taken::Leased;
        }
        Taken::Ask(std::mem::take(settled))
    }

    /// How many executions to count for `plugin`, and the id of the lease they make.
    fn want(&self, plugin: &str) -> (u32, i64) {
        let mut state = self.lock();
        state.next_id += 1;
        let want = state.by_plugin.get(plugin).map_or(1, |leases| leases.next.max(1));
        (want, state.next_id)
    }

    /// Keeps lease `id`, `left` executions counted in `minute`, for the next operations of
    /// `plugin`.
    fn keep(&self, plugin: &str, id: i64, minute: i64, left: u32) {
        let mut state = self.lock();
        let leases = state.by_plugin.entry(plugin.to_owned()).or_default();
        // Ran out within its time: the next lease asks for more.
        leases.next = (leases.next.max(1) * 2).min(LEASE_MAX);
        if left > 0 {
            leases.leases.push_back(Lease {
                id,
                minute,
                left,
                at: Instant::now(),
            });
        }
    }

    /// Every lease, to be settled.
    fn drain(&self) -> Vec<Settled> {
        let mut state = self.lock();
        let LeaseState {
            by_plugin, settled, ..
        } = &mut *state;
        let mut all = std::mem::take(settled);
        for (plugin, leases) in by_plugin.drain() {
            all.extend(leases.leases.into_iter().map(|lease| Settled {
                id: lease.id,
                plugin: plugin.clone(),
                minute: lease.minute,
                unused: lease.left,
            }));
        }
        all
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        let settled = self.drain();
        if settled.is_empty() {
            return;
        }
        let holder = std::mem::take(&mut self.holder);
        // Written with the writer's last batch; nobody is left to wait for the answer.
        let (message, _answer) = Count::ask(move |transaction| settle_in(transaction, &settled, &holder));
        self.writer.send_now(message);
    }
}

/// Settles leases: what they left unused comes off the counts (never below zero: a reset may
/// have cleared them), and their rows go.
fn settle_in(
    transaction: &Transaction<'_>,
    settled: &[Settled],
    holder: &str,
) -> Result<(), rusqlite::Error> {
    for lease in settled {
        if lease.unused > 0 {
            transaction
                .prepare_cached(
                    "UPDATE destructive_counts SET count = MAX(count - ?3, 0) WHERE plugin = ?1 AND minute = ?2",
                )?
                .execute(params![lease.plugin, lease.minute, lease.unused])?;
        }
        transaction
            .prepare_cached("DELETE FROM breaker_leases WHERE holder = ?1 AND lease = ?2")?
            .execute(params![holder, lease.id])?;
    }
    Ok(())
}

/// Counts destructive operations of `plugin` inside `transaction`, which the caller commits:
/// `want` of them when the limits leave room (one at least), else says why to hold. The
/// transaction must hold the write lock from its start (`IMMEDIATE`) so that no other
/// process counts between the read and the write.
fn admit_in(
    transaction: &Transaction<'_>,
    plugin: &str,
    limits: BreakerLimits,
    (want, lease): (u32, i64),
    leases: &Leases,
) -> Result<Admitted, rusqlite::Error> {
    let plugin_scope = format!("plugin:{plugin}");
    let tripped: Option<String> = transaction
        .prepare_cached(
            "SELECT reason FROM breaker WHERE scope IN ('global', ?1) ORDER BY scope = 'global' DESC LIMIT 1",
        )?
        .query_row(params![plugin_scope], |row| row.get(0))
        .optional()?;
    if let Some(reason) = tripped {
        leases.lock().tripped = true;
        return Ok(Admitted::Held(BreakerCheck::Tripped {
            reason: format!("circuit breaker is tripped ({reason}); reset it with `palisade breaker reset`"),
            tripped_now: false,
        }));
    }
    let now = super::now();
    // Counts are kept per minute, so a check reads at most a window's worth of rows
    // whatever the volume.
    let minute = now / 60;
    let since = minute - (limits.window.as_secs() / 60).max(1) as i64;
    // Rows that left the window no longer count; deleting them keeps the tables small.
    transaction
        .prepare_cached("DELETE FROM destructive_counts WHERE minute <= ?1")?
        .execute(params![since])?;
    transaction
        .prepare_cached("DELETE FROM breaker_leases WHERE at < ?1")?
        .execute(params![now - LEASE_ROWS_KEPT_SECONDS])?;
    let (mut room, mut by_plugin) = room_in(transaction, plugin, since, limits)?;
    if room == Some(0) {
        // This process's own unused leases may fill the limit: they go back before the
        // breaker trips, so in one process it trips exactly at the limit.
        let returned = leases.drain();
        if !returned.is_empty() {
            settle_in(transaction, &returned, &leases.holder)?;
            (room, by_plugin) = room_in(transaction, plugin, since, limits)?;
        }
    }
    if room == Some(0) {
        let minutes = limits.window.as_secs() / 60;
        let (scope, reason) = match limits.per_plugin {
            Some(limit) if by_plugin >= limit => (
                plugin_scope,
                format!("plugin {plugin} reached {limit} destructive operations in {minutes} min"),
            ),
            _ => (
                "global".to_owned(),
                format!(
                    "{} destructive operations in {minutes} min across all plugins",
                    limits.global.unwrap_or_default()
                ),
            ),
        };
        transaction.execute(
            "INSERT OR IGNORE INTO breaker (scope, tripped_at, reason) VALUES (?1, ?2, ?3)",
            params![scope, now, reason],
        )?;
        leases.lock().tripped = true;
        return Ok(Admitted::Held(BreakerCheck::Tripped {
            reason: format!("circuit breaker tripped: {reason}"),
            tripped_now: true,
        }));
    }
    let slots = match room {
        Some(room) => want.min((room / LEASE_SHARE).max(1)),
        None => want,
    }
    .max(1);
    transaction
        .prepare_cached(
            "INSERT INTO destructive_counts (plugin, minute, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin, minute) DO UPDATE SET count = count + ?3",
        )?
        .execute(params![plugin, minute, slots])?;
    if slots > 1 {
        transaction
            .prepare_cached(
                "INSERT INTO breaker_leases (holder, lease, plugin, minute, slots, at)
                 VALUES (?1, ?2, ?3, ?4, ?5 - 1, ?6)",
            )?
            .execute(params![leases.holder, lease, plugin, minute, slots, now])?;
    }
    leases.lock().tripped = false;
    Ok(Admitted::Counted { minute, slots, lease })
}

/// The operations counted since `since`: `plugin`'s, and all plugins'.
fn counted_in(
    transaction: &Transaction<'_>,
    plugin: &str,
    since: i64,
) -> Result<(u32, u32), rusqlite::Error> {
    transaction
        .prepare_cached(
            "SELECT COALESCE(SUM(count) FILTER (WHERE plugin = ?2), 0), COALESCE(SUM(count), 0)
             FROM destructive_counts WHERE minute > ?1",
        )?
        .query_row(params![since, plugin], |row| Ok((row.get(0)?, row.get(1)?)))
}

/// How many more operations of `plugin` the tightest limit allows (`None` without limits),
/// and how many of its operations are counted.
fn room_in(
    transaction: &Transaction<'_>,
    plugin: &str,
    since: i64,
    limits: BreakerLimits,
) -> Result<(Option<u32>, u32), rusqlite::Error> {
    let (by_plugin, in_all) = counted_in(transaction, plugin, since)?;
    let plugin_room = limits.per_plugin.map(|limit| limit.saturating_sub(by_plugin));
    let global_room = limits.global.map(|limit| limit.saturating_sub(in_all));
    let room = match (plugin_room, global_room) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((room, by_plugin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    const LIMITS: BreakerLimits = BreakerLimits {
        window: Duration::from_secs(3600),
        per_plugin: Some(2),
        global: Some(10),
    };

    #[tokio::test]
    async fn the_breaker_trips_past_the_limit_and_stays_tripped_until_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let breaker = Store::open(&path).unwrap().breaker();
        assert_eq!(
            breaker.admit("spray", LIMITS).await.unwrap(),
            BreakerCheck::Allowed
        );
        assert_eq!(
            breaker.admit("spray", LIMITS).await.unwrap(),
            BreakerCheck::Allowed
        );
        assert!(matches!(
            breaker.admit("spray", LIMITS).await.unwrap(),
            BreakerCheck::Tripped {
                tripped_now: true,
                ..
            }
        ));
        assert_eq!(
            breaker.admit("other", LIMITS).await.unwrap(),
            BreakerCheck::Allowed,
            "another plugin is not held"
        );

        let reopened = Store::open(&path).unwrap().breaker();
        assert!(matches!(
            reopened.admit("spray", LIMITS).await.unwrap(),
            BreakerCheck::Tripped {
                tripped_now: false,
                ..
            }
        ));
        assert_eq!(reopened.status().unwrap().len(), 1);
        assert_eq!(reopened.reset(None).unwrap(), 1);
        assert_eq!(
            reopened.admit("spray", LIMITS).await.unwrap(),
            BreakerCheck::Allowed
        );
    }

    #[tokio::test]
    async fn the_global_limit_counts_every_plugin_and_holds_them_all() {
        let store = Store::in_memory().unwrap();
        let breaker = store.breaker();
        let limits = BreakerLimits {
            per_plugin: Some(2),
            global: Some(3),
            ..LIMITS
        };
        for plugin in ["spray", "phish", "malware"] {
            assert_eq!(
                breaker.admit(plugin, limits).await.unwrap(),
                BreakerCheck::Allowed,
                "{plugin} is under both limits"
            );
        }
        let BreakerCheck::Tripped { reason, tripped_now } = breaker.admit("beacon", limits).await.unwrap()
        else {
            panic!("a fourth operation in all must be held");
        };
        assert!(tripped_now);
        assert!(reason.contains("across all plugins"), "{reason}");
        assert!(matches!(
            breaker.admit("spray", limits).await.unwrap(),
            BreakerCheck::Tripped {
                tripped_now: false,
                ..
            }
        ));
        let scopes: Vec<String> = breaker
            .status()
            .unwrap()
            .into_iter()
            .map(|trip| trip.scope)
            .collect();
        assert_eq!(scopes, ["global"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_operations_are_counted_exactly_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        let limits = BreakerLimits {
            per_plugin: Some(5),
            ..LIMITS
        };
        // Twenty operations asked for at once land in the writer's batches together; the
        // counts within a batch must still see each other.
        let asks: Vec<_> = (0..20)
            .map(|_| {
                let breaker = store.breaker();
                tokio::spawn(async move { breaker.admit("spray", limits).await.unwrap() })
            })
            .collect();
        let mut allowed = 0;
        let mut tripped_now = 0;
        for ask in asks {
            match ask.await.unwrap() {
                BreakerCheck::Allowed => allowed += 1,
                BreakerCheck::Tripped {
                    tripped_now: true, ..
                } => tripped_now += 1,
                BreakerCheck::Tripped { .. } => {}
            }
        }
        assert_eq!((allowed, tripped_now), (5, 1));
    }

    /// Admits `n` operations of `plugin` one after the other; how many were allowed.
    async fn admit_n(breaker: &Breaker, plugin: &str, n: u32, limits: BreakerLimits) -> u32 {
        let mut allowed = 0;
        for _ in 0..n {
            if breaker.admit(plugin, limits).await.unwrap() == BreakerCheck::Allowed {
                allowed += 1;
            }
        }
        allowed
    }

    fn counted(breaker: &Breaker, plugin: &str) -> u32 {
        breaker
            .counts(LIMITS.window)
            .unwrap()
            .get(plugin)
            .copied()
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn leases_count_ahead_and_what_is_unused_goes_back_with_the_last_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let limits = BreakerLimits {
            per_plugin: None,
            global: None,
            ..LIMITS
        };
        let store = Store::open(&path).unwrap();
        assert_eq!(admit_n(&store.breaker(), "spray", 100, limits).await, 100);
        let ahead = counted(&store.breaker(), "spray");
        assert!(ahead > 100, "leases are counted before they are used ({ahead})");
        drop(store);
        let reopened = Store::open(&path).unwrap();
        assert_eq!(counted(&reopened.breaker(), "spray"), 100, "handed back on close");
    }

    #[tokio::test]
    async fn a_lease_past_its_time_goes_back_and_the_breaker_trips_at_the_limit_in_one_process() {
        let store = Store::in_memory().unwrap();
        let breaker = store.breaker();
        let limits = BreakerLimits {
            per_plugin: Some(40),
            global: Some(60),
            ..LIMITS
        };
        assert_eq!(admit_n(&breaker, "spray", 10, limits).await, 10);
        assert!(counted(&breaker, "spray") > 10);
        tokio::time::sleep(LEASE_FOR + Duration::from_millis(50)).await;
        // Any count hands back what is past its time.
        assert_eq!(admit_n(&breaker, "phish", 1, limits).await, 1);
        assert_eq!(counted(&breaker, "spray"), 10);
        // Leased or not, one process reaches each limit exactly: what it leased goes back
        // before the breaker trips.
        assert_eq!(admit_n(&breaker, "spray", 50, limits).await, 30);
        assert_eq!(
            admit_n(&breaker, "phish", 50, limits).await,
            19,
            "up to the global limit"
        );
        breaker.reset(None).unwrap();
        assert_eq!(admit_n(&breaker, "phish", 100, limits).await, 40);
        assert_eq!(admit_n(&breaker, "spray", 100, limits).await, 20);
    }

    #[tokio::test]
    async fn a_reset_keeps_counted_what_another_process_leased() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let limits = BreakerLimits {
            per_plugin: Some(40),
            global: None,
            ..LIMITS
        };
        let (service, admin) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
        assert_eq!(admit_n(&service.breaker(), "spray", 4, limits).await, 4);
        let leased = counted(&admin.breaker(), "spray") - 4;
        assert!(leased > 0, "the service holds executions it has not used");
        admin.breaker().reset(None).unwrap();
        // After the reset both processes act; together they stay within the limit, the
        // service's lease included.
        let by_admin = admit_n(&admin.breaker(), "spray", 100, limits).await;
        let by_service = admit_n(&service.breaker(), "spray", 100, limits).await;
        assert!(by_admin + by_service <= 40, "{by_admin} + {by_service}");
        assert!(by_admin + by_service >= 40 - leased, "{by_admin} + {by_service}");
    }
}
