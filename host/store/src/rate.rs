//! Rate limits on what a plugin may do outside Palisade that is not destructive: notifications,
//! tickets and comments, each per plugin per hour. A flood of pages is no breach of the
//! sandbox, but it is harm: past the limit the excess is refused (and the caller audits it).
//!
//! Unlike the breaker nothing trips: a refused call does not stop the next hour's. The counts
//! are in the database, taken by the writer like the breaker's, so the limit holds across
//! alerts, runs and the processes sharing the file.

use super::writer::{Count, Writer, counted};
use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The kinds of call that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rated {
    Notification,
    Ticket,
    Comment,
}

impl Rated {
    pub fn as_str(self) -> &'static str {
        match self {
            Rated::Notification => "notifications",
            Rated::Ticket => "tickets",
            Rated::Comment => "comments",
        }
    }
}

/// Calls of each kind a plugin may make per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerHour {
    pub notifications: u32,
    pub tickets: u32,
    pub comments: u32,
}

impl Default for PerHour {
    /// A page every thirty seconds, a ticket every twelve, a comment every three, for every
    /// hour on end: more than one plugin's legitimate share on a busy day, far less than a flood.
    fn default() -> Self {
        PerHour {
            notifications: 120,
            tickets: 300,
            comments: 1200,
        }
    }
}

impl PerHour {
    pub fn of(&self, kind: Rated) -> u32 {
        match kind {
            Rated::Notification => self.notifications,
            Rated::Ticket => self.tickets,
            Rated::Comment => self.comments,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateCheck {
    /// Counted; go ahead.
    Allowed,
    /// Over the limit; nothing was counted.
    Exceeded { limit: u32 },
}

/// The count could not be taken: the caller refuses the call (fail closed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RateError(String);

#[derive(Clone)]
pub struct Rates {
    writer: Arc<Writer>,
    full: Arc<Full>,
}

/// The counts this process found at their limit, by plugin and kind: the minute and the
/// limit. Within a minute a count only grows (rows leave the hour at minute boundaries, and
/// nothing resets it), so a call over that limit in that minute is refused without asking
/// the store: a flood past the limit costs no commit per call.
#[derive(Default)]
pub(super) struct Full(Mutex<HashMap<(String, Rated), (i64, u32)>>);

impl Full {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Rated), (i64, u32)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Rates {
    pub(super) fn new(writer: Arc<Writer>, full: Arc<Full>) -> Rates {
        Rates { writer, full }
    }

    /// Counts one call of `kind` by `plugin`, or says it is over `per_hour`.
    pub async fn take(&self, plugin: &str, kind: Rated, per_hour: u32) -> Result<RateCheck, RateError> {
        let minute = super::now() / 60;
        let key = (plugin.to_owned(), kind);
        if let Some(&(at, limit)) = self.full.lock().get(&key)
            && at == minute
            && per_hour <= limit
        {
            return Ok(RateCheck::Exceeded { limit: per_hour });
        }
        let plugin = plugin.to_owned();
        let ask = Count::ask(move |transaction| take_in(transaction, &plugin, kind, per_hour));
        let check = counted(&self.writer, ask).await.map_err(RateError)?;
        if check != RateCheck::Allowed {
            self.full.lock().insert(key, (minute, per_hour));
        }
        Ok(check)
    }
}

/// Counts per minute, so a check reads at most sixty rows whatever the volume.
fn take_in(
    transaction: &Transaction<'_>,
    plugin: &str,
    kind: Rated,
    per_hour: u32,
) -> Result<RateCheck, rusqlite::Error> {
    let minute = super::now() / 60;
    let since = minute - 60;
    transaction
        .prepare_cached("DELETE FROM rate_counts WHERE plugin = ?1 AND kind = ?2 AND minute <= ?3")?
        .execute(params![plugin, kind.as_str(), since])?;
    let taken: u32 = transaction
        .prepare_cached(
            "SELECT COALESCE(SUM(count), 0) FROM rate_counts WHERE plugin = ?1 AND kind = ?2 AND minute > ?3",
        )?
        .query_row(params![plugin, kind.as_str(), since], |row| row.get(0))?;
    if taken >= per_hour {
        return Ok(RateCheck::Exceeded { limit: per_hour });
    }
    transaction
        .prepare_cached(
            "INSERT INTO rate_counts (plugin, kind, minute, count) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (plugin, kind, minute) DO UPDATE SET count = count + 1",
        )?
        .execute(params![plugin, kind.as_str(), minute])?;
    Ok(RateCheck::Allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[tokio::test]
    async fn calls_past_the_hourly_limit_are_refused_per_plugin_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let rates = Store::open(&path).unwrap().rates();
        for _ in 0..3 {
            assert_eq!(
                rates.take("pager", Rated::Notification, 3).await.unwrap(),
                RateCheck::Allowed
            );
        }
        assert_eq!(
            rates.take("pager", Rated::Notification, 3).await.unwrap(),
            RateCheck::Exceeded { limit: 3 }
        );
        assert_eq!(
            rates.take("pager", Rated::Comment, 3).await.unwrap(),
            RateCheck::Allowed,
            "each kind has its own count"
        );
        assert_eq!(
            rates.take("other", Rated::Notification, 3).await.unwrap(),
            RateCheck::Allowed,
            "each plugin has its own count"
        );
        drop(rates);
        let reopened = Store::open(&path).unwrap().rates();
        assert_eq!(
            reopened.take("pager", Rated::Notification, 3).await.unwrap(),
            RateCheck::Exceeded { limit: 3 },
            "the count outlives the process"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_are_counted_exactly() {
        let store = Store::in_memory().unwrap();
        let asks: Vec<_> = (0..20)
            .map(|_| {
                let rates = store.rates();
                tokio::spawn(async move { rates.take("pager", Rated::Ticket, 7).await.unwrap() })
            })
            .collect();
        let mut allowed = 0;
        for ask in asks {
            allowed += u32::from(ask.await.unwrap() == RateCheck::Allowed);
        }
        assert_eq!(allowed, 7);
    }

    #[tokio::test]
    async fn a_full_count_refuses_without_the_store_until_the_limit_is_raised() {
        let store = Store::in_memory().unwrap();
        let rates = store.rates();
        for _ in 0..2 {
            rates.take("pager", Rated::Ticket, 2).await.unwrap();
        }
        assert_eq!(
            rates.take("pager", Rated::Ticket, 2).await.unwrap(),
            RateCheck::Exceeded { limit: 2 }
        );
        // Every handle on the store knows the count is full.
        assert_eq!(
            store.rates().take("pager", Rated::Ticket, 1).await.unwrap(),
            RateCheck::Exceeded { limit: 1 },
            "a lower limit is full too"
        );
        assert_eq!(
            store.rates().take("pager", Rated::Ticket, 3).await.unwrap(),
            RateCheck::Allowed,
            "a raised limit asks the store again"
        );
        assert_eq!(
            store.rates().take("pager", Rated::Ticket, 3).await.unwrap(),
            RateCheck::Exceeded { limit: 3 }
        );
    }
}
