//! Internal metrics, served as Prometheus text on `GET /metrics`.
//!
//! Every stage counts what it received, sent and failed in one place, with
//! stable names so dashboards and alert rules built on them keep working.
//! Counters are plain atomics owned per device: the poller's hot path
//! increments without locks or allocation.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::readings::{BadReason, DeviceState};
use crate::rules::Transition;
use sitewarden_model::catalog::Catalog;

/// Upper bounds (seconds) of the request latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A cumulative latency histogram in Prometheus form.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(
            elapsed.as_micros().min(u128::from(u64::MAX)) as u64,
            Relaxed,
        );
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Appends the series of `name{labels}` in Prometheus text form: each
    /// bucket counts every observation at or below its bound.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Error reasons with their own counter, in label order.
const REASONS: [&str; 5] = [
    "exception",
    "timeout",
    "transport",
    "malformed",
    "not_finite",
];

fn reason_index(reason: BadReason) -> usize {
    match reason {
        BadReason::Exception(_) => 0,
        BadReason::Timeout => 1,
        BadReason::Transport => 2,
        BadReason::Malformed => 3,
        BadReason::NotFinite => 4,
    }
}

/// Counters of one device, written by its poller.
#[derive(Debug, Default)]
pub struct DeviceMetrics {
    /// Poll cycles of any group.
    pub polls: AtomicU64,
    /// Poll cycles in which the device never answered.
    pub failed_polls: AtomicU64,
    /// Modbus requests sent, retries included.
    pub requests: AtomicU64,
    request_errors: [AtomicU64; REASONS.len()],
    /// Readings published with good quality.
    pub good_readings: AtomicU64,
    /// Readings published with bad quality.
    pub bad_readings: AtomicU64,
    /// Online/offline transitions.
    pub state_changes: AtomicU64,
    /// Connections opened (first connect and every reconnect).
    pub connects: AtomicU64,
    state: AtomicU64,
    /// Time from sending a request to its reply.
    pub latency: Histogram,
}

impl DeviceMetrics {
    /// Counts one failed request.
    pub fn request_error(&self, reason: BadReason) {
        self.request_errors[reason_index(reason)].fetch_add(1, Relaxed);
    }

    /// Failed requests with this reason so far.
    pub fn request_errors(&self, reason: BadReason) -> u64 {
        self.request_errors[reason_index(reason)].load(Relaxed)
    }

    /// Records the device's current state.
    pub fn set_state(&self, state: DeviceState) {
        self.state.store(state as u64, Relaxed);
    }

    /// True while the device answers.
    pub fn is_online(&self) -> bool {
        self.state.load(Relaxed) == DeviceState::Online as u64
    }
}

/// All of the daemon's metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Indexed like [`Catalog::devices`].
    pub devices: Vec<DeviceMetrics>,
    /// Malformed API requests refused.
    pub api_rejected: AtomicU64,
    conditions_active: AtomicU64,
    transitions: [AtomicU64; TRANSITIONS.len()],
    /// The InfluxDB sink's counters (zero when no sink is configured).
    pub sink: std::sync::Arc<crate::sinks::influx::SinkMetrics>,
    /// MQTT counters (zero when MQTT is not configured).
    pub mqtt: std::sync::Arc<crate::mqtt::publisher::MqttMetrics>,
    /// MQTT source counters.
    pub mqtt_in: std::sync::Arc<crate::sources::mqtt::MqttInMetrics>,
    /// Ticket counters.
    pub tickets: std::sync::Arc<crate::tickets::TicketMetrics>,
    /// Alert counters.
    pub alerts: std::sync::Arc<crate::alerts::AlertMetrics>,
    /// Patrol counters.
    pub patrol: std::sync::Arc<crate::patrol::PatrolMetrics>,
    /// Delivery counters per channel (`tickets-mqtt`, `tickets-webhook`, …).
    pub deliveries: std::sync::Mutex<
        Vec<(
            &'static str,
            std::sync::Arc<crate::delivery::DeliveryMetrics>,
        )>,
    >,
}

/// Condition transitions with their own counter, in label order.
const TRANSITIONS: [Transition; 6] = [
    Transition::Pending,
    Transition::Raised,
    Transition::Clearing,
    Transition::Cleared,
    Transition::PendingCancelled,
    Transition::ClearingCancelled,
];

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
            conditions_active: AtomicU64::default(),
            transitions: Default::default(),
            sink: Default::default(),
            mqtt: Default::default(),
            mqtt_in: Default::default(),
            tickets: Default::default(),
            alerts: Default::default(),
            patrol: Default::default(),
            deliveries: Default::default(),
        }
    }

    /// Records how many conditions are active or clearing.
    pub fn set_active_conditions(&self, n: u64) {
        self.conditions_active.store(n, Relaxed);
    }

    /// Counts one condition transition.
    pub fn count_transition(&self, t: Transition) {
        if let Some(i) = TRANSITIONS.iter().position(|x| *x == t) {
            self.transitions[i].fetch_add(1, Relaxed);
        }
    }

    /// Registers a delivery channel's counters for rendering.
    pub fn add_delivery_channel(
        &self,
        channel: &'static str,
    ) -> std::sync::Arc<crate::delivery::DeliveryMetrics> {
        let metrics = std::sync::Arc::new(crate::delivery::DeliveryMetrics::default());
        self.deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((channel, metrics.clone()));
        metrics
    }

    fn render_deliveries(&self, out: &mut String, site: &str) {
        let channels = self
            .deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (name, help, pick) in [
            (
                "sitewarden_deliveries_total",
                "Deliveries the receiver confirmed, by channel.",
                (|m: &crate::delivery::DeliveryMetrics| m.delivered.load(Relaxed))
                    as fn(&crate::delivery::DeliveryMetrics) -> u64,
            ),
            (
                "sitewarden_delivery_failures_total",
                "Delivery attempts that failed and will be retried, by channel.",
                |m: &crate::delivery::DeliveryMetrics| m.failures.load(Relaxed),
            ),
        ] {
            family(out, name, "counter", help);
            for (channel, m) in channels.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{site=\"{site}\",channel=\"{channel}\"}} {}",
                    pick(m)
                );
            }
        }
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
        let _ = writeln!(out, "sitewarden_devices_online{{site=\"{site}\"}} {online}");
        family(
            &mut out,
            "sitewarden_devices",
            "gauge",
            "Devices configured.",
        );
        let _ = writeln!(
            out,
            "sitewarden_devices{{site=\"{site}\"}} {}",
            self.devices.len()
        );
        family(
            &mut out,
            "sitewarden_api_rejected_requests_total",
            "counter",
            "API requests refused as malformed or unauthorised.",
        );
        let _ = writeln!(
            out,
            "sitewarden_api_rejected_requests_total{{site=\"{site}\"}} {}",
            self.api_rejected.load(Relaxed)
        );
        family(
            &mut out,
            "sitewarden_conditions_active",
            "gauge",
            "Conditions raised and not yet cleared.",
        );
        let _ = writeln!(
            out,
            "sitewarden_conditions_active{{site=\"{site}\"}} {}",
            self.conditions_active.load(Relaxed)
        );
        family(
            &mut out,
            "sitewarden_condition_transitions_total",
            "counter",
            "Condition lifecycle transitions.",
        );
        for (t, n) in TRANSITIONS.iter().zip(&self.transitions) {
            let _ = writeln!(
                out,
                "sitewarden_condition_transitions_total{{site=\"{site}\",transition=\"{}\"}} {}",
                t.as_str(),
                n.load(Relaxed)
            );
        }
        let sink = &self.sink;
        let sink_series: [(&str, &str, &str, &AtomicU64); 8] = [
            (
                "sitewarden_influx_lines_total",
                "counter",
                "Lines of line protocol produced.",
                &sink.encoded,
            ),
            (
                "sitewarden_influx_lines_written_total",
                "counter",
                "Lines InfluxDB accepted.",
                &sink.written,
            ),
            (
                "sitewarden_influx_lines_replayed_total",
                "counter",
                "Lines accepted from the disk buffer.",
                &sink.replayed,
            ),
            (
                "sitewarden_influx_lines_rejected_total",
                "counter",
                "Lines InfluxDB refused as invalid.",
                &sink.rejected,
            ),
            (
                "sitewarden_influx_lines_dropped_total",
                "counter",
                "Lines dropped because the disk buffer budget was exhausted.",
                &sink.dropped,
            ),
            (
                "sitewarden_influx_write_errors_total",
                "counter",
                "Failed write attempts.",
                &sink.write_errors,
            ),
            (
                "sitewarden_influx_buffered_lines",
                "gauge",
                "Lines waiting in the disk buffer.",
                &sink.buffered_lines,
            ),
            (
                "sitewarden_influx_buffered_bytes",
                "gauge",
                "Bytes the disk buffer uses.",
                &sink.buffered_bytes,
            ),
        ];
        let mqtt = &self.mqtt;
        let mqtt_series: [(&str, &str, &str, &AtomicU64); 4] = [
            (
                "sitewarden_mqtt_published_total",
                "counter",
                "MQTT messages the broker confirmed.",
                &mqtt.published,
            ),
            (
                "sitewarden_mqtt_queued",
                "gauge",
                "MQTT messages waiting in the outbox.",
                &mqtt.queued,
            ),
            (
                "sitewarden_mqtt_connects_total",
                "counter",
                "Connections to the MQTT broker.",
                &mqtt.connects,
            ),
            (
                "sitewarden_mqtt_connection_errors_total",
                "counter",
                "MQTT connection failures.",
                &mqtt.connection_errors,
            ),
        ];
        let t = &self.tickets;
        let ticket_series: [(&str, &str, &str, &AtomicU64); 5] = [
            (
                "sitewarden_tickets_opened_total",
                "counter",
                "Tickets opened, any origin.",
                &t.opened,
            ),
            (
                "sitewarden_ticket_occurrences_total",
                "counter",
                "Repeat conditions added to an open ticket.",
                &t.occurrences,
            ),
            (
                "sitewarden_ticket_transitions_total",
                "counter",
                "Ticket lifecycle steps taken.",
                &t.transitions,
            ),
            (
                "sitewarden_ticket_transitions_refused_total",
                "counter",
                "Illegal ticket steps refused.",
                &t.refused,
            ),
            (
                "sitewarden_ticket_breaches_total",
                "counter",
                "Service-level targets missed.",
                &t.breaches,
            ),
        ];
        let a = &self.alerts;
        let alert_series: [(&str, &str, &str, &AtomicU64); 5] = [
            (
                "sitewarden_alerts_raised_total",
                "counter",
                "Alerts opened.",
                &a.raised,
            ),
            (
                "sitewarden_alert_notification_rounds_total",
                "counter",
                "Escalation steps notified (each on all its channels).",
                &a.notifications,
            ),
            (
                "sitewarden_alert_escalations_total",
                "counter",
                "Escalations past the first step, repeats included.",
                &a.escalations,
            ),
            (
                "sitewarden_alerts_acknowledged_total",
                "counter",
                "Alerts acknowledged.",
                &a.acknowledged,
            ),
            (
                "sitewarden_alerts_suppressed_total",
                "counter",
                "Alerts raised muted, silenced or as drills.",
                &a.suppressed,
            ),
        ];
        let p = &self.patrol;
        let patrol_series: [(&str, &str, &str, &AtomicU64); 4] = [
            (
                "sitewarden_patrol_taps_total",
                "counter",
                "Badge taps collected and verified.",
                &p.accepted,
            ),
            (
                "sitewarden_patrol_records_rejected_total",
                "counter",
                "Station records refused as forged or replayed.",
                &p.rejected,
            ),
            (
                "sitewarden_patrol_sequence_gaps_total",
                "counter",
                "Sequence numbers missing between collected records.",
                &p.gaps,
            ),
            (
                "sitewarden_patrol_poll_failures_total",
                "counter",
                "Checkpoint station polls without a valid answer.",
                &p.poll_failures,
            ),
        ];
        for (name, kind, help, value) in sink_series
            .into_iter()
            .chain(mqtt_series)
            .chain(ticket_series)
            .chain(alert_series)
            .chain(patrol_series)
        {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name}{{site=\"{site}\"}} {}", value.load(Relaxed));
        }
        self.render_deliveries(&mut out, site);
        family(
            &mut out,
            "sitewarden_mqtt_messages_total",
            "counter",
            "MQTT sensor messages received.",
        );
        let _ = writeln!(
            out,
            "sitewarden_mqtt_messages_total{{site=\"{site}\"}} {}",
            self.mqtt_in.messages.load(Relaxed)
        );
        family(
            &mut out,
            "sitewarden_mqtt_refused_total",
            "counter",
            "MQTT sensor messages refused, by reason.",
        );
        for reason in crate::sources::mqtt::Refusal::ALL {
            let _ = writeln!(
                out,
                "sitewarden_mqtt_refused_total{{site=\"{site}\",reason=\"{}\"}} {}",
                reason.label(),
                self.mqtt_in.refused(reason)
            );
        }
        let counters: [DeviceSeries; 8] = [
            ("sitewarden_modbus_polls_total", "Poll cycles.", |d| {
                d.polls.load(Relaxed)
            }),
            (
                "sitewarden_modbus_failed_polls_total",
                "Poll cycles without any answer.",
                |d| d.failed_polls.load(Relaxed),
            ),
            (
                "sitewarden_modbus_requests_total",
                "Modbus requests sent, retries included.",
                |d| d.requests.load(Relaxed),
            ),
            (
                "sitewarden_readings_good_total",
                "Readings published with good quality.",
                |d| d.good_readings.load(Relaxed),
            ),
            (
                "sitewarden_readings_bad_total",
                "Readings published with bad quality.",
                |d| d.bad_readings.load(Relaxed),
            ),
            (
                "sitewarden_device_state_changes_total",
                "Online/offline transitions.",
                |d| d.state_changes.load(Relaxed),
            ),
            (
                "sitewarden_modbus_connects_total",
                "Connections opened.",
                |d| d.connects.load(Relaxed),
            ),
            (
                "sitewarden_device_online",
                "1 while the device answers.",
                |d| u64::from(d.is_online()),
            ),
        ];
        for (name, help, get) in counters {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            family(&mut out, name, kind, help);
            for (device, m) in catalog.devices.iter().zip(&self.devices) {
                let _ = writeln!(
                    out,
                    "{name}{{site=\"{site}\",device=\"{}\"}} {}",
                    device.name,
                    get(m)
                );
            }
        }
        family(
            &mut out,
            "sitewarden_modbus_request_errors_total",
            "counter",
            "Failed Modbus requests by reason.",
        );
        for (device, m) in catalog.devices.iter().zip(&self.devices) {
            for (i, reason) in REASONS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "sitewarden_modbus_request_errors_total{{site=\"{site}\",device=\"{}\",reason=\"{reason}\"}} {}",
                    device.name,
                    m.request_errors[i].load(Relaxed)
                );
            }
        }
        let name = "sitewarden_modbus_request_duration_seconds";
        family(
            &mut out,
            name,
            "histogram",
            "Time from a Modbus request to its reply.",
        );
        for (device, m) in catalog.devices.iter().zip(&self.devices) {
            let labels = format!("site=\"{site}\",device=\"{}\"", device.name);
            m.latency.render(&mut out, name, &labels);
        }
        out
    }
}

/// Name, help text and reader of one per-device series.
type DeviceSeries = (&'static str, &'static str, fn(&DeviceMetrics) -> u64);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_on_render() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(10));
        assert_eq!(h.count(), 3);
        assert_eq!(h.buckets[0].load(Relaxed), 1);
        assert_eq!(h.buckets[5].load(Relaxed), 1);
        // 10 s is beyond the last bucket: only +Inf (the count) holds it.
        assert_eq!(h.buckets.iter().map(|b| b.load(Relaxed)).sum::<u64>(), 2);
        let mut out = String::new();
        h.render(&mut out, "x", "d=\"a\"");
        let rendered: Vec<&str> = out.lines().collect();
        assert_eq!(
            rendered,
            [
                "x_bucket{d=\"a\",le=\"0.001\"} 1",
                "x_bucket{d=\"a\",le=\"0.0025\"} 1",
                "x_bucket{d=\"a\",le=\"0.005\"} 1",
                "x_bucket{d=\"a\",le=\"0.01\"} 1",
                "x_bucket{d=\"a\",le=\"0.025\"} 1",
                "x_bucket{d=\"a\",le=\"0.05\"} 2",
                "x_bucket{d=\"a\",le=\"0.1\"} 2",
                "x_bucket{d=\"a\",le=\"0.25\"} 2",
                "x_bucket{d=\"a\",le=\"0.5\"} 2",
                "x_bucket{d=\"a\",le=\"1\"} 2",
                "x_bucket{d=\"a\",le=\"2.5\"} 2",
                "x_bucket{d=\"a\",le=\"5\"} 2",
                "x_bucket{d=\"a\",le=\"+Inf\"} 3",
                "x_sum{d=\"a\"} 10.0305",
                "x_count{d=\"a\"} 3",
            ]
        );
    }
}
