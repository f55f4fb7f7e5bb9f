//! The demo's console view: a short status of every device, every few seconds.
//!
//! Logs say what changed; this says what *is*, so someone watching the demo
//! sees live values without an HTTP client.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::metrics::Metrics;
use crate::readings::{DeviceState, Quality, Value};
use crate::rules::{ConditionState, ConditionView};
use crate::state::LiveState;
use sitewarden_model::catalog::Catalog;
use sitewarden_runtime::shutdown::Shutdown;

/// Numbers shown per device line; the API has them all.
const NUMBERS_PER_LINE: usize = 4;

/// Prints the status every `every` until shutdown.
pub async fn run(
    catalog: Arc<Catalog>,
    state: Arc<LiveState>,
    conditions: Arc<ConditionView>,
    metrics: Arc<Metrics>,
    every: Duration,
    mut shutdown: Shutdown,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => println!(
                "{}{}{}",
                render(&catalog, &state),
                render_conditions(&catalog, &conditions),
                render_faults(&metrics)
            ),
            () = shutdown.wait() => return,
        }
    }
}

/// The daemon's own faults, one line each, nothing when there is none:
/// stages down, a full disk, life-safety alerts no channel confirmed, the
/// buzzer sounding.
pub fn render_faults(metrics: &Metrics) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::new();
    let down = metrics.stages.down();
    if !down.is_empty() {
        let names: Vec<&str> = down.iter().map(|s| &**s).collect();
        let _ = writeln!(out, "  STAGE DOWN      {}", names.join(" "));
    }
    if metrics.disk.is_full() {
        let _ = writeln!(
            out,
            "  DISK FULL       {} MiB free on the data directory",
            metrics.disk.free_bytes() >> 20
        );
    }
    let faults = metrics.alerts.delivery_faults.load(Relaxed);
    if faults > 0 {
        let _ = writeln!(
            out,
            "  DELIVERY FAULT  {faults} life-safety alert(s) no channel confirmed in time"
        );
    }
    if metrics.beacons.buzzer_on.load(Relaxed) {
        let _ = writeln!(
            out,
            "  BUZZER ON       until someone acknowledges the delivery fault"
        );
    }
    if out.is_empty() {
        out
    } else {
        format!("── faults ──\n{out}")
    }
}

/// The status text: per device its state, its numbers, which yes/no points
/// are on, and how many points are bad.
pub fn render(catalog: &Catalog, state: &LiveState) -> String {
    let tables = state.read();
    let mut out = String::from("── live readings ─────────────────────────────────────────\n");
    for device in &catalog.devices {
        let slot = &tables.devices[device.id.0 as usize];
        let status = match slot.state {
            DeviceState::Online => "online ",
            DeviceState::Offline => "OFFLINE",
            DeviceState::Unknown => "waiting",
        };
        let _ = write!(out, "{:<14} {status}", device.name);
        let points = catalog.points_of(device.id);
        let mut numbers = 0;
        let mut on = Vec::new();
        let mut bad = 0;
        for point in points {
            let p = &tables.points[point.id.0 as usize];
            if matches!(p.quality, Some(Quality::Bad(_))) {
                bad += 1;
            }
            match p.value {
                Some(Value::Number(n)) if numbers < NUMBERS_PER_LINE => {
                    numbers += 1;
                    let unit = point
                        .unit
                        .as_deref()
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default();
                    let _ = write!(out, "  {}={n:.1}{unit}", point.name);
                }
                Some(Value::Bool(true)) => on.push(point.name.as_str()),
                _ => {}
            }
        }
        if !on.is_empty() {
            let _ = write!(out, "  on: {}", on.join(" "));
        }
        let _ = writeln!(out, "  [{} points, {bad} bad]", points.len());
    }
    out
}

/// Conditions that are raised (or about to be), one line each.
pub fn render_conditions(catalog: &Catalog, view: &ConditionView) -> String {
    let slots = view.read();
    let mut out = String::new();
    for (instance, slot) in catalog.rule_instances.iter().zip(slots.iter()) {
        if slot.state == ConditionState::Normal {
            continue;
        }
        let rule = catalog.rule(instance.rule);
        let _ = writeln!(
            out,
            "  {:<8} {:<9} {:<32} {}/{}  {}",
            slot.state.as_str(),
            instance.severity.as_str().to_owned(),
            rule.id,
            catalog.device(instance.device).name,
            catalog.point(instance.point).name,
            rule.description
        );
    }
    if out.is_empty() {
        "  no conditions\n".to_owned()
    } else {
        format!("── conditions ──\n{out}")
    }
}
