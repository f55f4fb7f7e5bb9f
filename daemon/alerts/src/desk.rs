//! The alert desk: the stage that turns raised conditions into alerts,
//! fires escalation steps when their deadlines come, ends silences, runs
//! channel self-tests (a failed one opens a ticket) and sends the MQTT
//! heartbeat.
//!
//! It subscribes to the condition bus before any other stage, takes every
//! waiting condition event at once, and commits to its own database, so a
//! fire alarm does not queue behind readings, ticket writes or a retrying
//! webhook (each channel delivers on its own loop, fire first).

use sitewarden_runtime::clock;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tracing::warn;

use super::{AlertInput, AlertsHandle, Raise};
use sitewarden_model::catalog::Catalog;
use sitewarden_model::locale::Arg;
use sitewarden_model::vocab::RuleAction;
use sitewarden_rules::{ConditionEvent, Transition};
use sitewarden_runtime::backoff::Backoff;
use sitewarden_tickets::TicketsHandle;

/// The desk sleeps until the next escalation deadline (woken early when an
/// alert changes or the clock steps), but at most this long.
pub const ESCALATION_LOOK_EVERY: Duration = Duration::from_secs(60);
/// Silences, self-tests and undelivered life-safety alerts are looked at
/// when the next of them falls due ([`AlertStore::next_maintenance_at`]),
/// when an alert changes or a delivery fails, and at least this often (a
/// store error or a missed wake-up costs at most that).
///
/// [`AlertStore::next_maintenance_at`]: crate::store::AlertStore::next_maintenance_at
pub const MAINTENANCE_LOOK_EVERY: Duration = Duration::from_secs(60);
/// Condition events held while the alert store cannot write. Past this the
/// desk stops taking events, so the condition bus (and the rules stage
/// behind it) waits: nothing is dropped, the backlog is only bounded.
pub const PENDING_MAX: usize = 10_000;
/// First wait before a failed commit is tried again; doubles to [`RETRY_MAX`].
const RETRY_BASE: Duration = Duration::from_millis(100);
/// Longest wait between two tries of a failed commit.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The MQTT lane the desk publishes on without the store: its client and
/// the heartbeat topic.
type MqttLane = (sitewarden_runtime::mqtt::client::Client, String);

/// Sends a life-safety alarm the store could not record yet straight on the
/// MQTT lane, marked `stored: false, confirmed: false`.
fn publish_unstored(
    alerts: &AlertsHandle,
    client: &sitewarden_runtime::mqtt::client::Client,
    raise: &Raise,
) {
    let message = serde_json::json!({
        "site": alerts.catalog.site.id,
        "key": raise.key,
        "class": raise.class.as_str(),
        "severity": raise.severity.as_str(),
        "title": raise.title,
        "device": raise.device,
        "location": raise.location,
        "zone": raise.zone,
        "point": raise.point,
        "value": raise.value,
        "raised_at": raise.at,
        "stored": false,
        "confirmed": false,
    });
    let topic = alerts.catalog.topics().alert_unstored();
    match client.try_publish(topic, true, false, message.to_string().into_bytes()) {
        Ok(()) => {
            alerts
                .metrics
                .unstored_published
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Err(e) => warn!(error = %e, "cannot send an unstored life-safety alarm on MQTT"),
    }
}

/// What the desk runs with.
pub struct DeskInputs {
    /// Alerts.
    pub alerts: AlertsHandle,
    /// Tickets, for failed self-tests.
    pub tickets: TicketsHandle,
    /// Condition bus subscription.
    pub conditions: mpsc::Receiver<ConditionEvent>,
    /// For the heartbeat, when MQTT is configured.
    pub heartbeat: Option<(sitewarden_runtime::mqtt::client::Client, String)>,
    /// What the store lacks against the conditions restored at start
    /// ([`reconcile`]), committed first.
    pub restored: Vec<AlertInput>,
    /// The alert channels' delivery queue: a failed attempt may be a
    /// channel fault that needs a ticket now.
    pub outbox: std::sync::Arc<sitewarden_delivery::Queue>,
}

/// The inputs that bring the alert store in line with the conditions the
/// rules stage restored at start. The process may have died between the
/// rules store saving a transition and the alert store committing it: a
/// condition raised with no open alert holding it as an active member is
/// raised again, and an active member whose condition is no longer raised
/// is cleared. Members of alerts that no rule raises (patrol, delivery and
/// system faults) are left alone.
pub fn reconcile(
    catalog: &Catalog,
    raised: &[ConditionEvent],
    active_members: &std::collections::HashSet<(String, String)>,
) -> Vec<AlertInput> {
    let mut inputs = Vec::new();
    let mut still_raised = std::collections::HashSet::new();
    for event in raised {
        if let Some(AlertInput::Raised(raise)) = alert_input(catalog, event) {
            let member = (raise.key.clone(), raise.point.clone());
            if !active_members.contains(&member) {
                inputs.push(AlertInput::Raised(raise));
            }
            still_raised.insert(member);
        }
    }
    let now = clock::now();
    for instance in &catalog.rule_instances {
        let rule = catalog.rule(instance.rule);
        if !matches!(rule.action, RuleAction::Alert | RuleAction::Both) {
            continue;
        }
        let key = format!("{}|{}", rule.id, catalog.device(instance.device).name);
        let member = (key, catalog.point(instance.point).name.clone());
        if active_members.contains(&member) && !still_raised.contains(&member) {
            inputs.push(AlertInput::Cleared {
                key: member.0,
                point: member.1,
                at: now,
            });
        }
    }
    inputs
}

/// Runs until the condition bus closes: at shutdown the rules stage stops
/// after the sources, so an alarm raised in the last moment is still handled.
pub async fn run(inputs: DeskInputs) {
    let DeskInputs {
        alerts,
        tickets,
        mut conditions,
        heartbeat,
        restored,
        outbox,
    } = inputs;
    let mut next_escalation = next_escalation_at(&alerts).await;
    // The first round at once: a channel never tested is tested at start.
    let mut next_maintenance = Some(clock::now());
    let mut beat = tokio::time::interval(alerts.catalog.alerts.heartbeat_every);
    let mut batch = Vec::with_capacity(256);
    let mut pending = Pending::default();
    if !restored.is_empty() {
        tracing::info!(
            inputs = restored.len(),
            "alert store brought in line with the conditions restored at start"
        );
        pending.inputs = restored;
        pending.commit(&alerts, heartbeat.as_ref()).await;
    }
    loop {
        tokio::select! {
            biased;
            received = conditions.recv_many(&mut batch, 256), if pending.inputs.len() < PENDING_MAX => {
                if received == 0 {
                    break;
                }
                pending.inputs.extend(batch.drain(..).filter_map(|e| alert_input(&alerts.catalog, &e)));
                pending.commit(&alerts, heartbeat.as_ref()).await;
            }
            () = pending.retry_due() => pending.commit(&alerts, heartbeat.as_ref()).await,
            () = tokio::time::sleep(until(next_escalation, ESCALATION_LOOK_EVERY)) => {
                if let Err(e) = alerts.escalate_due().await {
                    warn!(error = %e, "cannot escalate alerts");
                }
                next_escalation = next_escalation_at(&alerts).await;
            }
            () = alerts.store.deadlines_changed() => {
                next_escalation = next_escalation_at(&alerts).await;
                next_maintenance = next_maintenance_at(&alerts).await;
            }
            () = tokio::time::sleep(until(next_maintenance, MAINTENANCE_LOOK_EVERY)) => {
                maintain(&alerts, &tickets).await;
                next_maintenance = next_maintenance_at(&alerts).await;
            }
            () = outbox.attempt_failed() => {
                maintain(&alerts, &tickets).await;
                next_maintenance = next_maintenance_at(&alerts).await;
            }
            _ = beat.tick() => {
                if let Some((client, topic)) = &heartbeat {
                    send_heartbeat(&alerts, client, topic).await;
                }
            }
        }
    }
    // The bus closed: one last try for what the store has not taken yet.
    if !pending.inputs.is_empty() {
        pending.commit(&alerts, heartbeat.as_ref()).await;
    }
}

/// The earliest escalation deadline; on a store error, a minute from now
/// (the next look).
async fn next_escalation_at(alerts: &AlertsHandle) -> Option<Timestamp> {
    let store = alerts.store.clone();
    match tokio::task::spawn_blocking(move || store.next_escalation_at()).await {
        Ok(Ok(next)) => next,
        Ok(Err(e)) => {
            warn!(error = %e, "cannot read the next escalation deadline; looking again in a minute");
            None
        }
        Err(_) => None,
    }
}

/// When silences, self-tests or an unconfirmed life-safety alert next
/// need the desk; on a store error, `None` (the next look).
async fn next_maintenance_at(alerts: &AlertsHandle) -> Option<Timestamp> {
    let (store, catalog) = (alerts.store.clone(), alerts.catalog.clone());
    let within = catalog.alerts.confirm_within;
    match tokio::task::spawn_blocking(move || store.next_maintenance_at(&catalog, within)).await {
        Ok(Ok(next)) => next,
        Ok(Err(e)) => {
            warn!(error = %e, "cannot read when alert maintenance is next due; looking again in a minute");
            None
        }
        Err(_) => None,
    }
}

/// How long to sleep until `deadline` by the daemon's clock: at once when
/// it has passed, at most `longest` (a store error or a missed
/// notification costs at most that).
fn until(deadline: Option<Timestamp>, longest: Duration) -> Duration {
    let Some(deadline) = deadline else {
        return longest;
    };
    let left = deadline.duration_since(clock::now());
    if left.is_negative() {
        return Duration::ZERO;
    }
    left.unsigned_abs().min(longest)
}

/// Condition events the store has not committed yet, kept in order until
/// it does: a failed commit (disk full, database busy, a bad page) is
/// retried with back-off, never dropped, because a fire alarm whose commit
/// failed would otherwise never become an alert (its rule stays active and
/// raises nothing new).
struct Pending {
    inputs: Vec<AlertInput>,
    retry_at: Option<tokio::time::Instant>,
    failures: u32,
    backoff: Backoff,
    /// Life-safety raises already announced as not stored, by group key.
    announced: std::collections::HashSet<String>,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            inputs: Vec::new(),
            retry_at: None,
            failures: 0,
            backoff: Backoff::new(RETRY_BASE, RETRY_MAX),
            announced: Default::default(),
        }
    }
}

impl Pending {
    /// Commits everything pending, or schedules the next try; a failure
    /// announces the life-safety alarms held on the channels that need no
    /// store (the log and, when MQTT is configured, `lane`).
    async fn commit(&mut self, alerts: &AlertsHandle, lane: Option<&MqttLane>) {
        if self.inputs.is_empty() {
            return;
        }
        alerts.metrics.pending.store(
            self.inputs.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        match alerts.apply(self.inputs.clone()).await {
            Ok(()) => {
                if self.failures > 0 {
                    warn!(
                        after = self.failures,
                        events = self.inputs.len(),
                        "alert store writes again; held condition events committed"
                    );
                }
                self.inputs.clear();
                self.announced.clear();
                self.retry_at = None;
                self.failures = 0;
                self.backoff.reset();
                alerts
                    .metrics
                    .pending
                    .store(0, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => {
                alerts
                    .metrics
                    .store_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let wait = self.backoff.next_delay();
                self.failures = self.failures.saturating_add(1);
                self.retry_at = Some(tokio::time::Instant::now() + wait);
                if self.failures == 1 || self.failures % 20 == 0 {
                    warn!(error = %e, events = self.inputs.len(), failures = self.failures,
                          retry_in_ms = wait.as_millis() as u64,
                          "cannot record alerts; holding the condition events and retrying");
                }
                self.announce_unstored(alerts, lane);
            }
        }
    }

    /// Says at once which life-safety alarms are waiting for the store, on
    /// the channels that need no database: the log, and the MQTT lane's
    /// in-memory session (`…/alerts/unstored`, QoS 1, marked not stored and
    /// not confirmed; control-room screens subscribe to it).
    fn announce_unstored(&mut self, alerts: &AlertsHandle, lane: Option<&MqttLane>) {
        for input in &self.inputs {
            let AlertInput::Raised(raise) = input else {
                continue;
            };
            if raise.class.is_life_safety() && self.announced.insert(raise.key.clone()) {
                if let Some((client, _)) = lane {
                    publish_unstored(alerts, client, raise);
                }
                tracing::error!(
                    class = raise.class.as_str(),
                    device = raise.device.as_deref().unwrap_or("-"),
                    location = raise.location.as_deref().unwrap_or("-"),
                    zone = raise.zone.as_deref().unwrap_or("-"),
                    site = %alerts.catalog.site.id,
                    "LIFE-SAFETY ALARM NOT YET STORED (alert store failing): {}",
                    raise.title
                );
            }
        }
    }

    /// Resolves when a retry is due; never while nothing failed.
    async fn retry_due(&self) {
        match self.retry_at {
            Some(at) if !self.inputs.is_empty() => tokio::time::sleep_until(at).await,
            _ => std::future::pending().await,
        }
    }
}

/// What a condition event means for alerts, if anything.
pub fn alert_input(catalog: &Catalog, e: &ConditionEvent) -> Option<AlertInput> {
    let rule = catalog.rule(e.rule);
    if !matches!(rule.action, RuleAction::Alert | RuleAction::Both) {
        return None;
    }
    let device = catalog.device(e.device);
    let point = catalog.point(e.point);
    let key = format!("{}|{}", rule.id, device.name);
    match e.transition {
        Transition::Raised => Some(AlertInput::Raised(Box::new(Raise {
            key,
            class: rule.class,
            severity: e.severity,
            rule: Some(rule.id.clone()),
            device: Some(device.name.clone()),
            location: device.location.clone(),
            title: rule.description.clone(),
            point: point.name.clone(),
            zone: point.zone.clone(),
            value: e.value,
            at: e.at,
            ends_on_ack: false,
        }))),
        Transition::Cleared => Some(AlertInput::Cleared {
            key,
            point: point.name.clone(),
            at: e.at,
        }),
        _ => None,
    }
}

/// A channel that failed its self-test three times, or whose receiver
/// refused a notification for good (a bad key), gets a repair ticket, so a
/// broken channel is fixed before a fire needs it. A channel that already
/// has an open ticket gets an occurrence on it instead of a second one.
/// One maintenance round: the store's part in one blocking trip, then the
/// tickets for failing channels and the announcements of undelivered
/// life-safety alerts.
async fn maintain(alerts: &AlertsHandle, tickets: &TicketsHandle) {
    let upkeep = match alerts.maintain().await {
        Ok(upkeep) => upkeep,
        Err(e) => {
            warn!(error = %e, "cannot maintain alerts");
            return;
        }
    };
    if let Err(e) = upkeep.maintained {
        warn!(error = %e, "cannot maintain alerts");
    }
    match upkeep.channel_faults {
        Ok(faults) => ticket_channel_faults(alerts, tickets, faults).await,
        Err(e) => warn!(error = %e, "cannot read failing alert channels"),
    }
    match upkeep.undelivered {
        Ok(undelivered) => announce_undelivered(alerts, undelivered).await,
        Err(e) => warn!(error = %e, "cannot look for undelivered life-safety alerts"),
    }
}

async fn ticket_channel_faults(
    alerts: &AlertsHandle,
    tickets: &TicketsHandle,
    faults: Vec<crate::store::ChannelFault>,
) {
    for fault in faults {
        let ticket = sitewarden_tickets::store::channel_fault_ticket(
            &alerts.catalog,
            &fault.channel,
            &fault.error,
            fault.self_test,
        );
        let input = sitewarden_tickets::store::ConditionInput::Raised(Box::new(ticket));
        match tickets.apply_conditions(vec![input]).await {
            Ok(()) => {
                warn!(channel = %fault.channel, error = %fault.error, self_test = fault.self_test,
                      "notification channel needs a person; ticket opened or counted");
                let store = alerts.store.clone();
                let (channel, key) = (fault.channel.clone(), fault.key.clone());
                let marked =
                    tokio::task::spawn_blocking(move || store.fault_ticketed_as(&channel, &key))
                        .await;
                if let Ok(Err(e)) = marked {
                    warn!(channel = %fault.channel, error = %e, "cannot record a channel fault's ticket");
                }
            }
            Err(e) => {
                warn!(channel = %fault.channel, error = %e, "cannot open a ticket for a failing channel")
            }
        }
    }
}

/// Fault annunciation, as EN 54-21 asks of fire-alarm routing: a
/// life-safety alert that no channel confirmed within `confirm_within`
/// raises a `sitewarden.delivery_fault` alert of its own, which goes out on
/// every channel of its policy that still works, is counted
/// (`sitewarden_alert_delivery_faults_total`) and logged as an error.
async fn announce_undelivered(alerts: &AlertsHandle, undelivered: Vec<(i64, String)>) {
    let within = alerts.catalog.alerts.confirm_within;
    for (id, title) in undelivered {
        tracing::error!(
            alert = id,
            within_s = within.as_secs(),
            "LIFE-SAFETY ALERT NOT CONFIRMED BY ANY CHANNEL: {title}"
        );
        alerts
            .metrics
            .delivery_faults
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let raise = Raise::system_fault(
            "sitewarden.delivery_fault",
            format!("alert-{id}"),
            alerts.catalog.site.messages.text(
                "alert-delivery-fault",
                &[
                    ("id", Arg::Number(id)),
                    ("seconds", Arg::Number(within.as_secs() as i64)),
                    ("title", Arg::Text(&title)),
                ],
            ),
        );
        if let Err(e) = alerts
            .apply(vec![AlertInput::Raised(Box::new(raise))])
            .await
        {
            warn!(alert = id, error = %e, "cannot raise the delivery-fault alert");
            continue;
        }
        let store = alerts.store.clone();
        let marked =
            tokio::task::spawn_blocking(move || store.mark_delivery_fault(id, clock::now())).await;
        if let Ok(Err(e)) = marked {
            // Not marked: the next round raises it again, on the same open alert.
            warn!(alert = id, error = %e, "cannot record a delivery fault as announced");
        }
    }
}

async fn send_heartbeat(
    alerts: &AlertsHandle,
    client: &sitewarden_runtime::mqtt::client::Client,
    topic: &str,
) {
    let store = alerts.store.clone();
    let open = tokio::task::spawn_blocking(move || store.open_count())
        .await
        .ok()
        .and_then(Result::ok);
    let message = serde_json::json!({
        "site": alerts.catalog.site.id,
        "at": clock::now(),
        "open_alerts": open,
    });
    // A heartbeat is a sign of life, not an event: a full queue just skips one.
    let _ = client.try_publish(
        topic.to_owned(),
        false,
        false,
        message.to_string().into_bytes(),
    );
}
