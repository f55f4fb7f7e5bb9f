//! Patrol benchmark: time from a badge tap to the daemon's verdict.
//!
//! ```text
//! cargo bench -p sitewarden --bench patrol          # 300 taps; `-- 50` for fewer
//! ```
//!
//! A simulated checkpoint station (the firmware's logic behind an
//! RTU-over-TCP gateway) polled every second; after a random wait against
//! the poll phase a badge is tapped (t0) and the time until the daemon has
//! verified, stored and judged the tap (visible in `GET
//! /api/v1/patrol/taps`) is recorded.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

const KEY: [u8; 32] = [0x42; 32];

fn main() -> anyhow::Result<()> {
    let taps = common::count_arg(300);
    let runtime = common::runtime()?;
    runtime.block_on(run(taps))
}

async fn run(taps: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let station = site_sim::checkpoint::start(5, KEY, "127.0.0.1:0".parse()?).await?;
    std::fs::write(
        dir.path().join("s.key"),
        KEY.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    )?;
    std::fs::write(
        dir.path().join("site.toml"),
        format!(
            "[site]\nid = \"bench\"\nname = \"Bench\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n\
             [[patrol.stations]]\nid = \"gate\"\ncheckpoint = 5\ngateway = \"{}\"\nkey = {{ file = \"s.key\" }}\npoll_interval = \"1s\"\n\n\
             [[patrol.guards]]\nid = \"g\"\nname = \"G\"\nbadges = [\"04A1B2C3\"]\n",
            station.addr
        ),
    )?;
    let running = common::start_daemon(dir.path()).await?;
    let url = format!(
        "http://{}/api/v1/patrol/taps?station=gate&limit=1",
        running.api_addr
    );
    let client = reqwest::Client::new();
    let mut times = Vec::with_capacity(taps);
    for n in 1..=taps {
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..1000))).await;
        let t0 = Instant::now();
        // Two badges in turn: the station ignores the same badge twice within 3 s.
        let badge = if n % 2 == 0 {
            [0x04, 0xA1, 0xB2, 0xC3]
        } else {
            [0x04, 0x0B, 0xAD, 0xBE]
        };
        station.tap(&badge);
        loop {
            let body: serde_json::Value = client.get(&url).send().await?.json().await?;
            if body[0]["seq"].as_u64() == Some(n as u64) {
                break;
            }
            anyhow::ensure!(
                t0.elapsed() < Duration::from_secs(10),
                "tap {n} never judged"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(t0.elapsed());
    }
    times.sort();
    let at = |q: f64| {
        times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)].as_secs_f64() * 1e3
    };
    println!(
        "tap → verdict with a 1 s station poll: {} taps, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        times.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    running.stop().await;
    Ok(())
}
