//! The embedded durable store: one SQLite database (WAL mode) in the state folder, shared by
//! every process that uses the same config. It holds plugin state, the audit trail, held
//! operations awaiting approval, executed actions (for undo), the circuit breaker, the rate
//! limits' counts, the tickets plugins opened, the served alerts' queue and reports, and the
//! console's sessions.

mod actions;
mod approvals;
mod audit;
mod breaker;
mod checkpoint;
mod kv;
mod ledger;
mod queue;
mod rate;
mod reports;
mod rules;
mod sessions;
mod tickets;
mod verdicts;
mod writer;

pub use actions::{ActionRow, Actions, RecordError, UndoError};
pub use approvals::{Approval, ApprovalError, ApprovalStatus, Approvals};
pub use audit::{Audit, AuditEvent, AuditFilter, AuditKind, AuditRecord, redact};
pub use breaker::{Breaker, BreakerCheck, BreakerError, BreakerLimits, Trip};
pub use kv::{KvError, KvQuota, KvStore};
pub use ledger::{Begin, Effect, IdempotencyKey, Ledger, LedgerEntry, Outcome, Receipt, Unfinished};
pub use queue::{Admitted, Leased, Offered, Queue, QueueError};
pub use rate::{PerHour, RateCheck, RateError, Rated, Rates};
pub use reports::{
    BadCursor, Choices, Hour, MAX_PAGE, ReportCursor, ReportFilter, ReportPage, ReportSummary, Reports,
};
pub use rules::{PluginFigures, RuleFigures, Rules, Spread};
pub use sessions::{Session, Sessions};
pub use tickets::{OpenedTicket, Tickets};
pub use verdicts::{
    Evidence, Precision, ReadOnlyVerdicts, Verdict, VerdictError, Verdicts, Window, wilson_lower_bound,
};

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    writer: Arc<writer::Writer>,
    /// The circuit breaker's executions counted ahead, shared by every handle.
    leases: Arc<breaker::Leases>,
    /// The rate limits found full this minute, shared by every handle.
    full: Arc<rate::Full>,
    /// After the writer, so that its last batch is written before the last checkpoint.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, rusqlite::Error> {
        let mut connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        // Several `palisade` processes may share the file (a run, an approval, a reset).
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.execute_batch(SCHEMA)?;
        connection.execute_batch(&audit::partial_indexes())?;
        audit::count_action_hours(&connection)?;
        connection.execute_batch(ledger::SCHEMA)?;
        connection.execute_batch(queue::SCHEMA)?;
        queue::migrate(&connection)?;
        reports::prepare(&mut connection)?;
        connection.execute_batch(sessions::SCHEMA)?;
        // Checkpoints run on a thread of their own, which holds this process's writes off only
        // while it copies the last few frames; a database in memory has no log to checkpoint.
        let in_memory = path == Path::new(":memory:");
        if !in_memory {
            connection.pragma_update(None, "wal_autocheckpoint", 0)?;
            // When the log starts again from the beginning, its file is cut back to this.
            connection.pragma_update(None, "journal_size_limit", 64 << 20)?;
        }
        let connection = Arc::new(Mutex::new(connection));
        let checkpointer = if in_memory {
            None
        } else {
            Some(Arc::new(checkpoint::Checkpointer::start(
                path,
                connection.clone(),
            )?))
        };
        let writer = writer::Writer::start(connection.clone())
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        let writer = Arc::new(writer);
        Ok(Store {
            connection,
            leases: Arc::new(breaker::Leases::new(writer.clone())),
            full: Arc::default(),
            writer,
            _checkpointer: checkpointer,
        })
    }

    /// Every commit reaches the disk before it is answered (`synchronous=FULL`): what a service
    /// acknowledges to a sender survives a power cut, not only a crash of the process.
    pub fn durable(self) -> Result<Store, rusqlite::Error> {
        lock(&self.connection).pragma_update(None, "synchronous", "FULL")?;
        Ok(self)
    }

    pub fn in_memory() -> Result<Store, rusqlite::Error> {
        Store::open(Path::new(":memory:"))
    }

    pub fn kv(&self) -> KvStore {
        KvStore::new(self.connection.clone())
    }

    /// How many records (audit, actions, tickets) were not written since the store was
    /// opened, each logged with why as it was lost: a run whose audit has gaps did not end
    /// cleanly. After [`Audit::flush`], every record queued before it is counted or written.
    pub fn records_lost(&self) -> u64 {
        self.writer.lost()
    }

    pub fn audit(&self) -> Audit {
        Audit::new(self.connection.clone(), self.writer.clone())
    }

    pub fn approvals(&self) -> Approvals {
        Approvals::new(self.connection.clone())
    }

    /// The exactly-once ledger of operations with an outside effect.
    pub fn ledger(&self) -> Ledger {
        Ledger::new(self.connection.clone(), self.writer.clone())
    }

    pub fn actions(&self) -> Actions {
        Actions::new(self.connection.clone(), self.writer.clone())
    }

    pub fn queue(&self) -> Queue {
        Queue::new(self.connection.clone(), self.writer.clone())
    }

    /// The reports of finished alerts and their summaries, for the console.
    pub fn reports(&self) -> Reports {
        Reports::new(self.connection.clone())
    }

    /// The console's sign-in sessions.
    pub fn sessions(&self) -> Sessions {
        Sessions::new(self.connection.clone())
    }

    pub fn breaker(&self) -> Breaker {
        Breaker::new(self.connection.clone(), self.writer.clone(), self.leases.clone())
    }

    pub fn rates(&self) -> Rates {
        Rates::new(self.writer.clone(), self.full.clone())
    }

    pub fn tickets(&self) -> Tickets {
        Tickets::new(self.writer.clone())
    }

    pub fn rules(&self) -> Rules {
        Rules::new(self.connection.clone(), self.writer.clone())
    }

    pub fn verdicts(&self) -> Verdicts {
        Verdicts::new(self.connection.clone(), self.writer.clone())
    }
}

/// Whether the database has a table named `name`: a migration that creates a table from what
/// is stored does that work once, when the table is missing.
fn has_table(connection: &Connection, name: &str) -> Result<bool, rusqlite::Error> {
    connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |row| row.get(0),
    )
}

/// The connection, even after a panic elsewhere while it was held: SQLite's own transactions
/// keep the data consistent, so a poisoned lock carries no broken state.
fn lock(connection: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) use palisade_core::clock::now;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (plugin, key)
) STRICT;

CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    at_unix INTEGER NOT NULL,
    kind TEXT NOT NULL,
    alert_id TEXT,
    plugin TEXT,
    operation TEXT,
    target TEXT,
    decision TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_by_alert ON audit (alert_id);
CREATE INDEX IF NOT EXISTS audit_by_plugin ON audit (plugin);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_unix);
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;

CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    plugin TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    alert TEXT NOT NULL,
    operation TEXT NOT NULL,
    target TEXT NOT NULL,
    request TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    decision_note TEXT,
    action_id TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS approvals_by_status ON approvals (status, created_at);
CREATE INDEX IF NOT EXISTS approvals_by_time ON approvals (created_at);

CREATE TABLE IF NOT EXISTS actions (
    action_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    plugin TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    target TEXT NOT NULL,
    request TEXT NOT NULL,
    reference TEXT,
    compensation TEXT,
    undone_at INTEGER,
    undone_by TEXT
) STRICT;

-- Containment that lapses: the host reverses it when due, for backends that cannot.
CREATE TABLE IF NOT EXISTS lapses (
    action_id TEXT PRIMARY KEY,
    due_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS lapses_by_due ON lapses (due_at);

CREATE TABLE IF NOT EXISTS destructive_counts (
    plugin TEXT NOT NULL,
    minute INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (plugin, minute)
) STRICT;
CREATE INDEX IF NOT EXISTS destructive_counts_by_minute ON destructive_counts (minute);

-- Executions a process counted ahead in destructive_counts and may still use: a reset keeps
-- them counted. A process hands back what it did not use and deletes its rows.
CREATE TABLE IF NOT EXISTS breaker_leases (
    holder TEXT NOT NULL,
    lease INTEGER NOT NULL,
    plugin TEXT NOT NULL,
    minute INTEGER NOT NULL,
    slots INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (holder, lease)
) STRICT;

CREATE TABLE IF NOT EXISTS rate_counts (
    plugin TEXT NOT NULL,
    kind TEXT NOT NULL,
    minute INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (plugin, kind, minute)
) STRICT;

CREATE TABLE IF NOT EXISTS tickets (
    ticket TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    incident TEXT,
    plugin TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (ticket, alert_id)
) STRICT;

CREATE TABLE IF NOT EXISTS alert_rules (
    alert_id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    rule_name TEXT,
    at INTEGER NOT NULL,
    responded_ms REAL
) STRICT;
CREATE INDEX IF NOT EXISTS alert_rules_by_rule ON alert_rules (rule);

CREATE TABLE IF NOT EXISTS verdicts (
    alert_id TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    source TEXT NOT NULL,
    by TEXT,
    note TEXT,
    at INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS breaker (
    scope TEXT PRIMARY KEY,
    tripped_at INTEGER NOT NULL,
    reason TEXT NOT NULL
) STRICT;
";
