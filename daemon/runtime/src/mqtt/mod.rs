//! MQTT as a transport: one client face for MQTT 3.1.1 and 5, and the
//! embedded broker the demo and small sites run. What travels on it (the
//! topic scheme, commands, the publisher) belongs to the stages.

pub mod broker;
pub mod client;
