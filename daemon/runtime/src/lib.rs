//! sitewarden's runtime: what every stage runs on, and nothing of any stage.
//!
//! It sits beside the model crate, below the stages: sources, rules,
//! tickets, alerts, patrol, sinks and the API all use it, and it depends on
//! no stage. It holds
//!
//! * [`bus`]: the one fan-out type between stages (bounded, never dropping);
//! * [`shutdown`]: one trigger, any number of listening tasks;
//! * [`clock`]: daemon time, immune to clock steps, and the steps it saw;
//! * [`db`]: the embedded SQLite every store uses (WAL, migrations, time);
//! * [`disk`]: free space of the data directory and the alarm path's reserve;
//! * [`backoff`]: capped, jittered retry delays for anything that keeps failing;
//! * [`logging`]: log set-up and the rate limiter that keeps a broken device
//!   from flooding the log;
//! * [`metrics`]: the latency histogram and the Prometheus text writer each
//!   stage renders its own counters with;
//! * [`mqtt`]: the MQTT client face and the embedded broker.

#![deny(missing_docs)]

pub mod backoff;
pub mod bus;
pub mod clock;
pub mod db;
pub mod disk;
pub mod health;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod mqtt;
pub mod shutdown;
pub mod signed_link;
