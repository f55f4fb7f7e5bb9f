//! The schema of `operations.db`, where tickets and their deliveries commit together.

use sitewarden_delivery::{DELIVERY_DROPPED, DELIVERY_TABLES};

/// Migrations of `operations.db`: tickets and their outgoing
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
    // 3: late messages dropped are marked.
    DELIVERY_DROPPED,
    // 4: on hold (since when, from where, why) and cancelled; a cancelled
    // ticket no longer holds its condition's key.
    "ALTER TABLE ticket ADD COLUMN held_us INTEGER;
     ALTER TABLE ticket ADD COLUMN held_from TEXT;
     ALTER TABLE ticket ADD COLUMN hold_reason TEXT;
     ALTER TABLE ticket ADD COLUMN cancelled_us INTEGER;
     DROP INDEX ticket_open_key;
     CREATE UNIQUE INDEX ticket_open_key ON ticket (dedup_key)
         WHERE dedup_key IS NOT NULL AND status NOT IN ('accepted', 'archived', 'cancelled');",
    // 5: the request form (channel, cause, when reported) and reworks.
    "ALTER TABLE ticket ADD COLUMN channel TEXT;
     ALTER TABLE ticket ADD COLUMN cause TEXT;
     ALTER TABLE ticket ADD COLUMN reported_us INTEGER;
     ALTER TABLE ticket ADD COLUMN reworks INTEGER NOT NULL DEFAULT 0;",
    // 6: the return visit after an accepted repair and its satisfaction score.
    "ALTER TABLE ticket ADD COLUMN visit_due_us INTEGER;
     ALTER TABLE ticket ADD COLUMN visited_us INTEGER;
     ALTER TABLE ticket ADD COLUMN satisfaction INTEGER;",
    // 7: acceptance through the requester's single-use link and how each
    // repair was accepted; the front desk's reminder of a repair waiting
    // for acceptance; checklists on preventive tickets, the repair ticket a
    // failed item opens (its parent), and photos with a request.
    "CREATE TABLE used_link (id TEXT PRIMARY KEY, ticket INTEGER NOT NULL, used_us INTEGER NOT NULL);
     ALTER TABLE ticket ADD COLUMN accepted_via TEXT;
     ALTER TABLE ticket ADD COLUMN acceptance_reminded_us INTEGER;
     ALTER TABLE ticket ADD COLUMN parent INTEGER;
     CREATE TABLE ticket_check (
         ticket INTEGER NOT NULL, item INTEGER NOT NULL, label TEXT NOT NULL,
         result TEXT, value REAL, note TEXT, checked_us INTEGER, checked_by TEXT,
         opened INTEGER,
         PRIMARY KEY (ticket, item));
     CREATE TABLE ticket_photo (
         id INTEGER PRIMARY KEY AUTOINCREMENT, ticket INTEGER NOT NULL,
         content_type TEXT NOT NULL, bytes BLOB NOT NULL, at_us INTEGER NOT NULL);
     CREATE INDEX ticket_photo_ticket ON ticket_photo (ticket, id);",
];
