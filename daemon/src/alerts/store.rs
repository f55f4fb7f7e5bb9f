//! Alerts, their members, timelines, silences, drills and outgoing
//! notifications in `<data_dir>/alerts.db`.
//!
//! Every change and the notifications it causes commit in one IMMEDIATE
//! transaction (WAL, `synchronous=FULL`), escalation deadlines included:
//! after `kill -9`, escalation resumes at the stored step and deadline,
//! and a notification already confirmed is never sent again.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::escalation::{self, Plan};
use super::notify::{self, Reason};
use super::{Alert, AlertChange, AlertError, AlertInput, Member, Raise, TimelineEntry};
use crate::delivery::{self, DeliveryView, Outgoing};
use sitewarden_model::catalog::{Catalog, ChannelKind, Person};
use sitewarden_model::topics::Topics;
use sitewarden_model::vocab::AlertClass;
use sitewarden_model::vocab::Severity;
use sitewarden_runtime::db::{self, Durability, from_micros, micros};

/// Delivery channel of the retained per-alert state on MQTT.
pub const STATE_CHANNEL: &str = "alerts-mqtt-state";

/// Delivery channel name of a configured notification channel.
pub fn channel_name(name: &str) -> String {
    format!("alerts-{name}")
}

/// Fire first, then the other life-safety classes, then the rest; self-tests last.
fn priority(class: AlertClass) -> i64 {
    match class {
        AlertClass::Fire => 100,
        c if c.is_life_safety() => 50,
        _ => 0,
    }
}

/// A silence of a device or rule for a maintenance window.
#[derive(Debug, Clone, Serialize)]
pub struct Silence {
    /// Id.
    pub id: i64,
    /// Device, or every device.
    pub device: Option<String>,
    /// Rule, or every rule.
    pub rule: Option<String>,
    /// Start.
    pub starts_at: Timestamp,
    /// End.
    pub ends_at: Timestamp,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
}

/// A declared drill window.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    /// Id.
    pub id: i64,
    /// Alert classes it covers.
    pub classes: Vec<AlertClass>,
    /// Start.
    pub starts_at: Timestamp,
    /// End.
    pub ends_at: Timestamp,
    /// Note.
    pub note: Option<String>,
    /// Who declared it.
    pub declared_by: String,
}

/// An alert with everything that happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertDetail {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// Raised, notifications, escalations, acknowledgement, resolution.
    pub timeline: Vec<TimelineEntry>,
    /// Every notification and each of its delivery attempts.
    pub deliveries: Vec<DeliveryView>,
}

/// Filters for [`AlertStore::list`].
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// `open` or `resolved`.
    pub status: Option<String>,
    /// Class.
    pub class: Option<AlertClass>,
    /// Device.
    pub device: Option<String>,
    /// Raised at or after.
    pub since: Option<Timestamp>,
    /// At most.
    pub limit: usize,
}

/// `<data_dir>/alerts.db`.
pub struct AlertStore {
    site: String,
    topics: Option<Topics>,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertStore")
    }
}

const COLUMNS: &str = "id, class, severity, title, rule, device, location, first_point, first_zone,
    first_value, status, active, suppressed, suppressed_by, drill, raised_us, cleared_us, acked_us,
    acked_by, ack_note, resolved_us, step, next_at_us, notifications, revision";

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a transaction changed, collected for announcing after commit.
#[derive(Default)]
struct Changes(Vec<(i64, &'static str, Option<String>)>);

impl Changes {
    fn push(&mut self, id: i64, event: &'static str) {
        self.0.push((id, event, None));
    }

    /// Who was called, for the console.
    fn notified(&mut self, id: i64, detail: String) {
        self.0.push((id, "notified", Some(detail)));
    }
}

impl AlertStore {
    /// Opens (creating and migrating) `dir/alerts.db`.
    pub fn open(dir: &Path, site: String, topics: Option<Topics>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("alerts.db");
        let mut writer = db::connect(&path, Durability::PowerCut)
            .with_context(|| format!("opening {}", path.display()))?;
        db::migrate(&mut writer, super::schema::ALERTS)
            .with_context(|| format!("migrating {}", path.display()))?;
        let reader = db::connect(&path, Durability::PowerCut)?;
        Ok(Self {
            site,
            topics,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    fn transaction<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>, &mut Changes) -> Result<T, AlertError>,
        now: Timestamp,
    ) -> Result<(T, Vec<AlertChange>), AlertError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changes = Changes::default();
        let value = work(&tx, &mut changes)?;
        let mut announced = Vec::with_capacity(changes.0.len());
        for (n, (id, event, detail)) in changes.0.iter().enumerate() {
            let alert = load(&tx, *id)?.ok_or(AlertError::NotFound(*id))?;
            // The state after the transaction, once per alert.
            if !changes.0[n + 1..].iter().any(|(later, ..)| later == id) {
                self.publish_state(&tx, &alert, now)?;
            }
            announced.push(AlertChange {
                event: (*event).to_owned(),
                detail: detail.clone(),
                alert,
                at: now,
            });
        }
        tx.commit()?;
        Ok((value, announced))
    }

    /// Applies condition transitions: raises, groups, suppresses, notifies, clears, resolves.
    pub fn apply(
        &self,
        catalog: &Catalog,
        inputs: &[AlertInput],
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                for input in inputs {
                    match input {
                        AlertInput::Raised(raise) => {
                            self.raise(tx, catalog, raise, now, changes)?
                        }
                        AlertInput::Cleared { key, point, at } => {
                            self.clear(tx, catalog, key, point, *at, changes)?
                        }
                    }
                }
                Ok(())
            },
            now,
        )
        .map(|((), c)| c)
    }

    fn raise(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        r: &Raise,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        if let Some((id, active)) = open_by_key(tx, &r.key)? {
            upsert_member(tx, id, r)?;
            if !active {
                tx.execute("UPDATE alert SET active = 1, cleared_us = NULL, revision = revision + 1 WHERE id = ?1", [id])?;
                event(
                    tx,
                    id,
                    r.at,
                    "reactivated",
                    "sitewarden",
                    Some(&format!("{} raised again", r.point)),
                )?;
            } else {
                tx.execute(
                    "UPDATE alert SET revision = revision + 1 WHERE id = ?1",
                    [id],
                )?;
                event(
                    tx,
                    id,
                    r.at,
                    "member_raised",
                    "sitewarden",
                    Some(&member_text(r)),
                )?;
            }
            changes.push(id, "member_raised");
            return Ok(());
        }
        let drill = drill_covering(tx, r.class, r.at)?;
        let suppression = match drill {
            Some(_) => None,
            None => match silence_covering(tx, r, r.at)? {
                Some(s) => Some(("silenced", s)),
                None => muting_alert(tx, catalog, r)?.map(|id| ("muted", format!("alert {id}"))),
            },
        };
        tx.prepare_cached(
            "INSERT INTO alert (key, class, severity, title, rule, device, location, first_point, first_zone,
                 first_value, status, active, suppressed, suppressed_by, drill, raised_us, step, next_at_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', 1, ?11, ?12, ?13, ?14, 0, NULL)",
        )?
        .execute(params![
            r.key,
            r.class.as_str(),
            r.severity.as_str().to_owned(),
            r.title,
            r.rule,
            r.device,
            r.location,
            r.point,
            r.zone,
            r.value,
            suppression.as_ref().map(|(kind, _)| *kind),
            suppression.as_ref().map(|(_, by)| by.as_str()),
            drill.is_some(),
            micros(r.at),
        ])?;
        let id = tx.last_insert_rowid();
        upsert_member(tx, id, r)?;
        let detail = match r.value {
            Some(v) => format!("{}; first reading {v}", member_text(r)),
            None => member_text(r),
        };
        event(tx, id, r.at, "raised", "sitewarden", Some(&detail))?;
        changes.push(id, "raised");
        if let Some(drill) = drill {
            event(
                tx,
                id,
                now,
                "drill",
                "sitewarden",
                Some(&format!(
                    "during drill {drill}: only the drill coordinator is told"
                )),
            )?;
            self.notify_drill(tx, catalog, id, now, changes)?;
        } else if let Some((kind, by)) = &suppression {
            event(
                tx,
                id,
                now,
                kind,
                "sitewarden",
                Some(&format!("{kind} by {by}: nobody is called")),
            )?;
        } else {
            self.start_escalation(tx, catalog, id, r.class, now, changes)?;
        }
        self.mute_targets(tx, catalog, id, r.class, now, changes)?;
        Ok(())
    }

    /// Notifies the first steps now and stores the next deadline.
    fn start_escalation(
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
                Some(&format!(
                    "no escalation policy for class {}",
                    class.as_str()
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

    /// Mutes open alerts that a newly raised alert of `class` inhibits.
    fn mute_targets(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        source: i64,
        class: AlertClass,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        for rule in catalog.alerts.inhibit.iter().filter(|i| i.when == class) {
            for target in &rule.mute {
                let rows: Vec<(i64, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT id, device FROM alert WHERE status = 'open' AND suppressed IS NULL
                         AND acked_us IS NULL AND drill = 0 AND id != ?1 AND rule = ?2",
                    )?
                    .query_map(params![source, target], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (id, device) in rows {
                    if !rule.devices.is_empty()
                        && !device.as_ref().is_some_and(|d| rule.devices.contains(d))
                    {
                        continue;
                    }
                    tx.execute(
                        "UPDATE alert SET suppressed = 'muted', suppressed_by = ?2, next_at_us = NULL,
                         revision = revision + 1 WHERE id = ?1",
                        params![id, format!("alert {source}")],
                    )?;
                    event(
                        tx,
                        id,
                        now,
                        "muted",
                        "sitewarden",
                        Some(&format!(
                            "muted while {} alert {source} is active",
                            class.as_str()
                        )),
                    )?;
                    changes.push(id, "muted");
                }
            }
        }
        Ok(())
    }

    fn clear(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        key: &str,
        point: &str,
        at: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let Some((id, _)) = open_by_key(tx, key)? else {
            return Ok(());
        };
        tx.execute(
            "UPDATE alert_member SET active = 0, cleared_us = ?3 WHERE alert = ?1 AND point = ?2",
            params![id, point, micros(at)],
        )?;
        let still: i64 = tx.query_row(
            "SELECT count(*) FROM alert_member WHERE alert = ?1 AND active = 1",
            [id],
            |r| r.get(0),
        )?;
        if still > 0 {
            event(tx, id, at, "member_cleared", "sitewarden", Some(point))?;
            tx.execute(
                "UPDATE alert SET revision = revision + 1 WHERE id = ?1",
                [id],
            )?;
            changes.push(id, "member_cleared");
            return Ok(());
        }
        tx.execute(
            "UPDATE alert SET active = 0, cleared_us = ?2, revision = revision + 1 WHERE id = ?1",
            params![id, micros(at)],
        )?;
        let alert = load(tx, id)?.ok_or(AlertError::NotFound(id))?;
        let must_stay = alert.class.is_life_safety()
            && alert.acknowledged_at.is_none()
            && !alert.drill
            && alert.suppressed.is_none();
        if must_stay {
            event(
                tx,
                id,
                at,
                "cleared",
                "sitewarden",
                Some(
                    "the condition cleared; a life-safety alert stays open until someone acknowledges it",
                ),
            )?;
            changes.push(id, "cleared");
        } else {
            event(tx, id, at, "cleared", "sitewarden", None)?;
            resolve(tx, id, at)?;
            changes.push(id, "resolved");
        }
        self.release_muted(tx, catalog, id, at, changes)
    }

    /// When an inhibiting alert is no longer active, the alerts it muted
    /// either resolve (their condition is gone) or start escalating.
    fn release_muted(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        source: i64,
        now: Timestamp,
        changes: &mut Changes,
    ) -> Result<(), AlertError> {
        let muted: Vec<(i64, bool, String)> = tx
            .prepare_cached(
                "SELECT id, active, class FROM alert WHERE status = 'open' AND suppressed = 'muted' AND suppressed_by = ?1",
            )?
            .query_map([format!("alert {source}")], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, active, class) in muted {
            tx.execute(
                "UPDATE alert SET suppressed = NULL, suppressed_by = NULL, revision = revision + 1 WHERE id = ?1",
                [id],
            )?;
            if active {
                event(
                    tx,
                    id,
                    now,
                    "unmuted",
                    "sitewarden",
                    Some(&format!("alert {source} is over and this is still active")),
                )?;
                changes.push(id, "unmuted");
                let class = AlertClass::parse(&class).unwrap_or_default();
                self.start_escalation(tx, catalog, id, class, now, changes)?;
            } else {
                resolve(tx, id, now)?;
                event(
                    tx,
                    id,
                    now,
                    "resolved",
                    "sitewarden",
                    Some("cleared while muted"),
                )?;
                changes.push(id, "resolved");
            }
        }
        Ok(())
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

    fn escalate_one(
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
            next_step,
            next_at,
        } = escalation::plan(policy, alert.step as usize, due);
        for step in &notify {
            let reason = if repeat {
                Reason::Repeat(step + 1)
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
            let kind = if repeat { "repeated" } else { "escalated" };
            let steps: Vec<String> = notify.iter().map(|s| (s + 1).to_string()).collect();
            event(
                tx,
                id,
                now,
                kind,
                "sitewarden",
                Some(&format!("no acknowledgement: step {}", steps.join(", "))),
            )?;
            changes.push(id, kind);
        }
        Ok(())
    }

    /// Queues one notification per channel of a step, to the people it stands for now.
    #[allow(clippy::too_many_arguments)]
    fn notify(
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
            let payload = notify::payload(channel, &key, &self.site, Some(alert), reason, &people);
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
        let mut detail = format!(
            "{} via {} to {}",
            match reason {
                Reason::Step(n) => format!("step {n}"),
                Reason::Repeat(n) => format!("step {n} again"),
                other => other.as_str().to_owned(),
            },
            used.join(", "),
            if names.is_empty() {
                "nobody".to_owned()
            } else {
                names.join(", ")
            }
        );
        if !vacant.is_empty() {
            detail.push_str(&format!("; nobody on duty for {}", vacant.join(", ")));
        }
        event(tx, alert.id, now, "notified", "sitewarden", Some(&detail))?;
        changes.notified(alert.id, detail);
        Ok(())
    }

    fn notify_drill(
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
                Some("no [alerts.drill] coordinator configured: recorded only"),
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
                if alert.status == "resolved" {
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
                let detail = match note {
                    Some(n) => format!("{actor} took it: {n}"),
                    None => format!("{actor} took it"),
                };
                event(tx, id, now, "acknowledged", actor, Some(&detail))?;
                self.tell_acknowledged(tx, catalog, id, now, changes)?;
                if alert.active {
                    changes.push(id, "acknowledged");
                } else {
                    resolve(tx, id, now)?;
                    event(tx, id, now, "resolved", "sitewarden", Some("acknowledged after its condition cleared"))?;
                    changes.push(id, "acknowledged");
                    changes.push(id, "resolved");
                }
                Ok(())
            },
            now,
        )?;
        Ok(changes)
    }

    /// Tells every channel that was called for this alert who took it.
    fn tell_acknowledged(
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

    /// Ends silences and drills that ran out, and runs self-tests that are due.
    pub fn maintain(
        &self,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                let silenced: Vec<(i64, bool, String, String)> = tx
                    .prepare_cached(
                        "SELECT a.id, a.active, a.class, a.suppressed_by FROM alert a
                         WHERE a.status = 'open' AND a.suppressed = 'silenced' AND NOT EXISTS (
                             SELECT 1 FROM silence s WHERE 'silence ' || s.id = a.suppressed_by AND s.ends_us > ?1)",
                    )?
                    .query_map([micros(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (id, active, class, by) in silenced {
                    tx.execute(
                        "UPDATE alert SET suppressed = NULL, suppressed_by = NULL, revision = revision + 1 WHERE id = ?1",
                        [id],
                    )?;
                    if active {
                        event(tx, id, now, "unsilenced", "sitewarden", Some(&format!("{by} ended and this is still active")))?;
                        changes.push(id, "unsilenced");
                        self.start_escalation(tx, catalog, id, AlertClass::parse(&class).unwrap_or_default(), now, changes)?;
                    } else {
                        resolve(tx, id, now)?;
                        event(tx, id, now, "resolved", "sitewarden", Some("cleared while silenced"))?;
                        changes.push(id, "resolved");
                    }
                }
                self.run_self_tests(tx, catalog, now)?;
                Ok(())
            },
            now,
        )
        .map(|((), c)| c)
    }

    fn run_self_tests(
        &self,
        tx: &Transaction<'_>,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<(), AlertError> {
        let Some(every) = catalog.alerts.self_test_every else {
            return Ok(());
        };
        for channel in &catalog.alerts.channels {
            let last: Option<i64> = tx
                .prepare_cached("SELECT last_run_us FROM self_test WHERE channel = ?1")?
                .query_row([&channel.name], |r| r.get(0))
                .optional()?;
            // A channel seen for the first time is tested at once: a broken password shows at start-up.
            if last.is_some_and(|l| from_micros(l) + every > now) {
                continue;
            }
            tx.execute(
                "INSERT INTO self_test (channel, last_run_us) VALUES (?1, ?2)
                 ON CONFLICT (channel) DO UPDATE SET last_run_us = excluded.last_run_us",
                params![channel.name, micros(now)],
            )?;
            let key = format!(
                "{}-selftest-{}-{}",
                self.site,
                channel.name,
                now.as_second()
            );
            let everyone: Vec<&Person> = if channel.kind == ChannelKind::Email {
                catalog
                    .alerts
                    .people
                    .iter()
                    .filter(|p| p.email.is_some())
                    .collect()
            } else {
                Vec::new()
            };
            let payload =
                notify::payload(channel, &key, &self.site, None, Reason::SelfTest, &everyone);
            let topic = self.topics.as_ref().map(Topics::alert_self_test);
            delivery::enqueue(
                tx,
                &Outgoing {
                    channel: &channel_name(&channel.name),
                    subject: &format!("selftest:{}", channel.name),
                    key: &key,
                    topic: (channel.kind == ChannelKind::Mqtt)
                        .then_some(topic.as_deref())
                        .flatten(),
                    payload: &payload,
                    retain: false,
                    priority: -10,
                },
                now,
            )?;
        }
        Ok(())
    }

    /// Self-tests that failed three attempts and have no ticket yet: (channel, key, last error).
    pub fn failed_self_tests(&self) -> rusqlite::Result<Vec<(String, String, String)>> {
        let conn = lock(&self.reader);
        conn
            .prepare_cached(
                "SELECT substr(d.subject, 10), d.key, coalesce(d.last_error, '') FROM delivery d
                 WHERE d.subject LIKE 'selftest:%' AND d.delivered_us IS NULL AND d.attempts >= 3
                 AND NOT EXISTS (SELECT 1 FROM self_test t WHERE t.channel = substr(d.subject, 10) AND t.ticketed_key = d.key)",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// Records that a failed self-test has its ticket.
    pub fn self_test_ticketed(&self, channel: &str, key: &str) -> rusqlite::Result<()> {
        lock(&self.writer)
            .execute(
                "UPDATE self_test SET ticketed_key = ?2 WHERE channel = ?1",
                params![channel, key],
            )
            .map(|_| ())
    }

    /// Declares a silence.
    pub fn add_silence(&self, s: &Silence, now: Timestamp) -> rusqlite::Result<Silence> {
        let conn = lock(&self.writer);
        conn.execute(
            "INSERT INTO silence (device, rule, starts_us, ends_us, reason, created_by, created_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s.device,
                s.rule,
                micros(s.starts_at),
                micros(s.ends_at),
                s.reason,
                s.created_by,
                micros(now)
            ],
        )?;
        Ok(Silence {
            id: conn.last_insert_rowid(),
            ..s.clone()
        })
    }

    /// Silences not yet over.
    pub fn silences(&self, now: Timestamp) -> rusqlite::Result<Vec<Silence>> {
        let conn = lock(&self.reader);
        conn.prepare_cached(
            "SELECT id, device, rule, starts_us, ends_us, reason, created_by FROM silence
                 WHERE ends_us > ?1 ORDER BY starts_us",
        )?
        .query_map([micros(now)], |r| {
            Ok(Silence {
                id: r.get(0)?,
                device: r.get(1)?,
                rule: r.get(2)?,
                starts_at: from_micros(r.get(3)?),
                ends_at: from_micros(r.get(4)?),
                reason: r.get(5)?,
                created_by: r.get(6)?,
            })
        })?
        .collect()
    }

    /// Declares a drill window.
    pub fn declare_drill(&self, d: &Drill, now: Timestamp) -> rusqlite::Result<Drill> {
        let conn = lock(&self.writer);
        let classes: Vec<&str> = d.classes.iter().map(|c| c.as_str()).collect();
        conn.execute(
            "INSERT INTO drill (classes, starts_us, ends_us, note, declared_by, declared_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                format!(",{},", classes.join(",")),
                micros(d.starts_at),
                micros(d.ends_at),
                d.note,
                d.declared_by,
                micros(now)
            ],
        )?;
        Ok(Drill {
            id: conn.last_insert_rowid(),
            ..d.clone()
        })
    }

    /// Drills not yet over.
    pub fn drills(&self, now: Timestamp) -> rusqlite::Result<Vec<Drill>> {
        let conn = lock(&self.reader);
        conn
            .prepare_cached(
                "SELECT id, classes, starts_us, ends_us, note, declared_by FROM drill WHERE ends_us > ?1 ORDER BY starts_us",
            )?
            .query_map([micros(now)], |r| {
                let classes: String = r.get(1)?;
                Ok(Drill {
                    id: r.get(0)?,
                    classes: classes.split(',').filter_map(AlertClass::parse).collect(),
                    starts_at: from_micros(r.get(2)?),
                    ends_at: from_micros(r.get(3)?),
                    note: r.get(4)?,
                    declared_by: r.get(5)?,
                })
            })?
            .collect()
    }

    /// One alert with its timeline and deliveries.
    pub fn get(&self, id: i64) -> rusqlite::Result<Option<AlertDetail>> {
        let conn = lock(&self.reader);
        let Some(alert) = load(&conn, id)? else {
            return Ok(None);
        };
        let timeline = conn
            .prepare_cached(
                "SELECT at_us, kind, actor, detail FROM alert_event WHERE alert = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                Ok(TimelineEntry {
                    at: from_micros(r.get(0)?),
                    kind: r.get(1)?,
                    actor: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let deliveries = delivery::of_subject(&conn, &format!("alert:{id}"))?;
        Ok(Some(AlertDetail {
            alert,
            timeline,
            deliveries,
        }))
    }

    /// Alerts, newest first.
    pub fn list(&self, f: &AlertFilter) -> rusqlite::Result<Vec<Alert>> {
        let conn = lock(&self.reader);
        let ids: Vec<i64> = conn
            .prepare_cached(
                "SELECT id FROM alert WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR class = ?2)
                 AND (?3 IS NULL OR device = ?3) AND (?4 IS NULL OR raised_us >= ?4) ORDER BY id DESC LIMIT ?5",
            )?
            .query_map(
                params![f.status, f.class.map(AlertClass::as_str), f.device, f.since.map(micros), f.limit as i64],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .filter_map(|id| load(&conn, id).transpose())
            .collect()
    }

    /// Open alerts.
    pub fn open_count(&self) -> rusqlite::Result<u64> {
        lock(&self.reader)
            .query_row(
                "SELECT count(*) FROM alert WHERE status = 'open'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
    }

    /// The retained state on MQTT: the alert while open, cleared when resolved.
    fn publish_state(
        &self,
        tx: &Transaction<'_>,
        alert: &Alert,
        now: Timestamp,
    ) -> Result<(), AlertError> {
        let Some(topics) = &self.topics else {
            return Ok(());
        };
        let topic = topics.alert(alert.id);
        let key = format!("{}-alert-{}-r{}", self.site, alert.id, alert.revision);
        let payload = serde_json::to_vec(&StateMessage {
            key: &key,
            site: &self.site,
            alert,
        })
        .map_err(|e| AlertError::Invalid(e.to_string()))?;
        let open = alert.status == "open";
        let subject = format!("alert:{}", alert.id);
        let message = Outgoing {
            channel: STATE_CHANNEL,
            subject: &subject,
            key: &key,
            topic: Some(&topic),
            payload: &payload,
            retain: open,
            priority: priority(alert.class),
        };
        delivery::enqueue(tx, &message, now)?;
        if !open {
            let clear_key = format!("{key}-clear");
            let clear = Outgoing {
                key: &clear_key,
                payload: b"",
                retain: true,
                ..message
            };
            delivery::enqueue(tx, &clear, now)?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct StateMessage<'a> {
    key: &'a str,
    site: &'a str,
    #[serde(flatten)]
    alert: &'a Alert,
}

fn member_text(r: &Raise) -> String {
    match &r.zone {
        Some(zone) => format!("{} (zone {zone})", r.point),
        None => r.point.clone(),
    }
}

fn open_by_key(tx: &Connection, key: &str) -> rusqlite::Result<Option<(i64, bool)>> {
    tx.prepare_cached("SELECT id, active FROM alert WHERE key = ?1 AND status = 'open'")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

fn upsert_member(tx: &Connection, id: i64, r: &Raise) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO alert_member (alert, point, zone, active, value, raised_us) VALUES (?1, ?2, ?3, 1, ?4, ?5)
         ON CONFLICT (alert, point) DO UPDATE SET active = 1, value = excluded.value, cleared_us = NULL",
    )?
    .execute(params![id, r.point, r.zone, r.value, micros(r.at)])
    .map(|_| ())
}

fn resolve(tx: &Connection, id: i64, at: Timestamp) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE alert SET status = 'resolved', resolved_us = ?2, next_at_us = NULL, revision = revision + 1 WHERE id = ?1",
        params![id, micros(at)],
    )
    .map(|_| ())
}

fn event(
    tx: &Connection,
    id: i64,
    at: Timestamp,
    kind: &str,
    actor: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO alert_event (alert, at_us, kind, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, micros(at), kind, actor, detail])
    .map(|_| ())
}

fn drill_covering(
    tx: &Connection,
    class: AlertClass,
    at: Timestamp,
) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "SELECT id FROM drill WHERE starts_us <= ?1 AND ends_us > ?1 AND instr(classes, ?2) > 0 LIMIT 1",
    )?
    .query_row(params![micros(at), format!(",{},", class.as_str())], |r| r.get(0))
    .optional()
}

fn silence_covering(tx: &Connection, r: &Raise, at: Timestamp) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached(
        "SELECT id FROM silence WHERE starts_us <= ?1 AND ends_us > ?1
         AND (device IS NULL OR device = ?2) AND (rule IS NULL OR rule = ?3) ORDER BY id LIMIT 1",
    )?
    .query_row(params![micros(at), r.device, r.rule], |row| {
        row.get::<_, i64>(0)
    })
    .optional()
    .map(|id| id.map(|id| format!("silence {id}")))
}

/// An active alert whose class mutes this one, per `[[alerts.inhibit]]`.
fn muting_alert(tx: &Connection, catalog: &Catalog, r: &Raise) -> rusqlite::Result<Option<i64>> {
    for rule in &catalog.alerts.inhibit {
        let targets = r.rule.as_ref().is_some_and(|id| rule.mute.contains(id));
        let on_device =
            rule.devices.is_empty() || r.device.as_ref().is_some_and(|d| rule.devices.contains(d));
        if !(targets && on_device) {
            continue;
        }
        let source: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM alert WHERE status = 'open' AND active = 1 AND class = ?1 AND drill = 0 ORDER BY id LIMIT 1",
            )?
            .query_row([rule.when.as_str()], |row| row.get(0))
            .optional()?;
        if source.is_some() {
            return Ok(source);
        }
    }
    Ok(None)
}

fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<Alert>> {
    let Some(mut alert) = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM alert WHERE id = ?1"))?
        .query_row([id], map_alert)
        .optional()?
    else {
        return Ok(None);
    };
    alert.members = conn
        .prepare_cached(
            "SELECT point, zone, active, value, raised_us, cleared_us FROM alert_member WHERE alert = ?1 ORDER BY raised_us, point",
        )?
        .query_map([id], |r| {
            Ok(Member {
                point: r.get(0)?,
                zone: r.get(1)?,
                active: r.get(2)?,
                value: r.get(3)?,
                raised_at: from_micros(r.get(4)?),
                cleared_at: r.get::<_, Option<i64>>(5)?.map(from_micros),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(alert))
}

fn map_alert(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let time = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    let severity: String = r.get(2)?;
    Ok(Alert {
        id: r.get(0)?,
        class: AlertClass::parse(&r.get::<_, String>(1)?).unwrap_or_default(),
        severity: serde_json::from_value(serde_json::Value::String(severity))
            .unwrap_or(Severity::Critical),
        title: r.get(3)?,
        rule: r.get(4)?,
        device: r.get(5)?,
        location: r.get(6)?,
        first_point: r.get(7)?,
        first_zone: r.get(8)?,
        first_value: r.get(9)?,
        status: r.get(10)?,
        active: r.get(11)?,
        suppressed: r.get(12)?,
        suppressed_by: r.get(13)?,
        drill: r.get(14)?,
        raised_at: from_micros(r.get(15)?),
        cleared_at: time(16)?,
        acknowledged_at: time(17)?,
        acknowledged_by: r.get(18)?,
        ack_note: r.get(19)?,
        resolved_at: time(20)?,
        step: r.get(21)?,
        next_escalation_at: time(22)?,
        notifications: r.get(23)?,
        revision: r.get(24)?,
        members: Vec::new(),
    })
}
