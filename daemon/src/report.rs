//! Which readings are worth reporting downstream (time series, MQTT values).
//!
//! Writing every reading of a point polled every 250 ms would fill a
//! database with the same number; skipping a change would hide what
//! happened. The filter writes a change beyond the deadband at once and an
//! unchanged value again after the minimum interval.

use std::time::Duration;

use crate::readings::{Quality, Reading};
use sitewarden_model::catalog::Catalog;

/// Decides which readings are written: a change beyond the deadband at once,
/// an unchanged value again after the minimum interval, quality changes always.
#[derive(Debug)]
pub struct ReportFilter {
    deadband: Vec<f64>,
    min_interval_ns: Vec<i128>,
    last_value: Vec<f64>,
    last_ns: Vec<i128>,
    last_good: Vec<bool>,
}

impl ReportFilter {
    /// Settings per point, from the point or the output's defaults.
    pub fn new(catalog: &Catalog, default_deadband: f64, default_min_interval: Duration) -> Self {
        let n = catalog.points.len();
        let ns = |d: Duration| d.as_nanos() as i128;
        Self {
            deadband: catalog
                .points
                .iter()
                .map(|p| p.report_deadband.unwrap_or(default_deadband))
                .collect(),
            min_interval_ns: catalog
                .points
                .iter()
                .map(|p| ns(p.report_min_interval.unwrap_or(default_min_interval)))
                .collect(),
            last_value: vec![f64::NAN; n],
            last_ns: vec![i128::MIN / 2; n],
            last_good: vec![false; n],
        }
    }

    /// True when the reading should be written; records it if so.
    pub fn admit(&mut self, r: &Reading) -> bool {
        let i = r.point.0 as usize;
        let (Some(deadband), Some(min_ns)) = (self.deadband.get(i), self.min_interval_ns.get(i))
        else {
            return false;
        };
        let at = r.at.as_nanosecond();
        let good = r.quality == Quality::Good && r.value.is_some();
        let value = r.value.map_or(f64::NAN, |v| v.as_f64());
        let due = at - self.last_ns[i] >= *min_ns;
        let changed = if good && self.last_good[i] {
            let moved = (value - self.last_value[i]).abs();
            if *deadband > 0.0 {
                moved > *deadband
            } else {
                moved > 0.0
            }
        } else {
            good != self.last_good[i]
        };
        if !(due || changed) {
            return false;
        }
        self.last_ns[i] = at;
        self.last_good[i] = good;
        if good {
            self.last_value[i] = value;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readings::{BadReason, Value};
    use sitewarden_model::catalog::{DeviceId, PointId};

    fn filter(deadband: f64, min_interval: Duration) -> ReportFilter {
        ReportFilter {
            deadband: vec![deadband],
            min_interval_ns: vec![min_interval.as_nanos() as i128],
            last_value: vec![f64::NAN],
            last_ns: vec![i128::MIN / 2],
            last_good: vec![false],
        }
    }

    fn reading(ms: i64, value: Option<f64>) -> Reading {
        Reading {
            point: PointId(0),
            device: DeviceId(0),
            value: value.map(Value::Number),
            quality: if value.is_some() {
                Quality::Good
            } else {
                Quality::Bad(BadReason::Timeout)
            },
            at: jiff::Timestamp::from_millisecond(ms).unwrap(),
        }
    }

    #[test]
    fn steady_values_are_written_once_per_interval_changes_at_once() {
        let mut f = filter(0.5, Duration::from_secs(60));
        let admitted: Vec<bool> = [
            (0, Some(20.0)),      // first: written
            (250, Some(20.0)),    // unchanged: not yet
            (500, Some(20.4)),    // inside the deadband: not yet
            (750, Some(20.6)),    // moved 0.6 from the last written: at once
            (1_000, None),        // quality changed: at once
            (1_250, None),        // still bad: not yet
            (1_500, Some(20.6)),  // good again: at once
            (61_499, Some(20.6)), // unchanged, 59.999 s later: not yet
            (61_500, Some(20.6)), // unchanged for the full minute: written again
        ]
        .iter()
        .map(|(ms, v)| f.admit(&reading(*ms, *v)))
        .collect();
        assert_eq!(
            admitted,
            [true, false, false, true, true, false, true, false, true]
        );
    }

    #[test]
    fn a_zero_interval_writes_every_reading() {
        let mut f = filter(0.0, Duration::ZERO);
        assert!((0..5).all(|i| f.admit(&reading(i, Some(1.0)))));
    }
}
