//! The alert desk: the stage that turns raised conditions into alerts,
//! fires escalation steps when their deadlines come, ends silences, runs
//! channel self-tests (a failed one opens a ticket) and sends the MQTT
//! heartbeat.
//!
//! It subscribes to the condition bus before any other stage, takes every
//! waiting condition event at once, and commits to its own database, so a
//! fire alarm does not queue behind readings, ticket writes or a retrying
//! webhook (each channel delivers on its own loop, fire first).

use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tracing::warn;

use super::{AlertInput, AlertsHandle, Raise};
use sitewarden_model::catalog::Catalog;
use sitewarden_model::vocab::RuleAction;
use sitewarden_rules::{ConditionEvent, Transition};
use sitewarden_tickets::TicketsHandle;

/// How often escalation deadlines are checked.
pub const ESCALATION_TICK: Duration = Duration::from_millis(100);
/// How often silences, self-tests and their failures are looked at.
pub const MAINTENANCE_TICK: Duration = Duration::from_secs(5);

/// What the desk runs with.
pub struct DeskInputs {
    /// Alerts.
    pub alerts: AlertsHandle,
    /// Tickets, for failed self-tests.
    pub tickets: TicketsHandle,
    /// Condition bus subscription.
    pub conditions: mpsc::Receiver<ConditionEvent>,
    /// For the heartbeat, when MQTT is configured.
    pub heartbeat: Option<(sitewarden_runtime::mqtt::client::Client, String)>,
}

/// Runs until the condition bus closes: at shutdown the rules stage stops
/// after the sources, so an alarm raised in the last moment is still handled.
pub async fn run(inputs: DeskInputs) {
    let DeskInputs {
        alerts,
        tickets,
        mut conditions,
        heartbeat,
    } = inputs;
    let mut escalation = tokio::time::interval(ESCALATION_TICK);
    let mut maintenance = tokio::time::interval(MAINTENANCE_TICK);
    let mut beat = tokio::time::interval(alerts.catalog.alerts.heartbeat_every);
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            biased;
            received = conditions.recv_many(&mut batch, 256) => {
                if received == 0 {
                    break;
                }
                let inputs: Vec<AlertInput> = batch.drain(..).filter_map(|e| alert_input(&alerts.catalog, &e)).collect();
                if !inputs.is_empty() && let Err(e) = alerts.apply(inputs).await {
                    warn!(error = %e, "cannot record alerts");
                }
            }
            _ = escalation.tick() => {
                if let Err(e) = alerts.escalate_due().await {
                    warn!(error = %e, "cannot escalate alerts");
                }
            }
            _ = maintenance.tick() => {
                if let Err(e) = alerts.maintain().await {
                    warn!(error = %e, "cannot maintain alerts");
                }
                ticket_failed_self_tests(&alerts, &tickets).await;
            }
            _ = beat.tick() => {
                if let Some((client, topic)) = &heartbeat {
                    send_heartbeat(&alerts, client, topic).await;
                }
            }
        }
    }
}

/// What a condition event means for alerts, if anything.
pub fn alert_input(catalog: &Catalog, e: &ConditionEvent) -> Option<AlertInput> {
    let rule = catalog.rule(e.rule);
    if !matches!(rule.action, RuleAction::Alert | RuleAction::Both) {
        return None;
    }
    let device = catalog.device(e.device);
    let point = catalog.point(e.point);
    let key = format!("{}|{}", rule.id, device.name);
    match e.transition {
        Transition::Raised => Some(AlertInput::Raised(Box::new(Raise {
            key,
            class: rule.class,
            severity: e.severity,
            rule: Some(rule.id.clone()),
            device: Some(device.name.clone()),
            location: device.location.clone(),
            title: rule.description.clone(),
            point: point.name.clone(),
            zone: point.zone.clone(),
            value: e.value,
            at: e.at,
        }))),
        Transition::Cleared => Some(AlertInput::Cleared {
            key,
            point: point.name.clone(),
            at: e.at,
        }),
        _ => None,
    }
}

/// A channel that failed its self-test three times gets a repair ticket,
/// so a broken password is fixed before a fire needs it.
async fn ticket_failed_self_tests(alerts: &AlertsHandle, tickets: &TicketsHandle) {
    let store = alerts.store.clone();
    let Ok(Ok(failed)) = tokio::task::spawn_blocking(move || store.failed_self_tests()).await
    else {
        return;
    };
    for (channel, key, error) in failed {
        let ticket = sitewarden_tickets::store::self_test_ticket(&alerts.catalog, &channel, &error);
        match tickets.create(ticket, "sitewarden".to_owned()).await {
            Ok(t) => {
                warn!(%channel, ticket = t.id, %error, "notification channel failed its self-test; ticket opened");
                let store = alerts.store.clone();
                let _ =
                    tokio::task::spawn_blocking(move || store.self_test_ticketed(&channel, &key))
                        .await;
            }
            Err(e) => warn!(%channel, error = %e, "cannot open a ticket for a failed self-test"),
        }
    }
}

async fn send_heartbeat(
    alerts: &AlertsHandle,
    client: &sitewarden_runtime::mqtt::client::Client,
    topic: &str,
) {
    let store = alerts.store.clone();
    let open = tokio::task::spawn_blocking(move || store.open_count())
        .await
        .ok()
        .and_then(Result::ok);
    let message = serde_json::json!({
        "site": alerts.catalog.site.id,
        "at": Timestamp::now(),
        "open_alerts": open,
    });
    // A heartbeat is a sign of life, not an event: a full queue just skips one.
    let _ = client.try_publish(
        topic.to_owned(),
        false,
        false,
        message.to_string().into_bytes(),
    );
}
