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

/// One thread's share of a counter.
pub(crate) struct CounterShard {
    pub(crate) total: AtomicU64,
}

impl CounterShard {
    pub(crate) fn new() -> CachePadded<CounterShard> {
        CachePadded::new(CounterShard {
            total: AtomicU64::new(0),
        })
    }

    #[inline(always)]
    pub(crate) fn add(&self, n: u64, shared: bool) {
        bump(&self.total, n, shared);
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
    /// f64 bits of the sum of all adds/subs by this shard's writers.
    adds: AtomicU64,
    /// NaN/infinite inputs.
    pub(crate) rejected: AtomicU64,
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
            // Shared slot: take the odd state by CAS; a concurrent setter already holds it,
            // so this set loses the race (it is ordered before the other) — drop, count.
            if s & 1 == 1
                || self
                    .seq
                    // Relaxed: the fence below orders the data stores after the odd state.
                    .compare_exchange(s, s + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                bump(&self.rejected, 1, true);
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
        if shared {
            // Relaxed CAS loop: overflow slot only; lock-free, never blocks.
            let _ = self
                .adds
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    Some((f64::from_bits(b) + d).to_bits())
                });
        } else {
            // Relaxed: single writer.
            let b = self.adds.load(Ordering::Relaxed);
            self.adds
                .store((f64::from_bits(b) + d).to_bits(), Ordering::Relaxed);
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
    /// Wrapping sum of recorded values (deltas are taken with wrapping arithmetic).
    pub(crate) sum: AtomicU64,
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
            sum: AtomicU64::new(0),
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
        bump(&self.sum, v, false);
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
        bump(&self.sum, v, true);
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
