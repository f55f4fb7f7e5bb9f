//! `[alerts]`, `[[people]]` and `[[roster]]` in the site file: who is told
//! about an emergency, through which channels, and who is next when nobody
//! answers.
//!
//! Longer than our 600-line guide on purpose: the four sections' serde types
//! and their checkers stay in one file, beside each other, as the config crate
//! keeps every section (issue 13); the checkers share one `Lookup` of people,
//! channels and shifts that would otherwise become a public type.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Deserialize;

use super::secret::MaybeSecret;
use super::validate::{Validator, at, check_identifier};
use super::{ConfigDuration, SecretSource, Spanned};
use sitewarden_model::catalog::{
    AlertSettings, ChannelKind, ChannelSettings, DrillSettings, Inhibition, Person, PlanStep,
    Policy, Recipient, Shift, SmtpSettings, Step,
};
use sitewarden_model::vocab::AlertClass;

/// `[[people]]`: someone who can be notified.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonSection {
    /// Stable id, used in steps and rosters.
    pub id: Spanned<String>,
    /// Name people read.
    pub name: String,
    /// Address for the e-mail channel.
    #[serde(default)]
    pub email: Option<String>,
    /// Mobile number, mentioned in WeCom and DingTalk messages.
    #[serde(default)]
    pub phone: Option<String>,
    /// Signs in to the duty console with this password (its argon2 hash,
    /// from `sitewarden hash-password --person`).
    #[serde(default)]
    pub password_hash: Option<Spanned<String>>,
    /// What they may do once signed in: front-desk, security, technician, engineer, admin.
    #[serde(default)]
    pub role: Option<sitewarden_model::vocab::ApiRole>,
}

/// `[[roster]]`: one shift of an on-duty role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftSection {
    /// On-duty role this shift covers (`security-duty`).
    pub role: Spanned<String>,
    /// Person on duty.
    pub person: Spanned<String>,
    /// Days the shift starts on; every day when left out.
    #[serde(default)]
    pub days: Vec<Spanned<String>>,
    /// `"HH:MM-HH:MM"` in site time; a range that ends before it starts runs past midnight.
    pub hours: Spanned<String>,
}

/// `[alerts]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// Named notification channels.
    #[serde(default)]
    pub channels: HashMap<String, Spanned<ChannelSection>>,
    /// Escalation policy per alert class (`fire`, `intrusion`, `emergency_button`,
    /// `equipment`, `guard_safety`, `medical`, `water_leak`, `power_failure`,
    /// `lift_entrapment`, `patrol`, `other`) and an optional `default`.
    #[serde(default)]
    pub policies: HashMap<String, PolicySection>,
    /// Alerts muted while an alert of another class is active.
    #[serde(default)]
    pub inhibit: Vec<InhibitSection>,
    /// Who hears about alarms during a declared drill.
    #[serde(default)]
    pub drill: Option<DrillSection>,
    /// How often every channel gets a test notification; `"0s"` turns it off.
    #[serde(default = "default_self_test")]
    pub self_test_every: Spanned<ConfigDuration>,
    /// How often a heartbeat goes to `sitewarden/<site>/heartbeat` on MQTT.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_every: Spanned<ConfigDuration>,
    /// A life-safety alert that no channel confirmed within this long is a
    /// delivery fault, announced on every channel still working (EN 54-21
    /// gives fire routing 100 s).
    #[serde(default = "default_confirm_within")]
    pub confirm_within: Spanned<ConfigDuration>,
    /// The longest a silence may last: a forgotten silence must end.
    #[serde(default = "default_max_silence")]
    pub max_silence: Spanned<ConfigDuration>,
    /// A healthchecks-style URL pinged (GET) every `heartbeat_url_every`
    /// while every stage runs: the central side alerts when pings stop.
    #[serde(default)]
    pub heartbeat_url: Option<Spanned<MaybeSecret>>,
    /// How often `heartbeat_url` is pinged.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_url_every: Spanned<ConfigDuration>,
    /// A Modbus TCP coil switched on while a life-safety alert is
    /// unconfirmed by every channel (a buzzer or a relay at the desk).
    #[serde(default)]
    pub buzzer: Option<BuzzerSection>,
    /// Classes whose alerts stay open after their condition clears until a
    /// person acknowledges them (fire, intrusion, emergency button, guard
    /// safety, medical, lift entrapment by default).
    #[serde(default)]
    pub stay_until_acknowledged: Option<Vec<sitewarden_model::vocab::AlertClass>>,
    /// Who may report an emergency by hand (front desk, security, engineer
    /// by default; admins always may).
    #[serde(default)]
    pub report_roles: Option<Vec<sitewarden_model::vocab::ApiRole>>,
    /// On-duty roles the plan staffs 24 hours a day, 7 days a week: `check`
    /// refuses a roster that leaves any minute of the week uncovered.
    #[serde(default)]
    pub around_the_clock: Vec<Spanned<String>>,
    /// On-duty roles whose person checks in at each shift's start.
    #[serde(default)]
    pub check_in_roles: Vec<Spanned<String>>,
    /// How long after a shift starts its check-in may come (15m).
    #[serde(default)]
    pub check_in_within: Option<Spanned<ConfigDuration>>,
    /// Response plans per alert class: the steps people take, in order.
    #[serde(default)]
    pub plans: HashMap<String, Spanned<PlanSection>>,
}

/// `[alerts.plans.<class>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    /// The steps, in order.
    pub steps: Vec<PlanStepSection>,
}

/// One step of a response plan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStepSection {
    /// What to do (`"Call 119"`).
    #[serde(rename = "do")]
    pub text: Spanned<String>,
    /// Person ids or `role:<on-duty role>`; told when the step is overdue.
    #[serde(default)]
    pub who: Vec<Spanned<String>>,
    /// How long after the alarm it is due.
    #[serde(default)]
    pub within: Option<Spanned<ConfigDuration>>,
}

/// `[alerts.buzzer]`: a coil of a Modbus TCP relay module.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuzzerSection {
    /// `host:port` of the module.
    pub host: Spanned<String>,
    /// Unit id (1 by default).
    #[serde(default = "default_unit")]
    pub unit: u8,
    /// Coil address.
    pub coil: u16,
}

fn default_unit() -> u8 {
    1
}

impl Default for AlertsSection {
    fn default() -> Self {
        Self {
            channels: HashMap::new(),
            policies: HashMap::new(),
            inhibit: Vec::new(),
            drill: None,
            self_test_every: default_self_test(),
            heartbeat_every: default_heartbeat(),
            confirm_within: default_confirm_within(),
            max_silence: default_max_silence(),
            heartbeat_url: None,
            heartbeat_url_every: default_heartbeat(),
            buzzer: None,
            stay_until_acknowledged: None,
            report_roles: None,
            around_the_clock: Vec::new(),
            check_in_roles: Vec::new(),
            check_in_within: None,
            plans: HashMap::new(),
        }
    }
}

fn default_max_silence() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(24 * 3600 * 1000))
}

fn default_confirm_within() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(100_000))
}

fn default_self_test() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(24 * 3600 * 1000))
}

fn default_heartbeat() -> Spanned<ConfigDuration> {
    Spanned::new(0..0, ConfigDuration::from_millis(60_000))
}

/// `[alerts.channels.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSection {
    /// `mqtt`, `webhook`, `wecom`, `dingtalk`, `slack` or `email`.
    pub kind: Spanned<String>,
    /// Endpoint of webhook-like channels: written out, or, for a robot
    /// whose URL carries its key, `{ env = … }` / `{ file = … }`.
    #[serde(default)]
    pub url: Option<Spanned<MaybeSecret>>,
    /// HMAC key of a `webhook` (signature header) or a DingTalk robot (signed URL).
    #[serde(default)]
    pub secret: Option<Spanned<SecretSource>>,
    /// Per-attempt timeout.
    #[serde(default = "default_channel_timeout")]
    pub timeout: ConfigDuration,
    /// SMTP server `host:port` for `email`.
    #[serde(default)]
    pub smtp: Option<Spanned<String>>,
    /// Sender address for `email`.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// SMTP user name.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password.
    #[serde(default)]
    pub password: Option<Spanned<SecretSource>>,
    /// `none` (plain, for a relay on loopback), `starttls` (default) or `tls`.
    #[serde(default)]
    pub security: Option<Spanned<String>>,
    /// A notification queued longer than this (the channel was down) is late.
    #[serde(default = "default_late_after")]
    pub late_after: ConfigDuration,
    /// `mark` (default: sent once, saying when it was queued), `send` or `drop`.
    #[serde(default)]
    pub late: sitewarden_model::vocab::LateAction,
    /// DingTalk robots with keyword security: the robot's keywords (up to
    /// ten). A text that holds none of them starts with the first.
    #[serde(default)]
    pub keywords: Option<Spanned<Vec<String>>>,
}

fn default_channel_timeout() -> ConfigDuration {
    ConfigDuration::from_millis(5_000)
}

fn default_late_after() -> ConfigDuration {
    ConfigDuration::from_millis(10 * 60 * 1000)
}

/// `[alerts.policies.<class>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Ordered steps.
    pub steps: Vec<StepSection>,
    /// The last step is repeated this often until someone acknowledges.
    pub repeat: Spanned<ConfigDuration>,
    /// How many steps are notified at once when the alert is raised (a fire can call several levels).
    #[serde(default = "one")]
    pub first_steps_together: Spanned<usize>,
}

fn one() -> Spanned<usize> {
    Spanned::new(0..0, 1)
}

/// One escalation step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSection {
    /// Person ids, or `role:<on-duty role>` resolved from the roster at that moment.
    pub notify: Vec<Spanned<String>>,
    /// Channel names.
    pub channels: Vec<Spanned<String>>,
    /// How long to wait for an acknowledgement before the next step.
    pub wait: Spanned<ConfigDuration>,
}

/// `[[alerts.inhibit]]`: as in Alertmanager, a source alert mutes target alerts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitSection {
    /// Class whose active alert mutes (`fire`).
    pub when: Spanned<AlertClass>,
    /// Rule ids it mutes (`security.door_held_open`).
    pub mute: Vec<Spanned<String>>,
    /// Only on these devices (the doors the fire system releases); all when left out.
    #[serde(default)]
    pub devices: Vec<Spanned<String>>,
}

/// `[alerts.drill]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillSection {
    /// The drill coordinator(s): person ids or `role:…`.
    pub notify: Vec<Spanned<String>>,
    /// Channels used for drill alarms.
    pub channels: Vec<Spanned<String>>,
    /// Longest drill window that may be declared.
    #[serde(default = "default_max_drill")]
    pub max_duration: ConfigDuration,
}

fn default_max_drill() -> ConfigDuration {
    ConfigDuration::from_millis(4 * 3600 * 1000)
}

const KINDS: [(&str, ChannelKind); 6] = [
    ("mqtt", ChannelKind::Mqtt),
    ("webhook", ChannelKind::Webhook),
    ("wecom", ChannelKind::WeCom),
    ("dingtalk", ChannelKind::DingTalk),
    ("slack", ChannelKind::Slack),
    ("email", ChannelKind::Email),
];

pub(super) struct AlertInputs<'a> {
    pub people: &'a [PersonSection],
    pub roster: &'a [ShiftSection],
    pub alerts: &'a AlertsSection,
    pub rule_ids: &'a HashSet<&'a str>,
    pub device_names: &'a HashSet<&'a str>,
    pub has_mqtt: bool,
    pub base_dir: &'a std::path::Path,
}

pub(super) fn check_alerts(v: &mut Validator<'_>, i: &AlertInputs<'_>) -> Option<AlertSettings> {
    let errors_before = v.error_count();
    let people = check_people(v, i.people);
    let person_ids: HashMap<&str, usize> = people
        .iter()
        .enumerate()
        .map(|(n, p)| (p.id.as_str(), n))
        .collect();
    let roster = check_roster(v, i.roster, &person_ids);
    check_around_the_clock(v, &i.alerts.around_the_clock, i.roster, &roster);
    for role in &i.alerts.check_in_roles {
        if !roster.iter().any(|s| &s.role == role.get_ref()) {
            v.error(
                &at(0, role),
                format!(
                    "no [[roster]] shift has role `{}`: nobody would check in",
                    role.get_ref()
                ),
            );
        }
    }
    let check_in_within = i
        .alerts
        .check_in_within
        .as_ref()
        .map_or(Duration::from_secs(15 * 60), |d| d.get_ref().0);
    if let Some(d) = &i.alerts.check_in_within
        && !(Duration::from_secs(1)..=Duration::from_secs(4 * 3600)).contains(&d.get_ref().0)
    {
        v.error(&at(0, d), "check_in_within must be between 1s and 4h");
    }
    let roles: HashSet<&str> = roster.iter().map(|s| s.role.as_str()).collect();
    let mut names: Vec<&String> = i.alerts.channels.keys().collect();
    names.sort();
    let channels: Vec<ChannelSettings> = names
        .iter()
        .filter_map(|name| check_channel(v, name, &i.alerts.channels[*name], i))
        .collect();
    let channel_index: HashMap<&str, usize> = channels
        .iter()
        .enumerate()
        .map(|(n, c)| (c.name.as_str(), n))
        .collect();
    let lookup = Lookup {
        people: &person_ids,
        roles: &roles,
        channels: &channel_index,
    };
    let mut policies = HashMap::new();
    let mut default = None;
    for (class, section) in &i.alerts.policies {
        let policy = check_policy(v, section, &lookup);
        if class == "default" {
            default = policy;
            continue;
        }
        match AlertClass::parse(class) {
            Some(c) => {
                if let Some(p) = policy {
                    policies.insert(c, p);
                }
            }
            None => {
                let pos = section.repeat.span();
                v.error(
                    &super::validate::Pos { file: 0, span: pos },
                    format!(
                        "`{class}` is not an alert class; use {} or default",
                        AlertClass::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    let mut plans = HashMap::new();
    for (class, section) in &i.alerts.plans {
        let pos = at(0, section);
        let Some(class) = AlertClass::parse(class) else {
            v.error(&pos, format!("`{class}` is not an alert class"));
            continue;
        };
        let steps: Vec<PlanStep> = section
            .get_ref()
            .steps
            .iter()
            .map(|s| {
                if s.text.get_ref().trim().is_empty() {
                    v.error(&at(0, &s.text), "a plan step says what to do");
                }
                PlanStep {
                    text: s.text.get_ref().trim().to_owned(),
                    who: recipients(v, &s.who, &lookup),
                    within: s.within.as_ref().map(|w| w.get_ref().0),
                }
            })
            .collect();
        if steps.is_empty() {
            v.error(&pos, "a response plan has at least one step");
        }
        plans.insert(class, steps);
    }
    let inhibit = i
        .alerts
        .inhibit
        .iter()
        .map(|s| check_inhibit(v, s, i))
        .collect();
    let drill = i.alerts.drill.as_ref().map(|d| DrillSettings {
        notify: recipients(v, &d.notify, &lookup),
        channels: channel_refs(v, &d.channels, &lookup),
        max_duration: d.max_duration.0,
    });
    let self_test_every = i.alerts.self_test_every.get_ref().0;
    if !self_test_every.is_zero() && self_test_every < Duration::from_secs(60) {
        v.error(
            &at(0, &i.alerts.self_test_every),
            "self_test_every must be at least 1m (or 0s to turn self-tests off)",
        );
    }
    let heartbeat_every = i.alerts.heartbeat_every.get_ref().0;
    if heartbeat_every < Duration::from_secs(1) {
        v.error(
            &at(0, &i.alerts.heartbeat_every),
            "heartbeat_every must be at least 1s",
        );
    }
    let max_silence = i.alerts.max_silence.get_ref().0;
    if max_silence < Duration::from_secs(60) {
        v.error(
            &at(0, &i.alerts.max_silence),
            "max_silence must be at least 1m",
        );
    }
    let confirm_within = i.alerts.confirm_within.get_ref().0;
    if confirm_within < Duration::from_secs(1) {
        v.error(
            &at(0, &i.alerts.confirm_within),
            "confirm_within must be at least 1s",
        );
    }
    let heartbeat_url = i
        .alerts
        .heartbeat_url
        .as_ref()
        .and_then(|url| channel_url(v, url, i.base_dir));
    let heartbeat_url_every = i.alerts.heartbeat_url_every.get_ref().0;
    if heartbeat_url_every < Duration::from_secs(1) {
        v.error(
            &at(0, &i.alerts.heartbeat_url_every),
            "heartbeat_url_every must be at least 1s",
        );
    }
    let buzzer = i.alerts.buzzer.as_ref().and_then(|b| {
        b.host
            .get_ref()
            .parse::<std::net::SocketAddr>()
            .map_err(|_| {
                v.error(
                    &at(0, &b.host),
                    "buzzer host must be an address and port, like \"192.168.1.50:502\"",
                )
            })
            .ok()
            .map(|host| sitewarden_model::catalog::Buzzer {
                host,
                unit: b.unit,
                coil: b.coil,
            })
    });
    (v.error_count() == errors_before).then_some(AlertSettings {
        people,
        roster,
        channels,
        policies,
        default_policy: default,
        inhibit,
        drill,
        self_test_every: (!self_test_every.is_zero()).then_some(self_test_every),
        heartbeat_every,
        confirm_within,
        max_silence,
        heartbeat_url,
        heartbeat_url_every,
        buzzer,
        stay_until_acknowledged: i
            .alerts
            .stay_until_acknowledged
            .clone()
            .unwrap_or_else(|| DEFAULT_STAY_OPEN.to_vec()),
        report_roles: i
            .alerts
            .report_roles
            .clone()
            .unwrap_or_else(|| DEFAULT_REPORTERS.to_vec()),
        check_in_roles: i
            .alerts
            .check_in_roles
            .iter()
            .map(|r| r.get_ref().clone())
            .collect(),
        check_in_within,
        plans,
    })
}

/// The classes a person must take before they end: life safety, and a
/// break-in (a forced door that closes again is not over).
const DEFAULT_STAY_OPEN: &[sitewarden_model::vocab::AlertClass] = {
    use sitewarden_model::vocab::AlertClass::*;
    &[
        Fire,
        Intrusion,
        EmergencyButton,
        GuardSafety,
        Medical,
        LiftEntrapment,
    ]
};

/// Who takes the hotline's calls and walks the site.
const DEFAULT_REPORTERS: &[sitewarden_model::vocab::ApiRole] = {
    use sitewarden_model::vocab::ApiRole::*;
    &[FrontDesk, Security, Engineer]
};

struct Lookup<'a> {
    people: &'a HashMap<&'a str, usize>,
    roles: &'a HashSet<&'a str>,
    channels: &'a HashMap<&'a str, usize>,
}

/// A person's console sign-in: an argon2 hash (PHC string) and a role,
/// both or neither.
fn sign_in(v: &mut Validator<'_>, p: &PersonSection) -> Option<sitewarden_model::catalog::Login> {
    let hash = p.password_hash.as_ref()?;
    let pos = at(0, hash);
    if !hash.get_ref().starts_with("$argon2") {
        v.error(
            &pos,
            "password_hash must be an argon2 hash: `sitewarden hash-password --person` prints one",
        );
        return None;
    }
    let Some(role) = p.role else {
        v.error(
            &pos,
            "a person who signs in needs a `role` (front-desk, technician, engineer or admin)",
        );
        return None;
    };
    Some(sitewarden_model::catalog::Login {
        password_hash: hash.get_ref().clone(),
        role,
    })
}

fn check_people(v: &mut Validator<'_>, sections: &[PersonSection]) -> Vec<Person> {
    let mut seen = HashSet::new();
    let mut people = Vec::new();
    for p in sections {
        let pos = at(0, &p.id);
        check_identifier(v, &pos, "person id", p.id.get_ref());
        if !seen.insert(p.id.get_ref().as_str()) {
            v.error(
                &pos,
                format!("person `{}` is defined twice", p.id.get_ref()),
            );
        }
        people.push(Person {
            id: p.id.get_ref().clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            login: sign_in(v, p),
        });
    }
    people
}

fn check_roster(
    v: &mut Validator<'_>,
    sections: &[ShiftSection],
    people: &HashMap<&str, usize>,
) -> Vec<Shift> {
    let mut shifts = Vec::new();
    for s in sections {
        let Some(&person) = people.get(s.person.get_ref().as_str()) else {
            v.error(
                &at(0, &s.person),
                format!("no person `{}` in [[people]]", s.person.get_ref()),
            );
            continue;
        };
        let mut days = [s.days.is_empty(); 7];
        for d in &s.days {
            match weekday_index(d.get_ref()) {
                Some(i) => days[i] = true,
                None => v.error(
                    &at(0, d),
                    format!("`{}` is not a weekday (monday … sunday)", d.get_ref()),
                ),
            }
        }
        let Some((from, to)) = parse_range(s.hours.get_ref()) else {
            v.error(
                &at(0, &s.hours),
                format!(
                    "`{}` is not a range of hours (HH:MM-HH:MM)",
                    s.hours.get_ref()
                ),
            );
            continue;
        };
        shifts.push(Shift {
            role: s.role.get_ref().clone(),
            person,
            days,
            from,
            to,
        });
    }
    shifts
}

/// Minutes in a week, Monday 00:00 first.
const WEEK_MINUTES: usize = 7 * 1440;

/// Refuses, at a role's first roster entry, every stretch of the week its
/// shifts leave uncovered, for the roles staffed around the clock.
fn check_around_the_clock(
    v: &mut Validator<'_>,
    roles: &[Spanned<String>],
    sections: &[ShiftSection],
    shifts: &[Shift],
) {
    for role in roles {
        let name = role.get_ref();
        let Some(first) = sections.iter().find(|s| s.role.get_ref() == name) else {
            v.error(
                &at(0, role),
                format!("no [[roster]] shift has role `{name}`: nobody covers it around the clock"),
            );
            continue;
        };
        let gaps = uncovered(shifts.iter().filter(|s| &s.role == name));
        if !gaps.is_empty() {
            v.error(
                &at(0, &first.role),
                format!(
                    "role `{name}` is staffed around the clock ([alerts] around_the_clock) but its shifts leave {} uncovered",
                    gaps.join(", ")
                ),
            );
        }
    }
}

/// The stretches of the week no shift covers, as `monday 12:00-13:00`.
fn uncovered<'a>(shifts: impl Iterator<Item = &'a Shift>) -> Vec<String> {
    let mut covered = vec![false; WEEK_MINUTES];
    for shift in shifts {
        let from = minute_of_day(shift.from);
        let to = minute_of_day(shift.to);
        let length = if to > from {
            to - from
        } else {
            1440 - from + to
        };
        for day in (0..7).filter(|d| shift.days[*d]) {
            let start = day * 1440 + from;
            for minute in start..start + length {
                covered[minute % WEEK_MINUTES] = true;
            }
        }
    }
    let mut gaps = Vec::new();
    let mut minute = 0;
    while minute < WEEK_MINUTES {
        if covered[minute] {
            minute += 1;
            continue;
        }
        let start = minute;
        // A gap is reported within its day, so each reads as one range.
        let day_end = (start / 1440 + 1) * 1440;
        while minute < day_end && !covered[minute] {
            minute += 1;
        }
        gaps.push(format!(
            "{} {}-{}",
            WEEKDAYS[start / 1440],
            clock_text(start % 1440),
            clock_text((minute - 1) % 1440 + 1)
        ));
    }
    gaps
}

fn minute_of_day(t: jiff::civil::Time) -> usize {
    t.hour() as usize * 60 + t.minute() as usize
}

fn clock_text(minute: usize) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn weekday_index(text: &str) -> Option<usize> {
    WEEKDAYS.iter().position(|d| *d == text)
}

pub(super) fn parse_range(text: &str) -> Option<(jiff::civil::Time, jiff::civil::Time)> {
    let (a, b) = text.split_once('-')?;
    let time = |t: &str| {
        let (h, m) = t.trim().split_once(':')?;
        jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    };
    let (from, to) = (time(a)?, time(b)?);
    (from != to).then_some((from, to))
}

fn check_channel(
    v: &mut Validator<'_>,
    name: &str,
    spanned: &Spanned<ChannelSection>,
    i: &AlertInputs<'_>,
) -> Option<ChannelSettings> {
    let s = spanned.get_ref();
    let pos = at(0, spanned);
    check_identifier(v, &pos, "channel name", name);
    let kind_pos = at(0, &s.kind);
    let Some(kind) = KINDS
        .iter()
        .find(|(k, _)| k == s.kind.get_ref())
        .map(|(_, k)| *k)
    else {
        v.error(
            &kind_pos,
            format!(
                "`{}` is not a channel kind; use mqtt, webhook, wecom, dingtalk, slack or email",
                s.kind.get_ref()
            ),
        );
        return None;
    };
    let secret = |v: &mut Validator<'_>, source: &Option<Spanned<SecretSource>>| {
        source.as_ref().and_then(|src| {
            src.get_ref()
                .resolve(i.base_dir)
                .map_err(|e| v.error(&at(0, src), e))
                .ok()
        })
    };
    let mut settings = ChannelSettings {
        name: name.to_owned(),
        kind,
        url: None,
        secret: secret(v, &s.secret),
        timeout: s.timeout.0,
        smtp: None,
        late_after: s.late_after.0,
        late: s.late,
        keywords: Vec::new(),
    };
    if let Some(keywords) = &s.keywords {
        let list = keywords.get_ref();
        if kind != ChannelKind::DingTalk {
            v.error(&at(0, keywords), "`keywords` is a DingTalk robot setting");
        } else if list.is_empty() || list.len() > 10 || list.iter().any(|k| k.trim().is_empty()) {
            v.error(
                &at(0, keywords),
                "a DingTalk robot has one to ten keywords, none of them blank",
            );
        } else {
            settings.keywords = list.clone();
        }
    }
    match kind {
        ChannelKind::Mqtt => {
            if !i.has_mqtt {
                v.error(&kind_pos, "an mqtt channel needs an [mqtt] section");
            }
        }
        ChannelKind::Email => {
            settings.smtp = check_smtp(v, s, &kind_pos, i);
        }
        _ => match &s.url {
            Some(url) => settings.url = channel_url(v, url, i.base_dir),
            None => v.error(
                &kind_pos,
                format!("a {} channel needs `url`", s.kind.get_ref()),
            ),
        },
    }
    Some(settings)
}

/// A channel's URL, read from its secret when it names one. An error about
/// a secret URL never quotes it.
fn channel_url(
    v: &mut Validator<'_>,
    url: &Spanned<MaybeSecret>,
    base_dir: &std::path::Path,
) -> Option<String> {
    let pos = at(0, url);
    match url.get_ref().resolve(base_dir) {
        Ok((text, false)) => super::tickets::check_http_url(v, &pos, &text),
        Ok((text, true)) => match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(text),
            _ => {
                v.error(
                    &pos,
                    "the URL read from this secret is not an http:// or https:// URL",
                );
                None
            }
        },
        Err(e) => {
            v.error(&pos, e);
            None
        }
    }
}

fn check_smtp(
    v: &mut Validator<'_>,
    s: &ChannelSection,
    kind_pos: &super::validate::Pos,
    i: &AlertInputs<'_>,
) -> Option<SmtpSettings> {
    let (Some(server), Some(from)) = (&s.smtp, &s.from) else {
        v.error(
            kind_pos,
            "an email channel needs `smtp` (host:port) and `from`",
        );
        return None;
    };
    let (host, port) = match server
        .get_ref()
        .rsplit_once(':')
        .map(|(h, p)| (h, p.parse::<u16>()))
    {
        Some((h, Ok(p))) if !h.is_empty() => (h.to_owned(), p),
        _ => {
            v.error(
                &at(0, server),
                format!("`{}` is not host:port", server.get_ref()),
            );
            return None;
        }
    };
    if from.get_ref().parse::<lettre::Address>().is_err() {
        v.error(
            &at(0, from),
            format!("`{}` is not an e-mail address", from.get_ref()),
        );
    }
    let security = match s.security.as_ref().map(|x| x.get_ref().as_str()) {
        None | Some("starttls") => sitewarden_model::catalog::SmtpSecurity::StartTls,
        Some("tls") => sitewarden_model::catalog::SmtpSecurity::Tls,
        Some("none") => sitewarden_model::catalog::SmtpSecurity::None,
        Some(other) => {
            if let Some(sec) = &s.security {
                v.error(
                    &at(0, sec),
                    format!("`{other}` is not none, starttls or tls"),
                );
            }
            sitewarden_model::catalog::SmtpSecurity::StartTls
        }
    };
    let password = s.password.as_ref().and_then(|src| {
        src.get_ref()
            .resolve(i.base_dir)
            .map_err(|e| v.error(&at(0, src), e))
            .ok()
    });
    Some(SmtpSettings {
        host,
        port,
        from: from.get_ref().clone(),
        username: s.username.clone(),
        password,
        security,
    })
}

fn recipients(v: &mut Validator<'_>, refs: &[Spanned<String>], l: &Lookup<'_>) -> Vec<Recipient> {
    refs.iter()
        .filter_map(|r| {
            let text = r.get_ref();
            if let Some(role) = text.strip_prefix("role:") {
                if l.roles.contains(role) {
                    return Some(Recipient::Role(role.to_owned()));
                }
                v.error(&at(0, r), format!("no [[roster]] shift has role `{role}`"));
                return None;
            }
            match l.people.get(text.as_str()) {
                Some(&n) => Some(Recipient::Person(n)),
                None => {
                    v.error(
                        &at(0, r),
                        format!(
                            "no person `{text}` in [[people]] (roles are written `role:<name>`)"
                        ),
                    );
                    None
                }
            }
        })
        .collect()
}

fn channel_refs(v: &mut Validator<'_>, refs: &[Spanned<String>], l: &Lookup<'_>) -> Vec<usize> {
    refs.iter()
        .filter_map(|c| match l.channels.get(c.get_ref().as_str()) {
            Some(&n) => Some(n),
            None => {
                v.error(
                    &at(0, c),
                    format!("no channel `{}` in [alerts.channels]", c.get_ref()),
                );
                None
            }
        })
        .collect()
}

fn check_policy(v: &mut Validator<'_>, s: &PolicySection, l: &Lookup<'_>) -> Option<Policy> {
    let errors_before = v.error_count();
    if s.steps.is_empty() {
        v.error(&at(0, &s.repeat), "a policy needs at least one step");
    }
    let steps: Vec<Step> = s
        .steps
        .iter()
        .map(|step| {
            let wait = step.wait.get_ref().0;
            if wait.is_zero() {
                v.error(
                    &at(0, &step.wait),
                    "wait must be more than zero; use first_steps_together to notify steps at once",
                );
            }
            if step.notify.is_empty() {
                v.error(&at(0, &step.wait), "a step needs someone to notify");
            }
            if step.channels.is_empty() {
                v.error(&at(0, &step.wait), "a step needs at least one channel");
            }
            Step {
                notify: recipients(v, &step.notify, l),
                channels: channel_refs(v, &step.channels, l),
                wait,
            }
        })
        .collect();
    let repeat = s.repeat.get_ref().0;
    if repeat < Duration::from_secs(1) {
        v.error(&at(0, &s.repeat), "repeat must be at least 1s");
    }
    let together = *s.first_steps_together.get_ref();
    if together == 0 || together > steps.len().max(1) {
        v.error(
            &at(0, &s.first_steps_together),
            format!(
                "first_steps_together must be between 1 and the number of steps ({})",
                steps.len()
            ),
        );
    }
    (v.error_count() == errors_before).then_some(Policy {
        steps,
        repeat,
        first_steps_together: together,
    })
}

fn check_inhibit(v: &mut Validator<'_>, s: &InhibitSection, i: &AlertInputs<'_>) -> Inhibition {
    for rule in &s.mute {
        if !i.rule_ids.contains(rule.get_ref().as_str()) {
            v.error(
                &at(0, rule),
                format!("no rule `{}` in the site's packs", rule.get_ref()),
            );
        }
    }
    for device in &s.devices {
        if !i.device_names.contains(device.get_ref().as_str()) {
            v.error(&at(0, device), format!("no device `{}`", device.get_ref()));
        }
    }
    Inhibition {
        when: *s.when.get_ref(),
        mute: s.mute.iter().map(|r| r.get_ref().clone()).collect(),
        devices: s.devices.iter().map(|d| d.get_ref().clone()).collect(),
    }
}
