//! [`ResponseTimeMonitor`]: response times against a target per operation type, and
//! recommendations where the average misses it (the seeds' `ResponseTimeOptimizer`:
//! `record_response_time`, `optimize_response_times`).
//!
//! Recorded, per monitor instance (label `instance`):
//!
//! | metric | kind | more labels |
//! |---|---|---|
//! | `response_time` | histogram, seconds | `operation_type` |
//! | `response_time_target_exceeded_total` | counter (records above the target) | `operation_type` |
//! | `response_time_exceedance_total` | counter, nanoseconds (time above the target, summed) | `operation_type` |
//! | `response_time_target` | gauge, seconds (the current target) | `operation_type` |
//! | `response_time_invalid_total` | counter (NaN, negative or infinite durations, not recorded) | |
//!
//! # Targets
//! The seeds' defaults: `api_endpoints` 0.5 s, `database_queries` 0.1 s, `external_apis` 2 s;
//! any other operation type gets the default target (1 s, the seeds' fallback; see
//! [`default_target`](ResponseTimeMonitorBuilder::default_target)) when it is first recorded.
//! [`set_target`](ResponseTimeMonitor::set_target) changes a target at any time: a record is
//! compared with the target current when it is made, and recommendations use the current one.
//!
//! The monitor keeps a bounded table, operation type → target and handles, so a known type
//! costs one string hash and compare and no lock. It holds at most
//! [`max_operation_types`](ResponseTimeMonitorBuilder::max_operation_types) types (default 256):
//! further types are recorded under the operation type `__overflow__` with the default target.
//!
//! # Recommendations
//! For each operation type, with `avg` its exact mean response time since the start:
//! `avg > 2 × target` → priority `high`; `target < avg ≤ 2 × target` → `medium`;
//! `avg ≤ target` → no recommendation. Both comparisons are exact (on the summed
//! nanoseconds). Each recommendation carries the numbers it was made from.

use crate::table::{str_hash, SetOnceTable};
use crate::{Elapsed, EngineRef, Priority};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{
    Counter, CounterFamily, Engine, Gauge, GaugeFamily, Histogram, HistogramFamily,
    HistogramSnapshot, MetricValue, Opts, RegisterError, OVERFLOW_VALUE,
};

/// The seeds' targets: `(operation type, seconds)`.
pub const DEFAULT_TARGETS: [(&str, f64); 3] = [
    ("api_endpoints", 0.5),
    ("database_queries", 0.1),
    ("external_apis", 2.0),
];

/// Statistics of one operation type. Times in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResponseTimeStats {
    /// Records.
    pub count: u64,
    /// The current target.
    pub target_ms: f64,
    /// Mean response time (exact).
    pub avg_ms: Option<f64>,
    /// 95th percentile (within the histogram's 0.55% bound).
    pub p95_ms: Option<f64>,
    /// Longest response time (exact).
    pub max_ms: Option<f64>,
    /// Records above the target current when they were made.
    pub exceeded: u64,
    /// `exceeded / count` (0 without records).
    pub exceedance_rate: f64,
    /// Mean time above the target of the records that exceeded it.
    pub avg_exceedance_ms: Option<f64>,
}

/// A recommendation for one operation type whose average misses its target (the seeds'
/// `optimize_response_times()` values).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Recommendation {
    /// The operation type.
    pub operation_type: String,
    /// `high` above twice the target, `medium` above the target.
    pub priority: Priority,
    /// What was found, with the numbers.
    pub message: String,
    /// What to do about it.
    pub suggestion: String,
    /// Mean response time, milliseconds.
    pub current_avg_ms: f64,
    /// The target, milliseconds.
    pub target_ms: f64,
    /// `current_avg_ms - target_ms`.
    pub improvement_needed_ms: f64,
    /// Longest response time, milliseconds.
    pub max_duration_ms: f64,
    /// Records above the target.
    pub exceeded: u64,
    /// `exceeded / count`.
    pub exceedance_rate: f64,
}

/// One operation type: its target and handles.
struct Op {
    name: Box<str>,
    /// Nanoseconds; written by `set_target`, read by every record.
    target_ns: AtomicU64,
    duration: Histogram,
    exceeded: Counter,
    exceedance: Counter,
    target: Gauge,
}

impl Op {
    fn set(&self, ns: u64) {
        // Relaxed: a setting; a record racing `set_target` uses the old or the new target.
        self.target_ns.store(ns, Ordering::Relaxed);
        self.target.set(ns as f64 / 1e9);
    }

    fn target_ns(&self) -> u64 {
        // Relaxed: see `set`.
        self.target_ns.load(Ordering::Relaxed)
    }
}

/// The monitor's families, from which each type's handles are taken once.
struct Families {
    duration: HistogramFamily,
    exceeded: CounterFamily,
    exceedance: CounterFamily,
    target: GaugeFamily,
}

impl Families {
    /// The handles of `name` with its target set.
    fn op(&self, instance: &str, name: &str, target_ns: u64) -> Op {
        let values = [instance, name];
        let op = Op {
            name: name.into(),
            target_ns: AtomicU64::new(target_ns),
            duration: self.duration.with(&values).clone(),
            exceeded: self.exceeded.with(&values).clone(),
            exceedance: self.exceedance.with(&values).clone(),
            target: self.target.with(&values).clone(),
        };
        op.set(target_ns);
        op
    }
}

/// Why [`ResponseTimeMonitor::set_target`] refused a target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetError {
    /// The target was NaN, negative or infinite: give a duration.
    InvalidTarget,
    /// The table of operation types is full: raise
    /// [`max_operation_types`](ResponseTimeMonitorBuilder::max_operation_types).
    TooManyOperationTypes,
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetError::InvalidTarget => "the target is not a valid duration",
            TargetError::TooManyOperationTypes => "the table of operation types is full",
        })
    }
}

impl std::error::Error for TargetError {}

/// Response times per operation type against targets, recorded from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{Priority, ResponseTimeMonitor};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let rt = ResponseTimeMonitor::builder().engine(engine.clone()).build().unwrap();
/// rt.record_response_time("database_queries", 0.150); // target 0.1 s: exceeded
/// rt.record_response_time("database_queries", std::time::Duration::from_millis(70));
/// rt.record_response_time("external_apis", 0.3); // target 2 s
/// engine.flush();
/// let recs = rt.optimize_response_times();
/// assert_eq!(recs.len(), 1); // database_queries averages 110 ms, external_apis is fine
/// assert_eq!(recs[0].priority, Priority::Medium); // above the target, not above twice it
/// let db = &rt.response_time_stats()["database_queries"];
/// assert_eq!((db.count, db.exceeded, db.exceedance_rate), (2, 1, 0.5));
/// ```
pub struct ResponseTimeMonitor {
    engine: EngineRef,
    instance: String,
    default_target_ns: u64,
    families: Families,
    invalid: Counter,
    ops: SetOnceTable<Op>,
    /// Where types beyond the table's bound are recorded (made on first use).
    overflow: once_cell::sync::OnceCell<Op>,
}

impl std::fmt::Debug for ResponseTimeMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseTimeMonitor")
            .field("instance", &self.instance)
            .field("targets", &self.targets())
            .finish_non_exhaustive()
    }
}

/// Configures a [`ResponseTimeMonitor`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseTimeMonitorBuilder {
    engine: EngineRef,
    instance: Option<String>,
    default_target_ns: u64,
    targets: Vec<(String, u64)>,
    max_operation_types: usize,
}

impl ResponseTimeMonitorBuilder {
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

    /// The target of `operation_type` (replacing a default one). An invalid duration (NaN,
    /// negative, infinite) is ignored.
    pub fn target(mut self, operation_type: impl Into<String>, target: impl Elapsed) -> Self {
        if let Some(ns) = target.nanos() {
            let name = operation_type.into();
            self.targets.retain(|(n, _)| *n != name);
            self.targets.push((name, ns));
        }
        self
    }

    /// The target of operation types without one (default 1 s). An invalid duration is
    /// ignored.
    pub fn default_target(mut self, target: impl Elapsed) -> Self {
        if let Some(ns) = target.nanos() {
            self.default_target_ns = ns;
        }
        self
    }

    /// The most operation types told apart (default 256; see the module docs).
    pub fn max_operation_types(mut self, n: usize) -> Self {
        self.max_operation_types = n;
        self
    }

    /// Declares the monitor's metric families.
    ///
    /// # Errors
    /// A registration error of the engine (a name used as another kind there).
    pub fn build(self) -> Result<ResponseTimeMonitor, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        let per_op = ["instance", "operation_type"];
        let families = Families {
            duration: e.histogram_family(
                Opts::new("response_time")
                    .unit("seconds")
                    .help("Response time by operation type."),
                &per_op,
            )?,
            exceeded: e.counter_family(
                Opts::new("response_time_target_exceeded_total")
                    .help("Responses slower than their operation type's target."),
                &per_op,
            )?,
            exceedance: e.counter_family(
                Opts::new("response_time_exceedance_total")
                    .unit("nanoseconds")
                    .help("Time above the target, summed over the responses that exceeded it."),
                &per_op,
            )?,
            target: e.gauge_family(
                Opts::new("response_time_target")
                    .unit("seconds")
                    .help("The response-time target of the operation type."),
                &per_op,
            )?,
        };
        let m = ResponseTimeMonitor {
            overflow: once_cell::sync::OnceCell::new(),
            families,
            invalid: e.counter(
                Opts::new("response_time_invalid_total")
                    .help("Response times that were NaN, negative or infinite (not recorded).")
                    .label("instance", instance.as_str()),
            )?,
            ops: SetOnceTable::new(self.max_operation_types),
            default_target_ns: self.default_target_ns,
            engine: self.engine,
            instance,
        };
        for (name, ns) in &self.targets {
            // A table full of explicit targets: the rest share the overflow type.
            let _ = m.set_target_ns(name, *ns);
        }
        Ok(m)
    }
}

impl ResponseTimeMonitor {
    /// A builder (defaults: the process-wide engine, instance `0`, `1`, …, the seeds'
    /// targets, 1 s for other types, 256 types).
    pub fn builder() -> ResponseTimeMonitorBuilder {
        ResponseTimeMonitorBuilder {
            engine: EngineRef::Global,
            instance: None,
            default_target_ns: 1_000_000_000,
            targets: DEFAULT_TARGETS
                .iter()
                .map(|&(n, s)| (n.to_string(), (s * 1e9) as u64))
                .collect(),
            max_operation_types: 256,
        }
    }

    /// Records one response time (float seconds or `Duration`) of `operation_type`. No lock
    /// and no allocation once the type has been seen. An invalid duration is counted in
    /// `response_time_invalid_total` and nothing else is recorded.
    #[inline]
    pub fn record_response_time(&self, operation_type: &str, duration: impl Elapsed) {
        let Some(ns) = duration.nanos() else {
            self.invalid.increment();
            return;
        };
        let op = self.op(operation_type);
        op.duration.record(ns);
        let target = op.target_ns();
        if ns > target {
            op.exceeded.increment();
            op.exceedance.add(ns - target);
        }
    }

    /// Sets the target of `operation_type` (float seconds or `Duration`) for the records
    /// made from now on and for recommendations.
    ///
    /// # Errors
    /// [`TargetError`]: an invalid duration, or a new type with the table full.
    pub fn set_target(
        &self,
        operation_type: &str,
        target: impl Elapsed,
    ) -> Result<(), TargetError> {
        let ns = target.nanos().ok_or(TargetError::InvalidTarget)?;
        self.set_target_ns(operation_type, ns)
    }

    fn set_target_ns(&self, operation_type: &str, ns: u64) -> Result<(), TargetError> {
        let h = str_hash(operation_type);
        let op = match self.ops.find(h, |o| &*o.name == operation_type) {
            Some(op) => op,
            None => self
                .insert(h, operation_type, ns)
                .ok_or(TargetError::TooManyOperationTypes)?,
        };
        op.set(ns);
        Ok(())
    }

    /// The target of `operation_type` (the default target for a type not seen yet).
    pub fn target(&self, operation_type: &str) -> Duration {
        Duration::from_nanos(self.target_ns(operation_type))
    }

    /// Every operation type's current target, seconds.
    pub fn targets(&self) -> BTreeMap<String, f64> {
        self.ops
            .iter()
            .map(|o| (o.name.to_string(), o.target_ns() as f64 / 1e9))
            .collect()
    }

    /// The `instance` label of this monitor's metrics.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn target_ns(&self, operation_type: &str) -> u64 {
        self.ops
            .find(str_hash(operation_type), |o| &*o.name == operation_type)
            .map_or(self.default_target_ns, Op::target_ns)
    }

    #[inline]
    fn op(&self, operation_type: &str) -> &Op {
        let h = str_hash(operation_type);
        match self.ops.find(h, |o| &*o.name == operation_type) {
            Some(op) => op,
            None => self
                .insert(h, operation_type, self.default_target_ns)
                .unwrap_or_else(|| self.overflow()),
        }
    }

    /// The entry of the types beyond the table's bound.
    #[cold]
    #[inline(never)]
    fn overflow(&self) -> &Op {
        self.overflow.get_or_init(|| {
            self.families
                .op(&self.instance, OVERFLOW_VALUE, self.default_target_ns)
        })
    }

    /// A type's first record or target: its table entry (`None` when the table is full).
    #[cold]
    #[inline(never)]
    fn insert(&self, h: u64, operation_type: &str, target_ns: u64) -> Option<&Op> {
        self.ops.insert_with(
            h,
            |o| &*o.name == operation_type,
            || self.families.op(&self.instance, operation_type, target_ns),
        )
    }

    /// Statistics of every operation type recorded, from the engine's latest snapshot.
    pub fn response_time_stats(&self) -> BTreeMap<String, ResponseTimeStats> {
        let snap = self.engine.snapshot();
        #[derive(Default)]
        struct Acc<'s> {
            hist: Option<&'s HistogramSnapshot>,
            exceeded: u64,
            exceedance: u128,
        }
        let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
        for m in snap.metrics() {
            if m.desc.label("instance") != Some(self.instance.as_str()) {
                continue;
            }
            let Some(op) = m.desc.label("operation_type") else {
                continue;
            };
            let a = acc.entry(op).or_default();
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "response_time") => a.hist = Some(h),
                (MetricValue::Counter(c), "response_time_target_exceeded_total") => {
                    a.exceeded = u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                (MetricValue::Counter(c), "response_time_exceedance_total") => {
                    a.exceedance = c.total;
                }
                _ => {}
            }
        }
        acc.into_iter()
            .filter_map(|(op, a)| {
                let h = a.hist.filter(|h| h.cumulative.count() > 0)?;
                let d = &h.cumulative;
                let count = d.count();
                let ms = |ns: Option<f64>| ns.map(|x| x / 1e6);
                let stats = ResponseTimeStats {
                    count,
                    target_ms: self.target_ns(op) as f64 / 1e6,
                    avg_ms: ms(d.mean()),
                    p95_ms: ms(d.p95()),
                    max_ms: ms(d.max().map(|x| x as f64)),
                    exceeded: a.exceeded,
                    exceedance_rate: a.exceeded as f64 / count as f64,
                    avg_exceedance_ms: (a.exceeded > 0)
                        .then(|| a.exceedance as f64 / 1e6 / a.exceeded as f64),
                };
                Some((op.to_string(), stats))
            })
            .collect()
    }

    /// Recommendations for the operation types whose mean response time is above their
    /// target, `high` priority first, then by name (the seeds' `optimize_response_times()`;
    /// see the module docs for the rule), from the engine's latest snapshot.
    pub fn optimize_response_times(&self) -> Vec<Recommendation> {
        let snap = self.engine.snapshot();
        let mut out = Vec::new();
        for m in snap.metrics() {
            let (MetricValue::Histogram(h), "response_time") = (&m.value, m.desc.name.as_str())
            else {
                continue;
            };
            if m.desc.label("instance") != Some(self.instance.as_str()) {
                continue;
            }
            let (Some(op), Some(max)) = (m.desc.label("operation_type"), h.cumulative.max()) else {
                continue;
            };
            let d = &h.cumulative;
            let target = self.target_ns(op);
            let (sum, count) = (d.sum(), u128::from(d.count()));
            // Exact: avg > k·target ⇔ sum > k·target·count.
            let priority = if sum > 2 * u128::from(target) * count {
                Priority::High
            } else if sum > u128::from(target) * count {
                Priority::Medium
            } else {
                continue;
            };
            let avg_ms = sum as f64 / count as f64 / 1e6;
            let target_ms = target as f64 / 1e6;
            let exceeded = snap
                .get(
                    "response_time_target_exceeded_total",
                    &[("instance", self.instance.as_str()), ("operation_type", op)],
                )
                .and_then(|m| match &m.value {
                    MetricValue::Counter(c) => u64::try_from(c.total).ok(),
                    _ => None,
                })
                .unwrap_or(0);
            let suggestion = match priority {
                Priority::High => format!(
                    "More than twice the target: profile {op} and fix its slowest path first \
                     (caching, batching, indexes, timeouts), or revisit the target"
                ),
                // Response-time rules make no low-priority recommendation.
                Priority::Medium | Priority::Low => format!(
                    "Above the target: review the slow cases of {op} (p95 {:.1} ms)",
                    d.p95().unwrap_or(0.0) / 1e6
                ),
            };
            out.push(Recommendation {
                operation_type: op.to_string(),
                priority,
                message: format!("{op} averages {avg_ms:.1} ms against a {target_ms:.1} ms target"),
                suggestion,
                current_avg_ms: avg_ms,
                target_ms,
                improvement_needed_ms: avg_ms - target_ms,
                max_duration_ms: max as f64 / 1e6,
                exceeded,
                exceedance_rate: exceeded as f64 / count as f64,
            });
        }
        out.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.operation_type.cmp(&b.operation_type))
        });
        out
    }
}

/// The process-wide response-time monitor (instance `global`, the seeds' targets), made on
/// first use; if the process-wide engine already uses one of its names as another kind, it
/// records into a private engine.
pub fn global_response_time_monitor() -> &'static ResponseTimeMonitor {
    static GLOBAL: once_cell::sync::OnceCell<ResponseTimeMonitor> =
        once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            let mut b = ResponseTimeMonitor::builder().instance("global");
            b.engine = engine;
            b.build()
        })
    })
}
