//! Readings: the message type between sources and every later stage.
//!
//! A source (Modbus today, MQTT later) decodes what a device said into
//! [`Reading`]s and publishes them, one [`ReadingBatch`] per poll, on the
//! [`ReadingBus`]. Rules, the live-state table, sinks and the console
//! subscribe. A reading names its point and device by index into the shared
//! [`crate::catalog::Catalog`], where role, unit and names live, so the hot
//! path moves a few words per reading and never a string.

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::catalog::{DeviceId, PointId};

/// A decoded value in engineering units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A yes/no point (coil, discrete input, bit of a register).
    Bool(bool),
    /// A number after scale and offset. 64-bit integers above 2^53 lose
    /// precision here; no building counter gets there.
    Number(f64),
}

impl Value {
    /// The value as a number (true = 1), for thresholds and time series.
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Bool(b) => f64::from(u8::from(b)),
            Self::Number(n) => n,
        }
    }
}

/// Why a reading cannot be trusted. Kept apart from the value so rules treat a
/// dead sensor as "stale", never as "zero degrees".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "code")]
pub enum BadReason {
    /// The device answered with a Modbus exception (the code is kept).
    Exception(u8),
    /// No reply within the timeout, after retries.
    Timeout,
    /// The connection could not be made or broke.
    Transport,
    /// A reply arrived but did not make sense (wrong length, wrong function).
    Malformed,
    /// The decoded number is NaN or infinite.
    NotFinite,
}

impl BadReason {
    /// Short label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::Exception(_) => "exception",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::Malformed => "malformed",
            Self::NotFinite => "not_finite",
        }
    }
}

/// Whether a reading can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// The device answered and the value decoded.
    Good,
    /// See the reason; the value is the last good one or absent.
    Bad(BadReason),
}

/// One point's value at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Which point (role, unit and name are in the catalog).
    pub point: PointId,
    /// Owning device, copied here so device-level stages need no lookup.
    pub device: DeviceId,
    /// Decoded value; `None` when the device gave none.
    pub value: Option<Value>,
    /// Good or why not.
    pub quality: Quality,
    /// When the reply arrived (UTC).
    pub at: Timestamp,
}

/// Whether a device is answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Not polled yet since start.
    Unknown,
    /// Answering (possibly with exceptions for some points).
    Online,
    /// `offline_after` consecutive polls failed.
    Offline,
}

/// What sources publish on the bus.
#[derive(Debug, Clone)]
pub enum ReadingEvent {
    /// The readings of one poll of one device.
    Batch(Arc<ReadingBatch>),
    /// A device went online or offline.
    DeviceState {
        /// Which device.
        device: DeviceId,
        /// Its new state.
        state: DeviceState,
        /// When it changed.
        at: Timestamp,
        /// Why, for offline: the last error.
        reason: Option<BadReason>,
    },
}

/// The readings of one poll: one allocation per poll, shared by all subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingBatch {
    /// The polled device.
    pub device: DeviceId,
    /// One per point of the polled group.
    pub readings: Vec<Reading>,
}

/// Fan-out of [`ReadingEvent`]s from sources to stages.
///
/// Every subscriber gets its own bounded queue. A full queue makes the
/// publisher wait rather than drop (nothing is lost silently); stages that
/// may be slow (database sinks) buffer on their own side so they never
/// hold pollers back for long.
#[derive(Debug, Clone, Default)]
pub struct ReadingBus {
    subscribers: Vec<mpsc::Sender<ReadingEvent>>,
}

/// Queue depth per subscriber: a few seconds of a large site's polls.
pub const SUBSCRIBER_QUEUE: usize = 4096;

impl ReadingBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a stage; call before sources start.
    pub fn subscribe(&mut self) -> mpsc::Receiver<ReadingEvent> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        self.subscribers.push(tx);
        rx
    }

    /// Delivers to every live subscriber; a subscriber that has gone away
    /// (its stage ended at shutdown) is skipped.
    pub async fn publish(&self, event: ReadingEvent) {
        for tx in &self.subscribers {
            let _ = tx.send(event.clone()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_every_event_in_order() {
        let mut bus = ReadingBus::new();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for i in 0..3 {
            let batch = ReadingBatch {
                device: DeviceId(i),
                readings: Vec::new(),
            };
            bus.publish(ReadingEvent::Batch(Arc::new(batch))).await;
        }
        for rx in [&mut a, &mut b] {
            for i in 0..3 {
                match rx.recv().await {
                    Some(ReadingEvent::Batch(batch)) => assert_eq!(batch.device, DeviceId(i)),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }

    #[tokio::test]
    async fn a_gone_subscriber_does_not_block_the_others() {
        let mut bus = ReadingBus::new();
        drop(bus.subscribe());
        let mut live = bus.subscribe();
        let event = ReadingEvent::DeviceState {
            device: DeviceId(0),
            state: DeviceState::Online,
            at: Timestamp::UNIX_EPOCH,
            reason: None,
        };
        bus.publish(event).await;
        assert!(matches!(
            live.recv().await,
            Some(ReadingEvent::DeviceState { .. })
        ));
    }
}
