//! Rule engine benchmark.
//!
//! ```text
//! cargo bench -p sitewarden --bench rules
//! ```
//!
//! * `evaluate`: readings evaluated per second on one thread, with 9,990
//!   points (135 each of the AHU, lighting, access and fire profiles) and
//!   every shipped rule pack bound to them.
//! * `latency`: from a fire panel's alarm register changing in the simulator
//!   to the condition event leaving the rules stage, fire panel polled every
//!   250 ms, over 200 alarms.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use sitewarden::catalog::Catalog;
use sitewarden::daemon::{self, RunOptions};
use sitewarden::readings::{Quality, Reading, Value};
use sitewarden::rules::Transition;
use sitewarden::rules::engine::Engine;

const PROFILES: [&str; 4] = ["ahu", "lighting-panel", "access-control", "fire-panel"];

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn site(
    dir: &Path,
    devices: &[(String, &str, String)],
    extra: &str,
) -> anyhow::Result<Arc<Catalog>> {
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles)?;
    for p in PROFILES {
        std::fs::copy(
            repo().join(format!("config/profiles/{p}.toml")),
            profiles.join(format!("{p}.toml")),
        )?;
    }
    let packs: Vec<String> = ["hvac", "lighting", "fire", "security", "lifts"]
        .iter()
        .map(|p| {
            format!(
                "{:?}",
                repo()
                    .join(format!("config/standards/{p}.toml"))
                    .display()
                    .to_string()
            )
        })
        .collect();
    let mut text = format!(
        "[site]\nid = \"bench\"\nname = \"Bench\"\ntime_zone = \"Asia/Shanghai\"\n[site.business_hours]\nmonday = [\"09:00-21:00\"]\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n[rules]\npacks = [{}]\n{extra}",
        packs.join(", ")
    );
    for (id, profile, host) in devices {
        text.push_str(&format!(
            "\n[[devices]]\nid = \"{id}\"\nprofile = \"{profile}\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{host}\" }}\npoll_interval = \"250ms\"\ntimeout = \"200ms\"\n"
        ));
    }
    std::fs::write(dir.join("site.toml"), text)?;
    sitewarden::config::load(&dir.join("site.toml"))
        .map(Arc::new)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn evaluate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let devices: Vec<(String, &str, String)> = (0..540)
        .map(|i| {
            (
                format!("d{i}"),
                PROFILES[i % 4],
                format!("127.0.0.1:{}", 20000 + i),
            )
        })
        .collect();
    let catalog = site(dir.path(), &devices, "")?;
    let mut engine = Engine::new(catalog.clone(), Timestamp::now());
    // Plausible values: numbers inside their limits, yes/no points off, so
    // the engine does the normal-case work (compare, stay normal).
    let start = Timestamp::now();
    let readings: Vec<Reading> = catalog
        .points
        .iter()
        .map(|p| Reading {
            point: p.id,
            device: p.device,
            value: Some(if p.data_type.is_boolean() {
                Value::Bool(
                    p.role.as_deref() == Some("circuit_status")
                        || p.role.as_deref() == Some("controller_online"),
                )
            } else {
                Value::Number(match p.role.as_deref() {
                    Some("filter_dp") => 150.0,
                    Some("sprinkler_pressure") => 6.5,
                    Some("supply_air_temp") => 16.0,
                    _ => 100.0,
                })
            }),
            quality: Quality::Good,
            at: start,
        })
        .collect();
    let mut events = Vec::new();
    let rounds = 300;
    let begun = Instant::now();
    for round in 0..rounds {
        let at = start + jiff::SignedDuration::from_millis(250 * round);
        for r in &readings {
            let mut r = *r;
            r.at = at;
            engine.on_reading(std::hint::black_box(&r), &mut events);
        }
        events.clear();
    }
    let secs = begun.elapsed().as_secs_f64();
    let n = (rounds as usize * readings.len()) as f64;
    println!(
        "evaluate   {} points, {} rules, {} bound instances: {:.0} readings/s on one thread ({:.0} ns per reading)",
        catalog.points.len(),
        catalog.rules.len(),
        catalog.rule_instances.len(),
        n / secs,
        secs * 1e9 / n
    );
    Ok(())
}

fn latency() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("profiles"))?;
        std::fs::copy(repo().join("config/profiles/fire-panel.toml"), dir.path().join("profiles/fire-panel.toml"))?;
        let sim_file = dir.path().join("sim.toml");
        std::fs::write(
            &sim_file,
            "[[devices]]\nid = \"fire\"\nprofile = \"fire-panel\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:0\" }\n",
        )?;
        let sim = site_sim::start(
            site_sim::load_site(&sim_file)?,
            site_sim::Scenario::default(),
            site_sim::SimOptions { time_scale: 0.0, tick: Duration::from_millis(1) },
        )
        .await?;
        let addr = sim.addr("fire").ok_or_else(|| anyhow::anyhow!("no fire panel"))?;
        let devices = vec![("fire".to_owned(), "fire-panel", addr.to_string())];
        let catalog = site(dir.path(), &devices, "")?;
        let options = RunOptions {
            condition_taps: 1,
            data_dir: Some(dir.path().join("data")),
            ..RunOptions::default()
        };
        let mut running = daemon::start(catalog.clone(), options).await?;
        let mut events = running.condition_taps.remove(0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let alarm: site_sim::Step = toml::from_str("device = \"fire\"\naction = \"fire_alarm\"\nzone = \"5\"")?;
        let reset: site_sim::Step = toml::from_str("device = \"fire\"\naction = \"set\"\npoint = \"zone5_alarm\"\nvalue = 0")?;
        let mut latencies = Vec::new();
        for i in 0..200 {
            // Start at a random phase of the poll cycle.
            tokio::time::sleep(Duration::from_millis(50 + (i * 37 % 250))).await;
            let t0 = Instant::now();
            sim.apply(&alarm);
            loop {
                let e = events.recv().await.ok_or_else(|| anyhow::anyhow!("condition bus closed"))?;
                if e.transition == Transition::Raised && catalog.rule(e.rule).id == "fire.fire_alarm" {
                    latencies.push(t0.elapsed());
                    break;
                }
            }
            sim.apply(&reset);
            loop {
                let e = events.recv().await.ok_or_else(|| anyhow::anyhow!("condition bus closed"))?;
                if e.transition == Transition::Cleared && catalog.rule(e.rule).id == "fire.fire_alarm" {
                    break;
                }
            }
        }
        running.stop().await;
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
        println!(
            "latency    register change -> condition raised, 250 ms poll, {} alarms: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        anyhow::Ok(())
    })
}

fn main() -> anyhow::Result<()> {
    let wanted = common::wanted_phases();
    let all = wanted.is_empty();
    if all || wanted.iter().any(|w| w == "evaluate") {
        evaluate()?;
    }
    if all || wanted.iter().any(|w| w == "latency") {
        latency()?;
    }
    Ok(())
}
