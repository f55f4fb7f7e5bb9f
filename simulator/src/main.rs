//! `site-sim`: serve a site file's devices as Modbus TCP servers.

use std::path::PathBuf;

use clap::Parser;

/// Simulate a site's Modbus equipment on real sockets.
#[derive(Parser)]
#[command(name = "site-sim", version)]
struct Args {
    /// Site file whose modbus-tcp devices to serve (their `host` is where each listens).
    #[arg(long, default_value = "config/demo.toml")]
    config: PathBuf,
    /// Scenario of scripted faults.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 60.0)]
    time_scale: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let site = site_sim::load_site(&args.config)?;
    let scenario = match &args.scenario {
        Some(path) => site_sim::load_scenario(path)?,
        None => site_sim::Scenario::default(),
    };
    let options = site_sim::SimOptions {
        time_scale: args.time_scale,
        ..Default::default()
    };
    let running = site_sim::start(site.clone(), scenario, options).await?;
    for d in &site.devices {
        if let Some(addr) = running.addr(&d.id) {
            println!("{} ({}) unit {} on {addr}", d.id, d.profile, d.unit_id);
        }
    }
    tokio::signal::ctrl_c().await?;
    running.stop();
    Ok(())
}
