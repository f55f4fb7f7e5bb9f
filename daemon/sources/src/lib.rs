//! Sources: where readings come from. Each source turns what equipment says
//! on the wire into [`sitewarden_model::reading::Reading`]s on the reading
//! bus: Modbus TCP, RTU and RTU over TCP ([`modbus`]), and MQTT sensors
//! ([`mqtt`]).
//!
//! The first stage of the flow: it depends on the model and runtime crates
//! only. The MQTT source hands command messages to whatever implements its
//! [`mqtt::CommandInbox`], so it knows nothing of the stages after it.

#![deny(missing_docs)]

pub mod modbus;
pub mod mqtt;
