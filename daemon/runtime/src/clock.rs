//! Daemon time: reads like the wall clock, advances like a monotonic one.
//!
//! Rule delays, staleness, escalation waits and retries must not stretch
//! when NTP steps the system clock back, nor collapse when it steps it
//! forward. So [`now`] is the wall time at start plus the monotonic time
//! elapsed since; a backward step of the system clock cannot hold a pending
//! fire alarm. The stored records must still show the true time, so the
//! clock stage calls [`resync`] every second: when the system clock has
//! moved away from daemon time by more than [`STEP`], the difference is a
//! step; daemon time takes it, and the step is counted in [`steps`].
//!
//! Every wait keeps its length across the step. Stored deadlines (retries,
//! escalations) are moved by the step in the same instant daemon time takes
//! it: [`resync`] moves them while holding the write side of the time
//! frame, and whoever compares daemon time with stored times holds the read
//! side ([`frame`]) from reading the time to writing its result. Times kept
//! in memory (the rule engine's) follow with a [`StepFollower`].
//!
//! With the `fault-injection` feature of the daemon, `inject_step` moves
//! the system clock as the clock stage sees it, which is how the tests step
//! the clock without root and without touching the machine's clock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// A difference between system and daemon time larger than this is a step,
/// not drift. NTP slews smaller differences gradually itself.
pub const STEP: Duration = Duration::from_secs(2);

struct Anchor {
    instant: Instant,
    wall_us: i64,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();
/// Sum of the steps taken, in microseconds.
static SHIFT_US: AtomicI64 = AtomicI64::new(0);
/// Offset added to the system clock by [`inject_step`], in microseconds.
static INJECTED_US: AtomicI64 = AtomicI64::new(0);
static STEPS: AtomicU64 = AtomicU64::new(0);
/// Read: daemon time is compared with stored times. Write: a step moves both.
static FRAME: RwLock<()> = RwLock::new(());

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| Anchor {
        instant: Instant::now(),
        wall_us: system_us(),
    })
}

fn system_us() -> i64 {
    let wall = Timestamp::now().as_microsecond();
    wall.saturating_add(INJECTED_US.load(Ordering::Relaxed))
}

fn from_us(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(if us < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Daemon time now: no allocation, no lock.
pub fn now() -> Timestamp {
    now_with_shift().0
}

/// Daemon time now and the sum of steps it includes, read together: a
/// reading stamped with both can be moved into a later frame by whoever
/// processes it after a step (see [`StepFollower::seen`]).
pub fn now_with_shift() -> (Timestamp, SignedDuration) {
    let a = anchor();
    let mono = i64::try_from(a.instant.elapsed().as_micros()).unwrap_or(i64::MAX);
    let shift = SHIFT_US.load(Ordering::Relaxed);
    let now = from_us(a.wall_us.saturating_add(mono).saturating_add(shift));
    (now, SignedDuration::from_micros(shift))
}

/// The system clock as the daemon sees it (with any injected step).
pub fn system() -> Timestamp {
    from_us(system_us())
}

/// Sum of the steps daemon time has taken since start.
pub fn shift() -> SignedDuration {
    SignedDuration::from_micros(SHIFT_US.load(Ordering::Relaxed))
}

/// Clock steps seen since start.
pub fn steps() -> u64 {
    STEPS.load(Ordering::Relaxed)
}

/// Holds daemon time and the stored deadlines in step while the holder
/// reads one and compares it with the other (blocking code only; never
/// taken twice by one thread).
pub fn frame() -> RwLockReadGuard<'static, ()> {
    FRAME
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn difference_us() -> i64 {
    system_us().saturating_sub(now().as_microsecond())
}

/// True when the system clock has stepped since the last [`resync`]: two
/// clock reads, cheap enough for a once-a-second look on the async side.
pub fn stepped() -> bool {
    difference_us().unsigned_abs() > STEP.as_micros() as u64
}

/// Compares daemon time with the system clock. A difference past [`STEP`]
/// is a step: `move_stored` moves the stored deadlines by it, and daemon
/// time takes it in the same instant (no [`frame`] holder sees one without
/// the other). Returns the step. Called by one task only, off the async
/// workers (it blocks while the deadlines move).
pub fn resync(move_stored: impl FnOnce(SignedDuration)) -> Option<SignedDuration> {
    if !stepped() {
        return None;
    }
    let _moving = FRAME
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let difference = difference_us();
    let step = SignedDuration::from_micros(difference);
    move_stored(step);
    SHIFT_US.fetch_add(difference, Ordering::Relaxed);
    STEPS.fetch_add(1, Ordering::Relaxed);
    STEP_TAKEN.notify_waiters();
    Some(step)
}

/// Wakes [`step_since`] waiters when daemon time takes a step.
static STEP_TAKEN: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Returns once daemon time has taken a step that a follower at `seen`
/// (its [`StepFollower::seen`]) has not followed yet: a stage that sleeps
/// until a deadline in its own memory wakes to move it, instead of
/// looking every second.
pub async fn step_since(seen: SignedDuration) {
    let seen_us = i64::try_from(seen.as_micros()).unwrap_or(i64::MAX);
    loop {
        let taken = STEP_TAKEN.notified();
        if SHIFT_US.load(Ordering::Relaxed) != seen_us {
            return;
        }
        taken.await;
    }
}

/// Steps the system clock as the daemon sees it by `by` (tests and fault
/// injection); the next [`resync`] finds the step.
#[cfg(any(test, feature = "fault-injection"))]
pub fn inject_step(by: SignedDuration) {
    let us = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
    INJECTED_US.fetch_add(us, Ordering::Relaxed);
    INJECTED.notify_waiters();
}

/// Wakes a [`StepWatch`] when a test injects a step.
#[cfg(any(test, feature = "fault-injection"))]
static INJECTED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The longest a [`StepWatch`] waits without looking: where the kernel
/// cannot report that the clock was set, and for a drift past [`STEP`]
/// that nobody set.
pub const STEP_LOOK_EVERY: Duration = Duration::from_secs(60);

/// Tells its owner when the system clock may have stepped, without waking
/// every second to look. On Linux a timerfd armed with
/// `TFD_TIMER_CANCEL_ON_SET` becomes readable when anyone sets the clock
/// (an NTP step, `date -s`, a resume from suspend); otherwise, or if the
/// timerfd cannot be made, it looks every [`STEP_LOOK_EVERY`].
pub struct StepWatch {
    #[cfg(target_os = "linux")]
    timer: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl StepWatch {
    /// A watch on the system clock (must be made inside the runtime).
    pub fn new() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            timer: set_clock_timer()
                .and_then(watch_readable)
                .map_err(|e| {
                    tracing::warn!(error = %e, "cannot watch the system clock for steps; looking every minute instead");
                })
                .ok(),
        }
    }

    /// Returns when the clock may have stepped, or after
    /// [`STEP_LOOK_EVERY`]: the caller then asks [`stepped`].
    pub async fn wait(&mut self) {
        #[cfg(any(test, feature = "fault-injection"))]
        let injected = INJECTED.notified();
        #[cfg(not(any(test, feature = "fault-injection")))]
        let injected = std::future::pending::<()>();
        // A step injected while the owner was busy has no waiter to wake.
        if stepped() {
            return;
        }
        let set = self.clock_set();
        tokio::select! {
            () = set => {}
            () = injected => {}
            () = tokio::time::sleep(STEP_LOOK_EVERY) => {}
        }
    }

    #[cfg(target_os = "linux")]
    async fn clock_set(&self) {
        use std::os::fd::AsRawFd as _;
        let Some(timer) = &self.timer else {
            return std::future::pending().await;
        };
        let Ok(mut ready) = timer.readable().await else {
            return std::future::pending().await;
        };
        // Each read takes one "the clock was set" (ECANCELED) off the
        // timer; the last one finds nothing and clears the readiness.
        let mut buf = [0u8; 8];
        while let Ok(_taken) = ready.try_io(|fd| {
            // SAFETY: reads at most 8 bytes into our buffer from our descriptor.
            let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            let error = std::io::Error::last_os_error();
            if n < 0 && error.kind() == std::io::ErrorKind::WouldBlock {
                Err(error)
            } else {
                Ok(())
            }
        }) {}
    }

    #[cfg(not(target_os = "linux"))]
    async fn clock_set(&self) {
        std::future::pending().await
    }
}

impl Default for StepWatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers the timer with the runtime's reactor.
#[cfg(target_os = "linux")]
fn watch_readable(
    timer: std::os::fd::OwnedFd,
) -> std::io::Result<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    // SAFETY: an `OwnedFd` is a valid descriptor that stays open and the
    // same until the `AsyncFd` drops it.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(timer, tokio::io::Interest::READABLE)
    }
    .map_err(std::io::Error::other)
}

/// A non-blocking timerfd on the real-time clock, due in a hundred years,
/// that the kernel cancels (makes readable) whenever the clock is set.
#[cfg(target_os = "linux")]
fn set_clock_timer() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: plain system call; the descriptor is owned from here on.
    let raw = unsafe {
        libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor we just opened and nobody else owns.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
    const HUNDRED_YEARS: i64 = 100 * 365 * 24 * 3600;
    let due = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: Timestamp::now().as_second().saturating_add(HUNDRED_YEARS),
            tv_nsec: 0,
        },
    };
    use std::os::fd::AsRawFd as _;
    // SAFETY: `due` lives across the call; the old value is not asked for.
    let armed = unsafe {
        libc::timerfd_settime(
            fd.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET,
            &due,
            std::ptr::null_mut(),
        )
    };
    if armed < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// Follows the clock's steps for one owner of times: `take` says by how
/// much its times must move since it last asked.
#[derive(Debug, Default)]
pub struct StepFollower {
    seen_us: i64,
}

impl StepFollower {
    /// Starts at the steps taken so far (times made from now on are in step).
    pub fn new() -> Self {
        Self {
            seen_us: SHIFT_US.load(Ordering::Relaxed),
        }
    }

    /// The sum of steps this follower has taken into account.
    pub fn seen(&self) -> SignedDuration {
        SignedDuration::from_micros(self.seen_us)
    }

    /// The steps taken since the last call, if any. One atomic load when none.
    pub fn take(&mut self) -> Option<SignedDuration> {
        let shift = SHIFT_US.load(Ordering::Relaxed);
        if shift == self.seen_us {
            return None;
        }
        let by = shift.saturating_sub(self.seen_us);
        self.seen_us = shift;
        Some(SignedDuration::from_micros(by))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test only: the clock is process-wide.
    #[test]
    fn daemon_time_follows_steps_once_and_keeps_advancing_between_them() {
        let start = now();
        let mut follower = StepFollower::new();
        assert!(resync(|_| {}).is_none(), "no step at start");
        assert!(follower.take().is_none());

        inject_step(SignedDuration::from_hours(-1));
        let before = now();
        assert!(before >= start, "daemon time waits for resync");
        let mut moved = None;
        let step = resync(|by| moved = Some(by)).expect("an hour back is a step");
        assert_eq!(moved, Some(step), "stored deadlines move with the step");
        assert!((step + SignedDuration::from_hours(1)).abs() < SignedDuration::from_secs(1));
        assert!(now() < before, "daemon time took the step");
        assert_eq!(steps(), 1);
        assert_eq!(follower.take(), Some(step));
        assert!(follower.take().is_none(), "a step is given once");
        assert!(resync(|_| {}).is_none(), "and found once");

        // Daemon time keeps advancing with the monotonic clock.
        let t0 = now();
        std::thread::sleep(Duration::from_millis(20));
        let waited = now().duration_since(t0);
        assert!(waited >= SignedDuration::from_millis(20), "{waited:?}");

        inject_step(SignedDuration::from_hours(1));
        assert!(resync(|_| {}).is_some());
        assert!((system().duration_since(now())).abs() < SignedDuration::from_secs(1));
        assert!(follower.take().is_some());
        assert_eq!(steps(), 2);
    }
}
