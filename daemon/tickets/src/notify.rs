//! Telling the technician a repair is theirs: on dispatch, a message on
//! each channel of `[tickets] notify` (WeCom, DingTalk, Slack, a webhook,
//! e-mail) to the person the ticket went to, in the site's language, with
//! what, where, how urgent and the duty console's address. The messages
//! are queued in the same transaction as the dispatch (the ticket store's
//! outbox), so a dispatch is never recorded without its message.

use serde::Serialize;
use sitewarden_delivery::email::Envelope;
use sitewarden_model::catalog::{Catalog, ChannelKind, ChannelSettings, Person};
use sitewarden_model::locale::Arg;

use crate::Ticket;

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
pub fn dispatched(catalog: &Catalog, ticket: &Ticket) -> Vec<Notice> {
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
