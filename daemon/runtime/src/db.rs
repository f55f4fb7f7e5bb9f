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

/// Page cache of one connection, KiB, as SQLite's negative `cache_size`.
const CACHE_KIB: i64 = -256;

/// Opens a connection in WAL mode with the pragmas every connection needs.
pub fn connect(path: &Path, durability: Durability) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::Process => "NORMAL",
        Durability::PowerCut => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    // A gateway's page cache: the stores are small and read mostly their
    // newest rows, and a daemon holds a dozen connections; SQLite's default
    // (2 MiB each) would be most of its memory.
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// A database found corrupt at start and moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Where the database was (a fresh one is there now).
    pub path: std::path::PathBuf,
    /// Where the corrupt file went.
    pub moved_to: std::path::PathBuf,
    /// What SQLite said.
    pub reason: String,
}

static QUARANTINED: std::sync::Mutex<Vec<Quarantined>> = std::sync::Mutex::new(Vec::new());

/// Opens `path` like [`connect`], checks it (`PRAGMA quick_check`) and
/// migrates it. A corrupt database does not stop the daemon: it is moved
/// aside (with its WAL) as `<name>.corrupt-<unix seconds>`, a fresh one is
/// created, and the fact is recorded for the wiring to announce (see
/// [`take_quarantined`]), because one bad history file must not keep the
/// fire alarms from running.
pub fn open_checked(
    path: &Path,
    durability: Durability,
    migrations: &[&str],
) -> anyhow::Result<Connection> {
    use anyhow::Context as _;
    match open_and_check(path, durability, migrations) {
        Ok(conn) => Ok(conn),
        Err(reason) if path.exists() => {
            let moved_to = quarantine(path)
                .with_context(|| format!("moving the corrupt database {} aside", path.display()))?;
            tracing::error!(database = %path.display(), moved_to = %moved_to.display(), %reason,
                            "database is corrupt; moved aside and started empty");
            QUARANTINED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Quarantined {
                    path: path.to_owned(),
                    moved_to,
                    reason,
                });
            open_and_check(path, durability, migrations)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("creating a fresh {}", path.display()))
        }
        Err(reason) => {
            Err(anyhow::anyhow!(reason)).with_context(|| format!("opening {}", path.display()))
        }
    }
}

fn open_and_check(
    path: &Path,
    durability: Durability,
    migrations: &[&str],
) -> Result<Connection, String> {
    let mut conn = connect(path, durability).map_err(|e| e.to_string())?;
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if verdict != "ok" {
        return Err(format!("quick_check: {verdict}"));
    }
    migrate(&mut conn, migrations).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Renames the database and its WAL and shared-memory files aside.
fn quarantine(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let stamp = crate::clock::now().as_second();
    let moved_to = path.with_extension(format!("db.corrupt-{stamp}"));
    std::fs::rename(path, &moved_to)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = std::path::PathBuf::from(side);
        if side.exists() {
            let mut to = moved_to.as_os_str().to_owned();
            to.push(suffix);
            std::fs::rename(&side, std::path::PathBuf::from(to))?;
        }
    }
    Ok(moved_to)
}

/// Takes the databases under `dir` quarantined since the last call.
pub fn take_quarantined(dir: &Path) -> Vec<Quarantined> {
    let mut all = QUARANTINED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mine, others): (Vec<_>, Vec<_>) = all.drain(..).partition(|q| q.path.starts_with(dir));
    *all = others;
    mine
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

/// Rows deleted per transaction when pruning: short enough that a fire
/// alarm's commit never waits long behind retention.
pub const PRUNE_BATCH: usize = 1000;

/// Deletes old rows in transactions of [`PRUNE_BATCH`]: `select` returns
/// the ids of the next rows to go (with `before` as `?1` and the batch size
/// as `?2`), and each of `deletes` runs once per id (the id as `?1`), the
/// row's dependants first. Returns the number of ids deleted.
pub fn prune_in_batches(
    conn: &mut Connection,
    select: &str,
    before: Timestamp,
    deletes: &[&str],
) -> rusqlite::Result<usize> {
    let mut total = 0;
    loop {
        let tx = conn.transaction()?;
        let ids: Vec<i64> = tx
            .prepare_cached(select)?
            .query_map(rusqlite::params![micros(before), PRUNE_BATCH as i64], |r| {
                r.get(0)
            })?
            .collect::<rusqlite::Result<_>>()?;
        for id in &ids {
            for delete in deletes {
                tx.prepare_cached(delete)?.execute([id])?;
            }
        }
        tx.commit()?;
        total += ids.len();
        if ids.len() < PRUNE_BATCH {
            return Ok(total);
        }
    }
}
