//! sitewarden: an edge daemon that watches a building site's equipment and
//! people and acts on what it sees.
//!
//! This crate holds what reads or writes every stage (sinks, the MQTT
//! publisher and commands, the command layer, the HTTP API, the console) and
//! the wiring; the stages up to patrol are crates of their own, re-exported
//! as [`sources`], [`rules`], [`delivery`], [`tickets`], [`alerts`] and
//! [`patrol`];
//! the words they share are in
//! `sitewarden-model`, the site files become a catalog in `sitewarden-config`,
//! and what every stage runs on (bus, shutdown, SQLite, backoff, logging,
//! MQTT transport) is in `sitewarden-runtime`. Data flows one way, one
//! module per stage, in this order:
//!
//! ```text
//! sources ─ReadingEvent─► readings::ReadingBus ─► state, rules, sinks, mqtt publisher
//! rules ─ConditionEvent─► rules::ConditionBus ─► alerts, tickets, mqtt publisher, sinks
//! tickets, alerts, patrol ─Record─► bus::RecordBus ─► sinks
//! delivery: the outboxes of tickets and alerts, one loop per channel
//! api, mqtt::commands, console, metrics: read and command every stage
//! ```
//!
//! * [`sources`] poll equipment (Modbus) and listen (MQTT), publishing readings.
//! * [`state`] keeps the latest value of every point for the [`api`].
//! * [`rules`] turn readings into condition transitions.
//! * [`tickets`], [`alerts`] and [`patrol`] act on conditions and taps, each
//!   committing its changes with their outgoing [`delivery`] rows.
//! * [`sinks`] write readings, conditions and records to InfluxDB; [`mqtt`]
//!   publishes them and answers commands; [`snapshot`] writes the whole
//!   state again at an interval so dashboards' "now" panels never go empty.
//! * [`daemon`] wires the stages and owns shutdown.

#![deny(missing_docs)]

pub mod api;
pub mod config_status;
pub mod console;
pub mod control;
pub mod daemon;
pub mod metrics;
pub mod mqtt;
pub mod readings;
pub mod reload;
pub mod report;
pub mod sinks;
pub mod snapshot;
pub mod state;
pub mod upkeep;

/// Emergency alerts, re-exported from their crate.
pub use sitewarden_alerts as alerts;
/// Site files to catalog, re-exported from the config crate.
pub use sitewarden_config as config;
/// Outbox delivery, re-exported from its crate.
pub use sitewarden_delivery as delivery;
/// The checked site, re-exported from the model crate for the binary and tests.
pub use sitewarden_model::catalog;
/// The site's messages (language, wording, local time), re-exported from the model crate.
pub use sitewarden_model::locale;
/// Business hours, re-exported from the model crate.
pub use sitewarden_model::schedule;
/// The MQTT topic scheme, re-exported from the model crate.
pub use sitewarden_model::topics;
/// The shared vocabulary, re-exported from the model crate.
pub use sitewarden_model::vocab;
/// Security patrols, re-exported from their crate.
pub use sitewarden_patrol as patrol;
/// The rules stage, re-exported from its crate.
pub use sitewarden_rules as rules;
/// What every stage runs on, re-exported from the runtime crate.
pub use sitewarden_runtime::{bus, clock, db, limits, logging, shutdown};
/// The sources, re-exported from their crate.
pub use sitewarden_sources as sources;
/// Repair tickets, re-exported from their crate.
pub use sitewarden_tickets as tickets;
