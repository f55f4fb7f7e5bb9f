//! Idle cost (issue 16): the daemon with the demo's site file (every stage
//! configured: rules, tickets, alerts with escalation chains and channels,
//! patrol, the API, the embedded broker, the stores) and nothing
//! happening: no simulator runs, so the Modbus devices stay unreachable
//! (their reconnects back off to one try in 30 s) and no sensor publishes.
//! Run three times: the demo's site file as it is (its patrol round, due every
//! minute, is missed with nobody tapping, which raises and escalates
//! alerts: real work), the same file without patrol rounds (the Modbus
//! devices still unreachable: the fire panel's offline alert repeats its
//! escalation), and that file with the simulator answering for the
//! Modbus devices (scenario stopped, models frozen), each polled hourly,
//! and the MQTT sensors quiet (allowed an hour of silence): nothing due,
//! nothing raised.
//! Over `WINDOW` seconds (60) after `WARMUP` (20) it reports the daemon's
//! and the embedded broker's CPU (% of one core: the scheduler's
//! nanosecond count per thread, and the coarse 10 ms ticks beside it),
//! wake-ups a second (context switches of all their threads) and RSS.
//!
//! `cargo bench -p sitewarden-tests --bench idle` (`DAEMON=<path>` to
//! measure another build of `daemon-process`).

use std::time::Duration;

use sitewarden_tests::{ChildGuard, repo_root};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Context switches of all threads of a process: each is a wake-up.
fn switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// The demo's site file without `[[patrol.routes]]`, in a folder where
/// everything else the demo's `config/` holds (profiles, standards, keys,
/// the extinguisher register) is linked, so relative paths resolve.
fn without_rounds(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let config = repo_root().join("config");
    for entry in std::fs::read_dir(&config)? {
        let name = entry?.file_name();
        if name != "demo.toml" {
            std::os::unix::fs::symlink(config.join(&name), dir.join(&name))?;
        }
    }
    let mut kept = Vec::new();
    let mut in_route = false;
    let demo = std::fs::read_to_string(config.join("demo.toml"))?;
    for line in demo.lines() {
        if line.starts_with('[') {
            in_route = line.trim() == "[[patrol.routes]]";
        }
        if !in_route {
            kept.push(line);
        }
    }
    let path = dir.join("site.toml");
    std::fs::write(&path, kept.join("\n"))?;
    Ok(path)
}

/// [`without_rounds`] with every Modbus device polled hourly (the issue's
/// idle figure is a device polled hourly) and the MQTT sensors allowed an
/// hour of silence (the simulator does not publish them here): with the
/// simulator answering, no device goes offline and nothing is raised.
fn polled_hourly(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let path = without_rounds(dir)?;
    let text = std::fs::read_to_string(&path)?;
    let hourly: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("poll_interval = ") {
                "poll_interval = \"1h\"".to_owned()
            } else if l.starts_with("transport = { kind = \"mqtt\"") {
                let without = l.replace(", silent_after = \"30s\"", "");
                without.replacen(" }", ", silent_after = \"1h\" }", 1)
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, hourly.join("\n"))?;
    Ok(path)
}

fn main() -> anyhow::Result<()> {
    let quiet = tempfile::tempdir()?;
    let hourly = tempfile::tempdir()?;
    println!(
        "| site | process | CPU, % of a core | CPU by /proc ticks | threads ended in the window | wake-ups a second | RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    measure("demo", &repo_root().join("config/demo.toml"))?;
    measure("demo without patrol rounds", &without_rounds(quiet.path())?)?;
    // The demo's devices answering (the simulator with its scenario
    // stopped and its models frozen), each polled hourly.
    let site = polled_hourly(hourly.path())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut devices = site_sim::load_site(&site)?;
    devices.mqtt = None;
    let simulator = runtime.block_on(site_sim::start(
        devices,
        site_sim::Scenario::default(),
        site_sim::SimOptions {
            time_scale: 0.0,
            ..site_sim::SimOptions::default()
        },
    ))?;
    measure(
        "demo without patrol rounds, devices answering, polled hourly, sensors quiet",
        &site,
    )?;
    simulator.stop();
    Ok(())
}

/// Whether process `pid` is alive (not ended, not a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// CPU and wake-up counters of one process at one moment.
struct Sample {
    /// Nanoseconds on a CPU of each live thread, by thread id, from
    /// `/proc/<pid>/task/<tid>/schedstat` (the scheduler's own clock: an
    /// idle daemon's 120 s hold a handful of 10 ms ticks, too few to tell
    /// 0.02 % from 0.04 %).
    on_cpu_ns: std::collections::BTreeMap<u32, u64>,
    /// The process's user and system ticks (threads that ended included).
    ticks: u64,
    /// Context switches of its live threads.
    switches: u64,
}

impl Sample {
    fn of(pid: u32) -> Self {
        let on_cpu_ns = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| {
                let tid = task.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
                Some((tid, stat.split_whitespace().next()?.parse().ok()?))
            })
            .collect();
        Self {
            on_cpu_ns,
            ticks: sitewarden_tests::storm::cpu_ticks(pid),
            switches: switches(pid),
        }
    }

    /// Seconds on a CPU since `earlier`, of the threads alive now (a
    /// thread started in between counts from its start).
    fn on_cpu_since(&self, earlier: &Sample) -> f64 {
        let ns: u64 = self
            .on_cpu_ns
            .iter()
            .map(|(tid, now)| now - earlier.on_cpu_ns.get(tid).copied().unwrap_or(0).min(*now))
            .sum();
        ns as f64 / 1e9
    }

    /// Threads alive at `self` and gone by `later`: their time in the
    /// window is missing from [`Sample::on_cpu_since`] (the tick column has it).
    fn threads_gone_by(&self, later: &Sample) -> usize {
        self.on_cpu_ns
            .keys()
            .filter(|tid| !later.on_cpu_ns.contains_key(tid))
            .count()
    }
}

/// Runs the daemon on `site` and prints its rows.
fn measure(name: &str, site: &std::path::Path) -> anyhow::Result<()> {
    let warmup = Duration::from_secs(env("WARMUP", 20));
    let window = Duration::from_secs(env("WINDOW", 60));
    let data = tempfile::tempdir()?;
    // `DAEMON=<path>` measures another build of daemon-process (a before figure).
    let binary = std::env::var_os("DAEMON").map_or_else(
        || env!("CARGO_BIN_EXE_daemon-process").into(),
        std::path::PathBuf::from,
    );
    let daemon = ChildGuard::new(
        std::process::Command::new(binary)
            .arg(site)
            .arg(data.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let pid = daemon.id();
    std::thread::sleep(warmup);
    anyhow::ensure!(
        running(pid),
        "the daemon on {} ended during the warm-up: run `sitewarden check --config {0}`",
        site.display()
    );
    let broker = sitewarden_tests::storm::broker_pid(pid).unwrap_or(0);
    let (d0, b0) = (Sample::of(pid), Sample::of(broker));
    std::thread::sleep(window);
    let (d1, b1) = (Sample::of(pid), Sample::of(broker));
    let seconds = window.as_secs_f64();
    let row = |process: &str, a: Sample, b: Sample, p: u32| {
        println!(
            "| {name} | {process} | {:.4} % | {:.3} % | {} | {:.1} | {:.1} MB |",
            b.on_cpu_since(&a) / seconds * 100.0,
            // /proc counts CPU time in USER_HZ ticks, 100 a second on Linux.
            (b.ticks - a.ticks) as f64 / 100.0 / seconds * 100.0,
            a.threads_gone_by(&b),
            (b.switches - a.switches) as f64 / seconds,
            sitewarden_tests::storm::rss_kb(p) as f64 / 1024.0
        );
    };
    row("daemon", d0, d1, pid);
    if broker != 0 {
        row("embedded broker (mosquitto)", b0, b1, broker);
    }
    Ok(())
}
