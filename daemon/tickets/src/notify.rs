//! Telling people about a repair, in the site's language:
//! - the technician, on dispatch, on each channel of `[tickets] notify`
//!   (WeCom, DingTalk, Slack, a webhook, e-mail): what, where, how urgent,
//!   who asked and the repair board's address;
//! - the requester, on the contact they gave, through `[tickets]
//!   tell_requesters` (an e-mail channel for an address, a webhook — an
//!   SMS gateway — for a number): when the request is registered, when a
//!   technician is on the way, and when the repair is ready for acceptance.
//!
//! The messages are queued in the same transaction as the change (the
//! ticket store's outbox), so a change is never recorded without them.

use serde::Serialize;
use sitewarden_delivery::email::Envelope;
use sitewarden_model::catalog::{Catalog, ChannelKind, ChannelSettings, Person};
use sitewarden_model::locale::Arg;

use crate::{Action, Ticket};

/// The delivery channel of `[tickets] notify` channel `name` in the
/// ticket store's outbox.
pub fn channel_name(name: &str) -> String {
    format!("tickets-notify-{name}")
}

/// One message to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Outbox channel ([`channel_name`]).
    pub channel: String,
    /// Body, as the receiver takes it.
    pub payload: Vec<u8>,
}

/// The messages a change of `ticket` sends: `None` for its registration,
/// else the step taken.
pub fn for_change(catalog: &Catalog, step: Option<Action>, ticket: &Ticket) -> Vec<Notice> {
    let mut out = Vec::new();
    let moment = match step {
        None => "requester-registered",
        Some(Action::Dispatch) => {
            out = dispatched(catalog, ticket);
            "requester-on-the-way"
        }
        Some(Action::Resolve) => "requester-ready",
        Some(_) => return out,
    };
    out.extend(requester(catalog, ticket, moment));
    out
}

/// What a requester's SMS gateway receives.
#[derive(Serialize)]
struct ToRequester<'a> {
    site: &'a str,
    event: &'a str,
    to: &'a str,
    text: &'a str,
    ticket: i64,
}

/// The messages telling `ticket`'s requester of `moment` (a message id):
/// by e-mail when their contact is an address, else through a webhook.
fn requester(catalog: &Catalog, ticket: &Ticket, moment: &str) -> Vec<Notice> {
    let (Some(_), Some(contact)) = (&ticket.requester, ticket.contact.as_deref()) else {
        return Vec::new();
    };
    let m = &catalog.site.messages;
    let site = &catalog.site.name;
    let args = [
        ("id", Arg::Number(ticket.id)),
        ("title", Arg::Text(&ticket.title)),
        ("site", Arg::Text(site)),
    ];
    let text = m.text(moment, &args);
    let by_mail = contact.contains('@');
    catalog
        .alerts
        .channels
        .iter()
        .filter(|c| catalog.tickets.tell_requesters.contains(&c.name))
        .filter_map(|channel| {
            let value = match (channel.kind, by_mail) {
                (ChannelKind::Email, true) => serde_json::to_value(Envelope {
                    to: vec![contact.to_owned()],
                    subject: m.text(&format!("{moment}-subject"), &args),
                    text: text.clone(),
                })
                .ok()?,
                (ChannelKind::Webhook, false) => serde_json::to_value(ToRequester {
                    site: &catalog.site.id,
                    event: moment,
                    to: contact,
                    text: &text,
                    ticket: ticket.id,
                })
                .ok()?,
                _ => return None,
            };
            Some(Notice {
                channel: channel_name(&channel.name),
                payload: serde_json::to_vec(&value).ok()?,
            })
        })
        .collect()
}

/// What a webhook receives.
#[derive(Serialize)]
struct Dispatched<'a> {
    site: &'a str,
    event: &'static str,
    text: &'a str,
    to: Recipient<'a>,
    ticket: &'a Ticket,
}

#[derive(Serialize)]
struct Recipient<'a> {
    id: &'a str,
    name: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
}

/// The messages telling `ticket`'s assignee it is theirs; none when it
/// has no assignee among the site's people or no channel is configured.
fn dispatched(catalog: &Catalog, ticket: &Ticket) -> Vec<Notice> {
    let Some(person) = ticket
        .assignee
        .as_deref()
        .and_then(|id| catalog.alerts.people.iter().find(|p| p.id == id))
    else {
        return Vec::new();
    };
    let text = text(catalog, ticket, person);
    catalog
        .alerts
        .channels
        .iter()
        .filter(|c| catalog.tickets.notify.contains(&c.name))
        .filter_map(|channel| {
            let payload = payload(catalog, channel, ticket, person, &text)?;
            Some(Notice {
                channel: channel_name(&channel.name),
                payload,
            })
        })
        .collect()
}

fn text(catalog: &Catalog, ticket: &Ticket, person: &Person) -> String {
    let m = &catalog.site.messages;
    let place = ticket
        .location
        .as_deref()
        .or(ticket.device.as_deref())
        .unwrap_or_default();
    let priority = m.text(&format!("priority-{}", ticket.priority.as_str()), &[]);
    let mut sentences = vec![m.text(
        "ticket-dispatched-to",
        &[
            ("id", Arg::Number(ticket.id)),
            ("person", Arg::Text(&person.name)),
            ("title", Arg::Text(&ticket.title)),
            ("priority", Arg::Text(&priority)),
        ],
    )];
    if !place.is_empty() {
        sentences.push(m.text("ticket-where", &[("place", Arg::Text(place))]));
    }
    if let (Some(who), Some(contact)) = (&ticket.requester, &ticket.contact) {
        sentences.push(m.text(
            "ticket-dispatched-requester",
            &[("person", Arg::Text(who)), ("contact", Arg::Text(contact))],
        ));
    }
    sentences.push(m.text(
        "ticket-dispatched-due",
        &[("due", Arg::Time(ticket.resolution_due))],
    ));
    if let Some(url) = &catalog.api.public_url {
        let link = format!("{url}/repairs");
        sentences.push(m.text("ticket-dispatched-link", &[("link", Arg::Text(&link))]));
    }
    m.sentences(&sentences)
}

/// The body for one channel; none for MQTT, which carries every ticket
/// change already.
fn payload(
    catalog: &Catalog,
    channel: &ChannelSettings,
    ticket: &Ticket,
    person: &Person,
    text: &str,
) -> Option<Vec<u8>> {
    let phones: Vec<&str> = person.phone.as_deref().into_iter().collect();
    let value = match channel.kind {
        ChannelKind::Mqtt => return None,
        ChannelKind::Webhook => serde_json::to_value(Dispatched {
            site: &catalog.site.id,
            event: "dispatched",
            text,
            to: Recipient {
                id: &person.id,
                name: &person.name,
                phone: person.phone.as_deref(),
                email: person.email.as_deref(),
            },
            ticket,
        })
        .ok()?,
        ChannelKind::WeCom => serde_json::json!({
            "msgtype": "text",
            "text": {"content": text, "mentioned_mobile_list": phones},
        }),
        ChannelKind::DingTalk => {
            // A DingTalk robot takes only messages with one of its keywords.
            let content = match channel.keywords.first() {
                Some(k) if !channel.keywords.iter().any(|k| text.contains(k.as_str())) => {
                    format!("{k} {text}")
                }
                _ => text.to_owned(),
            };
            serde_json::json!({
                "msgtype": "text",
                "text": {"content": content},
                "at": {"atMobiles": phones, "isAtAll": false},
            })
        }
        ChannelKind::Slack => serde_json::json!({ "text": text }),
        ChannelKind::Email => serde_json::to_value(Envelope {
            to: person.email.iter().cloned().collect(),
            subject: catalog.site.messages.text(
                "ticket-dispatched-subject",
                &[
                    ("id", Arg::Number(ticket.id)),
                    ("title", Arg::Text(&ticket.title)),
                ],
            ),
            text: text.to_owned(),
        })
        .ok()?,
    };
    serde_json::to_vec(&value).ok()
}
