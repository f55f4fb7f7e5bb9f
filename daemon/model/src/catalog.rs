//! The checked site model every stage reads: devices, points, lines, schedule.
//!
//! Built once by the config crate's `load` from validated config; immutable and
//! shared as `Arc<Catalog>`. Readings refer to points and devices by index
//! ([`PointId`], [`DeviceId`]) so the per-reading hot path copies two integers
//! instead of strings, and any stage resolves names, roles and units here.

use std::time::Duration;

use crate::schedule::BusinessHours;
use crate::vocab::{
    ApiRole, Category, DataType, Parity, RegisterKind, RuleAction, RuleKind, Severity, WordOrder,
};

/// Index of a device in [`Catalog::devices`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub u32);

/// Index of a point in [`Catalog::points`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId(pub u32);

/// Index of a line in [`Catalog::lines`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineId(pub u32);

/// The whole checked site.
#[derive(Debug)]
pub struct Catalog {
    /// Identity and schedule.
    pub site: SiteInfo,
    /// Every device, indexed by [`DeviceId`].
    pub devices: Vec<Device>,
    /// Every point of every device, indexed by [`PointId`], grouped by device.
    pub points: Vec<Point>,
    /// Every connection the pollers own, indexed by [`LineId`].
    pub lines: Vec<Line>,
    /// HTTP API settings.
    pub api: ApiSettings,
    /// Rules of every loaded pack, indexed by [`RuleId`].
    pub rules: Vec<Rule>,
    /// Every rule applied to every matching point.
    pub rule_instances: Vec<RuleInstance>,
    /// Where conditions, counters and later tickets are stored.
    pub data_dir: std::path::PathBuf,
    /// InfluxDB output, if configured.
    pub influx: Option<InfluxSettings>,
    /// MQTT, if configured.
    pub mqtt: Option<MqttSettings>,
    /// `[tickets]`, with defaults filled in.
    pub tickets: TicketSettings,
    /// `[alerts]`, `[[people]]`, `[[roster]]`.
    pub alerts: AlertSettings,
    /// `[patrol]`.
    pub patrol: PatrolSettings,
}

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
    /// The daemon's own broker.
    Embedded {
        /// Listen address.
        listen: std::net::SocketAddr,
    },
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
}

impl Catalog {
    /// The device with this id.
    pub fn device(&self, id: DeviceId) -> &Device {
        &self.devices[id.0 as usize]
    }

    /// The point with this id.
    pub fn point(&self, id: PointId) -> &Point {
        &self.points[id.0 as usize]
    }

    /// The points of one device.
    pub fn points_of(&self, device: DeviceId) -> &[Point] {
        let range = &self.device(device).points;
        &self.points[range.start as usize..range.end as usize]
    }

    /// How a device is reached, for people: its Modbus line, or MQTT.
    pub fn transport_of(&self, device: DeviceId) -> String {
        match self.device(device).line {
            Some(line) => self.lines[line.0 as usize].transport.describe(),
            None => "mqtt".to_owned(),
        }
    }

    /// The rule with this id.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0 as usize]
    }

    /// Sum over Modbus points of reads per second: what the site asks of its buses.
    pub fn point_reads_per_second(&self) -> f64 {
        self.points
            .iter()
            .filter(|p| p.source == PointSource::Modbus)
            .map(|p| 1.0 / p.interval.as_secs_f64())
            .sum()
    }
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
}

/// HTTP API settings.
#[derive(Debug)]
pub struct ApiSettings {
    /// Listen address.
    pub listen: std::net::SocketAddr,
    /// Accepted tokens (hashes only).
    pub tokens: Vec<ApiToken>,
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

/// One piece of equipment behind one unit id.
#[derive(Debug)]
pub struct Device {
    /// Its index.
    pub id: DeviceId,
    /// Config id (`ahu-1`).
    pub name: String,
    /// Human name.
    pub display_name: String,
    /// Where it is.
    pub location: Option<String>,
    /// Profile it was built from.
    pub profile: Option<String>,
    /// Line whose task polls it (Modbus devices).
    pub line: Option<LineId>,
    /// Availability settings (MQTT devices).
    pub mqtt: Option<MqttDevice>,
    /// How much of the site a fault of this device affects (sets ticket priority).
    pub impact: crate::vocab::Impact,
    /// Modbus unit id.
    pub unit_id: u8,
    /// Default poll interval.
    pub poll_interval: Duration,
    /// Reply timeout.
    pub timeout: Duration,
    /// Extra attempts per request.
    pub retries: u8,
    /// Consecutive failed polls that make it offline.
    pub offline_after: u8,
    /// Largest register gap a merged read may span.
    pub max_gap_registers: u16,
    /// Largest bit gap a merged read may span.
    pub max_gap_bits: u16,
    /// Its points: `first..end` in [`Catalog::points`].
    pub points: std::ops::Range<u32>,
}

/// One value at one address of one device.
#[derive(Debug, Clone)]
pub struct Point {
    /// Its index.
    pub id: PointId,
    /// Owning device.
    pub device: DeviceId,
    /// Name, unique within the device.
    pub name: String,
    /// Meaning that rules bind to.
    pub role: Option<String>,
    /// Modbus table.
    pub kind: RegisterKind,
    /// Zero-based address of the first register or bit.
    pub address: u16,
    /// Decoding.
    pub data_type: DataType,
    /// Bit index for [`DataType::Bit`].
    pub bit: u8,
    /// Word order for multi-register values.
    pub word_order: WordOrder,
    /// Engineering value = raw × scale + offset.
    pub scale: f64,
    /// Engineering value = raw × scale + offset.
    pub offset: f64,
    /// Engineering unit.
    pub unit: Option<String>,
    /// Poll interval.
    pub interval: Duration,
    /// Zone, door or circuit label.
    pub zone: Option<String>,
    /// Time-series deadband, when the point sets its own.
    pub report_deadband: Option<f64>,
    /// Time-series interval for unchanged values, when the point sets its own.
    pub report_min_interval: Option<Duration>,
    /// Where the value comes from.
    pub source: PointSource,
}

/// Where a point's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointSource {
    /// The register or bit in `kind`/`address` of a Modbus device.
    Modbus,
    /// Messages on an MQTT topic (`kind`/`address` unused).
    Mqtt(MqttTopic),
}

/// How an MQTT point reads its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTopic {
    /// Topic filter, `{device}` already replaced.
    pub filter: String,
    /// JSON Pointer to the value; `None`: the payload is the value.
    pub json_pointer: Option<String>,
    /// JSON Pointer to the reading's time.
    pub timestamp_pointer: Option<String>,
}

/// Availability of an MQTT device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttDevice {
    /// Topic where the device says online/offline.
    pub availability_topic: Option<String>,
    /// Payload meaning online.
    pub payload_online: String,
    /// Payload meaning offline.
    pub payload_offline: String,
    /// Offline after this long without a message.
    pub silent_after: Duration,
}

impl Catalog {
    /// The site's MQTT topics.
    pub fn topics(&self) -> crate::topics::Topics {
        crate::topics::Topics::new(&self.site.id)
    }
}

impl Point {
    /// A point with defaults, for unit tests of decoding and planning in
    /// the stage crates.
    #[doc(hidden)]
    pub fn for_tests(
        kind: RegisterKind,
        address: u16,
        data_type: DataType,
        word_order: WordOrder,
    ) -> Self {
        Self {
            id: PointId(0),
            device: DeviceId(0),
            name: format!("p{address}"),
            role: None,
            kind,
            address,
            data_type,
            bit: 0,
            word_order,
            scale: 1.0,
            offset: 0.0,
            unit: None,
            interval: Duration::from_secs(1),
            zone: None,
            report_deadband: None,
            report_min_interval: None,
            source: PointSource::Modbus,
        }
    }

    /// Registers or bits this point occupies.
    pub fn width(&self) -> u16 {
        if self.kind.is_bit_table() {
            1
        } else {
            self.data_type.width()
        }
    }

    /// One past the last address it occupies.
    pub fn end(&self) -> u32 {
        u32::from(self.address) + u32::from(self.width())
    }
}

/// A connection one poll task owns: a TCP device, or a serial line or RS-485
/// gateway shared by several unit ids.
#[derive(Debug)]
pub struct Line {
    /// Its index.
    pub id: LineId,
    /// How to open it.
    pub transport: LineTransport,
    /// Devices polled over it, in config order.
    pub devices: Vec<DeviceId>,
}

/// How to open a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineTransport {
    /// Modbus TCP to `host:port`.
    Tcp {
        /// `host:port`.
        host: String,
    },
    /// RTU framing through a TCP gateway at `host:port`.
    RtuOverTcp {
        /// `host:port`.
        host: String,
    },
    /// RTU on a local serial port.
    Serial {
        /// Device path.
        path: String,
        /// Line speed.
        baud: u32,
        /// Parity.
        parity: Parity,
        /// 1 or 2.
        stop_bits: u8,
    },
}

impl LineTransport {
    /// Where it goes, for logs and the API.
    pub fn describe(&self) -> String {
        match self {
            Self::Tcp { host } => format!("modbus-tcp://{host}"),
            Self::RtuOverTcp { host } => format!("modbus-rtu-over-tcp://{host}"),
            Self::Serial { path, baud, .. } => format!("modbus-rtu://{path}@{baud}"),
        }
    }
}

/// Index of a rule in [`Catalog::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// A rule of a loaded pack.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `pack.rule`.
    pub id: String,
    /// What the condition means.
    pub description: String,
    /// How it is evaluated.
    pub kind: RuleKind,
    /// Role it binds to, if any.
    pub role: Option<String>,
    /// Default severity (an override may change it per device).
    pub severity: Severity,
    /// Request class.
    pub category: Category,
    /// Ticket, alert, both or record only.
    pub action: RuleAction,
    /// Escalation policy of its alerts.
    pub class: crate::vocab::AlertClass,
}

/// One rule applied to one point of one device: one condition slot.
#[derive(Debug, Clone)]
pub struct RuleInstance {
    /// The rule.
    pub rule: RuleId,
    /// The device.
    pub device: DeviceId,
    /// The point whose readings drive it (for `all`/`any` the first predicate's).
    pub point: PointId,
    /// What is tested, with overrides applied.
    pub check: Check,
    /// How long the condition must hold before it is raised.
    pub on_delay: Duration,
    /// How long the clear condition must hold before it clears.
    pub off_delay: Duration,
    /// Severity after overrides.
    pub severity: Severity,
}

/// What a rule instance tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Raised beyond `threshold`, cleared back past `clear_at`.
    Limit {
        /// Above (high) or below (low).
        upper: bool,
        /// Raise point.
        threshold: f64,
        /// Clear point (threshold minus or plus the deadband).
        clear_at: f64,
    },
    /// Raised while the value equals `value` (or, with `when_equal` false, differs from it).
    State {
        /// Compared value (true = 1).
        value: f64,
        /// Condition when equal (`equals`) or when different (`differs`).
        when_equal: bool,
    },
    /// Raised while the value changes faster than `per_minute` (negative: falls).
    Rate {
        /// Signed rate threshold per minute.
        per_minute: f64,
        /// Measurement window.
        window: Duration,
    },
    /// Raised when no good reading arrived for `after`.
    Stale {
        /// Staleness limit.
        after: Duration,
    },
    /// Raised while the device is offline.
    Offline,
    /// Raised when the counter passed `interval` since the last recorded service.
    ServiceInterval {
        /// Service interval in the counter's unit.
        interval: f64,
    },
    /// Raised while the site is open (`when_open`) or closed and the value equals `value`.
    Schedule {
        /// Which site state makes `value` wrong.
        when_open: bool,
        /// The wrong value.
        value: f64,
    },
    /// Raised while all (or any) predicates on the device's points hold.
    Combination {
        /// All or any.
        all: bool,
        /// Point and test.
        of: Vec<(PointId, Predicate)>,
    },
}

/// One test of a combination rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Predicate {
    /// Value > x.
    Above(f64),
    /// Value < x.
    Below(f64),
    /// Value == x.
    Equals(f64),
}

impl Predicate {
    /// Does `value` satisfy it?
    pub fn holds(self, value: f64) -> bool {
        match self {
            Self::Above(x) => value > x,
            Self::Below(x) => value < x,
            Self::Equals(x) => value == x,
        }
    }
}

/// How the repair process runs on this site.
#[derive(Debug, Clone)]
pub struct TicketSettings {
    /// Priority by severity (info … critical) and impact (site, area, local).
    pub matrix: [[crate::vocab::Priority; 3]; 4],
    /// Targets by priority (P1 … P4).
    pub service_levels: [ServiceLevel; 4],
    /// External CMMS receiving every change.
    pub webhook: Option<WebhookTarget>,
    /// Calendar maintenance.
    pub preventive: Vec<PreventiveSchedule>,
}

impl TicketSettings {
    /// The priority a fault of this severity and reach gets.
    pub fn priority(
        &self,
        severity: crate::vocab::Severity,
        impact: crate::vocab::Impact,
    ) -> crate::vocab::Priority {
        self.matrix[severity as usize][impact as usize]
    }

    /// Targets for a priority.
    pub fn level(&self, priority: crate::vocab::Priority) -> ServiceLevel {
        self.service_levels[priority as usize]
    }
}

/// Response and resolution targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevel {
    /// Registration to work started.
    pub response: Duration,
    /// Registration to resolved.
    pub resolution: Duration,
}

/// Where ticket changes are POSTed.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// URL.
    pub url: String,
    /// Bearer token.
    pub token: Option<crate::secret::Secret>,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

/// A ticket opened on a calendar.
#[derive(Debug, Clone)]
pub struct PreventiveSchedule {
    /// Stable id.
    pub id: String,
    /// Ticket title.
    pub title: String,
    /// Device the work is on.
    pub device: Option<DeviceId>,
    /// Which days.
    pub rule: CalendarRule,
    /// Local time of day.
    pub at: jiff::civil::Time,
    /// Priority of its tickets.
    pub priority: crate::vocab::Priority,
}

/// Which days a preventive schedule falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarRule {
    /// Every day.
    Daily,
    /// One weekday a week.
    Weekly(jiff::civil::Weekday),
    /// One day a month; past a short month's end, its last day.
    Monthly(u8),
}

/// Who is told about emergencies, how, and who is next.
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    /// `[[people]]`.
    pub people: Vec<Person>,
    /// `[[roster]]`.
    pub roster: Vec<Shift>,
    /// `[alerts.channels]`, sorted by name.
    pub channels: Vec<ChannelSettings>,
    /// Policy per class.
    pub policies: std::collections::HashMap<crate::vocab::AlertClass, Policy>,
    /// For classes without their own policy.
    pub default_policy: Option<Policy>,
    /// Mutes.
    pub inhibit: Vec<Inhibition>,
    /// Drill coordinator.
    pub drill: Option<DrillSettings>,
    /// Test notification interval.
    pub self_test_every: Option<Duration>,
    /// MQTT heartbeat interval.
    pub heartbeat_every: Duration,
}

impl AlertSettings {
    /// The policy an alert of `class` follows.
    pub fn policy(&self, class: crate::vocab::AlertClass) -> Option<&Policy> {
        self.policies.get(&class).or(self.default_policy.as_ref())
    }
}

/// Someone who can be notified.
#[derive(Debug, Clone)]
pub struct Person {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Mobile number.
    pub phone: Option<String>,
}

/// One shift of an on-duty role.
#[derive(Debug, Clone)]
pub struct Shift {
    /// Role.
    pub role: String,
    /// Index into [`AlertSettings::people`].
    pub person: usize,
    /// Weekdays (Monday first) the shift starts on.
    pub days: [bool; 7],
    /// Start, site time.
    pub from: jiff::civil::Time,
    /// End, site time; before `from` when the shift runs past midnight.
    pub to: jiff::civil::Time,
}

/// How a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// QoS 1 on `sitewarden/<site>/alerts/<id>/notifications`.
    Mqtt,
    /// Generic JSON, HMAC-signed.
    Webhook,
    /// WeCom group robot.
    #[serde(rename = "wecom")]
    WeCom,
    /// DingTalk group robot.
    #[serde(rename = "dingtalk")]
    DingTalk,
    /// Slack incoming webhook.
    Slack,
    /// SMTP.
    Email,
}

/// A named notification channel.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ChannelKind,
    /// Endpoint of webhook-like kinds.
    pub url: Option<String>,
    /// HMAC key (webhook) or robot signing secret (DingTalk).
    pub secret: Option<crate::secret::Secret>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// SMTP settings of the e-mail kind.
    pub smtp: Option<SmtpSettings>,
}

/// How to reach an SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Sender.
    pub from: String,
    /// User.
    pub username: Option<String>,
    /// Password.
    pub password: Option<crate::secret::Secret>,
    /// Transport security.
    pub security: SmtpSecurity,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (a relay on loopback).
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

/// An escalation policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Repeat interval of the last step.
    pub repeat: Duration,
    /// Steps notified at once on raise.
    pub first_steps_together: usize,
}

/// One escalation step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Who.
    pub notify: Vec<Recipient>,
    /// Indices into [`AlertSettings::channels`].
    pub channels: Vec<usize>,
    /// Wait for an acknowledgement before the next step.
    pub wait: Duration,
}

/// A person, or whoever holds an on-duty role at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// Index into [`AlertSettings::people`].
    Person(usize),
    /// On-duty role.
    Role(String),
}

/// Alerts muted while an alert of a class is active.
#[derive(Debug, Clone)]
pub struct Inhibition {
    /// Source class.
    pub when: crate::vocab::AlertClass,
    /// Target rule ids.
    pub mute: Vec<String>,
    /// Target devices; all when empty.
    pub devices: Vec<String>,
}

/// Drill handling.
#[derive(Debug, Clone)]
pub struct DrillSettings {
    /// Drill coordinator(s).
    pub notify: Vec<Recipient>,
    /// Channels.
    pub channels: Vec<usize>,
    /// Longest window.
    pub max_duration: Duration,
}

/// Checkpoint stations and guards.
#[derive(Debug, Clone, Default)]
pub struct PatrolSettings {
    /// Stations.
    pub stations: Vec<PatrolStation>,
    /// Guards.
    pub guards: Vec<Guard>,
    /// Scheduled rounds.
    pub routes: Vec<Route>,
}

/// A round walked on a schedule.
#[derive(Debug, Clone)]
pub struct Route {
    /// Id.
    pub id: String,
    /// Indices into [`PatrolSettings::stations`], in walking order.
    pub checkpoints: Vec<usize>,
    /// Start period, from local midnight.
    pub every: Duration,
    /// Hours rounds start in; all day when `None`.
    pub hours: Option<(jiff::civil::Time, jiff::civil::Time)>,
    /// Planned time between checkpoints.
    pub leg: Duration,
    /// On-time tolerance.
    pub window: Duration,
    /// Suspiciously fast below this.
    pub min_gap: Duration,
    /// Lone-worker alarm delay.
    pub lone_worker_after: Duration,
}

impl PatrolSettings {
    /// The guard a badge (upper-case hex) belongs to.
    pub fn guard_of(&self, badge: &str) -> Option<&Guard> {
        self.guards
            .iter()
            .find(|g| g.badges.iter().any(|b| b == badge))
    }
}

/// One checkpoint station.
#[derive(Debug, Clone)]
pub struct PatrolStation {
    /// Name.
    pub id: String,
    /// Checkpoint id = Modbus unit id.
    pub checkpoint: u16,
    /// RTU-over-TCP gateway.
    pub gateway: std::net::SocketAddr,
    /// HMAC key.
    pub key: [u8; 32],
    /// Poll period.
    pub poll_interval: Duration,
    /// Where.
    pub location: Option<String>,
}

/// A guard and their badges.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Badge UIDs, upper-case hex.
    pub badges: Vec<String>,
}
