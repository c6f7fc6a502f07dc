//! Counters: a monotonic `u64` total per thread, summed exactly by the aggregator.
//!
//! Everything the counter kind is lives in this directory: the shard's writer and reader
//! halves (`shard.rs`), the collector (`collect.rs`), and here the core, the [`Counter`]
//! handle and its [`LocalCounter`] view, the [`CounterSnapshot`] value, the engine's
//! registration methods and the family operations.
#![deny(unsafe_code)]

mod collect;
mod shard;

pub(crate) use collect::collector;
use shard::CounterShard;

use crate::desc::{MetricDesc, Opts, RegisterError};
use crate::engine::Shared;
use crate::family::{Family, FamilyRecord, KindOps};
use crate::kind::{Exposition, MetricKind, MetricValue};
use crate::local::{slot_for, LocalRecorder};
use crate::metric::{debug_handle, Core};
use crate::slots::SlotId;
use crate::snapshot::Snapshot;
use crate::sync::Arc;
use crate::Engine;
use std::marker::PhantomData;

/// A counter's core: one [`CounterShard`] per thread slot, no parameters.
pub(crate) type CounterCore = Core<CounterShard>;

/// How counters are exposed: a counter `a_total` is the family `a` with samples `a_total` and
/// `a_created`.
pub(super) const EXPOSITION: Exposition = Exposition {
    strips_total: true,
    suffixes: &["_total", "_created"],
    reserved_labels: &[],
};

impl CounterCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &CounterShard {
        // The closure captures only `self` (the overflow slot is the last one): the shard
        // remembers whether it is shared, so the hot path need not carry the slot's flag.
        let index = slot.index as usize;
        self.shards
            .get_or_init(index, || CounterShard::new(index + 1 == self.shards.len()))
    }
}

/// A monotonic `u64` counter. Clone it freely; every clone records into the same metric.
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let requests = engine.counter("requests_total").unwrap();
/// requests.increment();
/// requests.add(41);
/// assert_eq!(engine.flush().counter("requests_total").unwrap().total, 42);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Counter {
    pub(crate) core: Arc<CounterCore>,
}

impl Counter {
    /// Statistics of increments over a time range (last N seconds, minutes or hours, or between two
    /// offsets from the engine's start), from the aggregator's multi-resolution history (see
    /// [`HistoryConfig`](crate::HistoryConfig) for retention and accuracy). `None` before the
    /// first collection or for an empty range. Takes the series' history lock, never a
    /// writer's.
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the metric: from now on its total, delta and rates cover what is recorded after this call (the
    /// aggregator takes the shards' current state as the baseline; no shard is written).
    /// Exporters report the reset time as `_created`, so Prometheus sees a counter reset.
    /// A cold call: it takes the aggregator's lock.
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Adds 1.
    #[inline]
    pub fn increment(&self) {
        self.add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot).add(n);
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
    }
}

debug_handle!(Counter);

/// A counter view bound to a [`LocalRecorder`]'s slot: `increment` is one load, add and store.
#[must_use]
pub struct LocalCounter<'a> {
    shard: &'a CounterShard,
    _not_send: PhantomData<*const ()>,
}

impl LocalCounter<'_> {
    /// Adds 1.
    #[inline]
    pub fn increment(&self) {
        self.shard.add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.shard.add(n);
    }
}

impl LocalRecorder {
    /// A view of `c` that records into this recorder's slot.
    pub fn counter<'a>(&'a self, c: &'a Counter) -> LocalCounter<'a> {
        let slot = self.slot_for(c.core.engine_id, &c.core.context);
        LocalCounter {
            shard: c.core.shard(slot),
            _not_send: PhantomData,
        }
    }
}

/// A counter's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CounterSnapshot {
    /// Total since the engine started or the last reset (exact: `u128`, so no sequence of
    /// `add`s can wrap it).
    pub total: u128,
    /// Increase during the last interval.
    pub delta: u128,
    /// `delta` per second of the last interval.
    pub rate: f64,
    /// Increase per second over the rolling window.
    pub window_rate: f64,
    /// Highest per-interval rate within the window.
    pub peak_rate: f64,
    /// `total` per second since the engine started (or since the last reset).
    pub avg_rate: f64,
    /// Highest per-interval rate since the engine started (or since the last reset).
    pub max_rate: f64,
}

impl Snapshot {
    /// The unlabelled counter `name`.
    pub fn counter(&self, name: &str) -> Option<&CounterSnapshot> {
        match &self.get(name, &[])?.value {
            MetricValue::Counter(c) => Some(c),
            _ => None,
        }
    }
}

impl Shared {
    /// Registers (or finds) a counter.
    pub(crate) fn counter(&self, opts: Opts) -> Result<Counter, RegisterError> {
        let core = self.register(opts, None, |_| ())?;
        Ok(Counter { core })
    }

    /// A counter of this engine that belongs to no registry (see `unregistered`).
    pub(crate) fn unregistered_counter(&self) -> Counter {
        Counter {
            core: self.unregistered(()),
        }
    }
}

impl Engine {
    /// Registers (or finds) a counter. Registering a removed series again brings it back.
    pub fn counter(&self, opts: impl Into<Opts>) -> Result<Counter, RegisterError> {
        self.shared().counter(opts.into())
    }

    /// Declares a counter family: one name with these label names, a series per tuple of
    /// values (see [`Family`](crate::Family)). Fails like [`counter`](Self::counter) on an
    /// invalid name, label name or unit, or a name used otherwise.
    pub fn counter_family(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<crate::CounterFamily, RegisterError> {
        Family::new(
            self.shared(),
            opts.into(),
            labels,
            MetricKind::Counter,
            None,
            KindOps::counter(),
        )
    }
}

/// A counter family: see [`Family`].
pub type CounterFamily = Family<Counter>;

impl FamilyRecord<u64> for Counter {
    /// Adds `v`.
    #[inline]
    fn family_record(&self, v: u64) {
        self.add(v);
    }
}

impl KindOps<Counter> {
    pub(crate) fn counter() -> Self {
        KindOps {
            register: |s, o, _| s.counter(o),
            unregistered: Shared::unregistered_counter,
            set_removed: |h: &Counter, removed| h.core.set_removed(removed),
            reset: Counter::reset,
        }
    }
}
