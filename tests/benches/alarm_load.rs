//! Alarm latency under load (issue 16, item 5): a fire alarm's register
//! set in the simulated fire panel (polled every 250 ms) → the alert's
//! first notification on MQTT, while the same daemon polls 200 devices × 50
//! registers every second (10,000 points/s, every reading written to the
//! time-series store), rides out outages of that store and replays them,
//! and answers a control room's API requests.
//!
//! The daemon runs as `sitewarden run` does (its own process,
//! `daemon-process`, embedded broker, API, stores); the store is Debian's
//! VictoriaMetrics (InfluxDB line protocol), stopped for `OUTAGE` seconds
//! (90 by default) and started again, `CYCLES` times (3); alarms follow one
//! another for the whole run, each at a random phase against the poll,
//! acknowledged over the API and reset before the next. Each alarm is
//! filed under the phase the store was in when it was raised: `steady`,
//! `outage` (writes buffered on disk) or `replay` (the store back, the
//! buffer not yet drained). The API load is `API_RPS` requests a second
//! (20) spread over the alerts, tickets, devices, conditions, metrics and
//! health endpoints.
//!
//! `cargo bench -p sitewarden-tests --bench alarm_load`

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rand::Rng as _;
use site_sim::Step;
use sitewarden::config::hash_token;
use sitewarden_tests::{
    ChildGuard, SiteDir, Subscriber, VictoriaMetrics, env_number, first_notification, free_port,
    frozen, http, http_get, percentile, repo_root, start_sim,
};

const TOKEN: &str = "tok-engineer";
const DEVICES: usize = 200;
const REGISTERS: usize = 50;
const PANEL_POLL_MS: u64 = 250;

/// What phase the store was in when an alarm was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Steady,
    Outage,
    Replay,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Steady => "steady (store up, nothing buffered)",
            Phase::Outage => "outage (store down, writes buffered)",
            Phase::Replay => "replay (store back, buffer draining)",
        }
    }
}

/// A profile of `REGISTERS` holding registers.
fn bench_profile() -> String {
    let mut text = String::from("description = \"Benchmark device\"\n");
    for r in 0..REGISTERS {
        text.push_str(&format!(
            "\n[[points]]\nname = \"r{r}\"\nkind = \"holding\"\naddress = {r}\n"
        ));
    }
    text
}

struct Rig {
    api: SocketAddr,
    panel: site_sim::RunningSite,
    _farm: site_sim::RunningSite,
    _site: SiteDir,
    _daemon: ChildGuard,
}

impl Rig {
    async fn start(vm: &VictoriaMetrics, broker: SocketAddr) -> anyhow::Result<Self> {
        let site = SiteDir::new()?;
        site.write("profiles/bench-50.toml", &bench_profile())?;
        let panel = start_sim(
            &site,
            &[("fire-panel-1", "fire-panel")],
            site_sim::SimOptions {
                time_scale: 0.0,
                tick: Duration::from_millis(1),
            },
        )
        .await?;
        let names: Vec<String> = (0..DEVICES).map(|d| format!("d{d}")).collect();
        let farm_devices: Vec<(&str, &str)> =
            names.iter().map(|n| (n.as_str(), "bench-50")).collect();
        let farm = start_sim(&site, &farm_devices, frozen()).await?;
        let api: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut devices = String::new();
        for name in &names {
            let addr = farm
                .addr(name)
                .ok_or_else(|| anyhow::anyhow!("no farm device {name}"))?;
            devices.push_str(&format!(
                "\n[[devices]]\nid = \"{name}\"\nprofile = \"bench-50\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{addr}\" }}\npoll_interval = \"1s\"\n"
            ));
        }
        let config = site.write(
            "site.toml",
            &format!(
                r#"[site]
id = "bench"
name = "Bench"
time_zone = "UTC"

[api]
listen = "{api}"

[[api.tokens]]
name = "chen.jing"
role = "engineer"
sha256 = "{token}"

[mqtt]
embedded_listen = "{broker}"
allow_anonymous = true

[sinks.influx]
url = "http://{vm}"
bucket = "bench"
report_min_interval = "1s"

[storage]
data_dir = {data:?}

[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts]
self_test_every = "0s"

[alerts.channels.screen]
kind = "mqtt"

[alerts.policies.fire]
repeat = "10m"
steps = [{{ notify = ["guard"], channels = ["screen"], wait = "10m" }}]

[alerts.policies.default]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["screen"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "{PANEL_POLL_MS}ms"
timeout = "200ms"
{devices}"#,
                token = hash_token(TOKEN),
                vm = vm.addr,
                data = site.dir.path().join("data").display().to_string(),
                fire = repo_root()
                    .join("config/standards/fire.toml")
                    .display()
                    .to_string(),
                panel = panel
                    .addr("fire-panel-1")
                    .ok_or_else(|| anyhow::anyhow!("no panel"))?,
            ),
        )?;
        let daemon = spawn(&config)?;
        let rig = Self {
            api,
            panel,
            _farm: farm,
            _site: site,
            _daemon: daemon,
        };
        sitewarden_tests::wait_blocking("the daemon to answer", Duration::from_secs(30), || {
            http(rig.api, "GET", "/healthz", None, None).is_ok()
        })?;
        Ok(rig)
    }

    fn set_alarm(&self, on: bool) -> anyhow::Result<()> {
        let step = format!(
            "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone1_alarm\"\nvalue = {}",
            u8::from(on)
        );
        self.panel.apply(&toml::from_str::<Step>(&step)?);
        Ok(())
    }

    fn open_fire(&self) -> Option<serde_json::Value> {
        http(self.api, "GET", "/api/v1/alerts?limit=20", None, None)
            .ok()?
            .1["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["rule"] == "fire.fire_alarm" && a["status"] == "open")
            .cloned()
    }
}

fn spawn(config: &Path) -> anyhow::Result<ChildGuard> {
    let child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(ChildGuard::new(child))
}

/// The control room: `rps` requests a second, round robin over the
/// endpoints a console and a wall screen refresh, until `stop`.
fn api_load(
    api: SocketAddr,
    rps: u64,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let paths = [
            "/api/v1/alerts?limit=50",
            "/api/v1/tickets?limit=50",
            "/api/v1/devices",
            "/api/v1/conditions",
            "/metrics",
            "/healthz",
        ];
        let every = Duration::from_micros(1_000_000 / rps.max(1));
        let mut times = Vec::new();
        let mut next = Instant::now();
        for n in 0.. {
            if stop.load(Relaxed) {
                break;
            }
            let t0 = Instant::now();
            match http_get(api, paths[n % paths.len()]) {
                Ok((200, _)) => {
                    done.fetch_add(1, Relaxed);
                    times.push(t0.elapsed());
                }
                _ => {
                    failed.fetch_add(1, Relaxed);
                }
            }
            next += every;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        times
    })
}

/// Stops and starts the store: `cycles` outages of `outage`, each followed
/// by the replay and 15 s of steady state. Sets `down` while stopped.
fn outages(
    mut vm: VictoriaMetrics,
    cycles: u64,
    outage: Duration,
    down: Arc<AtomicBool>,
    api: SocketAddr,
) -> std::thread::JoinHandle<anyhow::Result<Vec<(u64, Duration)>>> {
    std::thread::spawn(move || {
        let mut replays = Vec::new();
        std::thread::sleep(Duration::from_secs(15));
        for _ in 0..cycles {
            down.store(true, Relaxed);
            vm.stop();
            std::thread::sleep(outage);
            let buffered = buffered(api);
            vm.resume()?;
            down.store(false, Relaxed);
            let t0 = Instant::now();
            sitewarden_tests::wait_blocking(
                "the replay to drain",
                Duration::from_secs(600),
                || buffered_after(api) == 0,
            )?;
            replays.push((buffered, t0.elapsed()));
            std::thread::sleep(Duration::from_secs(15));
        }
        Ok(replays)
    })
}

/// The daemon's buffered store lines, from `/metrics`.
fn buffered(api: SocketAddr) -> u64 {
    let Ok((_, text)) = http_get(api, "/metrics") else {
        return 0;
    };
    // `sitewarden_influx_buffered_lines{site="bench"} 1234`
    text.lines()
        .filter(|l| l.starts_with("sitewarden_influx_buffered_lines"))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

fn buffered_after(api: SocketAddr) -> u64 {
    std::thread::sleep(Duration::from_millis(100));
    buffered(api)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cycles = env_number("CYCLES", 3);
    let outage = Duration::from_secs(env_number("OUTAGE", 90));
    let rps = env_number("API_RPS", 20);
    let vm = VictoriaMetrics::start()?;
    let broker: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let rig = Rig::start(&vm, broker).await?;
    let subscriber = Subscriber::start(
        broker,
        "bench-control-room",
        "sitewarden/bench/alerts/+/notifications",
    )
    .await?;
    // Warm-up: every device polled, the store writing.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pid = rig._daemon.id();
    let ticks_before = sitewarden_tests::storm::cpu_ticks(pid);
    let began = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = api_load(rig.api, rps, stop.clone(), done.clone(), failed.clone());
    let down = Arc::new(AtomicBool::new(false));
    let store = outages(vm, cycles, outage, down.clone(), rig.api);
    let mut latencies: BTreeMap<Phase, Vec<Duration>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut rng = rand::rng();
    while !store.is_finished() {
        // A random phase against the panel's poll.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..PANEL_POLL_MS))).await;
        let phase = if down.load(Relaxed) {
            Phase::Outage
        } else if buffered(rig.api) > 0 {
            Phase::Replay
        } else {
            Phase::Steady
        };
        let t0 = Instant::now();
        rig.set_alarm(true)?;
        let deadline = t0 + Duration::from_secs(10);
        let (id, arrived) = loop {
            if let Some(found) = first_notification(&subscriber, "fire.fire_alarm", &seen) {
                break found;
            }
            anyhow::ensure!(Instant::now() < deadline, "an alarm never arrived");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        seen.insert(id);
        latencies
            .entry(phase)
            .or_default()
            .push(arrived.duration_since(t0));
        let path = format!("/api/v1/alerts/{id}/ack");
        let acked = http(
            rig.api,
            "POST",
            &path,
            Some(TOKEN),
            Some(r#"{"note":"bench"}"#),
        )?;
        anyhow::ensure!(acked.0 == 200, "acknowledging alert {id}: {acked:?}");
        rig.set_alarm(false)?;
        sitewarden_tests::wait_blocking("the alert to resolve", Duration::from_secs(30), || {
            rig.open_fire().is_none()
        })?;
    }
    let replays = store
        .join()
        .map_err(|_| anyhow::anyhow!("the outage thread panicked"))??;
    stop.store(true, Relaxed);
    let mut api_times = load
        .join()
        .map_err(|_| anyhow::anyhow!("the API load thread panicked"))?;
    let seconds = began.elapsed().as_secs_f64();
    let cpu = (sitewarden_tests::storm::cpu_ticks(pid) - ticks_before) as f64 / 100.0;

    println!(
        "{DEVICES} devices x {REGISTERS} registers @ 1 s ({} points/s, every reading to the store), fire panel polled every {PANEL_POLL_MS} ms",
        DEVICES * REGISTERS
    );
    println!(
        "store outages: {} x {} s; replays: {}",
        replays.len(),
        outage.as_secs(),
        replays
            .iter()
            .map(|(lines, took)| format!("{lines} lines in {:.1} s", took.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| phase | alarms | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    let mut all = Vec::new();
    for (phase, times) in &mut latencies {
        times.sort();
        all.extend(times.iter().copied());
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            phase.label(),
            times.len(),
            percentile(times, 0.5),
            percentile(times, 0.99),
            percentile(times, 1.0)
        );
    }
    all.sort();
    println!(
        "| all | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 1.0)
    );
    api_times.sort();
    println!(
        "API: {} requests answered ({} failed) at {rps}/s, p50 {:.1} ms, p99 {:.1} ms; daemon CPU {:.1} % of a core over {seconds:.0} s",
        done.load(Relaxed),
        failed.load(Relaxed),
        percentile(&api_times, 0.5),
        percentile(&api_times, 0.99),
        cpu / seconds * 100.0
    );
    println!(
        "target: p99 within the panel's poll + 20 ms = {} ms",
        PANEL_POLL_MS + 20
    );
    Ok(())
}
