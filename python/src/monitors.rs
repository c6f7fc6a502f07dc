//! The seeds' monitors (crate `tachymeter-monitor`) as Python classes. Results are dicts with
//! the seeds' keys (the monitors' serde structs, converted by `pythonize`). The Python
//! package's modules (`tachymeter.performance_metrics`, `tachymeter.serialization`,
//! `tachymeter.monitoring`, …) give them the seeds' class names and signatures.

use crate::engine::Engine;
use crate::{error, guard, reg_err, to_py, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;
use tachymeter_monitor as tm;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<InferenceMetrics>()?;
    m.add_class::<SerializationMonitor>()?;
    m.add_class::<EndpointTracker>()?;
    m.add_class::<Profiler>()?;
    m.add_class::<CacheMonitor>()?;
    m.add_class::<CustomMetrics>()?;
    m.add_class::<OperationTracker>()?;
    m.add_class::<ResourceMonitor>()?;
    Ok(())
}

/// Applies `engine` (if a private one) to a builder.
macro_rules! on_engine {
    ($builder:expr, $engine:expr) => {{
        let b = $builder;
        match $engine.and_then(|e| e.shared()) {
            Some(arc) => b.engine(arc),
            None => b,
        }
    }};
}

/// The seeds' inference `PerformanceMetrics`.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct InferenceMetrics {
    pub(crate) inner: tm::InferenceMetrics,
}

#[pymethods]
impl InferenceMetrics {
    #[new]
    #[pyo3(signature = (engine=None, window_size=100, detailed_stats=true, track_percentiles=true, instance=None, recent_capacity=None))]
    fn new(
        engine: Option<&Engine>,
        window_size: usize,
        detailed_stats: bool,
        track_percentiles: bool,
        instance: Option<String>,
        recent_capacity: Option<usize>,
    ) -> PyResult<Self> {
        let mut b = on_engine!(tm::InferenceMetrics::builder(), engine)
            .window_size(window_size)
            .detailed_stats(detailed_stats)
            .track_percentiles(track_percentiles);
        if let Some(i) = instance {
            b = b.instance(i);
        }
        if let Some(c) = recent_capacity {
            b = b.recent_capacity(c);
        }
        Ok(InferenceMetrics {
            inner: b.build().map_err(reg_err)?,
        })
    }

    /// Records one inference (times in float seconds). Invalid times are counted, not
    /// recorded.
    #[pyo3(signature = (inference_time, batch_size=1, preprocessing_time=0.0, quantization_time=0.0))]
    fn update_inference(
        &self,
        inference_time: f64,
        batch_size: u64,
        preprocessing_time: f64,
        quantization_time: f64,
    ) {
        self.inner.update_inference(
            inference_time,
            batch_size,
            preprocessing_time,
            quantization_time,
        );
    }

    /// Records an error (of `kind`, a small set of label values, if given).
    #[pyo3(signature = (kind=None))]
    fn record_error(&self, kind: Option<&str>) {
        match kind {
            Some(k) => self.inner.record_error_kind(k),
            None => self.inner.record_error(),
        }
    }

    fn record_cache_hit(&self) {
        self.inner.record_cache_hit();
    }

    fn record_cache_miss(&self) {
        self.inner.record_cache_miss();
    }

    fn reset(&self) {
        self.inner.reset();
    }

    /// The seeds' `get_statistics()` dict (latest snapshot).
    fn statistics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| guard("statistics", || self.inner.statistics()))?;
        to_py(py, &s)
    }

    /// The seeds' `get_comprehensive_statistics()` dict.
    fn comprehensive_statistics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| {
            guard("comprehensive_statistics", || {
                self.inner.comprehensive_statistics()
            })
        })?;
        to_py(py, &s)
    }

    #[getter]
    fn instance(&self) -> String {
        self.inner.instance().to_string()
    }

    #[getter]
    fn window_size(&self) -> usize {
        self.inner.window_size()
    }
}

fn operation(op: &str) -> PyResult<tm::Operation> {
    match op {
        "serialize" => Ok(tm::Operation::Serialize),
        "deserialize" => Ok(tm::Operation::Deserialize),
        other => Err(PyValueError::new_err(format!(
            "operation_type must be 'serialize' or 'deserialize', got {other:?}"
        ))),
    }
}

fn threshold_metric(name: &str) -> PyResult<tm::ThresholdMetric> {
    Ok(match name {
        "avg_time" => tm::ThresholdMetric::AvgTime,
        "p95_time" => tm::ThresholdMetric::P95Time,
        "p99_time" => tm::ThresholdMetric::P99Time,
        "error_rate" => tm::ThresholdMetric::ErrorRate,
        "min_bytes_per_second" => tm::ThresholdMetric::MinBytesPerSecond,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown threshold metric {other:?}: use avg_time, p95_time, p99_time, \
                 error_rate or min_bytes_per_second"
            )))
        }
    })
}

/// The seeds' serialization `PerformanceMonitor`.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct SerializationMonitor {
    inner: tm::SerializationMonitor,
}

#[pymethods]
impl SerializationMonitor {
    #[new]
    #[pyo3(signature = (engine=None, instance=None))]
    fn new(engine: Option<&Engine>, instance: Option<String>) -> PyResult<Self> {
        let mut b = on_engine!(tm::SerializationMonitor::builder(), engine);
        if let Some(i) = instance {
            b = b.instance(i);
        }
        Ok(SerializationMonitor {
            inner: b.build().map_err(reg_err)?,
        })
    }

    /// Records one operation (`duration` in float seconds).
    #[pyo3(signature = (serializer_id, operation_type, duration, data_size=0, success=true, error_type=None))]
    fn record_operation(
        &self,
        serializer_id: &str,
        operation_type: &str,
        duration: f64,
        data_size: u64,
        success: bool,
        error_type: Option<&str>,
    ) -> PyResult<()> {
        self.inner.record_operation(
            serializer_id,
            operation(operation_type)?,
            duration,
            data_size,
            success,
            error_type,
        );
        Ok(())
    }

    fn metrics<'py>(&self, py: Python<'py>, serializer_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let m = py.detach(|| guard("metrics", || self.inner.metrics(serializer_id)))?;
        to_py(py, &m)
    }

    #[pyo3(signature = (serializer_id=None))]
    fn summary<'py>(
        &self,
        py: Python<'py>,
        serializer_id: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| guard("summary", || self.inner.summary(serializer_id)))?;
        to_py(py, &s)
    }

    #[pyo3(signature = (serializer_id=None))]
    fn reset(&self, serializer_id: Option<&str>) {
        self.inner.reset(serializer_id);
    }

    /// The last `count` operations, oldest first: dicts with `operation`, `duration`
    /// (seconds), `data_size`, `success` and `uptime_seconds` (when it was recorded, seconds since the engine started).
    #[pyo3(signature = (serializer_id, count=10))]
    fn recent<'py>(
        &self,
        py: Python<'py>,
        serializer_id: &str,
        count: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let records = py.detach(|| guard("recent", || self.inner.recent(serializer_id, count)))?;
        let out: Vec<BTreeMap<&str, serde_json::Value>> = records
            .iter()
            .map(|r| {
                let ts = r.at.as_secs_f64();
                BTreeMap::from([
                    ("operation", r.operation.name().into()),
                    ("duration", r.duration.into()),
                    ("data_size", r.data_size.into()),
                    ("success", r.success.into()),
                    ("uptime_seconds", ts.into()),
                ])
            })
            .collect();
        to_py(py, &out)
    }

    /// Sets a threshold (`avg_time`, `p95_time`, `p99_time`, `error_rate`,
    /// `min_bytes_per_second`); NaN removes it.
    fn set_threshold(&self, metric: &str, threshold: f64) -> PyResult<()> {
        self.inner
            .set_threshold(threshold_metric(metric)?, threshold);
        Ok(())
    }

    /// New threshold violations since the last check (each reported once while it lasts).
    fn check_thresholds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let a = py.detach(|| guard("check_thresholds", || self.inner.check_thresholds()))?;
        to_py(py, &a)
    }

    fn suggestions<'py>(
        &self,
        py: Python<'py>,
        serializer_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| guard("suggestions", || self.inner.suggestions(serializer_id)))?;
        to_py(py, &s)
    }
}

/// The seeds' API tracker (`get_api_tracker()`).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct EndpointTracker {
    pub(crate) inner: tm::EndpointTracker,
}

#[pymethods]
impl EndpointTracker {
    #[new]
    #[pyo3(signature = (engine=None, instance=None))]
    fn new(engine: Option<&Engine>, instance: Option<String>) -> PyResult<Self> {
        let mut b = on_engine!(tm::EndpointTracker::builder(), engine);
        if let Some(i) = instance {
            b = b.instance(i);
        }
        Ok(EndpointTracker {
            inner: b.build().map_err(reg_err)?,
        })
    }

    /// Records one request that took `duration` seconds.
    #[pyo3(signature = (endpoint, method, duration, status=200, error=false))]
    fn record(&self, endpoint: &str, method: &str, duration: f64, status: u16, error: bool) {
        self.inner.record(endpoint, method, duration, status, error);
    }

    fn endpoint_stats<'py>(&self, py: Python<'py>, endpoint: &str) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| guard("endpoint_stats", || self.inner.endpoint_stats(endpoint)))?;
        to_py(py, &s)
    }

    fn api_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = py.detach(|| guard("api_report", || self.inner.api_report()))?;
        to_py(py, &r)
    }
}

/// The seeds' profiler: wall time, thread CPU time and resident-set change per call.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct Profiler {
    pub(crate) inner: tm::Profiler,
}

#[pymethods]
impl Profiler {
    #[new]
    #[pyo3(signature = (engine=None, instance=None))]
    fn new(engine: Option<&Engine>, instance: Option<&str>) -> PyResult<Self> {
        let p = match (engine.and_then(|e| e.shared()), instance) {
            (Some(e), Some(i)) => tm::Profiler::on_instance(e, i),
            (Some(e), None) => tm::Profiler::on(e),
            (None, _) => tm::Profiler::new(),
        }
        .map_err(reg_err)?;
        Ok(Profiler {
            inner: p.rss_fallback(true),
        })
    }

    /// Calls `func(*args, **kwargs)` as one call of `operation` (wall and CPU time, memory
    /// recorded when it returns or raises) and returns `(result, wall_seconds)`.
    #[pyo3(signature = (operation, func, args, kwargs=None, units=0))]
    fn profile<'py>(
        &self,
        operation: &str,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
        units: u64,
    ) -> PyResult<(Bound<'py, PyAny>, f64)> {
        let t0 = Instant::now();
        let result = {
            let mut g = self.inner.start(operation);
            g.units(units);
            func.call(args, kwargs)
        };
        let wall = t0.elapsed().as_secs_f64();
        Ok((result?, wall))
    }

    /// Records a call timed by the caller (wall time and units only).
    #[pyo3(signature = (operation, duration, units=0))]
    fn record(&self, operation: &str, duration: f64, units: u64) {
        self.inner.record(operation, duration, units);
    }

    fn stats<'py>(&self, py: Python<'py>, operation: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let s = py.detach(|| guard("stats", || self.inner.stats(operation)))?;
        s.map(|s| to_py(py, &s)).transpose()
    }

    fn all_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| guard("all_stats", || self.inner.all_stats()))?;
        to_py(py, &s)
    }

    fn identify_bottlenecks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s =
            py.detach(|| guard("identify_bottlenecks", || self.inner.identify_bottlenecks()))?;
        to_py(py, &s)
    }

    /// `[(operation, seconds)]`: total wall time per operation.
    fn time_breakdown(&self, py: Python<'_>) -> PyResult<Vec<(String, f64)>> {
        py.detach(|| guard("time_breakdown", || self.inner.time_breakdown()))
    }

    /// `allocator`, `rss` or `none`.
    #[getter]
    fn memory_source(&self) -> &'static str {
        self.inner.memory_source()
    }
}

/// Statistics of one named cache (the seeds' `CacheStats`).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct CacheMonitor {
    inner: tm::CacheMonitor,
}

#[pymethods]
impl CacheMonitor {
    #[new]
    #[pyo3(signature = (name, engine=None))]
    fn new(name: &str, engine: Option<&Engine>) -> PyResult<Self> {
        let c = match engine.and_then(|e| e.shared()) {
            Some(e) => tm::CacheMonitor::on(e, name),
            None => tm::CacheMonitor::new(name),
        }
        .map_err(reg_err)?;
        Ok(CacheMonitor { inner: c })
    }

    fn record_hit(&self) {
        self.inner.record_hit();
    }

    fn record_miss(&self) {
        self.inner.record_miss();
    }

    #[pyo3(signature = (n=1))]
    fn record_evictions(&self, n: u64) {
        self.inner.record_evictions(n);
    }

    fn set_size(&self, entries: u64) {
        self.inner.set_size(entries);
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = py.detach(|| guard("stats", || self.inner.stats()))?;
        to_py(py, &s)
    }

    fn reset(&self) {
        self.inner.reset();
    }
}

fn custom_err(e: tm::CustomMetricError) -> PyErr {
    error(ErrorKind::Registration, e.to_string())
}

fn label_pairs(labels: &Option<BTreeMap<String, String>>) -> Vec<(&str, &str)> {
    labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The seeds' `CustomMetrics`: metrics defined at run time by name.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct CustomMetrics {
    inner: tm::CustomMetrics,
}

#[pymethods]
impl CustomMetrics {
    #[new]
    #[pyo3(signature = (engine=None))]
    fn new(engine: Option<&Engine>) -> Self {
        let inner = match engine.and_then(|e| e.shared()) {
            Some(e) => tm::CustomMetrics::on(e),
            None => tm::CustomMetrics::new(),
        };
        CustomMetrics { inner }
    }

    /// Defines a metric (`metric_type`: `counter`, `gauge` or `histogram`).
    #[pyo3(signature = (name, metric_type, description="", unit="", buckets=None, labels=None))]
    fn define_metric(
        &self,
        name: &str,
        metric_type: &str,
        description: &str,
        unit: &str,
        buckets: Option<Vec<f64>>,
        labels: Option<Vec<String>>,
    ) -> PyResult<()> {
        let labels = labels.unwrap_or_default();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        self.inner
            .define(
                name,
                metric_type,
                description,
                unit,
                &buckets.unwrap_or_default(),
                &refs,
            )
            .map(drop)
            .map_err(custom_err)
    }

    #[pyo3(signature = (name, labels=None, amount=1))]
    fn increment_counter(
        &self,
        name: &str,
        labels: Option<BTreeMap<String, String>>,
        amount: u64,
    ) -> PyResult<()> {
        self.inner
            .add_counter(name, amount, &label_pairs(&labels))
            .map_err(custom_err)
    }

    #[pyo3(signature = (name, value, labels=None))]
    fn update_gauge(
        &self,
        name: &str,
        value: f64,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<()> {
        self.inner
            .update_gauge(name, value, &label_pairs(&labels))
            .map_err(custom_err)
    }

    #[pyo3(signature = (name, value, labels=None))]
    fn observe_histogram(
        &self,
        name: &str,
        value: f64,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<()> {
        self.inner
            .observe_histogram(name, value, &label_pairs(&labels))
            .map_err(custom_err)
    }

    /// Every metric's definition and series (latest snapshot).
    fn all_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = py.detach(|| guard("all_metrics", || self.inner.all_metrics()))?;
        to_py(py, &m)
    }

    /// Calls refused so far (undefined name, wrong kind, wrong labels).
    #[getter]
    fn rejected(&self) -> u64 {
        self.inner.rejected()
    }
}

fn operation_kind(kind: &str) -> PyResult<tm::OperationKind> {
    tm::OperationKind::BUILT_IN
        .into_iter()
        .find(|k| k.label() == kind)
        .ok_or_else(|| {
            let names: Vec<&str> = tm::OperationKind::BUILT_IN
                .iter()
                .map(|k| k.label())
                .collect();
            PyValueError::new_err(format!(
                "unknown operation type {kind:?}: use one of {names:?}"
            ))
        })
}

/// The seeds' operation `PerformanceTracker`: start and end by id.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct OperationTracker {
    inner: tm::OperationTracker,
}

#[pymethods]
impl OperationTracker {
    #[new]
    #[pyo3(signature = (engine=None, instance=None, capacity=65_536))]
    fn new(engine: Option<&Engine>, instance: Option<String>, capacity: usize) -> PyResult<Self> {
        let mut b = on_engine!(tm::OperationTracker::builder(), engine).capacity(capacity);
        if let Some(i) = instance {
            b = b.instance(i);
        }
        Ok(OperationTracker {
            inner: b
                .build()
                .map_err(|e| error(ErrorKind::Config, e.to_string()))?,
        })
    }

    /// Starts an operation; returns its id (a number).
    #[pyo3(signature = (operation_type, operation_name, metadata=None))]
    fn start(
        &self,
        operation_type: &str,
        operation_name: &str,
        metadata: Option<BTreeMap<String, String>>,
    ) -> PyResult<u64> {
        let kind = operation_kind(operation_type)?;
        Ok(self.inner.start(kind, operation_name, metadata).as_u64())
    }

    /// Ends operation `id`; its duration in seconds, or `None` for an unknown or ended id.
    #[pyo3(signature = (id, success=true, error_message=None, metadata=None))]
    fn end(
        &self,
        id: u64,
        success: bool,
        error_message: Option<&str>,
        metadata: Option<BTreeMap<String, String>>,
    ) -> Option<f64> {
        self.inner
            .end(
                tm::OperationId::from_u64(id),
                success,
                error_message,
                metadata,
            )
            .map(|d| d.as_secs_f64())
    }

    #[pyo3(signature = (operation_type, hours_back=24))]
    fn metrics_by_type<'py>(
        &self,
        py: Python<'py>,
        operation_type: &str,
        hours_back: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = operation_kind(operation_type)?;
        let m = py.detach(|| {
            guard("metrics_by_type", || {
                self.inner.metrics_by_kind(kind, hours_back)
            })
        })?;
        to_py(py, &m)
    }

    #[pyo3(signature = (hours_back=24))]
    fn all_metrics<'py>(&self, py: Python<'py>, hours_back: u64) -> PyResult<Bound<'py, PyAny>> {
        let m = py.detach(|| guard("all_metrics", || self.inner.all_metrics(hours_back)))?;
        to_py(py, &m)
    }

    #[pyo3(signature = (count=10))]
    fn recent_operations<'py>(&self, py: Python<'py>, count: usize) -> PyResult<Bound<'py, PyAny>> {
        let m = py.detach(|| guard("recent_operations", || self.inner.recent_operations(count)))?;
        to_py(py, &m)
    }

    #[getter]
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
}

/// System and process resources (the seeds' `ResourceMonitor` / `SystemResourceMonitor`).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct ResourceMonitor {
    pub(crate) inner: tm::ResourceMonitor,
    sampling: Mutex<Option<tm::Sampling>>,
}

#[pymethods]
impl ResourceMonitor {
    #[new]
    #[pyo3(signature = (engine=None, instance=None, interval=5.0, cpu_threshold=80.0, memory_threshold=85.0, disk_threshold=90.0))]
    fn new(
        py: Python<'_>,
        engine: Option<&Engine>,
        instance: Option<String>,
        interval: f64,
        cpu_threshold: f64,
        memory_threshold: f64,
        disk_threshold: f64,
    ) -> PyResult<Self> {
        for (what, t) in [
            ("cpu_threshold", cpu_threshold),
            ("memory_threshold", memory_threshold),
            ("disk_threshold", disk_threshold),
        ] {
            if !(0.0..=100.0).contains(&t) {
                return Err(error(
                    ErrorKind::Config,
                    format!("{what} must be a percentage in 0..=100, got {t}"),
                ));
            }
        }
        let mut b = on_engine!(tm::ResourceMonitor::builder(), engine)
            .interval(crate::seconds("interval", interval)?)
            .cpu_threshold(cpu_threshold)
            .memory_threshold(memory_threshold)
            .disk_threshold(disk_threshold);
        if let Some(i) = instance {
            b = b.instance(i);
        }
        let inner = py
            .detach(|| b.build())
            .map_err(|e| error(ErrorKind::Config, e.to_string()))?;
        Ok(ResourceMonitor {
            inner,
            sampling: Mutex::new(None),
        })
    }

    /// Takes a reading now (GIL released) and returns it.
    fn sample_now<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = py.detach(|| guard("sample_now", || self.inner.sample_now()))?;
        to_py(py, &r)
    }

    /// The latest reading of the sampling thread, or a new one if there is none.
    fn current<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = py.detach(|| guard("current", || self.inner.current()))?;
        to_py(py, &r)
    }

    /// Alerts for readings above the thresholds (the seeds' `get_alerts_for_high_usage`).
    fn alerts_for_high_usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = py.detach(|| guard("alerts", || self.inner.alerts_for_high_usage()))?;
        to_py(py, &r)
    }

    #[pyo3(signature = (hours_back=1))]
    fn history<'py>(&self, py: Python<'py>, hours_back: u64) -> PyResult<Bound<'py, PyAny>> {
        let r = py.detach(|| guard("history", || self.inner.history(hours_back)))?;
        to_py(py, &r)
    }

    /// Starts the background sampling thread (idempotent).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let mut s = self.sampling.lock().unwrap_or_else(PoisonError::into_inner);
        if s.is_none() {
            let sampling = py
                .detach(|| self.inner.start())
                .map_err(|e| error(ErrorKind::Server, format!("cannot start sampling: {e}")))?;
            *s = Some(sampling);
        }
        Ok(())
    }

    /// Stops the sampling thread and waits for it (GIL released).
    fn stop(&self, py: Python<'_>) {
        let s = self
            .sampling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(s) = s {
            py.detach(move || s.stop());
        }
    }

    /// The thresholds (percent).
    fn thresholds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.thresholds())
    }
}
