//! Counters that cost the answering path one uncontended atomic add each: a [`Bank`] holds
//! every counter once per shard, a thread always adds to the same shard (threads are spread
//! over the shards in the order they first count), and the shards are summed only when
//! scraped. Shards sit at least a cache line apart, so threads on different cores never
//! write to the same line. Counters are addressed by index: the label sets are laid out in
//! fixed arrays when the bank is made, so counting hashes nothing and allocates nothing.
//!
//! [`Buckets`] lays a histogram over a run of counters: one per bucket (not cumulative; the
//! exposition adds them up) plus an overflow bucket and the sum of the observed values.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counters per cache line, and so the gap kept between shards.
const LINE: usize = 128 / std::mem::size_of::<AtomicU64>();

/// Fewest and most shards a bank has.
const SHARDS: (usize, usize) = (4, 64);

/// Numbers handed to threads in the order they first count.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's number (`usize::MAX` until it first counts).
    static THREAD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The number of the calling thread, stable for its life.
fn thread_number() -> usize {
    THREAD.with(|n| {
        let mut number = n.get();
        if number == usize::MAX {
            number = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
            n.set(number);
        }
        number
    })
}

/// A fixed set of monotonic counters, sharded by thread.
pub struct Bank {
    cells: Box<[AtomicU64]>,
    /// Counters in the bank.
    len: usize,
    /// Distance between the starts of two shards.
    stride: usize,
    /// Shards less one (their number is a power of two).
    mask: usize,
}

impl std::fmt::Debug for Bank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bank")
            .field("counters", &self.len)
            .field("shards", &(self.mask + 1))
            .finish()
    }
}

impl Bank {
    /// `len` counters at 0, with two shards per CPU this process may use.
    pub fn new(len: usize) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Bank::with_shards(len, cpus * 2)
    }

    /// `len` counters at 0 in `shards` shards (rounded up to a power of two, within bounds).
    pub fn with_shards(len: usize, shards: usize) -> Self {
        let shards = shards.clamp(SHARDS.0, SHARDS.1).next_power_of_two();
        let stride = len.div_ceil(LINE) * LINE + LINE;
        Bank {
            cells: (0..shards * stride).map(|_| AtomicU64::new(0)).collect(),
            len,
            stride,
            mask: shards - 1,
        }
    }

    /// The number of counters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the bank holds no counter.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `n` to counter `index` (an index past the end is ignored).
    #[inline]
    pub fn add(&self, index: usize, n: u64) {
        if index >= self.len {
            return;
        }
        let shard = thread_number() & self.mask;
        if let Some(cell) = self.cells.get(shard * self.stride + index) {
            cell.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The value of counter `index`: the sum over the shards (wrapping, as counters do).
    pub fn sum(&self, index: usize) -> u64 {
        if index >= self.len {
            return 0;
        }
        self.cells
            .iter()
            .skip(index)
            .step_by(self.stride)
            .fold(0u64, |sum, cell| {
                sum.wrapping_add(cell.load(Ordering::Relaxed))
            })
    }

    /// Every counter's value, in index order.
    pub fn sums(&self) -> Vec<u64> {
        let mut sums = vec![0u64; self.len];
        for shard in self.cells.chunks(self.stride) {
            for (sum, cell) in sums.iter_mut().zip(shard) {
                *sum = sum.wrapping_add(cell.load(Ordering::Relaxed));
            }
        }
        sums
    }
}

/// A histogram over a run of counters of a bank: the counts of `bounds.len()` buckets (a
/// value falls in the first bucket whose upper bound it does not exceed), one overflow
/// bucket, and the sum of the values.
#[derive(Debug, Clone, Copy)]
pub struct Buckets {
    /// Upper bounds of the buckets, ascending, in the unit of the observed values.
    pub bounds: &'static [u64],
}

impl Buckets {
    /// The counters one histogram takes.
    pub const fn width(&self) -> usize {
        self.bounds.len() + 2
    }

    /// Records `value` in the histogram whose counters start at `first`.
    #[inline]
    pub fn observe(&self, bank: &Bank, first: usize, value: u64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        bank.add(first + bucket, 1);
        bank.add(first + self.bounds.len() + 1, value);
    }

    /// The histogram starting at `first` in `sums` (a bank's [`Bank::sums`]).
    pub fn read(&self, sums: &[u64], first: usize) -> Observed {
        let counts = sums
            .get(first..first + self.bounds.len() + 1)
            .map(<[u64]>::to_vec)
            .unwrap_or_default();
        Observed {
            count: counts.iter().fold(0u64, |a, b| a.wrapping_add(*b)),
            sum: sums
                .get(first + self.bounds.len() + 1)
                .copied()
                .unwrap_or(0),
            counts,
        }
    }
}

/// A histogram as read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Observations per bucket (not cumulative), the overflow bucket last.
    pub counts: Vec<u64>,
    /// The number of observations.
    pub count: u64,
    /// The sum of the observed values.
    pub sum: u64,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn counts_from_many_threads_add_up_over_the_shards() {
        let bank = Arc::new(Bank::with_shards(3, 4));
        let threads: Vec<_> = (0..10u64)
            .map(|t| {
                let bank = bank.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        bank.add(0, 1);
                        bank.add(2, t);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(bank.sum(0), 10_000);
        assert_eq!(bank.sum(1), 0);
        assert_eq!(bank.sum(2), 1000 * (0..10).sum::<u64>());
        assert_eq!(bank.sums(), vec![10_000, 0, 45_000]);
        bank.add(3, 1);
        assert_eq!(bank.sum(3), 0, "past the end: ignored");
    }

    #[test]
    fn shards_are_a_power_of_two_and_a_line_apart() {
        let bank = Bank::with_shards(20, 5);
        assert_eq!(bank.mask + 1, 8);
        assert!(bank.stride >= 20 + LINE);
        assert_eq!(bank.stride % LINE, 0);
        assert_eq!(Bank::with_shards(1, 1000).mask + 1, SHARDS.1);
    }

    #[test]
    fn histogram_buckets_take_values_up_to_their_bound() {
        let buckets = Buckets { bounds: &[10, 100] };
        let bank = Bank::with_shards(1 + buckets.width(), 4);
        for v in [0, 10, 11, 100, 101, 5000] {
            buckets.observe(&bank, 1, v);
        }
        let seen = buckets.read(&bank.sums(), 1);
        assert_eq!(seen.counts, vec![2, 2, 2]);
        assert_eq!(seen.count, 6);
        assert_eq!(seen.sum, 5222);
        assert_eq!(
            bank.sum(0),
            0,
            "counters before the histogram are untouched"
        );
    }
}
