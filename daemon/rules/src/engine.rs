//! The rule engine: readings in, condition transitions out. Pure and
//! synchronous; time comes from readings and ticks, so tests drive it with
//! explicit timestamps and no sleeping.
//!
//! Rules are indexed by point: a reading touches only the condition slots
//! bound to its point, so the cost per reading does not grow with the number
//! of unrelated rules.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use sitewarden_model::catalog::{Catalog, Check, DeviceId, RuleInstance};
use sitewarden_model::reading::{DeviceState, Quality, Reading};
use sitewarden_model::vocab::SiteState;

use super::{ConditionEvent, ConditionState, InstanceId, Transition};

/// Samples kept per rate rule: enough to measure over the window at 1/16 resolution.
const RATE_SAMPLES: usize = 32;

/// What the engine keeps per rule instance.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Lifecycle state.
    pub state: ConditionState,
    /// When the current state began.
    pub since: Timestamp,
    /// When it was last raised, while active or clearing.
    pub raised_at: Option<Timestamp>,
    /// Last evaluation: the condition holds.
    raise: bool,
    /// Last evaluation: the clear condition holds.
    clear: bool,
    /// Last value considered.
    pub value: Option<f64>,
    /// Last good reading (stale rules).
    last_good: Option<Timestamp>,
    /// Counter value at the last recorded service (service-interval rules).
    pub baseline: f64,
    history: RateHistory,
}

impl Slot {
    fn new(now: Timestamp) -> Self {
        Self {
            state: ConditionState::Normal,
            since: now,
            raised_at: None,
            raise: false,
            clear: true,
            value: None,
            last_good: None,
            baseline: 0.0,
            history: RateHistory::default(),
        }
    }
}

/// A fixed ring of (seconds, value) samples: no allocation per reading.
#[derive(Debug, Clone, Copy, Default)]
struct RateHistory {
    samples: [(f64, f64); RATE_SAMPLES],
    start: usize,
    len: usize,
}

impl RateHistory {
    fn push(&mut self, t: f64, v: f64, window: f64) {
        // Keep one sample per 1/16 window; drop samples older than the window.
        if let Some(&(last_t, _)) = self.newest()
            && t - last_t < window / 16.0
        {
            return;
        }
        while self.len > 0 && t - self.samples[self.start].0 > window {
            self.start = (self.start + 1) % RATE_SAMPLES;
            self.len -= 1;
        }
        if self.len == RATE_SAMPLES {
            self.start = (self.start + 1) % RATE_SAMPLES;
            self.len -= 1;
        }
        self.samples[(self.start + self.len) % RATE_SAMPLES] = (t, v);
        self.len += 1;
    }

    /// Moves every sample by a clock step, so rates keep their windows.
    fn shift(&mut self, by_secs: f64) {
        for sample in &mut self.samples {
            sample.0 += by_secs;
        }
    }

    fn newest(&self) -> Option<&(f64, f64)> {
        (self.len > 0).then(|| &self.samples[(self.start + self.len - 1) % RATE_SAMPLES])
    }

    /// Change per minute from the oldest sample to `(t, v)`, once the
    /// history spans at least half the window.
    fn per_minute(&self, t: f64, v: f64, window: f64) -> Option<f64> {
        let (t0, v0) = (self.len > 0).then(|| self.samples[self.start])?;
        let span = t - t0;
        (span >= window / 2.0 && span > 0.0).then(|| (v - v0) / span * 60.0)
    }
}

/// Evaluates every rule instance of a catalog.
pub struct Engine {
    catalog: Arc<Catalog>,
    slots: Vec<Slot>,
    /// Point index → instances its readings drive.
    by_point: Vec<Vec<u32>>,
    /// Device index → offline instances.
    by_device: Vec<Vec<u32>>,
    /// Latest good value per point (NaN when none), for combinations.
    latest: Vec<f64>,
}

/// `t` moved by a clock step; saturating at the ends of time.
fn moved(t: Timestamp, by: SignedDuration) -> Timestamp {
    t.checked_add(by).unwrap_or(if by.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

fn secs(t: Timestamp) -> f64 {
    t.as_nanosecond() as f64 / 1e9
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    let nanos = now.as_nanosecond() - since.as_nanosecond();
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

impl Engine {
    /// An engine with every condition normal as of `now`.
    pub fn new(catalog: Arc<Catalog>, now: Timestamp) -> Self {
        let mut by_point = vec![Vec::new(); catalog.points.len()];
        let mut by_device = vec![Vec::new(); catalog.devices.len()];
        for (i, instance) in catalog.rule_instances.iter().enumerate() {
            let i = i as u32;
            match &instance.check {
                Check::Offline => by_device[instance.device.0 as usize].push(i),
                Check::Combination { of, .. } => {
                    for (point, _) in of {
                        by_point[point.0 as usize].push(i);
                    }
                }
                _ => by_point[instance.point.0 as usize].push(i),
            }
        }
        let mut slots = vec![Slot::new(now); catalog.rule_instances.len()];
        for slot in &mut slots {
            // A point never heard from goes stale `after` from start.
            slot.last_good = Some(now);
        }
        Self {
            latest: vec![f64::NAN; catalog.points.len()],
            catalog,
            slots,
            by_point,
            by_device,
        }
    }

    /// The catalog the engine was built from.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Every slot, indexed like [`Catalog::rule_instances`].
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// A `Raised` event for every condition raised and not cleared (active
    /// or clearing), as of when it was raised: after a restart the stages
    /// behind the rules check that each has reached them, since the process
    /// may have died between saving the condition and their commit.
    pub fn raised_conditions(&self) -> Vec<ConditionEvent> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, ConditionState::Active | ConditionState::Clearing))
            .map(|(i, slot)| {
                let instance = &self.catalog.rule_instances[i];
                let at = slot.raised_at.unwrap_or(slot.since);
                ConditionEvent {
                    instance: InstanceId(i as u32),
                    rule: instance.rule,
                    device: instance.device,
                    point: instance.point,
                    transition: Transition::Raised,
                    state: slot.state,
                    value: slot.value,
                    threshold: threshold_of(&instance.check),
                    severity: instance.severity,
                    at,
                    raised_at: Some(at),
                }
            })
            .collect()
    }

    /// Puts back a slot saved before a restart.
    pub fn restore(
        &mut self,
        instance: InstanceId,
        state: ConditionState,
        since: Timestamp,
        raised_at: Option<Timestamp>,
        baseline: f64,
    ) {
        if let Some(slot) = self.slots.get_mut(instance.0 as usize) {
            slot.state = state;
            slot.since = since;
            slot.raised_at = raised_at;
            slot.baseline = baseline;
            slot.raise = matches!(state, ConditionState::Pending | ConditionState::Active);
            slot.clear = state == ConditionState::Clearing;
        }
    }

    /// Evaluates the rules bound to one reading's point.
    pub fn on_reading(&mut self, reading: &Reading, out: &mut Vec<ConditionEvent>) {
        let point = reading.point.0 as usize;
        let good = match (reading.quality, reading.value) {
            (Quality::Good, Some(v)) if v.as_f64().is_finite() => Some(v.as_f64()),
            _ => None,
        };
        if let Some(v) = good {
            self.latest[point] = v;
        }
        let bound = self.by_point.get(point).map_or(0, Vec::len);
        for k in 0..bound {
            let i = self.by_point[point][k] as usize;
            match good {
                Some(v) => self.evaluate(i, v, reading.at, out),
                None => self.on_bad(i, reading.at, out),
            }
        }
    }

    /// Raises or clears the offline rules of a device.
    pub fn on_device_state(
        &mut self,
        device: DeviceId,
        state: DeviceState,
        at: Timestamp,
        out: &mut Vec<ConditionEvent>,
    ) {
        let offline = state == DeviceState::Offline;
        let d = device.0 as usize;
        let bound = self.by_device.get(d).map_or(0, Vec::len);
        for k in 0..bound {
            let i = self.by_device[d][k] as usize;
            self.slots[i].raise = offline;
            self.slots[i].clear = !offline;
            self.step(i, at, out);
        }
    }

    /// Moves every time the engine keeps by a step of the daemon clock
    /// ([`sitewarden_runtime::clock`]): a pending alarm's on-delay, a
    /// clearing one's off-delay, staleness and rate windows keep their
    /// length across the step instead of stretching or collapsing.
    pub fn shift_times(&mut self, by: SignedDuration) {
        let by_secs = by.as_secs_f64();
        for slot in &mut self.slots {
            slot.since = moved(slot.since, by);
            slot.raised_at = slot.raised_at.map(|t| moved(t, by));
            slot.last_good = slot.last_good.map(|t| moved(t, by));
            slot.history.shift(by_secs);
        }
    }

    /// Runs the clocks: on-delays and off-delays that expired, data gone stale.
    pub fn on_tick(&mut self, now: Timestamp, out: &mut Vec<ConditionEvent>) {
        for i in 0..self.slots.len() {
            if let Check::Stale { after } = self.catalog.rule_instances[i].check {
                let slot = &mut self.slots[i];
                let stale = slot.last_good.is_some_and(|t| elapsed(t, now) >= after);
                slot.raise = stale;
                slot.clear = !stale;
                self.step(i, now, out);
            } else if matches!(
                self.slots[i].state,
                ConditionState::Pending | ConditionState::Clearing
            ) {
                self.step(i, now, out);
            }
        }
    }

    /// The earliest time [`Self::on_tick`] can change anything: a pending
    /// raise or clear completing its delay, or a watched point going
    /// stale. `None` when no condition waits on time. O(rule instances):
    /// called after transitions and ticks, never per reading.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let after = |t: Timestamp, d: Duration| t.checked_add(d).ok();
        self.slots
            .iter()
            .zip(&self.catalog.rule_instances)
            .filter_map(|(slot, instance)| match (slot.state, &instance.check) {
                (ConditionState::Pending, _) => after(slot.since, instance.on_delay),
                (ConditionState::Clearing, _) => after(slot.since, instance.off_delay),
                (ConditionState::Normal, Check::Stale { after: limit }) => {
                    slot.last_good.and_then(|t| after(t, *limit))
                }
                _ => None,
            })
            .min()
    }

    /// How long the stage may sleep without a deadline: a point that turns
    /// good for the first time starts a stale watch no transition announces,
    /// so it is looked at within a quarter of the shortest stale limit.
    pub fn longest_sleep(&self) -> Duration {
        self.catalog
            .rule_instances
            .iter()
            .filter_map(|i| match i.check {
                Check::Stale { after } => Some(after / 4),
                _ => None,
            })
            .min()
            .unwrap_or(Duration::from_secs(60))
            .clamp(Duration::from_millis(250), Duration::from_secs(60))
    }

    /// Records that the equipment behind a service-interval rule was serviced:
    /// the counter's current value becomes the new baseline. Returns the
    /// instances whose baseline changed.
    pub fn record_service(
        &mut self,
        device: DeviceId,
        rule: sitewarden_model::catalog::RuleId,
        now: Timestamp,
        out: &mut Vec<ConditionEvent>,
    ) -> Vec<(InstanceId, f64)> {
        let mut changed = Vec::new();
        for (i, instance) in self.catalog.clone().rule_instances.iter().enumerate() {
            if instance.device != device
                || instance.rule != rule
                || !matches!(instance.check, Check::ServiceInterval { .. })
            {
                continue;
            }
            let current = self.latest[instance.point.0 as usize];
            let baseline = if current.is_nan() {
                self.slots[i].value.unwrap_or(0.0)
            } else {
                current
            };
            self.slots[i].baseline = baseline;
            changed.push((InstanceId(i as u32), baseline));
            self.evaluate(i, baseline, now, out);
        }
        changed
    }

    fn on_bad(&mut self, i: usize, at: Timestamp, out: &mut Vec<ConditionEvent>) {
        // Bad data never raises: a pending condition is dropped, an active one held.
        if matches!(
            self.catalog.rule_instances[i].check,
            Check::Stale { .. } | Check::Offline
        ) {
            return;
        }
        if self.slots[i].state == ConditionState::Pending {
            self.slots[i].raise = false;
            self.slots[i].clear = true;
            self.step(i, at, out);
        }
    }

    fn evaluate(&mut self, i: usize, v: f64, at: Timestamp, out: &mut Vec<ConditionEvent>) {
        let instance = &self.catalog.rule_instances[i];
        let slot = &mut self.slots[i];
        let (raise, clear) = match &instance.check {
            Check::Limit {
                upper: true,
                threshold,
                clear_at,
            } => (v > *threshold, v < *clear_at),
            Check::Limit {
                upper: false,
                threshold,
                clear_at,
            } => (v < *threshold, v > *clear_at),
            Check::State { value, when_equal } => {
                let raise = (v == *value) == *when_equal;
                (raise, !raise)
            }
            Check::Rate { per_minute, window } => {
                let (t, window) = (secs(at), window.as_secs_f64());
                let rate = slot.history.per_minute(t, v, window);
                slot.history.push(t, v, window);
                match rate {
                    Some(r) => {
                        let raise = if *per_minute > 0.0 {
                            r >= *per_minute
                        } else {
                            r <= *per_minute
                        };
                        (raise, !raise)
                    }
                    None => (false, false),
                }
            }
            Check::Stale { .. } => {
                slot.last_good = Some(at);
                (false, true)
            }
            Check::Offline => return,
            Check::ServiceInterval { interval } => {
                let raise = v - slot.baseline >= *interval;
                (raise, !raise)
            }
            Check::Schedule { when_open, value } => {
                let open = self.catalog.site.hours.is_open(at);
                let raise = open == *when_open && v == *value;
                (raise, !raise)
            }
            Check::Combination { all, of } => {
                let (mut every, mut some, mut unknown) = (true, false, false);
                for (p, pred) in of {
                    let x = self.latest[p.0 as usize];
                    if x.is_nan() {
                        unknown = true;
                        break;
                    }
                    let holds = pred.holds(x);
                    every &= holds;
                    some |= holds;
                }
                if unknown {
                    (false, false)
                } else {
                    let raise = if *all { every } else { some };
                    (raise, !raise)
                }
            }
        };
        // Outside the hours a rule is for, its condition does not hold.
        let (raise, clear) = match instance.only_while {
            Some(state) if (state == SiteState::Open) != self.catalog.site.hours.is_open(at) => {
                (false, true)
            }
            _ => (raise, clear),
        };
        slot.value = Some(v);
        slot.raise = raise;
        slot.clear = clear;
        self.step(i, at, out);
    }

    /// The lifecycle: normal → pending → active → clearing → normal.
    fn step(&mut self, i: usize, now: Timestamp, out: &mut Vec<ConditionEvent>) {
        let instance: &RuleInstance = &self.catalog.rule_instances[i];
        let slot = &mut self.slots[i];
        let (on, off) = (instance.on_delay, instance.off_delay);
        let (next, transition) = match slot.state {
            ConditionState::Normal if slot.raise && on.is_zero() => {
                (ConditionState::Active, Transition::Raised)
            }
            ConditionState::Normal if slot.raise => (ConditionState::Pending, Transition::Pending),
            ConditionState::Pending if !slot.raise => {
                (ConditionState::Normal, Transition::PendingCancelled)
            }
            ConditionState::Pending if elapsed(slot.since, now) >= on => {
                (ConditionState::Active, Transition::Raised)
            }
            ConditionState::Active if slot.clear && off.is_zero() => {
                (ConditionState::Normal, Transition::Cleared)
            }
            ConditionState::Active if slot.clear => {
                (ConditionState::Clearing, Transition::Clearing)
            }
            ConditionState::Clearing if !slot.clear => {
                (ConditionState::Active, Transition::ClearingCancelled)
            }
            ConditionState::Clearing if elapsed(slot.since, now) >= off => {
                (ConditionState::Normal, Transition::Cleared)
            }
            _ => return,
        };
        slot.state = next;
        slot.since = now;
        match transition {
            Transition::Raised => slot.raised_at = Some(now),
            Transition::Cleared => slot.raised_at = None,
            _ => {}
        }
        out.push(ConditionEvent {
            instance: InstanceId(i as u32),
            rule: instance.rule,
            device: instance.device,
            point: instance.point,
            transition,
            state: next,
            value: slot.value,
            threshold: threshold_of(&instance.check),
            severity: instance.severity,
            at: now,
            raised_at: slot.raised_at,
        });
        // A zero off-delay after a zero on-delay is handled on the next input;
        // a pending condition whose delay already passed (restored after a
        // restart) is promoted on the same input.
        if transition == Transition::Pending && on.is_zero() {
            self.step(i, now, out);
        }
    }
}

/// The number a condition is compared with, for events and tickets.
pub fn threshold_of(check: &Check) -> Option<f64> {
    match check {
        Check::Limit { threshold, .. } => Some(*threshold),
        Check::State { value, .. } | Check::Schedule { value, .. } => Some(*value),
        Check::Rate { per_minute, .. } => Some(*per_minute),
        Check::Stale { after } => Some(after.as_secs_f64()),
        Check::ServiceInterval { interval } => Some(*interval),
        Check::Offline | Check::Combination { .. } => None,
    }
}
