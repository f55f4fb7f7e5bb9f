//! Condition state, service baselines and condition history in SQLite.
//!
//! One writer thread owns the write connection and commits in batches, so
//! the rules stage never waits on the disk; the database runs in WAL mode,
//! so a committed transition survives `kill -9`. Rows are keyed by names
//! (rule id, device id, point name), not indices, so state survives config
//! edits that reorder devices or points.

use sitewarden_runtime::clock;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use tracing::{error, warn};

use super::engine::Engine;
use super::{ConditionEvent, ConditionState, InstanceId};
use sitewarden_model::catalog::Catalog;
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::db::{self, Durability, connect, from_micros, micros};

/// Writes waiting for the store thread. A failing disk fills it, and then
/// the rules stage waits: bounded memory, nothing dropped.
const WRITE_QUEUE: usize = 10_000;
/// Wait before trying a full write queue again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(10);

/// Schema migrations, in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: conditions and service counters.
    "CREATE TABLE condition_state (
         rule TEXT NOT NULL, device TEXT NOT NULL, point TEXT NOT NULL,
         state TEXT NOT NULL, since_us INTEGER NOT NULL, raised_at_us INTEGER, value REAL,
         PRIMARY KEY (rule, device, point));
     CREATE TABLE service_baseline (
         rule TEXT NOT NULL, device TEXT NOT NULL, point TEXT NOT NULL,
         baseline REAL NOT NULL, recorded_at_us INTEGER NOT NULL,
         PRIMARY KEY (rule, device, point));
     CREATE TABLE condition_event (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         rule TEXT NOT NULL, device TEXT NOT NULL, point TEXT NOT NULL,
         transition TEXT NOT NULL, state TEXT NOT NULL,
         value REAL, threshold REAL, severity TEXT NOT NULL, at_us INTEGER NOT NULL);
     CREATE INDEX condition_event_at ON condition_event (at_us);",
];

/// Writes waiting for the writer thread. Rows are boxed: the queue's
/// [`WRITE_QUEUE`] slots are allocated (and touched) at start, so each slot
/// is two words instead of a whole row.
enum Op {
    Event(Box<EventRow>),
    Baseline(Box<BaselineRow>),
    Flush(SyncSender<()>),
}

/// A service counter's new baseline.
struct BaselineRow {
    rule: String,
    device: String,
    point: String,
    baseline: f64,
    at_us: i64,
}

/// One stored condition transition.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// Row id, increasing.
    pub id: i64,
    /// `pack.rule`.
    pub rule: String,
    /// Device id.
    pub device: String,
    /// Point name.
    pub point: String,
    /// What happened.
    pub transition: String,
    /// State after it.
    pub state: String,
    /// Value that caused it.
    pub value: Option<f64>,
    /// What it was compared with.
    pub threshold: Option<f64>,
    /// Severity.
    pub severity: String,
    /// When.
    pub at: Timestamp,
    #[serde(skip)]
    raised_at: Option<Timestamp>,
}

/// Filters for [`Store::recent_events`].
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    /// Only this device.
    pub device: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
    /// Only at or after.
    pub since: Option<Timestamp>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// The daemon's embedded database.
pub struct Store {
    path: PathBuf,
    writer: Mutex<SyncSender<Op>>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens (creating if needed) `dir/sitewarden.db` and migrates it.
    pub fn open(dir: &Path) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("sitewarden.db");
        let conn = db::open_checked(&path, Durability::Process, MIGRATIONS)?;
        let reader = connect(&path, Durability::Process)?;
        let (tx, rx) = sync_channel(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("sitewarden-store".into())
            .spawn(move || write_loop(conn, rx))
            .context("starting the store writer")?;
        Ok(Arc::new(Self {
            path,
            writer: Mutex::new(tx),
            reader: Mutex::new(reader),
        }))
    }

    fn send(&self, op: Op) {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if writer.send(op).is_err() {
            error!("store writer has stopped; condition state is no longer saved");
        }
    }

    /// Queues a transition for saving. While the writer's queue is full
    /// (the disk cannot keep up, or fails and the writer retries), it waits
    /// for room, yielding: the rules stage slows down, no transition is
    /// dropped, and no async worker thread is held.
    pub async fn save(&self, catalog: &Catalog, event: &ConditionEvent) {
        let (rule, device, point) = names(catalog, event.instance);
        let mut op = Op::Event(Box::new(EventRow {
            id: 0,
            rule,
            device,
            point,
            transition: event.transition.as_str().to_owned(),
            state: event.state.as_str().to_owned(),
            value: event.value,
            threshold: event.threshold,
            severity: event.severity.as_str().to_owned(),
            at: event.at,
            raised_at: event.raised_at,
        }));
        loop {
            let sent = self
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .try_send(op);
            match sent {
                Ok(()) => return,
                Err(std::sync::mpsc::TrySendError::Full(back)) => {
                    op = back;
                    tokio::time::sleep(QUEUE_FULL_WAIT).await;
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                    error!("store writer has stopped; condition state is no longer saved");
                    return;
                }
            }
        }
    }

    /// Queues a new service baseline for saving.
    pub fn save_baseline(&self, catalog: &Catalog, instance: InstanceId, baseline: f64) {
        let (rule, device, point) = names(catalog, instance);
        self.send(Op::Baseline(Box::new(BaselineRow {
            rule,
            device,
            point,
            baseline,
            at_us: micros(clock::now()),
        })));
    }

    /// Waits (at most 5 s) until everything queued is committed.
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        self.send(Op::Flush(tx));
        if rx.recv_timeout(Duration::from_secs(5)).is_err() {
            warn!("store did not confirm the flush within 5 s");
        }
    }

    /// Loads saved condition states and baselines into the engine; returns
    /// how many conditions were not normal.
    pub fn restore(&self, catalog: &Catalog, engine: &mut Engine) -> anyhow::Result<usize> {
        let conn = self
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut restored = 0;
        for (i, _) in catalog.rule_instances.iter().enumerate() {
            let instance = InstanceId(i as u32);
            let (rule, device, point) = names(catalog, instance);
            let state: Option<(String, i64, Option<i64>)> = conn
                .query_row(
                    "SELECT state, since_us, raised_at_us FROM condition_state WHERE rule = ?1 AND device = ?2 AND point = ?3",
                    params![rule, device, point],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let baseline: Option<f64> = conn
                .query_row(
                    "SELECT baseline FROM service_baseline WHERE rule = ?1 AND device = ?2 AND point = ?3",
                    params![rule, device, point],
                    |r| r.get(0),
                )
                .optional()?;
            let Some((state, since, raised_at)) = state else {
                if let Some(b) = baseline {
                    engine.restore(instance, ConditionState::Normal, clock::now(), None, b);
                }
                continue;
            };
            let state = ConditionState::parse(&state).unwrap_or(ConditionState::Normal);
            engine.restore(
                instance,
                state,
                from_micros(since),
                raised_at.map(from_micros),
                baseline.unwrap_or(0.0),
            );
            restored += usize::from(state != ConditionState::Normal);
        }
        Ok(restored)
    }

    /// Deletes condition transitions older than `before`, a thousand per
    /// transaction so the writer thread never waits long; the number
    /// deleted. (The current state of each condition is another table and
    /// is never pruned.)
    pub fn prune_history(&self, before: Timestamp) -> rusqlite::Result<usize> {
        let mut conn = self
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        db::prune_in_batches(
            &mut conn,
            "SELECT id FROM condition_event WHERE at_us < ?1 ORDER BY id LIMIT ?2",
            before,
            &["DELETE FROM condition_event WHERE id = ?1"],
        )
    }

    /// Stored transitions, newest first.
    pub fn recent_events(&self, filter: &EventFilter) -> rusqlite::Result<Vec<EventRow>> {
        let conn = self
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stmt = conn.prepare_cached(
            "SELECT id, rule, device, point, transition, state, value, threshold, severity, at_us
             FROM condition_event
             WHERE (?1 IS NULL OR device = ?1) AND (?2 IS NULL OR rule = ?2) AND at_us >= ?3
             ORDER BY id DESC LIMIT ?4",
        )?;
        let since = filter.since.map_or(i64::MIN, micros);
        let rows = stmt.query_map(
            params![filter.device, filter.rule, since, filter.limit as i64],
            |r| {
                Ok(EventRow {
                    id: r.get(0)?,
                    rule: r.get(1)?,
                    device: r.get(2)?,
                    point: r.get(3)?,
                    transition: r.get(4)?,
                    state: r.get(5)?,
                    value: r.get(6)?,
                    threshold: r.get(7)?,
                    severity: r.get(8)?,
                    at: from_micros(r.get(9)?),
                    raised_at: None,
                })
            },
        )?;
        rows.collect()
    }
}

fn names(catalog: &Catalog, instance: InstanceId) -> (String, String, String) {
    let i = &catalog.rule_instances[instance.0 as usize];
    (
        catalog.rule(i.rule).id.clone(),
        catalog.device(i.device).name.clone(),
        catalog.point(i.point).name.clone(),
    )
}

/// Commits queued writes in batches until every sender is gone. A batch
/// whose commit fails (disk full, database busy, a bad page) is tried
/// again with back-off until it commits: condition history and state are
/// never dropped. Meanwhile the bounded queue fills, and then the rules
/// stage waits for the disk instead of growing without limit.
fn write_loop(mut conn: Connection, ops: Receiver<Op>) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    while let Ok(first) = ops.recv() {
        let mut batch = vec![first];
        while batch.len() < 1000 {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut failures = 0u32;
        while let Err(e) = apply(&mut conn, &batch) {
            failures += 1;
            let wait = backoff.next_delay();
            if failures == 1 || failures % 20 == 0 {
                error!(error = %e, failures, ops = batch.len(), retry_in_ms = wait.as_millis() as u64,
                       "saving condition state failed; holding the batch and retrying");
            }
            std::thread::sleep(wait);
        }
        if failures > 0 {
            warn!(
                failures,
                "condition state saves again; held batch committed"
            );
        }
        backoff.reset();
        for op in batch {
            if let Op::Flush(done) = op {
                let _ = done.send(());
            }
        }
    }
}

fn apply(conn: &mut Connection, batch: &[Op]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for op in batch {
        match op {
            Op::Event(e) => {
                tx.prepare_cached(
                    "INSERT INTO condition_event (rule, device, point, transition, state, value, threshold, severity, at_us)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![e.rule, e.device, e.point, e.transition, e.state, e.value, e.threshold, e.severity, micros(e.at)])?;
                if e.state == ConditionState::Normal.as_str() {
                    tx.prepare_cached("DELETE FROM condition_state WHERE rule = ?1 AND device = ?2 AND point = ?3")?
                        .execute(params![e.rule, e.device, e.point])?;
                } else {
                    tx.prepare_cached(
                        "INSERT INTO condition_state (rule, device, point, state, since_us, raised_at_us, value)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (rule, device, point) DO UPDATE SET
                           state = excluded.state, since_us = excluded.since_us,
                           raised_at_us = excluded.raised_at_us, value = excluded.value",
                    )?
                    .execute(params![e.rule, e.device, e.point, e.state, micros(e.at), e.raised_at.map(micros), e.value])?;
                }
            }
            Op::Baseline(b) => {
                tx.prepare_cached(
                    "INSERT INTO service_baseline (rule, device, point, baseline, recorded_at_us) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (rule, device, point) DO UPDATE SET baseline = excluded.baseline, recorded_at_us = excluded.recorded_at_us",
                )?
                .execute(params![b.rule, b.device, b.point, b.baseline, b.at_us])?;
            }
            Op::Flush(_) => {}
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_older_than_retention_is_pruned_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let conn = connect(&dir.path().join("sitewarden.db"), Durability::Process).unwrap();
        // 2,500 transitions a minute apart, then 10 recent ones.
        for n in 0..2510i64 {
            let at = if n < 2500 {
                t0 + jiff::SignedDuration::from_mins(n)
            } else {
                t0 + jiff::SignedDuration::from_hours(24 * 100)
            };
            conn.execute(
                "INSERT INTO condition_event (rule, device, point, transition, state, severity, at_us)
                 VALUES ('r', 'd', 'p', 'raised', 'active', 'major', ?1)",
                [micros(at)],
            )
            .unwrap();
        }
        let pruned = store
            .prune_history(t0 + jiff::SignedDuration::from_hours(24 * 90))
            .unwrap();
        assert_eq!(pruned, 2500, "three batches, all of the old ones");
        let left: i64 = conn
            .query_row("SELECT count(*) FROM condition_event", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 10);
    }
}
