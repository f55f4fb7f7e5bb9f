//! The requester's acceptance: answered through their link (once, for the
//! round of work it was sent for), and chased when it does not come — the
//! front desk is reminded, and the site may accept by default.

use super::*;
use crate::accept_link::AcceptGrant;
use crate::notify::Moment;

/// How long a repair may wait for the requester (`[tickets] acceptance`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptanceWait {
    /// After this long the front desk is reminded; never when `None`.
    pub remind_after: Option<std::time::Duration>,
    /// After this long the repair is accepted by default; never when `None`.
    pub accept_after: Option<std::time::Duration>,
}

/// The requester's answer on the link's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAnswer {
    /// Accepted; otherwise sent back for rework.
    pub accept: bool,
    /// What they say (needed to send it back).
    pub note: Option<String>,
    /// Their satisfaction, 1–5, with an acceptance.
    pub score: Option<u8>,
}

/// Why an answer through a link is refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkAnswerError {
    /// The link was used already.
    #[error("the link has been used")]
    Used,
    /// The ticket is not waiting for this round's acceptance.
    #[error("the repair is not waiting for this answer")]
    NotWaiting,
    /// The answer itself was refused (a rejection without a note) or the store failed.
    #[error(transparent)]
    Ticket(#[from] TicketError),
}

impl From<rusqlite::Error> for LinkAnswerError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Ticket(e.into())
    }
}

impl TicketStore {
    /// The same store chasing acceptances as `wait` says.
    pub fn with_acceptance_wait(mut self, wait: AcceptanceWait) -> Self {
        self.acceptance = wait;
        self
    }

    /// Whether `grant`'s ticket waits for the answer its link was sent for
    /// (resolved, in the same round) and the link is unused.
    pub fn link_answerable(&self, grant: &AcceptGrant) -> Result<(), LinkAnswerError> {
        let conn = lock(&self.reader);
        answerable(&conn, grant)
    }

    /// Records the requester's answer through their link: the link is used
    /// up in the same transaction as the step, and the step is recorded as
    /// the requester's (an acceptance `via` the link).
    pub fn answer_by_link(
        &self,
        grant: &AcceptGrant,
        answer: &LinkAnswer,
        now: Timestamp,
    ) -> Result<TicketChange, LinkAnswerError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        answerable(&tx, grant)?;
        tx.prepare_cached("INSERT INTO used_link (id, ticket, used_us) VALUES (?1, ?2, ?3)")?
            .execute(params![grant.id, grant.ticket, micros(now)])?;
        let requester: Option<String> = tx
            .prepare_cached("SELECT requester FROM ticket WHERE id = ?1")?
            .query_row([grant.ticket], |r| r.get(0))?;
        let request = TransitionRequest {
            action: if answer.accept {
                Action::Accept
            } else {
                Action::Reject
            },
            actor: format!("link:{}", requester.as_deref().unwrap_or("requester")),
            assignee: None,
            note: answer.note.clone(),
            score: answer.score.filter(|_| answer.accept),
        };
        let change = self.step(&tx, grant.ticket, &request, now, AcceptedVia::Link)?;
        tx.commit()?;
        Ok(change)
    }

    /// Reminds the front desk of repairs waiting past `remind_after` (once
    /// per round) and accepts those past `accept_after` by default; one
    /// change each.
    pub fn chase_acceptance(&self, now: Timestamp) -> Result<Vec<TicketChange>, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changes = Vec::new();
        if let Some(after) = self.acceptance.accept_after {
            for id in waiting_since(&tx, "1", micros(now) - after.as_micros() as i64)? {
                let request = TransitionRequest {
                    action: Action::Accept,
                    actor: "sitewarden".into(),
                    assignee: None,
                    note: Some(
                        self.outlets
                            .messages
                            .text("ticket-note-accepted-by-default", &[]),
                    ),
                    score: None,
                };
                changes.push(self.step(&tx, id, &request, now, AcceptedVia::Default)?);
            }
        }
        if let Some(after) = self.acceptance.remind_after {
            let since = micros(now) - after.as_micros() as i64;
            // for engineers: SQL.
            let not_reminded = "acceptance_reminded_us IS NULL";
            for id in waiting_since(&tx, not_reminded, since)? {
                tx.prepare_cached(
                    "UPDATE ticket SET acceptance_reminded_us = ?2, revision = revision + 1 WHERE id = ?1",
                )?
                .execute(params![id, micros(now)])?;
                let change = Change::AcceptanceOverdue;
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
                let change = self.announce(&tx, id, change, None, now)?;
                if let Some(notices) = &self.notices {
                    let told = notices(Moment::AcceptanceOverdue, &change.ticket, now);
                    self.queue_notices(&tx, &change.ticket, &told, now)?;
                }
                changes.push(change);
            }
        }
        tx.commit()?;
        Ok(changes)
    }

    /// When the next reminder or default acceptance falls due.
    pub(super) fn next_acceptance_at(&self, conn: &Connection) -> rusqlite::Result<Option<i64>> {
        let remind = self.acceptance.remind_after.map(|d| d.as_micros() as i64);
        let accept = self.acceptance.accept_after.map(|d| d.as_micros() as i64);
        conn.prepare_cached(
            "SELECT min(due) FROM (
                 SELECT min(resolved_us) + ?1 AS due FROM ticket
                  WHERE status = 'resolved' AND acceptance_reminded_us IS NULL AND ?1 IS NOT NULL
                 UNION ALL
                 SELECT min(resolved_us) + ?2 FROM ticket
                  WHERE status = 'resolved' AND ?2 IS NOT NULL)",
        )?
        .query_row(params![remind, accept], |r| r.get(0))
    }
}

/// Resolved tickets matching `condition` that were resolved before `before`.
fn waiting_since(tx: &Transaction<'_>, condition: &str, before: i64) -> rusqlite::Result<Vec<i64>> {
    tx.prepare_cached(&format!(
        "SELECT id FROM ticket WHERE status = 'resolved' AND {condition} AND resolved_us < ?1 ORDER BY id"
    ))?
    .query_map([before], |r| r.get(0))?
    .collect()
}

/// Whether the link is unused and its ticket resolved in the link's round.
fn answerable(conn: &Connection, grant: &AcceptGrant) -> Result<(), LinkAnswerError> {
    let used: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM used_link WHERE id = ?1")?
        .query_row([&grant.id], |r| r.get(0))
        .optional()?;
    if used.is_some() {
        return Err(LinkAnswerError::Used);
    }
    let state: Option<(String, i64)> = conn
        .prepare_cached("SELECT status, reworks FROM ticket WHERE id = ?1")?
        .query_row([grant.ticket], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match state {
        Some((status, round)) if status == Status::Resolved.as_str() && round == grant.round => {
            Ok(())
        }
        _ => Err(LinkAnswerError::NotWaiting),
    }
}
