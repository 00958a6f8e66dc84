//! Monotonic time supplied by the host.
//!
//! The core never reads a clock. Hosts pass `now` as milliseconds from any fixed
//! origin of their choosing (boot, process start); only differences matter.

use core::time::Duration;

/// A point on the host's monotonic clock, in milliseconds from an arbitrary origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the host's clock.
    pub const ZERO: Instant = Instant(0);

    /// A point `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of time rather than wrapping.
    fn add(self, duration: Duration) -> Instant {
        Instant(self.0.saturating_add(saturating_millis(duration)))
    }
}

/// `d` in whole milliseconds, `u64::MAX` for a duration past it (never wrapped).
pub(crate) fn saturating_millis(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(d.subsec_millis()))
}
