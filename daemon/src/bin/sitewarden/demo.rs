//! `sitewarden demo`: the daemon against the built-in site simulator, its
//! checkpoint stations and a guard walking rounds, with no equipment or
//! service needed. Only in builds with the `demo` feature (the default);
//! a production build (`--no-default-features`) carries no simulator.

use sitewarden_runtime::clock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sitewarden::catalog::Catalog;
use sitewarden::daemon::{self, RunOptions};

/// Runs the demo until Ctrl-C: `config` and `scenario` default to the
/// repository's demo site, the data directory to a fresh temporary one.
pub fn run(
    catalog: Arc<Catalog>,
    config: &Path,
    scenario: Option<PathBuf>,
    console_every: u64,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let scenario = scenario.unwrap_or_else(|| repo_file("config/scenarios/demo.toml"));
    let temporary = tempfile::Builder::new()
        .prefix("sitewarden-demo-")
        .tempdir()
        .context("creating a temporary data directory")?;
    let data_dir = data_dir.unwrap_or_else(|| temporary.path().to_path_buf());
    sitewarden::daemon::runtime()?.block_on(demo(
        catalog,
        config,
        &scenario,
        console_every,
        data_dir,
    ))
}

/// A file of the source tree: relative to the working directory when run
/// from the repository, else next to the crate (for `cargo run` from elsewhere).
pub fn repo_file(relative: &str) -> PathBuf {
    let here = PathBuf::from(relative);
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

async fn demo(
    catalog: Arc<Catalog>,
    config: &Path,
    scenario: &Path,
    console_every: u64,
    data_dir: PathBuf,
) -> anyhow::Result<()> {
    let site = site_sim::load_site(config)?;
    let scenario = site_sim::load_scenario(scenario)?;
    let simulator = site_sim::start(site, scenario, site_sim::SimOptions::default()).await?;
    println!(
        "sitewarden demo: simulating {} devices; API on http://{}\n  alarms board: http://{}/ (open it in a browser; sign in as chen.jing, password demo-engineer)\n  try: curl -s http://{}/api/v1/devices\n       curl -s http://{}/api/v1/points?device=ahu-1\n       curl -s http://{}/metrics\n  stop with Ctrl-C",
        catalog.devices.len(),
        catalog.api.listen,
        catalog.api.listen,
        catalog.api.listen,
        catalog.api.listen,
        catalog.api.listen
    );
    if catalog.api.public_url.is_some() {
        println!(
            "  alert notifications carry acknowledgement links; read them with (Debian: mosquitto-clients)\n       mosquitto_sub -h 127.0.0.1 -t '{}' -v\n  and open one in a browser (a phone page with one button)",
            catalog.topics().alert_notifications("+")
        );
    }
    let options = RunOptions {
        console_every: Some(Duration::from_secs(console_every.max(1))),
        data_dir: Some(data_dir),
        ..Default::default()
    };
    let stations = start_checkpoints(&catalog).await?;
    tokio::spawn(walk_demo_rounds(catalog.clone(), stations));
    let result = daemon::run_until_signal(catalog, options, None).await;
    simulator.stop();
    result
}

/// The demo's checkpoint stations: the firmware logic behind their gateways.
async fn start_checkpoints(
    catalog: &Catalog,
) -> anyhow::Result<Vec<site_sim::checkpoint::RunningCheckpoint>> {
    let mut stations = Vec::new();
    for s in &catalog.patrol.stations {
        let station = site_sim::checkpoint::start(s.checkpoint, s.key, s.gateway)
            .await
            .with_context(|| {
                format!(
                    "starting simulated checkpoint station {} on {}",
                    s.id, s.gateway
                )
            })?;
        stations.push(station);
    }
    Ok(stations)
}

/// The demo guard: walks the first route's rounds for a day, all in full but
/// the second, where the second checkpoint is skipped.
async fn walk_demo_rounds(
    catalog: Arc<Catalog>,
    stations: Vec<site_sim::checkpoint::RunningCheckpoint>,
) {
    let (Some(route), Some(badge)) = (
        catalog.patrol.routes.first(),
        catalog.patrol.guards.first().and_then(|g| g.badges.first()),
    ) else {
        return;
    };
    let uid: Vec<u8> = (0..badge.len() / 2)
        .filter_map(|i| u8::from_str_radix(&badge[i * 2..i * 2 + 2], 16).ok())
        .collect();
    let now = clock::now();
    let tz = &catalog.site.hours.time_zone;
    let day = Duration::from_secs(24 * 3600);
    let starts = sitewarden::patrol::rounds::round_starts(
        route,
        tz,
        now + Duration::from_secs(1),
        now + day,
    );
    for (round, start) in starts.into_iter().enumerate() {
        for (i, &station) in route.checkpoints.iter().enumerate() {
            if round == 1 && i == 1 {
                continue;
            }
            let due = start + route.leg * i as u32 + Duration::from_secs(1);
            let wait = due.duration_since(clock::now()).unsigned_abs();
            tokio::time::sleep(wait).await;
            if let Some(s) = stations.get(station) {
                let _ = s.tap(&uid);
            }
        }
    }
}
