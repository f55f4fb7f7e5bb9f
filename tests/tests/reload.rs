//! Reloading the configuration with SIGHUP, in the daemon's own process:
//! an edit with errors is refused with their positions and the running
//! configuration kept; a good edit adds a device and changes a rule's
//! threshold while a fire alert escalates and a condition waits out its
//! on-delay — nothing lost, nothing raised twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use site_sim::Step;
use sitewarden_tests::{
    HttpReceiver, SiteDir, free_port, frozen, http, shipped_packs, start_sim, wait_until,
};

/// The site file: `extra_device` adds the second AHU, `threshold` sets the
/// filter limit; the filter's on-delay is 8 s, the fire policy repeats every second.
fn site_text(
    api: u16,
    hook: std::net::SocketAddr,
    sim: &site_sim::RunningSite,
    extra_device: &str,
    threshold: f64,
) -> String {
    format!(
        r#"[site]
id = "reload-site"
name = "Reload"
time_zone = "UTC"

[api]
listen = "127.0.0.1:{api}"

[rules]
packs = [{packs}]

[[rules.overrides]]
rule = "hvac.filter_dp_high"
threshold = {threshold}
on_delay = "8s"

[[people]]
id = "engineer"
name = "Chen Jing"

[alerts.channels.hook]
kind = "webhook"
url = "http://{hook}/hook"

[alerts.policies.fire]
repeat = "1s"
steps = [{{ notify = ["engineer"], channels = ["hook"], wait = "1s" }}]

[alerts.policies.default]
repeat = "60s"
steps = [{{ notify = ["engineer"], channels = ["hook"], wait = "60s" }}]

[[devices]]
id = "ahu-1"
profile = "ahu"
transport = {{ kind = "modbus-tcp", host = "{ahu1}" }}
poll_interval = "200ms"

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{fire}" }}
poll_interval = "200ms"
{extra_device}"#,
        packs = shipped_packs(&["hvac", "fire"]),
        ahu1 = sim.addr("ahu-1").unwrap(),
        fire = sim.addr("fire-panel-1").unwrap(),
    )
}

struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn get(api: std::net::SocketAddr, path: &str) -> serde_json::Value {
    http(api, "GET", path, None, None)
        .map(|(_, body)| body)
        .unwrap_or(serde_json::Value::Null)
}

fn set(sim: &site_sim::RunningSite, device: &str, point: &str, value: f64) {
    let text =
        format!("device = \"{device}\"\naction = \"set\"\npoint = \"{point}\"\nvalue = {value}");
    sim.apply(&toml::from_str::<Step>(&text).unwrap());
}

fn fire_alerts(api: std::net::SocketAddr) -> Vec<serde_json::Value> {
    get(api, "/api/v1/alerts")["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["rule"] == "fire.fire_alarm")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_edit_is_refused_with_positions_and_a_good_one_applies_with_nothing_lost_or_raised_twice()
 {
    let hook = HttpReceiver::start(0).await.unwrap();
    let site = SiteDir::new().unwrap();
    let devices = [
        ("ahu-1", "ahu"),
        ("fire-panel-1", "fire-panel"),
        ("ahu-2", "ahu"),
    ];
    let sim = start_sim(&site, &devices, frozen()).await.unwrap();
    set(&sim, "ahu-1", "supply_air_temp", 16.0);
    let port = free_port();
    let api: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let path = site
        .write("site.toml", &site_text(port, hook.addr, &sim, "", 250.0))
        .unwrap();
    let log = site.dir.path().join("daemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(&path)
        .arg(site.dir.path().join("data"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let daemon = Daemon { child, log };
    assert!(
        wait_until(Duration::from_secs(20), || get(api, "/healthz")["status"]
            == "ok")
        .await,
        "the daemon did not come up: {}",
        daemon.log()
    );
    let first = get(api, "/healthz")["config"].clone();
    assert_eq!(first["digest"].as_str().unwrap().len(), 64, "{first}");
    assert!(first["refused"].is_null(), "{first}");

    // A fire escalates; the filter clogs and waits out its 8 s on-delay.
    set(&sim, "fire-panel-1", "zone1_alarm", 1.0);
    assert!(
        wait_until(Duration::from_secs(10), || fire_alerts(api)
            .first()
            .is_some_and(|a| a["notifications"].as_i64() >= Some(2)))
        .await,
        "the fire does not escalate: {:?}",
        fire_alerts(api)
    );
    set(&sim, "ahu-1", "filter_dp", 300.0);
    let filter = || get(api, "/api/v1/conditions?rule=hvac.filter_dp_high");
    assert!(
        wait_until(Duration::from_secs(5), || filter()["active"][0]["state"]
            == "pending")
        .await,
        "{}",
        filter()
    );
    let pending_since = Instant::now();

    // An edit with a mistake: refused where it is, the old configuration runs on.
    let broken = site_text(
        port,
        hook.addr,
        &sim,
        "\n[[devices]]\nid = \"ahu-2\"\nprofile = \"ahu\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:1\" }\npoll_interval = \"1ms\"\n",
        250.0,
    );
    std::fs::write(&path, &broken).unwrap();
    daemon.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(5), || {
            !get(api, "/healthz")["config"]["refused"].is_null()
        })
        .await,
        "{}",
        daemon.log()
    );
    let refused = get(api, "/healthz")["config"].clone();
    assert_eq!(refused["digest"], first["digest"], "{refused}");
    let line = broken
        .lines()
        .position(|l| l.starts_with("poll_interval = \"1ms\""))
        .unwrap()
        + 1;
    let errors = refused["refused"]["errors"].to_string();
    assert!(
        errors.contains(&format!(
            "site.toml:{line}:17: poll_interval 1ms is out of range"
        )),
        "{errors}"
    );
    assert!(
        daemon
            .log()
            .contains("configuration refused: poll_interval 1ms is out of range"),
        "{}",
        daemon.log()
    );
    assert_eq!(
        get(api, "/api/v1/devices").as_array().map(Vec::len),
        Some(2)
    );

    // The good edit: a second AHU, and the filter limit moved (still under 300 Pa).
    let good = site_text(
        port,
        hook.addr,
        &sim,
        &format!(
            "\n[[devices]]\nid = \"ahu-2\"\nprofile = \"ahu\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"200ms\"\n",
            sim.addr("ahu-2").unwrap()
        ),
        280.0,
    );
    std::fs::write(&path, &good).unwrap();
    let notified_before = fire_alerts(api)[0]["notifications"].as_i64().unwrap();
    daemon.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(10), || {
            let config = get(api, "/healthz")["config"].clone();
            config["digest"] != first["digest"] && config["refused"].is_null()
        })
        .await,
        "{}",
        daemon.log()
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            get(api, "/api/v1/devices")
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["id"] == "ahu-2" && d["state"] == "online")
        })
        .await,
        "the new AHU is not polled: {}",
        get(api, "/api/v1/devices")
    );
    // The pending filter kept its on-delay: raised about 8 s after it began, once.
    assert!(
        wait_until(Duration::from_secs(12), || filter()["active"][0]["state"]
            == "active")
        .await,
        "{}",
        filter()
    );
    let took = pending_since.elapsed();
    assert!(
        took < Duration::from_secs(11),
        "the reload restarted the on-delay: raised {took:?} after pending"
    );
    let now = filter();
    assert_eq!(now["active"][0]["threshold"], 280.0, "{now}");
    let raised: Vec<&serde_json::Value> = now["recent"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["rule"] == "hvac.filter_dp_high" && e["transition"] == "raised")
        .collect();
    assert_eq!(raised.len(), 1, "{now}");
    // The same fire alert, still escalating; none raised twice.
    assert!(
        wait_until(
            Duration::from_secs(8),
            || fire_alerts(api)[0]["notifications"].as_i64() > Some(notified_before + 1)
        )
        .await,
        "{:?}",
        fire_alerts(api)
    );
    let fires = fire_alerts(api);
    assert_eq!(fires.len(), 1, "{fires:?}");
    assert_eq!(fires[0]["status"], "open");
    // A stop is still a clean stop.
    daemon.signal("TERM");
    let mut daemon = daemon;
    let stopped = Instant::now();
    loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            assert!(status.success(), "{}", daemon.log());
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
