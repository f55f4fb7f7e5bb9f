//! Maintenance windows and drills: declared, listed, and ended by `maintain`, which releases what a silence held.

use super::*;

/// A test window and the alarms it held: what fired during the test.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// The window.
    #[serde(flatten)]
    pub window: Silence,
    /// Alerts raised in the tested zones, called to nobody.
    pub held: Vec<Alert>,
}

const SILENCE_COLUMNS: &str =
    "id, device, rule, starts_us, ends_us, reason, created_by, zones, test";

fn map_silence(r: &Row<'_>) -> rusqlite::Result<Silence> {
    Ok(Silence {
        id: r.get(0)?,
        device: r.get(1)?,
        rule: r.get(2)?,
        starts_at: from_micros(r.get(3)?),
        ends_at: from_micros(r.get(4)?),
        reason: r.get(5)?,
        created_by: r.get(6)?,
        zones: r
            .get::<_, Option<String>>(7)?
            .map(|z| {
                z.split(',')
                    .filter(|z| !z.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        test: r.get(8)?,
    })
}

/// Zones as stored: `,z1,z3,` so a zone is found with `instr`; none for every zone.
fn zone_list(zones: &[String]) -> Option<String> {
    (!zones.is_empty()).then(|| format!(",{},", zones.join(",")))
}

impl AlertStore {
    /// Ends silences and drills that ran out, and runs self-tests that are due.
    pub fn maintain(
        &self,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                let silenced: Vec<(i64, bool, String, String)> = tx
                    .prepare_cached(
                        "SELECT a.id, a.active, a.class, a.suppressed_by FROM alert a
                         WHERE a.status = 'open' AND a.suppressed = 'silenced' AND NOT EXISTS (
                             SELECT 1 FROM silence s WHERE 'silence ' || s.id = a.suppressed_by AND s.ends_us > ?1)",
                    )?
                    .query_map([micros(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (id, active, class, by) in silenced {
                    tx.execute(
                        "UPDATE alert SET suppressed = NULL, suppressed_by = NULL, revision = revision + 1 WHERE id = ?1",
                        [id],
                    )?;
                    if active {
                        let detail = catalog.site.messages.text("alert-event-unsilenced", &[("silence", Arg::Text(&by))]);
                        event(tx, id, now, "unsilenced", "sitewarden", Some(&detail))?;
                        changes.push(id, AlertEvent::Unsilenced);
                        self.start_escalation(tx, catalog, id, AlertClass::parse(&class).unwrap_or_default(), now, changes)?;
                    } else {
                        resolve(tx, id, now)?;
                        let detail = catalog.site.messages.text("alert-event-resolved-while-silenced", &[]);
                        event(tx, id, now, "resolved", "sitewarden", Some(&detail))?;
                        changes.push(id, AlertEvent::Resolved);
                    }
                }
                self.run_self_tests(tx, catalog, now)?;
                Ok(())
            },
            now,
        )
        .map(|((), c)| c)
    }

    /// When [`AlertStore::maintain`] or the undelivered look next has
    /// something to do: the earliest of a silence ending, a channel's
    /// self-test falling due, and a life-safety alert's `within` running
    /// out with no channel having confirmed it. `None` when nothing is
    /// scheduled; the desk then sleeps until an alert, a silence or a
    /// failed delivery changes that.
    pub fn next_maintenance_at(
        &self,
        catalog: &Catalog,
        within: std::time::Duration,
    ) -> rusqlite::Result<Option<Timestamp>> {
        let conn = lock(&self.reader);
        let silence_ends: Option<i64> = conn
            .prepare_cached(
                "SELECT MIN(s.ends_us) FROM silence s WHERE EXISTS (
                     SELECT 1 FROM alert a WHERE a.status = 'open' AND a.suppressed = 'silenced'
                       AND a.suppressed_by = 'silence ' || s.id)",
            )?
            .query_row([], |r| r.get(0))?;
        let within_us = i64::try_from(within.as_micros()).unwrap_or(i64::MAX);
        let unconfirmed: Option<i64> = conn
            .prepare_cached(&format!(
                "SELECT MIN(a.raised_us) FROM alert a
                 WHERE a.status = 'open' AND a.drill = 0 AND a.suppressed IS NULL AND a.acked_us IS NULL
                   AND a.class IN {}
                   AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.subject = 'alert:' || a.id
                                   AND d.channel != ?1 AND d.delivered_us IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM delivery_fault f WHERE f.alert = a.id)",
                life_safety_classes()
            ))?
            .query_row(
                params![STATE_CHANNEL],
                |r| r.get(0),
            )?;
        let mut next = silence_ends
            .into_iter()
            .chain(unconfirmed.map(|raised| raised.saturating_add(within_us)));
        let mut earliest = next.by_ref().min();
        if let Some(every) = catalog.alerts.self_test_every {
            let every_us = i64::try_from(every.as_micros()).unwrap_or(i64::MAX);
            for channel in &catalog.alerts.channels {
                let last: Option<i64> = conn
                    .prepare_cached("SELECT last_run_us FROM self_test WHERE channel = ?1")?
                    .query_row([&channel.name], |r| r.get(0))
                    .optional()?;
                // Never run (or only ticketed): due at once.
                let due = last
                    .filter(|l| *l > 0)
                    .map_or(i64::MIN, |l| l.saturating_add(every_us));
                earliest = Some(earliest.map_or(due, |e| e.min(due)));
            }
        }
        Ok(earliest.map(from_micros))
    }

    /// Declares a silence.
    pub fn add_silence(&self, s: &Silence, now: Timestamp) -> rusqlite::Result<Silence> {
        let conn = lock(&self.writer);
        conn.execute(
            "INSERT INTO silence (device, rule, starts_us, ends_us, reason, created_by, created_us, zones, test)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                s.device,
                s.rule,
                micros(s.starts_at),
                micros(s.ends_at),
                s.reason,
                s.created_by,
                micros(now),
                zone_list(&s.zones),
                s.test
            ],
        )?;
        Ok(Silence {
            id: conn.last_insert_rowid(),
            ..s.clone()
        })
    }

    /// Ends silence `id` now, if it has not ended; the silence as it is now.
    pub fn end_silence(&self, id: i64, now: Timestamp) -> rusqlite::Result<Option<Silence>> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE silence SET ends_us = ?2 WHERE id = ?1 AND ends_us > ?2",
            params![id, micros(now)],
        )?;
        conn.query_row(
            &format!("SELECT {SILENCE_COLUMNS} FROM silence WHERE id = ?1"),
            [id],
            map_silence,
        )
        .optional()
    }

    /// Silences not yet over.
    pub fn silences(&self, now: Timestamp) -> rusqlite::Result<Vec<Silence>> {
        let conn = lock(&self.reader);
        conn.prepare_cached(&format!(
            "SELECT {SILENCE_COLUMNS} FROM silence WHERE ends_us > ?1 ORDER BY starts_us"
        ))?
        .query_map([micros(now)], map_silence)?
        .collect()
    }

    /// A test window, whether over or not, with the alerts it held.
    pub fn test_report(&self, id: i64) -> rusqlite::Result<Option<TestReport>> {
        let conn = lock(&self.reader);
        let Some(window) = conn
            .prepare_cached(&format!(
                "SELECT {SILENCE_COLUMNS} FROM silence WHERE id = ?1 AND test = 1"
            ))?
            .query_row([id], map_silence)
            .optional()?
        else {
            return Ok(None);
        };
        let held = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alert WHERE tested_by = ?1 ORDER BY id"
            ))?
            .query_map([id], map_alert)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(TestReport { window, held }))
    }

    /// Declares a drill window.
    pub fn declare_drill(&self, d: &Drill, now: Timestamp) -> rusqlite::Result<Drill> {
        let conn = lock(&self.writer);
        let classes: Vec<&str> = d.classes.iter().map(|c| c.as_str()).collect();
        conn.execute(
            "INSERT INTO drill (classes, starts_us, ends_us, note, declared_by, declared_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                format!(",{},", classes.join(",")),
                micros(d.starts_at),
                micros(d.ends_at),
                d.note,
                d.declared_by,
                micros(now)
            ],
        )?;
        Ok(Drill {
            id: conn.last_insert_rowid(),
            ..d.clone()
        })
    }

    /// Drills not yet over.
    pub fn drills(&self, now: Timestamp) -> rusqlite::Result<Vec<Drill>> {
        let conn = lock(&self.reader);
        conn.prepare_cached(&format!(
            "SELECT {DRILL_COLUMNS} FROM drill WHERE ends_us > ?1 ORDER BY starts_us"
        ))?
        .query_map([micros(now)], drill_row)?
        .collect()
    }

    /// Ends drill `id` now (one not yet begun is called off); the drill as
    /// it stands, or none when there is no such drill.
    pub fn end_drill(&self, id: i64, now: Timestamp) -> rusqlite::Result<Option<Drill>> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE drill SET ends_us = ?2, starts_us = MIN(starts_us, ?2) WHERE id = ?1 AND ends_us > ?2",
            params![id, micros(now)],
        )?;
        conn.query_row(
            &format!("SELECT {DRILL_COLUMNS} FROM drill WHERE id = ?1"),
            [id],
            drill_row,
        )
        .optional()
    }
}

/// The columns [`drill_row`] reads.
const DRILL_COLUMNS: &str = "id, classes, starts_us, ends_us, note, declared_by";

fn drill_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Drill> {
    let classes: String = r.get(1)?;
    Ok(Drill {
        id: r.get(0)?,
        classes: classes.split(',').filter_map(AlertClass::parse).collect(),
        starts_at: from_micros(r.get(2)?),
        ends_at: from_micros(r.get(3)?),
        note: r.get(4)?,
        declared_by: r.get(5)?,
    })
}

impl AlertStore {
    /// Deletes alerts resolved before `before` with their members, timeline
    /// and delivery-fault marks, and silences and drills that ended before
    /// it, a thousand per transaction; the number of alerts deleted. Open
    /// alerts are kept whatever their age.
    pub fn prune_resolved(&self, before: Timestamp) -> rusqlite::Result<usize> {
        let mut conn = lock(&self.writer);
        let alerts = db::prune_in_batches(
            &mut conn,
            "SELECT id FROM alert WHERE status = 'resolved' AND resolved_us < ?1 ORDER BY id LIMIT ?2",
            before,
            &[
                "DELETE FROM alert_member WHERE alert = ?1",
                "DELETE FROM alert_event WHERE alert = ?1",
                "DELETE FROM delivery_fault WHERE alert = ?1",
                "DELETE FROM alert WHERE id = ?1",
            ],
        )?;
        db::prune_in_batches(
            &mut conn,
            "SELECT id FROM silence WHERE ends_us < ?1 ORDER BY id LIMIT ?2",
            before,
            &["DELETE FROM silence WHERE id = ?1"],
        )?;
        db::prune_in_batches(
            &mut conn,
            "SELECT id FROM drill WHERE ends_us < ?1 ORDER BY id LIMIT ?2",
            before,
            &["DELETE FROM drill WHERE id = ?1"],
        )?;
        Ok(alerts)
    }
}

impl AlertStore {
    /// The site's acknowledgement links, when it has a `public_url`.
    pub fn links(&self) -> Option<&crate::ack_link::AckLinks> {
        self.links.as_deref()
    }

    /// Records that the acknowledgement link `id` (its MAC) was used for
    /// `alert`; false when it had been used before.
    pub fn take_ack_link(&self, id: &str, alert: i64, now: Timestamp) -> rusqlite::Result<bool> {
        lock(&self.writer)
            .execute(
                "INSERT OR IGNORE INTO ack_link_used (id, alert, used_us) VALUES (?1, ?2, ?3)",
                params![id, alert, micros(now)],
            )
            .map(|n| n == 1)
    }

    /// Gives the acknowledgement link `id` back after the acknowledgement
    /// it was taken for failed (the store, the daemon stopping), so the
    /// person can press again.
    pub fn release_ack_link(&self, id: &str) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute("DELETE FROM ack_link_used WHERE id = ?1", [id])
            .map(|_| ())
    }
}

impl AlertStore {
    /// For each open alert, who its last notification round called before
    /// anyone took it (the `notified` history detail), in one query: the
    /// duty console's board shows it on every card and redraws on every
    /// change, for every open board.
    pub fn last_calls(&self) -> rusqlite::Result<std::collections::HashMap<i64, String>> {
        let conn = lock(&self.reader);
        let mut calls = std::collections::HashMap::new();
        let rows = conn
            .prepare_cached(
                "SELECT e.alert, e.detail FROM alert_event e JOIN alert a ON a.id = e.alert
                 WHERE a.status = 'open' AND e.kind = 'notified' AND e.detail IS NOT NULL
                   AND (a.acked_us IS NULL OR e.at_us < a.acked_us)
                 ORDER BY e.id",
            )?
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        calls.extend(rows);
        Ok(calls)
    }
}
