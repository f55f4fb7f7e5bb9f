//! The HTTP API (axum): health, metrics, and the site's live state as JSON.
//!
//! Paths are versioned (`/api/v1/…`), errors are JSON ([`error::ApiError`]),
//! and anything that changes state authenticates with a bearer token
//! ([`auth`]). Read-only views need no token while the API listens on
//! loopback (the default); beyond it, reads of personal data need a token
//! or a console session ([`personal_read`]).

mod accept_page;
mod ack_page;
mod alarm_page;
mod alerts;
pub mod auth;
pub mod board;
mod conditions;
mod equipment;
pub mod error;
pub mod listener;
mod patrols;
mod planning;
mod repairs;
pub mod session;
mod shell;
mod signin;
mod tickets;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::metrics::Metrics;
use crate::readings::{BadReason, DeviceState, Quality, Value};
use crate::rules::RulesHandle;
use crate::state::LiveState;
use error::ApiError;
use sitewarden_model::catalog::Catalog;
use sitewarden_model::vocab::{DataType, RegisterKind};
use sitewarden_runtime::shutdown::Shutdown;

/// What handlers share.
#[derive(Clone)]
pub struct ApiContext {
    /// The site.
    pub catalog: Arc<Catalog>,
    /// Latest values and device states.
    pub state: Arc<LiveState>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Conditions and the rules stage.
    pub rules: RulesHandle,
    /// Tickets.
    pub tickets: crate::tickets::TicketsHandle,
    /// Alerts.
    pub alerts: crate::alerts::AlertsHandle,
    /// Collected badge taps.
    pub patrol: Arc<crate::patrol::store::PatrolStore>,
    /// Commands that change state, shared with MQTT.
    pub control: crate::control::Control,
    /// Ends the streams that would otherwise stay open (the console's events).
    pub shutdown: Shutdown,
    /// People signed in to the duty console.
    pub sessions: Arc<session::Sessions>,
    /// The alarms board's last read of the open alerts.
    pub board: Arc<board::BoardCache>,
    /// Which configuration runs and how the last reload went.
    pub config: Arc<crate::config_status::ConfigStatus>,
}

/// A person's name from their `[[people]]` id (the id when unknown, as
/// for an API token's name).
fn person_name<'a>(ctx: &'a ApiContext, id: &'a str) -> &'a str {
    ctx.catalog
        .alerts
        .people
        .iter()
        .find(|p| p.id == id)
        .map_or(id, |p| p.name.as_str())
}

/// Where an alert is, as people say it: its device's name, location and
/// the zones in alarm, in the site's language.
fn alert_place(ctx: &ApiContext, alert: &crate::alerts::Alert) -> Option<String> {
    let name = alert.device.as_deref()?;
    let device = ctx
        .catalog
        .devices
        .iter()
        .find(|d| d.name == name)
        .map_or(name, |d| d.display_name.as_str());
    let zones: Vec<&str> = alert
        .members
        .iter()
        .filter_map(|m| m.zone.as_deref())
        .collect();
    Some(
        ctx.catalog
            .site
            .messages
            .place(device, alert.location.as_deref(), &zones),
    )
}

/// Counts a refused request and passes its error on.
fn reject(ctx: &ApiContext, e: ApiError) -> ApiError {
    ctx.metrics.api_rejected.fetch_add(1, Relaxed);
    e
}

/// Runs a store query off the async workers; a failure is a 500.
async fn read<T: Send + 'static>(
    work: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("query failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("query failed: {e}")))
}

/// Largest request body accepted (the same limit as MQTT commands).
const MAX_BODY: usize = crate::control::MAX_REQUEST;
/// Largest photo request: the photo and a little room for its framing.
const MAX_PHOTO_REQUEST: usize = crate::tickets::store::MAX_PHOTO_BYTES + 64 * 1024;

/// Lets a read of personal data (requesters' contacts, who was called
/// and what they said, guards' taps and rounds) through for a signed-in
/// person or a token holder — or for anyone while
/// `[api] personal_data_needs_sign_in` is off (a loopback listener).
async fn personal_read(
    State(ctx): State<ApiContext>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let headers = request.headers();
    if !ctx.catalog.api.personal_data_needs_sign_in
        || ctx.sessions.of(headers).is_some()
        || auth::authenticate(headers, &ctx.catalog.api.tokens).is_ok()
    {
        return next.run(request).await;
    }
    reject(
        &ctx,
        ApiError::unauthorized(
            "this read returns personal data: sign in at /login or send `Authorization: Bearer <token>`",
        ),
    )
    .into_response()
}

/// Carries a command out as `caller`, refusals counted as rejected
/// requests: the one path from an API handler into [`crate::control`].
async fn carry_out(
    ctx: &ApiContext,
    caller: &crate::control::Caller,
    command: crate::control::Command,
) -> Result<crate::control::Outcome, ApiError> {
    ctx.control
        .execute(caller, command)
        .await
        .map_err(|e| reject(ctx, e.into()))
}

/// The router with every route.
pub fn router(context: ApiContext) -> Router {
    let personal = || axum::middleware::from_fn_with_state(context.clone(), personal_read);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/points", get(points))
        .route("/api/v1/conditions", get(conditions::list))
        .route("/api/v1/service-records", post(conditions::record_service))
        .route(
            "/api/v1/tickets",
            get(tickets::list).layer(personal()).post(tickets::create),
        )
        .route("/api/v1/tickets/{id}", get(tickets::get).layer(personal()))
        .route("/api/v1/tickets/{id}/transition", post(tickets::transition))
        .route(
            "/api/v1/tickets/{id}/checklist/{item}",
            post(tickets::check),
        )
        .route(
            "/api/v1/tickets/{id}/photos",
            post(tickets::add_photo).layer(DefaultBodyLimit::max(MAX_PHOTO_REQUEST)),
        )
        .route(
            "/api/v1/tickets/{id}/photos/{photo}",
            get(tickets::photo).layer(personal()),
        )
        .route("/api/v1/reports/tickets", get(tickets::report))
        .route(
            "/api/v1/reports/extinguishers",
            get(tickets::extinguisher_report),
        )
        .route(
            "/api/v1/alerts",
            get(alerts::list).layer(personal()).post(alerts::report),
        )
        .route("/api/v1/alerts/{id}", get(alerts::get).layer(personal()))
        .route("/api/v1/alerts/{id}/ack", post(alerts::ack))
        .route("/api/v1/alerts/{id}/plan", get(alerts::plan))
        .route("/api/v1/alerts/{id}/plan/{step}", post(alerts::plan_step))
        .route("/api/v1/reports/drills", get(alerts::drill_report))
        .route(
            "/api/v1/silences",
            get(alerts::silences).post(alerts::add_silence),
        )
        .route("/api/v1/silences/{id}", delete(alerts::end_silence))
        .route("/api/v1/tests", post(alerts::declare_test))
        .route("/api/v1/duty/check-in", post(alerts::check_in))
        .route(
            "/api/v1/tests/{id}",
            get(alerts::test_report).layer(personal()),
        )
        .route("/api/v1/drills/{id}", delete(alerts::end_drill))
        .route(
            "/api/v1/drills",
            get(alerts::drills).post(alerts::declare_drill),
        )
        .route("/api/v1/patrol/taps", get(patrol_taps).layer(personal()))
        .route(
            "/api/v1/patrol/rounds",
            get(patrol_rounds).layer(personal()),
        )
        .route(
            "/api/v1/patrol/findings",
            get(patrol_findings).layer(personal()).post(report_findings),
        )
        .route(
            "/a/{capability}",
            get(ack_page::show).post(ack_page::acknowledge),
        )
        .route(
            "/r/{capability}",
            get(accept_page::show).post(accept_page::answer),
        )
        .route("/", get(board::page))
        .route("/console/alarms", get(board::list))
        .route("/console/events", get(board::events))
        .route("/console.js", get(board::script))
        .route("/console/alarms/{id}", get(alarm_page::page))
        .route("/console/alarms/{id}/ack", post(board::acknowledge))
        .route(
            "/console/alarms/{id}/plan/{step}",
            post(alarm_page::plan_step),
        )
        .route("/console/emergencies", post(planning::report_emergency))
        .route("/console/check-in", post(planning::check_in))
        .route("/console/drills", post(planning::declare_drill))
        .route("/console/drills/{id}/end", post(planning::end_drill))
        .route("/console/silences", post(planning::add_silence))
        .route("/console/silences/{id}/end", post(planning::end_silence))
        .route("/login", get(signin::page).post(signin::sign_in))
        .route("/logout", post(signin::sign_out))
        .route("/repairs", get(repairs::page).post(repairs::register))
        .route("/repairs/report", get(repairs::report))
        .route("/patrols", get(patrols::page))
        .route("/equipment", get(equipment::page))
        .route("/repairs/{id}/{action}", post(repairs::step))
        .route("/repairs/{id}/check/{item}", post(repairs::check))
        .route(
            "/repairs/{id}/photo",
            post(repairs::add_photo).layer(DefaultBodyLimit::max(MAX_PHOTO_REQUEST)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .fallback(not_found)
        .with_state(context)
}

/// What `sitewarden check` and the daemon at start warn about how the
/// API is exposed: a listener beyond loopback without TLS, personal data
/// open to the network.
pub fn exposure_warnings(api: &sitewarden_model::catalog::ApiSettings) -> Vec<String> {
    let mut warnings = Vec::new();
    if api.listen.port() < 1024 && api.listen.port() != 0 {
        warnings.push(format!(
            // for engineers: a `check` warning about the config.
            "[api] listen {} is below port 1024: the packaged unit has no capabilities, so add AmbientCapabilities=CAP_NET_BIND_SERVICE and CapabilityBoundingSet=CAP_NET_BIND_SERVICE in a drop-in (systemctl edit sitewarden), or use a port above 1023",
            api.listen
        ));
    }
    if api.listen.ip().is_loopback() {
        return warnings;
    }
    if api.tls.is_none() {
        warnings.push(format!(
            // for engineers: a `check` warning about the config.
            "[api] listen {} is beyond loopback without [api] tls: passwords, session cookies and acknowledgement links cross the network in clear; set [api] tls = {{ cert, key }} or serve the console through a TLS proxy",
            api.listen
        ));
    }
    if !api.personal_data_needs_sign_in {
        warnings.push(format!(
            // for engineers: a `check` warning about the config.
            "[api] listen {} is beyond loopback and personal_data_needs_sign_in = false: anyone on the network reads requesters' contacts and guards' rounds",
            api.listen
        ));
    }
    warnings
}

/// Binds the listen address; a busy port is an error the caller reports.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr} for the HTTP API: {e} (set [api] listen to a free address)"
        )
    })
}

/// Serves until shutdown, every connection bounded (see [`listener`]).
pub async fn serve(
    listener: TcpListener,
    context: ApiContext,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let metrics = context.metrics.clone();
    let catalog = context.catalog.clone();
    listener::serve(listener, router(context), &catalog.api, metrics, shutdown).await
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    site: String,
    devices: usize,
    devices_online: usize,
    /// Stages whose task ended or panicked: the daemon runs but does not do
    /// all of its job, so a load balancer or monitor must see a failure.
    stages_down: Vec<String>,
    /// The data directory's free space is below `[storage] min_free`.
    disk_full: bool,
    /// The configuration that runs (its files' digest, when it was loaded)
    /// and a reload refused since, with its errors.
    config: crate::config_status::ConfigView,
}

/// 200 `ok` while every watched stage runs and the disk has room; 503
/// `degraded` naming the stages that stopped, or saying the disk is full.
async fn healthz(State(ctx): State<ApiContext>) -> (StatusCode, Json<Health>) {
    let stages_down: Vec<String> = ctx
        .metrics
        .stages
        .down()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let disk_full = ctx.metrics.disk.is_full();
    let (code, status) = if stages_down.is_empty() && !disk_full {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    let health = Health {
        status,
        site: ctx.catalog.site.id.clone(),
        devices: ctx.catalog.devices.len(),
        devices_online: ctx.metrics.devices.iter().filter(|d| d.is_online()).count(),
        stages_down,
        disk_full,
        config: ctx.config.view(),
    };
    (code, Json(health))
}

async fn metrics(State(ctx): State<ApiContext>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(&ctx.catalog),
    )
}

async fn not_found(State(ctx): State<ApiContext>) -> ApiError {
    ctx.metrics.api_rejected.fetch_add(1, Relaxed);
    ApiError::not_found("no such endpoint; see the README for the API")
}

#[derive(Serialize)]
struct DeviceView<'a> {
    id: &'a str,
    name: &'a str,
    location: Option<&'a str>,
    profile: Option<&'a str>,
    transport: String,
    unit_id: u8,
    state: DeviceState,
    since: Option<Timestamp>,
    offline_reason: Option<BadReason>,
    last_poll_at: Option<Timestamp>,
    points: usize,
    polls: u64,
    failed_polls: u64,
}

async fn devices(State(ctx): State<ApiContext>) -> Json<Vec<serde_json::Value>> {
    let tables = ctx.state.read();
    let views = ctx
        .catalog
        .devices
        .iter()
        .map(|d| {
            let slot = &tables.devices[d.id.0 as usize];
            let m = &ctx.metrics.devices[d.id.0 as usize];
            let view = DeviceView {
                id: &d.name,
                name: &d.display_name,
                location: d.location.as_deref(),
                profile: d.profile.as_deref(),
                transport: ctx.catalog.transport_of(d.id),
                unit_id: d.unit_id,
                state: slot.state,
                since: slot.since,
                offline_reason: slot.reason,
                last_poll_at: slot.last_poll_at,
                points: d.points.len(),
                polls: m.polls.load(Relaxed),
                failed_polls: m.failed_polls.load(Relaxed),
            };
            serde_json::to_value(view).unwrap_or_default()
        })
        .collect();
    Json(views)
}

/// Filters for `GET /api/v1/points`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PointFilter {
    device: Option<String>,
    role: Option<String>,
}

#[derive(Serialize)]
struct PointView<'a> {
    device: &'a str,
    point: &'a str,
    role: Option<&'a str>,
    zone: Option<&'a str>,
    kind: RegisterKind,
    address: u16,
    data_type: DataType,
    unit: Option<&'a str>,
    interval_ms: u128,
    value: Option<Value>,
    quality: &'static str,
    bad_reason: Option<BadReason>,
    updated_at: Option<Timestamp>,
    good_at: Option<Timestamp>,
}

async fn points(
    State(ctx): State<ApiContext>,
    filter: Result<Query<PointFilter>, QueryRejection>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let Query(filter) = filter.map_err(|e| {
        ctx.metrics.api_rejected.fetch_add(1, Relaxed);
        ApiError::bad_request(format!(
            "{}; filters are `device` and `role`",
            e.body_text()
        ))
    })?;
    if let Some(device) = &filter.device
        && !ctx.catalog.devices.iter().any(|d| &d.name == device)
    {
        return Err(ApiError::not_found(format!("no device `{device}`")));
    }
    let tables = ctx.state.read();
    let views = ctx
        .catalog
        .points
        .iter()
        .filter(|p| {
            let device = &ctx.catalog.device(p.device).name;
            filter.device.as_ref().is_none_or(|d| d == device)
                && filter
                    .role
                    .as_ref()
                    .is_none_or(|r| p.role.as_ref() == Some(r))
        })
        .map(|p| {
            let slot = &tables.points[p.id.0 as usize];
            let (quality, bad_reason) = match slot.quality {
                Some(Quality::Good) => ("good", None),
                Some(Quality::Bad(reason)) => ("bad", Some(reason)),
                None => ("unknown", None),
            };
            let view = PointView {
                device: &ctx.catalog.device(p.device).name,
                point: &p.name,
                role: p.role.as_deref(),
                zone: p.zone.as_deref(),
                kind: p.kind,
                address: p.address,
                data_type: p.data_type,
                unit: p.unit.as_deref(),
                interval_ms: p.interval.as_millis(),
                value: slot.value,
                quality,
                bad_reason,
                updated_at: slot.updated_at,
                good_at: slot.good_at,
            };
            serde_json::to_value(view).unwrap_or_default()
        })
        .collect();
    Ok(Json(views))
}

/// Filters for `GET /api/v1/patrol/taps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TapFilter {
    station: Option<String>,
    /// Default 100, at most 1000.
    limit: Option<usize>,
}

async fn patrol_taps(
    State(ctx): State<ApiContext>,
    filter: Result<Query<TapFilter>, QueryRejection>,
) -> Result<Json<Vec<crate::patrol::store::StoredTap>>, ApiError> {
    let Query(f) = filter.map_err(|e| {
        ctx.metrics.api_rejected.fetch_add(1, Relaxed);
        ApiError::bad_request(format!(
            "{}; filters are `station` and `limit`",
            e.body_text()
        ))
    })?;
    if let Some(s) = &f.station
        && !ctx.catalog.patrol.stations.iter().any(|x| &x.id == s)
    {
        return Err(ApiError::not_found(format!("no station `{s}`")));
    }
    let store = ctx.patrol.clone();
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        read(move || store.taps(f.station.as_deref(), limit)).await?,
    ))
}

/// Filters for `GET /api/v1/patrol/rounds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoundFilter {
    route: Option<String>,
    /// Default 50, at most 1000.
    limit: Option<usize>,
}

/// `?round=&limit=` of `GET /api/v1/patrol/findings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingFilter {
    round: Option<i64>,
    /// Default 50, at most 1000.
    limit: Option<usize>,
}

/// `GET /api/v1/patrol/findings`: what guards found, newest first.
async fn patrol_findings(
    State(ctx): State<ApiContext>,
    filter: Result<Query<FindingFilter>, QueryRejection>,
) -> Result<Json<Vec<crate::patrol::findings::Finding>>, ApiError> {
    let Query(f) = filter.map_err(|e| {
        ctx.metrics.api_rejected.fetch_add(1, Relaxed);
        ApiError::bad_request(format!(
            "{}; filters are `round` and `limit`",
            e.body_text()
        ))
    })?;
    let store = ctx.patrol.clone();
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let found = read(move || store.with(|c| crate::patrol::findings::list(c, f.round, limit)));
    Ok(Json(found.await?))
}

/// `POST /api/v1/patrol/findings`: a guard's findings at a checkpoint.
async fn report_findings(
    State(ctx): State<ApiContext>,
    headers: axum::http::HeaderMap,
    body: Result<
        Json<crate::patrol::findings::FindingsReport>,
        axum::extract::rejection::JsonRejection,
    >,
) -> Result<(axum::http::StatusCode, Json<crate::control::Outcome>), ApiError> {
    let caller =
        auth::authenticate(&headers, &ctx.catalog.api.tokens).map_err(|e| reject(&ctx, e))?;
    let Json(report) = body.map_err(|e| {
        reject(
            &ctx,
            ApiError::bad_request(format!(
                "{}; a report is {{\"station\", \"items\": [{{\"item\", \"ok\", \"note\"?}}]}}",
                e.body_text()
            )),
        )
    })?;
    let long = report
        .items
        .iter()
        .filter_map(|i| i.note.as_ref())
        .any(|n| n.len() > tickets::MAX_TEXT);
    if long {
        return Err(reject(
            &ctx,
            ApiError::bad_request("a `note` is at most 4000 bytes"),
        ));
    }
    let command = crate::control::Command::PatrolFindings(report);
    let found = carry_out(&ctx, &caller, command).await?;
    Ok((axum::http::StatusCode::CREATED, Json(found)))
}

async fn patrol_rounds(
    State(ctx): State<ApiContext>,
    filter: Result<Query<RoundFilter>, QueryRejection>,
) -> Result<Json<Vec<crate::patrol::rounds::RoundView>>, ApiError> {
    let Query(f) = filter.map_err(|e| {
        ctx.metrics.api_rejected.fetch_add(1, Relaxed);
        ApiError::bad_request(format!(
            "{}; filters are `route` and `limit`",
            e.body_text()
        ))
    })?;
    if let Some(r) = &f.route
        && !ctx.catalog.patrol.routes.iter().any(|x| &x.id == r)
    {
        return Err(ApiError::not_found(format!("no route `{r}`")));
    }
    let store = ctx.patrol.clone();
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let rounds =
        read(move || store.with(|c| crate::patrol::rounds::rounds(c, f.route.as_deref(), limit)));
    Ok(Json(rounds.await?))
}
