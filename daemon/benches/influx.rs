//! InfluxDB sink benchmark against VictoriaMetrics (Debian's
//! `victoria-metrics`, started by the bench on a free port).
//!
//! ```text
//! cargo bench -p sitewarden --bench influx                 # all phases
//! cargo bench -p sitewarden --bench influx -- sustained   # or: replay, steady
//! ```
//!
//! * `sustained`: readings pushed into the sink as fast as it takes them;
//!   lines per second accepted by VictoriaMetrics.
//! * `replay`: a 10-minute outage at 10,000 points/s (6 million lines
//!   buffered on disk), then the database comes back: time to drain.
//! * `steady`: 10,000 points/s for 30 s: the sink's CPU and the process RSS.
//!
//! The sink is fed on its reading-bus input directly (no Modbus), so the
//! figures are the sink's own; each phase runs in its own process.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use sitewarden::catalog::Catalog;
use sitewarden::readings::{Quality, Reading, ReadingBatch, ReadingEvent, Value};
use sitewarden::sinks::influx::{self, SinkInputs, SinkMetrics};
use tokio::sync::mpsc;

struct Vm {
    child: Option<Child>,
    /// Kept so the data directory lives as long as the server.
    _dir: tempfile::TempDir,
}

impl Vm {
    fn start(port: u16, dir: tempfile::TempDir) -> anyhow::Result<Self> {
        let child = Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}", dir.path().display()))
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(Duration::from_millis(1500));
        Ok(Self {
            child: Some(child),
            _dir: dir,
        })
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// 200 devices × 50 points of the bench profile, sink pointed at `port`.
fn catalog(dir: &Path, port: u16, gzip: bool) -> anyhow::Result<Arc<Catalog>> {
    std::fs::create_dir_all(dir.join("profiles"))?;
    let mut profile = String::new();
    for i in 0..50 {
        profile.push_str(&format!("[[points]]\nname = \"p{i}\"\nrole = \"x_bench\"\nkind = \"holding\"\naddress = {i}\nunit = \"Pa\"\n\n"));
    }
    std::fs::write(dir.join("profiles/bench.toml"), profile)?;
    let mut site = format!(
        "[site]\nid = \"bench\"\nname = \"Bench\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n\
         [sinks.influx]\nurl = \"http://127.0.0.1:{port}\"\nbucket = \"bench\"\nbatch_size = 10000\ngzip = {gzip}\n\
         buffer_budget = \"4GiB\"\nreport_min_interval = \"0s\"\ntimeout = \"30s\"\n"
    );
    for i in 0..200 {
        site.push_str(&format!(
            "\n[[devices]]\nid = \"d{i}\"\nprofile = \"bench\"\ntransport = {{ kind = \"modbus-tcp\", host = \"127.0.0.1:{}\" }}\n",
            10000 + i
        ));
    }
    std::fs::write(dir.join("site.toml"), site)?;
    sitewarden::config::load(&dir.join("site.toml"))
        .map(Arc::new)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// One poll's worth of readings for every device at `at`.
fn second(catalog: &Catalog, at: Timestamp, tick: u64) -> Vec<ReadingEvent> {
    catalog
        .devices
        .iter()
        .map(|d| {
            let readings = catalog
                .points_of(d.id)
                .iter()
                .map(|p| Reading {
                    point: p.id,
                    device: d.id,
                    value: Some(Value::Number(
                        (tick % 1000) as f64 + f64::from(p.id.0 % 7) * 0.5,
                    )),
                    quality: Quality::Good,
                    at,
                })
                .collect();
            ReadingEvent::Batch(Arc::new(ReadingBatch {
                device: d.id,
                readings,
                clock_shift: sitewarden::clock::shift(),
            }))
        })
        .collect()
}

struct Sink {
    readings: mpsc::Sender<ReadingEvent>,
    _conditions: mpsc::Sender<sitewarden::rules::ConditionEvent>,
    metrics: Arc<SinkMetrics>,
    trigger: sitewarden::shutdown::ShutdownTrigger,
    /// Kept so the sink's tasks run for the whole phase.
    _tasks: tokio::task::JoinSet<()>,
}

fn start_sink(catalog: &Arc<Catalog>, data: &Path) -> anyhow::Result<Sink> {
    let (readings_tx, readings) = mpsc::channel(4096);
    let (conditions_tx, conditions) = mpsc::channel(16);
    let (trigger, shutdown) = sitewarden::shutdown::channel();
    let metrics = Arc::new(SinkMetrics::default());
    let mut tasks = tokio::task::JoinSet::new();
    let settings = catalog
        .influx
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no sink"))?;
    influx::spawn(
        SinkInputs {
            catalog: catalog.clone(),
            settings,
            data_dir: data.to_path_buf(),
            readings,
            conditions,
            records: mpsc::channel(1).1,
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
        },
        &mut sitewarden_runtime::health::Spawner {
            tasks: &mut tasks,
            stages: &Default::default(),
            shutdown: &shutdown,
        },
    )?;
    Ok(Sink {
        readings: readings_tx,
        _conditions: conditions_tx,
        metrics,
        trigger,
        _tasks: tasks,
    })
}

async fn sustained(gzip: bool) -> anyhow::Result<()> {
    let port = common::free_port();
    let _vm = Vm::start(port, tempfile::tempdir()?)?;
    let dir = tempfile::tempdir()?;
    let catalog = catalog(dir.path(), port, gzip)?;
    let sink = start_sink(&catalog, dir.path())?;
    let start = Timestamp::now() - SignedDuration::from_hours(2);
    let begun = Instant::now();
    let seconds = 100u64; // 100 simulated seconds of 10,000 points: 1,000,000 lines
    for s in 0..seconds {
        for event in second(&catalog, start + SignedDuration::from_secs(s as i64), s) {
            sink.readings.send(event).await?;
        }
    }
    let total = seconds * 10_000;
    // Until every line is in VictoriaMetrics, including batches the writer
    // could not take at once and that went through the disk buffer.
    while sink.metrics.written.load(Relaxed) < total && begun.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = begun.elapsed().as_secs_f64();
    println!(
        "sustained  gzip={gzip}: {} lines in {secs:.2} s: {:.0} lines/s accepted by VictoriaMetrics ({} of them through the disk buffer)",
        sink.metrics.written.load(Relaxed),
        sink.metrics.written.load(Relaxed) as f64 / secs,
        sink.metrics.replayed.load(Relaxed)
    );
    drop(sink.readings);
    Ok(())
}

async fn replay() -> anyhow::Result<()> {
    let port = common::free_port();
    let dir = tempfile::tempdir()?;
    let catalog = catalog(dir.path(), port, true)?;
    let sink = start_sink(&catalog, dir.path())?;
    let start = Timestamp::now() - SignedDuration::from_hours(2);
    let outage = 600u64;
    let fed = Instant::now();
    for s in 0..outage {
        for event in second(&catalog, start + SignedDuration::from_secs(s as i64), s) {
            sink.readings.send(event).await?;
        }
    }
    let total = outage * 10_000;
    while sink.metrics.buffered_lines.load(Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let buffered_in = fed.elapsed().as_secs_f64();
    let bytes = sink.metrics.buffered_bytes.load(Relaxed);
    let _vm = Vm::start(port, tempfile::tempdir()?)?;
    let began = Instant::now();
    while sink.metrics.buffered_lines.load(Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = began.elapsed().as_secs_f64();
    println!(
        "replay     10-minute outage at 10,000 points/s: {total} lines buffered in {buffered_in:.1} s ({:.1} MB on disk), \
         drained in {drain:.1} s = {:.1}x faster than real time ({:.0} lines/s)",
        bytes as f64 / 1e6,
        outage as f64 / drain,
        total as f64 / drain
    );
    drop(sink.readings);
    Ok(())
}

async fn steady() -> anyhow::Result<()> {
    let port = common::free_port();
    let _vm = Vm::start(port, tempfile::tempdir()?)?;
    let dir = tempfile::tempdir()?;
    let catalog = catalog(dir.path(), port, true)?;
    let sink = start_sink(&catalog, dir.path())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let (c0, t0) = (common::cpu_seconds(), Instant::now());
    for s in 0..30 {
        tick.tick().await;
        for event in second(&catalog, Timestamp::now(), s) {
            sink.readings.send(event).await?;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu, wall) = (common::cpu_seconds() - c0, t0.elapsed().as_secs_f64());
    println!(
        "steady     10,000 points/s for 30 s: {} lines written, {:.1}% of one core, peak RSS {:.1} MB",
        sink.metrics.written.load(Relaxed),
        100.0 * cpu / wall,
        common::peak_rss_mb()
    );
    sink.trigger.trigger();
    drop(sink.readings);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let wanted = common::wanted_phases();
    if wanted.is_empty() {
        return common::run_each_in_own_process(&["sustained", "replay", "steady"]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for phase in &wanted {
            match phase.as_str() {
                "sustained" => {
                    sustained(true).await?;
                    sustained(false).await?;
                }
                "replay" => replay().await?,
                "steady" => steady().await?,
                other => anyhow::bail!("unknown phase {other}"),
            }
        }
        anyhow::Ok(())
    })
}
