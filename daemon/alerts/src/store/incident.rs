//! Raising and clearing: one open alert per group key, its member conditions, and when a cleared alert resolves or stays open for a person.

use super::suppression::{Suppression, suppression_for};
use super::*;

impl AlertStore {
    pub(super) fn raise(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        r: &Raise,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        if let Some((id, active)) = open_by_key(tx, &r.key)? {
            upsert_member(tx, id, r)?;
            if !active {
                tx.execute("UPDATE alert SET active = 1, cleared_us = NULL, revision = revision + 1 WHERE id = ?1", [id])?;
                event(
                    tx,
                    id,
                    r.at,
                    "reactivated",
                    "sitewarden",
                    Some(&catalog.site.messages.text(
                        "alert-event-raised-again",
                        &[("point", Arg::Text(&r.point))],
                    )),
                )?;
            } else {
                tx.execute(
                    "UPDATE alert SET revision = revision + 1 WHERE id = ?1",
                    [id],
                )?;
                event(
                    tx,
                    id,
                    r.at,
                    "member_raised",
                    "sitewarden",
                    Some(&member_text(&catalog.site.messages, r)),
                )?;
            }
            changes.push(id, AlertEvent::MemberRaised);
            return self.release_outside_silence(tx, catalog, id, r, now, changes);
        }
        let covering = suppression_for(tx, catalog, r)?;
        let drill = match covering {
            Some(Suppression::Drill(id)) => Some(id),
            _ => None,
        };
        let suppression = covering.as_ref().and_then(Suppression::held);
        tx.prepare_cached(
            "INSERT INTO alert (key, class, severity, title, rule, device, location, first_point, first_zone,
                 first_value, status, active, suppressed, suppressed_by, drill, raised_us, step, next_at_us,
                 ends_on_ack)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', 1, ?11, ?12, ?13, ?14, 0, NULL, ?15)",
        )?
        .execute(params![
            r.key,
            r.class.as_str(),
            r.severity.as_str().to_owned(),
            r.title,
            r.rule,
            r.device,
            r.location,
            r.point,
            r.zone,
            r.value,
            suppression.as_ref().map(|(kind, _)| *kind),
            suppression.as_ref().map(|(_, by)| by.as_str()),
            drill.is_some(),
            micros(r.at),
            r.ends_on_ack,
        ])?;
        let id = tx.last_insert_rowid();
        upsert_member(tx, id, r)?;
        if let Some(Suppression::Silenced(silence)) = covering {
            tx.prepare_cached(
                "UPDATE alert SET tested_by = ?2 WHERE id = ?1
                 AND EXISTS (SELECT 1 FROM silence WHERE id = ?2 AND test = 1)",
            )?
            .execute(params![id, silence])?;
        }
        let m = &catalog.site.messages;
        let detail = match r.value {
            Some(v) => m.text(
                "alert-event-raised-reading",
                &[
                    ("member", Arg::Text(&member_text(m, r))),
                    ("value", Arg::Decimal(v)),
                ],
            ),
            None => member_text(m, r),
        };
        event(tx, id, r.at, "raised", "sitewarden", Some(&detail))?;
        changes.push(id, AlertEvent::Raised);
        if let Some(drill) = drill {
            event(
                tx,
                id,
                now,
                "drill",
                "sitewarden",
                Some(&m.text("alert-event-drill", &[("drill", Arg::Number(drill))])),
            )?;
            self.notify_drill(tx, catalog, id, now, changes)?;
        } else if let Some((kind, by)) = &suppression {
            event(
                tx,
                id,
                now,
                kind,
                "sitewarden",
                Some(&m.text(
                    "alert-event-suppressed",
                    &[("kind", Arg::Text(kind)), ("by", Arg::Text(by))],
                )),
            )?;
        } else {
            self.start_escalation(tx, catalog, id, r.class, now, changes)?;
        }
        self.mute_targets(tx, catalog, id, r.class, now, changes)?;
        Ok(())
    }

    /// A new member of a silenced alert that its silence does not cover (a
    /// fire in a zone outside a detector test) calls people: the alert
    /// leaves the silence and escalates.
    fn release_outside_silence(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        id: i64,
        r: &Raise,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let held: Option<(Option<String>, Option<String>, String)> = tx
            .prepare_cached("SELECT suppressed, suppressed_by, class FROM alert WHERE id = ?1")?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()?;
        let Some((Some(kind), Some(by), class)) = held else {
            return Ok(());
        };
        let still = super::suppression::silence_covering(tx, r, r.at)?;
        if kind != "silenced" || still.is_some_and(|s| by == format!("silence {s}")) {
            return Ok(());
        }
        tx.execute(
            "UPDATE alert SET suppressed = NULL, suppressed_by = NULL, revision = revision + 1 WHERE id = ?1",
            [id],
        )?;
        let detail = catalog.site.messages.text(
            "alert-event-outside-silence",
            &[
                ("member", Arg::Text(&member_text(&catalog.site.messages, r))),
                ("silence", Arg::Text(&by)),
            ],
        );
        event(tx, id, now, "unsilenced", "sitewarden", Some(&detail))?;
        changes.push(id, AlertEvent::Unsilenced);
        self.start_escalation(
            tx,
            catalog,
            id,
            AlertClass::parse(&class).unwrap_or_default(),
            now,
            changes,
        )
    }

    pub(super) fn clear(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        key: &str,
        point: &str,
        at: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let Some((id, _)) = open_by_key(tx, key)? else {
            return Ok(());
        };
        tx.execute(
            "UPDATE alert_member SET active = 0, cleared_us = ?3 WHERE alert = ?1 AND point = ?2",
            params![id, point, micros(at)],
        )?;
        let still: i64 = tx.query_row(
            "SELECT count(*) FROM alert_member WHERE alert = ?1 AND active = 1",
            [id],
            |r| r.get(0),
        )?;
        if still > 0 {
            event(tx, id, at, "member_cleared", "sitewarden", Some(point))?;
            tx.execute(
                "UPDATE alert SET revision = revision + 1 WHERE id = ?1",
                [id],
            )?;
            changes.push(id, AlertEvent::MemberCleared);
            return Ok(());
        }
        tx.execute(
            "UPDATE alert SET active = 0, cleared_us = ?2, revision = revision + 1 WHERE id = ?1",
            params![id, micros(at)],
        )?;
        let alert = load(tx, id)?.ok_or(AlertError::NotFound(id))?;
        let must_stay = catalog.alerts.stays_open(alert.class)
            && alert.acknowledged_at.is_none()
            && !alert.drill
            && alert.suppressed.is_none();
        if must_stay {
            event(
                tx,
                id,
                at,
                "cleared",
                "sitewarden",
                Some(
                    &catalog
                        .site
                        .messages
                        .text("alert-event-cleared-stays-open", &[]),
                ),
            )?;
            changes.push(id, AlertEvent::Cleared);
        } else {
            event(tx, id, at, "cleared", "sitewarden", None)?;
            resolve(tx, id, at)?;
            changes.push(id, AlertEvent::Resolved);
        }
        self.release_muted(tx, catalog, id, at, changes)
    }
}

/// A member as its history shows it: the point, and its zone when known.
pub(super) fn member_text(m: &Messages, r: &Raise) -> String {
    match &r.zone {
        Some(zone) => m.text(
            "alert-event-member-zone",
            &[("point", Arg::Text(&r.point)), ("zone", Arg::Text(zone))],
        ),
        None => r.point.clone(),
    }
}

pub(super) fn open_by_key(tx: &Connection, key: &str) -> rusqlite::Result<Option<(i64, bool)>> {
    tx.prepare_cached("SELECT id, active FROM alert WHERE key = ?1 AND status = 'open'")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Adds or re-raises a member; past [`MAX_MEMBERS`] a new member is only counted.
pub(super) fn upsert_member(tx: &Connection, id: i64, r: &Raise) -> rusqlite::Result<()> {
    let listed: i64 = tx
        .prepare_cached("SELECT count(*) FROM alert_member WHERE alert = ?1")?
        .query_row([id], |row| row.get(0))?;
    let known = tx
        .prepare_cached("SELECT 1 FROM alert_member WHERE alert = ?1 AND point = ?2")?
        .exists(params![id, r.point])?;
    if listed >= MAX_MEMBERS && !known {
        tx.prepare_cached("UPDATE alert SET members_over = members_over + 1 WHERE id = ?1")?
            .execute([id])?;
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO alert_member (alert, point, zone, active, value, raised_us) VALUES (?1, ?2, ?3, 1, ?4, ?5)
         ON CONFLICT (alert, point) DO UPDATE SET active = 1, value = excluded.value, cleared_us = NULL",
    )?
    .execute(params![id, r.point, r.zone, r.value, micros(r.at)])
    .map(|_| ())
}
