//! Alert latency benchmark, end to end.
//!
//! ```text
//! cargo bench -p sitewarden --bench alerts            # 1,000 alarms
//! cargo bench -p sitewarden --bench alerts -- 200     # fewer
//! ```
//!
//! The simulated fire panel (Modbus TCP, its registers following the model
//! every millisecond) is polled every 250 ms; Debian's
//! mosquitto and an HTTP receiver in this process stand for the control
//! room and a webhook. For each alarm: the zone register is set in the
//! simulator (t0), and the times until the first notification arrives on
//! MQTT (`alerts/<id>/notifications`) and at the webhook are recorded; the
//! alert is then acknowledged and the zone reset before the next alarm.

#[path = "common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use site_sim::Step;

#[derive(Default)]
struct Arrivals {
    mqtt: Mutex<Vec<(i64, Instant)>>,
    webhook: Mutex<Vec<(i64, Instant)>>,
}

fn first_after(list: &Mutex<Vec<(i64, Instant)>>, id: i64) -> Option<Instant> {
    list.lock()
        .ok()?
        .iter()
        .find(|(a, _)| *a == id)
        .map(|(_, t)| *t)
}

async fn receiver(arrivals: Arc<Arrivals>) -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = axum::Router::new().fallback(move |body: String| {
        let arrivals = arrivals.clone();
        async move {
            let now = Instant::now();
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
                && v["reason"] == "step"
                && let Some(id) = v["alert"]["id"].as_i64()
                && let Ok(mut list) = arrivals.webhook.lock()
            {
                list.push((id, now));
            }
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

async fn subscriber(port: u16, arrivals: Arc<Arrivals>) -> anyhow::Result<()> {
    let mut options = MqttOptions::new("bench-control-room", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    client
        .subscribe("sitewarden/bench/alerts/+/notifications", QoS::AtLeastOnce)
        .await?;
    tokio::spawn(async move {
        let _client = client;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let now = Instant::now();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&p.payload)
                        && v["reason"] == "step"
                        && let Some(id) = v["alert"]["id"].as_i64()
                        && let Ok(mut list) = arrivals.mqtt.lock()
                    {
                        list.push((id, now));
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let alarms = common::count_arg(1000);
    let runtime = common::runtime()?;
    runtime.block_on(run(alarms))
}

async fn run(alarms: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let repo = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    std::fs::create_dir_all(dir.path().join("profiles"))?;
    std::fs::copy(
        repo.join("config/profiles/fire-panel.toml"),
        dir.path().join("profiles/fire-panel.toml"),
    )?;
    let sim_file = dir.path().join("sim.toml");
    std::fs::write(
        &sim_file,
        "[[devices]]\nid = \"fire\"\nprofile = \"fire-panel\"\ntransport = { kind = \"modbus-tcp\", host = \"127.0.0.1:0\" }\n",
    )?;
    // Registers follow the model every millisecond, so t0 is when the alarm register changes.
    let options = site_sim::SimOptions {
        time_scale: 0.0,
        tick: Duration::from_millis(1),
    };
    let sim = site_sim::start(
        site_sim::load_site(&sim_file)?,
        site_sim::Scenario::default(),
        options,
    )
    .await?;
    let mqtt_port = common::free_port();
    let _broker = common::mosquitto(dir.path(), mqtt_port)?;
    let arrivals = Arc::new(Arrivals::default());
    let hook = receiver(arrivals.clone()).await?;
    subscriber(mqtt_port, arrivals.clone()).await?;
    std::fs::write(
        dir.path().join("site.toml"),
        format!(
            "[site]\nid = \"bench\"\nname = \"Bench\"\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {mqtt_port}\n\n[rules]\npacks = [{:?}]\n\n\
             [[people]]\nid = \"duty\"\nname = \"Duty\"\n\n\
             [alerts]\nself_test_every = \"0s\"\n\n\
             [alerts.channels.screen]\nkind = \"mqtt\"\n\n\
             [alerts.channels.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{hook}/hook\"\nsecret = {{ env = \"HOME\" }}\n\n\
             [alerts.policies.fire]\nrepeat = \"10m\"\nsteps = [{{ notify = [\"duty\"], channels = [\"screen\", \"hook\"], wait = \"10m\" }}]\n\n\
             [[devices]]\nid = \"fire\"\nprofile = \"fire-panel\"\ntransport = {{ kind = \"modbus-tcp\", host = \"{}\" }}\npoll_interval = \"250ms\"\ntimeout = \"200ms\"\n",
            repo.join("config/standards/fire.toml")
                .display()
                .to_string(),
            sim.addr("fire").ok_or_else(|| anyhow::anyhow!("no sim"))?
        ),
    )?;
    let running = common::start_daemon(dir.path()).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let set = |on: bool| {
        let text = format!(
            "device = \"fire\"\naction = \"set\"\npoint = \"zone1_alarm\"\nvalue = {}",
            u8::from(on)
        );
        toml::from_str::<Step>(&text).map(|s| sim.apply(&s))
    };
    let (mut to_mqtt, mut to_webhook) = (Vec::with_capacity(alarms), Vec::with_capacity(alarms));
    let mut pipeline = Vec::with_capacity(alarms);
    let cpu_before = common::cpu_seconds();
    let begun = Instant::now();
    for n in 0..alarms {
        let id = n as i64 + 1;
        // A random phase against the 250 ms poll.
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..250))).await;
        let t0 = Instant::now();
        set(true)?;
        let deadline = t0 + Duration::from_secs(10);
        let (m, w) = loop {
            if let (Some(m), Some(w)) = (
                first_after(&arrivals.mqtt, id),
                first_after(&arrivals.webhook, id),
            ) {
                break (m, w);
            }
            anyhow::ensure!(Instant::now() < deadline, "alarm {id} never arrived");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        to_mqtt.push(m.duration_since(t0));
        to_webhook.push(w.duration_since(t0));
        // From the poll's reading (the condition's time) to the MQTT notification.
        let store = running.alerts.store.clone();
        if let Some(detail) = tokio::task::spawn_blocking(move || store.get(id)).await?? {
            let read_at = std::time::SystemTime::UNIX_EPOCH
                + Duration::from_micros(detail.alert.raised_at.as_microsecond() as u64);
            let arrived = std::time::SystemTime::now() - Instant::now().duration_since(m);
            pipeline.push(arrived.duration_since(read_at).unwrap_or_default());
        }
        running
            .alerts
            .acknowledge(id, "bench".into(), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        set(false)?;
        loop {
            let store = running.alerts.store.clone();
            let open = tokio::task::spawn_blocking(move || store.open_count()).await??;
            if open == 0 {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "alarm {id} never resolved");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let cpu = common::cpu_seconds() - cpu_before;
    let wall = begun.elapsed().as_secs_f64();
    for (name, mut times) in [
        (
            "alarm register set → first notification on MQTT   ",
            to_mqtt,
        ),
        (
            "alarm register set → first notification on webhook",
            to_webhook,
        ),
        (
            "poll's reading → first notification on MQTT       ",
            pipeline,
        ),
    ] {
        times.sort();
        let at = |q: f64| {
            times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)].as_secs_f64() * 1e3
        };
        println!(
            "{name}: {} alarms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            times.len(),
            at(0.50),
            at(0.99),
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    println!(
        "fire panel polled every 250 ms; {wall:.0} s wall, {cpu:.1} CPU s for the whole process (simulator, daemon, receivers)"
    );
    running.stop().await;
    Ok(())
}
