//! VictoriaMetrics, taking InfluxDB line protocol and answering queries, as a real time-series store.

use super::*;

/// A VictoriaMetrics server (Debian's `victoria-metrics`) on a free port,
/// with its data in its own temporary directory; it can be stopped and
/// started again on the same port and data, to stage an outage.
pub struct VictoriaMetrics {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Option<ChildGuard>,
    /// Further flags (a scrape configuration), kept across restarts.
    flags: Vec<String>,
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
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], free_port())), &[])
    }

    /// Starts it on `addr` with further `flags` (`-promscrape.config=…`).
    pub fn start_on(addr: SocketAddr, flags: &[String]) -> anyhow::Result<Self> {
        let mut vm = Self {
            addr,
            dir: tempfile::tempdir()?,
            child: None,
            flags: flags.to_vec(),
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
            .args(&self.flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting victoria-metrics (run scripts/test.sh to install it)")?;
        self.child = Some(ChildGuard::new(child));
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
        let query = url_encode(selector);
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

impl VictoriaMetrics {
    /// An instant query's answer (`/api/v1/query`), after flushing.
    pub fn query(&self, expr: &str) -> anyhow::Result<serde_json::Value> {
        http_get(self.addr, "/internal/force_flush")?;
        let (status, body) = http_get(
            self.addr,
            &format!("/api/v1/query?query={}", url_encode(expr)),
        )?;
        anyhow::ensure!(status == 200, "query {expr} answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }
}
