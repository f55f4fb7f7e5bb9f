//! Sinks: where readings and events leave the daemon.

pub mod influx;
