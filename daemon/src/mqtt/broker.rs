//! The embedded broker's users and permissions, from the site file.
//!
//! Who may do what on the broker follows from a user's role:
//!
//! | user | may publish | may read |
//! |---|---|---|
//! | the daemon (`sitewarden`, fresh password each start) | everything | everything, `$SYS` too |
//! | `sensor` | its own devices' point and availability topics | nothing |
//! | `screen` | nothing | `sitewarden/<site>/#` except commands |
//! | `operator` | `sitewarden/<site>/commands/+` (signed) | `sitewarden/<site>/#` |
//! | anonymous (`allow_anonymous`, loopback only) | nothing | like a screen |
//!
//! The broker itself (mosquitto) enforces it; the runtime writes its files
//! and keeps it running ([`sitewarden_runtime::mqtt::broker`]).

use std::path::Path;
use std::sync::Arc;

use sitewarden_model::catalog::{BrokerAccount, Catalog, MqttBroker, MqttSettings, PointSource};
use sitewarden_model::vocab::BrokerRole;
use sitewarden_runtime::health::Spawner;
use sitewarden_runtime::mqtt::broker::{
    self, Access, BrokerConfig, BrokerMetrics, BrokerUser, hash_password,
};
use sitewarden_runtime::shutdown::Shutdown;

/// Largest MQTT packet the embedded broker takes: the largest payload any
/// reader of the daemon accepts (64 KiB) and room for the topic. A client
/// sending more is disconnected by the broker.
const MAX_PACKET: usize = 64 * 1024 + 1024;
/// Bytes queued for one client that does not keep up.
const MAX_QUEUED_BYTES: usize = 4 << 20;

/// Starts the embedded broker when the site has no broker of its own, and
/// keeps it running until shutdown. Nothing to do for an external broker.
pub async fn start(
    catalog: &Catalog,
    settings: &MqttSettings,
    data_dir: &Path,
    metrics: Arc<BrokerMetrics>,
    shutdown: Shutdown,
    tasks: &mut Spawner<'_>,
) -> anyhow::Result<()> {
    let MqttBroker::Embedded {
        listen,
        users,
        allow_anonymous,
        max_queued,
        memory_limit,
    } = &settings.broker
    else {
        return Ok(());
    };
    let mut accounts = vec![daemon_user(settings)];
    accounts.extend(users.iter().map(|u| user(catalog, u)));
    let config = BrokerConfig {
        listen: *listen,
        users: accounts,
        anonymous: allow_anonymous.then(|| reader(catalog)),
        max_packet: MAX_PACKET,
        max_queued: *max_queued,
        max_queued_bytes: MAX_QUEUED_BYTES,
        memory_limit: *memory_limit,
    };
    let running = broker::start(&config, &data_dir.join("broker"), metrics).await?;
    tracing::info!(%listen, users = users.len(), anonymous = allow_anonymous, "embedded MQTT broker (mosquitto) running");
    tasks.watch("mqtt-broker", running.supervise(shutdown));
    Ok(())
}

/// The daemon's own clients: everything, including the broker's `$SYS` counters.
fn daemon_user(settings: &MqttSettings) -> BrokerUser {
    let password = settings.password.as_ref().map_or("", |p| p.expose());
    BrokerUser {
        name: settings
            .username
            .clone()
            .unwrap_or_else(|| "sitewarden".into()),
        password_hash: hash_password(password),
        topics: vec![
            (Access::ReadWrite, "#".into()),
            (Access::Read, "$SYS/#".into()),
        ],
    }
}

/// A screen's permissions: the site's topics, never its commands.
fn reader(catalog: &Catalog) -> Vec<(Access, String)> {
    let root = catalog.topics().root().to_owned();
    vec![
        (Access::Deny, format!("{root}/commands/#")),
        (Access::Read, format!("{root}/#")),
    ]
}

fn user(catalog: &Catalog, account: &BrokerAccount) -> BrokerUser {
    let topics = match account.role {
        BrokerRole::Sensor => sensor_topics(catalog, account),
        BrokerRole::Screen => reader(catalog),
        // mosquitto's `deny` covers writing too, so an operator reads the
        // whole tree, signed commands included (they carry no secret).
        BrokerRole::Operator => vec![
            (Access::Read, format!("{}/#", catalog.topics().root())),
            (Access::Write, catalog.topics().commands_filter()),
        ],
    };
    BrokerUser {
        name: account.name.clone(),
        password_hash: account.password_hash.clone(),
        topics,
    }
}

/// A sensor publishes its devices' point topics and availability topics, nothing else.
fn sensor_topics(catalog: &Catalog, account: &BrokerAccount) -> Vec<(Access, String)> {
    let mut topics: Vec<(Access, String)> = Vec::new();
    for &device in &account.devices {
        let availability = catalog
            .device(device)
            .mqtt
            .as_ref()
            .and_then(|m| m.availability_topic.clone());
        let points = catalog
            .points_of(device)
            .iter()
            .filter_map(|p| match &p.source {
                PointSource::Mqtt(topic) => Some(topic.filter.clone()),
                _ => None,
            });
        for topic in points.chain(availability) {
            if !topics.iter().any(|(_, t)| *t == topic) {
                topics.push((Access::Write, topic));
            }
        }
    }
    topics
}
