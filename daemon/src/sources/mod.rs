//! Sources: where readings come from. Each source turns what equipment says
//! on the wire into [`crate::readings::Reading`]s on the bus.

pub mod modbus;
pub mod mqtt;
