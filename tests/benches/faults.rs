//! Fault-injection benchmark (issue 14): fire alarms raised through a
//! simulated fire panel while a fault is injected into a running daemon
//! (its own process, `daemon-process`, as `sitewarden run` runs it), against
//! real peers on loopback. For each fault it counts the alarms raised, the
//! alerts stored, the alerts notified, the notifications confirmed by the
//! receiver, the alarms lost (must be 0) and the notifications received
//! twice (bounded by at-least-once delivery).
//!
//! Faults: `kill -9` at random moments (and an immediate restart); a chat
//! robot answering HTTP 200 with `errcode` 45009 for 20 s; a receiver that
//! hangs past the channel's timeout; the alert database locked by another
//! process for 8 s; the data directory's disk full (a tmpfs filled by
//! another writer, needs root; skipped otherwise).
//!
//! `cargo bench -p sitewarden-tests --bench faults` (`KILLS=50` by default).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng as _;
use site_sim::Step;
use sitewarden::config::hash_token;
use sitewarden_tests::{
    ChildGuard, HttpReceiver, SiteDir, free_port, frozen, http, repo_root, start_sim,
};

const TOKEN: &str = "tok-engineer";

/// One daemon process with its panel, its receiver and its site.
struct Rig {
    site: SiteDir,
    sim: site_sim::RunningSite,
    receiver: HttpReceiver,
    api: SocketAddr,
    config: PathBuf,
    daemon: ChildGuard,
}

/// What one fault's run counted.
struct Count {
    fault: &'static str,
    raised: usize,
    stored: usize,
    notified: usize,
    confirmed: usize,
    duplicated: usize,
    seconds: f64,
}

impl Rig {
    /// Starts everything; `robot` sends through a WeCom-style robot instead
    /// of the generic webhook; `data` is the data directory.
    async fn start(
        receiver: HttpReceiver,
        robot: bool,
        data: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let site = SiteDir::new()?;
        let sim = start_sim(&site, &[("fire-panel-1", "fire-panel")], frozen()).await?;
        let api: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let data = data.unwrap_or_else(|| site.dir.path().join("data"));
        let (kind, path) = if robot {
            ("wecom", "wecom")
        } else {
            ("webhook", "hook")
        };
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

[storage]
data_dir = {data:?}
min_free = "16MiB"
reserve = "8MiB"

[rules]
packs = [{fire:?}]

[[people]]
id = "guard"
name = "Zhao Min"

[alerts]
self_test_every = "0s"

[alerts.channels.out]
kind = "{kind}"
url = "http://{receiver}/{path}"
timeout = "2s"
late = "send"

[alerts.policies.fire]
repeat = "2s"
steps = [{{ notify = ["guard"], channels = ["out"], wait = "2s" }}]

[alerts.policies.default]
repeat = "1h"
steps = [{{ notify = ["guard"], channels = ["out"], wait = "1h" }}]

[[devices]]
id = "fire-panel-1"
profile = "fire-panel"
transport = {{ kind = "modbus-tcp", host = "{panel}" }}
poll_interval = "100ms"
"#,
                token = hash_token(TOKEN),
                data = data.display().to_string(),
                fire = repo_root()
                    .join("config/standards/fire.toml")
                    .display()
                    .to_string(),
                receiver = receiver.addr,
                panel = sim
                    .addr("fire-panel-1")
                    .ok_or_else(|| anyhow::anyhow!("no panel"))?,
            ),
        )?;
        let daemon = spawn(&config);
        let rig = Self {
            site,
            sim,
            receiver,
            api,
            config,
            daemon,
        };
        rig.wait_healthy()?;
        Ok(rig)
    }

    fn wait_healthy(&self) -> anyhow::Result<()> {
        sitewarden_tests::wait_blocking("the daemon to answer", Duration::from_secs(30), || {
            http(self.api, "GET", "/healthz", None, None).is_ok()
        })
    }

    fn restart(&mut self) -> anyhow::Result<Duration> {
        self.daemon.kill_9();
        let t0 = Instant::now();
        self.daemon = spawn(&self.config);
        self.wait_healthy()?;
        Ok(t0.elapsed())
    }

    fn set_alarm(&self, on: bool) {
        let step = format!(
            "device = \"fire-panel-1\"\naction = \"set\"\npoint = \"zone3_alarm\"\nvalue = {}",
            u8::from(on)
        );
        if let Ok(step) = toml::from_str::<Step>(&step) {
            self.sim.apply(&step);
        }
    }

    fn fire_alerts(&self) -> Vec<serde_json::Value> {
        http(self.api, "GET", "/api/v1/alerts?limit=1000", None, None)
            .map(|(_, b)| b["alerts"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["rule"] == "fire.fire_alarm")
            .collect()
    }

    fn open_fire(&self) -> Option<serde_json::Value> {
        self.fire_alerts()
            .into_iter()
            .find(|a| a["status"] == "open")
    }

    /// The alarm's alert exists, then the alarm resets, the alert clears
    /// and is acknowledged (resolved), ready for the next cycle.
    fn finish_cycle(&self, cycle: usize) -> anyhow::Result<()> {
        sitewarden_tests::wait_blocking(
            &format!("cycle {cycle}'s alert"),
            Duration::from_secs(90),
            || self.open_fire().is_some(),
        )?;
        self.set_alarm(false);
        sitewarden_tests::wait_blocking(
            &format!("cycle {cycle}'s alert to clear"),
            Duration::from_secs(60),
            || self.open_fire().is_some_and(|a| a["active"] == false),
        )?;
        sitewarden_tests::wait_blocking("the acknowledgement", Duration::from_secs(60), || {
            let Some(id) = self.open_fire().and_then(|a| a["id"].as_i64()) else {
                return true;
            };
            let path = format!("/api/v1/alerts/{id}/ack");
            http(
                self.api,
                "POST",
                &path,
                Some(TOKEN),
                Some(r#"{"note":"bench"}"#),
            )
            .is_ok_and(|(code, _)| code == 200)
        })?;
        sitewarden_tests::wait_blocking("the alert to resolve", Duration::from_secs(30), || {
            self.open_fire().is_none()
        })
    }

    /// Counts what reached the receiver once every alert had its chance.
    fn count(&self, fault: &'static str, raised: usize, began: Instant) -> Count {
        let ids: BTreeSet<i64> = self
            .fire_alerts()
            .iter()
            .filter_map(|a| a["id"].as_i64())
            .collect();
        let notified = || -> BTreeSet<i64> {
            self.receiver
                .posted()
                .iter()
                .filter_map(|p| {
                    p.body["alert"]["id"]
                        .as_i64()
                        .or_else(|| robot_alert(&p.body))
                })
                .filter(|i| ids.contains(i))
                .collect()
        };
        let _ = sitewarden_tests::wait_blocking(
            "every alert's notification",
            Duration::from_secs(120),
            || notified().len() == ids.len(),
        );
        for id in ids.difference(&notified()) {
            let path = format!("/api/v1/alerts/{id}");
            let alert = http(self.api, "GET", &path, None, None).map(|(_, a)| a);
            let deliveries = alert.map(|a| a["deliveries"].clone()).unwrap_or_default();
            eprintln!("{fault}: alert {id} not notified; its deliveries: {deliveries}");
        }
        let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
        for p in self.receiver.posted() {
            let key = p
                .headers
                .get("idempotency-key")
                .cloned()
                .unwrap_or_default();
            *by_key.entry(key).or_default() += 1;
        }
        Count {
            fault,
            raised,
            stored: ids.len(),
            notified: notified().len(),
            confirmed: by_key.len(),
            duplicated: by_key.values().map(|n| n - 1).sum(),
            seconds: began.elapsed().as_secs_f64(),
        }
    }
}

/// A robot message names its alert only in its text: `… POST /api/v1/alerts/<id>/ack`.
fn robot_alert(body: &serde_json::Value) -> Option<i64> {
    let text = body["text"]["content"]
        .as_str()
        .or_else(|| body["markdown"]["content"].as_str())?;
    let tail = text.rsplit("/api/v1/alerts/").next()?;
    tail.split('/').next()?.parse().ok()
}

fn spawn(config: &Path) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon-process starts");
    ChildGuard::new(child)
}

/// `kill -9` at a random moment of every cycle, restarted at once.
async fn kills(n: usize) -> anyhow::Result<(Count, Vec<u64>)> {
    let mut rig = Rig::start(HttpReceiver::start(0).await?, false, None).await?;
    let began = Instant::now();
    let mut restarts = Vec::new();
    let mut rng = rand::rng();
    for cycle in 0..n {
        rig.set_alarm(true);
        std::thread::sleep(Duration::from_millis(rng.random_range(0..3000)));
        restarts.push(rig.restart()?.as_millis() as u64);
        rig.finish_cycle(cycle)?;
    }
    Ok((
        rig.count("`kill -9` at a random moment, restarted at once", n, began),
        restarts,
    ))
}

/// Alarms raised while `fault` holds, which `end` lifts after `hold`.
fn under_fault(
    rig: &Rig,
    alarms: usize,
    hold: Duration,
    end: impl FnOnce() + Send + 'static,
) -> anyhow::Result<()> {
    let lifter = std::thread::spawn(move || {
        std::thread::sleep(hold);
        end();
    });
    for cycle in 0..alarms {
        rig.set_alarm(true);
        rig.finish_cycle(cycle)?;
    }
    let _ = lifter.join();
    Ok(())
}

async fn refusing_robot(alarms: usize) -> anyhow::Result<Count> {
    let receiver = HttpReceiver::start(0).await?;
    receiver
        .robot_refuses
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let rig = Rig::start(receiver, true, None).await?;
    let began = Instant::now();
    let refusing = rig.receiver.robot_refuses.clone();
    under_fault(&rig, alarms, Duration::from_secs(20), move || {
        refusing.store(false, std::sync::atomic::Ordering::SeqCst)
    })?;
    Ok(rig.count(
        "a robot answers HTTP 200 with errcode 45009 for 20 s",
        alarms,
        began,
    ))
}

async fn hanging_receiver(alarms: usize) -> anyhow::Result<Count> {
    let receiver = HttpReceiver::start_stalling(6, Duration::from_secs(3), "/hook").await?;
    let rig = Rig::start(receiver, false, None).await?;
    let began = Instant::now();
    under_fault(&rig, alarms, Duration::ZERO, || {})?;
    Ok(rig.count(
        "the receiver hangs past the 2 s timeout (first 6 requests)",
        alarms,
        began,
    ))
}

async fn locked_store(alarms: usize) -> anyhow::Result<Count> {
    let rig = Rig::start(HttpReceiver::start(0).await?, false, None).await?;
    let db = rig.site.dir.path().join("data").join("alerts.db");
    let lock = rusqlite::Connection::open(&db)?;
    lock.execute_batch("BEGIN EXCLUSIVE")?;
    let began = Instant::now();
    under_fault(&rig, alarms, Duration::from_secs(8), move || {
        let _ = lock.execute_batch("COMMIT");
    })?;
    Ok(rig.count(
        "the alert database locked by another process for 8 s",
        alarms,
        began,
    ))
}

async fn full_disk(alarms: usize) -> anyhow::Result<Option<Count>> {
    let mount = tempfile::tempdir()?;
    let data = mount.path().join("data");
    std::fs::create_dir_all(&data)?;
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
        .arg(&data)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return Ok(None);
    }
    let outcome = async {
        let rig = Rig::start(HttpReceiver::start(0).await?, false, Some(data.clone())).await?;
        let filler = data.join("filler");
        fill(&filler);
        sitewarden_tests::wait_blocking(
            "the daemon to see the full disk",
            Duration::from_secs(15),
            || http(rig.api, "GET", "/healthz", None, None).is_ok_and(|(code, _)| code == 503),
        )?;
        let began = Instant::now();
        under_fault(&rig, alarms, Duration::from_secs(15), move || {
            let _ = std::fs::remove_file(&filler);
        })?;
        anyhow::Ok(rig.count(
            "the data directory's disk full (tmpfs filled) for 15 s",
            alarms,
            began,
        ))
    }
    .await;
    let _ = Command::new("umount").arg("-l").arg(&data).status();
    outcome.map(Some)
}

fn fill(path: &Path) {
    use std::io::Write as _;
    if let Ok(mut file) = std::fs::File::create(path) {
        let chunk = vec![0u8; 256 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let kill_count: usize = std::env::var("KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(50);
    // FAULTS=robot,disk runs only those (kill, robot, hang, lock, disk).
    let only = std::env::var("FAULTS").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|f| f == name);
    let mut counts = Vec::new();
    let mut restarts = Vec::new();
    if run("kill") {
        let (killed, times) = kills(kill_count).await?;
        counts.push(killed);
        restarts = times;
    }
    if run("robot") {
        counts.push(refusing_robot(5).await?);
    }
    if run("hang") {
        counts.push(hanging_receiver(5).await?);
    }
    if run("lock") {
        counts.push(locked_store(3).await?);
    }
    let mut disk_skipped = false;
    if run("disk") {
        let disk = full_disk(3).await?;
        disk_skipped = disk.is_none();
        counts.extend(disk);
    }
    println!(
        "| fault | alarms raised | alerts stored | alerts notified | notifications confirmed | lost | duplicated | run |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut lost_total = 0;
    for c in &counts {
        let lost = c.raised.saturating_sub(c.notified.min(c.stored));
        lost_total += lost;
        println!(
            "| {} | {} | {} | {} | {} | {lost} | {} | {:.0} s |",
            c.fault, c.raised, c.stored, c.notified, c.confirmed, c.duplicated, c.seconds
        );
    }
    if disk_skipped {
        println!("(disk full skipped: mounting a tmpfs needs root)");
    }
    restarts.sort_unstable();
    println!(
        "restart after kill -9 to /healthz answering: median {} ms, max {} ms",
        restarts.get(restarts.len() / 2).copied().unwrap_or(0),
        restarts.last().copied().unwrap_or(0)
    );
    anyhow::ensure!(lost_total == 0, "{lost_total} alarms lost");
    Ok(())
}
