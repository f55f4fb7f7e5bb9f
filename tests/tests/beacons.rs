//! Signals that do not go through a channel (issue 14): the outbound
//! heartbeat URL is pinged while the daemon runs whole, and the buzzer coil
//! (on pymodbus, an independent Modbus server, as the relay module) goes on
//! when a fire alarm's notification is confirmed by no channel, and off
//! once someone acknowledges the delivery fault.

use std::time::Duration;

use site_sim::Step;
use sitewarden::config::hash_token;
use sitewarden_tests::{
    Framing, HttpReceiver, Pymodbus, SiteDir, frozen, http, http_get, load, repo_root,
    start_daemon, start_sim, wait_until,
};

const TOKEN: &str = "tok-engineer";

/// Coil 0 of unit 7 on the relay module.
async fn coil(relay: std::net::SocketAddr) -> Option<bool> {
    use tokio_modbus::prelude::*;
    let mut ctx = tcp::connect_slave(relay, Slave(7)).await.ok()?;
    let coils = ctx.read_coils(0, 1).await.ok()?.ok()?;
    coils.first().copied()
}

fn open_alert(api: std::net::SocketAddr, rule: &str) -> Option<serde_json::Value> {
    let (_, body) = http(api, "GET", "/api/v1/alerts?status=open", None, None).ok()?;
    body["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["rule"] == rule)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_fire_alarm_sounds_the_buzzer_and_the_heartbeat_url_is_pinged() {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen())
        .await
        .unwrap();
    let relay = Pymodbus::start(Framing::Tcp).unwrap();
    let refusing = HttpReceiver::start(usize::MAX).await.unwrap();
    let central = HttpReceiver::start(0).await.unwrap();
    let fire = repo_root().join("config/standards/fire.toml");
    let config = site
        .write(
            "site.toml",
            &format!(
                r#"[site]
id = "test-site"
name = "Test site"
time_zone = "UTC"

[api]
listen = "127.0.0.1:0"

[[api.tokens]]
name = "chen.jing"
role = "engineer"
sha256 = "{token}"

[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts]
self_test_every = "0s"
confirm_within = "2s"
heartbeat_url = "http://{central}/beat/6f1e"
heartbeat_url_every = "1s"

[alerts.buzzer]
host = "{relay}"
unit = 7
coil = 0

[alerts.channels.hook]
kind = "webhook"
url = "http://{refusing}/hook"

[alerts.policies.fire]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "1h" }}]

[alerts.policies.default]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
                token = hash_token(TOKEN),
                fire = fire.display().to_string(),
                central = central.addr,
                relay = relay.addr,
                refusing = refusing.addr,
                panel = sim.addr("fire-panel-1").unwrap(),
            ),
        )
        .unwrap();
    let daemon = start_daemon(load(&config), &site, 0).await.unwrap();
    let api = daemon.api_addr;

    // The heartbeat URL is pinged every second while every stage runs.
    assert!(
        wait_until(Duration::from_secs(5), || central
            .posted()
            .iter()
            .filter(|p| p.path == "/beat/6f1e")
            .count()
            >= 2)
        .await,
        "no heartbeat pings"
    );
    assert_eq!(
        coil(relay.addr).await,
        Some(false),
        "the buzzer is off at first"
    );

    // A fire alarm no channel confirms: after confirm_within the delivery
    // fault is raised and the buzzer sounds.
    let on = "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = 1";
    sim.apply(&toml::from_str::<Step>(on).unwrap());
    assert!(
        wait_until(Duration::from_secs(20), || open_alert(
            api,
            "sitewarden.delivery_fault"
        )
        .is_some())
        .await,
        "no delivery fault"
    );
    let mut sounding = false;
    for _ in 0..50 {
        if coil(relay.addr).await == Some(true) {
            sounding = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sounding, "the buzzer did not sound");
    let console =
        sitewarden::console::render_faults(&daemon.alerts.catalog.site.messages, &daemon.metrics);
    assert!(
        console.contains("DELIVERY FAULT") && console.contains("BUZZER ON"),
        "the console says it too: {console}"
    );
    let (_, metrics) = http_get(api, "/metrics").unwrap();
    assert!(
        metrics.contains("sitewarden_buzzer_on{site=\"test-site\"} 1"),
        "{metrics}"
    );

    // Someone takes the delivery fault: the buzzer goes quiet.
    let fault = open_alert(api, "sitewarden.delivery_fault").unwrap();
    let path = format!("/api/v1/alerts/{}/ack", fault["id"]);
    let (status, _) = http(
        api,
        "POST",
        &path,
        Some(TOKEN),
        Some(r#"{"note":"calling the fire brigade"}"#),
    )
    .unwrap();
    assert_eq!(status, 200);
    let mut quiet = false;
    for _ in 0..50 {
        if coil(relay.addr).await == Some(false) {
            quiet = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(quiet, "the buzzer did not stop after the acknowledgement");
    daemon.stop().await;
}
