//! sitewarden: an edge daemon that watches a building site's equipment and
//! people and acts on what it sees.
//!
//! Data flows one way, one module per stage:
//!
//! ```text
//! config ──► catalog
//!               │
//! sources::modbus ──► readings (ReadingBus) ──► state (live values) ──► api
//!                                           └─► console (demo)
//! ```
//!
//! * [`config`] parses and validates TOML into a [`catalog::Catalog`], with
//!   every error positioned by file, line and column.
//! * [`sources`] poll equipment and publish [`readings::Reading`]s.
//! * [`readings`] defines the message types between stages and the bus.
//! * [`state`] keeps the latest value of every point for the [`api`].
//! * [`daemon`] wires the stages and owns shutdown.

#![deny(missing_docs)]

pub mod alerts;
pub mod api;

pub mod console;
pub mod daemon;
pub mod delivery;
pub mod metrics;
pub mod mqtt;

pub mod patrol;
pub mod readings;
pub mod report;
pub mod rules;

pub mod sinks;
pub mod sources;
pub mod state;
pub mod tickets;

/// Site files to catalog, re-exported from the config crate.
pub use sitewarden_config as config;
/// The checked site, re-exported from the model crate for the binary and tests.
pub use sitewarden_model::catalog;
/// Business hours, re-exported from the model crate.
pub use sitewarden_model::schedule;
/// The MQTT topic scheme, re-exported from the model crate.
pub use sitewarden_model::topics;
/// The shared vocabulary, re-exported from the model crate.
pub use sitewarden_model::vocab;
/// What every stage runs on, re-exported from the runtime crate.
pub use sitewarden_runtime::{bus, db, logging, shutdown};
