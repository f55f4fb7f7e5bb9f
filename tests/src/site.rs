//! The daemon under test: site files in a temporary directory, the simulator, the in-process daemon, and what it reports.

use super::*;

/// A site config in its own temporary directory, with the repository's
/// device profiles copied next to it.
pub struct SiteDir {
    /// The directory (deleted on drop).
    pub dir: tempfile::TempDir,
}

impl SiteDir {
    /// A new directory holding `config/profiles/*`.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let profiles = dir.path().join("profiles");
        std::fs::create_dir_all(&profiles)?;
        for entry in std::fs::read_dir(repo_root().join("config/profiles"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), profiles.join(entry.file_name()))?;
        }
        Ok(Self { dir })
    }

    /// Writes a file relative to the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// Writes `site.toml` with a standard `[site]` header and the given devices.
    pub fn site(&self, devices: &str) -> anyhow::Result<PathBuf> {
        self.write("site.toml", &format!("{}\n{devices}", site_header()))
    }
}

/// `[site]` and `[api]` sections for test configs.
pub fn site_header() -> &'static str {
    "[site]\nid = \"test-site\"\nname = \"Test site\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n"
}

/// Loads a config, panicking with every error if it is invalid.
pub fn load(path: &Path) -> Arc<Catalog> {
    match sitewarden::config::load(path) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("test config invalid:\n{e}"),
    }
}

/// Starts the daemon in-process with its API on a free port and its data
/// in the site's directory.
pub async fn start_daemon(
    catalog: Arc<Catalog>,
    site: &SiteDir,
    taps: usize,
) -> anyhow::Result<RunningDaemon> {
    daemon::start(
        catalog,
        RunOptions {
            api_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            taps,
            data_dir: Some(site.dir.path().join("data")),
            ..RunOptions::default()
        },
    )
    .await
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

/// Latest value, quality and device state of a point, looked up by names.
pub fn point(
    d: &RunningDaemon,
    catalog: &Catalog,
    device: &str,
    point: &str,
) -> (Option<Value>, Option<Quality>) {
    let p = catalog
        .points
        .iter()
        .find(|p| p.name == point && catalog.device(p.device).name == device)
        .unwrap_or_else(|| panic!("no point {device}/{point}"));
    let tables = d.state.read();
    let slot = &tables.points[p.id.0 as usize];
    (slot.value, slot.quality)
}

/// The state of a device, by name.
pub fn device_state(d: &RunningDaemon, catalog: &Catalog, device: &str) -> DeviceState {
    let id = catalog
        .devices
        .iter()
        .find(|x| x.name == device)
        .unwrap_or_else(|| panic!("no device {device}"))
        .id;
    d.state.read().devices[id.0 as usize].state
}

/// A number reading, or a panic naming what came instead.
pub fn number(v: (Option<Value>, Option<Quality>)) -> f64 {
    match v {
        (Some(Value::Number(n)), Some(Quality::Good)) => n,
        other => panic!("expected a good number, got {other:?}"),
    }
}

/// A yes/no reading, or a panic naming what came instead.
pub fn boolean(v: (Option<Value>, Option<Quality>)) -> bool {
    match v {
        (Some(Value::Bool(b)), Some(Quality::Good)) => b,
        other => panic!("expected a good bool, got {other:?}"),
    }
}

/// Starts the simulator with one Modbus TCP device per `(id, profile)`,
/// each on a free port, using the profiles in `site`.
pub async fn start_sim(
    site: &SiteDir,
    devices: &[(&str, &str)],
    options: site_sim::SimOptions,
) -> anyhow::Result<site_sim::RunningSite> {
    let mut text = String::new();
    for (id, profile) in devices {
        text.push_str(&format!(
            "[[devices]]\nid = \"{id}\"\nprofile = \"{profile}\"\ntransport = {{ kind = \"modbus-tcp\", host = \"127.0.0.1:0\" }}\n\n"
        ));
    }
    let path = site.write("sim.toml", &text)?;
    site_sim::start(
        site_sim::load_site(&path)?,
        site_sim::Scenario::default(),
        options,
    )
    .await
}

/// Simulated time frozen: counters stay put while a test compares values.
pub fn frozen() -> site_sim::SimOptions {
    site_sim::SimOptions {
        time_scale: 0.0,
        ..site_sim::SimOptions::default()
    }
}

/// Every raised condition as (rule, device, point), in catalog order.
pub fn raised_conditions(d: &RunningDaemon, catalog: &Catalog) -> Vec<(String, String, String)> {
    let view = d.rules.view.read();
    catalog
        .rule_instances
        .iter()
        .zip(view.iter())
        .filter(|(_, s)| {
            matches!(
                s.state,
                sitewarden::rules::ConditionState::Active
                    | sitewarden::rules::ConditionState::Clearing
            )
        })
        .map(|(i, _)| {
            (
                catalog.rule(i.rule).id.clone(),
                catalog.device(i.device).name.clone(),
                catalog.point(i.point).name.clone(),
            )
        })
        .collect()
}

/// True while a condition of `rule` (on `device`, if given) is raised.
pub fn condition_active(
    d: &RunningDaemon,
    catalog: &Catalog,
    rule: &str,
    device: Option<&str>,
) -> bool {
    let view = d.rules.view.read();
    catalog
        .rule_instances
        .iter()
        .zip(view.iter())
        .any(|(i, s)| {
            catalog.rule(i.rule).id == rule
                && device.is_none_or(|name| catalog.device(i.device).name == name)
                && matches!(
                    s.state,
                    sitewarden::rules::ConditionState::Active
                        | sitewarden::rules::ConditionState::Clearing
                )
        })
}

/// A simulated checkpoint station (the firmware's logic behind an
/// RTU-over-TCP gateway) on a free loopback port.
pub async fn checkpoint_station(id: u16, key: [u8; 32]) -> site_sim::checkpoint::RunningCheckpoint {
    site_sim::checkpoint::start(id, key, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Lower-case hexadecimal, as key files hold it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
