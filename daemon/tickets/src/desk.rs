//! The ticket desk: the stage that turns raised conditions into tickets,
//! watches service levels and opens preventive tickets when they fall due.
//!
//! Condition events are taken in batches (everything waiting, up to
//! [`MAX_BATCH`]) and committed in one transaction each, so a burst of a
//! thousand repeats costs a few commits, not a thousand.

use sitewarden_runtime::clock;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::store::{ConditionInput, NewTicket};
use super::{Origin, TicketsHandle};
use sitewarden_model::catalog::{Catalog, Device, Point, PreventiveSchedule, Rule};
use sitewarden_model::locale::Arg;
use sitewarden_model::vocab::RuleAction;
use sitewarden_rules::{ConditionEvent, Transition};

/// Most condition events committed in one transaction.
pub const MAX_BATCH: usize = 512;
/// Longest sleep before service-level targets are looked at again (the
/// desk otherwise sleeps until the next target falls due): bounds how late
/// a breach is flagged after a clock step or a store error.
pub const SERVICE_LEVEL_LOOK_EVERY: Duration = Duration::from_secs(60);
/// How often preventive schedules are checked.
pub const PREVENTIVE_CHECK: Duration = Duration::from_secs(30);

/// Runs until the condition bus closes (the rules stage stopped).
pub async fn run(handle: TicketsHandle, mut conditions: mpsc::Receiver<ConditionEvent>) {
    let mut next_breach = handle.next_breach_at().await;
    let mut preventive = tokio::time::interval(PREVENTIVE_CHECK);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            received = conditions.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    break;
                }
                let inputs: Vec<ConditionInput> = batch
                    .drain(..)
                    .filter_map(|e| condition_input(&handle.catalog, &e))
                    .collect();
                commit_conditions(&handle, inputs).await;
            }
            () = tokio::time::sleep(until(next_breach)) => {
                if let Err(e) = handle.check_service_levels().await {
                    warn!(error = %e, "cannot check ticket service levels");
                }
                next_breach = handle.next_breach_at().await;
            }
            () = handle.changed() => next_breach = handle.next_breach_at().await,
            _ = preventive.tick() => {
                run_preventive(&handle, clock::now()).await;
                super::extinguishers::run_inventory(&handle, clock::now()).await;
            }
        }
    }
}

/// How long to sleep until a service-level target falls due: just past it
/// (a target is missed once the time is past it), at most
/// [`SERVICE_LEVEL_LOOK_EVERY`].
fn until(due: Option<Timestamp>) -> Duration {
    let Some(due) = due else {
        return SERVICE_LEVEL_LOOK_EVERY;
    };
    let left = due.duration_since(clock::now());
    if left.is_negative() {
        return Duration::ZERO;
    }
    (left.unsigned_abs() + Duration::from_millis(1)).min(SERVICE_LEVEL_LOOK_EVERY)
}

/// Commits condition inputs, retrying a failed commit a few times before
/// giving the batch up (the conditions themselves stay in the rules store).
async fn commit_conditions(handle: &TicketsHandle, inputs: Vec<ConditionInput>) {
    if inputs.is_empty() {
        return;
    }
    for attempt in 1..=3 {
        match handle.apply_conditions(inputs.clone()).await {
            Ok(()) => return,
            Err(e) if attempt < 3 => {
                warn!(error = %e, attempt, "cannot commit tickets for conditions; retrying");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => {
                error!(error = %e, conditions = inputs.len(), "giving up on tickets for these conditions")
            }
        }
    }
}

/// What a condition event means for tickets, if anything.
pub fn condition_input(catalog: &Catalog, e: &ConditionEvent) -> Option<ConditionInput> {
    let rule = catalog.rule(e.rule);
    if !matches!(rule.action, RuleAction::Ticket | RuleAction::Both) {
        return None;
    }
    let device = catalog.device(e.device);
    let point = catalog.point(e.point);
    let dedup_key = format!("condition:{}:{}:{}", rule.id, device.name, point.name);
    match e.transition {
        Transition::Raised => {
            let priority = catalog.tickets.priority(e.severity, device.impact);
            let level = catalog.tickets.level(priority);
            Some(ConditionInput::Raised(Box::new(NewTicket {
                origin: Origin::Condition,
                category: rule.category,
                priority,
                title: catalog.site.messages.text(
                    "ticket-title",
                    &[
                        ("device", Arg::Text(&device.display_name)),
                        ("rule", Arg::Text(&rule.description)),
                    ],
                ),
                description: Some(condition_description(catalog, (device, point, rule), e)),
                device: Some(device.name.clone()),
                location: device.location.clone(),
                rule: Some(rule.id.clone()),
                point: Some(point.name.clone()),
                value: e.value,
                threshold: e.threshold,
                severity: Some(e.severity),
                requester: None,
                contact: None,
                dedup_key: Some(dedup_key),
                form: None,
                at: e.at,
                response_due: e.at + level.response,
                resolution_due: e.at + level.resolution,
            })))
        }
        Transition::Cleared => Some(ConditionInput::Cleared {
            dedup_key,
            at: e.at,
            value: e.value,
        }),
        _ => None,
    }
}

/// What a technician reads on a condition's ticket, in the site's
/// language: where, since when (site-local), the reading, what to do.
fn condition_description(
    catalog: &Catalog,
    (device, point, rule): (&Device, &Point, &Rule),
    e: &ConditionEvent,
) -> String {
    let m = &catalog.site.messages;
    let zones: Vec<&str> = point.zone.as_deref().into_iter().collect();
    let place = m.place(&device.display_name, device.location.as_deref(), &zones);
    let mut sentences = vec![
        m.text("ticket-where", &[("place", Arg::Text(&place))]),
        m.text("ticket-raised", &[("raised", Arg::Time(e.at))]),
    ];
    match (e.value, e.threshold) {
        (Some(value), Some(threshold)) => sentences.push(m.text(
            "ticket-reading-against",
            &[
                ("value", Arg::Decimal(value)),
                ("threshold", Arg::Decimal(threshold)),
            ],
        )),
        (Some(value), None) => {
            sentences.push(m.text("ticket-reading", &[("value", Arg::Decimal(value))]))
        }
        _ => {}
    }
    if let Some(advice) = &rule.advice {
        sentences.push(m.text("ticket-advice", &[("advice", Arg::Text(advice))]));
    }
    m.sentences(&sentences)
}

/// Opens the tickets of preventive schedules that fell due by `now`.
/// A schedule seen for the first time starts counting from `now`.
pub async fn run_preventive(handle: &TicketsHandle, now: Timestamp) {
    let tz = &handle.catalog.site.hours.time_zone;
    for (index, schedule) in handle.catalog.tickets.preventive.iter().enumerate() {
        let store = handle.store.clone();
        let id = schedule.id.clone();
        let last = tokio::task::spawn_blocking(move || store.preventive_last(&id)).await;
        let last = match last {
            Ok(Ok(Some(last))) => last,
            Ok(Ok(None)) => {
                let store = handle.store.clone();
                let id = schedule.id.clone();
                let started =
                    tokio::task::spawn_blocking(move || store.preventive_start(&id, now)).await;
                if let Ok(Err(e)) = started {
                    warn!(schedule = %schedule.id, error = %e, "cannot start a preventive schedule");
                }
                continue;
            }
            Ok(Err(e)) => {
                warn!(schedule = %schedule.id, error = %e, "cannot read a preventive schedule");
                continue;
            }
            Err(_) => return,
        };
        let Some(due) = super::preventive::latest_due(schedule.rule, schedule.at, tz, last, now)
        else {
            continue;
        };
        let ticket = preventive_ticket(&handle.catalog, schedule, due);
        if let Err(e) = handle.open_preventive(index, ticket).await {
            warn!(schedule = %schedule.id, error = %e, "cannot open a preventive ticket");
        }
    }
}

fn preventive_ticket(catalog: &Catalog, s: &PreventiveSchedule, due: Timestamp) -> NewTicket {
    let device = s.device.map(|d| catalog.device(d));
    let level = catalog.tickets.level(s.priority);
    let targets = (due + level.response, due + level.resolution);
    NewTicket {
        description: Some(catalog.site.messages.text(
            "ticket-preventive",
            &[("schedule", Arg::Text(&s.id)), ("due", Arg::Time(due))],
        )),
        device: device.map(|d| d.name.clone()),
        location: device.and_then(|d| d.location.clone()),
        dedup_key: Some(format!("preventive:{}", s.id)),
        ..NewTicket::work(
            Origin::Preventive,
            s.priority,
            s.title.clone(),
            due,
            targets,
        )
    }
}
