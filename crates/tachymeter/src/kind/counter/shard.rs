//! One thread's share of a counter.
#![deny(unsafe_code)]

use crate::shard::WideTotal;
use crossbeam_utils::CachePadded;

/// One thread's share of a counter.
pub(crate) struct CounterShard {
    total: WideTotal,
    /// The overflow slot's shard: several writers, `fetch_add`.
    shared: bool,
}

impl CounterShard {
    pub(crate) fn new(shared: bool) -> CachePadded<CounterShard> {
        CachePadded::new(CounterShard {
            total: WideTotal::new(),
            shared,
        })
    }

    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        self.total.add(n, self.shared);
    }

    /// Reader half: the exact total (monotonic; any value read is a real past total).
    pub(crate) fn total(&self) -> u128 {
        self.total.read()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn shards_are_padded_to_cache_lines() {
        let a = CounterShard::new(false);
        assert!(std::mem::align_of_val(&a) >= 64);
        assert!(std::mem::size_of_val(&a) >= 64);
        let boxed: Vec<Box<CachePadded<CounterShard>>> =
            (0..4).map(|_| Box::new(CounterShard::new(false))).collect();
        for w in boxed.windows(2) {
            let (x, y) = (&*w[0] as *const _ as usize, &*w[1] as *const _ as usize);
            assert!(x.abs_diff(y) >= std::mem::align_of::<CachePadded<u64>>());
            assert_eq!(x % std::mem::align_of::<CachePadded<u64>>(), 0);
        }
    }

    #[test]
    fn totals_add_and_wrap_exactly() {
        let c = CounterShard::new(false);
        c.add(u64::MAX);
        c.add(3);
        assert_eq!(c.total(), u64::MAX as u128 + 3);
        let shared = CounterShard::new(true);
        shared.add(u64::MAX);
        shared.add(u64::MAX);
        shared.add(3);
        assert_eq!(shared.total(), 2 * u64::MAX as u128 + 3);
    }
}
