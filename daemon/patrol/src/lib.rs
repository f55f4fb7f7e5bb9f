//! Patrols: badge taps collected from the NFC checkpoint stations.
//!
//! One [`collector`] task per station asks it, over Modbus RTU through its
//! RS-485 gateway, for the oldest waiting record; verifies the record's
//! HMAC with the station's key and its sequence number against the last one
//! stored; stores it in the [`store`]; and only then tells the station to
//! release it. A forged record (wrong tag, wrong station), a replayed one
//! (an older sequence number) or an unknown badge raises an intrusion alert;
//! a gap in the sequence numbers is logged and counted.
//!
//! Accepted taps go to the [`rounds`] engine, which plans each route's
//! rounds from its schedule and judges every checkpoint.

#![deny(missing_docs)]

pub mod collector;
pub mod findings;
pub mod rounds;
pub mod schema;
pub mod store;

use sitewarden_model::record::{Field, Record, record_time};
use sitewarden_runtime::clock;
use sitewarden_runtime::metrics::site_series;
use std::sync::atomic::AtomicU64;

/// Counters, rendered with the daemon's metrics.
#[derive(Debug, Default)]
pub struct PatrolMetrics {
    /// Taps accepted.
    pub accepted: AtomicU64,
    /// Records refused: forged or replayed.
    pub rejected: AtomicU64,
    /// Sequence numbers missing between two records.
    pub gaps: AtomicU64,
    /// Polls that got no valid answer.
    pub poll_failures: AtomicU64,
}

impl PatrolMetrics {
    /// Writes the patrol stage's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        site_series(
            out,
            site,
            &[
                (
                    "sitewarden_patrol_taps_total",
                    "counter",
                    "Badge taps collected and verified.",
                    &self.accepted,
                ),
                (
                    "sitewarden_patrol_records_rejected_total",
                    "counter",
                    "Station records refused as forged or replayed.",
                    &self.rejected,
                ),
                (
                    "sitewarden_patrol_sequence_gaps_total",
                    "counter",
                    "Sequence numbers missing between collected records.",
                    &self.gaps,
                ),
                (
                    "sitewarden_patrol_poll_failures_total",
                    "counter",
                    "Checkpoint station polls without a valid answer.",
                    &self.poll_failures,
                ),
            ],
        );
    }
}

/// How often rounds are reviewed: half the shortest checkpoint window or
/// lone-worker limit, between 1 s and 30 s, so a finding comes at most half
/// a window late and an idle gateway does not wake every second for it.
fn review_every(catalog: &sitewarden_model::catalog::Catalog) -> std::time::Duration {
    catalog
        .patrol
        .routes
        .iter()
        .map(|r| r.window.min(r.lone_worker_after) / 2)
        .min()
        .unwrap_or(std::time::Duration::from_secs(30))
        .clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(30),
        )
}

/// Plans rounds, reviews them (see [`review_every`]), and raises what the review finds.
pub async fn run_rounds(
    catalog: std::sync::Arc<sitewarden_model::catalog::Catalog>,
    store: std::sync::Arc<store::PatrolStore>,
    alerts: sitewarden_alerts::AlertsHandle,
    sinks: sitewarden_runtime::bus::RecordBus,
    mut shutdown: sitewarden_runtime::shutdown::Shutdown,
) {
    if catalog.patrol.routes.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(review_every(&catalog));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => return,
        }
        let (c, s) = (catalog.clone(), store.clone());
        let now = clock::now();
        let findings = tokio::task::spawn_blocking(move || {
            s.with(|conn| {
                rounds::plan(conn, &c, now)?;
                rounds::review(conn, &c, now)
            })
        })
        .await;
        let findings = match findings {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot review patrol rounds");
                continue;
            }
            Err(_) => return,
        };
        for finding in findings {
            act(&catalog, &alerts, &sinks, finding, now).await;
        }
    }
}

async fn act(
    catalog: &sitewarden_model::catalog::Catalog,
    alerts: &sitewarden_alerts::AlertsHandle,
    sinks: &sitewarden_runtime::bus::RecordBus,
    finding: rounds::Finding,
    now: jiff::Timestamp,
) {
    use sitewarden_alerts::{AlertInput, Raise};
    use sitewarden_model::locale::Arg;
    use sitewarden_model::vocab::AlertClass;
    let m = &catalog.site.messages;
    // A checkpoint as people say it: its id and, when known, its location.
    let place = |station: &str| {
        let location = catalog
            .patrol
            .stations
            .iter()
            .find(|s| s.id == station)
            .and_then(|s| s.location.as_deref());
        m.place(station, location, &[])
    };
    let (class, key, title, device) = match &finding {
        rounds::Finding::Missed {
            route,
            station,
            round,
        } => (
            AlertClass::Patrol,
            format!("patrol-missed|{route}|{round}|{station}"),
            m.text(
                "patrol-missed",
                &[
                    ("station", Arg::Text(&place(station))),
                    ("route", Arg::Text(route)),
                ],
            ),
            station.clone(),
        ),
        rounds::Finding::LoneWorker {
            route,
            guard,
            round,
            station,
        } => {
            let name = catalog
                .patrol
                .guards
                .iter()
                .find(|g| &g.id == guard)
                .map_or(guard.as_str(), |g| g.name.as_str());
            (
                AlertClass::GuardSafety,
                format!("patrol-lone-worker|{route}|{round}"),
                m.text(
                    "patrol-lone-worker",
                    &[
                        ("guard", Arg::Text(name)),
                        ("route", Arg::Text(route)),
                        ("station", Arg::Text(&place(station))),
                    ],
                ),
                station.clone(),
            )
        }
        rounds::Finding::Done {
            route,
            round,
            completion,
            missed,
        } => {
            tracing::info!(%route, round, completion, missed, "patrol round over");
            let record = Record::new("patrol", record_time(now, *round))
                .tag("site", catalog.site.id.as_str())
                .tag("route", route.as_str())
                .field("completion", Field::Float(*completion))
                .field("missed", Field::Int(i64::from(*missed)))
                .field("round", Field::Int(*round));
            sinks.publish(record).await;
            return;
        }
    };
    tracing::warn!(%title, "patrol finding");
    let location = catalog
        .patrol
        .stations
        .iter()
        .find(|s| s.id == device)
        .and_then(|s| s.location.clone());
    let raise = Raise {
        key,
        class,
        severity: sitewarden_model::vocab::Severity::Critical,
        rule: None,
        device: Some(device),
        location,
        title,
        point: "round".into(),
        zone: None,
        value: None,
        at: now,
        ends_on_ack: true,
    };
    if let Err(e) = alerts
        .apply(vec![AlertInput::Raised(Box::new(raise))])
        .await
    {
        tracing::warn!(error = %e, "cannot raise a patrol alert");
    }
}
