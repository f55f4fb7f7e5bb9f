//! `[tickets]` in the site file: how the repair process is run here.
//!
//! Priority comes from a condition's severity and the device's scope of
//! impact through a matrix; service levels set response and resolution
//! targets per priority; preventive schedules open tickets on a calendar;
//! a webhook forwards every ticket change to an external CMMS.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::load::FileId;
use super::validate::{Pos, Validator, at, check_identifier};
use super::{ConfigDuration, SecretSource, Spanned};
use sitewarden_model::catalog::{
    CalendarRule, Device, DeviceId, Point, PreventiveSchedule, ServiceLevel, TicketRoles,
    TicketSettings, WebhookTarget,
};
use sitewarden_model::locale::{Locale, Messages, schedule_message_id};
use sitewarden_model::vocab::Priority;
use sitewarden_model::vocab::Severity;

/// `[tickets]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketsSection {
    /// Severity × impact → priority; rows left out keep their defaults.
    #[serde(default)]
    pub priority_matrix: PriorityMatrixSection,
    /// Response and resolution targets per priority; left out keep defaults.
    #[serde(default)]
    pub service_levels: HashMap<Priority, ServiceLevelSection>,
    /// An external CMMS that receives every ticket change as JSON.
    #[serde(default)]
    pub webhook: Option<WebhookSection>,
    /// Calendar maintenance (fire drills, daily lift inspections).
    #[serde(default)]
    pub preventive: Vec<PreventiveSection>,
    /// Who may register, dispatch and accept; left out keep the plan's defaults.
    #[serde(default)]
    pub roles: TicketRolesSection,
    /// How long after an accepted repair its return visit falls due (7 days).
    #[serde(default)]
    pub return_visit_after: Option<Spanned<ConfigDuration>>,
    /// `[alerts.channels]` (not MQTT) that tell a technician a repair was
    /// dispatched to them.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// `[alerts.channels]` that tell requesters about their request: an
    /// e-mail channel for contacts that are addresses, a webhook (an SMS
    /// gateway) for the others.
    #[serde(default)]
    pub tell_requesters: Vec<Spanned<String>>,
    /// How long a repair may wait for the requester's acceptance before
    /// the front desk is reminded (24h); `"0s"` never reminds.
    #[serde(default)]
    pub remind_acceptance_after: Option<Spanned<ConfigDuration>>,
    /// How long after which a repair nobody answered for is accepted by
    /// default, recorded as such; never when left out.
    #[serde(default)]
    pub accept_by_default_after: Option<Spanned<ConfigDuration>>,
    /// How long the requester's acceptance link works (7d, at most 90d).
    #[serde(default)]
    pub acceptance_link_valid_for: Option<Spanned<ConfigDuration>>,
    /// The extinguisher and hose-reel register (a file relative to the
    /// site file): monthly inspections, services and replacements become
    /// tickets (GB 50444-2008 chapter 5).
    #[serde(default)]
    pub extinguishers: Option<Spanned<String>>,
}

/// `[tickets.roles]`: lists of `front-desk`, `technician`, `engineer`
/// (admins may always).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketRolesSection {
    /// Who registers requests (front desk, technician, engineer).
    #[serde(default)]
    pub register: Option<Vec<sitewarden_model::vocab::ApiRole>>,
    /// Who dispatches to a technician (front desk, engineer).
    #[serde(default)]
    pub dispatch: Option<Vec<sitewarden_model::vocab::ApiRole>>,
    /// Who records the requester's acceptance or rejection (front desk, engineer).
    #[serde(default)]
    pub accept: Option<Vec<sitewarden_model::vocab::ApiRole>>,
}

/// One priority per scope of impact.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct MatrixRow {
    pub site: Priority,
    pub area: Priority,
    pub local: Priority,
}

/// `[tickets.priority_matrix]`: one row per severity.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PriorityMatrixSection {
    pub critical: Option<MatrixRow>,
    pub major: Option<MatrixRow>,
    pub minor: Option<MatrixRow>,
    pub info: Option<MatrixRow>,
}

/// `[tickets.service_levels.pN]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelSection {
    /// From registration to a technician starting work.
    pub response: Spanned<ConfigDuration>,
    /// From registration to the repair being resolved.
    pub resolution: Spanned<ConfigDuration>,
}

/// `[tickets.webhook]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// `http://` or `https://` URL that accepts a JSON POST.
    pub url: Spanned<String>,
    /// Bearer token sent as `Authorization`, if the CMMS wants one.
    #[serde(default)]
    pub token: Option<Spanned<SecretSource>>,
    /// Longest wait for an answer before the attempt counts as failed.
    #[serde(default = "default_webhook_timeout")]
    pub timeout: ConfigDuration,
}

fn default_webhook_timeout() -> ConfigDuration {
    ConfigDuration::from_millis(5_000)
}

/// `[[tickets.preventive]]`: a ticket opened on a calendar.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreventiveSection {
    /// Stable id; the schedule's progress is stored under it.
    pub id: Spanned<String>,
    /// Ticket title.
    pub title: String,
    /// Device the work is on, if any.
    #[serde(default)]
    pub device: Option<Spanned<String>>,
    /// Instead of `device`: one schedule for every device with a point of
    /// this role (each lift gets its own half-monthly maintenance).
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// `day`, `week`, `half-month`, `month`, `quarter` or `year`; with
    /// `interval`, every so many days, weeks or months.
    pub every: Spanned<String>,
    /// Day of the month for `month`, `quarter` and `year` (1–31; a short
    /// month uses its last day), the first of the two days for
    /// `half-month` (1–15; the second is fifteen days later).
    #[serde(default)]
    pub day: Option<Spanned<u8>>,
    /// Month: for `year` 1–12; for `quarter` the first month of the
    /// quarter it falls in, 1–3 (1 by default: January, April, July, October).
    #[serde(default)]
    pub month: Option<Spanned<u8>>,
    /// Weekday for `week` (`monday` … `sunday`).
    #[serde(default)]
    pub weekday: Option<Spanned<String>>,
    /// Several weekdays for `week` (instead of `weekday`).
    #[serde(default)]
    pub weekdays: Option<Spanned<Vec<String>>>,
    /// Several days of the month for `month` (instead of `day`; a short
    /// month uses its last day).
    #[serde(default)]
    pub days: Option<Spanned<Vec<u8>>>,
    /// Every how many days, weeks or months (1); counted from `start`.
    #[serde(default)]
    pub interval: Option<Spanned<u16>>,
    /// The first day (`YYYY-MM-DD`) an `interval` above 1 counts from.
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    /// What the technician checks and records on each ticket, in order;
    /// a failed item opens a repair ticket.
    #[serde(default)]
    pub checklist: Vec<String>,
    /// Local time of day, `HH:MM`, in the site's time zone.
    #[serde(default = "default_at")]
    pub at: Spanned<String>,
    /// Priority of the tickets it opens.
    #[serde(default = "default_preventive_priority")]
    pub priority: Priority,
}

fn default_at() -> Spanned<String> {
    Spanned::new(0..0, "09:00".to_owned())
}

fn default_preventive_priority() -> Priority {
    Priority::P3
}

/// The matrix the standard's wording suggests: a site-wide critical fault is P1,
/// a local informational one P4.
const DEFAULT_MATRIX: [(Severity, [Priority; 3]); 4] = [
    (
        Severity::Critical,
        [Priority::P1, Priority::P1, Priority::P2],
    ),
    (Severity::Major, [Priority::P1, Priority::P2, Priority::P3]),
    (Severity::Minor, [Priority::P2, Priority::P3, Priority::P4]),
    (Severity::Info, [Priority::P3, Priority::P4, Priority::P4]),
];

/// Default targets per priority: (response, resolution).
const DEFAULT_LEVELS: [(Priority, u64, u64); 4] = [
    (Priority::P1, 15 * 60, 4 * 3600),
    (Priority::P2, 3600, 24 * 3600),
    (Priority::P3, 4 * 3600, 72 * 3600),
    (Priority::P4, 24 * 3600, 7 * 24 * 3600),
];

const MAX_TARGET: Duration = Duration::from_secs(90 * 24 * 3600);

pub(super) fn check_tickets(
    v: &mut Validator<'_>,
    s: &TicketsSection,
    packs: &[(FileId, super::RulePackFile)],
    (devices, points): (&[Option<Device>], &[Point]),
    messages: Option<&Messages>,
    extinguishers: Option<&(FileId, super::extinguishers::ExtinguisherFile)>,
    base_dir: &std::path::Path,
) -> Option<TicketSettings> {
    let errors_before = v.error_count();
    let matrix = build_matrix(&s.priority_matrix);
    let service_levels = build_levels(v, &s.service_levels);
    let webhook = s
        .webhook
        .as_ref()
        .and_then(|w| check_webhook(v, w, base_dir));
    let mut preventive = Vec::new();
    let mut seen: HashMap<(Option<&str>, &str), ()> = HashMap::new();
    let site_schedules = s.preventive.iter().map(|p| (0, None, p));
    let pack_schedules = packs.iter().flat_map(|(file, pack)| {
        pack.schedule
            .iter()
            .map(move |p| (*file, Some(pack.pack.get_ref().as_str()), p))
    });
    for (file, pack, p) in site_schedules.chain(pack_schedules) {
        let pos = at(file, &p.id);
        check_identifier(v, &pos, "preventive schedule id", p.id.get_ref());
        if seen.insert((pack, p.id.get_ref()), ()).is_some() {
            v.error(
                &pos,
                format!("preventive schedule `{}` is defined twice", p.id.get_ref()),
            );
        }
        for (device, suffix) in schedule_devices(v, file, p, devices, points) {
            let Some(mut schedule) = check_preventive(v, file, p, device) else {
                continue;
            };
            if let (Some(pack), Some(messages)) = (pack, messages) {
                word_schedule(v, &pos, messages, pack, &mut schedule);
            }
            // A pack's schedule is named after its pack, and after each
            // device when it is one per device: its progress is stored under it.
            schedule.id = match (pack, suffix) {
                (Some(pack), Some(device)) => format!("{pack}.{}.{device}", schedule.id),
                (Some(pack), None) => format!("{pack}.{}", schedule.id),
                (None, _) => schedule.id,
            };
            preventive.push(schedule);
        }
    }
    let return_visit_after = s
        .return_visit_after
        .as_ref()
        .map_or(Duration::from_secs(7 * 86_400), |d| d.get_ref().0);
    if let Some(d) = &s.return_visit_after
        && d.get_ref().0 > Duration::from_secs(365 * 86_400)
    {
        v.error(&at(0, d), "return_visit_after must be at most 365d");
    }
    let day = Duration::from_secs(86_400);
    let remind_acceptance_after =
        bounded(v, &s.remind_acceptance_after, day, 365 * day).filter(|d| !d.is_zero());
    let accept_by_default_after = bounded(v, &s.accept_by_default_after, Duration::ZERO, 365 * day);
    if accept_by_default_after.is_some_and(|d| d < Duration::from_secs(60)) {
        if let Some(d) = &s.accept_by_default_after {
            v.error(&at(0, d), "accept_by_default_after must be at least 1m (leave it out never to accept by default)");
        }
    }
    let acceptance_link_valid_for =
        bounded(v, &s.acceptance_link_valid_for, 7 * day, 90 * day).unwrap_or(7 * day);
    let defaults = TicketRoles::default();
    let roles = TicketRoles {
        register: s.roles.register.clone().unwrap_or(defaults.register),
        dispatch: s.roles.dispatch.clone().unwrap_or(defaults.dispatch),
        accept: s.roles.accept.clone().unwrap_or(defaults.accept),
    };
    let extinguishers = extinguishers
        .map(|(file, register)| super::extinguishers::check_extinguishers(v, *file, register))
        .unwrap_or_default();
    (v.error_count() == errors_before).then_some(TicketSettings {
        matrix,
        service_levels,
        webhook,
        preventive,
        roles,
        return_visit_after,
        notify: s.notify.iter().map(|n| n.get_ref().clone()).collect(),
        tell_requesters: s
            .tell_requesters
            .iter()
            .map(|n| n.get_ref().clone())
            .collect(),
        remind_acceptance_after,
        accept_by_default_after,
        acceptance_link_valid_for,
        extinguishers,
    })
}

/// A duration setting: `default` when left out, an error past `max`.
fn bounded(
    v: &mut Validator<'_>,
    value: &Option<Spanned<ConfigDuration>>,
    default: Duration,
    max: Duration,
) -> Option<Duration> {
    let Some(d) = value else {
        return Some(default).filter(|d| !d.is_zero());
    };
    let duration = d.get_ref().0;
    if duration > max {
        v.error(
            &at(0, d),
            format!("must be at most {}d", max.as_secs() / 86_400),
        );
    }
    Some(duration)
}

fn build_matrix(s: &PriorityMatrixSection) -> [[Priority; 3]; 4] {
    let mut matrix = [[Priority::P4; 3]; 4];
    for (severity, row) in DEFAULT_MATRIX {
        let configured = match severity {
            Severity::Critical => s.critical,
            Severity::Major => s.major,
            Severity::Minor => s.minor,
            Severity::Info => s.info,
        };
        matrix[severity as usize] = configured.map_or(row, |r| [r.site, r.area, r.local]);
    }
    matrix
}

fn build_levels(
    v: &mut Validator<'_>,
    configured: &HashMap<Priority, ServiceLevelSection>,
) -> [ServiceLevel; 4] {
    DEFAULT_LEVELS.map(|(priority, response, resolution)| {
        let Some(level) = configured.get(&priority) else {
            return ServiceLevel {
                response: Duration::from_secs(response),
                resolution: Duration::from_secs(resolution),
            };
        };
        let response = level.response.get_ref().0;
        let resolution = level.resolution.get_ref().0;
        for (value, span) in [(response, &level.response), (resolution, &level.resolution)] {
            if value.is_zero() || value > MAX_TARGET {
                v.error(
                    &at(0, span),
                    "a service-level target must be between 1s and 90d",
                );
            }
        }
        if resolution < response {
            v.error(
                &at(0, &level.resolution),
                format!(
                    "resolution target {} is shorter than the response target {}",
                    level.resolution.get_ref(),
                    level.response.get_ref()
                ),
            );
        }
        ServiceLevel {
            response,
            resolution,
        }
    })
}

fn check_webhook(
    v: &mut Validator<'_>,
    s: &WebhookSection,
    base_dir: &std::path::Path,
) -> Option<WebhookTarget> {
    let pos = at(0, &s.url);
    let url = check_http_url(v, &pos, s.url.get_ref())?;
    let token = s.token.as_ref().and_then(|t| {
        t.get_ref()
            .resolve(base_dir)
            .map_err(|e| v.error(&at(0, t), e))
            .ok()
    });
    let timeout = s.timeout.0;
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(60) {
        v.error(&pos, "webhook timeout must be between 100ms and 60s");
    }
    Some(WebhookTarget {
        url,
        token,
        timeout,
    })
}

/// An `http(s)://` URL, or an error at `pos`.
pub(super) fn check_http_url(v: &mut Validator<'_>, pos: &Pos, text: &str) -> Option<String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Some(text.to_owned())
        }
        Ok(_) => {
            v.error(pos, format!("`{text}` is not an http:// or https:// URL"));
            None
        }
        Err(e) => {
            v.error(pos, format!("`{text}` is not a URL: {e}"));
            None
        }
    }
}

/// A pack schedule's title and checklist in the site's language, from the
/// messages `schedule-<pack>-<id>` and `…-item-<n>`; a site in another
/// language than English without them is an error at the schedule.
fn word_schedule(
    v: &mut Validator<'_>,
    pos: &Pos,
    messages: &Messages,
    pack: &str,
    schedule: &mut PreventiveSchedule,
) {
    // The id is still the pack's own here (named after the pack below).
    let ids = std::iter::once(schedule_message_id(pack, &schedule.id, None)).chain(
        (1..=schedule.checklist.len()).map(|n| schedule_message_id(pack, &schedule.id, Some(n))),
    );
    let mut missing = Vec::new();
    let texts = std::iter::once(&mut schedule.title).chain(schedule.checklist.iter_mut());
    for (id, text) in ids.zip(texts) {
        if messages.has(&id) {
            *text = messages.text(&id, &[]);
        } else if messages.locale() != Locale::En {
            missing.push(id);
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|id| format!("`{id} = …`")).collect();
        v.error(
            pos,
            format!(
                "schedule `{pack}.{}` has no {} wording: add {} to the site's messages file",
                schedule.id,
                messages.locale().tag(),
                list.join(", ")
            ),
        );
    }
}

/// The devices a schedule opens tickets for: the one it names, every
/// device with a point of its `role` (one schedule each, with the device id
/// to name it by), or none for site-wide work.
fn schedule_devices(
    v: &mut Validator<'_>,
    file: FileId,
    p: &PreventiveSection,
    devices: &[Option<Device>],
    points: &[Point],
) -> Vec<(Option<DeviceId>, Option<String>)> {
    match (&p.device, &p.role) {
        (Some(_), Some(role)) => {
            v.error(&at(file, role), "give `device` or `role`, not both");
            Vec::new()
        }
        (Some(name), None) => {
            let found = devices
                .iter()
                .flatten()
                .find(|d| &d.name == name.get_ref())
                .map(|d| d.id);
            if found.is_none() {
                // Reported; the rest of the schedule is still checked.
                v.error(&at(file, name), format!("no device `{}`", name.get_ref()));
            }
            vec![(found, None)]
        }
        (None, Some(role)) => {
            if !super::is_known_role(role.get_ref()) {
                v.error(
                    &at(file, role),
                    format!("unknown role `{}`; see `sitewarden roles`", role.get_ref()),
                );
                return Vec::new();
            }
            devices
                .iter()
                .flatten()
                .filter(|d| {
                    points[d.points.start as usize..d.points.end as usize]
                        .iter()
                        .any(|pt| pt.role.as_deref() == Some(role.get_ref().as_str()))
                })
                .map(|d| (Some(d.id), Some(d.name.clone())))
                .collect()
        }
        (None, None) => vec![(None, None)],
    }
}

fn check_preventive(
    v: &mut Validator<'_>,
    file: FileId,
    p: &PreventiveSection,
    device: Option<DeviceId>,
) -> Option<PreventiveSchedule> {
    let at_time = parse_hh_mm(p.at.get_ref()).or_else(|| {
        v.error(
            &at(file, &p.at),
            format!("`{}` is not a time of day (HH:MM)", p.at.get_ref()),
        );
        None
    });
    let every_pos = at(file, &p.every);
    let every = p.every.get_ref().as_str();
    let repeat = check_repeat(v, file, p, every, &every_pos);
    let rule = match every {
        "day" => match repeat {
            Repeat::Every(n, start) => Some(CalendarRule::EveryDays { n, start }),
            Repeat::Once => Some(CalendarRule::Daily),
            Repeat::Invalid => None,
        },
        "week" => {
            let weekdays = check_weekdays(v, file, p, &every_pos);
            match (weekdays, repeat) {
                (Some(days), Repeat::Once) if days.count_ones() == 1 => {
                    Some(CalendarRule::Weekly(weekday_of_bit(days)))
                }
                (Some(days), Repeat::Once) => Some(CalendarRule::Weekdays {
                    days,
                    n: 1,
                    start: None,
                }),
                (Some(days), Repeat::Every(n, start)) => Some(CalendarRule::Weekdays {
                    days,
                    n,
                    start: Some(start),
                }),
                _ => None,
            }
        }
        "month" => {
            let days = check_month_days(v, file, p, &every_pos);
            match (days, repeat) {
                (Some(days), Repeat::Once) if days.count_ones() == 1 => {
                    Some(CalendarRule::Monthly(days.trailing_zeros() as u8))
                }
                (Some(days), Repeat::Once) => Some(CalendarRule::MonthDays {
                    days,
                    n: 1,
                    start: None,
                }),
                (Some(days), Repeat::Every(n, start)) => Some(CalendarRule::MonthDays {
                    days,
                    n,
                    start: Some(start),
                }),
                _ => None,
            }
        }
        "half-month" => day_in(v, file, &p.day, 15, &every_pos).map(CalendarRule::HalfMonthly),
        "quarter" => {
            let first_month = month_in(v, file, &p.month, 3, &every_pos, 1);
            let day = day_in(v, file, &p.day, 31, &every_pos);
            first_month
                .zip(day)
                .map(|(first_month, day)| CalendarRule::Quarterly { first_month, day })
        }
        "year" => {
            let month = month_in(v, file, &p.month, 12, &every_pos, 0);
            let day = day_in(v, file, &p.day, 31, &every_pos);
            month
                .zip(day)
                .map(|(month, day)| CalendarRule::Yearly { month, day })
        }
        other => {
            v.error(
                &every_pos,
                format!(
                    "`{other}` is not a schedule; use `day`, `week`, `half-month`, `month`, `quarter` or `year`"
                ),
            );
            None
        }
    };
    if p.checklist.iter().any(|item| item.trim().is_empty()) {
        v.error(&at(file, &p.id), "a checklist item is empty");
    }
    Some(PreventiveSchedule {
        id: p.id.get_ref().clone(),
        title: p.title.clone(),
        device,
        rule: rule?,
        at: at_time?,
        priority: p.priority,
        checklist: p.checklist.iter().map(|i| i.trim().to_owned()).collect(),
    })
}

/// How often a day, week or month schedule repeats.
enum Repeat {
    /// Every one (no `interval`, or 1).
    Once,
    /// Every `n` (2 or more), counted from a start day.
    Every(u16, jiff::civil::Date),
    /// Refused; the error is reported.
    Invalid,
}

/// Longest `interval` per period: a schedule falls due at least once a year.
fn max_interval(every: &str) -> u16 {
    match every {
        "day" => 366,
        "week" => 52,
        "month" => 12,
        _ => 1,
    }
}

fn check_repeat(
    v: &mut Validator<'_>,
    file: FileId,
    p: &PreventiveSection,
    every: &str,
    every_pos: &Pos,
) -> Repeat {
    let n = match &p.interval {
        None => 1,
        Some(n) => {
            let max = max_interval(every);
            if max == 1 {
                v.error(
                    &at(file, n),
                    "`interval` repeats `day`, `week` or `month` schedules only",
                );
                return Repeat::Invalid;
            }
            if !(1..=max).contains(n.get_ref()) {
                v.error(
                    &at(file, n),
                    format!("interval must be between 1 and {max}"),
                );
                return Repeat::Invalid;
            }
            *n.get_ref()
        }
    };
    let start = p.start.as_ref().map(|s| {
        s.get_ref().parse::<jiff::civil::Date>().map_err(|_| {
            v.error(
                &at(file, s),
                format!("`{}` is not a date (YYYY-MM-DD)", s.get_ref()),
            );
        })
    });
    match (n, start) {
        (_, Some(Err(()))) => Repeat::Invalid,
        (1, _) => Repeat::Once,
        (n, Some(Ok(start))) => Repeat::Every(n, start),
        (_, None) => {
            v.error(
                every_pos,
                "a schedule with an `interval` above 1 needs `start` (YYYY-MM-DD), the first day it counts from",
            );
            Repeat::Invalid
        }
    }
}

/// `weekday` or `weekdays`, as bits (Monday = bit 0).
fn check_weekdays(
    v: &mut Validator<'_>,
    file: FileId,
    p: &PreventiveSection,
    every_pos: &Pos,
) -> Option<u8> {
    let names: Vec<(&String, Pos)> = match (&p.weekday, &p.weekdays) {
        (Some(w), None) => vec![(w.get_ref(), at(file, w))],
        (None, Some(ws)) if !ws.get_ref().is_empty() => {
            ws.get_ref().iter().map(|w| (w, at(file, ws))).collect()
        }
        (Some(w), Some(_)) => {
            v.error(&at(file, w), "give `weekday` or `weekdays`, not both");
            return None;
        }
        _ => {
            v.error(every_pos, "a weekly schedule needs `weekday` or `weekdays`");
            return None;
        }
    };
    let mut bits = 0u8;
    for (name, pos) in names {
        match parse_weekday(name) {
            Some(day) => bits |= 1 << (day.to_monday_zero_offset() as u8),
            None => {
                v.error(&pos, format!("`{name}` is not a weekday (monday … sunday)"));
                return None;
            }
        }
    }
    Some(bits)
}

fn weekday_of_bit(bits: u8) -> jiff::civil::Weekday {
    jiff::civil::Weekday::Monday.wrapping_add(bits.trailing_zeros() as i64)
}

/// `day` or `days` of the month, as bits (day 1 = bit 1).
fn check_month_days(
    v: &mut Validator<'_>,
    file: FileId,
    p: &PreventiveSection,
    every_pos: &Pos,
) -> Option<u32> {
    let days: Vec<(u8, Pos)> = match (&p.day, &p.days) {
        (Some(d), None) => vec![(*d.get_ref(), at(file, d))],
        (None, Some(ds)) if !ds.get_ref().is_empty() => {
            ds.get_ref().iter().map(|d| (*d, at(file, ds))).collect()
        }
        (Some(d), Some(_)) => {
            v.error(&at(file, d), "give `day` or `days`, not both");
            return None;
        }
        _ => {
            v.error(every_pos, "a monthly schedule needs `day` or `days` (1–31)");
            return None;
        }
    };
    let mut bits = 0u32;
    for (day, pos) in days {
        if !(1..=31).contains(&day) {
            v.error(&pos, "day must be between 1 and 31");
            return None;
        }
        bits |= 1 << day;
    }
    Some(bits)
}

fn parse_hh_mm(text: &str) -> Option<jiff::civil::Time> {
    let (h, m) = text.split_once(':')?;
    jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

/// `day` between 1 and `max`, required.
fn day_in(
    v: &mut Validator<'_>,
    file: FileId,
    day: &Option<Spanned<u8>>,
    max: u8,
    every: &Pos,
) -> Option<u8> {
    match day {
        Some(d) if (1..=max).contains(d.get_ref()) => Some(*d.get_ref()),
        Some(d) => {
            v.error(&at(file, d), format!("day must be between 1 and {max}"));
            None
        }
        None => {
            v.error(every, format!("this schedule needs `day` (1–{max})"));
            None
        }
    }
}

/// `month` between 1 and `max`; `default` when left out (0: required).
fn month_in(
    v: &mut Validator<'_>,
    file: FileId,
    month: &Option<Spanned<u8>>,
    max: u8,
    every: &Pos,
    default: u8,
) -> Option<u8> {
    match month {
        Some(m) if (1..=max).contains(m.get_ref()) => Some(*m.get_ref()),
        Some(m) => {
            v.error(&at(file, m), format!("month must be between 1 and {max}"));
            None
        }
        None if default > 0 => Some(default),
        None => {
            v.error(every, format!("this schedule needs `month` (1–{max})"));
            None
        }
    }
}

fn parse_weekday(text: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday::*;
    Some(match text {
        "monday" => Monday,
        "tuesday" => Tuesday,
        "wednesday" => Wednesday,
        "thursday" => Thursday,
        "friday" => Friday,
        "saturday" => Saturday,
        "sunday" => Sunday,
        _ => return None,
    })
}
