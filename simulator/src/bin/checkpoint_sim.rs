//! `checkpoint-sim`: patrol checkpoint stations on the host, each an RTU
//! slave behind its own TCP port, with guards tapping along a route.
//!
//! ```text
//! checkpoint-sim --scenario config/scenarios/patrol.toml
//! ```

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use serde::Deserialize;

/// Command line.
#[derive(Parser)]
#[command(about = "Simulated NFC patrol checkpoint stations (Modbus RTU over TCP)")]
struct Args {
    /// Scenario: stations and taps.
    #[arg(long)]
    scenario: std::path::PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(rename = "station")]
    stations: Vec<StationSection>,
    #[serde(default, rename = "tap")]
    taps: Vec<TapSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StationSection {
    id: u16,
    listen: std::net::SocketAddr,
    /// 64 hex digits.
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TapSection {
    /// Seconds after start.
    at: f64,
    station: u16,
    /// Badge UID in hex.
    badge: String,
}

fn hex(text: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(text.len() % 2 == 0, "`{text}` is not hex");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).with_context(|| format!("`{text}` is not hex"))
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("reading {}", args.scenario.display()))?;
    let scenario: ScenarioFile =
        toml::from_str(&text).with_context(|| format!("in {}", args.scenario.display()))?;
    let mut stations = std::collections::HashMap::new();
    for s in &scenario.stations {
        let key: [u8; 32] = hex(&s.key)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("station {}: the key is 32 bytes", s.id))?;
        let running = site_sim::checkpoint::start(s.id, key, s.listen).await?;
        println!(
            "station {} on {} (Modbus RTU over TCP, unit {})",
            s.id, running.addr, s.id
        );
        stations.insert(s.id, running);
    }
    let start = tokio::time::Instant::now();
    let mut taps: Vec<&TapSection> = scenario.taps.iter().collect();
    taps.sort_by(|a, b| a.at.total_cmp(&b.at));
    for t in taps {
        tokio::time::sleep_until(start + Duration::from_secs_f64(t.at.max(0.0))).await;
        let station = stations
            .get(&t.station)
            .with_context(|| format!("no station {}", t.station))?;
        let outcome = station.tap(&hex(&t.badge)?);
        println!(
            "{:>7.1} s  station {}  badge {}  {:?}",
            t.at, t.station, t.badge, outcome
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
