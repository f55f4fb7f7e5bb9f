//! Telling people about a repair, in the site's language:
//! - the technician, on dispatch, on each channel of `[tickets] notify`
//!   (WeCom, DingTalk, Slack, a webhook, e-mail): what, where, how urgent,
//!   who asked and the repair board's address;
//! - the requester, on the contact they gave, through `[tickets]
//!   tell_requesters` (an e-mail channel for an address, a webhook — an
//!   SMS gateway — for a number): when the request is registered, when a
//!   technician is on the way, and when the repair is ready for acceptance
//!   (with the link where they accept it, see [`crate::accept_link`]);
//! - the front desk, on the `[tickets] notify` channels, when a repair has
//!   waited too long for acceptance.
//!
//! The messages are queued in the same transaction as the change (the
//! ticket store's outbox), so a change is never recorded without them.

use serde::Serialize;
use sitewarden_delivery::email::Envelope;
use sitewarden_model::catalog::{Catalog, ChannelKind, ChannelSettings, Person};
use sitewarden_model::locale::Arg;

use crate::accept_link::AcceptLinks;
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

/// The moment of a ticket's life a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// It was registered.
    Registered,
    /// A person (or the daemon, for a default acceptance) took a step.
    Step(Action),
    /// The repair has waited too long for the requester's acceptance.
    AcceptanceOverdue,
}

/// What a message needs besides the ticket: the requester's acceptance
/// link, when the site has a public address, and the time it is sent.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Acceptance links, when `[api] public_url` is set.
    pub links: Option<&'a AcceptLinks>,
    /// Now.
    pub now: jiff::Timestamp,
}

/// The messages `moment` of `ticket` sends.
pub fn for_change(
    catalog: &Catalog,
    cx: Context<'_>,
    moment: Moment,
    ticket: &Ticket,
) -> Vec<Notice> {
    let (mut out, to_requester) = match moment {
        Moment::Registered => (Vec::new(), "requester-registered"),
        Moment::Step(Action::Dispatch) => (dispatched(catalog, ticket), "requester-on-the-way"),
        Moment::Step(Action::Resolve) => (Vec::new(), "requester-ready"),
        Moment::AcceptanceOverdue => return overdue(catalog, ticket),
        Moment::Step(_) => return Vec::new(),
    };
    let link = match (moment, cx.links) {
        (Moment::Step(Action::Resolve), Some(links)) => {
            Some(links.link(ticket.id, ticket.reworks, cx.now))
        }
        _ => None,
    };
    out.extend(requester(catalog, ticket, to_requester, link.as_deref()));
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
fn requester(catalog: &Catalog, ticket: &Ticket, moment: &str, link: Option<&str>) -> Vec<Notice> {
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
    let mut text = m.text(moment, &args);
    if let Some(link) = link {
        let answer = m.text("requester-ready-link", &[("link", Arg::Text(link))]);
        text = m.sentences(&[text, answer]);
    }
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

/// What a webhook receives: the assignee (`to`) of a dispatch, or the
/// front desk (`desk`) reminded of a repair waiting for acceptance.
#[derive(Serialize)]
struct ToStaff<'a> {
    site: &'a str,
    event: &'static str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Recipient<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    desk: Vec<Recipient<'a>>,
    ticket: &'a Ticket,
}

/// Who a staff message is for.
#[derive(Clone, Copy)]
enum Staff<'a> {
    /// The technician a repair was dispatched to.
    Assignee(&'a Person),
    /// Whoever signs in at the front desk.
    Desk(&'a [&'a Person]),
}

impl<'a> Staff<'a> {
    fn people(self) -> Vec<&'a Person> {
        match self {
            Self::Assignee(p) => vec![p],
            Self::Desk(people) => people.to_vec(),
        }
    }
}

fn recipient(p: &Person) -> Recipient<'_> {
    Recipient {
        id: &p.id,
        name: &p.name,
        phone: p.phone.as_deref(),
        email: p.email.as_deref(),
    }
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
    to_staff(catalog, ticket, Staff::Assignee(person), &text)
}

/// The messages reminding the front desk (everyone whose console role is
/// `front-desk`) that `ticket` waits for the requester's acceptance, on the
/// channels of `[tickets] notify`.
fn overdue(catalog: &Catalog, ticket: &Ticket) -> Vec<Notice> {
    let desk: Vec<&Person> = catalog
        .alerts
        .people
        .iter()
        .filter(|p| {
            p.login
                .as_ref()
                .is_some_and(|l| l.role == sitewarden_model::vocab::ApiRole::FrontDesk)
        })
        .collect();
    let m = &catalog.site.messages;
    let mut sentences = vec![m.text(
        "ticket-acceptance-overdue",
        &[
            ("id", Arg::Number(ticket.id)),
            ("title", Arg::Text(&ticket.title)),
            (
                "resolved",
                Arg::Time(ticket.resolved_at.unwrap_or(ticket.created_at)),
            ),
        ],
    )];
    if let (Some(who), Some(contact)) = (&ticket.requester, &ticket.contact) {
        sentences.push(m.text(
            "ticket-acceptance-call",
            &[("person", Arg::Text(who)), ("contact", Arg::Text(contact))],
        ));
    }
    let text = m.sentences(&sentences);
    to_staff(catalog, ticket, Staff::Desk(&desk), &text)
}

/// `text` to `staff` on each channel of `[tickets] notify`.
fn to_staff(catalog: &Catalog, ticket: &Ticket, staff: Staff<'_>, text: &str) -> Vec<Notice> {
    catalog
        .alerts
        .channels
        .iter()
        .filter(|c| catalog.tickets.notify.contains(&c.name))
        .filter_map(|channel| {
            let payload = payload(catalog, channel, ticket, staff, text)?;
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
/// change already, and none for e-mail when nobody has an address.
fn payload(
    catalog: &Catalog,
    channel: &ChannelSettings,
    ticket: &Ticket,
    staff: Staff<'_>,
    text: &str,
) -> Option<Vec<u8>> {
    let people = staff.people();
    let phones: Vec<&str> = people.iter().filter_map(|p| p.phone.as_deref()).collect();
    let value = match channel.kind {
        ChannelKind::Mqtt => return None,
        ChannelKind::Webhook => {
            let (event, to, desk) = match staff {
                Staff::Assignee(p) => ("dispatched", Some(recipient(p)), Vec::new()),
                Staff::Desk(people) => (
                    "acceptance_overdue",
                    None,
                    people.iter().map(|p| recipient(p)).collect(),
                ),
            };
            serde_json::to_value(ToStaff {
                site: &catalog.site.id,
                event,
                text,
                to,
                desk,
                ticket,
            })
            .ok()?
        }
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
        ChannelKind::Email => {
            let to: Vec<String> = people.iter().filter_map(|p| p.email.clone()).collect();
            if to.is_empty() {
                return None;
            }
            let subject = match staff {
                Staff::Assignee(_) => "ticket-dispatched-subject",
                Staff::Desk(_) => "ticket-acceptance-overdue-subject",
            };
            serde_json::to_value(Envelope {
                to,
                subject: catalog.site.messages.text(
                    subject,
                    &[
                        ("id", Arg::Number(ticket.id)),
                        ("title", Arg::Text(&ticket.title)),
                    ],
                ),
                text: text.to_owned(),
            })
            .ok()?
        }
    };
    serde_json::to_vec(&value).ok()
}
