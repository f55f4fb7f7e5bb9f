//! The daemon's upkeep of itself: the faults no stage can fix, found and
//! announced instead of only logged. Clock steps move every stored
//! deadline ([`follow_clock`]); history past its retention is pruned
//! ([`prune_forever`]); a full disk is an alert, and the reserve kept for
//! the alarm path is released ([`watch_disk`]); databases found corrupt at
//! start are announced ([`announce_quarantined`]).

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use crate::alerts::store::AlertStore;
use crate::alerts::{self, AlertsHandle};
use crate::delivery::Queue;
use crate::patrol::store::PatrolStore;
use crate::rules::store::Store;
use crate::tickets::TicketsHandle;
use crate::tickets::store::{self as ticket_store, TicketStore};
use sitewarden_model::catalog::{Catalog, DiskSettings, Retention};
use sitewarden_model::locale::Arg;
use sitewarden_runtime::clock;
use sitewarden_runtime::disk::{self, DiskState, Reserve};
use sitewarden_runtime::shutdown::Shutdown;

/// Compares daemon time with the system clock whenever the kernel says the
/// clock was set (and at least every minute); on a step
/// (see [`clock::resync`]) it is logged, counted (`sitewarden_clock_steps_total`)
/// and every stored deadline moves with it in the same instant: retries of
/// the outboxes, escalations and the unconfirmed-delivery watch of the
/// alerts. The rule engine moves its own times ([`crate::rules::RulesStage`]).
/// Re-anchors the stored deadlines at start: none is further away than its
/// longest honest wait (escalation steps and repeats, the delivery back-off).
/// After downtime, deadlines in the past are caught up by the stages
/// themselves (missed repeats folded into one notification).
pub(crate) async fn reanchor_deadlines(
    queues: Vec<Arc<Queue>>,
    alerts: Arc<AlertStore>,
    longest_escalation: Duration,
) {
    let moved = tokio::task::spawn_blocking(move || {
        let now = clock::now();
        let mut moved = alerts.cap_deadlines(now, longest_escalation)?;
        for queue in &queues {
            moved += queue.cap_deadlines(now)?;
        }
        Ok::<_, rusqlite::Error>(moved)
    })
    .await;
    match moved {
        Ok(Ok(0)) | Err(_) => {}
        Ok(Ok(moved)) => warn!(
            moved,
            "stored deadlines further away than any wait were brought back (the clock was ahead before this start)"
        ),
        Ok(Err(e)) => warn!(error = %e, "cannot re-anchor stored deadlines"),
    }
}

pub(crate) async fn follow_clock(
    queues: Vec<Arc<Queue>>,
    alerts: Arc<AlertStore>,
    mut shutdown: Shutdown,
) {
    let mut watch = clock::StepWatch::new();
    loop {
        tokio::select! {
            () = watch.wait() => {}
            () = shutdown.wait() => return,
        }
        if !clock::stepped() {
            continue;
        }
        let (queues, alerts) = (queues.clone(), alerts.clone());
        let checked = tokio::task::spawn_blocking(move || {
            clock::resync(|step| match move_deadlines(&queues, &alerts, step) {
                Ok(moved) => info!(step = %step, moved, "the system clock stepped; waits keep their length, records show the new time"),
                Err(e) => warn!(step = %step, error = %e, "the system clock stepped; cannot move stored deadlines with it"),
            })
        })
        .await;
        if checked.is_err() {
            return;
        }
    }
}

pub(crate) fn move_deadlines(
    queues: &[Arc<Queue>],
    alerts: &AlertStore,
    step: jiff::SignedDuration,
) -> rusqlite::Result<usize> {
    let mut moved = alerts.shift_deadlines(step)?;
    for queue in queues {
        moved += queue.shift_deadlines(step)?;
    }
    Ok(moved)
}

/// How often history past its retention is pruned.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Every store retention prunes.
#[derive(Clone)]
pub(crate) struct Retained {
    pub(crate) history: Arc<Store>,
    pub(crate) queues: Vec<Arc<Queue>>,
    pub(crate) tickets: Arc<TicketStore>,
    pub(crate) alerts: Arc<AlertStore>,
    pub(crate) patrol: Arc<PatrolStore>,
}

/// Rows pruned in one pass, per store.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pruned {
    events: usize,
    deliveries: usize,
    tickets: usize,
    alerts: usize,
    taps: usize,
}

impl Retained {
    /// Deletes what is past `[storage]` retention as of `now`.
    fn prune(&self, retention: &Retention, now: jiff::Timestamp) -> rusqlite::Result<Pruned> {
        let before = |keep: Duration| now.checked_sub(keep).unwrap_or(jiff::Timestamp::MIN);
        let mut deliveries = 0;
        for queue in &self.queues {
            deliveries += queue.prune_delivered(before(retention.deliveries))?;
        }
        Ok(Pruned {
            events: self
                .history
                .prune_history(before(retention.condition_history))?,
            deliveries,
            tickets: self
                .tickets
                .prune_closed(before(retention.closed_tickets))?,
            alerts: self
                .alerts
                .prune_resolved(before(retention.closed_alerts))?,
            taps: self.patrol.prune_before(before(retention.taps))?,
        })
    }
}

/// Prunes every store past `[storage]` retention, at start and every
/// hour, in small batches off the async workers, until shutdown. Nothing
/// open or undelivered is ever pruned.
pub(crate) async fn prune_forever(retention: Retention, stores: Retained, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => return,
        }
        let stores = stores.clone();
        let pruned =
            tokio::task::spawn_blocking(move || stores.prune(&retention, clock::now())).await;
        match pruned {
            Ok(Ok(pruned)) if pruned == Pruned::default() => {}
            Ok(Ok(p)) => info!(
                events = p.events,
                deliveries = p.deliveries,
                tickets = p.tickets,
                alerts = p.alerts,
                taps = p.taps,
                "pruned history past its retention"
            ),
            Ok(Err(e)) => warn!(error = %e, "cannot prune history"),
            Err(_) => return,
        }
    }
}

/// Raises an equipment alert and a repair ticket for every database found
/// corrupt at start and replaced by an empty one (see
/// [`sitewarden_runtime::db::open_checked`]): the daemon runs, and people
/// learn what it lost.
pub(crate) async fn announce_quarantined(
    catalog: &Catalog,
    data_dir: &std::path::Path,
    alerts: &AlertsHandle,
    tickets: &TicketsHandle,
) {
    for q in sitewarden_runtime::db::take_quarantined(data_dir) {
        let name = q
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let moved_to = q.moved_to.display().to_string();
        let ticket = ticket_store::database_fault_ticket(catalog, &name, &moved_to, &q.reason);
        if let Err(e) = tickets.create(ticket, "sitewarden".into()).await {
            warn!(database = %name, error = %e, "cannot open a ticket for a corrupt database");
        }
        let raise = alerts::Raise::system_fault(
            "sitewarden.database_corrupt",
            name.clone(),
            catalog.site.messages.text(
                "alert-database-corrupt",
                &[
                    ("database", Arg::Text(&name)),
                    ("moved_to", Arg::Text(&moved_to)),
                ],
            ),
        );
        let input = alerts::AlertInput::Raised(Box::new(raise));
        if let Err(e) = alerts.apply(vec![input]).await {
            warn!(database = %name, error = %e, "cannot raise an alert for a corrupt database");
        }
    }
}

/// The data directory's free space is measured at least this often when
/// it is close to `min_free` (or full)…
const DISK_CHECK_SOONEST: Duration = Duration::from_secs(5);
/// …and at most this rarely when there is room to spare.
const DISK_CHECK_LATEST: Duration = Duration::from_secs(60);
/// The fastest the daemon's own writes could fill the disk (a replaying
/// buffer, a storm of readings, with margin): the next measure comes
/// before the room left above `min_free` could be gone at this rate.
const DISK_FILL_RATE: u64 = 8 * 1024 * 1024;

/// When to measure free space again: sooner the closer `room` is to
/// `min_free`, between [`DISK_CHECK_SOONEST`] and [`DISK_CHECK_LATEST`].
fn next_disk_check(room: u64, min_free: u64, full: bool) -> Duration {
    if full {
        return DISK_CHECK_SOONEST;
    }
    let spare_secs = room.saturating_sub(min_free) / DISK_FILL_RATE;
    Duration::from_secs(spare_secs).clamp(DISK_CHECK_SOONEST, DISK_CHECK_LATEST)
}
/// The alert rule of a full disk.
pub(crate) const DISK_FULL_RULE: &str = "sitewarden.disk_full";

/// How often freed heap memory is given back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(60);
/// When start-up is over: a site polled every few seconds has connected to
/// its devices and polled each of them.
const STARTED_AFTER: Duration = Duration::from_secs(10);

/// Gives back the binary's pages only start-up touched, once start-up is
/// over; then freed heap memory once a minute, so a burst (an MQTT storm,
/// a long report) does not leave the daemon larger.
pub(crate) async fn trim_heap_forever(mut shutdown: Shutdown) {
    tokio::select! {
        () = tokio::time::sleep(STARTED_AFTER) => {
            let released = sitewarden_runtime::limits::release_startup_pages();
            tracing::debug!(released, "start-up pages of the binary given back");
        }
        () = shutdown.wait() => return,
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TRIM_EVERY, TRIM_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => sitewarden_runtime::limits::trim_heap(),
            () = shutdown.wait() => return,
        }
    }
}

/// Measures the data directory's free space every 5 s when it is close
/// to `min_free`, up to once a minute when gigabytes are spare. Below
/// `min_free` the disk is full: the reserve is released (its space is what
/// alarms are stored in meanwhile), a critical `sitewarden.disk_full`
/// equipment alert is raised, `/healthz` says `disk_full` and the metrics
/// `sitewarden_disk_full 1`. Once free space is back above `min_free` plus
/// the reserve, the reserve is held again and the alert clears.
pub(crate) async fn watch_disk(
    data_dir: std::path::PathBuf,
    settings: DiskSettings,
    state: Arc<DiskState>,
    alerts: AlertsHandle,
    mut shutdown: Shutdown,
) {
    let reserve = Arc::new(Reserve::new(&data_dir, settings.reserve));
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.wait() => return,
        }
        wait = DISK_CHECK_SOONEST;
        let (dir, held) = (data_dir.clone(), reserve.clone());
        let measured = tokio::task::spawn_blocking(move || {
            let free = disk::free_bytes(&dir)?;
            Ok::<_, std::io::Error>((free, held.held()))
        })
        .await;
        let (free, held) = match measured {
            Ok(Ok(measured)) => measured,
            Ok(Err(e)) => {
                warn!(data_dir = %data_dir.display(), error = %e, "cannot measure the data directory's free space");
                continue;
            }
            Err(_) => return,
        };
        state.set_free(free);
        // The reserve counts as free space: it is ours to give.
        let room = free + if held { reserve.size() } else { 0 };
        let was_full = state.is_full();
        wait = next_disk_check(room, settings.min_free, was_full);
        if !was_full && room < settings.min_free {
            state.set_full(true);
            disk_became_full(&reserve, &data_dir, free, &alerts).await;
        } else if was_full && free >= settings.min_free.saturating_add(reserve.size()) {
            state.set_full(false);
            disk_has_room(&reserve, &alerts).await;
        } else if !was_full && !held {
            let held = reserve.clone();
            let _ = tokio::task::spawn_blocking(move || held.hold()).await;
        }
    }
}

async fn disk_became_full(
    reserve: &Arc<Reserve>,
    data_dir: &std::path::Path,
    free: u64,
    alerts: &AlertsHandle,
) {
    let held = reserve.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || held.release()).await {
        warn!(error = %e, "cannot release the disk reserve");
    }
    error!(data_dir = %data_dir.display(), free_bytes = free,
           "DISK FULL: the data directory is out of space; alarms are stored in the released reserve");
    let mut raise = alerts::Raise::system_fault(
        DISK_FULL_RULE,
        "data".into(),
        alerts.catalog.site.messages.text(
            "alert-disk-full",
            &[
                ("free", Arg::Text(&human_bytes(free))),
                ("dir", Arg::Text(&data_dir.display().to_string())),
            ],
        ),
    );
    raise.ends_on_ack = false;
    if let Err(e) = alerts
        .apply(vec![alerts::AlertInput::Raised(Box::new(raise))])
        .await
    {
        warn!(error = %e, "cannot raise the disk-full alert (the desk retries it)");
    }
}

async fn disk_has_room(reserve: &Arc<Reserve>, alerts: &AlertsHandle) {
    let held = reserve.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || held.hold()).await {
        warn!(error = %e, "cannot hold the disk reserve again");
    }
    info!("the data directory has room again; the reserve is held");
    let cleared = alerts::AlertInput::Cleared {
        key: format!("{DISK_FULL_RULE}|data"),
        point: "data".into(),
        at: clock::now(),
    };
    if let Err(e) = alerts.apply(vec![cleared]).await {
        warn!(error = %e, "cannot clear the disk-full alert");
    }
}

/// `12.3 MiB`.
fn human_bytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// Timeout of one heartbeat ping.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Pings `[alerts] heartbeat_url` (GET, healthchecks-style) every
/// `heartbeat_url_every`, but only while every stage runs: a daemon with a
/// dead stage, or a dead or disconnected gateway, stops pinging, and the
/// central side alerts on the silence. A ping counts when the receiver
/// answers 2xx; the URL (it holds a key) is never logged whole.
pub(crate) async fn ping_heartbeat(
    url: String,
    every: Duration,
    stages: Arc<sitewarden_runtime::health::Stages>,
    beacons: Arc<sitewarden_runtime::health::Beacons>,
    mut shutdown: Shutdown,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let client = match reqwest::Client::builder().timeout(PING_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            error!(error = %e, "cannot build the heartbeat client; no heartbeat pings");
            return;
        }
    };
    let shown = crate::delivery::verdict::redact_url(&url);
    let mut tick = tokio::time::interval(every);
    let mut log = sitewarden_runtime::logging::LogLimiter::new(Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => return,
        }
        if !stages.all_up() {
            beacons.ping_failures.fetch_add(1, Relaxed);
            continue;
        }
        match client.get(&url).send().await {
            Ok(answer) if answer.status().is_success() => {
                beacons.pings.fetch_add(1, Relaxed);
            }
            outcome => {
                beacons.ping_failures.fetch_add(1, Relaxed);
                if log.allow().is_some() {
                    let why = match outcome {
                        // for engineers: the reason in a log line.
                        Ok(answer) => format!("answered HTTP {}", answer.status().as_u16()),
                        Err(e) => crate::delivery::verdict::redact_url(&e.to_string()),
                    };
                    warn!(url = %shown, why, "heartbeat ping failed");
                }
            }
        }
    }
}

/// How often the buzzer's state is decided and written again (a relay
/// module that lost power comes back to the right state).
const BUZZER_EVERY: Duration = Duration::from_secs(2);
/// Timeout of one coil write.
const BUZZER_TIMEOUT: Duration = Duration::from_secs(2);

/// Switches the `[alerts.buzzer]` coil on while a delivery-fault alert is
/// open and nobody has acknowledged it (a life-safety alert no channel
/// confirmed), off otherwise; written every two seconds. A failed write is
/// counted (`sitewarden_buzzer_failures_total`) and logged.
pub(crate) async fn drive_buzzer(
    buzzer: sitewarden_model::catalog::Buzzer,
    alerts: Arc<AlertStore>,
    beacons: Arc<sitewarden_runtime::health::Beacons>,
    mut shutdown: Shutdown,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut tick = tokio::time::interval(BUZZER_EVERY);
    let mut log = sitewarden_runtime::logging::LogLimiter::new(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => return,
        }
        let store = alerts.clone();
        let on = match tokio::task::spawn_blocking(move || store.unacknowledged_delivery_faults())
            .await
        {
            Ok(Ok(faults)) => faults > 0,
            // The store cannot answer: sound rather than stay silent.
            Ok(Err(_)) => true,
            Err(_) => return,
        };
        match write_coil(buzzer, on).await {
            Ok(()) => {
                if beacons.buzzer_on.swap(on, Relaxed) != on {
                    info!(on, "buzzer switched");
                }
            }
            Err(e) => {
                beacons.buzzer_failures.fetch_add(1, Relaxed);
                if log.allow().is_some() {
                    warn!(host = %buzzer.host, coil = buzzer.coil, error = %e, "cannot write the buzzer coil");
                }
            }
        }
    }
}

async fn write_coil(buzzer: sitewarden_model::catalog::Buzzer, on: bool) -> anyhow::Result<()> {
    use tokio_modbus::prelude::*;
    let write = async {
        let mut ctx = tcp::connect_slave(buzzer.host, Slave(buzzer.unit)).await?;
        ctx.write_single_coil(buzzer.coil, on).await??;
        let _ = ctx.disconnect().await;
        anyhow::Ok(())
    };
    tokio::time::timeout(BUZZER_TIMEOUT, write)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {BUZZER_TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn free_space_is_measured_sooner_the_closer_it_is_to_the_limit() {
        let min_free = 100 * MIB;
        assert_eq!(
            next_disk_check(120 * MIB, min_free, false),
            DISK_CHECK_SOONEST
        );
        assert_eq!(
            next_disk_check(100 * MIB + 20 * DISK_FILL_RATE, min_free, false),
            Duration::from_secs(20)
        );
        assert_eq!(
            next_disk_check(50_000 * MIB, min_free, false),
            DISK_CHECK_LATEST
        );
        assert_eq!(
            next_disk_check(50_000 * MIB, min_free, true),
            DISK_CHECK_SOONEST
        );
        assert_eq!(next_disk_check(0, min_free, false), DISK_CHECK_SOONEST);
    }
}
