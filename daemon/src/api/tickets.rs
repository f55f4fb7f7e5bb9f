//! `/api/v1/tickets` and `/api/v1/reports/tickets`: the repair process over HTTP.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sitewarden_model::locale::Arg;
use sitewarden_runtime::clock;

use super::auth::authenticate;
use super::error::ApiError;
use super::{ApiContext, read, reject};
use crate::control::{Command, Outcome};
use crate::tickets::report::{month_bounds, month_report, month_report_text};
use crate::tickets::store::{CheckResult, ListFilter, MAX_PHOTO_BYTES, NewTicket, TicketDetail};
use crate::tickets::{Action, Channel, Origin, RequestForm, Status, Ticket, TicketError};
use sitewarden_model::vocab::{Category, Severity};
use sitewarden_model::vocab::{Impact, Priority};

/// Longest title or note accepted; a ticket is not a document store.
pub(super) const MAX_TEXT: usize = 4000;

/// Filters for `GET /api/v1/tickets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TicketQuery {
    status: Option<Status>,
    priority: Option<Priority>,
    device: Option<String>,
    assignee: Option<String>,
    /// Registered at or after (RFC 3339).
    from: Option<Timestamp>,
    /// Registered before (RFC 3339).
    to: Option<Timestamp>,
    /// Paging: only tickets with a smaller id.
    before: Option<i64>,
    /// Default 100, at most 1000.
    limit: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct TicketPage {
    tickets: Vec<Ticket>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

pub(super) async fn list(
    State(ctx): State<ApiContext>,
    query: Result<Query<TicketQuery>, QueryRejection>,
) -> Result<Json<TicketPage>, ApiError> {
    let Query(q) = query.map_err(|e| {
        reject(&ctx, ApiError::bad_request(format!(
            "{}; filters are status, priority, device, assignee, from, to (RFC 3339), before and limit",
            e.body_text()
        )))
    })?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let filter = ListFilter {
        status: q.status,
        priority: q.priority,
        device: q.device,
        assignee: q.assignee,
        from: q.from,
        to: q.to,
        before: q.before,
        limit,
    };
    let store = ctx.tickets.store.clone();
    let tickets = read(move || store.list(&filter)).await?;
    let next_before = (tickets.len() == limit)
        .then(|| tickets.last().map(|t| t.id))
        .flatten();
    Ok(Json(TicketPage {
        tickets,
        next_before,
    }))
}

fn ticket_id(ctx: &ApiContext, id: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|_| reject(ctx, ApiError::bad_request("a ticket id is a number")))
}

pub(super) async fn get(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<TicketDetail>, ApiError> {
    let id = ticket_id(&ctx, id)?;
    let store = ctx.tickets.store.clone();
    read(move || store.get(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))
}

/// Body of `POST /api/v1/tickets`: a request by phone, e-mail or at the desk.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTicket {
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) category: Category,
    /// Set directly, or derived from `severity` and `impact` through the site's matrix.
    #[serde(default)]
    pub(super) priority: Option<Priority>,
    #[serde(default)]
    pub(super) severity: Option<Severity>,
    #[serde(default)]
    pub(super) impact: Option<Impact>,
    #[serde(default)]
    pub(super) device: Option<String>,
    #[serde(default)]
    pub(super) location: Option<String>,
    /// Who asked.
    pub(super) requester: String,
    /// Their phone number or e-mail.
    pub(super) contact: String,
    /// How the request came: `phone` (default), `email`, `desk` or `wecom`.
    #[serde(default)]
    pub(super) channel: Option<Channel>,
    /// What the requester says caused it.
    #[serde(default)]
    pub(super) cause: Option<String>,
    /// When it was reported (RFC 3339); now when left out.
    #[serde(default)]
    pub(super) reported_at: Option<jiff::Timestamp>,
}

pub(super) async fn create(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<CreateTicket>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(body) = body.map_err(|e| reject(&ctx, ApiError::bad_request(e.body_text())))?;
    let new = manual_ticket(&ctx, body).map_err(|e| reject(&ctx, e))?;
    let command = Command::CreateTicket(Box::new(new));
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(&ctx, e.into()))?;
    let ticket = ctx.control.execute(&caller, command).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// The request form of a request made by a person: a channel a person
/// uses, and a report time not in the future (five minutes' leeway for a
/// clock that runs ahead).
fn request_form(b: &CreateTicket, now: jiff::Timestamp) -> Result<RequestForm, ApiError> {
    let channel = b.channel.unwrap_or(Channel::Phone);
    if channel == Channel::Condition {
        return Err(ApiError::bad_request(
            "`channel` is how a person reached the site: phone, email, desk or wecom",
        ));
    }
    let reported_at = b.reported_at.unwrap_or(now);
    if reported_at > now + std::time::Duration::from_secs(300) {
        return Err(ApiError::bad_request(
            "`reported_at` is in the future; give when the request was made",
        ));
    }
    Ok(RequestForm {
        channel,
        cause: b
            .cause
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        reported_at,
    })
}

pub(super) fn manual_ticket(ctx: &ApiContext, b: CreateTicket) -> Result<NewTicket, ApiError> {
    let required = |field: &str, text: &str| {
        if text.trim().is_empty() {
            Err(ApiError::bad_request(format!(
                "`{field}` must not be empty"
            )))
        } else if text.len() > MAX_TEXT {
            Err(ApiError::bad_request(format!(
                "`{field}` is longer than {MAX_TEXT} bytes"
            )))
        } else {
            Ok(())
        }
    };
    required("title", &b.title)?;
    required("requester", &b.requester)?;
    required("contact", &b.contact)?;
    for (field, text) in [("description", &b.description), ("cause", &b.cause)] {
        if text.as_ref().is_some_and(|d| d.len() > MAX_TEXT) {
            return Err(ApiError::bad_request(format!(
                "`{field}` is longer than {MAX_TEXT} bytes"
            )));
        }
    }
    let now = clock::now();
    let form = request_form(&b, now)?;
    let device = match &b.device {
        Some(name) => Some(
            ctx.catalog
                .devices
                .iter()
                .find(|d| &d.name == name)
                .ok_or_else(|| ApiError::bad_request(format!("no device `{name}`")))?,
        ),
        None => None,
    };
    let settings = &ctx.catalog.tickets;
    let impact = b.impact.or(device.map(|d| d.impact)).unwrap_or_default();
    let priority = b
        .priority
        .unwrap_or_else(|| settings.priority(b.severity.unwrap_or(Severity::Minor), impact));
    let level = settings.level(priority);
    Ok(NewTicket {
        origin: Origin::Manual,
        category: b.category,
        priority,
        title: b.title.trim().to_owned(),
        description: b.description,
        device: device.map(|d| d.name.clone()),
        location: b
            .location
            .or_else(|| device.and_then(|d| d.location.clone())),
        rule: None,
        point: None,
        value: None,
        threshold: None,
        severity: b.severity,
        requester: Some(b.requester.trim().to_owned()),
        contact: Some(b.contact.trim().to_owned()),
        dedup_key: None,
        form: Some(form),
        at: now,
        response_due: now + level.response,
        resolution_due: now + level.resolution,
    })
}

/// Body of `POST /api/v1/tickets/{id}/transition`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransitionBody {
    action: Action,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    note: Option<String>,
    /// For `visit`: the requester's satisfaction, 1–5.
    #[serde(default)]
    score: Option<u8>,
}

pub(super) async fn transition(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<TransitionBody>, JsonRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let id = ticket_id(&ctx, id)?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(body) = body.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; actions are {}",
                e.body_text(),
                Action::ALL
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )
    })?;
    let command = Command::MoveTicket {
        ticket: id,
        action: body.action,
        assignee: body.assignee,
        note: body.note,
        score: body.score,
    };
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(&ctx, e.into()))?;
    if let Command::MoveTicket { note: Some(n), .. } = &command
        && n.len() > MAX_TEXT
    {
        return Err(reject(
            &ctx,
            ApiError::bad_request(format!("`note` is longer than {MAX_TEXT} bytes")),
        ));
    }
    Ok(Json(ctx.control.execute(&caller, command).await?))
}

/// `POST /api/v1/tickets/{id}/photos`: the body is the image (JPEG, PNG
/// or WebP, at most 2 MiB).
pub(super) async fn add_photo(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let id = ticket_id(&ctx, id)?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let body = body.map_err(|e| {
        let message = format!(
            "{}; a photo is at most {MAX_PHOTO_BYTES} bytes",
            e.body_text()
        );
        let error = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(message),
            _ => ApiError::bad_request(message),
        };
        reject(&ctx, error)
    })?;
    let command = Command::AddPhoto {
        ticket: id,
        bytes: body.to_vec(),
    };
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(&ctx, e.into()))?;
    let kept = ctx.control.execute(&caller, command).await?;
    Ok((StatusCode::CREATED, Json(kept)))
}

/// `GET /api/v1/tickets/{id}/photos/{photo}`: the image as it was sent.
pub(super) async fn photo(
    State(ctx): State<ApiContext>,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<axum::response::Response, ApiError> {
    let (id, photo) = path.map(|Path(p)| p).map_err(|_| {
        reject(
            &ctx,
            ApiError::bad_request("a ticket id and a photo id are numbers"),
        )
    })?;
    let store = ctx.tickets.store.clone();
    let Some((content_type, bytes)) = read(move || store.photo(id, photo)).await? else {
        return Err(ApiError::not_found(format!(
            "ticket {id} has no photo {photo}"
        )));
    };
    let headers = [
        (axum::http::header::CONTENT_TYPE, content_type),
        // Served as the image it was checked to be, never sniffed or cached on the way.
        (
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            "nosniff".to_owned(),
        ),
        (
            axum::http::header::CACHE_CONTROL,
            "private, no-store".to_owned(),
        ),
    ];
    Ok((headers, bytes).into_response())
}

/// Body of `POST /api/v1/tickets/{id}/checklist/{item}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckBody {
    /// `pass`, `fail` or `value`.
    result: CheckResult,
    /// The reading, for `value`.
    #[serde(default)]
    value: Option<f64>,
    /// What the technician says (needed with `fail`).
    #[serde(default)]
    note: Option<String>,
    /// The zone test window (`POST /api/v1/tests`) the item was tested
    /// through: what fired during it becomes the item's evidence, and the
    /// count of alarms it held its value.
    #[serde(default)]
    test: Option<i64>,
}

/// Records one item of a preventive ticket's checklist; a failed item
/// opens a repair ticket linked to it.
pub(super) async fn check(
    State(ctx): State<ApiContext>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<CheckBody>, JsonRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let (id, item) = path.map(|Path(p)| p).map_err(|_| {
        reject(
            &ctx,
            ApiError::bad_request("a ticket id and a checklist item are numbers"),
        )
    })?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(body) = body.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; `result` is pass, fail or value",
                e.body_text()
            )),
        )
    })?;
    if body.note.as_ref().is_some_and(|n| n.len() > MAX_TEXT) {
        return Err(reject(
            &ctx,
            ApiError::bad_request(format!("`note` is longer than {MAX_TEXT} bytes")),
        ));
    }
    let (value, note) = match body.test {
        Some(test) => with_test_evidence(&ctx, test, body.value, body.note).await?,
        None => (body.value, body.note),
    };
    let command = Command::CheckItem {
        ticket: id,
        item,
        result: body.result,
        value,
        note,
    };
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(&ctx, e.into()))?;
    Ok(Json(ctx.control.execute(&caller, command).await?))
}

/// The value and note of an item tested through zone test window `test`:
/// the number of alarms the window held (unless the technician gives a
/// value) and, after the technician's note, which zones answered when.
async fn with_test_evidence(
    ctx: &ApiContext,
    test: i64,
    value: Option<f64>,
    note: Option<String>,
) -> Result<(Option<f64>, Option<String>), ApiError> {
    let store = ctx.alerts.store.clone();
    let report = read(move || store.test_report(test))
        .await?
        .filter(|r| r.window.test)
        .ok_or_else(|| reject(ctx, ApiError::not_found(format!("no zone test {test}"))))?;
    let m = &ctx.catalog.site.messages;
    let tz = &ctx.catalog.site.hours.time_zone;
    let answered: Vec<String> = report
        .held
        .iter()
        .map(|a| {
            let at = a
                .raised_at
                .to_zoned(tz.clone())
                .strftime("%H:%M:%S")
                .to_string();
            let zone = a
                .first_zone
                .as_deref()
                .or(a.first_point.as_deref())
                .unwrap_or("-");
            m.text(
                "check-test-answered",
                &[("zone", Arg::Text(zone)), ("at", Arg::Text(&at))],
            )
        })
        .collect();
    let zones = report.window.zones.join(", ");
    let list = answered.join("; ");
    let evidence = m.text(
        "check-test-evidence",
        &[
            ("test", Arg::Number(test)),
            ("zones", Arg::Text(&zones)),
            ("count", Arg::Number(report.held.len() as i64)),
            ("answered", Arg::Text(&list)),
        ],
    );
    let note = match note {
        Some(n) if !n.trim().is_empty() => format!("{n}\n{evidence}"),
        _ => evidence,
    };
    Ok((value.or(Some(report.held.len() as f64)), Some(note)))
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        crate::control::CommandError::from(e).into()
    }
}

/// `?month=YYYY-MM`, and `format=text` for the report as people read it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    month: String,
    #[serde(default)]
    format: ReportFormat,
}

/// What `GET /api/v1/reports/tickets` answers with.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ReportFormat {
    /// The figures as JSON (the default).
    #[default]
    Json,
    /// Plain text with labels in the site's language.
    Text,
}

pub(super) async fn report(
    State(ctx): State<ApiContext>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = query.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!("{}; give month=YYYY-MM", e.body_text())),
        )
    })?;
    let tz = ctx.catalog.site.hours.time_zone.clone();
    let bounds = month_bounds(&q.month, &tz).map_err(|e| reject(&ctx, ApiError::bad_request(e)))?;
    let store = ctx.tickets.store.clone();
    let tickets = read(move || store.registered_between(bounds.0, bounds.1)).await?;
    let report = month_report(&q.month, &tz, bounds, &tickets);
    if q.format == ReportFormat::Text {
        let text = month_report_text(&report, &ctx.catalog);
        let content_type = [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )];
        return Ok((content_type, text).into_response());
    }
    Ok(Json(report).into_response())
}

/// `GET /api/v1/reports/extinguishers`: the register with what is due, as
/// of now (`?format=text` for a printable list in the site's language).
pub(super) async fn extinguisher_report(
    State(ctx): State<ApiContext>,
    query: Result<Query<FormatQuery>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = query.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; give format=json or format=text",
                e.body_text()
            )),
        )
    })?;
    let units = sitewarden_tickets::extinguishers::report(&ctx.tickets, clock::now()).await;
    if q.format == ReportFormat::Text {
        let m = &ctx.catalog.site.messages;
        let mut text = m.text("extinguisher-report-heading", &[]);
        text.push('\n');
        for u in &units {
            let line = extinguisher_line(m, u);
            text.push_str(&line);
            text.push('\n');
        }
        let content_type = [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )];
        return Ok((content_type, text).into_response());
    }
    Ok(Json(units).into_response())
}

/// The format of a report that covers no period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FormatQuery {
    #[serde(default)]
    format: ReportFormat,
}

/// One unit of the printable register, every date and standing worded.
fn extinguisher_line(
    m: &sitewarden_model::locale::Messages,
    u: &sitewarden_tickets::extinguishers::UnitStatus,
) -> String {
    let word = |s: sitewarden_tickets::extinguishers::Standing| {
        m.text(&format!("extinguisher-standing-{}", s.as_str()), &[])
    };
    let date = |d: Option<jiff::civil::Date>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
    let kind = m.text(&format!("extinguisher-kind-{}", u.kind), &[]);
    let (inspection, service, replacement) =
        (word(u.inspection), word(u.service), word(u.replacement));
    let (due, service_due, expires) = (
        u.inspection_due.to_string(),
        date(u.service_due),
        date(u.expires),
    );
    m.text(
        "extinguisher-report-line",
        &[
            ("unit", Arg::Text(&u.id)),
            ("location", Arg::Text(&u.location)),
            ("kind", Arg::Text(&kind)),
            ("capacity", Arg::Text(&u.capacity)),
            ("due", Arg::Text(&due)),
            ("inspection", Arg::Text(&inspection)),
            ("service_due", Arg::Text(&service_due)),
            ("service", Arg::Text(&service)),
            ("expires", Arg::Text(&expires)),
            ("replacement", Arg::Text(&replacement)),
        ],
    )
}
