//! Wiring: builds every stage from the catalog and runs them until shutdown.
//!
//! The stages start in flow order: sinks and the MQTT publisher first (they
//! subscribe to the buses), then tickets, alerts and patrol, the rules
//! stage, the sources, and last the API and console that read them all.

use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::alerts::store::{self as alert_store, AlertStore};
use crate::alerts::{self, AlertsHandle};
use crate::api::{self, ApiContext};
use crate::console;
use crate::delivery::late::LatePolicy;
use crate::delivery::webhook::{Signing, Webhook};
use crate::delivery::{self, MqttChannel, MqttHandoff, Order, Queue};
use crate::metrics::Metrics;
use crate::mqtt::commands::Commands;
use crate::mqtt::publisher;
use crate::patrol::{self, store::PatrolStore};
use crate::readings::{ReadingBus, ReadingEvent};
use crate::rules::store::Store;
use crate::rules::{ConditionBus, ConditionEvent, RulesHandle, RulesStage};
use crate::sinks::influx;
use crate::sources::{self, modbus};
use crate::state::{self, LiveState};
use crate::tickets::accept_link::AcceptLinks;
use crate::tickets::store::{self as ticket_store, AcceptanceWait, Outlets, TicketStore};
use crate::tickets::{self, TicketsHandle};
use crate::upkeep::{self, Retained, announce_quarantined, follow_clock, prune_forever};
use sitewarden_model::catalog::Catalog;
use sitewarden_model::catalog::ChannelKind;
use sitewarden_runtime::bus::{RECORD_QUEUE, RecordBus};
use sitewarden_runtime::health::Spawner;
use sitewarden_runtime::shutdown::{self, Shutdown, ShutdownTrigger};

/// How long stages get to finish after shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// How long a thread of the blocking pool waits for work before it ends:
/// longer than the period of the daemon's regular blocking jobs (the
/// heartbeat's counts every 30 s, the disk check at most every 60 s), so
/// they reuse a waiting thread instead of creating one each time (with
/// tokio's default, 10 s, the daemon created two threads every 30 s and
/// ended them 10 s later).
const BLOCKING_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(300);

/// The async runtime the daemon runs on: one worker thread, unless the
/// environment sets `TOKIO_WORKER_THREADS`. Whatever blocks (SQLite,
/// fsync, password hashing, loading files) runs on tokio's blocking pool,
/// so the worker only moves messages, and one is plenty: at 20 devices a
/// second worker cost a third more CPU, because each burst of polls made
/// tokio wake it to steal work (docs/benchmarks.md, issue 16).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    builder
        .thread_keep_alive(BLOCKING_THREAD_KEEP_ALIVE)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Choices that are not site config: where the API listens, console output.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides `[api] listen` (tests use port 0).
    pub api_listen: Option<SocketAddr>,
    /// Print a live status every this often.
    pub console_every: Option<Duration>,
    /// Extra reading-bus subscribers for embedding and tests.
    pub taps: usize,
    /// Extra condition-bus subscribers for embedding and tests.
    pub condition_taps: usize,
    /// Overrides `[storage] data_dir`.
    pub data_dir: Option<std::path::PathBuf>,
    /// The running configuration and the last reload, kept across the
    /// restarts of a SIGHUP reload; one for this start when absent.
    pub config_status: Option<Arc<crate::config_status::ConfigStatus>>,
    /// Fault injection for the fault tests (feature `fault-injection`, off
    /// in every build but the tests'): the watched stage of this name
    /// panics one second after start.
    #[cfg(feature = "fault-injection")]
    pub panic_stage: Option<String>,
}

/// A started daemon.
pub struct RunningDaemon {
    /// Where the API listens.
    pub api_addr: SocketAddr,
    /// Latest values and device states.
    pub state: Arc<LiveState>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Receivers asked for with [`RunOptions::taps`].
    pub taps: Vec<mpsc::Receiver<ReadingEvent>>,
    /// Receivers asked for with [`RunOptions::condition_taps`].
    pub condition_taps: Vec<mpsc::Receiver<ConditionEvent>>,
    /// Conditions, commands and history.
    pub rules: RulesHandle,
    /// Tickets.
    pub tickets: TicketsHandle,
    /// Alerts.
    pub alerts: AlertsHandle,
    trigger: ShutdownTrigger,
    tasks: JoinSet<()>,
}

/// Starts every stage. Fails before polling anything if the API address is taken.
pub async fn start(catalog: Arc<Catalog>, options: RunOptions) -> anyhow::Result<RunningDaemon> {
    sitewarden_runtime::limits::raise_open_files_limit();
    let listener = api::bind(options.api_listen.unwrap_or(catalog.api.listen)).await?;
    for warning in api::exposure_warnings(&catalog.api) {
        tracing::warn!("{warning}");
    }
    let api_addr = listener.local_addr()?;
    let (trigger, shutdown) = shutdown::channel();
    let metrics = Arc::new(Metrics::new(&catalog));
    let live = Arc::new(LiveState::new(&catalog));
    let data_dir = options
        .data_dir
        .clone()
        .unwrap_or_else(|| catalog.data_dir.clone());
    let store = Store::open(&data_dir)?;
    let mut conditions = ConditionBus::new(crate::rules::CONDITION_QUEUE);
    let condition_taps = (0..options.condition_taps)
        .map(|_| conditions.subscribe())
        .collect();
    // Alerts first: the condition bus serves subscribers in order.
    let alert_conditions = conditions.subscribe();
    let ticket_conditions = conditions.subscribe();
    let mut bus = ReadingBus::new(crate::readings::SUBSCRIBER_QUEUE);
    let state_events = bus.subscribe();
    let rule_events = bus.subscribe();
    let taps = (0..options.taps).map(|_| bus.subscribe()).collect();
    let mqtt_inputs = catalog.mqtt.as_ref().map(|settings| {
        // Without value publishing the encoder sends only device states:
        // it is not woken for every poll's batch.
        let readings = if settings.values.is_some() {
            bus.subscribe()
        } else {
            bus.subscribe_to(|e| matches!(e, ReadingEvent::DeviceState { .. }))
        };
        (settings.clone(), readings, conditions.subscribe())
    });
    let influx_inputs = catalog
        .influx
        .as_ref()
        .map(|settings| (settings.clone(), bus.subscribe(), conditions.subscribe()));
    let (rules_stage, rules) = RulesStage::new(
        catalog.clone(),
        store.clone(),
        conditions,
        metrics.rules.clone(),
    )?;
    let mut tasks = JoinSet::new();
    let mut records_bus = RecordBus::new(RECORD_QUEUE);
    let (handoff_tx, handoff_rx) = mpsc::channel(64);
    if let Some(settings) = &catalog.mqtt {
        crate::mqtt::broker::start(
            &catalog,
            settings,
            &data_dir,
            metrics.broker.clone(),
            shutdown.clone(),
            &mut spawner(&mut tasks, &metrics, &shutdown),
        )
        .await?;
    }
    if let Some((settings, readings, condition_events)) = mqtt_inputs {
        let inputs = publisher::MqttInputs {
            catalog: catalog.clone(),
            settings,
            data_dir: data_dir.clone(),
            readings,
            conditions: condition_events,
            handoff: handoff_rx,
            metrics: metrics.mqtt.clone(),
            shutdown: shutdown.clone(),
        };
        publisher::spawn(inputs, &mut spawner(&mut tasks, &metrics, &shutdown))?;
    }
    if let Some((settings, readings, condition_events)) = influx_inputs {
        let records = records_bus.subscribe();
        let inputs = influx::SinkInputs {
            catalog: catalog.clone(),
            settings,
            data_dir: data_dir.clone(),
            readings,
            conditions: condition_events,
            records,
            metrics: metrics.sink.clone(),
            shutdown: shutdown.clone(),
        };
        influx::spawn(inputs, &mut spawner(&mut tasks, &metrics, &shutdown))?;
    }
    let mut cx = StageContext {
        catalog: &catalog,
        data_dir: &data_dir,
        metrics: &metrics,
        shutdown: &shutdown,
        tasks: &mut tasks,
        queues: Vec::new(),
        #[cfg(feature = "fault-injection")]
        panic_stage: options.panic_stage.clone(),
    };
    let tickets = start_tickets(&mut cx, records_bus.clone(), &rules, handoff_tx)?;
    let AlertsStarted {
        handle: alerts,
        heartbeat,
        outbox: alerts_outbox,
    } = start_alerts(&mut cx, records_bus.clone())?;
    if let Some(every) = catalog.influx.as_ref().and_then(|i| i.snapshot_every) {
        let sources = crate::snapshot::SnapshotSources {
            catalog: catalog.clone(),
            live: live.clone(),
            conditions: rules.view.clone(),
            alerts: alerts.store.clone(),
            tickets: tickets.store.clone(),
        };
        let (records, shutdown) = (records_bus.clone(), shutdown.clone());
        cx.supervise("snapshot", move || {
            crate::snapshot::snapshot_forever(
                sources.clone(),
                every,
                records.clone(),
                shutdown.clone(),
            )
        });
    }
    let patrol = start_patrol(&mut cx, records_bus, &alerts, &tickets)?;
    announce_quarantined(&catalog, &data_dir, &alerts, &tickets).await;
    let queues = std::mem::take(&mut cx.queues);
    let longest = catalog.alerts.longest_wait();
    upkeep::reanchor_deadlines(queues.clone(), alerts.store.clone(), longest).await;
    {
        let (queues, alerts, shutdown) = (queues.clone(), alerts.store.clone(), shutdown.clone());
        cx.supervise("clock", move || {
            follow_clock(queues.clone(), alerts.clone(), shutdown.clone())
        });
    }
    {
        let (retention, shutdown) = (catalog.retention, shutdown.clone());
        let retained = Retained {
            history: store,
            queues,
            tickets: tickets.store.clone(),
            alerts: alerts.store.clone(),
            patrol: patrol.clone(),
        };
        cx.supervise("retention", move || {
            prune_forever(retention, retained.clone(), shutdown.clone())
        });
    }
    if let Some(url) = catalog.alerts.heartbeat_url.clone() {
        let every = catalog.alerts.heartbeat_url_every;
        let (stages, beacons) = (metrics.stages.clone(), metrics.beacons.clone());
        let shutdown = shutdown.clone();
        cx.supervise("heartbeat-url", move || {
            upkeep::ping_heartbeat(
                url.clone(),
                every,
                stages.clone(),
                beacons.clone(),
                shutdown.clone(),
            )
        });
    }
    if let Some(buzzer) = catalog.alerts.buzzer {
        let (store, beacons) = (alerts.store.clone(), metrics.beacons.clone());
        let shutdown = shutdown.clone();
        cx.supervise("buzzer", move || {
            upkeep::drive_buzzer(buzzer, store.clone(), beacons.clone(), shutdown.clone())
        });
    }
    {
        let shutdown = shutdown.clone();
        cx.supervise("heap-trim", move || {
            upkeep::trim_heap_forever(shutdown.clone())
        });
    }
    {
        let (dir, settings, state) = (data_dir.clone(), catalog.disk, metrics.disk.clone());
        let (alerts, shutdown) = (alerts.clone(), shutdown.clone());
        cx.supervise("disk", move || {
            upkeep::watch_disk(
                dir.clone(),
                settings,
                state.clone(),
                alerts.clone(),
                shutdown.clone(),
            )
        });
    }
    cx.spawn(
        "tickets-desk",
        tickets::desk::run(tickets.clone(), ticket_conditions),
    );
    let restored = restored_alert_inputs(&catalog, &rules_stage, &alerts).await;
    cx.spawn(
        "alerts-desk",
        alerts::desk::run(alerts::desk::DeskInputs {
            alerts: alerts.clone(),
            tickets: tickets.clone(),
            conditions: alert_conditions,
            heartbeat,
            restored,
            outbox: alerts_outbox,
        }),
    );
    // Watched stages: each runs only when the site has something for it
    // (a stage that ends would read as a fault on /healthz).
    if !catalog.alerts.check_in_roles.is_empty() {
        cx.spawn("duty", alerts::duty::run(alerts.clone(), shutdown.clone()));
    }
    if !catalog.alerts.plans.is_empty() {
        cx.spawn("plans", alerts::plan::run(alerts.clone(), shutdown.clone()));
    }
    cx.spawn("state", state::run(live.clone(), state_events));
    cx.spawn("rules", rules_stage.run(rule_events));
    modbus::spawn_pollers(
        &catalog,
        &bus,
        &metrics.devices,
        &mut spawner(&mut tasks, &metrics, &shutdown),
    );
    let control = crate::control::Control::new(
        catalog.clone(),
        rules.clone(),
        alerts.clone(),
        tickets.clone(),
        patrol.clone(),
    );
    if let Some(settings) = &catalog.mqtt {
        let commands = Arc::new(Commands::new(catalog.clone(), control.clone()));
        let source_metrics = metrics.mqtt_in.clone();
        sources::mqtt::spawn(
            catalog.clone(),
            settings,
            bus.clone(),
            commands,
            source_metrics,
            shutdown.clone(),
            &mut spawner(&mut tasks, &metrics, &shutdown),
        );
    }
    // A site without equipment (patrols and repairs only) has no source
    // holding the bus: keep it open until shutdown, or the stages behind it
    // would end and `/healthz` call them down.
    let mut stop = shutdown.clone();
    tasks.spawn(async move {
        stop.wait().await;
        drop(bus);
    });
    let context = ApiContext {
        catalog: catalog.clone(),
        state: live.clone(),
        metrics: metrics.clone(),
        rules: rules.clone(),
        tickets: tickets.clone(),
        alerts: alerts.clone(),
        patrol,
        control,
        shutdown: shutdown.clone(),
        sessions: Default::default(),
        board: Default::default(),
        config: options
            .config_status
            .clone()
            .unwrap_or_else(|| Arc::new(crate::config_status::ConfigStatus::new(&catalog))),
    };
    let api_shutdown = shutdown.clone();
    let api_stage = async move {
        if let Err(e) = api::serve(listener, context, api_shutdown).await {
            warn!(error = %e, "HTTP API stopped");
        }
    };
    tasks.spawn(metrics.stages.watch("api", shutdown.clone(), api_stage));
    tasks.spawn(sitewarden_runtime::health::notify_systemd(
        metrics.stages.clone(),
        shutdown.clone(),
    ));
    if let Some(every) = options.console_every {
        tasks.spawn(console::run(
            catalog.clone(),
            live.clone(),
            rules.view.clone(),
            metrics.clone(),
            every,
            shutdown.clone(),
        ));
    }
    info!(site = %catalog.site.id, devices = catalog.devices.len(), points = catalog.points.len(),
          lines = catalog.lines.len(), api = %api_addr, "sitewarden running");
    Ok(RunningDaemon {
        api_addr,
        state: live,
        metrics,
        taps,
        condition_taps,
        rules,
        tickets,
        alerts,
        trigger,
        tasks,
    })
}

/// What every stage is started with: the site, where it keeps its data,
/// the metrics registry, the shutdown signal and the task set it runs in.
struct StageContext<'a> {
    catalog: &'a Arc<Catalog>,
    data_dir: &'a std::path::Path,
    metrics: &'a Arc<Metrics>,
    shutdown: &'a Shutdown,
    tasks: &'a mut JoinSet<()>,
    /// The outboxes opened so far, for pruning.
    queues: Vec<Arc<Queue>>,
    #[cfg(feature = "fault-injection")]
    panic_stage: Option<String>,
}

impl StageContext<'_> {
    /// Starts one delivery loop for `channel` of `queue`, with its counters.
    fn spawn_delivery<D: delivery::Deliver + 'static>(
        &mut self,
        queue: &Arc<Queue>,
        wake: &Arc<tokio::sync::Notify>,
        channel: Arc<str>,
        (order, late): (Order, LatePolicy),
        sender: D,
    ) {
        let name = format!("delivery-{channel}");
        let (queue, wake) = (queue.clone(), wake.clone());
        let metrics = self.metrics.add_delivery_channel(channel.clone());
        let shutdown = self.shutdown.clone();
        let sender = delivery::Shared::new(sender);
        self.supervise(&name, move || {
            let delivery = delivery::Loop {
                queue: queue.clone(),
                metrics: metrics.clone(),
                channel: channel.clone(),
                order,
                sender: sender.clone(),
                wake: wake.clone(),
                late,
            };
            delivery.run(shutdown.clone())
        });
    }

    /// Runs a stage `make` can build again, supervised: restarted with a
    /// back-off when it ends or panics (see [`sitewarden_runtime::health`]).
    fn supervise<F>(&mut self, name: &str, mut make: impl FnMut() -> F + Send + 'static)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        #[cfg(feature = "fault-injection")]
        let mut inject = self.panic_stage.as_deref() == Some(name);
        let supervised = self
            .metrics
            .stages
            .supervise(name, self.shutdown.clone(), move || {
                let stage = make();
                // Only the first run panics: the restarted stage must run.
                #[cfg(feature = "fault-injection")]
                let stage = inject_panic(std::mem::take(&mut inject), stage);
                stage
            });
        self.tasks.spawn(supervised);
    }

    /// Runs a stage's task, watched: if it ends or panics while the daemon
    /// runs, `/healthz` and the metrics say so (see [`sitewarden_runtime::health`]).
    fn spawn<F>(&mut self, name: &str, stage: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        #[cfg(feature = "fault-injection")]
        let stage = inject_panic(self.panic_stage.as_deref() == Some(name), stage);
        let watched = self
            .metrics
            .stages
            .watch(name, self.shutdown.clone(), stage);
        self.tasks.spawn(watched);
    }
}

/// What the alert store lacks against the conditions restored at start
/// (see [`alerts::desk::reconcile`]); nothing when the store cannot say.
async fn restored_alert_inputs(
    catalog: &Arc<Catalog>,
    rules: &RulesStage,
    alerts: &AlertsHandle,
) -> Vec<alerts::AlertInput> {
    let raised = rules.raised_conditions();
    let store = alerts.store.clone();
    match tokio::task::spawn_blocking(move || store.active_members()).await {
        Ok(Ok(members)) => alerts::desk::reconcile(catalog, &raised, &members),
        Ok(Err(e)) => {
            warn!(error = %e, "cannot compare the alert store with the restored conditions");
            Vec::new()
        }
        Err(_) => Vec::new(),
    }
}

/// Starts tasks watched by the daemon's stage registry.
fn spawner<'a>(
    tasks: &'a mut JoinSet<()>,
    metrics: &'a Arc<Metrics>,
    shutdown: &'a Shutdown,
) -> Spawner<'a> {
    Spawner {
        tasks,
        stages: &metrics.stages,
        shutdown,
    }
}

/// The stage, made to panic one second after start when `inject` (fault tests only).
#[cfg(feature = "fault-injection")]
async fn inject_panic<F: std::future::Future<Output = ()>>(inject: bool, stage: F) {
    if !inject {
        return stage.await;
    }
    tokio::select! {
        () = stage => {}
        () = tokio::time::sleep(Duration::from_secs(1)) => panic!("fault injected: stage panics"),
    }
}

/// Opens the ticket store and starts one delivery loop per configured outlet.
fn start_tickets(
    cx: &mut StageContext<'_>,
    bus: RecordBus,
    rules: &RulesHandle,
    handoff: mpsc::Sender<MqttHandoff>,
) -> anyhow::Result<TicketsHandle> {
    let catalog = cx.catalog.clone();
    let outlets = Outlets {
        site: catalog.site.id.clone(),
        topics: catalog.mqtt.as_ref().map(|_| catalog.topics()),
        webhook: catalog.tickets.webhook.is_some(),
        messages: catalog.site.messages.clone(),
    };
    let settings = &catalog.tickets;
    let accept_links = match &catalog.api.public_url {
        Some(url) => Some(Arc::new(AcceptLinks::open(
            url,
            cx.data_dir,
            settings.acceptance_link_valid_for,
        )?)),
        None => None,
    };
    let (told, links) = (catalog.clone(), accept_links.clone());
    let store = Arc::new(
        TicketStore::open(cx.data_dir, outlets)?
            .with_return_visits_after(settings.return_visit_after)
            .with_acceptance_wait(AcceptanceWait {
                remind_after: settings.remind_acceptance_after,
                accept_after: settings.accept_by_default_after,
            })
            .with_notices(Arc::new(move |moment, t, now| {
                let cx = crate::tickets::notify::Context {
                    links: links.as_deref(),
                    now,
                };
                crate::tickets::notify::for_change(&told, cx, moment, t)
            })),
    );
    let queue = Arc::new(Queue::open(
        &cx.data_dir.join("operations.db"),
        crate::tickets::schema::OPERATIONS,
    )?);
    cx.queues.push(queue.clone());
    let wake = Arc::new(tokio::sync::Notify::new());
    if catalog.mqtt.is_some() {
        let sender = MqttChannel { handoff };
        cx.spawn_delivery(
            &queue,
            &wake,
            ticket_store::MQTT_CHANNEL.into(),
            (Order::Fifo, LatePolicy::NEVER),
            sender,
        );
    }
    // Each channel that tells technicians, with the alerts' late policy.
    for channel in catalog.alerts.channels.iter().filter(|c| {
        catalog.tickets.notify.contains(&c.name)
            || catalog.tickets.tell_requesters.contains(&c.name)
    }) {
        let late = LatePolicy {
            after: Some(channel.late_after),
            action: channel.late,
        };
        let name: Arc<str> = crate::tickets::notify::channel_name(&channel.name).into();
        spawn_channel(cx, (&queue, &wake), name, channel, (Order::Fifo, late))?;
    }
    if let Some(target) = &catalog.tickets.webhook {
        let sender = delivery::webhook::Webhook::new(
            target.url.clone(),
            target.token.as_ref().map(|t| t.expose().to_owned()),
            target.timeout,
        )?;
        cx.spawn_delivery(
            &queue,
            &wake,
            ticket_store::WEBHOOK_CHANNEL.into(),
            (Order::Fifo, LatePolicy::NEVER),
            sender,
        );
    }
    Ok(TicketsHandle::new(
        catalog.clone(),
        store,
        bus,
        wake,
        rules.clone(),
        cx.metrics.tickets.clone(),
    )
    .with_accept_links(accept_links))
}

/// What [`start_alerts`] hands to the alert desk.
struct AlertsStarted {
    handle: AlertsHandle,
    /// The MQTT client and topic of the heartbeat, when MQTT is configured.
    heartbeat: Option<(sitewarden_runtime::mqtt::client::Client, String)>,
    /// The alert channels' delivery queue, whose failed attempts wake the desk.
    outbox: Arc<Queue>,
}

/// Opens the alert store and starts one delivery loop per alert channel
/// (plus the retained MQTT state).
fn start_alerts(cx: &mut StageContext<'_>, sinks: RecordBus) -> anyhow::Result<AlertsStarted> {
    let catalog = cx.catalog.clone();
    let topics = catalog.mqtt.as_ref().map(|_| catalog.topics());
    let links = match &catalog.api.public_url {
        Some(url) => Some(Arc::new(crate::alerts::ack_link::AckLinks::open(
            url,
            cx.data_dir,
            catalog.api.ack_link_valid_for,
        )?)),
        None => None,
    };
    let store = Arc::new(AlertStore::open(
        cx.data_dir,
        catalog.site.id.clone(),
        topics,
        links,
    )?);
    let queue = Arc::new(Queue::open(
        &cx.data_dir.join("alerts.db"),
        crate::alerts::schema::ALERTS,
    )?);
    cx.queues.push(queue.clone());
    let wake = Arc::new(tokio::sync::Notify::new());
    let mut heartbeat = None;
    if let Some(mqtt) = &catalog.mqtt {
        let lane = crate::mqtt::lane::Lane::spawn(
            mqtt,
            "alert-state",
            cx.metrics.mqtt.clone(),
            cx.shutdown.clone(),
            cx.tasks,
        );
        heartbeat = Some((lane.client().clone(), catalog.topics().heartbeat()));
        cx.spawn_delivery(
            &queue,
            &wake,
            alert_store::STATE_CHANNEL.into(),
            (Order::Fifo, LatePolicy::NEVER),
            lane,
        );
    }
    for channel in &catalog.alerts.channels {
        let late = LatePolicy {
            after: Some(channel.late_after),
            action: channel.late,
        };
        let name: Arc<str> = alert_store::channel_name(&channel.name).into();
        match channel.kind {
            ChannelKind::Mqtt => {
                let Some(mqtt) = &catalog.mqtt else { continue };
                let lane = crate::mqtt::lane::Lane::spawn(
                    mqtt,
                    &name,
                    cx.metrics.mqtt.clone(),
                    cx.shutdown.clone(),
                    cx.tasks,
                );
                cx.spawn_delivery(&queue, &wake, name, (Order::Priority, late), lane);
            }
            _ => spawn_channel(cx, (&queue, &wake), name, channel, (Order::Priority, late))?,
        }
    }
    let handle = AlertsHandle::new(catalog, store, wake, sinks, cx.metrics.alerts.clone());
    Ok(AlertsStarted {
        handle,
        heartbeat,
        outbox: queue,
    })
}

/// Starts the delivery loop of a webhook-like or e-mail channel over
/// `queue` (an MQTT channel has its own lane; see [`start_alerts`]).
fn spawn_channel(
    cx: &mut StageContext<'_>,
    (queue, wake): (&Arc<Queue>, &Arc<tokio::sync::Notify>),
    name: Arc<str>,
    channel: &sitewarden_model::catalog::ChannelSettings,
    order: (Order, LatePolicy),
) -> anyhow::Result<()> {
    match channel.kind {
        ChannelKind::Mqtt => {}
        ChannelKind::Email => {
            let Some(smtp) = &channel.smtp else {
                return Ok(());
            };
            let zone = cx.catalog.site.hours.time_zone.clone();
            let email = delivery::email::Email::new(smtp, channel.timeout, zone)?;
            cx.spawn_delivery(queue, wake, name, order, email);
        }
        kind => {
            let signing = match (kind, &channel.secret) {
                (ChannelKind::Webhook, Some(s)) => Signing::Hmac(s.expose().to_owned()),
                (ChannelKind::DingTalk, Some(s)) => Signing::DingTalk(s.expose().to_owned()),
                _ => Signing::None,
            };
            let url = channel.url.clone().unwrap_or_default();
            let webhook = Webhook::new(url, None, channel.timeout)?
                .signed(signing)
                .answering_as(kind);
            cx.spawn_delivery(queue, wake, name, order, webhook);
        }
    }
    Ok(())
}

/// Opens the patrol store and starts the rounds engine and one collector per
/// checkpoint station.
fn start_patrol(
    cx: &mut StageContext<'_>,
    sinks: RecordBus,
    alerts: &AlertsHandle,
    tickets: &TicketsHandle,
) -> anyhow::Result<Arc<PatrolStore>> {
    let store = Arc::new(PatrolStore::open(cx.data_dir)?);
    let rounds = patrol::run_rounds(
        cx.catalog.clone(),
        store.clone(),
        alerts.clone(),
        sinks,
        cx.shutdown.clone(),
    );
    // With no routes the rounds engine has nothing to do and returns at once.
    if !cx.catalog.patrol.routes.is_empty() {
        cx.spawn("patrol-rounds", rounds);
    }
    for station in 0..cx.catalog.patrol.stations.len() {
        let collector = patrol::collector::run(
            cx.catalog.clone(),
            station,
            store.clone(),
            alerts.clone(),
            tickets.clone(),
            cx.metrics.patrol.clone(),
            cx.shutdown.clone(),
        );
        let name = format!("patrol-station-{}", cx.catalog.patrol.stations[station].id);
        cx.spawn(&name, collector);
    }
    Ok(store)
}

impl RunningDaemon {
    /// Asks every stage to stop and waits for them, at most [`SHUTDOWN_GRACE`].
    pub async fn stop(mut self) {
        self.trigger.trigger();
        // Pollers stop at once; the state stage ends when the last poller drops its bus sender.
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!("some stages did not stop in time; exiting anyway");
            self.tasks.abort_all();
        }
        info!("sitewarden stopped");
    }
}

/// Runs until SIGINT/SIGTERM or `shutdown`, then stops cleanly.
pub async fn run_until_signal(
    catalog: Arc<Catalog>,
    options: RunOptions,
    mut shutdown: Option<Shutdown>,
) -> anyhow::Result<()> {
    let running = start(catalog, options).await?;
    tokio::select! {
        () = shutdown::signal() => info!("signal received; stopping"),
        () = async { match shutdown.as_mut() { Some(s) => s.wait().await, None => std::future::pending().await } } => {}
    }
    running.stop().await;
    Ok(())
}
