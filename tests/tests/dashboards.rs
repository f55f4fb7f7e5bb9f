//! The Grafana dashboards: every file parses and uses the provisioned
//! datasource with unique ids, and every panel's InfluxQL query runs on a
//! real InfluxDB after a simulator run with a patrol round walked, returns
//! data, and for a few panels of each dashboard the very numbers the run
//! produced (the fire zone in alarm, the filter pressure set, the alerts
//! and tickets the API lists, the rounds the guard walked).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use checkpoint_fw::station::Tap;
use site_sim::{SimOptions, Step};
use sitewarden_tests::{
    InfluxV1, SiteDir, checkpoint_station, http, load, repo_root, start_daemon, start_sim,
};

/// The dashboards under `dashboards/` (InfluxQL, and the daemon's health
/// in PromQL) and `dashboards/victoriametrics/` (MetricsQL), by relative path.
fn dashboards() -> Vec<(String, serde_json::Value)> {
    let root = repo_root().join("dashboards");
    let mut out: Vec<(String, serde_json::Value)> = ["", "victoriametrics"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", p.display()));
            let name = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, json)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The datasource type a dashboard is written for (`influxdb`, `prometheus`).
fn plugin(d: &serde_json::Value) -> &str {
    d["__inputs"][0]["pluginId"].as_str().unwrap_or_default()
}

#[test]
fn dashboards_import_through_the_ui_and_provision_from_files() {
    let all = dashboards();
    assert_eq!(all.len(), 11, "expected eleven dashboards");
    let mut uids = BTreeSet::new();
    for (file, d) in &all {
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_owned()),
            "{file}: duplicate uid"
        );
        // UI import asks for the datasource named in __inputs and puts it
        // into the `datasource` variable; provisioning falls back to the
        // first datasource of the type.
        let kind = plugin(d);
        assert!(["influxdb", "prometheus"].contains(&kind), "{file}: {kind}");
        assert_eq!(d["__inputs"][0]["type"], "datasource", "{file}");
        let input = format!("${{{}}}", d["__inputs"][0]["name"].as_str().unwrap());
        let vars = d["templating"]["list"].as_array().unwrap();
        assert_eq!(vars[0]["type"], "datasource", "{file}: first variable");
        assert_eq!(vars[0]["name"], "datasource", "{file}");
        assert_eq!(vars[0]["query"], kind, "{file}");
        assert_eq!(vars[0]["current"]["value"], input, "{file}");
        assert!(
            vars.iter().any(|v| v["name"] == "site"),
            "{file}: no site variable"
        );
        let wanted = serde_json::json!({"type": kind, "uid": "${datasource}"});
        let mut ids = BTreeSet::new();
        for panel in d["panels"].as_array().unwrap() {
            let title = &panel["title"];
            assert!(
                ids.insert(panel["id"].as_i64().unwrap()),
                "{file}: duplicate panel id"
            );
            assert_eq!(panel["datasource"], wanted, "{file}: {title}");
            for target in panel["targets"].as_array().unwrap() {
                assert_eq!(target["datasource"], wanted, "{file}: {title}");
                let query = target["query"]
                    .as_str()
                    .or(target["expr"].as_str())
                    .unwrap();
                assert!(
                    query.contains("$site"),
                    "{file}: {title} is not filtered by site"
                );
                assert!(
                    !query.contains("time(1d)") || query.contains("tz('$tz')"),
                    "{file}: {title}: daily figures are the site's local days (tz('$tz'))"
                );
            }
        }
        for mark in d["annotations"]["list"].as_array().into_iter().flatten() {
            if mark["builtIn"] == 1 {
                continue;
            }
            assert_eq!(mark["datasource"], wanted, "{file}: {}", mark["name"]);
            assert!(mark["query"].as_str().unwrap().contains("$site"));
        }
    }
}

#[test]
fn binary_states_are_drawn_as_state_timelines() {
    let all = dashboards();
    let kind = |file: &str, title: &str| {
        let (_, d) = all.iter().find(|(f, _)| f == file).unwrap();
        d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no {title} in {file}"))["type"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (file, title) in [
        ("fire-security.json", "Fire zones in alarm"),
        ("fire-security.json", "Doors forced, held open, opened"),
        ("hvac.json", "Fan and compressor running"),
        (
            "lighting-energy.json",
            "Circuits on (against opening hours)",
        ),
        ("building.json", "Lifts: in service"),
    ] {
        assert_eq!(kind(file, title), "state-timeline", "{file}: {title}");
    }
    assert_eq!(kind("hvac.json", "Supply and return air"), "timeseries");
}

/// `scripts/check_dashboards.py` with the test environment's Python (which
/// has `jsonschema`): its exit status and what it printed.
fn schema_check(dir: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(sitewarden_tests::python())
        .arg(repo_root().join("scripts/check_dashboards.py"))
        .arg(dir)
        .output()
        .expect("running scripts/check_dashboards.py");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn every_dashboard_follows_the_grafana_dashboard_schema() {
    let (ok, text) = schema_check(&repo_root().join("dashboards"));
    assert!(ok, "{text}");
    assert!(text.contains("11 dashboards"), "{text}");
    // The check can fail: a threshold step without a colour and a panel
    // without a grid position are refused, each named with its file.
    let broken = tempfile::tempdir().unwrap();
    let (_, mut d) = dashboards()
        .into_iter()
        .find(|(f, _)| f == "hvac.json")
        .unwrap();
    d["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]
        .as_object_mut()
        .unwrap()
        .remove("color");
    d["panels"][2].as_object_mut().unwrap().remove("gridPos");
    std::fs::write(broken.path().join("hvac.json"), d.to_string()).unwrap();
    let (ok, text) = schema_check(broken.path());
    assert!(!ok, "a broken dashboard passed: {text}");
    assert!(text.contains("hvac.json"), "{text}");
    assert!(text.contains("color"), "{text}");
    assert!(text.contains("gridPos"), "{text}");
}

/// The colours of a panel's thresholds from the bottom up, by title.
fn threshold_colours(file: &str, title: &str) -> Vec<String> {
    let (_, d) = dashboards()
        .into_iter()
        .find(|(f, _)| f == file)
        .unwrap_or_else(|| panic!("no {file}"));
    let panel = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel {title} in {file}"))
        .clone();
    panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["color"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_low_limit_is_coloured_bad_below_it_and_a_high_limit_above_it() {
    // Sprinkler pressure is bad when it falls: red, orange, then green.
    assert_eq!(
        threshold_colours("fire-security.json", "Sprinkler pipe pressure"),
        ["red", "orange", "green"]
    );
    assert_eq!(
        threshold_colours("building.json", "Light level"),
        ["orange", "green"]
    );
    // The filter is bad when it rises.
    assert_eq!(
        threshold_colours("hvac.json", "Filter differential pressure"),
        ["green", "orange", "red"]
    );
    assert_eq!(
        threshold_colours("building.json", "Room temperature"),
        ["blue", "green", "orange"]
    );
}

fn substitute(query: &str, site: &str) -> String {
    query
        .replace("$site", site)
        .replace("$device", ".*")
        .replace("$timeFilter", "time > now() - 1h")
        .replace("$__interval", "1s")
        .replace("$tz", SITE_ZONE)
}

/// The zone the dashboards' `tz` variable is set to here: daily buckets
/// must start at the site's local midnight, not UTC's.
const SITE_ZONE: &str = "Asia/Shanghai";

/// For a daily query, every bucket's time as InfluxDB returns it must be
/// a local midnight in [`SITE_ZONE`] (`…T00:00:00+08:00`).
fn daily_buckets_are_local_days(query: &str, answer: &serde_json::Value) -> Result<(), String> {
    if !query.contains("time(1d)") {
        return Ok(());
    }
    let series = answer["results"][0]["series"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for s in series {
        for row in s["values"].as_array().cloned().unwrap_or_default() {
            let time = row[0].as_str().unwrap_or_default();
            if !time.ends_with("T00:00:00+08:00") {
                return Err(format!(
                    "a daily bucket starts at {time}, not a local midnight"
                ));
            }
        }
    }
    Ok(())
}

fn has_rows(answer: &serde_json::Value) -> bool {
    answer["results"][0]["series"]
        .as_array()
        .is_some_and(|s| !s.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_runs_on_influxdb_and_returns_data() {
    let influx = InfluxV1::start("sitewarden").await.unwrap();
    let site = SiteDir::new().unwrap();
    let kinds = [
        ("ahu-1", "ahu"),
        ("lighting-1", "lighting-panel"),
        ("access-1", "access-control"),
        ("fire-panel-1", "fire-panel"),
        ("lift-1", "lift-controller"),
        ("carpark-1", "car-park"),
        ("room-1", "room-sensor"),
        ("meter-1", "energy-meter"),
    ];
    let sim = start_sim(&site, &kinds, SimOptions::default())
        .await
        .unwrap();
    let packs = sitewarden_tests::shipped_packs(&[
        "hvac", "lighting", "fire", "security", "lifts", "carpark", "comfort",
    ]);
    // Tight service levels, so the ticket the clogged filter opens misses one.
    let mut config = format!(
        "[tickets.service_levels.p2]\nresponse = \"1s\"\nresolution = \"1h\"\n\n[sinks.influx]\nurl = \"http://{}\"\nbucket = \"sitewarden\"\nflush_interval = \"200ms\"\nreport_min_interval = \"0s\"\nsnapshot_every = \"1s\"\n\n[rules]\npacks = [{}]\n",
        influx.adapter, packs
    );
    for rule in [
        "hvac.filter_dp_high",
        "lighting.on_while_closed",
        "lighting.off_while_open",
        "carpark.guidance_fault",
    ] {
        config.push_str(&format!(
            "\n[[rules.overrides]]\nrule = \"{rule}\"\non_delay = \"0s\"\noff_delay = \"0s\"\n"
        ));
    }
    for (id, profile) in kinds {
        config.push_str(&format!(
            "\n[[devices]]\nid = \"{id}\"\nprofile = \"{profile}\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"200ms\"\n",
            sim.addr(id).unwrap()
        ));
    }
    // Two checkpoints on a round every 10 s, 2 s apart.
    let key = [0x44u8; 32];
    let stations = [
        checkpoint_station(1, key).await,
        checkpoint_station(2, key).await,
    ];
    site.write("keys/cp.key", &"44".repeat(32)).unwrap();
    for (i, s) in stations.iter().enumerate() {
        config.push_str(&format!(
            "\n[[patrol.stations]]\nid = \"cp{n}\"\ncheckpoint = {n}\ngateway = \"{}\"\nkey = {{ file = \"keys/cp.key\" }}\npoll_interval = \"200ms\"\n",
            s.addr,
            n = i + 1
        ));
    }
    config.push_str(
        "\n[[patrol.guards]]\nid = \"wang.lei\"\nname = \"Wang Lei\"\nbadges = [\"04A1B2C3\"]\n\n\
         [[patrol.routes]]\nid = \"night\"\ncheckpoints = [\"cp1\", \"cp2\"]\nevery = \"10s\"\nleg = \"2s\"\nwindow = \"1s\"\n",
    );
    let catalog = load(&site.site(&config).unwrap());
    let daemon = start_daemon(catalog, &site, 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    for step in [
        "device = \"fire-panel-1\"\naction = \"fire_alarm\"\nzone = \"3\"",
        "device = \"access-1\"\naction = \"force_door\"\nzone = \"door-2\"",
        "device = \"ahu-1\"\naction = \"set\"\npoint = \"filter_dp\"\nvalue = 300",
        // Off during opening hours, or the others on while closed: a schedule breach either way.
        "device = \"lighting-1\"\naction = \"set\"\npoint = \"circuit4_on\"\nvalue = 0",
        "device = \"carpark-1\"\naction = \"set\"\npoint = \"guidance_fault\"\nvalue = 1",
    ] {
        sim.apply(&toml::from_str::<Step>(step).unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    walk_the_filter_ticket(&daemon).await;
    acknowledge_the_fire(&daemon).await;
    walk_a_round(&daemon, &stations).await;
    let api = Api::read(daemon.api_addr);
    daemon.stop().await;

    let site_id = "test-site";
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut compared = 0;
    for (file, d) in dashboards()
        .into_iter()
        .filter(|(_, d)| plugin(d) == "influxdb")
    {
        for mark in d["annotations"]["list"].as_array().unwrap() {
            let Some(query) = mark["query"].as_str() else {
                continue;
            };
            match influx.query(&substitute(query, site_id)) {
                Ok(a) if has_rows(&a) => {}
                other => failures.push(format!("{file}: annotation {}: {other:?}", mark["name"])),
            }
        }
        for var in d["templating"]["list"].as_array().unwrap() {
            if var["type"] == "textbox" || var["type"] == "datasource" {
                continue;
            }
            let q = substitute(var["query"].as_str().unwrap(), site_id);
            match influx.query(&q) {
                Ok(a) if has_rows(&a) => {}
                other => failures.push(format!("{file}: variable {}: {other:?}", var["name"])),
            }
        }
        for panel in d["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let q = substitute(target["query"].as_str().unwrap(), site_id);
                checked += 1;
                match influx.query(&q) {
                    Ok(a) if a["results"][0]["error"].is_string() => failures.push(format!(
                        "{file}: {}: InfluxDB error {}",
                        panel["title"], a["results"][0]["error"]
                    )),
                    Ok(a) if has_rows(&a) => {
                        let title = panel["title"].as_str().unwrap_or_default();
                        if let Err(wrong) = daily_buckets_are_local_days(&q, &a) {
                            failures.push(format!("{file}: {title}: {wrong}"));
                        } else if let Err(wrong) = api.check(&file, title, &a) {
                            failures.push(format!("{file}: {title}: {wrong}"));
                        } else if api.has_check(&file, title) {
                            compared += 1;
                        }
                    }
                    Ok(_) => failures.push(format!("{file}: {}: no data for {q}", panel["title"])),
                    Err(e) => failures.push(format!("{file}: {}: {e}", panel["title"])),
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} queries");
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        compared,
        Api::CHECKED.len(),
        "panels whose values were compared"
    );
}

/// The guard walks the next whole round on time, and it is done.
async fn walk_a_round(
    daemon: &sitewarden::daemon::RunningDaemon,
    stations: &[site_sim::checkpoint::RunningCheckpoint; 2],
) {
    let badge = [0x04, 0xA1, 0xB2, 0xC3];
    let now = jiff::Timestamp::now().as_millisecond();
    let next = (now / 10_000 + 1) * 10_000;
    tokio::time::sleep(Duration::from_millis((next - now) as u64 + 200)).await;
    assert!(matches!(stations[0].tap(&badge), Tap::Recorded(_)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(matches!(stations[1].tap(&badge), Tap::Recorded(_)));
    let rounds = || {
        http(
            daemon.api_addr,
            "GET",
            "/api/v1/patrol/rounds?route=night",
            None,
            None,
        )
        .unwrap()
        .1
    };
    let walked = || {
        rounds()
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["status"] == "done" && r["completion"] == 1.0)
    };
    // The review runs every second; the wait allows for a loaded CI machine.
    assert!(
        sitewarden_tests::wait_until(Duration::from_secs(10), walked).await,
        "the walked round (started {next} ms) is not done: {:#}",
        rounds()
    );
    // Its record reaches InfluxDB with the next flush.
    tokio::time::sleep(Duration::from_millis(600)).await;
}

/// What the daemon's API says about the run, for comparing panel values.
struct Api {
    alerts_by_class: BTreeMap<String, f64>,
    tickets_by_priority: BTreeMap<String, f64>,
    rounds: Vec<serde_json::Value>,
}

/// One series of an InfluxQL answer: its tags, and the first value column of each row.
type Series = (BTreeMap<String, String>, Vec<Option<f64>>);

/// The series of an InfluxQL answer.
fn series(answer: &serde_json::Value) -> Vec<Series> {
    answer["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let tags = s["tags"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let values = s["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| row[1].as_f64())
                .collect();
            (tags, values)
        })
        .collect()
}

/// The values of the series whose tag `key` is `value`, nulls left out.
fn values_where(answer: &serde_json::Value, key: &str, value: &str) -> Vec<f64> {
    series(answer)
        .into_iter()
        .filter(|(tags, _)| tags.get(key).is_some_and(|v| v == value))
        .flat_map(|(_, values)| values.into_iter().flatten())
        .collect()
}

/// Sum per value of tag `key`.
fn sums_by(answer: &serde_json::Value, key: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (tags, values) in series(answer) {
        let sum: f64 = values.into_iter().flatten().sum();
        *out.entry(tags.get(key).cloned().unwrap_or_default())
            .or_default() += sum;
    }
    out
}

/// The first row's two columns after the time, of the first series.
fn first_two_columns(answer: &serde_json::Value) -> (Option<f64>, Option<f64>) {
    let row = &answer["results"][0]["series"][0]["values"][0];
    (row[1].as_f64(), row[2].as_f64())
}

/// `got == want`, or a message saying what differs.
fn expect<T: std::fmt::Debug + PartialEq>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got:?}, expected {want:?}"))
    }
}

impl Api {
    /// (dashboard, panel) whose values are compared.
    const CHECKED: [(&str, &str); 12] = [
        (
            "portfolio.json",
            "Sites: devices online, open work, last report",
        ),
        ("portfolio.json", "Life-safety alerts in the last 24 h"),
        ("portfolio.json", "Requester satisfaction by site"),
        ("fire-security.json", "Fire zones in alarm"),
        ("fire-security.json", "Time to acknowledge an alert"),
        ("hvac.json", "Filter differential pressure"),
        (
            "lighting-energy.json",
            "Circuits on (against opening hours)",
        ),
        ("patrols.json", "Rounds"),
        ("patrols.json", "Missed checkpoints per day"),
        ("site-overview.json", "Alerts raised by class"),
        ("site-overview.json", "Tickets opened by priority"),
        ("tickets.json", "Ticket events per hour"),
    ];

    fn read(addr: std::net::SocketAddr) -> Self {
        let get = |path: &str| http(addr, "GET", path, None, None).unwrap().1;
        let count_by = |list: &serde_json::Value, key: &str| {
            let mut out = BTreeMap::new();
            for item in list.as_array().into_iter().flatten() {
                *out.entry(item[key].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1.0;
            }
            out
        };
        Self {
            alerts_by_class: count_by(&get("/api/v1/alerts?limit=1000")["alerts"], "class"),
            tickets_by_priority: count_by(
                &get("/api/v1/tickets?limit=1000")["tickets"],
                "priority",
            ),
            rounds: get("/api/v1/patrol/rounds?route=night")
                .as_array()
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn has_check(&self, file: &str, title: &str) -> bool {
        Self::CHECKED.contains(&(file, title))
    }

    /// Compares a panel's answer with what the run did, where a check exists.
    fn check(&self, file: &str, title: &str, a: &serde_json::Value) -> Result<(), String> {
        let max = |v: Vec<f64>| v.into_iter().fold(f64::NAN, f64::max);
        match (file, title) {
            ("fire-security.json", "Fire zones in alarm") => {
                expect("zone 3", max(values_where(a, "point", "zone3_alarm")), 1.0)?;
                expect("zone 1", max(values_where(a, "point", "zone1_alarm")), 0.0)
            }
            ("fire-security.json", "Time to acknowledge an alert") => {
                let fire = values_where(a, "class", "fire");
                if fire.len() == 1 && fire[0] >= 0.0 && fire[0] < 60.0 {
                    Ok(())
                } else {
                    Err(format!(
                        "one fire acknowledged within a minute, got {fire:?}"
                    ))
                }
            }
            ("hvac.json", "Filter differential pressure") => expect(
                "highest filter pressure",
                max(values_where(a, "point", "filter_dp")),
                300.0,
            ),
            ("lighting-energy.json", "Circuits on (against opening hours)") => {
                let circuit4 = values_where(a, "point", "circuit4_on");
                expect("circuit 4 at the end", circuit4.last().copied(), Some(0.0))
            }
            ("patrols.json", "Rounds") => expect(
                "completion of the last round",
                values_where(a, "route", "night").last().copied(),
                Some(1.0),
            ),
            ("patrols.json", "Missed checkpoints per day") => {
                let missed: f64 = self
                    .rounds
                    .iter()
                    .filter(|r| r["status"] == "done")
                    .flat_map(|r| r["checkpoints"].as_array().cloned().unwrap_or_default())
                    .filter(|c| c["verdict"] == "missed")
                    .count() as f64;
                expect(
                    "missed checkpoints",
                    values_where(a, "route", "night").iter().sum::<f64>(),
                    missed,
                )
            }
            // Columns: time, devices online, devices; every simulated device answers.
            ("portfolio.json", "Sites: devices online, open work, last report") => expect(
                "devices online and devices",
                first_two_columns(a),
                (Some(8.0), Some(8.0)),
            ),
            ("portfolio.json", "Life-safety alerts in the last 24 h") => expect(
                "life-safety alerts by class",
                sums_by(a, "class"),
                self.alerts_by_class
                    .iter()
                    .filter(|(class, _)| {
                        sitewarden::vocab::AlertClass::parse(class)
                            .is_some_and(|c| c.is_life_safety())
                    })
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
            ),
            // Columns: time, mean score, answers; the accepted filter repair scored 4.
            ("portfolio.json", "Requester satisfaction by site") => expect(
                "satisfaction and answers",
                first_two_columns(a),
                (Some(4.0), Some(1.0)),
            ),
            ("site-overview.json", "Alerts raised by class") => expect(
                "alerts by class",
                sums_by(a, "class"),
                self.alerts_by_class.clone(),
            ),
            ("site-overview.json", "Tickets opened by priority") => expect(
                "tickets by priority",
                sums_by(a, "priority"),
                self.tickets_by_priority.clone(),
            ),
            ("tickets.json", "Ticket events per hour") => {
                let accepted: f64 = values_where(a, "event", "accept").iter().sum();
                expect("acceptances", accepted, 1.0)
            }
            _ => Ok(()),
        }
    }
}

/// Takes the clogged-filter ticket past its response target and through to acceptance.
async fn walk_the_filter_ticket(daemon: &sitewarden::daemon::RunningDaemon) {
    use sitewarden::tickets::Action;
    use sitewarden::tickets::store::{ListFilter, TransitionRequest};
    let filter = ListFilter {
        device: Some("ahu-1".into()),
        limit: 10,
        ..ListFilter::default()
    };
    let tickets = daemon.tickets.store.list(&filter).unwrap();
    let ticket = tickets
        .iter()
        .find(|t| t.rule.as_deref() == Some("hvac.filter_dp_high"))
        .expect("the clogged filter opened no ticket");
    daemon.tickets.check_service_levels().await.unwrap();
    for action in [
        Action::Dispatch,
        Action::Start,
        Action::Resolve,
        Action::Accept,
    ] {
        let request = TransitionRequest {
            action,
            actor: "test".into(),
            assignee: Some("li.wei".into()),
            note: None,
            score: (action == Action::Accept).then_some(4),
        };
        daemon.tickets.transition(ticket.id, request).await.unwrap();
    }
}

/// Acknowledges the fire alarm's alert, for the time-to-acknowledge panel.
async fn acknowledge_the_fire(daemon: &sitewarden::daemon::RunningDaemon) {
    let filter = sitewarden::alerts::store::AlertFilter {
        limit: 10,
        ..Default::default()
    };
    let alerts = daemon.alerts.store.list(&filter).unwrap();
    let fire = alerts
        .iter()
        .find(|a| a.rule.as_deref() == Some("fire.fire_alarm"))
        .expect("the fire alarm raised no alert");
    daemon
        .alerts
        .acknowledge(fire.id, "test".into(), None)
        .await
        .unwrap();
}
