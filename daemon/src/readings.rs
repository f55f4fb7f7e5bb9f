//! The reading bus: fan-out of [`ReadingEvent`]s from sources to stages.
//!
//! The messages themselves live in [`sitewarden_model::reading`]; they are
//! re-exported here so stages name them where they subscribe.

use tokio::sync::mpsc;

pub use sitewarden_model::reading::*;

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
    use jiff::Timestamp;
    use sitewarden_model::catalog::DeviceId;
    use std::sync::Arc;

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
