//! Commands over MQTT, with the same rules as the HTTP API.
//!
//! A client publishes to `sitewarden/<site>/commands/<command>` a JSON
//! object with a `correlation_id`, a `token` (one of `[[api.tokens]]`, whose
//! role must allow the command, exactly as for the HTTP API) and the
//! command's arguments. The answer goes to `reply_to` when given, else to
//! `sitewarden/<site>/responses/<correlation_id>`:
//! `{"correlation_id", "command", "ok", "status", "result" | "error"}` with
//! HTTP-like status codes. Refused commands are logged and counted.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use serde::Deserialize;
use serde_json::json;
use tracing::warn;

use crate::api::auth::authenticate_token;
use crate::api::error::ApiError;
use crate::rules::RulesHandle;
use crate::sources::mqtt::MqttInMetrics;
use sitewarden_model::catalog::Catalog;
use sitewarden_model::vocab::ApiRole;

/// Commands this daemon answers.
pub const COMMANDS: [&str; 4] = [
    "record_service",
    "ack_alert",
    "declare_drill",
    "move_ticket",
];

/// The common part of every command payload.
#[derive(Debug, Deserialize)]
struct Envelope {
    correlation_id: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(flatten)]
    args: serde_json::Map<String, serde_json::Value>,
}

/// Arguments of `record_service`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordService {
    device: String,
    rule: String,
}

/// Arguments of `ack_alert`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckAlert {
    alert: i64,
    #[serde(default)]
    note: Option<String>,
}

/// Arguments of `move_ticket`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveTicket {
    ticket: i64,
    action: crate::tickets::Action,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// The stages commands reach.
pub struct Targets {
    /// Service records.
    pub rules: RulesHandle,
    /// Alert acknowledgements and drills.
    pub alerts: crate::alerts::AlertsHandle,
    /// Ticket transitions.
    pub tickets: crate::tickets::TicketsHandle,
}

/// Answers commands.
pub struct Commands {
    catalog: Arc<Catalog>,
    targets: Targets,
    metrics: Arc<MqttInMetrics>,
}

impl Commands {
    /// A handler for the site's command topics.
    pub fn new(catalog: Arc<Catalog>, targets: Targets, metrics: Arc<MqttInMetrics>) -> Self {
        Self {
            catalog,
            targets,
            metrics,
        }
    }

    /// `sitewarden/<site>/commands/+`.
    pub fn filter(&self) -> String {
        self.catalog.topics().commands_filter()
    }

    /// Handles one command; returns the response's topic and payload, or
    /// `None` when the message is too malformed to answer.
    pub async fn handle(&self, topic: &str, payload: &[u8]) -> Option<(String, Vec<u8>)> {
        let command = topic.rsplit('/').next().unwrap_or_default().to_owned();
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(e) => {
                self.refuse(&command, &format!("malformed payload: {e}"));
                return None;
            }
        };
        let reply_to = envelope
            .reply_to
            .clone()
            .unwrap_or_else(|| self.catalog.topics().response(&envelope.correlation_id));
        let answer = match self.run(&command, &envelope).await {
            Ok(result) => json!({
                "correlation_id": envelope.correlation_id, "command": command,
                "ok": true, "status": 200, "result": result,
            }),
            Err(e) => {
                self.refuse(&command, &e.message);
                json!({
                    "correlation_id": envelope.correlation_id, "command": command,
                    "ok": false, "status": e.status.as_u16(),
                    "error": { "code": e.code, "message": e.message },
                })
            }
        };
        Some((reply_to, answer.to_string().into_bytes()))
    }

    async fn run(&self, command: &str, envelope: &Envelope) -> Result<serde_json::Value, ApiError> {
        let token = envelope
            .token
            .as_deref()
            .ok_or_else(|| ApiError::unauthorized("a command needs a `token`"))?;
        let caller = authenticate_token(token, &self.catalog.api.tokens)?;
        let args = serde_json::Value::Object(envelope.args.clone());
        match command {
            "record_service" => {
                caller.require(&[ApiRole::Technician, ApiRole::Engineer])?;
                let a: RecordService = serde_json::from_value(args)
                    .map_err(|e| ApiError::bad_request(format!("record_service: {e}")))?;
                let baselines = self
                    .targets
                    .rules
                    .record_service(&self.catalog, &a.device, &a.rule, caller.name.clone())
                    .await?;
                Ok(
                    json!({ "device": a.device, "rule": a.rule, "by": caller.name, "baselines": baselines }),
                )
            }
            "ack_alert" => {
                caller.require(crate::alerts::ACK_ROLES)?;
                let a: AckAlert = serde_json::from_value(args)
                    .map_err(|e| ApiError::bad_request(format!("ack_alert: {e}")))?;
                let alert = self
                    .targets
                    .alerts
                    .acknowledge(a.alert, caller.name, a.note)
                    .await?;
                Ok(serde_json::to_value(alert).unwrap_or_default())
            }
            "declare_drill" => {
                caller.require(crate::alerts::PLAN_ROLES)?;
                let d: crate::alerts::DrillRequest = serde_json::from_value(args)
                    .map_err(|e| ApiError::bad_request(format!("declare_drill: {e}")))?;
                let drill = self.targets.alerts.declare_drill(d, caller.name).await?;
                Ok(serde_json::to_value(drill).unwrap_or_default())
            }
            "move_ticket" => {
                let m: MoveTicket = serde_json::from_value(args)
                    .map_err(|e| ApiError::bad_request(format!("move_ticket: {e}")))?;
                caller.require(m.action.roles())?;
                let request = crate::tickets::store::TransitionRequest {
                    action: m.action,
                    actor: caller.name,
                    assignee: m.assignee,
                    note: m.note,
                };
                let ticket = self.targets.tickets.transition(m.ticket, request).await?;
                Ok(serde_json::to_value(ticket).unwrap_or_default())
            }
            other => Err(ApiError::not_found(format!(
                "unknown command `{other}`; this daemon answers {}",
                COMMANDS.join(", ")
            ))),
        }
    }

    fn refuse(&self, command: &str, why: &str) {
        self.metrics.commands_refused.fetch_add(1, Relaxed);
        warn!(%command, reason = %why, "MQTT command refused");
    }
}
