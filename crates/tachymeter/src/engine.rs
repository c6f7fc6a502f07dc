//! [`Engine`]: registration, the background aggregator thread and snapshot publication.
#![deny(unsafe_code)]

use crate::aggregator::Aggregator;
use crate::clock::Clock;
use crate::context::EngineContext;
use crate::desc::MetricDesc;
use crate::desc::{HistogramConfig, Opts, RegisterError};
use crate::kind::MetricKind;
use crate::local::LocalRecorder;
use crate::metric::Core;
use crate::registry::{Limits, Registered, Registry};
use crate::slots::SlotTable;
use crate::snapshot::Snapshot;
use crate::sync::{lock, next_engine_id, Arc, AtomicU64, Mutex, Ordering, SnapshotCell};
use std::fmt;
use std::time::Duration;

/// Why an engine could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A builder setting is outside its documented range. Use a value within `range`.
    OutOfRange {
        /// The builder method, e.g. `"events_capacity"`.
        setting: &'static str,
        /// The rejected value.
        value: String,
        /// The allowed range.
        range: &'static str,
    },
    /// The OS refused to start the aggregator thread.
    Spawn(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::OutOfRange {
                setting,
                value,
                range,
            } => write!(
                f,
                "invalid engine configuration: {setting} = {value} is outside {range}"
            ),
            BuildError::Spawn(e) => write!(f, "cannot start the aggregator thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The documented range of every [`EngineBuilder`] setting, checked by
/// [`EngineBuilder::build`].
pub mod limits {
    use std::time::Duration;
    /// Shortest aggregation interval.
    pub const MIN_INTERVAL: Duration = Duration::from_millis(1);
    /// Longest aggregation interval.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
    /// Most exclusive thread slots.
    pub const MAX_THREADS: usize = 1 << 16;
    /// Highest per-name label-set limit.
    pub const MAX_LABEL_SET_LIMIT: usize = 1_000_000;
    /// Highest engine-wide series limit.
    pub const MAX_SERIES: usize = 10_000_000;
    /// Most intervals in the rolling window.
    pub const MAX_WINDOW: usize = 10_000;
    /// Largest per-thread event ring (8 bytes per event).
    pub const MAX_EVENTS_CAPACITY: usize = 1 << 16;
}

fn check<T: PartialOrd + fmt::Debug>(
    setting: &'static str,
    value: T,
    min: T,
    max: T,
    range: &'static str,
) -> Result<(), BuildError> {
    if value < min || value > max {
        return Err(BuildError::OutOfRange {
            setting,
            value: format!("{value:?}"),
            range,
        });
    }
    Ok(())
}

/// Configures an [`Engine`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EngineBuilder {
    interval: Duration,
    max_threads: usize,
    label_set_limit: usize,
    max_series: usize,
    window: usize,
    events_capacity: usize,
    /// `None`: the real clock, created (and calibrated) only in `build`.
    clock: Option<Clock>,
    history: crate::HistoryConfig,
    background: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            interval: Duration::from_secs(1),
            max_threads: 256,
            label_set_limit: 1000,
            max_series: 100_000,
            window: 60,
            events_capacity: 128,
            clock: None,
            history: crate::HistoryConfig::default(),
            background: true,
        }
    }
}

impl EngineBuilder {
    /// Aggregation interval of the background thread (default 1 s; 1 ms ..= 24 h).
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }

    /// Threads that can record at the same time with exclusive shards (default 256;
    /// 1 ..= 65,536). Further threads share one overflow shard (atomic read-modify-writes:
    /// slower, never lost). A thread that lands in the overflow shard stays there until it
    /// exits (or, for a [`LocalRecorder`], until the recorder is dropped):
    /// `Stats::overflow_claims` counts such claims.
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }

    /// Label sets allowed per metric name (default 1,000; 1 ..= 1,000,000).
    pub fn label_set_limit(mut self, n: usize) -> Self {
        self.label_set_limit = n;
        self
    }

    /// Series (name and label-set pairs) allowed in the whole engine (default 100,000;
    /// 1 ..= 10,000,000). Each series costs about 2.3 KB before any thread records into it,
    /// so the default bounds that to about 230 MB. Registering beyond it returns
    /// [`RegisterError::TooManySeries`].
    pub fn max_series(mut self, n: usize) -> Self {
        self.max_series = n;
        self
    }

    /// Intervals in the rolling window (default 60; 1 ..= 10,000).
    pub fn window(mut self, intervals: usize) -> Self {
        self.window = intervals;
        self
    }

    /// Ring capacity per thread of each event log and record log (default 128, rounded up to a
    /// power of two; 1 ..= 65,536).
    pub fn events_capacity(mut self, n: usize) -> Self {
        self.events_capacity = n;
        self
    }

    /// The time-range history kept for every counter, histogram, event log and record log
    /// (default: 10 s slots for 10 min, 5 min for 6 h, 1 h for 7 days; see
    /// [`HistoryConfig`](crate::HistoryConfig)). [`HistoryConfig::none`](crate::HistoryConfig::none)
    /// keeps none.
    pub fn history(mut self, config: crate::HistoryConfig) -> Self {
        self.history = config;
        self
    }

    /// The clock for timers, rates and gauge ordering (inject [`Clock::mock`] in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Whether to run the background aggregator thread (default true). Without it, snapshots
    /// are produced only by [`Engine::flush`].
    pub fn background(mut self, on: bool) -> Self {
        self.background = on;
        self
    }

    /// Checks every setting against its documented range (see [`limits`]), builds the
    /// engine and starts its aggregator thread.
    ///
    /// ```
    /// use tachymeter::{BuildError, Engine};
    /// let err = Engine::builder().events_capacity(usize::MAX).build().unwrap_err();
    /// assert!(matches!(err, BuildError::OutOfRange { setting: "events_capacity", .. }));
    /// ```
    pub fn build(self) -> Result<Engine, BuildError> {
        use limits::*;
        check(
            "interval",
            self.interval,
            MIN_INTERVAL,
            MAX_INTERVAL,
            "1 ms ..= 24 h",
        )?;
        check(
            "max_threads",
            self.max_threads,
            1,
            MAX_THREADS,
            "1 ..= 65536",
        )?;
        check(
            "label_set_limit",
            self.label_set_limit,
            1,
            MAX_LABEL_SET_LIMIT,
            "1 ..= 1000000",
        )?;
        check(
            "max_series",
            self.max_series,
            1,
            MAX_SERIES,
            "1 ..= 10000000",
        )?;
        check("window", self.window, 1, MAX_WINDOW, "1 ..= 10000")?;
        check(
            "events_capacity",
            self.events_capacity,
            1,
            MAX_EVENTS_CAPACITY,
            "1 ..= 65536",
        )?;
        if let Err(tier) = self.history.check() {
            return Err(BuildError::OutOfRange {
                setting: "history",
                value: tier,
                range: crate::HistoryConfig::RANGE,
            });
        }
        let context = Arc::new(EngineContext {
            id: next_engine_id(),
            slots: SlotTable::new(self.max_threads),
            clock: self.clock.clone().unwrap_or_default(),
            engine: once_cell::sync::OnceCell::new(),
        });
        let shared = Arc::new(Shared {
            agg: Mutex::new(Aggregator::new(
                self.window,
                context.clock.raw(),
                self.history.clone(),
            )),
            context,
            registry: Registry::new(Limits {
                label_sets: self.label_set_limit,
                series: self.max_series,
            }),
            cell: SnapshotCell::new(Arc::new(Snapshot::empty())),
            registration_errors: AtomicU64::new(0),
            aggregator_panics: AtomicU64::new(0),
            last_panic: Mutex::new(None),
            events_capacity: self.events_capacity,
            #[cfg(test)]
            inject_panic: crate::sync::AtomicBool::new(false),
        });
        shared.context.set_engine(&shared);
        let worker = if self.background {
            Some(worker::start(shared.clone(), self.interval).map_err(BuildError::Spawn)?)
        } else {
            None
        };
        Ok(Engine { shared, worker })
    }
}

pub(crate) struct Shared {
    context: Arc<EngineContext>,
    registry: Registry,
    agg: Mutex<Aggregator>,
    cell: SnapshotCell<Snapshot>,
    registration_errors: AtomicU64,
    /// Collections of the background thread that panicked (each is caught, counted and logged
    /// here; the thread goes on with the next interval).
    aggregator_panics: AtomicU64,
    last_panic: Mutex<Option<String>>,
    events_capacity: usize,
    /// Test hook: the next collection panics while holding the aggregator lock.
    #[cfg(test)]
    inject_panic: crate::sync::AtomicBool,
}

/// The index of a core that belongs to no registry (resets do nothing).
const UNREGISTERED: usize = usize::MAX;

impl Shared {
    /// Resets the metric registered at `index`: from now on its statistics cover only what is
    /// recorded after this call (the aggregator reads its shards now as the new baseline).
    pub(crate) fn reset(&self, index: usize) {
        if index == UNREGISTERED {
            return;
        }
        let mut agg = lock(&self.agg);
        agg.reset(&self.registry, &self.context, index);
    }

    /// Ring capacity per thread of event logs and record logs.
    pub(crate) fn events_capacity(&self) -> usize {
        self.events_capacity
    }

    /// Registers (or finds) a metric of `Core<S, P>`'s kind; `params` builds the parameters of
    /// a new series from its validated description. Registering a removed series again brings
    /// it back.
    pub(crate) fn register<S, P>(
        &self,
        opts: Opts,
        config: Option<HistogramConfig>,
        params: impl FnOnce(&MetricDesc) -> P,
    ) -> Result<Arc<Core<S, P>>, RegisterError>
    where
        Core<S, P>: Registered,
    {
        let context = &self.context;
        let core = self.registry.register(opts, config, |desc, index| {
            let params = params(&desc);
            Arc::new(Core::new(desc, context, params, index))
        })?;
        core.revive();
        Ok(core)
    }

    /// A metric of `Core<S, P>`'s kind of this engine that belongs to no registry: what a
    /// macro whose registration failed records into (on a private engine), so that it never
    /// panics. Resetting it does nothing.
    pub(crate) fn unregistered<S, P>(&self, params: P) -> Arc<Core<S, P>>
    where
        Core<S, P>: Registered,
    {
        let desc = Self::unregistered_desc(<Core<S, P>>::KIND);
        Arc::new(Core::new(desc, &self.context, params, UNREGISTERED))
    }

    /// The description of a handle that belongs to no registry: what a macro whose
    /// registration failed records into (on a private engine), so that it never panics.
    fn unregistered_desc(kind: MetricKind) -> Arc<MetricDesc> {
        Arc::new(MetricDesc {
            name: "unregistered".into(),
            help: String::new(),
            unit: String::new(),
            labels: Vec::new(),
            kind,
        })
    }

    /// The registry.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts a caught aggregator panic and keeps its message.
    #[cfg(not(loom))]
    fn note_panic(&self, payload: &(dyn std::any::Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".to_string());
        // Relaxed: a statistic.
        self.aggregator_panics.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_panic) = Some(message);
    }

    fn flush(&self) -> Arc<Snapshot> {
        let mut agg = lock(&self.agg);
        #[cfg(test)]
        // Relaxed: a test hook.
        if self.inject_panic.swap(false, Ordering::Relaxed) {
            panic!("tachymeter test: injected aggregator panic");
        }
        // Relaxed: statistics.
        let errors = self.registration_errors.load(Ordering::Relaxed);
        let panics = self.aggregator_panics.load(Ordering::Relaxed);
        let snap = agg.collect_arc(&self.registry, &self.context, errors, panics);
        // Published while the aggregator lock is held, so sequences are published in order.
        let previous = self.cell.swap(snap.clone());
        agg.set_spare(previous);
        snap
    }
}

/// The metrics engine: registry, per-thread shards, aggregator and published snapshots.
///
/// ```
/// use tachymeter::Engine;
/// let engine = Engine::new();
/// let c = engine.counter("jobs_total").unwrap();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| for _ in 0..1000 { c.increment() });
///     }
/// });
/// assert_eq!(engine.flush().counter("jobs_total").unwrap().total, 4000);
/// ```
pub struct Engine {
    shared: Arc<Shared>,
    worker: Option<worker::Worker>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("id", &self.shared.context.id)
            .field("metrics", &self.shared.registry.len())
            .field("background", &self.worker.is_some())
            .finish()
    }
}

impl Engine {
    /// An engine with default settings and a background aggregator (1 s interval).
    ///
    /// # Panics
    /// If the OS cannot start a thread; use [`Engine::builder`] to handle that as an error.
    pub fn new() -> Engine {
        Engine::builder()
            .build()
            .expect("tachymeter: cannot start the aggregator thread")
    }

    /// A builder for custom settings.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The engine's shared state (for families and the macros).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The latest published snapshot. Never blocks and never touches a writer's shard.
    #[inline]
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.cell.load()
    }

    /// Collects and publishes a snapshot now (waits only for a collection already running).
    pub fn flush(&self) -> Arc<Snapshot> {
        self.shared.flush()
    }

    /// Claims a thread slot for the calling thread; see [`LocalRecorder`].
    pub fn local_recorder(&self) -> LocalRecorder {
        LocalRecorder::new(self.shared.context.clone())
    }

    /// The engine clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.context.clock
    }

    /// Statistics of the series `name` with exactly `labels` (any order) over `range`, from
    /// the aggregator's history: what the series handle's `range` method returns (for
    /// example [`Histogram::range`](crate::Histogram::range)), for readers that hold no
    /// handle, such as a dashboard listing every series of a snapshot. `None` if no such
    /// series is registered, before the first collection, or for an empty range.
    ///
    /// A cold call: it takes the registry's lock (shared with registration and with the
    /// aggregator, once per collection) and the series' history lock, never a writer's, and
    /// allocates the lookup key.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tachymeter::{Engine, Opts, Range};
    /// let engine = Engine::builder().background(false).build().unwrap();
    /// let c = engine.counter(Opts::new("jobs_total").label("queue", "a")).unwrap();
    /// c.add(5);
    /// engine.flush();
    /// let last_minute = Range::Last(Duration::from_secs(60));
    /// let stats = engine.range("jobs_total", &[("queue", "a")], last_minute).unwrap();
    /// assert_eq!(stats.count, 5);
    /// assert!(engine.range("jobs_total", &[], last_minute).is_none());
    /// ```
    pub fn range(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        range: crate::Range,
    ) -> Option<crate::RangeStats> {
        self.shared.registry.find(name, labels)?.range(range)
    }

    /// The aggregator's health, read directly (not from a snapshot, which stops changing when
    /// the aggregator does).
    ///
    /// ```
    /// let engine = tachymeter::Engine::new();
    /// let h = engine.health();
    /// assert!(h.aggregator_running);
    /// assert_eq!(h.aggregator_panics, 0);
    /// ```
    pub fn health(&self) -> Health {
        Health {
            aggregator_running: self.worker.as_ref().is_some_and(|w| w.is_running()),
            // Relaxed: a statistic.
            aggregator_panics: self.shared.aggregator_panics.load(Ordering::Relaxed),
            last_panic: lock(&self.shared.last_panic).clone(),
            sequence: self.shared.cell.load().sequence(),
        }
    }

    /// Counts a registration failure that could not be returned (macros).
    #[cfg(not(loom))]
    pub(crate) fn note_registration_error(&self) {
        // Relaxed: a statistic.
        self.shared
            .registration_errors
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// The aggregator's health: see [`Engine::health`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// True while the background aggregator thread runs (false without one: see
    /// [`EngineBuilder::background`]).
    pub aggregator_running: bool,
    /// Collections of the background thread that panicked. Each is caught and counted, and
    /// the thread goes on at the next interval; a non-zero value is a bug worth reporting.
    pub aggregator_panics: u64,
    /// The message of the latest such panic.
    pub last_panic: Option<String>,
    /// Sequence number of the latest published snapshot (0: none yet).
    pub sequence: u64,
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.stop();
        }
    }
}

#[cfg(not(loom))]
mod worker {
    use super::Shared;
    use crate::sync::{Arc, AtomicBool, Ordering};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    /// The background aggregator thread. Not modelled under loom (models call `flush`).
    pub(super) struct Worker {
        stop: Arc<AtomicBool>,
        handle: JoinHandle<()>,
    }

    pub(super) fn start(shared: Arc<Shared>, interval: Duration) -> std::io::Result<Worker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("tachymeter-aggregator".into())
            .spawn(move || {
                // `interval` is at most 24 h (checked in `build`), so these sums cannot overflow.
                let mut next = Instant::now() + interval;
                // Acquire: pairs with the Release store in `stop`.
                while !flag.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now < next {
                        std::thread::park_timeout(next - now);
                        continue;
                    }
                    // A panic in a collection (a bug) must neither end the thread silently nor
                    // reach the host: it is caught, counted and kept for `Engine::health`.
                    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| shared.flush())) {
                        shared.note_panic(payload.as_ref());
                    }
                    next += interval;
                    if next < Instant::now() {
                        // Fell behind (a slow collection): skip missed ticks, do not burst.
                        next = Instant::now() + interval;
                    }
                }
            })?;
        Ok(Worker { stop, handle })
    }

    impl Worker {
        pub(super) fn is_running(&self) -> bool {
            !self.handle.is_finished()
        }

        pub(super) fn stop(self) {
            // Release: the thread's Acquire load sees it after the unpark.
            self.stop.store(true, Ordering::Release);
            self.handle.thread().unpark();
            // A panic in the aggregator thread must not propagate into the host's drop.
            let _ = self.handle.join();
        }
    }
}

#[cfg(loom)]
mod worker {
    use super::Shared;
    use crate::sync::Arc;
    use std::time::Duration;

    pub(super) struct Worker;

    pub(super) fn start(_shared: Arc<Shared>, _interval: Duration) -> std::io::Result<Worker> {
        Err(std::io::Error::other(
            "no background aggregator under loom: build with .background(false)",
        ))
    }

    impl Worker {
        pub(super) fn is_running(&self) -> bool {
            false
        }

        pub(super) fn stop(self) {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Polls `f` until it holds, for at most 20 s (the aggregator runs every millisecond).
    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn an_aggregator_panic_is_counted_and_snapshots_go_on() {
        let e = Engine::builder()
            .interval(Duration::from_millis(1))
            .build()
            .unwrap();
        let c = e.counter("after_panic_total").unwrap();
        wait_for("a first snapshot", || e.health().sequence > 0);
        e.shared.inject_panic.store(true, Ordering::Relaxed);
        wait_for("the panic", || e.health().aggregator_panics == 1);
        let h = e.health();
        assert!(h.aggregator_running, "{h:?}");
        assert!(h.last_panic.as_deref().unwrap().contains("injected"));
        // The thread goes on: later snapshots are published and carry the count.
        c.add(5);
        let seq = h.sequence;
        wait_for("a later snapshot", || {
            let s = e.snapshot();
            s.sequence() > seq + 1
                && s.stats().aggregator_panics == 1
                && s.counter("after_panic_total").is_some_and(|c| c.total == 5)
        });
        // `flush` still works after the poisoned lock.
        assert_eq!(e.flush().counter("after_panic_total").unwrap().total, 5);
    }
}
