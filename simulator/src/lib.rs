//! site-sim: device models of a building site that speak real Modbus TCP.
//!
//! The simulator reads the same site file and device profiles as the daemon
//! (it needs only ids, hosts, unit ids and register maps, and ignores the
//! rest), serves each device on its own TCP port with a tokio-modbus server,
//! and moves values the way the equipment would: temperatures follow
//! setpoints with noise, filter pressure creeps with fan hours, lamps age,
//! doors open and close. A scenario file scripts faults over time.
//!
//! It is an independent implementation of the register maps: it *encodes*
//! values with its own code, so a decoding bug in the daemon shows up as a
//! wrong reading instead of cancelling out.

mod bank;
mod model;
mod mqtt;
mod profile;
mod scenario;
mod server;

pub mod checkpoint;
pub use profile::{SimDevice, SimSite, load_site};
pub use scenario::{Scenario, Step, load_scenario};
pub use server::{RunningSite, SimOptions, start};
