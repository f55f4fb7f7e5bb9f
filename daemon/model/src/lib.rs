//! sitewarden's model: the words every stage shares and nothing else.
//!
//! This crate sits at the root of the data flow
//! (sources → readings → rules → conditions → tickets / alerts / patrol →
//! sinks and API): every stage crate depends on it, and it depends on no
//! stage. It holds
//!
//! * [`vocab`]: the closed sets of names (severity, register kinds, alert
//!   classes, ticket priorities …), each declared once with [`text_enum!`];
//! * [`catalog`]: the checked site every stage reads, built by the config
//!   crate and shared as `Arc<Catalog>`;
//! * [`duration`]: durations as people write them (`"250ms"`, `"1h30m"`);
//! * [`schedule`]: business hours, which rules and tickets consult;
//! * [`reading`]: the messages sources publish;
//! * [`record`]: the neutral point work stages hand the time-series sinks;
//! * [`secret`]: a resolved secret that never prints;
//! * [`topics`]: the MQTT topic scheme, one function per topic;
//! * [`locale`]: every text a person reads, as Project Fluent messages in
//!   the site's language, and times in the site's zone.
//!
//! It depends on serde, jiff and Fluent only, so it builds in seconds and a
//! change in a stage never rebuilds it.

#![deny(missing_docs)]

pub mod catalog;
pub mod duration;
pub mod locale;
pub mod reading;
pub mod record;
pub mod schedule;
pub mod secret;
mod text;
pub mod topics;
pub mod vocab;
