//! Emergency alerts with automatic escalation.
//!
//! Conditions whose rule says `alert` reach the [`desk`], which groups them
//! into incidents (one alert per rule and device, its zones as members),
//! applies drills, silences and inhibition, and follows the class's
//! [`escalation`] policy until someone acknowledges. Every change and its
//! notifications ([`notify`]) commit together in the [`store`]; the
//! delivery loops send them, fire first.

#![deny(missing_docs)]

pub mod ack_link;
pub mod desk;
pub mod duty;
pub mod escalation;
mod metrics;
pub mod notify;
pub mod plan;
pub mod schema;
pub mod store;

pub use metrics::AlertMetrics;

use sitewarden_model::vocab::AlertClass;
use sitewarden_runtime::clock;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::Notify;
use tracing::{info, warn};

use sitewarden_model::catalog::Catalog;
use sitewarden_model::record::{Field, Record, record_time};

use sitewarden_model::vocab::Severity;
use sitewarden_runtime::bus::RecordBus;
use store::AlertStore;

sitewarden_model::text_enum! {
    /// Whether an alert still needs someone.
    AlertStatus {
        /// Raised and not yet over: escalating, acknowledged, or waiting for
        /// a person although its condition cleared (life safety).
        Open = "open",
        /// Over: its condition cleared and, for life safety, someone took it.
        Resolved = "resolved",
    }
}

sitewarden_model::text_enum! {
    /// What changed on an alert, as announced to the log, metrics and sinks.
    AlertEvent {
        /// A new alert (possibly suppressed or a drill).
        Raised = "raised",
        /// Another zone or point of the same incident.
        MemberRaised = "member_raised",
        /// One member cleared; others remain.
        MemberCleared = "member_cleared",
        /// The last member cleared; the alert stays open for a person.
        Cleared = "cleared",
        /// Over.
        Resolved = "resolved",
        /// Muted by an inhibiting alert.
        Muted = "muted",
        /// The inhibiting alert is over and this one is still active.
        Unmuted = "unmuted",
        /// Its silence ended and it is still active.
        Unsilenced = "unsilenced",
        /// A step's notifications were queued.
        Notified = "notified",
        /// Nobody acknowledged: the next step.
        Escalated = "escalated",
        /// Nobody acknowledged: the last step again.
        Repeated = "repeated",
        /// Someone took it.
        Acknowledged = "acknowledged",
        /// A step of its response plan was done.
        PlanStep = "plan_step",
        /// A step of its response plan is overdue: its people are told.
        PlanOverdue = "plan_overdue",
    }
}

/// An alert as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Number, increasing.
    pub id: i64,
    /// Escalation policy class.
    pub class: AlertClass,
    /// Severity of the first condition.
    pub severity: Severity,
    /// What happened.
    pub title: String,
    /// Rule.
    pub rule: Option<String>,
    /// Device.
    pub device: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// Point of the first reading.
    pub first_point: Option<String>,
    /// Zone of the first reading.
    pub first_zone: Option<String>,
    /// The first reading.
    pub first_value: Option<f64>,
    /// `open` or `resolved`.
    pub status: AlertStatus,
    /// Some member condition is active.
    pub active: bool,
    /// `muted` (inhibited by another alert) or `silenced`, and by what.
    pub suppressed: Option<String>,
    /// What suppresses it.
    pub suppressed_by: Option<String>,
    /// Raised during a declared drill.
    pub drill: bool,
    /// Raised.
    pub raised_at: Timestamp,
    /// All members cleared.
    pub cleared_at: Option<Timestamp>,
    /// Acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// By whom.
    pub acknowledged_by: Option<String>,
    /// Their note.
    pub ack_note: Option<String>,
    /// Closed.
    pub resolved_at: Option<Timestamp>,
    /// Next escalation step (0 = not yet notified).
    pub step: i64,
    /// When the next step is due, while escalating.
    pub next_escalation_at: Option<Timestamp>,
    /// Notification rounds sent.
    pub notifications: i64,
    /// Changes so far.
    pub revision: i64,
    /// The grouped conditions (zones, points).
    pub members: Vec<Member>,
    /// Nothing will clear it: an acknowledgement resolves it.
    pub ends_on_ack: bool,
    /// Members past [`store::MAX_MEMBERS`], counted but not listed.
    pub members_over: i64,
}

/// One condition grouped into an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// Point.
    pub point: String,
    /// Zone.
    pub zone: Option<String>,
    /// Still active.
    pub active: bool,
    /// Value when raised.
    pub value: Option<f64>,
    /// Raised.
    pub raised_at: Timestamp,
    /// Cleared.
    pub cleared_at: Option<Timestamp>,
}

/// One line of an alert's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: Timestamp,
    /// `raised`, `member_raised`, `notified`, `escalated`, `repeated`,
    /// `acknowledged`, `cleared`, `resolved`, `muted`, `unmuted`, `silenced`, `drill`.
    pub kind: String,
    /// Who (`sitewarden` for the daemon).
    pub actor: String,
    /// Detail for people.
    pub detail: Option<String>,
}

impl Raise {
    /// A critical equipment alert about sitewarden itself (`rule`, e.g.
    /// `sitewarden.delivery_fault`, about `subject`): nothing will clear it,
    /// so an acknowledgement resolves it.
    pub fn system_fault(rule: &str, subject: String, title: String) -> Self {
        Self {
            key: format!("{rule}|{subject}"),
            class: AlertClass::Equipment,
            severity: Severity::Critical,
            rule: Some(rule.to_owned()),
            device: None,
            location: None,
            title,
            point: subject,
            zone: None,
            value: None,
            at: clock::now(),
            ends_on_ack: true,
        }
    }
}

/// A condition transition that concerns alerts.
#[derive(Debug, Clone)]
pub enum AlertInput {
    /// A member condition was raised.
    Raised(Box<Raise>),
    /// A member condition cleared.
    Cleared {
        /// Group key.
        key: String,
        /// Point.
        point: String,
        /// When.
        at: Timestamp,
    },
}

/// What a raised condition brings to an alert.
#[derive(Debug, Clone)]
pub struct Raise {
    /// Group key: one open alert per key (`<rule>|<device>`).
    pub key: String,
    /// Class.
    pub class: AlertClass,
    /// Severity.
    pub severity: Severity,
    /// Rule.
    pub rule: Option<String>,
    /// Device.
    pub device: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// What happened.
    pub title: String,
    /// Point.
    pub point: String,
    /// Zone.
    pub zone: Option<String>,
    /// Reading.
    pub value: Option<f64>,
    /// When.
    pub at: Timestamp,
    /// Nothing will clear it (a forged tap, a delivery fault): an
    /// acknowledgement resolves it.
    pub ends_on_ack: bool,
}

/// An emergency a person reports: what, where, who called, what they said.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyReport {
    /// Which chain it runs (fire, intrusion, medical, water_leak, …).
    pub class: AlertClass,
    /// Where, as the caller says it.
    pub location: String,
    /// Who reported it (a caller's name, a visitor); the person who enters
    /// it when left out.
    #[serde(default)]
    pub reporter: Option<String>,
    /// What they said.
    #[serde(default)]
    pub note: Option<String>,
    /// The device it concerns, if any (its silences and drills apply).
    #[serde(default)]
    pub device: Option<String>,
}

impl EmergencyReport {
    /// The alert input it raises: nothing clears it, so it ends when a
    /// person acknowledges it.
    fn raise(&self, catalog: &Catalog, by: &str, at: Timestamp) -> Raise {
        let m = &catalog.site.messages;
        let class = m.text(&format!("alert-class-{}", self.class.as_str()), &[]);
        let severity = if self.class.is_life_safety() || self.class == AlertClass::Intrusion {
            Severity::Critical
        } else {
            Severity::Major
        };
        Raise {
            key: format!("reported|{}|{by}", at.as_microsecond()),
            class: self.class,
            severity,
            rule: None,
            device: self.device.clone(),
            location: Some(self.location.clone()),
            title: m.text(
                "alert-reported-title",
                &[
                    ("class", sitewarden_model::locale::Arg::Text(&class)),
                    ("place", sitewarden_model::locale::Arg::Text(&self.location)),
                ],
            ),
            point: "reported".into(),
            zone: None,
            value: None,
            at,
            ends_on_ack: true,
        }
    }
}

/// Why an alert request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// No such alert.
    #[error("no alert {0}")]
    NotFound(i64),
    /// It cannot be acknowledged in its state.
    #[error("{0}")]
    Conflict(String),
    /// The request is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("alert store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The daemon is stopping.
    #[error("the alert desk is stopping")]
    Stopping,
}

/// A committed alert change, for the sinks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertChange {
    /// `raised`, `notified`, `escalated`, `acknowledged`, `cleared`, `resolved`, `muted`, …
    pub event: AlertEvent,
    /// For `notified`: which step, through which channels, to whom.
    pub detail: Option<String>,
    /// The alert after it.
    pub alert: Alert,
    /// When.
    pub at: Timestamp,
}

impl AlertChange {
    /// The change as a time-series record:
    /// `alert,site,class,severity,event[,device] id,open,active,drill,step[,ack_s]`.
    pub fn record(&self, site: &str) -> Record {
        let a = &self.alert;
        let mut r = Record::new("alert", record_time(self.at, a.id))
            .tag("site", site)
            .tag("class", a.class.as_str())
            .tag("severity", a.severity.as_str())
            .tag("event", self.event.as_str());
        if let Some(device) = &a.device {
            r = r.tag("device", device.as_str());
        }
        r = r
            .field("id", Field::Int(a.id))
            .field("open", Field::Int(i64::from(a.status == AlertStatus::Open)))
            .field("active", Field::Int(i64::from(a.active)))
            .field("drill", Field::Int(i64::from(a.drill)))
            .field("step", Field::Int(a.step));
        if let (Some(acked), AlertEvent::Acknowledged) = (a.acknowledged_at, self.event) {
            let seconds = (acked.as_microsecond() - a.raised_at.as_microsecond()) as f64 / 1e6;
            r = r.field("ack_s", Field::Float(seconds));
        }
        r
    }
}

/// Everything that changes alerts goes through here.
#[derive(Clone)]
pub struct AlertsHandle {
    /// The site.
    pub catalog: Arc<Catalog>,
    /// Alerts and their deliveries.
    pub store: Arc<AlertStore>,
    /// Counters.
    pub metrics: Arc<AlertMetrics>,
    wake: Arc<Notify>,
    sinks: RecordBus,
    /// Counts committed changes, for pages that redraw when alerts change.
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl std::fmt::Debug for AlertsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertsHandle")
    }
}

impl AlertsHandle {
    /// The handle the desk, the API and MQTT commands share.
    pub fn new(
        catalog: Arc<Catalog>,
        store: Arc<AlertStore>,
        wake: Arc<Notify>,
        sinks: RecordBus,
        metrics: Arc<AlertMetrics>,
    ) -> Self {
        Self {
            catalog,
            store,
            metrics,
            wake,
            sinks,
            changes: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// A receiver that sees the count of committed alert changes move: the
    /// duty console redraws its alarms when it does.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Commits condition transitions and the notifications they cause.
    pub async fn apply(&self, inputs: Vec<AlertInput>) -> Result<(), AlertError> {
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let changes = blocking(move || {
            let _frame = clock::frame();
            store.apply(&catalog, &inputs, clock::now())
        })
        .await??;
        self.after(changes).await;
        Ok(())
    }

    /// Notifies every alert whose escalation deadline has come.
    pub async fn escalate_due(&self) -> Result<(), AlertError> {
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let changes = blocking(move || {
            let _frame = clock::frame();
            store.escalate_due(&catalog, clock::now())
        })
        .await??;
        self.after(changes).await;
        Ok(())
    }

    /// Raises the alert for an emergency `by` reported, with the reporter
    /// and what they said first in its timeline.
    pub async fn report(&self, report: EmergencyReport, by: String) -> Result<Alert, AlertError> {
        let text = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        if report.location.trim().is_empty() {
            return Err(AlertError::Invalid(
                "a reported emergency needs `location`: where it is".into(),
            ));
        }
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let (reporter, note) = (
            text(&report.reporter).unwrap_or_else(|| by.clone()),
            text(&report.note),
        );
        let changes = blocking(move || {
            let _frame = clock::frame();
            let now = clock::now();
            let raise = report.raise(&catalog, &by, now);
            store.report(&catalog, &raise, (&by, &reporter, note.as_deref()), now)
        })
        .await??;
        let alert = changes
            .first()
            .map(|c| c.alert.clone())
            .ok_or(AlertError::Invalid("the report raised nothing".into()))?;
        info!(
            alert = alert.id,
            class = alert.class.as_str(),
            "emergency reported by a person"
        );
        self.after(changes).await;
        Ok(alert)
    }

    /// `person` (a `[[people]]` id) checks in for their shift of a check-in
    /// role, now or starting within `check_in_within`, with a handover
    /// note; a missing-check-in alert for that shift is acknowledged by it.
    /// Their check-in and the shift before's, with its handover note.
    pub async fn check_in(
        &self,
        person: String,
        note: Option<String>,
        by: String,
    ) -> Result<(store::CheckIn, Option<store::CheckIn>), AlertError> {
        let now = clock::now();
        let catalog = self.catalog.clone();
        let Some(index) = catalog.alerts.people.iter().position(|p| p.id == person) else {
            return Err(AlertError::Invalid(format!(
                "`{person}` is not one of [[people]]"
            )));
        };
        let Some(shift) = duty::shift_to_check_in(&catalog, index, now) else {
            return Err(AlertError::Invalid(format!(
                "{} has no shift of a check-in role now or starting within {} min",
                catalog.alerts.people[index].name,
                catalog.alerts.check_in_within.as_secs() / 60
            )));
        };
        let check_in = store::CheckIn {
            role: shift.role.clone(),
            shift_start: shift.at,
            person: person.clone(),
            at: now,
            note: note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            by,
        };
        let store = self.store.clone();
        let record = check_in.clone();
        let (new, previous, missing) = blocking(move || {
            let new = store.check_in(&record)?;
            let previous = store.previous_check_in(&record.role, record.shift_start)?;
            let key = duty::missing_key(&record.role, &record.person, record.shift_start);
            let missing = store.open_alert_by_key(&key)?;
            Ok::<_, rusqlite::Error>((new, previous, missing))
        })
        .await??;
        if !new {
            return Err(AlertError::Conflict(format!(
                "{person} checked in for the {} shift from {} already",
                shift.role, shift.at
            )));
        }
        info!(person = %person, role = %shift.role, "checked in for a shift");
        if let Some(alert) = missing {
            let said = catalog.site.messages.text(
                "alert-event-checked-in",
                &[(
                    "person",
                    sitewarden_model::locale::Arg::Text(&catalog.alerts.people[index].name),
                )],
            );
            if let Err(e) = self.acknowledge(alert, person, Some(said)).await {
                warn!(alert, error = %e, "the late check-in could not end its alert");
            }
        }
        Ok((check_in, previous))
    }

    /// Raises a `duty` alert for each shift of a check-in role whose grace
    /// time ran out since the last look without a check-in; when the next
    /// one runs out.
    pub async fn look_for_missing_check_ins(&self) -> Option<Timestamp> {
        let settings = &self.catalog.alerts;
        if settings.check_in_roles.is_empty() {
            return None;
        }
        let now = clock::now();
        let grace = settings.check_in_within;
        let tz = &self.catalog.site.hours.time_zone;
        let store = self.store.clone();
        let looked = match blocking(move || store.duty_looked_until()).await {
            Ok(Ok(looked)) => looked,
            _ => return Some(now + std::time::Duration::from_secs(60)),
        };
        // The first look starts now: shifts before sitewarden ran are nobody's miss.
        let from = looked.unwrap_or(now);
        let mut raises = Vec::new();
        for shift in duty::starts_between(settings, tz, from - grace, now - grace) {
            let person = &settings.people[shift.person];
            let store = self.store.clone();
            let (role, at, id) = (shift.role.clone(), shift.at, person.id.clone());
            if let Ok(Ok(true)) = blocking(move || store.checked_in(&role, at, &id)).await {
                continue;
            }
            let title = self.catalog.site.messages.text(
                "duty-missing-title",
                &[
                    ("person", sitewarden_model::locale::Arg::Text(&person.name)),
                    ("role", sitewarden_model::locale::Arg::Text(&shift.role)),
                    ("start", sitewarden_model::locale::Arg::Time(shift.at)),
                ],
            );
            warn!(person = %person.id, role = %shift.role, "nobody checked in for a shift");
            raises.push(AlertInput::Raised(Box::new(Raise {
                key: duty::missing_key(&shift.role, &person.id, shift.at),
                class: AlertClass::Duty,
                severity: Severity::Major,
                rule: None,
                device: None,
                location: None,
                title,
                point: "check-in".into(),
                zone: None,
                value: None,
                at: now,
                ends_on_ack: true,
            })));
        }
        if !raises.is_empty()
            && let Err(e) = self.apply(raises).await
        {
            warn!(error = %e, "cannot raise missing check-ins; looking again in a minute");
            return Some(now + std::time::Duration::from_secs(60));
        }
        let store = self.store.clone();
        if let Ok(Err(e)) = blocking(move || store.set_duty_looked_until(now)).await {
            warn!(error = %e, "cannot record the look for missing check-ins");
        }
        let week = std::time::Duration::from_secs(7 * 86_400);
        duty::starts_between(
            settings,
            tz,
            now - grace + std::time::Duration::from_micros(1),
            now + week,
        )
        .first()
        .map(|s| s.at + grace)
    }

    /// Marks step `step` (from 1) of alert `id`'s response plan done.
    pub async fn plan_step_done(
        &self,
        id: i64,
        step: usize,
        by: String,
        note: Option<String>,
    ) -> Result<Vec<store::PlanProgress>, AlertError> {
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let (changes, plan) = blocking(move || {
            let changes =
                store.plan_step_done(&catalog, id, step, (&by, note.as_deref()), clock::now())?;
            let plan = store.plan(&catalog, id)?.unwrap_or_default();
            Ok::<_, AlertError>((changes, plan))
        })
        .await??;
        info!(alert = id, step, "response plan step done");
        self.after(changes).await;
        Ok(plan)
    }

    /// Tells the people of overdue plan steps; when the next step falls due.
    pub async fn announce_overdue_steps(&self) -> Option<Timestamp> {
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let done = blocking(move || {
            let changes = store.announce_overdue_steps(&catalog, clock::now());
            let next = store.next_plan_due(&catalog);
            (changes, next)
        })
        .await;
        let Ok((changes, next)) = done else {
            return None;
        };
        match changes {
            Ok(changes) => {
                if !changes.is_empty() {
                    warn!(
                        steps = changes.len(),
                        "response plan steps overdue: their people are told"
                    );
                }
                self.after(changes).await;
            }
            Err(e) => {
                warn!(error = %e, "cannot announce overdue plan steps; looking again in a minute");
                return Some(clock::now() + std::time::Duration::from_secs(60));
            }
        }
        next.unwrap_or_else(|e| {
            warn!(error = %e, "cannot read the next plan step's time");
            Some(clock::now() + std::time::Duration::from_secs(60))
        })
    }

    /// Acknowledges an alert: escalation stops and the timeline says who took it.
    pub async fn acknowledge(
        &self,
        id: i64,
        actor: String,
        note: Option<String>,
    ) -> Result<Alert, AlertError> {
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let changes = blocking(move || {
            let _frame = clock::frame();
            store.acknowledge(&catalog, id, &actor, note.as_deref(), clock::now())
        })
        .await??;
        // Acknowledged, and resolved too if its condition had cleared: the
        // caller sees the alert as it is now, the sinks every change.
        let alert = changes
            .last()
            .map(|c| c.alert.clone())
            .ok_or(AlertError::NotFound(id))?;
        self.after(changes).await;
        Ok(alert)
    }

    /// Ends silences and inhibitions whose reason is gone; runs self-tests
    /// that are due; finds the channels that need a person and the
    /// life-safety alerts no channel confirmed. One trip to the blocking
    /// pool; each part succeeds or fails on its own (a full disk stops the
    /// first, never the announcement of an undelivered fire alarm).
    pub async fn maintain(&self) -> Result<Upkeep, AlertError> {
        let store = self.store.clone();
        let catalog = self.catalog.clone();
        let (changes, channel_faults, undelivered) = blocking(move || {
            let _frame = clock::frame();
            let now = clock::now();
            (
                store.maintain(&catalog, now),
                store.channel_faults(),
                store.undelivered_life_safety(now, catalog.alerts.confirm_within),
            )
        })
        .await?;
        let maintained = match changes {
            Ok(changes) => {
                // Self-tests may have been queued without any alert changing.
                self.wake.notify_waiters();
                self.after(changes).await;
                Ok(())
            }
            Err(e) => Err(e),
        };
        Ok(Upkeep {
            maintained,
            channel_faults,
            undelivered,
        })
    }

    /// Declares a drill window: it must start in the future, end after it
    /// starts and last no longer than `[alerts.drill] max_duration`.
    pub async fn declare_drill(
        &self,
        request: DrillRequest,
        by: String,
    ) -> Result<store::Drill, AlertError> {
        let now = clock::now();
        let max = self.catalog.alerts.drill.as_ref().map(|d| d.max_duration);
        let Some(max) = max else {
            return Err(AlertError::Conflict(
                "no [alerts.drill] coordinator is configured: a drill would reach nobody".into(),
            ));
        };
        if request.starts <= now {
            return Err(AlertError::Invalid(
                "a drill must be declared ahead: `starts` is not in the future".into(),
            ));
        }
        if request.ends <= request.starts {
            return Err(AlertError::Invalid("`ends` must be after `starts`".into()));
        }
        if request.ends.duration_since(request.starts).unsigned_abs() > max {
            return Err(AlertError::Invalid(format!(
                "a drill may last at most {}",
                sitewarden_model::duration::ConfigDuration(max)
            )));
        }
        let classes = if request.classes.is_empty() {
            vec![AlertClass::Fire]
        } else {
            request.classes
        };
        let drill = store::Drill {
            id: 0,
            classes,
            starts_at: request.starts,
            ends_at: request.ends,
            note: request.note,
            declared_by: by,
        };
        let store = self.store.clone();
        let drill = blocking(move || store.declare_drill(&drill, now)).await??;
        info!(drill = drill.id, starts = %drill.starts_at, ends = %drill.ends_at, by = %drill.declared_by, "drill declared");
        Ok(drill)
    }

    /// Silences a device or a rule (or one rule on one device) for a window.
    pub async fn add_silence(
        &self,
        request: SilenceRequest,
        by: String,
    ) -> Result<store::Silence, AlertError> {
        let now = clock::now();
        let catalog = &self.catalog;
        if request.device.is_none() && request.rule.is_none() {
            return Err(AlertError::Invalid(
                "a silence names a `device`, a `rule` or both".into(),
            ));
        }
        if let Some(d) = &request.device
            && !catalog.devices.iter().any(|x| &x.name == d)
        {
            return Err(AlertError::Invalid(format!("no device `{d}`")));
        }
        if let Some(r) = &request.rule
            && !catalog.rules.iter().any(|x| &x.id == r)
        {
            return Err(AlertError::Invalid(format!("no rule `{r}`")));
        }
        let starts = request.starts.unwrap_or(now);
        if request.ends <= starts.max(now) {
            return Err(AlertError::Invalid(
                "`ends` must be in the future and after `starts`".into(),
            ));
        }
        if request.reason.trim().is_empty() {
            return Err(AlertError::Invalid("a silence needs a `reason`".into()));
        }
        let max = catalog.alerts.max_silence;
        if request.ends.duration_since(starts).unsigned_abs() > max {
            return Err(AlertError::Invalid(format!(
                "a silence may last at most {} h (`[alerts] max_silence`)",
                max.as_secs() / 3600
            )));
        }
        let covered =
            life_safety_covered(catalog, request.device.as_deref(), request.rule.as_deref());
        if let Some(rule) = covered
            && !request.life_safety
        {
            return Err(AlertError::Invalid(format!(
                "this silence would also silence the life-safety rule `{rule}`; an admin may, with \"life_safety\": true"
            )));
        }
        let silence = store::Silence {
            id: 0,
            device: request.device,
            rule: request.rule,
            starts_at: starts,
            ends_at: request.ends,
            reason: request.reason,
            created_by: by,
            zones: Vec::new(),
            test: false,
        };
        let store = self.store.clone();
        let silence = blocking(move || store.add_silence(&silence, now)).await??;
        info!(silence = silence.id, by = %silence.created_by, "silence added: {}", silence.reason);
        Ok(silence)
    }

    /// Declares a test window: alarms from `zones` of `device` (all its
    /// zones when none are named) until `ends` are recorded as tests and
    /// call nobody; anything else still escalates, and when the window
    /// ends normal handling resumes. A technician may test life-safety
    /// detectors this way — only the zones named, only for so long.
    pub async fn declare_test(
        &self,
        request: TestRequest,
        by: String,
    ) -> Result<store::Silence, AlertError> {
        let now = clock::now();
        let catalog = &self.catalog;
        let Some(device) = catalog.devices.iter().find(|d| d.name == request.device) else {
            return Err(AlertError::Invalid(format!(
                "no device `{}`",
                request.device
            )));
        };
        let zones: Vec<String> = request
            .zones
            .iter()
            .map(|z| z.trim().to_owned())
            .filter(|z| !z.is_empty())
            .collect();
        if let Some(z) = zones.iter().find(|z| z.contains(',')) {
            return Err(AlertError::Invalid(format!("`{z}` is not a zone name")));
        }
        if request.ends <= now {
            return Err(AlertError::Invalid("`ends` must be in the future".into()));
        }
        if request.reason.trim().is_empty() {
            return Err(AlertError::Invalid(
                "a test needs a `reason` (which detectors, what for)".into(),
            ));
        }
        let max = catalog.alerts.max_silence;
        if request.ends.duration_since(now).unsigned_abs() > max {
            return Err(AlertError::Invalid(format!(
                "a test may last at most {} h (`[alerts] max_silence`)",
                max.as_secs() / 3600
            )));
        }
        let window = store::Silence {
            id: 0,
            device: Some(device.name.clone()),
            rule: None,
            starts_at: now,
            ends_at: request.ends,
            reason: request.reason,
            created_by: by,
            zones,
            test: true,
        };
        let store = self.store.clone();
        let window = blocking(move || store.add_silence(&window, now)).await??;
        info!(test = window.id, device = ?window.device, zones = ?window.zones, by = %window.created_by, "test window declared");
        Ok(window)
    }

    /// Ends a silence now; alerts it held that are still active start
    /// escalating at once.
    pub async fn end_silence(&self, id: i64, by: String) -> Result<store::Silence, AlertError> {
        let store = self.store.clone();
        let ended = blocking(move || store.end_silence(id, clock::now())).await??;
        let Some(silence) = ended else {
            return Err(AlertError::NotFound(id));
        };
        info!(silence = id, %by, "silence ended early");
        self.maintain().await?.maintained?;
        Ok(silence)
    }

    /// Ends a drill now (or calls off one not yet begun): alarms from
    /// then on reach everyone again.
    pub async fn end_drill(&self, id: i64, by: String) -> Result<store::Drill, AlertError> {
        let store = self.store.clone();
        let ended = blocking(move || store.end_drill(id, clock::now())).await??;
        let Some(drill) = ended else {
            return Err(AlertError::NotFound(id));
        };
        info!(drill = id, %by, "drill ended");
        self.changes.send_modify(|n| *n += 1);
        Ok(drill)
    }

    async fn after(&self, changes: Vec<AlertChange>) {
        if changes.is_empty() {
            return;
        }
        self.wake.notify_waiters();
        self.changes.send_modify(|n| *n += changes.len() as u64);
        for c in &changes {
            let a = &c.alert;
            match c.event {
                AlertEvent::Raised => {
                    self.metrics.raised.fetch_add(1, Relaxed);
                    if a.suppressed.is_some() || a.drill {
                        self.metrics.suppressed.fetch_add(1, Relaxed);
                    }
                    warn!(
                        alert = a.id,
                        class = a.class.as_str(),
                        device = a.device.as_deref().unwrap_or("-"),
                        drill = a.drill,
                        suppressed = a.suppressed.as_deref().unwrap_or("no"),
                        "ALERT raised: {}",
                        a.title
                    );
                }
                AlertEvent::Escalated | AlertEvent::Repeated => {
                    self.metrics.escalations.fetch_add(1, Relaxed);
                    warn!(
                        alert = a.id,
                        "nobody acknowledged: {} {}",
                        c.event.as_str(),
                        a.title
                    );
                }
                AlertEvent::Notified => {
                    self.metrics.notifications.fetch_add(1, Relaxed);
                    warn!(
                        alert = a.id,
                        "alert notification: {}",
                        c.detail.as_deref().unwrap_or("-")
                    );
                }
                AlertEvent::Acknowledged => {
                    self.metrics.acknowledged.fetch_add(1, Relaxed);
                    info!(
                        alert = a.id,
                        by = a.acknowledged_by.as_deref().unwrap_or("-"),
                        "alert acknowledged: {}",
                        a.title
                    );
                }
                AlertEvent::Resolved => info!(alert = a.id, "alert resolved: {}", a.title),
                _ => {}
            }
            self.sinks.publish(c.record(&self.catalog.site.id)).await;
        }
    }
}

/// A drill to declare.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// Start (RFC 3339), in the future.
    pub starts: Timestamp,
    /// End (RFC 3339).
    pub ends: Timestamp,
    /// Classes it covers; `["fire"]` when left out.
    #[serde(default)]
    pub classes: Vec<AlertClass>,
    /// What the drill is.
    #[serde(default)]
    pub note: Option<String>,
}

/// A silence to add.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    /// Device to silence.
    #[serde(default)]
    pub device: Option<String>,
    /// Rule to silence.
    #[serde(default)]
    pub rule: Option<String>,
    /// Start (RFC 3339); now when left out.
    #[serde(default)]
    pub starts: Option<Timestamp>,
    /// End (RFC 3339).
    pub ends: Timestamp,
    /// Why (maintenance on the device).
    pub reason: String,
    /// Also silence life-safety rules (fire, emergency buttons, guard
    /// safety) the silence covers: an admin's explicit decision.
    #[serde(default)]
    pub life_safety: bool,
}

/// A technician's test of some detectors: `POST /api/v1/tests`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// The device under test (a fire panel, an access controller).
    pub device: String,
    /// Its zones under test; every zone when left out.
    #[serde(default)]
    pub zones: Vec<String>,
    /// When the test ends (RFC 3339).
    pub ends: Timestamp,
    /// Which detectors, what for.
    pub reason: String,
}

/// The first life-safety rule a silence of `device` and/or `rule` would
/// cover, if any.
fn life_safety_covered(
    catalog: &Catalog,
    device: Option<&str>,
    rule: Option<&str>,
) -> Option<String> {
    catalog
        .rule_instances
        .iter()
        .map(|i| (catalog.rule(i.rule), catalog.device(i.device)))
        .filter(|(r, d)| {
            rule.is_none_or(|want| r.id == want) && device.is_none_or(|want| d.name == want)
        })
        .find(|(r, _)| {
            r.class.is_life_safety()
                && matches!(
                    r.action,
                    sitewarden_model::vocab::RuleAction::Alert
                        | sitewarden_model::vocab::RuleAction::Both
                )
        })
        .map(|(r, _)| r.id.clone())
}

/// Runs database work off the async workers.
/// What one [`AlertsHandle::maintain`] round found, each part on its own.
#[derive(Debug)]
pub struct Upkeep {
    /// Silences, inhibitions and self-tests brought up to date.
    pub maintained: Result<(), AlertError>,
    /// Channels whose failures need a person (a ticket).
    pub channel_faults: rusqlite::Result<Vec<store::ChannelFault>>,
    /// Life-safety alerts no channel confirmed in time: (id, title).
    pub undelivered: rusqlite::Result<Vec<(i64, String)>>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AlertError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| AlertError::Stopping)
}
