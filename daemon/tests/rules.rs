//! The rule engine, table by table: every rule kind at its edges, delays
//! interrupted, bad data, and a property test that no input makes a
//! condition flap faster than its delays allow.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use sitewarden::catalog::{Catalog, DeviceId, PointId, RuleId};
use sitewarden::readings::{BadReason, DeviceState, Quality, Reading, Value};
use sitewarden::rules::engine::Engine;
use sitewarden::rules::{ConditionEvent, ConditionState, Transition};

/// A site with one device whose points carry the given roles, and one pack.
fn catalog(points: &[(&str, &str, &str)], rules: &str, hours: &str) -> Arc<Catalog> {
    let dir = tempfile::tempdir().unwrap();
    let mut site = format!(
        "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n{hours}\n[rules]\npacks = [\"pack.toml\"]\n\n[[devices]]\nid = \"d\"\ntransport = {{ kind = \"modbus-tcp\", host = \"127.0.0.1:502\" }}\n"
    );
    for (i, (name, role, data_type)) in points.iter().enumerate() {
        site.push_str(&format!(
            "\n[[devices.points]]\nname = \"{name}\"\nrole = \"{role}\"\nkind = \"holding\"\naddress = {}\ntype = \"{data_type}\"\n",
            i * 4
        ));
    }
    std::fs::write(dir.path().join("site.toml"), site).unwrap();
    std::fs::write(
        dir.path().join("pack.toml"),
        format!("pack = \"t\"\n{rules}"),
    )
    .unwrap();
    match sitewarden::config::load(&dir.path().join("site.toml")) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("{e}"),
    }
}

const T0: i64 = 1_800_000_000; // a Friday, 2027-01-15 08:00 UTC

fn at(seconds: f64) -> Timestamp {
    Timestamp::from_second(T0).unwrap() + SignedDuration::from_secs_f64(seconds)
}

struct Run {
    engine: Engine,
    events: Vec<ConditionEvent>,
}

impl Run {
    fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            engine: Engine::new(catalog, at(0.0)),
            events: Vec::new(),
        }
    }

    fn feed(&mut self, point: u32, t: f64, value: f64) -> Vec<Transition> {
        self.reading(point, t, Some(Value::Number(value)), Quality::Good)
    }

    fn reading(
        &mut self,
        point: u32,
        t: f64,
        value: Option<Value>,
        quality: Quality,
    ) -> Vec<Transition> {
        let r = Reading {
            point: PointId(point),
            device: DeviceId(0),
            value,
            quality,
            at: at(t),
        };
        let before = self.events.len();
        self.engine.on_reading(&r, &mut self.events);
        self.events[before..].iter().map(|e| e.transition).collect()
    }

    fn tick(&mut self, t: f64) -> Vec<Transition> {
        let before = self.events.len();
        self.engine.on_tick(at(t), &mut self.events);
        self.events[before..].iter().map(|e| e.transition).collect()
    }

    fn state(&self) -> ConditionState {
        self.engine.slots()[0].state
    }
}

use Transition::{Cleared, Clearing, ClearingCancelled, Pending, PendingCancelled, Raised};

const FILTER: &str = "[[rule]]\nid = \"filter\"\ndescription = \"clogged\"\nkind = \"limit\"\nrole = \"filter_dp\"\nlevel = \"high\"\nthreshold = 250.0\ndeadband = 20.0\nseverity = \"major\"\naction = \"ticket\"\n";

fn filter(extra: &str) -> Run {
    Run::new(catalog(
        &[("dp", "filter_dp", "u16")],
        &format!("{FILTER}{extra}"),
        "",
    ))
}

#[test]
fn limit_high_raises_above_not_at_the_threshold_and_clears_below_the_deadband() {
    let mut r = filter("");
    let table: [(f64, &[Transition]); 7] = [
        (200.0, &[]),
        (250.0, &[]),       // exactly at the threshold: not above it
        (250.1, &[Raised]), // above
        (240.0, &[]),       // inside the deadband: stays raised
        (230.0, &[]),       // at the clear point: not below it
        (229.9, &[Cleared]),
        (249.0, &[]), // inside the deadband from below: stays clear
    ];
    for (i, (value, expected)) in table.iter().enumerate() {
        assert_eq!(r.feed(0, i as f64, *value), *expected, "value {value}");
    }
}

#[test]
fn limit_low_mirrors_high() {
    let rule = "[[rule]]\nid = \"p\"\ndescription = \"low\"\nkind = \"limit\"\nrole = \"sprinkler_pressure\"\nlevel = \"low\"\nthreshold = 4.0\ndeadband = 0.5\nseverity = \"major\"\naction = \"alert\"\n";
    let mut r = Run::new(catalog(&[("p", "sprinkler_pressure", "f32")], rule, ""));
    assert_eq!(r.feed(0, 0.0, 4.0), []);
    assert_eq!(r.feed(0, 1.0, 3.9), [Raised]);
    assert_eq!(r.feed(0, 2.0, 4.5), []);
    assert_eq!(r.feed(0, 3.0, 4.6), [Cleared]);
}

#[test]
fn on_delay_raises_only_if_the_condition_holds_throughout() {
    let mut r = filter("on_delay = \"10m\"\noff_delay = \"2m\"\n");
    assert_eq!(r.feed(0, 0.0, 300.0), [Pending]);
    assert_eq!(r.feed(0, 300.0, 300.0), []);
    // Interrupted at 9 minutes: cancelled, nothing raised.
    assert_eq!(r.feed(0, 540.0, 200.0), [PendingCancelled]);
    assert_eq!(r.feed(0, 600.0, 300.0), [Pending]);
    assert_eq!(r.tick(1199.0), []);
    assert_eq!(r.tick(1200.0), [Raised]);
    // Clearing interrupted, then completed.
    assert_eq!(r.feed(0, 1300.0, 100.0), [Clearing]);
    assert_eq!(r.feed(0, 1360.0, 300.0), [ClearingCancelled]);
    assert_eq!(r.feed(0, 1400.0, 100.0), [Clearing]);
    assert_eq!(r.feed(0, 1519.0, 100.0), []);
    assert_eq!(r.feed(0, 1520.0, 100.0), [Cleared]);
}

#[test]
fn bad_readings_never_raise_cancel_pending_and_hold_active() {
    let mut r = filter("on_delay = \"1m\"\n");
    assert_eq!(r.feed(0, 0.0, 300.0), [Pending]);
    assert_eq!(
        r.reading(0, 30.0, None, Quality::Bad(BadReason::Timeout)),
        [PendingCancelled]
    );
    assert_eq!(r.tick(120.0), []);
    assert_eq!(r.feed(0, 130.0, 300.0), [Pending]);
    assert_eq!(r.tick(190.0), [Raised]);
    assert_eq!(
        r.reading(0, 200.0, None, Quality::Bad(BadReason::Exception(4))),
        []
    );
    assert_eq!(r.state(), ConditionState::Active);
    // NaN from a sensor is bad data, not a value below the clear point.
    assert_eq!(
        r.reading(0, 210.0, Some(Value::Number(f64::NAN)), Quality::Good),
        []
    );
    assert_eq!(r.state(), ConditionState::Active);
}

#[test]
fn state_equals_and_differs() {
    let rules = "[[rule]]\nid = \"fault\"\ndescription = \"f\"\nkind = \"state\"\nrole = \"fan_fault\"\nequals = true\nseverity = \"major\"\naction = \"ticket\"\n\
                 [[rule]]\nid = \"ctl\"\ndescription = \"c\"\nkind = \"state\"\nrole = \"controller_online\"\ndiffers = true\nseverity = \"major\"\naction = \"ticket\"\n";
    let c = catalog(
        &[
            ("fault", "fan_fault", "bool"),
            ("online", "controller_online", "bool"),
        ],
        rules,
        "",
    );
    let mut r = Run::new(c);
    let b = |v| Some(Value::Bool(v));
    assert_eq!(r.reading(0, 0.0, b(false), Quality::Good), []);
    assert_eq!(r.reading(0, 1.0, b(true), Quality::Good), [Raised]);
    assert_eq!(r.reading(0, 2.0, b(false), Quality::Good), [Cleared]);
    assert_eq!(r.reading(1, 3.0, b(true), Quality::Good), []);
    assert_eq!(r.reading(1, 4.0, b(false), Quality::Good), [Raised]);
}

#[test]
fn rate_of_rise_over_a_window() {
    let rule = "[[rule]]\nid = \"rise\"\ndescription = \"r\"\nkind = \"rate\"\nrole = \"supply_air_temp\"\nrise_per_minute = 0.5\nwindow = \"5m\"\nseverity = \"minor\"\naction = \"record\"\n";
    let mut r = Run::new(catalog(&[("t", "supply_air_temp", "i16")], rule, ""));
    // 0.2 °C per minute for 10 minutes: never.
    for s in 0..=600 {
        assert_eq!(
            r.feed(0, s as f64, 16.0 + 0.2 * s as f64 / 60.0),
            [],
            "slow rise at {s} s"
        );
    }
    // Then 1 °C per minute: raised once the window sees it.
    let mut raised_at = None;
    for s in 601..=1200 {
        if r.feed(0, s as f64, 18.0 + (s - 600) as f64 / 60.0) == [Raised] {
            raised_at.get_or_insert(s);
        }
    }
    let raised_at = raised_at.expect("fast rise never raised");
    assert!((601..=900).contains(&raised_at), "raised at {raised_at}");
}

#[test]
fn delays_and_staleness_keep_their_length_across_clock_steps() {
    // A pending alarm, then the clock steps an hour back: daemon time
    // takes the step and the engine moves its times with it, so the alarm
    // is raised when its ten minutes are up, not an hour later.
    let mut r = filter("on_delay = \"10m\"\n");
    assert_eq!(r.feed(0, 0.0, 300.0), [Pending]);
    r.engine.shift_times(SignedDuration::from_hours(-1));
    assert_eq!(r.tick(-3600.0 + 599.0), []);
    assert_eq!(r.tick(-3600.0 + 600.0), [Raised]);

    // Forward: an hour ahead must not complete a ten-minute delay at once.
    let mut r = filter("on_delay = \"10m\"\n");
    assert_eq!(r.feed(0, 0.0, 300.0), [Pending]);
    r.engine.shift_times(SignedDuration::from_hours(1));
    assert_eq!(r.tick(3600.0 + 1.0), []);
    assert_eq!(r.tick(3600.0 + 600.0), [Raised]);

    // Staleness counts from the last good reading, not from the step.
    let rule = "[[rule]]\nid = \"stale\"\ndescription = \"s\"\nkind = \"stale\"\nrole = \"supply_air_temp\"\nafter = \"5m\"\nseverity = \"minor\"\naction = \"record\"\n";
    let mut r = Run::new(catalog(&[("t", "supply_air_temp", "i16")], rule, ""));
    assert_eq!(r.feed(0, 10.0, 16.0), []);
    r.engine.shift_times(SignedDuration::from_hours(1));
    assert_eq!(
        r.tick(3600.0 + 20.0),
        [],
        "a forward step is not data gone stale"
    );
    assert_eq!(r.tick(3600.0 + 310.0), [Raised]);
}

#[test]
fn stale_after_no_good_reading() {
    let rule = "[[rule]]\nid = \"stale\"\ndescription = \"s\"\nkind = \"stale\"\nrole = \"supply_air_temp\"\nafter = \"5m\"\nseverity = \"minor\"\naction = \"record\"\n";
    let mut r = Run::new(catalog(&[("t", "supply_air_temp", "i16")], rule, ""));
    assert_eq!(r.feed(0, 10.0, 16.0), []);
    assert_eq!(
        r.reading(0, 100.0, None, Quality::Bad(BadReason::Timeout)),
        []
    );
    assert_eq!(r.tick(309.0), []);
    assert_eq!(r.tick(310.0), [Raised]);
    assert_eq!(r.feed(0, 320.0, 16.0), [Cleared]);
}

#[test]
fn offline_follows_device_state_with_its_delay() {
    let rule = "[[rule]]\nid = \"off\"\ndescription = \"o\"\nkind = \"offline\"\non_delay = \"1m\"\nseverity = \"major\"\naction = \"ticket\"\n";
    let c = catalog(&[("t", "supply_air_temp", "i16")], rule, "");
    let mut r = Run::new(c);
    let mut events = Vec::new();
    r.engine
        .on_device_state(DeviceId(0), DeviceState::Offline, at(0.0), &mut events);
    r.engine.on_tick(at(59.0), &mut events);
    r.engine.on_tick(at(60.0), &mut events);
    r.engine
        .on_device_state(DeviceId(0), DeviceState::Online, at(70.0), &mut events);
    let t: Vec<Transition> = events.iter().map(|e| e.transition).collect();
    assert_eq!(t, [Pending, Raised, Cleared]);
}

#[test]
fn service_interval_counts_from_the_last_recorded_service() {
    let rule = "[[rule]]\nid = \"svc\"\ndescription = \"s\"\nkind = \"service_interval\"\nrole = \"lamp_run_hours\"\nthreshold = 50000.0\nseverity = \"minor\"\naction = \"ticket\"\n";
    let mut r = Run::new(catalog(&[("h", "lamp_run_hours", "u32")], rule, ""));
    assert_eq!(r.feed(0, 0.0, 49_999.0), []);
    assert_eq!(r.feed(0, 1.0, 50_000.0), [Raised]);
    let mut events = Vec::new();
    let changed = r
        .engine
        .record_service(DeviceId(0), RuleId(0), at(2.0), &mut events);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].1, 50_000.0);
    assert_eq!(
        events.iter().map(|e| e.transition).collect::<Vec<_>>(),
        [Cleared]
    );
    assert_eq!(r.feed(0, 3.0, 99_999.0), []);
    assert_eq!(r.feed(0, 4.0, 100_000.0), [Raised]);
}

#[test]
fn schedule_compares_against_business_hours() {
    let rule = "[[rule]]\nid = \"lights\"\ndescription = \"l\"\nkind = \"schedule\"\nrole = \"circuit_status\"\nwhen = \"closed\"\nequals = true\nseverity = \"minor\"\naction = \"ticket\"\n";
    let hours = "[site.business_hours]\nfriday = [\"09:00-21:00\"]\n";
    let mut r = Run::new(catalog(&[("c", "circuit_status", "bool")], rule, hours));
    let on = Some(Value::Bool(true));
    // T0 is Friday 08:00 UTC: closed, lights on.
    assert_eq!(r.reading(0, 0.0, on, Quality::Good), [Raised]);
    // 09:00: open, lights on is fine.
    assert_eq!(r.reading(0, 3600.0, on, Quality::Good), [Cleared]);
    // 21:00: closed again.
    assert_eq!(r.reading(0, 13.0 * 3600.0, on, Quality::Good), [Raised]);
    assert_eq!(
        r.reading(
            0,
            13.0 * 3600.0 + 1.0,
            Some(Value::Bool(false)),
            Quality::Good
        ),
        [Cleared]
    );
}

#[test]
fn a_rule_for_opening_hours_raises_only_while_open_and_clears_at_closing() {
    let rule = "[[rule]]\nid = \"warm\"\ndescription = \"w\"\nkind = \"limit\"\nrole = \"room_temp\"\nlevel = \"high\"\nthreshold = 28.0\nwhen = \"open\"\non_delay = \"10m\"\nseverity = \"minor\"\naction = \"ticket\"\n";
    let hours = "[site.business_hours]\nfriday = [\"09:00-21:00\"]\n";
    let mut r = Run::new(catalog(&[("t", "room_temp", "i16")], rule, hours));
    // 08:00, closed: 31 °C is nobody's discomfort.
    assert_eq!(r.feed(0, 0.0, 31.0), []);
    // 09:00 open: pending, raised after the on-delay.
    assert_eq!(r.feed(0, 3600.0, 31.0), [Pending]);
    assert_eq!(r.feed(0, 3600.0 + 600.0, 31.0), [Raised]);
    // 21:00 closed: the condition no longer holds.
    assert_eq!(r.feed(0, 13.0 * 3600.0, 31.0), [Cleared]);
    // A pending one is cancelled at closing too.
    let mut r = Run::new(catalog(&[("t", "room_temp", "i16")], rule, hours));
    assert_eq!(r.feed(0, 12.0 * 3600.0 + 59.0 * 60.0, 31.0), [Pending]);
    assert_eq!(r.feed(0, 13.0 * 3600.0, 31.0), [PendingCancelled]);
}

#[test]
fn all_and_any_combine_points_of_one_device() {
    let rules = "[[rule]]\nid = \"both\"\ndescription = \"b\"\nkind = \"all\"\nof = [{ role = \"filter_dp\", above = 250.0 }, { role = \"fan_status\", equals = true }]\nseverity = \"major\"\naction = \"ticket\"\n\
                 [[rule]]\nid = \"either\"\ndescription = \"e\"\nkind = \"any\"\nof = [{ role = \"filter_dp\", above = 250.0 }, { role = \"fan_status\", equals = true }]\nseverity = \"minor\"\naction = \"record\"\n";
    let c = catalog(
        &[("dp", "filter_dp", "u16"), ("fan", "fan_status", "bool")],
        rules,
        "",
    );
    let mut r = Run::new(c);
    assert_eq!(r.feed(0, 0.0, 300.0), []); // fan unknown yet: neither decides
    let by_rule = |r: &Run, rule: u32| r.engine.slots()[rule as usize].state;
    assert_eq!(
        r.reading(1, 1.0, Some(Value::Bool(false)), Quality::Good),
        [Raised]
    ); // any
    assert_eq!(by_rule(&r, 0), ConditionState::Normal);
    assert_eq!(by_rule(&r, 1), ConditionState::Active);
    assert_eq!(
        r.reading(1, 2.0, Some(Value::Bool(true)), Quality::Good),
        [Raised]
    ); // all
    assert_eq!(r.feed(0, 3.0, 100.0), [Cleared]); // all clears, any stays (fan on)
    assert_eq!(by_rule(&r, 1), ConditionState::Active);
}

#[test]
fn cost_per_reading_is_per_bound_rule_only() {
    // A reading for a point no rule binds to produces nothing and touches nothing.
    let c = catalog(
        &[("dp", "filter_dp", "u16"), ("x", "x_other", "u16")],
        FILTER,
        "",
    );
    let mut r = Run::new(c);
    assert_eq!(r.feed(1, 0.0, 1e9), []);
    assert_eq!(r.state(), ConditionState::Normal);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Whatever the input, a condition is raised at most once per
    /// on-delay + off-delay, and a deadband-only wobble never clears it.
    #[test]
    fn conditions_never_flap_faster_than_their_delays(
        steps in proptest::collection::vec((1u32..30_000, 150.0f64..350.0, proptest::bool::ANY), 1..300)
    ) {
        let mut r = filter("on_delay = \"10s\"\noff_delay = \"20s\"\n");
        let mut t = 0.0;
        for (dt_ms, value, good) in steps {
            t += f64::from(dt_ms) / 1000.0;
            if good {
                r.feed(0, t, value);
            } else {
                r.reading(0, t, None, Quality::Bad(BadReason::Timeout));
            }
            r.tick(t);
        }
        let raised: Vec<f64> = r.events.iter().filter(|e| e.transition == Raised)
            .map(|e| e.at.as_millisecond() as f64 / 1000.0).collect();
        for pair in raised.windows(2) {
            proptest::prop_assert!(pair[1] - pair[0] >= 30.0 - 1e-6, "raised twice within {} s", pair[1] - pair[0]);
        }
        // Every raise is preceded by a pending that lasted the on-delay.
        let mut pending_since = None;
        for e in &r.events {
            let s = e.at.as_millisecond() as f64 / 1000.0;
            match e.transition {
                Pending => pending_since = Some(s),
                Raised => {
                    let since = pending_since.take();
                    proptest::prop_assert!(since.is_some_and(|p| s - p >= 10.0 - 1e-6));
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_value_wobbling_inside_the_deadband_raises_once_and_never_clears(
        wobble in proptest::collection::vec(230.5f64..249.5, 1..500)
    ) {
        let mut r = filter("");
        r.feed(0, 0.0, 260.0);
        for (i, v) in wobble.iter().enumerate() {
            r.feed(0, 1.0 + i as f64, *v);
        }
        let transitions: Vec<Transition> = r.events.iter().map(|e| e.transition).collect();
        proptest::prop_assert_eq!(transitions, vec![Raised]);
    }
}
