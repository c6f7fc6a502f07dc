//! Per-thread shards: what one thread's records write, and the only memory the hot path touches.
//!
//! # Synchronization
//!
//! Every field of a shard in an exclusive slot has exactly one writer, the slot's owner, which
//! updates totals with `store(load + n)` (`Relaxed`): a plain load and store, no locked
//! read-modify-write. Totals are monotonic and never reset; the aggregator only reads them and
//! computes deltas against what it read last time, so no record can be lost between a read and a
//! reset. Ownership moves between threads only through the slot table's release/acquire pair
//! (see [`slots`](crate::slots)). The overflow slot is shared by any number of threads, so there
//! the same operations use `fetch_add`/`fetch_min`/`fetch_max`; each hot-path method takes the
//! slot's `shared` flag and branches once (perfectly predicted: it is constant per handle).
//!
//! A histogram record stores its bucket last with `Release`, and the aggregator loads buckets
//! with `Acquire` before reading `sum`, `min` and `max`, so every value a snapshot counts is
//! reflected in its min/max (and its sum; the sum may also include a few values whose bucket is
//! not yet visible, corrected by the next snapshot).
//!
//! Counter totals and histogram sums are [`WideTotal`]s: a `u64` low word and a wrap count, so
//! they are exact as `u128` whatever the values. The wrap branch is never taken for realistic
//! values; when it is, the owner writes the pair under a tiny seqlock (see [`WideTotal`]).
#![deny(unsafe_code)]

use crate::ring::Ring;
use crate::sync::{fence, AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use tachymeter_histogram::Layout;

/// Adds `n` to a shard total: single-writer store, or `fetch_add` in the shared slot.
#[inline(always)]
pub(crate) fn bump(a: &AtomicU64, n: u64, shared: bool) {
    if shared {
        // Relaxed: a statistic total; cross-thread visibility comes from the aggregator's loads.
        a.fetch_add(n, Ordering::Relaxed);
    } else {
        // Relaxed: single writer (module docs); wrapping to match fetch_add and never panic.
        a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
}

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

/// One thread's share of a counter.
pub(crate) struct CounterShard {
    pub(crate) total: WideTotal,
}

impl CounterShard {
    pub(crate) fn new() -> CachePadded<CounterShard> {
        CachePadded::new(CounterShard {
            total: WideTotal::new(),
        })
    }

    #[inline(always)]
    pub(crate) fn add(&self, n: u64, shared: bool) {
        self.total.add(n, shared);
    }
}

/// One thread's share of a gauge: its last `set` (seqlock-protected triple) and its cumulative
/// `add`s. The aggregator combines shards: see `aggregator::GaugeAgg`.
pub(crate) struct GaugeShard {
    /// Even when stable; odd while a `set` is being written.
    seq: AtomicU64,
    /// f64 bits of the last set value.
    set_value: AtomicU64,
    /// Clock ticks of the last set, 0 = never set.
    set_stamp: AtomicU64,
    /// f64 bits of `adds` at the time of the last set.
    set_mark: AtomicU64,
    /// f64 bits of the sum of all adds/subs by this shard's writers (always finite).
    adds: AtomicU64,
    /// NaN/infinite inputs, and adds that would have made `adds` infinite.
    pub(crate) rejected: AtomicU64,
    /// Sets in the shared overflow slot that met another thread's concurrent set and were
    /// ordered just before it (the other value wins: last writer wins). Valid values, not errors.
    pub(crate) set_races: AtomicU64,
}

/// A consistent read of a gauge shard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GaugeRead {
    pub(crate) set: Option<(f64, u64, f64)>,
    pub(crate) adds: f64,
}

impl GaugeShard {
    pub(crate) fn new() -> CachePadded<GaugeShard> {
        CachePadded::new(GaugeShard {
            seq: AtomicU64::new(0),
            set_value: AtomicU64::new(0),
            set_stamp: AtomicU64::new(0),
            set_mark: AtomicU64::new(0),
            adds: AtomicU64::new(0f64.to_bits()),
            rejected: AtomicU64::new(0),
            set_races: AtomicU64::new(0),
        })
    }

    #[inline]
    pub(crate) fn set(&self, v: f64, stamp: u64, shared: bool) {
        if !v.is_finite() {
            bump(&self.rejected, 1, shared);
            return;
        }
        // Relaxed: single writer of `seq` in an exclusive slot.
        let s = self.seq.load(Ordering::Relaxed);
        if shared {
            // Shared slot: take the odd state by CAS. If a concurrent setter holds it, this set
            // is ordered just before that one, which overwrites it (last writer wins): nothing
            // to store. Counted as a race, not as a rejected value.
            if s & 1 == 1
                || self
                    .seq
                    // Relaxed: the fence below orders the data stores after the odd state.
                    .compare_exchange(s, s + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                bump(&self.set_races, 1, true);
                return;
            }
        } else {
            // Relaxed: ordered before the data stores by the fence below.
            self.seq.store(s + 1, Ordering::Relaxed);
        }
        // Release fence: a reader that sees any of the stores below also sees `seq` odd.
        fence(Ordering::Release);
        // Relaxed: published by the final Release store of `seq`.
        self.set_value.store(v.to_bits(), Ordering::Relaxed);
        self.set_stamp.store(stamp.max(1), Ordering::Relaxed);
        let adds = self.adds.load(Ordering::Relaxed);
        self.set_mark.store(adds, Ordering::Relaxed);
        // Release: the data above is visible to a reader that observes the even `seq`.
        self.seq.store(s + 2, Ordering::Release);
    }

    #[inline]
    pub(crate) fn add(&self, d: f64, shared: bool) {
        if !d.is_finite() {
            bump(&self.rejected, 1, shared);
            return;
        }
        // An add that would make the accumulator infinite is rejected and counted: an infinite
        // accumulator could only ever turn into NaN (inf − inf) and stick there.
        if shared {
            // Relaxed CAS loop: overflow slot only; lock-free, never blocks.
            let updated = self
                .adds
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    let next = f64::from_bits(b) + d;
                    next.is_finite().then_some(next.to_bits())
                });
            if updated.is_err() {
                bump(&self.rejected, 1, true);
            }
        } else {
            // Relaxed: single writer.
            let next = f64::from_bits(self.adds.load(Ordering::Relaxed)) + d;
            if next.is_finite() {
                self.adds.store(next.to_bits(), Ordering::Relaxed);
            } else {
                bump(&self.rejected, 1, false);
            }
        }
    }

    /// A consistent read, or `None` if a writer kept the seqlock busy for every try.
    pub(crate) fn read(&self) -> Option<GaugeRead> {
        for _ in 0..64 {
            // Acquire: pairs with the writer's final Release store of `seq`.
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                crate::sync::spin_loop();
                continue;
            }
            // Relaxed: validated by the seq re-check.
            let value = f64::from_bits(self.set_value.load(Ordering::Relaxed));
            let stamp = self.set_stamp.load(Ordering::Relaxed);
            let mark = f64::from_bits(self.set_mark.load(Ordering::Relaxed));
            let adds = f64::from_bits(self.adds.load(Ordering::Relaxed));
            // Acquire fence: if a data load saw a newer set's store, the re-read sees its seq.
            fence(Ordering::Acquire);
            let s2 = self.seq.load(Ordering::Relaxed);
            if s1 == s2 {
                return Some(GaugeRead {
                    set: (stamp != 0).then_some((value, stamp, mark)),
                    adds,
                });
            }
            crate::sync::spin_loop();
        }
        None
    }
}

/// One thread's share of a histogram.
pub(crate) struct HistShard {
    /// Dense bucket counts laid out by the histogram's `Layout` (slot 0 = zero bucket).
    pub(crate) buckets: Box<[AtomicU64]>,
    /// Exact sum of recorded values.
    pub(crate) sum: WideTotal,
    /// Smallest recorded value, `u64::MAX` if none.
    pub(crate) min: AtomicU64,
    /// Largest recorded value, 0 if none.
    pub(crate) max: AtomicU64,
    /// Values outside the layout's range, counted in an edge bucket.
    pub(crate) saturated: AtomicU64,
    /// NaN, infinite or negative `f64` inputs, not recorded.
    pub(crate) rejected: AtomicU64,
    /// Samples not pushed to the ring because the slot is shared (multi-producer).
    pub(crate) ring_dropped: AtomicU64,
    /// Recent raw samples, if configured (exclusive slots only).
    pub(crate) ring: Option<Ring>,
    /// Whether the histogram keeps recent samples (the shared slot counts them as dropped).
    wants_ring: bool,
}

impl HistShard {
    pub(crate) fn new(layout: &Layout, ring_capacity: usize, shared: bool) -> CachePadded<Self> {
        CachePadded::new(HistShard {
            buckets: (0..layout.dense_len()).map(|_| AtomicU64::new(0)).collect(),
            sum: WideTotal::new(),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            saturated: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            ring_dropped: AtomicU64::new(0),
            ring: (ring_capacity > 0 && !shared).then(|| Ring::new(ring_capacity)),
            wants_ring: ring_capacity > 0,
        })
    }

    #[inline(always)]
    pub(crate) fn record(&self, layout: &Layout, v: u64, shared: bool) {
        if shared {
            return self.record_shared(layout, v);
        }
        let (slot, saturated) = layout.slot(v);
        if saturated {
            bump(&self.saturated, 1, false);
        }
        self.sum.add(v, false);
        // Relaxed: single writer; ordered before the bucket's Release store.
        if v < self.min.load(Ordering::Relaxed) {
            self.min.store(v, Ordering::Relaxed);
        }
        if v > self.max.load(Ordering::Relaxed) {
            self.max.store(v, Ordering::Relaxed);
        }
        let b = &self.buckets[slot];
        // Release: see the module docs (a plain `mov` on x86_64).
        b.store(b.load(Ordering::Relaxed) + 1, Ordering::Release);
        if let Some(ring) = &self.ring {
            ring.producer().push(v);
        }
    }

    /// The overflow slot's path: atomic read-modify-writes, kept out of line so that the
    /// exclusive path above stays small enough to inline into every caller.
    #[cold]
    #[inline(never)]
    fn record_shared(&self, layout: &Layout, v: u64) {
        let (slot, saturated) = layout.slot(v);
        if saturated {
            bump(&self.saturated, 1, true);
        }
        self.sum.add(v, true);
        // Relaxed: statistics; published to the aggregator by the bucket's AcqRel below.
        self.min.fetch_min(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
        // Release (in AcqRel): orders sum/min/max before the bucket (module docs).
        self.buckets[slot].fetch_add(1, Ordering::AcqRel);
        // The ring is single-producer: the shared slot has none.
        if self.wants_ring {
            bump(&self.ring_dropped, 1, true);
        }
    }
}

/// One thread's share of an event log: a total and a ring of recent events.
pub(crate) struct EventShard {
    pub(crate) total: AtomicU64,
    /// Events not pushed to the ring because the slot is shared (multi-producer).
    pub(crate) ring_dropped: AtomicU64,
    pub(crate) ring: Option<Ring>,
}

impl EventShard {
    pub(crate) fn new(ring_capacity: usize, shared: bool) -> CachePadded<Self> {
        CachePadded::new(EventShard {
            total: AtomicU64::new(0),
            ring_dropped: AtomicU64::new(0),
            ring: (!shared).then(|| Ring::new(ring_capacity)),
        })
    }

    #[inline]
    pub(crate) fn record(&self, packed: u64, shared: bool) {
        bump(&self.total, 1, shared);
        match &self.ring {
            Some(ring) => ring.producer().push(packed),
            None => bump(&self.ring_dropped, 1, true),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn gauge_set_and_adds_read_back() {
        let g = GaugeShard::new();
        assert_eq!(
            g.read(),
            Some(GaugeRead {
                set: None,
                adds: 0.0
            })
        );
        g.add(2.0, false);
        g.set(10.0, 7, false);
        g.add(-0.5, false);
        g.set(f64::NAN, 8, false);
        g.add(f64::INFINITY, true);
        let r = g.read().unwrap();
        assert_eq!(r.set, Some((10.0, 7, 2.0)));
        assert_eq!(r.adds, 1.5);
        assert_eq!(g.rejected.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn shards_are_padded_to_cache_lines() {
        let a = CounterShard::new();
        assert!(std::mem::align_of_val(&a) >= 64);
        assert!(std::mem::size_of_val(&a) >= 64);
        let boxed: Vec<Box<CachePadded<CounterShard>>> =
            (0..4).map(|_| Box::new(CounterShard::new())).collect();
        for w in boxed.windows(2) {
            let (x, y) = (&*w[0] as *const _ as usize, &*w[1] as *const _ as usize);
            assert!(x.abs_diff(y) >= std::mem::align_of::<CachePadded<u64>>());
            assert_eq!(x % std::mem::align_of::<CachePadded<u64>>(), 0);
        }
    }
}
