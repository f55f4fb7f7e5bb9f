//! How the daemon reaches the world: site identity, the API, MQTT and InfluxDB settings.

use super::*;

/// A checked `[mqtt]`.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// Which broker.
    pub broker: MqttBroker,
    /// Client id.
    pub client_id: String,
    /// User name.
    pub username: Option<String>,
    /// Resolved password.
    pub password: Option<crate::secret::Secret>,
    /// Keep-alive interval.
    pub keep_alive: Duration,
    /// Protocol version.
    pub protocol: crate::vocab::Protocol,
    /// TLS material, read at start.
    pub tls: Option<MqttTls>,
    /// Publish point values: deadband and minimum interval.
    pub values: Option<(f64, Duration)>,
}

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttBroker {
    /// A broker the site runs.
    External {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// The daemon's own broker (a mosquitto it configures and runs).
    Embedded {
        /// Listen address.
        listen: std::net::SocketAddr,
        /// Sensors, screens and operators allowed to connect.
        users: Vec<BrokerAccount>,
        /// Clients without a user name may read the site's topics (never commands).
        allow_anonymous: bool,
        /// Messages queued for a client that does not keep up; the rest are dropped.
        max_queued: usize,
        /// The broker's whole memory, bytes.
        memory_limit: usize,
    },
}

/// A user of the embedded broker, from `[[mqtt.users]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAccount {
    /// User name.
    pub name: String,
    /// mosquitto `$7$` password hash (`sitewarden hash-password`).
    pub password_hash: String,
    /// What the user is, which sets its topic permissions.
    pub role: crate::vocab::BrokerRole,
    /// For a sensor: the devices whose topics it may publish.
    pub devices: Vec<super::DeviceId>,
}

/// PEM material for TLS to the broker.
#[derive(Debug, Clone)]
pub struct MqttTls {
    /// CA certificate(s).
    pub ca: Vec<u8>,
    /// Client certificate and key, for mutual TLS.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

/// A checked `[sinks.influx]`.
#[derive(Debug, Clone)]
pub struct InfluxSettings {
    /// Base URL.
    pub url: String,
    /// Organisation.
    pub org: String,
    /// Bucket.
    pub bucket: String,
    /// Resolved token.
    pub token: Option<crate::secret::Secret>,
    /// Lines per write.
    pub batch_size: usize,
    /// Longest wait before a partial batch is written.
    pub flush_interval: Duration,
    /// Gzip writes.
    pub gzip: bool,
    /// Time allowed for one write.
    pub timeout: Duration,
    /// Disk budget for unwritten batches, bytes.
    pub buffer_bytes: u64,
    /// Default deadband.
    pub report_deadband: f64,
    /// Default interval for unchanged values.
    pub report_min_interval: Duration,
    /// Interval of the state snapshot; `None`: off.
    pub snapshot_every: Option<Duration>,
}

/// Site identity.
#[derive(Debug)]
pub struct SiteInfo {
    /// Stable id, in every topic and tag.
    pub id: String,
    /// Name people read.
    pub name: String,
    /// Opening schedule in the site's zone.
    pub hours: BusinessHours,
    /// Every text people read, in the site's language and zone.
    pub messages: std::sync::Arc<crate::locale::Messages>,
}

/// HTTP API settings.
#[derive(Debug)]
pub struct ApiSettings {
    /// Listen address.
    pub listen: std::net::SocketAddr,
    /// Accepted tokens (hashes only).
    pub tokens: Vec<ApiToken>,
    /// Open connections one client address may hold; more are closed at once.
    pub max_connections_per_client: usize,
    /// Open connections in all; more are closed at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and the longest an
    /// idle kept-alive connection stays open.
    pub header_timeout: std::time::Duration,
    /// Longest a request (its body included) may take.
    pub request_timeout: std::time::Duration,
    /// Where people's phones reach the API, without a trailing `/`: alert
    /// notifications carry acknowledgement links under it when set.
    pub public_url: Option<String>,
    /// How long an acknowledgement link works.
    pub ack_link_valid_for: std::time::Duration,
    /// `[grafana] url` without a trailing `/`: the console links devices
    /// to their dashboards there.
    pub grafana_url: Option<String>,
    /// `[api] tls`: serve HTTPS with this PEM certificate chain and key.
    pub tls: Option<ApiTls>,
    /// Reads of personal data need a session or a token.
    pub personal_data_needs_sign_in: bool,
}

/// The listener's certificate chain and private key, PEM, checked.
#[derive(Clone)]
pub struct ApiTls {
    /// Certificate chain, the server's first.
    pub cert: Vec<u8>,
    /// Private key.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ApiTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ApiTls").finish_non_exhaustive()
    }
}

/// One accepted bearer token.
#[derive(Debug)]
pub struct ApiToken {
    /// Holder, for audit trails.
    pub name: String,
    /// What the holder may change.
    pub role: ApiRole,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
}
