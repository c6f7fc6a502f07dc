//! Gauges: an `f64` per thread (its last `set` and the sum of its `add`s), combined by the
//! aggregator as the latest `set` across threads plus every `add` after it.
//!
//! Everything the gauge kind is lives in this directory: the shard's writer and reader halves
//! (`shard.rs`, with the seqlock that keeps a `set` untorn), the collector (`collect.rs`), and
//! here the core, the [`Gauge`] handle and its [`LocalGauge`] view, the [`GaugeSnapshot`]
//! value, the engine's registration methods and the family operations.
#![deny(unsafe_code)]

mod collect;
mod shard;

pub(crate) use collect::collector;
use shard::GaugeShard;

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

/// A gauge's core: one [`GaugeShard`] per thread slot, no parameters.
pub(crate) type GaugeCore = Core<GaugeShard>;

/// How gauges are exposed: a gauge is one sample under its own name.
pub(super) const EXPOSITION: Exposition = Exposition {
    strips_total: false,
    suffixes: &[],
    reserved_labels: &[],
};

impl GaugeCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &GaugeShard {
        self.shards
            .get_or_init(slot.index as usize, GaugeShard::new)
    }
}

/// An `f64` gauge.
///
/// Each thread writes its own shard; the aggregator combines them: the value is the most recent
/// `set` (by clock stamp, across threads) plus every `add`/`sub` that came after it. A `set` on
/// one thread and `add`s on other threads within the same aggregation interval are ordered as
/// "set first". NaN and infinite inputs are rejected and counted.
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let depth = engine.gauge("queue_depth").unwrap();
/// depth.set(10.0);
/// depth.add(2.5);
/// depth.sub(0.5);
/// assert_eq!(engine.flush().gauge("queue_depth").unwrap().value, 12.0);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Gauge {
    pub(crate) core: Arc<GaugeCore>,
}

impl Gauge {
    /// The value over a time range (min, max, mean and last of what each collection saw, in
    /// `RangeStats::gauge`), from the aggregator's history (see
    /// [`Counter::range`](crate::Counter::range)).
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the metric: from now on its value is 0 plus what is what is recorded after this call (the
    /// aggregator takes the shards' current state as the baseline; no shard is written).
    /// Exporters report the reset time as `_created`, so Prometheus sees a counter reset.
    /// A cold call: it takes the aggregator's lock.
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Sets the value (costs one clock read for the cross-thread ordering stamp).
    #[inline]
    pub fn set(&self, v: f64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot).set(v, c.context.clock.raw(), slot.shared);
    }

    /// Adds `d`.
    #[inline]
    pub fn add(&self, d: f64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot).add(d, slot.shared);
    }

    /// Subtracts `d`.
    #[inline]
    pub fn sub(&self, d: f64) {
        self.add(-d);
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
    }
}

debug_handle!(Gauge);

/// A gauge view bound to a [`LocalRecorder`]'s slot.
#[must_use]
pub struct LocalGauge<'a> {
    shard: &'a GaugeShard,
    clock: &'a crate::Clock,
    shared: bool,
    _not_send: PhantomData<*const ()>,
}

impl LocalGauge<'_> {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.shard.set(v, self.clock.raw(), self.shared);
    }

    /// Adds `d`.
    #[inline]
    pub fn add(&self, d: f64) {
        self.shard.add(d, self.shared);
    }

    /// Subtracts `d`.
    #[inline]
    pub fn sub(&self, d: f64) {
        self.shard.add(-d, self.shared);
    }
}

impl LocalRecorder {
    /// A view of `g` that records into this recorder's slot.
    pub fn gauge<'a>(&'a self, g: &'a Gauge) -> LocalGauge<'a> {
        let slot = self.slot_for(g.core.engine_id, &g.core.context);
        LocalGauge {
            shard: g.core.shard(slot),
            clock: &g.core.context.clock,
            shared: slot.shared,
            _not_send: PhantomData,
        }
    }
}

/// A gauge's value.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GaugeSnapshot {
    /// The combined value (see [`Gauge`](crate::Gauge)).
    pub value: f64,
}

impl Snapshot {
    /// The unlabelled gauge `name`.
    pub fn gauge(&self, name: &str) -> Option<&GaugeSnapshot> {
        match &self.get(name, &[])?.value {
            MetricValue::Gauge(g) => Some(g),
            _ => None,
        }
    }
}

impl Shared {
    /// Registers (or finds) a gauge.
    pub(crate) fn gauge(&self, opts: Opts) -> Result<Gauge, RegisterError> {
        let core = self.register(opts, None, |_| ())?;
        Ok(Gauge { core })
    }

    /// A gauge of this engine that belongs to no registry.
    pub(crate) fn unregistered_gauge(&self) -> Gauge {
        Gauge {
            core: self.unregistered(()),
        }
    }
}

impl Engine {
    /// Registers (or finds) a gauge.
    pub fn gauge(&self, opts: impl Into<Opts>) -> Result<Gauge, RegisterError> {
        self.shared().gauge(opts.into())
    }

    /// Declares a gauge family (see [`counter_family`](Self::counter_family)).
    pub fn gauge_family(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<crate::GaugeFamily, RegisterError> {
        Family::new(
            self.shared(),
            opts.into(),
            labels,
            MetricKind::Gauge,
            None,
            KindOps::gauge(),
        )
    }
}

/// A gauge family: see [`Family`].
pub type GaugeFamily = Family<Gauge>;

impl FamilyRecord<f64> for Gauge {
    /// Sets the value.
    #[inline]
    fn family_record(&self, v: f64) {
        self.set(v);
    }
}

impl KindOps<Gauge> {
    pub(crate) fn gauge() -> Self {
        KindOps {
            register: |s, o, _| s.gauge(o),
            unregistered: Shared::unregistered_gauge,
            set_removed: |h: &Gauge, removed| h.core.set_removed(removed),
            reset: Gauge::reset,
        }
    }
}
