//! Counters: the sum of the shards' exact totals, deltas and rates.
#![deny(unsafe_code)]

use super::{peak, per_sec, push_window, Collect, Pass};
use crate::desc::MetricDesc;
use crate::metric::CounterCore;
use crate::snapshot::{CounterSnapshot, MetricValue, Stats};
use crate::sync::Arc;
use std::collections::VecDeque;

pub(super) struct CounterCollector {
    core: Arc<CounterCore>,
    /// The total published last time.
    prev: u128,
    /// The window's per-interval deltas, oldest first.
    deltas: VecDeque<u128>,
}

impl CounterCollector {
    pub(super) fn new(core: Arc<CounterCore>) -> Self {
        CounterCollector {
            core,
            prev: 0,
            deltas: VecDeque::new(),
        }
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
        // Each shard total is monotonic and exact: any value read is a real past total, so the
        // sum never goes backwards and no record is lost between two reads (nothing is reset).
        let total = self
            .core
            .shards
            .iter()
            .fold(0u128, |acc, (_, s)| acc.saturating_add(s.total()));
        let delta = total.saturating_sub(self.prev);
        self.prev = total;
        push_window(&mut self.deltas, delta, pass.window);
        *value = MetricValue::Counter(CounterSnapshot {
            total,
            delta,
            rate: per_sec(delta, pass.interval),
            window_rate: per_sec(self.deltas.iter().sum::<u128>(), pass.window_duration),
            peak_rate: peak(self.deltas.iter().rev().copied(), pass.durations),
        });
    }
}
