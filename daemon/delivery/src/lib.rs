//! Outgoing deliveries: the persistent outbox behind ticket and alert
//! notifications.
//!
//! A change and its deliveries are committed in the same transaction
//! ([`enqueue`]), so a change that was acknowledged to a person is always
//! delivered, at least once, even across `kill -9`. One [`Loop`] per
//! channel sends the oldest pending delivery, retries it with capped
//! backoff until the other end confirms it, and only then moves on; a
//! failing channel never holds up another. Receivers deduplicate with the
//! delivery's key (the `Idempotency-Key` header on webhooks).
//!
//! In the flow this crate sits under the work stages: tickets and alerts
//! commit their outgoing messages into its table and it sends them; it
//! depends on the model and runtime crates only.

#![deny(missing_docs)]

pub mod email;
pub mod late;
pub mod verdict;
pub mod webhook;

pub use verdict::Refusal;

use sitewarden_runtime::clock;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{debug, warn};

use sitewarden_model::vocab::LateAction;
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::db::{self, Durability, from_micros, micros};
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::shutdown::Shutdown;

/// First retry delay; doubles per failure.
const RETRY_BASE: Duration = Duration::from_millis(500);
/// Longest wait between attempts: a CMMS down for a day is retried every five minutes.
const RETRY_MAX: Duration = Duration::from_secs(300);

/// One message waiting to leave.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Row id.
    pub id: i64,
    /// Idempotency key: the same for every attempt of this delivery.
    pub key: String,
    /// MQTT topic, for the MQTT channel.
    pub topic: Option<String>,
    /// Body.
    pub payload: Vec<u8>,
    /// Retained on the broker (MQTT).
    pub retain: bool,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was queued (how late it would be).
    pub created: Timestamp,
}

/// A delivery as shown on a ticket or alert timeline.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    /// Channel name.
    pub channel: String,
    /// Idempotency key.
    pub key: String,
    /// Queued.
    pub created_at: Timestamp,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Confirmed by the other end.
    pub delivered_at: Option<Timestamp>,
    /// Every attempt.
    pub attempt_log: Vec<Attempt>,
}

/// A message to queue.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// Channel name; one delivery loop per channel.
    pub channel: &'a str,
    /// What it is about (`ticket:12`, `alert:3`), for timelines.
    pub subject: &'a str,
    /// Idempotency key.
    pub key: &'a str,
    /// MQTT topic.
    pub topic: Option<&'a str>,
    /// Body.
    pub payload: &'a [u8],
    /// Retained on the broker.
    pub retain: bool,
    /// Higher leaves first on channels that deliver by priority (fire alarms).
    pub priority: i64,
}

/// Queues a delivery inside the caller's transaction.
pub fn enqueue(tx: &Connection, m: &Outgoing<'_>, now: Timestamp) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO delivery (channel, key, subject, topic, payload, retain, priority, created_us, next_attempt_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        m.channel,
        m.key,
        m.subject,
        m.topic,
        m.payload,
        m.retain,
        m.priority,
        micros(now)
    ])?;
    Ok(())
}

/// In which order a channel's messages leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Strictly oldest first; a failing message holds the ones behind it
    /// (ticket changes must arrive in order).
    Fifo,
    /// Highest priority first among those due; a failing message waits for
    /// its retry while others go (a fire alarm never waits behind a retry).
    Priority,
}

/// What a delivery loop should do next.
#[derive(Debug)]
pub enum Next {
    /// Send this now.
    Due(Pending),
    /// Nothing due before then.
    WaitUntil(Timestamp),
    /// Nothing waiting.
    Empty,
}

/// The delivery table of one database, from the delivery loops' side.
pub struct Queue {
    conn: Mutex<Connection>,
    /// Told after every failed attempt, for whoever turns failures into
    /// tickets (the alert desk) without polling the table.
    failed_attempt: Notify,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("delivery::Queue")
    }
}

impl Queue {
    /// Opens its own connection to the database at `path` (migrated with `migrations`).
    pub fn open(path: &Path, migrations: &[&str]) -> rusqlite::Result<Self> {
        let mut conn = db::connect(path, Durability::Process)?;
        db::migrate(&mut conn, migrations)?;
        Ok(Self {
            conn: Mutex::new(conn),
            failed_attempt: Notify::new(),
        })
    }

    /// Resolves after an attempt failed since the last call.
    pub async fn attempt_failed(&self) {
        self.failed_attempt.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next message of a channel, in the channel's order.
    pub fn next(&self, channel: &str, order: Order, now: Timestamp) -> rusqlite::Result<Next> {
        let conn = self.lock();
        let sql = match order {
            Order::Fifo => {
                "SELECT id, key, topic, payload, retain, attempts, next_attempt_us, created_us FROM delivery
                 WHERE channel = ?1 AND delivered_us IS NULL AND dropped_us IS NULL ORDER BY id LIMIT 1"
            }
            Order::Priority => {
                "SELECT id, key, topic, payload, retain, attempts, next_attempt_us, created_us FROM delivery
                 WHERE channel = ?1 AND delivered_us IS NULL AND dropped_us IS NULL
                 ORDER BY next_attempt_us > ?2, priority DESC, id LIMIT 1"
            }
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = match order {
            Order::Fifo => stmt.query(params![channel])?,
            Order::Priority => stmt.query(params![channel, micros(now)])?,
        };
        let Some(r) = rows.next()? else {
            return Ok(Next::Empty);
        };
        let due = from_micros(r.get(6)?);
        if due > now {
            return Ok(Next::WaitUntil(due));
        }
        Ok(Next::Due(Pending {
            id: r.get(0)?,
            key: r.get(1)?,
            topic: r.get(2)?,
            payload: r.get(3)?,
            retain: r.get(4)?,
            attempts: r.get(5)?,
            created: from_micros(r.get(7)?),
        }))
    }

    /// Marks a delivery confirmed.
    pub fn delivered(&self, id: i64, now: Timestamp) -> rusqlite::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "UPDATE delivery SET delivered_us = ?2, attempts = attempts + 1 WHERE id = ?1",
        )?
        .execute(params![id, micros(now)])?;
        tx.prepare_cached(
            "INSERT INTO delivery_attempt (delivery, at_us, error) VALUES (?1, ?2, NULL)",
        )?
        .execute(params![id, micros(now)])?;
        tx.commit()
    }

    /// Records a failed attempt and when to try again.
    pub fn failed(
        &self,
        id: i64,
        error: &str,
        now: Timestamp,
        retry_at: Timestamp,
    ) -> rusqlite::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "UPDATE delivery SET attempts = attempts + 1, last_error = ?2, next_attempt_us = ?3
             WHERE id = ?1",
        )?
        .execute(params![id, error, micros(retry_at)])?;
        tx.prepare_cached(
            "INSERT INTO delivery_attempt (delivery, at_us, error) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, micros(now), error])?;
        tx.commit()?;
        self.failed_attempt.notify_one();
        Ok(())
    }

    /// Moves the next-attempt time of every undelivered message by a clock
    /// step (see `sitewarden_runtime::clock`), so a retry wait keeps its
    /// length: a backward step does not hold a fire notification's retry
    /// for the length of the step. The number moved.
    pub fn shift_deadlines(&self, by: jiff::SignedDuration) -> rusqlite::Result<usize> {
        let us = i64::try_from(by.as_micros()).unwrap_or(0);
        self.lock().execute(
            "UPDATE delivery SET next_attempt_us = next_attempt_us + ?1 WHERE delivered_us IS NULL",
            params![us],
        )
    }

    /// Brings retry times of undelivered messages back to at most the
    /// longest back-off from `now` (see `AlertStore::cap_deadlines`): a
    /// retry stored under a clock that was ahead must not wait for it. The
    /// number moved.
    pub fn cap_deadlines(&self, now: Timestamp) -> rusqlite::Result<usize> {
        let latest = micros(now).saturating_add(RETRY_MAX.as_micros() as i64);
        self.lock().execute(
            "UPDATE delivery SET next_attempt_us = ?1
             WHERE delivered_us IS NULL AND dropped_us IS NULL AND next_attempt_us > ?1",
            params![latest],
        )
    }

    /// Makes every message of `channel` held back by earlier failures due
    /// now: its receiver has just confirmed one, so the back-off is over.
    pub fn bring_forward(&self, channel: &str, now: Timestamp) -> rusqlite::Result<()> {
        self.lock()
            .prepare_cached(
                "UPDATE delivery SET next_attempt_us = ?2
                 WHERE channel = ?1 AND delivered_us IS NULL AND dropped_us IS NULL AND next_attempt_us > ?2",
            )?
            .execute(params![channel, micros(now)])
            .map(|_| ())
    }

    /// Deletes deliveries confirmed (or dropped as late) before `before`,
    /// with their attempts, a thousand per transaction; the number deleted.
    /// Undelivered ones are kept whatever their age.
    pub fn prune_delivered(&self, before: Timestamp) -> rusqlite::Result<usize> {
        db::prune_in_batches(
            &mut self.lock(),
            "SELECT id FROM delivery WHERE coalesce(delivered_us, dropped_us) < ?1 ORDER BY id LIMIT ?2",
            before,
            &[
                "DELETE FROM delivery_attempt WHERE delivery = ?1",
                "DELETE FROM delivery WHERE id = ?1",
            ],
        )
    }

    /// Gives up a late message its channel drops (`late = "drop"`): never
    /// sent, kept with `reason` as its last error until retention prunes it.
    pub fn dropped(&self, id: i64, reason: &str, now: Timestamp) -> rusqlite::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.prepare_cached("UPDATE delivery SET dropped_us = ?2, last_error = ?3 WHERE id = ?1")?
            .execute(params![id, micros(now), reason])?;
        tx.prepare_cached(
            "INSERT INTO delivery_attempt (delivery, at_us, error) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, micros(now), reason])?;
        tx.commit()
    }

    /// Undelivered messages of a channel.
    pub fn backlog(&self, channel: &str) -> rusqlite::Result<u64> {
        self.lock()
            .prepare_cached(
                "SELECT count(*) FROM delivery WHERE channel = ?1 AND delivered_us IS NULL AND dropped_us IS NULL",
            )?
            .query_row([channel], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }
}

/// Deliveries of one subject (`ticket:12`), oldest first, with every attempt.
pub fn of_subject(conn: &Connection, subject: &str) -> rusqlite::Result<Vec<DeliveryView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, channel, key, created_us, attempts, last_error, delivered_us FROM delivery
         WHERE subject = ?1 ORDER BY id",
    )?;
    let rows: Vec<(i64, DeliveryView)> = stmt
        .query_map([subject], |r| {
            Ok((
                r.get(0)?,
                DeliveryView {
                    channel: r.get(1)?,
                    key: r.get(2)?,
                    created_at: from_micros(r.get(3)?),
                    attempts: r.get(4)?,
                    last_error: r.get(5)?,
                    delivered_at: r.get::<_, Option<i64>>(6)?.map(from_micros),
                    attempt_log: Vec::new(),
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut attempts = conn.prepare_cached(
        "SELECT at_us, error FROM delivery_attempt WHERE delivery = ?1 ORDER BY at_us",
    )?;
    rows.into_iter()
        .map(|(id, mut view)| {
            view.attempt_log = attempts
                .query_map([id], |r| {
                    Ok(Attempt {
                        at: from_micros(r.get(0)?),
                        error: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(view)
        })
        .collect()
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// When.
    pub at: Timestamp,
    /// Why it failed; none when it was confirmed.
    pub error: Option<String>,
}

/// Counters of one channel.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    /// Confirmed deliveries.
    pub delivered: AtomicU64,
    /// Failed attempts (each is retried).
    pub failures: AtomicU64,
    /// Attempts the receiver refused for good (bad key, bad signature):
    /// the channel needs a person.
    pub refused: AtomicU64,
    /// Messages that went out past the channel's `late_after` (sent or marked).
    pub late: AtomicU64,
    /// Late messages not sent (`late = "drop"`).
    pub dropped: AtomicU64,
}

/// Writes every channel's delivery series for `GET /metrics`.
pub fn render_metrics(out: &mut String, site: &str, channels: &[(Arc<str>, Arc<DeliveryMetrics>)]) {
    use std::fmt::Write as _;
    for (name, help, pick) in [
        (
            "sitewarden_deliveries_total",
            "Deliveries the receiver confirmed, by channel.",
            (|m: &DeliveryMetrics| m.delivered.load(Relaxed)) as fn(&DeliveryMetrics) -> u64,
        ),
        (
            "sitewarden_delivery_failures_total",
            "Delivery attempts that failed and will be retried, by channel.",
            |m: &DeliveryMetrics| m.failures.load(Relaxed),
        ),
        (
            "sitewarden_delivery_refusals_total",
            "Delivery attempts the receiver refused for good (bad key, signature, keyword), by channel.",
            |m: &DeliveryMetrics| m.refused.load(Relaxed),
        ),
        (
            "sitewarden_delivery_late_total",
            "Messages sent past the channel's late_after (as they were, or marked late), by channel.",
            |m: &DeliveryMetrics| m.late.load(Relaxed),
        ),
        (
            "sitewarden_delivery_dropped_late_total",
            "Late messages not sent because the channel drops them, by channel.",
            |m: &DeliveryMetrics| m.dropped.load(Relaxed),
        ),
    ] {
        sitewarden_runtime::metrics::family(out, name, "counter", help);
        for (channel, m) in channels {
            let _ = writeln!(
                out,
                "{name}{{site=\"{site}\",channel=\"{channel}\"}} {}",
                pick(m)
            );
        }
    }
}

/// Something that takes a message and says whether the other end has it.
pub trait Deliver: Send {
    /// Sends one message; `Ok` only when the receiver confirmed it.
    fn deliver(
        &mut self,
        message: &Pending,
    ) -> impl std::future::Future<Output = Result<(), Refusal>> + Send;
}

/// A sender kept across the runs of a supervised delivery loop: restarted
/// after a panic, the loop gets the same sender back (its connections, an
/// MQTT lane's acknowledgements). The lock is held for one delivery at a
/// time by the channel's only loop; a panic releases it.
pub struct Shared<D>(Arc<tokio::sync::Mutex<D>>);

impl<D> Shared<D> {
    /// Wraps a channel's sender.
    pub fn new(sender: D) -> Self {
        Self(Arc::new(tokio::sync::Mutex::new(sender)))
    }
}

impl<D> Clone for Shared<D> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<D: Deliver> Deliver for Shared<D> {
    async fn deliver(&mut self, message: &Pending) -> Result<(), Refusal> {
        self.0.lock().await.deliver(message).await
    }
}

/// One channel's delivery loop.
pub struct Loop<D> {
    /// The database's queue.
    pub queue: Arc<Queue>,
    /// Channel name.
    pub channel: Arc<str>,
    /// Order of delivery.
    pub order: Order,
    /// Sends.
    pub sender: D,
    /// Woken when a message is queued.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<DeliveryMetrics>,
    /// What happens to messages that waited too long.
    pub late: late::LatePolicy,
}

impl<D: Deliver> Loop<D> {
    /// Delivers until shutdown.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut limiter = LogLimiter::new(Duration::from_secs(60));
        loop {
            // Registered before the query so a wake-up between the two is not lost.
            let wake = self.wake.clone();
            let woken = wake.notified();
            let queue = self.queue.clone();
            let (channel, order) = (self.channel.clone(), self.order);
            // Daemon time and the stored due time in one frame: a clock step
            // between the two cannot stretch the wait (see `clock::frame`).
            let next = tokio::task::spawn_blocking(move || {
                let _frame = clock::frame();
                let now = clock::now();
                queue.next(&channel, order, now).map(|next| (next, now))
            })
            .await;
            let wait = match next {
                Ok(Ok((Next::Due(message), now))) => {
                    if let Some((message, late)) = self.unless_dropped_late(message, now).await {
                        self.attempt(&message, late, &mut limiter).await;
                    }
                    continue;
                }
                Ok(Ok((Next::WaitUntil(due), now))) => due.duration_since(now).unsigned_abs(),
                Ok(Ok((Next::Empty, _))) => Duration::from_secs(3600),
                Ok(Err(e)) => {
                    if limiter.allow().is_some() {
                        warn!(channel = %self.channel, error = %e, "cannot read the delivery queue");
                    }
                    Duration::from_secs(1)
                }
                Err(_) => return,
            };
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(wait) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    /// Applies the channel's late policy: the message as it is (on time, or
    /// `send`), marked (`mark`), or `None` once dropped (`drop`); with
    /// whether it is late.
    async fn unless_dropped_late(
        &self,
        mut message: Pending,
        now: Timestamp,
    ) -> Option<(Pending, bool)> {
        let Some(late_by) = self.late.lateness(message.created, now) else {
            return Some((message, false));
        };
        let channel = &*self.channel;
        match self.late.action {
            LateAction::Send => {}
            LateAction::Mark => {
                if let Some(marked) = late::mark(&message.payload, message.created, late_by) {
                    message.payload = marked;
                }
            }
            LateAction::Drop => {
                self.metrics.dropped.fetch_add(1, Relaxed);
                warn!(channel, key = %message.key, late_s = late_by.as_secs(), "late notification dropped, as the channel is set to");
                let (queue, id) = (self.queue.clone(), message.id);
                let reason = format!("dropped: {} s late (late = \"drop\")", late_by.as_secs());
                let recorded =
                    tokio::task::spawn_blocking(move || queue.dropped(id, &reason, clock::now()))
                        .await;
                if let Ok(Err(e)) = recorded {
                    warn!(channel, error = %e, "cannot record a dropped delivery");
                }
                return None;
            }
        }
        Some((message, true))
    }

    /// One attempt; a `late` message confirmed is counted as late. A failed
    /// message waits by its own attempts (0.5 s doubling to 5 min); a
    /// confirmed one brings every message the channel held back forward,
    /// since the receiver answers again.
    async fn attempt(&mut self, message: &Pending, late: bool, limiter: &mut LogLimiter) {
        let channel = &*self.channel;
        let outcome = self.sender.deliver(message).await;
        let queue = self.queue.clone();
        let id = message.id;
        let recorded = match outcome {
            Ok(()) => {
                self.metrics.delivered.fetch_add(1, Relaxed);
                if late {
                    self.metrics.late.fetch_add(1, Relaxed);
                }
                debug!(channel, key = %message.key, "delivered");
                let channel = self.channel.clone();
                tokio::task::spawn_blocking(move || {
                    let _frame = clock::frame();
                    let now = clock::now();
                    queue.delivered(id, now)?;
                    queue.bring_forward(&channel, now)
                })
                .await
            }
            Err(refusal) => {
                self.metrics.failures.fetch_add(1, Relaxed);
                if refusal.permanent {
                    self.metrics.refused.fetch_add(1, Relaxed);
                }
                let failures =
                    u32::try_from(message.attempts.saturating_add(1)).unwrap_or(u32::MAX);
                let delay = Backoff::after(RETRY_BASE, RETRY_MAX, failures);
                let error = refusal.to_string();
                if limiter.allow().is_some() {
                    warn!(channel, key = %message.key, attempts = message.attempts + 1, %error,
                          permanent = refusal.permanent,
                          retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
                }
                tokio::task::spawn_blocking(move || {
                    let _frame = clock::frame();
                    let now = clock::now();
                    queue.failed(id, &error, now, now + delay)
                })
                .await
            }
        };
        if let Ok(Err(e)) = recorded {
            warn!(channel, error = %e, "cannot record a delivery attempt");
        }
    }
}

/// A message handed to the MQTT stage, which stores it in its own outbox
/// (QoS 1 from there) and then confirms.
#[derive(Debug)]
pub struct MqttHandoff {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Retained on the broker.
    pub retain: bool,
    /// Answered once the MQTT outbox holds the message.
    pub stored: oneshot::Sender<()>,
}

/// The MQTT channel of ticket changes: done when the MQTT stage's outbox has the message.
pub struct MqttChannel {
    /// To the MQTT stage.
    pub handoff: mpsc::Sender<MqttHandoff>,
}

impl Deliver for MqttChannel {
    async fn deliver(&mut self, message: &Pending) -> Result<(), Refusal> {
        let (stored, confirmed) = oneshot::channel();
        let handoff = MqttHandoff {
            topic: message.topic.clone().unwrap_or_default(),
            payload: message.payload.clone(),
            retain: message.retain,
            stored,
        };
        self.handoff
            .send(handoff)
            .await
            .map_err(|_| Refusal::temporary("the MQTT stage is stopping"))?;
        confirmed
            .await
            .map_err(|_| Refusal::temporary("the MQTT outbox did not take the message"))
    }
}

/// The outbox every database with deliveries carries: one row per message
/// and channel, and one row per attempt (shown on timelines).
pub const DELIVERY_TABLES: &str = "CREATE TABLE delivery (
         id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, key TEXT NOT NULL,
         subject TEXT NOT NULL, topic TEXT, payload BLOB NOT NULL, retain INTEGER NOT NULL DEFAULT 0,
         priority INTEGER NOT NULL DEFAULT 0,
         created_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt_us INTEGER NOT NULL, last_error TEXT, delivered_us INTEGER);
     CREATE INDEX delivery_pending ON delivery (channel, id) WHERE delivered_us IS NULL;
     CREATE INDEX delivery_subject ON delivery (subject);
     CREATE TABLE delivery_attempt (
         delivery INTEGER NOT NULL, at_us INTEGER NOT NULL, error TEXT);
     CREATE INDEX delivery_attempt_delivery ON delivery_attempt (delivery);";

/// The migration after [`DELIVERY_TABLES`]: a late message a channel drops
/// is marked, not deleted (issue 14).
pub const DELIVERY_DROPPED: &str = "ALTER TABLE delivery ADD COLUMN dropped_us INTEGER;";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_deletes_old_confirmed_deliveries_and_keeps_the_undelivered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        let queue = Queue::open(&path, &[DELIVERY_TABLES, DELIVERY_DROPPED]).unwrap();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let day = |n: i64| t0 + jiff::SignedDuration::from_hours(24 * n);
        let conn = db::connect(&path, Durability::Process).unwrap();
        for (n, key) in ["old", "new", "stuck"].iter().enumerate() {
            let message = Outgoing {
                channel: "c",
                subject: "s",
                key,
                topic: None,
                payload: b"{}",
                retain: false,
                priority: 0,
            };
            enqueue(&conn, &message, day(n as i64)).unwrap();
        }
        drop(conn);
        queue.failed(1, "refused", day(0), day(0)).unwrap();
        queue.delivered(1, day(0)).unwrap();
        queue.delivered(2, day(40)).unwrap();
        // "stuck" (id 3) was never delivered: it stays whatever its age.
        assert_eq!(queue.prune_delivered(day(30)).unwrap(), 1);
        assert_eq!(queue.prune_delivered(day(30)).unwrap(), 0);
        let conn = db::connect(&path, Durability::Process).unwrap();
        let left: Vec<String> = conn
            .prepare("SELECT key FROM delivery ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(left, ["new", "stuck"]);
        let attempts: i64 = conn
            .query_row(
                "SELECT count(*) FROM delivery_attempt WHERE delivery = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(attempts, 0, "the pruned delivery's attempts go with it");
    }
}
