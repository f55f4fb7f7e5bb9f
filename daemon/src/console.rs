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
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_runtime::clock;
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
                render_faults(&catalog.site.messages, &metrics)
            ),
            () = shutdown.wait() => return,
        }
    }
}

/// The daemon's own faults, one line each, nothing when there is none:
/// stages down, a full disk, life-safety alerts no channel confirmed, the
/// buzzer sounding. In the site's language.
pub fn render_faults(m: &Messages, metrics: &Metrics) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut lines = Vec::new();
    let down = metrics.stages.down();
    if !down.is_empty() {
        let names: Vec<&str> = down.iter().map(|s| &**s).collect();
        let stages = m.list(&names);
        lines.push(m.text(
            "console-fault-stage-down",
            &[("stages", Arg::Text(&stages))],
        ));
    }
    if metrics.disk.is_full() {
        let free = (metrics.disk.free_bytes() >> 20) as i64;
        lines.push(m.text("console-fault-disk-full", &[("free", Arg::Number(free))]));
    }
    let faults = metrics.alerts.delivery_faults.load(Relaxed);
    if faults > 0 {
        lines.push(m.text(
            "console-fault-delivery",
            &[("count", Arg::Number(faults as i64))],
        ));
    }
    if metrics.beacons.buzzer_on.load(Relaxed) {
        lines.push(m.text("console-fault-buzzer", &[]));
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = m.text("console-faults-heading", &[]);
    out.push('\n');
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// The status text: the site's local time, then per device (as people
/// call it) its state, its numbers, which yes/no points are on, and how
/// many points are bad.
pub fn render(catalog: &Catalog, state: &LiveState) -> String {
    let m = &catalog.site.messages;
    let tables = state.read();
    let mut out = m.text("console-live-heading", &[("now", Arg::Time(clock::now()))]);
    out.push('\n');
    let online = m.text("console-device-online", &[]);
    let offline = m.text("console-device-offline", &[]);
    let waiting = m.text("console-device-waiting", &[]);
    for device in &catalog.devices {
        let slot = &tables.devices[device.id.0 as usize];
        let status = match slot.state {
            DeviceState::Online => &online,
            DeviceState::Offline => &offline,
            DeviceState::Unknown => &waiting,
        };
        let _ = write!(out, "{:<14} {status}", device.display_name);
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
                    let _ = write!(out, "  {}={n:.1}", point.name);
                    if let Some(unit) = &point.unit {
                        let _ = write!(out, " {unit}");
                    }
                }
                Some(Value::Bool(true)) => on.push(point.name.as_str()),
                _ => {}
            }
        }
        if !on.is_empty() {
            let points = on.join(" ");
            let _ = write!(
                out,
                "  {}",
                m.text("console-device-on", &[("points", Arg::Text(&points))])
            );
        }
        let counts = m.text(
            "console-device-points",
            &[
                ("count", Arg::Number(points.len() as i64)),
                ("bad", Arg::Number(bad)),
            ],
        );
        let _ = writeln!(out, "  {counts}");
    }
    out
}

/// Conditions that are raised (or about to be), one line each, with the
/// rule's title in the site's language.
pub fn render_conditions(catalog: &Catalog, view: &ConditionView) -> String {
    let m = &catalog.site.messages;
    let slots = view.read();
    let mut out = String::new();
    for (instance, slot) in catalog.rule_instances.iter().zip(slots.iter()) {
        if slot.state == ConditionState::Normal {
            continue;
        }
        let rule = catalog.rule(instance.rule);
        let state = m.text(&format!("condition-state-{}", slot.state.as_str()), &[]);
        let severity = m.text(&format!("severity-{}", instance.severity.as_str()), &[]);
        let _ = writeln!(
            out,
            "  {state:<8} {severity:<9} {:<32} {}/{}  {}",
            rule.id,
            catalog.device(instance.device).display_name,
            catalog.point(instance.point).name,
            rule.description
        );
    }
    if out.is_empty() {
        let mut none = m.text("console-no-conditions", &[]);
        none.insert_str(0, "  ");
        none.push('\n');
        none
    } else {
        let mut heading = m.text("console-conditions-heading", &[]);
        heading.push('\n');
        heading + &out
    }
}
