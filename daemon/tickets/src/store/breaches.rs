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

    /// When the next service-level target (or acceptance reminder or
    /// default acceptance) falls due: the desk sleeps until then.
    pub fn next_breach_at(&self) -> rusqlite::Result<Option<Timestamp>> {
        let conn = lock(&self.reader);
        let acceptance = self.next_acceptance_at(&conn)?;
        let next: Option<i64> = conn
            .prepare_cached(
                "SELECT min(due) FROM (
                     SELECT min(response_due_us) AS due FROM ticket
                      WHERE status IN ('registered', 'dispatched') AND response_breached = 0
                     UNION ALL
                     SELECT min(resolution_due_us) FROM ticket
                      WHERE status IN ('registered', 'dispatched', 'in_progress') AND resolution_breached = 0)",
            )?
            .query_row([], |r| r.get(0))?;
        let next = match (next, acceptance) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(next.and_then(|us| Timestamp::from_microsecond(us).ok()))
    }
}

impl TicketStore {
    /// Deletes tickets closed (accepted or archived) before `before` with
    /// their history, checklists, photos and used links, a thousand per transaction; the number deleted. Open
    /// tickets are kept whatever their age.
    pub fn prune_closed(&self, before: Timestamp) -> rusqlite::Result<usize> {
        let mut conn = lock(&self.writer);
        db::prune_in_batches(
            &mut conn,
            "SELECT id FROM ticket WHERE status IN ('accepted', 'archived', 'cancelled')
               AND coalesce(archived_us, accepted_us, cancelled_us, resolved_us, created_us) < ?1
             ORDER BY id LIMIT ?2",
            before,
            &[
                "DELETE FROM ticket_history WHERE ticket = ?1",
                "DELETE FROM ticket_check WHERE ticket = ?1",
                "DELETE FROM ticket_photo WHERE ticket = ?1",
                "DELETE FROM used_link WHERE ticket = ?1",
                "DELETE FROM ticket WHERE id = ?1",
            ],
        )
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn closed_tickets_past_their_retention_are_pruned_and_open_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let outlets = Outlets {
            site: "s".into(),
            topics: None,
            webhook: false,
            messages: std::sync::Arc::new(sitewarden_model::locale::Messages::english()),
        };
        let store = TicketStore::open(dir.path(), outlets).unwrap();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let day = |n: i64| micros(t0 + jiff::SignedDuration::from_hours(24 * n));
        {
            let conn = lock(&store.writer);
            for (id, status, closed) in [
                (1, "archived", Some(day(1))),
                (2, "open", None),
                (3, "accepted", None),
                (4, "archived", Some(day(10))),
            ] {
                conn.execute(
                    "INSERT INTO ticket (id, origin, category, priority, status, title, last_seen_us,
                         created_us, response_due_us, resolution_due_us, archived_us)
                     VALUES (?1, 'manual', 'repair', 'normal', ?2, 't', ?3, ?3, ?3, ?3, ?4)",
                    params![id, status, day(0), closed],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO ticket_history (ticket, at_us, actor, action, to_status)
                     VALUES (?1, ?2, 'x', 'create', 'new')",
                    params![id, day(0)],
                )
                .unwrap();
            }
        }
        // Pruned as of day 5: ticket 1 (archived day 1) and ticket 3
        // (accepted, no close time recorded: its creation counts).
        assert_eq!(
            store
                .prune_closed(t0 + jiff::SignedDuration::from_hours(24 * 5))
                .unwrap(),
            2
        );
        let conn = lock(&store.writer);
        let left: Vec<i64> = conn
            .prepare("SELECT id FROM ticket ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, vec![2, 4], "open and recently closed tickets stay");
        let history: i64 = conn
            .query_row("SELECT count(*) FROM ticket_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(history, 2, "the pruned tickets' history goes with them");
    }
}
