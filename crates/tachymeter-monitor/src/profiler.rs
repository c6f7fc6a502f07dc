//! [`Profiler`]: calls, wall time, thread CPU time and processing speed per named operation,
//! bottlenecks and time breakdown (the seeds' `get_profiler()`).
//!
//! Recorded, per profiler instance (label `instance`) and operation (label `operation`):
//! `profile_wall_time` (histogram, seconds), `profile_cpu_time_total` (counter, nanoseconds:
//! the recording thread's CPU time) and `profile_units_total` (counter: units processed, for
//! [`ProfileStats::units_per_second`]), `profile_allocated_bytes_total` and
//! `profile_freed_bytes_total` (counters, bytes: the memory the call allocated and freed on its
//! thread).
//!
//! # Memory
//!
//! With [`CountingAllocator`](crate::CountingAllocator) installed as the global allocator,
//! each call's allocated and freed bytes on its own thread are exact (`memory_source:
//! "allocator"`). Without it, [`Profiler::rss_fallback`] records the change of the process's
//! resident set over the call instead (`"rss"`: process-wide, page-granular, and it reads
//! `/proc/self/status` twice per call, so it costs microseconds); otherwise memory is not
//! measured (`"none"`).

use crate::EngineRef;
use serde::Serialize;
use std::sync::Arc;
use tachymeter::{
    CounterFamily, Engine, HistogramFamily, MetricSnapshot, MetricValue, Opts, RegisterError,
    Snapshot,
};

/// Statistics of one profiled operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProfileStats {
    /// The operation's name.
    pub operation: String,
    /// Calls recorded.
    pub calls: u64,
    /// Summed wall time, seconds.
    pub total_time: f64,
    /// Mean wall time, seconds.
    pub avg_time: Option<f64>,
    /// Median wall time, seconds (within the histogram's 0.54% bound).
    pub median_time: Option<f64>,
    /// 90th percentile of the wall time, seconds.
    pub p90_time: Option<f64>,
    /// Summed thread CPU time, seconds.
    pub cpu_time: f64,
    /// CPU time per wall time (below 1 when the operation waits).
    pub cpu_share: f64,
    /// Units processed (given to the guard).
    pub units: u64,
    /// Units per second of wall time (the seeds' `get_processing_speed`).
    pub units_per_second: f64,
    /// Bytes allocated during the calls (on their threads), or the resident-set growth.
    pub allocated_bytes: u64,
    /// Bytes freed during the calls, or the resident-set shrinkage.
    pub freed_bytes: u64,
    /// `allocated_bytes − freed_bytes`: what the calls kept.
    pub memory_delta_bytes: i64,
    /// The same in MiB (the seeds' `memory_delta_mb`).
    pub memory_delta_mb: f64,
    /// How memory was measured: `allocator`, `rss` or `none` (see the module docs).
    pub memory_source: &'static str,
}

/// An operation slower than the fastest one (the seeds' `identify_bottlenecks`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Bottleneck {
    /// The operation.
    pub operation: String,
    /// Its median wall time over the fastest operation's median.
    pub slowdown_factor: f64,
    /// Median wall time, seconds.
    pub median_time: f64,
    /// 90th percentile of the wall time, seconds.
    pub p90_time: f64,
}

/// Profiles named operations from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::Profiler;
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let profiler = Profiler::on(engine.clone()).unwrap();
/// let sum = profiler.profile("sum", || (0..1000u64).sum::<u64>());
/// assert_eq!(sum, 499_500);
/// {
///     let mut guard = profiler.start("resize");
///     guard.units(640 * 480); // pixels
/// }
/// engine.flush();
/// assert_eq!(profiler.stats("sum").unwrap().calls, 1);
/// assert_eq!(profiler.stats("resize").unwrap().units, 640 * 480);
/// ```
#[derive(Debug)]
pub struct Profiler {
    engine: EngineRef,
    instance: String,
    wall: HistogramFamily,
    cpu: CounterFamily,
    units: CounterFamily,
    allocated: CounterFamily,
    freed: CounterFamily,
    rss_fallback: bool,
}

/// Where a call's memory reading starts.
#[derive(Clone, Copy)]
enum MemStart {
    Allocator(crate::ThreadAllocations),
    Rss(u64),
    None,
}

/// A running profile: records when dropped.
#[must_use = "the operation is recorded when the guard is dropped"]
pub struct ProfileGuard<'a> {
    profiler: &'a Profiler,
    operation: &'a str,
    start: u64,
    cpu_start: Option<cpu_time::ThreadTime>,
    units: u64,
    mem_start: MemStart,
}

impl ProfileGuard<'_> {
    /// Sets the units this call processed (pixels, rows, bytes…).
    pub fn units(&mut self, n: u64) -> &mut Self {
        self.units = n;
        self
    }
}

impl Drop for ProfileGuard<'_> {
    fn drop(&mut self) {
        let p = self.profiler;
        // Memory first, so the recording below is not part of the call.
        let (grown, shrunk) = match self.mem_start {
            MemStart::Allocator(a) => match crate::thread_allocations() {
                Some(b) => (
                    b.allocated.wrapping_sub(a.allocated),
                    b.freed.wrapping_sub(a.freed),
                ),
                None => (0, 0),
            },
            MemStart::Rss(a) => match crate::alloc::resident_bytes() {
                Some(b) => (b.saturating_sub(a), a.saturating_sub(b)),
                None => (0, 0),
            },
            MemStart::None => (0, 0),
        };
        let clock = p.engine.clock();
        let ns = clock.delta_nanos(self.start, clock.raw());
        let values = [p.instance.as_str(), self.operation];
        p.wall.with(&values).record(ns);
        if let Some(cpu) = self.cpu_start {
            let used = u64::try_from(cpu.elapsed().as_nanos()).unwrap_or(u64::MAX);
            p.cpu.with(&values).add(used);
        }
        if self.units > 0 {
            p.units.with(&values).add(self.units);
        }
        if grown > 0 {
            p.allocated.with(&values).add(grown);
        }
        if shrunk > 0 {
            p.freed.with(&values).add(shrunk);
        }
    }
}

impl Profiler {
    /// A profiler on the process-wide engine.
    ///
    /// # Errors
    /// A registration error (a name used as another kind in the engine).
    pub fn new() -> Result<Profiler, RegisterError> {
        Self::with_engine(EngineRef::Global, crate::next_instance())
    }

    /// A profiler on `engine`.
    ///
    /// # Errors
    /// See [`new`](Self::new).
    pub fn on(engine: Arc<Engine>) -> Result<Profiler, RegisterError> {
        Self::with_engine(EngineRef::Shared(engine), crate::next_instance())
    }

    /// A profiler on `engine` with the `instance` label `instance`.
    ///
    /// # Errors
    /// See [`new`](Self::new).
    pub fn on_instance(engine: Arc<Engine>, instance: &str) -> Result<Profiler, RegisterError> {
        Self::with_engine(EngineRef::Shared(engine), instance.to_string())
    }

    fn with_engine(engine: EngineRef, instance: String) -> Result<Profiler, RegisterError> {
        let e = &*engine;
        let labels = ["instance", "operation"];
        Ok(Profiler {
            wall: e.histogram_family(
                Opts::new("profile_wall_time")
                    .unit("seconds")
                    .help("Wall time of profiled operations."),
                &labels,
            )?,
            cpu: e.counter_family(
                Opts::new("profile_cpu_time_total")
                    .unit("nanoseconds")
                    .help("Thread CPU time of profiled operations."),
                &labels,
            )?,
            units: e.counter_family(
                Opts::new("profile_units_total").help("Units processed by profiled operations."),
                &labels,
            )?,
            allocated: e.counter_family(
                Opts::new("profile_allocated_bytes_total")
                    .unit("bytes")
                    .help("Bytes allocated by profiled operations (or resident-set growth)."),
                &labels,
            )?,
            freed: e.counter_family(
                Opts::new("profile_freed_bytes_total")
                    .unit("bytes")
                    .help("Bytes freed by profiled operations (or resident-set shrinkage)."),
                &labels,
            )?,
            engine,
            instance,
            rss_fallback: false,
        })
    }

    /// Without [`CountingAllocator`](crate::CountingAllocator) installed, records the
    /// process's resident-set change over each call instead (see the module docs for its
    /// cost and precision). Off by default.
    pub fn rss_fallback(mut self, on: bool) -> Self {
        self.rss_fallback = on;
        self
    }

    /// How this profiler measures memory now: `allocator`, `rss` or `none`.
    pub fn memory_source(&self) -> &'static str {
        if crate::thread_allocations().is_some() {
            "allocator"
        } else if self.rss_fallback && crate::alloc::resident_bytes().is_some() {
            "rss"
        } else {
            "none"
        }
    }

    /// Starts profiling one call of `operation`; recorded when the guard drops.
    pub fn start<'a>(&'a self, operation: &'a str) -> ProfileGuard<'a> {
        let start = self.engine.clock().raw();
        let cpu_start = cpu_time::ThreadTime::try_now().ok();
        // Memory last, so the guard's own setup is not part of the call.
        let mem_start = match crate::thread_allocations() {
            Some(a) => MemStart::Allocator(a),
            None if self.rss_fallback => {
                crate::alloc::resident_bytes().map_or(MemStart::None, MemStart::Rss)
            }
            None => MemStart::None,
        };
        ProfileGuard {
            profiler: self,
            operation,
            start,
            cpu_start,
            units: 0,
            mem_start,
        }
    }

    /// Records one call of `operation` timed by the caller (`duration` as `Duration` or float
    /// seconds) that processed `units`: wall time and units only (no CPU time or memory).
    /// Invalid durations (NaN, negative) record as 0. One family lookup, no allocation once
    /// the operation's series exists.
    #[inline]
    pub fn record(&self, operation: &str, duration: impl crate::Elapsed, units: u64) {
        let values = [self.instance.as_str(), operation];
        self.wall
            .with(&values)
            .record(duration.nanos().unwrap_or(0));
        if units > 0 {
            self.units.with(&values).add(units);
        }
    }

    /// Runs `f` as one call of `operation` and returns its result.
    pub fn profile<R>(&self, operation: &str, f: impl FnOnce() -> R) -> R {
        let _guard = self.start(operation);
        f()
    }

    /// The statistics of `operation` from the engine's latest snapshot (`None` if it was
    /// never profiled).
    pub fn stats(&self, operation: &str) -> Option<ProfileStats> {
        self.all_stats()
            .into_iter()
            .find(|s| s.operation == operation)
    }

    /// Every operation's statistics, by name.
    pub fn all_stats(&self) -> Vec<ProfileStats> {
        let snap = self.engine.snapshot();
        self.collect(&snap)
    }

    /// Operations by median wall time over the fastest operation's median, slowest first.
    pub fn identify_bottlenecks(&self) -> Vec<Bottleneck> {
        let stats = self.all_stats();
        let fastest = stats
            .iter()
            .filter_map(|s| s.median_time)
            .filter(|m| *m > 0.0)
            .fold(f64::INFINITY, f64::min);
        let mut out: Vec<Bottleneck> = stats
            .into_iter()
            .filter_map(|s| {
                Some(Bottleneck {
                    slowdown_factor: s.median_time? / fastest,
                    median_time: s.median_time?,
                    p90_time: s.p90_time?,
                    operation: s.operation,
                })
            })
            .filter(|b| b.slowdown_factor.is_finite())
            .collect();
        out.sort_by(|a, b| b.slowdown_factor.total_cmp(&a.slowdown_factor));
        out
    }

    /// Each operation's share of the summed wall time of all operations, largest first.
    pub fn time_breakdown(&self) -> Vec<(String, f64)> {
        let stats = self.all_stats();
        let total: f64 = stats.iter().map(|s| s.total_time).sum();
        let mut out: Vec<(String, f64)> = stats
            .into_iter()
            .map(|s| {
                let share = if total > 0.0 {
                    s.total_time / total
                } else {
                    0.0
                };
                (s.operation, share)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    fn collect(&self, snap: &Snapshot) -> Vec<ProfileStats> {
        let source = self.memory_source();
        let mut by_op: std::collections::BTreeMap<String, ProfileStats> = Default::default();
        for m in snap.metrics() {
            let Some(op) = self.operation_of(m) else {
                continue;
            };
            let s = by_op.entry(op.to_string()).or_insert_with(|| ProfileStats {
                operation: op.to_string(),
                calls: 0,
                total_time: 0.0,
                avg_time: None,
                median_time: None,
                p90_time: None,
                cpu_time: 0.0,
                cpu_share: 0.0,
                units: 0,
                units_per_second: 0.0,
                allocated_bytes: 0,
                freed_bytes: 0,
                memory_delta_bytes: 0,
                memory_delta_mb: 0.0,
                memory_source: "none",
            });
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "profile_wall_time") => {
                    let d = &h.cumulative;
                    s.calls = d.count();
                    s.total_time = d.sum() as f64 / 1e9;
                    s.avg_time = d.mean().map(|v| v / 1e9);
                    s.median_time = d.p50().map(|v| v / 1e9);
                    s.p90_time = d.p90().map(|v| v / 1e9);
                }
                (MetricValue::Counter(c), "profile_cpu_time_total") => {
                    s.cpu_time = c.total as f64 / 1e9;
                }
                (MetricValue::Counter(c), "profile_units_total") => {
                    s.units = u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                (MetricValue::Counter(c), "profile_allocated_bytes_total") => {
                    s.allocated_bytes = u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                (MetricValue::Counter(c), "profile_freed_bytes_total") => {
                    s.freed_bytes = u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                _ => {}
            }
        }
        by_op
            .into_values()
            .map(|mut s| {
                if s.total_time > 0.0 {
                    s.cpu_share = s.cpu_time / s.total_time;
                    s.units_per_second = s.units as f64 / s.total_time;
                }
                s.memory_delta_bytes = (i128::from(s.allocated_bytes) - i128::from(s.freed_bytes))
                    .clamp(i64::MIN.into(), i64::MAX.into())
                    as i64;
                s.memory_delta_mb = s.memory_delta_bytes as f64 / (1024.0 * 1024.0);
                s.memory_source = source;
                s
            })
            .collect()
    }

    fn operation_of<'s>(&self, m: &'s MetricSnapshot) -> Option<&'s str> {
        let d = &m.desc;
        // Other monitors label by `instance` and `operation` too: only the profiler's series.
        (d.name.starts_with("profile_") && d.label("instance") == Some(self.instance.as_str()))
            .then(|| d.label("operation"))
            .flatten()
    }
}

/// The process-wide profiler (instance `global`), made on first use (the seeds'
/// `get_profiler()`).
pub fn get_profiler() -> &'static Profiler {
    static GLOBAL: once_cell::sync::OnceCell<Profiler> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| Profiler::with_engine(engine, "global".into()))
    })
}
