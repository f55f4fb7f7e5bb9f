//! One fan-out type for every stage boundary: readings, condition events
//! and the records the work stages hand the sinks all travel on a [`Bus`].
//!
//! Every subscriber gets its own bounded queue. A full queue makes the
//! publisher wait rather than drop (nothing is lost silently); stages that
//! may be slow (database sinks) buffer on their own side so they never hold
//! the publisher back for long. Subscribers are added while the daemon is
//! wired, before the publisher starts; a clone of the bus publishes to the
//! same subscribers.

use sitewarden_model::reading::ReadingEvent;
use sitewarden_model::record::Record;
use tokio::sync::mpsc;

/// Fan-out of time-series [`Record`]s from the work stages (tickets,
/// alerts, patrol) to the sinks.
pub type RecordBus = Bus<Record>;

/// Queue depth per sink for records: changes are few, bursts are short.
pub const RECORD_QUEUE: usize = 1024;

/// Fan-out of [`ReadingEvent`]s from sources to every later stage.
pub type ReadingBus = Bus<ReadingEvent>;

/// Queue depth per reading subscriber: a few seconds of a large site's polls.
pub const READING_QUEUE: usize = 4096;

/// Fan-out of `T` to every subscriber, in publication order, never dropping.
#[derive(Debug)]
pub struct Bus<T> {
    subscribers: Vec<Subscriber<T>>,
    depth: usize,
}

/// One subscriber's queue and the messages it takes.
#[derive(Debug)]
struct Subscriber<T> {
    queue: mpsc::Sender<T>,
    /// Whether a message is for this subscriber: one that ignores most
    /// messages (the MQTT encoder without value publishing takes only
    /// device states) is not woken for each of them.
    wants: fn(&T) -> bool,
}

impl<T> Clone for Subscriber<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            wants: self.wants,
        }
    }
}

impl<T> Clone for Bus<T> {
    fn clone(&self) -> Self {
        Self {
            subscribers: self.subscribers.clone(),
            depth: self.depth,
        }
    }
}

/// Every message: what [`Bus::subscribe`] takes.
fn every<T>(_: &T) -> bool {
    true
}

impl<T: Clone> Bus<T> {
    /// A bus whose subscribers queue up to `depth` messages each.
    pub fn new(depth: usize) -> Self {
        Self {
            subscribers: Vec::new(),
            depth,
        }
    }

    /// Adds a subscriber with a queue of the bus's depth.
    pub fn subscribe(&mut self) -> mpsc::Receiver<T> {
        self.subscribe_to(every)
    }

    /// Adds a subscriber that gets only the messages `wants` accepts.
    pub fn subscribe_to(&mut self, wants: fn(&T) -> bool) -> mpsc::Receiver<T> {
        let (queue, rx) = mpsc::channel(self.depth);
        self.subscribers.push(Subscriber { queue, wants });
        rx
    }

    /// Adds a subscriber that brings its own queue (a sink fed by several buses).
    pub fn attach(&mut self, subscriber: mpsc::Sender<T>) {
        self.subscribers.push(Subscriber {
            queue: subscriber,
            wants: every,
        });
    }

    /// Delivers to every live subscriber that wants the message, waiting
    /// while a queue is full; a subscriber that has gone away (its stage
    /// ended at shutdown) is skipped.
    pub async fn publish(&self, message: T) {
        let Some(last) = self.subscribers.iter().rposition(|s| (s.wants)(&message)) else {
            return;
        };
        for s in &self.subscribers[..last] {
            if (s.wants)(&message) {
                let _ = s.queue.send(message.clone()).await;
            }
        }
        let _ = self.subscribers[last].queue.send(message).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_every_message_in_order() {
        let mut bus = Bus::new(8);
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for i in 0..3 {
            bus.publish(i).await;
        }
        for rx in [&mut a, &mut b] {
            for i in 0..3 {
                assert_eq!(rx.recv().await, Some(i));
            }
        }
    }

    #[tokio::test]
    async fn a_subscriber_gets_only_what_it_wants() {
        let mut bus = Bus::new(8);
        let mut odd = bus.subscribe_to(|n: &u32| n % 2 == 1);
        let mut all = bus.subscribe();
        let mut even = bus.subscribe_to(|n: &u32| n % 2 == 0);
        for i in 0..4 {
            bus.publish(i).await;
        }
        drop(bus);
        let drain = |rx: &mut mpsc::Receiver<u32>| {
            let mut got = Vec::new();
            while let Ok(n) = rx.try_recv() {
                got.push(n);
            }
            got
        };
        assert_eq!(drain(&mut odd), [1, 3]);
        assert_eq!(drain(&mut all), [0, 1, 2, 3]);
        assert_eq!(drain(&mut even), [0, 2]);
    }

    #[tokio::test]
    async fn a_gone_subscriber_does_not_block_the_others() {
        let mut bus = Bus::new(2);
        drop(bus.subscribe());
        let mut live = bus.subscribe();
        bus.publish("x").await;
        bus.publish("y").await;
        assert_eq!(live.recv().await, Some("x"));
        assert_eq!(live.recv().await, Some("y"));
    }

    #[tokio::test]
    async fn a_full_queue_makes_the_publisher_wait_instead_of_dropping() {
        let mut bus = Bus::new(1);
        let mut rx = bus.subscribe();
        bus.publish(1).await;
        let publisher = bus.clone();
        let second = tokio::spawn(async move { publisher.publish(2).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !second.is_finished(),
            "the publisher dropped instead of waiting"
        );
        assert_eq!(rx.recv().await, Some(1));
        second.await.unwrap();
        assert_eq!(rx.recv().await, Some(2));
    }
}
