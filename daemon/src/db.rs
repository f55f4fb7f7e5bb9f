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

/// Migrations of `operations.db`: tickets, alerts and their outgoing
/// deliveries share one database so a change and its deliveries commit in
/// one transaction (a transactional outbox).
pub const OPERATIONS: &[&str] = &[
    // 1: tickets, their history, preventive progress.
    "CREATE TABLE ticket (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         origin TEXT NOT NULL, category TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL,
         title TEXT NOT NULL, description TEXT,
         device TEXT, location TEXT, rule TEXT, point TEXT, value REAL, threshold REAL, severity TEXT,
         requester TEXT, contact TEXT, assignee TEXT,
         dedup_key TEXT,
         occurrences INTEGER NOT NULL DEFAULT 1, last_seen_us INTEGER NOT NULL,
         condition_cleared_us INTEGER,
         created_us INTEGER NOT NULL, responded_us INTEGER, resolved_us INTEGER,
         accepted_us INTEGER, archived_us INTEGER,
         response_due_us INTEGER NOT NULL, resolution_due_us INTEGER NOT NULL,
         response_breached INTEGER NOT NULL DEFAULT 0, resolution_breached INTEGER NOT NULL DEFAULT 0,
         revision INTEGER NOT NULL DEFAULT 1, updated_us INTEGER);
     CREATE UNIQUE INDEX ticket_open_key ON ticket (dedup_key)
         WHERE dedup_key IS NOT NULL AND status NOT IN ('accepted', 'archived');
     CREATE INDEX ticket_status ON ticket (status, id);
     CREATE INDEX ticket_device ON ticket (device, id);
     CREATE INDEX ticket_created ON ticket (created_us);
     CREATE TABLE ticket_history (
         id INTEGER PRIMARY KEY AUTOINCREMENT, ticket INTEGER NOT NULL,
         at_us INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
         from_status TEXT, to_status TEXT NOT NULL, note TEXT);
     CREATE INDEX ticket_history_ticket ON ticket_history (ticket, id);
     CREATE TABLE preventive_state (id TEXT PRIMARY KEY, last_due_us INTEGER NOT NULL);",
    // 2: the outbox of ticket changes.
    DELIVERY_TABLES,
];

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

/// Migrations of `alerts.db`: alerts live apart from tickets so that a
/// fire alarm's commit never waits behind a batch of ticket writes.
pub const ALERTS: &[&str] = &[
    // 1: alerts, their members and timelines, silences, drills, self-tests.
    "CREATE TABLE alert (
         id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,
         class TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT, device TEXT, location TEXT,
         title TEXT NOT NULL, first_point TEXT, first_zone TEXT, first_value REAL,
         status TEXT NOT NULL, active INTEGER NOT NULL, suppressed TEXT, suppressed_by TEXT,
         drill INTEGER NOT NULL DEFAULT 0,
         raised_us INTEGER NOT NULL, cleared_us INTEGER, acked_us INTEGER, acked_by TEXT, ack_note TEXT,
         resolved_us INTEGER, step INTEGER NOT NULL DEFAULT 0, next_at_us INTEGER,
         notifications INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT 1);
     CREATE UNIQUE INDEX alert_open_key ON alert (key) WHERE status = 'open';
     CREATE INDEX alert_due ON alert (next_at_us) WHERE next_at_us IS NOT NULL;
     CREATE INDEX alert_raised ON alert (raised_us);
     CREATE TABLE alert_member (
         alert INTEGER NOT NULL, point TEXT NOT NULL, zone TEXT, active INTEGER NOT NULL,
         value REAL, raised_us INTEGER NOT NULL, cleared_us INTEGER, PRIMARY KEY (alert, point));
     CREATE TABLE alert_event (
         id INTEGER PRIMARY KEY AUTOINCREMENT, alert INTEGER NOT NULL, at_us INTEGER NOT NULL,
         kind TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT);
     CREATE INDEX alert_event_alert ON alert_event (alert, id);
     CREATE TABLE silence (
         id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT, rule TEXT,
         starts_us INTEGER NOT NULL, ends_us INTEGER NOT NULL, reason TEXT NOT NULL,
         created_by TEXT NOT NULL, created_us INTEGER NOT NULL);
     CREATE TABLE drill (
         id INTEGER PRIMARY KEY AUTOINCREMENT, classes TEXT NOT NULL,
         starts_us INTEGER NOT NULL, ends_us INTEGER NOT NULL, note TEXT,
         declared_by TEXT NOT NULL, declared_us INTEGER NOT NULL);
     CREATE TABLE self_test (channel TEXT PRIMARY KEY, last_run_us INTEGER NOT NULL, ticketed_key TEXT);",
    DELIVERY_TABLES,
];

/// Migrations of `patrol.db`: collected badge taps and each station's last
/// sequence number (how replays and gaps are recognised).
pub const PATROL: &[&str] = &[
    // 1: stations and taps.
    "CREATE TABLE station_state (
         station TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_record BLOB,
         boot INTEGER, uptime_s INTEGER, health INTEGER, waiting INTEGER, polled_us INTEGER);
     CREATE TABLE tap (
         id INTEGER PRIMARY KEY AUTOINCREMENT, station TEXT NOT NULL, seq INTEGER,
         badge TEXT, guard TEXT, boot INTEGER, uptime_s INTEGER, at_us INTEGER NOT NULL,
         received_us INTEGER NOT NULL, verdict TEXT NOT NULL, detail TEXT, record BLOB NOT NULL);
     CREATE INDEX tap_station ON tap (station, id);",
    // 2: rounds and their checkpoints' verdicts.
    "CREATE TABLE round (
         id INTEGER PRIMARY KEY AUTOINCREMENT, route TEXT NOT NULL, start_us INTEGER NOT NULL,
         status TEXT NOT NULL, guard TEXT, completion REAL, lone_alerted INTEGER NOT NULL DEFAULT 0,
         UNIQUE (route, start_us));
     CREATE TABLE round_checkpoint (
         round INTEGER NOT NULL, idx INTEGER NOT NULL, station TEXT NOT NULL,
         planned_us INTEGER NOT NULL, tapped_us INTEGER, tap INTEGER, guard TEXT, verdict TEXT,
         PRIMARY KEY (round, idx));",
];
