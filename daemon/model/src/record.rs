//! What the work stages hand the time-series sinks: a neutral point
//! (measurement, tags, fields, time), so a sink needs to know nothing about
//! tickets, alerts or patrol rounds, and those stages nothing about sinks.
//!
//! Each stage converts its own committed changes into a [`Record`] (see
//! `TicketChange::record`, `AlertChange::record`, the patrol round's
//! record); the InfluxDB sink writes it as one line of line protocol.
//! Readings and condition events, which are many, have encoders of their
//! own in the sink that allocate nothing per reading.

use jiff::Timestamp;

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// An integer (`42i` on the wire).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
}

/// One point for the time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Measurement (`ticket`, `alert`, `patrol`).
    pub measurement: &'static str,
    /// Tags in order; values come from config and closed vocabularies only,
    /// so series cardinality stays bounded.
    pub tags: Vec<(&'static str, String)>,
    /// Fields in order.
    pub fields: Vec<(&'static str, Field)>,
    /// Time in nanoseconds since the epoch (see [`record_time`]).
    pub time_ns: i64,
}

impl Record {
    /// A record with no tags or fields yet.
    pub fn new(measurement: &'static str, time_ns: i64) -> Self {
        Self {
            measurement,
            tags: Vec::new(),
            fields: Vec::new(),
            time_ns,
        }
    }

    /// Adds a tag.
    pub fn tag(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.tags.push((key, value.into()));
        self
    }

    /// Adds a field.
    pub fn field(mut self, key: &'static str, value: Field) -> Self {
        self.fields.push((key, value));
        self
    }
}

/// The time of a record about item `id` changed at `at`: the microsecond of
/// the change, with the id's last three digits in the nanoseconds below it.
/// Two tickets (or alerts, or rounds) with the same tags changed in the same
/// microsecond, as conditions raised by one poll are, would otherwise be one
/// point to InfluxDB, the later overwriting the earlier; the id cannot be a
/// tag without unbounded series cardinality.
pub fn record_time(at: Timestamp, id: i64) -> i64 {
    at.as_microsecond()
        .saturating_mul(1000)
        .saturating_add(id.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_changed_in_the_same_microsecond_keep_distinct_times() {
        let at = Timestamp::from_nanosecond(1_700_000_000_123_456_789).unwrap();
        assert_eq!(record_time(at, 7), 1_700_000_000_123_456_007);
        assert_eq!(record_time(at, 1_042), 1_700_000_000_123_456_042);
        assert_ne!(record_time(at, 3), record_time(at, 4));
    }
}
