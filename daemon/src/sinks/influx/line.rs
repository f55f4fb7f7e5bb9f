//! InfluxDB line protocol, and which readings are worth a line.
//!
//! Every point's measurement-and-tags prefix is built once at start, so a
//! reading costs one buffer append of the prefix, the value and the time.
//! Tags come only from config (site, device, point, role, unit, zone), so
//! series cardinality is bounded by the site file, never by data.

use std::fmt::Write as _;
use std::time::Duration;

use crate::catalog::{Catalog, InfluxSettings};
use crate::readings::{DeviceState, Quality, Reading};
use crate::rules::ConditionEvent;

/// Escapes a tag key or value (commas, equals signs and spaces).
pub fn escape_tag(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, ',' | '=' | ' ' | '\\') {
            out.push('\\');
        }
        if c == '\n' {
            out.push_str("\\n");
        } else {
            out.push(c);
        }
    }
}

/// Escapes a string field value (double quotes and backslashes).
fn escape_field(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

fn tag(out: &mut String, key: &str, value: &str) {
    out.push(',');
    out.push_str(key);
    out.push('=');
    escape_tag(out, value);
}

/// Per-point prefixes: `reading,site=…,device=…,point=…[,role=…][,unit=…][,zone=…] `.
pub fn reading_prefixes(catalog: &Catalog) -> Vec<String> {
    catalog
        .points
        .iter()
        .map(|p| {
            let mut s = String::from("reading");
            tag(&mut s, "site", &catalog.site.id);
            tag(&mut s, "device", &catalog.device(p.device).name);
            tag(&mut s, "point", &p.name);
            for (key, value) in [("role", &p.role), ("unit", &p.unit), ("zone", &p.zone)] {
                if let Some(v) = value {
                    tag(&mut s, key, v);
                }
            }
            s.push(' ');
            s
        })
        .collect()
}

/// Appends one reading: `value=<float>` when good, `bad="<reason>"` when not.
pub fn push_reading(out: &mut String, prefix: &str, r: &Reading) {
    out.push_str(prefix);
    match (r.quality, r.value) {
        (Quality::Good, Some(v)) => {
            let _ = write!(out, "value={}", v.as_f64());
        }
        (Quality::Bad(reason), _) => {
            let _ = write!(out, "bad=\"{}\"", reason.label());
        }
        (Quality::Good, None) => {
            out.push_str("bad=\"missing\"");
        }
    }
    let _ = writeln!(out, " {}", r.at.as_nanosecond());
}

/// Appends a device's state change.
pub fn push_device_state(
    out: &mut String,
    catalog: &Catalog,
    device: crate::catalog::DeviceId,
    state: DeviceState,
    at: jiff::Timestamp,
) {
    out.push_str("device_state");
    tag(out, "site", &catalog.site.id);
    tag(out, "device", &catalog.device(device).name);
    let (online, name) = match state {
        DeviceState::Online => (1, "online"),
        DeviceState::Offline => (0, "offline"),
        DeviceState::Unknown => (0, "unknown"),
    };
    let _ = writeln!(
        out,
        " online={online}i,state=\"{name}\" {}",
        at.as_nanosecond()
    );
}

/// Appends a condition transition.
pub fn push_condition(out: &mut String, catalog: &Catalog, e: &ConditionEvent) {
    let rule = catalog.rule(e.rule);
    out.push_str("condition");
    tag(out, "site", &catalog.site.id);
    tag(out, "device", &catalog.device(e.device).name);
    tag(out, "point", &catalog.point(e.point).name);
    tag(out, "rule", &rule.id);
    tag(out, "severity", &format!("{:?}", e.severity).to_lowercase());
    tag(out, "transition", e.transition.as_str());
    let active = i32::from(matches!(
        e.state,
        crate::rules::ConditionState::Active | crate::rules::ConditionState::Clearing
    ));
    let _ = write!(out, " active={active}i,state=\"");
    escape_field(out, e.state.as_str());
    out.push('"');
    for (key, value) in [("value", e.value), ("threshold", e.threshold)] {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            let _ = write!(out, ",{key}={v}");
        }
    }
    let _ = writeln!(out, " {}", e.at.as_nanosecond());
}

/// Decides which readings are written: a change beyond the deadband at once,
/// an unchanged value again after the minimum interval, quality changes always.
#[derive(Debug)]
pub struct ReportFilter {
    deadband: Vec<f64>,
    min_interval_ns: Vec<i128>,
    last_value: Vec<f64>,
    last_ns: Vec<i128>,
    last_good: Vec<bool>,
}

impl ReportFilter {
    /// Settings per point, from the point or the sink's defaults.
    pub fn new(catalog: &Catalog, settings: &InfluxSettings) -> Self {
        let n = catalog.points.len();
        let ns = |d: Duration| d.as_nanos() as i128;
        Self {
            deadband: catalog
                .points
                .iter()
                .map(|p| p.report_deadband.unwrap_or(settings.report_deadband))
                .collect(),
            min_interval_ns: catalog
                .points
                .iter()
                .map(|p| {
                    ns(p.report_min_interval
                        .unwrap_or(settings.report_min_interval))
                })
                .collect(),
            last_value: vec![f64::NAN; n],
            last_ns: vec![i128::MIN / 2; n],
            last_good: vec![false; n],
        }
    }

    /// True when the reading should be written; records it if so.
    pub fn admit(&mut self, r: &Reading) -> bool {
        let i = r.point.0 as usize;
        let (Some(deadband), Some(min_ns)) = (self.deadband.get(i), self.min_interval_ns.get(i))
        else {
            return false;
        };
        let at = r.at.as_nanosecond();
        let good = r.quality == Quality::Good && r.value.is_some();
        let value = r.value.map_or(f64::NAN, |v| v.as_f64());
        let due = at - self.last_ns[i] >= *min_ns;
        let changed = if good && self.last_good[i] {
            let moved = (value - self.last_value[i]).abs();
            if *deadband > 0.0 {
                moved > *deadband
            } else {
                moved > 0.0
            }
        } else {
            good != self.last_good[i]
        };
        if !(due || changed) {
            return false;
        }
        self.last_ns[i] = at;
        self.last_good[i] = good;
        if good {
            self.last_value[i] = value;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{DeviceId, PointId};
    use crate::readings::{BadReason, Value};

    fn filter(deadband: f64, min_interval: Duration) -> ReportFilter {
        ReportFilter {
            deadband: vec![deadband],
            min_interval_ns: vec![min_interval.as_nanos() as i128],
            last_value: vec![f64::NAN],
            last_ns: vec![i128::MIN / 2],
            last_good: vec![false],
        }
    }

    fn reading(ms: i64, value: Option<f64>) -> Reading {
        Reading {
            point: PointId(0),
            device: DeviceId(0),
            value: value.map(Value::Number),
            quality: if value.is_some() {
                Quality::Good
            } else {
                Quality::Bad(BadReason::Timeout)
            },
            at: jiff::Timestamp::from_millisecond(ms).unwrap(),
        }
    }

    #[test]
    fn steady_values_are_written_once_per_interval_changes_at_once() {
        let mut f = filter(0.5, Duration::from_secs(60));
        let admitted: Vec<bool> = [
            (0, Some(20.0)),      // first: written
            (250, Some(20.0)),    // unchanged: not yet
            (500, Some(20.4)),    // inside the deadband: not yet
            (750, Some(20.6)),    // moved 0.6 from the last written: at once
            (1_000, None),        // quality changed: at once
            (1_250, None),        // still bad: not yet
            (1_500, Some(20.6)),  // good again: at once
            (61_499, Some(20.6)), // unchanged, 59.999 s later: not yet
            (61_500, Some(20.6)), // unchanged for the full minute: written again
        ]
        .iter()
        .map(|(ms, v)| f.admit(&reading(*ms, *v)))
        .collect();
        assert_eq!(
            admitted,
            [true, false, false, true, true, false, true, false, true]
        );
    }

    #[test]
    fn a_zero_interval_writes_every_reading() {
        let mut f = filter(0.0, Duration::ZERO);
        assert!((0..5).all(|i| f.admit(&reading(i, Some(1.0)))));
    }

    #[test]
    fn escapes_tags_and_fields() {
        let mut s = String::new();
        escape_tag(&mut s, "Roof plant, room=1");
        assert_eq!(s, "Roof\\ plant\\,\\ room\\=1");
        let mut f = String::new();
        escape_field(&mut f, "say \"hi\"\\");
        assert_eq!(f, "say \\\"hi\\\"\\\\");
    }
}
