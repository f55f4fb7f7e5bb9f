//! Collected badge taps in `<data_dir>/patrol.db`.
//!
//! A tap is committed (with the station's new last sequence number) before
//! the station is told to release it, so a record is either stored or still
//! in the station: never lost, and a re-read after a crash is recognised as
//! the same record, not as a replay.

use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;

use sitewarden_runtime::db::{self, Durability, from_micros, micros};

/// A tap as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredTap {
    /// Row id.
    pub id: i64,
    /// Station name.
    pub station: String,
    /// Record sequence number (as the record claims, for rejected ones).
    pub seq: Option<i64>,
    /// Badge UID, hex.
    pub badge: Option<String>,
    /// Guard the badge belongs to.
    pub guard: Option<String>,
    /// Station boot counter at the tap.
    pub boot: Option<i64>,
    /// Seconds since that boot.
    pub uptime_s: Option<i64>,
    /// Wall time of the tap, rebuilt from the station's clock.
    pub at: Timestamp,
    /// When the daemon collected it.
    pub received_at: Timestamp,
    /// `accepted`, `unknown_badge`, `forged` or `replayed`.
    pub verdict: String,
    /// Why, for people.
    pub detail: Option<String>,
}

/// A tap to store.
#[derive(Debug, Clone)]
pub struct NewTap<'a> {
    /// Station.
    pub station: &'a str,
    /// Sequence number.
    pub seq: Option<u32>,
    /// Badge.
    pub badge: Option<String>,
    /// Guard.
    pub guard: Option<String>,
    /// Boot counter.
    pub boot: Option<u16>,
    /// Seconds since boot.
    pub uptime_s: Option<u32>,
    /// Wall time.
    pub at: Timestamp,
    /// Collected at.
    pub received_at: Timestamp,
    /// Verdict.
    pub verdict: &'static str,
    /// Detail.
    pub detail: Option<String>,
    /// The 40 record bytes.
    pub record: &'a [u8],
}

/// `<data_dir>/patrol.db`.
pub struct PatrolStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for PatrolStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatrolStore")
    }
}

impl PatrolStore {
    /// Opens (creating and migrating) `dir/patrol.db`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("patrol.db");
        let conn = db::open_checked(&path, Durability::PowerCut, super::schema::PATROL)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The last accepted sequence number of a station and its record bytes.
    pub fn last(&self, station: &str) -> rusqlite::Result<(u32, Option<Vec<u8>>)> {
        Ok(self
            .lock()
            .prepare_cached("SELECT last_seq, last_record FROM station_state WHERE station = ?1")?
            .query_row([station], |r| Ok((r.get::<_, i64>(0)? as u32, r.get(1)?)))
            .optional()?
            .unwrap_or((0, None)))
    }

    /// Stores a tap; an accepted one also moves the station's last sequence number.
    pub fn store(&self, t: &NewTap<'_>) -> rusqlite::Result<i64> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO tap (station, seq, badge, guard, boot, uptime_s, at_us, received_us, verdict, detail, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            t.station,
            t.seq,
            t.badge,
            t.guard,
            t.boot,
            t.uptime_s,
            micros(t.at),
            micros(t.received_at),
            t.verdict,
            t.detail,
            t.record
        ])?;
        let id = tx.last_insert_rowid();
        if matches!(t.verdict, "accepted" | "unknown_badge")
            && let Some(seq) = t.seq
        {
            tx.execute(
                "INSERT INTO station_state (station, last_seq, last_record) VALUES (?1, ?2, ?3)
                 ON CONFLICT (station) DO UPDATE SET last_seq = excluded.last_seq, last_record = excluded.last_record",
                params![t.station, seq, t.record],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// The station's health as last polled.
    pub fn polled(
        &self,
        station: &str,
        boot: u16,
        uptime_s: u32,
        health: u16,
        waiting: u16,
        at: Timestamp,
    ) -> rusqlite::Result<()> {
        self.lock()
            .execute(
                "INSERT INTO station_state (station, last_seq, boot, uptime_s, health, waiting, polled_us)
                 VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (station) DO UPDATE SET boot = ?2, uptime_s = ?3, health = ?4, waiting = ?5, polled_us = ?6",
                params![station, boot, uptime_s, health, waiting, micros(at)],
            )
            .map(|_| ())
    }

    /// Runs `work` on the connection (round planning and review, queries).
    pub fn with<T>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        work(&self.lock())
    }

    /// Taps, newest first.
    pub fn taps(&self, station: Option<&str>, limit: usize) -> rusqlite::Result<Vec<StoredTap>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TAP_COLUMNS} FROM tap WHERE (?1 IS NULL OR station = ?1) ORDER BY id DESC LIMIT ?2"
        ))?;
        stmt.query_map(params![station, limit as i64], tap_row)?
            .collect()
    }

    /// Taps not accepted (forged, replayed, unknown badge) received at or
    /// after `since`, newest first.
    pub fn refused_taps(&self, since: Timestamp, limit: usize) -> rusqlite::Result<Vec<StoredTap>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TAP_COLUMNS} FROM tap WHERE verdict != 'accepted' AND received_us >= ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        stmt.query_map(params![micros(since), limit as i64], tap_row)?
            .collect()
    }
}

/// The columns [`tap_row`] reads.
const TAP_COLUMNS: &str =
    "id, station, seq, badge, guard, boot, uptime_s, at_us, received_us, verdict, detail";

fn tap_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTap> {
    Ok(StoredTap {
        id: r.get(0)?,
        station: r.get(1)?,
        seq: r.get(2)?,
        badge: r.get(3)?,
        guard: r.get(4)?,
        boot: r.get(5)?,
        uptime_s: r.get(6)?,
        at: from_micros(r.get(7)?),
        received_at: from_micros(r.get(8)?),
        verdict: r.get(9)?,
        detail: r.get(10)?,
    })
}

impl PatrolStore {
    /// Deletes taps received before `before`, and rounds that started
    /// before it with their checkpoints, a thousand per transaction; the
    /// number of taps deleted. Each station's last sequence number stays,
    /// so a replayed old record is still recognised.
    pub fn prune_before(&self, before: Timestamp) -> rusqlite::Result<usize> {
        let mut conn = self.lock();
        db::prune_in_batches(
            &mut conn,
            "SELECT id FROM round WHERE start_us < ?1 ORDER BY id LIMIT ?2",
            before,
            &[
                "DELETE FROM round_checkpoint WHERE round = ?1",
                "DELETE FROM round WHERE id = ?1",
            ],
        )?;
        db::prune_in_batches(
            &mut conn,
            "SELECT id FROM tap WHERE received_us < ?1 ORDER BY id LIMIT ?2",
            before,
            &["DELETE FROM tap WHERE id = ?1"],
        )
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn taps_and_rounds_past_their_retention_are_pruned_and_the_last_sequence_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = PatrolStore::open(dir.path()).unwrap();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let day = |n: i64| micros(t0 + jiff::SignedDuration::from_hours(24 * n));
        {
            let conn = store.lock();
            for (seq, at) in [(1, day(0)), (2, day(1)), (3, day(30))] {
                conn.execute(
                    "INSERT INTO tap (station, seq, at_us, received_us, verdict, record)
                     VALUES ('cp-1', ?1, ?2, ?2, 'ok', x'00')",
                    params![seq, at],
                )
                .unwrap();
            }
            conn.execute(
                "INSERT INTO station_state (station, last_seq) VALUES ('cp-1', 3)",
                [],
            )
            .unwrap();
            for (id, start) in [(1, day(0)), (2, day(30))] {
                conn.execute(
                    "INSERT INTO round (id, route, start_us, status) VALUES (?1, 'night', ?2, 'complete')",
                    params![id, start],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO round_checkpoint (round, idx, station, planned_us) VALUES (?1, 0, 'cp-1', ?2)",
                    params![id, start],
                )
                .unwrap();
            }
        }
        let before = t0 + jiff::SignedDuration::from_hours(24 * 10);
        assert_eq!(store.prune_before(before).unwrap(), 2);
        let conn = store.lock();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM tap"), 1);
        assert_eq!(count("SELECT count(*) FROM round"), 1);
        assert_eq!(count("SELECT count(*) FROM round_checkpoint"), 1);
        assert_eq!(
            count("SELECT last_seq FROM station_state WHERE station = 'cp-1'"),
            3,
            "replays of pruned records are still recognised"
        );
    }
}
