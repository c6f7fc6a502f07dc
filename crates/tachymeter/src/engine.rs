//! [`Engine`]: registration, the background aggregator thread and snapshot publication.
#![deny(unsafe_code)]

use crate::aggregator::Aggregator;
use crate::clock::Clock;
use crate::local::{Link, LocalRecorder};
use crate::metric::{
    Counter, CounterCore, EventLog, EventParams, EventsCore, Gauge, GaugeCore, HistParams,
    Histogram, HistogramCore,
};
use crate::registry::{Entry, MetricKind, Opts, RegisterError, Registry};
use crate::slots::SlotTable;
use crate::snapshot::Snapshot;
use crate::sync::{lock, next_engine_id, Arc, AtomicU64, Mutex, Ordering, SnapshotCell};
use std::fmt;
use std::time::Duration;
use tachymeter_histogram::{Layout, DEFAULT_SCHEMA};

/// Configuration of one histogram.
///
/// The default (schema 6, range `1..=u64::MAX`, no recent-sample ring) gives quantiles within
/// 0.55% relative error and costs 32.8 KiB per recording thread (4,098 `u64` buckets).
///
/// ```
/// use tachymeter::HistogramConfig;
/// // 2.2% error, values above 10 s in nanoseconds saturate, keep the last 1024 raw samples.
/// let cfg = HistogramConfig::default().schema(4).max_value(10_000_000_000).recent(1024);
/// assert_eq!(cfg.relative_error(), tachymeter::histogram::relative_error_bound(4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramConfig {
    schema: i8,
    min_value: u64,
    max_value: u64,
    recent: usize,
}

impl Default for HistogramConfig {
    fn default() -> Self {
        HistogramConfig {
            schema: DEFAULT_SCHEMA,
            min_value: 1,
            max_value: u64::MAX,
            recent: 0,
        }
    }
}

impl HistogramConfig {
    /// Bucket schema, `-4..=8`: `2^schema` buckets per power of two (Prometheus native
    /// histogram schemas). Higher is more precise and uses more memory.
    pub fn schema(mut self, schema: i8) -> Self {
        self.schema = schema;
        self
    }

    /// Smallest non-zero value tracked exactly; smaller non-zero values saturate (default 1).
    pub fn min_value(mut self, v: u64) -> Self {
        self.min_value = v;
        self
    }

    /// Largest value tracked; larger values saturate into the top bucket (default `u64::MAX`).
    pub fn max_value(mut self, v: u64) -> Self {
        self.max_value = v;
        self
    }

    /// Keeps the last `n` raw samples per thread (rounded up to a power of two; 0 = off) for
    /// exact recent percentiles. Costs one more store per record and `8·n` bytes per thread.
    pub fn recent(mut self, n: usize) -> Self {
        self.recent = n;
        self
    }

    /// The worst-case relative quantile error of this configuration.
    pub fn relative_error(&self) -> f64 {
        tachymeter_histogram::relative_error_bound(self.schema)
    }

    /// Bytes one recording thread's shard of this histogram costs (approximately).
    pub fn bytes_per_thread(&self) -> Option<usize> {
        let layout = Layout::new(self.schema, self.min_value, self.max_value).ok()?;
        Some(
            layout.dense_len() * 8
                + 128
                + self.recent.next_power_of_two() * 8 * (self.recent > 0) as usize,
        )
    }
}

/// Why an engine could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting is out of range; the message says which and what is allowed.
    InvalidConfig(String),
    /// The OS refused to start the aggregator thread.
    Spawn(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidConfig(m) => write!(f, "invalid engine configuration: {m}"),
            BuildError::Spawn(e) => write!(f, "cannot start the aggregator thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Configures an [`Engine`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EngineBuilder {
    interval: Duration,
    max_threads: usize,
    label_set_limit: usize,
    window: usize,
    events_capacity: usize,
    /// `None`: the real clock, created (and calibrated) only in `build`.
    clock: Option<Clock>,
    background: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            interval: Duration::from_secs(1),
            max_threads: 256,
            label_set_limit: 1000,
            window: 60,
            events_capacity: 128,
            clock: None,
            background: true,
        }
    }
}

impl EngineBuilder {
    /// Aggregation interval of the background thread (default 1 s, at least 1 ms).
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }

    /// Threads that can record at the same time with exclusive shards (default 256). Further
    /// threads share one overflow shard (atomic read-modify-writes: slower, never lost).
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }

    /// Label sets allowed per metric name (default 1,000).
    pub fn label_set_limit(mut self, n: usize) -> Self {
        self.label_set_limit = n;
        self
    }

    /// Intervals in the rolling window (default 60).
    pub fn window(mut self, intervals: usize) -> Self {
        self.window = intervals;
        self
    }

    /// Ring capacity per thread of each event log (default 128, rounded up to a power of two).
    pub fn events_capacity(mut self, n: usize) -> Self {
        self.events_capacity = n;
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

    /// Builds the engine and starts its aggregator thread.
    pub fn build(self) -> Result<Engine, BuildError> {
        if self.interval < Duration::from_millis(1) {
            return Err(BuildError::InvalidConfig(format!(
                "interval {:?} is below 1 ms",
                self.interval
            )));
        }
        if self.max_threads == 0 || self.max_threads > 1 << 16 {
            return Err(BuildError::InvalidConfig(format!(
                "max_threads {} is not in 1..=65536",
                self.max_threads
            )));
        }
        if self.label_set_limit == 0 || self.window == 0 || self.events_capacity == 0 {
            return Err(BuildError::InvalidConfig(
                "label_set_limit, window and events_capacity must be at least 1".into(),
            ));
        }
        let link = Arc::new(Link {
            id: next_engine_id(),
            slots: SlotTable::new(self.max_threads),
            clock: self.clock.clone().unwrap_or_default(),
        });
        let shared = Arc::new(Shared {
            agg: Mutex::new(Aggregator::new(self.window, link.clock.raw())),
            link,
            registry: Registry::new(self.label_set_limit),
            cell: SnapshotCell::new(Arc::new(Snapshot::empty())),
            registration_errors: AtomicU64::new(0),
            events_capacity: self.events_capacity,
        });
        let worker = if self.background {
            Some(worker::start(shared.clone(), self.interval).map_err(BuildError::Spawn)?)
        } else {
            None
        };
        Ok(Engine { shared, worker })
    }
}

pub(crate) struct Shared {
    link: Arc<Link>,
    registry: Registry,
    agg: Mutex<Aggregator>,
    cell: SnapshotCell<Snapshot>,
    registration_errors: AtomicU64,
    events_capacity: usize,
}

impl Shared {
    fn flush(&self) -> Arc<Snapshot> {
        let mut agg = lock(&self.agg);
        // Relaxed: a statistic.
        let errors = self.registration_errors.load(Ordering::Relaxed);
        let snap = agg.collect_arc(&self.registry, &self.link, errors);
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
            .field("id", &self.shared.link.id)
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

    /// Registers (or finds) a counter.
    pub fn counter(&self, opts: impl Into<Opts>) -> Result<Counter, RegisterError> {
        let link = &self.shared.link;
        let e = self.shared.registry.register(
            opts.into(),
            MetricKind::Counter,
            String::new(),
            |desc| Entry::Counter(Arc::new(CounterCore::new(desc, link, ()))),
        )?;
        match e {
            Entry::Counter(core) => Ok(Counter { core }),
            _ => unreachable!("registry checks kinds"),
        }
    }

    /// Registers (or finds) a gauge.
    pub fn gauge(&self, opts: impl Into<Opts>) -> Result<Gauge, RegisterError> {
        let link = &self.shared.link;
        let e = self.shared.registry.register(
            opts.into(),
            MetricKind::Gauge,
            String::new(),
            |desc| Entry::Gauge(Arc::new(GaugeCore::new(desc, link, ()))),
        )?;
        match e {
            Entry::Gauge(core) => Ok(Gauge { core }),
            _ => unreachable!("registry checks kinds"),
        }
    }

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
        let link = &self.shared.link;
        let opts = opts.into();
        let layout = Layout::new(cfg.schema, cfg.min_value, cfg.max_value).map_err(|e| {
            RegisterError::InvalidConfig {
                name: opts.name().to_string(),
                reason: e.to_string(),
            }
        })?;
        if cfg.recent > 1 << 24 {
            return Err(RegisterError::InvalidConfig {
                name: opts.name().to_string(),
                reason: format!("recent ring of {} samples exceeds 2^24", cfg.recent),
            });
        }
        let fingerprint = format!("{cfg:?}");
        let e =
            self.shared
                .registry
                .register(opts, MetricKind::Histogram, fingerprint, |desc| {
                    Entry::Histogram(Arc::new(HistogramCore::new(
                        desc,
                        link,
                        HistParams {
                            layout,
                            recent: cfg.recent,
                        },
                    )))
                })?;
        match e {
            Entry::Histogram(core) => Ok(Histogram { core }),
            _ => unreachable!("registry checks kinds"),
        }
    }

    /// Registers (or finds) an event log with the engine's events capacity.
    pub fn events(&self, opts: impl Into<Opts>) -> Result<EventLog, RegisterError> {
        let link = &self.shared.link;
        let capacity = self.shared.events_capacity;
        let e = self.shared.registry.register(
            opts.into(),
            MetricKind::Events,
            String::new(),
            |desc| {
                Entry::Events(Arc::new(EventsCore::new(
                    desc,
                    link,
                    EventParams { capacity },
                )))
            },
        )?;
        match e {
            Entry::Events(core) => Ok(EventLog { core }),
            _ => unreachable!("registry checks kinds"),
        }
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
        LocalRecorder::new(self.shared.link.clone())
    }

    /// The engine clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.link.clock
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
                let mut next = Instant::now() + interval;
                // Acquire: pairs with the Release store in `stop`.
                while !flag.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now < next {
                        std::thread::park_timeout(next - now);
                        continue;
                    }
                    shared.flush();
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
        pub(super) fn stop(self) {}
    }
}
