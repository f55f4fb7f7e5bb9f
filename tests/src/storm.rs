//! An MQTT storm around one alarm, shared by the storm test and the storm
//! benchmark: one sensor floods its topic with malformed payloads (a share
//! of them 512 KiB) while another presses an emergency button, through the
//! embedded broker or an external mosquitto. The daemon runs as its own
//! process (`daemon-process`, as `sitewarden run` runs it) so that its
//! memory is its own; counters come from its `/metrics`, the alarm from its
//! condition event on MQTT.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, MqttOptions, QoS};

use super::*;

/// Where the storm goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StormBroker {
    /// The daemon's own broker, with a user per sensor.
    Embedded,
    /// A mosquitto the harness runs, anonymous clients allowed.
    External,
}

/// What the storm did.
#[derive(Debug)]
pub struct StormReport {
    /// Small malformed messages published.
    pub small_sent: u64,
    /// 512 KiB messages published.
    pub big_sent: u64,
    /// Messages the daemon refused (by reason) or throttled.
    pub daemon_counted: u64,
    /// Of them, throttled because the device flooded.
    pub throttled: u64,
    /// Messages the embedded broker dropped for the daemon (slow reader).
    pub broker_dropped: u64,
    /// Times the broker disconnected the flooding client (oversized packets).
    pub big_client_dropped: u64,
    /// From the button's publish to its condition raised.
    pub alarm_after: Option<Duration>,
    /// The daemon's RSS before, right after and `settle` after the storm, kB.
    pub rss_kb: (u64, u64, u64),
    /// The embedded broker's RSS right after the storm, kB (0: external).
    pub broker_rss_kb: u64,
}

const SENSOR_PASS: &str = "flood-pass";
const SCREEN_PASS: &str = "screen-pass";

fn site_file(
    site: &SiteDir,
    broker: StormBroker,
    port: u16,
    api: SocketAddr,
) -> anyhow::Result<std::path::PathBuf> {
    let pack = repo_root().join("config/standards/security.toml");
    let mqtt = match broker {
        StormBroker::Embedded => {
            let sensor = mosquitto_hash("sensor", SENSOR_PASS)?;
            let screen = mosquitto_hash("screen", SCREEN_PASS)?;
            format!(
                "embedded_listen = \"127.0.0.1:{port}\"\n\n[[mqtt.users]]\nname = \"sensor\"\n\
                 password_hash = \"{sensor}\"\nrole = \"sensor\"\ndevices = [\"junk\", \"hall\"]\n\n\
                 [[mqtt.users]]\nname = \"screen\"\npassword_hash = \"{screen}\"\nrole = \"screen\"\n"
            )
        }
        StormBroker::External => format!("host = \"127.0.0.1\"\nport = {port}\n"),
    };
    let data = site.dir.path().join("data");
    site.write(
        "site.toml",
        &format!(
            r#"[site]
id = "test-site"
name = "Storm site"
time_zone = "UTC"

[api]
listen = "{api}"

[storage]
data_dir = {data:?}

[mqtt]
{mqtt}
[rules]
packs = [{pack:?}]

[[devices]]
id = "junk"
transport = {{ kind = "mqtt" }}

[[devices.points]]
name = "reading"
role = "room_temp"
topic = "sensors/junk/state"
json_pointer = "/v"

[[devices]]
id = "hall"
transport = {{ kind = "mqtt" }}

[[devices.points]]
name = "panic"
role = "emergency_button"
type = "bool"
topic = "sensors/hall/panic"
"#,
            pack = pack.display().to_string(),
            data = data.display().to_string()
        ),
    )
}

/// `GET path` as text.
fn get_text(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

/// The sum of a metric's samples in Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn client(port: u16, id: &str, login: bool) -> (AsyncClient, rumqttc::EventLoop) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_keep_alive(Duration::from_secs(30));
    if login {
        options.set_credentials("sensor", SENSOR_PASS);
    }
    AsyncClient::new(options, 4096)
}

/// CPU time (user + system) of a process, in `/proc` ticks (100 a second).
pub fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

/// Resident set size of a process, kB.
pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The embedded broker of the daemon `daemon` (its child running
/// mosquitto); `std::process::id()` for a daemon started in this process.
pub fn broker_pid(daemon: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let parent: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (parent == daemon && stat.contains("(mosquitto)")).then_some(pid)
    })
}

/// Runs a storm of `messages` malformed messages (one in `big_every` of
/// 512 KiB) with one button press in the middle against the daemon
/// `binary` (`CARGO_BIN_EXE_daemon-process`), and measures it; waits
/// `settle` after the storm for the third memory figure.
pub async fn storm(
    binary: &std::path::Path,
    broker: StormBroker,
    messages: u64,
    big_every: u64,
    settle: Duration,
) -> anyhow::Result<StormReport> {
    let site = SiteDir::new()?;
    let (external, port) = match broker {
        StormBroker::Embedded => (None, free_port()),
        StormBroker::External => {
            let m = Mosquitto::start()?;
            let port = m.addr.port();
            (Some(m), port)
        }
    };
    let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = site_file(&site, broker, port, api)?;
    let child = std::process::Command::new(binary)
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let daemon = ChildGuard::new(child);
    let pid = daemon.0.id();
    let started = Instant::now();
    while get_text(api, "/healthz").is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login = broker == StormBroker::Embedded;
    let broker_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let alarms = Subscriber::start_as(
        broker_addr,
        "storm-screen",
        "sitewarden/test-site/conditions/hall/#",
        login.then_some(("screen", SCREEN_PASS)),
    )
    .await?;
    let (flood, flood_loop) = client(port, "flood", login).await;
    let (big, big_loop) = client(port, "flood-big", login).await;
    let (button, button_loop) = client(port, "button", login).await;
    let big_counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (eventloop, counter) in [
        (flood_loop, None),
        (big_loop, Some(big_counter.clone())),
        (button_loop, None),
    ] {
        let mut eventloop = eventloop;
        tasks.push(tokio::spawn(async move {
            loop {
                if eventloop.poll().await.is_err() {
                    if let Some(c) = &counter {
                        c.fetch_add(1, Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rss_before = rss_kb(pid);

    let payload_big = vec![b'x'; 512 * 1024];
    let mut small_sent = 0;
    let mut big_sent = 0;
    let mut pressed = None;
    for i in 0..messages {
        if i == messages / 2 {
            button
                .publish("sensors/hall/panic", QoS::AtLeastOnce, false, "true")
                .await?;
            pressed = Some(Instant::now());
        }
        if big_every > 0 && i % big_every == big_every - 1 {
            big.publish(
                "sensors/junk/state",
                QoS::AtMostOnce,
                false,
                payload_big.clone(),
            )
            .await?;
            big_sent += 1;
        } else {
            let body = match i % 3 {
                0 => "not json".to_owned(),
                1 => format!("{{\"w\":{i}}}"),
                _ => "{\"v\":\"warm\"}".to_owned(),
            };
            flood
                .publish("sensors/junk/state", QoS::AtMostOnce, false, body)
                .await?;
            small_sent += 1;
        }
        if i % 256 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let pressed = pressed.unwrap_or_else(Instant::now);
    let mut alarm_after = None;
    while pressed.elapsed() < Duration::from_secs(10) {
        if alarms
            .messages()
            .iter()
            .any(|m| m.payload.contains("\"raised\""))
        {
            alarm_after = Some(pressed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Wait until the daemon has accounted for every message it will get
    // (the embedded broker reports its drops every 5 s).
    let counts = || -> (u64, u64, u64) {
        let text = get_text(api, "/metrics").unwrap_or_default();
        let throttled = metric(&text, "sitewarden_mqtt_throttled_total");
        (
            metric(&text, "sitewarden_mqtt_refused_total") + throttled,
            throttled,
            metric(&text, "sitewarden_mqtt_broker_dropped_total"),
        )
    };
    let mut last = (u64::MAX, 0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(5500)).await;
        let now = counts();
        if now == last {
            break;
        }
        last = now;
    }
    let rss_after = rss_kb(pid);
    let broker_rss_kb = broker_pid(pid).map_or(0, rss_kb);
    tokio::time::sleep(settle).await;
    let (daemon_counted, throttled, broker_dropped) = counts();
    let report = StormReport {
        small_sent,
        big_sent,
        daemon_counted,
        throttled,
        broker_dropped,
        big_client_dropped: big_counter.load(Relaxed),
        alarm_after,
        rss_kb: (rss_before, rss_after, rss_kb(pid)),
        broker_rss_kb,
    };
    for task in tasks {
        task.abort();
    }
    drop(daemon);
    drop(external);
    Ok(report)
}

/// What a soak run measured.
#[derive(Debug)]
pub struct SoakReport {
    /// Messages published.
    pub sent: u64,
    /// Messages the daemon received.
    pub received: u64,
    /// Seconds the publishing took.
    pub seconds: f64,
    /// Daemon RSS at start, peak and end, kB.
    pub daemon_kb: (u64, u64, u64),
    /// Embedded broker RSS at start, peak and end, kB.
    pub broker_kb: (u64, u64, u64),
}

/// Publishes `messages` ordinary readings, spread over `devices` sensors at
/// `rate` messages a second in all, through the embedded broker, sampling
/// the daemon's and the broker's memory every second.
pub async fn soak(
    binary: &std::path::Path,
    messages: u64,
    devices: u32,
    rate: u64,
) -> anyhow::Result<SoakReport> {
    let site = SiteDir::new()?;
    let port = free_port();
    let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let hash = mosquitto_hash("sensor", SENSOR_PASS)?;
    let names: Vec<String> = (0..devices).map(|d| format!("\"s{d}\"")).collect();
    let mut config = format!(
        "[site]\nid = \"test-site\"\nname = \"Soak site\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"{api}\"\n\n\
         [storage]\ndata_dir = {:?}\n\n[mqtt]\nembedded_listen = \"127.0.0.1:{port}\"\n\n[[mqtt.users]]\n\
         name = \"sensor\"\npassword_hash = \"{hash}\"\nrole = \"sensor\"\ndevices = [{}]\n",
        site.dir.path().join("data").display().to_string(),
        names.join(", ")
    );
    for d in 0..devices {
        config.push_str(&format!(
            "\n[[devices]]\nid = \"s{d}\"\ntransport = {{ kind = \"mqtt\" }}\n\n[[devices.points]]\n\
             name = \"temperature\"\nrole = \"room_temp\"\ntopic = \"sensors/s{d}/temperature\"\n"
        ));
    }
    let path = site.write("site.toml", &config)?;
    let daemon = ChildGuard::new(
        std::process::Command::new(binary)
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let pid = daemon.0.id();
    let started = Instant::now();
    while get_text(api, "/healthz").is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (sensors, mut eventloop) = client(port, "soak", true).await;
    tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let broker = broker_pid(pid).unwrap_or(0);
    let sample = || (rss_kb(pid), rss_kb(broker));
    let first = sample();
    let mut peak = first;
    let begin = Instant::now();
    let mut next_sample = Instant::now();
    for i in 0..messages {
        let device = i % u64::from(devices);
        let value = 20.0 + (i % 100) as f64 / 10.0;
        sensors
            .publish(
                format!("sensors/s{device}/temperature"),
                QoS::AtMostOnce,
                false,
                value.to_string(),
            )
            .await?;
        // Pace to `rate`: wait whenever ahead of schedule.
        let due = begin + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(ahead) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(ahead).await;
        }
        if Instant::now() >= next_sample {
            let (d, b) = sample();
            peak = (peak.0.max(d), peak.1.max(b));
            next_sample += Duration::from_secs(1);
        }
    }
    let seconds = begin.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let end = sample();
    let text = get_text(api, "/metrics").unwrap_or_default();
    let received = metric(&text, "sitewarden_mqtt_messages_total");
    drop(daemon);
    Ok(SoakReport {
        sent: messages,
        received,
        seconds,
        daemon_kb: (first.0, peak.0.max(end.0), end.0),
        broker_kb: (first.1, peak.1.max(end.1), end.1),
    })
}
