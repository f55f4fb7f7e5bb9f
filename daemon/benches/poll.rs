//! Polling benchmark: the daemon polls many simulated devices served by a
//! separate `site-sim` process, so CPU and memory figures are the daemon's.
//!
//! ```text
//! cargo build --release -p site-sim
//! cargo bench -p sitewarden --bench poll            # both phases
//! cargo bench -p sitewarden --bench poll -- throughput
//! cargo bench -p sitewarden --bench poll -- site
//! ```
//!
//! * `decode`: the decoder alone on one thread, no I/O.
//! * `throughput`: 100 devices × 120 points polled every 50 ms (as fast as
//!   the config allows): decoded points per second and CPU per million points.
//! * `site`: 200 devices × 50 points polled every second, a large site:
//!   points per second, share of one core, peak RSS.
//!
//! Each phase runs in its own process so peak RSS is its own.

#[path = "common/mod.rs"]
mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use sitewarden::daemon::{self, RunOptions};

#[derive(Clone, Copy)]
struct Phase {
    name: &'static str,
    devices: usize,
    points: usize,
    interval: &'static str,
    warmup: Duration,
    measure: Duration,
}

const PHASES: [Phase; 2] = [
    Phase {
        name: "throughput",
        devices: 100,
        points: 120,
        interval: "50ms",
        warmup: Duration::from_secs(3),
        measure: Duration::from_secs(15),
    },
    Phase {
        name: "site",
        devices: 200,
        points: 50,
        interval: "1s",
        warmup: Duration::from_secs(5),
        measure: Duration::from_secs(30),
    },
];

fn main() -> anyhow::Result<()> {
    let wanted = common::wanted_phases();
    if wanted.is_empty() {
        return common::run_each_in_own_process(&["decode", PHASES[0].name, PHASES[1].name]);
    }
    if wanted.iter().any(|w| w == "decode") {
        decode_only()?;
    }
    for phase in PHASES.iter().filter(|p| wanted.iter().any(|w| w == p.name)) {
        run_phase(phase)?;
    }
    Ok(())
}

/// The decoder alone, no I/O: 120-point replies decoded on one thread.
fn decode_only() -> anyhow::Result<()> {
    use sitewarden::sources::modbus::decode::{Decoding, decode_registers};
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("profiles"))?;
    std::fs::write(dir.path().join("profiles/bench.toml"), profile(120))?;
    let hosts = vec!["127.0.0.1:1502".to_owned()];
    let phase = &PHASES[0];
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        devices(
            &Phase {
                devices: 1,
                ..*phase
            },
            &hosts,
        ),
    )?;
    let catalog = sitewarden::config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let words: Vec<u16> = (0..200u16).map(|i| i.wrapping_mul(2654)).collect();
    let rounds = 200_000;
    let decodings: Vec<Decoding> = catalog.points.iter().map(Decoding::of).collect();
    let started = Instant::now();
    let mut checksum = 0.0;
    for _ in 0..rounds {
        for decoding in &decodings {
            let offset = usize::from(decoding.address);
            if let Ok(value) = decode_registers(decoding, std::hint::black_box(&words[offset..])) {
                checksum += value.as_f64();
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let points = (rounds * decodings.len()) as f64;
    println!(
        "decode     {:>12.0} points/s on one thread (checksum {checksum:.0})",
        points / secs
    );
    Ok(())
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn site_sim_binary() -> anyhow::Result<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/site-sim");
    anyhow::ensure!(
        path.exists(),
        "build the simulator first: cargo build --release -p site-sim"
    );
    Ok(path)
}

/// A profile of `points` holding registers: u16, i16 and f32 in turn.
fn profile(points: usize) -> String {
    let mut text = String::new();
    let mut address = 0;
    for i in 0..points {
        let (ty, width) = match i % 3 {
            0 => ("u16", 1),
            1 => ("i16", 1),
            _ => ("f32", 2),
        };
        text.push_str(&format!(
            "[[points]]\nname = \"p{i}\"\nrole = \"x_bench\"\nkind = \"holding\"\naddress = {address}\ntype = \"{ty}\"\n\n"
        ));
        address += width;
    }
    text
}

fn devices(phase: &Phase, hosts: &[String]) -> String {
    let mut text = String::from(
        "[site]\nid = \"bench\"\nname = \"Benchmark\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n",
    );
    for (i, host) in hosts.iter().enumerate().take(phase.devices) {
        text.push_str(&format!(
            "\n[[devices]]\nid = \"d{i}\"\nprofile = \"bench\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{host}\" }}\npoll_interval = \"{}\"\ntimeout = \"2s\"\n",
            phase.interval
        ));
    }
    text
}

fn run_phase(phase: &Phase) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("profiles"))?;
    std::fs::write(
        dir.path().join("profiles/bench.toml"),
        profile(phase.points),
    )?;
    let placeholder: Vec<String> = (0..phase.devices)
        .map(|_| "127.0.0.1:0".to_owned())
        .collect();
    let sim_config = dir.path().join("sim.toml");
    std::fs::write(&sim_config, devices(phase, &placeholder))?;
    let mut sim = Command::new(site_sim_binary()?)
        .args(["--time-scale", "0", "--config"])
        .arg(&sim_config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = sim
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no simulator stdout"))?;
    let _sim = ChildGuard(sim);
    let mut hosts = Vec::new();
    for line in BufReader::new(stdout).lines().take(phase.devices) {
        let line = line?;
        let addr: SocketAddr = line.rsplit(' ').next().unwrap_or_default().parse()?;
        hosts.push(addr.to_string());
    }
    let config = dir.path().join("site.toml");
    std::fs::write(&config, devices(phase, &hosts))?;
    let catalog = Arc::new(sitewarden::config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = daemon::start(catalog, RunOptions::default()).await?;
        let good = || {
            running
                .metrics
                .devices
                .iter()
                .map(|d| d.good_readings.load(Relaxed))
                .sum::<u64>()
        };
        let bad = || {
            running
                .metrics
                .devices
                .iter()
                .map(|d| d.bad_readings.load(Relaxed))
                .sum::<u64>()
        };
        tokio::time::sleep(phase.warmup).await;
        let (g0, b0, c0, t0) = (good(), bad(), common::cpu_seconds(), Instant::now());
        tokio::time::sleep(phase.measure).await;
        let (g1, b1, c1, wall) = (
            good(),
            bad(),
            common::cpu_seconds(),
            t0.elapsed().as_secs_f64(),
        );
        running.stop().await;
        let points = (g1 - g0) as f64;
        let cpu = c1 - c0;
        println!(
            "{:<10} {} devices x {} points every {}: {:>9.0} points/s decoded, {} bad, \
             {:.2} CPU s per million points, {:.1}% of one core, peak RSS {:.1} MB",
            phase.name,
            phase.devices,
            phase.points,
            phase.interval,
            points / wall,
            b1 - b0,
            cpu / (points / 1e6),
            100.0 * cpu / wall,
            common::peak_rss_mb()
        );
        anyhow::Ok(())
    })
}
