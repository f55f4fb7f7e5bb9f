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

/// Ticket `id` taken from registration to resolved at minute 30.
fn resolve(store: &TicketStore, id: i64) {
    step(store, id, Action::Dispatch, None, 5);
    step(store, id, Action::Start, None, 10);
    step(store, id, Action::Resolve, Some("fixed"), 30);
}

#[test]
fn a_repair_nobody_accepts_reminds_once_then_is_accepted_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).with_acceptance_wait(AcceptanceWait {
        remind_after: Some(std::time::Duration::from_secs(60 * 60)),
        accept_after: Some(std::time::Duration::from_secs(3 * 60 * 60)),
    });
    let id = store.create(&ticket("k"), "desk", at(0)).unwrap().ticket.id;
    resolve(&store, id);
    let due = |s: &TicketStore| s.next_breach_at().unwrap();
    assert_eq!(
        due(&store),
        Some(at(90)),
        "the reminder is the next deadline"
    );
    assert!(store.chase_acceptance(at(89)).unwrap().is_empty());
    let reminded = store.chase_acceptance(at(91)).unwrap();
    assert_eq!(reminded.len(), 1);
    assert_eq!(reminded[0].change, Change::AcceptanceOverdue);
    assert_eq!(reminded[0].ticket.acceptance_reminded_at, Some(at(91)));
    assert!(store.chase_acceptance(at(120)).unwrap().is_empty(), "once");
    assert_eq!(due(&store), Some(at(210)), "then the default acceptance");
    let accepted = store.chase_acceptance(at(211)).unwrap();
    assert_eq!(accepted.len(), 1);
    let t = &accepted[0].ticket;
    assert_eq!(t.status, Status::Accepted);
    assert_eq!(t.accepted_via, Some(AcceptedVia::Default));
    assert_eq!(t.accepted_at, Some(at(211)));
    let history = store.get(id).unwrap().unwrap().history;
    let last = history.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("sitewarden", "accept")
    );
    assert!(
        last.note
            .as_deref()
            .unwrap()
            .contains("accepted by default")
    );
    assert_eq!(due(&store), None, "nothing left to chase");
}

#[test]
fn a_link_answers_once_and_only_for_the_round_it_was_sent_for() {
    use crate::accept_link::AcceptGrant;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let id = store.create(&ticket("k"), "desk", at(0)).unwrap().ticket.id;
    resolve(&store, id);
    let grant = |round: i64, mac: &str| AcceptGrant {
        ticket: id,
        round,
        expires: at(10_000),
        id: mac.into(),
    };
    let reject = LinkAnswer {
        accept: false,
        note: Some("still dripping".into()),
        score: Some(2),
    };
    let sent_back = store
        .answer_by_link(&grant(0, "aa"), &reject, at(40))
        .unwrap();
    assert_eq!(sent_back.ticket.status, Status::InProgress);
    assert_eq!(
        sent_back.ticket.satisfaction, None,
        "a score comes with an acceptance only"
    );
    assert!(matches!(
        store.answer_by_link(&grant(0, "aa"), &reject, at(41)),
        Err(LinkAnswerError::Used)
    ));
    step(&store, id, Action::Resolve, Some("cartridge"), 50);
    let accept = LinkAnswer {
        accept: true,
        note: None,
        score: Some(4),
    };
    assert!(
        matches!(
            store.answer_by_link(&grant(0, "bb"), &accept, at(60)),
            Err(LinkAnswerError::NotWaiting)
        ),
        "a link of the round before the rework"
    );
    let no_note = LinkAnswer {
        accept: false,
        note: None,
        score: None,
    };
    assert!(matches!(
        store.answer_by_link(&grant(1, "cc"), &no_note, at(60)),
        Err(LinkAnswerError::Ticket(TicketError::Invalid(_)))
    ));
    // The refused answer used nothing up.
    let accepted = store
        .answer_by_link(&grant(1, "cc"), &accept, at(61))
        .unwrap();
    let t = accepted.ticket;
    assert_eq!(
        (t.status, t.accepted_via, t.satisfaction, t.reworks),
        (Status::Accepted, Some(AcceptedVia::Link), Some(4), 1)
    );
}

#[test]
fn a_failed_check_opens_one_linked_repair_and_an_unfinished_checklist_cannot_be_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut daily = ticket("preventive:lift-daily");
    daily.origin = Origin::Preventive;
    daily.title = "Daily lift check".into();
    let labels = ["Brakes", "Door locks", "Alarm bell"].map(String::from);
    let id = store
        .open_preventive("lift-daily", &daily, &labels)
        .unwrap()
        .unwrap()
        .ticket
        .id;
    step(&store, id, Action::Dispatch, None, 5);
    step(&store, id, Action::Start, None, 10);
    let entry = |item: i64, result: CheckResult, note: Option<&str>| CheckEntry {
        item,
        result,
        value: None,
        note: note.map(str::to_owned),
        actor: "li.wei".into(),
    };
    store
        .check(id, &entry(0, CheckResult::Pass, None), at(11))
        .unwrap();
    let refused = store.check(id, &entry(1, CheckResult::Fail, None), at(12));
    assert!(
        matches!(refused, Err(TicketError::Invalid(_))),
        "a failure needs a note"
    );
    let changes = store
        .check(
            id,
            &entry(1, CheckResult::Fail, Some("rear lock does not engage")),
            at(12),
        )
        .unwrap();
    assert_eq!(changes.len(), 2, "the check and the repair it opens");
    let repair = &changes[1].ticket;
    assert_eq!(repair.parent, Some(id));
    assert_eq!(repair.title, "Door locks failed in: Daily lift check");
    assert_eq!(
        repair.description.as_deref(),
        Some("rear lock does not engage")
    );
    assert_eq!(
        (repair.device.as_deref(), repair.priority),
        (Some("lift-1"), Priority::P2)
    );
    assert_eq!(
        repair.response_due,
        at(12 + 60),
        "the same targets from now"
    );
    // Recorded again (a second look), it opens nothing more.
    let again = store
        .check(id, &entry(1, CheckResult::Fail, Some("still")), at(13))
        .unwrap();
    assert_eq!(again.len(), 1);
    let request = TransitionRequest {
        action: Action::Resolve,
        actor: "li.wei".into(),
        assignee: None,
        note: None,
        score: None,
    };
    match store.transition(id, &request, at(14)) {
        Err(TicketError::Invalid(why)) => assert!(why.contains("Alarm bell"), "{why}"),
        other => panic!("resolved with an item open: {other:?}"),
    }
    assert!(matches!(
        store.check(id, &entry(7, CheckResult::Pass, None), at(15)),
        Err(TicketError::Invalid(_))
    ));
    store
        .check(id, &entry(2, CheckResult::Pass, None), at(15))
        .unwrap();
    store.transition(id, &request, at(16)).unwrap();
    let detail = store.get(id).unwrap().unwrap();
    let results: Vec<_> = detail.checklist.iter().map(|c| c.result).collect();
    assert_eq!(
        results,
        [
            Some(CheckResult::Pass),
            Some(CheckResult::Fail),
            Some(CheckResult::Pass)
        ]
    );
    assert_eq!(detail.checklist[1].opened, Some(repair.id));
    assert!(
        store
            .check(id, &entry(0, CheckResult::Pass, None), at(17))
            .is_err(),
        "resolved"
    );
}
