//! Patrol routes, checkpoint stations and guards.

use super::*;

/// Checkpoint stations and guards.
#[derive(Debug, Clone, Default)]
pub struct PatrolSettings {
    /// Stations.
    pub stations: Vec<PatrolStation>,
    /// Guards.
    pub guards: Vec<Guard>,
    /// Scheduled rounds.
    pub routes: Vec<Route>,
}

/// A round walked on a schedule.
#[derive(Debug, Clone)]
pub struct Route {
    /// Id.
    pub id: String,
    /// Indices into [`PatrolSettings::stations`], in walking order.
    pub checkpoints: Vec<usize>,
    /// Start period, from local midnight.
    pub every: Duration,
    /// Hours rounds start in; all day when `None`.
    pub hours: Option<(jiff::civil::Time, jiff::civil::Time)>,
    /// Planned time between checkpoints.
    pub leg: Duration,
    /// On-time tolerance.
    pub window: Duration,
    /// Suspiciously fast below this.
    pub min_gap: Duration,
    /// Lone-worker alarm delay.
    pub lone_worker_after: Duration,
}

impl PatrolSettings {
    /// The guard a badge (upper-case hex) belongs to.
    pub fn guard_of(&self, badge: &str) -> Option<&Guard> {
        self.guards
            .iter()
            .find(|g| g.badges.iter().any(|b| b == badge))
    }
}

/// One checkpoint station.
#[derive(Debug, Clone)]
pub struct PatrolStation {
    /// Name.
    pub id: String,
    /// Checkpoint id = Modbus unit id.
    pub checkpoint: u16,
    /// RTU-over-TCP gateway.
    pub gateway: std::net::SocketAddr,
    /// HMAC key.
    pub key: [u8; 32],
    /// Poll period.
    pub poll_interval: Duration,
    /// Where.
    pub location: Option<String>,
    /// What the guard checks here (doors locked, fire exits clear, no
    /// water on the floor); a "not ok" opens a repair ticket.
    pub checklist: Vec<String>,
    /// Items of the checklist whose "not ok" also raises a patrol alert.
    pub alert_on: Vec<String>,
}

/// A guard and their badges.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Badge UIDs, upper-case hex.
    pub badges: Vec<String>,
}
