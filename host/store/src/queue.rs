//! The durable alert queue of `palisade serve`: an alert is acknowledged only once it is
//! committed here, leaves only when its report is committed in the same transaction, and a
//! repeat (same id, or same content, within the dedup window) is recognised across restarts.
//!
//! Every step runs in the writer's transaction ([`counted`]), so it is answered only after its
//! commit and sees every step sent before it.

use super::reports::{ReportSummary, keep};
use super::writer::{Count, Writer, counted, counted_first};
use rusqlite::{OptionalExtension, Transaction, params};
use std::sync::Arc;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    source TEXT NOT NULL,
    document TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER
);
CREATE TABLE IF NOT EXISTS queue_seen (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue_seen_age ON queue_seen (first_seen);
";

/// Brings a queue made by an earlier build up to date: `accepted_ms` (the arrival to the
/// millisecond, for the time to respond) and `priority` (the score at intake, for the order the
/// queue is taken in) were added later; then the index the workers lease by, and the depth.
pub(super) fn migrate(connection: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    for (column, definition) in [
        ("accepted_ms", "accepted_ms INTEGER"),
        ("priority", "priority INTEGER NOT NULL DEFAULT 0"),
    ] {
        let has: bool = connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_xinfo('queue') WHERE name = ?1)",
            [column],
            |row| row.get(0),
        )?;
        // A second process doing the same at once gets "duplicate column": the column is there.
        if !has
            && let Err(error) =
                connection.execute_batch(&format!("ALTER TABLE queue ADD COLUMN {definition}"))
            && !error.to_string().contains("duplicate column")
        {
            return Err(error);
        }
    }
    // Only the alerts waiting: a lease takes the worst first, the oldest first among equals.
    // And only those in flight, by when their lease lapses. `queue_free` served the oldest-first
    // lease; nothing reads it now, and every write kept it up to date.
    connection.execute_batch(
        "CREATE INDEX IF NOT EXISTS queue_waiting ON queue (priority DESC, seq) WHERE lease_owner IS NULL;
         CREATE INDEX IF NOT EXISTS queue_leased ON queue (lease_until) WHERE lease_owner IS NOT NULL;
         DROP INDEX IF EXISTS queue_free;",
    )?;
    // Every offer checks the depth against the limit. `COUNT(*)` reads every page of the
    // table, documents included: about a millisecond at 5,000 alerts, in the writer that every
    // acknowledgement waits on. Triggers keep the count instead. Counted and created in one
    // transaction, so no row slips in between; and only when the count is not kept yet: the
    // count is that scan (about 20 ms at 50,000 queued), which would otherwise run at every
    // start.
    if super::has_table(connection, "queue_depth")? {
        return Ok(());
    }
    connection.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS queue_depth (
             only INTEGER PRIMARY KEY CHECK (only = 0),
             depth INTEGER NOT NULL
         );
         INSERT OR IGNORE INTO queue_depth (only, depth) SELECT 0, COUNT(*) FROM queue;
         CREATE TRIGGER IF NOT EXISTS queue_in AFTER INSERT ON queue
             BEGIN UPDATE queue_depth SET depth = depth + 1; END;
         CREATE TRIGGER IF NOT EXISTS queue_out AFTER DELETE ON queue
             BEGIN UPDATE queue_depth SET depth = depth - 1; END;
         COMMIT;",
    )
}

/// Alerts waiting or in progress.
const DEPTH: &str = "SELECT depth FROM queue_depth";

/// The lease, `?4` alerts at most: lapsed leases first, along the partial index that holds
/// only them (`queue_leased`); then, up to `?6`, the oldest waiting ones if accepted before
/// `?5`, read in `seq` order from the start of the table (it stops after `?6` waiting rows,
/// skipping only the few in flight); then the waiting worst first, along `queue_waiting`.
const LEASE: &str = "UPDATE queue SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1
     WHERE seq IN (
         SELECT seq FROM (SELECT seq FROM queue INDEXED BY queue_leased
                          WHERE lease_owner IS NOT NULL AND lease_until < ?3 ORDER BY seq LIMIT ?4)
         UNION ALL
         SELECT seq FROM (SELECT seq, accepted_at FROM queue NOT INDEXED WHERE lease_owner IS NULL
                          ORDER BY seq LIMIT ?6)
             WHERE accepted_at <= ?5
         UNION ALL
         SELECT seq FROM (SELECT seq FROM queue INDEXED BY queue_waiting WHERE lease_owner IS NULL
                          ORDER BY priority DESC, seq LIMIT ?4)
         LIMIT ?4)
     RETURNING seq, alert_id, source, document, attempts, accepted_ms, priority";

/// Now, in milliseconds since the Unix epoch.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// An alert offered to the queue: its id, what makes its content a repeat, the document.
#[derive(Debug, Clone)]
pub struct Offered {
    pub alert_id: String,
    /// Its priority score at intake (`alert::priority`): the queue is taken worst first.
    pub priority: u8,
    /// The content fingerprint: two alerts with the same one are the same event.
    pub fingerprint: String,
    /// The document as it arrived, parsed again by the worker that takes it.
    pub document: String,
}

/// What the queue did with an offered alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    Queued {
        alert_id: String,
    },
    /// A repeat of `of`, seen within the window: acknowledged, not queued again.
    Duplicate {
        alert_id: String,
        of: String,
    },
}

/// A queued alert taken by a worker.
#[derive(Debug, Clone)]
pub struct Leased {
    pub seq: i64,
    pub alert_id: String,
    pub source: String,
    pub document: String,
    /// How many times it has been taken, this one included.
    pub attempts: u32,
    /// How long it waited in the queue since it was accepted (none for an alert an earlier
    /// build queued): its time to respond counts from its arrival, not from this lease.
    pub waited: Option<std::time::Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is full ({depth} alerts waiting, limit {limit})")]
    Full { depth: usize, limit: usize },
    #[error("{0}")]
    Store(String),
}

#[derive(Clone)]
pub struct Queue {
    connection: Arc<std::sync::Mutex<rusqlite::Connection>>,
    writer: Arc<Writer>,
}

impl Queue {
    pub(super) fn new(connection: Arc<std::sync::Mutex<rusqlite::Connection>>, writer: Arc<Writer>) -> Queue {
        Queue { connection, writer }
    }

    /// Commits every alert of `offered` that is no repeat, or none of them when they would take
    /// the queue over `limit`: a sender retries the whole request, so none of it may be half
    /// taken. A repeat is one whose id or fingerprint `source` sent within `window_seconds`.
    pub async fn enqueue(
        &self,
        source: &str,
        offered: Vec<Offered>,
        limit: usize,
        window_seconds: i64,
    ) -> Result<Vec<Admitted>, QueueError> {
        let source = source.to_owned();
        let ask = Count::ask(move |transaction: &Transaction<'_>| {
            let depth: i64 = transaction
                .prepare_cached(DEPTH)?
                .query_row([], |row| row.get(0))?;
            let depth = depth as usize;
            if depth + offered.len() > limit {
                return Ok(Err(QueueError::Full { depth, limit }));
            }
            let now = super::now();
            let since = now - window_seconds;
            let mut admitted = Vec::with_capacity(offered.len());
            for alert in offered {
                let id_key = format!("id:{}", alert.alert_id);
                let content_key = format!("fp:{}", alert.fingerprint);
                let seen: Option<String> = transaction
                    .prepare_cached(
                        "SELECT alert_id FROM queue_seen WHERE source = ?1 AND key IN (?2, ?3) AND first_seen >= ?4 LIMIT 1",
                    )?
                    .query_row(params![source, id_key, content_key, since], |row| row.get(0))
                    .optional()?;
                if let Some(of) = seen {
                    admitted.push(Admitted::Duplicate {
                        alert_id: alert.alert_id,
                        of,
                    });
                    continue;
                }
                for key in [&id_key, &content_key] {
                    transaction
                        .prepare_cached(
                            "INSERT OR REPLACE INTO queue_seen (source, key, alert_id, first_seen) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![source, key, alert.alert_id, now])?;
                }
                transaction
                    .prepare_cached(
                        "INSERT INTO queue (alert_id, source, document, accepted_at, accepted_ms, priority)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        alert.alert_id,
                        source,
                        alert.document,
                        now,
                        unix_ms(),
                        alert.priority
                    ])?;
                admitted.push(Admitted::Queued {
                    alert_id: alert.alert_id,
                });
            }
            Ok(Ok(admitted))
        });
        // The sender waits on this answer: it goes before the workers' records.
        counted_first(&self.writer, ask)
            .await
            .map_err(QueueError::Store)?
    }

    /// Takes up to `count` alerts for `owner`, each for `lease_seconds`: first any whose lease
    /// ran out (its worker died), oldest first; then the waiting ones worst first (their
    /// priority at intake), oldest first among equals. So under a backlog the worst rises
    /// first across the whole queue, not only within what a worker has taken.
    ///
    /// An alert that has waited `oldest_first_after` seconds or more is taken oldest first,
    /// with up to half of the lease (rounded up): a flood of worse alerts (an attacker's, say)
    /// slows the others but cannot hold them back for ever, and the worst still get the other
    /// half.
    pub async fn lease(
        &self,
        owner: &str,
        count: usize,
        lease_seconds: i64,
        oldest_first_after: i64,
    ) -> Result<Vec<Leased>, String> {
        let owner = owner.to_owned();
        let ask = Count::ask(move |transaction: &Transaction<'_>| {
            let now = super::now();
            let taken_ms = unix_ms();
            let mut statement = transaction.prepare_cached(LEASE)?;
            let parameters = params![
                owner,
                now + lease_seconds,
                now,
                count as i64,
                now - oldest_first_after,
                count.div_ceil(2) as i64
            ];
            let rows = statement.query_map(parameters, |row| {
                let leased = Leased {
                    seq: row.get(0)?,
                    alert_id: row.get(1)?,
                    source: row.get(2)?,
                    document: row.get(3)?,
                    attempts: row.get(4)?,
                    waited: row.get::<_, Option<i64>>(5)?.map(|accepted| {
                        std::time::Duration::from_millis(taken_ms.saturating_sub(accepted).max(0) as u64)
                    }),
                };
                Ok((row.get::<_, i64>(6)?, leased))
            })?;
            let mut leased = rows.collect::<Result<Vec<_>, _>>()?;
            leased.sort_by_key(|(priority, alert)| (std::cmp::Reverse(*priority), alert.seq));
            Ok(leased.into_iter().map(|(_, alert)| alert).collect())
        });
        counted(&self.writer, ask).await
    }

    /// Removes a leased alert and keeps its report and summary, in one transaction: false when
    /// `owner` no longer holds the lease (then another worker has it, and nothing is kept). The
    /// summary's alert id and source are the queue entry's, and its `finished_at` is now.
    pub async fn complete(
        &self,
        seq: i64,
        owner: &str,
        summary: ReportSummary,
        report: String,
    ) -> Result<bool, String> {
        let owner = owner.to_owned();
        let ask = Count::ask(move |transaction: &Transaction<'_>| {
            let taken: Option<(String, String, String)> = transaction
                .prepare_cached(
                    "DELETE FROM queue WHERE seq = ?1 AND lease_owner = ?2 RETURNING alert_id, source, document",
                )?
                .query_row(params![seq, owner], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?;
            let Some((alert_id, source, document)) = taken else {
                return Ok(false);
            };
            let summary = ReportSummary {
                alert_id,
                source,
                finished_at: super::now(),
                ..summary
            };
            keep(transaction, &summary, &report, &document)?;
            Ok(true)
        });
        counted(&self.writer, ask).await
    }

    /// Frees every lease: called at start, when no other process serves this store (the
    /// caller holds its lock), so the alerts a killed process held are taken again at once.
    pub async fn release_all(&self) -> Result<usize, String> {
        let ask = Count::ask(|transaction: &Transaction<'_>| {
            transaction.execute(
                "UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL",
                [],
            )
        });
        counted(&self.writer, ask).await
    }

    /// Forgets what was seen before the window, so the dedup table stays its size.
    pub async fn forget_before(&self, window_seconds: i64) -> Result<usize, String> {
        let ask = Count::ask(move |transaction: &Transaction<'_>| {
            transaction.execute(
                "DELETE FROM queue_seen WHERE first_seen < ?1",
                params![super::now() - window_seconds],
            )
        });
        counted(&self.writer, ask).await
    }

    /// Alerts waiting or in progress, and the age in seconds of the oldest.
    pub fn depth(&self) -> Result<(usize, Option<i64>), rusqlite::Error> {
        let connection = super::lock(&self.connection);
        let depth: i64 = connection.query_row(DEPTH, [], |row| row.get(0))?;
        // The first queued is the oldest: `seq` grows with every offer.
        let oldest: Option<i64> = connection
            .query_row("SELECT accepted_at FROM queue ORDER BY seq LIMIT 1", [], |row| {
                row.get(0)
            })
            .optional()?;
        Ok((depth as usize, oldest.map(|at| super::now() - at)))
    }

    /// The report kept for `alert_id`, as JSON text.
    pub fn report(&self, alert_id: &str) -> Result<Option<String>, rusqlite::Error> {
        let connection = super::lock(&self.connection);
        connection
            .prepare_cached("SELECT report FROM reports WHERE alert_id = ?1")?
            .query_row(params![alert_id], |row| row.get(0))
            .optional()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn offered(id: &str, fingerprint: &str) -> Offered {
        Offered {
            priority: 50,
            alert_id: id.into(),
            fingerprint: fingerprint.into(),
            document: format!(r#"{{"id":"{id}"}}"#),
        }
    }

    /// An alert whose fingerprint is its id, with a priority.
    fn scored(id: &str, priority: u8) -> Offered {
        Offered {
            priority,
            ..offered(id, id)
        }
    }

    #[tokio::test]
    async fn an_alert_is_taken_once_and_leaves_with_its_report() {
        let store = Store::in_memory().unwrap();
        let queue = store.queue();
        let admitted = queue
            .enqueue("siem", vec![offered("a-1", "f1"), offered("a-2", "f2")], 10, 600)
            .await
            .unwrap();
        assert_eq!(admitted.len(), 2);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let first = queue.lease("boot-1", 1, 60, 3600).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].alert_id, "a-1");
        let waited = first[0].waited.expect("its arrival is known");
        assert!(waited >= std::time::Duration::from_millis(20), "{waited:?}");
        let second = queue.lease("boot-1", 5, 60, 3600).await.unwrap();
        assert_eq!(
            second.iter().map(|l| l.alert_id.as_str()).collect::<Vec<_>>(),
            ["a-2"]
        );
        assert!(queue.lease("boot-1", 5, 60, 3600).await.unwrap().is_empty());

        let summary = ReportSummary {
            title: "Password spray".into(),
            outcome: "completed".into(),
            priority_score: Some(82),
            ..ReportSummary::default()
        };
        assert!(
            !queue
                .complete(first[0].seq, "boot-2", summary.clone(), "{}".into())
                .await
                .unwrap()
        );
        assert!(
            queue
                .complete(first[0].seq, "boot-1", summary, r#"{"ok":1}"#.into())
                .await
                .unwrap()
        );
        assert_eq!(queue.report("a-1").unwrap().as_deref(), Some(r#"{"ok":1}"#));
        assert_eq!(queue.depth().unwrap().0, 1);
        // The summary was kept with it, under the queue entry's id and source.
        let (kept, _) = store.reports().get("a-1").unwrap().expect("kept");
        assert_eq!(
            (kept.alert_id.as_str(), kept.source.as_str(), kept.title.as_str()),
            ("a-1", "siem", "Password spray")
        );
        assert_eq!(kept.priority_score, Some(82));
        assert!(kept.finished_at > 0);
        // The document moved with it, as posted, for the person reading the report.
        assert_eq!(
            store.reports().document("a-1").unwrap().as_deref(),
            Some(first[0].document.as_str())
        );
        assert_eq!(store.reports().count().unwrap(), 1, "the lost lease kept nothing");
    }

    #[tokio::test]
    async fn an_alert_an_earlier_build_queued_is_taken_without_a_known_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.db");
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL,
                     source TEXT NOT NULL, document TEXT NOT NULL, accepted_at INTEGER NOT NULL,
                     attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until INTEGER);
                 INSERT INTO queue (alert_id, source, document, accepted_at) VALUES ('a-0', 'siem', '{}', 1);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let queue = store.queue();
        queue
            .enqueue("siem", vec![offered("a-1", "f1")], 10, 600)
            .await
            .unwrap();
        let leased = queue.lease("boot-1", 5, 60, 3600).await.unwrap();
        let waits: Vec<(&str, bool)> = leased
            .iter()
            .map(|alert| (alert.alert_id.as_str(), alert.waited.is_some()))
            .collect();
        // The earlier build's alert has no priority (0), so it comes after.
        assert_eq!(waits, [("a-1", true), ("a-0", false)]);
    }

    #[tokio::test]
    async fn a_repeat_by_id_or_content_is_acknowledged_and_not_queued() {
        let queue = Store::in_memory().unwrap().queue();
        queue
            .enqueue("siem", vec![offered("a-1", "f1")], 10, 600)
            .await
            .unwrap();
        let again = queue
            .enqueue(
                "siem",
                vec![
                    offered("a-1", "other"),
                    offered("a-9", "f1"),
                    offered("a-3", "f3"),
                    offered("a-4", "f3"),
                ],
                10,
                600,
            )
            .await
            .unwrap();
        assert_eq!(
            again,
            [
                Admitted::Duplicate {
                    alert_id: "a-1".into(),
                    of: "a-1".into()
                },
                Admitted::Duplicate {
                    alert_id: "a-9".into(),
                    of: "a-1".into()
                },
                Admitted::Queued {
                    alert_id: "a-3".into()
                },
                Admitted::Duplicate {
                    alert_id: "a-4".into(),
                    of: "a-3".into()
                },
            ]
        );
        assert_eq!(queue.depth().unwrap().0, 2);
        // Another source's alert with the same id is its own.
        let other = queue
            .enqueue("edr", vec![offered("a-1", "f1")], 10, 600)
            .await
            .unwrap();
        assert_eq!(
            other,
            [Admitted::Queued {
                alert_id: "a-1".into()
            }]
        );
    }

    #[tokio::test]
    async fn a_request_over_the_limit_queues_nothing() {
        let queue = Store::in_memory().unwrap().queue();
        queue
            .enqueue("siem", vec![offered("a-1", "f1")], 2, 600)
            .await
            .unwrap();
        let full = queue
            .enqueue("siem", vec![offered("a-2", "f2"), offered("a-3", "f3")], 2, 600)
            .await
            .unwrap_err();
        assert!(matches!(full, QueueError::Full { depth: 1, limit: 2 }), "{full}");
        assert_eq!(queue.depth().unwrap().0, 1);
        // Nothing of the refused request was remembered as seen.
        let retried = queue
            .enqueue("siem", vec![offered("a-2", "f2")], 2, 600)
            .await
            .unwrap();
        assert_eq!(
            retried,
            [Admitted::Queued {
                alert_id: "a-2".into()
            }]
        );
    }

    /// The limit counts what an earlier build queued (before the depth was kept), and the
    /// depth follows every offer and completion after.
    #[tokio::test]
    async fn the_limit_counts_alerts_an_earlier_build_queued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.db");
        drop(Store::open(&path).unwrap());
        {
            // What the file looked like then: the same queue, no count kept.
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(
                "DROP TRIGGER queue_in; DROP TRIGGER queue_out; DROP TABLE queue_depth;
                 INSERT INTO queue (alert_id, source, document, accepted_at) VALUES ('a-0', 'siem', '{}', 1);
                 INSERT INTO queue (alert_id, source, document, accepted_at) VALUES ('a-1', 'siem', '{}', 2);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let queue = store.queue();
        assert_eq!(queue.depth().unwrap().0, 2);
        let full = queue
            .enqueue("siem", vec![offered("a-2", "f2"), offered("a-3", "f3")], 3, 600)
            .await
            .unwrap_err();
        assert!(matches!(full, QueueError::Full { depth: 2, limit: 3 }), "{full}");
        queue
            .enqueue("siem", vec![offered("a-2", "f2")], 3, 600)
            .await
            .unwrap();
        assert_eq!(queue.depth().unwrap().0, 3);
        let leased = queue.lease("boot-1", 1, 60, 3600).await.unwrap();
        assert!(
            queue
                .complete(leased[0].seq, "boot-1", ReportSummary::default(), "{}".into())
                .await
                .unwrap()
        );
        assert_eq!(queue.depth().unwrap().0, 2);
        queue
            .enqueue("siem", vec![offered("a-3", "f3")], 3, 600)
            .await
            .unwrap();
        drop(store);
        assert_eq!(
            Store::open(&path).unwrap().queue().depth().unwrap().0,
            3,
            "kept across a restart"
        );
    }

    #[tokio::test]
    async fn what_a_dead_process_held_is_taken_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let queue = Store::open(&path).unwrap().queue();
            queue
                .enqueue("siem", vec![offered("a-1", "f1")], 10, 600)
                .await
                .unwrap();
            assert_eq!(queue.lease("boot-1", 5, 600, 3600).await.unwrap().len(), 1);
        }
        let queue = Store::open(&path).unwrap().queue();
        assert!(
            queue.lease("boot-2", 5, 600, 3600).await.unwrap().is_empty(),
            "still leased"
        );
        assert_eq!(queue.release_all().await.unwrap(), 1);
        let again = queue.lease("boot-2", 5, 600, 3600).await.unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 2));
        // The dedup memory outlived the restart too.
        let repeat = queue
            .enqueue("siem", vec![offered("a-1", "f1")], 10, 600)
            .await
            .unwrap();
        assert!(matches!(repeat[0], Admitted::Duplicate { .. }));
    }

    #[tokio::test]
    async fn the_worst_is_taken_first_across_the_whole_queue_and_a_lapsed_lease_before_it() {
        let store = Store::in_memory().unwrap();
        let queue = store.queue();
        let ids = |leased: Vec<Leased>| leased.into_iter().map(|a| a.alert_id).collect::<Vec<_>>();
        queue
            .enqueue("siem", vec![scored("a-1", 20)], 10, 600)
            .await
            .unwrap();
        // A lease of no time at all lapses at once, as a dead worker's does.
        assert_eq!(ids(queue.lease("w", 1, -10, 3600).await.unwrap()), ["a-1"]);
        let waiting = vec![
            scored("a-2", 90),
            scored("a-3", 50),
            scored("a-4", 90),
            scored("a-5", 95),
        ];
        queue.enqueue("siem", waiting, 10, 600).await.unwrap();
        // The lapsed one first, however low; then the worst waiting, the older of equals.
        let mut taken = ids(queue.lease("w", 2, 600, 3600).await.unwrap());
        taken.sort();
        assert_eq!(taken, ["a-1", "a-5"]);
        assert_eq!(ids(queue.lease("w", 2, 600, 3600).await.unwrap()), ["a-2", "a-4"]);
        assert_eq!(ids(queue.lease("w", 2, 600, 3600).await.unwrap()), ["a-3"]);
    }

    /// Under a flood of worse alerts, one that has waited past the limit is taken oldest
    /// first, with at most half of a lease; before the limit, the worst go first.
    #[tokio::test]
    async fn an_alert_waiting_past_the_limit_is_taken_beside_a_flood_of_worse_ones() {
        let store = Store::in_memory().unwrap();
        let queue = store.queue();
        let ids = |leased: Vec<Leased>| {
            let mut ids: Vec<String> = leased.into_iter().map(|a| a.alert_id).collect();
            ids.sort();
            ids
        };
        let low = (1..=3).map(|n| scored(&format!("low-{n}"), 10)).collect();
        queue.enqueue("siem", low, 100, 600).await.unwrap();
        let flood = (1..=8).map(|n| scored(&format!("p1-{n}"), 95)).collect();
        queue.enqueue("siem", flood, 100, 600).await.unwrap();
        // Not waited long enough yet: the worst first.
        assert_eq!(
            ids(queue.lease("w", 2, 600, 300).await.unwrap()),
            ["p1-1", "p1-2"]
        );
        // Ten minutes later the low ones are overdue: the two oldest take half of a lease of
        // four (the third waits for the next), the flood the other half.
        crate::lock(&store.connection)
            .execute("UPDATE queue SET accepted_at = accepted_at - 600", [])
            .unwrap();
        assert_eq!(
            ids(queue.lease("w", 4, 600, 300).await.unwrap()),
            ["low-1", "low-2", "p1-3", "p1-4"]
        );
        // A lease of one still goes to the oldest overdue.
        assert_eq!(ids(queue.lease("w", 1, 600, 300).await.unwrap()), ["low-3"]);
        assert_eq!(
            ids(queue.lease("w", 8, 600, 300).await.unwrap()),
            ["p1-5", "p1-6", "p1-7", "p1-8"]
        );
    }

    #[test]
    fn a_lease_reads_the_waiting_along_their_index_without_sorting() {
        let store = Store::in_memory().unwrap();
        let connection = crate::lock(&store.connection);
        let plan: Vec<String> = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {LEASE}"))
            .unwrap()
            .query_map(params!["w", 0, 0, 64, 0, 32], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("USING INDEX queue_waiting")),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|step| step.contains("USING INDEX queue_leased")),
            "{plan:#?}"
        );
        // The one scan is the oldest waiting, in `seq` order: it stops after its limit.
        let scans = plan.iter().filter(|step| *step == "SCAN queue").count();
        assert_eq!(scans, 1, "{plan:#?}");
        let sorts = plan.iter().filter(|step| step.contains("TEMP B-TREE")).count();
        assert!(sorts <= 1, "only the lapsed leases may be sorted: {plan:#?}");
    }
}
