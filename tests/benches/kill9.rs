//! Fault-injection benchmark (issue 14): `kill -9` at random moments while
//! a fire alarm is raised and escalating, against a simulated fire panel
//! and a real HTTP receiver; the daemon runs as its own process
//! (`daemon-process`) and is restarted at once after every kill.
//!
//! Each cycle: the zone alarm goes on; after a random 0–3 s (during the
//! raise, the first notification or the 2 s repeats) the daemon is killed
//! and restarted; the alert must be there; the alarm goes off, the alert
//! clears and is acknowledged. At the end every alert must have reached the
//! receiver; notifications received twice are counted (at-least-once).
//!
//! `cargo bench -p sitewarden-tests --bench kill9` (`KILLS=50` by default).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng as _;
use site_sim::Step;
use sitewarden::config::hash_token;
use sitewarden_tests::{
    ChildGuard, HttpReceiver, SiteDir, free_port, frozen, http, repo_root, start_sim,
};

const TOKEN: &str = "tok-engineer";

fn start(config: &std::path::Path) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon-process starts");
    ChildGuard::new(child)
}

fn alerts(api: SocketAddr) -> Vec<serde_json::Value> {
    http(api, "GET", "/api/v1/alerts?limit=1000", None, None)
        .map(|(_, b)| b["alerts"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if done() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("timed out waiting for {what}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let kills: usize = std::env::var("KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(50);
    let site = SiteDir::new()?;
    let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen()).await?;
    let hook = HttpReceiver::start(0).await?;
    let api: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let fire = repo_root().join("config/standards/fire.toml");
    let config = site.write(
        "site.toml",
        &format!(
            r#"[site]
id = "bench"
name = "Bench"
time_zone = "UTC"

[api]
listen = "{api}"

[[api.tokens]]
name = "chen.jing"
role = "engineer"
sha256 = "{token}"

[storage]
data_dir = {data:?}

[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts.channels.hook]
kind = "webhook"
url = "http://{hook}/hook"
timeout = "2s"

[alerts.policies.fire]
repeat = "2s"
steps = [{{ notify = ["guard"], channels = ["hook"], wait = "2s" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
            token = hash_token(TOKEN),
            data = site.dir.path().join("data").display().to_string(),
            fire = fire.display().to_string(),
            hook = hook.addr,
            panel = sim
                .addr("fire-panel-1")
                .ok_or_else(|| anyhow::anyhow!("no panel"))?,
        ),
    )?;
    let set = |on: bool| {
        let step = format!(
            "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = {}",
            u8::from(on)
        );
        if let Ok(step) = toml::from_str::<Step>(&step) {
            sim.apply(&step);
        }
    };
    let healthy = || http(api, "GET", "/healthz", None, None).is_ok_and(|(c, _)| c == 200);

    let mut daemon = start(&config);
    wait("the daemon to start", Duration::from_secs(30), healthy)?;
    let mut rng = rand::rng();
    let began = Instant::now();
    let mut restart_ms = Vec::new();
    for cycle in 0..kills {
        set(true);
        std::thread::sleep(Duration::from_millis(rng.random_range(0..3000)));
        daemon.kill_9();
        let restarted = Instant::now();
        daemon = start(&config);
        wait("the restarted daemon", Duration::from_secs(30), healthy)?;
        restart_ms.push(restarted.elapsed().as_millis() as u64);
        let open = || alerts(api).into_iter().find(|a| a["status"] == "open");
        wait(
            &format!("cycle {cycle}'s alert"),
            Duration::from_secs(20),
            || open().is_some(),
        )?;
        set(false);
        let cleared = || open().is_some_and(|a| a["active"] == false);
        wait(
            &format!("cycle {cycle}'s alert to clear"),
            Duration::from_secs(20),
            cleared,
        )?;
        if let Some(id) = open().and_then(|a| a["id"].as_i64()) {
            let path = format!("/api/v1/alerts/{id}/ack");
            http(api, "POST", &path, Some(TOKEN), Some(r#"{"note":"bench"}"#))?;
        }
        wait("the alert to resolve", Duration::from_secs(20), || {
            open().is_none()
        })?;
    }
    let all = alerts(api);
    let ids: BTreeSet<i64> = all.iter().filter_map(|a| a["id"].as_i64()).collect();
    // Let the outbox finish what it owes.
    let notified = |ids: &BTreeSet<i64>| -> BTreeSet<i64> {
        hook.posted()
            .iter()
            .filter_map(|p| p.body["alert"]["id"].as_i64())
            .filter(|i| ids.contains(i))
            .collect()
    };
    let _ = wait(
        "every alert's notification",
        Duration::from_secs(30),
        || notified(&ids).len() == ids.len(),
    );
    let posted = hook.posted();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for p in &posted {
        if let Some(key) = p.body["key"].as_str() {
            *by_key.entry(key.to_owned()).or_default() += 1;
        }
    }
    let duplicates: usize = by_key.values().map(|n| n - 1).sum();
    let lost = ids.len() - notified(&ids).len();
    restart_ms.sort_unstable();
    println!(
        "kill -9 during raised, escalating fire alarms: {kills} kills in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    println!(
        "| kills | alarms raised | alerts stored | alerts notified | notifications confirmed (incl. repeats) | lost | duplicated | restart to /healthz 200 (median / max) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {kills} | {kills} | {} | {} | {} | {lost} | {duplicates} | {} ms / {} ms |",
        ids.len(),
        notified(&ids).len(),
        by_key.len(),
        restart_ms.get(restart_ms.len() / 2).copied().unwrap_or(0),
        restart_ms.last().copied().unwrap_or(0),
    );
    anyhow::ensure!(
        ids.len() == kills,
        "{} alerts for {kills} alarms",
        ids.len()
    );
    anyhow::ensure!(lost == 0, "{lost} alerts never notified");
    Ok(())
}
