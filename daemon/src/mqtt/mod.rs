//! MQTT out: the daemon's availability, device states and condition events
//! on a documented topic scheme, through a persistent outbox.
//!
//! The topic scheme is [`sitewarden_model::topics`], one function per topic.
//!
//! Every JSON message has a stable `id` (`<site>-<n>`), so a duplicate after
//! a reconnect is recognisable and harmless. `broker` runs the embedded
//! broker, `outbox` keeps messages until the broker confirms them,
//! `publisher` encodes events and delivers them in order; a `lane` is a
//! connection of its own for alert messages, so they never wait behind it.

pub mod broker;
pub mod commands;
pub mod lane;
pub mod outbox;
pub mod publisher;
pub mod signature;
