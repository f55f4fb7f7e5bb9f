//! Encodes bus events into outbox messages and delivers them to the broker.
//!
//! Delivery is one message at a time with QoS 1: a message leaves the
//! outbox only when the broker's PUBACK for it arrives, so order is kept
//! across reconnects and nothing is lost while the broker is down; a
//! message whose PUBACK was lost in a disconnect is sent again.

use sitewarden_runtime::metrics::site_series;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;
use sitewarden_runtime::mqtt::client::{self, Client, EventLoop, Incoming};
use tokio::sync::{Notify, mpsc, watch};
use tracing::{info, warn};

use super::outbox::Outbox;
use crate::readings::{DeviceState, ReadingEvent};
use crate::rules::ConditionEvent;
use sitewarden_model::catalog::{Catalog, MqttSettings};
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::health::Spawner;
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::shutdown::Shutdown;

/// Longest wait for a PUBACK before the connection is presumed broken.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters, rendered with the daemon's metrics.
#[derive(Debug, Default)]
pub struct MqttMetrics {
    /// Messages the broker confirmed.
    pub published: AtomicU64,
    /// Messages waiting in the outbox.
    pub queued: AtomicU64,
    /// Connections made.
    pub connects: AtomicU64,
    /// Connection failures.
    pub connection_errors: AtomicU64,
}

impl MqttMetrics {
    /// Writes the publisher's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        site_series(
            out,
            site,
            &[
                (
                    "sitewarden_mqtt_published_total",
                    "counter",
                    "MQTT messages the broker confirmed.",
                    &self.published,
                ),
                (
                    "sitewarden_mqtt_queued",
                    "gauge",
                    "MQTT messages waiting in the outbox.",
                    &self.queued,
                ),
                (
                    "sitewarden_mqtt_connects_total",
                    "counter",
                    "Connections to the MQTT broker.",
                    &self.connects,
                ),
                (
                    "sitewarden_mqtt_connection_errors_total",
                    "counter",
                    "MQTT connection failures.",
                    &self.connection_errors,
                ),
            ],
        );
    }
}

/// What the MQTT stage is built from.
pub struct MqttInputs {
    /// The site.
    pub catalog: Arc<Catalog>,
    /// `[mqtt]`, checked.
    pub settings: MqttSettings,
    /// Data directory (the outbox lives there).
    pub data_dir: std::path::PathBuf,
    /// Reading bus subscription (device state changes).
    pub readings: mpsc::Receiver<ReadingEvent>,
    /// Condition bus subscription.
    pub conditions: mpsc::Receiver<ConditionEvent>,
    /// Messages of other stages (tickets, alerts) that must reach the broker at least once.
    pub handoff: mpsc::Receiver<crate::delivery::MqttHandoff>,
    /// Counters.
    pub metrics: Arc<MqttMetrics>,
    /// Stop signal.
    pub shutdown: Shutdown,
}

/// Starts the encoder, the
/// connection and the delivery tasks.
pub fn spawn(inputs: MqttInputs, tasks: &mut Spawner<'_>) -> anyhow::Result<()> {
    let MqttInputs {
        catalog,
        settings,
        data_dir,
        readings,
        conditions,
        handoff,
        metrics,
        shutdown,
    } = inputs;
    let outbox = Arc::new(Outbox::open(&data_dir)?);
    metrics.queued.store(outbox.len()?, Relaxed);
    let status = catalog.topics().status();
    let (client, eventloop) = client::connect(
        &settings,
        client::ConnectOptions {
            client_id: settings.client_id.clone(),
            last_will: Some((&status, "offline")),
            max_packet: 1 << 20,
            capacity: 64,
        },
    );
    let values_client = client.clone();
    let (connected_tx, connected) = watch::channel(false);
    let (acks_tx, acks) = mpsc::channel(64);
    let wake = Arc::new(Notify::new());
    tasks.watch(
        "mqtt-connection",
        drive(
            eventloop,
            connected_tx,
            acks_tx,
            metrics.clone(),
            shutdown.clone(),
        ),
    );
    let pump = Pump {
        client,
        outbox: outbox.clone(),
        status,
        connected,
        acks,
        wake: wake.clone(),
        metrics: metrics.clone(),
        shutdown,
    };
    tasks.watch("mqtt-outbox", pump.run());
    let filter = settings
        .values
        .map(|(deadband, interval)| crate::report::ReportFilter::new(&catalog, deadband, interval));
    let encoder = Encoder {
        catalog,
        outbox,
        wake,
        metrics,
        values: filter.map(|f| (f, values_client)),
    };
    tasks.watch("mqtt-encoder", encoder.run(readings, conditions, handoff));
    Ok(())
}

/// Drives the connection: reconnects with backoff, reports connection
/// state and PUBACKs to the pump.
pub(super) async fn drive(
    mut eventloop: EventLoop,
    connected: watch::Sender<bool>,
    acks: mpsc::Sender<()>,
    metrics: Arc<MqttMetrics>,
    mut shutdown: Shutdown,
) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    let mut log = LogLimiter::new(Duration::from_secs(30));
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            () = shutdown.wait() => return,
        };
        match event {
            Ok(Incoming::ConnAck) => {
                metrics.connects.fetch_add(1, Relaxed);
                backoff.reset();
                info!("connected to the MQTT broker");
                let _ = connected.send(true);
            }
            Ok(Incoming::PubAck) => {
                let _ = acks.send(()).await;
            }
            Ok(_) => {}
            Err(e) => {
                let _ = connected.send(false);
                metrics.connection_errors.fetch_add(1, Relaxed);
                if let Some(held_back) = log.allow() {
                    warn!(error = %e, held_back, "MQTT broker unreachable; events wait in the outbox");
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay()) => {}
                    () = shutdown.wait() => return,
                }
            }
        }
    }
}

/// Delivers the outbox in order, one confirmed message at a time.
struct Pump {
    client: Client,
    outbox: Arc<Outbox>,
    status: String,
    connected: watch::Receiver<bool>,
    acks: mpsc::Receiver<()>,
    wake: Arc<Notify>,
    metrics: Arc<MqttMetrics>,
    shutdown: Shutdown,
}

impl Pump {
    async fn run(mut self) {
        loop {
            // Wait for a connection, then announce ourselves.
            tokio::select! {
                r = self.connected.wait_for(|c| *c) => if r.is_err() { return },
                () = self.shutdown.wait() => return,
            }
            if !self
                .send(&self.status.clone(), b"online".to_vec(), true)
                .await
            {
                continue;
            }
            while *self.connected.borrow() && !self.shutdown.is_triggered() {
                let next = self.outbox.oldest(1).ok().and_then(|mut m| m.pop());
                let Some(message) = next else {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        _ = self.connected.changed() => {}
                        // Only in case a wake was missed: work wakes the pump.
                        () = tokio::time::sleep(Duration::from_secs(30)) => {}
                        () = self.shutdown.wait() => return,
                    }
                    continue;
                };
                if !self
                    .send(&message.topic, message.payload, message.retain)
                    .await
                {
                    break;
                }
                if let Err(e) = self.outbox.remove(message.id) {
                    warn!(error = %e, "cannot remove a delivered message from the MQTT outbox; it will be sent again");
                }
                self.metrics.published.fetch_add(1, Relaxed);
                self.metrics
                    .queued
                    .store(self.outbox.len().unwrap_or(0), Relaxed);
            }
        }
    }

    /// Publishes with QoS 1 and waits for its PUBACK; false when the
    /// connection failed first.
    async fn send(&mut self, topic: &str, payload: Vec<u8>, retain: bool) -> bool {
        while self.acks.try_recv().is_ok() {}
        if self
            .client
            .publish(topic.to_owned(), true, retain, payload)
            .await
            .is_err()
        {
            return false;
        }
        tokio::select! {
            ack = self.acks.recv() => ack.is_some(),
            _ = self.connected.wait_for(|c| !*c) => false,
            () = tokio::time::sleep(ACK_TIMEOUT) => false,
        }
    }
}

/// Turns bus events into outbox messages, and point values into retained
/// QoS 0 messages when `publish_values` is on (values are state, not events:
/// the newest wins, so they skip the outbox).
struct Encoder {
    catalog: Arc<Catalog>,
    outbox: Arc<Outbox>,
    wake: Arc<Notify>,
    metrics: Arc<MqttMetrics>,
    values: Option<(crate::report::ReportFilter, Client)>,
}

/// `points/<device>/<point>`.
#[derive(Serialize)]
struct ValueMessage<'a> {
    value: Option<crate::readings::Value>,
    quality: &'static str,
    unit: Option<&'a str>,
    at: jiff::Timestamp,
}

/// `devices/<device>/state`.
#[derive(Serialize)]
struct DeviceStateMessage<'a> {
    id: String,
    site: &'a str,
    device: &'a str,
    state: DeviceState,
    reason: Option<&'static str>,
    at: jiff::Timestamp,
}

/// `conditions/<device>/<rule>`.
#[derive(Serialize)]
struct ConditionMessage<'a> {
    id: String,
    site: &'a str,
    device: &'a str,
    point: &'a str,
    rule: &'a str,
    description: &'a str,
    transition: &'static str,
    state: &'static str,
    severity: sitewarden_model::vocab::Severity,
    category: sitewarden_model::vocab::Category,
    action: sitewarden_model::vocab::RuleAction,
    value: Option<f64>,
    threshold: Option<f64>,
    at: jiff::Timestamp,
    raised_at: Option<jiff::Timestamp>,
}

impl Encoder {
    async fn run(
        mut self,
        mut readings: mpsc::Receiver<ReadingEvent>,
        mut conditions: mpsc::Receiver<ConditionEvent>,
        mut handoff: mpsc::Receiver<crate::delivery::MqttHandoff>,
    ) {
        let (mut readings_open, mut conditions_open, mut handoff_open) = (true, true, true);
        while readings_open || conditions_open {
            tokio::select! {
                event = readings.recv(), if readings_open => match event {
                    Some(ReadingEvent::DeviceState { device, state, at, reason }) => {
                        let c = &self.catalog;
                        let name = &c.device(device).name;
                        let topic = c.topics().device_state(name);
                        self.queue(&topic, true, |id| DeviceStateMessage {
                            id: format!("{}-{id}", c.site.id),
                            site: &c.site.id,
                            device: name,
                            state,
                            reason: reason.map(|r| r.label()),
                            at,
                        });
                    }
                    Some(ReadingEvent::Batch(batch)) => self.publish_values(&batch.readings),
                    None => readings_open = false,
                },
                event = conditions.recv(), if conditions_open => match event {
                    Some(e) => self.queue_condition(&e),
                    None => conditions_open = false,
                },
                message = handoff.recv(), if handoff_open => match message {
                    Some(m) => self.take_handoff(m),
                    None => handoff_open = false,
                },
            }
        }
    }

    fn publish_values(&mut self, readings: &[crate::readings::Reading]) {
        let Some((filter, client)) = &mut self.values else {
            return;
        };
        for r in readings.iter().filter(|r| filter.admit(r)) {
            let point = self.catalog.point(r.point);
            let topic = self
                .catalog
                .topics()
                .point_value(&self.catalog.device(r.device).name, &point.name);
            let message = ValueMessage {
                value: r.value,
                quality: match r.quality {
                    crate::readings::Quality::Good => "good",
                    crate::readings::Quality::Bad(reason) => reason.label(),
                },
                unit: point.unit.as_deref(),
                at: r.at,
            };
            // Full request queue while the broker is away: this value is
            // superseded by the next one anyway.
            let _ = client.try_publish(
                topic,
                false,
                true,
                serde_json::to_vec(&message).unwrap_or_default(),
            );
        }
    }

    fn queue_condition(&self, e: &ConditionEvent) {
        use crate::rules::Transition;
        // Pending and cancelled steps are internal; the world hears raised and cleared.
        if !matches!(e.transition, Transition::Raised | Transition::Cleared) {
            return;
        }
        let c = &self.catalog;
        let rule = c.rule(e.rule);
        let device = &c.device(e.device).name;
        let topic = c.topics().condition(device, &rule.id);
        self.queue(&topic, false, |id| ConditionMessage {
            id: format!("{}-{id}", c.site.id),
            site: &c.site.id,
            device,
            point: &c.point(e.point).name,
            rule: &rule.id,
            description: &rule.description,
            transition: e.transition.as_str(),
            state: e.state.as_str(),
            severity: e.severity,
            category: rule.category,
            action: rule.action,
            value: e.value,
            threshold: e.threshold,
            at: e.at,
            raised_at: e.raised_at,
        });
    }

    /// Stores another stage's message and confirms once it is in the outbox.
    fn take_handoff(&self, m: crate::delivery::MqttHandoff) {
        match self.outbox.push(&m.topic, m.retain, |_| m.payload) {
            Ok(_) => {
                self.metrics.queued.fetch_add(1, Relaxed);
                self.wake.notify_one();
                let _ = m.stored.send(());
            }
            Err(e) => {
                warn!(error = %e, topic = %m.topic, "cannot store an MQTT message in the outbox; it will be offered again")
            }
        }
    }

    fn queue<T: Serialize>(&self, topic: &str, retain: bool, message: impl FnOnce(i64) -> T) {
        let pushed = self.outbox.push(topic, retain, |id| {
            serde_json::to_vec(&message(id)).unwrap_or_default()
        });
        match pushed {
            Ok(_) => {
                self.metrics.queued.fetch_add(1, Relaxed);
                self.wake.notify_one();
            }
            Err(e) => {
                warn!(error = %e, %topic, "cannot store an MQTT message in the outbox; it is lost")
            }
        }
    }
}
