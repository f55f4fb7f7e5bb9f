//! Outgoing deliveries: the persistent outbox behind ticket and alert
//! notifications.
//!
//! A change and its deliveries are committed in the same transaction
//! ([`enqueue`]), so a change that was acknowledged to a person is always
//! delivered, at least once, even across `kill -9`. One [`run`] loop per
//! channel sends the oldest pending delivery, retries it with capped
//! backoff until the other end confirms it, and only then moves on; a
//! failing channel never holds up another. Receivers deduplicate with the
//! delivery's key (the `Idempotency-Key` header on webhooks).

pub mod webhook;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{debug, warn};

use crate::db::{self, Durability, from_micros, micros};
use crate::logging::LogLimiter;
use crate::shutdown::Shutdown;
use crate::sources::modbus::Backoff;

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
    /// JSON body.
    pub payload: Vec<u8>,
    /// Attempts so far.
    pub attempts: i64,
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
}

/// Queues a delivery inside the caller's transaction.
pub fn enqueue(
    tx: &Connection,
    channel: &str,
    subject: &str,
    key: &str,
    topic: Option<&str>,
    payload: &[u8],
    now: Timestamp,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO delivery (channel, key, subject, topic, payload, created_us, next_attempt_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![channel, key, subject, topic, payload, micros(now)])?;
    Ok(())
}

/// The delivery table, from the delivery loops' side.
pub struct Queue {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("delivery::Queue")
    }
}

impl Queue {
    /// Opens its own connection to `operations.db` in `dir`.
    pub fn open(dir: &Path) -> rusqlite::Result<Self> {
        let mut conn = db::connect(&dir.join("operations.db"), Durability::Process)?;
        db::migrate(&mut conn, db::OPERATIONS)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The oldest undelivered message of a channel.
    pub fn oldest(&self, channel: &str) -> rusqlite::Result<Option<(Pending, Timestamp)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, key, topic, payload, attempts, next_attempt_us FROM delivery
             WHERE channel = ?1 AND delivered_us IS NULL ORDER BY id LIMIT 1",
        )?;
        let mut rows = stmt.query([channel])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        Ok(Some((
            Pending {
                id: r.get(0)?,
                key: r.get(1)?,
                topic: r.get(2)?,
                payload: r.get(3)?,
                attempts: r.get(4)?,
            },
            from_micros(r.get(5)?),
        )))
    }

    /// Marks a delivery confirmed.
    pub fn delivered(&self, id: i64, now: Timestamp) -> rusqlite::Result<()> {
        self.lock()
            .prepare_cached(
                "UPDATE delivery SET delivered_us = ?2, attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute(params![id, micros(now)])
            .map(|_| ())
    }

    /// Records a failed attempt and when to try again.
    pub fn failed(&self, id: i64, error: &str, retry_at: Timestamp) -> rusqlite::Result<()> {
        self.lock()
            .prepare_cached(
                "UPDATE delivery SET attempts = attempts + 1, last_error = ?2, next_attempt_us = ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, error, micros(retry_at)])
            .map(|_| ())
    }

    /// Undelivered messages of a channel.
    pub fn backlog(&self, channel: &str) -> rusqlite::Result<u64> {
        self.lock()
            .prepare_cached(
                "SELECT count(*) FROM delivery WHERE channel = ?1 AND delivered_us IS NULL",
            )?
            .query_row([channel], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }
}

/// Deliveries of one subject (`ticket:12`), oldest first.
pub fn of_subject(conn: &Connection, subject: &str) -> rusqlite::Result<Vec<DeliveryView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, key, created_us, attempts, last_error, delivered_us FROM delivery
         WHERE subject = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([subject], |r| {
        Ok(DeliveryView {
            channel: r.get(0)?,
            key: r.get(1)?,
            created_at: from_micros(r.get(2)?),
            attempts: r.get(3)?,
            last_error: r.get(4)?,
            delivered_at: r.get::<_, Option<i64>>(5)?.map(from_micros),
        })
    })?;
    rows.collect()
}

/// Counters of one channel.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    /// Confirmed deliveries.
    pub delivered: AtomicU64,
    /// Failed attempts (each is retried).
    pub failures: AtomicU64,
}

/// Something that takes a message and says whether the other end has it.
pub trait Deliver: Send {
    /// Sends one message; `Ok` only when the receiver confirmed it.
    fn deliver(
        &mut self,
        message: &Pending,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// Delivers one channel's queue, in order, until shutdown.
pub async fn run<D: Deliver>(
    queue: Arc<Queue>,
    channel: &'static str,
    mut sender: D,
    wake: Arc<Notify>,
    metrics: Arc<DeliveryMetrics>,
    mut shutdown: Shutdown,
) {
    let mut backoff = Backoff::new(RETRY_BASE, RETRY_MAX);
    let mut limiter = LogLimiter::new(Duration::from_secs(60));
    loop {
        // Registered before the query so a wake-up between the two is not lost.
        let woken = wake.notified();
        let next = {
            let queue = queue.clone();
            tokio::task::spawn_blocking(move || queue.oldest(channel)).await
        };
        let wait = match next {
            Ok(Ok(Some((message, due)))) => {
                let now = Timestamp::now();
                if due > now {
                    Some(due.duration_since(now).unsigned_abs())
                } else {
                    attempt(
                        &queue,
                        channel,
                        &mut sender,
                        &message,
                        &mut backoff,
                        &metrics,
                        &mut limiter,
                    )
                    .await;
                    continue;
                }
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                if limiter.allow().is_some() {
                    warn!(channel, error = %e, "cannot read the delivery queue");
                }
                Some(Duration::from_secs(1))
            }
            Err(_) => return,
        };
        let sleep = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            () = woken => {}
            () = sleep => {}
            () = shutdown.wait() => return,
        }
    }
}

async fn attempt<D: Deliver>(
    queue: &Arc<Queue>,
    channel: &'static str,
    sender: &mut D,
    message: &Pending,
    backoff: &mut Backoff,
    metrics: &DeliveryMetrics,
    limiter: &mut LogLimiter,
) {
    let outcome = sender.deliver(message).await;
    let queue = queue.clone();
    let id = message.id;
    let now = Timestamp::now();
    let recorded = match outcome {
        Ok(()) => {
            backoff.reset();
            metrics.delivered.fetch_add(1, Relaxed);
            debug!(channel, key = %message.key, "delivered");
            tokio::task::spawn_blocking(move || queue.delivered(id, now)).await
        }
        Err(error) => {
            metrics.failures.fetch_add(1, Relaxed);
            let delay = backoff.next_delay();
            if limiter.allow().is_some() {
                warn!(channel, key = %message.key, attempts = message.attempts + 1, %error,
                      retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
            }
            let retry_at = now + delay;
            tokio::task::spawn_blocking(move || queue.failed(id, &error, retry_at)).await
        }
    };
    if let Ok(Err(e)) = recorded {
        warn!(channel, error = %e, "cannot record a delivery attempt");
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

/// The MQTT channel: done when the MQTT stage's outbox has the message.
pub struct MqttChannel {
    /// To the MQTT stage.
    pub handoff: mpsc::Sender<MqttHandoff>,
    /// Whether messages on this channel are retained.
    pub retain: bool,
}

impl Deliver for MqttChannel {
    async fn deliver(&mut self, message: &Pending) -> Result<(), String> {
        let (stored, confirmed) = oneshot::channel();
        let handoff = MqttHandoff {
            topic: message.topic.clone().unwrap_or_default(),
            payload: message.payload.clone(),
            retain: self.retain,
            stored,
        };
        self.handoff
            .send(handoff)
            .await
            .map_err(|_| "the MQTT stage is stopping".to_owned())?;
        confirmed
            .await
            .map_err(|_| "the MQTT outbox did not take the message".to_owned())
    }
}
