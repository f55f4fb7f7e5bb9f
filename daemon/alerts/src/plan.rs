//! Response plans: what people do once an alarm is raised (fire: confirm
//! on site, call 119, evacuate, head count at the assembly point, all
//! clear), per class in `[alerts.plans]`. Each step is marked done by a
//! person and timed in the alert's timeline; a step past its `within`
//! tells its people, like an escalation step. Drills run the same plan and
//! report the time each step took.

use sitewarden_runtime::clock;

/// Announces overdue plan steps whenever the next falls due or an alert
/// changes, until shutdown.
pub async fn run(
    alerts: crate::AlertsHandle,
    mut shutdown: sitewarden_runtime::shutdown::Shutdown,
) {
    let mut changed = alerts.changes();
    loop {
        let next = alerts.announce_overdue_steps().await;
        let wait = next
            .map(|at| at.duration_since(clock::now()))
            .filter(|d| !d.is_negative())
            .map_or(std::time::Duration::from_secs(3600), |d| {
                d.unsigned_abs().min(std::time::Duration::from_secs(3600))
            });
        tokio::select! {
            () = tokio::time::sleep(wait + std::time::Duration::from_millis(5)) => {}
            result = changed.changed() => if result.is_err() { return },
            () = shutdown.wait() => return,
        }
    }
}
