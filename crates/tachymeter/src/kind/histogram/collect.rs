//! Histograms: merged buckets, exact count/sum/min/max, interval and rolling-window data, and
//! the merged recent samples of every thread's ring.
#![deny(unsafe_code)]

use super::{HistogramCore, HistogramSnapshot};
use crate::aggregator::{peak, per_sec, push_window, recent_cap, take_value, Collect, Pass, Since};
use crate::desc::MetricDesc;
use crate::kind::MetricValue;
use crate::snapshot::Stats;
use crate::sync::Arc;
use std::collections::VecDeque;
use tachymeter_histogram::HistogramData;

/// The collector of a registered histogram.
pub(crate) fn collector(core: Arc<HistogramCore>, slots: usize) -> Box<dyn Collect> {
    Box::new(HistogramCollector::new(core, slots))
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
    /// The merged dense bucket counts of this collection.
    dense: Vec<u64>,
    scratch: Vec<u64>,
    merge_scratch: Vec<(i32, u64)>,
}

impl HistogramCollector {
    fn new(core: Arc<HistogramCore>, slots: usize) -> Self {
        let schema = core.params.layout.schema();
        HistogramCollector {
            cumulative: HistogramData::empty(schema),
            base: None,
            raw: HistogramData::empty(schema),
            since: Since::default(),
            window: VecDeque::new(),
            window_sum: HistogramData::empty(schema),
            sub_scratch: HistogramData::empty(schema),
            positions: vec![0; slots],
            // Fixed capacities allocated once here, so collections never grow them.
            recent: VecDeque::with_capacity(recent_cap(core.params.recent)),
            dense: vec![0; core.params.layout.dense_len()],
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
        let (rejected, saturated, below) = self.read(stats);
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
        out.interval.assign_delta(&self.raw, &self.cumulative);
        self.core
            .history
            .add_hist(pass.history, pass.uptime, &out.interval);
        self.cumulative.clone_from(&self.raw);
        match &self.base {
            // Since the reset: min/max are bucket bounds, like an interval's.
            Some(base) => out.cumulative.assign_delta(&self.raw, base),
            None => out.cumulative.clone_from(&self.raw),
        }
        // Reuse the oldest interval's buffers for the newest, after taking it out of the sum.
        let mut newest = match self.window.len() >= pass.window {
            true => {
                let oldest = self.window.pop_front().unwrap_or_default();
                self.sub_scratch.assign_delta(&self.window_sum, &oldest);
                std::mem::swap(&mut self.window_sum, &mut self.sub_scratch);
                oldest
            }
            false => HistogramData::default(),
        };
        self.window_sum
            .merge_using(&out.interval, &mut self.merge_scratch);
        newest.clone_from(&out.interval);
        self.window.push_back(newest);
        out.window.clone_from(&self.window_sum);
        out.window
            .set_bucket_extremes(self.cumulative.min(), self.cumulative.max());
        out.throughput = per_sec(out.window.count(), pass.window_duration);
        out.peak_throughput = peak(self.window.iter().rev().map(|h| h.count()), pass.durations);
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
        self.recent.clear();
        self.core.history.clear();
        self.since.reset(now);
    }

    fn reset_at(&self) -> Option<std::time::SystemTime> {
        self.since.at
    }
}

impl HistogramCollector {
    /// Merges every shard into `raw` (all-time: exact count, sum, min and max) and moves every
    /// ring's new samples into `recent`; returns the rejected, saturated and below-resolution
    /// counts.
    fn read(&mut self, stats: &mut Stats) -> (u64, u64, u64) {
        let cap = recent_cap(self.core.params.recent);
        self.dense.iter_mut().for_each(|d| *d = 0);
        let (mut min, mut max, mut sum) = (u64::MAX, 0u64, 0u128);
        let (mut rejected, mut saturated, mut below) = (0u64, 0u64, 0u64);
        for (slot, shard) in self.core.shards.iter() {
            let r = shard.read_into(&mut self.dense);
            below += r.below_resolution;
            sum = sum.saturating_add(r.sum);
            min = min.min(r.min);
            max = max.max(r.max);
            rejected += r.rejected;
            saturated += r.saturated;
            stats.ring_dropped += r.ring_dropped;
            if let Some(ring) = shard.ring() {
                self.scratch.clear();
                stats.ring_overwritten += ring
                    .consumer()
                    .read_since(&mut self.positions[slot], &mut self.scratch);
                for &v in &self.scratch {
                    push_window(&mut self.recent, v, cap);
                }
            }
        }
        let has = |x: u64, empty: u64| (x != empty).then_some(x);
        self.raw.assign_dense(
            &self.core.params.layout,
            &self.dense,
            sum,
            has(min, u64::MAX),
            // max is 0 both for "none" and for a recorded 0: min tells them apart.
            has(min, u64::MAX).map(|_| max),
        );
        (rejected, saturated, below)
    }
}
