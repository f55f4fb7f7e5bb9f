//! Sinks: where readings and events leave the daemon.

pub mod influx;

/// What the work stages (tickets, alerts, patrols) hand the sinks: one
/// channel per sink carries all of them, in commit order.
#[derive(Debug, Clone)]
pub enum Record {
    /// A committed ticket change.
    Ticket(crate::tickets::TicketChange),
    /// A committed alert change.
    Alert(crate::alerts::AlertChange),
    /// A patrol round is over.
    Patrol {
        /// Route.
        route: String,
        /// Round id.
        round: i64,
        /// Share of checkpoints reached.
        completion: f64,
        /// Checkpoints missed.
        missed: u32,
        /// When.
        at: jiff::Timestamp,
    },
}
