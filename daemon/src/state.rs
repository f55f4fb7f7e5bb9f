//! The live-state stage: latest value of every point and state of every device.
//!
//! Subscribes to the reading bus and keeps one slot per point and device, so
//! the API and the console answer "what is it now" without touching a
//! device. Slots are indexed like the catalog; an update is a few stores
//! under a lock held for one batch.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::readings::{BadReason, DeviceState, Quality, ReadingEvent, Value};
use sitewarden_model::catalog::Catalog;

/// Latest of one point.
#[derive(Debug, Clone, Copy)]
pub struct PointSlot {
    /// Last good value (kept while the point is bad, flagged by `quality`).
    pub value: Option<Value>,
    /// Quality of the latest reading.
    pub quality: Option<Quality>,
    /// When the latest reading arrived.
    pub updated_at: Option<Timestamp>,
    /// When the last good reading arrived.
    pub good_at: Option<Timestamp>,
}

/// Latest of one device.
#[derive(Debug, Clone, Copy)]
pub struct DeviceSlot {
    /// Online, offline or not polled yet.
    pub state: DeviceState,
    /// Since when.
    pub since: Option<Timestamp>,
    /// Why it went offline.
    pub reason: Option<BadReason>,
    /// Last poll of any group.
    pub last_poll_at: Option<Timestamp>,
}

/// The table the API and console read.
#[derive(Debug)]
pub struct LiveState {
    inner: RwLock<Tables>,
}

/// Point and device slots, indexed like the catalog.
#[derive(Debug)]
pub struct Tables {
    /// One per catalog point.
    pub points: Vec<PointSlot>,
    /// One per catalog device.
    pub devices: Vec<DeviceSlot>,
}

impl LiveState {
    /// Empty slots for every point and device.
    pub fn new(catalog: &Catalog) -> Self {
        let point = PointSlot {
            value: None,
            quality: None,
            updated_at: None,
            good_at: None,
        };
        let device = DeviceSlot {
            state: DeviceState::Unknown,
            since: None,
            reason: None,
            last_poll_at: None,
        };
        Self {
            inner: RwLock::new(Tables {
                points: vec![point; catalog.points.len()],
                devices: vec![device; catalog.devices.len()],
            }),
        }
    }

    /// A consistent view for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies one bus event.
    pub fn apply(&self, event: &ReadingEvent) {
        let mut tables = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            ReadingEvent::Batch(batch) => {
                for r in &batch.readings {
                    let Some(slot) = tables.points.get_mut(r.point.0 as usize) else {
                        continue;
                    };
                    slot.quality = Some(r.quality);
                    slot.updated_at = Some(r.at);
                    if r.quality == Quality::Good {
                        slot.value = r.value;
                        slot.good_at = Some(r.at);
                    }
                }
                if let (Some(device), Some(last)) = (
                    tables.devices.get_mut(batch.device.0 as usize),
                    batch.readings.last(),
                ) {
                    device.last_poll_at = Some(last.at);
                }
            }
            ReadingEvent::DeviceState {
                device,
                state,
                at,
                reason,
            } => {
                if let Some(slot) = tables.devices.get_mut(device.0 as usize) {
                    slot.state = *state;
                    slot.since = Some(*at);
                    slot.reason = *reason;
                }
            }
        }
    }
}

/// Runs the stage until the bus closes.
pub async fn run(state: Arc<LiveState>, mut events: mpsc::Receiver<ReadingEvent>) {
    while let Some(event) = events.recv().await {
        state.apply(&event);
    }
}
