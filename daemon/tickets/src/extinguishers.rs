//! Extinguishers and hose reels: from the site's register to the work
//! GB 50444-2008 (code for acceptance and inspection of extinguisher
//! distribution in buildings) asks for, as tickets, and a report.
//!
//! - Every unit is inspected monthly (clause 5.2.1): one inspection ticket
//!   lists every unit due within a week as a checklist item; an item passed
//!   records the inspection, a failed one opens a repair (as every checklist).
//! - Each is serviced at a licensed workshop on its kind's interval
//!   (clause 5.3.2): water-based 3 years after manufacture then yearly,
//!   the others 5 years then every 2; one ticket per unit and service date.
//! - Each is scrapped at its kind's age (clause 5.4.3): water-based 6
//!   years, dry powder and clean agent 10, carbon dioxide 12; one ticket
//!   per unit a month before.
//!
//! The register file is the fire-safety manager's; sitewarden never writes
//! it. What it records (inspections passed, services accepted) lives with
//! the tickets, and the report joins both.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use serde::Serialize;
use sitewarden_model::catalog::{Catalog, Extinguisher, ExtinguisherKind};
use sitewarden_model::locale::Arg;
use sitewarden_model::vocab::Priority;
use tracing::warn;

use super::Origin;
use super::TicketsHandle;
use super::store::NewTicket;

/// The dedup key of the inspection ticket: one open at a time.
pub const INSPECTION_KEY: &str = "extinguishers:inspection";

/// How early an inspection, a service or a replacement counts as due.
const NOTICE_DAYS: i64 = 7;
/// How early a service or replacement ticket opens: a workshop needs a month.
const WORKSHOP_NOTICE_DAYS: i64 = 30;

sitewarden_model::text_enum! {
    /// Where a unit stands for one kind of work.
    Standing {
        /// Nothing to do yet.
        Ok = "ok",
        /// Falls due soon: on a ticket now.
        Due = "due",
        /// Past its date.
        Overdue = "overdue",
    }
}

/// One unit in the report: the register's facts and what is due.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitStatus {
    /// Label on the unit.
    pub id: String,
    /// Where it stands.
    pub location: String,
    /// What it is.
    pub kind: &'static str,
    /// As the label says.
    pub capacity: String,
    /// Last monthly inspection (the register's or a passed checklist item, the later).
    pub last_inspection: Option<Date>,
    /// When the next one falls due.
    pub inspection_due: Date,
    /// Where the inspection stands.
    pub inspection: Standing,
    /// Next workshop service; none for a hose reel.
    pub service_due: Option<Date>,
    /// Where the service stands.
    pub service: Standing,
    /// Scrap date; none for a hose reel.
    pub expires: Option<Date>,
    /// Where the replacement stands.
    pub replacement: Standing,
}

/// Years after manufacture to the first service, and between services.
fn service_years(kind: ExtinguisherKind) -> Option<(i16, i16)> {
    match kind {
        ExtinguisherKind::WaterBased => Some((3, 1)),
        ExtinguisherKind::DryPowder
        | ExtinguisherKind::CleanAgent
        | ExtinguisherKind::CarbonDioxide => Some((5, 2)),
        ExtinguisherKind::HoseReel => None,
    }
}

/// Years after manufacture a unit is scrapped.
fn scrap_years(kind: ExtinguisherKind) -> Option<i16> {
    match kind {
        ExtinguisherKind::WaterBased => Some(6),
        ExtinguisherKind::DryPowder | ExtinguisherKind::CleanAgent => Some(10),
        ExtinguisherKind::CarbonDioxide => Some(12),
        ExtinguisherKind::HoseReel => None,
    }
}

fn plus_years(d: Date, years: i16) -> Date {
    d.checked_add(i64::from(years).years()).unwrap_or(Date::MAX)
}

fn standing(due: Date, today: Date, notice_days: i64) -> Standing {
    if today > due {
        Standing::Overdue
    } else if today >= due.checked_sub(notice_days.days()).unwrap_or(Date::MIN) {
        Standing::Due
    } else {
        Standing::Ok
    }
}

/// What is due for `unit` on `today`, given the last inspection sitewarden
/// recorded and the last service accepted (both dates in the site's zone).
pub fn status(
    unit: &Extinguisher,
    inspected: Option<Date>,
    serviced: Option<Date>,
    today: Date,
) -> UnitStatus {
    let last_inspection = unit.last_inspection.max(inspected);
    // Never inspected: due at once.
    let inspection_due =
        last_inspection.map_or(today, |d| d.checked_add(1.month()).unwrap_or(Date::MAX));
    let service_due = service_years(unit.kind).map(|(first, every)| match serviced {
        Some(done) => plus_years(done, every),
        None => unit
            .next_service
            .unwrap_or_else(|| plus_years(unit.manufactured, first)),
    });
    let expires = unit
        .expiry
        .or_else(|| scrap_years(unit.kind).map(|y| plus_years(unit.manufactured, y)));
    let work =
        |due: Option<Date>| due.map_or(Standing::Ok, |d| standing(d, today, WORKSHOP_NOTICE_DAYS));
    UnitStatus {
        id: unit.id.clone(),
        location: unit.location.clone(),
        kind: unit.kind.as_str(),
        capacity: unit.capacity.clone(),
        last_inspection,
        inspection_due,
        inspection: standing(inspection_due, today, NOTICE_DAYS),
        service_due,
        service: work(service_due),
        expires,
        replacement: work(expires),
    }
}

/// The unit a checklist item is about: its label starts with the unit's id.
pub fn unit_of(label: &str) -> &str {
    label.split(" · ").next().unwrap_or(label).trim()
}

/// The whole register as of `now`, with what sitewarden recorded.
pub async fn report(handle: &TicketsHandle, now: Timestamp) -> Vec<UnitStatus> {
    let tz = &handle.catalog.site.hours.time_zone;
    let today = now.to_zoned(tz.clone()).date();
    let store = handle.store.clone();
    let recorded = tokio::task::spawn_blocking(move || store.extinguisher_records(INSPECTION_KEY))
        .await
        .ok()
        .and_then(|r| {
            r.map_err(|e| warn!(error = %e, "cannot read extinguisher records"))
                .ok()
        })
        .unwrap_or_default();
    let date = |t: Timestamp| t.to_zoned(tz.clone()).date();
    handle
        .catalog
        .tickets
        .extinguishers
        .iter()
        .map(|unit| {
            let inspected = recorded
                .inspections
                .iter()
                .filter(|(label, _)| unit_of(label) == unit.id)
                .map(|(_, at)| date(*at))
                .max();
            let serviced = recorded
                .services
                .iter()
                .filter(|(key, _)| key == &service_key(&unit.id))
                .map(|(_, at)| date(*at))
                .max();
            status(unit, inspected, serviced, today)
        })
        .collect()
}

fn service_key(unit: &str) -> String {
    format!("extinguisher-service:{unit}")
}

fn replacement_key(unit: &str) -> String {
    format!("extinguisher-replace:{unit}")
}

/// Opens what the register makes due: the inspection round, services and
/// replacements. Called with the preventive schedules; each piece of work
/// opens once (its occurrence is kept like a schedule's).
pub async fn run_inventory(handle: &TicketsHandle, now: Timestamp) {
    if handle.catalog.tickets.extinguishers.is_empty() {
        return;
    }
    let units = report(handle, now).await;
    let catalog = &handle.catalog;
    let due: Vec<&UnitStatus> = units
        .iter()
        .filter(|u| u.inspection != Standing::Ok)
        .collect();
    if !due.is_empty() {
        let items: Vec<String> = due.iter().map(|u| item_label(catalog, u)).collect();
        let title = catalog.site.messages.text(
            "ticket-extinguisher-inspection",
            &[("count", Arg::Number(due.len() as i64))],
        );
        let ticket = work_ticket(catalog, title, None, INSPECTION_KEY.into(), now);
        // Progress key per day: a round resolved today is not reopened
        // today for a unit whose item failed (its repair is open).
        let key = format!(
            "{INSPECTION_KEY}:{}",
            now.to_zoned(catalog.site.hours.time_zone.clone()).date()
        );
        if let Err(e) = open_once(handle, key, ticket, items).await {
            warn!(error = %e, "cannot open the extinguisher inspection");
        }
    }
    for unit in &units {
        let (Some(service_due), Standing::Due | Standing::Overdue) =
            (unit.service_due, unit.service)
        else {
            continue;
        };
        let due_text = service_due.to_string();
        let title = catalog
            .site
            .messages
            .text("ticket-extinguisher-service", &unit_args(unit, &due_text));
        let ticket = work_ticket(catalog, title, Some(unit), service_key(&unit.id), now);
        let key = format!("{}:{service_due}", service_key(&unit.id));
        if let Err(e) = open_once(handle, key, ticket, Vec::new()).await {
            warn!(unit = %unit.id, error = %e, "cannot open an extinguisher service");
        }
    }
    for unit in &units {
        let (Some(expires), Standing::Due | Standing::Overdue) = (unit.expires, unit.replacement)
        else {
            continue;
        };
        let due_text = expires.to_string();
        let title = catalog
            .site
            .messages
            .text("ticket-extinguisher-replace", &unit_args(unit, &due_text));
        let ticket = work_ticket(catalog, title, Some(unit), replacement_key(&unit.id), now);
        let key = format!("{}:{expires}", replacement_key(&unit.id));
        if let Err(e) = open_once(handle, key, ticket, Vec::new()).await {
            warn!(unit = %unit.id, error = %e, "cannot open an extinguisher replacement");
        }
    }
}

/// Opens the work of occurrence `key` unless it was opened before: a
/// replacement accepted is not reopened while the register still shows the
/// old unit.
async fn open_once(
    handle: &TicketsHandle,
    key: String,
    ticket: NewTicket,
    items: Vec<String>,
) -> Result<(), crate::TicketError> {
    let store = handle.store.clone();
    let seen = key.clone();
    let handled = tokio::task::spawn_blocking(move || store.preventive_last(&seen)).await;
    match handled {
        Ok(Ok(None)) => handle.open_work(key, ticket, items).await,
        Ok(Ok(Some(_))) | Err(_) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
    }
}

fn unit_args<'a>(unit: &'a UnitStatus, due: &'a str) -> [(&'static str, Arg<'a>); 3] {
    [
        ("unit", Arg::Text(&unit.id)),
        ("location", Arg::Text(&unit.location)),
        ("due", Arg::Text(due)),
    ]
}

/// `FE-01 · Sales hall entrance · dry powder 4 kg · due 2027-04-03`.
fn item_label(catalog: &Catalog, unit: &UnitStatus) -> String {
    let m = &catalog.site.messages;
    let kind = m.text(&format!("extinguisher-kind-{}", unit.kind), &[]);
    let due = unit.inspection_due.to_string();
    m.text(
        "extinguisher-item",
        &[
            ("unit", Arg::Text(&unit.id)),
            ("location", Arg::Text(&unit.location)),
            ("kind", Arg::Text(&kind)),
            ("capacity", Arg::Text(&unit.capacity)),
            ("due", Arg::Text(&due)),
        ],
    )
}

fn work_ticket(
    catalog: &Catalog,
    title: String,
    unit: Option<&UnitStatus>,
    dedup_key: String,
    now: Timestamp,
) -> NewTicket {
    let priority = Priority::P3;
    let level = catalog.tickets.level(priority);
    let targets = (now + level.response, now + level.resolution);
    NewTicket {
        location: unit.map(|u| u.location.clone()),
        dedup_key: Some(dedup_key),
        ..NewTicket::work(Origin::Preventive, priority, title, now, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn unit(kind: ExtinguisherKind) -> Extinguisher {
        Extinguisher {
            id: "FE-01".into(),
            location: "Sales hall entrance".into(),
            kind,
            capacity: "4 kg".into(),
            manufactured: date(2020, 5, 1),
            last_inspection: Some(date(2026, 11, 3)),
            next_service: None,
            expiry: None,
        }
    }

    #[test]
    fn a_month_after_the_last_inspection_it_is_due_a_week_ahead_and_overdue_after() {
        let u = unit(ExtinguisherKind::DryPowder);
        let at = |d| status(&u, None, None, d).inspection;
        assert_eq!(
            status(&u, None, None, date(2026, 11, 20)).inspection_due,
            date(2026, 12, 3)
        );
        assert_eq!(at(date(2026, 11, 25)), Standing::Ok);
        assert_eq!(at(date(2026, 11, 26)), Standing::Due);
        assert_eq!(at(date(2026, 12, 3)), Standing::Due);
        assert_eq!(at(date(2026, 12, 4)), Standing::Overdue);
        // An inspection sitewarden recorded later than the register's counts.
        let later = status(&u, Some(date(2026, 12, 2)), None, date(2026, 12, 4));
        assert_eq!(
            (later.inspection_due, later.inspection),
            (date(2027, 1, 2), Standing::Ok)
        );
    }

    #[test]
    fn service_and_scrap_dates_follow_the_kind() {
        let today = date(2026, 12, 1);
        let powder = status(&unit(ExtinguisherKind::DryPowder), None, None, today);
        assert_eq!(
            powder.service_due,
            Some(date(2025, 5, 1)),
            "5 years after manufacture"
        );
        assert_eq!(powder.service, Standing::Overdue);
        assert_eq!(powder.expires, Some(date(2030, 5, 1)));
        assert_eq!(powder.replacement, Standing::Ok);
        // Serviced: next in 2 years.
        let serviced = status(
            &unit(ExtinguisherKind::DryPowder),
            None,
            Some(date(2025, 6, 10)),
            today,
        );
        assert_eq!(serviced.service_due, Some(date(2027, 6, 10)));
        assert_eq!(serviced.service, Standing::Ok);
        let water = status(&unit(ExtinguisherKind::WaterBased), None, None, today);
        assert_eq!(water.service_due, Some(date(2023, 5, 1)));
        assert_eq!(water.expires, Some(date(2026, 5, 1)), "6 years");
        assert_eq!(water.replacement, Standing::Overdue);
        let co2 = status(&unit(ExtinguisherKind::CarbonDioxide), None, None, today);
        assert_eq!(co2.expires, Some(date(2032, 5, 1)), "12 years");
        let reel = status(&unit(ExtinguisherKind::HoseReel), None, None, today);
        assert_eq!((reel.service_due, reel.expires), (None, None));
        assert_eq!(
            (reel.service, reel.replacement),
            (Standing::Ok, Standing::Ok)
        );
        // The label's own dates win over the kind's.
        let mut labelled = unit(ExtinguisherKind::DryPowder);
        labelled.next_service = Some(date(2027, 3, 1));
        labelled.expiry = Some(date(2026, 12, 20));
        let s = status(&labelled, None, None, today);
        assert_eq!(
            (s.service_due, s.service),
            (Some(date(2027, 3, 1)), Standing::Ok)
        );
        assert_eq!(s.replacement, Standing::Due, "within a month of scrapping");
    }

    #[test]
    fn never_inspected_is_due_today_and_items_name_their_unit() {
        let mut u = unit(ExtinguisherKind::DryPowder);
        u.last_inspection = None;
        let s = status(&u, None, None, date(2026, 12, 1));
        assert_eq!(
            (s.inspection_due, s.inspection),
            (date(2026, 12, 1), Standing::Due)
        );
        assert_eq!(
            unit_of("FE-01 · Sales hall · dry powder 4 kg · due 2026-12-01"),
            "FE-01"
        );
    }
}
