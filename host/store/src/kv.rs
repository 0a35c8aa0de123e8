//! Key-value state private to each plugin, kept across alerts and runs.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::sync::{Arc, Mutex};

/// Keys and values are bounded so that one plugin cannot fill the disk through `kv`.
pub const MAX_KEY_BYTES: usize = 512;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// What one plugin may keep in `kv`, so that no plugin fills the disk a little per alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KvQuota {
    pub keys: u64,
    pub bytes: u64,
}

impl Default for KvQuota {
    fn default() -> Self {
        KvQuota {
            keys: 10_000,
            bytes: 16 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("{0}")]
    Invalid(String),
    #[error("the value at {0:?} is not an integer")]
    NotAnInteger(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("state store: {0}")]
    Store(#[from] rusqlite::Error),
}

/// Refuses a write of `key` with `value_len` bytes that would take the plugin past `quota`.
/// Expired keys are dropped first: they hold nothing a plugin can read.
fn within_quota(
    tx: &Transaction<'_>,
    plugin: &str,
    key: &str,
    value_len: usize,
    quota: KvQuota,
) -> Result<(), KvError> {
    tx.execute(
        "DELETE FROM kv WHERE plugin = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2",
        params![plugin, super::now()],
    )?;
    let (keys, bytes): (u64, u64) = tx.query_row(
        "SELECT COUNT(*), COALESCE(SUM(length(CAST(key AS BLOB)) + length(value)), 0)
         FROM kv WHERE plugin = ?1 AND key != ?2",
        params![plugin, key],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let after = bytes + (key.len() + value_len) as u64;
    if keys + 1 > quota.keys {
        return Err(KvError::QuotaExceeded(format!(
            "kv quota reached: {keys} keys of {} (the admin may raise limits.kv_keys)",
            quota.keys
        )));
    }
    if after > quota.bytes {
        return Err(KvError::QuotaExceeded(format!(
            "kv quota reached: {after} bytes of {} (the admin may raise limits.kv_mib)",
            quota.bytes
        )));
    }
    Ok(())
}

/// A handle on the state database; cheap to clone. Every call names the plugin, and a
/// plugin's keys live in its own namespace, so no plugin can read another's state.
#[derive(Clone)]
pub struct KvStore {
    connection: Arc<Mutex<Connection>>,
}

impl KvStore {
    pub(super) fn new(connection: Arc<Mutex<Connection>>) -> KvStore {
        KvStore { connection }
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<KvStore, KvError> {
        Ok(super::Store::in_memory()?.kv())
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, KvError>) -> Result<T, KvError> {
        let connection = super::lock(&self.connection);
        f(&connection)
    }

    pub fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        self.with(|db| {
            Ok(db
                .prepare_cached(
                    "SELECT value FROM kv WHERE plugin = ?1 AND key = ?2
                     AND (expires_at IS NULL OR expires_at > ?3)",
                )?
                .query_row(params![plugin, key, super::now()], |row| row.get(0))
                .optional()?)
        })
    }

    pub fn set(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        ttl_seconds: Option<u32>,
        quota: KvQuota,
    ) -> Result<(), KvError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::Invalid(format!(
                "a value is at most {MAX_VALUE_BYTES} bytes"
            )));
        }
        self.with(|db| {
            // IMMEDIATE: the usage read and the write are one step, across processes too.
            let tx = Transaction::new_unchecked(db, TransactionBehavior::Immediate)?;
            within_quota(&tx, plugin, key, value.len(), quota)?;
            tx.execute(
                "INSERT INTO kv (plugin, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                params![plugin, key, value, expiry(ttl_seconds)],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    pub fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        check_key(key)?;
        self.with(|db| {
            db.execute(
                "DELETE FROM kv WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
            )?;
            Ok(())
        })
    }

    /// Adds `delta` to the integer at `key`, atomically; an expired or absent key counts as 0.
    pub fn increment(
        &self,
        plugin: &str,
        key: &str,
        delta: i64,
        ttl_seconds: Option<u32>,
        quota: KvQuota,
    ) -> Result<i64, KvError> {
        check_key(key)?;
        self.with(|db| {
            // IMMEDIATE: the write lock is taken before the read. A deferred transaction that
            // read and then wrote failed at once ("database is locked") whenever another
            // process had written in between, and its increment was lost.
            let tx = Transaction::new_unchecked(db, TransactionBehavior::Immediate)?;
            let current: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT value FROM kv WHERE plugin = ?1 AND key = ?2
                     AND (expires_at IS NULL OR expires_at > ?3)",
                    params![plugin, key, super::now()],
                    |row| row.get(0),
                )
                .optional()?;
            let current = match current {
                None => 0,
                Some(bytes) => std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| text.parse::<i64>().ok())
                    .ok_or_else(|| KvError::NotAnInteger(key.to_owned()))?,
            };
            let next = current.saturating_add(delta);
            within_quota(&tx, plugin, key, next.to_string().len(), quota)?;
            tx.execute(
                "INSERT INTO kv (plugin, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value,
                 expires_at = COALESCE(excluded.expires_at, kv.expires_at)",
                params![plugin, key, next.to_string().as_bytes(), expiry(ttl_seconds)],
            )?;
            tx.commit()?;
            Ok(next)
        })
    }
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(KvError::Invalid(format!("a key is 1 to {MAX_KEY_BYTES} bytes")));
    }
    Ok(())
}

fn expiry(ttl_seconds: Option<u32>) -> Option<i64> {
    ttl_seconds.map(|ttl| super::now() + i64::from(ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: KvQuota = KvQuota {
        keys: 10_000,
        bytes: 16 << 20,
    };

    #[test]
    fn values_round_trip_and_plugins_do_not_see_each_others_keys() {
        let kv = KvStore::in_memory().unwrap();
        kv.set("a", "k", b"one", None, Q).unwrap();
        assert_eq!(kv.get("a", "k").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(kv.get("b", "k").unwrap(), None);
        kv.delete("a", "k").unwrap();
        assert_eq!(kv.get("a", "k").unwrap(), None);
    }

    #[test]
    fn increments_count_and_refuse_non_integers() {
        let kv = KvStore::in_memory().unwrap();
        assert_eq!(kv.increment("a", "n", 2, None, Q).unwrap(), 2);
        assert_eq!(kv.increment("a", "n", 3, Some(60), Q).unwrap(), 5);
        kv.set("a", "s", b"text", None, Q).unwrap();
        assert!(matches!(
            kv.increment("a", "s", 1, None, Q),
            Err(KvError::NotAnInteger(_))
        ));
    }

    #[test]
    fn state_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        crate::Store::open(&path)
            .unwrap()
            .kv()
            .set("a", "k", b"v", None, Q)
            .unwrap();
        let reopened = crate::Store::open(&path).unwrap().kv();
        assert_eq!(reopened.get("a", "k").unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn increments_from_processes_sharing_the_file_are_all_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // A store each, as two `palisade` processes have: two connections to one file.
        let stores: Vec<_> = (0..2).map(|_| crate::Store::open(&path).unwrap()).collect();
        std::thread::scope(|scope| {
            for store in &stores {
                let kv = store.kv();
                scope.spawn(move || {
                    for _ in 0..200 {
                        kv.increment("spray", "attempts", 1, None, Q).unwrap();
                    }
                });
            }
        });
        assert_eq!(
            stores[0].kv().increment("spray", "attempts", 0, None, Q).unwrap(),
            400
        );
    }

    #[test]
    fn oversized_keys_and_values_are_refused() {
        let kv = KvStore::in_memory().unwrap();
        assert!(
            kv.set("a", &"k".repeat(MAX_KEY_BYTES + 1), b"v", None, Q)
                .is_err()
        );
        assert!(kv.set("a", "k", &vec![0; MAX_VALUE_BYTES + 1], None, Q).is_err());
        assert!(kv.get("a", "").is_err());
    }

    #[test]
    fn a_plugin_past_its_quota_is_refused_and_others_are_not() {
        let kv = KvStore::in_memory().unwrap();
        let small = KvQuota { keys: 3, bytes: 64 };
        for key in ["a", "b", "c"] {
            kv.set("greedy", key, b"0123456789", None, small).unwrap();
        }
        // A fourth key is refused; rewriting a held one is not a new key.
        let refused = kv.set("greedy", "d", b"x", None, small).unwrap_err();
        assert!(
            matches!(refused, KvError::QuotaExceeded(ref m) if m.contains("3 keys")),
            "{refused}"
        );
        kv.set("greedy", "a", b"short", None, small).unwrap();
        // Bytes count keys and values: 3 keys of 1 byte and values up to 64 in all.
        let big = kv.set("greedy", "b", &[b'x'; 60], None, small).unwrap_err();
        assert!(
            matches!(big, KvError::QuotaExceeded(ref m) if m.contains("bytes")),
            "{big}"
        );
        let counted = kv.increment("greedy", "n", 1, None, small).unwrap_err();
        assert!(matches!(counted, KvError::QuotaExceeded(_)), "{counted}");
        // Another plugin's state is its own.
        kv.set("other", "d", b"x", None, small).unwrap();
        // Deleting frees room.
        kv.delete("greedy", "c").unwrap();
        kv.set("greedy", "d", b"x", None, small).unwrap();
    }
}
