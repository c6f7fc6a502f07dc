//! One thread's share of a histogram.
#![deny(unsafe_code)]

use crate::ring::Ring;
use crate::shard::{bump, WideTotal};
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use tachymeter_histogram::Layout;

/// What the aggregator reads from one histogram shard besides its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistRead {
    /// Exact sum of the values recorded so far.
    pub(crate) sum: u128,
    /// Smallest value recorded, `u64::MAX` if none.
    pub(crate) min: u64,
    /// Largest value recorded, 0 if none.
    pub(crate) max: u64,
    /// Values outside the layout's range (counted in an edge bucket).
    pub(crate) saturated: u64,
    /// Rejected `f64` inputs.
    pub(crate) rejected: u64,
    /// Samples not kept because the slot is shared.
    pub(crate) ring_dropped: u64,
    /// Positive `f64` inputs below half a step (recorded as 0).
    pub(crate) below_resolution: u64,
}

/// One thread's share of a histogram.
pub(crate) struct HistShard {
    /// Dense bucket counts laid out by the histogram's `Layout` (position 0 = zero bucket).
    buckets: Box<[AtomicU64]>,
    /// Exact sum of recorded values.
    sum: WideTotal,
    /// Smallest recorded value, `u64::MAX` if none.
    min: AtomicU64,
    /// Largest recorded value, 0 if none.
    max: AtomicU64,
    /// Values outside the layout's range, counted in an edge bucket.
    saturated: AtomicU64,
    /// NaN, infinite or negative `f64` inputs, not recorded.
    rejected: AtomicU64,
    /// Samples not pushed to the ring because the slot is shared (multi-producer).
    ring_dropped: AtomicU64,
    /// Positive `f64` inputs below half a step of the resolution (recorded as 0).
    below_resolution: AtomicU64,
    /// Recent raw samples, if configured (exclusive slots only).
    ring: Option<Ring>,
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
            below_resolution: AtomicU64::new(0),
            ring: (ring_capacity > 0 && !shared).then(|| Ring::new(ring_capacity)),
            wants_ring: ring_capacity > 0,
        })
    }

    #[inline(always)]
    pub(crate) fn record(&self, layout: &Layout, v: u64, shared: bool) {
        if shared {
            return self.record_shared(layout, v);
        }
        let (pos, saturated) = layout.position(v);
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
        let b = &self.buckets[pos];
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
        let (pos, saturated) = layout.position(v);
        if saturated {
            bump(&self.saturated, 1, true);
        }
        self.sum.add(v, true);
        // Relaxed: statistics; published to the aggregator by the bucket's AcqRel below.
        self.min.fetch_min(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
        // Release (in AcqRel): orders sum/min/max before the bucket (module docs).
        self.buckets[pos].fetch_add(1, Ordering::AcqRel);
        // The ring is single-producer: the shared slot has none.
        if self.wants_ring {
            bump(&self.ring_dropped, 1, true);
        }
    }

    /// Counts a positive `f64` input below half a step of the resolution.
    #[cold]
    pub(crate) fn below_resolution(&self, shared: bool) {
        bump(&self.below_resolution, 1, shared);
    }

    /// Counts a rejected `f64` input.
    #[inline]
    pub(crate) fn reject(&self, shared: bool) {
        bump(&self.rejected, 1, shared);
    }

    /// Reader half: adds this shard's bucket counts to `dense`, then reads the rest.
    ///
    /// Buckets are loaded with `Acquire`, pairing with the writer's `Release` bucket store, and
    /// everything else after them: every value counted in `dense` is reflected in `min`, `max`
    /// and `sum` (the sum may also hold a few values whose bucket was not yet visible; the next
    /// read has them).
    pub(crate) fn read_into(&self, dense: &mut [u64]) -> HistRead {
        for (d, b) in dense.iter_mut().zip(self.buckets.iter()) {
            // Acquire: pairs with the writer's Release bucket store (see above).
            *d += b.load(Ordering::Acquire);
        }
        HistRead {
            sum: self.sum.read(),
            // Relaxed: read after the Acquire bucket loads above.
            min: self.min.load(Ordering::Relaxed),
            max: self.max.load(Ordering::Relaxed),
            saturated: self.saturated.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            ring_dropped: self.ring_dropped.load(Ordering::Relaxed),
            below_resolution: self.below_resolution.load(Ordering::Relaxed),
        }
    }

    /// Reader half: the recent-sample ring, if this shard keeps one.
    pub(crate) fn ring(&self) -> Option<&Ring> {
        self.ring.as_ref()
    }
}
