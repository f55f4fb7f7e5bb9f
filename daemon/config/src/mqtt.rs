//! `[mqtt]` in the site file: the broker the daemon publishes to.

use serde::Deserialize;

use super::{ConfigDuration, SecretSource, Spanned};

/// `[mqtt]`. Without `host`, the daemon runs an embedded broker.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// External broker host (mosquitto, EMQX, HiveMQ); omit for the embedded broker.
    #[serde(default)]
    pub host: Option<Spanned<String>>,
    /// Broker port; 1883, or 8883 with TLS.
    #[serde(default)]
    pub port: Option<u16>,
    /// Where the embedded broker listens when there is no `host`.
    #[serde(default = "default_embedded_listen")]
    pub embedded_listen: Spanned<String>,
    /// Embedded broker: clients without a user name may read the site's
    /// topics (never commands). Refused beyond loopback.
    #[serde(default = "default_anonymous")]
    pub allow_anonymous: Spanned<bool>,
    /// Embedded broker: messages queued for a client that does not keep up.
    #[serde(default = "default_max_queued")]
    pub embedded_max_queued: usize,
    /// Embedded broker: its whole memory, MiB.
    #[serde(default = "default_memory_mib")]
    pub embedded_memory_mib: usize,
    /// Users of the embedded broker: sensors, screens, operators.
    #[serde(default)]
    pub users: Vec<Spanned<BrokerUserSection>>,
    /// Client id; `sitewarden-<site id>` by default. Unique per broker.
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name, if the broker wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password, from the environment or a file.
    #[serde(default)]
    pub password: Option<Spanned<SecretSource>>,
    /// Protocol version: `"3.1.1"` (default) or `"5"`.
    #[serde(default)]
    pub protocol: sitewarden_model::vocab::Protocol,
    /// Keep-alive interval.
    #[serde(default = "default_keep_alive")]
    pub keep_alive: Spanned<ConfigDuration>,
    /// TLS to the broker.
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// Also publish point values (retained, QoS 0) under `points/<device>/<point>`.
    #[serde(default)]
    pub publish_values: bool,
    /// A value is published when it moved more than this (0: any change).
    #[serde(default)]
    pub values_deadband: f64,
    /// An unchanged value is published again after this long.
    #[serde(default = "default_values_interval")]
    pub values_min_interval: ConfigDuration,
}

fn default_values_interval() -> ConfigDuration {
    ConfigDuration::from_millis(60_000)
}

/// `[[mqtt.users]]`: one user of the embedded broker.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerUserSection {
    /// User name the client connects with.
    pub name: Spanned<String>,
    /// `sitewarden hash-password` output (mosquitto's `$7$` hash).
    pub password_hash: Spanned<String>,
    /// `sensor`, `screen` or `operator`.
    pub role: sitewarden_model::vocab::BrokerRole,
    /// For a sensor: the device ids whose topics it publishes.
    #[serde(default)]
    pub devices: Vec<Spanned<String>>,
}

fn default_anonymous() -> Spanned<bool> {
    Spanned::new(0..0, false)
}

fn default_max_queued() -> usize {
    1000
}

fn default_memory_mib() -> usize {
    32
}

/// TLS settings: a custom CA and, for mutual TLS, a client certificate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM file of the CA that signed the broker's certificate.
    pub ca: Spanned<String>,
    /// PEM client certificate, for brokers that ask for one.
    #[serde(default)]
    pub cert: Option<Spanned<String>>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub key: Option<Spanned<String>>,
}

fn default_embedded_listen() -> Spanned<String> {
    Spanned::new(0..0, "127.0.0.1:1883".to_owned())
}

fn default_keep_alive() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(30_000))
}
