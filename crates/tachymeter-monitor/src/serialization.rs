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

use crate::{Elapsed, EngineRef};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
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
