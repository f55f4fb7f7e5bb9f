//! Rules: the site's maintenance standard evaluated on every reading.
//!
//! `engine` turns readings into condition transitions; `store` keeps
//! condition state and service baselines in SQLite so a restart neither
//! re-raises nor forgets a condition; this module runs the stage and
//! publishes [`ConditionEvent`]s on the [`ConditionBus`] for the stages that
//! act on them (tickets, alerts, MQTT) and for the API.
//!
//! In the flow this crate sits right after the sources: it reads
//! [`sitewarden_model::reading::ReadingEvent`]s and depends on the model and
//! runtime crates only; tickets, alerts, sinks and the API come after it.

#![deny(missing_docs)]

pub mod engine;
pub mod metrics;
pub mod store;

use sitewarden_runtime::clock;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use engine::Engine;
use sitewarden_model::catalog::{Catalog, DeviceId, PointId, RuleId};
use sitewarden_model::reading::{ReadingBatch, ReadingEvent};
use sitewarden_model::vocab::Severity;
use store::Store;

/// How long the stage sleeps: until the next deadline, at most `longest`.
/// A clock step wakes the stage by itself ([`clock::step_since`]), so the
/// deadline need not be looked at again before it falls due.
fn until(next: Option<Timestamp>, longest: Duration) -> Duration {
    match next {
        None => longest,
        Some(at) => {
            let left = at.duration_since(clock::now());
            if left.is_negative() {
                Duration::ZERO
            } else {
                left.unsigned_abs().min(longest)
            }
        }
    }
}

/// Index of a rule instance in [`Catalog::rule_instances`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct InstanceId(pub u32);

/// Where a condition is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionState {
    /// Nothing wrong.
    Normal,
    /// The condition holds; its on-delay is running.
    Pending,
    /// Raised.
    Active,
    /// The clear condition holds; its off-delay is running.
    Clearing,
}

impl ConditionState {
    /// Stable name, as stored and served.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Clearing => "clearing",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Normal, Self::Pending, Self::Active, Self::Clearing]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A lifecycle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Normal → pending.
    Pending,
    /// Pending (or normal, without on-delay) → active.
    Raised,
    /// Active → clearing.
    Clearing,
    /// Clearing (or active, without off-delay) → normal.
    Cleared,
    /// Pending → normal: it did not hold long enough.
    PendingCancelled,
    /// Clearing → active: it came back within the off-delay.
    ClearingCancelled,
}

impl Transition {
    /// Stable name, as stored and served.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Raised => "raised",
            Self::Clearing => "clearing",
            Self::Cleared => "cleared",
            Self::PendingCancelled => "pending_cancelled",
            Self::ClearingCancelled => "clearing_cancelled",
        }
    }
}

/// One transition of one condition: the message from rules to the stages
/// that act on conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionEvent {
    /// Which rule instance.
    pub instance: InstanceId,
    /// Its rule.
    pub rule: RuleId,
    /// Its device.
    pub device: DeviceId,
    /// Its point.
    pub point: PointId,
    /// What happened.
    pub transition: Transition,
    /// The state after it.
    pub state: ConditionState,
    /// The value that caused it (last good value).
    pub value: Option<f64>,
    /// What it was compared with.
    pub threshold: Option<f64>,
    /// Severity after overrides.
    pub severity: Severity,
    /// When.
    pub at: Timestamp,
    /// When the condition was raised, while it is active or clearing.
    pub raised_at: Option<Timestamp>,
}

/// Fan-out of condition events to the stages that act on them.
pub type ConditionBus = sitewarden_runtime::bus::Bus<ConditionEvent>;

/// Queue depth per condition subscriber.
pub const CONDITION_QUEUE: usize = 1024;

/// The current state of every condition that is not normal, for the API.
#[derive(Debug, Default)]
pub struct ConditionView {
    slots: RwLock<Vec<ViewSlot>>,
}

/// One condition in the view.
#[derive(Debug, Clone, Copy)]
pub struct ViewSlot {
    /// Lifecycle state.
    pub state: ConditionState,
    /// Since when.
    pub since: Timestamp,
    /// When raised.
    pub raised_at: Option<Timestamp>,
    /// Value that caused the last transition.
    pub value: Option<f64>,
}

impl ConditionView {
    fn new(engine: &Engine) -> Self {
        let slots = engine
            .slots()
            .iter()
            .map(|s| ViewSlot {
                state: s.state,
                since: s.since,
                raised_at: s.raised_at,
                value: s.value,
            })
            .collect();
        Self {
            slots: RwLock::new(slots),
        }
    }

    /// Slots indexed like [`Catalog::rule_instances`].
    pub fn read(&self) -> RwLockReadGuard<'_, Vec<ViewSlot>> {
        self.slots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn apply(&self, event: &ConditionEvent) {
        let mut slots = self
            .slots
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get_mut(event.instance.0 as usize) {
            *slot = ViewSlot {
                state: event.state,
                since: event.at,
                raised_at: event.raised_at,
                value: event.value,
            };
        }
    }
}

/// Requests to the rules stage from the API.
#[derive(Debug)]
pub enum RuleCommand {
    /// The equipment was serviced: reset the service-interval counters of a rule on a device.
    RecordService {
        /// Device.
        device: DeviceId,
        /// Service-interval rule.
        rule: RuleId,
        /// Who did it, for the log.
        by: String,
        /// Answer: the new baselines (empty if the rule has no instance on the device).
        reply: oneshot::Sender<Vec<f64>>,
    },
}

/// Handles the API uses to reach the rules stage.
#[derive(Debug, Clone)]
pub struct RulesHandle {
    /// Current conditions.
    pub view: Arc<ConditionView>,
    /// Commands.
    pub commands: mpsc::Sender<RuleCommand>,
    /// The store, for history queries.
    pub store: Arc<Store>,
}

/// Why a request to the rules stage was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No device with that id.
    #[error("no device `{0}`")]
    UnknownDevice(String),
    /// No rule with that id.
    #[error("no rule `{0}`")]
    UnknownRule(String),
    /// The rule keeps no service counter on the device.
    #[error("rule `{rule}` keeps no service counter on device `{device}`")]
    NoCounter {
        /// Rule id.
        rule: String,
        /// Device id.
        device: String,
    },
    /// The daemon is stopping.
    #[error("the rules stage is stopping")]
    Stopping,
}

impl RulesHandle {
    /// Records that `device` was serviced for service-interval `rule`; the
    /// one implementation behind the HTTP API and the MQTT command.
    pub async fn record_service(
        &self,
        catalog: &Catalog,
        device: &str,
        rule: &str,
        by: String,
    ) -> Result<Vec<f64>, RequestError> {
        let device_id = catalog
            .devices
            .iter()
            .find(|d| d.name == device)
            .ok_or_else(|| RequestError::UnknownDevice(device.to_owned()))?
            .id;
        let rule_index = catalog
            .rules
            .iter()
            .position(|r| r.id == rule)
            .ok_or_else(|| RequestError::UnknownRule(rule.to_owned()))?;
        let (reply, answer) = oneshot::channel();
        let command = RuleCommand::RecordService {
            device: device_id,
            rule: RuleId(rule_index as u32),
            by,
            reply,
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| RequestError::Stopping)?;
        let baselines = answer.await.map_err(|_| RequestError::Stopping)?;
        if baselines.is_empty() {
            return Err(RequestError::NoCounter {
                rule: rule.to_owned(),
                device: device.to_owned(),
            });
        }
        Ok(baselines)
    }
}

/// The rules stage, ready to run.
pub struct RulesStage {
    engine: Engine,
    store: Arc<Store>,
    view: Arc<ConditionView>,
    bus: ConditionBus,
    commands: mpsc::Receiver<RuleCommand>,
    metrics: Arc<metrics::RulesMetrics>,
    /// Clock steps the engine's times have not been moved by yet.
    steps: clock::StepFollower,
}

impl RulesStage {
    /// Builds the engine and restores saved state from the store.
    pub fn new(
        catalog: Arc<Catalog>,
        store: Arc<Store>,
        bus: ConditionBus,
        metrics: Arc<metrics::RulesMetrics>,
    ) -> anyhow::Result<(Self, RulesHandle)> {
        let mut engine = Engine::new(catalog.clone(), clock::now());
        let restored = store.restore(&catalog, &mut engine)?;
        if restored > 0 {
            info!(conditions = restored, "restored condition state");
        }
        let view = Arc::new(ConditionView::new(&engine));
        let (tx, rx) = mpsc::channel(64);
        let handle = RulesHandle {
            view: view.clone(),
            commands: tx,
            store: store.clone(),
        };
        metrics.set_active_conditions(count_active(&engine));
        Ok((
            Self {
                engine,
                store,
                view,
                bus,
                commands: rx,
                metrics,
                steps: clock::StepFollower::new(),
            },
            handle,
        ))
    }

    /// Conditions restored raised (see [`Engine::raised_conditions`]).
    pub fn raised_conditions(&self) -> Vec<ConditionEvent> {
        self.engine.raised_conditions()
    }

    /// Evaluates until the reading bus closes (all sources stopped).
    ///
    /// The deadline timer and the clock-step listener live across loop
    /// turns and are reset only when the next deadline moves: made afresh
    /// for every batch, they registered and cancelled a timer and took the
    /// step notifier's lock once per poll of every device.
    pub async fn run(mut self, mut readings: mpsc::Receiver<ReadingEvent>) {
        let longest = self.engine.longest_sleep();
        let mut events = Vec::new();
        let deadline = tokio::time::sleep(until(self.engine.next_deadline(), longest));
        tokio::pin!(deadline);
        let step = clock::step_since(self.steps.seen());
        tokio::pin!(step);
        loop {
            let mut replan = false;
            tokio::select! {
                event = readings.recv() => match event {
                    Some(ReadingEvent::Batch(batch)) => {
                        self.follow_clock_steps();
                        self.evaluate(&batch, &mut events);
                    }
                    Some(ReadingEvent::DeviceState { device, state, at, .. }) => {
                        self.follow_clock_steps();
                        self.engine.on_device_state(device, state, at, &mut events);
                    }
                    None => break,
                },
                () = &mut deadline => {
                    self.follow_clock_steps();
                    self.engine.on_tick(clock::now(), &mut events);
                    replan = true;
                }
                () = &mut step => {
                    self.follow_clock_steps();
                    step.set(clock::step_since(self.steps.seen()));
                    replan = true;
                }
                Some(command) = self.commands.recv() => self.handle(command, &mut events),
            }
            if !events.is_empty() {
                self.emit(&mut events).await;
                replan = true;
            }
            if replan {
                let next = until(self.engine.next_deadline(), longest);
                deadline.as_mut().reset(tokio::time::Instant::now() + next);
            }
        }
        self.store.flush();
    }

    /// Evaluates a batch; readings stamped before a clock step the engine
    /// has already followed are moved into its frame first, so the step
    /// cannot complete (or stretch) a delay through them.
    fn evaluate(&mut self, batch: &ReadingBatch, events: &mut Vec<ConditionEvent>) {
        let behind = self.steps.seen() - batch.clock_shift;
        if behind.is_zero() {
            for r in &batch.readings {
                self.engine.on_reading(r, events);
            }
            return;
        }
        for r in &batch.readings {
            let mut moved = *r;
            moved.at = moved.at.checked_add(behind).unwrap_or(moved.at);
            self.engine.on_reading(&moved, events);
        }
    }

    /// Moves the engine's times by any clock step taken since the last
    /// look (one atomic load when there was none).
    fn follow_clock_steps(&mut self) {
        if let Some(by) = self.steps.take() {
            info!(by = %by, "clock stepped; rule delays keep their length");
            self.engine.shift_times(by);
        }
    }

    fn handle(&mut self, command: RuleCommand, events: &mut Vec<ConditionEvent>) {
        match command {
            RuleCommand::RecordService {
                device,
                rule,
                by,
                reply,
            } => {
                let changed = self
                    .engine
                    .record_service(device, rule, clock::now(), events);
                let catalog = self.engine.catalog();
                for (instance, baseline) in &changed {
                    self.store.save_baseline(catalog, *instance, *baseline);
                }
                info!(device = %catalog.device(device).name, rule = %catalog.rule(rule).id, by = %by,
                      "service recorded; counter restarts from here");
                let _ = reply.send(changed.into_iter().map(|(_, b)| b).collect());
            }
        }
    }

    async fn emit(&mut self, events: &mut Vec<ConditionEvent>) {
        let catalog = self.engine.catalog().clone();
        for event in events.drain(..) {
            log_event(&catalog, &event);
            self.metrics.count_transition(event.transition);
            self.view.apply(&event);
            self.store.save(&catalog, &event).await;
            self.bus.publish(event).await;
        }
        self.metrics
            .set_active_conditions(count_active(&self.engine));
    }
}

fn count_active(engine: &Engine) -> u64 {
    engine
        .slots()
        .iter()
        .filter(|s| matches!(s.state, ConditionState::Active | ConditionState::Clearing))
        .count() as u64
}

fn log_event(catalog: &Catalog, e: &ConditionEvent) {
    let rule = catalog.rule(e.rule);
    let value = e.value.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let threshold = e
        .threshold
        .map_or_else(|| "-".to_owned(), |v| v.to_string());
    let device = &catalog.device(e.device).name;
    let point = &catalog.point(e.point).name;
    match e.transition {
        Transition::Raised => warn!(
            rule = %rule.id, device = %device, point = %point, value = %value, threshold = %threshold,
            severity = ?e.severity, "condition raised: {}", rule.description
        ),
        Transition::Cleared => info!(
            rule = %rule.id, device = %device, point = %point, value = %value, "condition cleared: {}", rule.description
        ),
        _ => {
            debug!(rule = %rule.id, device = %device, point = %point, transition = e.transition.as_str(), value = %value)
        }
    }
}
