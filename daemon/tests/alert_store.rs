//! The alert store driven directly with a fixed clock: grouping, the
//! precedence of drills over silences over inhibition, escalation steps and
//! repeats, acknowledgement after the condition cleared, and the release of
//! muted alerts. No delivery loop runs: what the store decides and commits
//! is checked, at the instants it decides it.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use sitewarden::alerts::store::{AlertStore, Drill, Silence};
use sitewarden::alerts::{AlertChange, AlertInput, Raise};
use sitewarden::catalog::Catalog;
use sitewarden::vocab::{AlertClass, Severity};

const T0: &str = "2026-12-01T10:00:00Z";

/// A site with a two-step fire policy (1 min apart, repeating every 2 min),
/// a one-step intrusion policy, and fire muting held-open doors on `access-1`.
fn catalog(dir: &Path) -> Catalog {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    for p in ["fire-panel", "access-control"] {
        std::fs::copy(
            repo.join(format!("config/profiles/{p}.toml")),
            dir.join(format!("profiles/{p}.toml")),
        )
        .unwrap();
    }
    let packs: Vec<String> = ["fire", "security"]
        .iter()
        .map(|p| {
            format!(
                "{:?}",
                repo.join(format!("config/standards/{p}.toml"))
                    .display()
                    .to_string()
            )
        })
        .collect();
    let text = format!(
        r#"
[site]
id = "s"
name = "S"
time_zone = "UTC"

[rules]
packs = [{packs}]

[[people]]
id = "guard"
name = "Zhao Min"

[[people]]
id = "engineer"
name = "Chen Jing"

[alerts]
self_test_every = "0s"

[alerts.channels.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"

[alerts.policies.fire]
repeat = "2m"
steps = [
    {{ notify = ["guard"], channels = ["hook"], wait = "1m" }},
    {{ notify = ["engineer"], channels = ["hook"], wait = "1m" }},
]

[alerts.policies.default]
repeat = "5m"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "5m" }}]

[[alerts.inhibit]]
when = "fire"
mute = ["security.door_held_open"]
devices = ["access-1"]

[alerts.drill]
notify = ["engineer"]
channels = ["hook"]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "127.0.0.1:1502" }}

[[devices]]
id = "access-1"
profile = "access-control"
transport = {{ kind = "modbus-tcp", host = "127.0.0.1:1503" }}
"#,
        packs = packs.join(", ")
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, text).unwrap();
    sitewarden::config::load(&path).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    catalog: Catalog,
    store: AlertStore,
    t0: Timestamp,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let store = AlertStore::open(&dir.path().join("data"), "s".into(), None, None).unwrap();
    Fixture {
        _dir: dir,
        catalog,
        store,
        t0: T0.parse().unwrap(),
    }
}

impl Fixture {
    fn at(&self, seconds: u64) -> Timestamp {
        self.t0 + Duration::from_secs(seconds)
    }

    fn raise(
        &self,
        rule: &str,
        device: &str,
        point: &str,
        class: AlertClass,
        at: Timestamp,
    ) -> Vec<AlertChange> {
        let raise = Raise {
            key: format!("{rule}|{device}"),
            class,
            severity: Severity::Critical,
            rule: Some(rule.into()),
            device: Some(device.into()),
            location: None,
            title: format!("{rule} on {device}"),
            point: point.into(),
            zone: None,
            value: Some(1.0),
            at,
            ends_on_ack: false,
        };
        self.store
            .apply(&self.catalog, &[AlertInput::Raised(Box::new(raise))], at)
            .unwrap()
    }

    fn clear(&self, rule: &str, device: &str, point: &str, at: Timestamp) -> Vec<AlertChange> {
        let input = AlertInput::Cleared {
            key: format!("{rule}|{device}"),
            point: point.into(),
            at,
        };
        self.store.apply(&self.catalog, &[input], at).unwrap()
    }

    fn fire(&self, point: &str, at: Timestamp) -> Vec<AlertChange> {
        self.raise(
            "fire.fire_alarm",
            "fire-panel-1",
            point,
            AlertClass::Fire,
            at,
        )
    }

    fn door(&self, at: Timestamp) -> Vec<AlertChange> {
        self.raise(
            "security.door_held_open",
            "access-1",
            "door1_open",
            AlertClass::Intrusion,
            at,
        )
    }

    fn timeline(&self, id: i64) -> Vec<String> {
        self.store
            .get(id)
            .unwrap()
            .unwrap()
            .timeline
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

fn events(changes: &[AlertChange]) -> Vec<(i64, &str)> {
    changes
        .iter()
        .map(|c| (c.alert.id, c.event.as_str()))
        .collect()
}

#[test]
fn zones_of_one_panel_group_into_one_alert() {
    let f = fixture();
    let first = f.fire("zone1_alarm", f.at(0));
    let id = first[0].alert.id;
    assert_eq!(first[0].event.as_str(), "raised");
    let second = f.fire("zone2_alarm", f.at(5));
    assert_eq!(events(&second), vec![(id, "member_raised")]);
    assert_eq!(f.store.open_count().unwrap(), 1);
    // One zone clearing leaves the alert active; the last one clears it,
    // and a fire alarm nobody acknowledged stays open.
    assert_eq!(
        events(&f.clear("fire.fire_alarm", "fire-panel-1", "zone1_alarm", f.at(10))),
        vec![(id, "member_cleared")]
    );
    let last = f.clear("fire.fire_alarm", "fire-panel-1", "zone2_alarm", f.at(11));
    assert_eq!(events(&last), vec![(id, "cleared")]);
    assert!(!last[0].alert.active);
    assert_eq!(last[0].alert.status.as_str(), "open");
}

#[test]
fn escalation_steps_then_repeats_at_the_policy_times() {
    let f = fixture();
    let raised = f.fire("zone1_alarm", f.at(0));
    let id = raised[0].alert.id;
    assert_eq!(
        raised.last().unwrap().alert.step,
        1,
        "{:?}",
        events(&raised)
    );
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(59))
            .unwrap()
            .is_empty()
    );
    let second = f.store.escalate_due(&f.catalog, f.at(60)).unwrap();
    assert_eq!(
        second.last().unwrap().alert.step,
        2,
        "{:?}",
        events(&second)
    );
    assert!(second.iter().all(|c| c.alert.id == id));
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(119))
            .unwrap()
            .is_empty()
    );
    let repeat = f.store.escalate_due(&f.catalog, f.at(120)).unwrap();
    assert!(!repeat.is_empty(), "the last step is repeated a wait later");
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(239))
            .unwrap()
            .is_empty()
    );
    assert!(
        !f.store
            .escalate_due(&f.catalog, f.at(240))
            .unwrap()
            .is_empty(),
        "and every repeat after that"
    );
    // An acknowledgement stops it.
    f.store
        .acknowledge(&f.catalog, id, "chen.jing", None, f.at(241))
        .unwrap();
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(3600))
            .unwrap()
            .is_empty()
    );
}

/// After downtime (or a forward clock step) the schedule's missed repeats
/// are folded into one notification that says how many, not sent ten a
/// second; the next repeat keeps the schedule's phase.
#[test]
fn repeats_missed_while_down_go_out_as_one_and_the_schedule_resumes() {
    let f = fixture();
    let id = f.fire("zone1_alarm", f.at(0))[0].alert.id;
    f.store.escalate_due(&f.catalog, f.at(60)).unwrap();
    f.store.escalate_due(&f.catalog, f.at(120)).unwrap();
    // Down from 130 s to 870 s: repeats at 240, 360, …, 840 never went out.
    let back = f.store.escalate_due(&f.catalog, f.at(870)).unwrap();
    let repeated: Vec<_> = back
        .iter()
        .filter(|c| c.event.as_str() == "repeated")
        .collect();
    assert_eq!(repeated.len(), 1, "{:?}", events(&back));
    let alert = f.store.get(id).unwrap().unwrap();
    let last = alert
        .timeline
        .iter()
        .rev()
        .find(|e| e.kind == "notified")
        .unwrap();
    assert!(
        last.detail
            .as_deref()
            .unwrap_or_default()
            .contains("5 missed repeats folded in"),
        "{last:?}"
    );
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(959))
            .unwrap()
            .is_empty(),
        "nothing more before the schedule's next repeat"
    );
    assert!(
        !f.store
            .escalate_due(&f.catalog, f.at(960))
            .unwrap()
            .is_empty()
    );
}

/// Fault annunciation: a life-safety alert no channel confirmed within
/// `confirm_within` is found once (then marked); an acknowledged one, or
/// one that is not life safety, is not a delivery fault.
#[test]
fn a_life_safety_alert_nobody_confirmed_in_time_is_found_once() {
    let f = fixture();
    let within = Duration::from_secs(100);
    let fire = f.fire("zone1_alarm", f.at(0))[0].alert.id;
    f.door(f.at(0));
    assert!(
        f.store
            .undelivered_life_safety(f.at(99), within)
            .unwrap()
            .is_empty()
    );
    let found = f.store.undelivered_life_safety(f.at(100), within).unwrap();
    assert_eq!(
        found.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![fire]
    );
    f.store.mark_delivery_fault(fire, f.at(100)).unwrap();
    assert!(
        f.store
            .undelivered_life_safety(f.at(200), within)
            .unwrap()
            .is_empty(),
        "announced once"
    );
    // A second fire alarm that someone acknowledged is known to a person.
    let second = f.raise(
        "security.emergency_button",
        "access-1",
        "door2_emergency_button",
        AlertClass::EmergencyButton,
        f.at(300),
    )[0]
    .alert
    .id;
    f.store
        .acknowledge(&f.catalog, second, "chen.jing", None, f.at(301))
        .unwrap();
    assert!(
        f.store
            .undelivered_life_safety(f.at(900), within)
            .unwrap()
            .is_empty()
    );
}

/// A forged-tap storm: an alert nothing will clear resolves when someone
/// acknowledges it, and its members stop at the bound (the rest counted),
/// so its retained MQTT state stays small.
#[test]
fn an_event_alert_resolves_on_acknowledgement_and_its_members_are_bounded() {
    let f = fixture();
    let tap = |n: u64| Raise {
        key: "patrol-forged|lobby".into(),
        class: AlertClass::Intrusion,
        severity: Severity::Critical,
        rule: None,
        device: Some("lobby".into()),
        location: None,
        title: "Forged record at checkpoint lobby".into(),
        point: format!("tap-{n}"),
        zone: None,
        value: None,
        at: f.at(n),
        ends_on_ack: true,
    };
    let mut id = 0;
    for n in 0..60 {
        let changes = f
            .store
            .apply(&f.catalog, &[AlertInput::Raised(Box::new(tap(n)))], f.at(n))
            .unwrap();
        id = changes[0].alert.id;
    }
    assert_eq!(f.store.open_count().unwrap(), 1);
    let alert = f.store.get(id).unwrap().unwrap();
    assert_eq!(
        alert.alert.members.len() as i64,
        sitewarden::alerts::store::MAX_MEMBERS
    );
    assert_eq!(alert.alert.members_over, 10);
    let changes = f
        .store
        .acknowledge(&f.catalog, id, "zhao.min", None, f.at(70))
        .unwrap();
    let kinds: Vec<&str> = events(&changes)
        .into_iter()
        .filter(|(i, e)| *i == id && *e != "notified")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(kinds, vec!["acknowledged", "resolved"]);
}

#[test]
fn an_acknowledgement_after_the_condition_cleared_resolves_and_announces_both() {
    let f = fixture();
    let id = f.fire("zone1_alarm", f.at(0))[0].alert.id;
    f.clear("fire.fire_alarm", "fire-panel-1", "zone1_alarm", f.at(30));
    let changes = f
        .store
        .acknowledge(
            &f.catalog,
            id,
            "zhao.min",
            Some("false alarm, detector dusty"),
            f.at(40),
        )
        .unwrap();
    // The channels that were called hear who took it, then the alert is
    // acknowledged and resolved: both changes reach the sinks.
    assert_eq!(
        events(&changes),
        vec![(id, "notified"), (id, "acknowledged"), (id, "resolved")]
    );
    assert_eq!(changes[1].alert.status.as_str(), "resolved");
    assert_eq!(f.store.open_count().unwrap(), 0);
    // A second acknowledgement is refused, not recorded twice.
    assert!(
        f.store
            .acknowledge(&f.catalog, id, "chen.jing", None, f.at(50))
            .is_err()
    );
}

#[test]
fn a_drill_beats_a_silence_which_beats_inhibition() {
    let f = fixture();
    f.store
        .declare_drill(
            &Drill {
                id: 0,
                classes: vec![AlertClass::Fire],
                starts_at: f.at(0),
                ends_at: f.at(600),
                note: None,
                declared_by: "chen.jing".into(),
            },
            f.at(0),
        )
        .unwrap();
    let silence = Silence {
        id: 0,
        device: None,
        rule: None,
        starts_at: f.at(0),
        ends_at: f.at(600),
        reason: "panel service".into(),
        created_by: "chen.jing".into(),
        zones: Vec::new(),
        test: false,
    };
    f.store.add_silence(&silence, f.at(0)).unwrap();
    // Fire during the drill and the silence: a drill alert, not silenced.
    let fire = f.fire("zone1_alarm", f.at(10));
    let fire_alert = &fire[0].alert;
    assert!(fire_alert.drill, "{fire_alert:?}");
    assert_eq!(fire_alert.suppressed, None);
    assert!(f.timeline(fire_alert.id).contains(&"drill".to_owned()));
    // A door held open during the silence (drills cover fire only): silenced,
    // although a fire alert is open (a drill fire inhibits nothing).
    let door = f.door(f.at(20));
    let door_alert = &door[0].alert;
    assert!(!door_alert.drill);
    assert_eq!(door_alert.suppressed.as_deref(), Some("silenced"));
    // Nothing escalates: the drill coordinator was told once, the door is silent.
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(599))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_real_fire_mutes_the_held_open_door_and_releases_it_when_acknowledged_and_cleared() {
    let f = fixture();
    let door = f.door(f.at(0));
    let door_id = door[0].alert.id;
    assert_eq!(door[0].alert.suppressed, None);
    let fire = f.fire("zone1_alarm", f.at(10));
    let fire_id = fire[0].alert.id;
    assert!(
        events(&fire).contains(&(door_id, "muted")),
        "{:?}",
        events(&fire)
    );
    // The muted door does not escalate while the fire is on.
    let due = f.store.escalate_due(&f.catalog, f.at(400)).unwrap();
    assert!(
        due.iter().all(|c| c.alert.id == fire_id),
        "{:?}",
        events(&due)
    );
    // A door held open after the fire started is muted from the start.
    let other = f.raise(
        "security.door_held_open",
        "access-1",
        "door2_open",
        AlertClass::Intrusion,
        f.at(20),
    );
    assert_eq!(events(&other), vec![(door_id, "member_raised")]);
    // The fire is acknowledged and clears: the door, still held open, is released and escalates.
    f.store
        .acknowledge(&f.catalog, fire_id, "chen.jing", None, f.at(500))
        .unwrap();
    let cleared = f.clear("fire.fire_alarm", "fire-panel-1", "zone1_alarm", f.at(510));
    assert!(
        events(&cleared).contains(&(fire_id, "resolved"))
            && events(&cleared).contains(&(door_id, "unmuted")),
        "{:?}",
        events(&cleared)
    );
    let released = cleared
        .iter()
        .rev()
        .find(|c| c.alert.id == door_id)
        .unwrap();
    assert_eq!(released.alert.suppressed, None);
    assert_eq!(released.alert.step, 1);
}

#[test]
fn a_muted_alert_whose_condition_clears_resolves_and_is_not_released_later() {
    let f = fixture();
    let door_id = f.door(f.at(0))[0].alert.id;
    let fire_id = f.fire("zone1_alarm", f.at(10))[0].alert.id;
    let door_cleared = f.clear(
        "security.door_held_open",
        "access-1",
        "door1_open",
        f.at(20),
    );
    assert_eq!(events(&door_cleared), vec![(door_id, "resolved")]);
    f.store
        .acknowledge(&f.catalog, fire_id, "chen.jing", None, f.at(30))
        .unwrap();
    let cleared = f.clear("fire.fire_alarm", "fire-panel-1", "zone1_alarm", f.at(40));
    assert_eq!(events(&cleared), vec![(fire_id, "resolved")]);
    assert!(!f.timeline(door_id).contains(&"unmuted".to_owned()));
    assert_eq!(f.store.open_count().unwrap(), 0);
}

#[test]
fn a_silence_that_ends_releases_what_it_held() {
    let f = fixture();
    let silence = Silence {
        id: 0,
        device: Some("access-1".into()),
        rule: None,
        starts_at: f.at(0),
        ends_at: f.at(300),
        reason: "door contractor".into(),
        created_by: "chen.jing".into(),
        zones: Vec::new(),
        test: false,
    };
    f.store.add_silence(&silence, f.at(0)).unwrap();
    let door_id = f.door(f.at(10))[0].alert.id;
    assert!(f.store.maintain(&f.catalog, f.at(299)).unwrap().is_empty());
    let ended = f.store.maintain(&f.catalog, f.at(300)).unwrap();
    assert!(
        events(&ended).contains(&(door_id, "unsilenced")),
        "{:?}",
        events(&ended)
    );
    assert_eq!(ended.last().unwrap().alert.step, 1);
}

#[test]
fn resolved_alerts_past_their_retention_are_pruned_and_open_ones_kept() {
    let f = fixture();
    let old = f.fire("zone1_alarm", f.at(0))[0].alert.id;
    f.clear("fire.fire_alarm", "fire-panel-1", "zone1_alarm", f.at(30));
    f.store
        .acknowledge(&f.catalog, old, "zhao.min", None, f.at(40))
        .unwrap();
    let open = f.door(f.at(50))[0].alert.id;
    // Before the resolution: nothing goes.
    assert_eq!(f.store.prune_resolved(f.at(39)).unwrap(), 0);
    assert!(f.store.get(old).unwrap().is_some());
    // After it: the resolved alert and its timeline go, the open one stays.
    assert_eq!(f.store.prune_resolved(f.at(3600)).unwrap(), 1);
    assert!(f.store.get(old).unwrap().is_none());
    assert!(f.store.get(open).unwrap().is_some());
    assert_eq!(f.store.open_count().unwrap(), 1);
}

/// A `Raised` condition event of `rule` on `point`, as the rules stage
/// restores it at start.
fn restored(f: &Fixture, rule: &str, point: &str) -> sitewarden::rules::ConditionEvent {
    let (i, instance) = f
        .catalog
        .rule_instances
        .iter()
        .enumerate()
        .find(|(_, ri)| {
            f.catalog.rule(ri.rule).id == rule && f.catalog.point(ri.point).name == point
        })
        .unwrap();
    sitewarden::rules::ConditionEvent {
        instance: sitewarden::rules::InstanceId(i as u32),
        rule: instance.rule,
        device: instance.device,
        point: instance.point,
        transition: sitewarden::rules::Transition::Raised,
        state: sitewarden::rules::ConditionState::Active,
        value: Some(1.0),
        threshold: None,
        severity: Severity::Critical,
        at: f.at(0),
        raised_at: Some(f.at(0)),
    }
}

#[test]
fn at_start_the_store_is_brought_in_line_with_the_restored_conditions() {
    let f = fixture();
    // The door alert was stored; the fire alarm's commit was lost in a crash;
    // zone 2's clear was lost too.
    f.raise(
        "security.door_held_open",
        "access-1",
        "door1_held_open",
        AlertClass::Intrusion,
        f.at(0),
    );
    f.fire("zone2_alarm", f.at(0));
    let raised = [
        restored(&f, "security.door_held_open", "door1_held_open"),
        restored(&f, "fire.fire_alarm", "zone1_alarm"),
    ];
    let members = f.store.active_members().unwrap();
    let inputs = sitewarden::alerts::desk::reconcile(&f.catalog, &raised, &members);
    let described: Vec<String> = inputs
        .iter()
        .map(|i| match i {
            AlertInput::Raised(r) => format!("raise {} {}", r.key, r.point),
            AlertInput::Cleared { key, point, .. } => format!("clear {key} {point}"),
        })
        .collect();
    assert_eq!(
        described,
        vec![
            "raise fire.fire_alarm|fire-panel-1 zone1_alarm".to_owned(),
            "clear fire.fire_alarm|fire-panel-1 zone2_alarm".to_owned(),
        ],
        "the stored door alert is left alone"
    );
    // Applied, nothing more is missing.
    f.store.apply(&f.catalog, &inputs, f.at(10)).unwrap();
    let members = f.store.active_members().unwrap();
    assert!(sitewarden::alerts::desk::reconcile(&f.catalog, &raised, &members).is_empty());
}

#[test]
fn a_deadline_stored_under_a_clock_that_was_ahead_is_brought_back_at_start() {
    let f = fixture();
    // Raised while the clock was an hour ahead: the next step was stored
    // for an hour and a minute from the real now.
    let ahead = f.at(3600);
    f.fire("zone1_alarm", ahead);
    let longest = f.catalog.alerts.longest_wait();
    assert_eq!(
        longest,
        Duration::from_secs(300),
        "the intrusion policy's wait"
    );
    assert_eq!(f.store.cap_deadlines(f.at(0), longest).unwrap(), 1);
    assert!(
        f.store
            .escalate_due(&f.catalog, f.at(299))
            .unwrap()
            .is_empty()
    );
    assert!(
        !f.store
            .escalate_due(&f.catalog, f.at(300))
            .unwrap()
            .is_empty(),
        "the next step comes within the longest wait, not an hour late"
    );
    assert_eq!(f.store.cap_deadlines(f.at(300), longest).unwrap(), 0);
}

#[test]
fn an_acknowledgement_link_works_once_unless_its_acknowledgement_failed() {
    let f = fixture();
    assert!(f.store.take_ack_link("mac-1", 7, f.at(0)).unwrap());
    assert!(
        !f.store.take_ack_link("mac-1", 7, f.at(1)).unwrap(),
        "used twice"
    );
    // The acknowledgement it was taken for failed: the person may press again.
    f.store.release_ack_link("mac-1").unwrap();
    assert!(f.store.take_ack_link("mac-1", 7, f.at(2)).unwrap());
    assert!(f.store.take_ack_link("mac-2", 7, f.at(2)).unwrap());
}
