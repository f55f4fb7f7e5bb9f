//! A crash (`kill -9`, no shutdown code runs) while the time-series store
//! is down and the disk buffer is at its budget: every batch the buffer
//! held when the process died reaches the store, value for value, once the
//! store is back and the daemon has started again.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sitewarden_tests::{ChildGuard, SiteDir, VictoriaMetrics, start_sim};

/// The daemon in its own process, as `sitewarden run` runs it.
fn start(config: &Path) -> ChildGuard {
    let child: Child = Command::new(env!("CARGO_BIN_EXE_daemon-process"))
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ChildGuard::new(child)
}

/// (point, time in ms) → value.
type Samples = BTreeMap<(String, i64), f64>;

/// Every good reading of ahu-1 in the buffer's finished batch files.
fn buffered(dir: &Path) -> (Samples, usize) {
    let mut samples = Samples::new();
    let mut bytes = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (samples, 0);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".lp.gz") {
            continue;
        }
        let Ok(compressed) = std::fs::read(&path) else {
            continue; // replayed and deleted meanwhile
        };
        bytes += compressed.len();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            if let Some(sample) = parse_reading(line) {
                samples.insert((sample.0, sample.1), sample.2);
            }
        }
    }
    (samples, bytes)
}

/// `reading,…,point=<p>,… value=<v> <ns>` → (point, ms, value).
fn parse_reading(line: &str) -> Option<(String, i64, f64)> {
    let (tags, rest) = line.split_once(' ')?;
    if !tags.starts_with("reading,") || !tags.contains(",device=ahu-1") {
        return None;
    }
    let point = tags.split(',').find_map(|t| t.strip_prefix("point="))?;
    let (field, time) = rest.split_once(' ')?;
    let value = field.strip_prefix("value=")?.parse().ok()?;
    let ns: i64 = time.trim().parse().ok()?;
    Some((point.to_owned(), ns / 1_000_000, value))
}

fn stored(vm: &VictoriaMetrics) -> Samples {
    let mut out = Samples::new();
    for series in vm
        .export("{__name__=\"reading_value\",device=\"ahu-1\"}")
        .unwrap()
    {
        let point = series.labels["point"].clone();
        for (t, v) in series.timestamps.iter().zip(&series.values) {
            out.insert((point.clone(), *t), *v);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_with_a_full_buffer_loses_no_buffered_batch() {
    let mut vm = VictoriaMetrics::start().unwrap();
    vm.stop();
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("ahu-1", "ahu")], site_sim::SimOptions::default())
        .await
        .unwrap();
    let data = site.dir.path().join("data");
    let config = site
        .site(&format!(
            "[storage]\ndata_dir = {:?}\n\n\
             [sinks.influx]\nurl = \"http://{}\"\norg = \"site\"\nbucket = \"sitewarden\"\nflush_interval = \"100ms\"\n\
             timeout = \"2s\"\nbuffer_budget = \"16KiB\"\nreport_min_interval = \"0s\"\n\n\
             [[devices]]\nid = \"ahu-1\"\nprofile = \"ahu\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"100ms\"\n",
            data.display().to_string(),
            vm.addr,
            sim.addr("ahu-1").unwrap()
        ))
        .unwrap();
    let buffer = data.join("influx-buffer");

    // The store is down: batches pile up on disk until the budget is spent.
    let mut daemon = start(&config);
    let filling = Instant::now();
    while buffered(&buffer).1 < 12 * 1024 {
        assert!(
            filling.elapsed() < Duration::from_secs(30),
            "the buffer never filled: {} bytes",
            buffered(&buffer).1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Past the budget for a while, so the oldest batches are being dropped.
    std::thread::sleep(Duration::from_secs(2));
    daemon.kill_9();
    let (held, bytes) = buffered(&buffer);
    assert!(held.len() > 100, "only {} readings buffered", held.len());
    assert!(
        bytes <= 16 * 1024,
        "{bytes} bytes on disk past a 16 KiB budget"
    );

    // The store is back; the restarted daemon replays what the dead one kept.
    vm.resume().unwrap();
    let _daemon = start(&config);
    let missing = |stored: &Samples| -> Vec<(String, i64)> {
        held.iter()
            .filter(|(key, value)| {
                !stored
                    .get(*key)
                    .is_some_and(|v| (*v - **value).abs() <= 1e-9 * value.abs().max(1.0))
            })
            .map(|(key, _)| key.clone())
            .collect()
    };
    let replaying = Instant::now();
    loop {
        let gone = missing(&stored(&vm));
        if gone.is_empty() {
            break;
        }
        assert!(
            replaying.elapsed() < Duration::from_secs(30),
            "{} of {} buffered readings never reached the store, e.g. {:?}",
            gone.len(),
            held.len(),
            &gone[..gone.len().min(5)]
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
