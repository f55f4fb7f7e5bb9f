//! Every kind of config error is reported with its file, line and column.

use std::path::Path;

use sitewarden::config::{ConfigError, load};
use sitewarden_model::catalog::{Check, Predicate};

const HEADER: &str = "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\n";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("profiles")).unwrap();
        Self(dir)
    }

    fn profile(&self, name: &str, text: &str) -> &Self {
        std::fs::write(
            self.0.path().join("profiles").join(format!("{name}.toml")),
            text,
        )
        .unwrap();
        self
    }

    fn errors(&self, site: &str) -> Vec<ConfigError> {
        let path = self.0.path().join("site.toml");
        std::fs::write(&path, site).unwrap();
        match load(&path) {
            Ok(_) => panic!("config was accepted:\n{site}"),
            Err(e) => e.0,
        }
    }
}

fn errors(site: &str) -> Vec<ConfigError> {
    Dir::new().errors(site)
}

/// Asserts exactly one error, at `line:column`, whose message contains `text`.
fn assert_one(errors: &[ConfigError], line: usize, column: usize, text: &str) {
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    assert_at(&errors[0], line, column, text);
}

fn assert_at(e: &ConfigError, line: usize, column: usize, text: &str) {
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(
        e.message.contains(text),
        "`{}` does not say `{text}`",
        e.message
    );
}

const TCP: &str = "transport = { kind = \"modbus-tcp\", host = \"127.0.0.1:502\" }";

fn device(id: &str, extra: &str) -> String {
    format!(
        "\n[[devices]]\nid = \"{id}\"\n{TCP}\n{extra}\n[[devices.points]]\nname = \"p\"\nkind = \"holding\"\naddress = 0\n"
    )
}

#[test]
fn toml_syntax_error() {
    assert_one(&errors("[site\nid = 1\n"), 1, 6, "");
}

#[test]
fn unknown_key() {
    let e = errors(&format!("{HEADER}colour = \"blue\"\n"));
    assert_one(&e, 5, 1, "unknown field `colour`");
}

#[test]
fn unknown_key_in_a_device() {
    let e = errors(&format!("{HEADER}{}", device("a", "pol_interval = \"1s\"")));
    assert_one(&e, 9, 1, "unknown field `pol_interval`");
}

#[test]
fn duplicate_device_id() {
    let e = errors(&format!(
        "{HEADER}{}{}",
        device("ahu", ""),
        device("ahu", "unit_id = 2")
    ));
    assert_one(&e, 16, 6, "device id `ahu` is already used on line 7");
}

#[test]
fn unknown_profile() {
    let dir = Dir::new();
    dir.profile("ahu", "");
    let e = dir.errors(&format!(
        "{HEADER}\n[[devices]]\nid = \"a\"\nprofile = \"ahuu\"\n{TCP}\n"
    ));
    assert_one(&e, 8, 11, "unknown profile `ahuu`; known profiles: ahu");
}

#[test]
fn unknown_role_in_the_site_file() {
    let e = errors(&format!(
        "{HEADER}{}role = \"filter_pd\"\n",
        device("a", "")
    ));
    assert_one(&e, 14, 8, "unknown role `filter_pd`");
}

#[test]
fn unknown_role_in_a_profile_is_reported_in_the_profile() {
    let dir = Dir::new();
    dir.profile(
        "fan",
        "[[points]]\nname = \"x\"\nrole = \"fan_speeed\"\nkind = \"input\"\naddress = 0\n",
    );
    let e = dir.errors(&format!(
        "{HEADER}\n[[devices]]\nid = \"a\"\nprofile = \"fan\"\n{TCP}\n"
    ));
    assert_one(&e, 3, 8, "unknown role `fan_speeed` on profile point `x`");
    assert!(
        e[0].path.ends_with("profiles/fan.toml"),
        "{}",
        e[0].path.display()
    );
}

#[test]
fn two_points_on_the_same_register_that_disagree() {
    let site = format!(
        "{HEADER}{}\n[[devices.points]]\nname = \"q\"\nkind = \"holding\"\naddress = 0\ntype = \"i16\"\n",
        device("a", "")
    );
    let e = errors(&site);
    assert_one(
        &e,
        18,
        11,
        "overlap on the same register and decode it differently",
    );
}

#[test]
fn two_bits_of_one_register_are_fine_but_the_same_bit_twice_is_not() {
    let bits = |b1: u8, b2: u8| {
        format!(
            "{HEADER}\n[[devices]]\nid = \"a\"\n{TCP}\n\n[[devices.points]]\nname = \"x\"\nkind = \"holding\"\naddress = 4\ntype = \"bit\"\nbit = {b1}\n\n[[devices.points]]\nname = \"y\"\nkind = \"holding\"\naddress = 4\ntype = \"bit\"\nbit = {b2}\n"
        )
    };
    let dir = Dir::new();
    let path = dir.0.path().join("site.toml");
    std::fs::write(&path, bits(1, 2)).unwrap();
    assert!(load(&path).is_ok());
    assert_one(
        &dir.errors(&bits(3, 3)),
        20,
        11,
        "both read bit 3 of holding register 4",
    );
}

#[test]
fn poll_interval_out_of_range() {
    let e = errors(&format!(
        "{HEADER}{}",
        device("a", "poll_interval = \"10ms\"")
    ));
    assert_one(&e, 9, 17, "poll_interval 10ms is out of range");
}

#[test]
fn point_interval_out_of_range() {
    let e = errors(&format!("{HEADER}{}interval = \"2h\"\n", device("a", "")));
    assert_one(&e, 14, 12, "point interval 2h is out of range");
}

#[test]
fn malformed_duration() {
    let e = errors(&format!("{HEADER}{}", device("a", "timeout = \"fast\"")));
    assert_one(&e, 9, 11, "`fast` is not a duration");
}

#[test]
fn timeout_out_of_range() {
    let e = errors(&format!("{HEADER}{}", device("a", "timeout = \"2m\"")));
    assert_one(&e, 9, 11, "timeout 2m is out of range");
}

#[test]
fn unknown_time_zone() {
    let e = errors("[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"Mars/Olympus\"\n");
    assert_one(&e, 4, 13, "not a known IANA time zone");
}

#[test]
fn inverted_business_hours() {
    let e = errors(&format!(
        "{HEADER}[site.business_hours]\nmonday = [\"21:00-09:00\"]\n"
    ));
    assert_one(&e, 6, 11, "closes before it opens");
}

#[test]
fn rtu_unit_id_out_of_range() {
    let e = errors(&format!(
        "{HEADER}\n[[devices]]\nid = \"a\"\ntransport = {{ kind = \"modbus-rtu\", serial = \"/dev/ttyUSB0\" }}\nunit_id = 250\n\n[[devices.points]]\nname = \"p\"\nkind = \"coil\"\naddress = 0\n"
    ));
    assert_one(&e, 9, 11, "unit id 250 is out of range");
}

#[test]
fn the_same_unit_twice_on_one_serial_line() {
    let rtu = |id: &str| {
        format!(
            "\n[[devices]]\nid = \"{id}\"\ntransport = {{ kind = \"modbus-rtu\", serial = \"/dev/ttyUSB0\" }}\nunit_id = 5\n\n[[devices.points]]\nname = \"p\"\nkind = \"coil\"\naddress = 0\n"
        )
    };
    let e = errors(&format!("{HEADER}{}{}", rtu("a"), rtu("b")));
    assert_one(
        &e,
        19,
        11,
        "unit id 5 at modbus-rtu:///dev/ttyUSB0@9600 is already used by device `a`",
    );
}

#[test]
fn host_without_port() {
    let e = errors(&format!(
        "{HEADER}\n[[devices]]\nid = \"a\"\ntransport = {{ kind = \"modbus-tcp\", host = \"plc.local\" }}\n\n[[devices.points]]\nname = \"p\"\nkind = \"coil\"\naddress = 0\n"
    ));
    assert_one(&e, 8, 43, "is not `host:port`");
}

#[test]
fn override_of_a_point_the_device_lacks() {
    let e = errors(&format!(
        "{HEADER}{}\n[[devices.overrides]]\npoint = \"nope\"\nscale = 2.0\n",
        device("a", "")
    ));
    assert_one(&e, 16, 9, "override names point `nope`");
}

#[test]
fn bit_type_without_a_bit() {
    let e = errors(&format!("{HEADER}{}type = \"bit\"\n", device("a", "")));
    assert_one(&e, 14, 8, "needs `bit = N`");
}

#[test]
fn a_value_past_the_end_of_the_address_space() {
    let e = errors(&format!(
        "{HEADER}\n[[devices]]\nid = \"a\"\n{TCP}\n\n[[devices.points]]\nname = \"p\"\nkind = \"input\"\naddress = 65535\ntype = \"f32\"\n"
    ));
    assert_one(&e, 13, 11, "runs past the last address 65535");
}

#[test]
fn api_listen_address_and_token_hash() {
    let e = errors(&format!(
        "{HEADER}\n[api]\nlisten = \"localhost\"\n\n[[api.tokens]]\nname = \"desk\"\nrole = \"front-desk\"\nsha256 = \"abc\"\n"
    ));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_at(&e[0], 7, 10, "not an address to listen on");
    assert_at(&e[1], 12, 10, "64 hexadecimal digits");
}

#[test]
fn every_error_is_reported_at_once() {
    let site = format!(
        "{HEADER}{}{}{}",
        device("a", "poll_interval = \"1ms\""),
        device("a", "unit_id = 3\ntimeout = \"5m\""),
        device("b bad", "retries = 50")
    );
    let e = errors(&site);
    let messages: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(e.len(), 6, "{messages:#?}");
    for text in [
        "poll_interval 1ms",
        "already used on line 7",
        "timeout 5m",
        "may use only letters",
        "retries 50",
        "unit id 1 at modbus-tcp://127.0.0.1:502 is already used",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(text)),
            "no error says `{text}`: {messages:#?}"
        );
    }
}

#[test]
fn the_shipped_demo_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let catalog = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(catalog.devices.len(), 10);
    // The fire panel's zones are polled at 250 ms; its sprinkler pressure at 2 s.
    let fire = catalog
        .devices
        .iter()
        .find(|d| d.name == "fire-panel-1")
        .unwrap();
    let zone = catalog
        .points_of(fire.id)
        .iter()
        .find(|p| p.name == "zone3_alarm")
        .unwrap();
    assert_eq!(zone.interval.as_millis(), 250);
    let pressure = catalog
        .points_of(fire.id)
        .iter()
        .find(|p| p.name == "sprinkler_pressure")
        .unwrap();
    assert_eq!(pressure.interval.as_secs(), 2);
}

/// A site with one device whose point has role `filter_dp`, and `pack` as `pack.toml`.
fn pack_errors(pack: &str, overrides: &str) -> Vec<ConfigError> {
    let dir = Dir::new();
    std::fs::write(dir.0.path().join("pack.toml"), pack).unwrap();
    dir.errors(&format!(
        "{HEADER}\n[rules]\npacks = [\"pack.toml\"]\n{overrides}\n[[devices]]\nid = \"a\"\n{TCP}\n\n[[devices.points]]\nname = \"dp\"\nrole = \"filter_dp\"\nkind = \"input\"\naddress = 0\n"
    ))
}

const LIMIT: &str = "pack = \"p\"\n\n[[rule]]\nid = \"high\"\ndescription = \"d\"\nkind = \"limit\"\nrole = \"filter_dp\"\nlevel = \"high\"\nthreshold = 250.0\nseverity = \"major\"\naction = \"ticket\"\n";

#[test]
fn rule_with_an_unknown_role_is_reported_in_its_pack() {
    let e = pack_errors(
        &LIMIT.replace("role = \"filter_dp\"", "role = \"filter_dpp\""),
        "",
    );
    assert_one(&e, 7, 8, "unknown role `filter_dpp`");
    assert!(e[0].path.ends_with("pack.toml"));
}

#[test]
fn high_high_inside_high_is_an_inversion() {
    let pack = format!(
        "{LIMIT}\n[[rule]]\nid = \"hh\"\ndescription = \"d\"\nkind = \"limit\"\nrole = \"filter_dp\"\nlevel = \"high_high\"\nthreshold = 200.0\nseverity = \"critical\"\naction = \"ticket\"\n"
    );
    assert_one(
        &pack_errors(&pack, ""),
        19,
        13,
        "high-high threshold 200 for `filter_dp` is inside its high threshold 250",
    );
}

#[test]
fn a_negative_deadband_puts_the_clear_point_beyond_the_threshold() {
    let e = pack_errors(
        &LIMIT.replace(
            "threshold = 250.0\n",
            "threshold = 250.0\ndeadband = -10.0\n",
        ),
        "",
    );
    assert_one(
        &e,
        10,
        12,
        "puts the clear point (260) beyond the threshold (250)",
    );
}

#[test]
fn an_impossible_delay() {
    let e = pack_errors(
        &LIMIT.replace(
            "threshold = 250.0\n",
            "threshold = 250.0\non_delay = \"8d\"\n",
        ),
        "",
    );
    assert_one(&e, 10, 12, "on_delay 192h is longer than the 7 days");
}

#[test]
fn a_setting_that_does_not_apply_to_the_kind() {
    let e = pack_errors(
        &LIMIT.replace(
            "threshold = 250.0\n",
            "threshold = 250.0\nwindow = \"5m\"\n",
        ),
        "",
    );
    assert_one(&e, 4, 6, "`window` does not apply to a limit rule");
}

#[test]
fn a_limit_without_its_threshold() {
    let e = pack_errors(&LIMIT.replace("threshold = 250.0\n", ""), "");
    assert_one(&e, 4, 6, "a limit rule needs `threshold`");
}

#[test]
fn an_override_that_turns_a_limit_pair_round_or_sets_what_the_kind_lacks() {
    let pack = format!(
        "{LIMIT}\n[[rule]]\nid = \"hh\"\ndescription = \"d\"\nkind = \"limit\"\nrole = \"filter_dp\"\nlevel = \"high_high\"\nthreshold = 400.0\nseverity = \"critical\"\naction = \"ticket\"\n"
    );
    let e = pack_errors(
        &pack,
        "\n[[rules.overrides]]\nrule = \"p.high\"\nthreshold = 450.0\n",
    );
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_at(&e[0], 11, 13, "after overrides `p.hh`");
    assert!(e[0].message.contains("inside `p.high`"), "{e:#?}");
    assert!(
        e[0].message.contains("the worse level must trip later"),
        "{e:#?}"
    );
    let e = pack_errors(
        LIMIT,
        "\n[[rules.overrides]]\nrule = \"p.high\"\nafter = \"5m\"\nwindow = \"1m\"\n",
    );
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_at(
        &e[0],
        11,
        9,
        "rule `p.high` is a limit: it has no `after`, so this setting would do nothing",
    );
    assert_at(&e[1], 12, 10, "it has no `window`");
}

/// A combination rule of the lighting kind: switched on and drawing little.
const LAMPS: &str = "pack = \"p\"\n\n[[rule]]\nid = \"lamps\"\ndescription = \"d\"\nkind = \"all\"\nof = [\n    { role = \"circuit_status\", equals = true },\n    { role = \"circuit_power\", below = 50.0, adjustable = true },\n]\nseverity = \"minor\"\naction = \"ticket\"\n";

#[test]
fn hours_gates_adjustable_predicates_and_pack_schedules_are_checked_where_written() {
    // `when` gates limits, states, rates and combinations, not an offline rule.
    let e = pack_errors(
        "pack = \"p\"\n\n[[rule]]\nid = \"gone\"\ndescription = \"d\"\nkind = \"offline\"\nwhen = \"open\"\nseverity = \"major\"\naction = \"ticket\"\n",
        "",
    );
    assert_one(&e, 4, 6, "`when` does not apply to a offline rule");
    // One site override threshold: one adjustable predicate.
    let e = pack_errors(
        &LAMPS.replace("equals = true }", "equals = true, adjustable = true }"),
        "",
    );
    assert_one(
        &e,
        9,
        14,
        "only one predicate of a rule can be `adjustable`",
    );
    // A combination without an adjustable predicate has no threshold to set.
    let e = pack_errors(
        &LAMPS.replace(", adjustable = true", ""),
        "\n[[rules.overrides]]\nrule = \"p.lamps\"\nthreshold = 300.0\n",
    );
    assert_one(
        &e,
        11,
        13,
        "is a combination without an adjustable predicate",
    );
    // A rate's figure must stay a rate.
    let rate = "pack = \"p\"\n\n[[rule]]\nid = \"kwh\"\ndescription = \"d\"\nkind = \"rate\"\nrole = \"filter_dp\"\nrise_per_minute = 0.05\nwindow = \"30m\"\nwhen = \"closed\"\nseverity = \"minor\"\naction = \"ticket\"\n";
    let e = pack_errors(
        rate,
        "\n[[rules.overrides]]\nrule = \"p.kwh\"\nthreshold = 0.0\n",
    );
    assert_one(&e, 11, 13, "above zero for a rate or service interval");
    // A pack's schedule is checked in the pack file.
    let e = pack_errors(
        &format!(
            "{LIMIT}\n[[schedule]]\nid = \"lifts\"\ntitle = \"t\"\nrole = \"lift_in_serivce\"\nevery = \"half-month\"\nday = 1\n"
        ),
        "",
    );
    assert_one(&e, 16, 8, "unknown role `lift_in_serivce`");
    assert!(e[0].path.ends_with("pack.toml"), "{e:#?}");
}

#[test]
fn a_combination_binds_per_zone_and_its_override_sets_the_adjustable_figure() {
    let dir = Dir::new();
    std::fs::write(dir.0.path().join("pack.toml"), LAMPS).unwrap();
    let mut site = format!(
        "{HEADER}\n[rules]\npacks = [\"pack.toml\"]\n\n[[rules.overrides]]\nrule = \"p.lamps\"\ndevice = \"panel\"\nthreshold = 280.0\n\n[[devices]]\nid = \"panel\"\n{TCP}\n"
    );
    for c in 0..3 {
        site.push_str(&format!(
            "\n[[devices.points]]\nname = \"c{c}_on\"\nrole = \"circuit_status\"\nkind = \"coil\"\naddress = {c}\nzone = \"c{c}\"\n\n[[devices.points]]\nname = \"c{c}_w\"\nrole = \"circuit_power\"\nkind = \"input\"\naddress = {c}\nzone = \"c{c}\"\n"
        ));
    }
    std::fs::write(dir.0.path().join("site.toml"), site).unwrap();
    let catalog = load(&dir.0.path().join("site.toml")).unwrap_or_else(|e| panic!("{e}"));
    let mut bound = Vec::new();
    for instance in &catalog.rule_instances {
        let Check::Combination { of, .. } = &instance.check else {
            panic!("{instance:?}");
        };
        let names: Vec<&str> = of
            .iter()
            .map(|(p, _)| catalog.points[p.0 as usize].name.as_str())
            .collect();
        bound.push((names, of[1].1));
    }
    assert_eq!(
        bound,
        [
            (vec!["c0_on", "c0_w"], Predicate::Below(280.0)),
            (vec!["c1_on", "c1_w"], Predicate::Below(280.0)),
            (vec!["c2_on", "c2_w"], Predicate::Below(280.0)),
        ]
    );
}

#[test]
fn an_override_of_an_unknown_rule_and_a_missing_pack() {
    let e = pack_errors(
        LIMIT,
        "\n[[rules.overrides]]\nrule = \"p.hihg\"\nthreshold = 300.0\n",
    );
    assert_one(
        &e,
        10,
        8,
        "override names rule `p.hihg`, which no loaded pack has",
    );
    let dir = Dir::new();
    let e = dir.errors(&format!("{HEADER}\n[rules]\npacks = [\"nowhere.toml\"]\n"));
    assert_one(&e, 7, 10, "cannot read rule pack");
}

#[test]
fn the_shipped_packs_load_and_bind_to_the_demo_site() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let catalog = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(catalog.rules.len() >= 30, "{} rules", catalog.rules.len());
    // Every fire zone of the demo panel is watched for alarms.
    let zones = catalog
        .rule_instances
        .iter()
        .filter(|i| catalog.rule(i.rule).id == "fire.fire_alarm")
        .count();
    assert_eq!(zones, 8);
}

#[test]
fn a_missing_secret_and_a_bad_sink_url() {
    let e = errors(&format!(
        "{HEADER}\n[sinks.influx]\nurl = \"influx:8086\"\nbucket = \"b\"\ntoken = {{ env = \"SITEWARDEN_TEST_NO_SUCH_TOKEN\" }}\nbuffer_budget = \"lots\"\n"
    ));
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_at(&e[0], 7, 7, "is not an http:// or https:// URL");
    assert_at(
        &e[1],
        9,
        9,
        "missing secret: environment variable SITEWARDEN_TEST_NO_SUCH_TOKEN is not set",
    );
    assert_at(&e[2], 10, 17, "is not a size");
}

#[test]
fn a_state_snapshot_more_often_than_every_second_is_refused_where_it_is_written() {
    let e = errors(&format!(
        "{HEADER}\n[sinks.influx]\nurl = \"http://127.0.0.1:8086\"\nbucket = \"b\"\nsnapshot_every = \"200ms\"\n"
    ));
    assert_one(&e, 9, 18, "snapshot_every 200ms is too often");
    let off = format!(
        "{HEADER}\n[sinks.influx]\nurl = \"http://127.0.0.1:8086\"\nbucket = \"b\"\nsnapshot_every = \"0s\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), off).unwrap();
    let catalog = load(&dir.path().join("site.toml")).expect("0s turns snapshots off");
    assert_eq!(catalog.influx.as_ref().unwrap().snapshot_every, None);
}

#[test]
fn a_secret_file_that_is_missing() {
    let e = errors(&format!(
        "{HEADER}\n[sinks.influx]\nurl = \"http://127.0.0.1:8086\"\nbucket = \"b\"\ntoken = {{ file = \"no-such-token\" }}\n"
    ));
    assert_one(&e, 9, 9, "missing secret: cannot read");
}

#[test]
fn ticket_settings_are_checked_where_they_are_written() {
    let site = format!(
        "{HEADER}\n[tickets.service_levels.p1]\nresponse = \"2h\"\nresolution = \"1h\"\n\n\
         [tickets.webhook]\nurl = \"ftp://cmms\"\n\n\
         [[tickets.preventive]]\nid = \"drill\"\ntitle = \"Drill\"\ndevice = \"nope\"\nevery = \"fortnight\"\nat = \"25:00\"\n\n\
         [[tickets.preventive]]\nid = \"drill\"\ntitle = \"Drill again\"\nevery = \"month\"\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 7, "{errors:#?}");
    // Sorted by position.
    assert_at(&errors[0], 8, 14, "shorter than the response target");
    assert_at(&errors[1], 11, 7, "not an http:// or https:// URL");
    assert_at(&errors[2], 16, 10, "no device `nope`");
    assert_at(&errors[3], 17, 9, "`fortnight` is not a schedule");
    assert_at(&errors[4], 18, 6, "not a time of day");
    assert_at(&errors[5], 21, 6, "defined twice");
    assert_at(&errors[6], 23, 9, "needs `day`");
}

#[test]
fn half_monthly_quarterly_and_yearly_schedules_are_checked_where_they_are_written() {
    let site = format!(
        "{HEADER}
[[tickets.preventive]]
id = \"lift\"
title = \"Lift\"
every = \"half-month\"
day = 16

\
         [[tickets.preventive]]
id = \"fire\"
title = \"Fire\"
every = \"quarter\"
month = 4
day = 1

\
         [[tickets.preventive]]
id = \"annual\"
title = \"Annual\"
every = \"year\"
day = 1

\
         [[tickets.preventive]]
id = \"ok\"
title = \"Fine\"
every = \"quarter\"
day = 31
"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_at(&errors[0], 10, 7, "day must be between 1 and 15");
    assert_at(&errors[1], 16, 9, "month must be between 1 and 3");
    assert_at(&errors[2], 22, 9, "needs `month` (1–12)");
}

#[test]
fn technicians_are_told_on_channels_that_exist_and_reach_a_person() {
    let site = format!(
        "{HEADER}\n[mqtt]\nembedded_listen = \"127.0.0.1:0\"\n\n\
         [alerts.channels.screen]\nkind = \"mqtt\"\n\n\
         [tickets]\nnotify = [\"screen\", \"wecom\"]\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_at(
        &errors[0],
        13,
        11,
        "MQTT channel carries every ticket change",
    );
    assert_at(
        &errors[1],
        13,
        21,
        "no channel `wecom` in [alerts.channels]",
    );
}

#[test]
fn requesters_are_told_by_mail_or_a_gateway_and_return_visits_fall_within_a_year() {
    let site = format!(
        "{HEADER}\n[alerts.channels.team]\nkind = \"wecom\"\nurl = \"http://127.0.0.1:9/wecom\"\n\n\
         [tickets]\ntell_requesters = [\"team\"]\nreturn_visit_after = \"400d\"\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_at(&errors[0], 11, 20, "name an email or webhook channel");
    assert_at(
        &errors[1],
        12,
        22,
        "return_visit_after must be at most 365d",
    );
}

#[test]
fn repeating_schedules_checklists_and_acceptance_waits_are_checked_where_they_are_written() {
    let site = format!(
        "{HEADER}
[[tickets.preventive]]
id = \"a\"
title = \"A\"
every = \"day\"
interval = 2

[[tickets.preventive]]
id = \"b\"
title = \"B\"
every = \"quarter\"
interval = 2
day = 1

[[tickets.preventive]]
id = \"c\"
title = \"C\"
every = \"week\"
weekdays = [\"monday\", \"funday\"]
interval = 60

[[tickets.preventive]]
id = \"d\"
title = \"D\"
every = \"month\"
days = [1, 32]
interval = 3
start = \"2027-02-30\"
checklist = [\"Brakes\", \" \"]

[tickets]
remind_acceptance_after = \"400d\"
accept_by_default_after = \"10s\"
"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 9, "{errors:#?}");
    assert_at(&errors[0], 9, 9, "needs `start` (YYYY-MM-DD)");
    assert_at(
        &errors[1],
        16,
        12,
        "repeats `day`, `week` or `month` schedules only",
    );
    assert_at(&errors[2], 23, 12, "`funday` is not a weekday");
    assert_at(&errors[3], 24, 12, "interval must be between 1 and 52");
    assert_at(&errors[4], 27, 6, "a checklist item is empty");
    assert_at(&errors[5], 30, 8, "day must be between 1 and 31");
    assert_at(&errors[6], 32, 9, "`2027-02-30` is not a date");
    assert_at(&errors[7], 36, 27, "must be at most 365d");
    assert_at(&errors[8], 37, 27, "at least 1m");
}

#[test]
fn a_role_staffed_around_the_clock_with_a_gap_in_its_roster_is_refused_with_the_gap() {
    let site = format!(
        "{HEADER}
[[people]]
id = \"zhao\"
name = \"Zhao\"

[[roster]]
role = \"security\"
person = \"zhao\"
hours = \"08:00-20:00\"

[[roster]]
role = \"security\"
person = \"zhao\"
days = [\"monday\", \"tuesday\", \"wednesday\", \"thursday\", \"friday\", \"saturday\"]
hours = \"20:00-08:00\"

[alerts]
around_the_clock = [\"security\", \"lift-rescue\"]
"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    // No night shift starts on Sunday: Sunday evening and Monday morning are open.
    assert_at(
        &errors[0],
        11,
        8,
        "role `security` is staffed around the clock ([alerts] around_the_clock) but its shifts leave monday 00:00-08:00, sunday 20:00-24:00 uncovered",
    );
    assert_at(
        &errors[1],
        22,
        33,
        "no [[roster]] shift has role `lift-rescue`",
    );
}

#[test]
fn unknown_ticket_setting() {
    let errors = errors(&format!("{HEADER}\n[tickets]\nsla = \"fast\"\n"));
    assert_one(&errors, 7, 1, "unknown field `sla`");
}

#[test]
fn escalation_policies_name_only_known_people_roles_and_channels() {
    let site = format!(
        "{HEADER}\n[[people]]\nid = \"chen\"\nname = \"Chen\"\n\n\
         [alerts.channels.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n\n\
         [alerts.policies.fire]\nrepeat = \"5m\"\nsteps = [\n\
         {{ notify = [\"nobody\"], channels = [\"hook\"], wait = \"1m\" }},\n\
         {{ notify = [\"role:night-duty\"], channels = [\"pager\"], wait = \"0s\" }},\n\
         ]\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert_at(&errors[0], 17, 13, "no person `nobody`");
    assert_at(
        &errors[1],
        18,
        13,
        "no [[roster]] shift has role `night-duty`",
    );
    assert_at(&errors[2], 18, 45, "no channel `pager`");
    assert_at(&errors[3], 18, 62, "wait must be more than zero");
}

#[test]
fn an_unknown_channel_kind_and_a_shift_for_nobody() {
    let site = format!(
        "{HEADER}\n[[roster]]\nrole = \"duty\"\nperson = \"ghost\"\nhours = \"20:00-08:00\"\n\n\
         [alerts.channels.pager]\nkind = \"pigeon\"\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_at(&errors[0], 8, 10, "no person `ghost`");
    assert_at(&errors[1], 12, 8, "`pigeon` is not a channel kind");
}

#[test]
fn a_console_sign_in_needs_an_argon2_hash_and_a_role() {
    let site = format!(
        "{HEADER}\n[[people]]\nid = \"a\"\nname = \"A\"\npassword_hash = \"plain-text\"\nrole = \"engineer\"\n\n\
         [[people]]\nid = \"b\"\nname = \"B\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA\"\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_at(&errors[0], 9, 17, "must be an argon2 hash");
    assert_at(&errors[1], 15, 17, "needs a `role`");
}

#[test]
fn dingtalk_keywords_belong_to_dingtalk_and_number_one_to_ten() {
    let site = format!(
        "{HEADER}\n[alerts.channels.wecom]\nkind = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/x\"\nkeywords = [\"告警\"]\n\n\
         [alerts.channels.ding]\nkind = \"dingtalk\"\nurl = \"https://oapi.dingtalk.com/robot/send?access_token=t\"\nkeywords = []\n"
    );
    let errors = errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_at(&errors[0], 9, 12, "`keywords` is a DingTalk robot setting");
    assert_at(&errors[1], 14, 12, "one to ten keywords");
}

/// A robot's URL carries its key, so it can come from a secret; a missing
/// secret is an error at its position, and a bad secret URL is refused
/// without quoting it.
#[test]
fn channel_urls_from_secrets_are_read_and_never_quoted() {
    let dir = Dir::new();
    std::fs::write(
        dir.0.path().join("robot.url"),
        "ftp://host/send?key=K-LEAK\n",
    )
    .unwrap();
    let site = format!(
        "{HEADER}\n[alerts.channels.robot]\nkind = \"wecom\"\nurl = {{ file = \"robot.url\" }}\n\n\
         [alerts.channels.other]\nkind = \"slack\"\nurl = {{ env = \"SITEWARDEN_TEST_UNSET_URL\" }}\n"
    );
    let errors = dir.errors(&site);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_at(
        &errors[0],
        8,
        7,
        "the URL read from this secret is not an http:// or https:// URL",
    );
    assert!(
        !errors[0].message.contains("K-LEAK"),
        "{}",
        errors[0].message
    );
    assert_at(
        &errors[1],
        12,
        7,
        "environment variable SITEWARDEN_TEST_UNSET_URL is not set",
    );
    // A good one loads.
    std::fs::write(
        dir.0.path().join("robot.url"),
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K\n",
    )
    .unwrap();
    let good = format!(
        "{HEADER}\n[alerts.channels.robot]\nkind = \"wecom\"\nurl = {{ file = \"robot.url\" }}\n"
    );
    let path = dir.0.path().join("site.toml");
    std::fs::write(&path, good).unwrap();
    let catalog = load(&path).unwrap();
    assert_eq!(
        catalog.alerts.channels[0].url.as_deref(),
        Some("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    );
}

#[test]
fn patrol_stations_and_routes_are_checked() {
    let dir = Dir::new();
    std::fs::write(dir.0.path().join("short.key"), "abcd").unwrap();
    let site = format!(
        "{HEADER}\n[[patrol.stations]]\nid = \"lobby\"\ncheckpoint = 300\ngateway = \"gateway-1\"\nkey = {{ file = \"short.key\" }}\n\n\
         [[patrol.routes]]\nid = \"night\"\ncheckpoints = [\"lobby\", \"roof\"]\nevery = \"1m\"\nleg = \"50s\"\nwindow = \"20s\"\n"
    );
    let errors = dir.errors(&site);
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert_at(&errors[0], 8, 14, "checkpoint must be a Modbus unit id");
    assert_at(&errors[1], 9, 11, "not an IP address and port");
    assert_at(&errors[2], 10, 7, "64 hex digits");
    assert_at(&errors[3], 14, 25, "no station `roof`");
    assert_at(&errors[4], 15, 9, "rounds would overlap");
}

#[test]
fn site_wording_is_checked_for_unknown_messages_placeholders_syntax_and_missing_titles() {
    let dir = Dir::new();
    std::fs::write(
        dir.0.path().join("messages.ftl"),
        "alert-class-fire = 火灾\nnotify-when = { $raised } 在 { $sight }\nmade-up = x\nschedule-own-vents = 清洁风口\n",
    )
    .unwrap();
    let pack = dir.0.path().join("own.toml");
    std::fs::write(
        &pack,
        "pack = \"own\"\n\n[[rule]]\nid = \"hot\"\ndescription = \"Too hot\"\nadvice = \"Open a window\"\nkind = \"limit\"\nrole = \"room_temp\"\nlevel = \"high\"\nthreshold = 30.0\nseverity = \"minor\"\ncategory = \"repair\"\naction = \"ticket\"\n\n[[schedule]]\nid = \"vents\"\ntitle = \"Clean the vents\"\nevery = \"month\"\nday = 1\nchecklist = [\"Grilles\"]\n",
    )
    .unwrap();
    let site = format!(
        "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"Asia/Shanghai\"\nlocale = \"zh-CN\"\nmessages = \"messages.ftl\"\n\n[rules]\npacks = [{:?}]\n",
        pack.display().to_string()
    );
    let errors = dir.errors(&site);
    let in_messages: Vec<&ConfigError> = errors
        .iter()
        .filter(|e| e.path.ends_with("messages.ftl"))
        .collect();
    assert_eq!(in_messages.len(), 2, "{errors:#?}");
    assert_at(in_messages[0], 2, 31, "no placeholder `$sight`");
    assert_at(in_messages[1], 3, 1, "`made-up` is not a message");
    let in_site: Vec<&ConfigError> = errors
        .iter()
        .filter(|e| e.path.ends_with("site.toml"))
        .collect();
    assert_eq!(in_site.len(), 1, "{errors:#?}");
    // The pack's schedule speaks the site's language too, or says what is
    // missing where it is (the file with errors is not used, so its
    // `schedule-own-vents` counts as missing; it is a known id, though).
    let in_pack: Vec<&ConfigError> = errors
        .iter()
        .filter(|e| e.path.ends_with("own.toml"))
        .collect();
    assert_eq!(in_pack.len(), 1, "{errors:#?}");
    assert_at(
        in_pack[0],
        16,
        6,
        "schedule `own.vents` has no zh-CN wording: add `schedule-own-vents = …`, `schedule-own-vents-item-1 = …` to",
    );
    assert_at(
        in_site[0],
        5,
        10,
        "rule `own.hot` has no zh-CN wording: add `rule-own-hot = …` and `rule-own-hot-advice = …`",
    );

    let errors = errors_of(
        &dir,
        "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\nlocale = \"fr\"\n",
    );
    assert_one(&errors, 5, 10, "`fr` is not a language sitewarden speaks");
    std::fs::write(dir.0.path().join("messages.ftl"), "broken\n").unwrap();
    let errors = errors_of(
        &dir,
        "[site]\nid = \"s\"\nname = \"S\"\ntime_zone = \"UTC\"\nmessages = \"messages.ftl\"\n",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].path.ends_with("messages.ftl"));
    assert_at(&errors[0], 1, 7, "not a valid Fluent message");
}

fn errors_of(dir: &Dir, site: &str) -> Vec<ConfigError> {
    dir.errors(site)
}

#[test]
fn the_extinguisher_register_is_checked_where_it_is_written() {
    let dir = Dir::new();
    std::fs::write(
        dir.0.path().join("fe.toml"),
        "[[extinguisher]]\nid = \"FE-01\"\nlocation = \"Hall\"\nkind = \"dry_powder\"\ncapacity = \"4 kg\"\nmanufactured = \"May 2022\"\n\n\
         [[extinguisher]]\nid = \"FE-01\"\nlocation = \"Hall\"\nkind = \"dry_powder\"\ncapacity = \"4 kg\"\nmanufactured = \"2022-05\"\nexpiry = \"2020-01-01\"\n\n\
         [[extinguisher]]\nid = \"FE-03\"\nlocation = \"Kitchen\"\nkind = \"foam\"\ncapacity = \"6 L\"\nmanufactured = \"2022-05\"\n",
    )
    .unwrap();
    let e = dir.errors(&format!(
        "{HEADER}\n[tickets]\nextinguishers = \"fe.toml\"\n"
    ));
    // The unknown kind stops parsing the file: the first error serde finds.
    assert_one(&e, 19, 8, "unknown variant `foam`");
    assert!(e[0].path.ends_with("fe.toml"), "{e:#?}");
    std::fs::write(
        dir.0.path().join("fe.toml"),
        "[[extinguisher]]\nid = \"FE-01\"\nlocation = \"Hall\"\nkind = \"dry_powder\"\ncapacity = \"4 kg\"\nmanufactured = \"May 2022\"\n\n\
         [[extinguisher]]\nid = \"FE-01\"\nlocation = \"Hall\"\nkind = \"dry_powder\"\ncapacity = \"4 kg\"\nmanufactured = \"2022-05\"\nexpiry = \"2020-01-01\"\n",
    )
    .unwrap();
    let e = dir.errors(&format!(
        "{HEADER}\n[tickets]\nextinguishers = \"fe.toml\"\n"
    ));
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_at(
        &e[0],
        6,
        16,
        "manufactured `May 2022` is not a month (YYYY-MM) or a date",
    );
    assert_at(&e[1], 9, 6, "extinguisher `FE-01` is listed twice");
    assert_at(
        &e[2],
        14,
        10,
        "expiry 2020-01-01 is not after manufacture 2022-05-01",
    );
    let e = dir.errors(&format!(
        "{HEADER}\n[tickets]\nextinguishers = \"missing.toml\"\n"
    ));
    assert_one(&e, 7, 17, "cannot read the extinguisher register");
}
