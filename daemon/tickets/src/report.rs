//! Monthly statistics for the quality review: how many requests of which
//! kind, how fast they were answered and fixed, which targets were missed,
//! and which faults keep coming back.
//!
//! A ticket belongs to the month (in the site's time zone) it was
//! registered in. Percentiles use the nearest-rank method: the 90th
//! percentile of n times is the ⌈0.9·n⌉-th smallest.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::{Ticket, seconds_between};
use sitewarden_model::catalog::Catalog;
use sitewarden_model::locale::{Arg, Messages};

/// Times of one kind (response or resolution).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeStats {
    /// Tickets that have the time.
    pub count: usize,
    /// Mean, seconds.
    pub mean_s: Option<f64>,
    /// 90th percentile, seconds.
    pub p90_s: Option<f64>,
}

/// Targets missed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breaches {
    /// Response targets missed.
    pub response: usize,
    /// Resolution targets missed.
    pub resolution: usize,
    /// Tickets with at least one miss.
    pub tickets: usize,
}

/// A place (a device, or where it was reported) whose people keep asking
/// for the same kind of repair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringRequest {
    /// Device id, or the location as written.
    pub place: String,
    /// Repair, warranty, inquiry.
    pub category: String,
    /// Requests in the month.
    pub requests: usize,
}

/// Return visits and what the requesters said at them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Satisfaction {
    /// Accepted repairs with a return visit scheduled.
    pub visits_scheduled: usize,
    /// Return visits made.
    pub visits_done: usize,
    /// Scores given (1–5).
    pub count: usize,
    /// Their mean, when any.
    pub mean: Option<f64>,
    /// Scores below 3.
    pub below_3: usize,
}

/// A fault that recurred.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringFault {
    /// Device id.
    pub device: String,
    /// Rule id.
    pub rule: String,
    /// Tickets it opened.
    pub tickets: usize,
    /// Times it was raised (first raise plus occurrences).
    pub occurrences: i64,
}

/// `GET /api/v1/reports/tickets?month=YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthReport {
    /// `YYYY-MM`.
    pub month: String,
    /// Zone the month is counted in.
    pub time_zone: String,
    /// First instant of the month.
    pub from: Timestamp,
    /// First instant of the next month.
    pub to: Timestamp,
    /// Tickets registered.
    pub total: usize,
    /// By repair / warranty / inquiry.
    pub by_category: BTreeMap<String, usize>,
    /// By P1 … P4.
    pub by_priority: BTreeMap<String, usize>,
    /// By condition / manual / preventive.
    pub by_origin: BTreeMap<String, usize>,
    /// By current state.
    pub by_status: BTreeMap<String, usize>,
    /// By how the request came (phone, e-mail, desk, WeCom, condition).
    pub by_channel: BTreeMap<String, usize>,
    /// Times repairs went back for rework after a failed acceptance.
    pub reworks: i64,
    /// Tickets cancelled (duplicates, withdrawn requests).
    pub cancelled: usize,
    /// Return visits and satisfaction.
    pub satisfaction: Satisfaction,
    /// People's requests of one kind about one place, twice or more in the
    /// month, most first, at most ten.
    pub recurring_requests: Vec<RecurringRequest>,
    /// How repairs were accepted: by the requester's link, by staff, by default.
    pub accepted_via: BTreeMap<String, usize>,
    /// Resolution to acceptance: how long repairs waited for the requester.
    pub acceptance_wait: TimeStats,
    /// Registration to first start.
    pub response: TimeStats,
    /// Registration to resolution.
    pub resolution: TimeStats,
    /// Targets missed.
    pub breaches: Breaches,
    /// Most recurring faults, most occurrences first, at most ten.
    pub top_recurring: Vec<RecurringFault>,
}

/// The report as a person reads it, in the site's language: the counts
/// with their labels, the times in minutes, the targets missed and the
/// faults that keep coming back (devices and rules by their names).
pub fn month_report_text(report: &MonthReport, catalog: &Catalog) -> String {
    let m = &catalog.site.messages;
    let mut lines = vec![
        m.text(
            "report-title",
            &[
                ("month", Arg::Text(&report.month)),
                ("site", Arg::Text(&catalog.site.name)),
            ],
        ),
        m.text(
            "report-period",
            &[
                ("from", Arg::Time(report.from)),
                ("to", Arg::Time(report.to)),
            ],
        ),
        m.text(
            "report-total",
            &[("count", Arg::Number(report.total as i64))],
        ),
    ];
    for (label, prefix, counts) in [
        ("report-by-category", "category", &report.by_category),
        ("report-by-priority", "priority", &report.by_priority),
        ("report-by-origin", "origin", &report.by_origin),
        ("report-by-status", "status", &report.by_status),
        ("report-by-channel", "channel", &report.by_channel),
    ] {
        let list = counted(m, prefix, counts);
        lines.push(m.text(label, &[("list", Arg::Text(&list))]));
    }
    lines.push(m.text(
        "report-reworks",
        &[
            ("reworks", Arg::Number(report.reworks)),
            ("cancelled", Arg::Number(report.cancelled as i64)),
        ],
    ));
    let s = &report.satisfaction;
    lines.push(m.text(
        "report-satisfaction",
        &[
            ("scheduled", Arg::Number(s.visits_scheduled as i64)),
            ("done", Arg::Number(s.visits_done as i64)),
            ("count", Arg::Number(s.count as i64)),
            ("mean", Arg::Decimal(s.mean.unwrap_or_default())),
            ("low", Arg::Number(s.below_3 as i64)),
        ],
    ));
    let list = counted(m, "accepted-via", &report.accepted_via);
    lines.push(m.text("report-accepted-via", &[("list", Arg::Text(&list))]));
    lines.push(times(m, "report-acceptance-wait", &report.acceptance_wait));
    lines.push(times(m, "report-response", &report.response));
    lines.push(times(m, "report-resolution", &report.resolution));
    let b = &report.breaches;
    lines.push(m.text(
        "report-breaches",
        &[
            ("response", Arg::Number(b.response as i64)),
            ("resolution", Arg::Number(b.resolution as i64)),
            ("tickets", Arg::Number(b.tickets as i64)),
        ],
    ));
    lines.push(m.text("report-recurring-heading", &[]));
    if report.top_recurring.is_empty() {
        lines.push(m.text("report-none", &[]));
    }
    for fault in &report.top_recurring {
        let device = catalog
            .devices
            .iter()
            .find(|d| d.name == fault.device)
            .map_or(fault.device.as_str(), |d| d.display_name.as_str());
        let rule = catalog
            .rules
            .iter()
            .find(|r| r.id == fault.rule)
            .map_or(fault.rule.as_str(), |r| r.description.as_str());
        lines.push(m.text(
            "report-recurring",
            &[
                ("device", Arg::Text(device)),
                ("rule", Arg::Text(rule)),
                ("occurrences", Arg::Number(fault.occurrences)),
                ("tickets", Arg::Number(fault.tickets as i64)),
            ],
        ));
    }
    lines.push(m.text("report-requests-heading", &[]));
    if report.recurring_requests.is_empty() {
        lines.push(m.text("report-none", &[]));
    }
    for r in &report.recurring_requests {
        let place = catalog
            .devices
            .iter()
            .find(|d| d.name == r.place)
            .map_or(r.place.as_str(), |d| d.display_name.as_str());
        let category = m.text(&format!("category-{}", r.category), &[]);
        lines.push(m.text(
            "report-request",
            &[
                ("place", Arg::Text(place)),
                ("category", Arg::Text(&category)),
                ("requests", Arg::Number(r.requests as i64)),
            ],
        ));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// `repair 3, inquiry 1`: each name through its message (`category-repair`).
fn counted(m: &Messages, prefix: &str, counts: &BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return m.text("report-none", &[]);
    }
    let items: Vec<String> = counts
        .iter()
        .map(|(name, n)| {
            let label = m.text(&format!("{prefix}-{name}"), &[]);
            m.text(
                "report-count",
                &[
                    ("label", Arg::Text(&label)),
                    ("count", Arg::Number(*n as i64)),
                ],
            )
        })
        .collect();
    m.list(&items)
}

/// One line of response or resolution times, in minutes.
fn times(m: &Messages, id: &str, t: &TimeStats) -> String {
    let minutes = |s: Option<f64>| Arg::Decimal(s.unwrap_or_default() / 60.0);
    m.text(
        id,
        &[
            ("count", Arg::Number(t.count as i64)),
            ("mean", minutes(t.mean_s)),
            ("p90", minutes(t.p90_s)),
        ],
    )
}

/// People's requests grouped by place (device, else location, ignoring
/// case and surrounding spaces) and category; those made twice or more.
fn recurring_requests(tickets: &[Ticket]) -> Vec<RecurringRequest> {
    let mut groups: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for t in tickets.iter().filter(|t| t.origin == crate::Origin::Manual) {
        let Some(place) = t.device.as_deref().or(t.location.as_deref()) else {
            continue;
        };
        let key = (place.trim().to_lowercase(), serde_name(&t.category));
        groups
            .entry(key)
            .or_insert_with(|| (place.trim().to_owned(), 0))
            .1 += 1;
    }
    let mut out: Vec<RecurringRequest> = groups
        .into_iter()
        .filter(|(_, (_, n))| *n > 1)
        .map(|((_, category), (place, requests))| RecurringRequest {
            place,
            category,
            requests,
        })
        .collect();
    out.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.place.cmp(&b.place))
    });
    out.truncate(10);
    out
}

/// Return visits scheduled and made, and the scores given at them.
fn satisfaction(tickets: &[Ticket]) -> Satisfaction {
    let scores: Vec<i64> = tickets.iter().filter_map(|t| t.satisfaction).collect();
    Satisfaction {
        visits_scheduled: tickets.iter().filter(|t| t.visit_due.is_some()).count(),
        visits_done: tickets.iter().filter(|t| t.visited_at.is_some()).count(),
        count: scores.len(),
        mean: (!scores.is_empty()).then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64),
        below_3: scores.iter().filter(|s| **s < 3).count(),
    }
}

/// The instants a `YYYY-MM` month starts and ends at in `tz`.
pub fn month_bounds(month: &str, tz: &TimeZone) -> Result<(Timestamp, Timestamp), String> {
    // for engineers: an API error for a bad `month` parameter.
    let wrong = || format!("month `{month}` is not YYYY-MM");
    let (y, m) = month.split_once('-').ok_or_else(wrong)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(wrong());
    }
    let first = Date::new(
        y.parse().map_err(|_| wrong())?,
        m.parse().map_err(|_| wrong())?,
        1,
    )
    .map_err(|_| wrong())?;
    let next = first.last_of_month().tomorrow().map_err(|_| wrong())?;
    let start = |d: Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string())
    };
    Ok((start(first)?, start(next)?))
}

/// Statistics of the tickets registered in the month.
pub fn month_report(
    month: &str,
    tz: &TimeZone,
    (from, to): (Timestamp, Timestamp),
    tickets: &[Ticket],
) -> MonthReport {
    let mut by_category = BTreeMap::new();
    let mut by_priority = BTreeMap::new();
    let mut by_origin = BTreeMap::new();
    let mut by_status = BTreeMap::new();
    let mut by_channel = BTreeMap::new();
    let mut accepted_via = BTreeMap::new();
    let mut faults: BTreeMap<(&str, &str), (usize, i64)> = BTreeMap::new();
    for t in tickets {
        if let Some(via) = t.accepted_via {
            *accepted_via.entry(via.as_str().to_owned()).or_default() += 1;
        }
        *by_category.entry(serde_name(&t.category)).or_default() += 1;
        *by_priority
            .entry(t.priority.as_str().to_owned())
            .or_default() += 1;
        *by_origin.entry(t.origin.as_str().to_owned()).or_default() += 1;
        *by_status.entry(t.status.as_str().to_owned()).or_default() += 1;
        if let Some(channel) = t.channel {
            *by_channel.entry(channel.as_str().to_owned()).or_default() += 1;
        }
        if let (Some(device), Some(rule)) = (&t.device, &t.rule) {
            let entry = faults.entry((device, rule)).or_default();
            entry.0 += 1;
            entry.1 += t.occurrences;
        }
    }
    let mut top_recurring: Vec<RecurringFault> = faults
        .into_iter()
        .filter(|(_, (tickets, occurrences))| *tickets > 1 || *occurrences > 1)
        .map(|((device, rule), (tickets, occurrences))| RecurringFault {
            device: device.to_owned(),
            rule: rule.to_owned(),
            tickets,
            occurrences,
        })
        .collect();
    top_recurring.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then(b.tickets.cmp(&a.tickets))
            .then_with(|| (&a.device, &a.rule).cmp(&(&b.device, &b.rule)))
    });
    top_recurring.truncate(10);
    let response = stats(
        tickets
            .iter()
            .filter_map(Ticket::response_seconds)
            .collect(),
    );
    let resolution = stats(
        tickets
            .iter()
            .filter_map(Ticket::resolution_seconds)
            .collect(),
    );
    let acceptance_wait = stats(
        tickets
            .iter()
            .filter_map(|t| Some(seconds_between(t.resolved_at?, t.accepted_at?)))
            .collect(),
    );
    MonthReport {
        month: month.to_owned(),
        time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        from,
        to,
        total: tickets.len(),
        by_category,
        by_priority,
        by_origin,
        by_status,
        by_channel,
        reworks: tickets.iter().map(|t| t.reworks).sum(),
        cancelled: tickets
            .iter()
            .filter(|t| t.status == crate::Status::Cancelled)
            .count(),
        satisfaction: satisfaction(tickets),
        accepted_via,
        acceptance_wait,
        recurring_requests: recurring_requests(tickets),
        response,
        resolution,
        breaches: Breaches {
            response: tickets.iter().filter(|t| t.response_breached).count(),
            resolution: tickets.iter().filter(|t| t.resolution_breached).count(),
            tickets: tickets
                .iter()
                .filter(|t| t.response_breached || t.resolution_breached)
                .count(),
        },
        top_recurring,
    }
}

fn stats(mut seconds: Vec<f64>) -> TimeStats {
    if seconds.is_empty() {
        return TimeStats {
            count: 0,
            mean_s: None,
            p90_s: None,
        };
    }
    seconds.sort_by(f64::total_cmp);
    let n = seconds.len();
    let rank = (0.9 * n as f64).ceil() as usize;
    TimeStats {
        count: n,
        mean_s: Some(seconds.iter().sum::<f64>() / n as f64),
        p90_s: seconds.get(rank.saturating_sub(1)).copied(),
    }
}

fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile_of_ten_values_is_the_ninth() {
        let s = stats((1..=10).map(f64::from).collect());
        assert_eq!(s.count, 10);
        assert_eq!(s.mean_s, Some(5.5));
        assert_eq!(s.p90_s, Some(9.0));
        assert_eq!(stats(vec![7.0]).p90_s, Some(7.0));
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let (from, to) = month_bounds("2027-02", &tz).unwrap();
        assert_eq!(from, "2027-01-31T16:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(to, "2027-02-28T16:00:00Z".parse::<Timestamp>().unwrap());
        assert!(month_bounds("2027-13", &tz).is_err());
        assert!(month_bounds("27-01", &tz).is_err());
    }
}
