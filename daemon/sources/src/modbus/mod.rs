//! The Modbus source: TCP, RTU and RTU over TCP, through tokio-modbus.
//!
//! `planner` decides which reads to send, `connection` sends one and checks
//! the reply, `decode` turns registers into values, and `poller` runs one task
//! per line that ties them together and publishes readings.

pub mod connection;
pub mod decode;
pub mod metrics;
pub mod planner;
mod poller;

use std::sync::Arc;

use sitewarden_runtime::health::Spawner;

use sitewarden_model::catalog::Catalog;
use sitewarden_runtime::bus::ReadingBus;

pub use poller::LinePoller;

/// Starts one poll task per line, supervised: a poller that ends or
/// panics is built again and restarted (its devices reconnect); they stop
/// when the daemon's shutdown fires.
pub fn spawn_pollers(
    catalog: &Arc<Catalog>,
    bus: &ReadingBus,
    devices: &Arc<[metrics::DeviceMetrics]>,
    tasks: &mut Spawner<'_>,
) {
    for line in &catalog.lines {
        let id = line.id;
        // Named after its first device: a line is a device or a bus of them.
        let first = line
            .devices
            .first()
            .map(|d| catalog.device(*d).name.as_str());
        let name = format!("poller-{}", first.unwrap_or("line"));
        let (catalog, bus, devices) = (catalog.clone(), bus.clone(), devices.clone());
        let shutdown = tasks.shutdown.clone();
        tasks.supervise(&name, move || {
            LinePoller::new(catalog.clone(), id, bus.clone(), devices.clone()).run(shutdown.clone())
        });
    }
}
