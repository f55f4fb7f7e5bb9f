//! The checked site model every stage reads, split by domain: [`devices`]
//! (and their points and lines), [`rules`], [`tickets`], [`alerts`],
//! [`patrol`] and [`io`] settings.
//!
//! Built once by the config crate's `load` from validated config; immutable and
//! shared as `Arc<Catalog>`. Readings refer to points and devices by index
//! ([`PointId`], [`DeviceId`]) so the per-reading hot path copies two integers
//! instead of strings, and any stage resolves names, roles and units here.

pub mod alerts;
pub mod devices;
pub mod extinguishers;
pub mod io;
pub mod patrol;
pub mod rules;
pub mod tickets;

pub use alerts::*;
pub use devices::*;
pub use extinguishers::*;
pub use io::*;
pub use patrol::*;
pub use rules::*;
pub use tickets::*;

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

/// How long stored history is kept (`[storage]`): nothing grows for ever
/// on a gateway's flash.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Condition transitions (90 days by default).
    pub condition_history: Duration,
    /// Confirmed deliveries and their attempts (30 days by default).
    pub deliveries: Duration,
    /// Accepted or archived tickets with their history (2 years by default).
    pub closed_tickets: Duration,
    /// Resolved alerts with their timelines, ended silences and drills (2 years).
    pub closed_alerts: Duration,
    /// Patrol taps and rounds (1 year by default).
    pub taps: Duration,
}

/// When the data directory's disk counts as full (`[storage]`), and what
/// is held back for the alarm path.
#[derive(Debug, Clone, Copy)]
pub struct DiskSettings {
    /// Free bytes below which the disk is full (64 MiB by default).
    pub min_free: u64,
    /// Bytes held in a reserve file while there is room (8 MiB by default).
    pub reserve: u64,
}

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
    /// How long history is kept.
    pub retention: Retention,
    /// Full-disk detection and the reserve.
    pub disk: DiskSettings,
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
    /// SHA-256 of every file the configuration was read from (site file,
    /// profiles, packs, register), hex: `/healthz` says which one runs.
    pub config_digest: String,
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
