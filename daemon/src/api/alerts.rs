//! `/api/v1/alerts`, `/api/v1/silences`, `/api/v1/drills`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sitewarden_runtime::clock;

use super::auth::authenticate;
use super::error::ApiError;
use super::{ApiContext, read, reject};
use crate::alerts::store::{
    AlertDetail, AlertFilter, Drill, DrillRun, PlanProgress, Silence, TestReport,
};
use crate::alerts::{
    Alert, AlertError, AlertStatus, DrillRequest, EmergencyReport, SilenceRequest, TestRequest,
};
use crate::control::{Command, Outcome};
use sitewarden_model::vocab::AlertClass;

impl From<AlertError> for ApiError {
    fn from(e: AlertError) -> Self {
        crate::control::CommandError::from(e).into()
    }
}

/// Filters for `GET /api/v1/alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertQuery {
    /// `open` or `resolved`.
    status: Option<String>,
    class: Option<AlertClass>,
    device: Option<String>,
    /// Raised at or after (RFC 3339).
    since: Option<Timestamp>,
    /// Default 100, at most 1000.
    limit: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct AlertList {
    alerts: Vec<Alert>,
}

pub(super) async fn list(
    State(ctx): State<ApiContext>,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(q) = query.map_err(|e| {
        reject(&ctx, ApiError::bad_request(format!(
            "{}; filters are status (open, resolved), class, device, since (RFC 3339) and limit",
            e.body_text()
        )))
    })?;
    let status = match q.status.as_deref().map(AlertStatus::parse) {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            return Err(reject(
                &ctx,
                ApiError::bad_request("status is `open` or `resolved`"),
            ));
        }
    };
    let filter = AlertFilter {
        status,
        class: q.class,
        device: q.device,
        since: q.since,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    let store = ctx.alerts.store.clone();
    let alerts = read(move || store.list(&filter)).await?;
    Ok(Json(AlertList { alerts }))
}

/// An alert with its timeline, and the ticket its condition opened, if any.
#[derive(Serialize)]
pub(super) struct AlertView {
    #[serde(flatten)]
    detail: AlertDetail,
    ticket: Option<i64>,
}

pub(super) async fn get(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<AlertView>, ApiError> {
    let Path(id) =
        id.map_err(|_| reject(&ctx, ApiError::bad_request("an alert id is a number")))?;
    let store = ctx.alerts.store.clone();
    let detail = read(move || store.get(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))?;
    let ticket = linked_ticket(&ctx, &detail.alert).await?;
    Ok(Json(AlertView { detail, ticket }))
}

/// The ticket opened by the same rule on the same device for this incident.
async fn linked_ticket(ctx: &ApiContext, alert: &Alert) -> Result<Option<i64>, ApiError> {
    let (Some(device), Some(rule)) = (alert.device.clone(), alert.rule.clone()) else {
        return Ok(None);
    };
    let raised = alert.raised_at;
    let filter = crate::tickets::store::ListFilter {
        device: Some(device),
        from: Some(raised - std::time::Duration::from_secs(5)),
        limit: 100,
        ..Default::default()
    };
    let store = ctx.tickets.store.clone();
    let tickets = read(move || store.list(&filter)).await?;
    Ok(tickets
        .iter()
        .rev()
        .find(|t| t.rule.as_deref() == Some(rule.as_str()))
        .map(|t| t.id))
}

/// An optional body `{"note": "…"}`: acknowledging an alert, marking a
/// plan step done.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoteBody {
    #[serde(default)]
    note: Option<String>,
}

/// The note of a body that is empty or `{"note": "…"}`.
fn optional_note(ctx: &ApiContext, body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<NoteBody>(body)
        .map(|b| b.note)
        .map_err(|e| {
            reject(
                ctx,
                ApiError::bad_request(format!("{e}; the body is {{\"note\": \"…\"}} or empty")),
            )
        })
}

pub(super) async fn ack(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let Path(id) =
        id.map_err(|_| reject(&ctx, ApiError::bad_request("an alert id is a number")))?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let body = body.map_err(|e| reject(&ctx, ApiError::bad_request(e.body_text())))?;
    // No body is a plain acknowledgement; a body is `{"note": "…"}`.
    let note = optional_note(&ctx, &body)?;
    let command = Command::AckAlert { alert: id, note };
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(&ctx, e.into()))?;
    Ok(Json(ctx.control.execute(&caller, command).await?))
}

/// `POST /api/v1/alerts`: an emergency a person reports (the hotline, a
/// visitor at the desk) runs the same chain as a sensor's alert.
pub(super) async fn report(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<EmergencyReport>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(report) = body.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; a report is {{\"class\", \"location\", \"reporter\"?, \"note\"?, \"device\"?}}",
                e.body_text()
            )),
        )
    })?;
    let long = [
        Some(&report.location),
        report.reporter.as_ref(),
        report.note.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|t| t.len() > super::tickets::MAX_TEXT);
    if long {
        return Err(reject(
            &ctx,
            ApiError::bad_request("`location`, `reporter` and `note` are at most 4000 bytes each"),
        ));
    }
    let command = Command::ReportEmergency(report);
    let raised = super::carry_out(&ctx, &caller, command).await?;
    Ok((StatusCode::CREATED, Json(raised)))
}

/// `GET /api/v1/alerts/{id}/plan`: the alert's response plan as it stands.
pub(super) async fn plan(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<PlanProgress>>, ApiError> {
    let Path(id) =
        id.map_err(|_| reject(&ctx, ApiError::bad_request("an alert id is a number")))?;
    let (store, catalog) = (ctx.alerts.store.clone(), ctx.catalog.clone());
    read(move || store.plan(&catalog, id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))
}

/// `POST /api/v1/alerts/{id}/plan/{step}`: a step of the plan was done
/// (optional body `{"note": "…"}`).
pub(super) async fn plan_step(
    State(ctx): State<ApiContext>,
    path: Result<Path<(i64, usize)>, PathRejection>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let Path((alert, step)) = path.map_err(|_| {
        reject(
            &ctx,
            ApiError::bad_request("an alert id and a step number are numbers"),
        )
    })?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let body = body.map_err(|e| reject(&ctx, ApiError::bad_request(e.body_text())))?;
    let note = optional_note(&ctx, &body)?;
    if note
        .as_ref()
        .is_some_and(|n| n.len() > super::tickets::MAX_TEXT)
    {
        return Err(reject(
            &ctx,
            ApiError::bad_request("`note` is at most 4000 bytes"),
        ));
    }
    let command = Command::PlanStepDone { alert, step, note };
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(&ctx, e.into()))?;
    Ok(Json(ctx.control.execute(&caller, command).await?))
}

/// `GET /api/v1/reports/drills?month=YYYY-MM`: the month's drills, each
/// with the time its plan's steps took.
pub(super) async fn drill_report(
    State(ctx): State<ApiContext>,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Result<Json<DrillReport>, ApiError> {
    let Query(q) = query.map_err(|e| reject(&ctx, ApiError::bad_request(e.body_text())))?;
    let tz = ctx.catalog.site.hours.time_zone.clone();
    let (from, to) = crate::tickets::report::month_bounds(&q.month, &tz)
        .map_err(|e| reject(&ctx, ApiError::bad_request(e)))?;
    let (store, catalog) = (ctx.alerts.store.clone(), ctx.catalog.clone());
    let drills = read(move || store.drill_report(&catalog, from, to)).await?;
    Ok(Json(DrillReport {
        month: q.month,
        drills,
    }))
}

/// `?month=YYYY-MM`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MonthQuery {
    month: String,
}

/// The month's drills.
#[derive(Debug, Serialize)]
pub(super) struct DrillReport {
    month: String,
    drills: Vec<DrillRun>,
}

/// Body of `POST /api/v1/duty/check-in`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckInBody {
    /// `[[people]]` id; the token's name when left out.
    #[serde(default)]
    person: Option<String>,
    /// Handover note.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/duty/check-in`: the person on duty checks in for their shift.
pub(super) async fn check_in(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<CheckInBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(body) = body.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; a check-in is {{\"person\"?, \"note\"?}}",
                e.body_text()
            )),
        )
    })?;
    if body
        .note
        .as_ref()
        .is_some_and(|n| n.len() > super::tickets::MAX_TEXT)
    {
        return Err(reject(
            &ctx,
            ApiError::bad_request("`note` is at most 4000 bytes"),
        ));
    }
    let command = Command::CheckIn {
        person: body.person,
        note: body.note,
    };
    let done = super::carry_out(&ctx, &caller, command).await?;
    Ok((StatusCode::CREATED, Json(done)))
}

/// `POST /api/v1/tests`: a technician tests detectors of a device.
pub(super) async fn declare_test(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<TestRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(request) = body.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; a test is {{\"device\", \"zones\"?, \"ends\", \"reason\"}}",
                e.body_text()
            )),
        )
    })?;
    let command = Command::DeclareTest(request);
    let window = super::carry_out(&ctx, &caller, command).await?;
    Ok((StatusCode::CREATED, Json(window)))
}

/// `GET /api/v1/tests/{id}`: a test window and what fired during it.
pub(super) async fn test_report(
    State(ctx): State<ApiContext>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<TestReport>, ApiError> {
    let Path(id) = id.map_err(|_| reject(&ctx, ApiError::bad_request("a test id is a number")))?;
    let store = ctx.alerts.store.clone();
    read(move || store.test_report(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no test {id}")))
}

pub(super) async fn add_silence(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<SilenceRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(request) = body.map_err(|e| reject(&ctx, ApiError::bad_request(e.body_text())))?;
    let command = Command::AddSilence(request);
    let silence = super::carry_out(&ctx, &caller, command).await?;
    Ok((StatusCode::CREATED, Json(silence)))
}

pub(super) async fn end_silence(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let Path(id) =
        id.map_err(|_| reject(&ctx, ApiError::bad_request("a silence id is a number")))?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let command = Command::EndSilence { silence: id };
    Ok(Json(
        ctx.control
            .execute(&caller, command)
            .await
            .map_err(|e| reject(&ctx, e.into()))?,
    ))
}

pub(super) async fn silences(
    State(ctx): State<ApiContext>,
) -> Result<Json<Vec<Silence>>, ApiError> {
    let store = ctx.alerts.store.clone();
    Ok(Json(read(move || store.silences(clock::now())).await?))
}

pub(super) async fn declare_drill(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<DrillRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(request) = body.map_err(|e| reject(&ctx, ApiError::bad_request(e.body_text())))?;
    let command = Command::DeclareDrill(request);
    let drill = super::carry_out(&ctx, &caller, command).await?;
    Ok((StatusCode::CREATED, Json(drill)))
}

pub(super) async fn end_drill(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let Path(id) = id.map_err(|_| reject(&ctx, ApiError::bad_request("a drill id is a number")))?;
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let command = Command::EndDrill { drill: id };
    Ok(Json(
        ctx.control
            .execute(&caller, command)
            .await
            .map_err(|e| reject(&ctx, e.into()))?,
    ))
}

pub(super) async fn drills(State(ctx): State<ApiContext>) -> Result<Json<Vec<Drill>>, ApiError> {
    let store = ctx.alerts.store.clone();
    Ok(Json(read(move || store.drills(clock::now())).await?))
}
