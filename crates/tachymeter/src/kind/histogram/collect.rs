//! Histograms: merged buckets, exact count/sum/min/max, interval and rolling-window data, and
//! the merged recent samples of every thread's ring.
//!
//! # Cost proportional to activity
//!
//! The collector keeps the merged bucket counts of all shards (`dense`) and, per shard, the
//! change marker and block totals it saw last (see `HistShard`'s change markers). A collection
//! loads each shard's marker: an unchanged shard costs that one load. A changed shard's block
//! totals tell which blocks (512 positions) changed; each changed block is re-summed over the
//! shards that hold data in it, and the statistics of the shards read are reloaded after their
//! buckets. No per-shard copy of the buckets is kept. When nothing changed, the merged data
//! and the window are reused as they are.
#![deny(unsafe_code)]

use super::shard::{blocks_for, HistRead, BLOCK, BLOCK_SHIFT};
use super::{HistogramCore, HistogramSnapshot};
use crate::aggregator::{peak, per_sec, push_window, recent_cap, take_value, Collect, Pass, Since};
use crate::desc::MetricDesc;
use crate::kind::MetricValue;
use crate::snapshot::Stats;
use crate::sync::{next_stamp, Arc};
use std::collections::VecDeque;
use tachymeter_histogram::HistogramData;

/// The collector of a registered histogram.
pub(crate) fn collector(core: Arc<HistogramCore>, _slots: usize) -> Box<dyn Collect> {
    Box::new(HistogramCollector::new(core))
}

struct HistogramCollector {
    core: Arc<HistogramCore>,
    /// The merged shards at the previous collection (all-time, exact min/max).
    cumulative: HistogramData,
    /// The merged shards at the last reset, if any, and a buffer to subtract it with.
    base: Option<HistogramData>,
    raw: HistogramData,
    since: Since,
    /// The last `window` intervals, oldest first, and their running sum (add the newest,
    /// subtract the one that leaves: O(buckets) per collection, not O(window × buckets)).
    window: VecDeque<HistogramData>,
    window_sum: HistogramData,
    sub_scratch: HistogramData,
    /// Ring read position per thread slot.
    positions: Vec<u64>,
    recent: VecDeque<u64>,
    /// The merged dense bucket counts of all shards (kept between collections; a block is
    /// re-summed when a shard's total for it changed).
    dense: Vec<u64>,
    /// Per thread slot (grown to the highest slot seen): what the last collection saw of
    /// that shard.
    seen: Vec<Seen>,
    /// The state of `raw`/`cumulative` (and of the reset base) and of `window_sum`, as
    /// process-wide unique stamps: a recycled snapshot value that carries them already holds
    /// the data (see `HistogramSnapshot::stamps`).
    stamp: u64,
    window_stamp: u64,
    /// Blocks of `dense` that hold counts (bit `b`: positions `b·512 ..`).
    nonempty: u64,
    scratch: Vec<u64>,
    merge_scratch: Vec<(i32, u64)>,
}

/// What the collector saw of one shard.
#[derive(Default)]
struct Seen {
    /// The shard's change marker.
    changes: u64,
    /// Its block totals (empty until the shard first changed).
    blocks: Vec<u64>,
    /// Its statistics (`None`: never read, i.e. empty).
    read: Option<HistRead>,
    /// Read during the current collection (its statistics must be reloaded).
    fresh: bool,
}

impl HistogramCollector {
    fn new(core: Arc<HistogramCore>) -> Self {
        let schema = core.params.layout.schema();
        HistogramCollector {
            cumulative: HistogramData::empty(schema),
            base: None,
            raw: HistogramData::empty(schema),
            since: Since::default(),
            window: VecDeque::new(),
            window_sum: HistogramData::empty(schema),
            sub_scratch: HistogramData::empty(schema),
            positions: Vec::new(),
            // Fixed capacities allocated once here, so collections never grow them.
            recent: VecDeque::with_capacity(recent_cap(core.params.recent)),
            dense: vec![0; core.params.layout.dense_len()],
            seen: Vec::new(),
            stamp: next_stamp(),
            window_stamp: next_stamp(),
            nonempty: 0,
            scratch: Vec::new(),
            merge_scratch: Vec::new(),
            core,
        }
    }
}

impl Collect for HistogramCollector {
    fn desc(&self) -> &Arc<MetricDesc> {
        &self.core.desc
    }

    fn removed(&self) -> bool {
        self.core.is_removed()
    }

    fn collect(&mut self, pass: &Pass<'_>, stats: &mut Stats, value: &mut MetricValue) {
        let cap = recent_cap(self.core.params.recent);
        let (changed, rejected, saturated, below) = self.read(stats);
        stats.rejected += rejected;
        stats.saturated += saturated;
        stats.below_resolution += below;
        let mut out = match take_value(value) {
            MetricValue::Histogram(out) => out,
            _ => HistogramSnapshot {
                recent: Vec::with_capacity(cap),
                ..HistogramSnapshot::default()
            },
        };
        if changed {
            out.interval.assign_delta(&self.raw, &self.cumulative);
            self.cumulative.clone_from(&self.raw);
            self.stamp = next_stamp();
        } else {
            // What `assign_delta` of two equal histograms gives, without walking them.
            out.interval.clear(self.raw.schema());
        }
        self.core
            .history
            .add_hist(pass.history, pass.uptime, &out.interval);
        if out.stamps.cumulative != self.stamp {
            match &self.base {
                // Since the reset: min/max are bucket bounds, like an interval's.
                Some(base) => out.cumulative.assign_delta(&self.raw, base),
                None => out.cumulative.clone_from(&self.raw),
            }
            out.stamps.cumulative = self.stamp;
        }
        // Reuse the oldest interval's buffers for the newest, after taking it out of the sum.
        // Empty intervals leave the sum as it is (merging or subtracting them changes nothing).
        let mut newest = match self.window.len() >= pass.window {
            true => {
                let oldest = self.window.pop_front().unwrap_or_default();
                if !oldest.is_empty() {
                    self.sub_scratch.assign_delta(&self.window_sum, &oldest);
                    std::mem::swap(&mut self.window_sum, &mut self.sub_scratch);
                    self.window_stamp = next_stamp();
                }
                oldest
            }
            false => HistogramData::default(),
        };
        if !out.interval.is_empty() || self.window_sum.schema() != out.interval.schema() {
            self.window_sum
                .merge_using(&out.interval, &mut self.merge_scratch);
            self.window_stamp = next_stamp();
        }
        newest.clone_from(&out.interval);
        self.window.push_back(newest);
        if out.stamps.window != (self.window_stamp, self.stamp) {
            out.window.clone_from(&self.window_sum);
            out.window
                .set_bucket_extremes(self.cumulative.min(), self.cumulative.max());
            out.stamps.window = (self.window_stamp, self.stamp);
        }
        out.throughput = per_sec(out.window.count(), pass.window_duration);
        // An empty window has no peak: skip walking its intervals.
        out.peak_throughput = match self.window_sum.is_empty() {
            true => 0.0,
            false => peak(self.window.iter().rev().map(|h| h.count()), pass.durations),
        };
        out.avg_throughput = per_sec(out.cumulative.count(), self.since.elapsed(pass));
        out.max_throughput = self.since.max(per_sec(out.interval.count(), pass.interval));
        out.window_duration = pass.window_duration;
        out.recent.clear();
        out.recent.extend(self.recent.iter().copied());
        out.rejected = rejected;
        out.saturated = saturated;
        out.below_resolution = below;
        out.steps_per_unit = self.core.params.scale;
        out.classic_buckets.clone_from(&self.core.params.classic);
        *value = MetricValue::Histogram(out);
    }

    fn reset(&mut self, now: u64, stats: &mut Stats) {
        self.read(stats);
        self.cumulative.clone_from(&self.raw);
        self.base = Some(self.raw.clone());
        let schema = self.core.params.layout.schema();
        self.window.clear();
        self.window_sum = HistogramData::empty(schema);
        self.stamp = next_stamp();
        self.window_stamp = next_stamp();
        self.recent.clear();
        self.core.history.clear();
        self.since.reset(now);
    }

    fn reset_at(&self) -> Option<std::time::SystemTime> {
        self.since.at
    }
}

impl HistogramCollector {
    /// Brings `dense` and the per-shard statistics up to date (reading only what changed, see
    /// the module docs), rebuilds `raw` (all-time: exact count, sum, min and max) if anything
    /// changed, and moves every changed ring's new samples into `recent`; returns whether
    /// anything changed and the rejected, saturated and below-resolution counts.
    fn read(&mut self, stats: &mut Stats) -> (bool, u64, u64, u64) {
        let cap = recent_cap(self.core.params.recent);
        let nblocks = blocks_for(self.dense.len());
        // Blocks to re-sum (a layout has at most 33 blocks: 16,386 positions at schema 8).
        let mut dirty = 0u64;
        let mut changed = false;
        for (slot, shard) in self.core.shards.iter() {
            if slot >= self.seen.len() {
                self.seen.resize_with(slot + 1, Seen::default);
            }
            let seen = &mut self.seen[slot];
            let c = shard.changes();
            if c == seen.changes {
                continue;
            }
            changed = true;
            seen.changes = c;
            seen.fresh = true;
            seen.blocks.resize(nblocks, 0);
            for (b, t) in seen.blocks.iter_mut().enumerate() {
                let now = shard.block_total(b);
                if now != *t {
                    *t = now;
                    dirty |= 1 << b;
                }
                self.nonempty |= u64::from(now != 0) << b;
            }
            if let Some(ring) = shard.ring() {
                if slot >= self.positions.len() {
                    self.positions.resize(slot + 1, 0);
                }
                self.scratch.clear();
                stats.ring_overwritten += ring
                    .consumer()
                    .read_since(&mut self.positions[slot], &mut self.scratch);
                for &v in &self.scratch {
                    push_window(&mut self.recent, v, cap);
                }
            }
        }
        let mut bits = dirty;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let start = b << BLOCK_SHIFT;
            let end = (start + BLOCK).min(self.dense.len());
            self.dense[start..end].iter_mut().for_each(|d| *d = 0);
            for (slot, shard) in self.core.shards.iter() {
                // A shard that appeared after the first walk has nothing published yet here.
                let Some(seen) = self.seen.get_mut(slot) else {
                    continue;
                };
                // A shard whose records in this block are not published yet joins when they are
                // (its block total then changes).
                if seen.blocks.get(b).is_some_and(|&t| t != 0) {
                    shard.add_block(b, &mut self.dense);
                    seen.fresh = true;
                }
            }
        }
        // Statistics after the buckets they go with (see `HistShard::add_block`).
        let (mut min, mut max, mut sum) = (u64::MAX, 0u64, 0u128);
        let (mut rejected, mut saturated, mut below, mut dropped) = (0u64, 0u64, 0u64, 0u64);
        for (slot, shard) in self.core.shards.iter() {
            let Some(seen) = self.seen.get_mut(slot) else {
                continue;
            };
            if std::mem::take(&mut seen.fresh) {
                seen.read = Some(shard.stats());
            }
            let r = seen.read.as_ref().unwrap_or(&HistRead::EMPTY);
            below += r.below_resolution;
            sum = sum.saturating_add(r.sum);
            min = min.min(r.min);
            max = max.max(r.max);
            rejected += r.rejected;
            saturated += r.saturated;
            dropped += r.ring_dropped;
        }
        stats.ring_dropped += dropped;
        if changed {
            let has = |x: u64, empty: u64| (x != empty).then_some(x);
            let nonempty = self.nonempty;
            let blocks = (0..nblocks)
                .filter(|b| nonempty >> b & 1 != 0)
                .map(|b| b << BLOCK_SHIFT..(b + 1) << BLOCK_SHIFT);
            // Only blocks some shard has counted in can hold counts.
            self.raw.assign_dense_ranges(
                &self.core.params.layout,
                &self.dense,
                blocks,
                sum,
                has(min, u64::MAX),
                // max is 0 both for "none" and for a recorded 0: min tells them apart.
                has(min, u64::MAX).map(|_| max),
            );
        }
        (changed, rejected, saturated, below)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Model-based check of the activity-proportional collection against an exact oracle: any
    //! interleaving of records into several thread slots (several `LocalRecorder`s on one
    //! thread, each with its own slot), flushes, idle flushes, slot release and reuse gives,
    //! after every flush, a cumulative histogram equal to `HistogramData::from_values` of every
    //! value recorded so far (buckets, count, exact sum, min and max) and an interval whose
    //! buckets, count and sum are those of the values recorded since the previous flush.
    use crate::{Engine, HistogramConfig};
    use proptest::prelude::*;
    use tachymeter_histogram::{HistogramData, Layout};

    #[derive(Debug, Clone)]
    enum Op {
        Record(usize, u64),
        Reject(usize),
        Flush,
        Release(usize),
    }

    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..4,
            1u64..2_000,
            1_000u64..20_000_000,
            any::<u64>(),
            // Block edges at schema 6: positions 511/512 and 1023/1024.
            Just(1 << 7),
            Just((1 << 8) - 1),
            Just(1 << 15),
            Just(1 << 16),
        ]
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                6 => (0usize..3, value()).prop_map(|(k, v)| Op::Record(k, v)),
                1 => (0usize..3).prop_map(Op::Reject),
                2 => Just(Op::Flush),
                1 => (0usize..3).prop_map(Op::Release),
            ],
            1..120,
        )
    }

    proptest! {
        #[test]
        fn collection_matches_exact_oracle(ops in ops()) {
            let engine = Engine::builder().background(false).max_threads(4).build().unwrap();
            let h = engine.histogram_with("h", HistogramConfig::default()).unwrap();
            let layout = Layout::default_layout();
            let mut recs: Vec<Option<crate::LocalRecorder>> = (0..3).map(|_| None).collect();
            let (mut all, mut since, mut rejected) = (Vec::new(), Vec::new(), 0u64);
            for op in ops.into_iter().chain([Op::Flush, Op::Flush]) {
                match op {
                    Op::Record(k, v) => {
                        let r = recs[k].get_or_insert_with(|| engine.local_recorder());
                        r.histogram(&h).record(v);
                        all.push(v);
                        since.push(v);
                    }
                    Op::Reject(k) => {
                        let r = recs[k].get_or_insert_with(|| engine.local_recorder());
                        r.histogram(&h).record_f64(f64::NAN);
                        rejected += 1;
                    }
                    Op::Release(k) => recs[k] = None,
                    Op::Flush => {
                        let s = engine.flush();
                        let hs = s.histogram("h").unwrap();
                        let want = HistogramData::from_values(&layout, &all);
                        let got = &hs.cumulative;
                        prop_assert_eq!(got.buckets().collect::<Vec<_>>(), want.buckets().collect::<Vec<_>>());
                        prop_assert_eq!((got.count(), got.zero_count(), got.sum()), (want.count(), want.zero_count(), want.sum()));
                        prop_assert_eq!((got.min(), got.max()), (want.min(), want.max()));
                        prop_assert_eq!(got.p99(), want.p99());
                        let iv = HistogramData::from_values(&layout, &since);
                        prop_assert_eq!(hs.interval.buckets().collect::<Vec<_>>(), iv.buckets().collect::<Vec<_>>());
                        prop_assert_eq!((hs.interval.count(), hs.interval.sum()), (iv.count(), iv.sum()));
                        prop_assert_eq!(hs.rejected, rejected);
                        since.clear();
                    }
                }
            }
        }
    }
}
