//! [`WideTotal`]: an exact `u128` total written with `u64` single-writer stores.
#![deny(unsafe_code)]

use crate::sync::{fence, AtomicU64, Ordering};

/// A monotonic `u128` total written as a `u64` low word plus a count of its wraps.
///
/// # Synchronization
///
/// `wraps` holds twice the number of wraps of `low`, and is odd while the owner of an exclusive
/// slot is writing a wrap: `wraps = 2k+1; fence(Release); low = wrapped; wraps = 2k+2 (Release)`.
/// The reader loads `wraps` (Acquire), `low`, then `fence(Acquire)` and `wraps` again, and
/// retries if the two differ or are odd: if its `low` load saw the wrapped value, the fence pair
/// makes the odd `wraps` visible to the second load; if its first load saw `2k+2`, the Release
/// store makes the wrapped `low` (or a later one) visible. So a read pairs `low` with its own
/// wrap count. In the shared overflow slot several writers `fetch_add` `low` and the one whose
/// add wrapped adds 2 to `wraps` afterwards; a read in between can be short by 2^64 for that one
/// snapshot (the next one is exact). Only values ≥ 2^63 in the overflow slot can do that.
pub(crate) struct WideTotal {
    low: AtomicU64,
    wraps: AtomicU64,
}

impl WideTotal {
    pub(crate) fn new() -> WideTotal {
        WideTotal {
            low: AtomicU64::new(0),
            wraps: AtomicU64::new(0),
        }
    }

    /// Adds `n`: one load and one store (or one `fetch_add` in the shared slot) unless the low
    /// word wraps.
    #[inline(always)]
    pub(crate) fn add(&self, n: u64, shared: bool) {
        if shared {
            return self.add_shared(n);
        }
        // Relaxed: single writer (module docs).
        let (next, wrapped) = self.low.load(Ordering::Relaxed).overflowing_add(n);
        if wrapped {
            self.wrapped_exclusive(next);
        } else {
            // Relaxed: single writer; the aggregator tolerates any past value.
            self.low.store(next, Ordering::Relaxed);
        }
    }

    /// The overflow slot's path, out of line so the exclusive path is the straight one.
    #[cold]
    #[inline(never)]
    fn add_shared(&self, n: u64) {
        // Relaxed: a statistic total; the wrap count is published by `wrapped_shared`.
        let before = self.low.fetch_add(n, Ordering::Relaxed);
        if before.checked_add(n).is_none() {
            self.wrapped_shared();
        }
    }

    /// The rare branch of an exclusive slot: store the wrapped low word under the seqlock.
    #[cold]
    #[inline(never)]
    fn wrapped_exclusive(&self, next: u64) {
        // Relaxed: single writer of `wraps` in an exclusive slot.
        let w = self.wraps.load(Ordering::Relaxed);
        // Relaxed + fence: a reader that sees the wrapped `low` also sees the odd count.
        self.wraps.store(w + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        // Relaxed: ordered by the fence above and the Release store below.
        self.low.store(next, Ordering::Relaxed);
        // Release: a reader that sees the even count also sees the wrapped `low`.
        self.wraps.store(w + 2, Ordering::Release);
    }

    #[cold]
    #[inline(never)]
    fn wrapped_shared(&self) {
        // Release: a reader that sees the new count also sees the wrapped low word.
        self.wraps.fetch_add(2, Ordering::Release);
    }

    /// The total, with `low` paired with its own wrap count (see the type's docs).
    pub(crate) fn read(&self) -> u128 {
        let mut attempt = 0u32;
        loop {
            // Acquire: pairs with the Release store that ends a wrap.
            let w1 = self.wraps.load(Ordering::Acquire);
            // Relaxed: validated by the re-check of `wraps`.
            let low = self.low.load(Ordering::Relaxed);
            // Acquire fence: if `low` came from a wrapping store, the odd count is visible.
            fence(Ordering::Acquire);
            let w2 = self.wraps.load(Ordering::Relaxed);
            // A writer is inside the three stores of a wrap: wait for it (it cannot block). After
            // many tries (a writer stopped by a debugger) give the pre-wrap reading.
            if (w1 == w2 && w1 & 1 == 0) || attempt >= 100_000 {
                return ((w1 >> 1) as u128) << 64 | low as u128;
            }
            attempt += 1;
            if attempt < 64 {
                crate::sync::spin_loop();
            } else {
                crate::sync::yield_now();
            }
        }
    }
}
