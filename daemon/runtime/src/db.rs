//! What every embedded SQLite database of the daemon shares: WAL mode,
//! versioned migrations, and timestamps stored as microseconds.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::Connection;

/// How hard a commit is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Survives a killed process (WAL, `synchronous=NORMAL`).
    Process,
    /// Also survives a power cut: every commit is fsynced (`synchronous=FULL`).
    PowerCut,
}

/// Opens a connection in WAL mode with the pragmas every connection needs.
pub fn connect(path: &Path, durability: Durability) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::Process => "NORMAL",
        Durability::PowerCut => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// Applies the migrations not yet applied; `PRAGMA user_version` counts those done,
/// so a database from an older release is upgraded in place and never re-created.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> rusqlite::Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in migrations.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// A timestamp as stored.
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// A stored timestamp; an impossible one reads as the epoch rather than failing a query.
pub fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}
