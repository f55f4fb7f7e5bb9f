//! Response plans: each step of an alert's plan marked done (by whom, with
//! what note, how long after the alarm) and overdue steps announced to
//! their people once.

use super::*;

/// One step of an alert's response plan, as it stands.
#[derive(Debug, Clone, Serialize)]
pub struct PlanProgress {
    /// Step number, from 1.
    pub step: usize,
    /// What to do.
    #[serde(rename = "do")]
    pub text: String,
    /// When it is due, if it has a time.
    pub due_at: Option<Timestamp>,
    /// When it was done.
    pub done_at: Option<Timestamp>,
    /// Who marked it done.
    pub done_by: Option<String>,
    /// What they said.
    pub note: Option<String>,
    /// Seconds from the alarm to done.
    pub took_s: Option<f64>,
    /// When it was announced as overdue.
    pub overdue_at: Option<Timestamp>,
}

impl AlertStore {
    /// Alert `id`'s plan with what was done, or `None` without an alert.
    pub fn plan(&self, catalog: &Catalog, id: i64) -> rusqlite::Result<Option<Vec<PlanProgress>>> {
        let conn = lock(&self.reader);
        let Some(alert) = load(&conn, id)? else {
            return Ok(None);
        };
        plan_of(&conn, catalog, &alert).map(Some)
    }

    /// Marks step `step` (from 1) of alert `id`'s plan done.
    pub fn plan_step_done(
        &self,
        catalog: &Catalog,
        id: i64,
        step: usize,
        (by, note): (&str, Option<&str>),
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                let alert = load(tx, id)?.ok_or(AlertError::NotFound(id))?;
                let steps = catalog.alerts.plans.get(&alert.class).map_or(&[][..], Vec::as_slice);
                let Some(what) = step.checked_sub(1).and_then(|i| steps.get(i)) else {
                    return Err(AlertError::Invalid(format!(
                        "the {} plan has {} steps",
                        alert.class.as_str(),
                        steps.len()
                    )));
                };
                let done: Option<i64> = tx
                    .prepare_cached("SELECT done_us FROM alert_plan WHERE alert = ?1 AND idx = ?2")?
                    .query_row(params![id, step as i64], |r| r.get(0))
                    .optional()?
                    .flatten();
                if done.is_some() {
                    return Err(AlertError::Conflict(format!("step {step} was done already")));
                }
                tx.prepare_cached(
                    "INSERT INTO alert_plan (alert, idx, done_us, done_by, note) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (alert, idx) DO UPDATE SET done_us = ?3, done_by = ?4, note = ?5",
                )?
                .execute(params![id, step as i64, micros(now), by, note])?;
                tx.execute("UPDATE alert SET revision = revision + 1 WHERE id = ?1", [id])?;
                let m = &catalog.site.messages;
                let args = [
                    ("step", Arg::Number(step as i64)),
                    ("what", Arg::Text(&what.text)),
                    ("note", Arg::Text(note.unwrap_or_default())),
                ];
                let id_text = if note.is_some() {
                    "alert-event-plan-step-note"
                } else {
                    "alert-event-plan-step"
                };
                event(tx, id, now, "plan_step", by, Some(&m.text(id_text, &args)))?;
                changes.push(id, AlertEvent::PlanStep);
                Ok(())
            },
            now,
        )
        .map(|((), c)| c)
    }

    /// Tells the people of every plan step past its time and not done
    /// (once each, on the class's first policy step's channels), for open
    /// alerts that are not drills.
    pub fn announce_overdue_steps(
        &self,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                for alert in open_with_plans(tx, catalog)? {
                    let steps = &catalog.alerts.plans[&alert.class];
                    let progress = plan_of(tx, catalog, &alert)?;
                    for p in progress.iter().filter(|p| {
                        p.done_at.is_none()
                            && p.overdue_at.is_none()
                            && p.due_at.is_some_and(|d| d <= now)
                    }) {
                        tx.prepare_cached(
                            "INSERT INTO alert_plan (alert, idx, overdue_us) VALUES (?1, ?2, ?3)
                             ON CONFLICT (alert, idx) DO UPDATE SET overdue_us = ?3",
                        )?
                        .execute(params![
                            alert.id,
                            p.step as i64,
                            micros(now)
                        ])?;
                        let m = &catalog.site.messages;
                        let detail = m.text(
                            "alert-event-plan-overdue",
                            &[
                                ("step", Arg::Number(p.step as i64)),
                                ("what", Arg::Text(&p.text)),
                            ],
                        );
                        event(
                            tx,
                            alert.id,
                            now,
                            "plan_overdue",
                            "sitewarden",
                            Some(&detail),
                        )?;
                        changes.push(alert.id, AlertEvent::PlanOverdue);
                        if alert.drill {
                            continue;
                        }
                        let policy = catalog
                            .alerts
                            .policies
                            .get(&alert.class)
                            .or(catalog.alerts.default_policy.as_ref());
                        let Some(first) = policy.and_then(|p| p.steps.first()) else {
                            continue;
                        };
                        let who = &steps[p.step - 1].who;
                        let who = if who.is_empty() { &first.notify } else { who };
                        self.notify(
                            tx,
                            catalog,
                            &alert,
                            who,
                            &first.channels,
                            notify::Reason::PlanOverdue(p.step),
                            now,
                            changes,
                        )?;
                    }
                }
                Ok(())
            },
            now,
        )
        .map(|((), c)| c)
    }

    /// When the next plan step of an open alert falls due.
    pub fn next_plan_due(&self, catalog: &Catalog) -> rusqlite::Result<Option<Timestamp>> {
        let conn = lock(&self.reader);
        let mut next: Option<Timestamp> = None;
        for alert in open_with_plans(&conn, catalog)? {
            for p in plan_of(&conn, catalog, &alert)? {
                if let (Some(due), None, None) = (p.due_at, p.done_at, p.overdue_at) {
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
        }
        Ok(next)
    }
}

/// One drill alarm in a month's drill report.
#[derive(Debug, Clone, Serialize)]
pub struct DrillRun {
    /// The alert the drill raised.
    pub alert: i64,
    /// What was drilled (fire, intrusion, lift entrapment, …).
    pub class: AlertClass,
    /// Its title.
    pub title: String,
    /// When it was raised.
    pub raised_at: Timestamp,
    /// Seconds from the alarm to someone taking it.
    pub acknowledged_s: Option<f64>,
    /// Its plan's steps and the time each took.
    pub plan: Vec<PlanProgress>,
}

impl AlertStore {
    /// The drill alarms raised in `[from, to)`, oldest first, with their plans.
    pub fn drill_report(
        &self,
        catalog: &Catalog,
        from: Timestamp,
        to: Timestamp,
    ) -> rusqlite::Result<Vec<DrillRun>> {
        let conn = lock(&self.reader);
        let ids: Vec<i64> = conn
            .prepare_cached(
                "SELECT id FROM alert WHERE drill = 1 AND raised_us >= ?1 AND raised_us < ?2 ORDER BY raised_us",
            )?
            .query_map(params![micros(from), micros(to)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(alert) = load(&conn, id)? else {
                continue;
            };
            let plan = plan_of(&conn, catalog, &alert)?;
            runs.push(DrillRun {
                alert: alert.id,
                class: alert.class,
                title: alert.title.clone(),
                raised_at: alert.raised_at,
                acknowledged_s: alert
                    .acknowledged_at
                    .map(|a| (a.as_microsecond() - alert.raised_at.as_microsecond()) as f64 / 1e6),
                plan,
            });
        }
        Ok(runs)
    }
}

/// Open alerts of classes with a response plan.
fn open_with_plans(conn: &Connection, catalog: &Catalog) -> rusqlite::Result<Vec<Alert>> {
    if catalog.alerts.plans.is_empty() {
        return Ok(Vec::new());
    }
    // Only the classes that have a plan: in an alarm storm of other classes
    // this stays a short read. The names are the enum's own, never input.
    let classes: Vec<String> = catalog
        .alerts
        .plans
        .keys()
        .map(|c| format!("'{}'", c.as_str()))
        .collect();
    let ids: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT id FROM alert WHERE status = 'open' AND class IN ({}) ORDER BY id",
            classes.join(", ")
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(alert) = load(conn, id)? {
            out.push(alert);
        }
    }
    Ok(out)
}

/// What `alert_plan` holds for a step: done, by, note, overdue.
type StepRow = (Option<i64>, Option<String>, Option<String>, Option<i64>);

/// `alert`'s plan steps with what was recorded for them.
pub(super) fn plan_of(
    conn: &Connection,
    catalog: &Catalog,
    alert: &Alert,
) -> rusqlite::Result<Vec<PlanProgress>> {
    let Some(steps) = catalog.alerts.plans.get(&alert.class) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let row: Option<StepRow> = conn
            .prepare_cached(
                "SELECT done_us, done_by, note, overdue_us FROM alert_plan WHERE alert = ?1 AND idx = ?2",
            )?
            .query_row(params![alert.id, (i + 1) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let (done, by, note, overdue) = row.unwrap_or_default();
        let done_at = done.map(from_micros);
        out.push(PlanProgress {
            step: i + 1,
            text: step.text.clone(),
            due_at: step
                .within
                .and_then(|w| alert.raised_at.checked_add(w).ok()),
            done_at,
            done_by: by,
            note,
            took_s: done_at
                .map(|d| (d.as_microsecond() - alert.raised_at.as_microsecond()) as f64 / 1e6),
            overdue_at: overdue.map(from_micros),
        });
    }
    Ok(out)
}
