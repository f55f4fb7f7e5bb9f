//! Readings as the stages name them: the messages of
//! [`sitewarden_model::reading`] and the bus of [`sitewarden_runtime::bus`].

pub use sitewarden_model::reading::*;
pub use sitewarden_runtime::bus::{READING_QUEUE as SUBSCRIBER_QUEUE, ReadingBus};
