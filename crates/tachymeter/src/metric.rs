//! Metric handles: the hot path.
//!
//! A handle is an `Arc` to its metric's core, resolved once at registration. A record finds the
//! calling thread's slot (thread-local cache hit: one compare), the thread's shard (one load and
//! a null check), and writes it with single-writer stores. The thread-owned views (`Local*`)
//! skip the first two steps.
#![deny(unsafe_code)]

use crate::context::EngineContext;
use crate::desc::MetricDesc;
use crate::local::{slot_for, LocalRecorder};
use crate::shard::{EventShard, HistShard, RecordShard};
use crate::shard_array::ShardArray;
use crate::slots::SlotId;
use crate::sync::{Arc, AtomicBool, Ordering};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::time::Duration;
use tachymeter_histogram::Layout;

/// What every handle of one metric shares: its identity, its engine, one lazily allocated
/// shard per thread slot, and the kind's own parameters `P`.
pub(crate) struct Core<S, P = ()> {
    pub(crate) engine_id: u64,
    pub(crate) desc: Arc<MetricDesc>,
    pub(crate) context: Arc<EngineContext>,
    pub(crate) shards: ShardArray<CachePadded<S>>,
    pub(crate) params: P,
    /// Position in the registry (and the aggregator's collectors), or `usize::MAX` for a core
    /// that belongs to no registry.
    pub(crate) index: usize,
    /// Time ranges: written by the aggregator once per interval, read by `range` queries.
    pub(crate) history: crate::history::History,
    /// Set when the series was removed (it leaves the snapshots; its shards and totals stay,
    /// and registering it again brings it back). Cold path only.
    removed: AtomicBool,
}

impl<S, P> Core<S, P> {
    /// A metric of `context`'s engine with no shard allocated yet (cold path: registration).
    pub(crate) fn new(
        desc: Arc<MetricDesc>,
        context: &Arc<EngineContext>,
        params: P,
        index: usize,
    ) -> Self {
        Core {
            engine_id: context.id,
            desc,
            shards: ShardArray::new(context.slots.shard_len()),
            context: context.clone(),
            params,
            index,
            history: crate::history::History::default(),
            removed: AtomicBool::new(false),
        }
    }

    /// Marks the series removed (the next snapshots leave it out) or present again.
    pub(crate) fn set_removed(&self, removed: bool) {
        // Relaxed: read by the aggregator at its next collection; no data depends on it.
        self.removed.store(removed, Ordering::Relaxed);
    }

    /// Resets the metric: statistics read after this call cover only what is recorded after
    /// it (no-op for a handle that belongs to no registry, or once the engine is gone).
    pub(crate) fn reset(&self) {
        if let Some(engine) = self.context.engine() {
            engine.reset(self.index);
        }
    }

    /// Statistics of `range` (see [`Range`](crate::Range)); `None` before the first collection
    /// or for an empty range.
    pub(crate) fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.history.query(range)
    }

    /// Brings a removed series back (registration found it again).
    pub(crate) fn revive(&self) {
        self.set_removed(false);
    }

    /// Whether the series is removed.
    pub(crate) fn is_removed(&self) -> bool {
        // Relaxed: as in `set_removed`.
        self.removed.load(Ordering::Relaxed)
    }
}

/// A histogram's bucket layout and per-thread recent-sample ring capacity (0 = none).
pub(crate) struct HistParams {
    pub(crate) layout: Layout,
    pub(crate) recent: usize,
    /// Stored steps per unit of an `f64` value: `Unit::steps_per_unit()`.
    pub(crate) scale: f64,
}

/// An event log's per-thread ring capacity.
pub(crate) struct EventParams {
    pub(crate) capacity: usize,
}

pub(crate) type HistogramCore = Core<HistShard, HistParams>;
pub(crate) type EventsCore = Core<EventShard, EventParams>;
pub(crate) type RecordsCore = Core<RecordShard, EventParams>;

impl HistogramCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &HistShard {
        self.shards.get_or_init(slot.index as usize, || {
            HistShard::new(&self.params.layout, self.params.recent, slot.shared)
        })
    }
}

impl EventsCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &EventShard {
        self.shards.get_or_init(slot.index as usize, || {
            EventShard::new(self.params.capacity, slot.shared)
        })
    }
}

impl RecordsCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &RecordShard {
        self.shards.get_or_init(slot.index as usize, || {
            RecordShard::new(self.params.capacity, slot.shared)
        })
    }
}

/// A log of recent timestamped records, each three `u64` fields (a duration, a size, a status
/// or error code, an id…: their meaning is the caller's), with a total count.
///
/// Each thread keeps a fixed ring of its most recent records (the engine's `events_capacity`);
/// the snapshot merges the threads' records in time order, so the last `n` records across
/// threads are `snapshot.records(name).last(n)`. A full ring overwrites its oldest record, and
/// the snapshot counts what was overwritten before the aggregator saw it. Recording takes one
/// clock read, no lock and no allocation.
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let ops = engine.record_log("operations").unwrap();
/// ops.record([1_250_000, 4096, 200]); // duration ns, bytes, status
/// ops.record([980_000, 512, 500]);
/// let snap = engine.flush();
/// let log = snap.records("operations").unwrap();
/// assert_eq!(log.total, 2);
/// assert_eq!(log.last(1)[0].fields, [980_000, 512, 500]);
/// assert!(log.recent[0].at <= log.recent[1].at);
/// ```
#[derive(Clone)]
#[must_use]
pub struct RecordLog {
    pub(crate) core: Arc<RecordsCore>,
}

impl RecordLog {
    /// Statistics of records over a time range (last N seconds, minutes or hours, or between two
    /// offsets from the engine's start), from the aggregator's multi-resolution history (see
    /// [`HistoryConfig`](crate::HistoryConfig) for retention and accuracy). `None` before the
    /// first collection or for an empty range. Takes the series' history lock, never a
    /// writer's.
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the log: from now on its total and recent records cover what is recorded after
    /// this call (see [`Counter::reset`]).
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Records `fields`, stamped with the engine clock.
    #[inline]
    pub fn record(&self, fields: [u64; 3]) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot)
            .record(c.context.clock.raw(), fields, slot.shared);
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
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
    #[inline]
    pub fn record(&self, v: u64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot).record(&c.params.layout, v, slot.shared);
    }

    /// Records `v`, a value in the histogram's unit: `record_f64(0.0123)` on a `seconds`
    /// histogram records 12.3 ms (as 12,300,000 ns; see [`Unit::resolution`](crate::Unit::resolution)).
    /// Values are rounded to the resolution; a positive value below half a step is recorded as
    /// 0 and counted (`below_resolution`). NaN, infinite and negative values are rejected and
    /// counted.
    #[inline]
    pub fn record_f64(&self, v: f64) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        record_f64(c.shard(slot), &c.params, v, slot.shared);
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

#[inline]
fn record_f64(shard: &HistShard, params: &HistParams, v: f64, shared: bool) {
    // Two compares reject NaN (both false), infinities and negative values.
    if (0.0..=f64::MAX).contains(&v) {
        let steps = v * params.scale;
        // Round half up (`as` truncates and saturates above u64::MAX); cheaper than `round`.
        let n = (steps + 0.5) as u64;
        if n == 0 && steps > 0.0 {
            // A positive value below half a step: recorded as 0, and counted.
            shard.below_resolution(shared);
        }
        shard.record(&params.layout, n, shared);
    } else {
        shard.reject(shared);
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

/// A log of recent coded events (e.g. errors by kind) with a total count.
///
/// Each thread keeps a fixed ring of its most recent events; a full ring overwrites the oldest,
/// and the snapshot counts what was overwritten before the aggregator saw it.
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let errors = engine.events("decode_errors").unwrap();
/// errors.record(3);
/// errors.record_with(7, 512);
/// let snap = engine.flush();
/// let ev = snap.events("decode_errors").unwrap();
/// assert_eq!(ev.total, 2);
/// assert_eq!(ev.recent.last().unwrap().payload, 512);
/// ```
#[derive(Clone)]
#[must_use]
pub struct EventLog {
    pub(crate) core: Arc<EventsCore>,
}

impl EventLog {
    /// Statistics of events over a time range (last N seconds, minutes or hours, or between two
    /// offsets from the engine's start), from the aggregator's multi-resolution history (see
    /// [`HistoryConfig`](crate::HistoryConfig) for retention and accuracy). `None` before the
    /// first collection or for an empty range. Takes the series' history lock, never a
    /// writer's.
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the metric: from now on its total and recent events cover what is recorded after this call (the
    /// aggregator takes the shards' current state as the baseline; no shard is written).
    /// Exporters report the reset time as `_created`, so Prometheus sees a counter reset.
    /// A cold call: it takes the aggregator's lock.
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Records an event with `code` and payload 0.
    #[inline]
    pub fn record(&self, code: u32) {
        self.record_with(code, 0);
    }

    /// Records an event with `code` and `payload`.
    #[inline]
    pub fn record_with(&self, code: u32, payload: u32) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot)
            .record((code as u64) << 32 | payload as u64, slot.shared);
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
    }
}

/// A histogram view bound to a [`LocalRecorder`]'s slot.
#[must_use]
pub struct LocalHistogram<'a> {
    shard: &'a HistShard,
    params: &'a HistParams,
    clock: &'a crate::Clock,
    shared: bool,
    _not_send: PhantomData<*const ()>,
}

impl<'a> LocalHistogram<'a> {
    /// Records `v` (see [`Histogram::record`]).
    #[inline]
    pub fn record(&self, v: u64) {
        self.shard.record(&self.params.layout, v, self.shared);
    }

    /// Records `v`, a value in the histogram's unit (see [`Histogram::record_f64`]).
    #[inline]
    pub fn record_f64(&self, v: f64) {
        record_f64(self.shard, self.params, v, self.shared);
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
            shared: self.shared,
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
    shared: bool,
    start: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LocalTimer<'_> {
    #[inline]
    fn drop(&mut self) {
        let ns = self.clock.delta_nanos(self.start, self.clock.raw());
        self.shard.record(self.layout, ns, self.shared);
    }
}

/// An event-log view bound to a [`LocalRecorder`]'s slot.
#[must_use]
pub struct LocalEventLog<'a> {
    shard: &'a EventShard,
    shared: bool,
    _not_send: PhantomData<*const ()>,
}

impl LocalEventLog<'_> {
    /// Records an event with `code` and `payload`.
    #[inline]
    pub fn record_with(&self, code: u32, payload: u32) {
        self.shard
            .record((code as u64) << 32 | payload as u64, self.shared);
    }

    /// Records an event with `code` and payload 0.
    #[inline]
    pub fn record(&self, code: u32) {
        self.record_with(code, 0);
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
            shared: slot.shared,
            _not_send: PhantomData,
        }
    }

    /// A view of `e` that records into this recorder's slot.
    pub fn events<'a>(&'a self, e: &'a EventLog) -> LocalEventLog<'a> {
        let slot = self.slot_for(e.core.engine_id, &e.core.context);
        LocalEventLog {
            shard: e.core.shard(slot),
            shared: slot.shared,
            _not_send: PhantomData,
        }
    }
}

/// Implements `Debug` for handles (`name` and `labels` of their core's description).
macro_rules! debug_handle {
    ($($t:ident),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("name", &self.core.desc.name)
                    .field("labels", &self.core.desc.labels)
                    .finish()
            }
        }
    )*};
}
pub(crate) use debug_handle;
debug_handle!(Histogram, EventLog, RecordLog);
