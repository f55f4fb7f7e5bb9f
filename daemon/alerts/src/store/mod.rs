//! Alerts, their members, timelines, silences, drills and outgoing
//! notifications in `<data_dir>/alerts.db`.
//!
//! Every change and the notifications it causes commit in one IMMEDIATE
//! transaction (WAL, `synchronous=FULL`), escalation deadlines included:
//! after `kill -9`, escalation resumes at the stored step and deadline,
//! and a notification already confirmed is never sent again.
//!
//! The store's parts: `incident` (raise, group, clear), `suppression`
//! (drills over silences over inhibition, one pure `decide`), `escalate`
//! (steps, repeats, notifications, acknowledgement), `windows` (silences,
//! drills, `maintain`), `self_test` (scheduled channel tests), and the
//! schema in [`super::schema`]. This file holds the transaction every
//! change goes through and the reads.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::escalation::{self, Plan};
use super::notify::{self, Reason};
use super::{
    Alert, AlertChange, AlertError, AlertEvent, AlertInput, AlertStatus, Member, Raise,
    TimelineEntry,
};
use sitewarden_delivery::verdict::PERMANENT_PREFIX;
use sitewarden_delivery::{self as delivery, DeliveryView, Outgoing};
use sitewarden_model::catalog::{Catalog, ChannelKind, Person};
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_model::topics::Topics;
use sitewarden_model::vocab::AlertClass;
use sitewarden_model::vocab::Severity;
use sitewarden_runtime::db::{self, Durability, from_micros, micros};

mod duty;
mod escalate;
mod incident;
mod plan;
mod self_test;
pub use self_test::ChannelFault;
mod suppression;
mod windows;

pub use duty::CheckIn;
pub use plan::{DrillRun, PlanProgress};
pub use windows::TestReport;

/// Delivery channel of the retained per-alert state on MQTT.
pub const STATE_CHANNEL: &str = "alerts-mqtt-state";

/// Delivery channel name of a configured notification channel.
pub fn channel_name(name: &str) -> String {
    format!("alerts-{name}")
}

/// The life-safety classes as an SQL list, `('fire', …)`: the alerts whose
/// delivery is confirmed within `[alerts] confirm_within`.
fn life_safety_classes() -> String {
    let names: Vec<String> = AlertClass::ALL
        .iter()
        .filter(|c| c.is_life_safety())
        .map(|c| format!("'{}'", c.as_str()))
        .collect();
    format!("({})", names.join(", "))
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
    /// Only alarms from these zones of the device (a detector test); every
    /// zone when empty.
    pub zones: Vec<String>,
    /// A test window: what it held is kept as tested, and life-safety
    /// rules of the device may be covered by a technician.
    pub test: bool,
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
    pub status: Option<AlertStatus>,
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
    /// Told whenever an escalation deadline may have moved, so the desk
    /// sleeps until the next one instead of polling.
    deadlines: tokio::sync::Notify,
    /// Personal acknowledgement links for notifications, when the site has
    /// a `public_url`.
    links: Option<std::sync::Arc<crate::ack_link::AckLinks>>,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertStore")
    }
}

const COLUMNS: &str = "id, class, severity, title, rule, device, location, first_point, first_zone,
    first_value, status, active, suppressed, suppressed_by, drill, raised_us, cleared_us, acked_us,
    acked_by, ack_note, resolved_us, step, next_at_us, notifications, revision, ends_on_ack, members_over";

/// Members listed on one alert: a forged-tap storm on one station must not
/// grow the alert (and its retained MQTT state) without end.
pub const MAX_MEMBERS: i64 = 50;

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a transaction changed, collected for announcing after commit.
#[derive(Default)]
struct Changes(Vec<(i64, AlertEvent, Option<String>)>);

impl Changes {
    fn push(&mut self, id: i64, event: AlertEvent) {
        self.0.push((id, event, None));
    }

    /// Who was called, for the console.
    fn notified(&mut self, id: i64, detail: String) {
        self.0.push((id, AlertEvent::Notified, Some(detail)));
    }
}

impl AlertStore {
    /// Opens (creating and migrating) `dir/alerts.db`.
    pub fn open(
        dir: &Path,
        site: String,
        topics: Option<Topics>,
        links: Option<std::sync::Arc<crate::ack_link::AckLinks>>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("alerts.db");
        let writer = db::open_checked(&path, Durability::PowerCut, super::schema::ALERTS)?;
        let reader = db::connect(&path, Durability::PowerCut)?;
        Ok(Self {
            site,
            topics,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            deadlines: tokio::sync::Notify::new(),
            links,
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
                event: *event,
                detail: detail.clone(),
                alert,
                at: now,
            });
        }
        tx.commit()?;
        if !announced.is_empty() {
            self.deadlines.notify_one();
        }
        Ok((value, announced))
    }

    /// The earliest escalation deadline of any alert, if one is pending.
    pub fn next_escalation_at(&self) -> Result<Option<Timestamp>, AlertError> {
        let next: Option<i64> = lock(&self.reader).query_row(
            "SELECT MIN(next_at_us) FROM alert WHERE next_at_us IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(next.map(from_micros))
    }

    /// Resolves when an escalation deadline may have moved since the last
    /// call: an alert changed, or the clock stepped.
    pub async fn deadlines_changed(&self) {
        self.deadlines.notified().await;
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

    /// Raises a reported emergency and notes who entered it, who reported
    /// it and what they said, in one transaction.
    pub fn report(
        &self,
        catalog: &Catalog,
        raise: &Raise,
        (by, reporter, note): (&str, &str, Option<&str>),
        now: Timestamp,
    ) -> Result<Vec<AlertChange>, AlertError> {
        self.transaction(
            |tx, changes| {
                self.raise(tx, catalog, raise, now, changes)?;
                let (id, _) = incident::open_by_key(tx, &raise.key)?
                    .ok_or_else(|| AlertError::Invalid("the report raised nothing".into()))?;
                let m = &catalog.site.messages;
                let detail = match note {
                    Some(note) => m.text(
                        "alert-event-reported-note",
                        &[("reporter", Arg::Text(reporter)), ("note", Arg::Text(note))],
                    ),
                    None => m.text("alert-event-reported", &[("reporter", Arg::Text(reporter))]),
                };
                event(tx, id, now, "reported", by, Some(&detail)).map_err(AlertError::from)
            },
            now,
        )
        .map(|((), c)| c)
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
                params![f.status.map(AlertStatus::as_str), f.class.map(AlertClass::as_str), f.device, f.since.map(micros), f.limit as i64],
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

    /// Open alerts per class, for the periodic state snapshot: a portfolio
    /// dashboard shows "open now" without replaying every alert's history.
    pub fn open_by_class(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        lock(&self.reader)
            .prepare_cached(
                "SELECT class, count(*) FROM alert WHERE status = 'open' GROUP BY class",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect()
    }

    /// `(key, point)` of every active member of an open alert.
    pub fn active_members(&self) -> rusqlite::Result<std::collections::HashSet<(String, String)>> {
        lock(&self.reader)
            .prepare_cached(
                "SELECT a.key, m.point FROM alert a JOIN alert_member m ON m.alert = a.id
                 WHERE a.status = 'open' AND m.active = 1",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// Delivery-fault alerts open and not yet acknowledged: while there is
    /// one, a life-safety alert went unconfirmed and nobody has taken it
    /// (the buzzer sounds).
    pub fn unacknowledged_delivery_faults(&self) -> rusqlite::Result<u64> {
        lock(&self.reader)
            .query_row(
                "SELECT count(*) FROM alert WHERE status = 'open' AND acked_us IS NULL
                   AND rule = 'sitewarden.delivery_fault'",
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
        let open = alert.status == AlertStatus::Open;
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
    // An unreadable stored name reads as the side that calls people:
    // critical, and open.
    let severity: String = r.get(2)?;
    Ok(Alert {
        id: r.get(0)?,
        class: AlertClass::parse(&r.get::<_, String>(1)?).unwrap_or_default(),
        severity: Severity::parse(&severity).unwrap_or(Severity::Critical),
        title: r.get(3)?,
        rule: r.get(4)?,
        device: r.get(5)?,
        location: r.get(6)?,
        first_point: r.get(7)?,
        first_zone: r.get(8)?,
        first_value: r.get(9)?,
        status: AlertStatus::parse(&r.get::<_, String>(10)?).unwrap_or(AlertStatus::Open),
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
        ends_on_ack: r.get(25)?,
        members_over: r.get(26)?,
        members: Vec::new(),
    })
}
