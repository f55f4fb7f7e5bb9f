//! The MQTT source: sensors that publish (wireless temperature and occupancy
//! sensors, smart plugs, lighting gateways) read as points like any register.
//!
//! Two connections: one for the points whose role is life safety (fire
//! alarm, emergency button, forced door, tamper), so that a flood on other
//! topics never queues ahead of an alarm, and one for every other point,
//! the devices' availability topics and the command topics. A device whose
//! messages come faster than [`FLOOD_LIMIT`] a second is throttled: the
//! excess is dropped and counted, and the device is reported offline with
//! reason `flooding` until a second passes within the limit (its life-safety
//! points keep flowing on their own connection). A payload is a plain number, a yes/no word
//! (`true/false/ON/OFF/1/0`), or JSON with the value found by a JSON
//! Pointer. A payload that cannot be read is refused, counted by reason and
//! logged at a limited rate; it never disturbs other points or the
//! connection. A device is offline when its availability topic says so or
//! when it stays silent longer than `silent_after`.

use sitewarden_runtime::clock;
use sitewarden_runtime::metrics::{family, sample};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;
use tracing::{info, warn};

use sitewarden_model::catalog::{Catalog, DeviceId, MqttBroker, MqttSettings, Point, PointSource};
use sitewarden_model::reading::{
    BadReason, DeviceState, Quality, Reading, ReadingBatch, ReadingEvent, Value,
};
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::bus::ReadingBus;
use sitewarden_runtime::health::Spawner;
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::mqtt::client::{self, Client, EventLoop, Incoming};
use sitewarden_runtime::shutdown::Shutdown;

/// Largest payload read; anything larger is refused (and counted).
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// Why a message was refused, in metric label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// JSON expected, something else came.
    NotJson,
    /// The JSON Pointer finds nothing.
    MissingPointer,
    /// Neither a number nor a yes/no.
    WrongType,
    /// NaN or infinite.
    NotFinite,
    /// Over [`MAX_PAYLOAD`].
    TooLarge,
    /// No point or device listens to the topic.
    Unmatched,
    /// The payload's own time is more than [`MAX_FUTURE`] ahead or
    /// [`MAX_PAST`] behind: a device clock that is wrong, or garbage.
    BadTime,
}

/// How far ahead of the daemon's clock a device's timestamp may be.
pub const MAX_FUTURE: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// How far behind: a gateway that buffered a week offline still delivers.
pub const MAX_PAST: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl Refusal {
    /// Every reason, in label order.
    pub const ALL: [Refusal; 7] = [
        Self::NotJson,
        Self::MissingPointer,
        Self::WrongType,
        Self::NotFinite,
        Self::TooLarge,
        Self::Unmatched,
        Self::BadTime,
    ];

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotJson => "not_json",
            Self::MissingPointer => "missing_pointer",
            Self::WrongType => "wrong_type",
            Self::NotFinite => "not_finite",
            Self::TooLarge => "too_large",
            Self::Unmatched => "unmatched_topic",
            Self::BadTime => "bad_timestamp",
        }
    }
}

/// Counters of the MQTT source.
#[derive(Debug, Default)]
pub struct MqttInMetrics {
    /// Messages received.
    pub messages: AtomicU64,
    /// Readings produced.
    pub readings: AtomicU64,
    /// Commands refused (malformed, unauthorised, unknown, invalid).
    pub commands_refused: AtomicU64,
    /// Messages dropped because their device sent more than [`FLOOD_LIMIT`] a second.
    pub throttled: AtomicU64,
    /// Messages received on the life-safety connection.
    pub life_safety: AtomicU64,
    /// The embedded broker's count of messages it dropped for clients that
    /// did not keep up (its `$SYS/broker/publish/messages/dropped`).
    pub broker_dropped: AtomicU64,
    /// The embedded broker's heap, bytes (`$SYS/broker/heap/current`).
    pub broker_heap: AtomicU64,
    refused: [AtomicU64; 7],
}

impl MqttInMetrics {
    /// Writes the MQTT source's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        let name = "sitewarden_mqtt_messages_total";
        family(out, name, "counter", "MQTT sensor messages received.");
        sample(out, name, site, self.messages.load(Relaxed));
        let name = "sitewarden_mqtt_throttled_total";
        family(
            out,
            name,
            "counter",
            "MQTT sensor messages dropped because their device flooded (more than 200 a second).",
        );
        sample(out, name, site, self.throttled.load(Relaxed));
        let name = "sitewarden_mqtt_life_safety_messages_total";
        family(
            out,
            name,
            "counter",
            "MQTT messages of life-safety points, read on their own connection.",
        );
        sample(out, name, site, self.life_safety.load(Relaxed));
        let name = "sitewarden_mqtt_broker_dropped_total";
        family(
            out,
            name,
            "counter",
            "Messages the embedded broker dropped for clients that did not keep up.",
        );
        sample(out, name, site, self.broker_dropped.load(Relaxed));
        let name = "sitewarden_mqtt_broker_heap_bytes";
        family(
            out,
            name,
            "gauge",
            "Memory the embedded broker holds, bytes.",
        );
        sample(out, name, site, self.broker_heap.load(Relaxed));
        let name = "sitewarden_mqtt_refused_total";
        family(
            out,
            name,
            "counter",
            "MQTT sensor messages refused, by reason.",
        );
        for reason in Refusal::ALL {
            let _ = writeln!(
                out,
                "{name}{{site=\"{site}\",reason=\"{}\"}} {}",
                reason.label(),
                self.refused(reason)
            );
        }
    }
}

impl MqttInMetrics {
    /// Messages refused for this reason.
    pub fn refused(&self, reason: Refusal) -> u64 {
        self.refused[reason as usize].load(Relaxed)
    }

    fn count(&self, reason: Refusal) {
        self.refused[reason as usize].fetch_add(1, Relaxed);
    }
}

/// True when `topic` matches the MQTT filter (`+` one level, `#` the rest).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Reads one point's value out of a payload.
pub fn parse_value(point: &Point, pointer: Option<&str>, payload: &[u8]) -> Result<Value, Refusal> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| Refusal::WrongType)?
        .trim();
    let raw = match pointer {
        Some(pointer) => {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|_| Refusal::NotJson)?;
            let found = json.pointer(pointer).ok_or(Refusal::MissingPointer)?;
            match found {
                serde_json::Value::Number(n) => n.as_f64().ok_or(Refusal::WrongType)?,
                serde_json::Value::Bool(b) => f64::from(u8::from(*b)),
                serde_json::Value::String(s) => plain(s)?,
                _ => return Err(Refusal::WrongType),
            }
        }
        None => plain(text)?,
    };
    if !raw.is_finite() {
        return Err(Refusal::NotFinite);
    }
    if point.data_type.is_boolean() {
        return Ok(Value::Bool(raw != 0.0));
    }
    let value = raw * point.scale + point.offset;
    if value.is_finite() {
        Ok(Value::Number(value))
    } else {
        Err(Refusal::NotFinite)
    }
}

/// A plain payload: a number or a yes/no word.
fn plain(text: &str) -> Result<f64, Refusal> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "on" => Ok(1.0),
        "false" | "off" => Ok(0.0),
        other => match other.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(Refusal::NotFinite),
            Err(_) => Err(Refusal::WrongType),
        },
    }
}

/// The reading's time: the payload's own (at `pointer`) when it has a
/// readable one inside the sane window around `now`, arrival time when it
/// has none, refused when it is outside the window (so no later stage does
/// arithmetic on a year-3000 timestamp).
fn reading_time(
    pointer: Option<&str>,
    payload: &[u8],
    now: Timestamp,
) -> Result<Timestamp, Refusal> {
    let Some(at) = pointer.and_then(|p| parse_time(p, payload)) else {
        return Ok(now);
    };
    let earliest = now.checked_sub(MAX_PAST).unwrap_or(Timestamp::MIN);
    let latest = now.checked_add(MAX_FUTURE).unwrap_or(Timestamp::MAX);
    if at < earliest || at > latest {
        return Err(Refusal::BadTime);
    }
    Ok(at)
}

/// The reading's time from the payload, or `None` to use arrival time.
fn parse_time(pointer: &str, payload: &[u8]) -> Option<Timestamp> {
    let json: serde_json::Value = serde_json::from_slice(payload).ok()?;
    match json.pointer(pointer)? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => Timestamp::from_millisecond(n.as_i64()?).ok(),
        _ => None,
    }
}

/// Where each topic's messages go.
struct Routes {
    exact: HashMap<String, Vec<u32>>,
    wildcard: Vec<(String, Vec<u32>)>,
    availability: HashMap<String, DeviceId>,
}

/// Which connection: life-safety points only, or everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    LifeSafety,
    General,
}

impl Routes {
    fn new(catalog: &Catalog, lane: Lane) -> Self {
        let mut exact: HashMap<String, Vec<u32>> = HashMap::new();
        let mut wildcard: Vec<(String, Vec<u32>)> = Vec::new();
        for p in &catalog.points {
            let PointSource::Mqtt(topic) = &p.source else {
                continue;
            };
            if p.is_life_safety() != (lane == Lane::LifeSafety) {
                continue;
            }
            if topic.filter.contains(['+', '#']) {
                match wildcard.iter_mut().find(|(f, _)| *f == topic.filter) {
                    Some((_, points)) => points.push(p.id.0),
                    None => wildcard.push((topic.filter.clone(), vec![p.id.0])),
                }
            } else {
                exact.entry(topic.filter.clone()).or_default().push(p.id.0);
            }
        }
        let availability = catalog
            .devices
            .iter()
            .filter(|_| lane == Lane::General)
            .filter_map(|d| Some((d.mqtt.as_ref()?.availability_topic.clone()?, d.id)))
            .collect();
        Self {
            exact,
            wildcard,
            availability,
        }
    }

    fn filters(&self) -> Vec<String> {
        self.exact
            .keys()
            .chain(self.wildcard.iter().map(|(f, _)| f))
            .chain(self.availability.keys())
            .cloned()
            .collect()
    }

    fn points_for<'a>(&'a self, topic: &'a str) -> impl Iterator<Item = u32> + 'a {
        let exact = self.exact.get(topic).into_iter().flatten().copied();
        let wild = self
            .wildcard
            .iter()
            .filter(move |(f, _)| topic_matches(f, topic))
            .flat_map(|(_, p)| p.iter().copied());
        exact.chain(wild)
    }
}

/// Where the source hands messages on the command topics. The source sits
/// upstream of every stage, so it knows commands only through this trait;
/// the command handler (after all stages in the flow) implements it.
pub trait CommandInbox: Send + Sync {
    /// The topic filter of the command topics.
    fn filter(&self) -> String;

    /// Handles one command message.
    fn handle<'a>(
        &'a self,
        topic: &'a str,
        payload: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = CommandAnswer> + Send + 'a>>;
}

/// What became of a command message.
#[derive(Debug)]
pub struct CommandAnswer {
    /// The response's topic and payload; none when the message was too
    /// malformed to answer.
    pub reply: Option<(String, Vec<u8>)>,
    /// Refused (malformed, unauthorised, unknown, invalid): counted.
    pub refused: bool,
}

/// Starts the source: sensor topics, availability topics and commands.
pub fn spawn(
    catalog: Arc<Catalog>,
    settings: &MqttSettings,
    bus: ReadingBus,
    commands: Arc<dyn CommandInbox>,
    metrics: Arc<MqttInMetrics>,
    shutdown: Shutdown,
    tasks: &mut Spawner<'_>,
) {
    let safety = Routes::new(&catalog, Lane::LifeSafety);
    if !safety.filters().is_empty() {
        let source = Source::new(&catalog, Lane::LifeSafety, safety, None, &bus, &metrics);
        let connection = connect(settings, "-in-safety");
        tasks.watch(
            "mqtt-source-safety",
            source.run(connection, shutdown.clone()),
        );
    }
    let routes = Routes::new(&catalog, Lane::General);
    let mut source = Source::new(
        &catalog,
        Lane::General,
        routes,
        Some(commands),
        &bus,
        &metrics,
    );
    source.broker_counters = matches!(settings.broker, MqttBroker::Embedded { .. });
    tasks.watch(
        "mqtt-source",
        source.run(connect(settings, "-in"), shutdown),
    );
}

/// A connection of the source. Big packets are accepted at the protocol
/// level so an oversized payload is refused by us, counted, and does not
/// drop the connection.
fn connect(settings: &MqttSettings, suffix: &str) -> (Client, EventLoop) {
    client::connect(
        settings,
        client::ConnectOptions {
            client_id: format!("{}{suffix}", settings.client_id),
            last_will: None,
            max_packet: 4 << 20,
            capacity: 256,
        },
    )
}

/// The embedded broker's counters the general connection reads.
const BROKER_COUNTERS: [&str; 2] = [
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/heap/current",
];

/// Messages a second one device may send before it is throttled.
pub const FLOOD_LIMIT: u32 = 200;

/// How fast one device's messages come, over one-second windows.
#[derive(Debug, Clone, Copy)]
struct Rate {
    window: Instant,
    count: u32,
    flooding: bool,
}

/// How often sensors gone silent are looked for: a quarter of the shortest
/// `silent_after`, between 1 s and 30 s (a sensor is found silent at most a
/// quarter late, and an idle daemon does not wake every second for it).
fn silence_check_every(catalog: &Catalog) -> Duration {
    catalog
        .devices
        .iter()
        .filter_map(|d| d.mqtt.as_ref().map(|m| m.silent_after / 4))
        .min()
        .unwrap_or(Duration::from_secs(30))
        .clamp(Duration::from_secs(1), Duration::from_secs(30))
}

struct Source {
    catalog: Arc<Catalog>,
    lane: Lane,
    commands: Option<Arc<dyn CommandInbox>>,
    /// The command topics' filter, on the general connection only; kept
    /// here so matching a message costs no allocation.
    command_filter: Option<String>,
    routes: Routes,
    bus: ReadingBus,
    metrics: Arc<MqttInMetrics>,
    log: LogLimiter,
    last_seen: Vec<Option<Instant>>,
    state: Vec<DeviceState>,
    rates: Vec<Rate>,
    /// Read the embedded broker's `$SYS` counters (the daemon may; others may not).
    broker_counters: bool,
}

impl Source {
    fn new(
        catalog: &Arc<Catalog>,
        lane: Lane,
        routes: Routes,
        commands: Option<Arc<dyn CommandInbox>>,
        bus: &ReadingBus,
        metrics: &Arc<MqttInMetrics>,
    ) -> Self {
        let devices = catalog.devices.len();
        Self {
            catalog: catalog.clone(),
            lane,
            command_filter: commands.as_ref().map(|c| c.filter()),
            commands,
            routes,
            bus: bus.clone(),
            metrics: metrics.clone(),
            log: LogLimiter::new(Duration::from_secs(30)),
            last_seen: vec![None; devices],
            state: vec![DeviceState::Unknown; devices],
            rates: vec![
                Rate {
                    window: Instant::now(),
                    count: 0,
                    flooding: false,
                };
                devices
            ],
            broker_counters: false,
        }
    }

    async fn run(mut self, (client, mut eventloop): (Client, EventLoop), mut shutdown: Shutdown) {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        // Not at once: a tick while the first connection is being made
        // would cancel the handshake (the broker logs an aborted connect).
        let every = silence_check_every(&self.catalog);
        let mut silence = tokio::time::interval_at(Instant::now() + every, every);
        loop {
            tokio::select! {
                event = eventloop.poll() => match event {
                    Ok(Incoming::ConnAck) => {
                        backoff.reset();
                        // One SUBSCRIBE for all filters: awaiting one request per filter
                        // here, inside the event loop, would stall once the queue is full.
                        let filters = self
                            .routes
                            .filters()
                            .into_iter()
                            .chain(self.command_filter.clone())
                            .chain(self.broker_counter_filters())
                            .collect();
                        let _ = client.try_subscribe_many(filters);
                        info!(filters = self.routes.filters().len(), lane = ?self.lane, "subscribed to MQTT sensor topics");
                    }
                    Ok(Incoming::Publish { topic, retain: true, .. }) if self.is_command(&topic) => {
                        // A retained command would run again on every reconnect: refused unread.
                        self.metrics.commands_refused.fetch_add(1, Relaxed);
                        if let Some(held_back) = self.log.allow() {
                            warn!(%topic, held_back, "retained MQTT command ignored; commands must not be retained");
                        }
                    }
                    Ok(Incoming::Publish { topic, payload, .. }) if self.is_command(&topic) => {
                        let Some(commands) = self.commands.clone() else { continue };
                        let answer = commands.handle(&topic, &payload).await;
                        if answer.refused {
                            self.metrics.commands_refused.fetch_add(1, Relaxed);
                        }
                        if let Some((reply_to, reply)) = answer.reply {
                            let _ = client.try_publish(reply_to, true, false, reply);
                        }
                    }
                    Ok(Incoming::Publish { topic, payload, .. }) if topic.starts_with("$SYS/") => self.on_broker_counter(&topic, &payload),
                    Ok(Incoming::Publish { topic, payload, .. }) => self.on_message(&topic, &payload).await,
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(held_back) = self.log.allow() {
                            warn!(error = %e, held_back, "MQTT sensor connection lost; reconnecting");
                        }
                        tokio::select! {
                            () = tokio::time::sleep(backoff.next_delay()) => {}
                            () = shutdown.wait() => return,
                        }
                    }
                },
                _ = silence.tick(), if self.lane == Lane::General => self.check_silence().await,
                () = shutdown.wait() => return,
            }
        }
    }

    fn broker_counter_filters(&self) -> Vec<String> {
        if self.broker_counters {
            BROKER_COUNTERS.iter().map(|t| (*t).to_owned()).collect()
        } else {
            Vec::new()
        }
    }

    fn on_broker_counter(&self, topic: &str, payload: &[u8]) {
        let Some(value) = std::str::from_utf8(payload)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
        else {
            return;
        };
        let gauge = if topic == BROKER_COUNTERS[0] {
            &self.metrics.broker_dropped
        } else {
            &self.metrics.broker_heap
        };
        gauge.store(value, Relaxed);
    }

    fn is_command(&self, topic: &str) -> bool {
        self.command_filter
            .as_deref()
            .is_some_and(|filter| topic_matches(filter, topic))
    }

    async fn on_message(&mut self, topic: &str, payload: &[u8]) {
        self.metrics.messages.fetch_add(1, Relaxed);
        if self.lane == Lane::LifeSafety {
            self.metrics.life_safety.fetch_add(1, Relaxed);
        }
        if payload.len() > MAX_PAYLOAD {
            return self.refuse(Refusal::TooLarge, topic);
        }
        if let Some(&device) = self.routes.availability.get(topic) {
            return self.on_availability(device, payload).await;
        }
        let (now, clock_shift) = clock::now_with_shift();
        let mut batches: Vec<ReadingBatch> = Vec::new();
        let mut matched = false;
        let points: Vec<u32> = self.routes.points_for(topic).collect();
        let catalog = self.catalog.clone();
        if let Some(&first) = points.first() {
            let device = catalog.points[first as usize].device;
            if self.lane == Lane::General && self.throttled(device).await {
                return;
            }
        }
        for index in points {
            matched = true;
            let point = &catalog.points[index as usize];
            let PointSource::Mqtt(source) = &point.source else {
                continue;
            };
            let parsed =
                parse_value(point, source.json_pointer.as_deref(), payload).and_then(|value| {
                    reading_time(source.timestamp_pointer.as_deref(), payload, now)
                        .map(|at| (value, at))
                });
            let reading = match parsed {
                Ok((value, at)) => Reading {
                    point: point.id,
                    device: point.device,
                    value: Some(value),
                    quality: Quality::Good,
                    at,
                },
                Err(reason) => {
                    self.refuse(reason, topic);
                    Reading {
                        point: point.id,
                        device: point.device,
                        value: None,
                        quality: Quality::Bad(BadReason::Malformed),
                        at: now,
                    }
                }
            };
            match batches.iter_mut().find(|b| b.device == point.device) {
                Some(batch) => batch.readings.push(reading),
                None => batches.push(ReadingBatch {
                    device: point.device,
                    readings: vec![reading],
                    clock_shift,
                }),
            }
        }
        if !matched {
            return self.refuse(Refusal::Unmatched, topic);
        }
        for batch in batches {
            self.seen(batch.device, now).await;
            self.metrics
                .readings
                .fetch_add(batch.readings.len() as u64, Relaxed);
            self.bus.publish(ReadingEvent::Batch(Arc::new(batch))).await;
        }
    }

    async fn on_availability(&mut self, device: DeviceId, payload: &[u8]) {
        let Some(mqtt) = self.catalog.device(device).mqtt.clone() else {
            return;
        };
        let text = String::from_utf8_lossy(payload);
        let state = if text.trim() == mqtt.payload_offline {
            DeviceState::Offline
        } else if text.trim() == mqtt.payload_online {
            self.last_seen[device.0 as usize] = Some(Instant::now());
            DeviceState::Online
        } else {
            return self.refuse(Refusal::WrongType, "availability");
        };
        self.set_state(device, state, Some(BadReason::Transport))
            .await;
    }

    /// True when `device` sent more than [`FLOOD_LIMIT`] messages in the
    /// current second (or is still flooding): the message is dropped and
    /// counted, and the device reported offline with reason `flooding`.
    async fn throttled(&mut self, device: DeviceId) -> bool {
        let now = Instant::now();
        let rate = &mut self.rates[device.0 as usize];
        let elapsed = now.duration_since(rate.window);
        if elapsed >= Duration::from_secs(1) {
            // A whole second within the limit ends a flood: the last window
            // was within it, or a second without any message followed it.
            let calm = rate.count <= FLOOD_LIMIT || elapsed >= Duration::from_secs(2);
            rate.flooding = rate.flooding && !calm;
            rate.window = now;
            rate.count = 0;
        }
        rate.count = rate.count.saturating_add(1);
        let starts = !rate.flooding && rate.count > FLOOD_LIMIT;
        rate.flooding |= starts;
        let flooding = rate.flooding;
        if starts {
            let name = &self.catalog.device(device).name;
            warn!(device = %name, limit = FLOOD_LIMIT, "MQTT device floods its topics; its messages are dropped until it calms down");
            self.set_state(device, DeviceState::Offline, Some(BadReason::Flooding))
                .await;
        }
        if flooding {
            self.metrics.throttled.fetch_add(1, Relaxed);
        }
        flooding
    }

    async fn seen(&mut self, device: DeviceId, _at: Timestamp) {
        if self.lane == Lane::LifeSafety {
            // Device state is the general connection's: it sees every topic.
            return;
        }
        self.last_seen[device.0 as usize] = Some(Instant::now());
        if self.state[device.0 as usize] != DeviceState::Online {
            self.set_state(device, DeviceState::Online, None).await;
        }
    }

    async fn check_silence(&mut self) {
        let now = Instant::now();
        for d in 0..self.catalog.devices.len() {
            let Some(mqtt) = &self.catalog.devices[d].mqtt else {
                continue;
            };
            let silent =
                self.last_seen[d].is_none_or(|t| now.duration_since(t) > mqtt.silent_after);
            let started = self.last_seen[d].is_some() || self.state[d] != DeviceState::Unknown;
            if silent && started && self.state[d] == DeviceState::Online {
                self.set_state(
                    DeviceId(d as u32),
                    DeviceState::Offline,
                    Some(BadReason::Timeout),
                )
                .await;
            }
        }
    }

    async fn set_state(&mut self, device: DeviceId, state: DeviceState, reason: Option<BadReason>) {
        if self.state[device.0 as usize] == state {
            return;
        }
        self.state[device.0 as usize] = state;
        let name = &self.catalog.device(device).name;
        match state {
            DeviceState::Offline => warn!(device = %name, "MQTT device offline"),
            _ => info!(device = %name, "MQTT device online"),
        }
        let reason = (state == DeviceState::Offline).then_some(reason).flatten();
        self.bus
            .publish(ReadingEvent::DeviceState {
                device,
                state,
                at: clock::now(),
                reason,
            })
            .await;
    }

    fn refuse(&mut self, reason: Refusal, topic: &str) {
        self.metrics.count(reason);
        if let Some(held_back) = self.log.allow() {
            warn!(%topic, reason = reason.label(), held_back, "MQTT message refused");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitewarden_model::vocab::{DataType, RegisterKind, WordOrder};

    #[test]
    fn filters_match_like_a_broker() {
        assert!(topic_matches("a/+/c", "a/b/c"));
        assert!(!topic_matches("a/+/c", "a/b/d"));
        assert!(topic_matches("a/#", "a/b/c/d"));
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/b/c"));
        assert!(!topic_matches("a/+", "a"));
    }

    #[test]
    fn every_payload_form_and_every_refusal() {
        let number = Point::for_tests(RegisterKind::Input, 0, DataType::F64, WordOrder::HighFirst);
        let flag = Point::for_tests(RegisterKind::Input, 0, DataType::Bool, WordOrder::HighFirst);
        assert_eq!(
            parse_value(&number, None, b" 21.5 "),
            Ok(Value::Number(21.5))
        );
        for (text, on) in [
            ("ON", true),
            ("off", false),
            ("true", true),
            ("0", false),
            ("1", true),
        ] {
            assert_eq!(
                parse_value(&flag, None, text.as_bytes()),
                Ok(Value::Bool(on)),
                "{text}"
            );
        }
        let json = br#"{"sensor":{"temp":"22.25","ok":true},"n":7}"#;
        assert_eq!(
            parse_value(&number, Some("/sensor/temp"), json),
            Ok(Value::Number(22.25))
        );
        assert_eq!(
            parse_value(&number, Some("/n"), json),
            Ok(Value::Number(7.0))
        );
        assert_eq!(
            parse_value(&flag, Some("/sensor/ok"), json),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            parse_value(&number, Some("/x"), json),
            Err(Refusal::MissingPointer)
        );
        assert_eq!(
            parse_value(&number, Some("/sensor"), json),
            Err(Refusal::WrongType)
        );
        assert_eq!(
            parse_value(&number, Some("/n"), b"not json"),
            Err(Refusal::NotJson)
        );
        assert_eq!(parse_value(&number, None, b"warm"), Err(Refusal::WrongType));
        assert_eq!(parse_value(&number, None, b"NaN"), Err(Refusal::NotFinite));
        assert_eq!(parse_value(&number, None, b"inf"), Err(Refusal::NotFinite));
        assert_eq!(
            parse_value(&number, None, &[0xff, 0xfe]),
            Err(Refusal::WrongType)
        );
    }

    #[test]
    fn times_from_the_payload() {
        let t = parse_time("/ts", br#"{"ts":1800000000000}"#).unwrap();
        assert_eq!(t.as_second(), 1_800_000_000);
        let t = parse_time("/ts", br#"{"ts":"2027-01-15T08:00:00Z"}"#).unwrap();
        assert_eq!(t.as_second(), 1_800_000_000);
        assert!(parse_time("/ts", br#"{"ts":true}"#).is_none());
    }

    #[test]
    fn device_times_outside_the_window_are_refused_and_arithmetic_never_panics() {
        let now: Timestamp = "2027-01-15T08:00:00Z".parse().unwrap();
        let at = |payload: &str| reading_time(Some("/ts"), payload.as_bytes(), now);
        assert_eq!(
            at(r#"{"ts":"2027-01-15T07:59:00Z"}"#),
            Ok("2027-01-15T07:59:00Z".parse().unwrap())
        );
        assert_eq!(at(r#"{"ts":"2027-01-15T08:04:00Z"}"#).map(|_| ()), Ok(()));
        assert_eq!(
            at(r#"{"ts":"2027-01-15T08:06:00Z"}"#),
            Err(Refusal::BadTime)
        );
        assert_eq!(
            at(r#"{"ts":"2999-01-01T00:00:00Z"}"#),
            Err(Refusal::BadTime)
        );
        assert_eq!(
            at(r#"{"ts":"2026-12-01T00:00:00Z"}"#),
            Err(Refusal::BadTime)
        );
        assert_eq!(at(r#"{"ts":-62135596800000}"#), Err(Refusal::BadTime));
        // No time in the payload, or none asked for: arrival time.
        assert_eq!(at(r#"{"v":1}"#), Ok(now));
        assert_eq!(reading_time(None, b"{}", now), Ok(now));
        // The edges of jiff's range do not overflow.
        assert!(reading_time(Some("/ts"), br#"{"ts":1}"#, Timestamp::MAX).is_err());
        assert!(reading_time(Some("/ts"), br#"{"ts":1}"#, Timestamp::MIN).is_err());
    }
}
