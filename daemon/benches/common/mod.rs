//! What the benchmarks share: this process's CPU time and peak memory, a
//! free port, and running each phase in a process of its own.
// Each bench is its own crate and uses only part of this module.
#![allow(dead_code)]

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size in MB (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Phase names given on the command line (cargo's own `--bench` flags dropped).
pub fn wanted_phases() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect()
}

/// Runs every phase in a child process of its own, so each reports its own
/// peak memory and no phase inherits another's state.
pub fn run_each_in_own_process(phases: &[&str]) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    for phase in phases {
        let ok = std::process::Command::new(&me)
            .arg(phase)
            .status()?
            .success();
        anyhow::ensure!(ok, "phase {phase} failed");
    }
    Ok(())
}

/// A mosquitto process, killed when dropped.
pub struct Broker(std::process::Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's mosquitto on `port`, configured in `dir`, ready to serve.
pub fn mosquitto(dir: &std::path::Path, port: u16) -> anyhow::Result<Broker> {
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"),
    )?;
    let binary = if std::path::Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    };
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    Ok(Broker(child))
}

/// The first command-line argument as a count (taps, alarms), or `default`.
pub fn count_arg(default: usize) -> usize {
    wanted_phases()
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// A two-worker runtime, as on the target machine.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The daemon on `dir/site.toml`, its data in `dir/data`, its API on a free port.
pub async fn start_daemon(
    dir: &std::path::Path,
) -> anyhow::Result<sitewarden::daemon::RunningDaemon> {
    let catalog =
        sitewarden::config::load(&dir.join("site.toml")).map_err(|e| anyhow::anyhow!("{e}"))?;
    sitewarden::daemon::start(
        std::sync::Arc::new(catalog),
        sitewarden::daemon::RunOptions {
            api_listen: Some(([127, 0, 0, 1], 0).into()),
            data_dir: Some(dir.join("data")),
            ..sitewarden::daemon::RunOptions::default()
        },
    )
    .await
}
