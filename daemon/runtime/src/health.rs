//! Which stages are alive: every long-running task runs [`Stages::watch`]ed
//! or [`Stages::supervise`]d, so one that ends or panics while the daemon
//! is not stopping is announced (an error in the log,
//! `sitewarden_stage_up{stage} 0`, `sitewarden_stage_failures_total`,
//! `/healthz` answering 503 with the stage's name, and no more systemd
//! watchdog pings) instead of leaving a daemon that runs but no longer does
//! its job.
//!
//! A stage that can be built again from what it was given (a poller, a
//! delivery loop, the clock and retention tasks) is supervised: restarted
//! after a back-off (1 s doubling to 60 s), `sitewarden_stage_restarts_total`
//! counted, up again once it runs. A stage that owns a channel's receiving
//! end or in-memory state that cannot be rebuilt (the rule engine, the
//! desks, the sinks' encoders) is watched only: it stays down, `/healthz`
//! says which, and the systemd watchdog, no longer fed, restarts the
//! process, which restores that state from its stores.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt as _;
use tracing::{error, warn};

use crate::backoff::Backoff;
use crate::shutdown::Shutdown;

/// First wait before a supervised stage is started again.
const RESTART_FIRST: std::time::Duration = std::time::Duration::from_secs(1);
/// Longest wait between restarts of a stage that keeps failing.
const RESTART_MAX: std::time::Duration = std::time::Duration::from_secs(60);

/// One watched stage.
#[derive(Debug)]
struct Stage {
    name: Arc<str>,
    up: AtomicBool,
    failures: AtomicU64,
    restarts: AtomicU64,
}

/// The registry of watched stages, shared by the wiring, the API and the
/// metrics.
#[derive(Debug, Default)]
pub struct Stages {
    stages: Mutex<Vec<Arc<Stage>>>,
}

impl Stages {
    /// Runs `stage` as the stage `name`: it is up until the future ends or
    /// panics. An end while `shutdown` has not been asked for is a failure:
    /// logged, counted and shown as down. A panic is caught here, so the
    /// rest of the daemon keeps running and says what stopped.
    pub fn watch<F>(
        self: &Arc<Self>,
        name: &str,
        shutdown: Shutdown,
        stage: F,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let entry = self.register(name);
        async move {
            let outcome = AssertUnwindSafe(stage).catch_unwind().await;
            if !shutdown.is_triggered() {
                entry.failed(outcome.err(), "stays down");
            }
        }
    }

    /// Runs the stage `make` builds as the stage `name`, and builds and
    /// starts it again after a back-off whenever it ends or panics while
    /// `shutdown` has not been asked for. Down (in `/healthz` and the
    /// metrics) from the failure until the restart.
    pub fn supervise<F>(
        self: &Arc<Self>,
        name: &str,
        mut shutdown: Shutdown,
        mut make: impl FnMut() -> F + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let entry = self.register(name);
        async move {
            let mut backoff = Backoff::new(RESTART_FIRST, RESTART_MAX);
            loop {
                let outcome = AssertUnwindSafe(make()).catch_unwind().await;
                if shutdown.is_triggered() {
                    return;
                }
                let wait = backoff.next_delay();
                entry.failed(outcome.err(), "restarting after a back-off");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shutdown.wait() => return,
                }
                entry.restarts.fetch_add(1, Relaxed);
                entry.up.store(true, Relaxed);
                warn!(stage = %entry.name, after_ms = wait.as_millis() as u64, "stage restarted");
            }
        }
    }

    fn register(&self, name: &str) -> Arc<Stage> {
        let stage = Arc::new(Stage {
            name: name.into(),
            up: AtomicBool::new(true),
            failures: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        });
        self.lock().push(stage.clone());
        stage
    }

    /// Names of the stages that are down, in start order.
    pub fn down(&self) -> Vec<Arc<str>> {
        self.lock()
            .iter()
            .filter(|s| !s.up.load(Relaxed))
            .map(|s| s.name.clone())
            .collect()
    }

    /// Whether every watched stage runs.
    pub fn all_up(&self) -> bool {
        self.lock().iter().all(|s| s.up.load(Relaxed))
    }

    /// Writes `sitewarden_stage_up` and `sitewarden_stage_failures_total`
    /// per stage for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        use std::fmt::Write as _;
        let stages = self.lock().clone();
        crate::metrics::family(
            out,
            "sitewarden_stage_up",
            "gauge",
            "1 while the stage's task runs, 0 once it ended or panicked.",
        );
        for s in &stages {
            let _ = writeln!(
                out,
                "sitewarden_stage_up{{site=\"{site}\",stage=\"{}\"}} {}",
                s.name,
                u8::from(s.up.load(Relaxed))
            );
        }
        crate::metrics::family(
            out,
            "sitewarden_stage_failures_total",
            "counter",
            "Times the stage's task ended or panicked while the daemon ran.",
        );
        for s in &stages {
            let _ = writeln!(
                out,
                "sitewarden_stage_failures_total{{site=\"{site}\",stage=\"{}\"}} {}",
                s.name,
                s.failures.load(Relaxed)
            );
        }
        Self::render_restarts(out, site, &stages);
    }

    fn render_restarts(out: &mut String, site: &str, stages: &[Arc<Stage>]) {
        use std::fmt::Write as _;
        crate::metrics::family(
            out,
            "sitewarden_stage_restarts_total",
            "counter",
            "Times a supervised stage was started again after it ended or panicked.",
        );
        for s in stages {
            let _ = writeln!(
                out,
                "sitewarden_stage_restarts_total{{site=\"{site}\",stage=\"{}\"}} {}",
                s.name,
                s.restarts.load(Relaxed)
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Stage>>> {
        self.stages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where long-running tasks are started: each is watched or supervised by
/// the registry, and joined at shutdown with the rest.
pub struct Spawner<'a> {
    /// The daemon's tasks.
    pub tasks: &'a mut tokio::task::JoinSet<()>,
    /// The registry that watches them.
    pub stages: &'a Arc<Stages>,
    /// The daemon's shutdown.
    pub shutdown: &'a Shutdown,
}

impl Spawner<'_> {
    /// Starts a stage that cannot be rebuilt: watched only (see [`Stages::watch`]).
    pub fn watch<F>(&mut self, name: &str, stage: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let watched = self.stages.watch(name, self.shutdown.clone(), stage);
        self.tasks.spawn(watched);
    }

    /// Starts a stage `make` can build again: restarted when it fails (see
    /// [`Stages::supervise`]).
    pub fn supervise<F>(&mut self, name: &str, make: impl FnMut() -> F + Send + 'static)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let supervised = self.stages.supervise(name, self.shutdown.clone(), make);
        self.tasks.spawn(supervised);
    }
}

impl Stage {
    /// Marks the stage down, counts the failure and says so in the log.
    fn failed(&self, panic: Option<Box<dyn std::any::Any + Send>>, then: &str) {
        self.up.store(false, Relaxed);
        self.failures.fetch_add(1, Relaxed);
        match panic {
            None => {
                error!(stage = %self.name, then, "stage ended while the daemon runs; /healthz reports it down")
            }
            Some(panic) => error!(stage = %self.name, panic = panic_text(&panic), then,
                                  "stage panicked; /healthz reports it down"),
        }
    }
}

/// The daemon's signals to the outside that do not go through a channel:
/// the outbound heartbeat URL and the buzzer coil.
#[derive(Debug, Default)]
pub struct Beacons {
    /// Heartbeat URL pings the receiver answered with success.
    pub pings: AtomicU64,
    /// Heartbeat URL pings that failed (or were held back by a dead stage).
    pub ping_failures: AtomicU64,
    /// Whether the buzzer coil is on.
    pub buzzer_on: AtomicBool,
    /// Failed writes of the buzzer coil.
    pub buzzer_failures: AtomicU64,
}

impl Beacons {
    /// Writes the heartbeat and buzzer series for `GET /metrics`.
    pub fn render(&self, out: &mut String, site: &str) {
        use crate::metrics::{family, sample};
        for (name, kind, help, value) in [
            (
                "sitewarden_heartbeat_url_pings_total",
                "counter",
                "Pings of [alerts] heartbeat_url the receiver confirmed.",
                self.pings.load(Relaxed),
            ),
            (
                "sitewarden_heartbeat_url_failures_total",
                "counter",
                "Pings of [alerts] heartbeat_url that failed.",
                self.ping_failures.load(Relaxed),
            ),
            (
                "sitewarden_buzzer_on",
                "gauge",
                "1 while the [alerts.buzzer] coil is on (a life-safety alert went unconfirmed).",
                u64::from(self.buzzer_on.load(Relaxed)),
            ),
            (
                "sitewarden_buzzer_failures_total",
                "counter",
                "Failed writes of the [alerts.buzzer] coil.",
                self.buzzer_failures.load(Relaxed),
            ),
        ] {
            family(out, name, kind, help);
            sample(out, name, site, value);
        }
    }
}

/// A panic's message, when it carries one.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Set between a reload's start and the next `READY=1`: the pipeline's
/// stop is part of the reload, not the service stopping.
static RELOADING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Tells systemd a reload began (`RELOADING=1`, with the monotonic time
/// newer systemd wants); the restarted pipeline's `READY=1` ends it.
pub fn notify_reloading() {
    RELOADING.store(true, std::sync::atomic::Ordering::SeqCst);
    let Ok(name) = std::env::var("NOTIFY_SOCKET") else {
        return;
    };
    let micros = monotonic_now().as_micros();
    if let Some(socket) = SystemdSocket::open(&name) {
        socket.send(format!("RELOADING=1\nMONOTONIC_USEC={micros}").as_bytes());
    }
}

/// CLOCK_MONOTONIC now, as systemd reads it.
fn monotonic_now() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Tells systemd the daemon is ready (`READY=1`), and, when the unit sets
/// `WatchdogSec=`, pings the watchdog (`WATCHDOG=1`) at half its period
/// only while every stage runs: a daemon with a dead stage stops pinging
/// and systemd restarts it. Does nothing outside systemd (no
/// `NOTIFY_SOCKET`). Runs until shutdown.
pub async fn notify_systemd(stages: Arc<Stages>, shutdown: Shutdown) {
    let Ok(socket) = std::env::var("NOTIFY_SOCKET") else {
        return;
    };
    let period = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&us| us > 0)
        .map(|us| std::time::Duration::from_micros(us / 2));
    notify(&socket, period, stages, shutdown).await;
}

/// [`notify_systemd`] with its socket and ping period given.
async fn notify(
    socket: &str,
    period: Option<std::time::Duration>,
    stages: Arc<Stages>,
    mut shutdown: Shutdown,
) {
    let Some(socket) = SystemdSocket::open(socket) else {
        return;
    };
    socket.send(b"READY=1");
    RELOADING.store(false, std::sync::atomic::Ordering::SeqCst);
    let Some(period) = period else {
        return;
    };
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if stages.all_up() {
                    socket.send(b"WATCHDOG=1");
                }
            }
            () = shutdown.wait() => {
                if !RELOADING.load(std::sync::atomic::Ordering::SeqCst) {
                    socket.send(b"STOPPING=1");
                }
                return;
            }
        }
    }
}

/// The datagram socket systemd listens on (`NOTIFY_SOCKET`, a path or an
/// abstract name starting with `@`).
struct SystemdSocket {
    socket: std::os::unix::net::UnixDatagram,
    address: std::os::unix::net::SocketAddr,
}

impl SystemdSocket {
    fn open(name: &str) -> Option<Self> {
        use std::os::linux::net::SocketAddrExt as _;
        let address = match name.strip_prefix('@') {
            Some(abstract_name) => {
                std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
            }
            None => std::os::unix::net::SocketAddr::from_pathname(name),
        };
        let socket = std::os::unix::net::UnixDatagram::unbound();
        match (socket, address) {
            (Ok(socket), Ok(address)) => Some(Self { socket, address }),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, socket = %name, "cannot reach systemd's notify socket");
                None
            }
        }
    }

    fn send(&self, message: &[u8]) {
        if let Err(e) = self.socket.send_to_addr(message, &self.address) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stage_that_panics_or_ends_is_down_and_counted_but_not_at_shutdown() {
        let stages = Arc::new(Stages::default());
        let (trigger, shutdown) = crate::shutdown::channel();
        stages
            .watch("panics", shutdown.clone(), async { panic!("boom") })
            .await;
        stages.watch("ends", shutdown.clone(), async {}).await;
        let runs = stages.watch("runs", shutdown.clone(), std::future::pending());
        let runs = tokio::spawn(runs);
        assert_eq!(
            stages.down(),
            vec![Arc::<str>::from("panics"), Arc::from("ends")]
        );
        assert!(!stages.all_up());
        let mut text = String::new();
        stages.render(&mut text, "s");
        assert!(text.contains("sitewarden_stage_up{site=\"s\",stage=\"runs\"} 1"));
        assert!(text.contains("sitewarden_stage_failures_total{site=\"s\",stage=\"panics\"} 1"));
        trigger.trigger();
        stages.watch("stopping", shutdown, async {}).await;
        assert_eq!(stages.down().len(), 2, "an end at shutdown is no failure");
        runs.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn systemd_hears_ready_then_watchdog_pings_only_while_every_stage_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        listener
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let stages = Arc::new(Stages::default());
        let (trigger, shutdown) = crate::shutdown::channel();
        let period = Some(std::time::Duration::from_millis(50));
        let name = path.to_str().unwrap().to_owned();
        let notifier = tokio::spawn({
            let (stages, shutdown) = (stages.clone(), shutdown.clone());
            async move { notify(&name, period, stages, shutdown).await }
        });
        let next = || {
            let mut buf = [0u8; 64];
            let n = listener.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        let mut buf = [0u8; 64];
        assert_eq!(next(), "READY=1");
        assert_eq!(next(), "WATCHDOG=1");
        // A stage dies: the pings stop, so systemd's watchdog fires.
        stages.watch("dies", shutdown.clone(), async {}).await;
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        listener.set_nonblocking(true).unwrap();
        while listener.recv(&mut buf).is_ok() {}
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            listener.recv(&mut buf).is_err(),
            "no ping while a stage is down"
        );
        listener.set_nonblocking(false).unwrap();
        trigger.trigger();
        assert_eq!(next(), "STOPPING=1");
        notifier.await.unwrap();
    }
}
