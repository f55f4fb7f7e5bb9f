//! The MQTT topic scheme: one function per row of the table, so every
//! stage that publishes or subscribes builds a topic the same way.
//!
//! All topics are rooted at `sitewarden/<site id>/`:
//!
//! | topic | retained | payload |
//! |---|---|---|
//! | `status` | yes | `online`, or `offline` (last will) |
//! | `devices/<device>/state` | yes | device state JSON |
//! | `points/<device>/<point>` | no | values of points chosen for MQTT |
//! | `conditions/<device>/<rule>` | no | condition event JSON |
//! | `tickets/<id>` | no | every ticket change |
//! | `alerts/<id>` | yes while open | the alert's state; cleared (empty retained) when resolved |
//! | `alerts/<id>/notifications` | no | notifications of an `mqtt` alert channel |
//! | `alerts/self-test` | no | the scheduled test of an `mqtt` alert channel |
//! | `heartbeat` | no | `{"site","at","open_alerts"}` every `heartbeat_every` |
//! | `commands/<command>` | – | commands to the daemon |
//! | `responses/<correlation id>` | no | answers to commands |

use std::fmt::Display;

/// The topics of one site. Cheap to clone; built once from the site id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    root: String,
}

impl Topics {
    /// The topics of site `site_id`.
    pub fn new(site_id: &str) -> Self {
        Self {
            root: format!("sitewarden/{site_id}"),
        }
    }

    /// `sitewarden/<site>`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// `…/status`: the daemon's availability (retained, with the last will).
    pub fn status(&self) -> String {
        self.under("status")
    }

    /// `…/heartbeat`: proof of life with the count of open alerts.
    pub fn heartbeat(&self) -> String {
        self.under("heartbeat")
    }

    /// `…/devices/<device>/state`.
    pub fn device_state(&self, device: &str) -> String {
        format!("{}/devices/{device}/state", self.root)
    }

    /// `…/points/<device>/<point>`.
    pub fn point_value(&self, device: &str, point: &str) -> String {
        format!("{}/points/{device}/{point}", self.root)
    }

    /// `…/conditions/<device>/<rule>`.
    pub fn condition(&self, device: &str, rule: &str) -> String {
        format!("{}/conditions/{device}/{rule}", self.root)
    }

    /// `…/tickets/<id>`.
    pub fn ticket(&self, id: impl Display) -> String {
        format!("{}/tickets/{id}", self.root)
    }

    /// `…/alerts/<id>`: the alert's retained state.
    pub fn alert(&self, id: impl Display) -> String {
        format!("{}/alerts/{id}", self.root)
    }

    /// `…/alerts/<id>/notifications`.
    pub fn alert_notifications(&self, id: impl Display) -> String {
        format!("{}/alerts/{id}/notifications", self.root)
    }

    /// `…/alerts/unstored`: life-safety alarms the alert store could not
    /// record yet, sent straight on the MQTT lane, marked unconfirmed.
    pub fn alert_unstored(&self) -> String {
        self.under("alerts/unstored")
    }

    /// `…/alerts/self-test`.
    pub fn alert_self_test(&self) -> String {
        self.under("alerts/self-test")
    }

    /// `…/commands/+`: the filter the command handler subscribes to.
    pub fn commands_filter(&self) -> String {
        self.under("commands/+")
    }

    /// `…/responses/<correlation id>`.
    pub fn response(&self, correlation_id: &str) -> String {
        format!("{}/responses/{correlation_id}", self.root)
    }

    fn under(&self, rest: &str) -> String {
        format!("{}/{rest}", self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table() {
        let t = Topics::new("show-site");
        assert_eq!(t.status(), "sitewarden/show-site/status");
        assert_eq!(t.heartbeat(), "sitewarden/show-site/heartbeat");
        assert_eq!(
            t.device_state("ahu-1"),
            "sitewarden/show-site/devices/ahu-1/state"
        );
        assert_eq!(
            t.point_value("ahu-1", "fan"),
            "sitewarden/show-site/points/ahu-1/fan"
        );
        assert_eq!(
            t.condition("ahu-1", "hvac.supply_air_high"),
            "sitewarden/show-site/conditions/ahu-1/hvac.supply_air_high"
        );
        assert_eq!(t.ticket(7), "sitewarden/show-site/tickets/7");
        assert_eq!(t.alert(3), "sitewarden/show-site/alerts/3");
        assert_eq!(
            t.alert_notifications(3),
            "sitewarden/show-site/alerts/3/notifications"
        );
        assert_eq!(t.alert_self_test(), "sitewarden/show-site/alerts/self-test");
        assert_eq!(t.commands_filter(), "sitewarden/show-site/commands/+");
        assert_eq!(t.response("c1"), "sitewarden/show-site/responses/c1");
    }
}
