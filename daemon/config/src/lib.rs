//! Site configuration: what the TOML files say, before validation.
//!
//! These structs mirror the files one to one (`deny_unknown_fields` so a
//! misspelt key is an error, not a silently ignored setting). Values that a
//! validation error may need to point at are wrapped in [`Spanned`], so every
//! error can name file, line and column. [`load`] turns files into a checked
//! [`sitewarden_model::catalog::Catalog`]; nothing downstream reads these structs.

mod alerts;
mod extinguishers;

mod load;
mod mqtt;
mod patrol;
mod roles;
mod rules;
mod rules_check;
mod secret;
mod sinks;
mod tickets;
mod validate;

use serde::Deserialize;
pub use toml::Spanned;

pub use alerts::{AlertsSection, PersonSection, ShiftSection};
pub use load::{ConfigError, ConfigErrors, SHARE_DIR, load, load_in};
pub use mqtt::{MqttSection, TlsSection};
pub use patrol::PatrolSection;
pub use roles::{INFORMATIONAL_ROLES, KNOWN_ROLES, is_known_role};
pub use rules::{PredicateSection, RuleOverride, RulePackFile, RuleSection, RulesSection};
pub use secret::{Secret, SecretSource};
pub use sinks::{InfluxSection, SinksSection};
pub use sitewarden_model::duration::{ConfigDuration, parse_duration};
use sitewarden_model::vocab::{ApiRole, DataType, Parity, RegisterKind, WordOrder};
pub use tickets::TicketsSection;
pub use validate::hash_token;
pub use validate::tls::server_tls;

/// The whole site file (e.g. `config/demo.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    /// Who and where this site is.
    pub site: SiteSection,
    /// The HTTP API; defaults to 127.0.0.1:8080 with no tokens.
    #[serde(default)]
    pub api: ApiSection,
    /// Where the daemon keeps its state.
    #[serde(default)]
    pub storage: StorageSection,
    /// Rule packs and their per-site changes.
    #[serde(default)]
    pub rules: RulesSection,
    /// Where time series go.
    #[serde(default)]
    pub sinks: SinksSection,
    /// The MQTT broker events are published to; no MQTT without it.
    #[serde(default)]
    pub mqtt: Option<MqttSection>,
    /// Folder of device profiles, relative to the config file.
    #[serde(default = "default_profiles_dir")]
    pub profiles_dir: String,
    /// People who can be notified of alerts.
    #[serde(default)]
    pub people: Vec<PersonSection>,
    /// Shifts of on-duty roles.
    #[serde(default)]
    pub roster: Vec<ShiftSection>,
    /// Emergency alerts: channels, escalation policies, inhibition, drills.
    #[serde(default)]
    pub alerts: AlertsSection,
    /// Patrol checkpoint stations and guards.
    #[serde(default)]
    pub patrol: PatrolSection,
    /// The repair process: priorities, service levels, preventive work, CMMS webhook.
    #[serde(default)]
    pub tickets: TicketsSection,
    /// The equipment to poll.
    #[serde(default)]
    pub devices: Vec<DeviceSection>,
    /// Where the engineer's Grafana is: the duty console links each device
    /// to its dashboard there.
    #[serde(default)]
    pub grafana: Option<GrafanaSection>,
}

/// The site's Grafana, with the dashboards of `dashboards/` provisioned.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrafanaSection {
    /// Its address as people's browsers reach it (`https://grafana.example`).
    pub url: Spanned<String>,
}

fn default_profiles_dir() -> String {
    "profiles".to_owned()
}

/// Identity of the site and its opening schedule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    /// Short stable id, used in every MQTT topic and as the `site` tag in InfluxDB.
    pub id: Spanned<String>,
    /// Name people read.
    pub name: String,
    /// IANA time zone name (`Asia/Shanghai`); business hours are local to it.
    pub time_zone: Spanned<String>,
    /// When the site is open; schedule-aware rules compare against it.
    #[serde(default)]
    pub business_hours: BusinessHoursSection,
    /// Language of every text people read: `"en"` (default) or `"zh-CN"`.
    #[serde(default)]
    pub locale: Option<Spanned<String>>,
    /// The site's own wording: a Fluent file, relative to the site file,
    /// that overrides any shipped message (`config/locales/<locale>.ftl`).
    #[serde(default)]
    pub messages: Option<Spanned<String>>,
}

/// Opening hours per weekday as `"HH:MM-HH:MM"` ranges; a missing day is closed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BusinessHoursSection {
    #[serde(default)]
    pub monday: Vec<Spanned<String>>,
    #[serde(default)]
    pub tuesday: Vec<Spanned<String>>,
    #[serde(default)]
    pub wednesday: Vec<Spanned<String>>,
    #[serde(default)]
    pub thursday: Vec<Spanned<String>>,
    #[serde(default)]
    pub friday: Vec<Spanned<String>>,
    #[serde(default)]
    pub saturday: Vec<Spanned<String>>,
    #[serde(default)]
    pub sunday: Vec<Spanned<String>>,
    /// Dates whose hours differ from the weekday's (holidays, launch events).
    #[serde(default)]
    pub exceptions: Vec<HoursException>,
}

/// Hours for one calendar date that replace that weekday's hours.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursException {
    /// `YYYY-MM-DD` in the site's time zone.
    pub date: Spanned<String>,
    /// Opening ranges that day; empty means closed.
    #[serde(default)]
    pub hours: Vec<Spanned<String>>,
    /// Why (shown in reports).
    #[serde(default)]
    pub note: Option<String>,
}

/// The HTTP API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Address to listen on; loopback by default so nothing is exposed by accident.
    #[serde(default = "default_listen")]
    pub listen: Spanned<String>,
    /// Bearer tokens for requests that change state, stored as SHA-256 hashes.
    #[serde(default)]
    pub tokens: Vec<ApiTokenSection>,
    /// Open connections one client address may hold (32).
    #[serde(default = "default_per_client")]
    pub max_connections_per_client: usize,
    /// Open connections in all (256), well under the open-files limit so the
    /// alarm path keeps descriptors.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Time to send a request's headers; also the idle keep-alive limit (10 s).
    #[serde(default = "default_header_timeout")]
    pub header_timeout: ConfigDuration,
    /// Longest a request, body included, may take (30 s).
    #[serde(default = "default_request_timeout")]
    pub request_timeout: ConfigDuration,
    /// The address people's phones reach this API at (`https://…`): when
    /// set, every alert notification carries a personal acknowledgement
    /// link `<public_url>/a/<capability>`.
    #[serde(default)]
    pub public_url: Option<Spanned<String>>,
    /// How long an acknowledgement link works (24 h).
    #[serde(default = "default_ack_link_valid_for")]
    pub ack_link_valid_for: ConfigDuration,
    /// Serve HTTPS with this certificate and key (PEM files).
    #[serde(default)]
    pub tls: Option<ApiTlsSection>,
    /// Whether reading personal data (requesters' contacts, guards' taps
    /// and rounds, who was called) needs a session or a token. Default:
    /// yes when `listen` is beyond loopback. Say `true` when a proxy on
    /// this machine exposes a loopback listener to the network.
    #[serde(default)]
    pub personal_data_needs_sign_in: Option<bool>,
}

/// `[api] tls`: the listener's certificate and key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTlsSection {
    /// PEM certificate chain, the server's certificate first.
    pub cert: Spanned<String>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Spanned<String>,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            listen: Spanned::new(0..0, default_listen().into_inner()),
            tokens: Vec::new(),
            max_connections_per_client: default_per_client(),
            max_connections: default_max_connections(),
            header_timeout: default_header_timeout(),
            request_timeout: default_request_timeout(),
            public_url: None,
            ack_link_valid_for: default_ack_link_valid_for(),
            tls: None,
            personal_data_needs_sign_in: None,
        }
    }
}

fn default_per_client() -> usize {
    32
}

fn default_max_connections() -> usize {
    256
}

fn default_header_timeout() -> ConfigDuration {
    ConfigDuration::from_millis(10_000)
}

fn default_ack_link_valid_for() -> ConfigDuration {
    ConfigDuration::from_millis(24 * 3600 * 1000)
}

fn default_request_timeout() -> ConfigDuration {
    ConfigDuration::from_millis(30_000)
}

fn default_listen() -> Spanned<String> {
    Spanned::new(0..0, "127.0.0.1:8080".to_owned())
}

/// One API token. Only its hash is stored, so a leaked config leaks no token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenSection {
    /// Who holds the token; shown in audit trails.
    pub name: Spanned<String>,
    /// What the holder may do.
    pub role: ApiRole,
    /// Lower-case hex SHA-256 of the token (`sitewarden hash-token` prints it).
    pub sha256: Spanned<String>,
}

/// Where persistent state lives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Data directory, relative to the config file; created on start.
    /// Left out: systemd's `$STATE_DIRECTORY` when set, `/var/lib/sitewarden`
    /// for a site file under `/etc`, else `data` next to the site file.
    #[serde(default)]
    pub data_dir: Option<String>,
    /// How long stored history is kept before it is pruned.
    #[serde(default = "default_history_days")]
    pub condition_history: ConfigDuration,
    /// How long confirmed deliveries (and their attempts) are kept.
    #[serde(default = "default_delivery_days")]
    pub deliveries: ConfigDuration,
    /// How long accepted or archived tickets (and their history) are kept.
    #[serde(default = "default_two_years")]
    pub closed_tickets: ConfigDuration,
    /// How long resolved alerts (and their timelines), ended silences and
    /// drills are kept.
    #[serde(default = "default_two_years")]
    pub closed_alerts: ConfigDuration,
    /// How long patrol taps and rounds are kept.
    #[serde(default = "default_one_year")]
    pub taps: ConfigDuration,
    /// Free space on the data directory's file system below which the disk
    /// counts as full: a fault alert, and the reserve is released.
    #[serde(default = "default_min_free")]
    pub min_free: Spanned<String>,
    /// Space held in `<data_dir>/reserve` while the disk has room, released
    /// when it is full so alarms can still be stored (`"0B"`: none).
    #[serde(default = "default_reserve")]
    pub reserve: Spanned<String>,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            data_dir: None,
            condition_history: default_history_days(),
            deliveries: default_delivery_days(),
            closed_tickets: default_two_years(),
            closed_alerts: default_two_years(),
            taps: default_one_year(),
            min_free: default_min_free(),
            reserve: default_reserve(),
        }
    }
}

fn default_min_free() -> Spanned<String> {
    Spanned::new(0..0, "64MiB".to_owned())
}

fn default_reserve() -> Spanned<String> {
    Spanned::new(0..0, "8MiB".to_owned())
}

fn default_two_years() -> ConfigDuration {
    ConfigDuration::from_millis(730 * 24 * 3600 * 1000)
}

fn default_one_year() -> ConfigDuration {
    ConfigDuration::from_millis(365 * 24 * 3600 * 1000)
}

fn default_history_days() -> ConfigDuration {
    ConfigDuration::from_millis(90 * 24 * 3600 * 1000)
}

fn default_delivery_days() -> ConfigDuration {
    ConfigDuration::from_millis(30 * 24 * 3600 * 1000)
}

/// One piece of equipment behind one Modbus unit id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSection {
    /// Stable id, unique in the site (`ahu-1`).
    pub id: Spanned<String>,
    /// Name people read.
    #[serde(default)]
    pub name: Option<String>,
    /// Where it is (`Roof plant room`).
    #[serde(default)]
    pub location: Option<String>,
    /// Register map from `profiles_dir/<profile>.toml`.
    #[serde(default)]
    pub profile: Option<Spanned<String>>,
    /// How to reach it.
    pub transport: Spanned<TransportSection>,
    /// Modbus unit (slave) id: 1–247 on RTU lines, 0–255 over TCP.
    #[serde(default = "default_unit_id")]
    pub unit_id: Spanned<u8>,
    /// How often its points are read unless a point says otherwise.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: Spanned<ConfigDuration>,
    /// How long to wait for one reply.
    #[serde(default = "default_timeout")]
    pub timeout: Spanned<ConfigDuration>,
    /// Extra attempts after a timeout or broken connection, within one poll.
    #[serde(default = "default_retries")]
    pub retries: Spanned<u8>,
    /// Consecutive failed polls after which the device counts as offline.
    #[serde(default = "default_offline_after")]
    pub offline_after: Spanned<u8>,
    /// Largest run of unused registers a merged read may read through.
    #[serde(default = "default_max_gap_registers")]
    pub max_gap_registers: u16,
    /// Largest run of unused coils or inputs a merged read may read through.
    #[serde(default = "default_max_gap_bits")]
    pub max_gap_bits: u16,
    /// Points in addition to the profile's.
    #[serde(default)]
    pub points: Vec<PointSection>,
    /// Per-device changes to profile points.
    #[serde(default)]
    pub overrides: Vec<PointOverride>,
    /// How much of the site a fault here affects: `site`, `area` (default) or `local`.
    #[serde(default)]
    pub impact: sitewarden_model::vocab::Impact,
}

fn default_unit_id() -> Spanned<u8> {
    Spanned::new(0..0, 1)
}
fn default_poll_interval() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(1000))
}
fn default_timeout() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(1000))
}
fn default_retries() -> Spanned<u8> {
    Spanned::new(0..0, 1)
}
fn default_offline_after() -> Spanned<u8> {
    Spanned::new(0..0, 3)
}
fn default_max_gap_registers() -> u16 {
    8
}
fn default_max_gap_bits() -> u16 {
    32
}

/// How a device is reached. A flat table (`{ kind = "modbus-tcp", host = "…" }`)
/// rather than a tagged enum, so every field keeps its position for errors;
/// validation checks that the fields fit the kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportSection {
    /// Which protocol framing and medium.
    pub kind: TransportKind,
    /// `host:port` for `modbus-tcp` and for the gateway of `modbus-rtu-over-tcp`.
    #[serde(default)]
    pub host: Option<Spanned<String>>,
    /// Serial device path (`/dev/ttyUSB0`) for `modbus-rtu`.
    #[serde(default)]
    pub serial: Option<Spanned<String>>,
    /// Line speed for `modbus-rtu`; 9600 by default.
    #[serde(default)]
    pub baud: Option<Spanned<u32>>,
    /// Parity for `modbus-rtu`; none by default.
    #[serde(default)]
    pub parity: Option<Parity>,
    /// Stop bits (1 or 2) for `modbus-rtu`; 1 by default.
    #[serde(default)]
    pub stop_bits: Option<Spanned<u8>>,
    /// For `mqtt`: topic where the device says `online`/`offline` (its last will).
    #[serde(default)]
    pub availability_topic: Option<String>,
    /// For `mqtt`: payload meaning online on the availability topic.
    #[serde(default)]
    pub payload_online: Option<String>,
    /// For `mqtt`: payload meaning offline on the availability topic.
    #[serde(default)]
    pub payload_offline: Option<String>,
    /// For `mqtt`: the device counts as offline after this long without a message.
    #[serde(default)]
    pub silent_after: Option<Spanned<ConfigDuration>>,
}

/// The three ways Modbus reaches a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// Modbus TCP (MBAP framing), one connection per device.
    ModbusTcp,
    /// Modbus RTU on a local serial port; devices on the same port share one line.
    ModbusRtu,
    /// Modbus RTU framing tunnelled through a TCP RS-485 gateway; devices
    /// behind the same gateway share one line.
    ModbusRtuOverTcp,
    /// A device that publishes on MQTT (wireless sensors, smart plugs,
    /// lighting gateways); its points name topics instead of registers.
    Mqtt,
}

/// A point in a profile or device: one value at one address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointSection {
    /// Unique within the device (`supply_air_temp`, `zone3_alarm`).
    pub name: Spanned<String>,
    /// What the value means; rule packs bind to it.
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// Which table (Modbus points).
    #[serde(default)]
    pub kind: Option<RegisterKind>,
    /// Zero-based protocol address (register 40001 is holding address 0).
    #[serde(default)]
    pub address: Option<Spanned<u16>>,
    /// Topic filter (MQTT points); `+` and `#` wildcards allowed, `{device}`
    /// stands for the device id.
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    /// JSON Pointer to the value in a JSON payload (`/temperature`); without
    /// it the payload is the value itself.
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// JSON Pointer to the reading's time (RFC 3339 text or epoch
    /// milliseconds); without it, the time of arrival.
    #[serde(default)]
    pub timestamp_pointer: Option<String>,
    /// How to decode; defaults to `bool` on bit tables and `u16` on registers.
    #[serde(default, rename = "type")]
    pub data_type: Option<Spanned<DataType>>,
    /// Bit 0–15 for `type = "bit"`.
    #[serde(default)]
    pub bit: Option<Spanned<u8>>,
    /// Word order for 32- and 64-bit values.
    #[serde(default)]
    pub word_order: WordOrder,
    /// Engineering value = raw × scale + offset.
    #[serde(default)]
    pub scale: Option<f64>,
    /// Engineering value = raw × scale + offset.
    #[serde(default)]
    pub offset: Option<f64>,
    /// Engineering unit (`°C`, `Pa`, `h`).
    #[serde(default)]
    pub unit: Option<String>,
    /// Poll this point faster or slower than its device.
    #[serde(default)]
    pub interval: Option<Spanned<ConfigDuration>>,
    /// Fire zone, door or circuit this point belongs to, for grouping alerts.
    #[serde(default)]
    pub zone: Option<String>,
    /// Time-series deadband for this point (see `[sinks.influx]`).
    #[serde(default)]
    pub report_deadband: Option<f64>,
    /// Time-series interval for an unchanged value (see `[sinks.influx]`).
    #[serde(default)]
    pub report_min_interval: Option<ConfigDuration>,
}

/// Per-device changes to one profile point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointOverride {
    /// Name of the profile point to change.
    pub point: Spanned<String>,
    /// New role.
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// New address (a firmware revision moved it).
    #[serde(default)]
    pub address: Option<Spanned<u16>>,
    /// New scale.
    #[serde(default)]
    pub scale: Option<f64>,
    /// New offset (sensor calibration).
    #[serde(default)]
    pub offset: Option<f64>,
    /// New unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// New poll interval.
    #[serde(default)]
    pub interval: Option<Spanned<ConfigDuration>>,
    /// New zone.
    #[serde(default)]
    pub zone: Option<String>,
    /// New time-series deadband.
    #[serde(default)]
    pub report_deadband: Option<f64>,
    /// New time-series interval for an unchanged value.
    #[serde(default)]
    pub report_min_interval: Option<ConfigDuration>,
    /// Leave this point out on this device (not wired, not fitted).
    #[serde(default)]
    pub disabled: bool,
}

/// A device profile file (`profiles_dir/<id>.toml`): a register map written once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// What equipment this map describes.
    #[serde(default)]
    pub description: Option<String>,
    /// The points.
    #[serde(default)]
    pub points: Vec<PointSection>,
}
