//! One task per line: schedules, reads, decodes and publishes.
//!
//! A line is a TCP device, or a serial port or RS-485 gateway shared by
//! several unit ids. The task polls each unit's *groups* (points sharing an
//! interval) when due. A unit that stops answering is backed off on its own
//! while the others on the line keep their schedule; a broken connection is
//! reopened with exponential backoff, forever.
//!
//! Longer than our 600-line guide on purpose: `LinePoller` is one state
//! machine (schedule, connect, read, back off, announce); its methods share
//! private per-unit state, and splitting the `impl` across files would hide
//! which method moves which deadline.

use sitewarden_runtime::clock;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;
use tokio_modbus::ExceptionCode;
use tracing::{Instrument as _, info, info_span, warn};

use super::connection::{Connection, ReadOutcome};
use super::decode::{Decoding, decode_bit, decode_registers};
use super::metrics::DeviceMetrics;
use super::planner::{Forbidden, PlanLimits, ReadRequest, plan};
use sitewarden_model::catalog::{Catalog, DeviceId, LineId, LineTransport, Point};
use sitewarden_model::reading::{
    BadReason, DeviceState, Quality, Reading, ReadingBatch, ReadingEvent,
};
use sitewarden_runtime::backoff::Backoff;
use sitewarden_runtime::bus::ReadingBus;
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::metrics::bump;
use sitewarden_runtime::shutdown::Shutdown;

/// Longest wait between attempts to reach a dead device or line.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First wait after a failed connect.
const CONNECT_BACKOFF_BASE: Duration = Duration::from_millis(250);
/// At most one line per device per this interval for repeated problems.
const LOG_INTERVAL: Duration = Duration::from_secs(30);

/// Points of one unit polled at one interval.
struct Group {
    interval: Duration,
    /// The group's points, as indexes into the catalog's points (not
    /// copies: 10,000 points would hold 3 MB twice).
    members: Vec<u32>,
    /// What decoding each member needs, in `members`' order: the poll's
    /// hot loop reads these, not the catalog's points.
    decodings: Vec<Decoding>,
    plan: Vec<ReadRequest>,
    next_due: Instant,
    /// Scratch: which points got a reading this poll (reused, not reallocated).
    done: Vec<bool>,
    /// The batch this group published last: its allocations are refilled by
    /// the next poll once every subscriber has let go of it, instead of
    /// being freed and allocated again each second.
    spare: Option<Arc<ReadingBatch>>,
}

impl Group {
    /// The group's `i`th point (a plan's index).
    fn point<'a>(&self, catalog: &'a Catalog, i: u32) -> &'a Point {
        &catalog.points[self.members[i as usize] as usize]
    }

    /// Copies of the group's points, for the planner (at start and when a
    /// point is isolated or rejoins; freed at once).
    fn points(&self, catalog: &Catalog) -> Vec<Point> {
        self.members
            .iter()
            .map(|&m| catalog.points[m as usize].clone())
            .collect()
    }
}

/// One unit id on the line, with its own health.
struct Unit {
    device: DeviceId,
    name: String,
    unit_id: u8,
    timeout: Duration,
    retries: u8,
    offline_after: u32,
    limits: PlanLimits,
    groups: Vec<Group>,
    forbidden: Forbidden,
    failures: u32,
    state: DeviceState,
    backoff: Backoff,
    log: LogLimiter,
}

/// The poll task of one line.
pub struct LinePoller {
    catalog: Arc<Catalog>,
    transport: LineTransport,
    bus: ReadingBus,
    devices: Arc<[DeviceMetrics]>,
    units: Vec<Unit>,
    connection: Option<Connection>,
    connect_backoff: Backoff,
    connect_retry_at: Option<Instant>,
}

/// Result of one read attempt sequence, for the isolation logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Data decoded.
    Data,
    /// "Illegal data address" for a span covering several points.
    IllegalAddress,
    /// Some other exception; the points are marked bad with it.
    Refused,
    /// No usable answer: abandon the rest of this poll.
    Failed(BadReason),
}

impl LinePoller {
    /// Prepares the task for one line of the catalog.
    pub fn new(
        catalog: Arc<Catalog>,
        line: LineId,
        bus: ReadingBus,
        devices: Arc<[DeviceMetrics]>,
    ) -> Self {
        let now = Instant::now();
        let line_def = &catalog.lines[line.0 as usize];
        let units = line_def
            .devices
            .iter()
            .map(|&device| build_unit(&catalog, device, now))
            .collect();
        Self {
            transport: line_def.transport.clone(),
            catalog,
            bus,
            devices,
            units,
            connection: None,
            connect_backoff: Backoff::new(CONNECT_BACKOFF_BASE, MAX_BACKOFF),
            connect_retry_at: None,
        }
    }

    /// Polls until shutdown.
    pub async fn run(self, mut shutdown: Shutdown) {
        let span = info_span!("modbus_line", site = %self.catalog.site.id, line = %self.transport.describe());
        // One shutdown listener for the whole run, not two per poll: making
        // and dropping one takes the watch channel's locks (at 200 devices
        // `drop_notified` alone was 0.95 % of the daemon's profile).
        async move {
            tokio::select! {
                () = self.poll_when_due() => {}
                () = shutdown.wait() => {}
            }
        }
        .instrument(span)
        .await;
    }

    /// Sleeps until the next group is due, polls it, and again; returns only
    /// when the line has nothing to poll.
    async fn poll_when_due(mut self) {
        while let Some((unit, group, due)) = self.next_due() {
            tokio::time::sleep_until(due).await;
            self.poll(unit, group).await;
        }
    }

    fn next_due(&self) -> Option<(usize, usize, Instant)> {
        self.units
            .iter()
            .enumerate()
            .flat_map(|(u, unit)| {
                unit.groups
                    .iter()
                    .enumerate()
                    .map(move |(g, group)| (u, g, group.next_due))
            })
            .min_by_key(|(_, _, due)| *due)
    }

    /// Polls one group of one unit and publishes what it learnt.
    async fn poll(&mut self, u: usize, g: usize) {
        let metrics = &self.devices[self.units[u].device.0 as usize];
        bump(&metrics.polls, 1);
        let group = &mut self.units[u].groups[g];
        group.done.fill(false);
        let (mut readings, shell) = reuse_batch(group.spare.take(), group.members.len());
        let mut answered = false;
        let mut failure = None;
        let mut replan = false;
        let shift_at_start = clock::shift();
        // Taken out for the loop so reads can borrow the poller mutably; put back below.
        let planned = std::mem::take(&mut self.units[u].groups[g].plan);
        for request in &planned {
            let answer = self.read_and_decode(u, g, request, &mut readings).await;
            match answer {
                Answer::Data | Answer::Refused => answered = true,
                Answer::IllegalAddress => {
                    answered = true;
                    match self
                        .isolate(u, g, request.points.clone(), &mut readings)
                        .await
                    {
                        Ok(changed) => replan |= changed,
                        Err(reason) => {
                            failure = Some(reason);
                            break;
                        }
                    }
                }
                Answer::Failed(reason) => {
                    failure = Some(reason);
                    break;
                }
            }
        }
        self.units[u].groups[g].plan = planned;
        replan |= self.release_recovered(u, g, &readings);
        let (now, clock_shift) = clock::now_with_shift();
        if clock_shift != shift_at_start {
            // The clock stepped during the poll: one frame for the whole batch.
            for r in &mut readings {
                r.at = now;
            }
        }
        self.fill_missing(
            u,
            g,
            failure.unwrap_or(BadReason::Transport),
            now,
            &mut readings,
        );
        if replan {
            self.replan(u);
        }
        self.count_readings(u, &readings);
        let batch = fill_batch(shell, self.units[u].device, readings, clock_shift);
        self.units[u].groups[g].spare = Some(batch.clone());
        self.bus.publish(ReadingEvent::Batch(batch)).await;
        match (answered, failure) {
            (false, Some(reason)) => self.record_failure(u, reason, now).await,
            _ => self.record_success(u, now).await,
        }
        self.schedule_next(u, g);
    }

    /// Reads one span of points and decodes it into `readings`.
    async fn read_and_decode(
        &mut self,
        u: usize,
        g: usize,
        request: &ReadRequest,
        readings: &mut Vec<Reading>,
    ) -> Answer {
        let outcome = match self.read_with_retries(u, request).await {
            Ok(outcome) => outcome,
            Err(reason) => return Answer::Failed(reason),
        };
        let at = clock::now();
        let catalog = &self.catalog;
        let unit = &mut self.units[u];
        let group = &mut unit.groups[g];
        match outcome {
            ReadOutcome::Registers(words) => {
                for &i in &request.points {
                    let decoding = &group.decodings[i as usize];
                    let offset = usize::from(decoding.address - request.start);
                    let decoded = decode_registers(decoding, &words[offset..]);
                    readings.push(reading(decoding, decoded, at));
                    group.done[i as usize] = true;
                }
                Answer::Data
            }
            ReadOutcome::Bits(bits) => {
                for &i in &request.points {
                    let decoding = &group.decodings[i as usize];
                    let offset = usize::from(decoding.address - request.start);
                    let decoded = bits
                        .get(offset)
                        .map(|b| decode_bit(*b))
                        .ok_or(BadReason::Malformed);
                    readings.push(reading(decoding, decoded, at));
                    group.done[i as usize] = true;
                }
                Answer::Data
            }
            ReadOutcome::Exception(ExceptionCode::IllegalDataAddress)
                if request.points.len() > 1 =>
            {
                Answer::IllegalAddress
            }
            ReadOutcome::Exception(
                code @ (ExceptionCode::GatewayPathUnavailable | ExceptionCode::GatewayTargetDevice),
            ) => {
                // The gateway answered for a unit that did not: the unit is
                // as good as silent, and counts towards going offline.
                let reason = BadReason::Exception(u8::from(code));
                self.devices[unit.device.0 as usize].request_error(reason);
                Answer::Failed(reason)
            }
            ReadOutcome::Exception(code) => {
                let reason = BadReason::Exception(u8::from(code));
                self.devices[unit.device.0 as usize].request_error(reason);
                if let Some(held_back) = unit.log.allow() {
                    let first = group.point(catalog, request.points[0]);
                    warn!(device = %unit.name, point = %first.name, kind = first.kind.as_str(),
                          address = request.start, count = request.count, exception = ?code, held_back,
                          "device refused a read with an exception; its points are marked bad");
                }
                if code == ExceptionCode::IllegalDataAddress {
                    // A lone point at an address the device does not have:
                    // keep it alone so it never spoils a merged read.
                    let point = group.point(catalog, request.points[0]);
                    unit.forbidden
                        .forbid(point.kind, u32::from(point.address), point.end());
                }
                for &i in &request.points {
                    readings.push(reading(&group.decodings[i as usize], Err(reason), at));
                    group.done[i as usize] = true;
                }
                Answer::Refused
            }
        }
    }

    /// Splits a merged read that hit "illegal data address" until the bad
    /// register is found: a bad point is marked bad and read alone from now
    /// on, a bad gap is never read through again. Returns whether the
    /// forbidden set changed (so the group is replanned).
    async fn isolate(
        &mut self,
        u: usize,
        g: usize,
        points: Vec<u32>,
        readings: &mut Vec<Reading>,
    ) -> Result<bool, BadReason> {
        let mut changed = false;
        let mut failing = vec![points];
        while let Some(set) = failing.pop() {
            let (left, right) = set.split_at(set.len() / 2);
            let left_span = self.span_of(u, g, left);
            let right_span = self.span_of(u, g, right);
            let left_answer = self.read_and_decode(u, g, &left_span, readings).await;
            let right_answer = self.read_and_decode(u, g, &right_span, readings).await;
            for answer in [left_answer, right_answer] {
                if let Answer::Failed(reason) = answer {
                    return Err(reason);
                }
            }
            if left_answer == Answer::Data && right_answer == Answer::Data {
                let unit = &mut self.units[u];
                changed |= unit.forbidden.forbid(
                    left_span.kind,
                    left_span.end(),
                    u32::from(right_span.start),
                );
                info!(device = %unit.name, kind = left_span.kind.as_str(), from = left_span.end(), to = right_span.start,
                      "unused registers answer illegal data address; reads no longer span them");
            }
            for (answer, half) in [(left_answer, left), (right_answer, right)] {
                if answer == Answer::IllegalAddress {
                    failing.push(half.to_vec());
                }
            }
            changed |= left_answer == Answer::Refused || right_answer == Answer::Refused;
        }
        Ok(changed)
    }

    /// The request covering exactly these points of a group.
    fn span_of(&self, u: usize, g: usize, members: &[u32]) -> ReadRequest {
        let group = &self.units[u].groups[g];
        let point = |i: u32| group.point(&self.catalog, i);
        let start = members.iter().map(|&i| point(i).address).min().unwrap_or(0);
        let end = members.iter().map(|&i| point(i).end()).max().unwrap_or(0);
        ReadRequest {
            kind: point(members[0]).kind,
            start,
            count: (end - u32::from(start)) as u16,
            points: members.to_vec(),
        }
    }

    /// A point read alone that answers again may rejoin merged reads.
    fn release_recovered(&mut self, u: usize, g: usize, readings: &[Reading]) -> bool {
        let catalog = &self.catalog;
        let unit = &mut self.units[u];
        if unit.forbidden.is_empty() {
            return false;
        }
        let group = &unit.groups[g];
        let mut changed = false;
        for r in readings.iter().filter(|r| r.quality == Quality::Good) {
            if let Some(point) = group
                .members
                .iter()
                .map(|&m| &catalog.points[m as usize])
                .find(|p| p.id == r.point)
                && unit
                    .forbidden
                    .allow(point.kind, u32::from(point.address), point.end())
            {
                info!(device = %unit.name, point = %point.name, "point answers again; it rejoins merged reads");
                changed = true;
            }
        }
        changed
    }

    /// Every point of the group gets exactly one reading per poll.
    fn fill_missing(
        &mut self,
        u: usize,
        g: usize,
        reason: BadReason,
        at: Timestamp,
        readings: &mut Vec<Reading>,
    ) {
        let group = &mut self.units[u].groups[g];
        for (decoding, done) in group.decodings.iter().zip(group.done.iter_mut()) {
            if !*done {
                readings.push(reading(decoding, Err(reason), at));
                *done = true;
            }
        }
    }

    fn replan(&mut self, u: usize) {
        let unit = &mut self.units[u];
        for group in &mut unit.groups {
            let points = group.points(&self.catalog);
            group.plan = plan(&points, unit.limits, &unit.forbidden);
        }
    }

    fn count_readings(&self, u: usize, readings: &[Reading]) {
        let metrics = self.device_metrics(u);
        let good = readings
            .iter()
            .filter(|r| r.quality == Quality::Good)
            .count() as u64;
        bump(&metrics.good_readings, good);
        bump(&metrics.bad_readings, readings.len() as u64 - good);
    }

    fn device_metrics(&self, u: usize) -> &DeviceMetrics {
        &self.devices[self.units[u].device.0 as usize]
    }

    /// One request with the device's retries; drops the connection on any
    /// transport-level failure so the next attempt starts clean.
    async fn read_with_retries(
        &mut self,
        u: usize,
        request: &ReadRequest,
    ) -> Result<ReadOutcome, BadReason> {
        let (unit_id, timeout, retries, device) = {
            let unit = &self.units[u];
            (unit.unit_id, unit.timeout, unit.retries, unit.device)
        };
        let mut last = BadReason::Transport;
        for _attempt in 0..=retries {
            self.ensure_connection(timeout, device).await?;
            let Some(connection) = self.connection.as_mut() else {
                return Err(BadReason::Transport);
            };
            let metrics = &self.devices[device.0 as usize];
            bump(&metrics.requests, 1);
            match connection.read(unit_id, request, timeout).await {
                Ok((outcome, elapsed)) => {
                    metrics.latency.observe(elapsed);
                    return Ok(outcome);
                }
                Err(reason) => {
                    metrics.request_error(reason);
                    self.connection = None;
                    last = reason;
                    if reason == BadReason::Malformed {
                        self.log_malformed(u, request);
                    }
                }
            }
        }
        Err(last)
    }

    fn log_malformed(&mut self, u: usize, request: &ReadRequest) {
        let unit = &mut self.units[u];
        if let Some(held_back) = unit.log.allow() {
            warn!(device = %unit.name, kind = request.kind.as_str(), address = request.start, count = request.count,
                  held_back, "malformed reply refused; reconnecting");
        }
    }

    async fn ensure_connection(
        &mut self,
        timeout: Duration,
        device: DeviceId,
    ) -> Result<(), BadReason> {
        if self.connection.is_some() {
            return Ok(());
        }
        if let Some(at) = self.connect_retry_at
            && Instant::now() < at
        {
            return Err(BadReason::Transport);
        }
        match Connection::open(&self.transport, timeout).await {
            Ok(connection) => {
                self.connection = Some(connection);
                self.connect_backoff.reset();
                self.connect_retry_at = None;
                bump(&self.devices[device.0 as usize].connects, 1);
                Ok(())
            }
            Err(reason) => {
                self.connect_retry_at = Some(Instant::now() + self.connect_backoff.next_delay());
                Err(reason)
            }
        }
    }

    async fn record_success(&mut self, u: usize, at: Timestamp) {
        let unit = &mut self.units[u];
        unit.failures = 0;
        unit.backoff.reset();
        if unit.state != DeviceState::Online {
            info!(device = %unit.name, unit_id = unit.unit_id, "device online");
            self.set_state(u, DeviceState::Online, at, None).await;
        }
    }

    async fn record_failure(&mut self, u: usize, reason: BadReason, at: Timestamp) {
        bump(&self.device_metrics(u).failed_polls, 1);
        let unit = &mut self.units[u];
        unit.failures = unit.failures.saturating_add(1);
        if unit.failures >= unit.offline_after && unit.state != DeviceState::Offline {
            warn!(device = %unit.name, unit_id = unit.unit_id, reason = reason.label(), failures = unit.failures,
                  "device offline; retrying with backoff");
            self.set_state(u, DeviceState::Offline, at, Some(reason))
                .await;
        }
    }

    async fn set_state(
        &mut self,
        u: usize,
        state: DeviceState,
        at: Timestamp,
        reason: Option<BadReason>,
    ) {
        let device = self.units[u].device;
        self.units[u].state = state;
        let metrics = self.device_metrics(u);
        metrics.set_state(state);
        bump(&metrics.state_changes, 1);
        self.bus
            .publish(ReadingEvent::DeviceState {
                device,
                state,
                at,
                reason,
            })
            .await;
    }

    /// Next poll: the next tick of the group's interval (see
    /// [`next_tick`]), or later with backoff while offline.
    fn schedule_next(&mut self, u: usize, g: usize) {
        let now = Instant::now();
        let unit = &mut self.units[u];
        if unit.state == DeviceState::Offline {
            let retry_at = now + unit.backoff.next_delay();
            for group in &mut unit.groups {
                group.next_due = group.next_due.max(retry_at);
            }
            return;
        }
        let group = &mut unit.groups[g];
        group.next_due = next_tick(now, clock::now(), group.interval);
    }
}

/// When a group polled at `now` (daemon time `daemon_now`) is polled next:
/// the first instant at least half an interval away at which daemon time
/// is a whole multiple of `interval` (a 1 s group on the second, a 1 min
/// group on the minute). Every device on the same interval is then polled
/// in the same tick, so their readings share a time in the dashboards and
/// the daemon wakes once a tick instead of once a device; the half
/// interval keeps a poll that ran long from being followed at once. A
/// poll overrunning its interval skips the ticks it missed.
fn next_tick(now: Instant, daemon_now: Timestamp, interval: Duration) -> Instant {
    let period = i128::try_from(interval.as_micros())
        .unwrap_or(i128::MAX)
        .max(1);
    let earliest = i128::from(daemon_now.as_microsecond()) + period / 2;
    let tick = earliest + (period - earliest.rem_euclid(period)) % period;
    let wait = u64::try_from(tick - i128::from(daemon_now.as_microsecond()))
        .map_or(interval, Duration::from_micros);
    now + wait
}

fn reading(
    decoding: &Decoding,
    decoded: Result<sitewarden_model::reading::Value, BadReason>,
    at: Timestamp,
) -> Reading {
    match decoded {
        Ok(value) => Reading {
            point: decoding.point,
            device: decoding.device,
            value: Some(value),
            quality: Quality::Good,
            at,
        },
        Err(reason) => Reading {
            point: decoding.point,
            device: decoding.device,
            value: None,
            quality: Quality::Bad(reason),
            at,
        },
    }
}

/// The readings vector and batch of `spare` when no subscriber holds it
/// any more (emptied, capacity kept); new ones for `points` otherwise.
fn reuse_batch(
    spare: Option<Arc<ReadingBatch>>,
    points: usize,
) -> (Vec<Reading>, Option<Arc<ReadingBatch>>) {
    if let Some(mut batch) = spare
        && let Some(unshared) = Arc::get_mut(&mut batch)
    {
        let mut readings = std::mem::take(&mut unshared.readings);
        readings.clear();
        return (readings, Some(batch));
    }
    (Vec::with_capacity(points), None)
}

/// `readings` as a batch of `device`, in the reused `shell` when there is one.
fn fill_batch(
    shell: Option<Arc<ReadingBatch>>,
    device: DeviceId,
    readings: Vec<Reading>,
    clock_shift: jiff::SignedDuration,
) -> Arc<ReadingBatch> {
    let fresh = ReadingBatch {
        device,
        readings,
        clock_shift,
    };
    match shell {
        Some(mut batch) => match Arc::get_mut(&mut batch) {
            Some(unshared) => {
                *unshared = fresh;
                batch
            }
            None => Arc::new(fresh),
        },
        None => Arc::new(fresh),
    }
}

fn build_unit(catalog: &Catalog, device: DeviceId, now: Instant) -> Unit {
    let d = catalog.device(device);
    let limits = PlanLimits {
        max_gap_registers: d.max_gap_registers,
        max_gap_bits: d.max_gap_bits,
    };
    let forbidden = Forbidden::default();
    let mut intervals: Vec<Duration> = catalog
        .points_of(device)
        .iter()
        .map(|p| p.interval)
        .collect();
    intervals.sort();
    intervals.dedup();
    let groups = intervals
        .into_iter()
        .map(|interval| {
            let members: Vec<u32> = catalog
                .points_of(device)
                .iter()
                .filter(|p| p.interval == interval)
                .map(|p| p.id.0)
                .collect();
            let mut group = Group {
                interval,
                plan: Vec::new(),
                done: vec![false; members.len()],
                spare: None,
                decodings: members
                    .iter()
                    .map(|&m| Decoding::of(&catalog.points[m as usize]))
                    .collect(),
                members,
                next_due: now,
            };
            group.plan = plan(&group.points(catalog), limits, &forbidden);
            group
        })
        .collect();
    Unit {
        device,
        name: d.name.clone(),
        unit_id: d.unit_id,
        timeout: d.timeout,
        retries: d.retries,
        offline_after: u32::from(d.offline_after),
        limits,
        groups,
        forbidden,
        failures: 0,
        state: DeviceState::Unknown,
        backoff: Backoff::new(d.poll_interval.min(MAX_BACKOFF), MAX_BACKOFF),
        log: LogLimiter::new(LOG_INTERVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long after daemon time `at` a group of `interval` is polled next.
    fn wait(at: &str, interval: Duration) -> Duration {
        let now = Instant::now();
        next_tick(now, at.parse().unwrap(), interval) - now
    }

    #[test]
    fn groups_are_polled_on_their_intervals_ticks_at_least_half_an_interval_apart() {
        let second = Duration::from_secs(1);
        assert_eq!(
            wait("2027-01-01T12:00:00.3Z", second),
            Duration::from_millis(700)
        );
        assert_eq!(wait("2027-01-01T12:00:00Z", second), second);
        // Less than half an interval before a tick: the one after it.
        assert_eq!(
            wait("2027-01-01T12:00:00.6Z", second),
            Duration::from_millis(1_400)
        );
        let quarter = Duration::from_millis(250);
        assert_eq!(
            wait("2027-01-01T12:00:00.1Z", quarter),
            Duration::from_millis(150)
        );
        let minute = Duration::from_secs(60);
        assert_eq!(
            wait("2027-01-01T12:00:20Z", minute),
            Duration::from_secs(40)
        );
        assert_eq!(
            wait("2027-01-01T12:00:45Z", minute),
            Duration::from_secs(75)
        );
        // Before 1970 too (daemon time after a step backwards).
        assert_eq!(
            wait("1969-12-31T23:59:59.75Z", second),
            Duration::from_millis(1_250)
        );
    }
}
