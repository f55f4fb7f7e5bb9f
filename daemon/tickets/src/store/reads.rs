//! Reads for the API and reports: one ticket with its history and deliveries, filtered lists, counts.

use super::*;

impl TicketStore {
    /// One ticket with its history and deliveries.
    pub fn get(&self, id: i64) -> rusqlite::Result<Option<TicketDetail>> {
        let conn = lock(&self.reader);
        let Some(ticket) = load(&conn, id)? else {
            return Ok(None);
        };
        let history = conn
            .prepare_cached(
                "SELECT at_us, actor, action, from_status, to_status, note FROM ticket_history
                 WHERE ticket = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                Ok(HistoryEntry {
                    at: from_micros(r.get(0)?),
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    from: r.get(3)?,
                    to: r.get(4)?,
                    note: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let deliveries = delivery::of_subject(&conn, &format!("ticket:{id}"))?;
        let checklist = checklist::checklist(&conn, id)?;
        let photos = photos::photos(&conn, id)?;
        Ok(Some(TicketDetail {
            ticket,
            history,
            deliveries,
            checklist,
            photos,
        }))
    }

    /// Tickets matching a filter, newest first.
    pub fn list(&self, f: &ListFilter) -> rusqlite::Result<Vec<Ticket>> {
        let mut sql = format!("SELECT {COLUMNS} FROM ticket WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut push = |clause: &str, value: rusqlite::types::Value| {
            args.push(value);
            sql.push_str(&format!(" AND {clause} ?{}", args.len()));
        };
        if let Some(s) = f.status {
            push("status =", s.as_str().to_owned().into());
        }
        if let Some(p) = f.priority {
            push("priority =", p.as_str().to_owned().into());
        }
        if let Some(d) = &f.device {
            push("device =", d.clone().into());
        }
        if let Some(a) = &f.assignee {
            push("assignee =", a.clone().into());
        }
        if let Some(t) = f.from {
            push("created_us >=", micros(t).into());
        }
        if let Some(t) = f.to {
            push("created_us <", micros(t).into());
        }
        if let Some(b) = f.before {
            push("id <", b.into());
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", f.limit));
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), map_ticket)?;
        rows.collect()
    }

    /// Tickets registered in `[from, to)`, for reports.
    pub fn registered_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> rusqlite::Result<Vec<Ticket>> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM ticket WHERE created_us >= ?1 AND created_us < ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![micros(from), micros(to)], map_ticket)?;
        rows.collect()
    }

    /// Open tickets per priority, for the periodic state snapshot.
    pub fn open_by_priority(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        lock(&self.reader)
            .prepare_cached(&format!(
                "SELECT priority, count(*) FROM ticket WHERE {OPEN} GROUP BY priority"
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect()
    }

    /// Open tickets, for the console and counts.
    pub fn open_count(&self) -> rusqlite::Result<u64> {
        lock(&self.reader)
            .query_row(
                &format!("SELECT count(*) FROM ticket WHERE {OPEN}"),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
    }
}
