//! Devices, their points and the lines (Modbus TCP connections, serial buses, gateways) that reach them.

use super::*;

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
    /// Messages on an MQTT topic (`kind`/`address` unused). Boxed: most
    /// points are Modbus, and every point pays for the largest variant.
    Mqtt(Box<MqttTopic>),
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

/// Roles whose messages are life safety: they are read on a connection of
/// their own that a flood on other topics cannot delay, and never throttled.
pub const LIFE_SAFETY_ROLES: &[&str] = &["fire_alarm", "emergency_button", "door_forced", "tamper"];

impl Point {
    /// True when the point's role is in [`LIFE_SAFETY_ROLES`].
    pub fn is_life_safety(&self) -> bool {
        self.role
            .as_deref()
            .is_some_and(|r| LIFE_SAFETY_ROLES.contains(&r))
    }

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
