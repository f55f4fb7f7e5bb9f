//! MQTT sensors: room temperature, occupancy and smart plugs that publish
//! their values every couple of seconds, as wireless sensors and gateways do.

use std::time::Duration;

use rand::Rng as _;
use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::profile::{SimDevice, SimPoint};

/// How often every sensor publishes.
const PERIOD: Duration = Duration::from_secs(2);

/// The value a sensor of this role reports now, moving from `current`.
fn next_value(point: &SimPoint, current: Option<f64>) -> f64 {
    let mut rng = rand::rng();
    match point.role.as_deref().unwrap_or("") {
        "room_temp" => 23.0 + rng.random_range(-0.4..0.4),
        "room_humidity" => 50.0 + rng.random_range(-3.0..3.0),
        "occupancy" | "smart_plug_status" => {
            let now = current.unwrap_or(1.0);
            if rng.random_bool(0.1) { 1.0 - now } else { now }
        }
        "power" => 420.0 + rng.random_range(-5.0..5.0),
        _ => current.unwrap_or(0.0),
    }
}

/// The value as the sensor sends it (before the daemon's scale and offset).
fn raw(point: &SimPoint, value: f64) -> f64 {
    (value - point.offset.unwrap_or(0.0)) / point.scale.unwrap_or(1.0)
}

fn is_bool(point: &SimPoint) -> bool {
    point.data_type.as_deref() == Some("bool")
}

/// One topic's payload: plain text for a point without a JSON Pointer, or
/// one JSON document holding every point of the topic where its pointer looks.
fn payload(points: &[(&SimPoint, f64)]) -> Vec<u8> {
    if let [(point, value)] = points
        && point.json_pointer.as_deref().is_none_or(str::is_empty)
    {
        let raw = raw(point, *value);
        return if is_bool(point) {
            (if raw != 0.0 { "ON" } else { "OFF" }).as_bytes().to_vec()
        } else {
            format!("{raw}").into_bytes()
        };
    }
    let mut document = serde_json::json!({});
    for (point, value) in points {
        let raw = raw(point, *value);
        let leaf = if is_bool(point) {
            serde_json::Value::Bool(raw != 0.0)
        } else {
            serde_json::json!(raw)
        };
        let mut node = &mut document;
        let keys: Vec<&str> = point
            .json_pointer
            .as_deref()
            .unwrap_or("")
            .split('/')
            .skip(1)
            .collect();
        for (i, key) in keys.iter().enumerate() {
            let Some(object) = node.as_object_mut() else {
                break;
            };
            let entry = object
                .entry((*key).to_owned())
                .or_insert_with(|| serde_json::json!({}));
            if i + 1 == keys.len() {
                *entry = leaf.clone();
            }
            node = entry;
        }
    }
    document.to_string().into_bytes()
}

/// The broker user the simulated sensors log in as: `SITE_SIM_MQTT_USER` and
/// `SITE_SIM_MQTT_PASSWORD`, else the demo site's sensor user (`site-sim`,
/// password `site-sim-demo`, see `config/demo.toml`). A broker that lets
/// anonymous clients publish ignores them.
fn credentials() -> (String, String) {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    (
        var("SITE_SIM_MQTT_USER", "site-sim"),
        var("SITE_SIM_MQTT_PASSWORD", "site-sim-demo"),
    )
}

/// Publishes every sensor of `devices` to the broker at `host:port`, forever.
pub async fn run(broker: String, devices: Vec<SimDevice>) {
    let (host, port) = broker
        .rsplit_once(':')
        .map_or(("127.0.0.1", 1883), |(h, p)| (h, p.parse().unwrap_or(1883)));
    let mut options = MqttOptions::new("site-sim-sensors", host, port);
    let (user, password) = credentials();
    options.set_credentials(user, password);
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    let points: Vec<&SimPoint> = devices
        .iter()
        .flat_map(|d| &d.points)
        .filter(|p| p.topic.is_some())
        .collect();
    let mut values: Vec<Option<f64>> = vec![None; points.len()];
    let mut topics: Vec<String> = points.iter().filter_map(|p| p.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tick.tick().await;
        for (point, value) in points.iter().zip(values.iter_mut()) {
            *value = Some(next_value(point, *value));
        }
        for topic in &topics {
            let on_topic: Vec<(&SimPoint, f64)> = points
                .iter()
                .zip(&values)
                .filter(|(p, _)| p.topic.as_ref() == Some(topic))
                .map(|(p, v)| (*p, v.unwrap_or(0.0)))
                .collect();
            let _ = client
                .publish(
                    topic.replace(['+', '#'], "sim"),
                    QoS::AtMostOnce,
                    false,
                    payload(&on_topic),
                )
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(pointer: Option<&str>, data_type: Option<&str>, scale: Option<f64>) -> SimPoint {
        SimPoint {
            name: "p".into(),
            role: None,
            kind: String::new(),
            address: 0,
            data_type: data_type.map(Into::into),
            bit: None,
            word_order: None,
            scale,
            offset: None,
            zone: None,
            topic: Some("t".into()),
            json_pointer: pointer.map(Into::into),
        }
    }

    #[test]
    fn payloads_look_like_real_sensors() {
        assert_eq!(payload(&[(&point(None, None, None), 21.5)]), b"21.5");
        assert_eq!(payload(&[(&point(None, Some("bool"), None), 1.0)]), b"ON");
        assert_eq!(
            payload(&[(&point(None, None, Some(1000.0)), 420.0)]),
            b"0.42"
        );
        let humidity = point(Some("/climate/humidity"), None, None);
        let on = point(Some("/on"), Some("bool"), None);
        assert_eq!(
            payload(&[(&humidity, 48.0), (&on, 1.0)]),
            br#"{"climate":{"humidity":48.0},"on":true}"#
        );
    }
}
