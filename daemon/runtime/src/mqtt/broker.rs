//! The embedded MQTT broker (rumqttd), for sites without one.
//!
//! A small site needs nothing else: the daemon publishes to its own broker
//! on loopback and local screens subscribe there. A site with many gateways
//! or a central platform points `[mqtt] host` at its own broker instead.

use std::net::SocketAddr;

use anyhow::Context as _;

/// Starts rumqttd on `listen` in its own threads. A busy port is an error
/// here, before anything else starts.
pub fn start(
    listen: SocketAddr,
    protocol: sitewarden_model::vocab::Protocol,
) -> anyhow::Result<()> {
    // rumqttd binds in a thread of its own and only logs a failure: check first.
    std::net::TcpListener::bind(listen).with_context(|| {
        format!("cannot start the embedded MQTT broker on {listen}: the port is in use (set [mqtt] embedded_listen, or host for an external broker)")
    })?;
    let version = match protocol {
        sitewarden_model::vocab::Protocol::V311 => "v4",
        sitewarden_model::vocab::Protocol::V5 => "v5",
    };
    let config = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10

[{version}.1]
name = "embedded"
listen = "{listen}"
next_connection_delay_ms = 1
[{version}.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 100
dynamic_filters = true
"#
    );
    let config: rumqttd::Config =
        toml::from_str(&config).context("embedded broker configuration")?;
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })
        .context("starting the embedded MQTT broker")?;
    Ok(())
}
