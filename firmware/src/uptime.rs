//! The station's uptime, counted from the 1 ms system tick.
//!
//! A 32-bit millisecond counter wraps after 49.7 days; after the wrap the
//! uptime in the tap records jumps back to zero and the repeat guard would
//! take every tap of the last badge for a repeat until the clock caught up.
//! Counting in 64 bits never wraps in the life of a station (585 million
//! years), and the seconds handed out saturate instead of wrapping.

/// Milliseconds since boot, from a periodic tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uptime {
    ms: u64,
}

impl Uptime {
    /// Zero at boot.
    pub const fn new() -> Self {
        Self { ms: 0 }
    }

    /// Starts at `ms` (tests, and a board that keeps time across a soft reset).
    pub const fn from_ms(ms: u64) -> Self {
        Self { ms }
    }

    /// One more millisecond.
    pub fn tick(&mut self) {
        self.ms = self.ms.saturating_add(1);
    }

    /// Milliseconds since boot.
    pub fn ms(&self) -> u64 {
        self.ms
    }

    /// Whole seconds since boot as the tap records carry them (saturating
    /// after 136 years rather than wrapping).
    pub fn seconds(&self) -> u32 {
        u32::try_from(self.ms / 1000).unwrap_or(u32::MAX)
    }

    /// Milliseconds from `earlier` to now; zero if `earlier` is later.
    pub fn since(&self, earlier: u64) -> u64 {
        self.ms.saturating_sub(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_counting_past_the_32_bit_millisecond_wrap() {
        let mut up = Uptime::from_ms(u64::from(u32::MAX) - 1);
        let before = up.seconds();
        up.tick();
        up.tick();
        up.tick();
        assert_eq!(up.ms(), u64::from(u32::MAX) + 2);
        assert!(up.seconds() >= before, "the uptime never goes back");
        assert_eq!(up.seconds(), 4_294_967);
        assert_eq!(up.since(u64::from(u32::MAX) - 1), 3);
        assert_eq!(up.since(up.ms() + 5), 0);
    }

    #[test]
    fn seconds_saturate_instead_of_wrapping() {
        assert_eq!(Uptime::from_ms(u64::MAX).seconds(), u32::MAX);
        let mut up = Uptime::from_ms(u64::MAX);
        up.tick();
        assert_eq!(up.ms(), u64::MAX);
    }
}
