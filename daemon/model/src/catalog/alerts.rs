//! Who is called and how: people, rosters, channels, escalation policies, inhibition and drills.

use super::*;

/// Who is told about emergencies, how, and who is next.
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    /// `[[people]]`.
    pub people: Vec<Person>,
    /// `[[roster]]`.
    pub roster: Vec<Shift>,
    /// `[alerts.channels]`, sorted by name.
    pub channels: Vec<ChannelSettings>,
    /// Policy per class.
    pub policies: std::collections::HashMap<crate::vocab::AlertClass, Policy>,
    /// For classes without their own policy.
    pub default_policy: Option<Policy>,
    /// Mutes.
    pub inhibit: Vec<Inhibition>,
    /// Drill coordinator.
    pub drill: Option<DrillSettings>,
    /// Test notification interval.
    pub self_test_every: Option<Duration>,
    /// MQTT heartbeat interval.
    pub heartbeat_every: Duration,
    /// How long a life-safety alert may go without any channel confirming
    /// it before that is itself announced as a delivery fault.
    pub confirm_within: Duration,
    /// The longest a silence may last.
    pub max_silence: Duration,
    /// Pinged while every stage runs (the URL may hold a key: never logged).
    pub heartbeat_url: Option<String>,
    /// How often `heartbeat_url` is pinged.
    pub heartbeat_url_every: Duration,
    /// The coil switched on while a life-safety alert is unconfirmed.
    pub buzzer: Option<Buzzer>,
    /// Classes that stay open after their condition clears until a person acknowledges.
    pub stay_until_acknowledged: Vec<crate::vocab::AlertClass>,
    /// Who may report an emergency by hand (admins always may).
    pub report_roles: Vec<crate::vocab::ApiRole>,
    /// On-duty roles whose shifts expect a check-in.
    pub check_in_roles: Vec<String>,
    /// How long after a shift starts its check-in may come.
    pub check_in_within: Duration,
    /// The response plan of each class that has one.
    pub plans: std::collections::HashMap<crate::vocab::AlertClass, Vec<PlanStep>>,
}

/// One step of a response plan (fire: confirm on site, call 119, evacuate,
/// head count at the assembly point, all clear).
#[derive(Debug, Clone)]
pub struct PlanStep {
    /// What to do, as the site words it.
    pub text: String,
    /// Who does it; told when it is overdue (the class's first policy step
    /// when empty).
    pub who: Vec<Recipient>,
    /// How long after the alarm it is due; never overdue when `None`.
    pub within: Option<Duration>,
}

impl AlertSettings {
    /// Whether an alert of `class` waits for a person after its condition clears.
    pub fn stays_open(&self, class: crate::vocab::AlertClass) -> bool {
        self.stay_until_acknowledged.contains(&class)
    }
}

/// A coil of a Modbus TCP relay module, for a buzzer or lamp at the desk.
#[derive(Debug, Clone, Copy)]
pub struct Buzzer {
    /// `host:port`.
    pub host: std::net::SocketAddr,
    /// Unit id.
    pub unit: u8,
    /// Coil address.
    pub coil: u16,
}

impl AlertSettings {
    /// The longest wait any policy sets (a step's wait or a repeat): no
    /// stored escalation deadline can honestly be further away than this.
    pub fn longest_wait(&self) -> Duration {
        self.policies
            .values()
            .chain(self.default_policy.as_ref())
            .flat_map(|p| p.steps.iter().map(|s| s.wait).chain([p.repeat]))
            .max()
            .unwrap_or_default()
    }

    /// The policy an alert of `class` follows.
    pub fn policy(&self, class: crate::vocab::AlertClass) -> Option<&Policy> {
        self.policies.get(&class).or(self.default_policy.as_ref())
    }
}

/// A person's duty-console sign-in.
#[derive(Debug, Clone)]
pub struct Login {
    /// Argon2 hash of their password (PHC string).
    pub password_hash: String,
    /// What they may do.
    pub role: crate::vocab::ApiRole,
}

/// Someone who can be notified.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their duty-console sign-in, when they have one.
    pub login: Option<Login>,
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Mobile number.
    pub phone: Option<String>,
}

/// One shift of an on-duty role.
#[derive(Debug, Clone)]
pub struct Shift {
    /// Role.
    pub role: String,
    /// Index into [`AlertSettings::people`].
    pub person: usize,
    /// Weekdays (Monday first) the shift starts on.
    pub days: [bool; 7],
    /// Start, site time.
    pub from: jiff::civil::Time,
    /// End, site time; before `from` when the shift runs past midnight.
    pub to: jiff::civil::Time,
}

/// How a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// QoS 1 on `sitewarden/<site>/alerts/<id>/notifications`.
    Mqtt,
    /// Generic JSON, HMAC-signed.
    Webhook,
    /// WeCom group robot.
    #[serde(rename = "wecom")]
    WeCom,
    /// DingTalk group robot.
    #[serde(rename = "dingtalk")]
    DingTalk,
    /// Slack incoming webhook.
    Slack,
    /// SMTP.
    Email,
}

/// A named notification channel.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ChannelKind,
    /// Endpoint of webhook-like kinds.
    pub url: Option<String>,
    /// HMAC key (webhook) or robot signing secret (DingTalk).
    pub secret: Option<crate::secret::Secret>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// SMTP settings of the e-mail kind.
    pub smtp: Option<SmtpSettings>,
    /// A notification queued longer than this is late.
    pub late_after: Duration,
    /// What happens to a late notification.
    pub late: crate::vocab::LateAction,
    /// A DingTalk robot's security keywords: its texts hold one of them.
    pub keywords: Vec<String>,
}

/// How to reach an SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Sender.
    pub from: String,
    /// User.
    pub username: Option<String>,
    /// Password.
    pub password: Option<crate::secret::Secret>,
    /// Transport security.
    pub security: SmtpSecurity,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (a relay on loopback).
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

/// An escalation policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Repeat interval of the last step.
    pub repeat: Duration,
    /// Steps notified at once on raise.
    pub first_steps_together: usize,
}

/// One escalation step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Who.
    pub notify: Vec<Recipient>,
    /// Indices into [`AlertSettings::channels`].
    pub channels: Vec<usize>,
    /// Wait for an acknowledgement before the next step.
    pub wait: Duration,
}

/// A person, or whoever holds an on-duty role at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// Index into [`AlertSettings::people`].
    Person(usize),
    /// On-duty role.
    Role(String),
}

/// Alerts muted while an alert of a class is active.
#[derive(Debug, Clone)]
pub struct Inhibition {
    /// Source class.
    pub when: crate::vocab::AlertClass,
    /// Target rule ids.
    pub mute: Vec<String>,
    /// Target devices; all when empty.
    pub devices: Vec<String>,
}

/// Drill handling.
#[derive(Debug, Clone)]
pub struct DrillSettings {
    /// Drill coordinator(s).
    pub notify: Vec<Recipient>,
    /// Channels.
    pub channels: Vec<usize>,
    /// Longest window.
    pub max_duration: Duration,
}
