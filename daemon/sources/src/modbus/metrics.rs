//! Counters of each polled device, written by its poller without locks or
//! allocation, and rendered per device for `GET /metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sitewarden_model::catalog::Catalog;
use sitewarden_model::reading::{BadReason, DeviceState};
use sitewarden_runtime::metrics::{Histogram, bump, family};

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
        // Flooding is an MQTT device's; a Modbus poller never sees it.
        BadReason::Malformed | BadReason::Flooding => 3,
        BadReason::NotFinite => 4,
    }
}

/// Counters of one device, written by its poller alone (so with
/// [`bump`], not locked adds).
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
        bump(&self.request_errors[reason_index(reason)], 1);
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

/// Name, help text and reader of one per-device series.
type DeviceSeries = (&'static str, &'static str, fn(&DeviceMetrics) -> u64);

/// Writes every device's series for `GET /metrics`; `devices` is indexed
/// like [`Catalog::devices`].
pub fn render(out: &mut String, catalog: &Catalog, devices: &[DeviceMetrics]) {
    let site = &catalog.site.id;
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
        family(out, name, kind, help);
        for (device, m) in catalog.devices.iter().zip(devices) {
            let _ = writeln!(
                out,
                "{name}{{site=\"{site}\",device=\"{}\"}} {}",
                device.name,
                get(m)
            );
        }
    }
    family(
        out,
        "sitewarden_modbus_request_errors_total",
        "counter",
        "Failed Modbus requests by reason.",
    );
    for (device, m) in catalog.devices.iter().zip(devices) {
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
        out,
        name,
        "histogram",
        "Time from a Modbus request to its reply.",
    );
    for (device, m) in catalog.devices.iter().zip(devices) {
        let labels = format!("site=\"{site}\",device=\"{}\"", device.name);
        m.latency.render(out, name, &labels);
    }
}
