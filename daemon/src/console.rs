//! The demo's console view: a short status of every device, every few seconds.
//!
//! Logs say what changed; this says what *is*, so someone watching the demo
//! sees live values without an HTTP client.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::catalog::Catalog;
use crate::readings::{DeviceState, Quality, Value};
use crate::shutdown::Shutdown;
use crate::state::LiveState;

/// Points shown per device line; the API has them all.
const POINTS_PER_LINE: usize = 6;

/// Prints the status every `every` until shutdown.
pub async fn run(
    catalog: Arc<Catalog>,
    state: Arc<LiveState>,
    every: Duration,
    mut shutdown: Shutdown,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => println!("{}", render(&catalog, &state)),
            () = shutdown.wait() => return,
        }
    }
}

/// The status text.
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
        let _ = write!(out, "{:<16} {status} ", device.name);
        let points = catalog.points_of(device.id);
        let shown = points
            .iter()
            .filter(|p| p.role.is_some())
            .take(POINTS_PER_LINE);
        for point in shown {
            let p = &tables.points[point.id.0 as usize];
            let bad = matches!(p.quality, Some(Quality::Bad(_)));
            let value = match p.value {
                Some(Value::Bool(b)) => (if b { "on" } else { "off" }).to_owned(),
                Some(Value::Number(n)) => format!(
                    "{n:.1}{}",
                    point
                        .unit
                        .as_deref()
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default()
                ),
                None => "–".to_owned(),
            };
            let _ = write!(
                out,
                " {}={value}{}",
                point.name,
                if bad { "(bad)" } else { "" }
            );
        }
        let _ = writeln!(out, "  [{} points]", points.len());
    }
    out
}
