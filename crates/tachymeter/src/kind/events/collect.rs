//! Event logs: totals and the merged recent events of every thread's ring.
#![deny(unsafe_code)]

use super::{Event, EventsCore, EventsSnapshot};
use crate::aggregator::{push_window, recent_cap, take_value, Collect, Pass, Since};
use crate::desc::MetricDesc;
use crate::kind::MetricValue;
use crate::snapshot::Stats;
use crate::sync::Arc;
use std::collections::VecDeque;

/// The collector of a registered event log.
pub(crate) fn collector(core: Arc<EventsCore>, slots: usize) -> Box<dyn Collect> {
    Box::new(EventsCollector::new(core, slots))
}

struct EventsCollector {
    core: Arc<EventsCore>,
    /// The shards' summed total at the last reset.
    base: u64,
    prev_total: u64,
    since: Since,
    /// Ring read position per thread slot.
    positions: Vec<u64>,
    recent: VecDeque<Event>,
    overwritten: u64,
    scratch: Vec<u64>,
}

impl EventsCollector {
    fn new(core: Arc<EventsCore>, slots: usize) -> Self {
        let cap = recent_cap(core.params.capacity);
        EventsCollector {
            core,
            base: 0,
            prev_total: 0,
            since: Since::default(),
            positions: vec![0; slots],
            // A fixed capacity allocated once here, so collections never grow it.
            recent: VecDeque::with_capacity(cap),
            overwritten: 0,
            scratch: Vec::new(),
        }
    }
}

impl Collect for EventsCollector {
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
        self.core
            .history
            .add_count(pass.history, pass.uptime, delta);
        self.prev_total = total;
        let mut out = match take_value(value) {
            MetricValue::Events(out) => out,
            _ => EventsSnapshot {
                recent: Vec::with_capacity(cap),
                ..EventsSnapshot::default()
            },
        };
        out.total = total.wrapping_sub(self.base);
        out.delta = delta;
        out.recent.clear();
        out.recent.extend(self.recent.iter().copied());
        out.overwritten = self.overwritten;
        *value = MetricValue::Events(out);
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

impl EventsCollector {
    /// Sums the shards' totals and moves every ring's new events into `recent`.
    fn read(&mut self, stats: &mut Stats) -> u64 {
        let cap = recent_cap(self.core.params.capacity);
        let mut total = 0u64;
        for (slot, shard) in self.core.shards.iter() {
            total = total.wrapping_add(shard.total());
            stats.ring_dropped += shard.ring_dropped();
            if let Some(ring) = shard.ring() {
                self.scratch.clear();
                let lost = ring
                    .consumer()
                    .read_since(&mut self.positions[slot], &mut self.scratch);
                self.overwritten += lost;
                stats.ring_overwritten += lost;
                for &p in self.scratch.iter() {
                    let ev = Event {
                        code: (p >> 32) as u32,
                        payload: p as u32,
                    };
                    push_window(&mut self.recent, ev, cap);
                }
            }
        }
        total
    }
}
