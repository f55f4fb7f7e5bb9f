//! The repair process beyond its main line, against the store with a fixed
//! clock: on hold, cancelled, the return visit, requests that come back.

use super::*;
use sitewarden_model::vocab::{Category, Priority};

fn store(dir: &Path) -> TicketStore {
    let outlets = Outlets {
        site: "s".into(),
        topics: None,
        webhook: false,
        messages: std::sync::Arc::new(sitewarden_model::locale::Messages::english()),
    };
    TicketStore::open(dir, outlets).unwrap()
}

fn at(minutes: i64) -> Timestamp {
    let t0: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
    t0 + jiff::SignedDuration::from_mins(minutes)
}

/// A condition's ticket registered at minute 0: respond within 60 min,
/// resolve within 240.
fn ticket(key: &str) -> NewTicket {
    NewTicket {
        origin: Origin::Condition,
        category: Category::Repair,
        priority: Priority::P2,
        title: "Lift door sticks".into(),
        description: None,
        device: Some("lift-1".into()),
        location: None,
        rule: Some("lifts.lift_fault".into()),
        point: None,
        value: None,
        threshold: None,
        severity: None,
        requester: None,
        contact: None,
        dedup_key: Some(key.into()),
        form: None,
        at: at(0),
        response_due: at(60),
        resolution_due: at(240),
    }
}

fn step(store: &TicketStore, id: i64, action: Action, note: Option<&str>, minute: i64) -> Ticket {
    let request = TransitionRequest {
        action,
        actor: "desk".into(),
        assignee: (action == Action::Dispatch).then(|| "li.wei".to_owned()),
        note: note.map(str::to_owned),
        score: None,
    };
    store.transition(id, &request, at(minute)).unwrap().ticket
}

#[test]
fn on_hold_the_service_level_clock_stands_still_and_resume_goes_back_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let id = store
        .create(&ticket("k1"), "desk", at(0))
        .unwrap()
        .ticket
        .id;
    step(&store, id, Action::Dispatch, None, 10);
    let held = step(
        &store,
        id,
        Action::Hold,
        Some("waiting for the door motor"),
        20,
    );
    assert_eq!(held.status, Status::OnHold);
    assert_eq!(held.held_since, Some(at(20)));
    assert_eq!(
        held.hold_reason.as_deref(),
        Some("waiting for the door motor")
    );
    // Past both targets while held: nothing is flagged, nothing is due.
    assert!(store.flag_breaches(at(300)).unwrap().is_empty());
    assert_eq!(store.next_breach_at().unwrap(), None);
    // Resumed after 280 minutes: back to dispatched, both targets 280 min later.
    let resumed = step(&store, id, Action::Resume, None, 300);
    assert_eq!(resumed.status, Status::Dispatched);
    assert_eq!(resumed.response_due, at(60 + 280));
    assert_eq!(resumed.resolution_due, at(240 + 280));
    assert_eq!((resumed.held_since, resumed.hold_reason), (None, None));
    assert_eq!(store.next_breach_at().unwrap(), Some(at(340)));
    // The clock runs again: past the moved target, the response is late.
    assert_eq!(store.flag_breaches(at(341)).unwrap().len(), 1);
}

#[test]
fn hold_and_cancel_need_a_reason_and_a_cancelled_ticket_frees_its_condition() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let id = store
        .create(&ticket("k2"), "desk", at(0))
        .unwrap()
        .ticket
        .id;
    for action in [Action::Hold, Action::Cancel] {
        let request = TransitionRequest {
            action,
            actor: "desk".into(),
            assignee: None,
            note: Some("  ".into()),
            score: None,
        };
        assert!(
            matches!(
                store.transition(id, &request, at(1)),
                Err(TicketError::Invalid(_))
            ),
            "{action:?} without a reason"
        );
    }
    let cancelled = step(&store, id, Action::Cancel, Some("duplicate of #1"), 5);
    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(cancelled.cancelled_at, Some(at(5)));
    assert!(!cancelled.status.is_open());
    // The same condition raised again opens a new ticket.
    let again = store.create(&ticket("k2"), "desk", at(6)).unwrap().ticket;
    assert_ne!(again.id, id);
    // Nothing moves a cancelled ticket.
    let request = TransitionRequest {
        action: Action::Resume,
        actor: "desk".into(),
        assignee: None,
        note: None,
        score: None,
    };
    assert!(matches!(
        store.transition(id, &request, at(7)),
        Err(TicketError::Illegal { .. })
    ));
}

#[test]
fn an_accepted_repair_gets_a_return_visit_scored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        store(dir.path()).with_return_visits_after(std::time::Duration::from_secs(3 * 86_400));
    let id = store
        .create(&ticket("k3"), "desk", at(0))
        .unwrap()
        .ticket
        .id;
    step(&store, id, Action::Dispatch, None, 1);
    step(&store, id, Action::Start, None, 2);
    step(&store, id, Action::Resolve, None, 3);
    let accepted = step(&store, id, Action::Accept, None, 4);
    assert_eq!(accepted.visit_due, Some(at(4 + 3 * 24 * 60)));
    let visit = |score: Option<u8>, note: Option<&str>| TransitionRequest {
        action: Action::Visit,
        actor: "desk".into(),
        assignee: None,
        note: note.map(str::to_owned),
        score,
    };
    for (score, note) in [
        (None, Some("fine")),
        (Some(0), Some("fine")),
        (Some(6), Some("fine")),
        (Some(4), None),
    ] {
        assert!(
            matches!(
                store.transition(id, &visit(score, note), at(5)),
                Err(TicketError::Invalid(_))
            ),
            "{score:?} {note:?}"
        );
    }
    let visited = store
        .transition(id, &visit(Some(2), Some("still drips a little")), at(5000))
        .unwrap()
        .ticket;
    assert_eq!(visited.status, Status::Accepted);
    assert_eq!(visited.visited_at, Some(at(5000)));
    assert_eq!(visited.satisfaction, Some(2));
    assert!(
        matches!(
            store.transition(id, &visit(Some(5), Some("again")), at(5001)),
            Err(TicketError::Invalid(_))
        ),
        "one visit per repair"
    );
}

#[test]
fn a_place_whose_people_ask_for_the_same_repair_twice_recurs_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let request = |location: &str, category: Category| NewTicket {
        origin: Origin::Manual,
        category,
        device: None,
        location: Some(location.into()),
        rule: None,
        dedup_key: None,
        requester: Some("Ms Wu".into()),
        contact: Some("+86 138 0000 0009".into()),
        ..ticket("unused")
    };
    for (minute, location, category) in [
        (0, "Show flat 2, bathroom", Category::Repair),
        (60, " show flat 2, Bathroom ", Category::Repair),
        (120, "Show flat 2, bathroom", Category::Inquiry),
        (180, "Lobby", Category::Repair),
    ] {
        store
            .create(&request(location, category), "desk", at(minute))
            .unwrap();
    }
    let tz = jiff::tz::TimeZone::UTC;
    let bounds = crate::report::month_bounds("2026-03", &tz).unwrap();
    let tickets = store.registered_between(bounds.0, bounds.1).unwrap();
    let report = crate::report::month_report("2026-03", &tz, bounds, &tickets);
    assert_eq!(
        report.recurring_requests,
        [crate::report::RecurringRequest {
            place: "Show flat 2, bathroom".into(),
            category: "repair".into(),
            requests: 2,
        }]
    );
}
