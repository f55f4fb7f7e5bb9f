//! Fifty open duty consoles against the alarm path (issue 18): a fire
//! alarm's register set in the simulated fire panel (polled every 100 ms)
//! → the alert's first notification on MQTT, measured with no console
//! open, then with `CONSOLES` (50) alarms boards open — each holding the
//! event stream `/console/events` and fetching `/console/alarms` on every
//! event, as the board's script does — then with none again. Alarms follow
//! one another at a random phase against the poll, each acknowledged over
//! the API and reset before the next; `ALARMS` (60) per phase.
//!
//! The daemon runs as `sitewarden run` does (its own process,
//! `daemon-process`, embedded broker, API, stores), with
//! `max_connections_per_client` raised because every console here comes
//! from 127.0.0.1.
//!
//! `cargo bench -p sitewarden-tests --bench console_fanout`

use std::io::{BufRead as _, BufReader, Write as _};
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
    ChildGuard, SiteDir, Subscriber, env_number, first_notification, form_request, free_port, http,
    percentile, repo_root, start_sim, wait_blocking,
};

const TOKEN: &str = "tok-engineer";
const PASSWORD: &str = "bench-engineer";
const PANEL_POLL_MS: u64 = 100;

fn spawn(config: &Path) -> anyhow::Result<ChildGuard> {
    let child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(ChildGuard::new(child))
}

/// An open alarms board: the event stream, and the list fetched on every
/// event, until `stop`. Counts the lists fetched and the failures.
fn console(
    api: SocketAddr,
    cookie: String,
    stop: Arc<AtomicBool>,
    fetched: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut stream) = std::net::TcpStream::connect(api) else {
            failed.fetch_add(1, Relaxed);
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let opened = write!(
            stream,
            "GET /console/events HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
        );
        if opened.is_err() {
            failed.fetch_add(1, Relaxed);
            return;
        }
        let mut lines = BufReader::new(stream);
        let mut line = String::new();
        while !stop.load(Relaxed) {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if line.contains("event: alarms") => {
                    match form_request(api, "GET", "/console/alarms", &cookie, "") {
                        Ok((200, _, _)) => fetched.fetch_add(1, Relaxed),
                        _ => failed.fetch_add(1, Relaxed),
                    };
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    failed.fetch_add(1, Relaxed);
                    break;
                }
            }
        }
    })
}

struct Rig {
    api: SocketAddr,
    panel: site_sim::RunningSite,
    _site: SiteDir,
    _daemon: ChildGuard,
}

impl Rig {
    async fn start(broker: SocketAddr) -> anyhow::Result<Self> {
        let site = SiteDir::new()?;
        let panel = start_sim(
            &site,
            &[("fire-panel-1", "fire-panel")],
            site_sim::SimOptions {
                time_scale: 0.0,
                tick: Duration::from_millis(1),
            },
        )
        .await?;
        let api: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let hash = sitewarden::api::session::hash_password(PASSWORD)?;
        let config = site.write(
            "site.toml",
            &format!(
                r#"[site]
id = "bench"
name = "Bench"
time_zone = "UTC"

[api]
listen = "{api}"
# Every console here comes from 127.0.0.1; on a site each has its own address.
max_connections_per_client = 256

[[api.tokens]]
name = "chen.jing"
role = "engineer"
sha256 = "{token}"

[mqtt]
embedded_listen = "{broker}"
allow_anonymous = true

[storage]
data_dir = {data:?}

[rules]
packs = [{fire:?}]

[[people]]
id = "chen.jing"
name = "Chen Jing"
password_hash = "{hash}"
role = "engineer"

[alerts]
self_test_every = "0s"

[alerts.channels.screen]
kind = "mqtt"

[alerts.policies.fire]
repeat = "10m"
steps = [{{ notify = ["chen.jing"], channels = ["screen"], wait = "10m" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "{PANEL_POLL_MS}ms"
timeout = "200ms"
"#,
                token = hash_token(TOKEN),
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
            _site: site,
            _daemon: daemon,
        };
        wait_blocking("the daemon to answer", Duration::from_secs(30), || {
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

    fn fire_open(&self) -> bool {
        http(self.api, "GET", "/api/v1/alerts?status=open", None, None).is_ok_and(|(_, v)| {
            v["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["rule"] == "fire.fire_alarm"))
        })
    }

    /// `alarms` alarms one after another; each one's latency.
    async fn alarms(
        &self,
        subscriber: &Subscriber,
        seen: &mut std::collections::BTreeSet<i64>,
        alarms: u64,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut latencies = Vec::new();
        let mut rng = rand::rng();
        for _ in 0..alarms {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..PANEL_POLL_MS))).await;
            let t0 = Instant::now();
            self.set_alarm(true)?;
            let deadline = t0 + Duration::from_secs(10);
            let (id, arrived) = loop {
                if let Some(found) = first_notification(subscriber, "fire.fire_alarm", seen) {
                    break found;
                }
                anyhow::ensure!(Instant::now() < deadline, "an alarm never arrived");
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            seen.insert(id);
            latencies.push(arrived.duration_since(t0));
            let path = format!("/api/v1/alerts/{id}/ack");
            let acked = http(
                self.api,
                "POST",
                &path,
                Some(TOKEN),
                Some(r#"{"note":"bench"}"#),
            )?;
            anyhow::ensure!(acked.0 == 200, "acknowledging alert {id}: {acked:?}");
            self.set_alarm(false)?;
            wait_blocking("the alert to resolve", Duration::from_secs(30), || {
                !self.fire_open()
            })?;
        }
        latencies.sort();
        Ok(latencies)
    }
}

fn row(label: &str, times: &[Duration]) {
    println!(
        "| {label} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
        times.len(),
        percentile(times, 0.5),
        percentile(times, 0.99),
        percentile(times, 1.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let consoles = env_number("CONSOLES", 50);
    let alarms = env_number("ALARMS", 60);
    let broker: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let rig = Rig::start(broker).await?;
    let subscriber = Subscriber::start(
        broker,
        "bench-control-room",
        "sitewarden/bench/alerts/+/notifications",
    )
    .await?;
    let form = format!("person=chen.jing&password={PASSWORD}");
    let api = rig.api;
    let (_, _, session) =
        tokio::task::spawn_blocking(move || form_request(api, "POST", "/login", "", &form))
            .await??;
    let cookie = session.ok_or_else(|| anyhow::anyhow!("no session"))?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut seen = std::collections::BTreeSet::new();

    let before = rig.alarms(&subscriber, &mut seen, alarms).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let (fetched, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let boards: Vec<_> = (0..consoles)
        .map(|_| {
            console(
                api,
                cookie.clone(),
                stop.clone(),
                fetched.clone(),
                failed.clone(),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = rig._daemon.id();
    let ticks = sitewarden_tests::storm::cpu_ticks(pid);
    let began = Instant::now();
    let with = rig.alarms(&subscriber, &mut seen, alarms).await?;
    let cpu = (sitewarden_tests::storm::cpu_ticks(pid) - ticks) as f64 / 100.0;
    let seconds = began.elapsed().as_secs_f64();
    stop.store(true, Relaxed);
    for board in boards {
        let _ = board.join();
    }
    let after = rig.alarms(&subscriber, &mut seen, alarms).await?;

    println!("fire panel polled every {PANEL_POLL_MS} ms; alarm → first MQTT notification");
    println!("| consoles open | alarms | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    row("none (before)", &before);
    row(&format!("{consoles}"), &with);
    row("none (after)", &after);
    println!(
        "with {consoles} consoles: {} alarm lists fetched on events ({:.1} per alarm), {} failures; daemon CPU {:.1} % of a core over {seconds:.0} s",
        fetched.load(Relaxed),
        fetched.load(Relaxed) as f64 / alarms as f64,
        failed.load(Relaxed),
        cpu / seconds * 100.0
    );
    Ok(())
}
