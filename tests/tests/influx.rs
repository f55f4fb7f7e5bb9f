//! The InfluxDB sink against a real line-protocol server (VictoriaMetrics):
//! every reading arrives exactly once with its value and time, through an
//! outage, a restart with a full buffer, and a disk budget that runs out.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use site_sim::{RunningSite, SimOptions};
use sitewarden::daemon::RunningDaemon;
use sitewarden::readings::{Quality, ReadingEvent};
use sitewarden_tests::{SiteDir, VictoriaMetrics, load, start_daemon, start_sim, wait_until};

/// (timestamp ms, value) per point name, as the bus published them.
type Expected = BTreeMap<String, Vec<(i64, f64)>>;

struct Rig {
    site: SiteDir,
    _sim: RunningSite,
    config: std::path::PathBuf,
}

async fn rig(vm: &VictoriaMetrics, budget: &str) -> Rig {
    let site = SiteDir::new().unwrap();
    let sim = start_sim(&site, &[("ahu-1", "ahu")], SimOptions::default())
        .await
        .unwrap();
    let config = site
        .site(&format!(
            "[sinks.influx]\nurl = \"http://{}\"\norg = \"site\"\nbucket = \"sitewarden\"\nflush_interval = \"100ms\"\n\
             timeout = \"2s\"\nbuffer_budget = \"{budget}\"\nreport_min_interval = \"0s\"\n\n\
             [[devices]]\nid = \"ahu-1\"\nprofile = \"ahu\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"100ms\"\n",
            vm.addr,
            sim.addr("ahu-1").unwrap()
        ))
        .unwrap();
    Rig {
        site,
        _sim: sim,
        config,
    }
}

/// Starts the daemon and collects every good reading it publishes.
async fn run(rig: &Rig) -> (RunningDaemon, Arc<Mutex<Expected>>) {
    let catalog = load(&rig.config);
    let mut daemon = start_daemon(catalog.clone(), &rig.site, 1).await.unwrap();
    let mut tap = daemon.taps.remove(0);
    let seen: Arc<Mutex<Expected>> = Arc::default();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Some(event) = tap.recv().await {
            if let ReadingEvent::Batch(batch) = event {
                let mut seen = sink.lock().unwrap();
                for r in &batch.readings {
                    if let (Quality::Good, Some(v)) = (r.quality, r.value) {
                        let name = catalog.point(r.point).name.clone();
                        seen.entry(name)
                            .or_default()
                            .push((r.at.as_millisecond(), v.as_f64()));
                    }
                }
            }
        }
    });
    (daemon, seen)
}

fn stored(vm: &VictoriaMetrics) -> Expected {
    let mut out = Expected::new();
    for series in vm
        .export("{__name__=\"reading_value\",device=\"ahu-1\"}")
        .unwrap()
    {
        let point = series.labels["point"].clone();
        let samples = series
            .timestamps
            .iter()
            .copied()
            .zip(series.values.iter().copied())
            .collect();
        out.insert(point, samples);
    }
    out
}

/// VictoriaMetrics keeps about 12 significant digits of a float.
fn same(stored: &Expected, expected: &Expected) -> bool {
    stored.len() == expected.len()
        && stored.iter().all(|(point, samples)| {
            expected.get(point).is_some_and(|e| {
                e.len() == samples.len()
                    && e.iter()
                        .zip(samples)
                        .all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() <= 1e-9 * a.1.abs().max(1.0))
            })
        })
}

fn total(e: &Expected) -> usize {
    e.values().map(Vec::len).sum()
}

async fn drained(daemon: &RunningDaemon) -> bool {
    wait_until(Duration::from_secs(30), || {
        daemon.metrics.sink.buffered_lines.load(Relaxed) == 0
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reading_arrives_once_with_its_value_and_time() {
    let vm = VictoriaMetrics::start().unwrap();
    let rig = rig(&vm, "64MiB").await;
    let (daemon, seen) = run(&rig).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sink = daemon.metrics.sink.clone();
    daemon.stop().await;
    let expected = seen.lock().unwrap().clone();
    assert!(
        total(&expected) >= 11 * 20,
        "too few readings: {}",
        total(&expected)
    );
    let stored = stored(&vm);
    assert!(
        same(&stored, &expected),
        "VictoriaMetrics holds something else than was read:\n{stored:?}\n{expected:?}"
    );
    assert_eq!(sink.encoded.load(Relaxed), sink.written.load(Relaxed));
    assert_eq!(sink.dropped.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_under_load_loses_nothing_and_the_buffer_drains() {
    let mut vm = VictoriaMetrics::start().unwrap();
    let rig = rig(&vm, "64MiB").await;
    let (daemon, seen) = run(&rig).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    vm.stop();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let sink = daemon.metrics.sink.clone();
    assert!(
        sink.buffered_lines.load(Relaxed) > 0,
        "nothing was buffered during the outage"
    );
    vm.resume().unwrap();
    assert!(drained(&daemon).await, "buffer never drained");
    tokio::time::sleep(Duration::from_millis(500)).await;
    daemon.stop().await;
    let expected = seen.lock().unwrap().clone();
    let stored = stored(&vm);
    assert_eq!(total(&stored), total(&expected), "count differs");
    assert!(
        same(&stored, &expected),
        "values, times or order per series differ"
    );
    assert!(sink.replayed.load(Relaxed) > 0);
    assert!(sink.write_errors.load(Relaxed) > 0);
    assert_eq!(sink.dropped.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_a_full_buffer_resumes_replay() {
    let mut vm = VictoriaMetrics::start().unwrap();
    vm.stop();
    let rig = rig(&vm, "64MiB").await;
    let (daemon, seen) = run(&rig).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    daemon.stop().await;
    let first_run = seen.lock().unwrap().clone();
    assert!(total(&first_run) > 0);
    vm.resume().unwrap();
    let (daemon, seen) = run(&rig).await;
    assert!(
        drained(&daemon).await,
        "buffer from the first run never drained"
    );
    daemon.stop().await;
    let mut expected = first_run;
    for (point, samples) in seen.lock().unwrap().iter() {
        expected.entry(point.clone()).or_default().extend(samples);
    }
    assert!(same(&stored(&vm), &expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_budget_drops_the_oldest_and_counts_exactly() {
    let mut vm = VictoriaMetrics::start().unwrap();
    let rig = rig(&vm, "3KiB").await;
    let (daemon, seen) = run(&rig).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    vm.stop();
    tokio::time::sleep(Duration::from_secs(5)).await;
    vm.resume().unwrap();
    assert!(drained(&daemon).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sink = daemon.metrics.sink.clone();
    daemon.stop().await;
    let expected = seen.lock().unwrap().clone();
    let stored = stored(&vm);
    let dropped = sink.dropped.load(Relaxed) as usize;
    assert!(dropped > 0, "the budget never ran out");
    // Only readings were encoded during the outage (no rules, device stayed online).
    assert_eq!(
        total(&stored) + dropped,
        total(&expected),
        "dropped counter is not exact"
    );
    // What went is the oldest of the outage: every missing sample is older
    // than every sample kept from the outage's buffered batches.
    let missing_newest = expected
        .iter()
        .flat_map(|(p, s)| {
            s.iter()
                .filter(|x| !stored.get(p).is_some_and(|k| k.iter().any(|y| y.0 == x.0)))
                .map(|x| x.0)
        })
        .max()
        .unwrap();
    // Everything newer than the newest missing sample is there.
    let newer_kept = expected.iter().all(|(point, samples)| {
        samples.iter().filter(|x| x.0 > missing_newest).all(|x| {
            stored
                .get(point)
                .is_some_and(|k| k.iter().any(|y| y.0 == x.0))
        })
    });
    assert!(
        newer_kept,
        "newer data was dropped while older data was kept"
    );
    assert!(
        expected.values().flatten().any(|x| x.0 > missing_newest),
        "nothing after the drop to compare with"
    );
}
