//! Patrols: badge taps collected from the NFC checkpoint stations.
//!
//! One [`collector`] task per station asks it, over Modbus RTU through its
//! RS-485 gateway, for the oldest waiting record; verifies the record's
//! HMAC with the station's key and its sequence number against the last one
//! stored; stores it in the [`store`]; and only then tells the station to
//! release it. A forged record (wrong tag, wrong station), a replayed one
//! (an older sequence number) or an unknown badge raises an intrusion alert;
//! a gap in the sequence numbers is logged and counted.
//!
//! Routes, schedules and compliance (on time, late, missed, out of order,
//! lone worker) are not built yet.

pub mod collector;
pub mod store;

use std::sync::atomic::AtomicU64;

/// Counters, rendered with the daemon's metrics.
#[derive(Debug, Default)]
pub struct PatrolMetrics {
    /// Taps accepted.
    pub accepted: AtomicU64,
    /// Records refused: forged or replayed.
    pub rejected: AtomicU64,
    /// Sequence numbers missing between two records.
    pub gaps: AtomicU64,
    /// Polls that got no valid answer.
    pub poll_failures: AtomicU64,
}
