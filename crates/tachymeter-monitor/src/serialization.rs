//! [`SerializationMonitor`]: per-serializer, per-operation statistics (the seeds'
//! `PerformanceMonitor` of the serialization tracker, `record_operation`).
//!
//! Recorded, per monitor instance (label `instance`) and serializer (label `serializer`):
//!
//! | metric | kind | more labels |
//! |---|---|---|
//! | `serialization_duration` | histogram, seconds | `operation` |
//! | `serialization_data_size_total` | counter, bytes | `operation` |
//! | `serialization_errors_total` | counter | `operation`, `error_type` |
//! | `serialization_operations` | record log: duration ns, size, operation and success | |
//!
//! Serializer ids and error types are label values: keep their sets bounded.
//!
//! # Thresholds and alerts
//!
//! [`SerializationMonitor::set_threshold`] sets a limit on one statistic of every
//! (serializer, operation) pair; [`SerializationMonitor::check_thresholds`] evaluates them on
//! the latest snapshot, on the caller's thread (never on a recording thread), returns every
//! violation and calls the alert handlers once per violation *onset*: a pair that stays above
//! its limit does not alert again until it has been back within it at one check. Run it from a
//! reporting thread at the interval you want alerts checked.
//!
//! # Suggestions
//!
//! [`SerializationMonitor::suggestions`] applies these documented rules to one serializer's
//! statistics (each needs at least [`MIN_OPERATIONS_FOR_SUGGESTIONS`] operations):
//!
//! | rule | priority | suggestion |
//! |---|---|---|
//! | error rate above 5% | high | check the inputs (the most frequent error type is named) |
//! | a text format (see [`SerializationMonitor::mark_text_format`]) with a mean payload above 1 MiB | medium | use a binary format |
//! | p99 above 10× the median | medium | look for outsized payloads; stream or split them |
//! | under 50 MB/s with a mean payload of 64 KiB or more | low | reuse buffers or batch ([`BatchSerializer`](crate::BatchSerializer)) |

use crate::{Elapsed, EngineRef, Priority};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tachymeter::{
    CounterFamily, Engine, HistogramFamily, MetricSnapshot, MetricValue, Opts, RecordsFamily,
    RegisterError, Snapshot,
};

/// A serialization operation's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Encoding a value.
    Serialize,
    /// Decoding a value.
    Deserialize,
}

impl Operation {
    /// The `operation` label value.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Serialize => "serialize",
            Operation::Deserialize => "deserialize",
        }
    }

    fn from_code(code: u64) -> Operation {
        if code & 1 == 0 {
            Operation::Serialize
        } else {
            Operation::Deserialize
        }
    }
}

/// Statistics of one operation of one serializer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OperationMetrics {
    /// Operations recorded.
    pub count: u64,
    /// Successful operations per operation (1 without operations).
    pub success_rate: f64,
    /// Failures by error type.
    pub errors: BTreeMap<String, u64>,
    /// Mean duration, seconds.
    pub avg_time: Option<f64>,
    /// Median duration, seconds (within the histogram's 0.54% bound).
    pub p50_time: Option<f64>,
    /// 95th percentile, seconds.
    pub p95_time: Option<f64>,
    /// 99th percentile, seconds.
    pub p99_time: Option<f64>,
    /// Bytes processed.
    pub total_bytes: u64,
    /// Bytes per second of operation time (`total_bytes / summed duration`).
    pub bytes_per_second: f64,
    /// Operations per second over the engine's rolling window.
    pub ops_per_second: f64,
}

/// Statistics of one serializer (the seeds' `get_metrics(serializer_id)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SerializerMetrics {
    /// The serializer id.
    pub serializer_id: String,
    /// Per operation.
    pub operations: BTreeMap<Operation, OperationMetrics>,
}

/// The seeds' `get_summary()`: totals over the chosen serializers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Operations.
    pub total_operations: u64,
    /// Successful operations per operation.
    pub success_rate: f64,
    /// Bytes processed.
    pub total_bytes: u64,
    /// Per serializer.
    pub serializers: BTreeMap<String, SerializerMetrics>,
}

/// One recent operation (the seeds' `get_recent_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OperationRecord {
    /// When it was recorded, as time since the engine started.
    pub at: Duration,
    /// Serialize or deserialize.
    pub operation: Operation,
    /// Duration, seconds.
    pub duration: f64,
    /// Bytes.
    pub data_size: u64,
    /// Whether it succeeded (the error type is counted in `errors`, not kept per record).
    pub success: bool,
}

/// A statistic of one (serializer, operation) pair that a threshold can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMetric {
    /// Mean duration above the threshold, seconds.
    AvgTime,
    /// 95th percentile duration above the threshold, seconds.
    P95Time,
    /// 99th percentile duration above the threshold, seconds.
    P99Time,
    /// Share of failed operations above the threshold (0–1).
    ErrorRate,
    /// Bytes per second of operation time *below* the threshold.
    MinBytesPerSecond,
}

impl ThresholdMetric {
    /// The pair's value of this statistic, `None` when it has none (no samples).
    fn value(self, m: &OperationMetrics) -> Option<f64> {
        match self {
            ThresholdMetric::AvgTime => m.avg_time,
            ThresholdMetric::P95Time => m.p95_time,
            ThresholdMetric::P99Time => m.p99_time,
            ThresholdMetric::ErrorRate => {
                (m.count > 0).then(|| m.errors.values().sum::<u64>() as f64 / m.count as f64)
            }
            ThresholdMetric::MinBytesPerSecond => (m.total_bytes > 0).then_some(m.bytes_per_second),
        }
    }

    /// Whether `value` violates `threshold`.
    fn violated(self, value: f64, threshold: f64) -> bool {
        match self {
            ThresholdMetric::MinBytesPerSecond => value < threshold,
            _ => value > threshold,
        }
    }
}

/// A threshold violation found by [`SerializationMonitor::check_thresholds`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SerializationAlert {
    /// The serializer.
    pub serializer_id: String,
    /// The operation.
    pub operation: Operation,
    /// The statistic.
    pub metric: ThresholdMetric,
    /// Its value.
    pub value: f64,
    /// The threshold it violates.
    pub threshold: f64,
}

/// An optimisation suggestion (the seeds' `_suggest_optimizations`), from the rules in the
/// module docs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Suggestion {
    /// The rule: `error_rate`, `binary_format`, `latency_spikes` or `low_throughput`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// How urgent.
    pub priority: Priority,
    /// What was found, with the figures.
    pub message: String,
    /// What to do.
    pub suggestion: String,
}

/// Operations a serializer needs before [`SerializationMonitor::suggestions`] judges it.
pub const MIN_OPERATIONS_FOR_SUGGESTIONS: u64 = 20;

/// An alert handler.
type Handler = Arc<dyn Fn(&SerializationAlert) + Send + Sync>;

/// Thresholds, handlers and the violations seen at the last check (read side only).
#[derive(Default)]
struct Alerting {
    thresholds: BTreeMap<ThresholdMetric, f64>,
    handlers: Vec<Handler>,
    active: BTreeSet<(String, Operation, ThresholdMetric)>,
    text_formats: BTreeSet<String>,
    handler_panics: u64,
}

impl std::fmt::Debug for Alerting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerting")
            .field("thresholds", &self.thresholds)
            .field("handlers", &self.handlers.len())
            .field("active", &self.active)
            .field("text_formats", &self.text_formats)
            .field("handler_panics", &self.handler_panics)
            .finish()
    }
}

/// One operation's series of one serializer.
#[derive(Debug, Clone)]
struct OpSeries {
    duration: tachymeter::Histogram,
    bytes: tachymeter::Counter,
}

/// One serializer's series, resolved by [`SerializationMonitor::serializer`]: a record is a
/// histogram record, a counter add and a record-log entry (no label lookup unless it failed).
/// Cheap to clone; `Send` and `Sync`.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{Operation, SerializationMonitor};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let monitor = SerializationMonitor::builder().engine(engine.clone()).build().unwrap();
/// let json = monitor.serializer("json");
/// json.record(Operation::Serialize, 0.0004, 2048, true, None);
/// monitor.record_operation("json", Operation::Serialize, 0.0006, 1024, true, None);
/// engine.flush();
/// assert_eq!(monitor.metrics("json").operations[&Operation::Serialize].count, 2);
/// ```
#[derive(Debug, Clone)]
pub struct SerializerRecorder {
    serialize: OpSeries,
    deserialize: OpSeries,
    log: tachymeter::RecordLog,
    errors: CounterFamily,
    /// `instance`, `serializer`: for the error series (cold path).
    labels: [String; 2],
}

impl SerializerRecorder {
    /// Records one operation, as [`SerializationMonitor::record_operation`] does.
    #[inline]
    pub fn record(
        &self,
        operation: Operation,
        duration: impl Elapsed,
        data_size: u64,
        success: bool,
        error_type: Option<&str>,
    ) {
        let series = match operation {
            Operation::Serialize => &self.serialize,
            Operation::Deserialize => &self.deserialize,
        };
        let ns = duration.nanos().unwrap_or(0);
        series.duration.record(ns);
        series.bytes.add(data_size);
        if !success {
            let [id, serializer] = &self.labels;
            let kind = error_type.unwrap_or("unknown");
            self.errors
                .with(&[id, serializer, operation.name(), kind])
                .increment();
        }
        let flags = (operation == Operation::Deserialize) as u64 | (success as u64) << 1;
        self.log.record([ns, data_size, flags]);
    }
}

/// Serialization statistics per serializer and operation, recorded from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{Operation, SerializationMonitor};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let monitor = SerializationMonitor::builder().engine(engine.clone()).build().unwrap();
/// monitor.record_operation("json", Operation::Serialize, 0.0004, 2048, true, None);
/// monitor.record_operation("json", Operation::Serialize, 0.0006, 1024, false, Some("overflow"));
/// engine.flush();
/// let m = monitor.metrics("json");
/// let ser = &m.operations[&Operation::Serialize];
/// assert_eq!((ser.count, ser.success_rate, ser.total_bytes), (2, 0.5, 3072));
/// assert_eq!(ser.errors["overflow"], 1);
/// assert_eq!(monitor.recent("json", 10).len(), 2);
/// ```
#[derive(Debug)]
pub struct SerializationMonitor {
    engine: EngineRef,
    instance: String,
    duration: HistogramFamily,
    bytes: CounterFamily,
    errors: CounterFamily,
    log: RecordsFamily,
    /// Read side only: recording never takes this lock.
    alerting: Mutex<Alerting>,
}

/// Configures a [`SerializationMonitor`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SerializationMonitorBuilder {
    engine: EngineRef,
    instance: Option<String>,
}

impl SerializationMonitorBuilder {
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

    /// Declares the monitor's metric families. The recent-operation log keeps the engine's
    /// `events_capacity` records per serializer and thread.
    ///
    /// # Errors
    /// A registration error of the engine (a name used as another kind there).
    pub fn build(self) -> Result<SerializationMonitor, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        let per_op = ["instance", "serializer", "operation"];
        Ok(SerializationMonitor {
            duration: e.histogram_family(
                Opts::new("serialization_duration")
                    .unit("seconds")
                    .help("Serialization operation time."),
                &per_op,
            )?,
            bytes: e.counter_family(
                Opts::new("serialization_data_size_total")
                    .unit("bytes")
                    .help("Bytes serialized or deserialized."),
                &per_op,
            )?,
            errors: e.counter_family(
                Opts::new("serialization_errors_total").help("Failed operations by error type."),
                &["instance", "serializer", "operation", "error_type"],
            )?,
            log: e.record_log_family(
                Opts::new("serialization_operations")
                    .help("Recent operations: duration ns, size, operation | success << 1."),
                &["instance", "serializer"],
            )?,
            engine: self.engine,
            instance,
            alerting: Mutex::default(),
        })
    }
}

impl SerializationMonitor {
    /// A builder (defaults: the process-wide engine, instance `0`, `1`, …).
    pub fn builder() -> SerializationMonitorBuilder {
        SerializationMonitorBuilder {
            engine: EngineRef::Global,
            instance: None,
        }
    }

    /// Records one operation. A failed operation counts under `error_type` (or `unknown`).
    /// Invalid durations (NaN, negative, infinite) record as 0.
    #[inline]
    pub fn record_operation(
        &self,
        serializer_id: &str,
        operation: Operation,
        duration: impl Elapsed,
        data_size: u64,
        success: bool,
        error_type: Option<&str>,
    ) {
        let id = self.instance.as_str();
        let op = operation.name();
        let ns = duration.nanos().unwrap_or(0);
        self.duration.with(&[id, serializer_id, op]).record(ns);
        self.bytes.with(&[id, serializer_id, op]).add(data_size);
        if !success {
            let kind = error_type.unwrap_or("unknown");
            self.errors.with(&[id, serializer_id, op, kind]).increment();
        }
        let flags = (operation == Operation::Deserialize) as u64 | (success as u64) << 1;
        self.log
            .with(&[id, serializer_id])
            .record([ns, data_size, flags]);
    }

    /// The series of `serializer_id`, resolved once: recording through it skips the label
    /// lookups of [`record_operation`](Self::record_operation) (keep it where the serializer
    /// lives). Equivalent records: both land in the same series.
    pub fn serializer(&self, serializer_id: &str) -> SerializerRecorder {
        let id = self.instance.as_str();
        let op = |o: Operation| OpSeries {
            duration: self.duration.with(&[id, serializer_id, o.name()]).clone(),
            bytes: self.bytes.with(&[id, serializer_id, o.name()]).clone(),
        };
        SerializerRecorder {
            serialize: op(Operation::Serialize),
            deserialize: op(Operation::Deserialize),
            log: self.log.with(&[id, serializer_id]).clone(),
            errors: self.errors.clone(),
            labels: [self.instance.clone(), serializer_id.to_string()],
        }
    }

    /// The statistics of `serializer_id`, from the engine's latest snapshot.
    pub fn metrics(&self, serializer_id: &str) -> SerializerMetrics {
        let snap = self.engine.snapshot();
        self.collect(&snap)
            .remove(serializer_id)
            .unwrap_or_else(|| SerializerMetrics {
                serializer_id: serializer_id.to_string(),
                operations: BTreeMap::new(),
            })
    }

    /// Totals over `serializer_id`, or over every serializer with `None`.
    pub fn summary(&self, serializer_id: Option<&str>) -> Summary {
        let snap = self.engine.snapshot();
        let mut all = self.collect(&snap);
        if let Some(s) = serializer_id {
            all.retain(|k, _| k == s);
        }
        let (mut ops, mut ok, mut bytes) = (0u64, 0f64, 0u64);
        for m in all.values() {
            for o in m.operations.values() {
                ops += o.count;
                ok += o.success_rate * o.count as f64;
                bytes += o.total_bytes;
            }
        }
        Summary {
            total_operations: ops,
            success_rate: if ops == 0 { 1.0 } else { ok / ops as f64 },
            total_bytes: bytes,
            serializers: all,
        }
    }

    /// Resets `serializer_id`'s statistics and recent operations, or every serializer's.
    pub fn reset(&self, serializer_id: Option<&str>) {
        let id = self.instance.as_str();
        let pick =
            |values: &[&str]| values[0] == id && serializer_id.is_none_or(|s| values[1] == s);
        self.duration.reset_where(pick);
        self.bytes.reset_where(pick);
        self.errors.reset_where(pick);
        self.log.reset_where(pick);
    }

    /// The last `count` operations of `serializer_id`, oldest first (at most the log's
    /// capacity), from the engine's latest snapshot.
    pub fn recent(&self, serializer_id: &str, count: usize) -> Vec<OperationRecord> {
        let snap = self.engine.snapshot();
        let labels = [
            ("instance", self.instance.as_str()),
            ("serializer", serializer_id),
        ];
        match snap
            .get("serialization_operations", &labels)
            .map(|m| &m.value)
        {
            Some(MetricValue::Records(r)) => r
                .last(count)
                .iter()
                .map(|x| OperationRecord {
                    at: x.at,
                    operation: Operation::from_code(x.fields[2]),
                    duration: x.fields[0] as f64 / 1e9,
                    data_size: x.fields[1],
                    success: x.fields[2] & 2 != 0,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Sets the threshold of `metric` for every (serializer, operation) pair (the seeds'
    /// `set_performance_threshold`); a NaN threshold removes it.
    pub fn set_threshold(&self, metric: ThresholdMetric, threshold: f64) {
        let mut a = self.alerting();
        if threshold.is_nan() {
            a.thresholds.remove(&metric);
            a.active.retain(|(_, _, m)| *m != metric);
        } else {
            a.thresholds.insert(metric, threshold);
        }
    }

    /// Adds a handler called by [`check_thresholds`](Self::check_thresholds) for each new
    /// violation (the seeds' `add_alert_handler`). Handlers run on the checking thread,
    /// without the monitor's lock held.
    pub fn add_alert_handler(&self, handler: impl Fn(&SerializationAlert) + Send + Sync + 'static) {
        self.alerting().handlers.push(Arc::new(handler));
    }

    /// Evaluates the thresholds on the latest snapshot: returns every current violation and
    /// calls the handlers for those that were not violated at the previous check.
    pub fn check_thresholds(&self) -> Vec<SerializationAlert> {
        let snap = self.engine.snapshot();
        let all = self.collect(&snap);
        let thresholds = self.alerting().thresholds.clone();
        let mut alerts = Vec::new();
        for (serializer, m) in &all {
            for (op, om) in &m.operations {
                for (&metric, &threshold) in &thresholds {
                    let Some(value) = metric.value(om) else {
                        continue;
                    };
                    if metric.violated(value, threshold) {
                        alerts.push(SerializationAlert {
                            serializer_id: serializer.clone(),
                            operation: *op,
                            metric,
                            value,
                            threshold,
                        });
                    }
                }
            }
        }
        let (new, handlers) = {
            let mut a = self.alerting();
            let now: BTreeSet<_> = alerts
                .iter()
                .map(|x| (x.serializer_id.clone(), x.operation, x.metric))
                .collect();
            let new: Vec<&SerializationAlert> = alerts
                .iter()
                .filter(|x| {
                    !a.active
                        .contains(&(x.serializer_id.clone(), x.operation, x.metric))
                })
                .collect();
            a.active = now;
            (new, a.handlers.clone())
        };
        for alert in new {
            for h in &handlers {
                // A panicking handler must not stop the others or the caller's check.
                let call = std::panic::AssertUnwindSafe(|| h(alert));
                if std::panic::catch_unwind(call).is_err() {
                    self.alerting().handler_panics += 1;
                }
            }
        }
        alerts
    }

    /// Alert handler calls that panicked (each was caught; the other handlers still ran).
    pub fn alert_handler_panics(&self) -> u64 {
        self.alerting().handler_panics
    }

    /// Declares `serializer_id` a text format (JSON, YAML, XML…), for the binary-format rule
    /// of [`suggestions`](Self::suggestions). [`Monitored`](crate::Monitored) does it for
    /// formats that say they are text.
    pub fn mark_text_format(&self, serializer_id: &str) {
        self.alerting()
            .text_formats
            .insert(serializer_id.to_string());
    }

    /// Optimisation suggestions for `serializer_id` from the rules in the module docs, most
    /// urgent first; none before [`MIN_OPERATIONS_FOR_SUGGESTIONS`] operations.
    pub fn suggestions(&self, serializer_id: &str) -> Vec<Suggestion> {
        let m = self.metrics(serializer_id);
        let text = self.alerting().text_formats.contains(serializer_id);
        let mut out = Vec::new();
        let (mut count, mut failed, mut bytes, mut busy) = (0u64, 0u64, 0u64, 0f64);
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for (op, om) in &m.operations {
            count += om.count;
            // Exact: every failure is counted under its error type.
            failed += om.errors.values().sum::<u64>();
            bytes += om.total_bytes;
            busy += om.avg_time.unwrap_or(0.0) * om.count as f64;
            for (e, n) in &om.errors {
                *errors.entry(e).or_default() += n;
            }
            if om.count >= MIN_OPERATIONS_FOR_SUGGESTIONS {
                if let (Some(p50), Some(p99)) = (om.p50_time, om.p99_time) {
                    if p99 > 10.0 * p50 {
                        out.push(Suggestion {
                            kind: "latency_spikes",
                            priority: Priority::Medium,
                            message: format!(
                                "{} p99 {:.3} ms is {:.0}x its median {:.3} ms",
                                op.name(),
                                p99 * 1e3,
                                p99 / p50,
                                p50 * 1e3
                            ),
                            suggestion: "look for outsized payloads; stream or split them".into(),
                        });
                    }
                }
            }
        }
        if count < MIN_OPERATIONS_FOR_SUGGESTIONS {
            return Vec::new();
        }
        let error_rate = failed as f64 / count as f64;
        if error_rate > 0.05 {
            let top = errors
                .iter()
                .max_by_key(|(_, n)| **n)
                .map_or("unknown", |(e, _)| e);
            out.push(Suggestion {
                kind: "error_rate",
                priority: Priority::High,
                message: format!(
                    "{:.1}% of {count} operations failed, most often `{top}`",
                    error_rate * 100.0
                ),
                suggestion: "check the inputs and the schema for the failing payloads".into(),
            });
        }
        let mean_size = bytes as f64 / count as f64;
        if text && mean_size > 1024.0 * 1024.0 {
            out.push(Suggestion {
                kind: "binary_format",
                priority: Priority::Medium,
                message: format!(
                    "mean payload {:.1} MiB in a text format",
                    mean_size / (1024.0 * 1024.0)
                ),
                suggestion: "use a binary format (MessagePack, bincode, postcard)".into(),
            });
        }
        if busy > 0.0 && mean_size >= 64.0 * 1024.0 && (bytes as f64 / busy) < 50e6 {
            out.push(Suggestion {
                kind: "low_throughput",
                priority: Priority::Low,
                message: format!(
                    "{:.1} MB/s on {:.0} KiB payloads",
                    bytes as f64 / busy / 1e6,
                    mean_size / 1024.0
                ),
                suggestion: "reuse output buffers or batch small items (BatchSerializer)".into(),
            });
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.priority));
        out
    }

    /// The alerting state (a poisoned lock is still usable: the state is plain data).
    fn alerting(&self) -> std::sync::MutexGuard<'_, Alerting> {
        self.alerting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every serializer's statistics in `snap`.
    fn collect(&self, snap: &Snapshot) -> BTreeMap<String, SerializerMetrics> {
        #[derive(Default)]
        struct Acc {
            data: Option<tachymeter::HistogramSnapshot>,
            bytes: u64,
            errors: BTreeMap<String, u64>,
        }
        let mut acc: BTreeMap<(String, Operation), Acc> = BTreeMap::new();
        for m in snap.metrics() {
            let Some((serializer, op)) = self.key_of(m) else {
                continue;
            };
            let a = acc.entry((serializer.to_string(), op)).or_default();
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "serialization_duration") => a.data = Some(h.clone()),
                (MetricValue::Counter(c), "serialization_data_size_total") => {
                    a.bytes = u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                (MetricValue::Counter(c), "serialization_errors_total") => {
                    let kind = m.desc.label("error_type").unwrap_or("unknown").to_string();
                    *a.errors.entry(kind).or_default() +=
                        u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                _ => {}
            }
        }
        let mut out: BTreeMap<String, SerializerMetrics> = BTreeMap::new();
        for ((serializer, op), a) in acc {
            let Some(h) = a.data else { continue };
            let d = &h.cumulative;
            let count = d.count();
            let failed: u64 = a.errors.values().sum();
            let secs = |v: Option<f64>| v.map(|ns| ns / 1e9);
            let busy = d.sum() as f64 / 1e9;
            out.entry(serializer.clone())
                .or_insert_with(|| SerializerMetrics {
                    serializer_id: serializer.clone(),
                    operations: BTreeMap::new(),
                })
                .operations
                .insert(
                    op,
                    OperationMetrics {
                        count,
                        success_rate: if count == 0 {
                            1.0
                        } else {
                            count.saturating_sub(failed) as f64 / count as f64
                        },
                        errors: a.errors,
                        avg_time: secs(d.mean()),
                        p50_time: secs(d.p50()),
                        p95_time: secs(d.p95()),
                        p99_time: secs(d.p99()),
                        total_bytes: a.bytes,
                        bytes_per_second: if busy > 0.0 {
                            a.bytes as f64 / busy
                        } else {
                            0.0
                        },
                        ops_per_second: h.throughput,
                    },
                );
        }
        out
    }

    /// `(serializer, operation)` of one of this instance's per-operation series.
    fn key_of<'s>(&self, m: &'s MetricSnapshot) -> Option<(&'s str, Operation)> {
        if m.desc.label("instance") != Some(self.instance.as_str()) {
            return None;
        }
        let op = match m.desc.label("operation")? {
            "serialize" => Operation::Serialize,
            "deserialize" => Operation::Deserialize,
            _ => return None,
        };
        Some((m.desc.label("serializer")?, op))
    }
}

/// The process-wide serialization monitor (instance `global`), made on first use (the seeds'
/// `global_monitor()`).
pub fn global_monitor() -> &'static SerializationMonitor {
    static GLOBAL: once_cell::sync::OnceCell<SerializationMonitor> =
        once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            SerializationMonitorBuilder {
                engine,
                instance: Some("global".into()),
            }
            .build()
        })
    })
}
