//! Every rule of every shipped pack (config/standards) raised by the
//! simulator doing what the rule watches for, through the real daemon.
//! Delays are overridden to zero so the test runs in seconds; the numbers
//! (thresholds, intervals, states) are the packs' own.

use std::collections::BTreeSet;
use std::time::Duration;

use site_sim::Step;
use sitewarden_tests::{
    SiteDir, frozen, load, raised_conditions, repo_root, start_daemon, start_sim, wait_until,
};

const DEVICES: [(&str, &str); 17] = [
    ("ahu-a", "ahu"),
    ("ahu-b", "ahu"),
    ("ahu-c", "ahu"),
    ("lighting-a", "lighting-panel"),
    ("lighting-b", "lighting-panel"),
    ("access-a", "access-control"),
    ("access-b", "access-control"),
    ("fire-a", "fire-panel"),
    ("fire-b", "fire-panel"),
    // Named as in the demo site, so the demo scenario's steps apply.
    ("lift-1", "lift-controller"),
    ("carpark-1", "car-park"),
    ("room-a", "room-sensor"),
    ("room-b", "room-sensor"),
    ("meter-a", "energy-meter"),
    ("spare-1", "ahu"),
    ("spare-2", "ahu"),
    ("spare-3", "ahu"),
];

/// The demo scenario's steps for `devices`, due at once: what the demo
/// does to them, raised here through the same packs.
fn demo_steps(devices: &[&str]) -> Vec<Step> {
    let scenario =
        site_sim::load_scenario(&repo_root().join("config/scenarios/demo.toml")).unwrap();
    scenario
        .step
        .into_iter()
        .filter(|s| devices.contains(&s.device.as_str()))
        .map(|mut s| {
            s.at = Duration::ZERO;
            s.duration = None;
            s
        })
        .collect()
}

fn packs() -> Vec<std::path::PathBuf> {
    let mut packs: Vec<_> = std::fs::read_dir(repo_root().join("config/standards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    packs.sort();
    packs
}

/// Every `pack.rule` id shipped.
fn shipped_rules() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for path in packs() {
        let pack: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = pack["pack"].as_str().unwrap().to_owned();
        for rule in pack["rule"].as_array().unwrap() {
            ids.insert(format!("{name}.{}", rule["id"].as_str().unwrap()));
        }
    }
    ids
}

fn step(device: &str, body: &str) -> Step {
    toml::from_str(&format!("device = \"{device}\"\n{body}")).unwrap()
}

/// Moves a point to `to` over 4 s: a counter running fast.
fn ramp(device: &str, point: &str, to: f64) -> Step {
    step(
        device,
        &format!("action = \"ramp\"\npoint = \"{point}\"\nto = {to}\nover = \"4s\""),
    )
}

fn set(device: &str, point: &str, value: f64) -> Step {
    step(
        device,
        &format!("action = \"set\"\npoint = \"{point}\"\nvalue = {value}"),
    )
}

/// What a run found wrong: expected conditions that never rose, and
/// conditions that rose although no case asked for them.
#[derive(Debug, Default)]
struct Findings {
    never_raised: Vec<String>,
    raised_unasked: Vec<String>,
}

/// Whether a raised (rule, device, point) is the case `(rule, device, point)`;
/// an empty case device or point stands for any.
fn is_case(raised: &(String, String, String), case: &(&str, &str, &str)) -> bool {
    raised.0 == case.0
        && (case.1.is_empty() || raised.1 == case.1)
        && (case.2.is_empty() || raised.2 == case.2)
}

/// What a closed site may raise besides the cases: the simulated AHUs run
/// their fans and the panels light their circuits as if the site were in
/// use, which a closed site reports on every such device, spares included.
const CLOSED_MAY_RAISE: [(&str, &str, &str); 2] = [
    ("hvac.running_while_closed", "", "fan_status"),
    ("lighting.on_while_closed", "", ""),
];

/// Runs the simulator and daemon with `hours`, applies `steps`, and waits
/// until every case in `expected` is raised; then checks that nothing else
/// is: not the same rule on a quiet zone, door or circuit, not the spare
/// devices, which nothing disturbs.
async fn run(
    hours: &str,
    steps: Vec<Step>,
    expected: &[(&str, &str, &str)],
    may_raise: &[(&str, &str, &str)],
) -> Findings {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &DEVICES, frozen()).await.unwrap();
    // Supply air held steady: the model's sensor noise would otherwise
    // trip the rate rule in the test's 4 s window (a step may ramp it).
    for (id, profile) in DEVICES {
        if profile == "ahu" {
            sim.apply(&set(id, "supply_air_temp", 16.0));
        }
    }
    let pack_list: Vec<String> = packs()
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let mut config = format!("{hours}\n[rules]\npacks = [{}]\n", pack_list.join(", "));
    for rule in shipped_rules() {
        config.push_str(&format!(
            "\n[[rules.overrides]]\nrule = \"{rule}\"\non_delay = \"0s\"\noff_delay = \"0s\"\n"
        ));
        if rule.ends_with("_stale") {
            config.push_str("after = \"2s\"\n");
        }
        if rule.ends_with("_rising_fast") || rule == "comfort.energy_while_closed" {
            config.push_str("window = \"4s\"\n");
        }
    }
    for (id, profile) in DEVICES {
        let addr = sim.addr(id).unwrap();
        config.push_str(&format!(
            "\n[[devices]]\nid = \"{id}\"\nprofile = \"{profile}\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{addr}\" }}\npoll_interval = \"200ms\"\ntimeout = \"200ms\"\nretries = 0\noffline_after = 2\n"
        ));
    }
    let path = site
        .write(
            "site.toml",
            &format!("{}{config}", sitewarden_tests::site_header()),
        )
        .unwrap();
    let catalog = load(&path);
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &steps {
        sim.apply(s);
    }
    let raised = || raised_conditions(&daemon, &catalog);
    let all_raised = || {
        let now = raised();
        expected
            .iter()
            .all(|case| now.iter().any(|r| is_case(r, case)))
    };
    wait_until(Duration::from_secs(20), all_raised).await;
    // Whatever else is coming has had time to come.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let now = raised();
    let findings = Findings {
        never_raised: expected
            .iter()
            .filter(|case| !now.iter().any(|r| is_case(r, case)))
            .map(|(r, d, p)| format!("{r} on {d} {p}"))
            .collect(),
        raised_unasked: now
            .iter()
            .filter(|r| {
                !expected
                    .iter()
                    .chain(may_raise)
                    .any(|case| is_case(r, case))
            })
            .map(|(r, d, p)| format!("{r} on {d} {p}"))
            .collect(),
    };
    daemon.stop().await;
    findings
}

/// (rule, device, point) each step raises; on devices with several zones,
/// doors or circuits, the point is the one the step drives.
const CLOSED_CASES: [(&str, &str, &str); 43] = [
    ("hvac.filter_dp_high", "ahu-a", ""),
    ("hvac.filter_dp_high_high", "ahu-a", ""),
    ("hvac.filter_service_due", "ahu-a", ""),
    ("hvac.fan_fault", "ahu-a", ""),
    ("hvac.compressor_fault", "ahu-a", ""),
    ("hvac.running_while_closed", "ahu-a", ""),
    ("hvac.unit_alarm", "ahu-a", ""),
    ("hvac.cooling_not_holding", "ahu-b", ""),
    ("hvac.supply_air_rising_fast", "ahu-b", ""),
    ("hvac.supply_air_stale", "ahu-c", ""),
    ("hvac.unit_offline", "ahu-c", ""),
    ("lighting.on_while_closed", "lighting-a", ""),
    (
        "lighting.lamp_rated_life",
        "lighting-a",
        "circuit1_lamp_hours",
    ),
    ("lighting.lamp_fault", "lighting-a", "circuit2_lamp_fault"),
    ("lighting.lamp_failure", "lighting-a", "circuit3_on"),
    ("lighting.panel_offline", "lighting-b", ""),
    ("security.door_forced", "access-a", "door1_forced"),
    ("security.door_open_after_hours", "access-a", ""),
    ("security.door_held_open", "access-a", "door2_held_open"),
    (
        "security.emergency_button",
        "access-a",
        "door3_emergency_button",
    ),
    ("security.tamper", "access-a", "door4_tamper"),
    ("security.controller_down", "access-a", ""),
    ("security.controller_offline", "access-b", ""),
    ("security.camera_down", "carpark-1", ""),
    ("fire.fire_alarm", "fire-a", "zone1_alarm"),
    ("fire.zone_fault", "fire-a", "zone2_fault"),
    ("fire.supervisory", "fire-a", "zone3_supervisory"),
    ("fire.sprinkler_pressure_low", "fire-a", ""),
    ("fire.sprinkler_pressure_low_low", "fire-a", ""),
    ("fire.panel_fault", "fire-a", ""),
    ("fire.panel_offline", "fire-b", ""),
    ("lifts.lift_fault", "lift-1", ""),
    ("lifts.entrapment", "lift-1", ""),
    ("lifts.alarm_button_doors_shut", "lift-1", ""),
    ("lifts.trips_service_due", "lift-1", ""),
    ("carpark.barrier_fault", "carpark-1", ""),
    ("carpark.plate_recognition_fault", "carpark-1", ""),
    ("carpark.guidance_fault", "carpark-1", ""),
    ("carpark.fence_alarm", "carpark-1", "fence2_alarm"),
    ("carpark.fence_fault", "carpark-1", "fence1_fault"),
    ("comfort.co2_high", "room-a", ""),
    ("comfort.energy_while_closed", "meter-a", ""),
    ("general.device_fault", "room-a", ""),
];

/// Comfort rules hold only while the site is open; the energy rule only
/// while it is closed (the open run drives the meter as hard and expects
/// nothing from it).
const OPEN_CASES: [(&str, &str, &str); 6] = [
    ("lighting.off_while_open", "lighting-a", "circuit4_on"),
    ("lifts.lift_out_of_service_while_open", "lift-1", ""),
    ("comfort.room_too_warm_while_open", "room-a", ""),
    ("comfort.room_too_humid_while_open", "room-a", ""),
    ("comfort.room_too_cold_while_open", "room-b", ""),
    ("lighting.too_dark_while_open", "room-b", ""),
];

/// Keys whose figure is a judgement about the equipment: each rule that
/// sets one says where the figure comes from.
const FIGURES: [&str; 6] = [
    "threshold",
    "rise_per_minute",
    "fall_per_minute",
    "after",
    "above",
    "below",
];

/// Words that name a source: a standard, or the site's own judgement.
const SOURCES: [&str; 9] = [
    "site judgement",
    "gb ",
    "gb/t ",
    "tsg ",
    "en ",
    "iso ",
    "ies ",
    "eurovent",
    "ashrae",
];

#[test]
fn every_shipped_figure_names_its_source_or_says_it_is_site_judgement() {
    let mut silent = Vec::new();
    for path in packs() {
        let text = std::fs::read_to_string(&path).unwrap();
        // The blocks after each `[[rule]]` header, with their comments.
        for block in text.split("[[rule]]").skip(1) {
            let sets_figure = block.lines().any(|l| {
                let key = l
                    .trim_start()
                    .trim_start_matches("{ ")
                    .split([' ', '='])
                    .next();
                FIGURES.iter().any(|f| Some(*f) == key)
                    || FIGURES.iter().any(|f| l.contains(&format!("{f} = ")))
            });
            let comments: String = block
                .lines()
                .filter_map(|l| l.split_once('#').map(|(_, c)| c.to_lowercase()))
                .collect::<Vec<_>>()
                .join(" ");
            if sets_figure && !SOURCES.iter().any(|s| comments.contains(s)) {
                let id = block
                    .lines()
                    .find_map(|l| l.strip_prefix("id = "))
                    .unwrap_or("?");
                silent.push(format!(
                    "{}: {id}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(silent.is_empty(), "figures without a source: {silent:?}");
}

/// Every role a shipped rule watches, directly or in an `all`/`any` predicate.
fn bound_roles() -> BTreeSet<String> {
    let mut roles = BTreeSet::new();
    for path in packs() {
        let pack: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for rule in pack["rule"].as_array().unwrap() {
            if let Some(role) = rule.get("role").and_then(|r| r.as_str()) {
                roles.insert(role.to_owned());
            }
            for predicate in rule
                .get("of")
                .and_then(|o| o.as_array())
                .into_iter()
                .flatten()
            {
                roles.insert(predicate["role"].as_str().unwrap().to_owned());
            }
        }
    }
    roles
}

#[test]
fn every_role_is_watched_by_a_shipped_rule_or_says_why_not() {
    use sitewarden::config::{INFORMATIONAL_ROLES, KNOWN_ROLES};
    let bound = bound_roles();
    let informational: BTreeSet<&str> = INFORMATIONAL_ROLES.iter().map(|(r, _)| *r).collect();
    let unexplained: Vec<&str> = KNOWN_ROLES
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| !bound.contains(*r) && !informational.contains(r))
        .collect();
    assert!(
        unexplained.is_empty(),
        "roles no rule watches and nobody explains: {unexplained:?}"
    );
    let contradicted: Vec<&&str> = informational
        .iter()
        .filter(|r| bound.contains(**r) || !KNOWN_ROLES.iter().any(|(k, _)| k == *r))
        .collect();
    assert!(
        contradicted.is_empty(),
        "called informational but watched by a rule, or unknown: {contradicted:?}"
    );
}

#[test]
fn the_cases_cover_every_shipped_rule() {
    let covered: BTreeSet<String> = CLOSED_CASES
        .iter()
        .chain(&OPEN_CASES)
        .map(|(r, _, _)| (*r).to_owned())
        .collect();
    let shipped = shipped_rules();
    let untested: Vec<_> = shipped.difference(&covered).collect();
    assert!(
        untested.is_empty(),
        "shipped rules without a test case: {untested:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_rule_raises_on_a_closed_site() {
    let offline = |d: &str| step(d, "action = \"offline\"");
    let mut steps = vec![
        set("ahu-a", "filter_dp", 450.0),
        set("ahu-a", "filter_run_hours", 2100.0),
        set("ahu-a", "fan_fault", 1.0),
        set("ahu-a", "compressor_fault", 1.0),
        step(
            "ahu-b",
            "action = \"ramp\"\npoint = \"supply_air_temp\"\nto = 40\nover = \"10s\"",
        ),
        offline("ahu-c"),
        set("lighting-a", "circuit1_lamp_hours", 60_000.0),
        set("lighting-a", "circuit2_lamp_fault", 1.0),
        offline("lighting-b"),
        step("access-a", "action = \"force_door\"\nzone = \"door-1\""),
        set("access-a", "door2_held_open", 1.0),
        step("access-a", "action = \"press_button\"\nzone = \"door-3\""),
        set("access-a", "door4_tamper", 1.0),
        set("access-a", "controller_online", 0.0),
        offline("access-b"),
        step("fire-a", "action = \"fire_alarm\"\nzone = \"1\""),
        set("fire-a", "zone2_fault", 1.0),
        set("fire-a", "zone3_supervisory", 1.0),
        set("fire-a", "sprinkler_pressure", 0.5),
        set("fire-a", "panel_fault", 1.0),
        offline("fire-b"),
        set("ahu-a", "unit_alarm", 1.0),
        set("lighting-a", "circuit3_power", 10.0),
        set("lift-1", "lift_fault", 1.0),
        set("lift-1", "trips", 20_000.0),
        set("carpark-1", "barrier_fault", 1.0),
        set("carpark-1", "plate_recognition_fault", 1.0),
        set("carpark-1", "guidance_fault", 1.0),
        set("carpark-1", "camera_online", 0.0),
        set("carpark-1", "fence1_fault", 1.0),
        set("room-a", "co2", 1500.0),
        set("room-a", "sensor_fault", 1.0),
        ramp("meter-a", "energy", 12_100.0),
        // Comfort is a promise to visitors: nothing is raised at night.
        set("room-b", "temperature", 31.0),
        set("room-b", "humidity", 90.0),
        set("room-b", "illuminance", 0.0),
    ];
    steps.extend(demo_steps(&["lift-1", "carpark-1"]));
    // No business hours: the site is closed all week.
    let findings = run("", steps, &CLOSED_CASES, &CLOSED_MAY_RAISE).await;
    assert!(
        findings.never_raised.is_empty(),
        "never raised: {:#?}",
        findings.never_raised
    );
    assert!(
        findings.raised_unasked.is_empty(),
        "raised where nothing called for it: {:#?}",
        findings.raised_unasked
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_rules_for_opening_hours_raise_on_an_open_site() {
    let mut hours = String::from("[site.business_hours]\n");
    for day in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ] {
        hours.push_str(&format!("{day} = [\"00:00-24:00\"]\n"));
    }
    let steps = vec![
        set("lighting-a", "circuit4_on", 0.0),
        set("lift-1", "in_service", 0.0),
        set("room-a", "temperature", 31.0),
        set("room-a", "humidity", 85.0),
        set("room-b", "temperature", 12.0),
        set("room-b", "illuminance", 50.0),
        // As much energy as the closed run: no rule for it while open.
        ramp("meter-a", "energy", 12_100.0),
    ];
    // The header already has [site]; the hours table follows it.
    let findings = run(&hours, steps, &OPEN_CASES, &[]).await;
    assert!(
        findings.never_raised.is_empty(),
        "never raised: {:#?}",
        findings.never_raised
    );
    assert!(
        findings.raised_unasked.is_empty(),
        "raised where nothing called for it: {:#?}",
        findings.raised_unasked
    );
}
