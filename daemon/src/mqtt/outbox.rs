//! The persistent outbox: MQTT messages wait here until the broker confirms
//! them (QoS 1 PUBACK), so events produced while the broker is unreachable
//! are delivered, in order, when it comes back.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use rusqlite::{Connection, params};

/// One message waiting for the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Row id: increasing, and the event's stable id.
    pub id: i64,
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Retained on the broker.
    pub retain: bool,
}

/// `<data_dir>/mqtt-outbox.db`.
pub struct Outbox {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl Outbox {
    /// Opens (creating) the outbox in WAL mode.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("mqtt-outbox.db");
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS outbox (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 topic TEXT NOT NULL, payload BLOB NOT NULL, retain INTEGER NOT NULL)",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores a message whose payload carries its own id (`payload(id)`).
    pub fn push(
        &self,
        topic: &str,
        retain: bool,
        payload: impl FnOnce(i64) -> Vec<u8>,
    ) -> rusqlite::Result<i64> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO outbox (topic, payload, retain) VALUES (?1, x'', ?2)",
            params![topic, retain],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE outbox SET payload = ?1 WHERE id = ?2",
            params![payload(id), id],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The oldest waiting messages, at most `limit`.
    pub fn oldest(&self, limit: usize) -> rusqlite::Result<Vec<Message>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT id, topic, payload, retain FROM outbox ORDER BY id LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Message {
                id: r.get(0)?,
                topic: r.get(1)?,
                payload: r.get(2)?,
                retain: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// Removes a message the broker confirmed.
    pub fn remove(&self, id: i64) -> rusqlite::Result<()> {
        self.lock()
            .execute("DELETE FROM outbox WHERE id = ?1", [id])
            .map(|_| ())
    }

    /// Messages waiting.
    pub fn len(&self) -> rusqlite::Result<u64> {
        self.lock()
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> rusqlite::Result<bool> {
        self.len().map(|n| n == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_their_order_and_ids_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        for i in 0..3 {
            outbox
                .push("t", false, |id| {
                    format!("{{\"id\":{id},\"n\":{i}}}").into_bytes()
                })
                .unwrap();
        }
        let first = outbox.oldest(1).unwrap().remove(0);
        outbox.remove(first.id).unwrap();
        drop(outbox);
        let outbox = Outbox::open(dir.path()).unwrap();
        let rest = outbox.oldest(10).unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(
            rest[0].payload,
            format!("{{\"id\":{},\"n\":1}}", rest[0].id).into_bytes()
        );
        assert!(rest[0].id < rest[1].id);
        // A new message after the reopen gets a new id, never a reused one.
        let next = outbox.push("t", false, |_| Vec::new()).unwrap();
        assert!(next > rest[1].id);
    }
}
