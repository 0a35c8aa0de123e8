//! Folds the write-ahead log back into the database on a thread and connection of its own.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses its threshold, `fsync`
//! included, with that connection's lock held: on the hot path it stalled every alert in
//! flight for milliseconds, and on the writer thread it delayed breaker answers by up to
//! 150 ms. In WAL mode a checkpoint on another connection runs beside readers and writers, so
//! here the bulk of the copying delays no one; this process's writes wait only while the last
//! few frames are copied (see [`round`]).

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// How often the log is folded back while the store is open. Often enough that each
/// checkpoint's copy and `fsync` stay small: at one a second, enforce's p99.9 at 100,000
/// alerts was 41 ms, at one every 200 ms 16-19 ms, as the writer's commits queue behind the
/// disk while a large checkpoint flushes.
const EVERY: Duration = Duration::from_millis(200);

/// The checkpointing thread; dropping it runs a last checkpoint and waits for it.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`, whose other connections must have
    /// automatic checkpoints turned off (`PRAGMA wal_autocheckpoint = 0`). `writers` is the
    /// connection this process writes through.
    pub(super) fn start(
        path: &Path,
        writers: Arc<Mutex<Connection>>,
    ) -> Result<Checkpointer, rusqlite::Error> {
        let connection = Connection::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("palisade-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    round(&connection, &writers);
                }
                round(&connection, &writers);
            })
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Two steps. The bulk of the log is copied while this process's writes go on; then, with
/// them held off, the few frames appended meanwhile, so that the whole log is in the database
/// and the next commit starts it again from the beginning. A log that is always being appended
/// to is otherwise never wholly copied, and grows without bound: 6.4 GB in 20 seconds of
/// enforce-mode alerts, before this second step.
fn round(connection: &Connection, writers: &Mutex<Connection>) {
    checkpoint(connection);
    let _held_off = super::lock(writers);
    checkpoint(connection);
}

/// `PASSIVE`: takes no lock that writers wait on; frames a reader still needs are left for
/// the next round.
fn checkpoint(connection: &Connection) {
    if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(%error, "cannot checkpoint the database's write-ahead log");
    }
}

#[cfg(test)]
mod tests {
    use crate::{AuditEvent, Store};

    /// The audit rows in the database file itself, without its log: what checkpoints copied.
    fn rows_in_the_file(path: &std::path::Path) -> i64 {
        let copy = path.with_extension("copy");
        std::fs::copy(path, &copy).unwrap();
        let connection = rusqlite::Connection::open(&copy).unwrap();
        // Before any checkpoint the file does not even hold the table.
        connection
            .query_row("SELECT count(*) FROM audit", [], |row| row.get(0))
            .unwrap_or(0)
    }

    #[test]
    fn the_log_is_folded_back_while_the_store_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.db");
        let store = Store::open(&path).unwrap();
        log_alerts(&store.audit(), 200);
        std::thread::sleep(super::EVERY * 2);
        assert_eq!(rows_in_the_file(&path), 200, "the log was checkpointed");
        drop(store);
    }

    /// Records `count` processed alerts and waits until they are committed.
    fn log_alerts(audit: &crate::Audit, count: usize) {
        for n in 0..count {
            audit.log(AuditEvent {
                kind: crate::AuditKind::Alert,
                alert_id: Some(&format!("a-{n}")),
                decision: "processed",
                ..AuditEvent::default()
            });
        }
        audit.flush();
    }

    /// Frames in the log since it last started from the beginning.
    fn frames_in_log(path: &std::path::Path) -> i64 {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .unwrap()
    }

    #[test]
    fn the_log_starts_again_while_records_keep_coming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.db");
        let store = Store::open(&path).unwrap();
        let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let writer = {
            let (audit, writing) = (store.audit(), writing.clone());
            std::thread::spawn(move || {
                while writing.load(std::sync::atomic::Ordering::Relaxed) {
                    log_alerts(&audit, 50);
                }
            })
        };
        // A log that never starts again only grows: each sample at least the one before.
        let mut samples = Vec::new();
        for _ in 0..16 {
            std::thread::sleep(super::EVERY / 2);
            samples.push(frames_in_log(&path));
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert!(
            samples.windows(2).any(|pair| pair[1] < pair[0]),
            "the log never started again: {samples:?}"
        );
    }
}
