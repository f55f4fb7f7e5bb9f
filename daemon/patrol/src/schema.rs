//! The schema of `patrol.db`.

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
    // 3: what guards found at checkpoints, and the ticket a "not ok" opened.
    "CREATE TABLE finding (
         id INTEGER PRIMARY KEY AUTOINCREMENT, station TEXT NOT NULL, round INTEGER, guard TEXT,
         item TEXT NOT NULL, ok INTEGER NOT NULL, note TEXT, at_us INTEGER NOT NULL,
         by TEXT NOT NULL, ticket INTEGER);
     CREATE INDEX finding_round ON finding (round, id);",
    // 4: when each route was first planned: no round before it is expected.
    "CREATE TABLE route_start (route TEXT PRIMARY KEY, first_us INTEGER NOT NULL);",
];
