//! Exponential backoff with jitter, capped and never giving up.
//!
//! A site's uplink or an RS-485 gateway may be down for minutes or days; the
//! daemon must reconnect whenever it comes back, however long it took, and
//! fifty gateways must not all retry in the same millisecond.

use std::time::Duration;

use rand::Rng as _;

/// Delay state for one thing that keeps failing.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at `base`, doubles per failure, never above `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            failures: 0,
        }
    }

    /// The wait before the next attempt, between half and all of the capped
    /// exponential delay.
    pub fn next_delay(&mut self) -> Duration {
        let exponent = self.failures.min(20);
        self.failures = self.failures.saturating_add(1);
        let full = self.base.saturating_mul(1 << exponent).min(self.max);
        full.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// The wait after the `failures`-th failure of one thing, for callers
    /// that keep the count themselves (a message's attempts).
    pub fn after(base: Duration, max: Duration, failures: u32) -> Duration {
        Self {
            base,
            max,
            failures: failures.saturating_sub(1),
        }
        .next_delay()
    }

    /// Success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_stays_there_forever() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        for _ in 0..10_000 {
            let d = b.next_delay();
            assert!(d <= Duration::from_secs(5));
        }
        let late = b.next_delay();
        assert!(late >= Duration::from_millis(2500), "{late:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
