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

use tokio::task::JoinSet;

use sitewarden_model::catalog::Catalog;
use sitewarden_runtime::bus::ReadingBus;
use sitewarden_runtime::shutdown::Shutdown;

pub use poller::LinePoller;

/// Starts one poll task per line; they stop when `shutdown` fires.
pub fn spawn_pollers(
    catalog: &Arc<Catalog>,
    bus: &ReadingBus,
    devices: &Arc<[metrics::DeviceMetrics]>,
    shutdown: &Shutdown,
    tasks: &mut JoinSet<()>,
) {
    for line in &catalog.lines {
        let poller = LinePoller::new(catalog.clone(), line.id, bus.clone(), devices.clone());
        tasks.spawn(poller.run(shutdown.clone()));
    }
}
