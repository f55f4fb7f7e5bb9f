//! The reading bus: fan-out of [`ReadingEvent`]s from sources to stages.
//!
//! The messages themselves live in [`sitewarden_model::reading`]; they are
//! re-exported here so stages name them where they subscribe.

pub use sitewarden_model::reading::*;

/// Fan-out of [`ReadingEvent`]s from sources to stages.
pub type ReadingBus = sitewarden_runtime::bus::Bus<ReadingEvent>;

/// Queue depth per subscriber: a few seconds of a large site's polls.
pub const SUBSCRIBER_QUEUE: usize = 4096;
