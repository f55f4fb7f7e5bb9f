//! MQTT source benchmark through a real mosquitto (Debian's `mosquitto`,
//! started by the bench on a free port).
//!
//! ```text
//! cargo bench -p sitewarden --bench mqtt
//! ```
//!
//! * `ingest`: 500,000 plain-number messages on 1,000 topics published as
//!   fast as a client can: messages turned into readings per second.
//! * `latency`: an emergency-button message to the condition it raises
//!   leaving the rules stage, over 300 presses.
//!
//! The publishing client runs in the bench process too, so the ingest
//! figure is a lower bound for the daemon.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, MqttOptions, QoS};
use sitewarden::daemon::{self, RunOptions};
use sitewarden::rules::Transition;

fn site(dir: &std::path::Path, port: u16) -> anyhow::Result<Arc<sitewarden::catalog::Catalog>> {
    let pack = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/standards/security.toml"
    );
    let mut text = format!(
        "[site]\nid = \"bench\"\nname = \"Bench\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n\n[rules]\npacks = [{pack:?}]\n\n\
         [[devices]]\nid = \"sensors\"\ntransport = {{ kind = \"mqtt\" }}\n\n\
         [[devices.points]]\nname = \"panic\"\nrole = \"emergency_button\"\ntype = \"bool\"\ntopic = \"bench/panic\"\n"
    );
    for i in 0..1000 {
        text.push_str(&format!(
            "\n[[devices.points]]\nname = \"t{i}\"\nrole = \"room_temp\"\ntopic = \"bench/t/{i}\"\n"
        ));
    }
    std::fs::write(dir.join("site.toml"), text)?;
    sitewarden::config::load(&dir.join("site.toml"))
        .map(Arc::new)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let port = common::free_port();
        let _broker = common::mosquitto(dir.path(), port)?;
        let catalog = site(dir.path(), port)?;
        let options = RunOptions {
            condition_taps: 1,
            data_dir: Some(dir.path().join("data")),
            ..RunOptions::default()
        };
        let mut running = daemon::start(catalog.clone(), options).await?;
        let mut conditions = running.condition_taps.remove(0);
        let mut publisher = MqttOptions::new("bench-publisher", "127.0.0.1", port);
        publisher.set_inflight(1000);
        let (client, mut eventloop) = AsyncClient::new(publisher, 10_000);
        tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        tokio::time::sleep(Duration::from_secs(1)).await;

        // Ingest.
        let metrics = running.metrics.mqtt_in.clone();
        let total = 500_000u64;
        let before = metrics.readings.load(Relaxed);
        let started = Instant::now();
        for i in 0..total {
            client.publish(format!("bench/t/{}", i % 1000), QoS::AtMostOnce, false, format!("{}.5", i % 40)).await?;
        }
        let published = started.elapsed().as_secs_f64();
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = metrics.readings.load(Relaxed) - before;
            if now >= total || (now == last && started.elapsed() > Duration::from_secs(5)) {
                break;
            }
            last = now;
        }
        let got = metrics.readings.load(Relaxed) - before;
        let secs = started.elapsed().as_secs_f64() - 0.2;
        println!(
            "ingest     {got} of {total} messages became readings in {secs:.2} s: {:.0} messages/s (published in {published:.2} s)",
            got as f64 / secs
        );

        // Latency.
        let mut latencies = Vec::new();
        for _ in 0..300 {
            for (payload, want) in [("true", Transition::Raised), ("false", Transition::Cleared)] {
                let t0 = Instant::now();
                client.publish("bench/panic", QoS::AtLeastOnce, false, payload).await?;
                loop {
                    let e = tokio::time::timeout(Duration::from_secs(5), conditions.recv())
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("condition bus closed"))?;
                    if e.transition == want {
                        if want == Transition::Raised {
                            latencies.push(t0.elapsed());
                        }
                        break;
                    }
                }
            }
        }
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
        println!(
            "latency    MQTT emergency-button message -> condition raised, {} presses: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        running.stop().await;
        anyhow::Ok(())
    })
}
