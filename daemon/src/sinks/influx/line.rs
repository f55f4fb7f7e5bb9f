//! InfluxDB line protocol, and which readings are worth a line.
//!
//! Every point's measurement-and-tags prefix is built once at start, so a
//! reading costs one buffer append of the prefix, the value and the time.
//! Tags come only from config (site, device, point, role, unit, zone), so
//! series cardinality is bounded by the site file, never by data.

use crate::readings::{DeviceState, Quality, Reading};
use crate::rules::ConditionEvent;
use sitewarden_model::catalog::Catalog;
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

/// The line time of a record about item `id` changed at `at`: the
/// microsecond of the change, with the id's last three digits in the
/// nanoseconds below it. Two tickets (or alerts, or rounds) with the same
/// tags changed in the same microsecond, as conditions raised by one poll
/// are, would otherwise be one point to InfluxDB, the later overwriting the
/// earlier; the id cannot be a tag without unbounded series cardinality.
fn record_time(at: jiff::Timestamp, id: i64) -> i64 {
    at.as_microsecond()
        .saturating_mul(1000)
        .saturating_add(id.rem_euclid(1000))
}

/// Appends a ticket, alert or patrol record.
pub fn push_record(out: &mut String, catalog: &Catalog, record: &crate::sinks::Record) {
    match record {
        crate::sinks::Record::Ticket(change) => push_ticket(out, catalog, change),
        crate::sinks::Record::Alert(change) => push_alert(out, catalog, change),
        crate::sinks::Record::Patrol {
            route,
            round,
            completion,
            missed,
            at,
        } => {
            out.push_str("patrol");
            tag(out, "site", &catalog.site.id);
            tag(out, "route", route);
            let _ = writeln!(
                out,
                " completion={completion},missed={missed}i,round={round}i {}",
                record_time(*at, *round)
            );
        }
    }
}

/// `alert,site,class,severity,event[,device] id,open,active,drill,step[,ack_s]`.
fn push_alert(out: &mut String, catalog: &Catalog, c: &crate::alerts::AlertChange) {
    let a = &c.alert;
    out.push_str("alert");
    tag(out, "site", &catalog.site.id);
    tag(out, "class", a.class.as_str());
    tag(out, "severity", a.severity.as_str());
    tag(out, "event", &c.event);
    if let Some(device) = &a.device {
        tag(out, "device", device);
    }
    let _ = write!(
        out,
        " id={}i,open={}i,active={}i,drill={}i,step={}i",
        a.id,
        i32::from(a.status == "open"),
        i32::from(a.active),
        i32::from(a.drill),
        a.step
    );
    if let (Some(acked), "acknowledged") = (a.acknowledged_at, c.event.as_str()) {
        let seconds = (acked.as_microsecond() - a.raised_at.as_microsecond()) as f64 / 1e6;
        let _ = write!(out, ",ack_s={seconds}");
    }
    let _ = writeln!(out, " {}", record_time(c.at, a.id));
}

/// `ticket,site,priority,category,origin,event[,device] id,open,status,occurrences[,response_s][,resolution_s][,breach]`.
fn push_ticket(out: &mut String, catalog: &Catalog, c: &crate::tickets::TicketChange) {
    use crate::tickets::Change;
    let t = &c.ticket;
    out.push_str("ticket");
    tag(out, "site", &catalog.site.id);
    tag(out, "priority", t.priority.as_str());
    tag(out, "category", t.category.as_str());
    tag(out, "origin", t.origin.as_str());
    let event = c.action.map_or(c.change.as_str(), |a| a.as_str());
    tag(out, "event", event);
    if let Some(device) = &t.device {
        tag(out, "device", device);
    }
    let open = i32::from(t.status.is_open());
    let _ = write!(
        out,
        " id={}i,open={open}i,occurrences={}i,status=\"",
        t.id, t.occurrences
    );
    escape_field(out, t.status.as_str());
    out.push('"');
    for (key, value) in [
        ("response_s", t.response_seconds()),
        ("resolution_s", t.resolution_seconds()),
    ] {
        if let Some(v) = value {
            let _ = write!(out, ",{key}={v}");
        }
    }
    if matches!(
        c.change,
        Change::ResponseTargetMissed | Change::ResolutionTargetMissed
    ) {
        out.push_str(",breach=1i");
    }
    let _ = writeln!(out, " {}", record_time(c.at, t.id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_changed_in_the_same_microsecond_keep_distinct_times() {
        let at = jiff::Timestamp::from_nanosecond(1_700_000_000_123_456_789).unwrap();
        assert_eq!(record_time(at, 7), 1_700_000_000_123_456_007);
        assert_eq!(record_time(at, 1_042), 1_700_000_000_123_456_042);
        assert_ne!(record_time(at, 3), record_time(at, 4));
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
