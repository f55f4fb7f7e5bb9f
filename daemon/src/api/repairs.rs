//! `/repairs`: the repair process on the duty console. The front desk
//! registers a request taken by phone; the board shows the open tickets by
//! status with their service-level state, and each ticket offers only the
//! steps its status allows, to the roles that may take them — the same
//! commands, checks and audit trail as the API and MQTT (`control`). A
//! preventive ticket shows its checklist, and the technician passes or
//! fails each item from the card; a photo (the requester's, the broken
//! part, the finished work) is sent from the phone's camera.
//! Signed-in people only: tickets carry requesters' contacts.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tracing::warn;

use super::ApiContext;
use super::session::{HasCsrf, Session, checked, run};
use super::shell::{self, Frame, Tab};
use super::tickets::{CreateTicket, manual_ticket};
use crate::control::Command;
use crate::tickets::report::{month_bounds, month_report, month_report_text};
use crate::tickets::store::{CheckItem, CheckResult, ListFilter, MAX_PHOTOS, PhotoInfo};
use crate::tickets::{Action, Channel, Origin, Status, Ticket};
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_model::vocab::{Category, Priority};

/// Tickets shown at most in each column.
const SHOWN: usize = 200;
/// The columns of the board, in the order of the process.
const COLUMNS: [Status; 5] = [
    Status::Registered,
    Status::Dispatched,
    Status::InProgress,
    Status::OnHold,
    Status::Resolved,
];

/// The register form: a request taken by phone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Register {
    csrf: String,
    requester: String,
    contact: String,
    location: String,
    title: String,
    #[serde(default)]
    description: String,
    category: Category,
    priority: Priority,
    channel: Channel,
    #[serde(default)]
    cause: String,
    /// `YYYY-MM-DDTHH:MM` in the site's zone (a `datetime-local` field); now when empty.
    #[serde(default)]
    reported_at: String,
}

/// A step's form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Step {
    csrf: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    note: String,
    /// For `visit`: the requester's satisfaction, 1–5.
    #[serde(default)]
    score: Option<u8>,
}

/// The page: the register form and the board.
pub(super) async fn page(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let store = ctx.tickets.store.clone();
    // One query per column: the newest tickets of all statuses would be
    // archived ones on a site with years of history.
    let open = tokio::task::spawn_blocking(move || {
        let mut open = Vec::new();
        for status in COLUMNS {
            open.extend(store.list(&ListFilter {
                status: Some(status),
                limit: SHOWN,
                ..Default::default()
            })?);
        }
        // Accepted repairs whose return visit is still to be made.
        let accepted = store.list(&ListFilter {
            status: Some(Status::Accepted),
            limit: SHOWN,
            ..Default::default()
        })?;
        open.extend(accepted.into_iter().filter(|t| t.visited_at.is_none()));
        let preventive: Vec<i64> = open
            .iter()
            .filter(|t| t.origin == Origin::Preventive)
            .map(|t| t.id)
            .collect();
        let checklists = store.checklists(&preventive)?;
        let all: Vec<i64> = open.iter().map(|t| t.id).collect();
        let photos = store.photos_of(&all)?;
        Ok::<_, rusqlite::Error>((open, checklists, photos))
    })
    .await;
    // A store that cannot be read says so rather than showing an empty board.
    let ((tickets, checklists, photos), unreadable) = match open {
        Ok(Ok(read)) => (read, false),
        _ => ((Vec::new(), Default::default(), Default::default()), true),
    };
    let extras = |t: &Ticket| Extras {
        checks: checklists.get(&t.id).map_or(&[][..], Vec::as_slice),
        photos: photos.get(&t.id).map_or(&[][..], Vec::as_slice),
    };
    let m = &ctx.catalog.site.messages;
    let frame = Frame {
        style: REPAIRS_STYLE,
        ..Frame::new("repairs-title", Tab::Repairs, Some(&session))
    };
    let body = html! {
        datalist id="people" {
            @for p in &ctx.catalog.alerts.people {
                option value=(p.id) { (p.name) }
            }
        }
        (register_form(m, &session))
        @if unreadable {
            p.error { (m.text("repairs-unavailable", &[])) }
        }
        section.columns {
            @for status in COLUMNS {
                div.column {
                    h2 { (m.text(&format!("status-{}", status.as_str()), &[])) }
                    @for t in tickets.iter().filter(|t| t.status == status) {
                        (card(m, &ctx, &session, t, extras(t)))
                    }
                }
            }
            div.column.visits {
                h2 { (m.text("repairs-visits", &[])) }
                @for t in tickets.iter().filter(|t| t.status == Status::Accepted) {
                    (card(m, &ctx, &session, t, extras(t)))
                }
            }
        }
        (report_form(m, &ctx, None))
    };
    shell::page(&ctx, frame, body)
}

/// Registers a request taken by phone, in the signed-in person's name.
pub(super) async fn register(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    form: Result<axum::Form<Register>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let reported_at = match reported_at(&ctx, &form.reported_at) {
        Ok(at) => at,
        Err(()) => {
            let m = &ctx.catalog.site.messages;
            return shell::refused(&ctx, &m.text("repairs-bad-time", &[]), Tab::Repairs);
        }
    };
    let request = CreateTicket {
        title: form.title,
        description: Some(form.description).filter(|d| !d.trim().is_empty()),
        category: form.category,
        priority: Some(form.priority),
        severity: None,
        impact: None,
        device: None,
        location: Some(form.location).filter(|l| !l.trim().is_empty()),
        requester: form.requester,
        contact: form.contact,
        channel: Some(form.channel),
        cause: Some(form.cause),
        reported_at,
    };
    let outcome = match manual_ticket(&ctx, request) {
        Ok(new) => run(&ctx, &session, Command::CreateTicket(Box::new(new))).await,
        Err(e) => Err(e.message),
    };
    match outcome {
        Ok(()) => Redirect::to("/repairs").into_response(),
        Err(e) => {
            warn!(person = %session.person, error = %e, "repair request from the console refused");
            shell::refused(&ctx, &e, Tab::Repairs)
        }
    }
}

/// Takes step `action` on ticket `id` as the signed-in person.
pub(super) async fn step(
    State(ctx): State<ApiContext>,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
    form: Result<axum::Form<Step>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let (Some(form), Some(action)) = (checked(&ctx, &session, form), Action::parse(&action)) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let command = Command::MoveTicket {
        ticket: id,
        action,
        assignee: Some(form.assignee.trim().to_owned()).filter(|a| !a.is_empty()),
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
        score: form.score,
    };
    match run(&ctx, &session, command).await {
        Ok(()) => Redirect::to("/repairs").into_response(),
        Err(e) => {
            warn!(ticket = id, person = %session.person, error = %e, "repair step from the console refused");
            shell::refused(&ctx, &e, Tab::Repairs)
        }
    }
}

/// A `datetime-local` value read in the site's zone; none when empty.
fn reported_at(ctx: &ApiContext, value: &str) -> Result<Option<jiff::Timestamp>, ()> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let local: jiff::civil::DateTime = value.trim().parse().map_err(|_| ())?;
    local
        .to_zoned(ctx.catalog.site.hours.time_zone.clone())
        .map(|z| Some(z.timestamp()))
        .map_err(|_| ())
}

/// `?month=YYYY-MM` of the monthly report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportMonth {
    month: String,
}

/// `/repairs/report?month=YYYY-MM`: the month's repair report as people
/// read it (the text of `GET /api/v1/reports/tickets?format=text`).
pub(super) async fn report(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    query: Result<axum::extract::Query<ReportMonth>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let m = &ctx.catalog.site.messages;
    let month = query.map_or_else(|_| this_month(&ctx), |q| q.0.month);
    let tz = ctx.catalog.site.hours.time_zone.clone();
    let Ok(bounds) = month_bounds(&month, &tz) else {
        return shell::refused(&ctx, &m.text("report-bad-month", &[]), Tab::Repairs);
    };
    let store = ctx.tickets.store.clone();
    let found =
        tokio::task::spawn_blocking(move || store.registered_between(bounds.0, bounds.1)).await;
    let Ok(Ok(tickets)) = found else {
        return shell::refused(&ctx, &m.text("repairs-unavailable", &[]), Tab::Repairs);
    };
    let text = month_report_text(&month_report(&month, &tz, bounds, &tickets), &ctx.catalog);
    let frame = Frame {
        style: REPAIRS_STYLE,
        ..Frame::new("repairs-title", Tab::Repairs, Some(&session))
    };
    let body = html! {
        (report_form(m, &ctx, Some(&month)))
        section.panel { pre.report { (text) } }
    };
    shell::page(&ctx, frame, body)
}

/// `YYYY-MM` of today in the site's zone.
fn this_month(ctx: &ApiContext) -> String {
    let today = sitewarden_runtime::clock::now()
        .to_zoned(ctx.catalog.site.hours.time_zone.clone())
        .date();
    // for engineers: a query value, not text for people.
    format!("{:04}-{:02}", today.year(), today.month())
}

/// The month picker that opens the monthly report.
fn report_form(m: &Messages, ctx: &ApiContext, month: Option<&str>) -> Markup {
    let month = month.map_or_else(|| this_month(ctx), str::to_owned);
    html! {
        form.panel.plan method="get" action="/repairs/report" {
            label { (m.text("repairs-report", &[])) input name="month" type="month" value=(month) required; }
            button id="report" type="submit" { (m.text("repairs-report-button", &[])) }
        }
    }
}

impl HasCsrf for Register {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HasCsrf for Step {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn register_form(m: &Messages, session: &Session) -> Markup {
    html! {
        // Open for the desk that takes the calls; out of a technician's way.
        details.register open[session.role == sitewarden_model::vocab::ApiRole::FrontDesk] {
            summary { (m.text("repairs-register", &[])) }
            form.register method="post" action="/repairs" {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (m.text("repairs-requester", &[])) input name="requester" required; }
                label { (m.text("repairs-contact", &[])) input name="contact" required; }
                label { (m.text("repairs-location", &[])) input name="location"; }
                label { (m.text("repairs-what", &[])) input name="title" required; }
                label { (m.text("repairs-description", &[])) textarea name="description" rows="2" {} }
                label { (m.text("repairs-category", &[]))
                    select name="category" {
                        @for c in Category::ALL {
                            option value=(c.as_str()) { (m.text(&format!("category-{}", c.as_str()), &[])) }
                        }
                    }
                }
                label { (m.text("repairs-channel", &[]))
                    select name="channel" {
                        @for c in Channel::ALL.iter().filter(|c| **c != Channel::Condition) {
                            option value=(c.as_str()) { (m.text(&format!("channel-{}", c.as_str()), &[])) }
                        }
                    }
                }
                label { (m.text("repairs-cause", &[])) input name="cause"; }
                label { (m.text("repairs-reported-at", &[])) input name="reported_at" type="datetime-local"; }
                label { (m.text("repairs-urgency", &[]))
                    select name="priority" {
                        @for p in Priority::ALL {
                            option value=(p.as_str()) selected[*p == Priority::P3] {
                                (m.text(&format!("priority-{}", p.as_str()), &[]))
                            }
                        }
                    }
                }
                button id="register" type="submit" { (m.text("repairs-register-button", &[])) }
            }
        }
    }
}

/// What a card shows besides the ticket.
#[derive(Clone, Copy)]
struct Extras<'a> {
    /// Its checklist.
    checks: &'a [CheckItem],
    /// Its photos.
    photos: &'a [PhotoInfo],
}

/// One ticket: what, where, who asked, service level, its checklist and
/// photos, and its next steps.
fn card(
    m: &Messages,
    ctx: &ApiContext,
    session: &Session,
    t: &Ticket,
    extras: Extras<'_>,
) -> Markup {
    let checks = extras.checks;
    let late = t.response_breached || t.resolution_breached;
    html! {
        article.ticket data-id=(t.id) {
            p.tag { "#" (t.id) " " (m.text(&format!("priority-{}", t.priority.as_str()), &[])) }
            h3 { (t.title) }
            @if let Some(location) = &t.location {
                p { (m.text("ticket-where", &[("place", Arg::Text(location))])) }
            }
            @if let (Some(who), Some(contact)) = (&t.requester, &t.contact) {
                p { (m.text("repairs-asked-by", &[("person", Arg::Text(who)), ("contact", Arg::Text(contact))])) }
            }
            @if let (Some(channel), Some(at)) = (t.channel.filter(|c| *c != Channel::Condition), t.reported_at) {
                p { (m.text("repairs-reported", &[("channel", Arg::Text(&m.text(&format!("channel-{}", channel.as_str()), &[]))), ("at", Arg::Time(at))])) }
            }
            @if let Some(cause) = &t.cause {
                p { (m.text("repairs-cause-was", &[("cause", Arg::Text(cause))])) }
            }
            @if let (Some(due), None) = (t.visit_due, t.visited_at) {
                p { (m.text("repairs-visit-due", &[("due", Arg::Time(due))])) }
            }
            @if t.reworks > 0 {
                p.held { (m.text("repairs-reworks", &[("count", Arg::Number(t.reworks))])) }
            }
            p { (m.text("ticket-raised", &[("raised", Arg::Time(t.created_at))])) }
            @if let Some(parent) = t.parent {
                p { (m.text("repairs-from-check", &[("id", Arg::Number(parent))])) }
            }
            @if let (Status::Resolved, Some(at)) = (t.status, t.resolved_at) {
                p.waiting { (m.text("repairs-waiting-acceptance", &[("since", Arg::Time(at))])) }
                @if t.acceptance_reminded_at.is_some() {
                    p.held { (m.text("repairs-acceptance-reminded", &[])) }
                }
            }
            @if let Some(via) = t.accepted_via {
                p { (m.text(&format!("accepted-via-{}", via.as_str()), &[])) }
            }
            @if !checks.is_empty() {
                (checklist(m, session, t, checks))
            }
            @if !extras.photos.is_empty() {
                p.photos {
                    @for photo in extras.photos {
                        a href={ "/api/v1/tickets/" (t.id) "/photos/" (photo.id) } target="_blank" {
                            img src={ "/api/v1/tickets/" (t.id) "/photos/" (photo.id) } alt=(m.text("repairs-photo", &[("id", Arg::Number(photo.id))])) loading="lazy";
                        }
                    }
                }
            }
            @if t.status.is_open() && extras.photos.len() < MAX_PHOTOS as usize {
                form.photo method="post" action={ "/repairs/" (t.id) "/photo" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { (m.text("repairs-add-photo", &[])) input type="file" name="photo" accept="image/jpeg,image/png,image/webp" capture="environment" required; }
                    button type="submit" { (m.text("repairs-send-photo", &[])) }
                }
            }
            @if let Some(assignee) = &t.assignee {
                p { (m.text("repairs-assignee", &[("person", Arg::Text(super::person_name(ctx, assignee)))])) }
            }
            @if let (Some(since), Some(reason)) = (t.held_since, &t.hold_reason) {
                p.held { (m.text("repairs-on-hold", &[("since", Arg::Time(since)), ("reason", Arg::Text(reason))])) }
            }
            @if late {
                p.waiting { (m.text("repairs-late", &[])) }
            } @else {
                p { (m.text("repairs-due", &[("due", Arg::Time(t.resolution_due))])) }
            }
            @for action in Action::allowed_from(t.status) {
                @if session.role == sitewarden_model::vocab::ApiRole::Admin || action.roles(&ctx.catalog.tickets.roles).contains(&session.role) {
                    form.step method="post" action={ "/repairs/" (t.id) "/" (action.as_str()) } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        @if action == Action::Dispatch {
                            input name="assignee" required list="people" placeholder=(m.text("repairs-assignee-placeholder", &[]));
                        } @else if action == Action::Visit {
                            select name="score" required {
                                @for score in (1..=5).rev() {
                                    option value=(score) { (m.text("repairs-score", &[("score", Arg::Number(score))])) }
                                }
                            }
                            input name="note" required placeholder=(m.text("repairs-visit-placeholder", &[]));
                        } @else if matches!(action, Action::Hold | Action::Cancel | Action::Reject) {
                            input name="note" required placeholder=(m.text("repairs-reason-placeholder", &[]));
                        } @else {
                            input name="note" placeholder=(m.text("page-ack-note", &[]));
                        }
                        button type="submit" data-action=(action.as_str()) { (m.text(&format!("action-{}", action.as_str()), &[])) }
                    }
                }
            }
        }
    }
}

/// A preventive ticket's checklist: each item's result, and for the
/// technician at work, pass and fail buttons on the items still open.
fn checklist(m: &Messages, session: &Session, t: &Ticket, checks: &[CheckItem]) -> Markup {
    use sitewarden_model::vocab::ApiRole;
    let may_check = matches!(t.status, Status::Dispatched | Status::InProgress)
        && matches!(
            session.role,
            ApiRole::Technician | ApiRole::Engineer | ApiRole::Admin
        );
    html! {
        ul.checklist {
            @for c in checks {
                li data-item=(c.item) {
                    span.label { (c.label) }
                    @match c.result {
                        Some(result) => {
                            " "
                            span class={ "result " (result.as_str()) } {
                                (m.text(&format!("check-result-{}", result.as_str()), &[]))
                            }
                            @if let Some(note) = &c.note { " — " (note) }
                            @if let Some(opened) = c.opened {
                                " " (m.text("repairs-check-opened", &[("id", Arg::Number(opened))]))
                            }
                        }
                        None if may_check => {
                            form.step method="post" action={ "/repairs/" (t.id) "/check/" (c.item) } {
                                input type="hidden" name="csrf" value=(session.csrf);
                                input name="note" placeholder=(m.text("repairs-check-note", &[]));
                                button type="submit" name="result" value="pass" { (m.text("check-result-pass", &[])) }
                                button.fail type="submit" name="result" value="fail" { (m.text("check-result-fail", &[])) }
                            }
                        }
                        None => { " " span.result { (m.text("check-result-open", &[])) } }
                    }
                }
            }
        }
    }
}

/// Records one checklist item as the signed-in person.
pub(super) async fn check(
    State(ctx): State<ApiContext>,
    Path((id, item)): Path<(i64, i64)>,
    headers: HeaderMap,
    form: Result<axum::Form<Check>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let command = Command::CheckItem {
        ticket: id,
        item,
        result: form.result,
        value: None,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match run(&ctx, &session, command).await {
        Ok(()) => Redirect::to("/repairs").into_response(),
        Err(e) => {
            warn!(ticket = id, item, person = %session.person, error = %e, "checklist item from the console refused");
            shell::refused(&ctx, &e, Tab::Repairs)
        }
    }
}

/// Keeps a photo sent from the card (a multipart form: `csrf`, `photo`).
pub(super) async fn add_photo(
    State(ctx): State<ApiContext>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let bytes = match photo_form(form, &session.csrf).await {
        Ok(bytes) => bytes,
        Err(status) => {
            ctx.metrics
                .api_rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return status.into_response();
        }
    };
    match run(&ctx, &session, Command::AddPhoto { ticket: id, bytes }).await {
        Ok(()) => Redirect::to("/repairs").into_response(),
        Err(e) => {
            warn!(ticket = id, person = %session.person, error = %e, "photo from the console refused");
            shell::refused(&ctx, &e, Tab::Repairs)
        }
    }
}

/// The photo of a multipart form whose `csrf` field (sent first) matches.
async fn photo_form(
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
    csrf: &str,
) -> Result<Vec<u8>, StatusCode> {
    let mut form = form.map_err(|_| StatusCode::BAD_REQUEST)?;
    let mut checked = false;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?
    {
        match field.name() {
            Some("csrf") => {
                checked = field.text().await.map_err(|_| StatusCode::BAD_REQUEST)? == csrf;
            }
            Some("photo") if checked => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
                return Ok(bytes.to_vec());
            }
            _ => return Err(StatusCode::FORBIDDEN),
        }
    }
    Err(StatusCode::BAD_REQUEST)
}

/// A checklist item's form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Check {
    csrf: String,
    result: CheckResult,
    #[serde(default)]
    note: String,
}

impl HasCsrf for Check {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The board's columns side by side on a screen, one under another on a phone.
const REPAIRS_STYLE: &str = ".register{margin:.6rem;background:#fff;padding:.6rem;border-radius:.3rem}\
form.register{display:grid;gap:.4rem;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr))}\
form.register label{display:grid}\
.columns{display:grid;gap:.6rem;padding:.6rem;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr))}\
.column h2{font-size:1.1rem;margin:.2rem 0}\
.ticket{background:#fff;border-radius:.3rem;padding:.4rem .7rem;margin-bottom:.5rem}\
.ticket p{margin:.2rem 0}.ticket h3{margin:.2rem 0;font-size:1.05rem}\
.step{display:flex;gap:.3rem;margin:.3rem 0}.step input{flex:1}\
.report{white-space:pre-wrap;margin:0}.plan{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}.plan label{display:grid}\
.checklist{margin:.3rem 0;padding-left:1.1rem}.checklist .result.pass{color:#1b5e20;font-weight:bold}\
.checklist .result.fail{color:#b00020;font-weight:bold}.step button.fail{background:#8a1c1c}\
.photos img{height:4rem;margin:.2rem .2rem 0 0;border-radius:.2rem}.photo{margin:.3rem 0;font-size:.9rem}\
.held{color:#e65100;font-weight:bold}.step button{background:#1b5e20;color:#fff;border:0;border-radius:.3rem;padding:.3rem .6rem}";
