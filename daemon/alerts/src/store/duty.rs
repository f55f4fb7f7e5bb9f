//! Shift check-ins and the handover note, and how far the look for missing
//! check-ins has come (so a restart neither repeats nor skips a shift).

use super::*;

/// A check-in, as served.
#[derive(Debug, Clone, Serialize)]
pub struct CheckIn {
    /// On-duty role.
    pub role: String,
    /// The shift's start.
    pub shift_start: Timestamp,
    /// Person id.
    pub person: String,
    /// When they checked in.
    pub at: Timestamp,
    /// Their handover note.
    pub note: Option<String>,
    /// Who entered it (a token or session name).
    pub by: String,
}

impl AlertStore {
    /// Records a check-in; `false` when that shift was checked in for already.
    pub fn check_in(&self, c: &CheckIn) -> rusqlite::Result<bool> {
        lock(&self.writer)
            .execute(
                "INSERT OR IGNORE INTO check_in (role, shift_us, person, at_us, note, by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    c.role,
                    micros(c.shift_start),
                    c.person,
                    micros(c.at),
                    c.note,
                    c.by
                ],
            )
            .map(|n| n == 1)
    }

    /// Whether `person` checked in for their shift of `role` starting at `start`.
    pub fn checked_in(&self, role: &str, start: Timestamp, person: &str) -> rusqlite::Result<bool> {
        lock(&self.reader)
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM check_in WHERE role = ?1 AND shift_us = ?2 AND person = ?3)",
            )?
            .query_row(params![role, micros(start), person], |r| r.get(0))
    }

    /// The check-in of the shift of `role` before `start` (its handover note).
    pub fn previous_check_in(
        &self,
        role: &str,
        start: Timestamp,
    ) -> rusqlite::Result<Option<CheckIn>> {
        lock(&self.reader)
            .prepare_cached(
                "SELECT role, shift_us, person, at_us, note, by FROM check_in
                 WHERE role = ?1 AND shift_us < ?2 ORDER BY shift_us DESC LIMIT 1",
            )?
            .query_row(params![role, micros(start)], |r| {
                Ok(CheckIn {
                    role: r.get(0)?,
                    shift_start: from_micros(r.get(1)?),
                    person: r.get(2)?,
                    at: from_micros(r.get(3)?),
                    note: r.get(4)?,
                    by: r.get(5)?,
                })
            })
            .optional()
    }

    /// Until when missing check-ins have been looked for.
    pub fn duty_looked_until(&self) -> rusqlite::Result<Option<Timestamp>> {
        lock(&self.reader)
            .prepare_cached("SELECT until_us FROM duty_look WHERE id = 1")?
            .query_row([], |r| r.get::<_, i64>(0))
            .optional()
            .map(|t| t.map(from_micros))
    }

    /// Records that missing check-ins were looked for until `until`.
    pub fn set_duty_looked_until(&self, until: Timestamp) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute(
                "INSERT INTO duty_look (id, until_us) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET until_us = excluded.until_us",
                [micros(until)],
            )
            .map(|_| ())
    }

    /// The open alert with group key `key`, if any.
    pub fn open_alert_by_key(&self, key: &str) -> rusqlite::Result<Option<i64>> {
        let conn = lock(&self.reader);
        incident::open_by_key(&conn, key).map(|o| o.map(|(id, _)| id))
    }
}
