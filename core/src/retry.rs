//! When to try again, and how long to wait first.
//!
//! Backoff is exponential with "equal jitter": half the step is fixed, half random,
//! so retries never collapse to zero delay yet spread out across instances that
//! boot together. The random bits come from the host (see [`Jitter`]).

use core::time::Duration;

use crate::time::saturating_millis;

/// Retry limits and backoff shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (default 4; 1 disables retries).
    pub max_attempts: u8,
    /// Backoff before the first retry (default 100 ms); doubles each retry.
    pub base_delay: Duration,
    /// Largest backoff step (default 2 s). A longer `Retry-After` is still honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Whether another attempt is allowed after `attempts_made` attempts.
    pub fn allows_another(&self, attempts_made: u8) -> bool {
        attempts_made < self.max_attempts
    }

    /// Backoff before retry number `retry` (0 for the first retry), given 32 random bits.
    ///
    /// The step is `min(max_delay, base_delay * 2^retry)`; the delay is half the step
    /// plus a random part of up to the other half.
    ///
    /// ```
    /// use core::time::Duration;
    /// use vpc_imds_core::retry::RetryPolicy;
    /// let p = RetryPolicy::default();
    /// assert_eq!(p.backoff(0, 0), Duration::from_millis(50));
    /// assert_eq!(p.backoff(0, u32::MAX), Duration::from_millis(100));
    /// assert_eq!(p.backoff(10, 0), Duration::from_millis(1000));
    /// ```
    pub fn backoff(&self, retry: u32, random: u32) -> Duration {
        // Saturating: a huge configured delay must not wrap to a small one.
        let base = saturating_millis(self.base_delay);
        let cap = saturating_millis(self.max_delay);
        let step = base.saturating_mul(1u64 << retry.min(32)).min(cap);
        let half = step / 2;
        let spread = step - half;
        // u128: a huge configured max_delay must not overflow.
        let extra = ((u128::from(random) * (u128::from(spread) + 1)) >> 32) as u64;
        Duration::from_millis(half.saturating_add(extra))
    }
}

/// A small deterministic generator (SplitMix64) seeded by the host.
///
/// Hosts seed it from their own entropy; test vectors seed it with a fixed value
/// so every binding computes the same delays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator started from `seed`.
    pub const fn new(seed: u64) -> Self {
        Jitter { state: seed }
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy::default();
        let steps: [u64; 6] = [100, 200, 400, 800, 1600, 2000];
        for (i, step) in steps.iter().enumerate() {
            let lo = p.backoff(i as u32, 0).as_millis() as u64;
            let hi = p.backoff(i as u32, u32::MAX).as_millis() as u64;
            assert_eq!((lo, hi), (step / 2, *step), "retry {i}");
        }
    }

    #[test]
    fn huge_delays_do_not_overflow() {
        let p = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_secs(10_000_000),
            max_delay: Duration::MAX,
        };
        assert!(p.backoff(0, u32::MAX) >= Duration::from_secs(5_000_000));
        assert!(p.backoff(40, u32::MAX) > Duration::ZERO);
    }

    #[test]
    fn a_max_delay_past_u64_millis_is_not_wrapped_to_zero() {
        // 2^62 s is 2^62 * 1000 ms: past u64, whose low 64 bits are 0.
        let p = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(1 << 62),
        };
        assert!(p.backoff(3, 0) >= Duration::from_secs(4));
    }

    #[test]
    fn jitter_is_deterministic_and_spread() {
        let mut a = Jitter::new(7);
        let mut b = Jitter::new(7);
        let xs: [u32; 4] = core::array::from_fn(|_| a.next_u32());
        let ys: [u32; 4] = core::array::from_fn(|_| b.next_u32());
        assert_eq!(xs, ys);
        assert!(xs.windows(2).all(|w| w[0] != w[1]));
    }
}
