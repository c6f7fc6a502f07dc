//! [`OperationTracker`]: operations started and ended by id, from any thread (the seeds'
//! `PerformanceTracker.start_operation/end_operation` and the `track_*` helpers of
//! `PerformanceMonitoringSystem`).
//!
//! Recorded, per tracker instance (label `instance`) when an operation ends:
//!
//! | metric | kind | more labels |
//! |---|---|---|
//! | `operation_duration` | histogram, seconds | `kind`, `name` |
//! | `operation_failures_total` | counter | `kind`, `name` |
//! | `operation_dropped_total` | counter: starts rejected by a full table (`table_full`), ends of unknown, stale or already-ended ids (`unknown_id`) | `reason` |
//!
//! `kind` is [`OperationKind::label`]; `name` is the caller's operation name. Both are label
//! values: keep their sets bounded (`download_model`, not `download_model_{id}`); past the
//! engine's `label_set_limit` they are recorded into the families' overflow series (every label
//! `__overflow__`), which [`OperationTracker::all_metrics`] counts in the totals only.
//!
//! # The in-flight table
//!
//! Operations in flight live in a fixed table of `capacity` slots (default 65,536, about 40
//! bytes each), allocated when the tracker is built. A slot is two atomic words (state and
//! start time) plus a mutex used only by operations that carry metadata. Free slots sit on
//! lock-free stacks (Treiber stacks with a tagged head, one cache-padded head per shard; a
//! thread pops from its home shard first and pushes an ended slot back to the slot's shard).
//! [`OperationId`] is the slot index and the slot's generation, so an id never ends a later
//! operation that reused its slot: a stale, unknown or second `end` is counted, never a panic.
//! A full table makes `start` return an id that is not tracked ([`OperationId::is_tracked`]):
//! the rejection is counted, the operation is not recorded, and its `end` does nothing.
//!
//! The table is written by hand rather than taken from `sharded-slab`: the slab sizes its
//! shards at compile time (its `Config`), so it cannot bound the whole table at a run-time
//! capacity, and it iterates only through `&mut`, so it cannot tell the oldest operation in
//! flight to a reader while writers run. Here a reader scans the slots' atomic words.
//!
//! # Synchronization
//!
//! A slot is owned by whoever took it off a free stack: the starter writes the start time
//! (`Relaxed`) and then the state word (`Release`: live, generation, series position). `end`
//! moves the state from "live, generation g" to "free, generation g + 1" with one CAS
//! (`Acquire`, so the start time is visible), which makes exactly one `end` win; the winner
//! reads the slot and pushes it back (`Release` on the stack head, so the next owner's
//! `Acquire` pop is ordered after the winner's reads). Stack heads carry a tag that every
//! successful CAS increments, so a slot popped and pushed back between a reader's load and its
//! CAS fails that CAS (no ABA).
//!
//! # Costs
//!
//! `start` + `end` without metadata is a clock read each, a family lookup (hashing the
//! instance, kind and name), two CASes on free-stack heads, one CAS on the slot and a histogram
//! record: no lock, no allocation (`tests/operations.rs` counts 0 allocations after warm-up).
//! Measured (`cargo bench -p tachymeter-benches --bench compare -- operations/`, medians of one
//! run on 2 shared vCPUs): 55 ns at 1 thread, 60 ns per thread at 2, against 6.3 / 8.6 ns for
//! a plain histogram record in the same run. Metadata and error messages allocate (they are
//! owned strings) and take the slot's mutex and the annotation ring's mutex, never a lock the
//! id-only path takes. Readers scan the table with atomic loads and query the engine's time
//! ranges; only [`OperationTracker::recent_operations`] takes a lock (the annotation ring's,
//! briefly), which only annotated ends share.
//!
//! Limits: the generation has 30 bits, so an id 2^30 reuses of its slot old would be taken
//! for the current one; an id belongs to the tracker that made it (another tracker's id is
//! unknown there unless its slot and generation happen to be live).
//!
//! # Metadata
//!
//! Metadata given to `start` is kept in the slot until `end`; it is merged with the metadata
//! and error message given to `end` and kept, with the operation's id, kind, name, duration and
//! outcome, in a bounded ring of the last `recent_capacity` annotated operations, shown by
//! [`OperationTracker::recent_operations`]. Older annotations are dropped (the seeds keep every
//! metric forever; here memory is bounded). Operations without metadata or error message are
//! not kept one by one: their durations and outcomes are in the histograms and counters. (A
//! record-log entry per operation was measured at about 30 ns more per `end`, a third of the
//! budget of `start` + `end`, so the per-operation log is limited to annotated operations.)

use crate::EngineRef;
use crossbeam_utils::CachePadded;
use serde::Serialize;
use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use tachymeter::{
    Counter, CounterFamily, Engine, HistogramData, HistogramFamily, MetricValue, Opts, Range,
    RegisterError,
};

/// Free-form metadata of an operation (the seeds' `metadata` dict, as strings).
pub type Metadata = BTreeMap<String, String>;

/// What an operation does (the seeds' `PerformanceMetricType`), or a kind of your own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperationKind {
    /// `download_operation`.
    Download,
    /// `health_check`.
    HealthCheck,
    /// `fallback_strategy`.
    FallbackStrategy,
    /// `analytics_collection`.
    AnalyticsCollection,
    /// `model_operation`.
    ModelOperation,
    /// `system_resource`.
    SystemResource,
    /// A kind of your own: its label value (keep it distinct from the built-in ones).
    Custom(&'static str),
}

impl OperationKind {
    /// The built-in kinds.
    pub const BUILT_IN: [OperationKind; 6] = [
        OperationKind::Download,
        OperationKind::HealthCheck,
        OperationKind::FallbackStrategy,
        OperationKind::AnalyticsCollection,
        OperationKind::ModelOperation,
        OperationKind::SystemResource,
    ];

    /// The `kind` label value: the seeds' constant (`download_operation`, …) or the custom
    /// string.
    pub fn label(self) -> &'static str {
        match self {
            OperationKind::Download => "download_operation",
            OperationKind::HealthCheck => "health_check",
            OperationKind::FallbackStrategy => "fallback_strategy",
            OperationKind::AnalyticsCollection => "analytics_collection",
            OperationKind::ModelOperation => "model_operation",
            OperationKind::SystemResource => "system_resource",
            OperationKind::Custom(s) => s,
        }
    }
}

/// The id of a started operation: copy it, send it to another thread, end it once on the
/// tracker that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationId(u64);

impl OperationId {
    /// The id `start` returns when the table is full: ending it does nothing.
    pub const NOT_TRACKED: OperationId = OperationId(u64::MAX);

    /// False for an operation the full table could not take (counted as `table_full`).
    pub fn is_tracked(self) -> bool {
        self != Self::NOT_TRACKED
    }

    /// The id as a number (slot index in the low 32 bits, generation above).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The id whose [`as_u64`](Self::as_u64) is `v` (an id that crossed a language boundary
    /// as a number or string). A forged or stale id is safe to end: the tracker checks the
    /// slot's generation and counts it as unknown.
    pub fn from_u64(v: u64) -> OperationId {
        OperationId(v)
    }

    fn slot(self) -> usize {
        self.0 as u32 as usize
    }

    fn generation(self) -> u64 {
        self.0 >> 32
    }
}

impl std::fmt::Display for OperationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "op-{:x}", self.0)
    }
}

/// Statistics of a set of operations over a time range (seconds for durations).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OperationStats {
    /// Operations ended in the range.
    pub total_operations: u64,
    /// Of those, successful.
    pub successful_operations: u64,
    /// Of those, failed.
    pub failed_operations: u64,
    /// Successful per ended operation (1 without operations).
    pub success_rate: f64,
    /// Mean duration, seconds (exact: from the summed nanoseconds).
    pub average_duration: Option<f64>,
    /// Shortest duration, seconds (the lower bound of its bucket at the range's schema).
    pub min_duration: Option<f64>,
    /// Longest duration, seconds (the upper bound of its bucket).
    pub max_duration: Option<f64>,
    /// Median duration, seconds (within the relative bound of the range's histogram schema:
    /// 4.4% for the last 10 minutes by default, see `tachymeter::history`).
    pub p50_duration: Option<f64>,
    /// 95th percentile, seconds.
    pub p95_duration: Option<f64>,
    /// 99th percentile, seconds.
    pub p99_duration: Option<f64>,
    /// Ended operations per second of the range.
    pub throughput: f64,
}

/// One kind's statistics, in total and per operation name (the seeds' `get_metrics_by_type`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OperationKindMetrics {
    /// The kind's label value.
    pub operation_type: String,
    /// Over every name of the kind.
    pub summary: OperationStats,
    /// Per operation name.
    pub operations: BTreeMap<String, OperationStats>,
}

/// Every kind's statistics and the tracker's state (the seeds' `get_all_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AllOperationMetrics {
    /// Over every operation (the overflow series included).
    pub summary: OperationStats,
    /// Per kind label value.
    pub by_type: BTreeMap<String, OperationKindMetrics>,
    /// Operations started and not ended yet.
    pub in_flight: usize,
    /// Age of the oldest operation in flight, seconds.
    pub oldest_in_flight_age: Option<f64>,
    /// Starts rejected by a full table since the tracker was built (the latest snapshot).
    pub rejected_starts: u64,
    /// Ends of unknown, stale or already-ended ids (the latest snapshot).
    pub unknown_ends: u64,
}

/// One recently ended annotated operation (metadata or an error message).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EndedOperation {
    /// The operation's id.
    pub id: u64,
    /// When it ended (wall clock).
    pub ended_at: SystemTime,
    /// The kind's label value.
    pub operation_type: String,
    /// The operation's name.
    pub operation_name: String,
    /// Duration, seconds.
    pub duration: f64,
    /// Whether it succeeded.
    pub success: bool,
    /// The error message given to `end`.
    pub error_message: Option<String>,
    /// Metadata given to `start` and `end`, merged (`end`'s wins on equal keys).
    pub metadata: Option<Metadata>,
}

/// Tracks operations started and ended by id, from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{OperationKind, OperationTracker};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let tracker = OperationTracker::builder().engine(engine.clone()).build().unwrap();
/// let id = tracker.start(OperationKind::Download, "model.bin", None);
/// assert_eq!(tracker.in_flight(), 1);
/// // ... possibly on another thread:
/// std::thread::spawn(move || id).join().unwrap();
/// tracker.end(id, true, None, None);
/// assert!(tracker.end(id, true, None, None).is_none()); // ended already: counted
/// let check = tracker.track_health_check("db", None);
/// tracker.end(check, false, Some("timeout"), None);
/// engine.flush();
/// let all = tracker.all_metrics(1);
/// assert_eq!(all.summary.total_operations, 2);
/// assert_eq!(all.summary.success_rate, 0.5);
/// assert_eq!(all.unknown_ends, 1);
/// assert_eq!(tracker.metrics_by_kind(OperationKind::Download, 1).summary.total_operations, 1);
/// ```
#[derive(Debug)]
pub struct OperationTracker {
    engine: EngineRef,
    instance: String,
    duration: HistogramFamily,
    failures: CounterFamily,
    table_full: Counter,
    unknown_id: Counter,
    table: Table,
    annotations: Mutex<VecDeque<Annotation>>,
    recent_capacity: usize,
}

/// What an annotated operation kept.
#[derive(Debug, Clone)]
struct Annotation {
    id: u64,
    ended_at: SystemTime,
    /// The series position in the duration family.
    position: usize,
    nanos: u64,
    success: bool,
    error_message: Option<String>,
    metadata: Option<Metadata>,
}

/// Configures an [`OperationTracker`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OperationTrackerBuilder {
    engine: EngineRef,
    instance: Option<String>,
    capacity: usize,
    recent_capacity: usize,
}

/// The largest in-flight capacity (slot indices are 32-bit, `u32::MAX` marks "not tracked").
pub const MAX_IN_FLIGHT: usize = 1 << 31;

impl OperationTrackerBuilder {
    /// Records into `engine` instead of the process-wide one.
    pub fn engine(mut self, engine: Arc<Engine>) -> Self {
        self.engine = EngineRef::Shared(engine);
        self
    }

    /// The `instance` label (default: `0`, `1`, … in creation order).
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    /// Operations in flight at once (default 65,536; clamped to 1..=[`MAX_IN_FLIGHT`]); the
    /// table takes about 40 bytes per slot when built.
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.clamp(1, MAX_IN_FLIGHT);
        self
    }

    /// Annotated operations (metadata or error message) whose annotations are kept for
    /// [`OperationTracker::recent_operations`] (default 128).
    pub fn recent_capacity(mut self, n: usize) -> Self {
        self.recent_capacity = n;
        self
    }

    /// Declares the tracker's metric families and allocates its in-flight table.
    ///
    /// # Errors
    /// A registration error of the engine (a name used as another kind there).
    pub fn build(self) -> Result<OperationTracker, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        let labels = ["instance", "kind", "name"];
        let duration = e.histogram_family(
            Opts::new("operation_duration")
                .unit("seconds")
                .help("Duration of ended operations."),
            &labels,
        )?;
        let failures = e.counter_family(
            Opts::new("operation_failures_total").help("Operations that ended unsuccessfully."),
            &labels,
        )?;
        let dropped = e.counter_family(
            Opts::new("operation_dropped_total")
                .help("Starts rejected by a full table, ends of unknown or ended ids."),
            &["instance", "reason"],
        )?;
        Ok(OperationTracker {
            table_full: dropped.with(&[&instance, "table_full"]).clone(),
            unknown_id: dropped.with(&[&instance, "unknown_id"]).clone(),
            duration,
            failures,
            table: Table::new(self.capacity),
            annotations: Mutex::new(VecDeque::new()),
            recent_capacity: self.recent_capacity,
            engine: self.engine,
            instance,
        })
    }
}

impl OperationTracker {
    /// A builder (defaults: the process-wide engine, instance `0`, `1`, …, capacity 65,536).
    pub fn builder() -> OperationTrackerBuilder {
        OperationTrackerBuilder {
            engine: EngineRef::Global,
            instance: None,
            capacity: 65_536,
            recent_capacity: 128,
        }
    }

    /// Starts an operation of `kind` named `name` and returns its id (the seeds'
    /// `start_operation`). Without metadata: no lock, no allocation. A full table returns
    /// [`OperationId::NOT_TRACKED`] and counts the rejection.
    #[inline]
    pub fn start(
        &self,
        kind: OperationKind,
        name: &str,
        metadata: Option<Metadata>,
    ) -> OperationId {
        let (pos, _) = self
            .duration
            .with_position(&[&self.instance, kind.label(), name]);
        let pos = u32::try_from(pos).unwrap_or(u32::MAX);
        let Some(idx) = self.table.claim() else {
            self.table_full.increment();
            return OperationId::NOT_TRACKED;
        };
        let slot = &self.table.slots[idx];
        // Relaxed: we own the slot (popped from a free stack, ordered by its Acquire).
        let generation = (slot.state.load(Ordering::Relaxed) >> GEN_SHIFT) & GEN_MASK;
        let mut state = LIVE | generation << GEN_SHIFT | u64::from(pos);
        if let Some(m) = metadata {
            *slot.meta.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(m));
            state |= META;
        }
        // Relaxed: published by the Release store of the state below.
        slot.start
            .store(self.engine.clock().raw(), Ordering::Relaxed);
        // Release: the start time (and metadata) are visible to the `end` that acquires this.
        slot.state.store(state, Ordering::Release);
        OperationId(generation << 32 | idx as u64)
    }

    /// Ends the operation `id` (the seeds' `end_operation`) and returns its duration; `None`
    /// for an id that is not tracked, unknown, stale or already ended (counted as
    /// `unknown_id`, except the not-tracked id whose start was counted). A failure counts in
    /// `operation_failures_total`; the error message and metadata, if any, are kept in the
    /// annotation ring (they allocate; the id-only path does not).
    #[inline]
    pub fn end(
        &self,
        id: OperationId,
        success: bool,
        error_message: Option<&str>,
        extra_metadata: Option<Metadata>,
    ) -> Option<Duration> {
        let now = self.engine.clock().raw();
        if !id.is_tracked() {
            return None;
        }
        let Some(slot) = self.table.slots.get(id.slot()) else {
            self.unknown_id.increment();
            return None;
        };
        // Acquire: pairs with `start`'s Release store (the start time is visible).
        let cur = slot.state.load(Ordering::Acquire);
        let generation = (cur >> GEN_SHIFT) & GEN_MASK;
        if cur & LIVE == 0 || generation != id.generation() {
            self.unknown_id.increment();
            return None;
        }
        let free = ((generation + 1) & GEN_MASK) << GEN_SHIFT;
        // Acquire: as the load above; exactly one `end` of this generation wins.
        if slot
            .state
            .compare_exchange(cur, free, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.unknown_id.increment();
            return None;
        }
        // Relaxed: written before the Release store we acquired; nobody writes it until the
        // slot is pushed back below.
        let start = slot.start.load(Ordering::Relaxed);
        let meta = (cur & META != 0).then(|| {
            slot.meta
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        self.table.release(id.slot());
        let clock = self.engine.clock();
        let ns = clock.delta_nanos(start, now);
        let pos = match cur as u32 {
            u32::MAX => HistogramFamily::OVERFLOW_POSITION,
            p => p as usize,
        };
        if let Some((h, values)) = self.duration.at(pos) {
            h.record(ns);
            if !success {
                let v = |i| values.get(i).unwrap_or_default();
                self.failures.with(&[v(0), v(1), v(2)]).increment();
            }
        }
        if meta.is_some() || error_message.is_some() || extra_metadata.is_some() {
            let (start, extra) = (meta.flatten(), extra_metadata);
            self.annotate(id, pos, ns, success, error_message, start, extra);
        }
        Some(Duration::from_nanos(ns))
    }

    /// Keeps an ended operation's annotation in the bounded ring.
    #[cold]
    #[allow(clippy::too_many_arguments)]
    fn annotate(
        &self,
        id: OperationId,
        position: usize,
        nanos: u64,
        success: bool,
        error_message: Option<&str>,
        start: Option<Box<Metadata>>,
        extra: Option<Metadata>,
    ) {
        if self.recent_capacity == 0 {
            return;
        }
        let metadata = match (start, extra) {
            (Some(mut m), Some(x)) => {
                m.extend(x);
                Some(*m)
            }
            (Some(m), None) => Some(*m),
            (None, x) => x,
        };
        let a = Annotation {
            id: id.0,
            ended_at: SystemTime::now(),
            position,
            nanos,
            success,
            error_message: error_message.map(str::to_string),
            metadata,
        };
        let mut ring = self
            .annotations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if ring.len() == self.recent_capacity {
            ring.pop_front();
        }
        ring.push_back(a);
    }

    /// Starts a download operation (the seeds' `track_download_operation`).
    pub fn track_download(&self, name: &str, metadata: Option<Metadata>) -> OperationId {
        self.start(OperationKind::Download, name, metadata)
    }

    /// Starts a health check (the seeds' `track_health_check`).
    pub fn track_health_check(&self, name: &str, metadata: Option<Metadata>) -> OperationId {
        self.start(OperationKind::HealthCheck, name, metadata)
    }

    /// Starts a fallback strategy (the seeds' `track_fallback_strategy`).
    pub fn track_fallback_strategy(&self, name: &str, metadata: Option<Metadata>) -> OperationId {
        self.start(OperationKind::FallbackStrategy, name, metadata)
    }

    /// Starts an analytics collection (the seeds' `track_analytics_collection`).
    pub fn track_analytics_collection(
        &self,
        name: &str,
        metadata: Option<Metadata>,
    ) -> OperationId {
        self.start(OperationKind::AnalyticsCollection, name, metadata)
    }

    /// Starts a model operation (the seeds' `track_model_operation`).
    pub fn track_model_operation(&self, name: &str, metadata: Option<Metadata>) -> OperationId {
        self.start(OperationKind::ModelOperation, name, metadata)
    }

    /// The `instance` label of this tracker's metrics.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The in-flight table's capacity.
    pub fn capacity(&self) -> usize {
        self.table.slots.len()
    }

    /// Operations started and not ended yet (a scan of the table's state words).
    pub fn in_flight(&self) -> usize {
        self.scan().0
    }

    /// Age of the oldest operation in flight (a scan of the table), `None` if none is.
    pub fn oldest_in_flight_age(&self) -> Option<Duration> {
        self.scan().1
    }

    /// `(in flight, oldest age)`.
    fn scan(&self) -> (usize, Option<Duration>) {
        let clock = self.engine.clock();
        let now = clock.raw();
        let (mut n, mut oldest) = (0usize, None::<u64>);
        for slot in self.table.slots.iter() {
            // Acquire: pairs with `start`'s Release, so the start time read is this
            // operation's (or a later one's, if it ended meanwhile: then it is younger).
            if slot.state.load(Ordering::Acquire) & LIVE != 0 {
                n += 1;
                // Relaxed: see above.
                let s = slot.start.load(Ordering::Relaxed);
                oldest = Some(oldest.map_or(s, |o: u64| o.min(s)));
            }
        }
        (
            n,
            oldest.map(|s| Duration::from_nanos(clock.delta_nanos(s, now))),
        )
    }

    /// Statistics of `kind` over the last `hours_back` hours (the seeds'
    /// `get_metrics_by_type`), from the engine's time ranges.
    pub fn metrics_by_kind(&self, kind: OperationKind, hours_back: u64) -> OperationKindMetrics {
        self.kind_metrics_in(kind, hours(hours_back))
    }

    /// Statistics of `kind` over `range`.
    pub fn kind_metrics_in(&self, kind: OperationKind, range: Range) -> OperationKindMetrics {
        let mut by_kind = self.collect(range, Some(kind.label())).1;
        by_kind
            .remove(kind.label())
            .unwrap_or_else(|| OperationKindMetrics {
                operation_type: kind.label().to_string(),
                summary: Acc::default().stats(),
                operations: BTreeMap::new(),
            })
    }

    /// Every kind's statistics over the last `hours_back` hours and the tracker's state (the
    /// seeds' `get_all_metrics`).
    pub fn all_metrics(&self, hours_back: u64) -> AllOperationMetrics {
        self.all_metrics_in(hours(hours_back))
    }

    /// [`all_metrics`](Self::all_metrics) over `range`.
    pub fn all_metrics_in(&self, range: Range) -> AllOperationMetrics {
        let (summary, by_type) = self.collect(range, None);
        let (in_flight, oldest) = self.scan();
        let snap = self.engine.snapshot();
        let dropped = |reason: &str| {
            let labels = [("instance", self.instance.as_str()), ("reason", reason)];
            match snap
                .get("operation_dropped_total", &labels)
                .map(|m| &m.value)
            {
                Some(MetricValue::Counter(c)) => u64::try_from(c.total).unwrap_or(u64::MAX),
                _ => 0,
            }
        };
        AllOperationMetrics {
            summary,
            by_type,
            in_flight,
            oldest_in_flight_age: oldest.map(|d| d.as_secs_f64()),
            rejected_starts: dropped("table_full"),
            unknown_ends: dropped("unknown_id"),
        }
    }

    /// Per-series range statistics of this instance, summed per name, per kind and in total.
    fn collect(
        &self,
        range: Range,
        only_kind: Option<&str>,
    ) -> (OperationStats, BTreeMap<String, OperationKindMetrics>) {
        let mut per: BTreeMap<(String, String), Acc> = BTreeMap::new();
        let mut total = Acc::default();
        let pick = |values: &[&str]| {
            values[0] == self.instance && only_kind.is_none_or(|k| values[1] == k)
        };
        self.duration.for_each(|values, h| {
            let overflow = values[0] == tachymeter::OVERFLOW_VALUE;
            if !(pick(values) || overflow && only_kind.is_none()) {
                return;
            }
            let Some(r) = h.range(range) else { return };
            total.add_range(&r);
            if !overflow {
                per.entry((values[1].to_string(), values[2].to_string()))
                    .or_default()
                    .add_range(&r);
            }
        });
        self.failures.for_each(|values, c| {
            let overflow = values[0] == tachymeter::OVERFLOW_VALUE;
            if !(pick(values) || overflow && only_kind.is_none()) {
                return;
            }
            let n = c.range(range).map_or(0, |r| r.count);
            total.failed += n;
            if !overflow {
                per.entry((values[1].to_string(), values[2].to_string()))
                    .or_default()
                    .failed += n;
            }
        });
        let mut by_kind: BTreeMap<String, (Acc, BTreeMap<String, OperationStats>)> =
            BTreeMap::new();
        for ((kind, name), acc) in per {
            let k = by_kind.entry(kind).or_default();
            k.0.merge(&acc);
            k.1.insert(name, acc.stats());
        }
        let by_kind = by_kind
            .into_iter()
            .map(|(kind, (acc, operations))| {
                let m = OperationKindMetrics {
                    operation_type: kind.clone(),
                    summary: acc.stats(),
                    operations,
                };
                (kind, m)
            })
            .collect();
        (total.stats(), by_kind)
    }

    /// The last `count` annotated operations (see the module docs' "Metadata"), oldest first.
    /// Takes the annotation ring's lock briefly (the id-only path never takes it).
    pub fn recent_operations(&self, count: usize) -> Vec<EndedOperation> {
        let notes: Vec<Annotation> = {
            let ring = self
                .annotations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            ring.iter()
                .skip(ring.len().saturating_sub(count))
                .cloned()
                .collect()
        };
        notes
            .into_iter()
            .map(|a| {
                let values = self.duration.at(a.position).map(|(_, v)| v);
                let label = |i| {
                    values
                        .and_then(|v| v.get(i))
                        .unwrap_or(tachymeter::OVERFLOW_VALUE)
                        .to_string()
                };
                EndedOperation {
                    id: a.id,
                    ended_at: a.ended_at,
                    operation_type: label(1),
                    operation_name: label(2),
                    duration: a.nanos as f64 / 1e9,
                    success: a.success,
                    error_message: a.error_message,
                    metadata: a.metadata,
                }
            })
            .collect()
    }
}

fn hours(hours_back: u64) -> Range {
    Range::Last(Duration::from_secs(hours_back.saturating_mul(3600)))
}

/// Sums of range statistics.
#[derive(Default)]
struct Acc {
    data: Option<HistogramData>,
    failed: u64,
    throughput: f64,
}

impl Acc {
    fn add_range(&mut self, r: &tachymeter::RangeStats) {
        if let Some(d) = &r.data {
            match &mut self.data {
                Some(a) => a.merge(d),
                None => self.data = Some(d.clone()),
            }
        }
        self.throughput += r.throughput;
    }

    fn merge(&mut self, other: &Acc) {
        if let Some(d) = &other.data {
            match &mut self.data {
                Some(a) => a.merge(d),
                None => self.data = Some(d.clone()),
            }
        }
        self.failed += other.failed;
        self.throughput += other.throughput;
    }

    fn stats(&self) -> OperationStats {
        let d = self.data.as_ref();
        let count = d.map_or(0, HistogramData::count);
        let failed = self.failed.min(count);
        let secs = |v: Option<f64>| v.map(|ns| ns / 1e9);
        OperationStats {
            total_operations: count,
            successful_operations: count - failed,
            failed_operations: failed,
            success_rate: if count == 0 {
                1.0
            } else {
                (count - failed) as f64 / count as f64
            },
            average_duration: secs(d.and_then(HistogramData::mean)),
            min_duration: secs(d.and_then(HistogramData::min).map(|v| v as f64)),
            max_duration: secs(d.and_then(HistogramData::max).map(|v| v as f64)),
            p50_duration: secs(d.and_then(HistogramData::p50)),
            p95_duration: secs(d.and_then(HistogramData::p95)),
            p99_duration: secs(d.and_then(HistogramData::p99)),
            throughput: self.throughput,
        }
    }
}

/// The state word: live, has-metadata, generation, series position (low 32 bits).
const LIVE: u64 = 1 << 63;
const META: u64 = 1 << 62;
const GEN_SHIFT: u32 = 32;
const GEN_MASK: u64 = (1 << 30) - 1;
/// The empty free-stack index.
const NIL: u32 = u32::MAX;

/// One in-flight slot.
#[derive(Debug)]
struct Slot {
    /// [`LIVE`] | [`META`] | generation << 32 | series position. Written by the slot's owner
    /// (`start`) and by the one winning `end` (CAS); read by readers' scans.
    state: AtomicU64,
    /// The engine clock at `start`. Written by the owner before the state's Release store.
    start: AtomicU64,
    /// The next free slot while this one is on a free stack. Written by whoever pushes it.
    next: AtomicU32,
    /// The start's metadata (only when [`META`] is set): locked by the owner and the ender.
    meta: Mutex<Option<Box<Metadata>>>,
}

/// The fixed in-flight table and its sharded free stacks.
#[derive(Debug)]
struct Table {
    slots: Box<[Slot]>,
    /// Per shard (a power of two of them): tag << 32 | index of the top free slot ([`NIL`] if
    /// empty). Slot `i` belongs to shard `i & (heads.len() - 1)`.
    heads: Box<[CachePadded<AtomicU64>]>,
}

/// The next home shard number handed to a thread.
static NEXT_HOME: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's home shard number (`usize::MAX` until first use).
    static HOME: Cell<usize> = const { Cell::new(usize::MAX) };
}

impl Table {
    fn new(capacity: usize) -> Table {
        let threads = std::thread::available_parallelism().map_or(4, |n| n.get());
        // A power of two (slot `i` is in shard `i & mask`), no more than there are slots.
        let mut shards = (2 * threads).next_power_of_two().min(64);
        while shards > capacity {
            shards /= 2;
        }
        let slots: Box<[Slot]> = (0..capacity)
            .map(|_| Slot {
                state: AtomicU64::new(0),
                start: AtomicU64::new(0),
                next: AtomicU32::new(NIL),
                meta: Mutex::new(None),
            })
            .collect();
        let table = Table {
            slots,
            heads: (0..shards)
                .map(|_| CachePadded::new(AtomicU64::new(u64::from(NIL))))
                .collect(),
        };
        // Highest first, so that each shard hands out its lowest slots first.
        for i in (0..capacity).rev() {
            table.release(i);
        }
        table
    }

    /// A free slot: from this thread's home shard, else from the others; `None` if every
    /// shard is empty.
    #[inline]
    fn claim(&self) -> Option<usize> {
        let n = self.heads.len();
        let home = HOME.with(|h| {
            let mut v = h.get();
            if v == usize::MAX {
                // Relaxed: only distinctness matters.
                v = NEXT_HOME.fetch_add(1, Ordering::Relaxed);
                h.set(v);
            }
            v
        });
        (0..n).find_map(|k| self.pop((home + k) & (n - 1)))
    }

    #[inline]
    fn pop(&self, shard: usize) -> Option<usize> {
        let head = &self.heads[shard];
        // Acquire: pairs with `release`'s Release CAS: the pusher's reads of the slot and its
        // `next` store happen before we use the slot.
        let mut h = head.load(Ordering::Acquire);
        loop {
            let idx = h as u32;
            if idx == NIL {
                return None;
            }
            // Relaxed: a stale value is harmless, the tagged CAS below then fails.
            let next = self.slots[idx as usize].next.load(Ordering::Relaxed);
            let new = (h >> 32).wrapping_add(1) << 32 | u64::from(next);
            // Acquire: as the load above.
            match head.compare_exchange_weak(h, new, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => return Some(idx as usize),
                Err(x) => h = x,
            }
        }
    }

    /// Pushes slot `idx` back onto its shard's free stack.
    #[inline]
    fn release(&self, idx: usize) {
        let head = &self.heads[idx & (self.heads.len() - 1)];
        // Relaxed: the CAS below validates it.
        let mut h = head.load(Ordering::Relaxed);
        loop {
            // Relaxed: published by the Release CAS.
            self.slots[idx].next.store(h as u32, Ordering::Relaxed);
            let new = (h >> 32).wrapping_add(1) << 32 | idx as u64;
            // Release: see `pop`.
            match head.compare_exchange_weak(h, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(x) => h = x,
            }
        }
    }
}

/// The process-wide operation tracker (instance `global`), made on first use; on a private
/// engine if the process-wide one uses one of its names as another kind (never a panic).
pub fn global_operation_tracker() -> &'static OperationTracker {
    static GLOBAL: once_cell::sync::OnceCell<OperationTracker> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            OperationTrackerBuilder {
                engine,
                instance: Some("global".into()),
                ..OperationTracker::builder()
            }
            .build()
        })
    })
}
