//! The metrics registry's tools: a latency histogram and the Prometheus
//! text writer every stage renders its own counters with.
//!
//! Each stage owns its counters (plain atomics, so hot paths increment
//! without locks or allocation) and a `render` that writes them with
//! [`family`] and [`sample`]; the daemon's registry calls each in turn for
//! `GET /metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Adds `by` to a counter that only one task writes (the poller of a
/// device), with a plain load and store instead of a locked add. A locked
/// add is a full barrier: on a counter line the poll has not touched for a
/// second, it stalls the CPU for the whole cache miss, and a poll made
/// seven of them. Readers (`GET /metrics`) still see whole values.
pub fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

/// A cumulative latency histogram in Prometheus form, written by one task
/// (see [`bump`]).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            bump(&self.buckets[i], 1);
        }
        bump(&self.count, 1);
        bump(
            &self.sum_micros,
            elapsed.as_micros().min(u128::from(u64::MAX)) as u64,
        );
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Appends the series of `name{labels}` in Prometheus text form: each
    /// bucket counts every observation at or below its bound.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes one sample of a site-level series: `name{site="…"} value`.
pub fn sample(out: &mut String, name: &str, site: &str, value: u64) {
    let _ = writeln!(out, "{name}{{site=\"{site}\"}} {value}");
}

/// One site-level series: name, kind, help text, and its counter.
pub type SiteSeries<'a> = (&'static str, &'static str, &'static str, &'a AtomicU64);

/// Writes site-level series, each as its own family.
pub fn site_series(out: &mut String, site: &str, series: &[SiteSeries<'_>]) {
    for (name, kind, help, value) in series {
        family(out, name, kind, help);
        sample(out, name, site, value.load(Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_on_render() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(10));
        assert_eq!(h.count(), 3);
        assert_eq!(h.buckets[0].load(Relaxed), 1);
        assert_eq!(h.buckets[5].load(Relaxed), 1);
        // 10 s is beyond the last bucket: only +Inf (the count) holds it.
        assert_eq!(h.buckets.iter().map(|b| b.load(Relaxed)).sum::<u64>(), 2);
        let mut out = String::new();
        h.render(&mut out, "x", "d=\"a\"");
        let rendered: Vec<&str> = out.lines().collect();
        assert_eq!(
            rendered,
            [
                "x_bucket{d=\"a\",le=\"0.001\"} 1",
                "x_bucket{d=\"a\",le=\"0.0025\"} 1",
                "x_bucket{d=\"a\",le=\"0.005\"} 1",
                "x_bucket{d=\"a\",le=\"0.01\"} 1",
                "x_bucket{d=\"a\",le=\"0.025\"} 1",
                "x_bucket{d=\"a\",le=\"0.05\"} 2",
                "x_bucket{d=\"a\",le=\"0.1\"} 2",
                "x_bucket{d=\"a\",le=\"0.25\"} 2",
                "x_bucket{d=\"a\",le=\"0.5\"} 2",
                "x_bucket{d=\"a\",le=\"1\"} 2",
                "x_bucket{d=\"a\",le=\"2.5\"} 2",
                "x_bucket{d=\"a\",le=\"5\"} 2",
                "x_bucket{d=\"a\",le=\"+Inf\"} 3",
                "x_sum{d=\"a\"} 10.0305",
                "x_count{d=\"a\"} 3",
            ]
        );
    }
}
