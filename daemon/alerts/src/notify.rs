//! What a notification looks like on each kind of channel.
//!
//! Every channel gets the same facts, in the site's language (every word
//! comes from the message files, see `sitewarden_model::locale`) with
//! times in the site's zone: what happened, where, since when,
//! which escalation step this is and who is being called, and how to
//! acknowledge. Generic webhooks and MQTT get them as JSON; WeCom, DingTalk
//! and Slack as their robots' text messages (mentioning the mobile numbers
//! of the people called, where the tool supports it); e-mail as a plain
//! text message.

use serde::Serialize;

use super::Alert;
use sitewarden_delivery::email::Envelope;
use sitewarden_model::catalog::{Catalog, ChannelKind, ChannelSettings, Person};
use sitewarden_model::locale::{Arg, Messages};

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Step `n` (1-based) of the policy.
    Step(usize),
    /// The last step again, nobody having acknowledged. `missed` repeats
    /// fell due while sitewarden was down or the clock jumped; they are
    /// coalesced into this one notification, which says how many.
    Repeat {
        /// The step repeated (1-based).
        step: usize,
        /// Repeats that were due and are folded into this one.
        missed: u64,
    },
    /// An alarm during a declared drill, to the drill coordinator.
    Drill,
    /// Someone took it: escalation stopped.
    Acknowledged,
    /// The scheduled test of the channel.
    SelfTest,
    /// Step `n` (1-based) of the alert's response plan is overdue.
    PlanOverdue(usize),
}

impl Reason {
    /// Stable name, as published.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Step(_) => "step",
            Self::Repeat { .. } => "repeat",
            Self::Drill => "drill",
            Self::Acknowledged => "acknowledged",
            Self::SelfTest => "self_test",
            Self::PlanOverdue(_) => "plan_overdue",
        }
    }
}

/// The facts, in JSON form (webhook and MQTT).
#[derive(Serialize)]
struct Notification<'a> {
    key: &'a str,
    site: &'a str,
    reason: &'static str,
    step: Option<usize>,
    /// Repeats folded into this one after downtime or a clock jump.
    #[serde(skip_serializing_if = "Option::is_none")]
    missed: Option<u64>,
    text: &'a str,
    recipients: Vec<RecipientView<'a>>,
    alert: Option<&'a Alert>,
}

#[derive(Serialize)]
struct RecipientView<'a> {
    id: &'a str,
    name: &'a str,
    email: Option<&'a str>,
    phone: Option<&'a str>,
}

/// What a notification needs besides the alert to speak to people: the
/// site's messages (language, time zone, overrides), the site's name and
/// the display name of the alert's device.
#[derive(Clone, Copy)]
pub struct Wording<'a> {
    /// The site's messages.
    pub messages: &'a Messages,
    /// The site's name, as people call it.
    pub site: &'a str,
    /// The alert's device as people call it (its `name`), when it has one.
    pub device: Option<&'a str>,
    /// What to do: the advice of the alert's rule, when its pack gives one.
    pub advice: Option<&'a str>,
    /// Personal acknowledgement links, made at this moment, when the site
    /// has a `public_url`.
    pub links: Option<(&'a crate::ack_link::AckLinks, jiff::Timestamp)>,
    /// The response plan of the alert's class, when it has one.
    pub plan: &'a [sitewarden_model::catalog::PlanStep],
}

impl<'a> Wording<'a> {
    /// The site's wording, and the display name of `alert`'s device.
    pub fn of(catalog: &'a Catalog, alert: Option<&Alert>) -> Self {
        let device = alert
            .and_then(|a| a.device.as_deref())
            .and_then(|name| catalog.devices.iter().find(|d| d.name == name))
            .map(|d| d.display_name.as_str());
        let advice = alert
            .and_then(|a| a.rule.as_deref())
            .and_then(|id| catalog.rules.iter().find(|r| r.id == id))
            .and_then(|r| r.advice.as_deref());
        let plan = alert
            .and_then(|a| catalog.alerts.plans.get(&a.class))
            .map_or(&[][..], Vec::as_slice);
        Self {
            messages: &catalog.site.messages,
            site: &catalog.site.name,
            device,
            advice,
            plan,
            links: None,
        }
    }

    /// The same wording, with a personal acknowledgement link for each
    /// person called, made at `now`.
    pub fn with_links(
        self,
        links: Option<&'a crate::ack_link::AckLinks>,
        now: jiff::Timestamp,
    ) -> Self {
        Self {
            links: links.map(|l| (l, now)),
            ..self
        }
    }
}

/// WeCom robots refuse text content over 2,048 bytes.
const WECOM_MAX_BYTES: usize = 2048;
/// DingTalk robots refuse text content over 20,000 bytes.
const DINGTALK_MAX_BYTES: usize = 20_000;

/// A DingTalk robot with keyword security drops a text holding none of its
/// keywords: such a text starts with the first, in the headline's brackets.
fn with_keyword(m: &Messages, text: String, keywords: &[String]) -> String {
    match keywords.first() {
        Some(first) if !keywords.iter().any(|k| text.contains(k.as_str())) => {
            let tag = m.text("notify-keyword", &[("keyword", Arg::Text(first))]);
            tag + &text
        }
        _ => text,
    }
}

/// One paragraph for people, in the site's language: what, where, when,
/// what to do, which step and who is called, and how to acknowledge.
pub fn text(
    wording: Wording<'_>,
    alert: Option<&Alert>,
    reason: Reason,
    people: &[&Person],
) -> String {
    let m = wording.messages;
    let Some(a) = alert else {
        return m.text("notify-self-test", &[("site", Arg::Text(wording.site))]);
    };
    let mut sentences = vec![headline(m, a)];
    if let Some(place) = place(wording, a) {
        sentences.push(m.text("notify-where", &[("place", Arg::Text(&place))]));
    }
    sentences.push(m.text(
        "notify-when",
        &[
            ("raised", Arg::Time(a.raised_at)),
            ("site", Arg::Text(wording.site)),
        ],
    ));
    if let (Some(advice), false) = (wording.advice, matches!(reason, Reason::Acknowledged)) {
        sentences.push(m.text("notify-advice", &[("advice", Arg::Text(advice))]));
    }
    sentences.push(match reason {
        Reason::Step(n) => m.text("notify-step", &[("step", Arg::Number(n as i64))]),
        Reason::Repeat { step, missed: 0 } => {
            m.text("notify-repeat", &[("step", Arg::Number(step as i64))])
        }
        Reason::Repeat { step, missed } => m.text(
            "notify-repeat-missed",
            &[
                ("step", Arg::Number(step as i64)),
                ("missed", Arg::Number(missed as i64)),
            ],
        ),
        Reason::Drill => m.text("notify-drill", &[]),
        Reason::Acknowledged => {
            let someone = m.text("notify-acknowledged-by-someone", &[]);
            let person = a.acknowledged_by.as_deref().unwrap_or(&someone);
            m.text("notify-acknowledged", &[("person", Arg::Text(person))])
        }
        Reason::SelfTest => String::new(),
        Reason::PlanOverdue(n) => m.text(
            "notify-plan-overdue",
            &[
                ("step", Arg::Number(n as i64)),
                (
                    "what",
                    Arg::Text(wording.plan.get(n - 1).map_or("", |s| s.text.as_str())),
                ),
            ],
        ),
    });
    if !people.is_empty() {
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        let names = m.list(&names);
        sentences.push(m.text("notify-calling", &[("people", Arg::Text(&names))]));
    }
    match (wording.links, reason) {
        (_, Reason::Acknowledged) => {}
        (Some((links, now)), _) if !people.is_empty() => {
            for person in people {
                let link = links.link(a.id, &person.id, now);
                sentences.push(m.text(
                    "notify-ack-link",
                    &[
                        ("person", Arg::Text(&person.name)),
                        ("link", Arg::Text(&link)),
                    ],
                ));
            }
        }
        _ => sentences.push(m.text("notify-how-to-acknowledge", &[("id", Arg::Number(a.id))])),
    }
    m.sentences(&sentences)
}

/// `[FIRE] FIRE ALARM`: the class (or drill) tag and the title.
fn headline(m: &Messages, a: &Alert) -> String {
    let tag = tag(m, a);
    m.text(
        "notify-headline",
        &[("tag", Arg::Text(&tag)), ("title", Arg::Text(&a.title))],
    )
}

fn tag(m: &Messages, a: &Alert) -> String {
    if a.drill {
        m.text("alert-class-drill", &[])
    } else {
        m.text(&format!("alert-class-{}", a.class.as_str()), &[])
    }
}

/// The device as people call it, its location and the zones in alarm.
fn place(wording: Wording<'_>, a: &Alert) -> Option<String> {
    let device = wording.device.or(a.device.as_deref())?;
    let zones: Vec<&str> = a.members.iter().filter_map(|m| m.zone.as_deref()).collect();
    Some(
        wording
            .messages
            .place(device, a.location.as_deref(), &zones),
    )
}

/// The e-mail subject: the headline and the place.
fn subject(wording: Wording<'_>, alert: Option<&Alert>) -> String {
    let m = wording.messages;
    let Some(a) = alert else {
        return m.text("notify-self-test", &[("site", Arg::Text(wording.site))]);
    };
    match place(wording, a) {
        Some(place) => {
            let tag = tag(m, a);
            m.text(
                "notify-email-subject",
                &[
                    ("tag", Arg::Text(&tag)),
                    ("title", Arg::Text(&a.title)),
                    ("place", Arg::Text(&place)),
                ],
            )
        }
        None => headline(m, a),
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked `…`.
fn within(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The payload of one notification on one channel.
pub fn payload(
    channel: &ChannelSettings,
    key: &str,
    site: &str,
    wording: Wording<'_>,
    alert: Option<&Alert>,
    reason: Reason,
    people: &[&Person],
) -> Vec<u8> {
    let text = text(wording, alert, reason, people);
    let phones: Vec<&str> = people.iter().filter_map(|p| p.phone.as_deref()).collect();
    let value = match channel.kind {
        ChannelKind::Mqtt | ChannelKind::Webhook => {
            let (step, missed) = match reason {
                Reason::Step(n) | Reason::PlanOverdue(n) => (Some(n), None),
                Reason::Repeat { step, missed } => (Some(step), (missed > 0).then_some(missed)),
                _ => (None, None),
            };
            let body = Notification {
                key,
                site,
                reason: reason.as_str(),
                step,
                missed,
                text: &text,
                recipients: people
                    .iter()
                    .map(|p| RecipientView {
                        id: &p.id,
                        name: &p.name,
                        email: p.email.as_deref(),
                        phone: p.phone.as_deref(),
                    })
                    .collect(),
                alert,
            };
            serde_json::to_value(body).unwrap_or_default()
        }
        ChannelKind::WeCom => serde_json::json!({
            "msgtype": "text",
            "text": {"content": within(&text, WECOM_MAX_BYTES), "mentioned_mobile_list": phones},
        }),
        ChannelKind::DingTalk => serde_json::json!({
            "msgtype": "text",
            "text": {"content": within(&with_keyword(wording.messages, text, &channel.keywords), DINGTALK_MAX_BYTES)},
            "at": {"atMobiles": phones, "isAtAll": false},
        }),
        ChannelKind::Slack => serde_json::json!({ "text": text }),
        ChannelKind::Email => {
            let envelope = Envelope {
                to: people.iter().filter_map(|p| p.email.clone()).collect(),
                subject: subject(wording, alert),
                text,
            };
            serde_json::to_value(envelope).unwrap_or_default()
        }
    };
    serde_json::to_vec(&value).unwrap_or_default()
}
