//! A [`metrics`](https://docs.rs/metrics/0.24) recorder backed by a tachymeter engine: code
//! instrumented with `metrics::counter!`, `gauge!` and `histogram!` records into the engine's
//! per-thread shards, and the series appear in the engine's snapshots and exporters.
//!
//! This is a bridge: it sits above the engine (`tachymeter`) and beside the exporters; nothing
//! in the engine knows about it.
//!
//! ```
//! use std::sync::Arc;
//! use tachymeter_metrics::TachymeterRecorder;
//!
//! let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
//! let recorder = TachymeterRecorder::new(engine.clone());
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_histogram!("request_duration", metrics::Unit::Seconds, "Latency.");
//!     metrics::counter!("requests_total", "route" => "/api").increment(2);
//!     metrics::histogram!("request_duration").record(0.0123); // 12.3 ms
//!     metrics::gauge!("queue_depth").set(7.0);
//! });
//! let snap = engine.flush();
//! let total = snap.get("requests_total", &[("route", "/api")]).unwrap();
//! assert!(matches!(&total.value, tachymeter::MetricValue::Counter(c) if c.total == 2));
//! let h = snap.histogram("request_duration").unwrap();
//! assert_eq!(h.in_unit(h.cumulative.sum() as f64), 0.0123);
//! assert_eq!(snap.gauge("queue_depth").unwrap().value, 7.0);
//! ```
//!
//! # How a record is found
//!
//! Each `metrics` key (name and labels) becomes one engine metric, registered the first time
//! the key is seen (the cold path: a lock and an allocation). Later registrations of the key —
//! every macro call, since `metrics` asks the recorder on each — find it in an insert-only
//! open-addressing table by the key's precomputed hash, without a lock or an allocation.
//!
//! `metrics` hands out handles as `Arc`s, and a macro call clones and drops one: two atomic
//! read-modify-writes on the `Arc`'s count. If every thread shared one `Arc` per key, those
//! counts would bounce between cores. So each key keeps up to [`LANES`] `Arc`s, each on its own
//! cache line, and a thread always uses the lane of its thread number: threads on different
//! lanes never write the same line, and every lane records into the engine's own per-thread
//! shard anyway.
//!
//! # Names, units and values
//!
//! - Names and label names are made Prometheus-valid (`.`, `-` and other characters become
//!   `_`; a leading digit gets a `_` prefix), as `metrics-exporter-prometheus` does.
//! - A unit given with `describe_*!` *before* the key's first use becomes the engine metric's
//!   unit (`Seconds`, `Milliseconds`, `Microseconds`, `Nanoseconds`, `Bytes`, `Percent`; other
//!   units by their `metrics` name). A description given later does not change a registered
//!   metric.
//! - Histogram values are `f64`s in the unit; the engine stores them at the unit's resolution
//!   (nanoseconds for time units). A histogram without a described unit stores whole numbers,
//!   unless its name ends in `_seconds` or a default unit is set with
//!   [`TachymeterRecorder::default_histogram_unit`]: values below the resolution are counted
//!   by the engine (`below_resolution`), never silently 0.
//! - `Counter::absolute(v)` raises the counter to `v` (a lower `v` is ignored: counters are
//!   monotonic).
//! - A key the engine refuses (another kind under the same name, too many series, an invalid
//!   label) gets a no-op handle and is counted in [`TachymeterRecorder::rejected`].
//!
//! # Costs
//!
//! Install the recorder globally ([`TachymeterRecorder::install`]) or locally
//! (`metrics::with_local_recorder(&recorder, || ...)`). `tests/recorder.rs` counts 0
//! allocations over 150,000 macro records with static labels. Dynamic label values make the
//! `metrics` macro itself build and hash a `Vec` of labels on every call, before any recorder
//! is reached: hold the handle on hot paths.
//!
//! Measured with `cargo bench -p tachymeter-benches --bench compare -- 'counter/|labelled/'`
//! (one run, with the 2 cores also running other builds; medians in ns, 1 thread / 2 threads
//! per thread):
//! - **static key**: macro through the bridge 12.1 / 24.8, through
//!   metrics-exporter-prometheus 98.4 / 258 (8×, 10×);
//! - **handle**: bridge 5.4 / 13.7, exporter 5.1 / 17.6, tachymeter's own handle 2.0 / 5.6;
//! - **2 dynamic labels**: macro through the bridge 77 / 184, exporter 198 / 630. Most of this
//!   cost is the `metrics` crate building and hashing the key.
#![forbid(unsafe_code)]

use crossbeam_utils::CachePadded;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use once_cell::sync::OnceCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tachymeter::{Engine, Opts};

/// `Arc`s per key: threads use lane `thread number % LANES`.
pub const LANES: usize = 16;

/// Keys one recorder holds by default (further keys are rejected and counted).
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// The engine handle behind one key.
#[derive(Debug, Clone)]
enum Handle {
    Counter(tachymeter::Counter),
    Gauge(tachymeter::Gauge),
    Histogram(tachymeter::Histogram),
}

/// The kinds of `metrics` handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A counter lane: what a `metrics::Counter`'s `Arc` points to.
#[derive(Debug)]
struct CounterLane {
    counter: tachymeter::Counter,
    /// The counter's highest `absolute` value (shared by the key's lanes).
    absolute: Arc<AtomicU64>,
}

impl CounterFn for Padded<CounterLane> {
    #[inline]
    fn increment(&self, value: u64) {
        self.0.counter.add(value);
    }

    fn absolute(&self, value: u64) {
        // Relaxed: a high-water mark; each raise adds exactly the difference it won.
        let prev = self.0.absolute.fetch_max(value, Ordering::Relaxed);
        if value > prev {
            self.0.counter.add(value - prev);
        }
    }
}

impl GaugeFn for Padded<tachymeter::Gauge> {
    #[inline]
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

impl HistogramFn for Padded<tachymeter::Histogram> {
    #[inline]
    fn record(&self, value: f64) {
        self.0.record_f64(value);
    }
}

/// A lane on its own cache line, so lanes' `Arc` counts never share a line.
#[derive(Debug)]
struct Padded<T>(CachePadded<T>);

/// One lane's `Arc`, of the key's kind.
#[derive(Debug, Clone)]
enum LaneArc {
    Counter(Arc<Padded<CounterLane>>),
    Gauge(Arc<Padded<tachymeter::Gauge>>),
    Histogram(Arc<Padded<tachymeter::Histogram>>),
}

/// One registered key.
struct Entry {
    hash: u64,
    key: Key,
    kind: Kind,
    handle: Handle,
    absolute: Arc<AtomicU64>,
    lanes: [OnceCell<LaneArc>; LANES],
}

impl Entry {
    /// This thread's lane (made on the lane's first use: the cold path).
    #[inline]
    fn lane(&self) -> &LaneArc {
        self.lanes[lane_index()].get_or_init(|| {
            let pad = |x| Arc::new(Padded(CachePadded::new(x)));
            match &self.handle {
                Handle::Counter(c) => LaneArc::Counter(pad(CounterLane {
                    counter: c.clone(),
                    absolute: self.absolute.clone(),
                })),
                Handle::Gauge(g) => LaneArc::Gauge(Arc::new(Padded(CachePadded::new(g.clone())))),
                Handle::Histogram(h) => {
                    LaneArc::Histogram(Arc::new(Padded(CachePadded::new(h.clone()))))
                }
            }
        })
    }
}

/// This thread's lane.
#[inline]
fn lane_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static LANE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LANES;
    }
    LANE.try_with(|l| *l).unwrap_or(0)
}

/// Registered keys: an insert-only open-addressing table of set-once cells. Written by hand
/// rather than with a concurrent map crate because the lookup must take no lock, allocate
/// nothing and touch no shared counter (no epoch pin or read lock); insert-only semantics (the
/// `metrics` API never unregisters) make set-once cells enough.
struct Table {
    slots: Box<[OnceCell<Box<Entry>>]>,
    mask: usize,
    max: usize,
    len: AtomicUsize,
    insert: Mutex<()>,
}

impl Table {
    fn new(max: usize) -> Table {
        let cap = (2 * max.max(1)).next_power_of_two();
        Table {
            slots: (0..cap).map(|_| OnceCell::new()).collect(),
            mask: cap - 1,
            max,
            len: AtomicUsize::new(0),
            insert: Mutex::new(()),
        }
    }

    /// The entry of `key` and `kind`: no lock, no allocation.
    #[inline]
    fn find(&self, key: &Key, kind: Kind) -> Option<&Entry> {
        let hash = key.get_hash();
        let mut i = hash as usize & self.mask;
        loop {
            // Acquire (inside `get`): pairs with `set`'s Release, so the entry is complete.
            match self.slots[i].get() {
                None => return None,
                Some(e) if e.hash == hash && e.kind == kind && e.key == *key => return Some(e),
                Some(_) => i = (i + 1) & self.mask,
            }
        }
    }

    /// Inserts `make()` for `key` unless present; `None` when the table is full.
    #[cold]
    fn insert(
        &self,
        key: &Key,
        kind: Kind,
        make: impl FnOnce() -> Option<Handle>,
    ) -> Option<&Entry> {
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = self.find(key, kind) {
            return Some(e);
        }
        // Relaxed: written only under `insert`, which we hold.
        if self.len.load(Ordering::Relaxed) >= self.max {
            return None;
        }
        let handle = make()?;
        let hash = key.get_hash();
        let mut i = hash as usize & self.mask;
        while self.slots[i].get().is_some() {
            i = (i + 1) & self.mask;
        }
        let entry = Box::new(Entry {
            hash,
            key: key.clone(),
            kind,
            handle,
            absolute: Arc::new(AtomicU64::new(0)),
            lanes: Default::default(),
        });
        let _ = self.slots[i].set(entry);
        self.len.fetch_add(1, Ordering::Relaxed);
        self.slots[i].get().map(|b| &**b)
    }
}

/// A description given with `describe_*!`.
#[derive(Debug, Clone, Default)]
struct Description {
    unit: Option<Unit>,
    help: String,
}

struct Inner {
    engine: Arc<Engine>,
    table: Table,
    descriptions: Mutex<HashMap<String, Description>>,
    default_histogram_unit: Option<Unit>,
    rejected: AtomicU64,
}

/// A `metrics::Recorder` that records into a tachymeter [`Engine`] (see the crate docs).
/// Cheap to clone: clones share the keys.
#[derive(Clone)]
pub struct TachymeterRecorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TachymeterRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TachymeterRecorder")
            .field("keys", &self.keys())
            .field("rejected", &self.rejected())
            .finish()
    }
}

impl TachymeterRecorder {
    /// A recorder into `engine` holding up to [`DEFAULT_MAX_KEYS`] keys.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self::with_max_keys(engine, DEFAULT_MAX_KEYS)
    }

    /// A recorder into `engine` holding up to `max_keys` keys (the engine's own series limits
    /// apply too).
    pub fn with_max_keys(engine: Arc<Engine>, max_keys: usize) -> Self {
        TachymeterRecorder {
            inner: Arc::new(Inner {
                engine,
                table: Table::new(max_keys),
                descriptions: Mutex::default(),
                default_histogram_unit: None,
                rejected: AtomicU64::new(0),
            }),
        }
    }

    /// The unit of histograms registered without a described unit (default: none, except
    /// names ending in `_seconds`). Call before the recorder is shared.
    #[must_use]
    pub fn default_histogram_unit(mut self, unit: Unit) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.default_histogram_unit = Some(unit);
        }
        self
    }

    /// Installs this recorder as the process-wide `metrics` recorder.
    ///
    /// # Errors
    /// A recorder was installed already.
    pub fn install(self) -> Result<(), metrics::SetRecorderError<Self>> {
        metrics::set_global_recorder(self)
    }

    /// The engine recorded into.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    /// Keys registered.
    pub fn keys(&self) -> usize {
        // Relaxed: a statistic.
        self.inner.table.len.load(Ordering::Relaxed)
    }

    /// Registrations refused (a kind conflict, an invalid label, the engine's or this
    /// recorder's limits): they got no-op handles.
    pub fn rejected(&self) -> u64 {
        // Relaxed: a statistic.
        self.inner.rejected.load(Ordering::Relaxed)
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let mut d = self
            .inner
            .descriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        d.insert(
            sanitize(key.as_str()),
            Description {
                unit,
                help: description.into_owned(),
            },
        );
    }

    /// The key's entry, registering it on first use; `None` if refused (counted).
    #[inline]
    fn entry(&self, key: &Key, kind: Kind) -> Option<&Entry> {
        let table = &self.inner.table;
        if let Some(e) = table.find(key, kind) {
            return Some(e);
        }
        let e = table.insert(key, kind, || self.register(key, kind));
        if e.is_none() {
            // Relaxed: a statistic.
            self.inner.rejected.fetch_add(1, Ordering::Relaxed);
        }
        e
    }

    /// Registers `key` with the engine (cold path).
    #[cold]
    fn register(&self, key: &Key, kind: Kind) -> Option<Handle> {
        let name = sanitize(key.name());
        let description = self
            .inner
            .descriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
            .cloned()
            .unwrap_or_default();
        let unit = match (kind, description.unit) {
            (_, Some(u)) => unit_name(u),
            (Kind::Histogram, None) => match self.inner.default_histogram_unit {
                Some(u) => unit_name(u),
                None if name.ends_with("_seconds") => "seconds",
                None => "",
            },
            (_, None) => "",
        };
        let mut opts = Opts::new(name.as_str())
            .help(description.help.as_str())
            .unit(unit);
        for label in key.labels() {
            opts = opts.label(sanitize(label.key()), label.value());
        }
        let e = &self.inner.engine;
        match kind {
            Kind::Counter => e.counter(opts).ok().map(Handle::Counter),
            Kind::Gauge => e.gauge(opts).ok().map(Handle::Gauge),
            Kind::Histogram => e.histogram(opts).ok().map(Handle::Histogram),
        }
    }
}

impl Recorder for TachymeterRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match self.entry(key, Kind::Counter).map(Entry::lane) {
            Some(LaneArc::Counter(a)) => Counter::from_arc(a.clone()),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match self.entry(key, Kind::Gauge).map(Entry::lane) {
            Some(LaneArc::Gauge(a)) => Gauge::from_arc(a.clone()),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match self.entry(key, Kind::Histogram).map(Entry::lane) {
            Some(LaneArc::Histogram(a)) => Histogram::from_arc(a.clone()),
            _ => Histogram::noop(),
        }
    }
}

/// The engine's unit word for a `metrics` unit.
fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Count => "",
        other => other.as_str(),
    }
}

/// `name` with every character outside `[a-zA-Z0-9_:]` replaced by `_`, and a `_` before a
/// leading digit (an empty name becomes `_`).
fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn names_become_prometheus_valid() {
        assert_eq!(sanitize("http.requests-total"), "http_requests_total");
        assert_eq!(sanitize("9lives"), "_9lives");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("ns:name_ok"), "ns:name_ok");
        for s in ["a b", "ü", "x/y"] {
            assert!(tachymeter::is_valid_metric_name(&sanitize(s)), "{s}");
        }
    }
}
