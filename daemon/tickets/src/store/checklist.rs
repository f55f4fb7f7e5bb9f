//! Checklists on preventive tickets: the daily lift check's brakes, door
//! locks, rails, alarm bell and lighting, each passed, failed or read off
//! with a note. A failed item opens a repair ticket linked to the check
//! (its `parent`), once per item; a ticket with items not yet recorded
//! cannot be resolved.

use super::*;

sitewarden_model::text_enum! {
    /// What the technician found for one item.
    CheckResult {
        /// As it should be.
        Pass = "pass",
        /// Not as it should be: a repair ticket is opened.
        Fail = "fail",
        /// A reading taken (`value`), judged by the person who reads it.
        Value = "value",
    }
}

/// One item of a ticket's checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckItem {
    /// Position, from 0.
    pub item: i64,
    /// What to check, as the schedule words it.
    pub label: String,
    /// What was found; none until recorded.
    pub result: Option<CheckResult>,
    /// The reading, for a `value` item.
    pub value: Option<f64>,
    /// What the technician says.
    pub note: Option<String>,
    /// When it was recorded.
    pub checked_at: Option<Timestamp>,
    /// Who recorded it.
    pub checked_by: Option<String>,
    /// The repair ticket its failure opened.
    pub opened: Option<i64>,
}

/// One recorded item, as a technician sends it.
#[derive(Debug, Clone)]
pub struct CheckEntry {
    /// Position of the item, from 0.
    pub item: i64,
    /// What was found.
    pub result: CheckResult,
    /// The reading, for `value`.
    pub value: Option<f64>,
    /// Note (needed with a failure: it is the repair ticket's description).
    pub note: Option<String>,
    /// Who.
    pub actor: String,
}

impl TicketStore {
    /// Puts `labels` on ticket `id` as its checklist (inside `tx`).
    pub(super) fn attach_checklist(
        tx: &Transaction<'_>,
        id: i64,
        labels: &[String],
    ) -> rusqlite::Result<()> {
        for (item, label) in labels.iter().enumerate() {
            tx.prepare_cached(
                "INSERT INTO ticket_check (ticket, item, label) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, item as i64, label])?;
        }
        Ok(())
    }

    /// Records one item of ticket `id`'s checklist; a failure opens (once)
    /// a repair ticket for it. The check's change, then the new ticket's.
    pub fn check(
        &self,
        id: i64,
        entry: &CheckEntry,
        now: Timestamp,
    ) -> Result<Vec<TicketChange>, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = load(&tx, id)?.ok_or(TicketError::NotFound(id))?;
        if !matches!(
            ticket.status,
            Status::Registered | Status::Dispatched | Status::InProgress
        ) {
            return Err(TicketError::Invalid(format!(
                "the checklist of a ticket that is {} cannot be changed",
                ticket.status.as_str()
            )));
        }
        let note = entry
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        match entry.result {
            CheckResult::Fail if note.is_none() => {
                return Err(TicketError::Invalid(
                    "a failed item needs a `note` saying what is wrong: it becomes the repair ticket's description".into(),
                ));
            }
            CheckResult::Value if entry.value.is_none_or(|v| !v.is_finite()) => {
                return Err(TicketError::Invalid(
                    "a `value` item needs the reading as a number in `value`".into(),
                ));
            }
            _ => {}
        }
        let row: Option<(String, Option<i64>)> = tx
            .prepare_cached(
                "SELECT label, opened FROM ticket_check WHERE ticket = ?1 AND item = ?2",
            )?
            .query_row(params![id, entry.item], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((label, opened)) = row else {
            return Err(TicketError::Invalid(format!(
                "ticket {id} has no checklist item {}",
                entry.item
            )));
        };
        tx.prepare_cached(
            "UPDATE ticket_check SET result = ?3, value = ?4, note = ?5, checked_us = ?6, checked_by = ?7
             WHERE ticket = ?1 AND item = ?2",
        )?
        .execute(params![
            id,
            entry.item,
            entry.result.as_str(),
            entry.value,
            note,
            micros(now),
            entry.actor
        ])?;
        tx.prepare_cached(
            "UPDATE ticket SET revision = revision + 1, updated_us = ?2 WHERE id = ?1",
        )?
        .execute(params![id, micros(now)])?;
        let m = &self.outlets.messages;
        let said = m.text(
            &format!("ticket-check-{}", entry.result.as_str()),
            &[
                ("item", Arg::Text(&label)),
                ("value", Arg::Decimal(entry.value.unwrap_or_default())),
            ],
        );
        let said = match note {
            Some(n) => m.sentences(&[said, n.to_owned()]),
            None => said,
        };
        history(&tx, id, now, &entry.actor, "check", None, None, Some(&said))?;
        let mut changes = vec![self.announce(&tx, id, Change::Checked, None, now)?];
        if entry.result == CheckResult::Fail && opened.is_none() {
            let new = failed_item_ticket(m, &ticket, &label, note.unwrap_or_default(), now);
            let child = insert(&tx, m, &new, &entry.actor, now)?;
            tx.prepare_cached("UPDATE ticket SET parent = ?2 WHERE id = ?1")?
                .execute(params![child, id])?;
            tx.prepare_cached(
                "UPDATE ticket_check SET opened = ?3 WHERE ticket = ?1 AND item = ?2",
            )?
            .execute(params![id, entry.item, child])?;
            let created = self.announce(&tx, child, Change::Created, None, now)?;
            if let Some(notices) = &self.notices {
                let told = notices(crate::notify::Moment::Registered, &created.ticket, now);
                self.queue_notices(&tx, &created.ticket, &told, now)?;
            }
            changes.push(created);
        }
        tx.commit()?;
        Ok(changes)
    }
}

impl TicketStore {
    /// The checklists of `tickets` (those that have one), for a board.
    pub fn checklists(
        &self,
        tickets: &[i64],
    ) -> rusqlite::Result<std::collections::HashMap<i64, Vec<CheckItem>>> {
        let conn = lock(&self.reader);
        let mut out = std::collections::HashMap::new();
        for &id in tickets {
            let items = checklist(&conn, id)?;
            if !items.is_empty() {
                out.insert(id, items);
            }
        }
        Ok(out)
    }
}

/// The items of ticket `id`'s checklist, in order.
pub(super) fn checklist(conn: &Connection, id: i64) -> rusqlite::Result<Vec<CheckItem>> {
    conn.prepare_cached(
        "SELECT item, label, result, value, note, checked_us, checked_by, opened FROM ticket_check
         WHERE ticket = ?1 ORDER BY item",
    )?
    .query_map([id], |r| {
        Ok(CheckItem {
            item: r.get(0)?,
            label: r.get(1)?,
            result: r
                .get::<_, Option<String>>(2)?
                .and_then(|s| CheckResult::parse(&s)),
            value: r.get(3)?,
            note: r.get(4)?,
            checked_at: r.get::<_, Option<i64>>(5)?.map(from_micros),
            checked_by: r.get(6)?,
            opened: r.get(7)?,
        })
    })?
    .collect()
}

/// Labels of ticket `id`'s items not yet recorded.
pub(super) fn unchecked(conn: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT label FROM ticket_check WHERE ticket = ?1 AND result IS NULL ORDER BY item",
    )?
    .query_map([id], |r| r.get(0))?
    .collect()
}

/// The repair ticket a failed item opens: same place, same priority.
fn failed_item_ticket(
    m: &Messages,
    check: &Ticket,
    label: &str,
    note: &str,
    now: Timestamp,
) -> NewTicket {
    let (response, resolution) = (
        check.response_due.duration_since(check.created_at),
        check.resolution_due.duration_since(check.created_at),
    );
    let title = m.text(
        "ticket-check-failed-title",
        &[
            ("item", Arg::Text(label)),
            ("title", Arg::Text(&check.title)),
        ],
    );
    let targets = (
        now.checked_add(response).unwrap_or(now),
        now.checked_add(resolution).unwrap_or(now),
    );
    NewTicket {
        description: Some(note.to_owned()),
        device: check.device.clone(),
        location: check.location.clone(),
        ..NewTicket::work(Origin::Preventive, check.priority, title, now, targets)
    }
}
