//! Readings: the messages sources publish and every later stage reads.
//!
//! A source (Modbus, MQTT) decodes what a device said into [`Reading`]s and
//! publishes them, one [`ReadingBatch`] per poll. A reading names its point
//! and device by index into the shared [`crate::catalog::Catalog`], where
//! role, unit and names live, so the hot path moves a few words per reading
//! and never a string.

use std::sync::Arc;

use jiff::Timestamp;

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
    /// An MQTT device sent more messages than it may; they are dropped.
    Flooding,
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
            Self::Flooding => "flooding",
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

impl DeviceState {
    /// Its name as serialised, for pages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }
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
    /// The daemon clock's steps included in the readings' times when they
    /// were stamped (`clock::now_with_shift`): a stage that has followed a
    /// later step moves their times by the difference.
    pub clock_shift: jiff::SignedDuration,
}
