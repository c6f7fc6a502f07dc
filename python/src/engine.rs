//! The engine API: `Engine`, `Counter`, `Gauge`, `Histogram` (with `Timer`), their families,
//! snapshots as dicts, Prometheus text / JSON / CSV export and the `/metrics` server.

use crate::{error, reg_err, seconds, to_py, ErrorKind};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyMemoryView, PyTuple};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;
use tachymeter::{HistogramConfig, MetricValue, Opts};
use tachymeter_export::{
    encode_csv, encode_json, encode_openmetrics, encode_text, ExportConfig, SnapshotDoc,
};
use tachymeter_monitor::EngineRef;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Counter>()?;
    m.add_class::<Gauge>()?;
    m.add_class::<Histogram>()?;
    m.add_class::<Timer>()?;
    m.add_class::<CounterFamily>()?;
    m.add_class::<GaugeFamily>()?;
    m.add_class::<HistogramFamily>()?;
    m.add_class::<MetricsServer>()?;
    Ok(())
}

/// A metrics engine: per-thread shards, a background aggregator, immutable snapshots.
///
/// The package's `tachymeter.default_engine()` is one of these, made on first use.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct Engine {
    pub(crate) inner: EngineRef,
}

impl Engine {
    /// The engine as an `Arc` for the monitor builders (`None` for the process-wide one,
    /// which is the builders' default).
    pub(crate) fn shared(&self) -> Option<Arc<tachymeter::Engine>> {
        match &self.inner {
            EngineRef::Global => None,
            EngineRef::Shared(e) => Some(e.clone()),
        }
    }

    fn snap(&self, py: Python<'_>, fresh: bool) -> Arc<tachymeter::Snapshot> {
        let e = self.inner.clone();
        py.detach(move || if fresh { e.flush() } else { e.snapshot() })
    }
}

/// `Opts` from the Python arguments.
fn opts(name: &str, help: &str, unit: &str, labels: Option<BTreeMap<String, String>>) -> Opts {
    let mut o = Opts::new(name).help(help).unit(unit);
    for (k, v) in labels.unwrap_or_default() {
        o = o.label(k, v);
    }
    o
}

fn hist_config(buckets: Option<Vec<f64>>, recent: usize) -> PyResult<HistogramConfig> {
    let mut cfg = HistogramConfig::default().recent(recent);
    if let Some(b) = buckets {
        if b.iter().any(|x| !x.is_finite()) {
            return Err(error(
                ErrorKind::Config,
                "histogram buckets must be finite numbers (the +Inf bucket is implicit)",
            ));
        }
        cfg = cfg.buckets(b);
    }
    Ok(cfg)
}

#[pymethods]
impl Engine {
    /// A private engine. `interval`: seconds between background aggregations; `window`:
    /// intervals in the rolling window; `history`: keep time-range history (needed for
    /// reports over time); `background`: run the aggregator thread (else only `flush()`
    /// collects).
    #[new]
    #[pyo3(signature = (interval=1.0, window=60, max_threads=256, label_set_limit=1000, max_series=100_000, history=true, background=true))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn new(
        py: Python<'_>,
        interval: f64,
        window: usize,
        max_threads: usize,
        label_set_limit: usize,
        max_series: usize,
        history: bool,
        background: bool,
    ) -> PyResult<Engine> {
        let mut b = tachymeter::Engine::builder()
            .interval(seconds("interval", interval)?)
            .window(window)
            .max_threads(max_threads)
            .label_set_limit(label_set_limit)
            .max_series(max_series)
            .background(background);
        if !history {
            b = b.history(tachymeter::HistoryConfig::none());
        }
        let engine = py
            .detach(|| b.build())
            .map_err(|e| error(ErrorKind::Config, format!("cannot build the engine: {e}")))?;
        Ok(Engine {
            inner: EngineRef::Shared(Arc::new(engine)),
        })
    }

    /// Registers (or finds) a counter. `labels`: constant label pairs of this series.
    #[pyo3(signature = (name, help="", unit="", labels=None))]
    fn counter(
        &self,
        name: &str,
        help: &str,
        unit: &str,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<Counter> {
        let c = self
            .inner
            .counter(opts(name, help, unit, labels))
            .map_err(reg_err)?;
        Ok(Counter { inner: c })
    }

    /// Registers (or finds) a gauge.
    #[pyo3(signature = (name, help="", unit="", labels=None))]
    fn gauge(
        &self,
        name: &str,
        help: &str,
        unit: &str,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<Gauge> {
        let g = self
            .inner
            .gauge(opts(name, help, unit, labels))
            .map_err(reg_err)?;
        Ok(Gauge { inner: g })
    }

    /// Registers (or finds) a histogram. The unit defaults to `seconds` (observe float
    /// seconds; stored as integer nanoseconds); `buckets`: classic bucket bounds (in the unit)
    /// for the text exposition; `recent`: raw samples to keep for exact window statistics.
    #[pyo3(signature = (name, help="", unit="seconds", labels=None, buckets=None, recent=0))]
    fn histogram(
        &self,
        name: &str,
        help: &str,
        unit: &str,
        labels: Option<BTreeMap<String, String>>,
        buckets: Option<Vec<f64>>,
        recent: usize,
    ) -> PyResult<Histogram> {
        let cfg = hist_config(buckets, recent)?;
        let h = self
            .inner
            .histogram_with(opts(name, help, unit, labels), cfg)
            .map_err(reg_err)?;
        Ok(Histogram::new(h, self.inner.clone()))
    }

    /// A counter family: one name, these label names, a series per tuple of values.
    #[pyo3(signature = (name, labelnames, help="", unit=""))]
    fn counter_family(
        &self,
        name: &str,
        labelnames: Vec<String>,
        help: &str,
        unit: &str,
    ) -> PyResult<CounterFamily> {
        let names: Vec<&str> = labelnames.iter().map(String::as_str).collect();
        let f = self
            .inner
            .counter_family(opts(name, help, unit, None), &names)
            .map_err(reg_err)?;
        Ok(CounterFamily {
            inner: f,
            labelnames,
            engine: self.inner.clone(),
        })
    }

    /// A gauge family.
    #[pyo3(signature = (name, labelnames, help="", unit=""))]
    fn gauge_family(
        &self,
        name: &str,
        labelnames: Vec<String>,
        help: &str,
        unit: &str,
    ) -> PyResult<GaugeFamily> {
        let names: Vec<&str> = labelnames.iter().map(String::as_str).collect();
        let f = self
            .inner
            .gauge_family(opts(name, help, unit, None), &names)
            .map_err(reg_err)?;
        Ok(GaugeFamily {
            inner: f,
            labelnames,
            engine: self.inner.clone(),
        })
    }

    /// A histogram family (unit default `seconds`, as for `histogram`).
    #[pyo3(signature = (name, labelnames, help="", unit="seconds", buckets=None, recent=0))]
    fn histogram_family(
        &self,
        name: &str,
        labelnames: Vec<String>,
        help: &str,
        unit: &str,
        buckets: Option<Vec<f64>>,
        recent: usize,
    ) -> PyResult<HistogramFamily> {
        let cfg = hist_config(buckets, recent)?;
        let names: Vec<&str> = labelnames.iter().map(String::as_str).collect();
        let f = self
            .inner
            .histogram_family_with(opts(name, help, unit, None), &names, cfg)
            .map_err(reg_err)?;
        Ok(HistogramFamily {
            inner: f,
            labelnames,
            engine: self.inner.clone(),
        })
    }

    /// Collects and publishes a snapshot now (GIL released); returns its sequence number.
    fn flush(&self, py: Python<'_>) -> u64 {
        self.snap(py, true).sequence()
    }

    /// The snapshot as a dict (the JSON export's document: `sequence`, `time_unix_seconds`,
    /// `metrics` with `name`, `kind`, `labels`, `unit` and the value). `fresh`: collect now
    /// (default) instead of reading the latest background snapshot.
    #[pyo3(signature = (fresh=true))]
    fn snapshot<'py>(&self, py: Python<'py>, fresh: bool) -> PyResult<Bound<'py, PyAny>> {
        let e = self.inner.clone();
        let doc = py.detach(move || {
            let s = if fresh { e.flush() } else { e.snapshot() };
            SnapshotDoc::from_snapshot(&s)
        });
        to_py(py, &doc)
    }

    /// Prometheus text exposition 0.0.4 (`openmetrics=True`: OpenMetrics 1.0).
    #[pyo3(signature = (openmetrics=false, fresh=true))]
    fn export_prometheus(&self, py: Python<'_>, openmetrics: bool, fresh: bool) -> String {
        let s = self.snap(py, fresh);
        py.detach(move || {
            let cfg = ExportConfig::default();
            if openmetrics {
                encode_openmetrics(&s, &cfg)
            } else {
                encode_text(&s, &cfg)
            }
        })
    }

    /// The snapshot as JSON text.
    #[pyo3(signature = (fresh=true))]
    fn export_json(&self, py: Python<'_>, fresh: bool) -> String {
        let s = self.snap(py, fresh);
        let bytes = py.detach(move || encode_json(&s));
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The snapshot as CSV text (one row per series and statistic).
    #[pyo3(signature = (fresh=true))]
    fn export_csv(&self, py: Python<'_>, fresh: bool) -> String {
        let s = self.snap(py, fresh);
        let bytes = py.detach(move || encode_csv(&s));
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Statistics of one histogram series in its unit: `count`, `sum`, `min`, `max` (exact),
    /// `mean` (exact), `median`/`p50`, `p90`, `p95`, `p99` (within the histogram's relative
    /// error bound, `error_bound`), `std` (from bucket representatives). `None` if the series
    /// does not exist.
    #[pyo3(signature = (name, labels=None, fresh=true))]
    fn histogram_stats<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        labels: Option<BTreeMap<String, String>>,
        fresh: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let s = self.snap(py, fresh);
        let labels = labels.unwrap_or_default();
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let Some(m) = s.get(name, &pairs) else {
            return Ok(None);
        };
        let MetricValue::Histogram(h) = &m.value else {
            return Err(PyTypeError::new_err(format!(
                "metric {name:?} is a {}, not a histogram",
                m.desc.kind
            )));
        };
        let d = &h.cumulative;
        let u = |x: Option<f64>| x.map(|v| h.in_unit(v));
        let q = |p: f64| u(d.quantile(p));
        let stats = HistStats {
            count: d.count(),
            sum: h.in_unit(d.sum() as f64),
            min: u(d.min().map(|v| v as f64)),
            max: u(d.max().map(|v| v as f64)),
            mean: u(d.mean()),
            median: q(0.5),
            std: u(d.stddev()),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            error_bound: tachymeter::HistogramData::relative_error_bound(d.schema()),
            unit: m.desc.unit.clone(),
        };
        to_py(py, &stats).map(Some)
    }

    /// Starts the `/metrics` HTTP server (Prometheus text, OpenMetrics, protobuf by
    /// negotiation) on `host:port` (port 0: a free port). GIL released while it starts.
    #[pyo3(signature = (host="127.0.0.1", port=0))]
    fn start_server(&self, py: Python<'_>, host: &str, port: u16) -> PyResult<MetricsServer> {
        let addr: std::net::SocketAddr = format!("{host}:{port}")
            .parse()
            .or_else(|_| format!("[{host}]:{port}").parse())
            .map_err(|_| error(ErrorKind::Config, format!("invalid host {host:?}")))?;
        let cfg = tachymeter_export::ServerConfig {
            addr,
            ..Default::default()
        };
        let source = self.inner.clone();
        let server = py
            .detach(move || tachymeter_export::MetricsServer::start(cfg, move || source.snapshot()))
            .map_err(|e| error(ErrorKind::Server, format!("cannot serve on {addr}: {e}")))?;
        Ok(MetricsServer {
            addr: server.local_addr(),
            inner: Mutex::new(Some(server)),
        })
    }

    /// Engine-wide health counters of the latest snapshot: rejected values (NaN, negative),
    /// saturated and below-resolution histogram values, thread slots.
    #[pyo3(signature = (fresh=true))]
    fn stats<'py>(&self, py: Python<'py>, fresh: bool) -> PyResult<Bound<'py, PyDict>> {
        let s = self.snap(py, fresh);
        let st = s.stats();
        let d = PyDict::new(py);
        d.set_item("rejected", st.rejected)?;
        d.set_item("saturated", st.saturated)?;
        d.set_item("below_resolution", st.below_resolution)?;
        d.set_item("overflow_claims", st.overflow_claims)?;
        d.set_item("slot_claims", st.slot_claims)?;
        d.set_item("threads_active", st.threads_active)?;
        d.set_item("gauge_overflows", st.gauge_overflows)?;
        Ok(d)
    }

    /// Whether this is the process-wide engine.
    #[getter]
    fn is_default(&self) -> bool {
        matches!(self.inner, EngineRef::Global)
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            EngineRef::Global => "Engine(default)".into(),
            EngineRef::Shared(e) => format!("Engine(interval={:?})", e.snapshot().interval()),
        }
    }
}

#[derive(serde::Serialize)]
struct HistStats {
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    median: Option<f64>,
    std: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    error_bound: f64,
    unit: String,
}

/// A monotonic counter of whole events. `inc()` records into the calling thread's shard.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct Counter {
    inner: tachymeter::Counter,
}

/// `amount` as a counter increment, or a `ValueError` that says why not.
fn count_amount(amount: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(n) = amount.extract::<u64>() {
        return Ok(n);
    }
    if let Ok(f) = amount.extract::<f64>() {
        if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 {
            return Ok(f as u64);
        }
    }
    Err(PyValueError::new_err(format!(
        "Counter.inc: amount must be a non-negative whole number, got {}; counters count \
         events (use a Gauge or a Histogram for fractional or negative amounts)",
        amount.repr().map(|r| r.to_string()).unwrap_or_default()
    )))
}

impl Counter {
    fn new(inner: tachymeter::Counter, _engine: EngineRef) -> Counter {
        Counter { inner }
    }
}

#[pymethods]
impl Counter {
    /// Adds `amount` (default 1; a non-negative whole number).
    #[pyo3(signature = (amount=None))]
    #[inline]
    fn inc(&self, amount: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        match amount {
            None => self.inner.increment(),
            Some(a) => self.inner.add(count_amount(a)?),
        }
        Ok(())
    }

    /// Resets the counter (its totals restart from 0; exporters report the reset time).
    fn reset(&self) {
        self.inner.reset();
    }

    /// The metric's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.desc().name.clone()
    }

    fn __repr__(&self) -> String {
        format!("Counter({:?})", self.inner.desc().name)
    }
}

/// A value that goes up and down. NaN and infinite values are rejected and counted.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct Gauge {
    inner: tachymeter::Gauge,
}

impl Gauge {
    fn new(inner: tachymeter::Gauge, _engine: EngineRef) -> Gauge {
        Gauge { inner }
    }
}

#[pymethods]
impl Gauge {
    /// Sets the value.
    fn set(&self, value: f64) {
        self.inner.set(value);
    }

    /// Adds `amount` (default 1).
    #[pyo3(signature = (amount=1.0))]
    fn inc(&self, amount: f64) {
        self.inner.add(amount);
    }

    /// Subtracts `amount` (default 1).
    #[pyo3(signature = (amount=1.0))]
    fn dec(&self, amount: f64) {
        self.inner.sub(amount);
    }

    /// The metric's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.desc().name.clone()
    }

    fn __repr__(&self) -> String {
        format!("Gauge({:?})", self.inner.desc().name)
    }
}

/// A histogram of observations in its unit (seconds by default).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct Histogram {
    inner: tachymeter::Histogram,
    /// The engine it belongs to: batches record through a `LocalRecorder` of it.
    engine: EngineRef,
}

/// Batches at least this long record through a `LocalRecorder` (one slot claim per batch,
/// then no thread-local lookup per value); shorter ones through the handle.
const LOCAL_BATCH: usize = 64;

impl Histogram {
    fn new(inner: tachymeter::Histogram, engine: EngineRef) -> Histogram {
        Histogram { inner, engine }
    }

    /// Records every value of `values` (`len` of them). Called with the GIL released.
    fn record_batch(&self, values: impl Iterator<Item = f64>, len: usize) {
        if len < LOCAL_BATCH {
            values.for_each(|v| self.inner.record_f64(v));
        } else {
            let rec = self.engine.local_recorder();
            let h = rec.histogram(&self.inner);
            values.for_each(|v| h.record_f64(v));
        }
    }
}

/// How a buffer's items decode to `f64`.
#[derive(Clone, Copy)]
enum Item {
    F64,
    F32,
    Int(usize),
    UInt(usize),
}

/// The item type of a buffer of `format` (struct module syntax) and `itemsize`.
fn item_kind(format: &str, itemsize: usize) -> Option<Item> {
    let f = format.trim_start_matches(['@', '=', '<']);
    // '<' (little-endian) only matches the native order on little-endian machines.
    if format.starts_with('<') && cfg!(target_endian = "big") {
        return None;
    }
    match (f, itemsize) {
        ("d", 8) => Some(Item::F64),
        ("f", 4) => Some(Item::F32),
        ("b" | "h" | "i" | "l" | "q" | "n", 1 | 2 | 4 | 8) => Some(Item::Int(itemsize)),
        ("B" | "H" | "I" | "L" | "Q" | "N", 1 | 2 | 4 | 8) => Some(Item::UInt(itemsize)),
        _ => None,
    }
}

/// Decodes one item (native byte order). `chunk.len()` is the item size.
fn decode(kind: Item, chunk: &[u8]) -> f64 {
    let mut b = [0u8; 8];
    match kind {
        Item::F64 => {
            b.copy_from_slice(chunk);
            f64::from_ne_bytes(b)
        }
        Item::F32 => {
            let mut b4 = [0u8; 4];
            b4.copy_from_slice(chunk);
            f64::from(f32::from_ne_bytes(b4))
        }
        Item::Int(n) => {
            // Sign-extend a native-order integer of n bytes.
            let v = if cfg!(target_endian = "little") {
                b[..n].copy_from_slice(chunk);
                let fill = if chunk[n - 1] & 0x80 != 0 { 0xff } else { 0 };
                b[n..].fill(fill);
                i64::from_le_bytes(b)
            } else {
                b[8 - n..].copy_from_slice(chunk);
                let fill = if chunk[0] & 0x80 != 0 { 0xff } else { 0 };
                b[..8 - n].fill(fill);
                i64::from_be_bytes(b)
            };
            v as f64
        }
        Item::UInt(n) => {
            let v = if cfg!(target_endian = "little") {
                b[..n].copy_from_slice(chunk);
                u64::from_le_bytes(b)
            } else {
                b[8 - n..].copy_from_slice(chunk);
                u64::from_be_bytes(b)
            };
            v as f64
        }
    }
}

#[pymethods]
impl Histogram {
    /// Records one observation in the histogram's unit (float seconds by default). NaN,
    /// infinite and negative values are rejected and counted (`Engine.stats()["rejected"]`).
    #[inline]
    fn observe(&self, value: f64) {
        self.inner.record_f64(value);
    }

    /// Records many observations in one call and returns how many were given: a list or
    /// tuple of numbers, any object with the buffer protocol (NumPy array, `array.array`,
    /// `memoryview`) of float64, float32 or integer items, or any iterable of numbers.
    /// Buffers are recorded with the GIL released.
    ///
    /// The stable ABI of CPython 3.9 (this package's abi3 target) has no buffer-protocol
    /// access for extensions, so a buffer is copied once (`memoryview.tobytes()`, memcpy
    /// speed) before the GIL is released.
    fn observe_many(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        if values.is_instance_of::<PyList>() || values.is_instance_of::<PyTuple>() {
            return self.observe_iterable(py, values);
        }
        let Ok(mv) = PyMemoryView::from(values) else {
            return self.observe_iterable(py, values);
        };
        let format: String = mv.getattr("format")?.extract()?;
        let itemsize: usize = mv.getattr("itemsize")?.extract()?;
        let Some(kind) = item_kind(&format, itemsize) else {
            return Err(PyTypeError::new_err(format!(
                "observe_many: buffer items of format {format:?} are not numbers this call \
                 reads (float64, float32 or native integers)"
            )));
        };
        let bytes = mv.call_method0("tobytes")?;
        let bytes = bytes.cast::<PyBytes>()?;
        let data: &[u8] = bytes.as_bytes();
        let n = data.len() / itemsize;
        py.detach(|| match kind {
            // The common case gets its own loop (no per-item dispatch on the kind).
            Item::F64 => self.record_batch(data.chunks_exact(8).map(|c| decode(Item::F64, c)), n),
            _ => self.record_batch(data.chunks_exact(itemsize).map(|c| decode(kind, c)), n),
        });
        Ok(n)
    }

    /// A timer recording the elapsed seconds into this histogram: a context manager
    /// (`with h.time(): ...`) and a decorator (`@h.time()`). Needs a time unit.
    fn time(slf: &Bound<'_, Self>) -> PyResult<Timer> {
        let h = slf.get();
        if !h.inner.desc().unit_kind().is_time() {
            return Err(error(
                ErrorKind::Config,
                format!(
                    "histogram {:?} has unit {:?}: a timer needs a time unit (seconds, \
                     milliseconds, ...)",
                    h.inner.desc().name,
                    h.inner.desc().unit
                ),
            ));
        }
        Ok(Timer {
            hist: slf.clone().unbind(),
            start: AtomicU64::new(u64::MAX),
        })
    }

    /// Resets the histogram.
    fn reset(&self) {
        self.inner.reset();
    }

    /// The metric's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.desc().name.clone()
    }

    /// The metric's unit.
    #[getter]
    fn unit(&self) -> String {
        self.inner.desc().unit.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Histogram({:?}, unit={:?})",
            self.inner.desc().name,
            self.inner.desc().unit
        )
    }
}

impl Histogram {
    /// Extracts every item first (nothing is recorded if one is not a number), then records
    /// with the GIL released.
    fn observe_iterable(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut v: Vec<f64> = Vec::with_capacity(values.len().unwrap_or(0));
        for item in values.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "observe_many needs a list, a buffer or an iterable of numbers, got {}",
                values
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })? {
            let item = item?;
            v.push(item.extract::<f64>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "observe_many: every value must be a number, got {}",
                    item.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?);
        }
        py.detach(|| self.record_batch(v.iter().copied(), v.len()));
        Ok(v.len())
    }
}

/// Process-wide monotonic epoch of the timers.
fn now_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A timer of a histogram: context manager and decorator (`Histogram.time()`).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct Timer {
    hist: Py<Histogram>,
    /// Start of the running `with` block, `u64::MAX` when none.
    start: AtomicU64,
}

#[pymethods]
impl Timer {
    fn __enter__(slf: Py<Self>, py: Python<'_>) -> Py<Self> {
        // Relaxed: the timer is used by the thread that entered it.
        slf.get().start.store(now_nanos(), Ordering::Relaxed);
        let _ = py;
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        // Relaxed: see `__enter__`.
        let start = self.start.swap(u64::MAX, Ordering::Relaxed);
        if start != u64::MAX {
            let ns = now_nanos().saturating_sub(start);
            self.hist.get().inner.record(ns);
        }
        false
    }

    /// Decorates `func`: every call is timed.
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        py.import("tachymeter._shim")?
            .getattr("timed")?
            .call1((self.hist.clone_ref(py), func))
    }
}

/// The label values of a family call: positional in label-name order, or keywords by name.
fn label_values(
    labelnames: &[String],
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<String>> {
    let kw = kwargs.map(|k| k.len()).unwrap_or(0);
    if kw > 0 && !args.is_empty() {
        return Err(PyValueError::new_err(
            "labels(): give the label values either positionally or by name, not both",
        ));
    }
    let values: Vec<String> = if kw > 0 {
        let kwargs = kwargs.ok_or_else(|| PyValueError::new_err("no labels"))?;
        let mut out = Vec::with_capacity(labelnames.len());
        for n in labelnames {
            let v = kwargs.get_item(n)?.ok_or_else(|| {
                PyValueError::new_err(format!(
                    "labels(): missing label {n:?} (label names: {labelnames:?})"
                ))
            })?;
            out.push(v.str()?.to_string());
        }
        if kw != labelnames.len() {
            return Err(PyValueError::new_err(format!(
                "labels(): unknown label names given (label names: {labelnames:?})"
            )));
        }
        out
    } else {
        args.iter()
            .map(|a| a.str().map(|s| s.to_string()))
            .collect::<PyResult<_>>()?
    };
    if values.len() != labelnames.len() {
        return Err(PyValueError::new_err(format!(
            "labels(): expected {} label values ({labelnames:?}), got {}",
            labelnames.len(),
            values.len()
        )));
    }
    Ok(values)
}

macro_rules! family {
    ($name:ident, $fam:ty, $handle:ident, $ctor:expr) => {
        /// A family: one metric name with label names, a series per tuple of values.
        /// `labels(...)` resolves a series once; keep the handle for recording.
        #[pyclass(module = "tachymeter._native", frozen)]
        pub struct $name {
            inner: $fam,
            labelnames: Vec<String>,
            engine: EngineRef,
        }

        #[pymethods]
        impl $name {
            /// The series with these label values (positional, or by label name), registered
            /// on first use. Past the engine's label-set limit, the shared overflow series.
            #[pyo3(signature = (*args, **kwargs))]
            fn labels(
                &self,
                args: &Bound<'_, PyTuple>,
                kwargs: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<$handle> {
                let values = label_values(&self.labelnames, args, kwargs)?;
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let h = self.inner.with(&refs).clone();
                Ok($ctor(h, self.engine.clone()))
            }

            /// Removes the series with these label values; true if it existed.
            #[pyo3(signature = (*args, **kwargs))]
            fn remove(
                &self,
                args: &Bound<'_, PyTuple>,
                kwargs: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<bool> {
                let values = label_values(&self.labelnames, args, kwargs)?;
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                Ok(self.inner.remove(&refs))
            }

            /// The label names.
            #[getter]
            fn labelnames(&self) -> Vec<String> {
                self.labelnames.clone()
            }

            /// Series registered (the overflow series included).
            fn __len__(&self) -> usize {
                self.inner.len()
            }
        }
    };
}

family!(
    CounterFamily,
    tachymeter::CounterFamily,
    Counter,
    Counter::new
);
family!(GaugeFamily, tachymeter::GaugeFamily, Gauge, Gauge::new);
family!(
    HistogramFamily,
    tachymeter::HistogramFamily,
    Histogram,
    Histogram::new
);

/// A running `/metrics` server (`Engine.start_server`). A context manager; `stop()` stops it.
#[pyclass(module = "tachymeter._native", frozen)]
pub struct MetricsServer {
    addr: std::net::SocketAddr,
    inner: Mutex<Option<tachymeter_export::MetricsServer>>,
}

#[pymethods]
impl MetricsServer {
    /// The port it listens on.
    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The host it listens on.
    #[getter]
    fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// `http://host:port/metrics`.
    #[getter]
    fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// True until `stop()`.
    #[getter]
    fn running(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Stops the server and joins its thread (GIL released). Idempotent.
    fn stop(&self, py: Python<'_>) {
        let server = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(s) = server {
            py.detach(move || s.shutdown());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("MetricsServer({})", self.url())
    }
}
