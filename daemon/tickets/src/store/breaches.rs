//! Service levels: tickets past their response or resolution target are flagged once each.

use super::*;

impl TicketStore {
    /// Flags open tickets past a target; one change per newly flagged target.
    pub fn flag_breaches(&self, now: Timestamp) -> Result<Vec<TicketChange>, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let checks = [
            (
                Change::ResponseTargetMissed,
                "response_breached",
                "status IN ('registered', 'dispatched') AND response_due_us < ?1 AND response_breached = 0",
            ),
            (
                Change::ResolutionTargetMissed,
                "resolution_breached",
                "status IN ('registered', 'dispatched', 'in_progress') AND resolution_due_us < ?1
                 AND resolution_breached = 0",
            ),
        ];
        let mut changes = Vec::new();
        for (change, flag, condition) in checks {
            let ids: Vec<i64> = tx
                .prepare_cached(&format!(
                    "SELECT id FROM ticket WHERE {condition} ORDER BY id"
                ))?
                .query_map([micros(now)], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in ids {
                tx.execute(
                    &format!("UPDATE ticket SET {flag} = 1, revision = revision + 1 WHERE id = ?1"),
                    [id],
                )?;
                history(
                    &tx,
                    id,
                    now,
                    "sitewarden",
                    change.as_str(),
                    None,
                    None,
                    None,
                )?;
                changes.push(self.announce(&tx, id, change, None, now)?);
            }
        }
        tx.commit()?;
        Ok(changes)
    }
}
