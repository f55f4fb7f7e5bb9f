//! Tickets, their audit trail and their outgoing deliveries in SQLite.
//!
//! `operations.db` runs in WAL mode with `synchronous=FULL`: when a request
//! is answered, its change and the deliveries announcing it are on disk
//! together, and survive `kill -9` or a power cut. Condition batches are
//! committed as one transaction each, so a burst of conditions costs one
//! fsync, not one per condition.

use sitewarden_runtime::clock;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::{
    AcceptedVia, Action, Change, Channel, Origin, RequestForm, Status, Ticket, TicketChange,
    TicketError,
};
use sitewarden_delivery::{self as delivery, DeliveryView, Outgoing};
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_model::topics::Topics;
use sitewarden_model::vocab::Priority;
use sitewarden_model::vocab::{Category, Severity};
use sitewarden_runtime::db::{self, Durability, from_micros, micros};

mod acceptance;
mod breaches;
mod checklist;
mod photos;
mod preventive;
mod reads;
mod rows;

pub use acceptance::{AcceptanceWait, LinkAnswer, LinkAnswerError};
pub use checklist::{CheckEntry, CheckItem, CheckResult};
pub use photos::{MAX_PHOTO_BYTES, MAX_PHOTOS, PhotoInfo, image_type};
use rows::{load, map_ticket, text};

/// A ticket about to be registered, with its priority and targets decided.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Where it came from.
    pub origin: Origin,
    /// Repair, warranty, inquiry.
    pub category: Category,
    /// Urgency.
    pub priority: Priority,
    /// One line.
    pub title: String,
    /// Detail.
    pub description: Option<String>,
    /// Device id.
    pub device: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// Rule that opened it.
    pub rule: Option<String>,
    /// Point.
    pub point: Option<String>,
    /// Reading that crossed the threshold.
    pub value: Option<f64>,
    /// Threshold.
    pub threshold: Option<f64>,
    /// Severity.
    pub severity: Option<Severity>,
    /// Who asked.
    pub requester: Option<String>,
    /// Their phone or e-mail.
    pub contact: Option<String>,
    /// At most one open ticket per key (a condition, a schedule).
    pub dedup_key: Option<String>,
    /// The request form, for a request a person made.
    pub form: Option<RequestForm>,
    /// Registered at.
    pub at: Timestamp,
    /// Response target.
    pub response_due: Timestamp,
    /// Resolution target.
    pub resolution_due: Timestamp,
}

impl NewTicket {
    /// Work people register or a calendar opens: nothing but its title,
    /// class and targets set; the rest is filled in with struct update
    /// syntax (`NewTicket { device, ..NewTicket::work(…) }`).
    pub fn work(
        origin: Origin,
        priority: Priority,
        title: String,
        at: Timestamp,
        (response_due, resolution_due): (Timestamp, Timestamp),
    ) -> Self {
        Self {
            origin,
            category: Category::Repair,
            priority,
            title,
            description: None,
            device: None,
            location: None,
            rule: None,
            point: None,
            value: None,
            threshold: None,
            severity: None,
            requester: None,
            contact: None,
            dedup_key: None,
            form: None,
            at,
            response_due,
            resolution_due,
        }
    }
}

/// A condition transition that concerns tickets.
#[derive(Debug, Clone)]
pub enum ConditionInput {
    /// Raised: open a ticket, or count an occurrence on the open one.
    Raised(Box<NewTicket>),
    /// Cleared: note it on the open ticket.
    Cleared {
        /// The condition's key.
        dedup_key: String,
        /// When.
        at: Timestamp,
        /// Last value.
        value: Option<f64>,
    },
}

/// A step someone asked for.
#[derive(Debug, Clone)]
pub struct TransitionRequest {
    /// What.
    pub action: Action,
    /// Who (token name).
    pub actor: String,
    /// Technician, for `dispatch`.
    pub assignee: Option<String>,
    /// Why, or what was done.
    pub note: Option<String>,
    /// For `visit`: the requester's satisfaction, 1–5.
    pub score: Option<u8>,
}

/// One line of a ticket's audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// When.
    pub at: Timestamp,
    /// Who (`sitewarden` for the daemon itself).
    pub actor: String,
    /// What.
    pub action: String,
    /// State before.
    pub from: Option<String>,
    /// State after.
    pub to: String,
    /// Note.
    pub note: Option<String>,
}

/// A ticket with everything that happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct TicketDetail {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Audit trail, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Deliveries to MQTT and the webhook.
    pub deliveries: Vec<DeliveryView>,
    /// Its checklist (preventive tickets whose schedule has one).
    pub checklist: Vec<CheckItem>,
    /// Photos sent with it, without their bytes (`…/photos/{id}` serves them).
    pub photos: Vec<PhotoInfo>,
}

/// Filters for [`TicketStore::list`]; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Status.
    pub status: Option<Status>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Device id.
    pub device: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Registered at or after.
    pub from: Option<Timestamp>,
    /// Registered before.
    pub to: Option<Timestamp>,
    /// Only ids below this (paging, newest first).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

/// Where each change goes besides the sinks.
#[derive(Debug, Clone)]
pub struct Outlets {
    /// Site id, in every payload and key.
    pub site: String,
    /// MQTT topic root, when MQTT is configured.
    pub topics: Option<Topics>,
    /// Whether a CMMS webhook is configured.
    pub webhook: bool,
    /// The site's messages, for the notes a ticket's history shows.
    pub messages: std::sync::Arc<Messages>,
}

/// Delivery channel of ticket changes to MQTT.
pub const MQTT_CHANNEL: &str = "tickets-mqtt";
/// Delivery channel of ticket changes to the CMMS webhook.
pub const WEBHOOK_CHANNEL: &str = "tickets-webhook";

/// `<data_dir>/operations.db`, the ticket side. Write transactions begin
/// IMMEDIATE: a read-then-write transaction cannot be refused halfway
/// because a delivery loop committed in between.
pub struct TicketStore {
    /// How long a repair waits for acceptance before it is chased.
    acceptance: AcceptanceWait,
    /// How long after an acceptance the return visit falls due.
    return_visit_after: std::time::Duration,
    /// The messages that tell people about a change (see [`crate::notify`]).
    notices: Option<Notices>,
    outlets: Outlets,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for TicketStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketStore")
    }
}

const COLUMNS: &str = "id, origin, category, priority, status, title, description, device, location,
    rule, point, value, threshold, severity, requester, contact, assignee, occurrences, last_seen_us,
    condition_cleared_us, created_us, responded_us, resolved_us, accepted_us, archived_us,
    response_due_us, resolution_due_us, response_breached, resolution_breached, revision,
    held_us, hold_reason, cancelled_us, channel, cause, reported_us, reworks,
    visit_due_us, visited_us, satisfaction, accepted_via, acceptance_reminded_us, parent";

const OPEN: &str = "status NOT IN ('accepted', 'archived', 'cancelled')";

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a store queues with a change: the messages for the ticket after
/// it, at that moment of its life, sent now.
pub type Notices = std::sync::Arc<
    dyn Fn(crate::notify::Moment, &Ticket, Timestamp) -> Vec<crate::notify::Notice> + Send + Sync,
>;

/// The plan's return visit: a week after the repair was accepted.
pub const DEFAULT_RETURN_VISIT_AFTER: std::time::Duration =
    std::time::Duration::from_secs(7 * 86_400);

impl TicketStore {
    /// The same store with return visits falling due `after` an acceptance
    /// (`[tickets] return_visit_after`).
    pub fn with_return_visits_after(mut self, after: std::time::Duration) -> Self {
        self.return_visit_after = after;
        self
    }

    /// The same store queueing `notices(moment, ticket, now)` with every
    /// registration, step and reminder, in its transaction (see [`crate::notify`]).
    pub fn with_notices(mut self, notices: Notices) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Opens (creating and migrating) `dir/operations.db`.
    pub fn open(dir: &Path, outlets: Outlets) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("operations.db");
        let writer = db::open_checked(&path, Durability::PowerCut, super::schema::OPERATIONS)?;
        let reader = db::connect(&path, Durability::PowerCut)?;
        Ok(Self {
            outlets,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            return_visit_after: DEFAULT_RETURN_VISIT_AFTER,
            acceptance: AcceptanceWait::default(),
            notices: None,
        })
    }

    /// Registers a ticket.
    pub fn create(
        &self,
        ticket: &NewTicket,
        actor: &str,
        now: Timestamp,
    ) -> Result<TicketChange, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert(&tx, &self.outlets.messages, ticket, actor, now)?;
        let change = self.announce(&tx, id, Change::Created, None, now)?;
        if let Some(notices) = &self.notices {
            let told = notices(crate::notify::Moment::Registered, &change.ticket, now);
            self.queue_notices(&tx, &change.ticket, &told, now)?;
        }
        tx.commit()?;
        Ok(change)
    }

    /// Applies condition transitions in one transaction; one change per touched ticket.
    pub fn apply_conditions(
        &self,
        inputs: &[ConditionInput],
    ) -> Result<Vec<TicketChange>, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut touched: Vec<(i64, Change, Timestamp)> = Vec::new();
        for input in inputs {
            let (id, change, at) = match input {
                ConditionInput::Raised(new) => {
                    let key = new.dedup_key.as_deref().unwrap_or_default();
                    match open_by_key(&tx, key)? {
                        Some(id) => {
                            tx.prepare_cached(
                                "UPDATE ticket SET occurrences = occurrences + 1, last_seen_us = ?2,
                                 revision = revision + 1 WHERE id = ?1",
                            )?
                            .execute(params![id, micros(new.at)])?;
                            (id, Change::Occurrence, new.at)
                        }
                        None => (
                            insert(&tx, &self.outlets.messages, new, "sitewarden", new.at)?,
                            Change::Created,
                            new.at,
                        ),
                    }
                }
                ConditionInput::Cleared {
                    dedup_key,
                    at,
                    value,
                } => {
                    let Some(id) = open_by_key(&tx, dedup_key)? else {
                        continue;
                    };
                    tx.prepare_cached(
                        "UPDATE ticket SET condition_cleared_us = ?2, revision = revision + 1 WHERE id = ?1",
                    )?
                    .execute(params![id, micros(*at)])?;
                    let note = value.map(|v| {
                        self.outlets
                            .messages
                            .text("ticket-note-cleared", &[("value", Arg::Decimal(v))])
                    });
                    history(
                        &tx,
                        id,
                        *at,
                        "sitewarden",
                        "condition_cleared",
                        None,
                        None,
                        note.as_deref(),
                    )?;
                    (id, Change::ConditionCleared, *at)
                }
            };
            match touched.iter_mut().find(|(t, ..)| *t == id) {
                // A ticket created in this batch is announced once, as created.
                Some(entry) if entry.1 != Change::Created => *entry = (id, change, at),
                Some(_) => {}
                None => touched.push((id, change, at)),
            }
        }
        let mut changes = Vec::with_capacity(touched.len());
        for (id, change, at) in touched {
            changes.push(self.announce(&tx, id, change, None, at)?);
        }
        tx.commit()?;
        Ok(changes)
    }

    /// Moves a ticket one step of the repair process.
    pub fn transition(
        &self,
        id: i64,
        request: &TransitionRequest,
        now: Timestamp,
    ) -> Result<TicketChange, TicketError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let change = self.step(&tx, id, request, now, AcceptedVia::Staff)?;
        tx.commit()?;
        Ok(change)
    }

    /// One step inside `tx`; an acceptance is recorded as taken `via`.
    fn step(
        &self,
        tx: &Transaction<'_>,
        id: i64,
        request: &TransitionRequest,
        now: Timestamp,
        via: AcceptedVia,
    ) -> Result<TicketChange, TicketError> {
        let status: Option<String> = tx
            .prepare_cached("SELECT status FROM ticket WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let status = status
            .and_then(|s| Status::parse(&s))
            .ok_or(TicketError::NotFound(id))?;
        let action = request.action;
        let Some(next) = action.apply(status) else {
            return Err(TicketError::Illegal {
                action: action.as_str(),
                status: status.as_str(),
                allowed: Action::allowed_from(status),
            });
        };
        let note = request
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let assignee = request
            .assignee
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        match action {
            Action::Dispatch if assignee.is_none() => {
                return Err(TicketError::Invalid(
                    "dispatch needs an `assignee`: the technician who will do the repair".into(),
                ));
            }
            Action::Reject if note.is_none() => {
                return Err(TicketError::Invalid(
                    "reject needs a `note` saying what is still wrong, for the re-inspection"
                        .into(),
                ));
            }
            Action::Hold if note.is_none() => {
                return Err(TicketError::Invalid(
                    "hold needs a `note` saying what the ticket waits for (parts, the customer)"
                        .into(),
                ));
            }
            _ if request.score.is_some_and(|s| !(1..=5).contains(&s)) => {
                return Err(TicketError::Invalid(
                    "a `score` is the requester's satisfaction from 1 to 5".into(),
                ));
            }
            Action::Visit if note.is_none() || request.score.is_none() => {
                return Err(TicketError::Invalid(
                    "visit needs a `note` (what the requester said) and a `score` from 1 to 5"
                        .into(),
                ));
            }
            Action::Cancel if note.is_none() => {
                return Err(TicketError::Invalid(
                    "cancel needs a `note` saying why (a duplicate of which ticket, withdrawn by whom)"
                        .into(),
                ));
            }
            _ => {}
        }
        let next = match action {
            Action::Resume => held_from(tx, id)?,
            _ => next,
        };
        if action == Action::Resolve {
            let open = checklist::unchecked(tx, id)?;
            if !open.is_empty() {
                return Err(TicketError::Invalid(format!(
                    "the checklist is not finished: {} not recorded",
                    open.join(", ")
                )));
            }
        }
        if action == Action::Visit && visited(tx, id)? {
            return Err(TicketError::Invalid(
                "the return visit was recorded already".into(),
            ));
        }
        // Resuming moves both targets on by the time held: the clock stood still.
        let stamp = match action {
            Action::Start => ", responded_us = coalesce(responded_us, ?2)",
            // A new round of acceptance: the desk may need reminding again.
            Action::Resolve => ", resolved_us = ?2, acceptance_reminded_us = NULL",
            // The return visit falls due a while after the acceptance.
            // The score the requester may give with the acceptance.
            Action::Accept => {
                ", accepted_us = ?2, visit_due_us = ?2 + ?5, accepted_via = ?6,
                 satisfaction = coalesce(?7, satisfaction)"
            }
            Action::Visit => ", visited_us = ?2, satisfaction = ?5",
            Action::Archive => ", archived_us = ?2",
            Action::Hold => ", held_us = ?2, held_from = ?5, hold_reason = ?6",
            Action::Resume => {
                ", response_due_us = response_due_us + max(0, ?2 - held_us),
                 resolution_due_us = resolution_due_us + max(0, ?2 - held_us),
                 held_us = NULL, held_from = NULL, hold_reason = NULL"
            }
            Action::Cancel => ", cancelled_us = ?2, held_us = NULL, held_from = NULL",
            Action::Reject => ", reworks = reworks + 1",
            Action::Dispatch => "",
        };
        let update = format!(
            "UPDATE ticket SET status = ?3, assignee = coalesce(?4, assignee), updated_us = ?2,
             revision = revision + 1 {stamp} WHERE id = ?1"
        );
        let at = micros(now);
        if action == Action::Hold {
            let held = params![id, at, next.as_str(), assignee, status.as_str(), note];
            tx.execute(&update, held)?;
        } else if action == Action::Accept {
            let after = self.return_visit_after.as_micros() as i64;
            let score = request.score.map(i64::from);
            let params = params![id, at, next.as_str(), assignee, after, via.as_str(), score];
            tx.execute(&update, params)?;
        } else if action == Action::Visit {
            let score = request.score.map(i64::from);
            tx.execute(&update, params![id, at, next.as_str(), assignee, score])?;
        } else {
            tx.execute(&update, params![id, at, next.as_str(), assignee])?;
        }
        let m = &self.outlets.messages;
        let note = match (action, assignee, note) {
            (Action::Dispatch, Some(a), None) => {
                Some(m.text("ticket-note-dispatched", &[("assignee", Arg::Text(a))]))
            }
            (Action::Dispatch, Some(a), Some(n)) => Some(m.text(
                "ticket-note-dispatched-with-note",
                &[("assignee", Arg::Text(a)), ("note", Arg::Text(n))],
            )),
            (_, _, note) => note.map(str::to_owned),
        };
        history(
            tx,
            id,
            now,
            &request.actor,
            action.as_str(),
            Some(status.as_str()),
            Some(next.as_str()),
            note.as_deref(),
        )?;
        let change = self.announce(tx, id, Change::Transition, Some(action), now)?;
        if let Some(notices) = &self.notices {
            let told = notices(crate::notify::Moment::Step(action), &change.ticket, now);
            self.queue_notices(tx, &change.ticket, &told, now)?;
        }
        Ok(change)
    }

    /// Queues messages about `ticket` on their channels.
    fn queue_notices(
        &self,
        tx: &Transaction<'_>,
        ticket: &Ticket,
        notices: &[crate::notify::Notice],
        now: Timestamp,
    ) -> Result<(), TicketError> {
        let subject = format!("ticket:{}", ticket.id);
        for n in notices {
            let key = format!(
                "{}-ticket-{}-r{}-{}",
                self.outlets.site, ticket.id, ticket.revision, n.channel
            );
            let message = Outgoing {
                channel: &n.channel,
                subject: &subject,
                key: &key,
                topic: None,
                payload: &n.payload,
                retain: false,
                priority: 0,
            };
            delivery::enqueue(tx, &message, now)?;
        }
        Ok(())
    }

    /// Loads the ticket after a change and queues its deliveries.
    fn announce(
        &self,
        tx: &Transaction<'_>,
        id: i64,
        change: Change,
        action: Option<Action>,
        now: Timestamp,
    ) -> Result<TicketChange, TicketError> {
        let ticket = load(tx, id)?.ok_or(TicketError::NotFound(id))?;
        let out = &self.outlets;
        let key = format!("{}-ticket-{}-r{}", out.site, ticket.id, ticket.revision);
        let message = ChangeMessage {
            key: &key,
            site: &out.site,
            change: change.as_str(),
            action: action.map(Action::as_str),
            ticket: &ticket,
        };
        let payload =
            serde_json::to_vec(&message).map_err(|e| TicketError::Invalid(e.to_string()))?;
        let subject = format!("ticket:{id}");
        let message = Outgoing {
            channel: WEBHOOK_CHANNEL,
            subject: &subject,
            key: &key,
            topic: None,
            payload: &payload,
            retain: false,
            priority: 0,
        };
        if let Some(topics) = &out.topics {
            let topic = topics.ticket(id);
            let mqtt = Outgoing {
                channel: MQTT_CHANNEL,
                topic: Some(&topic),
                ..message
            };
            delivery::enqueue(tx, &mqtt, now)?;
        }
        if out.webhook {
            delivery::enqueue(tx, &message, now)?;
        }
        Ok(TicketChange {
            change,
            action,
            at: now,
            ticket,
        })
    }
}

/// What MQTT and the webhook receive for every change.
#[derive(Serialize)]
struct ChangeMessage<'a> {
    /// Idempotency key.
    key: &'a str,
    site: &'a str,
    change: &'static str,
    action: Option<&'static str>,
    ticket: &'a Ticket,
}

fn open_by_key(tx: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(&format!(
        "SELECT id FROM ticket WHERE dedup_key = ?1 AND {OPEN}"
    ))?
    .query_row([key], |r| r.get(0))
    .optional()
}

fn insert(
    tx: &Connection,
    messages: &Messages,
    t: &NewTicket,
    actor: &str,
    now: Timestamp,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO ticket (origin, category, priority, status, title, description, device, location,
             rule, point, value, threshold, severity, requester, contact, dedup_key, last_seen_us,
             created_us, response_due_us, resolution_due_us, channel, cause, reported_us)
         VALUES (?1, ?2, ?3, 'registered', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18,
                 ?19, ?20, ?21)",
    )?
    .execute(params![
        t.origin.as_str(),
        text(&t.category),
        t.priority.as_str(),
        t.title,
        t.description,
        t.device,
        t.location,
        t.rule,
        t.point,
        t.value,
        t.threshold,
        t.severity.as_ref().map(text),
        t.requester,
        t.contact,
        t.dedup_key,
        micros(t.at),
        micros(t.response_due),
        micros(t.resolution_due),
        channel(t).map(Channel::as_str),
        t.form.as_ref().and_then(|f| f.cause.as_deref()),
        micros(t.form.as_ref().map_or(t.at, |f| f.reported_at)),
    ])?;
    let id = tx.last_insert_rowid();
    let note = match (t.value, t.threshold) {
        (Some(v), Some(th)) => Some(messages.text(
            "ticket-note-reading-against",
            &[("value", Arg::Decimal(v)), ("threshold", Arg::Decimal(th))],
        )),
        (Some(v), None) => {
            Some(messages.text("ticket-note-reading", &[("value", Arg::Decimal(v))]))
        }
        _ => None,
    };
    history(
        tx,
        id,
        now,
        actor,
        "register",
        None,
        Some(Status::Registered.as_str()),
        note.as_deref(),
    )?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
fn history(
    tx: &Connection,
    ticket: i64,
    at: Timestamp,
    actor: &str,
    action: &str,
    from: Option<&str>,
    to: Option<&str>,
    note: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ticket_history (ticket, at_us, actor, action, from_status, to_status, note)
         VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, (SELECT status FROM ticket WHERE id = ?1)), ?7)",
    )?
    .execute(params![ticket, micros(at), actor, action, from, to, note])
    .map(|_| ())
}

/// The ticket for a notification channel that needs a person: it failed
/// its scheduled self-test (`self_test`), or its receiver refused a
/// notification for good. One open ticket per channel (its dedup key).
pub fn channel_fault_ticket(
    catalog: &sitewarden_model::catalog::Catalog,
    channel: &str,
    error: &str,
    self_test: bool,
) -> NewTicket {
    let m = &catalog.site.messages;
    let args = [("channel", Arg::Text(channel)), ("error", Arg::Text(error))];
    let (title, description) = if self_test {
        (
            m.text("ticket-channel-self-test-failed", &args),
            m.text("ticket-channel-self-test-failed-description", &args),
        )
    } else {
        (
            m.text("ticket-channel-refuses", &args),
            m.text("ticket-channel-refuses-description", &args),
        )
    };
    system_fault_ticket(catalog, title, description, format!("self-test:{channel}"))
}

/// The ticket for a database found corrupt at start: it was moved aside and
/// the daemon runs on a fresh one, so its history is missing until someone
/// restores or inspects the file.
pub fn database_fault_ticket(
    catalog: &sitewarden_model::catalog::Catalog,
    database: &str,
    moved_to: &str,
    reason: &str,
) -> NewTicket {
    let m = &catalog.site.messages;
    let args = [
        ("database", Arg::Text(database)),
        ("moved_to", Arg::Text(moved_to)),
        ("reason", Arg::Text(reason)),
    ];
    system_fault_ticket(
        catalog,
        m.text("ticket-database-corrupt", &args),
        m.text("ticket-database-corrupt-description", &args),
        format!("database-corrupt:{database}"),
    )
}

/// A P2 repair ticket about sitewarden's own machinery (origin
/// `self_test`), one open per `dedup_key`.
fn system_fault_ticket(
    catalog: &sitewarden_model::catalog::Catalog,
    title: String,
    description: String,
    dedup_key: String,
) -> NewTicket {
    let now = clock::now();
    let priority = Priority::P2;
    let level = catalog.tickets.level(priority);
    NewTicket {
        origin: Origin::SelfTest,
        category: Category::Repair,
        priority,
        title,
        description: Some(description),
        device: None,
        location: None,
        rule: None,
        point: None,
        value: None,
        threshold: None,
        severity: Some(Severity::Major),
        requester: None,
        contact: None,
        dedup_key: Some(dedup_key),
        form: None,
        at: now,
        response_due: now + level.response,
        resolution_due: now + level.resolution,
    }
}

/// How a ticket's request came: the form's channel, or a condition.
fn channel(t: &NewTicket) -> Option<Channel> {
    match (&t.form, t.origin) {
        (Some(form), _) => Some(form.channel),
        (None, Origin::Condition) => Some(Channel::Condition),
        (None, _) => None,
    }
}

/// Whether the ticket's return visit was recorded.
fn visited(tx: &Transaction<'_>, id: i64) -> Result<bool, TicketError> {
    let at: Option<i64> = tx
        .prepare_cached("SELECT visited_us FROM ticket WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(at.is_some())
}

/// Where a held ticket was when it was put on hold (in progress for a
/// row without it).
fn held_from(tx: &Transaction<'_>, id: i64) -> Result<Status, TicketError> {
    let from: Option<String> = tx
        .prepare_cached("SELECT held_from FROM ticket WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(from
        .and_then(|s| Status::parse(&s))
        .unwrap_or(Status::InProgress))
}

#[cfg(test)]
mod process_tests;
