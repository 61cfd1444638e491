//! Capped exponential backoff with jitter for reconnecting to etcd: each failure doubles the
//! ceiling (up to a cap) and the wait is drawn from the upper half of it, so many skydns
//! instances that lost the same etcd do not come back in lock step.

use std::time::Duration;

use rand::Rng;

/// The first wait after a failure.
pub const INITIAL: Duration = Duration::from_millis(100);
/// The longest wait between two attempts (new data is visible within about this long after
/// etcd comes back).
pub const CAP: Duration = Duration::from_secs(4);

/// Backoff state: how many failures in a row.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait before the next attempt; counts one more failure.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = INITIAL
            .saturating_mul(1u32 << self.failures.min(16))
            .min(CAP);
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        half + half.mul_f64(rng.random::<f64>())
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Back to the initial wait after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut b = Backoff::default();
        let first = b.next_delay(&mut rng);
        assert!(first >= INITIAL / 2 && first <= INITIAL);
        let mut last = first;
        for _ in 0..20 {
            last = b.next_delay(&mut rng);
            assert!(last <= CAP);
        }
        assert!(last >= CAP / 2);
        b.reset();
        assert!(b.next_delay(&mut rng) <= INITIAL);
    }
}
