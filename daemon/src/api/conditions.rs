//! `GET /api/v1/conditions` and `POST /api/v1/service-records`.

use std::sync::atomic::Ordering::Relaxed;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ApiContext;
use super::auth::authenticate;
use super::error::ApiError;
use crate::control::{Command, Outcome};
use crate::rules::store::{EventFilter, EventRow};
use crate::rules::{ConditionState, RequestError};
use sitewarden_model::vocab::{Category, RuleAction, RuleKind, Severity};

/// Filters for the conditions list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionFilter {
    device: Option<String>,
    rule: Option<String>,
    severity: Option<Severity>,
    /// RFC 3339; history at or after.
    since: Option<Timestamp>,
    /// History rows, default 100, at most 1000.
    limit: Option<usize>,
}

#[derive(Serialize)]
struct ConditionView<'a> {
    rule: &'a str,
    description: &'a str,
    kind: RuleKind,
    device: &'a str,
    point: &'a str,
    zone: Option<&'a str>,
    state: ConditionState,
    since: Timestamp,
    raised_at: Option<Timestamp>,
    value: Option<f64>,
    threshold: Option<f64>,
    severity: Severity,
    category: Category,
    action: RuleAction,
}

/// Current conditions that are not normal, and recent transitions.
#[derive(Serialize)]
pub struct ConditionsResponse {
    active: Vec<serde_json::Value>,
    recent: Vec<EventRow>,
}

pub(super) async fn list(
    State(ctx): State<ApiContext>,
    filter: Result<Query<ConditionFilter>, QueryRejection>,
) -> Result<Json<ConditionsResponse>, ApiError> {
    let Query(filter) = filter.map_err(|e| {
        ctx.metrics.api_rejected.fetch_add(1, Relaxed);
        ApiError::bad_request(format!(
            "{}; filters are `device`, `rule`, `severity`, `since` (RFC 3339) and `limit`",
            e.body_text()
        ))
    })?;
    let catalog = &ctx.catalog;
    if let Some(device) = &filter.device
        && !catalog.devices.iter().any(|d| &d.name == device)
    {
        return Err(ApiError::not_found(format!("no device `{device}`")));
    }
    if let Some(rule) = &filter.rule
        && !catalog.rules.iter().any(|r| &r.id == rule)
    {
        return Err(ApiError::not_found(format!("no rule `{rule}`")));
    }
    let active = {
        let slots = ctx.rules.view.read();
        catalog
            .rule_instances
            .iter()
            .zip(slots.iter())
            .filter(|(_, s)| s.state != ConditionState::Normal)
            .filter(|(i, _)| {
                filter
                    .device
                    .as_ref()
                    .is_none_or(|d| d == &catalog.device(i.device).name)
            })
            .filter(|(i, _)| {
                filter
                    .rule
                    .as_ref()
                    .is_none_or(|r| r == &catalog.rule(i.rule).id)
            })
            .filter(|(i, _)| filter.severity.is_none_or(|s| s == i.severity))
            .map(|(i, s)| {
                let rule = catalog.rule(i.rule);
                let point = catalog.point(i.point);
                let view = ConditionView {
                    rule: &rule.id,
                    description: &rule.description,
                    kind: rule.kind,
                    device: &catalog.device(i.device).name,
                    point: &point.name,
                    zone: point.zone.as_deref(),
                    state: s.state,
                    since: s.since,
                    raised_at: s.raised_at,
                    value: s.value,
                    threshold: crate::rules::engine::threshold_of(&i.check),
                    severity: i.severity,
                    category: rule.category,
                    action: rule.action,
                };
                serde_json::to_value(view).unwrap_or_default()
            })
            .collect()
    };
    let history = EventFilter {
        device: filter.device.clone(),
        rule: filter.rule.clone(),
        since: filter.since,
        limit: filter.limit.unwrap_or(100).min(1000),
    };
    let store = ctx.rules.store.clone();
    let recent = tokio::task::spawn_blocking(move || store.recent_events(&history))
        .await
        .map_err(|e| ApiError::internal(format!("history query failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("history query failed: {e}")))?;
    let recent = match filter.severity {
        Some(s) => {
            let wanted = s.as_str();
            recent
                .into_iter()
                .filter(|r| r.severity == wanted)
                .collect()
        }
        None => recent,
    };
    Ok(Json(ConditionsResponse { active, recent }))
}

/// Body of `POST /api/v1/service-records`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRecord {
    device: String,
    rule: String,
}

pub(super) async fn record_service(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Json<ServiceRecord>, JsonRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let reject = |e: ApiError| {
        ctx.metrics.api_rejected.fetch_add(1, Relaxed);
        e
    };
    let caller = authenticate(&headers, &ctx.catalog.api.tokens).map_err(reject)?;
    let Json(record) = body.map_err(|e| reject(ApiError::bad_request(e.body_text())))?;
    let command = Command::RecordService {
        device: record.device,
        rule: record.rule,
    };
    caller
        .require(command.roles(&ctx.catalog))
        .map_err(|e| reject(e.into()))?;
    Ok(Json(ctx.control.execute(&caller, command).await?))
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        crate::control::CommandError::from(e).into()
    }
}
