//! The daemon as its own process, for tests that kill it with SIGKILL or run
//! many: `daemon-process <site.toml> [<data dir>] [--simulate <scenario.toml>]`
//! does what `sitewarden run --config <site.toml> [--data-dir <data dir>]`
//! does, SIGHUP reloads included; with `--simulate`, it also runs the site
//! simulator and checkpoint stations of the site file, as `sitewarden demo`
//! does (the fleet test bed's sites). It lives here, not in the `sitewarden`
//! package, so that tests in this package can start it
//! (`CARGO_BIN_EXE_daemon-process`) with the peers this package's harness runs.

use anyhow::Context as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    // Logs on stderr as `sitewarden run` writes them (RUST_LOG filters).
    sitewarden::logging::init(sitewarden::logging::LogFormat::Text, None);
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let scenario = match args.iter().position(|a| a == "--simulate") {
        Some(at) => {
            let path = args
                .get(at + 1)
                .cloned()
                .context("--simulate needs a scenario file")?;
            args.drain(at..=at + 1);
            Some(PathBuf::from(path))
        }
        None => None,
    };
    let path =
        PathBuf::from(args.first().context(
            "usage: daemon-process <site.toml> [<data dir>] [--simulate <scenario.toml>]",
        )?);
    let catalog = sitewarden::config::load(&path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let options = sitewarden::daemon::RunOptions {
        data_dir: args.get(1).map(Into::into),
        ..Default::default()
    };
    let source = sitewarden::reload::Source {
        path: path.clone(),
        locale: None,
    };
    sitewarden::daemon::runtime()?.block_on(async move {
        // Held until the daemon stops: dropping them stops the simulation.
        let _simulation = match &scenario {
            Some(scenario) => Some(simulate(&path, scenario, &catalog).await?),
            None => None,
        };
        sitewarden::reload::run_reloading(catalog, source, options).await
    })
}

/// The site's simulated devices and checkpoint stations, as in `sitewarden demo`.
async fn simulate(
    site: &std::path::Path,
    scenario: &std::path::Path,
    catalog: &sitewarden::catalog::Catalog,
) -> anyhow::Result<(
    site_sim::RunningSite,
    Vec<site_sim::checkpoint::RunningCheckpoint>,
)> {
    let sim = site_sim::start(
        site_sim::load_site(site)?,
        site_sim::load_scenario(scenario)?,
        site_sim::SimOptions::default(),
    )
    .await?;
    let mut stations = Vec::new();
    for s in &catalog.patrol.stations {
        stations.push(site_sim::checkpoint::start(s.checkpoint, s.key, s.gateway).await?);
    }
    Ok((sim, stations))
}
