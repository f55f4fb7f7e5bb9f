//! InfluxDB line protocol, and which readings are worth a line.
//!
//! Every point's measurement-and-tags prefix is built once at start, so a
//! reading costs one buffer append of the prefix, the value and the time.
//! Tags come only from config (site, device, point, role, unit, zone), so
//! series cardinality is bounded by the site file, never by data.

use crate::readings::{DeviceState, Quality, Reading};
use crate::rules::ConditionEvent;
use sitewarden_model::catalog::Catalog;
use sitewarden_model::record::{Field, Record};
use std::fmt::Write as _;

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
    device: sitewarden_model::catalog::DeviceId,
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
    tag(out, "severity", e.severity.as_str());
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

/// Appends a work stage's record: measurement, tags, fields, time.
pub fn push_record(out: &mut String, record: &Record) {
    out.push_str(record.measurement);
    for (key, value) in &record.tags {
        tag(out, key, value);
    }
    for (i, (key, value)) in record.fields.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        out.push_str(key);
        match value {
            Field::Int(v) => {
                let _ = write!(out, "={v}i");
            }
            Field::Float(v) => {
                let _ = write!(out, "={v}");
            }
            Field::Text(v) => {
                out.push_str("=\"");
                escape_field(out, v);
                out.push('"');
            }
        }
    }
    let _ = writeln!(out, " {}", record.time_ns);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_line_with_typed_fields() {
        let record = Record::new("ticket", 1_700_000_000_000_000_007)
            .tag("site", "show site")
            .tag("event", "created")
            .field("id", Field::Int(7))
            .field("status", Field::Text("new \"one\"".into()))
            .field("response_s", Field::Float(12.5));
        let mut out = String::new();
        push_record(&mut out, &record);
        assert_eq!(
            out,
            "ticket,site=show\\ site,event=created id=7i,status=\"new \\\"one\\\"\",response_s=12.5 1700000000000000007\n"
        );
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
