//! Preventive maintenance: tickets opened by calendar schedules, with the
//! schedule's checklist, and each schedule's progress.

use super::*;

impl TicketStore {
    /// Opens a preventive ticket unless the previous one is still open, and
    /// records that the occurrence at `new.at` was handled.
    pub fn open_preventive(
        &self,
        schedule_id: &str,
        new: &NewTicket,
        checklist: &[String],
    ) -> Result<Option<TicketChange>, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO preventive_state (id, last_due_us) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET last_due_us = excluded.last_due_us",
            params![schedule_id, micros(new.at)],
        )?;
        let key = new.dedup_key.as_deref().unwrap_or_default();
        let change = if open_by_key(&tx, key)?.is_some() {
            None
        } else {
            let id = insert(&tx, &self.outlets.messages, new, "sitewarden", new.at)?;
            Self::attach_checklist(&tx, id, checklist)?;
            Some(self.announce(&tx, id, Change::Created, None, new.at)?)
        };
        tx.commit()?;
        Ok(change)
    }

    /// The last occurrence of a preventive schedule that was handled.
    pub fn preventive_last(&self, schedule_id: &str) -> rusqlite::Result<Option<Timestamp>> {
        lock(&self.reader)
            .prepare_cached("SELECT last_due_us FROM preventive_state WHERE id = ?1")?
            .query_row([schedule_id], |r| r.get::<_, i64>(0))
            .optional()
            .map(|t| t.map(from_micros))
    }

    /// Marks a preventive schedule as started, so it does not fire for the past.
    pub fn preventive_start(&self, schedule_id: &str, now: Timestamp) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute(
                "INSERT OR IGNORE INTO preventive_state (id, last_due_us) VALUES (?1, ?2)",
                params![schedule_id, micros(now)],
            )
            .map(|_| ())
    }

    /// What the extinguisher work recorded: every inspection checklist item
    /// passed (its label, when) on tickets of `inspection_key`, and every
    /// accepted service (`extinguisher-service:<unit>`, when accepted).
    pub fn extinguisher_records(
        &self,
        inspection_key: &str,
    ) -> rusqlite::Result<ExtinguisherRecords> {
        let conn = lock(&self.reader);
        let inspections = conn
            .prepare_cached(
                "SELECT c.label, c.checked_us FROM ticket_check c JOIN ticket t ON t.id = c.ticket
                 WHERE t.dedup_key = ?1 AND c.result IN ('pass', 'value') AND c.checked_us IS NOT NULL",
            )?
            .query_map([inspection_key], |r| {
                Ok((r.get::<_, String>(0)?, from_micros(r.get(1)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let services = conn
            .prepare_cached(
                "SELECT dedup_key, accepted_us FROM ticket
                 WHERE dedup_key LIKE 'extinguisher-service:%' AND accepted_us IS NOT NULL",
            )?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, from_micros(r.get(1)?))))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ExtinguisherRecords {
            inspections,
            services,
        })
    }
}

/// What [`TicketStore::extinguisher_records`] found.
#[derive(Debug, Default, Clone)]
pub struct ExtinguisherRecords {
    /// (checklist item label, when it was passed).
    pub inspections: Vec<(String, Timestamp)>,
    /// (service dedup key, when the service was accepted).
    pub services: Vec<(String, Timestamp)>,
}
