//! One thread's share of a histogram.
#![deny(unsafe_code)]

use crate::ring::Ring;
use crate::shard::{bump, WideTotal};
use crate::sync::{AtomicU64, Ordering};
use crate::zeroed::ZeroedCounters;
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

impl HistRead {
    /// What an empty shard reads.
    pub(crate) const EMPTY: HistRead = HistRead {
        sum: 0,
        min: u64::MAX,
        max: 0,
        saturated: 0,
        rejected: 0,
        ring_dropped: 0,
        below_resolution: 0,
    };
}

/// Dense positions per block: the unit in which the aggregator notices changes (one 4 KiB
/// page of `u64` buckets).
pub(crate) const BLOCK_SHIFT: u32 = 9;
/// `1 << BLOCK_SHIFT`.
pub(crate) const BLOCK: usize = 1 << BLOCK_SHIFT;

/// Blocks needed for `dense_len` positions.
pub(crate) fn blocks_for(dense_len: usize) -> usize {
    dense_len.div_ceil(BLOCK)
}

/// One thread's share of a histogram.
///
/// # Change markers
///
/// `changes` counts every change the owner made to the shard (records, rejected and
/// below-resolution inputs) and is stored last, with `Release`; `blocks[b]` counts the records
/// that landed in block `b` (positions `b·512 ..`), stored after the bucket with `Release`.
/// The aggregator loads `changes` with `Acquire`: if it equals what it saw last time the shard
/// is skipped (one load); otherwise it loads the block totals (`Acquire`), compares them with
/// its remembered ones and re-sums only the blocks that changed. Both pairs matter (loom:
/// `change_marker_skip_loses_nothing`): the marker makes the totals at least as new as the
/// change it counts, and a total makes the buckets of the records it counts visible, so a
/// remembered total never stands for a bucket the re-sum did not see. A record whose marker is
/// not yet visible is picked up by a later collection (its block total then differs), so
/// nothing is lost and every total only moves forward.
pub(crate) struct HistShard {
    /// Changes made so far (owner: `store(load + 1)`, `Release`, after everything else).
    changes: AtomicU64,
    /// Records per block of [`BLOCK`] positions (owner, `Relaxed`; published by `changes`).
    blocks: Box<[AtomicU64]>,
    /// Dense bucket counts laid out by the histogram's `Layout` (position 0 = zero bucket);
    /// committed by the OS page by page as they are first written (`zeroed`).
    buckets: ZeroedCounters,
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
    /// The overflow slot's shard: several writers, atomic read-modify-writes.
    shared: bool,
    /// Exclusive and without a ring: records take the inlined straight path.
    plain: bool,
}

impl HistShard {
    pub(crate) fn new(layout: &Layout, ring_capacity: usize, shared: bool) -> CachePadded<Self> {
        CachePadded::new(HistShard {
            changes: AtomicU64::new(0),
            blocks: (0..blocks_for(layout.dense_len()))
                .map(|_| AtomicU64::new(0))
                .collect(),
            buckets: ZeroedCounters::new(layout.dense_len()),
            sum: WideTotal::new(),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            saturated: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            ring_dropped: AtomicU64::new(0),
            below_resolution: AtomicU64::new(0),
            ring: (ring_capacity > 0 && !shared).then(|| Ring::new(ring_capacity)),
            wants_ring: ring_capacity > 0,
            shared,
            plain: !shared && ring_capacity == 0,
        })
    }

    /// Records `v`. The straight path (an exclusive slot without a ring, `v` on the layout's
    /// float-key path) is what every caller inlines; anything else goes out of line.
    #[inline(always)]
    pub(crate) fn record(&self, layout: &Layout, v: u64) {
        if !self.plain {
            return self.record_other(layout, v);
        }
        match layout.fast_position(v) {
            Some(pos) => {
                self.store_value(pos, v);
                self.changed(false);
            }
            None => self.record_slow_position(layout, v),
        }
    }

    /// The exclusive slot's stores for a value at dense position `pos`, but the change marker.
    #[inline(always)]
    fn store_value(&self, pos: usize, v: u64) {
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
        let t = &self.blocks[pos >> BLOCK_SHIFT];
        // Release: a reader that sees this total (Acquire) also sees the bucket above; without
        // it a total read ahead of its bucket would hide that bucket from every later collection.
        t.store(t.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Zero, a value outside the range (saturated) or beyond the float-key path, in an
    /// exclusive slot.
    #[cold]
    #[inline(never)]
    fn record_slow_position(&self, layout: &Layout, v: u64) {
        let (pos, saturated) = layout.position(v);
        if saturated {
            bump(&self.saturated, 1, false);
        }
        self.store_value(pos, v);
        self.changed(false);
    }

    /// The overflow slot (atomic read-modify-writes) and exclusive slots with a ring.
    #[cold]
    #[inline(never)]
    fn record_other(&self, layout: &Layout, v: u64) {
        if self.shared {
            return self.record_shared(layout, v);
        }
        let (pos, saturated) = layout.position(v);
        if saturated {
            bump(&self.saturated, 1, false);
        }
        self.store_value(pos, v);
        if let Some(ring) = &self.ring {
            ring.producer().push(v);
        }
        self.changed(false);
    }

    /// Marks a change, after every other store of the operation.
    #[inline(always)]
    fn changed(&self, shared: bool) {
        if shared {
            // Release: as below; several writers, so a locked add.
            self.changes.fetch_add(1, Ordering::Release);
        } else {
            // Release: a reader that loads this value (Acquire) sees every store above it.
            let c = self.changes.load(Ordering::Relaxed);
            self.changes.store(c.wrapping_add(1), Ordering::Release);
        }
    }

    /// The overflow slot's path: atomic read-modify-writes.
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
        // Release: as in `record`.
        self.blocks[pos >> BLOCK_SHIFT].fetch_add(1, Ordering::Release);
        // The ring is single-producer: the shared slot has none.
        if self.wants_ring {
            bump(&self.ring_dropped, 1, true);
        }
        self.changed(true);
    }

    /// Counts a positive `f64` input below half a step of the resolution.
    #[cold]
    pub(crate) fn below_resolution(&self) {
        bump(&self.below_resolution, 1, self.shared);
        // The record that follows marks the change too; this one keeps the order obvious.
        self.changed(self.shared);
    }

    /// Counts a rejected `f64` input.
    #[inline]
    pub(crate) fn reject(&self) {
        bump(&self.rejected, 1, self.shared);
        self.changed(self.shared);
    }

    /// Reader half: the change marker. Acquire: pairs with the owner's Release store in
    /// `changed`, so the block totals, buckets and statistics read after it are at least as new
    /// as that change.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Reader half: records that landed in block `b` so far (read after [`Self::changes`]).
    pub(crate) fn block_total(&self, b: usize) -> u64 {
        // Acquire: pairs with the owner's Release store of the total, so the buckets of every
        // record it counts are visible to the re-sum that follows.
        self.blocks[b].load(Ordering::Acquire)
    }

    /// Reader half: adds the bucket counts of block `block` to `dense` (the block's positions).
    ///
    /// Buckets are loaded with `Acquire`, pairing with the writer's `Release` bucket store, and
    /// [`Self::stats`] must be read after them: every value counted in `dense` is then reflected
    /// in `min`, `max` and `sum` (the sum may also hold a few values whose bucket was not yet
    /// visible; the next read has them).
    pub(crate) fn add_block(&self, block: usize, dense: &mut [u64]) {
        let start = block << BLOCK_SHIFT;
        let end = (start + BLOCK).min(self.buckets.len());
        for (d, b) in dense[start..end].iter_mut().zip(&self.buckets[start..end]) {
            // Acquire: pairs with the writer's Release bucket store (see above).
            *d += b.load(Ordering::Acquire);
        }
    }

    /// Reader half: the statistics besides the buckets (read after the buckets it goes with).
    pub(crate) fn stats(&self) -> HistRead {
        HistRead {
            sum: self.sum.read(),
            // Relaxed: read after the Acquire bucket loads (see `add_block`).
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
