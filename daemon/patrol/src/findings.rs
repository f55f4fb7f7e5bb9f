//! Patrol findings: the plan's patrols are inspections, not only presence.
//! At a checkpoint the guard records each item of the station's checklist
//! (doors locked, fire exits clear, no water on the floor) as ok or not,
//! with a note; the finding is linked to the round the guard's last tap
//! there belongs to. A "not ok" opens a repair ticket at the station's
//! place, and for the items of `alert_on` also raises a patrol alert.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use sitewarden_model::catalog::{Catalog, PatrolStation};
use sitewarden_runtime::db::{from_micros, micros};

/// One item as the guard records it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFinding {
    /// The checklist item, as the station's checklist words it.
    pub item: String,
    /// As it should be.
    pub ok: bool,
    /// What the guard saw (needed with a "not ok").
    #[serde(default)]
    pub note: Option<String>,
}

/// What a guard reports at a checkpoint: `POST /api/v1/patrol/findings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsReport {
    /// The station (checkpoint) id.
    pub station: String,
    /// Its checklist's items.
    pub items: Vec<ItemFinding>,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Id.
    pub id: i64,
    /// Station.
    pub station: String,
    /// The round it belongs to, when the guard tapped there on one.
    pub round: Option<i64>,
    /// The guard of that tap.
    pub guard: Option<String>,
    /// The item.
    pub item: String,
    /// As it should be.
    pub ok: bool,
    /// What the guard saw.
    pub note: Option<String>,
    /// When.
    pub at: Timestamp,
    /// Who entered it.
    pub by: String,
    /// The repair ticket a "not ok" opened.
    pub ticket: Option<i64>,
}

/// Why a report is refused.
#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    /// The request is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("patrol store: {0}")]
    Store(#[from] rusqlite::Error),
}

/// The station a report names, checked against its checklist.
pub fn check<'a>(
    catalog: &'a Catalog,
    report: &FindingsReport,
) -> Result<&'a PatrolStation, FindingsError> {
    let Some(station) = catalog
        .patrol
        .stations
        .iter()
        .find(|s| s.id == report.station)
    else {
        return Err(FindingsError::Invalid(format!(
            "no patrol station `{}`",
            report.station
        )));
    };
    if report.items.is_empty() {
        return Err(FindingsError::Invalid(
            "a report names at least one item".into(),
        ));
    }
    for f in &report.items {
        if !station.checklist.contains(&f.item) {
            return Err(FindingsError::Invalid(format!(
                "`{}` is not on the checklist of {}; it has: {}",
                f.item,
                station.id,
                station.checklist.join(", ")
            )));
        }
        if !f.ok && f.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(FindingsError::Invalid(format!(
                "`{}` is not ok: say what is wrong in `note`",
                f.item
            )));
        }
    }
    Ok(station)
}

/// The round and guard of the last tap at `station` within `since`.
pub fn round_at(
    conn: &Connection,
    station: &str,
    since: Timestamp,
) -> rusqlite::Result<Option<(i64, Option<String>)>> {
    conn.prepare_cached(
        "SELECT round, guard FROM round_checkpoint WHERE station = ?1 AND tapped_us >= ?2
         ORDER BY tapped_us DESC LIMIT 1",
    )?
    .query_row(params![station, micros(since)], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
}

/// Stores the findings; their ids, in order.
pub fn store_findings(
    conn: &Connection,
    report: &FindingsReport,
    (round, guard): (Option<i64>, Option<&str>),
    by: &str,
    now: Timestamp,
) -> rusqlite::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(report.items.len());
    for f in &report.items {
        conn.prepare_cached(
            "INSERT INTO finding (station, round, guard, item, ok, note, at_us, by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            report.station,
            round,
            guard,
            f.item,
            f.ok,
            f.note.as_deref().map(str::trim),
            micros(now),
            by
        ])?;
        ids.push(conn.last_insert_rowid());
    }
    Ok(ids)
}

/// Links finding `id` to the ticket it opened.
pub fn link_ticket(conn: &Connection, id: i64, ticket: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE finding SET ticket = ?2 WHERE id = ?1",
        params![id, ticket],
    )
    .map(|_| ())
}

/// The findings of `round`, or of the last `limit` when `None`, newest first.
pub fn list(conn: &Connection, round: Option<i64>, limit: usize) -> rusqlite::Result<Vec<Finding>> {
    conn.prepare_cached(
        "SELECT id, station, round, guard, item, ok, note, at_us, by, ticket FROM finding
         WHERE ?1 IS NULL OR round = ?1 ORDER BY id DESC LIMIT ?2",
    )?
    .query_map(params![round, limit as i64], |r| {
        Ok(Finding {
            id: r.get(0)?,
            station: r.get(1)?,
            round: r.get(2)?,
            guard: r.get(3)?,
            item: r.get(4)?,
            ok: r.get(5)?,
            note: r.get(6)?,
            at: from_micros(r.get(7)?),
            by: r.get(8)?,
            ticket: r.get(9)?,
        })
    })?
    .collect()
}

/// How far back the guard's tap at the station links a finding to its round.
const ROUND_LINK: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

/// Records a guard's findings at a checkpoint: each "not ok" opens a
/// repair ticket linked to the finding (and round), and an `alert_on` item
/// also raises a patrol alert. The findings as stored.
pub async fn report(
    catalog: &Catalog,
    store: &std::sync::Arc<crate::store::PatrolStore>,
    (tickets, alerts): (
        &sitewarden_tickets::TicketsHandle,
        &sitewarden_alerts::AlertsHandle,
    ),
    report: FindingsReport,
    by: String,
) -> Result<Vec<Finding>, FindingsError> {
    let station = check(catalog, &report)?.clone();
    let now = sitewarden_runtime::clock::now();
    let stored = {
        let (store, report, by) = (store.clone(), report.clone(), by.clone());
        tokio::task::spawn_blocking(move || {
            store.with(|conn| {
                let (round, guard) = round_at(conn, &report.station, now - ROUND_LINK)?
                    .map_or((None, None), |(r, g)| (Some(r), g));
                let ids = store_findings(conn, &report, (round, guard.as_deref()), &by, now)?;
                Ok((ids, round, guard))
            })
        })
        .await
        .map_err(|_| FindingsError::Invalid("the daemon is stopping".into()))??
    };
    let (ids, round, guard) = stored;
    for (f, id) in report.items.iter().zip(&ids) {
        if f.ok {
            continue;
        }
        let ticket = finding_ticket(catalog, &station, f, round, now);
        match tickets.create(ticket, by.clone()).await {
            Ok(t) => {
                let (store, id, ticket) = (store.clone(), *id, t.id);
                let linked = tokio::task::spawn_blocking(move || {
                    store.with(|conn| link_ticket(conn, id, ticket))
                })
                .await;
                if !matches!(linked, Ok(Ok(()))) {
                    tracing::warn!(finding = id, ticket, "cannot link a finding to its ticket");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open a ticket for a patrol finding"),
        }
        if station.alert_on.contains(&f.item) {
            raise(catalog, alerts, &station, f, *id, guard.as_deref(), now).await;
        }
    }
    let store = store.clone();
    let found = tokio::task::spawn_blocking(move || {
        store.with(|conn| {
            let mut all = list(conn, None, 500)?;
            all.retain(|f| ids.contains(&f.id));
            all.reverse();
            Ok(all)
        })
    })
    .await
    .map_err(|_| FindingsError::Invalid("the daemon is stopping".into()))??;
    Ok(found)
}

/// The repair ticket a "not ok" opens, at the station's place.
fn finding_ticket(
    catalog: &Catalog,
    station: &PatrolStation,
    f: &ItemFinding,
    round: Option<i64>,
    now: Timestamp,
) -> sitewarden_tickets::store::NewTicket {
    use sitewarden_model::locale::Arg;
    use sitewarden_model::vocab::Priority;
    let m = &catalog.site.messages;
    let place = m.place(&station.id, station.location.as_deref(), &[]);
    let priority = if station.alert_on.contains(&f.item) {
        Priority::P2
    } else {
        Priority::P3
    };
    let level = catalog.tickets.level(priority);
    let note = f.note.as_deref().unwrap_or_default().trim();
    let description = match round {
        Some(round) => m.text(
            "patrol-finding-on-round",
            &[("note", Arg::Text(note)), ("round", Arg::Number(round))],
        ),
        None => note.to_owned(),
    };
    let title = m.text(
        "patrol-finding-title",
        &[("item", Arg::Text(&f.item)), ("place", Arg::Text(&place))],
    );
    let targets = (now + level.response, now + level.resolution);
    let origin = sitewarden_tickets::Origin::Patrol;
    sitewarden_tickets::store::NewTicket {
        description: Some(description),
        location: Some(
            station
                .location
                .clone()
                .unwrap_or_else(|| station.id.clone()),
        ),
        ..sitewarden_tickets::store::NewTicket::work(origin, priority, title, now, targets)
    }
}

/// The patrol alert of an `alert_on` item found not ok.
async fn raise(
    catalog: &Catalog,
    alerts: &sitewarden_alerts::AlertsHandle,
    station: &PatrolStation,
    f: &ItemFinding,
    id: i64,
    guard: Option<&str>,
    now: Timestamp,
) {
    use sitewarden_model::locale::Arg;
    let m = &catalog.site.messages;
    let place = m.place(&station.id, station.location.as_deref(), &[]);
    let raise = sitewarden_alerts::Raise {
        key: format!("patrol-finding|{}|{id}", station.id),
        class: sitewarden_model::vocab::AlertClass::Patrol,
        severity: sitewarden_model::vocab::Severity::Major,
        rule: None,
        device: Some(station.id.clone()),
        location: station.location.clone(),
        title: m.text(
            "patrol-finding-title",
            &[("item", Arg::Text(&f.item)), ("place", Arg::Text(&place))],
        ),
        point: guard.unwrap_or("finding").to_owned(),
        zone: None,
        value: None,
        at: now,
        ends_on_ack: true,
    };
    let input = sitewarden_alerts::AlertInput::Raised(Box::new(raise));
    if let Err(e) = alerts.apply(vec![input]).await {
        tracing::warn!(error = %e, "cannot raise the alert of a patrol finding");
    }
}
