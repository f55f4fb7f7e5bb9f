//! Test harness: real peers on free loopback ports, each in its own
//! temporary directory, stopped when their guard drops.
//!
//! Nothing here is a mock. Peers are real implementations of the protocols
//! (pymodbus, the site simulator, a byte-level proxy that misbehaves on
//! purpose), started by the test that needs them.

pub mod proxy;

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sitewarden::catalog::Catalog;
use sitewarden::daemon::{self, RunOptions, RunningDaemon};
use sitewarden::readings::{DeviceState, Quality, Value};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The Python that has the test dependencies: `SITEWARDEN_PYTHON`, else the
/// virtualenv `scripts/test.sh` makes, else `python3`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SITEWARDEN_PYTHON") {
        return p.into();
    }
    let venv = repo_root().join(".venv-test/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// A child process killed when dropped.
pub struct ChildGuard(Child);

impl ChildGuard {
    /// Guards a started process.
    pub fn new(child: Child) -> Self {
        Self(child)
    }

    /// SIGKILL (no shutdown code runs), and waits until it is gone.
    pub fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Framing pymodbus serves.
#[derive(Debug, Clone, Copy)]
pub enum Framing {
    /// Modbus TCP (MBAP).
    Tcp,
    /// RTU frames over TCP, as an RS-485 gateway forwards them.
    RtuOverTcp,
}

/// A running pymodbus server (tests/peers/pymodbus_server.py).
pub struct Pymodbus {
    /// Where it listens.
    pub addr: SocketAddr,
    _child: ChildGuard,
}

impl Pymodbus {
    /// Starts the server and waits until it accepts connections.
    pub fn start(framing: Framing) -> anyhow::Result<Self> {
        let port = free_port();
        let framer = match framing {
            Framing::Tcp => "socket",
            Framing::RtuOverTcp => "rtu",
        };
        let args = [
            "--port".to_owned(),
            port.to_string(),
            "--framer".to_owned(),
            framer.to_owned(),
        ];
        Self::spawn(&args, SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Serves Modbus RTU on a serial device (one end of a [`SerialPair`]).
    pub fn start_serial(device: &Path) -> anyhow::Result<Self> {
        let args = ["--serial".to_owned(), device.display().to_string()];
        Self::spawn(&args, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn spawn(args: &[String], addr: SocketAddr) -> anyhow::Result<Self> {
        let script = repo_root().join("tests/peers/pymodbus_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting pymodbus (run scripts/test.sh to install it)")?;
        let stdout = child.stdout.take().context("pymodbus stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if !line.starts_with("READY") {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
            }
            let _ = child.kill();
            bail!("pymodbus did not start (is it installed? run scripts/test.sh): {err}");
        }
        Ok(Self {
            addr,
            _child: ChildGuard(child),
        })
    }
}

/// Two pseudo-terminals joined by socat: a serial line on one machine.
pub struct SerialPair {
    /// The daemon's end.
    pub a: PathBuf,
    /// The device's end.
    pub b: PathBuf,
    _dir: tempfile::TempDir,
    _child: ChildGuard,
}

impl SerialPair {
    /// Creates the pair and waits until both ends exist.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (a, b) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting socat (run scripts/test.sh to install it)")?;
        let child = ChildGuard(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(a.exists() && b.exists()) {
            anyhow::ensure!(Instant::now() < deadline, "socat made no pty pair");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            a,
            b,
            _dir: dir,
            _child: child,
        })
    }
}

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

/// A plain HTTP/1.1 request; returns the status and the body parsed as JSON
/// (`Null` when it is not JSON).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<(u16, serde_json::Value)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}

/// A plain HTTP/1.1 GET returning status and body text.
pub fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A VictoriaMetrics server (Debian's `victoria-metrics`) on a free port,
/// with its data in its own temporary directory; it can be stopped and
/// started again on the same port and data, to stage an outage.
pub struct VictoriaMetrics {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Option<ChildGuard>,
}

/// One series from `/api/v1/export`.
#[derive(Debug, Clone)]
pub struct Series {
    /// Labels, `__name__` included.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Values, oldest first.
    pub values: Vec<f64>,
    /// Timestamps in milliseconds, oldest first.
    pub timestamps: Vec<i64>,
}

impl VictoriaMetrics {
    /// Starts it and waits until it answers.
    pub fn start() -> anyhow::Result<Self> {
        let mut vm = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            dir: tempfile::tempdir()?,
            child: None,
        };
        vm.resume()?;
        Ok(vm)
    }

    /// Starts it again after [`Self::stop`], same port and data.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        let child = Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr={}", self.addr))
            .arg(format!("-storageDataPath={}", self.dir.path().display()))
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting victoria-metrics (run scripts/test.sh to install it)")?;
        self.child = Some(ChildGuard(child));
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(http_get(self.addr, "/health"), Ok((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("victoria-metrics did not come up on {}", self.addr)
    }

    /// Stops it (an outage). Gracefully, with SIGINT: VictoriaMetrics
    /// acknowledges writes before it persists them, so a SIGKILL would lose
    /// its last second of data and the test would blame the daemon.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.child.take() {
            let pid = guard.0.id().to_string();
            let _ = Command::new("kill").args(["-INT", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(guard.0.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Every sample of the series matching `selector`, after flushing.
    pub fn export(&self, selector: &str) -> anyhow::Result<Vec<Series>> {
        // Rows become searchable after VictoriaMetrics' one-second pending-rows flush.
        std::thread::sleep(Duration::from_millis(1500));
        http_get(self.addr, "/internal/force_flush")?;
        let query: String = selector
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let (status, body) = http_get(
            self.addr,
            &format!("/api/v1/export?match[]={query}&start=0"),
        )?;
        anyhow::ensure!(status == 200, "export answered {status}: {body}");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)?;
                let labels = v["metric"]
                    .as_object()
                    .context("no metric")?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                let values = v["values"]
                    .as_array()
                    .context("no values")?
                    .iter()
                    .filter_map(|x| x.as_f64())
                    .collect();
                let timestamps = v["timestamps"]
                    .as_array()
                    .context("no timestamps")?
                    .iter()
                    .filter_map(|x| x.as_i64())
                    .collect();
                Ok(Series {
                    labels,
                    values,
                    timestamps,
                })
            })
            .collect()
    }
}

/// InfluxDB 1.x (Debian's `influxdb`) on free ports in its own directory,
/// with one database, and an adapter in front that accepts the v2 write
/// API (`POST /api/v2/write?bucket=…`) the daemon uses and forwards it to
/// the v1 `/write` endpoint, which Debian's InfluxDB 1.6 lacks.
pub struct InfluxV1 {
    /// InfluxDB's own HTTP API (queries).
    pub http: SocketAddr,
    /// The v2-write adapter the daemon writes to.
    pub adapter: SocketAddr,
    /// The database (= bucket).
    pub database: String,
    _dir: tempfile::TempDir,
    _child: ChildGuard,
    adapter_task: tokio::task::JoinHandle<()>,
}

impl Drop for InfluxV1 {
    fn drop(&mut self) {
        self.adapter_task.abort();
    }
}

impl InfluxV1 {
    /// Starts InfluxDB and the adapter, and creates `database`.
    pub async fn start(database: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let rpc = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let d = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"{rpc}\"\n[meta]\n  dir = \"{d}/meta\"\n[data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"{http}\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n"
        );
        std::fs::write(dir.path().join("influxdb.conf"), config)?;
        let child = Command::new("influxd")
            .arg("-config")
            .arg(dir.path().join("influxdb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting influxd (run scripts/test.sh to install it)")?;
        let child = ChildGuard(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if matches!(http_get(http, "/ping"), Ok((204, _))) {
                break;
            }
            if Instant::now() > deadline {
                bail!("influxd did not come up on {http}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, body) = http_get(
            http,
            &format!(
                "/query?q={}",
                url_encode(&format!("CREATE DATABASE \"{database}\""))
            ),
        )?;
        anyhow::ensure!(status == 200, "CREATE DATABASE answered {status}: {body}");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let adapter = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/api/v2/write", axum::routing::post(forward_v2_write))
            .with_state(http);
        let adapter_task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            http,
            adapter,
            database: database.to_owned(),
            _dir: dir,
            _child: child,
            adapter_task,
        })
    }

    /// Runs an InfluxQL query and returns the parsed JSON answer.
    pub fn query(&self, influxql: &str) -> anyhow::Result<serde_json::Value> {
        let path = format!(
            "/query?db={}&q={}",
            url_encode(&self.database),
            url_encode(influxql)
        );
        let (status, body) = http_get(self.http, &path)?;
        anyhow::ensure!(status == 200, "query answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn forward_v2_write(
    axum::extract::State(influx): axum::extract::State<SocketAddr>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let bucket = params.get("bucket").cloned().unwrap_or_default();
    let precision = params
        .get("precision")
        .cloned()
        .unwrap_or_else(|| "ns".into());
    let encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("Content-Encoding: {v}\r\n"))
        .unwrap_or_default();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<u16> {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(influx)?;
        let head = format!(
            "POST /write?db={}&precision={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{encoding}Content-Length: {}\r\n\r\n",
            url_encode(&bucket),
            url_encode(&precision),
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(&body)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let text = String::from_utf8_lossy(&response);
        text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no status")
    })
    .await;
    match result {
        Ok(Ok(code)) => {
            axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::BAD_GATEWAY)
        }
        _ => axum::http::StatusCode::BAD_GATEWAY,
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

/// A mosquitto broker (Debian's `mosquitto`) on a free port, persisting
/// sessions in its own directory, so a restart keeps a subscriber's queue.
pub struct Mosquitto {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Option<ChildGuard>,
}

impl Mosquitto {
    /// Starts it and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        let mut broker = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            dir: tempfile::tempdir()?,
            child: None,
        };
        broker.resume()?;
        Ok(broker)
    }

    /// Starts it again after [`Self::stop`], same port and persistence.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        let config = format!(
            "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n",
            self.addr.port(),
            self.dir.path().display()
        );
        self.launch(&config)
    }

    /// Writes `config`, starts mosquitto with it and waits for the port.
    /// The broker logs connections to `mosquitto.log` ([`Self::log`]).
    fn launch(&mut self, config: &str) -> anyhow::Result<()> {
        let path = self.dir.path().join("mosquitto.conf");
        let log = self.dir.path().join("mosquitto.log");
        let config = format!("{config}log_dest stderr\nconnection_messages true\n");
        std::fs::write(&path, config)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let binary = if Path::new("/usr/sbin/mosquitto").exists() {
            "/usr/sbin/mosquitto"
        } else {
            "mosquitto"
        };
        let child = Command::new(binary)
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting mosquitto (run scripts/test.sh to install it)")?;
        self.child = Some(ChildGuard(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(self.addr).is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "mosquitto did not come up on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// What the broker logged so far, e.g. `New client connected from … as
    /// <client id> (p5, c1, k30).`, where `p5` is MQTT 5 and `p2` MQTT 3.1.1.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Stops it with SIGTERM, so it saves its sessions, as a broker restart would.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &guard.0.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && !matches!(guard.0.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// One message a subscriber received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Topic.
    pub topic: String,
    /// Payload as text.
    pub payload: String,
    /// Retained flag as delivered.
    pub retain: bool,
}

/// A subscriber with a persistent session that records what it receives,
/// reconnecting by itself when the broker goes away.
pub struct Subscriber {
    /// Everything received, in order.
    pub received: Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscriber {
    /// Connects to `addr` as `client_id` and subscribes to `filter` with QoS 1.
    pub async fn start(addr: SocketAddr, client_id: &str, filter: &str) -> anyhow::Result<Self> {
        use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
        let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
        options.set_clean_session(false);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        client.subscribe(filter, QoS::AtLeastOnce).await?;
        let received: Arc<std::sync::Mutex<Vec<Received>>> = Arc::default();
        let sink = received.clone();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let mut ready_tx = Some(ready_tx);
        let filter = filter.to_owned();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(tx) = ready_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(ack))) if !ack.session_present => {
                        let _ = client.subscribe(filter.clone(), QoS::AtLeastOnce).await;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => sink
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Received {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retain: p.retain,
                        }),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready).await??;
        Ok(Self { received, task })
    }

    /// A copy of what arrived so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A test certificate authority with a server certificate for 127.0.0.1
/// and a client certificate, written as PEM files into `dir`.
pub struct TestPki {
    /// CA certificate.
    pub ca: PathBuf,
    /// Broker certificate and key.
    pub server: (PathBuf, PathBuf),
    /// Client certificate and key.
    pub client: (PathBuf, PathBuf),
    /// A broker certificate for 127.0.0.1 from another CA, which the daemon must refuse.
    pub rogue_server: (PathBuf, PathBuf),
    /// A broker certificate from the right CA for another host, which the daemon must refuse.
    pub other_host_server: (PathBuf, PathBuf),
}

impl TestPki {
    /// Generates the CA and the certificates.
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
        let authority = |name: &str| -> anyhow::Result<_> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key)?;
            Ok((cert, Issuer::new(params, key)))
        };
        let (ca_cert, issuer) = authority("sitewarden test CA")?;
        let (_, rogue) = authority("sitewarden test CA")?;
        let signed = |issuer: &Issuer<'_, KeyPair>,
                      name: &str,
                      loopback: bool|
         -> anyhow::Result<(String, String)> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(vec![name.to_owned()])?;
            if loopback {
                params
                    .subject_alt_names
                    .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
            }
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.signed_by(&key, issuer)?;
            Ok((cert.pem(), key.serialize_pem()))
        };
        let leaf = |name: &str, server: bool| signed(&issuer, name, server);
        let write = |name: &str, text: &str| -> anyhow::Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        };
        let (server_cert, server_key) = leaf("localhost", true)?;
        let (client_cert, client_key) = leaf("sitewarden-test", false)?;
        let (rogue_cert, rogue_key) = signed(&rogue, "localhost", true)?;
        let (other_cert, other_key) = leaf("broker.other.example", false)?;
        Ok(Self {
            rogue_server: (
                write("rogue-server.pem", &rogue_cert)?,
                write("rogue-server.key", &rogue_key)?,
            ),
            other_host_server: (
                write("other-server.pem", &other_cert)?,
                write("other-server.key", &other_key)?,
            ),
            ca: write("ca.pem", &ca_cert.pem())?,
            server: (
                write("server.pem", &server_cert)?,
                write("server.key", &server_key)?,
            ),
            client: (
                write("client.pem", &client_cert)?,
                write("client.key", &client_key)?,
            ),
        })
    }
}

impl Mosquitto {
    /// Starts a broker that accepts only TLS clients with a certificate from `pki`'s CA.
    pub fn start_tls(pki: &TestPki) -> anyhow::Result<Self> {
        Self::start_tls_as(pki, &pki.server, true)
    }

    /// Starts a TLS broker presenting `server` (certificate and key), asking
    /// clients for a certificate from `pki`'s CA if `require_client`.
    pub fn start_tls_as(
        pki: &TestPki,
        server: &(PathBuf, PathBuf),
        require_client: bool,
    ) -> anyhow::Result<Self> {
        let mut broker = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            dir: tempfile::tempdir()?,
            child: None,
        };
        let config = format!(
            "listener {} 127.0.0.1\nallow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require_client}\n",
            broker.addr.port(),
            pki.ca.display(),
            server.0.display(),
            server.1.display()
        );
        broker.launch(&config)?;
        Ok(broker)
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

/// An SMTP sink (tests/peers/smtp_sink.py on aiosmtpd) on a free port that
/// answers 451 to its first `fail_first` messages and records the rest.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    out: PathBuf,
    _dir: tempfile::TempDir,
    _child: ChildGuard,
}

impl SmtpSink {
    /// Starts the sink and waits until it listens.
    pub fn start(fail_first: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("mail.jsonl");
        let port = free_port();
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/peers/smtp_sink.py"))
            .args([
                "--port",
                &port.to_string(),
                "--fail-first",
                &fail_first.to_string(),
                "--out",
            ])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the SMTP sink (is aiosmtpd installed? run scripts/test.sh)")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        anyhow::ensure!(line.trim() == "ready", "SMTP sink did not start: {line:?}");
        Ok(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            out,
            _dir: dir,
            _child: ChildGuard(child),
        })
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// One request an [`HttpReceiver`] accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Path.
    pub path: String,
    /// Headers, lower-case names.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Body, parsed.
    pub body: serde_json::Value,
    /// Body, the bytes as received (what a signature covers).
    pub raw: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// A real HTTP server on a free port that answers 500 to its first
/// `fail_first` POSTs and records what it accepts. A stalling receiver
/// ([`HttpReceiver::start_stalling`]) fails only the requests to one path,
/// and holds each of them for a while before it answers 500, like a
/// receiver that hangs.
#[derive(Clone)]
pub struct HttpReceiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests answered 500 so far.
    pub refused: Arc<std::sync::atomic::AtomicUsize>,
    /// When each refused request arrived.
    pub refused_at: Arc<std::sync::Mutex<Vec<Instant>>>,
    fail_first: Arc<std::sync::atomic::AtomicUsize>,
    fail_path: &'static str,
    stall: Duration,
    accepted: Arc<std::sync::Mutex<Vec<Posted>>>,
}

impl HttpReceiver {
    /// Listens on a free port; refusals, on any path, are answered at once.
    pub async fn start(fail_first: usize) -> anyhow::Result<Self> {
        Self::start_stalling(fail_first, Duration::ZERO, "/").await
    }

    /// Listens on a free port; each of the first `fail_first` requests to
    /// a path starting with `fail_path` hangs for `stall`, then gets 500.
    pub async fn start_stalling(
        fail_first: usize,
        stall: Duration,
        fail_path: &'static str,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let receiver = Self {
            addr: listener.local_addr()?,
            refused: Arc::default(),
            refused_at: Arc::default(),
            fail_first: Arc::new(fail_first.into()),
            fail_path,
            stall,
            accepted: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(Self::receive)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(receiver)
    }

    async fn receive(
        axum::extract::State(r): axum::extract::State<Self>,
        uri: axum::http::Uri,
        headers: axum::http::HeaderMap,
        raw: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        if uri.path().starts_with(r.fail_path) && r.take_refusal() {
            tokio::time::sleep(r.stall).await;
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        }
        let body = String::from_utf8_lossy(&raw).into_owned();
        let posted = Posted {
            path: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
            raw: raw.to_vec(),
            at: Instant::now(),
        };
        r.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(posted);
        axum::http::StatusCode::OK
    }

    /// Whether this request is one of the first `fail_first`, which are refused.
    fn take_refusal(&self) -> bool {
        let mut arrivals = self.refused_at.lock().unwrap_or_else(|e| e.into_inner());
        if arrivals.len() >= self.fail_first.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        arrivals.push(Instant::now());
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    }

    /// Everything accepted so far.
    pub fn posted(&self) -> Vec<Posted> {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
