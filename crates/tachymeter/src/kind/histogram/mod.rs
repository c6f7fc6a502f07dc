//! Histograms: per-thread log-linear bucket counts with exact count, sum, min and max, merged
//! by the aggregator into cumulative, interval and rolling-window distributions (plus an
//! optional ring of recent raw samples per thread).
//!
//! Everything the histogram kind is lives in this directory: the shard's writer and reader
//! halves (`shard.rs`, with the bucket's release/acquire pair), the collector (`collect.rs`),
//! and here the core and its [`HistParams`], the [`Histogram`] handle with its [`Timer`], the
//! [`LocalHistogram`] view with its [`LocalTimer`], the [`HistogramSnapshot`] value, the
//! engine's registration methods and the family operations. Histogram math itself is the leaf
//! crate `tachymeter-histogram`.
#![deny(unsafe_code)]

mod collect;
mod shard;

pub(crate) use collect::collector;
use shard::HistShard;

use crate::desc::{clip, HistogramConfig, MetricDesc, Opts, RegisterError};
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
use std::time::Duration;
use tachymeter_histogram::{HistogramData, Layout};

/// A histogram's bucket layout and per-thread recent-sample ring capacity (0 = none).
pub(crate) struct HistParams {
    pub(crate) layout: Layout,
    pub(crate) recent: usize,
    /// Stored steps per unit of an `f64` value: `Unit::steps_per_unit()`.
    pub(crate) scale: f64,
    /// Classic bucket bounds in the unit (`HistogramConfig::buckets`), shared with snapshots.
    pub(crate) classic: Option<Arc<[f64]>>,
}

/// A histogram's core: one [`HistShard`] per thread slot and the histogram's [`HistParams`].
pub(crate) type HistogramCore = Core<HistShard, HistParams>;

/// How histograms are exposed: buckets carry the `le` label, so a histogram cannot have one
/// of its own.
pub(super) const EXPOSITION: Exposition = Exposition {
    strips_total: false,
    suffixes: &["_bucket", "_sum", "_count", "_created"],
    reserved_labels: &["le"],
};

impl HistogramCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &HistShard {
        // The closure captures only `self` (the overflow slot is the last one), so nothing of
        // `slot` is kept around for the cold path.
        let index = slot.index as usize;
        self.shards.get_or_init(index, || {
            let shared = index + 1 == self.shards.len();
            HistShard::new(&self.params.layout, self.params.recent, shared)
        })
    }
}

/// A histogram of `u64` values (nanoseconds, bytes, batch sizes…).
///
/// ```
/// use std::time::Duration;
/// let engine = tachymeter::Engine::new();
/// let latency = engine.histogram("step_latency_nanoseconds").unwrap();
/// for v in 1..=100u64 {
///     latency.record(v * 1_000);
/// }
/// latency.record_duration(Duration::from_micros(50));
/// let out = latency.time(|| 6 * 7); // records the closure's duration
/// assert_eq!(out, 42);
/// let snap = engine.flush();
/// let h = &snap.histogram("step_latency_nanoseconds").unwrap().cumulative;
/// assert_eq!(h.count(), 102);
/// assert!((h.p50().unwrap() - 50_000.0).abs() <= 50_000.0 * 0.0055);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Histogram {
    pub(crate) core: Arc<HistogramCore>,
}

impl Histogram {
    /// Statistics of observations, with the merged histogram over a time range (last N seconds, minutes or hours, or between two
    /// offsets from the engine's start), from the aggregator's multi-resolution history (see
    /// [`HistoryConfig`](crate::HistoryConfig) for retention and accuracy). `None` before the
    /// first collection or for an empty range. Takes the series' history lock, never a
    /// writer's.
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the metric: from now on its cumulative, window and recent data cover what is recorded after this call (the
    /// aggregator takes the shards' current state as the baseline; no shard is written).
    /// Exporters report the reset time as `_created`, so Prometheus sees a counter reset.
    /// A cold call: it takes the aggregator's lock.
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Records `v` steps of the histogram's resolution: nanoseconds for the time units, the unit
    /// itself for bytes and unit-less histograms (see [`Unit::resolution`](crate::Unit::resolution);
    /// `record_f64` and `record_duration` convert for you). Values outside the configured range
    /// saturate into an edge bucket and are counted as saturated.
    // Always inlined: the cold parts (slot claim, shard allocation, zero, saturation, the
    // overflow slot) are out of line, and a call would cost more than the rest of the record.
    #[inline(always)]
    pub fn record(&self, v: u64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot).record(&c.params.layout, v);
    }

    /// Records `v`, a value in the histogram's unit: `record_f64(0.0123)` on a `seconds`
    /// histogram records 12.3 ms (as 12,300,000 ns; see [`Unit::resolution`](crate::Unit::resolution)).
    /// Values are rounded to the resolution; a positive value below half a step is recorded as
    /// 0 and counted (`below_resolution`). NaN, infinite and negative values are rejected and
    /// counted.
    #[inline(always)]
    pub fn record_f64(&self, v: f64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        record_f64(c.shard(slot), &c.params, v);
    }

    /// Records a duration (as nanoseconds, saturating at `u64::MAX`): right for any time
    /// unit, which all store nanoseconds.
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Starts a timer that records the elapsed nanoseconds (engine clock) when dropped.
    #[inline]
    pub fn start_timer(&self) -> Timer<'_> {
        Timer {
            hist: self,
            start: self.core.context.clock.raw(),
        }
    }

    /// Runs `f` and records its duration in nanoseconds.
    #[inline]
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _t = self.start_timer();
        f()
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
    }
}

/// `f64` values: the straight path takes `x = v·scale + 0.5` in `[1, 2^53)` (a positive value
/// at least half a step, exact after truncation), converts it with one instruction and records
/// it; everything else (zero, below half a step, NaN, negative, infinite, huge) goes out of
/// line to `record_f64_other` with the same arithmetic.
#[inline(always)]
fn record_f64(shard: &HistShard, params: &HistParams, v: f64) {
    // Same operations in the same order as `record_f64_other` (no fused multiply-add).
    let x = v * params.scale + 0.5;
    if (1.0..FLOAT_EXACT).contains(&x) {
        // Exact: 1 ≤ x < 2^53, and truncation is what `as u64` does below.
        shard.record(&params.layout, x as i64 as u64);
    } else {
        record_f64_other(shard, params, v);
    }
}

/// 2^53: below it every integer is exact in an `f64`.
const FLOAT_EXACT: f64 = 9_007_199_254_740_992.0;

#[cold]
#[inline(never)]
fn record_f64_other(shard: &HistShard, params: &HistParams, v: f64) {
    // Two compares reject NaN (both false), infinities and negative values.
    if (0.0..=f64::MAX).contains(&v) {
        let steps = v * params.scale;
        // Round half up (`as` truncates and saturates above u64::MAX); cheaper than `round`.
        let n = (steps + 0.5) as u64;
        if n == 0 && steps > 0.0 {
            // A positive value below half a step: recorded as 0, and counted.
            shard.below_resolution();
        }
        shard.record(&params.layout, n);
    } else {
        shard.reject();
    }
}

/// Records the time from its creation to its drop into a histogram, in nanoseconds.
#[must_use = "the timer records when dropped; bind it with `let _t = ...`"]
pub struct Timer<'a> {
    hist: &'a Histogram,
    start: u64,
}

impl Drop for Timer<'_> {
    #[inline]
    fn drop(&mut self) {
        let clock = &self.hist.core.context.clock;
        self.hist.record(clock.delta_nanos(self.start, clock.raw()));
    }
}

debug_handle!(Histogram);

/// A histogram view bound to a [`LocalRecorder`]'s slot.
#[must_use]
pub struct LocalHistogram<'a> {
    shard: &'a HistShard,
    params: &'a HistParams,
    clock: &'a crate::Clock,
    _not_send: PhantomData<*const ()>,
}

impl<'a> LocalHistogram<'a> {
    /// Records `v` (see [`Histogram::record`]).
    #[inline]
    pub fn record(&self, v: u64) {
        self.shard.record(&self.params.layout, v);
    }

    /// Records `v`, a value in the histogram's unit (see [`Histogram::record_f64`]).
    #[inline]
    pub fn record_f64(&self, v: f64) {
        record_f64(self.shard, self.params, v);
    }

    /// Records a duration in nanoseconds.
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Runs `f` and records its duration in nanoseconds.
    #[inline]
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _t = self.start_timer();
        f()
    }

    /// Starts a timer that records the elapsed nanoseconds (engine clock) when dropped.
    #[inline]
    pub fn start_timer(&self) -> LocalTimer<'a> {
        LocalTimer {
            shard: self.shard,
            layout: &self.params.layout,
            clock: self.clock,
            start: self.clock.raw(),
            _not_send: PhantomData,
        }
    }
}

/// A timer guard of a [`LocalHistogram`]: records the elapsed nanoseconds when dropped.
#[must_use = "the timer records when dropped; bind it with `let _t = ...`"]
pub struct LocalTimer<'a> {
    shard: &'a HistShard,
    layout: &'a Layout,
    clock: &'a crate::Clock,
    start: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LocalTimer<'_> {
    #[inline]
    fn drop(&mut self) {
        let ns = self.clock.delta_nanos(self.start, self.clock.raw());
        self.shard.record(self.layout, ns);
    }
}

impl LocalRecorder {
    /// A view of `h` that records into this recorder's slot.
    pub fn histogram<'a>(&'a self, h: &'a Histogram) -> LocalHistogram<'a> {
        let slot = self.slot_for(h.core.engine_id, &h.core.context);
        LocalHistogram {
            shard: h.core.shard(slot),
            params: &h.core.params,
            clock: &h.core.context.clock,
            _not_send: PhantomData,
        }
    }
}

/// A histogram's statistics: cumulative, last interval, rolling window, recent raw samples.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct HistogramSnapshot {
    /// Everything recorded since the start (or since the last reset); `min`/`max` exact
    /// (after a reset: bucket bounds).
    pub cumulative: HistogramData,
    /// The last interval only; `min`/`max` are bucket bounds.
    pub interval: HistogramData,
    /// The last `window` intervals merged; `min`/`max` are bucket bounds.
    pub window: HistogramData,
    /// Time covered by `window`.
    pub window_duration: Duration,
    /// `window.count()` per second.
    pub throughput: f64,
    /// Highest per-interval count per second within the window.
    pub peak_throughput: f64,
    /// `cumulative.count()` per second since the engine started (or since the last reset).
    pub avg_throughput: f64,
    /// Highest per-interval count per second since the engine started (or the last reset).
    pub max_throughput: f64,
    /// The most recent raw samples (if `HistogramConfig::recent` > 0), oldest first; samples
    /// of different threads within one interval are grouped by thread.
    pub recent: Vec<u64>,
    /// NaN/infinite/negative `record_f64` inputs.
    pub rejected: u64,
    /// Values outside the configured range (counted in an edge bucket).
    pub saturated: u64,
    /// Positive `record_f64` values below half a step of the resolution (recorded as 0).
    pub below_resolution: u64,
    /// Steps of the data above per unit of the metric
    /// ([`Unit::steps_per_unit`](crate::Unit::steps_per_unit)): `1e9` for `seconds`, whose data
    /// are nanoseconds; `1` for bytes and unit-less histograms.
    pub steps_per_unit: f64,
    /// Classic bucket bounds in the unit, if the histogram was registered with
    /// [`HistogramConfig::buckets`](crate::HistogramConfig::buckets): exporters use them.
    pub classic_buckets: Option<Arc<[f64]>>,
    /// Which state of the collector `cumulative` and `window` were copied from: lets the
    /// aggregator leave unchanged data in a recycled snapshot instead of copying it again.
    /// Not part of the value (`==` ignores it).
    pub(crate) stamps: Stamps,
}

/// Collector states a [`HistogramSnapshot`]'s data were copied from (process-wide unique
/// numbers, never 0 for a collector's state). Equal to every other `Stamps`: not part of the
/// snapshot's value.
#[derive(Clone, Copy, Default)]
pub(crate) struct Stamps {
    /// State of the merged all-time data `cumulative` was copied from.
    pub(crate) cumulative: u64,
    /// States of the window sum and of the all-time data `window` was built from.
    pub(crate) window: (u64, u64),
}

impl PartialEq for Stamps {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Stamps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

impl HistogramSnapshot {
    /// `steps` (a quantile, mean, min, max or sum of the data above) in the metric's unit.
    ///
    /// ```
    /// let engine = tachymeter::Engine::builder().background(false).build().unwrap();
    /// let h = engine.histogram(tachymeter::Opts::new("step").unit("seconds")).unwrap();
    /// h.record_f64(0.0123);
    /// let snap = engine.flush();
    /// let hs = snap.histogram("step").unwrap();
    /// assert_eq!(hs.cumulative.sum(), 12_300_000); // nanoseconds
    /// assert_eq!(hs.in_unit(hs.cumulative.sum() as f64), 0.0123);
    /// ```
    pub fn in_unit(&self, steps: f64) -> f64 {
        steps / self.steps_per_unit
    }
}

impl HistogramSnapshot {
    /// The exact `q`-quantile (nearest rank) of the recent raw samples.
    pub fn recent_quantile(&self, q: f64) -> Option<u64> {
        if self.recent.is_empty() || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let mut v = self.recent.clone();
        v.sort_unstable();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

impl Snapshot {
    /// The unlabelled histogram `name`.
    pub fn histogram(&self, name: &str) -> Option<&HistogramSnapshot> {
        match &self.get(name, &[])?.value {
            MetricValue::Histogram(h) => Some(h),
            _ => None,
        }
    }
}

impl Shared {
    /// Registers (or finds) a histogram with `cfg`. Every label set of one name must use the
    /// same configuration.
    pub(crate) fn histogram(
        &self,
        opts: Opts,
        cfg: HistogramConfig,
    ) -> Result<Histogram, RegisterError> {
        let layout = cfg
            .layout()
            .map_err(|reason| RegisterError::InvalidConfig {
                name: clip(opts.name()),
                reason,
            })?;
        let recent = cfg.recent;
        let classic: Option<Arc<[f64]>> =
            (!cfg.classic.is_empty()).then(|| cfg.classic_buckets().collect());
        let core = self.register(opts, Some(cfg), |desc| HistParams {
            layout,
            recent,
            scale: desc.unit_kind().steps_per_unit(),
            classic,
        })?;
        Ok(Histogram { core })
    }

    /// A histogram (default configuration) of this engine that belongs to no registry.
    pub(crate) fn unregistered_histogram(&self) -> Histogram {
        let layout = HistogramConfig::default()
            .layout()
            .unwrap_or_else(|_| unreachable!("the default layout is valid"));
        let params = HistParams {
            layout,
            recent: 0,
            scale: 1.0,
            classic: None,
        };
        Histogram {
            core: self.unregistered(params),
        }
    }
}

impl Engine {
    /// Registers (or finds) a histogram with the default [`HistogramConfig`].
    pub fn histogram(&self, opts: impl Into<Opts>) -> Result<Histogram, RegisterError> {
        self.histogram_with(opts, HistogramConfig::default())
    }

    /// Registers (or finds) a histogram with `cfg`. Every label set of one name must use the
    /// same configuration.
    pub fn histogram_with(
        &self,
        opts: impl Into<Opts>,
        cfg: HistogramConfig,
    ) -> Result<Histogram, RegisterError> {
        self.shared().histogram(opts.into(), cfg)
    }

    /// Declares a histogram family with the default configuration.
    pub fn histogram_family(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<crate::HistogramFamily, RegisterError> {
        self.histogram_family_with(opts, labels, HistogramConfig::default())
    }

    /// Declares a histogram family whose series all use `cfg`.
    pub fn histogram_family_with(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
        cfg: HistogramConfig,
    ) -> Result<crate::HistogramFamily, RegisterError> {
        let opts = opts.into();
        // Check the configuration once, so that series registration cannot fail on it.
        cfg.layout()
            .map_err(|reason| RegisterError::InvalidConfig {
                name: clip(opts.name()),
                reason,
            })?;
        Family::new(
            self.shared(),
            opts,
            labels,
            MetricKind::Histogram,
            Some(cfg),
            KindOps::histogram(),
        )
    }
}

/// A histogram family: see [`Family`].
pub type HistogramFamily = Family<Histogram>;

impl FamilyRecord<u64> for Histogram {
    /// Records `v`.
    #[inline]
    fn family_record(&self, v: u64) {
        self.record(v);
    }
}

impl KindOps<Histogram> {
    pub(crate) fn histogram() -> Self {
        KindOps {
            register: |s, o, c| s.histogram(o, c.clone().unwrap_or_default()),
            unregistered: Shared::unregistered_histogram,
            set_removed: |h: &Histogram, removed| h.core.set_removed(removed),
            reset: Histogram::reset,
        }
    }
}
