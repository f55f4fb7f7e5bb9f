//! The shared vocabulary: closed sets of names that config files, stages,
//! the API, MQTT and the time series all speak.
//!
//! Each set is declared once with [`text_enum!`](crate::text_enum), which
//! gives its serde spelling, `as_str` and `parse` from one table, so the
//! stored, published and served spellings cannot drift.

use serde::Deserialize;

use crate::text_enum;

text_enum! {
    /// How bad a condition is; ordered from least to most.
    Severity {
        /// Worth knowing.
        Info = "info",
        /// Needs a look in working hours.
        Minor = "minor",
        /// Needs a technician today.
        Major = "major",
        /// Needs someone now.
        Critical = "critical",
    }
}

text_enum! {
    /// What an alert channel does with a notification that waited past its
    /// `late_after` (the channel was down, the daemon was off): a days-old
    /// fire notification must not arrive as if it were news.
    #[derive(Default)]
    LateAction {
        /// Sent as it is; counted as late.
        Send = "send",
        /// Sent once, its text starting with when it was queued; counted.
        #[default]
        Mark = "mark",
        /// Not sent; counted, and its delivery shows it was dropped.
        Drop = "drop",
    }
}

text_enum! {
    /// The site's request classes.
    #[derive(Default)]
    Category {
        /// Something broken.
        #[default]
        Repair = "repair",
        /// Something under the builder's warranty.
        Warranty = "warranty",
        /// A question.
        Inquiry = "inquiry",
    }
}

text_enum! {
    /// What a raised condition leads to.
    RuleAction {
        /// A repair ticket.
        Ticket = "ticket",
        /// An emergency alert with escalation.
        Alert = "alert",
        /// Both.
        Both = "both",
        /// Only recorded.
        Record = "record",
    }
}

text_enum! {
    /// How a rule is evaluated.
    RuleKind {
        /// Threshold with deadband.
        Limit = "limit",
        /// A yes/no or enumerated value equals or differs.
        State = "state",
        /// Rise or fall faster than a rate.
        Rate = "rate",
        /// No good reading for a while.
        Stale = "stale",
        /// The device does not answer.
        Offline = "offline",
        /// A run-hours counter past its service interval since the last service.
        ServiceInterval = "service_interval",
        /// A value that is wrong for the site's open/closed state.
        Schedule = "schedule",
        /// Every predicate holds.
        All = "all",
        /// At least one predicate holds.
        Any = "any",
    }
}

text_enum! {
    /// Limit levels.
    LimitLevel {
        /// Above the high threshold.
        High = "high",
        /// Above the high-high threshold.
        HighHigh = "high_high",
        /// Below the low threshold.
        Low = "low",
        /// Below the low-low threshold.
        LowLow = "low_low",
    }
}

impl LimitLevel {
    /// Name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::HighHigh => "high-high",
            Self::Low => "low",
            Self::LowLow => "low-low",
        }
    }

    /// High and high-high trip above the threshold.
    pub fn is_upper(self) -> bool {
        matches!(self, Self::High | Self::HighHigh)
    }
}

/// A value in `equals`/`differs`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StateValue {
    /// true/false.
    Bool(bool),
    /// A number (enumerations).
    Number(f64),
}

impl StateValue {
    /// As compared with readings (true = 1).
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Bool(b) => f64::from(u8::from(b)),
            Self::Number(n) => n,
        }
    }
}

text_enum! {
    /// Open or closed, per the business-hours calendar.
    SiteState {
        /// Within business hours.
        Open = "open",
        /// Outside them.
        Closed = "closed",
    }
}

text_enum! {
    /// What an API token may change. Stages check these per command.
    ApiRole {
        /// Registers requests from visitors and staff.
        FrontDesk = "front-desk",
        /// Works on tickets assigned to them.
        Technician = "technician",
        /// Runs the site's maintenance; acknowledges alerts.
        Engineer = "engineer",
        /// Everything, including configuration-level actions.
        Admin = "admin",
        /// A guard: patrols, reports emergencies, acknowledges alarms.
        Security = "security",
    }
}

text_enum! {
    /// Serial parity.
    #[derive(Default)]
    Parity {
        /// No parity bit.
        #[default]
        None = "none",
        /// Even parity.
        Even = "even",
        /// Odd parity.
        Odd = "odd",
    }
}

text_enum! {
    /// The four Modbus data tables.
    RegisterKind {
        /// Read-write bits (function 1).
        Coil = "coil",
        /// Read-only bits (function 2).
        DiscreteInput = "discrete-input",
        /// Read-write 16-bit registers (function 3).
        Holding = "holding",
        /// Read-only 16-bit registers (function 4).
        Input = "input",
    }
}

impl RegisterKind {
    /// Coils and discrete inputs are read as bits, registers as 16-bit words.
    pub fn is_bit_table(self) -> bool {
        matches!(self, Self::Coil | Self::DiscreteInput)
    }
}

text_enum! {
    /// How register contents become a value.
    DataType {
        /// A coil or discrete input; on a register, non-zero is true.
        Bool = "bool",
        /// One bit of a register, chosen by `bit`.
        Bit = "bit",
        /// Unsigned 16-bit.
        U16 = "u16",
        /// Signed 16-bit.
        I16 = "i16",
        /// Unsigned 32-bit, two registers.
        U32 = "u32",
        /// Signed 32-bit, two registers.
        I32 = "i32",
        /// Unsigned 64-bit, four registers.
        U64 = "u64",
        /// Signed 64-bit, four registers.
        I64 = "i64",
        /// IEEE 754 single, two registers.
        F32 = "f32",
        /// IEEE 754 double, four registers.
        F64 = "f64",
    }
}

impl DataType {
    /// Registers (or bits, for bit tables) one value occupies.
    pub fn width(self) -> u16 {
        match self {
            Self::Bool | Self::Bit | Self::U16 | Self::I16 => 1,
            Self::U32 | Self::I32 | Self::F32 => 2,
            Self::U64 | Self::I64 | Self::F64 => 4,
        }
    }

    /// True when the value is a yes/no.
    pub fn is_boolean(self) -> bool {
        matches!(self, Self::Bool | Self::Bit)
    }
}

text_enum! {
    /// Order of 16-bit words in a multi-register value. Bytes within a word
    /// are always big-endian, as the Modbus specification says; devices
    /// disagree only about word order.
    #[derive(Default)]
    WordOrder {
        /// Most significant word at the lowest address (Modbus convention, "ABCD").
        #[default]
        HighFirst = "high-first",
        /// Least significant word first ("CDAB", word-swapped).
        LowFirst = "low-first",
    }
}

text_enum! {
    /// The MQTT protocol version spoken to the broker.
    #[derive(Default)]
    Protocol {
        /// MQTT 3.1.1, which every broker speaks.
        #[default]
        V311 = "3.1.1",
        /// MQTT 5.
        V5 = "5",
    }
}

text_enum! {
    /// What a user of the embedded broker is; sets its topic permissions.
    BrokerRole {
        /// Publishes only its own devices' point and availability topics.
        Sensor = "sensor",
        /// Reads `sitewarden/<site>/#` except commands.
        Screen = "screen",
        /// A screen that may also publish signed commands.
        Operator = "operator",
    }
}

text_enum! {
    /// Which escalation policy an alert follows.
    #[derive(Default)]
    AlertClass {
        /// A fire alarm: life safety, first in every queue.
        Fire = "fire",
        /// A forced door, tamper, a forged patrol record.
        Intrusion = "intrusion",
        /// Someone pressed an emergency button: life safety.
        EmergencyButton = "emergency_button",
        /// Critical equipment trouble.
        #[default]
        Equipment = "equipment",
        /// A guard on a round stopped moving: life safety.
        GuardSafety = "guard_safety",
        /// Someone is hurt or taken ill: life safety.
        Medical = "medical",
        /// Water where it should not be: a burst pipe, a flooded plant room.
        WaterLeak = "water_leak",
        /// The site or part of it lost power.
        PowerFailure = "power_failure",
        /// People trapped in a lift car: life safety.
        LiftEntrapment = "lift_entrapment",
        /// A patrol checkpoint missed or late: the guard matter, not a break-in.
        Patrol = "patrol",
        /// An emergency a person reported that fits no other class.
        Other = "other",
        /// Nobody checked in for a shift: the post may be empty.
        Duty = "duty",
    }
}

impl AlertClass {
    /// Life-safety alerts go first in every queue, are confirmed within
    /// `[alerts] confirm_within`, and only an admin may silence them.
    pub fn is_life_safety(self) -> bool {
        matches!(
            self,
            Self::Fire
                | Self::EmergencyButton
                | Self::GuardSafety
                | Self::Medical
                | Self::LiftEntrapment
        )
    }
}

text_enum! {
    /// How urgent a ticket is; P1 first. Sets its service-level targets.
    Priority {
        /// Now: life safety or the whole site affected.
        P1 = "p1",
        /// Today.
        P2 = "p2",
        /// Within days.
        P3 = "p3",
        /// When convenient.
        P4 = "p4",
    }
}

text_enum! {
    /// How much of the site a fault affects (the standard's "scope of impact").
    #[derive(Default)]
    Impact {
        /// The whole site: fire panel, main AHU, entrance access.
        Site = "site",
        /// One area or floor.
        #[default]
        Area = "area",
        /// One room or fitting.
        Local = "local",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_itself() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ApiRole::FrontDesk.as_str(), "front-desk");
        assert_eq!(Protocol::parse("3.1.1"), Some(Protocol::V311));
        assert!(Severity::Critical > Severity::Major);
    }

    #[test]
    fn config_spellings_deserialize() {
        #[derive(Deserialize)]
        struct Row {
            kind: RegisterKind,
            order: WordOrder,
            level: LimitLevel,
        }
        let row: Row = toml::from_str(
            "kind = \"discrete-input\"\norder = \"low-first\"\nlevel = \"high_high\"",
        )
        .unwrap();
        assert_eq!(row.kind, RegisterKind::DiscreteInput);
        assert_eq!(row.order, WordOrder::LowFirst);
        assert_eq!(row.level, LimitLevel::HighHigh);
    }
}
