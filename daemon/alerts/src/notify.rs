//! What a notification looks like on each kind of channel.
//!
//! Every channel gets the same facts: what happened, where, since when,
//! which escalation step this is and who is being called, and how to
//! acknowledge. Generic webhooks and MQTT get them as JSON; WeCom, DingTalk
//! and Slack as their robots' text messages (mentioning the mobile numbers
//! of the people called, where the tool supports it); e-mail as a plain
//! text message.

use serde::Serialize;

use super::Alert;
use sitewarden_delivery::email::Envelope;
use sitewarden_model::catalog::{ChannelKind, ChannelSettings, Person};

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

/// One line for people: `[FIRE] FIRE ALARM: fire-panel-1 (Fire control room), zones 3, 5 …`.
pub fn text(site: &str, alert: Option<&Alert>, reason: Reason, people: &[&Person]) -> String {
    let Some(a) = alert else {
        return format!(
            "[TEST] sitewarden {site}: scheduled test of this notification channel. No action needed."
        );
    };
    let mut out = String::new();
    let tag = if a.drill {
        "DRILL".to_owned()
    } else {
        a.class.as_str().replace('_', " ").to_uppercase()
    };
    out.push_str(&format!("[{tag}] {}", a.title));
    if let Some(device) = &a.device {
        out.push_str(&format!(" — {device}"));
    }
    if let Some(location) = &a.location {
        out.push_str(&format!(" ({location})"));
    }
    let zones: Vec<&str> = a.members.iter().filter_map(|m| m.zone.as_deref()).collect();
    if !zones.is_empty() {
        out.push_str(&format!(", zone {}", zones.join(", ")));
    }
    out.push_str(&format!(
        ". Raised {} at site {site}.",
        a.raised_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    ));
    match reason {
        Reason::Step(n) => out.push_str(&format!(" Escalation step {n}.")),
        Reason::Repeat { step, missed: 0 } => {
            out.push_str(&format!(" Still not acknowledged: step {step} again."))
        }
        Reason::Repeat { step, missed } => out.push_str(&format!(
            " Still not acknowledged: step {step} again ({missed} earlier repeats fell due while notifications could not go out)."
        )),
        Reason::Drill => {
            out.push_str(" This is a DRILL alarm, sent to the drill coordinator only.")
        }
        Reason::Acknowledged => out.push_str(&format!(
            " Acknowledged by {}; escalation stopped.",
            a.acknowledged_by.as_deref().unwrap_or("someone")
        )),
        Reason::SelfTest => {}
    }
    if !people.is_empty() {
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        out.push_str(&format!(" Calling: {}.", names.join(", ")));
    }
    if !matches!(reason, Reason::Acknowledged) {
        out.push_str(&format!(" Acknowledge: POST /api/v1/alerts/{}/ack", a.id));
    }
    out
}

/// The payload of one notification on one channel.
pub fn payload(
    channel: &ChannelSettings,
    key: &str,
    site: &str,
    alert: Option<&Alert>,
    reason: Reason,
    people: &[&Person],
) -> Vec<u8> {
    let text = text(site, alert, reason, people);
    let phones: Vec<&str> = people.iter().filter_map(|p| p.phone.as_deref()).collect();
    let value = match channel.kind {
        ChannelKind::Mqtt | ChannelKind::Webhook => {
            let (step, missed) = match reason {
                Reason::Step(n) => (Some(n), None),
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
            "text": {"content": text, "mentioned_mobile_list": phones},
        }),
        ChannelKind::DingTalk => serde_json::json!({
            "msgtype": "text",
            "text": {"content": text},
            "at": {"atMobiles": phones, "isAtAll": false},
        }),
        ChannelKind::Slack => serde_json::json!({ "text": text }),
        ChannelKind::Email => {
            let subject = text.split(". ").next().unwrap_or(&text).to_owned();
            let envelope = Envelope {
                to: people.iter().filter_map(|p| p.email.clone()).collect(),
                subject,
                text,
            };
            serde_json::to_value(envelope).unwrap_or_default()
        }
    };
    serde_json::to_vec(&value).unwrap_or_default()
}
