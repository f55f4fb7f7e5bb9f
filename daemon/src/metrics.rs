//! The metrics registry, served as Prometheus text on `GET /metrics`.
//!
//! Every stage owns its counters and renders them itself (rules, Modbus
//! devices, the MQTT source and publisher, the InfluxDB sink, tickets,
//! alerts, patrol, deliveries); this registry holds a handle to each, adds
//! the site-level gauges, and concatenates them in a stable order so
//! dashboards and alert rules built on the names keep working.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sitewarden_model::catalog::Catalog;
use sitewarden_runtime::metrics::{family, sample};

use crate::delivery::DeliveryMetrics;
use crate::sources::modbus::metrics::DeviceMetrics;

/// All of the daemon's metrics: a handle to each stage's counters.
#[derive(Debug)]
pub struct Metrics {
    /// Modbus device counters, indexed like [`Catalog::devices`].
    pub devices: Arc<[DeviceMetrics]>,
    /// Malformed API requests refused.
    pub api_rejected: AtomicU64,
    /// API connections closed at once: the client (or all clients) held
    /// their share of connections.
    pub api_connections_refused: AtomicU64,
    /// Failed accepts on the API port (descriptors exhausted, resets).
    pub api_accept_errors: AtomicU64,
    /// TLS handshakes on the API port that failed or took too long.
    pub api_tls_failures: AtomicU64,
    /// The rules stage's counters.
    pub rules: Arc<crate::rules::metrics::RulesMetrics>,
    /// The InfluxDB sink's counters (zero when no sink is configured).
    pub sink: Arc<crate::sinks::influx::SinkMetrics>,
    /// MQTT counters (zero when MQTT is not configured).
    pub mqtt: Arc<crate::mqtt::publisher::MqttMetrics>,
    /// Embedded broker counters.
    pub broker: Arc<sitewarden_runtime::mqtt::broker::BrokerMetrics>,
    /// MQTT source counters.
    pub mqtt_in: Arc<crate::sources::mqtt::MqttInMetrics>,
    /// Ticket counters.
    pub tickets: Arc<crate::tickets::TicketMetrics>,
    /// Alert counters.
    pub alerts: Arc<crate::alerts::AlertMetrics>,
    /// Patrol counters.
    pub patrol: Arc<crate::patrol::PatrolMetrics>,
    /// Delivery counters per channel (`tickets-mqtt`, `tickets-webhook`, …).
    pub deliveries: std::sync::Mutex<Vec<(Arc<str>, Arc<DeliveryMetrics>)>>,
    /// Which stages run (for `/healthz` and the systemd watchdog too).
    pub stages: Arc<sitewarden_runtime::health::Stages>,
    /// Whether the data directory's disk is full (for `/healthz` too).
    pub disk: Arc<sitewarden_runtime::disk::DiskState>,
    /// Heartbeat URL and buzzer.
    pub beacons: Arc<sitewarden_runtime::health::Beacons>,
}

impl Metrics {
    /// Zeroed metrics for every device of the catalog.
    pub fn new(catalog: &Catalog) -> Self {
        Self {
            devices: catalog
                .devices
                .iter()
                .map(|_| DeviceMetrics::default())
                .collect(),
            api_rejected: AtomicU64::default(),
            api_connections_refused: AtomicU64::default(),
            api_accept_errors: AtomicU64::default(),
            api_tls_failures: AtomicU64::default(),
            rules: Default::default(),
            sink: Default::default(),
            mqtt: Default::default(),
            mqtt_in: Default::default(),
            broker: Default::default(),
            tickets: Default::default(),
            alerts: Default::default(),
            patrol: Default::default(),
            deliveries: Default::default(),
            stages: Default::default(),
            disk: Default::default(),
            beacons: Default::default(),
        }
    }

    /// Registers a delivery channel's counters for rendering.
    pub fn add_delivery_channel(&self, channel: Arc<str>) -> Arc<DeliveryMetrics> {
        let metrics = Arc::new(DeliveryMetrics::default());
        self.deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((channel, metrics.clone()));
        metrics
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render(&self, catalog: &Catalog) -> String {
        let mut out = String::with_capacity(256 + self.devices.len() * 1500);
        let site = &catalog.site.id;
        let online = self.devices.iter().filter(|d| d.is_online()).count();
        family(
            &mut out,
            "sitewarden_devices_online",
            "gauge",
            "Devices answering polls.",
        );
        sample(&mut out, "sitewarden_devices_online", site, online as u64);
        family(
            &mut out,
            "sitewarden_devices",
            "gauge",
            "Devices configured.",
        );
        sample(
            &mut out,
            "sitewarden_devices",
            site,
            self.devices.len() as u64,
        );
        let name = "sitewarden_api_rejected_requests_total";
        family(
            &mut out,
            name,
            "counter",
            "API requests refused as malformed or unauthorised.",
        );
        sample(&mut out, name, site, self.api_rejected.load(Relaxed));
        let name = "sitewarden_api_connections_refused_total";
        family(
            &mut out,
            name,
            "counter",
            "API connections closed at once because the client held its share of connections.",
        );
        sample(
            &mut out,
            name,
            site,
            self.api_connections_refused.load(Relaxed),
        );
        let name = "sitewarden_api_accept_errors_total";
        family(
            &mut out,
            name,
            "counter",
            "Failed accepts on the API port (descriptors exhausted, resets); the listener keeps listening.",
        );
        sample(&mut out, name, site, self.api_accept_errors.load(Relaxed));
        let name = "sitewarden_api_tls_failures_total";
        family(
            &mut out,
            name,
            "counter",
            "TLS handshakes on the API port that failed (a client speaking plain HTTP, an untrusted certificate) or took longer than header_timeout.",
        );
        sample(&mut out, name, site, self.api_tls_failures.load(Relaxed));
        let name = "sitewarden_clock_steps_total";
        family(
            &mut out,
            name,
            "counter",
            "Steps of the system clock the daemon's waits were kept across.",
        );
        sample(&mut out, name, site, sitewarden_runtime::clock::steps());
        self.rules.render(&mut out, site);
        self.sink.render(&mut out, site);
        self.mqtt.render(&mut out, site);
        self.tickets.render(&mut out, site);
        self.alerts.render(&mut out, site);
        self.patrol.render(&mut out, site);
        let channels = self
            .deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        crate::delivery::render_metrics(&mut out, site, &channels);
        drop(channels);
        self.mqtt_in.render(&mut out, site);
        self.broker.render(&mut out, site);
        self.stages.render(&mut out, site);
        self.disk.render(&mut out, site);
        self.beacons.render(&mut out, site);
        crate::sources::modbus::metrics::render(&mut out, catalog, &self.devices);
        out
    }
}
