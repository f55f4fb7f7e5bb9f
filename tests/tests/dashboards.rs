//! The Grafana dashboards: every file parses and uses the provisioned
//! datasource with unique ids, and every panel's InfluxQL query runs on a
//! real InfluxDB after a simulator run and returns data, unless the panel
//! says it is filled in by a later stage.

use std::collections::BTreeSet;
use std::time::Duration;

use site_sim::{SimOptions, Step};
use sitewarden_tests::{InfluxV1, SiteDir, load, repo_root, start_daemon, start_sim};

const DATASOURCE_UID: &str = "sitewarden-influx";

fn dashboards() -> Vec<(String, serde_json::Value)> {
    let mut out: Vec<(String, serde_json::Value)> =
        std::fs::read_dir(repo_root().join("dashboards"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                let json = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} does not parse: {e}", p.display()));
                (p.file_name().unwrap().to_string_lossy().into_owned(), json)
            })
            .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Panels a later stage fills (tickets, alerts, patrols) may be empty today.
fn may_be_empty(panel: &serde_json::Value) -> bool {
    panel["description"]
        .as_str()
        .is_some_and(|d| d.starts_with("Filled in once"))
}

#[test]
fn dashboards_parse_use_the_provisioned_datasource_and_have_unique_ids() {
    let provisioning = std::fs::read_to_string(
        repo_root().join("dashboards/provisioning/datasources/sitewarden.yaml"),
    )
    .unwrap();
    assert!(provisioning.contains(&format!("uid: {DATASOURCE_UID}")));
    let all = dashboards();
    assert_eq!(all.len(), 6, "expected six dashboards");
    let mut uids = BTreeSet::new();
    for (file, d) in &all {
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_owned()),
            "{file}: duplicate uid"
        );
        let vars: Vec<&str> = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert!(vars.contains(&"site"), "{file}: no site variable");
        let mut ids = BTreeSet::new();
        for panel in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(panel["id"].as_i64().unwrap()),
                "{file}: duplicate panel id"
            );
            assert_eq!(
                panel["datasource"]["uid"], DATASOURCE_UID,
                "{file}: {}",
                panel["title"]
            );
            for target in panel["targets"].as_array().unwrap() {
                assert_eq!(
                    target["datasource"]["uid"], DATASOURCE_UID,
                    "{file}: {}",
                    panel["title"]
                );
                let query = target["query"].as_str().unwrap();
                assert!(
                    query.contains("$site"),
                    "{file}: {} is not filtered by site",
                    panel["title"]
                );
            }
        }
    }
}

fn substitute(query: &str, site: &str) -> String {
    query
        .replace("$site", site)
        .replace("$device", ".*")
        .replace("$timeFilter", "time > now() - 1h")
        .replace("$__interval", "1s")
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
    ];
    let sim = start_sim(&site, &kinds, SimOptions::default())
        .await
        .unwrap();
    let packs: Vec<String> = ["hvac", "lighting", "fire", "security"]
        .iter()
        .map(|p| {
            format!(
                "{:?}",
                repo_root()
                    .join(format!("config/standards/{p}.toml"))
                    .display()
                    .to_string()
            )
        })
        .collect();
    // Tight service levels, so the ticket the clogged filter opens misses one.
    let mut config = format!(
        "[tickets.service_levels.p2]\nresponse = \"1s\"\nresolution = \"1h\"\n\n[sinks.influx]\nurl = \"http://{}\"\nbucket = \"sitewarden\"\nflush_interval = \"200ms\"\nreport_min_interval = \"0s\"\n\n[rules]\npacks = [{}]\n",
        influx.adapter,
        packs.join(", ")
    );
    for rule in [
        "hvac.filter_dp_high",
        "lighting.on_while_closed",
        "lighting.off_while_open",
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
    let catalog = load(&site.site(&config).unwrap());
    let daemon = start_daemon(catalog, &site, 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    for step in [
        "device = \"fire-panel-1\"\naction = \"fire_alarm\"\nzone = \"3\"",
        "device = \"access-1\"\naction = \"force_door\"\nzone = \"door-2\"",
        "device = \"ahu-1\"\naction = \"set\"\npoint = \"filter_dp\"\nvalue = 300",
        // Off during opening hours, or the others on while closed: a schedule breach either way.
        "device = \"lighting-1\"\naction = \"set\"\npoint = \"circuit4_on\"\nvalue = 0",
    ] {
        sim.apply(&toml::from_str::<Step>(step).unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    walk_the_filter_ticket(&daemon).await;
    acknowledge_the_fire(&daemon).await;
    daemon.stop().await;

    let site_id = "test-site";
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, d) in dashboards() {
        for var in d["templating"]["list"].as_array().unwrap() {
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
                    Ok(a) if has_rows(&a) || may_be_empty(panel) => {}
                    Ok(_) => failures.push(format!("{file}: {}: no data for {q}", panel["title"])),
                    Err(e) => failures.push(format!("{file}: {}: {e}", panel["title"])),
                }
            }
        }
    }
    assert!(checked >= 25, "only {checked} queries");
    assert!(failures.is_empty(), "{failures:#?}");
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
