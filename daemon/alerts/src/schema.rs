//! The schema of `alerts.db`.

use sitewarden_delivery::{DELIVERY_DROPPED, DELIVERY_TABLES};

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
    // 3: life-safety alerts announced as not delivered (issue 14).
    "CREATE TABLE delivery_fault (alert INTEGER PRIMARY KEY, raised_us INTEGER NOT NULL);",
    // 4: alerts nothing will clear (a forged tap, a delivery fault) end when
    // acknowledged; members past the bound are counted, not stored.
    "ALTER TABLE alert ADD COLUMN ends_on_ack INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE alert ADD COLUMN members_over INTEGER NOT NULL DEFAULT 0;",
    // 5: late notifications a channel drops are marked.
    DELIVERY_DROPPED,
    // 6: acknowledgement links already used (issue 18): each works once.
    "CREATE TABLE ack_link_used (id TEXT PRIMARY KEY, alert INTEGER NOT NULL, used_us INTEGER NOT NULL);",
    // 7: test windows (issue 20): a silence of some zones of a device while
    // a technician tests its detectors, and the alerts it held, kept after.
    "ALTER TABLE silence ADD COLUMN zones TEXT;
     ALTER TABLE silence ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE alert ADD COLUMN tested_by INTEGER;",
    // 8: shift check-ins and the handover note; how far the check for
    // missing ones has looked.
    "CREATE TABLE check_in (
         role TEXT NOT NULL, shift_us INTEGER NOT NULL, person TEXT NOT NULL,
         at_us INTEGER NOT NULL, note TEXT, by TEXT NOT NULL,
         PRIMARY KEY (role, shift_us, person));
     CREATE TABLE duty_look (id INTEGER PRIMARY KEY CHECK (id = 1), until_us INTEGER NOT NULL);",
    // 9: response-plan steps done (by whom, with what note) and overdue.
    "CREATE TABLE alert_plan (
         alert INTEGER NOT NULL, idx INTEGER NOT NULL,
         done_us INTEGER, done_by TEXT, note TEXT, overdue_us INTEGER,
         PRIMARY KEY (alert, idx));",
];
