//! Repair tickets: the site's repair process, from a raised condition or a
//! phone call to an accepted, archived repair.
//!
//! Conditions whose rule says `ticket` arrive from the condition bus at the
//! [`desk`], which opens a ticket or adds an occurrence to the open one;
//! people move tickets through the [`lifecycle`] over the API. Every change
//! is committed to the [`store`] together with its outgoing deliveries
//! (MQTT, CMMS webhook), so nothing acknowledged is lost, and is announced
//! as a [`TicketChange`] to the sinks.

#![deny(missing_docs)]

pub mod accept_link;
pub mod desk;
pub mod extinguishers;
pub mod lifecycle;
pub mod notify;
pub mod preventive;
pub mod report;
pub mod schema;
pub mod store;

use sitewarden_model::vocab::Priority;
use sitewarden_runtime::clock;
use sitewarden_runtime::metrics::site_series;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::Notify;
use tracing::{info, warn};

pub use lifecycle::{Action, Status};
use sitewarden_model::catalog::Catalog;
use sitewarden_model::record::{Field, Record, record_time};
use sitewarden_rules::RulesHandle;

use sitewarden_model::vocab::{Category, Severity};
use sitewarden_runtime::bus::RecordBus;
use store::{NewTicket, TicketStore, TransitionRequest};

use sitewarden_model::text_enum;

text_enum! {
    /// Where a ticket came from.
    Origin {
        /// A raised condition.
        Condition = "condition",
        /// A person: phone, e-mail, front desk.
        Manual = "manual",
        /// A preventive-maintenance schedule.
        Preventive = "preventive",
        /// A notification channel that failed its self-test.
        SelfTest = "self_test",
        /// A guard's "not ok" at a patrol checkpoint.
        Patrol = "patrol",
    }
}

text_enum! {
    /// How a request reached the site: the repair process's form asks.
    Channel {
        /// Phoned in.
        Phone = "phone",
        /// By e-mail.
        Email = "email",
        /// At the front desk.
        Desk = "desk",
        /// A WeCom message.
        Wecom = "wecom",
        /// A condition the daemon raised.
        Condition = "condition",
    }
}

text_enum! {
    /// How a repair came to be accepted: the report tells the requester's
    /// own word from the desk's and from the default.
    AcceptedVia {
        /// Staff recorded it (the requester told them).
        Staff = "staff",
        /// The requester, through the link they were sent.
        Link = "link",
        /// Nobody answered in time; the site accepts by default.
        Default = "default",
    }
}

/// What the request form says beyond the ticket: how the request came,
/// its cause, and when it was reported (which may be before it was
/// registered: a message read in the morning).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestForm {
    /// How it came.
    pub channel: Channel,
    /// What the requester says caused it.
    pub cause: Option<String>,
    /// When it was reported.
    pub reported_at: Timestamp,
}

text_enum! {
    /// What changed on a ticket, as published.
    Change {
        /// Opened.
        Created = "created",
        /// Its condition was raised again while open.
        Occurrence = "occurrence",
        /// Its condition cleared (the ticket stays open until accepted).
        ConditionCleared = "condition_cleared",
        /// A person moved it through the lifecycle.
        Transition = "transition",
        /// No technician started within the response target.
        ResponseTargetMissed = "response_target_missed",
        /// Not resolved within the resolution target.
        ResolutionTargetMissed = "resolution_target_missed",
        /// The repair waited for acceptance too long: the front desk is reminded.
        AcceptanceOverdue = "acceptance_overdue",
        /// An item of its checklist was recorded.
        Checked = "checked",
    }
}

/// A ticket as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    /// Number, increasing.
    pub id: i64,
    /// Where it came from.
    pub origin: Origin,
    /// Repair, warranty or inquiry.
    pub category: Category,
    /// Urgency.
    pub priority: Priority,
    /// Lifecycle state.
    pub status: Status,
    /// One line for people.
    pub title: String,
    /// More detail.
    pub description: Option<String>,
    /// Device id.
    pub device: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// `pack.rule` that opened it.
    pub rule: Option<String>,
    /// Point that crossed the threshold.
    pub point: Option<String>,
    /// The reading that crossed it.
    pub value: Option<f64>,
    /// The threshold.
    pub threshold: Option<f64>,
    /// Condition severity.
    pub severity: Option<Severity>,
    /// Who asked (manual tickets).
    pub requester: Option<String>,
    /// How to reach them.
    pub contact: Option<String>,
    /// Technician it is dispatched to.
    pub assignee: Option<String>,
    /// Times its condition was raised while it was open.
    pub occurrences: i64,
    /// Last time it was raised.
    pub last_seen: Timestamp,
    /// When its condition last cleared.
    pub condition_cleared_at: Option<Timestamp>,
    /// Registered.
    pub created_at: Timestamp,
    /// First started by a technician.
    pub responded_at: Option<Timestamp>,
    /// Last resolved.
    pub resolved_at: Option<Timestamp>,
    /// Accepted by the requester.
    pub accepted_at: Option<Timestamp>,
    /// Archived.
    pub archived_at: Option<Timestamp>,
    /// Response target.
    pub response_due: Timestamp,
    /// Resolution target.
    pub resolution_due: Timestamp,
    /// The response target passed without a start.
    pub response_breached: bool,
    /// The resolution target passed without a resolution.
    pub resolution_breached: bool,
    /// Changes so far; with the id, the idempotency key of each published change.
    pub revision: i64,
    /// On hold since (the service-level clock stands still meanwhile).
    pub held_since: Option<Timestamp>,
    /// What it waits for, while on hold.
    pub hold_reason: Option<String>,
    /// Cancelled.
    pub cancelled_at: Option<Timestamp>,
    /// How the request came (none for preventive and self-test tickets).
    pub channel: Option<Channel>,
    /// What the requester says caused it.
    pub cause: Option<String>,
    /// When it was reported (registration for a condition's ticket).
    pub reported_at: Option<Timestamp>,
    /// Times the requester did not accept the repair and it went back for rework.
    pub reworks: i64,
    /// When the return visit is due, once the repair is accepted.
    pub visit_due: Option<Timestamp>,
    /// When the return visit was made.
    pub visited_at: Option<Timestamp>,
    /// The requester's satisfaction (at the acceptance or the return visit), 1–5.
    pub satisfaction: Option<i64>,
    /// How the repair was accepted.
    pub accepted_via: Option<AcceptedVia>,
    /// When the front desk was reminded that the repair waits for acceptance.
    pub acceptance_reminded_at: Option<Timestamp>,
    /// The preventive ticket whose failed check item opened this one.
    pub parent: Option<i64>,
}

impl Ticket {
    /// Seconds from registration to the first start.
    pub fn response_seconds(&self) -> Option<f64> {
        self.responded_at
            .map(|t| seconds_between(self.created_at, t))
    }

    /// Seconds from registration to the (last) resolution.
    pub fn resolution_seconds(&self) -> Option<f64> {
        self.resolved_at
            .map(|t| seconds_between(self.created_at, t))
    }
}

pub(crate) fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_microsecond() - from.as_microsecond()) as f64 / 1e6
}

/// One committed change: the message from tickets to the sinks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketChange {
    /// What changed.
    pub change: Change,
    /// The lifecycle action, for transitions.
    pub action: Option<Action>,
    /// When it was committed.
    pub at: Timestamp,
    /// The ticket after the change.
    pub ticket: Ticket,
}

/// Counters, rendered with the daemon's metrics.
#[derive(Debug, Default)]
pub struct TicketMetrics {
    /// Tickets opened, any origin.
    pub opened: AtomicU64,
    /// Repeat conditions folded into an open ticket.
    pub occurrences: AtomicU64,
    /// Lifecycle transitions made.
    pub transitions: AtomicU64,
    /// Transitions refused as illegal.
    pub refused: AtomicU64,
    /// Service-level targets missed.
    pub breaches: AtomicU64,
}

impl TicketMetrics {
    /// Writes the ticket desk's series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        site_series(
            out,
            site,
            &[
                (
                    "sitewarden_tickets_opened_total",
                    "counter",
                    "Tickets opened, any origin.",
                    &self.opened,
                ),
                (
                    "sitewarden_ticket_occurrences_total",
                    "counter",
                    "Repeat conditions added to an open ticket.",
                    &self.occurrences,
                ),
                (
                    "sitewarden_ticket_transitions_total",
                    "counter",
                    "Ticket lifecycle steps taken.",
                    &self.transitions,
                ),
                (
                    "sitewarden_ticket_transitions_refused_total",
                    "counter",
                    "Illegal ticket steps refused.",
                    &self.refused,
                ),
                (
                    "sitewarden_ticket_breaches_total",
                    "counter",
                    "Service-level targets missed.",
                    &self.breaches,
                ),
            ],
        );
    }
}

impl TicketChange {
    /// The change as a time-series record:
    /// `ticket,site,priority,category,origin,event[,device] id,open,occurrences,status[,response_s][,resolution_s][,breach][,satisfaction]`.
    pub fn record(&self, site: &str) -> Record {
        let t = &self.ticket;
        let event = self.action.map_or(self.change.as_str(), |a| a.as_str());
        let mut r = Record::new("ticket", record_time(self.at, t.id))
            .tag("site", site)
            .tag("priority", t.priority.as_str())
            .tag("category", t.category.as_str())
            .tag("origin", t.origin.as_str())
            .tag("event", event);
        if let Some(device) = &t.device {
            r = r.tag("device", device.as_str());
        }
        r = r
            .field("id", Field::Int(t.id))
            .field("open", Field::Int(i64::from(t.status.is_open())))
            .field("occurrences", Field::Int(t.occurrences))
            .field("status", Field::Text(t.status.as_str().to_owned()));
        for (key, value) in [
            ("response_s", t.response_seconds()),
            ("resolution_s", t.resolution_seconds()),
        ] {
            if let Some(v) = value {
                r = r.field(key, Field::Float(v));
            }
        }
        if matches!(
            self.change,
            Change::ResponseTargetMissed | Change::ResolutionTargetMissed
        ) {
            r = r.field("breach", Field::Int(1));
        }
        // The requester's score, on the change that gave it.
        if matches!(self.action, Some(Action::Accept | Action::Visit))
            && let Some(score) = t.satisfaction
        {
            r = r.field("satisfaction", Field::Int(score));
        }
        r
    }
}

/// Why a ticket request was refused.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// No ticket with that id.
    #[error("no ticket {0}")]
    NotFound(i64),
    /// The action does not apply in the ticket's state.
    #[error("cannot {action} a ticket that is {status}; allowed: {}", allowed_list(.allowed))]
    Illegal {
        /// The refused action.
        action: &'static str,
        /// Current state.
        status: &'static str,
        /// What would be allowed now.
        allowed: Vec<Action>,
    },
    /// The request lacks something the action needs.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("ticket store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The daemon is stopping.
    #[error("the ticket desk is stopping")]
    Stopping,
}

fn allowed_list(allowed: &[Action]) -> String {
    if allowed.is_empty() {
        // for engineers: part of an API error (`TicketError::Invalid`).
        return "nothing (the ticket is archived)".to_owned();
    }
    allowed
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything that may change tickets goes through here, so every change
/// is committed, announced and followed up the same way.
#[derive(Clone)]
pub struct TicketsHandle {
    /// The site.
    pub catalog: Arc<Catalog>,
    /// Tickets, history and deliveries.
    pub store: Arc<TicketStore>,
    /// Counters.
    pub metrics: Arc<TicketMetrics>,
    /// The requester's acceptance links, when the site has a public address.
    pub accept_links: Option<Arc<accept_link::AcceptLinks>>,
    bus: RecordBus,
    deliveries: Arc<Notify>,
    /// Told of every change, so the desk looks again at its next service-level deadline.
    changed: Arc<Notify>,
    rules: RulesHandle,
}

impl std::fmt::Debug for TicketsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketsHandle")
    }
}

impl TicketsHandle {
    /// Builds the handle the desk, the API and the MQTT commands share.
    pub fn new(
        catalog: Arc<Catalog>,
        store: Arc<TicketStore>,
        bus: RecordBus,
        deliveries: Arc<Notify>,
        rules: RulesHandle,
        metrics: Arc<TicketMetrics>,
    ) -> Self {
        Self {
            catalog,
            store,
            metrics,
            bus,
            deliveries,
            changed: Arc::new(Notify::new()),
            rules,
            accept_links: None,
        }
    }

    /// The same handle checking requesters' links with `links`.
    pub fn with_accept_links(mut self, links: Option<Arc<accept_link::AcceptLinks>>) -> Self {
        self.accept_links = links;
        self
    }

    /// Returns after the next change to any ticket (one waiter: the desk).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// When the next service-level target falls due; `None` when none is
    /// running or the store cannot say (the desk looks again within a minute).
    pub async fn next_breach_at(&self) -> Option<Timestamp> {
        let store = self.store.clone();
        match blocking(move || store.next_breach_at()).await {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                warn!(error = %e, "cannot read the next service-level deadline; looking again in a minute");
                None
            }
            Err(_) => None,
        }
    }

    /// Registers a ticket a person reported.
    pub async fn create(&self, ticket: NewTicket, actor: String) -> Result<Ticket, TicketError> {
        let store = self.store.clone();
        let change = blocking(move || store.create(&ticket, &actor, clock::now())).await??;
        self.metrics.opened.fetch_add(1, Relaxed);
        info!(ticket = change.ticket.id, title = %change.ticket.title, "ticket registered");
        let ticket = change.ticket.clone();
        self.announce(std::slice::from_ref(&change)).await;
        Ok(ticket)
    }

    /// Moves a ticket one step; an accepted service-interval ticket resets its counter.
    pub async fn transition(
        &self,
        id: i64,
        request: TransitionRequest,
    ) -> Result<Ticket, TicketError> {
        let store = self.store.clone();
        let actor = request.actor.clone();
        let result = blocking(move || store.transition(id, &request, clock::now())).await?;
        let change = match result {
            Ok(change) => change,
            Err(e) => {
                if matches!(e, TicketError::Illegal { .. }) {
                    self.metrics.refused.fetch_add(1, Relaxed);
                }
                return Err(e);
            }
        };
        self.metrics.transitions.fetch_add(1, Relaxed);
        let ticket = change.ticket.clone();
        info!(ticket = ticket.id, status = ticket.status.as_str(), by = %actor, "ticket moved");
        if ticket.status == Status::Accepted {
            self.reset_service_counter(&ticket, actor).await;
        }
        self.announce(std::slice::from_ref(&change)).await;
        Ok(ticket)
    }

    /// Whether the requester's link can still answer (for the page it opens).
    pub async fn link_answerable(
        &self,
        grant: accept_link::AcceptGrant,
    ) -> Result<(), store::LinkAnswerError> {
        let store = self.store.clone();
        blocking(move || store.link_answerable(&grant)).await?
    }

    /// Records the requester's answer through their link.
    pub async fn answer_by_link(
        &self,
        grant: accept_link::AcceptGrant,
        answer: store::LinkAnswer,
    ) -> Result<Ticket, store::LinkAnswerError> {
        let store = self.store.clone();
        let change =
            blocking(move || store.answer_by_link(&grant, &answer, clock::now())).await??;
        self.metrics.transitions.fetch_add(1, Relaxed);
        let ticket = change.ticket.clone();
        info!(
            ticket = ticket.id,
            status = ticket.status.as_str(),
            "requester answered through their link"
        );
        if ticket.status == Status::Accepted {
            self.reset_service_counter(&ticket, "requester".into())
                .await;
        }
        self.announce(std::slice::from_ref(&change)).await;
        Ok(ticket)
    }

    /// Keeps a photo with ticket `id`.
    pub async fn add_photo(
        &self,
        id: i64,
        bytes: Vec<u8>,
        actor: String,
    ) -> Result<store::PhotoInfo, TicketError> {
        let store = self.store.clone();
        let photo = blocking(move || store.add_photo(id, &bytes, &actor, clock::now())).await??;
        info!(
            ticket = id,
            photo = photo.id,
            bytes = photo.bytes,
            "photo kept with a ticket"
        );
        Ok(photo)
    }

    /// Records one checklist item; a failed item opens its repair ticket.
    pub async fn check(&self, id: i64, entry: store::CheckEntry) -> Result<Ticket, TicketError> {
        let store = self.store.clone();
        let changes = blocking(move || store.check(id, &entry, clock::now())).await??;
        if let Some(opened) = changes.get(1) {
            self.metrics.opened.fetch_add(1, Relaxed);
            info!(
                ticket = opened.ticket.id,
                parent = id,
                "failed check item opened a repair ticket"
            );
        }
        let ticket = changes
            .first()
            .map(|c| c.ticket.clone())
            .ok_or(TicketError::NotFound(id))?;
        self.announce(&changes).await;
        Ok(ticket)
    }

    /// Commits a batch of condition events: opens, adds occurrences, records clearing.
    pub async fn apply_conditions(
        &self,
        events: Vec<store::ConditionInput>,
    ) -> Result<(), TicketError> {
        let store = self.store.clone();
        let changes = blocking(move || store.apply_conditions(&events)).await??;
        for c in &changes {
            match c.change {
                Change::Created => {
                    self.metrics.opened.fetch_add(1, Relaxed);
                    info!(
                        ticket = c.ticket.id,
                        device = c.ticket.device.as_deref().unwrap_or("-"),
                        rule = c.ticket.rule.as_deref().unwrap_or("-"),
                        priority = c.ticket.priority.as_str(),
                        "ticket opened from a condition: {}",
                        c.ticket.title
                    );
                }
                Change::Occurrence => {
                    self.metrics.occurrences.fetch_add(1, Relaxed);
                }
                _ => {}
            }
        }
        self.announce(&changes).await;
        Ok(())
    }

    /// Flags tickets past their service-level targets, reminds the front
    /// desk of repairs waiting too long for acceptance and accepts by
    /// default those the site lets it.
    pub async fn check_service_levels(&self) -> Result<(), TicketError> {
        let store = self.store.clone();
        let chased = blocking(move || store.chase_acceptance(clock::now())).await??;
        for c in &chased {
            match c.ticket.status {
                Status::Accepted => {
                    info!(
                        ticket = c.ticket.id,
                        "repair accepted by default: the requester did not answer in time"
                    );
                    self.reset_service_counter(&c.ticket, "sitewarden".into())
                        .await;
                }
                _ => info!(
                    ticket = c.ticket.id,
                    "repair waits for acceptance: front desk reminded"
                ),
            }
        }
        self.announce(&chased).await;
        let store = self.store.clone();
        let changes = blocking(move || store.flag_breaches(clock::now())).await??;
        for c in &changes {
            self.metrics.breaches.fetch_add(1, Relaxed);
            warn!(
                ticket = c.ticket.id,
                priority = c.ticket.priority.as_str(),
                change = c.change.as_str(),
                "ticket past its service-level target: {}",
                c.ticket.title
            );
        }
        self.announce(&changes).await;
        Ok(())
    }

    /// Opens a preventive-maintenance ticket that fell due, unless the last one is still open.
    pub async fn open_preventive(
        &self,
        schedule: usize,
        ticket: NewTicket,
    ) -> Result<(), TicketError> {
        let Some((id, checklist)) = self
            .catalog
            .tickets
            .preventive
            .get(schedule)
            .map(|s| (s.id.clone(), s.checklist.clone()))
        else {
            return Ok(());
        };
        self.open_work(id, ticket, checklist).await
    }

    /// Opens calendar work once per occurrence `key` (a schedule's id, an
    /// extinguisher's service date), unless the same work (its dedup key)
    /// is still open; with `checklist` as its items.
    pub async fn open_work(
        &self,
        key: String,
        ticket: NewTicket,
        checklist: Vec<String>,
    ) -> Result<(), TicketError> {
        let store = self.store.clone();
        let change = blocking(move || store.open_preventive(&key, &ticket, &checklist)).await??;
        if let Some(change) = change {
            self.metrics.opened.fetch_add(1, Relaxed);
            info!(
                ticket = change.ticket.id,
                "preventive maintenance due: {}", change.ticket.title
            );
            self.announce(std::slice::from_ref(&change)).await;
        }
        Ok(())
    }

    async fn announce(&self, changes: &[TicketChange]) {
        if changes.is_empty() {
            return;
        }
        self.deliveries.notify_waiters();
        self.changed.notify_one();
        for change in changes {
            self.bus.publish(change.record(&self.catalog.site.id)).await;
        }
    }

    async fn reset_service_counter(&self, ticket: &Ticket, by: String) {
        let (Some(device), Some(rule)) = (&ticket.device, &ticket.rule) else {
            return;
        };
        let is_counter =
            self.catalog.rules.iter().any(|r| {
                &r.id == rule && r.kind == sitewarden_model::vocab::RuleKind::ServiceInterval
            });
        if !is_counter {
            return;
        }
        match self
            .rules
            .record_service(&self.catalog, device, rule, by)
            .await
        {
            Ok(_) => {
                info!(ticket = ticket.id, %device, %rule, "run-hour counter reset by the accepted repair")
            }
            Err(e) => {
                warn!(ticket = ticket.id, error = %e, "accepted repair could not reset its run-hour counter")
            }
        }
    }
}

/// Runs database work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TicketError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| TicketError::Stopping)
}
