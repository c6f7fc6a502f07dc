//! Record logs: totals and the recent records of every thread's ring, merged in time order.
#![deny(unsafe_code)]

use super::shard::RECORD_WORDS;
use super::{Record, RecordsCore, RecordsSnapshot};
use crate::aggregator::{recent_cap, take_value, Collect, Pass, Since};
use crate::desc::MetricDesc;
use crate::kind::MetricValue;
use crate::snapshot::Stats;
use crate::sync::Arc;
use std::collections::VecDeque;
use std::time::Duration;

/// The collector of a registered record log.
pub(crate) fn collector(core: Arc<RecordsCore>, slots: usize) -> Box<dyn Collect> {
    Box::new(RecordsCollector::new(core, slots))
}

struct RecordsCollector {
    core: Arc<RecordsCore>,
    /// The shards' summed total at the last reset.
    base: u64,
    prev_total: u64,
    since: Since,
    /// Ring read position per thread slot.
    positions: Vec<u64>,
    /// The most recent records, in stamp order: `(stamp, fields)`.
    recent: VecDeque<(u64, [u64; 3])>,
    overwritten: u64,
    scratch: Vec<[u64; RECORD_WORDS]>,
    /// This collection's new records, sorted before they are merged into `recent`.
    fresh: Vec<(u64, [u64; 3])>,
}

impl RecordsCollector {
    fn new(core: Arc<RecordsCore>, slots: usize) -> Self {
        let cap = recent_cap(core.params.capacity);
        RecordsCollector {
            core,
            base: 0,
            prev_total: 0,
            since: Since::default(),
            positions: vec![0; slots],
            // A fixed capacity allocated once here, so collections never grow it.
            recent: VecDeque::with_capacity(cap),
            overwritten: 0,
            scratch: Vec::new(),
            fresh: Vec::new(),
        }
    }

    /// Sums the shards' totals and merges every ring's new records into `recent` by stamp.
    ///
    /// Each thread's records are in stamp order already; records of different threads are
    /// sorted here, then inserted from the back of `recent` (a record stamped before the last
    /// collection but pushed after it still lands in its place). `recent` keeps the newest
    /// `capacity` records of all threads.
    fn read(&mut self, stats: &mut Stats) -> u64 {
        let cap = recent_cap(self.core.params.capacity);
        let mut total = 0u64;
        self.fresh.clear();
        for (slot, shard) in self.core.shards.iter() {
            total = total.wrapping_add(shard.total());
            stats.ring_dropped += shard.ring_dropped();
            if let Some(ring) = shard.ring() {
                self.scratch.clear();
                let lost = ring
                    .consumer()
                    .read_entries_since(&mut self.positions[slot], &mut self.scratch);
                self.overwritten += lost;
                stats.ring_overwritten += lost;
                self.fresh
                    .extend(self.scratch.iter().map(|e| (e[0], [e[1], e[2], e[3]])));
            }
        }
        // Stable: records of one thread with equal stamps keep their order.
        self.fresh.sort_by_key(|r| r.0);
        for &r in &self.fresh {
            let mut at = self.recent.len();
            while at > 0 && self.recent[at - 1].0 > r.0 {
                at -= 1;
            }
            if self.recent.len() == cap {
                if at == 0 {
                    continue; // older than everything kept
                }
                self.recent.pop_front();
                at -= 1;
            }
            self.recent.insert(at, r);
        }
        total
    }
}

impl Collect for RecordsCollector {
    fn desc(&self) -> &Arc<MetricDesc> {
        &self.core.desc
    }

    fn removed(&self) -> bool {
        self.core.is_removed()
    }

    fn collect(&mut self, pass: &Pass<'_>, stats: &mut Stats, value: &mut MetricValue) {
        let cap = recent_cap(self.core.params.capacity);
        let total = self.read(stats);
        let delta = total.wrapping_sub(self.prev_total);
        self.prev_total = total;
        self.core
            .history
            .add_count(pass.history, pass.uptime, delta);
        let mut out = match take_value(value) {
            MetricValue::Records(out) => out,
            _ => RecordsSnapshot {
                recent: Vec::with_capacity(cap),
                ..RecordsSnapshot::default()
            },
        };
        out.total = total.wrapping_sub(self.base);
        out.delta = delta;
        out.recent.clear();
        out.recent
            .extend(self.recent.iter().map(|&(stamp, fields)| Record {
                at: Duration::from_nanos(pass.clock.delta_nanos(pass.start, stamp)),
                fields,
            }));
        out.overwritten = self.overwritten;
        *value = MetricValue::Records(out);
    }

    fn reset(&mut self, now: u64, stats: &mut Stats) {
        let total = self.read(stats);
        self.base = total;
        self.prev_total = total;
        self.recent.clear();
        self.overwritten = 0;
        self.core.history.clear();
        self.since.reset(now);
    }

    fn reset_at(&self) -> Option<std::time::SystemTime> {
        self.since.at
    }
}
