//! Label families: one metric name with fixed label names, and one series per tuple of label
//! values, found without a lock or an allocation.
//!
//! A family keeps its series in an open-addressing table of fixed capacity (twice the family's
//! series limit, rounded up to a power of two, so it never fills). A slot is written once, under
//! the family's insert lock, by publishing a boxed series through the same set-once pointer
//! array the per-thread shards use ([`ShardArray`]); lookups hash the values, probe with
//! `Acquire` loads and compare the strings in place. A lookup that misses takes the cold path:
//! the lock, a second probe, and registration of the new series in the engine's registry.
//! Series are never freed before the family: a handle returned by [`Family::with`] borrows the
//! family and stays valid; removing a series only hides it from snapshots.
//!
//! Beyond the limit (the engine's `label_set_limit` minus one, kept for the overflow series), a
//! new tuple of values is recorded into one **overflow series** whose every label value is
//! [`OVERFLOW_VALUE`], and counted ([`Family::overflowed`]); so is a call with the wrong number
//! of values. Recording never fails and never panics.
#![deny(unsafe_code)]

use crate::desc::{HistogramConfig, Opts, RegisterError};
use crate::engine::Shared;
use crate::kind::MetricKind;
use crate::shard_array::ShardArray;
use crate::sync::{lock, Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering};
use std::hash::BuildHasher;

/// The label value every label of a family's overflow series carries.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// The label values of one series, as [`Family::at`] finds them (no allocation).
#[derive(Debug, Clone, Copy)]
pub enum FamilyValues<'a> {
    /// A series of the table: its values in the order of the label names.
    Series(&'a [Box<str>]),
    /// The overflow series: this many labels, each [`OVERFLOW_VALUE`].
    Overflow(usize),
}

impl<'a> FamilyValues<'a> {
    /// The value of the `i`-th label (`None` past the last).
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match *self {
            FamilyValues::Series(v) => v.get(i).map(|s| &**s),
            FamilyValues::Overflow(n) => (i < n).then_some(OVERFLOW_VALUE),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match *self {
            FamilyValues::Series(v) => v.len(),
            FamilyValues::Overflow(n) => n,
        }
    }

    /// True for a family without labels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One series of a family: its label values and its handle.
struct Series<H> {
    hash: u64,
    /// Set by `remove`; a lookup that finds it set brings the series back (cold path).
    removed: AtomicBool,
    values: Box<[Box<str>]>,
    handle: H,
}

/// How a family makes, hides and replaces its kind of handle (set by the constructor).
pub(crate) struct KindOps<H> {
    pub(crate) register: fn(&Shared, Opts, &Option<HistogramConfig>) -> Result<H, RegisterError>,
    pub(crate) unregistered: fn(&Shared) -> H,
    /// Hides the series from snapshots (`true`) or shows it again (`false`).
    pub(crate) set_removed: fn(&H, bool),
    pub(crate) reset: fn(&H),
}

struct Inner<H> {
    shared: Arc<Shared>,
    /// Name, help and unit of every series (labels are added per series).
    template: Opts,
    label_names: Box<[String]>,
    config: Option<HistogramConfig>,
    ops: KindOps<H>,
    table: ShardArray<Series<H>, 0>,
    mask: usize,
    /// Series the table may hold (the overflow series is kept apart).
    limit: usize,
    /// Series in the table (written under `insert`, read without it).
    len: AtomicUsize,
    /// Serialises inserts.
    insert: Mutex<()>,
    /// The overflow series, made on first use.
    overflow: once_cell::sync::OnceCell<H>,
    /// Records routed to the overflow series (limit reached or wrong number of values).
    overflowed: AtomicU64,
    hasher: foldhash::fast::RandomState,
}

/// A metric name with fixed label names: `with(&values)` finds (or registers) the series for
/// those label values.
///
/// A lookup of an existing series takes no lock and allocates nothing: it hashes the values
/// and compares them in place (about 10 ns for two short values). The returned handle borrows
/// the family; clone it to keep it. Cloning the family is cheap (an `Arc`).
///
/// ```
/// use tachymeter::{Engine, Opts};
/// let engine = Engine::builder().background(false).build().unwrap();
/// let requests = engine
///     .counter_family(Opts::new("http_requests_total").help("Requests."), &["route", "method"])
///     .unwrap();
/// for (route, method) in [("/api", "GET"), ("/api", "POST"), ("/api", "GET")] {
///     requests.with(&[route, method]).increment();
/// }
/// requests.record(&["/health", "GET"], 5); // the same, in one call
/// let snap = engine.flush();
/// let get = snap.get("http_requests_total", &[("method", "GET"), ("route", "/api")]);
/// assert!(matches!(&get.unwrap().value, tachymeter::MetricValue::Counter(c) if c.total == 2));
/// requests.remove(&["/health", "GET"]); // leaves the next snapshot
/// assert!(engine.flush().get("http_requests_total", &[("method", "GET"), ("route", "/health")]).is_none());
/// ```
pub struct Family<H> {
    inner: Arc<Inner<H>>,
}

impl<H> Clone for Family<H> {
    fn clone(&self) -> Self {
        Family {
            inner: self.inner.clone(),
        }
    }
}

impl<H> std::fmt::Debug for Family<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.inner.template.name())
            .field("labels", &self.inner.label_names)
            .field("series", &self.len())
            .finish()
    }
}

impl<H> Family<H> {
    /// Declares the family in `shared`'s registry (validating the name, label names, unit and
    /// kind) and builds its empty table.
    pub(crate) fn new(
        shared: &Arc<Shared>,
        opts: Opts,
        label_names: &[&str],
        kind: MetricKind,
        config: Option<HistogramConfig>,
        ops: KindOps<H>,
    ) -> Result<Family<H>, RegisterError> {
        let mut check = opts.clone();
        for l in label_names {
            check = check.label(*l, "");
        }
        shared.registry().declare(check, kind, config.clone())?;
        // One label set is kept for the overflow series.
        let limit = shared.registry().label_set_limit().saturating_sub(1).max(1);
        let capacity = (2 * limit).next_power_of_two();
        Ok(Family {
            inner: Arc::new(Inner {
                shared: shared.clone(),
                template: opts,
                label_names: label_names.iter().map(|l| l.to_string()).collect(),
                config,
                ops,
                table: ShardArray::table(capacity),
                mask: capacity - 1,
                limit,
                len: AtomicUsize::new(0),
                insert: Mutex::new(()),
                overflow: once_cell::sync::OnceCell::new(),
                overflowed: AtomicU64::new(0),
                hasher: foldhash::fast::RandomState::default(),
            }),
        })
    }

    /// A family that records everything into one handle belonging to no registry (what the
    /// macros use when a family's registration failed, so that they never panic).
    #[cfg(not(loom))]
    pub(crate) fn detached(shared: &Arc<Shared>, label_names: &[&str], ops: KindOps<H>) -> Self {
        let overflow = once_cell::sync::OnceCell::new();
        let _ = overflow.set((ops.unregistered)(shared));
        Family {
            inner: Arc::new(Inner {
                shared: shared.clone(),
                template: Opts::new("unregistered"),
                label_names: label_names.iter().map(|l| l.to_string()).collect(),
                config: None,
                ops,
                table: ShardArray::table(1),
                mask: 0,
                limit: 0,
                len: AtomicUsize::new(0),
                insert: Mutex::new(()),
                overflow,
                overflowed: AtomicU64::new(0),
                hasher: foldhash::fast::RandomState::default(),
            }),
        }
    }

    /// The handle of the series with these label values (in the order of the label names),
    /// registering it on first use.
    #[inline]
    pub fn with(&self, values: &[&str]) -> &H {
        self.with_position(values).1
    }

    /// [`with`](Self::with), also returning the series' position: a dense index, fixed for the
    /// family's lifetime, that [`at`](Self::at) turns back into the handle without hashing.
    /// Monitors keep positions where they cannot keep a borrowed handle (an atomic slot, a
    /// record field). The overflow series has position [`OVERFLOW_POSITION`](Self::OVERFLOW_POSITION).
    ///
    /// ```
    /// let engine = tachymeter::Engine::builder().background(false).label_set_limit(3).build().unwrap();
    /// let fam = engine.counter_family("ops_total", &["kind", "name"]).unwrap();
    /// let (pos, c) = fam.with_position(&["download", "model.bin"]);
    /// c.increment();
    /// let (again, values) = fam.at(pos).unwrap();
    /// again.increment();
    /// assert_eq!((values.get(0), values.get(1), values.get(2)), (Some("download"), Some("model.bin"), None));
    /// fam.with(&["health", "db"]).increment();
    /// // Past the limit (3 - 1 series), the overflow series.
    /// let (overflow, _) = fam.with_position(&["health", "cache"]);
    /// assert_eq!(overflow, tachymeter::CounterFamily::OVERFLOW_POSITION);
    /// assert_eq!(fam.at(overflow).unwrap().1.get(1), Some(tachymeter::OVERFLOW_VALUE));
    /// let mut seen = Vec::new();
    /// fam.for_each(|values, _| seen.push(values.join("/")));
    /// seen.sort();
    /// assert_eq!(seen, ["__overflow__/__overflow__", "download/model.bin", "health/db"]);
    /// let snap = engine.flush();
    /// let total = snap.get("ops_total", &[("kind", "download"), ("name", "model.bin")]).unwrap();
    /// assert!(matches!(&total.value, tachymeter::MetricValue::Counter(c) if c.total == 2));
    /// ```
    #[inline]
    pub fn with_position(&self, values: &[&str]) -> (usize, &H) {
        let inner = &*self.inner;
        let hash = inner.hash(values);
        match inner.find(hash, values) {
            // Relaxed: a flag of the cold path; the handle is valid either way.
            Some((i, series)) if !series.removed.load(Ordering::Relaxed) => (i, &series.handle),
            _ => self.with_cold(hash, values),
        }
    }

    /// The position of the overflow series (see [`with_position`](Self::with_position)).
    pub const OVERFLOW_POSITION: usize = usize::MAX;

    /// The handle and label values of the series at `position` (from
    /// [`with_position`](Self::with_position)); `None` for a position that holds no series. The
    /// overflow series (if made) has every label value [`OVERFLOW_VALUE`].
    #[inline]
    pub fn at(&self, position: usize) -> Option<(&H, FamilyValues<'_>)> {
        let inner = &*self.inner;
        if position == Self::OVERFLOW_POSITION {
            let n = inner.label_names.len();
            return inner.overflow.get().map(|h| (h, FamilyValues::Overflow(n)));
        }
        if position >= inner.table.len() {
            return None;
        }
        inner
            .table
            .get(position)
            .map(|s| (&s.handle, FamilyValues::Series(&s.values)))
    }

    /// Calls `f` with the label values and handle of every series (removed ones included), then
    /// of the overflow series if it was made. Takes no lock.
    pub fn for_each(&self, mut f: impl FnMut(&[&str], &H)) {
        let mut values: Vec<&str> = Vec::new();
        for (_, series) in self.inner.table.iter() {
            values.clear();
            values.extend(series.values.iter().map(|v| &**v));
            f(&values, &series.handle);
        }
        if let Some(h) = self.inner.overflow.get() {
            values.clear();
            values.extend(self.inner.label_names.iter().map(|_| OVERFLOW_VALUE));
            f(&values, h);
        }
    }

    #[cold]
    #[inline(never)]
    fn with_cold(&self, hash: u64, values: &[&str]) -> (usize, &H) {
        let inner = &*self.inner;
        let overflow = || (Self::OVERFLOW_POSITION, inner.overflow_handle());
        if values.len() != inner.label_names.len() {
            return overflow();
        }
        // Relaxed: a fast refusal; the check under the lock below is the exact one.
        if inner.len.load(Ordering::Relaxed) >= inner.limit {
            return overflow();
        }
        let _guard = lock(&inner.insert);
        if let Some((i, series)) = inner.find(hash, values) {
            // A removed series used again comes back (with its totals).
            // Relaxed: as in `with`.
            series.removed.store(false, Ordering::Relaxed);
            (inner.ops.set_removed)(&series.handle, false);
            return (i, &series.handle);
        }
        // Relaxed: written only under `insert`, which we hold.
        let len = inner.len.load(Ordering::Relaxed);
        if len >= inner.limit {
            return overflow();
        }
        let handle =
            match (inner.ops.register)(&inner.shared, inner.opts_for(values), &inner.config) {
                Ok(h) => h,
                // The engine-wide series limit, or the name's label sets taken by direct
                // registrations: the records go to the overflow series.
                Err(_) => return overflow(),
            };
        let mut i = hash as usize & inner.mask;
        // A free slot exists: the table holds at most `limit` series in `2·limit` slots.
        while inner.table.get(i).is_some() {
            i = (i + 1) & inner.mask;
        }
        let series = inner.table.get_or_init(i, || Series {
            hash,
            removed: AtomicBool::new(false),
            values: values.iter().map(|v| Box::from(*v)).collect(),
            handle,
        });
        // Relaxed: under `insert`; lookups find series through the table, not through `len`.
        inner.len.store(len + 1, Ordering::Relaxed);
        (i, &series.handle)
    }

    /// Records through the series of `values`: `family.record(&["/api", "GET"], 1)` for a
    /// counter adds 1 (see the kind's `FamilyRecord` impl).
    #[inline]
    pub fn record<V>(&self, values: &[&str], v: V)
    where
        H: FamilyRecord<V>,
    {
        self.with(values).family_record(v);
    }

    /// Hides the series of `values` from snapshots (and so from every exporter) from the next
    /// collection on. Its totals and memory stay: the handle keeps working, and using the
    /// values again (or registering the same series) brings it back with its totals. Returns
    /// whether such a series exists.
    pub fn remove(&self, values: &[&str]) -> bool {
        let inner = &*self.inner;
        let hash = inner.hash(values);
        match inner.find(hash, values) {
            Some((_, series)) => {
                inner.hide(series);
                true
            }
            None => false,
        }
    }

    /// Resets the series of `values` (see [`Counter::reset`](crate::Counter::reset)); returns
    /// whether it exists.
    pub fn reset(&self, values: &[&str]) -> bool {
        let inner = &*self.inner;
        let hash = inner.hash(values);
        match inner.find(hash, values) {
            Some((_, series)) => {
                (inner.ops.reset)(&series.handle);
                true
            }
            None => false,
        }
    }

    /// Resets every series of the family (see [`Counter::reset`](crate::Counter::reset)).
    pub fn reset_all(&self) {
        for (_, series) in self.inner.table.iter() {
            (self.inner.ops.reset)(&series.handle);
        }
    }

    /// Resets (see [`Counter::reset`](crate::Counter::reset)) every series whose label values
    /// `pick` accepts.
    pub fn reset_where(&self, mut pick: impl FnMut(&[&str]) -> bool) {
        let mut values: Vec<&str> = Vec::new();
        for (_, series) in self.inner.table.iter() {
            values.clear();
            values.extend(series.values.iter().map(|v| &**v));
            if pick(&values) {
                (self.inner.ops.reset)(&series.handle);
            }
        }
    }

    /// Removes (see [`remove`](Self::remove)) every series whose label values `keep` rejects.
    pub fn retain(&self, mut keep: impl FnMut(&[&str]) -> bool) {
        let mut values: Vec<&str> = Vec::new();
        for (_, series) in self.inner.table.iter() {
            values.clear();
            values.extend(series.values.iter().map(|v| &**v));
            if !keep(&values) {
                self.inner.hide(series);
            }
        }
    }

    /// Series in the family (removed ones included; the overflow series not).
    pub fn len(&self) -> usize {
        // Relaxed: a statistic.
        self.inner.len.load(Ordering::Relaxed)
    }

    /// True if no series was made yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records routed to the overflow series because the family was full or the number of
    /// values did not match the label names.
    pub fn overflowed(&self) -> u64 {
        // Relaxed: a statistic.
        self.inner.overflowed.load(Ordering::Relaxed)
    }

    /// The label names.
    pub fn label_names(&self) -> &[String] {
        &self.inner.label_names
    }
}

impl<H> Inner<H> {
    /// The hash of a tuple of values: each value's bytes and a `0xff` separator (no UTF-8
    /// string contains it), so `["ab", "c"]` and `["a", "bc"]` differ.
    #[inline]
    fn hash(&self, values: &[&str]) -> u64 {
        use std::hash::Hasher;
        let mut h = self.hasher.build_hasher();
        for v in values {
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }

    /// The series of `values` and its slot, probing from `hash`'s home slot to the first empty
    /// slot.
    #[inline]
    fn find(&self, hash: u64, values: &[&str]) -> Option<(usize, &Series<H>)> {
        let mut i = hash as usize & self.mask;
        loop {
            let series = self.table.get(i)?;
            if series.hash == hash
                && series.values.len() == values.len()
                && series.values.iter().zip(values).all(|(a, b)| **a == **b)
            {
                return Some((i, series));
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Hides `series` from snapshots until its values are used again.
    fn hide(&self, series: &Series<H>) {
        // Under the insert lock, so that a concurrent revival is ordered with it.
        let _guard = lock(&self.insert);
        // Relaxed: as in `with`.
        series.removed.store(true, Ordering::Relaxed);
        (self.ops.set_removed)(&series.handle, true);
    }

    fn opts_for(&self, values: &[&str]) -> Opts {
        let mut opts = self.template.clone();
        for (name, value) in self.label_names.iter().zip(values) {
            opts = opts.label(name.as_str(), *value);
        }
        opts
    }

    #[cold]
    fn overflow_handle(&self) -> &H {
        // Relaxed: a statistic.
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        self.overflow.get_or_init(|| {
            let values: Vec<&str> = self.label_names.iter().map(|_| OVERFLOW_VALUE).collect();
            (self.ops.register)(&self.shared, self.opts_for(&values), &self.config)
                .unwrap_or_else(|_| (self.ops.unregistered)(&self.shared))
        })
    }
}

/// What [`Family::record`] does for each kind.
pub trait FamilyRecord<V> {
    /// Records `v` into this series.
    fn family_record(&self, v: V);
}
