//! Escalation: the policy's steps and repeats at their stored deadlines, the notifications of each step, and acknowledgement, which stops it.

use super::*;

impl AlertStore {
    /// Notifies the first steps now and stores the next deadline.
    pub(super) fn start_escalation(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        id: i64,
        class: AlertClass,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        if catalog.alerts.policy(class).is_none() {
            event(
                tx,
                id,
                now,
                "unrouted",
                "sitewarden",
                Some(&catalog.site.messages.text(
                    "alert-event-unrouted",
                    &[("class", Arg::Text(class.as_str()))],
                )),
            )?;
            return Ok(());
        }
        tx.execute(
            "UPDATE alert SET step = 0, next_at_us = ?2 WHERE id = ?1",
            params![id, micros(now)],
        )?;
        self.escalate_one(tx, catalog, id, now, changes)
    }

    /// Moves every escalation deadline, and the raise time of every open
    /// alert nobody has acknowledged, by a clock step (see
    /// `sitewarden_runtime::clock`): a backward step neither holds the next
    /// escalation nor the unconfirmed-delivery fault for the length of the
    /// step, and a forward one fires neither early. The alerts moved.
    pub fn shift_deadlines(&self, by: jiff::SignedDuration) -> rusqlite::Result<usize> {
        let us = i64::try_from(by.as_micros()).unwrap_or(0);
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let moved = tx.execute(
            "UPDATE alert SET next_at_us = next_at_us + ?1 WHERE next_at_us IS NOT NULL",
            params![us],
        )?;
        tx.execute(
            "UPDATE alert SET raised_us = raised_us + ?1 WHERE status = 'open' AND acked_us IS NULL",
            params![us],
        )?;
        tx.commit()?;
        self.deadlines.notify_one();
        Ok(moved)
    }

    /// Brings stored escalation deadlines back to at most `longest` from
    /// `now`: a deadline further away was stored under a clock that was
    /// ahead (and corrected while the daemon was down), and would hold the
    /// next notification for the length of that error. The number moved.
    pub fn cap_deadlines(
        &self,
        now: Timestamp,
        longest: std::time::Duration,
    ) -> rusqlite::Result<usize> {
        let latest =
            micros(now).saturating_add(i64::try_from(longest.as_micros()).unwrap_or(i64::MAX));
        let moved = lock(&self.writer).execute(
            "UPDATE alert SET next_at_us = ?1 WHERE next_at_us > ?1",
            params![latest],
        )?;
        self.deadlines.notify_one();
        Ok(moved)
    }

    /// Notifies every alert whose deadline has come.
    pub fn escalate_due(
        &self,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                let due: Vec<i64> = tx
                    .prepare_cached(
                        "SELECT id FROM alert WHERE next_at_us IS NOT NULL AND next_at_us <= ?1 ORDER BY next_at_us",
                    )?
                    .query_map([micros(now)], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for id in due {
                    self.escalate_one(tx, catalog, id, now, changes)?;
                }
                Ok(())
            },
            now,
        )
        .map(|((), c)| c)
    }

    pub(super) fn escalate_one(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        id: i64,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let Some(alert) = load(tx, id)? else {
            return Ok(());
        };
        let (Some(due), Some(policy)) =
            (alert.next_escalation_at, catalog.alerts.policy(alert.class))
        else {
            return Ok(());
        };
        let Plan {
            notify,
            repeat,
            missed,
            next_step,
            next_at,
        } = escalation::plan(policy, alert.step as usize, due, now);
        for step in &notify {
            let reason = if repeat {
                Reason::Repeat {
                    step: step + 1,
                    missed,
                }
            } else {
                Reason::Step(step + 1)
            };
            let Some(s) = policy.steps.get(*step) else {
                continue;
            };
            self.notify(
                tx,
                catalog,
                &alert,
                &s.notify,
                &s.channels,
                reason,
                now,
                changes,
            )?;
        }
        tx.execute(
            "UPDATE alert SET step = ?2, next_at_us = ?3, revision = revision + 1 WHERE id = ?1",
            params![id, next_step as i64, micros(next_at)],
        )?;
        if alert.step > 0 {
            let kind = if repeat {
                AlertEvent::Repeated
            } else {
                AlertEvent::Escalated
            };
            let steps: Vec<String> = notify.iter().map(|s| (s + 1).to_string()).collect();
            event(
                tx,
                id,
                now,
                kind.as_str(),
                "sitewarden",
                Some(&catalog.site.messages.text(
                    "alert-event-no-acknowledgement",
                    &[("steps", Arg::Text(&catalog.site.messages.list(&steps)))],
                )),
            )?;
            changes.push(id, kind);
        }
        Ok(())
    }

    /// Queues one notification per channel of a step, to the people it stands for now.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn notify(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        alert: &Alert,
        recipients: &[sitewarden_model::catalog::Recipient],
        channels: &[usize],
        reason: Reason,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let settings = &catalog.alerts;
        let (people, vacant) =
            escalation::resolve(settings, &catalog.site.hours.time_zone, recipients, now);
        let people: Vec<&Person> = people
            .iter()
            .filter_map(|p| settings.people.get(*p))
            .collect();
        let round: i64 = tx.query_row(
            "SELECT notifications + 1 FROM alert WHERE id = ?1",
            [alert.id],
            |r| r.get(0),
        )?;
        let mut used = Vec::new();
        for channel in channels.iter().filter_map(|c| settings.channels.get(*c)) {
            let key = format!("{}-alert-{}-n{round}-{}", self.site, alert.id, channel.name);
            let payload = notify::payload(
                channel,
                &key,
                &self.site,
                notify::Wording::of(catalog, Some(alert)).with_links(self.links.as_deref(), now),
                Some(alert),
                reason,
                &people,
            );
            let topic = (channel.kind == ChannelKind::Mqtt)
                .then(|| {
                    self.topics
                        .as_ref()
                        .map(|t| t.alert_notifications(alert.id))
                })
                .flatten();
            let delivery_channel = channel_name(&channel.name);
            delivery::enqueue(
                tx,
                &Outgoing {
                    channel: &delivery_channel,
                    subject: &format!("alert:{}", alert.id),
                    key: &key,
                    topic: topic.as_deref(),
                    payload: &payload,
                    retain: false,
                    priority: priority(alert.class),
                },
                now,
            )?;
            used.push(channel.name.as_str());
        }
        tx.execute(
            "UPDATE alert SET notifications = ?2 WHERE id = ?1",
            params![alert.id, round],
        )?;
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        let detail = notified_detail(&catalog.site.messages, reason, &used, &names, &vacant);
        event(tx, alert.id, now, "notified", "sitewarden", Some(&detail))?;
        changes.notified(alert.id, detail);
        Ok(())
    }

    pub(super) fn notify_drill(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        id: i64,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let Some(drill) = &catalog.alerts.drill else {
            event(
                tx,
                id,
                now,
                "notified",
                "sitewarden",
                Some(
                    &catalog
                        .site
                        .messages
                        .text("alert-event-drill-unrouted", &[]),
                ),
            )?;
            return Ok(());
        };
        let alert = load(tx, id)?.ok_or(AlertError::NotFound(id))?;
        self.notify(
            tx,
            catalog,
            &alert,
            &drill.notify,
            &drill.channels,
            Reason::Drill,
            now,
            changes,
        )
    }

    /// Acknowledges an alert. The changes: `acknowledged`, then `resolved`
    /// if its condition had already cleared; both go to the sinks.
    pub fn acknowledge(
        &self,
        catalog: &Catalog,
        id: i64,
        actor: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        let (_, changes) = self.transaction(
            |tx, changes| {
                let alert = load(tx, id)?.ok_or(AlertError::NotFound(id))?;
                if alert.status == AlertStatus::Resolved {
                    return Err(AlertError::Conflict(format!("alert {id} is already resolved")));
                }
                if let Some(by) = &alert.acknowledged_by {
                    return Err(AlertError::Conflict(format!("alert {id} was already acknowledged by {by}")));
                }
                tx.execute(
                    "UPDATE alert SET acked_us = ?2, acked_by = ?3, ack_note = ?4, next_at_us = NULL,
                     revision = revision + 1 WHERE id = ?1",
                    params![id, micros(now), actor, note],
                )?;
                let m = &catalog.site.messages;
                // People read the name; the actor column keeps the id.
                let person = catalog
                    .alerts
                    .people
                    .iter()
                    .find(|p| p.id == actor)
                    .map_or(actor, |p| p.name.as_str());
                let detail = match note {
                    Some(n) => m.text(
                        "alert-event-acknowledged-note",
                        &[("person", Arg::Text(person)), ("note", Arg::Text(n))],
                    ),
                    None => m.text("alert-event-acknowledged", &[("person", Arg::Text(person))]),
                };
                event(tx, id, now, "acknowledged", actor, Some(&detail))?;
                self.tell_acknowledged(tx, catalog, id, now, changes)?;
                if alert.active && !alert.ends_on_ack {
                    changes.push(id, AlertEvent::Acknowledged);
                } else {
                    resolve(tx, id, now)?;
                    let why = m.text(
                        if alert.active {
                            "alert-event-resolved-on-acknowledgement"
                        } else {
                            "alert-event-resolved-after-clearing"
                        },
                        &[],
                    );
                    event(tx, id, now, "resolved", "sitewarden", Some(&why))?;
                    changes.push(id, AlertEvent::Acknowledged);
                    changes.push(id, AlertEvent::Resolved);
                }
                Ok(())
            },
            now,
        )?;
        Ok(changes)
    }

    /// Tells every channel that was called for this alert who took it.
    pub(super) fn tell_acknowledged(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        id: i64,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let used: Vec<String> = tx
            .prepare_cached(
                "SELECT DISTINCT channel FROM delivery WHERE subject = ?1 AND channel != ?2",
            )?
            .query_map(params![format!("alert:{id}"), STATE_CHANNEL], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let channels: Vec<usize> = catalog
            .alerts
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| used.contains(&channel_name(&c.name)))
            .map(|(i, _)| i)
            .collect();
        if channels.is_empty() {
            return Ok(());
        }
        let alert = load(tx, id)?.ok_or(AlertError::NotFound(id))?;
        self.notify(
            tx,
            catalog,
            &alert,
            &[],
            &channels,
            Reason::Acknowledged,
            now,
            changes,
        )
    }
}

/// What the history says of a notification round: why (which step), on
/// which channels, to whom, and which roles had nobody on duty.
fn notified_detail(
    m: &Messages,
    reason: Reason,
    channels: &[&str],
    people: &[&str],
    vacant: &[String],
) -> String {
    let why = match reason {
        Reason::Step(n) => m.text(
            "alert-event-reason-step",
            &[("step", Arg::Number(n as i64))],
        ),
        Reason::Repeat { step, missed: 0 } => m.text(
            "alert-event-reason-repeat",
            &[("step", Arg::Number(step as i64))],
        ),
        Reason::Repeat { step, missed } => m.text(
            "alert-event-reason-repeat-missed",
            &[
                ("step", Arg::Number(step as i64)),
                ("missed", Arg::Number(missed as i64)),
            ],
        ),
        other => m.text(&format!("alert-event-reason-{}", other.as_str()), &[]),
    };
    let people = if people.is_empty() {
        m.text("alert-event-nobody", &[])
    } else {
        m.list(people)
    };
    let detail = m.text(
        "alert-event-notified",
        &[
            ("reason", Arg::Text(&why)),
            ("channels", Arg::Text(&m.list(channels))),
            ("people", Arg::Text(&people)),
        ],
    );
    if vacant.is_empty() {
        return detail;
    }
    m.text(
        "alert-event-notified-vacant",
        &[
            ("notified", Arg::Text(&detail)),
            ("roles", Arg::Text(&m.list(vacant))),
        ],
    )
}
