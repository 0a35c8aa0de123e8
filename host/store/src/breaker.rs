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
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub struct Breaker {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
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
    pub(super) fn new(connection: Arc<Mutex<Connection>>, writer: Arc<Writer>) -> Breaker {
        Breaker { connection, writer }
    }

    /// Counts one destructive operation of `plugin`, or says why it must be held.
    pub async fn admit(&self, plugin: &str, limits: BreakerLimits) -> Result<BreakerCheck, BreakerError> {
        let plugin = plugin.to_owned();
        let ask = Count::ask(move |transaction| admit_in(transaction, &plugin, limits));
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

    /// Resets the breaker (one plugin's, or all) and forgets the counted operations, so
    /// automation starts afresh. Returns the trips cleared.
    pub fn reset(&self, plugin: Option<&str>) -> Result<usize, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        let cleared = match plugin {
            Some(plugin) => {
                connection.execute(
                    "DELETE FROM destructive_counts WHERE plugin = ?1",
                    params![plugin],
                )?;
                connection.execute(
                    "DELETE FROM breaker WHERE scope = ?1",
                    params![format!("plugin:{plugin}")],
                )?
            }
            None => {
                connection.execute("DELETE FROM destructive_counts", [])?;
                connection.execute("DELETE FROM breaker", [])?
            }
        };
        Ok(cleared)
    }
}

/// Counts one destructive operation of `plugin` inside `transaction`, which the caller
/// commits; the transaction must hold the write lock from its start (`IMMEDIATE`) so that no
/// other process counts between the read and the write.
pub(super) fn admit_in(
    transaction: &Transaction<'_>,
    plugin: &str,
    limits: BreakerLimits,
) -> Result<BreakerCheck, rusqlite::Error> {
    let plugin_scope = format!("plugin:{plugin}");
    let tripped: Option<String> = transaction
        .prepare_cached(
            "SELECT reason FROM breaker WHERE scope IN ('global', ?1) ORDER BY scope = 'global' DESC LIMIT 1",
        )?
        .query_row(params![plugin_scope], |row| row.get(0))
        .optional()?;
    if let Some(reason) = tripped {
        return Ok(BreakerCheck::Tripped {
            reason: format!("circuit breaker is tripped ({reason}); reset it with `palisade breaker reset`"),
            tripped_now: false,
        });
    }
    let now = super::now();
    // Counts are kept per minute, so a check reads at most a window's worth of rows
    // whatever the volume.
    let minute = now / 60;
    let since = minute - (limits.window.as_secs() / 60).max(1) as i64;
    // Rows that left the window no longer count; deleting them keeps the table small.
    transaction
        .prepare_cached("DELETE FROM destructive_counts WHERE minute <= ?1")?
        .execute(params![since])?;
    let (by_plugin, in_all): (u32, u32) = transaction
        .prepare_cached(
            "SELECT COALESCE(SUM(count) FILTER (WHERE plugin = ?2), 0), COALESCE(SUM(count), 0)
             FROM destructive_counts WHERE minute > ?1",
        )?
        .query_row(params![since, plugin], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let minutes = limits.window.as_secs() / 60;
    let over = match (limits.per_plugin, limits.global) {
        (Some(limit), _) if by_plugin >= limit => Some((
            plugin_scope,
            format!("plugin {plugin} reached {limit} destructive operations in {minutes} min"),
        )),
        (_, Some(limit)) if in_all >= limit => Some((
            "global".to_owned(),
            format!("{limit} destructive operations in {minutes} min across all plugins"),
        )),
        _ => None,
    };
    if let Some((scope, reason)) = over {
        transaction.execute(
            "INSERT OR IGNORE INTO breaker (scope, tripped_at, reason) VALUES (?1, ?2, ?3)",
            params![scope, now, reason],
        )?;
        return Ok(BreakerCheck::Tripped {
            reason: format!("circuit breaker tripped: {reason}"),
            tripped_now: true,
        });
    }
    transaction
        .prepare_cached(
            "INSERT INTO destructive_counts (plugin, minute, count) VALUES (?1, ?2, 1)
             ON CONFLICT (plugin, minute) DO UPDATE SET count = count + 1",
        )?
        .execute(params![plugin, minute])?;
    Ok(BreakerCheck::Allowed)
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
}
