//! MQTT out: the daemon's availability, device states and condition events
//! on a documented topic scheme, through a persistent outbox.
//!
//! Topics, all rooted at `sitewarden/<site id>/`:
//!
//! | topic | retained | payload |
//! |---|---|---|
//! | `status` | yes | `online`, or `offline` (last will) |
//! | `devices/<device>/state` | yes | device state JSON |
//! | `conditions/<device>/<rule>` | no | condition event JSON |
//! | `tickets/<id>` | no | every ticket change |
//! | `alerts/<id>` | yes while open | the alert's state; cleared (empty retained) when resolved |
//! | `alerts/<id>/notifications` | no | notifications of an `mqtt` alert channel |
//! | `heartbeat` | no | `{"site","at","open_alerts"}` every `heartbeat_every` |
//! | `commands/<command>` | – | commands to the daemon ([`commands`]) |
//! | `responses/<correlation id>` | no | answers to commands |
//!
//! Every JSON message has a stable `id` (`<site>-<n>`), so a duplicate after
//! a reconnect is recognisable and harmless. `broker` runs the embedded
//! broker, `outbox` keeps messages until the broker confirms them,
//! `publisher` encodes events and delivers them in order; a `lane` is a
//! connection of its own for alert messages, so they never wait behind it.

pub mod broker;
pub mod client;
pub mod commands;
pub mod lane;
pub mod outbox;
pub mod publisher;

use sitewarden_model::catalog::Catalog;

/// `sitewarden/<site id>`.
pub fn root(catalog: &Catalog) -> String {
    format!("sitewarden/{}", catalog.site.id)
}
