//! Sinks: where readings, condition events and the work stages' records
//! ([`sitewarden_model::record::Record`]) leave the daemon.

pub mod influx;
