//! The state snapshot: every `[sinks.influx] snapshot_every`, the whole
//! current state goes to the time-series sinks again as records.
//!
//! Changes alone leave a dashboard's "now" panels empty on a quiet site:
//! a device that came online a week ago has no `device_state` point in the
//! last hour. The snapshot writes, at one time stamp,
//! - `device_state` for every device (as a change does, so one query reads both),
//! - `condition` for every raised condition, tagged `transition=snapshot`,
//! - `open_alerts` per alert class and `open_tickets` per priority, zeros included,
//! - `site_state`: the site's totals, which a portfolio dashboard also uses
//!   to tell a site that stopped reporting (no `site_state` for a while).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sitewarden_model::catalog::Catalog;
use sitewarden_model::record::{Field, Record};
use sitewarden_model::vocab::{AlertClass, Priority};
use sitewarden_runtime::bus::RecordBus;
use sitewarden_runtime::clock;
use sitewarden_runtime::shutdown::Shutdown;

use crate::alerts::store::AlertStore;
use crate::readings::DeviceState;
use crate::rules::{ConditionState, ConditionView};
use crate::state::LiveState;
use crate::tickets::store::TicketStore;

/// What the snapshot reads.
#[derive(Clone)]
pub struct SnapshotSources {
    /// The site.
    pub catalog: Arc<Catalog>,
    /// Device states.
    pub live: Arc<LiveState>,
    /// Raised conditions.
    pub conditions: Arc<ConditionView>,
    /// Open alerts.
    pub alerts: Arc<AlertStore>,
    /// Open tickets.
    pub tickets: Arc<TicketStore>,
}

/// Writes a snapshot at start and then every `every` until shutdown.
pub async fn snapshot_forever(
    sources: SnapshotSources,
    every: Duration,
    records: RecordBus,
    mut shutdown: Shutdown,
) {
    loop {
        for record in take(&sources).await {
            records.publish(record).await;
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.wait() => return,
        }
    }
}

/// One snapshot's records, all at the same time stamp.
pub async fn take(sources: &SnapshotSources) -> Vec<Record> {
    let now = clock::now();
    let time_ns = now.as_nanosecond() as i64;
    let site = sources.catalog.site.id.as_str();
    let (mut out, online) = device_records(sources, site, time_ns);
    let devices = out.len();
    let conditions = condition_records(sources, site, now);
    let raised = conditions.len();
    out.extend(conditions);
    let mut totals = Record::new("site_state", time_ns)
        .tag("site", site)
        .field("devices", Field::Int(devices as i64))
        .field("devices_online", Field::Int(online as i64))
        .field("conditions_active", Field::Int(raised as i64));
    // Counts that cannot be read are left out, never written as zeros.
    match open_work(sources).await {
        Ok((alerts, tickets)) => {
            let classes = AlertClass::ALL.iter().map(|c| c.as_str());
            let open_alerts = counted(
                &mut out,
                "open_alerts",
                "class",
                classes,
                &alerts,
                site,
                time_ns,
            );
            let priorities = Priority::ALL.iter().map(|p| p.as_str());
            let open_tickets = counted(
                &mut out,
                "open_tickets",
                "priority",
                priorities,
                &tickets,
                site,
                time_ns,
            );
            totals = totals
                .field("open_alerts", Field::Int(open_alerts))
                .field("open_tickets", Field::Int(open_tickets));
        }
        Err(e) => tracing::warn!(error = %e, "state snapshot without open alerts and tickets"),
    }
    out.push(totals);
    out
}

/// A `device_state` record per device, and how many are online.
fn device_records(sources: &SnapshotSources, site: &str, time_ns: i64) -> (Vec<Record>, usize) {
    let tables = sources.live.read();
    let online = tables
        .devices
        .iter()
        .filter(|d| d.state == DeviceState::Online)
        .count();
    let records = sources
        .catalog
        .devices
        .iter()
        .zip(tables.devices.iter())
        .map(|(device, slot)| {
            let (online, state) = match slot.state {
                DeviceState::Online => (1, "online"),
                DeviceState::Offline => (0, "offline"),
                DeviceState::Unknown => (0, "unknown"),
            };
            Record::new("device_state", time_ns)
                .tag("site", site)
                .tag("device", device.name.as_str())
                .field("online", Field::Int(online))
                .field("state", Field::Text(state.to_owned()))
        })
        .collect();
    (records, online)
}

fn condition_records(sources: &SnapshotSources, site: &str, now: Timestamp) -> Vec<Record> {
    let catalog = &sources.catalog;
    let slots = sources.conditions.read();
    catalog
        .rule_instances
        .iter()
        .zip(slots.iter())
        .enumerate()
        .filter(|(_, (_, slot))| {
            matches!(
                slot.state,
                ConditionState::Active | ConditionState::Clearing
            )
        })
        .map(|(n, (instance, slot))| {
            let rule = catalog.rule(instance.rule);
            // One nanosecond per condition: two conditions with the same
            // tags (one rule on two points of a device) stay two points.
            let mut record = Record::new("condition", now.as_nanosecond() as i64 + n as i64)
                .tag("site", site)
                .tag("device", catalog.device(instance.device).name.as_str())
                .tag("point", catalog.point(instance.point).name.as_str())
                .tag("rule", rule.id.as_str())
                .tag("severity", instance.severity.as_str())
                .tag("transition", "snapshot")
                .field("active", Field::Int(1))
                .field("state", Field::Text(slot.state.as_str().to_owned()));
            if let Some(v) = slot.value.filter(|v| v.is_finite()) {
                record = record.field("value", Field::Float(v));
            }
            record
        })
        .collect()
}

/// Open alerts per class and open tickets per priority, read off the async
/// threads.
async fn open_work(
    sources: &SnapshotSources,
) -> anyhow::Result<(Vec<(String, u64)>, Vec<(String, u64)>)> {
    let (alerts, tickets) = (sources.alerts.clone(), sources.tickets.clone());
    tokio::task::spawn_blocking(move || Ok((alerts.open_by_class()?, tickets.open_by_priority()?)))
        .await?
}

/// One record per value of a closed vocabulary (`names`), zeros included,
/// so a "now" panel shows 0 rather than nothing; returns the total.
fn counted(
    out: &mut Vec<Record>,
    measurement: &'static str,
    key: &'static str,
    names: impl Iterator<Item = &'static str>,
    counts: &[(String, u64)],
    site: &str,
    time_ns: i64,
) -> i64 {
    let mut total = 0;
    for name in names {
        let n = counts
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, n)| *n as i64);
        total += n;
        out.push(
            Record::new(measurement, time_ns)
                .tag("site", site)
                .tag(key, name)
                .field("count", Field::Int(n)),
        );
    }
    total
}
