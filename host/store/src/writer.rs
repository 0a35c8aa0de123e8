//! The group-commit writer: one thread that appends audit records, executed actions and
//! opened tickets, and takes the breaker's and the rate limits' counts, in batches, one
//! transaction each.
//!
//! Why: a commit per record costs a write of every page it touched, and a thread that holds
//! the shared connection while it commits makes every other alert wait, for a scheduler time
//! slice when it is preempted. Here a record costs a channel send.
//!
//! Acknowledgements (the service's intake answering a sender) take a lane of their own: before
//! each transaction of everything else, the writer commits what waits there. Otherwise a
//! sender waits for every commit the workers queued ahead of it, each a write to the disk in a
//! durable store. At most [`FIRST_LANE_TURN`] transactions at a time, so a flood of
//! acknowledgements cannot hold everything else back either.

use super::ActionRow;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One audit row, as stored.
pub(super) struct AuditRow {
    /// An action's decision, counted in `action_hours` too.
    pub action: bool,
    pub at: String,
    pub at_unix: i64,
    pub kind: String,
    pub alert_id: Option<String>,
    pub plugin: Option<String>,
    pub operation: Option<String>,
    pub target: Option<String>,
    pub decision: String,
    pub detail: String,
}

/// What the writer stores, in the order it was sent.
pub(super) enum Record {
    Audit(AuditRow),
    Action(ActionRow),
    /// When an executed action is to be reversed by the host (see `Actions::lapse_at`).
    Lapse {
        action_id: String,
        due_at: i64,
    },
    Ticket(super::tickets::OpenedTicket),
    AlertRule(super::verdicts::AlertRule),
    /// How long an alert took from receipt to its first response, in milliseconds.
    Responded {
        alert_id: String,
        ms: f64,
    },
}

// Records are nearly every message: boxing them would cost an allocation each.
#[expect(clippy::large_enum_variant)]
pub(super) enum Message {
    Record(Record),
    /// A count (the breaker's, a rate limit's) taken in the batch's transaction and answered
    /// once committed.
    Count(Box<dyn Counted>),
    Flush(mpsc::Sender<()>),
    /// A message waits in the first lane: the writer stops gathering and takes it.
    FirstLane,
}

impl Message {
    /// Someone waits on it, so the writer stops gathering and commits at once.
    fn awaited(&self) -> bool {
        matches!(self, Message::Flush(_) | Message::Count(_) | Message::FirstLane)
    }
}

/// A read-then-write that must see every earlier count and no other process between its
/// read and its write: it runs inside the writer's `IMMEDIATE` transaction.
pub(super) trait Counted: Send {
    fn count(&mut self, transaction: &Transaction<'_>);
    /// Its commit must reach the disk before it is answered (`synchronous=FULL`), whatever the
    /// store's own setting.
    fn durable(&self) -> bool;
    /// Answers the asker: what the count found when the transaction committed; otherwise
    /// why nothing was counted.
    fn answer(self: Box<Self>, committed: Result<(), &rusqlite::Error>);
}

/// A [`Counted`] made of the function that counts and the channel its asker awaits.
pub(super) struct Count<T, F> {
    take: Option<F>,
    durable: bool,
    taken: Option<Result<T, rusqlite::Error>>,
    reply: oneshot::Sender<Result<T, String>>,
}

impl<T, F> Count<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, rusqlite::Error> + Send + 'static,
{
    /// The message to send, and the answer to await: `Err` says why nothing was counted.
    pub(super) fn ask(take: F) -> (Message, oneshot::Receiver<Result<T, String>>) {
        Self::asked(take, false)
    }

    /// As [`Count::ask`], answered only once its commit is on the disk
    /// (`synchronous=FULL`).
    pub(super) fn ask_durably(take: F) -> (Message, oneshot::Receiver<Result<T, String>>) {
        Self::asked(take, true)
    }

    fn asked(take: F, durable: bool) -> (Message, oneshot::Receiver<Result<T, String>>) {
        let (reply, answer) = oneshot::channel();
        let count = Count {
            take: Some(take),
            durable,
            taken: None,
            reply,
        };
        (Message::Count(Box::new(count)), answer)
    }
}

impl<T, F> Counted for Count<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, rusqlite::Error> + Send + 'static,
{
    fn count(&mut self, transaction: &Transaction<'_>) {
        let Some(take) = self.take.take() else { return };
        // In a savepoint of its own: a count that fails half way leaves nothing behind in the
        // batch's transaction, which commits the other records and counts regardless.
        if let Err(error) = transaction.execute_batch("SAVEPOINT count") {
            self.taken = Some(Err(error));
            return;
        }
        let taken = take(transaction);
        let settle = if taken.is_ok() {
            "RELEASE count"
        } else {
            "ROLLBACK TO count; RELEASE count"
        };
        self.taken = Some(transaction.execute_batch(settle).and(taken));
    }

    fn durable(&self) -> bool {
        self.durable
    }

    fn answer(self: Box<Self>, committed: Result<(), &rusqlite::Error>) {
        // Committed: every count was taken. Otherwise none holds, whatever it said.
        let answer = match (committed, self.taken) {
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Ok(()), Some(Err(error))) => Err(format!("cannot count: {error}")),
            (Ok(()), None) => Err("the count was not taken".to_owned()),
            (Err(error), _) => Err(format!("cannot commit the count: {error}")),
        };
        let _ = self.reply.send(answer);
    }
}

/// Sends `message` and awaits its count; `Err` says why there is none.
pub(super) async fn counted<T: Send + 'static>(
    writer: &Writer,
    asked: (Message, oneshot::Receiver<Result<T, String>>),
) -> Result<T, String> {
    sent(writer, asked).await
}

/// As [`counted`], in the first lane: it goes before the writer's other messages, a turn at a
/// time, so it may commit before messages sent earlier. For what answers someone waiting and
/// depends on nothing sent before it (a queue offer).
pub(super) async fn counted_first<T: Send + 'static>(
    writer: &Writer,
    (message, answer): (Message, oneshot::Receiver<Result<T, String>>),
) -> Result<T, String> {
    answered(writer.send_first(message), answer).await
}

/// Sends `message` now, before this returns, so that anything sent to the writer after it
/// commits with it or later; the future answers its count.
pub(super) fn sent<T>(
    writer: &Writer,
    (message, answer): (Message, oneshot::Receiver<Result<T, String>>),
) -> impl Future<Output = Result<T, String>> + Send + 'static
where
    T: Send + 'static,
{
    answered(writer.send_now(message), answer)
}

/// The answer to a message, once `sent` says whether the writer took it.
async fn answered<T>(sent: bool, answer: oneshot::Receiver<Result<T, String>>) -> Result<T, String> {
    if !sent {
        return Err("the store's writer has stopped".into());
    }
    answer
        .await
        .unwrap_or_else(|_| Err("the store's writer stopped before answering".into()))
}

/// The most records one gathering holds, so a flood of records still commits regularly.
const MAX_BATCH: usize = 4096;
/// How long a transaction of records should hold the connection. It is shared with kv calls
/// on the alerts' threads and with readers (the console), which wait while one is open.
const TRANSACTION_TIME: Duration = Duration::from_millis(2);
/// The fewest records a transaction holds when more wait, however slow the disk: each commit
/// costs a write (or a sync) of its own. Acknowledgements commit in transactions of this size.
const MIN_TRANSACTION: usize = 128;
/// The most records a transaction holds, however cheap they are.
const MAX_TRANSACTION: usize = 2048;
/// The most transactions of acknowledgements before the next of everything else.
const FIRST_LANE_TURN: usize = 8;
/// How long the writer gathers records before committing them.
const BATCH_WINDOW: Duration = Duration::from_millis(20);

/// The writer thread; dropping the last handle drains the queue and waits.
///
/// Sending and waking take no lock: every alert thread sends several records per alert.
pub(super) struct Writer {
    /// All three `None` only while dropping: the channels close, then the thread is joined.
    sender: Option<mpsc::Sender<Message>>,
    /// The first lane (see the module's comment).
    first_lane: Option<mpsc::Sender<Message>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Records not written: refused by the database, or in a transaction that failed.
    lost: Arc<AtomicU64>,
}

impl Writer {
    pub(super) fn start(connection: Arc<Mutex<Connection>>) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel::<Message>();
        let (to_first_lane, first_lane) = mpsc::channel::<Message>();
        let lost = Arc::new(AtomicU64::new(0));
        let counted = lost.clone();
        let thread = std::thread::Builder::new()
            .name("palisade-audit".into())
            .spawn(move || {
                let lost = counted;
                // Set when a turn ended with acknowledgements left: the writer then does not
                // block, so they are taken even when nothing else arrives.
                let mut lane_left = false;
                let mut pace = Pace::new();
                loop {
                    let first = if lane_left {
                        match receiver.try_recv() {
                            Ok(message) => Some(message),
                            Err(mpsc::TryRecvError::Empty) => None,
                            Err(mpsc::TryRecvError::Disconnected) => break,
                        }
                    } else {
                        // Blocks while idle; a record, or the mark an acknowledgement sends,
                        // wakes the thread.
                        match receiver.recv() {
                            Ok(message) => Some(message),
                            Err(_) => break,
                        }
                    };
                    let batch = first.map(|first| gather(&receiver, first)).unwrap_or_default();
                    let mut batch = batch
                        .into_iter()
                        .filter(|message| !matches!(message, Message::FirstLane))
                        .peekable();
                    while batch.peek().is_some() {
                        first_lane_turn(&connection, &first_lane, &lost);
                        let part: Vec<Message> = batch.by_ref().take(pace.size()).collect();
                        let messages = part.len();
                        pace.took(messages, write_batch(&connection, part, &lost));
                    }
                    lane_left = first_lane_turn(&connection, &first_lane, &lost);
                }
                while first_lane_turn(&connection, &first_lane, &lost) {}
            })?;
        Ok(Writer {
            sender: Some(sender),
            first_lane: Some(to_first_lane),
            thread: Some(thread),
            lost,
        })
    }

    /// Queues a message in the first lane, and wakes the writer for it; false when the writer
    /// has stopped.
    fn send_first(&self, message: Message) -> bool {
        let queued = self
            .first_lane
            .as_ref()
            .is_some_and(|lane| lane.send(message).is_ok());
        // The mark goes through the other lane, which the idle writer blocks on.
        queued && self.send_now(Message::FirstLane)
    }

    /// Queues a message; false when the writer has stopped.
    pub(super) fn send(&self, message: Message) -> bool {
        self.sender
            .as_ref()
            .is_some_and(|sender| sender.send(message).is_ok())
    }

    /// How many records were not written since the writer started: each was logged with why
    /// as it was lost. After [`Writer::flush`], this covers every record queued before it.
    pub(super) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Waits until every record queued so far has been written, or lost (see
    /// [`Writer::lost`]).
    pub(super) fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.send_now(Message::Flush(done)) {
            let _ = wait.recv();
        }
    }

    /// Queues a message someone waits on, and ends the gathering wait so it is handled at once.
    pub(super) fn send_now(&self, message: Message) -> bool {
        let sent = self.send(message);
        if sent && let Some(thread) = &self.thread {
            // Ends the writer's gathering wait.
            thread.thread().unpark();
        }
        sent
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.sender.take());
        drop(self.first_lane.take());
        if let Some(thread) = self.thread.take() {
            // The last batch is written at once rather than after the gathering window.
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Collects for a moment: one transaction for many records is what makes recording every host
/// call affordable. The thread sleeps instead of waiting on the channel, so the records sent
/// meanwhile cost no wake-up each (a send wakes only a receiver blocked in `recv`); a flush
/// unparks it and ends the wait at once.
fn gather(receiver: &mpsc::Receiver<Message>, first: Message) -> Vec<Message> {
    let deadline = Instant::now() + BATCH_WINDOW;
    let mut flushing = first.awaited();
    let mut batch = vec![first];
    loop {
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(message) => {
                    flushing |= message.awaited();
                    batch.push(message);
                }
                Err(_) => break,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if flushing || batch.len() >= MAX_BATCH || left.is_zero() {
            return batch;
        }
        std::thread::park_timeout(left);
    }
}

/// What waits in the first lane, at most [`FIRST_LANE_TURN`] transactions of it; true when
/// some may be left.
fn first_lane_turn(connection: &Mutex<Connection>, lane: &mpsc::Receiver<Message>, lost: &AtomicU64) -> bool {
    for _ in 0..FIRST_LANE_TURN {
        let part: Vec<Message> = lane.try_iter().take(MIN_TRANSACTION).collect();
        if part.is_empty() {
            return false;
        }
        write_batch(connection, part, lost);
    }
    true
}

/// One transaction, then the answers to whoever waits on it. A record the database refuses
/// (a repeated action id) is logged and the rest are still written: a failed statement undoes
/// only itself, not the transaction. Counts are answered only once committed; when the
/// transaction cannot begin or commit, each says why. Returns how long it held the
/// connection.
fn write_batch(connection: &Mutex<Connection>, part: Vec<Message>, lost: &AtomicU64) -> Duration {
    let mut records = Vec::new();
    let mut counts = Vec::new();
    let mut flushes = Vec::new();
    for message in part {
        match message {
            Message::Record(record) => records.push(record),
            Message::Count(count) => counts.push(count),
            Message::Flush(done) => flushes.push(done),
            Message::FirstLane => {}
        }
    }
    let durable = counts.iter().any(|count| count.durable());
    let sent = records.len() as u64;
    let mut refused = 0;
    let mut connection = super::lock(connection);
    // Timed whichever way the transaction ends: one that failed held the connection too, and
    // must not read as free to the pace.
    let locked = Instant::now();
    let committed = (|| -> Result<(), rusqlite::Error> {
        // 2 is FULL, 3 EXTRA: at least as durable as asked already.
        let lower = if durable {
            let setting: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
            (setting < 2).then_some(setting)
        } else {
            None
        };
        if lower.is_some() {
            connection.pragma_update(None, "synchronous", "FULL")?;
        }
        // IMMEDIATE: a count's read and its write are one step for every process sharing
        // the file.
        let committed = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .and_then(|transaction| {
                refused = insert(&transaction, records)?;
                for count in &mut counts {
                    count.count(&transaction);
                }
                transaction.commit()
            });
        if let Some(setting) = lower
            && let Err(error) = connection.pragma_update(None, "synchronous", setting)
        {
            tracing::error!(%error, "cannot restore the store's synchronous setting");
        }
        committed
    })();
    let held = locked.elapsed();
    drop(connection);
    match &committed {
        Ok(()) => lost.fetch_add(refused, Ordering::Relaxed),
        Err(error) => {
            tracing::error!(%error, records = sent, "cannot write audit and action records");
            lost.fetch_add(sent, Ordering::Relaxed)
        }
    };
    for count in counts {
        count.answer(committed.as_ref().map(|_| ()));
    }
    for done in flushes {
        let _ = done.send(());
    }
    held
}

/// How many records the next transaction takes: as many as fit in [`TRANSACTION_TIME`] at
/// what the recent ones cost, within [`MIN_TRANSACTION`] and [`MAX_TRANSACTION`]. Fewer,
/// larger transactions are cheaper: the audit's indexes spread a transaction's rows over many
/// pages, and a commit writes each page it touched once however many rows it took. A commit's
/// wait for the disk (a durable store's) counts in the time, so on a slow disk transactions
/// stay nearer the fewest.
struct Pace {
    /// A moving average of the time a record held the connection.
    per_message: Duration,
}

impl Pace {
    /// Starts at the fewest, until transactions have been timed.
    fn new() -> Pace {
        Pace {
            per_message: TRANSACTION_TIME / MIN_TRANSACTION as u32,
        }
    }

    fn size(&self) -> usize {
        let fit = TRANSACTION_TIME.as_nanos() / self.per_message.as_nanos().max(1);
        usize::try_from(fit)
            .unwrap_or(MAX_TRANSACTION)
            .clamp(MIN_TRANSACTION, MAX_TRANSACTION)
    }

    /// Counts a transaction of `messages` that held the connection for `held`, at a quarter
    /// of the average: one slow commit moves the size, and a few in a row set it.
    fn took(&mut self, messages: usize, held: Duration) {
        let Ok(messages) = u32::try_from(messages) else {
            return;
        };
        if messages == 0 {
            return;
        }
        self.per_message = (self.per_message * 3 + held / messages) / 4;
    }
}

/// The audit rows and undo records of a batch, in order.
/// Returns how many records the database refused (each logged); the rest are in the
/// transaction.
fn insert(transaction: &Transaction<'_>, records: Vec<Record>) -> Result<u64, rusqlite::Error> {
    let mut refused = 0;
    let mut audit = transaction.prepare_cached(
        "INSERT INTO audit (at, at_unix, kind, alert_id, plugin, operation, target, decision, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut action = transaction.prepare_cached(
        "INSERT INTO actions (action_id, at, plugin, alert_id, operation, target, request, reference, compensation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut lapse =
        transaction.prepare_cached("INSERT OR REPLACE INTO lapses (action_id, due_at) VALUES (?1, ?2)")?;
    let mut alert_rule = transaction.prepare_cached(
        "INSERT OR REPLACE INTO alert_rules (alert_id, rule, rule_name, at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut responded =
        transaction.prepare_cached("UPDATE alert_rules SET responded_ms = ?2 WHERE alert_id = ?1")?;
    // Actions per hour and decision, added up here and written once per batch.
    let mut action_hours: Vec<(i64, String, u32)> = Vec::new();
    let mut ticket = transaction.prepare_cached(
        "INSERT OR IGNORE INTO tickets (ticket, alert_id, incident, plugin, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for record in records {
        match record {
            Record::Audit(row) => {
                if let Err(error) = audit.execute(params![
                    row.at,
                    row.at_unix,
                    row.kind,
                    row.alert_id,
                    row.plugin,
                    row.operation,
                    row.target,
                    row.decision,
                    row.detail
                ]) {
                    tracing::error!(%error, kind = %row.kind, "cannot write an audit record");
                    refused += 1;
                } else if row.action {
                    let hour = row.at_unix.div_euclid(3600) * 3600;
                    match action_hours
                        .iter_mut()
                        .find(|(at, decision, _)| *at == hour && *decision == row.decision)
                    {
                        Some((_, _, count)) => *count += 1,
                        None => action_hours.push((hour, row.decision, 1)),
                    }
                }
            }
            Record::Action(row) => {
                if let Err(error) = action.execute(params![
                    row.action_id,
                    row.at,
                    row.plugin,
                    row.alert_id,
                    row.operation,
                    row.target,
                    serde_json::to_string(&row.request).unwrap_or_default(),
                    row.reference,
                    row.compensation
                        .as_ref()
                        .and_then(|c| serde_json::to_string(c).ok())
                ]) {
                    tracing::error!(%error, action = %row.action_id, "cannot record the action for undo");
                    refused += 1;
                }
            }
            Record::Lapse { action_id, due_at } => {
                if let Err(error) = lapse.execute(params![action_id, due_at]) {
                    tracing::error!(%error, action = %action_id, "cannot schedule the block's end: undo it by hand when due");
                    refused += 1;
                }
            }
            Record::AlertRule(row) => {
                if let Err(error) = alert_rule.execute(params![row.alert_id, row.rule, row.rule_name, row.at])
                {
                    tracing::error!(%error, alert = %row.alert_id, "cannot record the alert's rule");
                    refused += 1;
                }
            }
            Record::Responded { alert_id, ms } => {
                if let Err(error) = responded.execute(params![alert_id, ms]) {
                    tracing::error!(%error, alert = %alert_id, "cannot record the time to respond");
                    refused += 1;
                }
            }
            Record::Ticket(row) => {
                if let Err(error) = ticket.execute(params![
                    row.ticket,
                    row.alert_id,
                    row.incident,
                    row.plugin,
                    row.at
                ]) {
                    tracing::error!(%error, ticket = %row.ticket, "cannot record the opened ticket");
                    refused += 1;
                }
            }
        }
    }
    let mut action_hour = transaction.prepare_cached(
        "INSERT INTO action_hours (hour, decision, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (hour, decision) DO UPDATE SET count = count + ?3",
    )?;
    for (hour, decision, count) in action_hours {
        if let Err(error) = action_hour.execute(params![hour, decision, count]) {
            tracing::error!(%error, "cannot count actions in their hour");
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use crate::{ActionRow, AuditEvent, AuditFilter, Store};

    fn action(id: &str) -> ActionRow {
        ActionRow {
            action_id: id.into(),
            at: 1,
            plugin: "spray".into(),
            alert_id: "a-1".into(),
            operation: "network.block-ip".into(),
            target: "203.0.113.7".into(),
            request: serde_json::json!({"target": "203.0.113.7"}),
            reference: None,
            compensation: Some(serde_json::json!({"unblock": "203.0.113.7"})),
            undone_at: None,
            undone_by: None,
        }
    }

    /// A durable count (the ledger's) commits with `synchronous=FULL` on a store set to
    /// NORMAL, and the store's setting is NORMAL again after; other counts keep NORMAL.
    #[tokio::test]
    async fn a_durable_count_commits_fully_and_leaves_the_stores_setting_as_it_was() {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(&folder.path().join("state.db")).unwrap();
        let setting = |transaction: &rusqlite::Transaction<'_>| {
            transaction.query_row("PRAGMA synchronous", [], |row| row.get::<_, i64>(0))
        };
        let durable = super::counted(&store.writer, super::Count::ask_durably(setting)).await;
        let plain = super::counted(&store.writer, super::Count::ask(setting)).await;
        assert_eq!((durable, plain), (Ok(2), Ok(1)), "FULL is 2, NORMAL 1");
        let after: i64 = crate::lock(&store.connection)
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(after, 1);
    }

    /// A count that wrote, then failed, leaves none of its writes in the committed batch.
    #[tokio::test]
    async fn a_count_that_fails_half_way_writes_nothing() {
        let store = Store::in_memory().unwrap();
        let ask = super::Count::ask(|transaction: &rusqlite::Transaction<'_>| {
            transaction.execute(
                "INSERT INTO queue (alert_id, source, document, accepted_at) VALUES ('a-1', 's', '{}', 1)",
                [],
            )?;
            transaction.execute("INSERT INTO no_such_table VALUES (1)", [])
        });
        assert!(super::counted(&store.writer, ask).await.is_err());
        assert_eq!(
            store.queue().depth().unwrap().0,
            0,
            "the first insert was rolled back"
        );
        // The writer goes on: a later count commits.
        let ask = super::Count::ask(|transaction: &rusqlite::Transaction<'_>| {
            transaction.execute(
                "INSERT INTO queue (alert_id, source, document, accepted_at) VALUES ('a-2', 's', '{}', 1)",
                [],
            )
        });
        assert_eq!(super::counted(&store.writer, ask).await, Ok(1));
        assert_eq!(store.queue().depth().unwrap().0, 1);
    }

    /// A queue offer answers a sender who waits: queued behind a thousand records, it commits
    /// after at most the one transaction already under way, and the records all follow.
    #[tokio::test]
    async fn an_acknowledgement_goes_before_the_records_queued_ahead_of_it() {
        let store = Store::in_memory().unwrap();
        let records = 1000;
        let (offer, answer) = super::Count::ask(|transaction: &rusqlite::Transaction<'_>| {
            transaction.query_row("SELECT COUNT(*) FROM actions", [], |row| row.get::<_, usize>(0))
        });
        {
            // The writer cannot commit while the test holds the connection.
            let _held = crate::lock(&store.connection);
            for n in 0..records {
                store.actions().record(action(&format!("act-{n}"))).unwrap();
            }
            assert!(store.writer.send_first(offer));
        }
        let actions_before = answer.await.unwrap().unwrap();
        assert!(
            // A fresh writer's transactions are of the fewest (see `Pace`).
            actions_before <= super::MIN_TRANSACTION,
            "{actions_before} records committed before the acknowledgement"
        );
        store.writer.flush();
        let actions: usize = crate::lock(&store.connection)
            .query_row("SELECT COUNT(*) FROM actions", [], |row| row.get(0))
            .unwrap();
        assert_eq!(actions, records, "every record is still written");
    }

    /// Cheap records go in larger transactions, up to the most; slow ones (a slow disk) never
    /// in fewer than the fewest; and one slow commit does not undo what was learnt.
    #[test]
    fn transactions_are_as_large_as_fit_in_their_time() {
        use super::{MAX_TRANSACTION, MIN_TRANSACTION, Pace};
        use std::time::Duration;
        let mut pace = Pace::new();
        assert_eq!(pace.size(), MIN_TRANSACTION);
        for _ in 0..60 {
            pace.took(500, Duration::from_micros(1000));
        }
        assert_eq!(pace.size(), 1000, "2 µs a record: 2 ms hold a thousand");
        pace.took(1000, Duration::from_millis(20));
        assert!(pace.size() >= 300, "{} after one slow commit", pace.size());
        for _ in 0..20 {
            pace.took(1000, Duration::from_nanos(100));
        }
        assert_eq!(pace.size(), MAX_TRANSACTION);
        for _ in 0..20 {
            pace.took(128, Duration::from_millis(50));
        }
        assert_eq!(pace.size(), MIN_TRANSACTION);
        pace.took(0, Duration::from_secs(1));
        assert_eq!(pace.size(), MIN_TRANSACTION);
    }

    /// A count that inserts a queue row and answers how many rows the queue then has.
    fn offer(
        n: usize,
    ) -> (
        super::Message,
        tokio::sync::oneshot::Receiver<Result<usize, String>>,
    ) {
        super::Count::ask(move |transaction: &rusqlite::Transaction<'_>| {
            transaction.execute(
                "INSERT INTO queue (alert_id, source, document, accepted_at) VALUES (?1, 's', '{}', 1)",
                [format!("a-{n}")],
            )?;
            transaction.query_row("SELECT COUNT(*) FROM queue", [], |row| row.get::<_, usize>(0))
        })
    }

    /// More acknowledgements than one transaction holds, with nothing else to write: every
    /// one is answered, none left in the lane for want of other traffic.
    #[tokio::test]
    async fn every_acknowledgement_is_answered_when_nothing_else_is_written() {
        let store = Store::in_memory().unwrap();
        let answers: Vec<_> = {
            let _held = crate::lock(&store.connection);
            (0..3 * super::FIRST_LANE_TURN * super::MIN_TRANSACTION + 1)
                .map(|n| {
                    let (message, answer) = offer(n);
                    assert!(store.writer.send_first(message));
                    answer
                })
                .collect()
        };
        for answer in answers {
            let answered = tokio::time::timeout(std::time::Duration::from_secs(10), answer).await;
            assert!(matches!(answered, Ok(Ok(Ok(_)))), "{answered:?}");
        }
    }

    /// A flood of acknowledgements takes turns with the rest: a count sent while the writer
    /// is busy with them waits for at most the turn under way and one more, not the flood.
    #[tokio::test]
    async fn a_flood_of_acknowledgements_does_not_hold_the_rest_back() {
        let store = Store::in_memory().unwrap();
        let turn = super::FIRST_LANE_TURN * super::MIN_TRANSACTION;
        let flood = 3 * turn;
        let (count, counted) = super::Count::ask(|transaction: &rusqlite::Transaction<'_>| {
            transaction.query_row("SELECT COUNT(*) FROM queue", [], |row| row.get::<_, usize>(0))
        });
        let offers: Vec<_> = {
            // The writer wakes for the first offer and waits for the connection.
            let _held = crate::lock(&store.connection);
            let offers = (0..flood)
                .map(|n| {
                    let (message, answer) = offer(n);
                    assert!(store.writer.send_first(message));
                    answer
                })
                .collect();
            assert!(store.writer.send_now(count));
            offers
        };
        let offers_before = counted.await.unwrap().unwrap();
        assert!(
            offers_before <= 2 * turn,
            "{offers_before} of {flood} acknowledgements went before the count"
        );
        for answer in offers {
            assert!(answer.await.unwrap().is_ok());
        }
    }

    #[test]
    fn a_refused_record_does_not_take_the_rest_of_its_batch_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("palisade.db")).unwrap();
        let (actions, audit) = (store.actions(), store.audit());
        actions.record(action("act-1")).unwrap();
        // The same id again: the database refuses it, inside the same batch as the others.
        actions.record(action("act-1")).unwrap();
        audit.log(AuditEvent {
            kind: crate::AuditKind::Alert,
            alert_id: Some("a-1"),
            decision: "processed",
            ..AuditEvent::default()
        });
        actions.record(action("act-2")).unwrap();

        assert!(actions.get("act-1").unwrap().is_some());
        assert!(actions.get("act-2").unwrap().is_some());
        let filter = AuditFilter {
            alert_id: Some("a-1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(audit.query(&filter).unwrap().len(), 1);
        // The query above flushed the writer.
        assert_eq!(store.records_lost(), 1, "the refused record is counted as lost");
    }

    #[test]
    fn a_store_that_wrote_everything_lost_nothing() {
        let store = Store::in_memory().unwrap();
        store.actions().record(action("act-1")).unwrap();
        store.audit().flush();
        assert_eq!(store.records_lost(), 0);
    }

    #[test]
    fn records_queued_before_the_store_closes_are_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palisade.db");
        let store = Store::open(&path).unwrap();
        store.actions().record(action("act-9")).unwrap();
        drop(store);
        let reopened = Store::open(&path).unwrap();
        let row = reopened.actions().get("act-9").unwrap().expect("recorded");
        assert_eq!(row.target, "203.0.113.7");
        assert!(row.compensation.is_some());
    }

    #[test]
    fn the_shared_connection_leaves_checkpoints_to_their_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("palisade.db")).unwrap();
        let connection = crate::lock(&store.connection);
        let every: i64 = connection
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .unwrap();
        assert_eq!(every, 0, "a commit on the hot path would checkpoint inline");
    }
}
