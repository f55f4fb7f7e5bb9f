//! Ticket rows: how a stored row becomes a [`Ticket`], and the text form of enums in columns.

use super::*;

pub(super) fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<Ticket>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM ticket WHERE id = ?1"))?
        .query_row([id], map_ticket)
        .optional()
}

pub(super) fn map_ticket(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let bad = |i: usize| {
        rusqlite::Error::InvalidColumnType(i, "unknown name".into(), rusqlite::types::Type::Text)
    };
    let opt_time = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Ticket {
        id: r.get(0)?,
        origin: Origin::parse(&r.get::<_, String>(1)?).ok_or_else(|| bad(1))?,
        category: parse_text(&r.get::<_, String>(2)?).ok_or_else(|| bad(2))?,
        priority: Priority::parse(&r.get::<_, String>(3)?).ok_or_else(|| bad(3))?,
        status: Status::parse(&r.get::<_, String>(4)?).ok_or_else(|| bad(4))?,
        title: r.get(5)?,
        description: r.get(6)?,
        device: r.get(7)?,
        location: r.get(8)?,
        rule: r.get(9)?,
        point: r.get(10)?,
        value: r.get(11)?,
        threshold: r.get(12)?,
        severity: r.get::<_, Option<String>>(13)?.and_then(|s| parse_text(&s)),
        requester: r.get(14)?,
        contact: r.get(15)?,
        assignee: r.get(16)?,
        occurrences: r.get(17)?,
        last_seen: from_micros(r.get(18)?),
        condition_cleared_at: opt_time(19)?,
        created_at: from_micros(r.get(20)?),
        responded_at: opt_time(21)?,
        resolved_at: opt_time(22)?,
        accepted_at: opt_time(23)?,
        archived_at: opt_time(24)?,
        response_due: from_micros(r.get(25)?),
        resolution_due: from_micros(r.get(26)?),
        response_breached: r.get(27)?,
        resolution_breached: r.get(28)?,
        revision: r.get(29)?,
        held_since: opt_time(30)?,
        hold_reason: r.get(31)?,
        cancelled_at: opt_time(32)?,
        channel: r
            .get::<_, Option<String>>(33)?
            .and_then(|c| Channel::parse(&c)),
        cause: r.get(34)?,
        reported_at: opt_time(35)?,
        reworks: r.get(36)?,
        visit_due: opt_time(37)?,
        visited_at: opt_time(38)?,
        satisfaction: r.get(39)?,
        accepted_via: r
            .get::<_, Option<String>>(40)?
            .and_then(|v| AcceptedVia::parse(&v)),
        acceptance_reminded_at: opt_time(41)?,
        parent: r.get(42)?,
    })
}

/// The serde name of a config enum (`major`, `repair`).
pub(super) fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(super) fn parse_text<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}
