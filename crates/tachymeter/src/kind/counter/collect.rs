//! Counters: the sum of the shards' exact totals, deltas and rates.
#![deny(unsafe_code)]

use super::{CounterCore, CounterSnapshot};
use crate::aggregator::{peak, per_sec, push_window, Collect, Pass, Since};
use crate::desc::MetricDesc;
use crate::kind::MetricValue;
use crate::snapshot::Stats;
use crate::sync::Arc;
use std::collections::VecDeque;

/// The collector of a registered counter.
pub(crate) fn collector(core: Arc<CounterCore>, _slots: usize) -> Box<dyn Collect> {
    Box::new(CounterCollector::new(core))
}

struct CounterCollector {
    core: Arc<CounterCore>,
    /// The shards' summed total at the last reset (0 if never reset).
    base: u128,
    /// The shards' summed total at the previous collection.
    prev: u128,
    since: Since,
    /// The window's per-interval deltas, oldest first.
    deltas: VecDeque<u128>,
}

impl CounterCollector {
    fn new(core: Arc<CounterCore>) -> Self {
        CounterCollector {
            core,
            base: 0,
            prev: 0,
            since: Since::default(),
            deltas: VecDeque::new(),
        }
    }
}

impl CounterCollector {
    /// The sum of the shards' totals. Each is monotonic and exact: any value read is a real
    /// past total, so the sum never goes backwards and no record is lost between two reads
    /// (nothing is reset; a reset moves `base`).
    fn read(&self) -> u128 {
        self.core
            .shards
            .iter()
            .fold(0u128, |acc, (_, s)| acc.saturating_add(s.total()))
    }
}

impl Collect for CounterCollector {
    fn desc(&self) -> &Arc<MetricDesc> {
        &self.core.desc
    }

    fn removed(&self) -> bool {
        self.core.is_removed()
    }

    fn collect(&mut self, pass: &Pass<'_>, _stats: &mut Stats, value: &mut MetricValue) {
        let raw = self.read();
        let delta = raw.saturating_sub(self.prev);
        self.prev = raw;
        let total = raw.saturating_sub(self.base);
        push_window(&mut self.deltas, delta, pass.window);
        let rate = per_sec(delta, pass.interval);
        let n = u64::try_from(delta).unwrap_or(u64::MAX);
        self.core.history.add_count(pass.history, pass.uptime, n);
        *value = MetricValue::Counter(CounterSnapshot {
            total,
            delta,
            rate,
            window_rate: per_sec(self.deltas.iter().sum::<u128>(), pass.window_duration),
            peak_rate: peak(self.deltas.iter().rev().copied(), pass.durations),
            avg_rate: per_sec(total, self.since.elapsed(pass)),
            max_rate: self.since.max(rate),
        });
    }

    fn reset(&mut self, now: u64, _stats: &mut Stats) {
        let raw = self.read();
        self.base = raw;
        self.prev = raw;
        self.deltas.clear();
        self.core.history.clear();
        self.since.reset(now);
    }

    fn reset_at(&self) -> Option<std::time::SystemTime> {
        self.since.at
    }
}
