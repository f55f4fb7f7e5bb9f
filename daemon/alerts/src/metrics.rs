//! The alert desk's counters, rendered with the daemon's `GET /metrics`.

use std::sync::atomic::AtomicU64;

use sitewarden_runtime::metrics::site_series;

/// Counters, rendered with the daemon's metrics.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    /// Alerts opened.
    pub raised: AtomicU64,
    /// Escalation steps notified (each on all of its channels).
    pub notifications: AtomicU64,
    /// Escalations past the first step, repeats included.
    pub escalations: AtomicU64,
    /// Acknowledgements.
    pub acknowledged: AtomicU64,
    /// Alerts raised muted, silenced or as drills.
    pub suppressed: AtomicU64,
    /// Commits of condition events that failed and are being retried.
    pub store_failures: AtomicU64,
    /// Condition events held because the store could not commit them (a gauge).
    pub pending: AtomicU64,
    /// Life-safety alerts no channel confirmed in time, announced as faults.
    pub delivery_faults: AtomicU64,
    /// Life-safety alarms sent on the MQTT lane while the store could not record them.
    pub unstored_published: AtomicU64,
}

impl AlertMetrics {
    /// Writes the alert desk's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        site_series(
            out,
            site,
            &[
                (
                    "sitewarden_alerts_raised_total",
                    "counter",
                    "Alerts opened.",
                    &self.raised,
                ),
                (
                    "sitewarden_alert_notification_rounds_total",
                    "counter",
                    "Escalation steps notified (each on all its channels).",
                    &self.notifications,
                ),
                (
                    "sitewarden_alert_escalations_total",
                    "counter",
                    "Escalations past the first step, repeats included.",
                    &self.escalations,
                ),
                (
                    "sitewarden_alerts_acknowledged_total",
                    "counter",
                    "Alerts acknowledged.",
                    &self.acknowledged,
                ),
                (
                    "sitewarden_alerts_suppressed_total",
                    "counter",
                    "Alerts raised muted, silenced or as drills.",
                    &self.suppressed,
                ),
                (
                    "sitewarden_alert_store_failures_total",
                    "counter",
                    "Commits of condition events to the alert store that failed (retried, never dropped).",
                    &self.store_failures,
                ),
                (
                    "sitewarden_alert_delivery_faults_total",
                    "counter",
                    "Life-safety alerts that no channel confirmed within confirm_within.",
                    &self.delivery_faults,
                ),
                (
                    "sitewarden_alert_unstored_published_total",
                    "counter",
                    "Life-safety alarms sent on MQTT (alerts/unstored) while the alert store could not record them.",
                    &self.unstored_published,
                ),
                (
                    "sitewarden_alert_events_pending",
                    "gauge",
                    "Condition events held in memory because the alert store cannot write.",
                    &self.pending,
                ),
            ],
        );
    }
}
