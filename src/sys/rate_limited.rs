//! Log lines that a query can cause, at most one per interval for each kind: a flood of bad
//! queries must not become a flood of log lines. Lines left out are counted and the count is
//! said with the next line that is written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// At most one line of each kind per this interval.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// One kind of line: when it was last written and how many were left out since.
struct Gate {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl Gate {
    const fn new() -> Self {
        Gate {
            last_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines left out since the last one)` when a line may be written now.
    fn pass(&self) -> Option<u64> {
        static START: OnceLock<Instant> = OnceLock::new();
        let start = START.get_or_init(Instant::now);
        self.pass_at(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX) + 1)
    }

    /// [`Gate::pass`] at `now_ms` (milliseconds since a fixed start, never 0).
    fn pass_at(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        let interval = u64::try_from(INTERVAL.as_millis()).unwrap_or(u64::MAX);
        let due = last == 0 || now_ms.saturating_sub(last) >= interval;
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

static ERRORS: Gate = Gate::new();

/// Logs `message` as an error about answering a query, at most once per [`INTERVAL`].
pub fn error(message: &str) {
    if let Some(left_out) = ERRORS.pass() {
        if left_out == 0 {
            tracing::error!("{message}");
        } else {
            tracing::error!("{message} ({left_out} more like it in the last {INTERVAL:?})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_the_rest_counted() {
        let gate = Gate::new();
        assert_eq!(gate.pass_at(5), Some(0));
        assert_eq!(gate.pass_at(6), None);
        assert_eq!(gate.pass_at(9_000), None);
        assert_eq!(gate.pass_at(10_005), Some(2));
    }
}
