//! Gauges: the latest `set` across threads plus every `add` after it.
#![deny(unsafe_code)]

use super::shard::GaugeRead;
use super::{GaugeCore, GaugeSnapshot};
use crate::aggregator::{Collect, Pass, Since};
use crate::desc::MetricDesc;
use crate::kind::MetricValue;
use crate::snapshot::Stats;
use crate::sync::Arc;

/// The collector of a registered gauge.
pub(crate) fn collector(core: Arc<GaugeCore>, slots: usize) -> Box<dyn Collect> {
    Box::new(GaugeCollector::new(core, slots))
}

struct GaugeCollector {
    core: Arc<GaugeCore>,
    /// Stamp of the set the value is based on.
    applied_stamp: u64,
    value: f64,
    /// Contributions dropped because they would have made the value non-finite.
    overflows: u64,
    /// `adds` of each thread slot at the previous collection.
    prev_adds: Vec<f64>,
    /// This collection's consistent shard reads (kept to reuse the allocation).
    reads: Vec<(usize, GaugeRead)>,
    since: Since,
}

impl GaugeCollector {
    fn new(core: Arc<GaugeCore>, slots: usize) -> Self {
        GaugeCollector {
            core,
            applied_stamp: 0,
            value: 0.0,
            overflows: 0,
            prev_adds: vec![0.0; slots],
            reads: Vec::new(),
            since: Since::default(),
        }
    }
}

impl Collect for GaugeCollector {
    fn desc(&self) -> &Arc<MetricDesc> {
        &self.core.desc
    }

    fn removed(&self) -> bool {
        self.core.is_removed()
    }

    fn collect(&mut self, pass: &Pass<'_>, stats: &mut Stats, value: &mut MetricValue) {
        let mut newest: Option<(usize, f64, u64, f64)> = None;
        self.reads.clear();
        for (slot, shard) in self.core.shards.iter() {
            let counts = shard.counts();
            stats.rejected += counts.rejected;
            stats.gauge_set_races += counts.set_races;
            // A shard whose writer kept the seqlock busy for every try is read next time.
            let Some(r) = shard.read() else { continue };
            if let Some((v, stamp, mark)) = r.set {
                if stamp > self.applied_stamp && newest.is_none_or(|n| stamp > n.2) {
                    newest = Some((slot, v, stamp, mark));
                }
            }
            self.reads.push((slot, r));
        }
        let mut v = match newest {
            Some((_, set, stamp, _)) => {
                self.applied_stamp = stamp;
                set
            }
            None => self.value,
        };
        for &(slot, r) in self.reads.iter() {
            let since = match newest {
                // The setter's own adds count only after its set.
                Some((s, _, _, mark)) if s == slot => mark,
                _ => self.prev_adds[slot],
            };
            // Each shard's accumulator is finite, but their combination can overflow: such a
            // contribution is dropped and counted, so the value stays finite and the next `set`
            // defines it again.
            let next = v + (r.adds - since);
            if next.is_finite() {
                v = next;
            } else {
                self.overflows += 1;
            }
            self.prev_adds[slot] = r.adds;
        }
        stats.gauge_overflows += self.overflows;
        self.value = v;
        self.core.history.add_gauge(pass.history, pass.uptime, v);
        *value = MetricValue::Gauge(GaugeSnapshot { value: v });
    }

    /// The value becomes 0: every `set` and `add` made so far is taken as applied.
    fn reset(&mut self, now: u64, _stats: &mut Stats) {
        for (slot, shard) in self.core.shards.iter() {
            // A shard busy for every try: its later adds are counted from the older mark.
            let Some(r) = shard.read() else { continue };
            if let Some((_, stamp, _)) = r.set {
                self.applied_stamp = self.applied_stamp.max(stamp);
            }
            self.prev_adds[slot] = r.adds;
        }
        self.value = 0.0;
        self.core.history.clear();
        self.since.reset(now);
    }

    fn reset_at(&self) -> Option<std::time::SystemTime> {
        self.since.at
    }
}
