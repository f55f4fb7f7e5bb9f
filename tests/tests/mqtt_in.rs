//! MQTT in, against real mosquitto: every payload form becomes a point,
//! wildcards and `{device}` templates route messages, availability and
//! silence drive device state, and a flood of malformed messages is counted
//! by reason while one real alarm among them still raises its condition.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};
use sitewarden::readings::{DeviceState, Quality, Value};
use sitewarden::sources::mqtt::Refusal;
use sitewarden_tests::{
    Mosquitto, SiteDir, condition_active, device_state, load, point, repo_root, start_daemon,
    wait_until,
};

async fn publisher(broker: std::net::SocketAddr) -> AsyncClient {
    let mut options = MqttOptions::new("test-sensors", "127.0.0.1", broker.port());
    options.set_max_packet_size(4 << 20, 4 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensors_on_mqtt_become_points() {
    let broker = Mosquitto::start().unwrap();
    let site = SiteDir::new().unwrap();
    let pack = repo_root().join("config/standards/security.toml");
    let config = format!(
        r#"[mqtt]
host = "127.0.0.1"
port = {port}

[rules]
packs = [{pack:?}]

[[devices]]
id = "hall"
transport = {{ kind = "mqtt", availability_topic = "sensors/{{device}}/availability", silent_after = "3s" }}

[[devices.points]]
name = "temperature"
role = "room_temp"
topic = "sensors/{{device}}/temperature"
unit = "°C"

[[devices.points]]
name = "occupied"
role = "occupancy"
type = "bool"
topic = "sensors/{{device}}/occupancy"

[[devices.points]]
name = "humidity"
role = "room_humidity"
topic = "sensors/{{device}}/state"
json_pointer = "/climate/humidity"
timestamp_pointer = "/ts"

[[devices.points]]
name = "panic"
role = "emergency_button"
type = "bool"
topic = "sensors/{{device}}/panic"

[[devices]]
id = "plugs"
transport = {{ kind = "mqtt" }}

[[devices.points]]
name = "model_flat_power"
role = "power"
topic = "plugs/+/power"
scale = 1000.0
unit = "W"
"#,
        port = broker.addr.port(),
        pack = pack.display().to_string()
    );
    let catalog = load(&site.site(&config).unwrap());
    let daemon = start_daemon(catalog.clone(), &site, 0).await.unwrap();
    let sensors = publisher(broker.addr).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let send = |topic: &str, payload: &[u8]| {
        let (client, topic, payload) = (sensors.clone(), topic.to_owned(), payload.to_vec());
        async move {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .unwrap()
        }
    };
    send("sensors/hall/temperature", b"21.5").await;
    send("sensors/hall/occupancy", b"ON").await;
    // The sensor's own time, a minute ago (a time far from now is refused).
    let sensor_ms = jiff::Timestamp::now().as_millisecond() - 60_000;
    send(
        "sensors/hall/state",
        format!(r#"{{"climate":{{"humidity":48.5}},"ts":{sensor_ms}}}"#).as_bytes(),
    )
    .await;
    send("plugs/model-flat-3/power", b"0.42").await;
    let get = |name: &str| {
        point(
            &daemon,
            &catalog,
            if name == "model_flat_power" {
                "plugs"
            } else {
                "hall"
            },
            name,
        )
    };
    let arrived = wait_until(Duration::from_secs(10), || {
        ["temperature", "occupied", "humidity", "model_flat_power"]
            .iter()
            .all(|n| get(n).1 == Some(Quality::Good))
    })
    .await;
    assert!(arrived, "not every sensor arrived");
    assert_eq!(get("temperature").0, Some(Value::Number(21.5)));
    assert_eq!(get("occupied").0, Some(Value::Bool(true)));
    assert_eq!(get("humidity").0, Some(Value::Number(48.5)));
    assert_eq!(get("model_flat_power").0, Some(Value::Number(420.0)));
    let good_at = {
        let tables = daemon.state.read();
        let p = catalog
            .points
            .iter()
            .find(|p| p.name == "humidity")
            .unwrap();
        tables.points[p.id.0 as usize].good_at.unwrap()
    };
    assert_eq!(
        good_at.as_millisecond(),
        sensor_ms,
        "the payload's timestamp was not used"
    );
    assert_eq!(device_state(&daemon, &catalog, "hall"), DeviceState::Online);

    // A flood of garbage with one real alarm in the middle.
    let big = vec![b'7'; 1_000_000];
    let garbage: [(&str, &[u8]); 6] = [
        ("sensors/hall/state", b"not json"),
        // A clock in the year 3000.
        (
            "sensors/hall/state",
            br#"{"climate":{"humidity":50},"ts":32503680000000}"#,
        ),
        ("sensors/hall/state", br#"{"climate":{}}"#),
        ("sensors/hall/temperature", b"warm"),
        ("sensors/hall/temperature", b"NaN"),
        ("sensors/hall/temperature", &big),
    ];
    for round in 0..50 {
        for (topic, payload) in garbage {
            send(topic, payload).await;
        }
        if round == 25 {
            send("sensors/hall/panic", b"true").await;
        }
    }
    let m = daemon.metrics.mqtt_in.clone();
    // Every message is counted: refused by reason, or dropped because the
    // device sent more than 200 a second (the oversized ones are refused
    // before they count towards the rate). (Topics no point maps are not
    // subscribed to, so the broker never sends them.)
    let accounted =
        || Refusal::ALL.iter().map(|r| m.refused(*r)).sum::<u64>() + m.throttled.load(Relaxed);
    let counted = wait_until(Duration::from_secs(20), || accounted() == 300).await;
    assert!(
        counted,
        "refusals: {:?}, throttled {}",
        Refusal::ALL.map(|r| (r.label(), m.refused(r))),
        m.throttled.load(Relaxed)
    );
    assert_eq!(m.refused(Refusal::TooLarge), 50);
    assert!(m.refused(Refusal::NotJson) > 0 && m.refused(Refusal::BadTime) > 0);
    // The alarm came on the life-safety connection, which no flood throttles.
    assert!(m.life_safety.load(Relaxed) >= 1);
    let alarm = || condition_active(&daemon, &catalog, "security.emergency_button", None);
    assert!(
        wait_until(Duration::from_secs(5), alarm).await,
        "the real alarm was lost in the flood"
    );
    // The good points kept their values, and the connection was never
    // dropped; after a quiet second the flooding device is heard again.
    assert_eq!(get("model_flat_power").0, Some(Value::Number(420.0)));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    send("sensors/hall/temperature", b"22").await;
    assert!(
        wait_until(Duration::from_secs(5), || get("temperature")
            == (Some(Value::Number(22.0)), Some(Quality::Good)))
        .await
    );

    // Availability says offline; then silence does too.
    send("sensors/hall/availability", b"offline").await;
    assert!(
        wait_until(Duration::from_secs(5), || device_state(
            &daemon, &catalog, "hall"
        ) == DeviceState::Offline)
        .await
    );
    send("sensors/hall/availability", b"online").await;
    assert!(
        wait_until(Duration::from_secs(5), || device_state(
            &daemon, &catalog, "hall"
        ) == DeviceState::Online)
        .await
    );
    assert!(
        wait_until(Duration::from_secs(8), || device_state(
            &daemon, &catalog, "hall"
        ) == DeviceState::Offline)
        .await,
        "a silent device never went offline"
    );
    assert!(m.messages.load(Relaxed) >= 250);
    daemon.stop().await;
}
