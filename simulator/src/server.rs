//! Serving the simulated devices over Modbus TCP and moving their values.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin as BoxPin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use crate::bank::Bank;
use crate::model::{Model, Pin, Sibling};
use crate::profile::{SimDevice, SimSite};
use crate::scenario::{Action, Scenario, Step};

/// How fast simulated time runs and how often values move.
#[derive(Debug, Clone, Copy)]
pub struct SimOptions {
    /// Simulated seconds per real second for run hours and clogging.
    pub time_scale: f64,
    /// How often models advance.
    pub tick: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            time_scale: 60.0,
            tick: Duration::from_millis(100),
        }
    }
}

/// Faults and values of one device.
struct DeviceRuntime {
    device: SimDevice,
    model: Model,
    values: Vec<f64>,
    pins: Vec<Option<Pin>>,
    bank: Bank,
    offline_until: Option<f64>,
    exception: Option<(u8, Option<u16>, Option<f64>)>,
    delay: Option<(Duration, Option<f64>)>,
}

struct SiteState {
    devices: Vec<DeviceRuntime>,
    started: Instant,
    steps: Vec<Step>,
    options: SimOptions,
}

impl SiteState {
    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn tick(&mut self, dt: f64) {
        let now = self.elapsed();
        let due: Vec<Step> = {
            let (due, later) = std::mem::take(&mut self.steps)
                .into_iter()
                .partition(|s| s.at.as_secs_f64() <= now);
            self.steps = later;
            due
        };
        for step in due {
            self.apply(&step);
        }
        let scale = self.options.time_scale;
        for d in &mut self.devices {
            let roles: Vec<Sibling> = d
                .device
                .points
                .iter()
                .zip(&d.values)
                .map(|(p, v)| Sibling {
                    role: p.role.clone().unwrap_or_default(),
                    zone: p.zone.clone(),
                    value: *v,
                })
                .collect();
            for (i, point) in d.device.points.iter().enumerate() {
                d.values[i] = match d.pins[i].map(|pin| pin.value_at(now)) {
                    Some(Ok(pinned)) => pinned,
                    Some(Err(restore)) => {
                        d.pins[i] = None;
                        restore
                    }
                    None => d.model.step(point, d.values[i], &roles, dt, scale),
                };
                d.bank.write(point, d.values[i]);
            }
        }
    }

    fn apply(&mut self, step: &Step) {
        let now = self.elapsed();
        let until = step.duration.map(|d| now + d.as_secs_f64());
        let Some(d) = self.devices.iter_mut().find(|d| d.device.id == step.device) else {
            tracing::warn!(device = %step.device, "scenario step names an unknown device");
            return;
        };
        tracing::info!(device = %step.device, action = ?step.action, point = ?step.point, zone = ?step.zone, "scenario step");
        match step.action {
            Action::Set => d.pin_named(
                step.point.as_deref(),
                Some(step.value.unwrap_or(0.0)),
                until,
            ),
            Action::Ramp => {
                if let Some(i) = d.index_of(step.point.as_deref()) {
                    d.pins[i] = Some(Pin::Ramp {
                        from: d.values[i],
                        to: step.to.unwrap_or(d.values[i]),
                        start_s: now,
                        over_s: step.over.unwrap_or_default().as_secs_f64(),
                    });
                }
            }
            Action::Release => d.pin_named(step.point.as_deref(), None, None),
            Action::FireAlarm => d.pin_roles(&["fire_alarm"], step.zone.as_deref(), until),
            Action::ForceDoor => {
                d.pin_roles(&["door_forced", "door_open"], step.zone.as_deref(), until)
            }
            Action::PressButton => d.pin_roles(&["emergency_button"], step.zone.as_deref(), until),
            Action::Offline => d.offline_until = Some(until.unwrap_or(f64::INFINITY)),
            Action::Online => {
                d.offline_until = None;
                d.exception = None;
                d.delay = None;
            }
            Action::Exception => d.exception = Some((step.code.unwrap_or(4), step.address, until)),
            Action::Delay => d.delay = Some((step.by.unwrap_or_default(), until)),
        }
    }
}

impl DeviceRuntime {
    fn index_of(&self, name: Option<&str>) -> Option<usize> {
        let found = self
            .device
            .points
            .iter()
            .position(|p| Some(p.name.as_str()) == name);
        if found.is_none() {
            tracing::warn!(device = %self.device.id, point = ?name, "scenario step names an unknown point");
        }
        found
    }

    /// Holds a point at `value` (until `until_s`), or releases it with `None`.
    fn pin_named(&mut self, name: Option<&str>, value: Option<f64>, until_s: Option<f64>) {
        if let Some(i) = self.index_of(name) {
            self.pins[i] = value.map(|value| self.fixed(i, value, until_s));
        }
    }

    /// Sets every point with one of `roles` (in `zone`, if given) to true.
    fn pin_roles(&mut self, roles: &[&str], zone: Option<&str>, until_s: Option<f64>) {
        for i in 0..self.device.points.len() {
            let p = &self.device.points[i];
            let role_matches = p.role.as_deref().is_some_and(|r| roles.contains(&r));
            if role_matches && (zone.is_none() || p.zone.as_deref() == zone) {
                self.pins[i] = Some(self.fixed(i, 1.0, until_s));
            }
        }
    }

    fn fixed(&self, i: usize, value: f64, until_s: Option<f64>) -> Pin {
        // An expiring pin on top of another gives back what was there before the first.
        let restore = match self.pins[i] {
            Some(Pin::Fixed { restore, .. }) => restore,
            _ => self.values[i],
        };
        Pin::Fixed {
            value,
            until_s,
            restore,
        }
    }

    /// What a request gets right now.
    fn answer(&self, request: &Request<'_>, now: f64) -> Decision {
        if self.offline_until.is_some_and(|until| now < until) {
            let remaining = self.offline_until.map_or(3600.0, |u| (u - now).min(3600.0));
            return Decision::Silent(Duration::from_secs_f64(remaining));
        }
        let delay = match self.delay {
            Some((by, until)) if until.is_none_or(|u| now < u) => by,
            _ => Duration::ZERO,
        };
        if let Some((code, address, until)) = self.exception
            && until.is_none_or(|u| now < u)
            && address.is_none_or(|a| touches(request, a))
        {
            return Decision::Reply(delay, Err(ExceptionCode::new(code)));
        }
        Decision::Reply(delay, read(&self.bank, request))
    }
}

fn touches(request: &Request<'_>, address: u16) -> bool {
    let (start, count) = match request {
        Request::ReadCoils(a, n)
        | Request::ReadDiscreteInputs(a, n)
        | Request::ReadHoldingRegisters(a, n)
        | Request::ReadInputRegisters(a, n) => (*a, *n),
        _ => return false,
    };
    (u32::from(start)..u32::from(start) + u32::from(count)).contains(&u32::from(address))
}

fn slice<T: Clone>(table: &[T], start: u16, count: u16, max: u16) -> Result<Vec<T>, ExceptionCode> {
    if count == 0 || count > max {
        return Err(ExceptionCode::IllegalDataValue);
    }
    let (start, end) = (usize::from(start), usize::from(start) + usize::from(count));
    table
        .get(start..end)
        .map(<[T]>::to_vec)
        .ok_or(ExceptionCode::IllegalDataAddress)
}

fn read(bank: &Bank, request: &Request<'_>) -> Result<Response, ExceptionCode> {
    match *request {
        Request::ReadCoils(a, n) => slice(&bank.coils, a, n, 2000).map(Response::ReadCoils),
        Request::ReadDiscreteInputs(a, n) => {
            slice(&bank.discrete, a, n, 2000).map(Response::ReadDiscreteInputs)
        }
        Request::ReadHoldingRegisters(a, n) => {
            slice(&bank.holding, a, n, 125).map(Response::ReadHoldingRegisters)
        }
        Request::ReadInputRegisters(a, n) => {
            slice(&bank.input, a, n, 125).map(Response::ReadInputRegisters)
        }
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

enum Decision {
    Silent(Duration),
    Reply(Duration, Result<Response, ExceptionCode>),
}

/// The Modbus service of one listening port.
#[derive(Clone)]
struct PortService {
    state: Arc<Mutex<SiteState>>,
    /// unit id -> device index
    units: Arc<HashMap<u8, usize>>,
}

impl tokio_modbus::server::Service for PortService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = BoxPin<Box<dyn Future<Output = Result<Response, ExceptionCode>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let decision = match self.units.get(&req.slave) {
            Some(&index) => {
                let state = lock(&self.state);
                state.devices[index].answer(&req.request, state.elapsed())
            }
            None => Decision::Reply(Duration::ZERO, Err(ExceptionCode::GatewayTargetDevice)),
        };
        Box::pin(async move {
            match decision {
                Decision::Silent(wait) => {
                    tokio::time::sleep(wait).await;
                    Err(ExceptionCode::ServerDeviceFailure)
                }
                Decision::Reply(delay, result) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    result
                }
            }
        })
    }
}

fn lock(state: &Mutex<SiteState>) -> MutexGuard<'_, SiteState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running simulator; dropping it stops every server.
pub struct RunningSite {
    state: Arc<Mutex<SiteState>>,
    addrs: HashMap<String, SocketAddr>,
    tasks: JoinSet<()>,
}

impl RunningSite {
    /// Where a device listens (useful when the site file said port 0).
    pub fn addr(&self, device: &str) -> Option<SocketAddr> {
        self.addrs.get(device).copied()
    }

    /// Applies a scenario step now, whatever its `at`.
    pub fn apply(&self, step: &Step) {
        lock(&self.state).apply(step);
    }

    /// The current engineering value of a point.
    pub fn value(&self, device: &str, point: &str) -> Option<f64> {
        let state = lock(&self.state);
        let d = state.devices.iter().find(|d| d.device.id == device)?;
        let i = d.device.points.iter().position(|p| p.name == point)?;
        Some(d.values[i])
    }

    /// Stops serving.
    pub fn stop(mut self) {
        self.tasks.abort_all();
    }
}

/// Binds every device's port and starts serving and simulating.
pub async fn start(
    site: SimSite,
    scenario: Scenario,
    options: SimOptions,
) -> anyhow::Result<RunningSite> {
    let site_mqtt = site.mqtt;
    let devices: Vec<DeviceRuntime> = site
        .devices
        .into_iter()
        .map(|device| {
            let model = Model::for_profile(&device.profile);
            let values: Vec<f64> = device.points.iter().map(|p| model.initial(p)).collect();
            let mut bank = Bank::for_points(&device.points);
            for (p, v) in device.points.iter().zip(&values) {
                bank.write(p, *v);
            }
            DeviceRuntime {
                pins: vec![None; device.points.len()],
                device,
                model,
                values,
                bank,
                offline_until: None,
                exception: None,
                delay: None,
            }
        })
        .collect();
    // Devices sharing a `host:port` share a listener (a gateway); port 0 always gets its own.
    let mut ports: Vec<(String, HashMap<u8, usize>, Vec<String>)> = Vec::new();
    for (index, d) in devices.iter().enumerate() {
        let shared = !d.device.host.ends_with(":0");
        match ports
            .iter_mut()
            .find(|(host, ..)| shared && *host == d.device.host)
        {
            Some((_, units, ids)) => {
                units.insert(d.device.unit_id, index);
                ids.push(d.device.id.clone());
            }
            None => ports.push((
                d.device.host.clone(),
                HashMap::from([(d.device.unit_id, index)]),
                vec![d.device.id.clone()],
            )),
        }
    }
    let mut steps = scenario.step;
    steps.sort_by_key(|s| s.at);
    let state = Arc::new(Mutex::new(SiteState {
        devices,
        started: Instant::now(),
        steps,
        options,
    }));
    lock(&state).tick(0.0);
    let mut tasks = JoinSet::new();
    let mut addrs = HashMap::new();
    for (host, units, ids) in ports {
        let listener = TcpListener::bind(&host).await.with_context(|| {
            format!(
                "simulator cannot listen on {host} (devices {})",
                ids.join(", ")
            )
        })?;
        let local = listener.local_addr()?;
        for id in ids {
            addrs.insert(id, local);
        }
        let service = PortService {
            state: state.clone(),
            units: Arc::new(units),
        };
        tasks.spawn(async move {
            let server = Server::new(listener);
            let on_connected = |stream, addr| {
                let service = service.clone();
                async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(service.clone()))) }
            };
            let _ = server.serve(&on_connected, |_err| {}).await;
        });
    }
    if let Some((broker, sensors)) = site_mqtt {
        tasks.spawn(crate::mqtt::run(broker, sensors));
    }
    let ticker = state.clone();
    tasks.spawn(async move {
        let mut interval = tokio::time::interval(options.tick);
        let mut last = Instant::now();
        loop {
            interval.tick().await;
            let now = Instant::now();
            lock(&ticker).tick(now.duration_since(last).as_secs_f64());
            last = now;
        }
    });
    Ok(RunningSite {
        state,
        addrs,
        tasks,
    })
}
