//! Commands over MQTT, with the same rules as the HTTP API.
//!
//! A client publishes to `sitewarden/<site>/commands/<command>` a signed
//! command (see [`super::signature`]): the operator's name, a signature made
//! with their `[[api.tokens]]` token, and the command object with a
//! `correlation_id`, `at`, `nonce`, optional `reply_to` and the command's
//! arguments. The operator's role must allow the command, exactly as for
//! the HTTP API. The answer goes to `reply_to` when given (it must stay
//! under `sitewarden/<site>/responses/`), else to
//! `sitewarden/<site>/responses/<correlation_id>`:
//! `{"correlation_id", "command", "ok", "status", "result" | "error"}` with
//! HTTP-like status codes. Refused commands are logged and counted.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use tracing::warn;

use crate::control::{Caller, Command, CommandError, Control, Refusal};
use crate::mqtt::signature::{Freshness, Signed, Verifier};
use crate::sources::mqtt::{CommandAnswer, CommandInbox};
use sitewarden_model::catalog::Catalog;

/// Commands this daemon answers.
pub const COMMANDS: [&str; 9] = [
    "record_service",
    "ack_alert",
    "report_emergency",
    "plan_step",
    "check_in",
    "declare_drill",
    "end_drill",
    "end_silence",
    "move_ticket",
];

/// The common part of every command payload.
#[derive(Debug, Deserialize)]
struct Envelope {
    correlation_id: String,
    #[serde(flatten)]
    freshness: Freshness,
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

/// Arguments of `end_silence`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndSilence {
    silence: i64,
}

/// Arguments of `end_drill`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndDrill {
    drill: i64,
}

/// Arguments of `plan_step`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanStep {
    alert: i64,
    step: usize,
    #[serde(default)]
    note: Option<String>,
}

/// Arguments of `check_in`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckIn {
    #[serde(default)]
    person: Option<String>,
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
    #[serde(default)]
    score: Option<u8>,
}

/// Answers commands.
pub struct Commands {
    catalog: Arc<Catalog>,
    control: Control,
    verifier: Verifier,
    /// Refusals are logged at most once a minute (with how many were held back).
    log: std::sync::Mutex<sitewarden_runtime::logging::LogLimiter>,
}

impl Commands {
    /// A handler for the site's command topics.
    pub fn new(catalog: Arc<Catalog>, control: Control) -> Self {
        Self {
            catalog,
            control,
            verifier: Verifier::new(),
            log: std::sync::Mutex::new(sitewarden_runtime::logging::LogLimiter::new(
                std::time::Duration::from_secs(60),
            )),
        }
    }

    /// Where the answer goes: `reply_to` when it names a topic under
    /// `sitewarden/<site>/responses/` (no wildcards), else the default
    /// response topic; an elsewhere `reply_to` is refused, so no client can
    /// make the daemon publish on another topic.
    fn reply_topic(&self, envelope: &Envelope) -> Result<String, String> {
        let default = self.catalog.topics().response(&envelope.correlation_id);
        let Some(asked) = &envelope.reply_to else {
            return Ok(default);
        };
        let responses = self.catalog.topics().response("");
        if asked.starts_with(&responses)
            && asked.len() > responses.len()
            && !asked.contains(['+', '#'])
        {
            Ok(asked.clone())
        } else {
            Err(format!("reply_to must be a topic under {responses}"))
        }
    }

    /// Handles one command message: the answer to publish, and whether it
    /// was refused.
    async fn answer(&self, topic: &str, payload: &[u8]) -> CommandAnswer {
        let command = topic.rsplit('/').next().unwrap_or_default().to_owned();
        if payload.len() > crate::control::MAX_REQUEST {
            self.refuse(
                &command,
                "payload larger than 64 KiB, the limit of every request",
            );
            return CommandAnswer {
                reply: None,
                refused: true,
            };
        }
        let (signed, envelope) = match read_payload(payload) {
            Ok(read) => read,
            Err((why, unsigned_id)) => {
                self.refuse(&command, &why);
                return CommandAnswer {
                    reply: unsigned_id.map(|id| self.unsigned_reply(&command, &id)),
                    refused: true,
                };
            }
        };
        let (reply_to, asked_elsewhere) = match self.reply_topic(&envelope) {
            Ok(topic) => (topic, None),
            Err(why) => (
                self.catalog.topics().response(&envelope.correlation_id),
                Some(why),
            ),
        };
        let outcome = match asked_elsewhere {
            Some(why) => Err(CommandError::new(Refusal::BadRequest, why)),
            None => self.run(topic, &command, &signed, &envelope).await,
        };
        let (answer, refused) = match outcome {
            Ok(result) => (
                json!({
                    "correlation_id": envelope.correlation_id, "command": command,
                    "ok": true, "status": 200, "result": result,
                }),
                false,
            ),
            Err(e) => {
                self.refuse(&command, &e.message);
                (
                    json!({
                        "correlation_id": envelope.correlation_id, "command": command,
                        "ok": false, "status": e.kind.status(),
                        "error": { "code": e.kind.code(), "message": e.message },
                    }),
                    true,
                )
            }
        };
        CommandAnswer {
            reply: Some((reply_to, answer.to_string().into_bytes())),
            refused,
        }
    }

    async fn run(
        &self,
        topic: &str,
        command: &str,
        signed: &Signed<'_>,
        envelope: &Envelope,
    ) -> Result<serde_json::Value, CommandError> {
        let caller: Caller = self.verifier.verify(
            topic,
            signed,
            &envelope.freshness,
            &self.catalog.api.tokens,
            sitewarden_runtime::clock::now().as_second(),
        )?;
        let command = parse(command, serde_json::Value::Object(envelope.args.clone()))?;
        let outcome = self.control.execute(&caller, command).await?;
        Ok(serde_json::to_value(outcome).unwrap_or_default())
    }

    /// The answer to an old-style command with a token and no signature,
    /// so its sender learns why nothing happened.
    fn unsigned_reply(&self, command: &str, correlation_id: &str) -> (String, Vec<u8>) {
        let answer = json!({
            "correlation_id": correlation_id, "command": command, "ok": false, "status": 401,
            "error": { "code": "unauthorized", "message": UNSIGNED },
        });
        (
            self.catalog.topics().response(correlation_id),
            answer.to_string().into_bytes(),
        )
    }

    fn refuse(&self, command: &str, why: &str) {
        let allowed = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow();
        if let Some(held_back) = allowed {
            warn!(%command, reason = %why, held_back, "MQTT command refused");
        }
    }
}

impl CommandInbox for Commands {
    /// `sitewarden/<site>/commands/+`.
    fn filter(&self) -> String {
        self.catalog.topics().commands_filter()
    }

    fn handle<'a>(
        &'a self,
        topic: &'a str,
        payload: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = CommandAnswer> + Send + 'a>> {
        Box::pin(self.answer(topic, payload))
    }
}

/// Why an unsigned command is refused.
const UNSIGNED: &str = "commands must be signed ({\"operator\", \"signature\", \"command\"}; `sitewarden sign` makes one); a token in a payload is never accepted";

/// The signed wrapper and the command inside, or why not with the
/// correlation id of an unsigned command (to answer it).
fn read_payload(payload: &[u8]) -> Result<(Signed<'_>, Envelope), (String, Option<String>)> {
    let signed: Signed<'_> = serde_json::from_slice(payload).map_err(|e| {
        #[derive(Deserialize)]
        struct Unsigned {
            correlation_id: String,
        }
        let id = serde_json::from_slice::<Unsigned>(payload)
            .ok()
            .map(|u| u.correlation_id);
        match id {
            Some(_) => (UNSIGNED.to_owned(), id),
            None => (format!("malformed payload: {e}"), None),
        }
    })?;
    let envelope: Envelope = serde_json::from_str(signed.command.get())
        .map_err(|e| (format!("malformed command: {e}"), None))?;
    Ok((signed, envelope))
}

/// Reads a command's arguments; the roles are checked by [`Control`].
fn parse(command: &str, args: serde_json::Value) -> Result<Command, CommandError> {
    let bad =
        |e: serde_json::Error| CommandError::new(Refusal::BadRequest, format!("{command}: {e}"));
    Ok(match command {
        "record_service" => {
            let a: RecordService = serde_json::from_value(args).map_err(bad)?;
            Command::RecordService {
                device: a.device,
                rule: a.rule,
            }
        }
        "ack_alert" => {
            let a: AckAlert = serde_json::from_value(args).map_err(bad)?;
            Command::AckAlert {
                alert: a.alert,
                note: a.note,
            }
        }
        "report_emergency" => Command::ReportEmergency(serde_json::from_value(args).map_err(bad)?),
        "plan_step" => {
            let p: PlanStep = serde_json::from_value(args).map_err(bad)?;
            Command::PlanStepDone {
                alert: p.alert,
                step: p.step,
                note: p.note,
            }
        }
        "check_in" => {
            let c: CheckIn = serde_json::from_value(args).map_err(bad)?;
            Command::CheckIn {
                person: c.person,
                note: c.note,
            }
        }
        "declare_drill" => Command::DeclareDrill(serde_json::from_value(args).map_err(bad)?),
        "end_drill" => {
            let e: EndDrill = serde_json::from_value(args).map_err(bad)?;
            Command::EndDrill { drill: e.drill }
        }
        "end_silence" => {
            let e: EndSilence = serde_json::from_value(args).map_err(bad)?;
            Command::EndSilence { silence: e.silence }
        }
        "move_ticket" => {
            let m: MoveTicket = serde_json::from_value(args).map_err(bad)?;
            Command::MoveTicket {
                ticket: m.ticket,
                action: m.action,
                assignee: m.assignee,
                note: m.note,
                score: m.score,
            }
        }
        other => {
            return Err(CommandError::new(
                Refusal::NotFound,
                format!(
                    "unknown command `{other}`; this daemon answers {}",
                    COMMANDS.join(", ")
                ),
            ));
        }
    })
}
