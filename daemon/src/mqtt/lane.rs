//! A lane: an MQTT connection of its own for messages that must not queue
//! behind the event outbox (alert notifications and alert state). The
//! messages are already durable in their own outbox (`alerts.db`); a lane
//! publishes one with QoS 1 and reports it delivered only on the broker's
//! PUBACK.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::publisher::{MqttMetrics, drive};
use crate::delivery::{Deliver, Pending, Refusal};
use sitewarden_model::catalog::MqttSettings;
use sitewarden_runtime::mqtt::client::{self, Client};
use sitewarden_runtime::shutdown::Shutdown;

/// Longest wait for a PUBACK.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a connection before an attempt counts as failed.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// One connection, one message in flight.
pub struct Lane {
    client: Client,
    connected: watch::Receiver<bool>,
    acks: mpsc::Receiver<()>,
}

impl Lane {
    /// Connects as `<client_id>-<suffix>` and keeps the connection up until shutdown.
    pub fn spawn(
        settings: &MqttSettings,
        suffix: &str,
        metrics: Arc<MqttMetrics>,
        shutdown: Shutdown,
        tasks: &mut tokio::task::JoinSet<()>,
    ) -> Self {
        let (client, eventloop) = client::connect(
            settings,
            client::ConnectOptions {
                client_id: format!("{}-{suffix}", settings.client_id),
                last_will: None,
                max_packet: 1 << 20,
                capacity: 16,
            },
        );
        let (connected_tx, connected) = watch::channel(false);
        let (acks_tx, acks) = mpsc::channel(16);
        tasks.spawn(drive(eventloop, connected_tx, acks_tx, metrics, shutdown));
        Self {
            client,
            connected,
            acks,
        }
    }

    /// For best-effort messages (heartbeats) that need no confirmation.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Deliver for Lane {
    async fn deliver(&mut self, message: &Pending) -> Result<(), Refusal> {
        let connected = matches!(
            tokio::time::timeout(CONNECT_WAIT, self.connected.wait_for(|c| *c)).await,
            Ok(Ok(_))
        );
        if !connected {
            return Err(Refusal::temporary("not connected to the MQTT broker"));
        }
        while self.acks.try_recv().is_ok() {}
        let topic = message.topic.clone().unwrap_or_default();
        self.client
            .publish(topic, true, message.retain, message.payload.clone())
            .await
            .map_err(Refusal::temporary)?;
        tokio::select! {
            ack = self.acks.recv() => ack.map(|_| ()).ok_or_else(|| Refusal::temporary("the MQTT connection closed")),
            _ = self.connected.wait_for(|c| !*c) => Err(Refusal::temporary("disconnected before the PUBACK")),
            () = tokio::time::sleep(ACK_TIMEOUT) => Err(Refusal::temporary("no PUBACK within 10 s")),
        }
    }
}
