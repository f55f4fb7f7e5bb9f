//! One command layer for every front end: the HTTP API and MQTT commands
//! parse a request into a [`Command`], establish the [`Caller`] from a
//! token, and [`Control::execute`] checks the caller's role against the
//! command's (one table, [`Command::roles`]) and carries it out on the
//! stage it belongs to. Front ends only parse and map [`CommandError`]s.
//!
//! This module sits after every stage in the flow: it calls rules,
//! tickets and alerts, and nothing upstream calls it.

pub mod error;

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
pub use sitewarden_model::catalog::ApiToken;
use sitewarden_model::catalog::Catalog;
use sitewarden_model::vocab::ApiRole;

use crate::alerts::store::{CheckIn, Drill, PlanProgress, Silence};
use crate::alerts::{
    Alert, AlertsHandle, DrillRequest, EmergencyReport, SilenceRequest, TestRequest,
};
use crate::patrol::findings::{Finding, FindingsError, FindingsReport};
use crate::patrol::store::PatrolStore;
use crate::rules::RulesHandle;
use crate::tickets::store::{CheckEntry, CheckResult, NewTicket, PhotoInfo, TransitionRequest};
use crate::tickets::{Action, Ticket, TicketsHandle};
pub use error::{CommandError, Refusal};

/// Anyone with a token may acknowledge: the guard at the desk as much as the engineer.
/// Largest request accepted, over HTTP (its body) and MQTT (a command's
/// payload) alike: every request is a small JSON object, and a megabyte
/// note must not land in tickets and alert messages.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Acknowledging an alert, or adding a photo to a ticket: anyone on duty.
const ACK_ROLES: &[ApiRole] = &[
    ApiRole::FrontDesk,
    ApiRole::Security,
    ApiRole::Technician,
    ApiRole::Engineer,
];
/// Silences and drills change who gets called: the engineer's decision.
const PLAN_ROLES: &[ApiRole] = &[ApiRole::Engineer];
/// Service records reset run-hour counters: the people who did the work.
const SERVICE_ROLES: &[ApiRole] = &[ApiRole::Technician, ApiRole::Engineer];

/// Something a person asks the daemon to change.
#[derive(Debug)]
pub enum Command {
    /// `device` was serviced for service-interval `rule`.
    RecordService {
        /// Device name.
        device: String,
        /// Rule id.
        rule: String,
    },
    /// Someone takes an alert: escalation stops.
    AckAlert {
        /// Alert id.
        alert: i64,
        /// What they say.
        note: Option<String>,
    },
    /// An emergency a person reports (a phone call to the hotline, a
    /// visitor at the desk): the same alert chain as a sensor's.
    ReportEmergency(EmergencyReport),
    /// A drill window: alarms in it reach only the coordinator.
    DeclareDrill(DrillRequest),
    /// Ends a drill now, or calls off one not yet begun.
    EndDrill {
        /// Drill id.
        drill: i64,
    },
    /// A guard's findings at a patrol checkpoint.
    PatrolFindings(FindingsReport),
    /// A step of an alert's response plan was done.
    PlanStepDone {
        /// Alert id.
        alert: i64,
        /// Step, from 1.
        step: usize,
        /// What they say.
        note: Option<String>,
    },
    /// The person on duty checks in for their shift, with the handover note.
    CheckIn {
        /// `[[people]]` id; the caller's name when left out.
        person: Option<String>,
        /// Handover note.
        note: Option<String>,
    },
    /// A technician tests detectors: their alarms are recorded, not escalated.
    DeclareTest(TestRequest),
    /// A maintenance window: matching alerts call nobody.
    AddSilence(SilenceRequest),
    /// Ends a silence before its time.
    EndSilence {
        /// Silence id.
        silence: i64,
    },
    /// A ticket opened by hand (phone call, front desk).
    CreateTicket(Box<NewTicket>),
    /// A step of the repair process on a ticket.
    MoveTicket {
        /// Ticket id.
        ticket: i64,
        /// The step.
        action: Action,
        /// For `assign`.
        assignee: Option<String>,
        /// What they say.
        note: Option<String>,
        /// For `visit`: the requester's satisfaction, 1–5.
        score: Option<u8>,
    },
    /// A photo with a request or of the work (JPEG, PNG or WebP).
    AddPhoto {
        /// Ticket id.
        ticket: i64,
        /// The image.
        bytes: Vec<u8>,
    },
    /// One item of a preventive ticket's checklist, recorded by the technician.
    CheckItem {
        /// Ticket id.
        ticket: i64,
        /// Item, from 0.
        item: i64,
        /// Pass, fail, or a reading.
        result: CheckResult,
        /// The reading.
        value: Option<f64>,
        /// What they say (needed with a failure).
        note: Option<String>,
    },
}

impl Command {
    /// The roles that may give this command (admins always may); the
    /// repair process's people-facing steps as the site configures them.
    pub fn roles<'a>(&self, catalog: &'a Catalog) -> &'a [ApiRole] {
        let tickets = &catalog.tickets.roles;
        match self {
            Self::ReportEmergency(_) => &catalog.alerts.report_roles,
            Self::RecordService { .. } | Self::CheckItem { .. } | Self::DeclareTest(_) => {
                SERVICE_ROLES
            }
            Self::AddPhoto { .. }
            | Self::CheckIn { .. }
            | Self::PlanStepDone { .. }
            | Self::PatrolFindings(_) => ACK_ROLES,
            Self::AckAlert { .. } => ACK_ROLES,
            // Silencing a fire alarm is an admin's explicit decision.
            Self::AddSilence(request) if request.life_safety => &[],
            Self::DeclareDrill(_)
            | Self::EndDrill { .. }
            | Self::AddSilence(_)
            | Self::EndSilence { .. } => PLAN_ROLES,
            Self::CreateTicket(_) => &tickets.register,
            Self::MoveTicket { action, .. } => action.roles(tickets),
        }
    }
}

/// What a command did, as the front ends serve it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// `record_service`: the counters' new baselines.
    ServiceRecorded {
        /// Device name.
        device: String,
        /// Rule id.
        rule: String,
        /// Who.
        by: String,
        /// New baseline of each counter the rule watches.
        baselines: Vec<f64>,
    },
    /// The alert after the command.
    Alert(Box<Alert>),
    /// The declared drill.
    Drill(Drill),
    /// The added silence.
    Silence(Silence),
    /// The ticket after the command.
    Ticket(Box<Ticket>),
    /// The photo kept.
    Photo(PhotoInfo),
    /// An alert's response plan as it stands.
    Plan(Vec<PlanProgress>),
    /// Findings as stored, with the tickets they opened.
    Findings(Vec<Finding>),
    /// A check-in, and the shift before's with its handover note.
    CheckIn {
        /// This shift's.
        check_in: CheckIn,
        /// The shift before's.
        previous: Option<CheckIn>,
    },
}

/// Who gives a command, established from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token holder, for audit trails.
    pub name: String,
    /// What they may do.
    pub role: ApiRole,
}

impl Caller {
    /// Refused unless the caller's role is among `allowed` (admins always pass).
    pub fn require(&self, allowed: &[ApiRole]) -> Result<(), CommandError> {
        if self.role == ApiRole::Admin || allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(CommandError::new(
                Refusal::Forbidden,
                format!(
                    "token `{}` has role {:?}, which may not do this",
                    self.name, self.role
                ),
            ))
        }
    }
}

/// Finds the caller from a bare token; tokens are stored as SHA-256 hashes
/// and compared in constant time.
pub fn authenticate_token(token: &str, tokens: &[ApiToken]) -> Result<Caller, CommandError> {
    let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    tokens
        .iter()
        .find(|t| constant_time_eq(&t.sha256, &hash))
        .map(|t| Caller {
            name: t.name.clone(),
            role: t.role,
        })
        .ok_or_else(|| CommandError::new(Refusal::Unauthorized, "unknown token"))
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The stages commands reach.
#[derive(Clone)]
pub struct Control {
    catalog: Arc<Catalog>,
    rules: RulesHandle,
    alerts: AlertsHandle,
    tickets: TicketsHandle,
    patrol: Arc<PatrolStore>,
}

impl Control {
    /// A repair goes to a person of the site, not to free text: one of
    /// `[[people]]`, and when they sign in, as a technician or engineer.
    fn technician(&self, id: &str) -> Result<(), CommandError> {
        let Some(person) = self.catalog.alerts.people.iter().find(|p| p.id == id) else {
            return Err(CommandError::new(
                Refusal::BadRequest,
                format!("`{id}` is not one of [[people]]; dispatch to a technician by their id"),
            ));
        };
        match &person.login {
            Some(login)
                if !matches!(
                    login.role,
                    ApiRole::Technician | ApiRole::Engineer | ApiRole::Admin
                ) =>
            {
                Err(CommandError::new(
                    Refusal::BadRequest,
                    format!(
                        "{} signs in as {}, not as a technician; dispatch to a technician",
                        person.name,
                        login.role.as_str()
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Commands for the stages of one running daemon.
    pub fn new(
        catalog: Arc<Catalog>,
        rules: RulesHandle,
        alerts: AlertsHandle,
        tickets: TicketsHandle,
        patrol: Arc<PatrolStore>,
    ) -> Self {
        Self {
            catalog,
            rules,
            alerts,
            tickets,
            patrol,
        }
    }

    /// Checks the caller's role and carries the command out.
    pub async fn execute(
        &self,
        caller: &Caller,
        command: Command,
    ) -> Result<Outcome, CommandError> {
        caller.require(command.roles(&self.catalog))?;
        let by = caller.name.clone();
        Ok(match command {
            Command::RecordService { device, rule } => {
                let baselines = self
                    .rules
                    .record_service(&self.catalog, &device, &rule, by.clone())
                    .await?;
                Outcome::ServiceRecorded {
                    device,
                    rule,
                    by,
                    baselines,
                }
            }
            Command::ReportEmergency(report) => {
                if let Some(device) = &report.device
                    && !self.catalog.devices.iter().any(|d| &d.name == device)
                {
                    return Err(CommandError::new(
                        Refusal::BadRequest,
                        format!("no device `{device}` on this site"),
                    ));
                }
                Outcome::Alert(Box::new(self.alerts.report(report, by).await?))
            }
            Command::AckAlert { alert, note } => {
                Outcome::Alert(Box::new(self.alerts.acknowledge(alert, by, note).await?))
            }
            Command::DeclareDrill(request) => {
                Outcome::Drill(self.alerts.declare_drill(request, by).await?)
            }
            Command::PatrolFindings(report) => {
                let found = crate::patrol::findings::report(
                    &self.catalog,
                    &self.patrol,
                    (&self.tickets, &self.alerts),
                    report,
                    by,
                )
                .await
                .map_err(|e| match e {
                    FindingsError::Invalid(why) => CommandError::new(Refusal::BadRequest, why),
                    FindingsError::Store(e) => {
                        CommandError::new(Refusal::Unavailable, e.to_string())
                    }
                })?;
                Outcome::Findings(found)
            }
            Command::PlanStepDone { alert, step, note } => {
                Outcome::Plan(self.alerts.plan_step_done(alert, step, by, note).await?)
            }
            Command::CheckIn { person, note } => {
                let person = person.unwrap_or_else(|| by.clone());
                let (check_in, previous) = self.alerts.check_in(person, note, by).await?;
                Outcome::CheckIn { check_in, previous }
            }
            Command::DeclareTest(request) => {
                Outcome::Silence(self.alerts.declare_test(request, by).await?)
            }
            Command::EndDrill { drill } => Outcome::Drill(self.alerts.end_drill(drill, by).await?),
            Command::EndSilence { silence } => {
                Outcome::Silence(self.alerts.end_silence(silence, by).await?)
            }
            Command::AddSilence(request) => {
                Outcome::Silence(self.alerts.add_silence(request, by).await?)
            }
            Command::CreateTicket(ticket) => {
                Outcome::Ticket(Box::new(self.tickets.create(*ticket, by).await?))
            }
            Command::MoveTicket {
                ticket,
                action,
                assignee,
                note,
                score,
            } => {
                if let Some(id) = assignee.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
                    self.technician(id)?;
                }
                let request = TransitionRequest {
                    action,
                    actor: by,
                    assignee,
                    note,
                    score,
                };
                Outcome::Ticket(Box::new(self.tickets.transition(ticket, request).await?))
            }
            Command::AddPhoto { ticket, bytes } => {
                Outcome::Photo(self.tickets.add_photo(ticket, bytes, by).await?)
            }
            Command::CheckItem {
                ticket,
                item,
                result,
                value,
                note,
            } => {
                let entry = CheckEntry {
                    item,
                    result,
                    value,
                    note,
                    actor: by,
                };
                Outcome::Ticket(Box::new(self.tickets.check(ticket, entry).await?))
            }
        })
    }
}
