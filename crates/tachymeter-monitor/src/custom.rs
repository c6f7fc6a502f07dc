//! [`CustomMetrics`]: metrics the user defines at run time by name (the seeds'
//! `CustomMetrics`: `define_metric`, `update_gauge`, `observe_histogram`, `increment_counter`,
//! `get_all_metrics`).
//!
//! Each definition registers one engine label family under the given name, so custom metrics
//! appear in `/metrics`, JSON and CSV like any other: a histogram's unit sets its resolution
//! and exported unit (`hours` is stored in nanoseconds and exported as `_seconds`), and its
//! explicit `buckets` become its classic `le` bounds (in the unit) in the Prometheus exposition.
//!
//! Recording by name finds the definition in a bounded insert-only table without a lock or an
//! allocation, then the series in the family the same way; a name that was never defined, a
//! value of the wrong kind or missing labels return an error (and are counted in
//! [`CustomMetrics::rejected`]) instead of recording. [`CustomMetrics::define_metric`] also
//! returns a [`CustomMetric`] handle that skips the name lookup.

use crate::table::{str_hash, SetOnceTable};
use crate::EngineRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tachymeter::{
    CounterFamily, Engine, GaugeFamily, HistogramConfig, HistogramFamily, MetricValue, Opts,
    RegisterError,
};

/// Custom metrics one [`CustomMetrics`] can hold (definitions past it are refused).
pub const MAX_CUSTOM_METRICS: usize = 1024;
/// Labels one custom metric can have.
pub const MAX_CUSTOM_LABELS: usize = 8;

/// The kind of a custom metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomKind {
    /// A monotonic count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A distribution.
    Histogram,
}

impl CustomKind {
    /// The seeds' `metric_type` string: `counter`, `gauge` or `histogram`.
    pub fn name(self) -> &'static str {
        match self {
            CustomKind::Counter => "counter",
            CustomKind::Gauge => "gauge",
            CustomKind::Histogram => "histogram",
        }
    }
}

impl std::str::FromStr for CustomKind {
    type Err = CustomMetricError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "counter" => Ok(CustomKind::Counter),
            "gauge" => Ok(CustomKind::Gauge),
            "histogram" => Ok(CustomKind::Histogram),
            other => Err(CustomMetricError::UnknownKind(other.to_string())),
        }
    }
}

/// What went wrong with a custom metric.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CustomMetricError {
    /// `metric_type` is not `counter`, `gauge` or `histogram`.
    UnknownKind(String),
    /// No metric of this name was defined.
    Undefined(String),
    /// The metric was defined as another kind.
    WrongKind {
        /// The metric.
        name: String,
        /// Its kind.
        defined: CustomKind,
        /// The kind the call needs.
        used: CustomKind,
    },
    /// The labels given are not exactly the defined label names.
    Labels {
        /// The metric.
        name: String,
        /// The defined label names.
        expected: Vec<String>,
    },
    /// Already defined with another kind, unit, description, buckets or labels.
    Redefined(String),
    /// [`MAX_CUSTOM_METRICS`] are defined already, or more than [`MAX_CUSTOM_LABELS`] labels.
    TooMany(String),
    /// The engine refused the registration (invalid name, labels or buckets, a name used by
    /// another metric...).
    Register(RegisterError),
}

impl fmt::Display for CustomMetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKind(k) => write!(
                f,
                "unknown metric type `{k}`: expected counter, gauge or histogram"
            ),
            Self::Undefined(n) => write!(f, "custom metric `{n}` is not defined"),
            Self::WrongKind {
                name,
                defined,
                used,
            } => write!(
                f,
                "custom metric `{name}` is a {}, not a {}",
                defined.name(),
                used.name()
            ),
            Self::Labels { name, expected } => write!(
                f,
                "custom metric `{name}` takes exactly the labels {expected:?}"
            ),
            Self::Redefined(n) => write!(f, "custom metric `{n}` is already defined differently"),
            Self::TooMany(what) => write!(f, "too many {what}"),
            Self::Register(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CustomMetricError {}

impl From<RegisterError> for CustomMetricError {
    fn from(e: RegisterError) -> Self {
        CustomMetricError::Register(e)
    }
}

/// A custom metric's definition (the seeds' `define_metric` arguments).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MetricDefinition {
    /// Name (a Prometheus metric name).
    pub name: String,
    /// Kind.
    pub kind: CustomKind,
    /// Help text.
    pub description: String,
    /// Unit (`seconds`, `hours`, `bytes`, `percent`, or any word).
    pub unit: String,
    /// Classic bucket bounds of a histogram, in the unit (empty: the exporter's default).
    pub buckets: Vec<f64>,
    /// Label names.
    pub labels: Vec<String>,
}

impl MetricDefinition {
    /// A metric `name` of `kind` without description, unit, buckets or labels.
    pub fn new(name: impl Into<String>, kind: CustomKind) -> Self {
        MetricDefinition {
            name: name.into(),
            kind,
            description: String::new(),
            unit: String::new(),
            buckets: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// Sets the unit.
    pub fn unit(mut self, u: impl Into<String>) -> Self {
        self.unit = u.into();
        self
    }

    /// Sets a histogram's classic bucket bounds (in the unit).
    pub fn buckets(mut self, b: impl IntoIterator<Item = f64>) -> Self {
        self.buckets = b.into_iter().collect();
        self
    }

    /// Sets the label names.
    pub fn labels<S: Into<String>>(mut self, l: impl IntoIterator<Item = S>) -> Self {
        self.labels = l.into_iter().map(Into::into).collect();
        self
    }
}

/// A defined metric's family.
#[derive(Debug, Clone)]
enum Series {
    Counter(CounterFamily),
    Gauge(GaugeFamily),
    Histogram(HistogramFamily),
}

/// One definition and its family.
#[derive(Debug)]
struct Defined {
    def: MetricDefinition,
    series: Series,
}

/// A defined custom metric: records without the name lookup. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CustomMetric {
    name: Arc<str>,
    kind: CustomKind,
    labels: Arc<[String]>,
    series: Series,
}

impl CustomMetric {
    /// The metric's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds `n` to a counter.
    ///
    /// # Errors
    /// Not a counter, or labels that are not exactly the defined ones.
    pub fn add(&self, n: u64, labels: &[(&str, &str)]) -> Result<(), CustomMetricError> {
        self.view().add(n, labels)
    }

    /// Sets a gauge.
    ///
    /// # Errors
    /// Not a gauge, or wrong labels.
    pub fn set(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), CustomMetricError> {
        self.view().set(value, labels)
    }

    /// Records a histogram value in the metric's unit (`8.5` for 8.5 hours).
    ///
    /// # Errors
    /// Not a histogram, or wrong labels. (A NaN or negative value is counted as rejected by
    /// the engine, as with any histogram.)
    pub fn observe(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), CustomMetricError> {
        self.view().observe(value, labels)
    }

    fn view(&self) -> MetricRef<'_> {
        MetricRef {
            name: &self.name,
            kind: self.kind,
            labels: &self.labels,
            series: &self.series,
        }
    }
}

/// One series of a custom metric in [`CustomMetrics::all_metrics`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CustomSeries {
    /// Label values by name.
    pub labels: BTreeMap<String, String>,
    /// Counter total or gauge value (histograms: the sample count).
    pub value: f64,
    /// Histogram samples.
    pub count: Option<u64>,
    /// Histogram sum, in the unit.
    pub sum: Option<f64>,
    /// Histogram mean, in the unit.
    pub mean: Option<f64>,
    /// Histogram median, in the unit (within the histogram's error bound).
    pub p50: Option<f64>,
    /// Histogram 95th percentile, in the unit.
    pub p95: Option<f64>,
    /// Histogram 99th percentile, in the unit.
    pub p99: Option<f64>,
}

/// A custom metric's definition and current values (the seeds' `get_all_metrics` entries).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CustomMetricData {
    /// The definition.
    pub definition: MetricDefinition,
    /// Every series recorded so far, as of the latest snapshot.
    pub series: Vec<CustomSeries>,
}

/// Metrics defined at run time by name (see the module docs).
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{CustomKind, CustomMetrics, MetricDefinition};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let custom = CustomMetrics::on(engine.clone());
/// custom.define_metric(MetricDefinition::new("model_accuracy", CustomKind::Gauge)
///     .description("Current model accuracy").unit("ratio")).unwrap();
/// custom.define_metric(MetricDefinition::new("data_freshness", CustomKind::Histogram)
///     .description("Age of training data").unit("hours")
///     .buckets([1.0, 6.0, 12.0, 24.0, 48.0, 168.0])).unwrap();
/// custom.define_metric(MetricDefinition::new("feature_drift", CustomKind::Counter)
///     .labels(["feature_name", "drift_type"])).unwrap();
/// custom.update_gauge("model_accuracy", 0.945, &[]).unwrap();
/// custom.observe_histogram("data_freshness", 8.5, &[]).unwrap(); // hours
/// custom.increment_counter("feature_drift", &[("feature_name", "age"), ("drift_type", "statistical")]).unwrap();
/// assert!(custom.increment_counter("feature_drift", &[]).is_err()); // labels required
/// engine.flush();
/// let all = custom.all_metrics();
/// assert_eq!(all["model_accuracy"].series[0].value, 0.945);
/// assert_eq!(all["data_freshness"].series[0].sum, Some(8.5));
/// assert_eq!(all["feature_drift"].series[0].value, 1.0);
/// ```
pub struct CustomMetrics {
    engine: EngineRef,
    defined: SetOnceTable<Defined>,
    rejected: AtomicU64,
}

impl fmt::Debug for CustomMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomMetrics")
            .field("engine", &self.engine)
            .field("defined", &self.defined.len())
            .field("rejected", &self.rejected)
            .finish()
    }
}

impl Default for CustomMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl CustomMetrics {
    /// Custom metrics on the process-wide engine.
    pub fn new() -> Self {
        Self::with(EngineRef::Global)
    }

    /// Custom metrics on `engine`.
    pub fn on(engine: Arc<Engine>) -> Self {
        Self::with(EngineRef::Shared(engine))
    }

    fn with(engine: EngineRef) -> Self {
        CustomMetrics {
            engine,
            defined: SetOnceTable::new(MAX_CUSTOM_METRICS),
            rejected: AtomicU64::new(0),
        }
    }

    /// Defines a metric (the seeds' `define_metric(name, metric_type, description, unit,
    /// buckets, labels)`) and returns its handle. Defining the same metric again returns
    /// the same series; with another kind, unit, description, buckets or labels it is an error.
    ///
    /// # Errors
    /// See [`CustomMetricError`].
    pub fn define_metric(&self, def: MetricDefinition) -> Result<CustomMetric, CustomMetricError> {
        if def.labels.len() > MAX_CUSTOM_LABELS {
            return Err(CustomMetricError::TooMany(format!(
                "labels on `{}` (at most {MAX_CUSTOM_LABELS})",
                def.name
            )));
        }
        let hash = str_hash(&def.name);
        if let Some(d) = self.defined.find(hash, |d| d.def.name == def.name) {
            return if d.def == def {
                Ok(Self::handle(d))
            } else {
                Err(CustomMetricError::Redefined(def.name))
            };
        }
        let labels: Vec<&str> = def.labels.iter().map(String::as_str).collect();
        let opts = Opts::new(def.name.as_str())
            .help(def.description.as_str())
            .unit(def.unit.as_str());
        let e = &*self.engine;
        let series = match def.kind {
            CustomKind::Counter => Series::Counter(e.counter_family(opts, &labels)?),
            CustomKind::Gauge => Series::Gauge(e.gauge_family(opts, &labels)?),
            CustomKind::Histogram => {
                let cfg = HistogramConfig::default().buckets(def.buckets.iter().copied());
                Series::Histogram(e.histogram_family_with(opts, &labels, cfg)?)
            }
        };
        let name = def.name.clone();
        let inserted =
            self.defined
                .insert_with(hash, |d| d.def.name == name, || Defined { def, series });
        match inserted {
            Some(d) => Ok(Self::handle(d)),
            None => Err(CustomMetricError::TooMany(format!(
                "custom metrics (at most {MAX_CUSTOM_METRICS})"
            ))),
        }
    }

    /// [`define_metric`](Self::define_metric) with the seeds' positional arguments;
    /// `metric_type` is `counter`, `gauge` or `histogram`.
    ///
    /// # Errors
    /// See [`CustomMetricError`].
    pub fn define(
        &self,
        name: &str,
        metric_type: &str,
        description: &str,
        unit: &str,
        buckets: &[f64],
        labels: &[&str],
    ) -> Result<CustomMetric, CustomMetricError> {
        self.define_metric(
            MetricDefinition::new(name, metric_type.parse()?)
                .description(description)
                .unit(unit)
                .buckets(buckets.iter().copied())
                .labels(labels.iter().copied()),
        )
    }

    fn handle(d: &Defined) -> CustomMetric {
        CustomMetric {
            name: d.def.name.as_str().into(),
            kind: d.def.kind,
            labels: d.def.labels.clone().into(),
            series: d.series.clone(),
        }
    }

    /// The handle of a defined metric.
    ///
    /// # Errors
    /// [`CustomMetricError::Undefined`].
    pub fn metric(&self, name: &str) -> Result<CustomMetric, CustomMetricError> {
        self.find(name).map(Self::handle)
    }

    fn find(&self, name: &str) -> Result<&Defined, CustomMetricError> {
        self.defined
            .find(str_hash(name), |d| d.def.name == name)
            .ok_or_else(|| self.reject(CustomMetricError::Undefined(name.to_string())))
    }

    fn reject(&self, e: CustomMetricError) -> CustomMetricError {
        // Relaxed: a statistic.
        self.rejected.fetch_add(1, Ordering::Relaxed);
        e
    }

    /// Adds 1 to a counter (the seeds' `increment_counter(name, labels)`).
    ///
    /// # Errors
    /// See [`CustomMetricError`]; counted in [`rejected`](Self::rejected).
    pub fn increment_counter(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<(), CustomMetricError> {
        self.add_counter(name, 1, labels)
    }

    /// Adds `n` to a counter.
    ///
    /// # Errors
    /// See [`increment_counter`](Self::increment_counter).
    pub fn add_counter(
        &self,
        name: &str,
        n: u64,
        labels: &[(&str, &str)],
    ) -> Result<(), CustomMetricError> {
        let d = self.find(name)?;
        MetricRef::of(d).add(n, labels).map_err(|e| self.reject(e))
    }

    /// Sets a gauge (the seeds' `update_gauge`).
    ///
    /// # Errors
    /// See [`increment_counter`](Self::increment_counter).
    pub fn update_gauge(
        &self,
        name: &str,
        value: f64,
        labels: &[(&str, &str)],
    ) -> Result<(), CustomMetricError> {
        let d = self.find(name)?;
        MetricRef::of(d)
            .set(value, labels)
            .map_err(|e| self.reject(e))
    }

    /// Records a histogram value in the metric's unit (the seeds' `observe_histogram`).
    ///
    /// # Errors
    /// See [`increment_counter`](Self::increment_counter).
    pub fn observe_histogram(
        &self,
        name: &str,
        value: f64,
        labels: &[(&str, &str)],
    ) -> Result<(), CustomMetricError> {
        let d = self.find(name)?;
        MetricRef::of(d)
            .observe(value, labels)
            .map_err(|e| self.reject(e))
    }

    /// Calls that were refused (undefined name, wrong kind, wrong labels).
    pub fn rejected(&self) -> u64 {
        // Relaxed: a statistic.
        self.rejected.load(Ordering::Relaxed)
    }

    /// Every defined metric with its series, from the engine's latest snapshot (the seeds'
    /// `get_all_metrics`).
    pub fn all_metrics(&self) -> BTreeMap<String, CustomMetricData> {
        let snap = self.engine.snapshot();
        let mut out: BTreeMap<String, CustomMetricData> = self
            .defined
            .iter()
            .map(|d| {
                (
                    d.def.name.clone(),
                    CustomMetricData {
                        definition: d.def.clone(),
                        series: Vec::new(),
                    },
                )
            })
            .collect();
        for m in snap.metrics() {
            let Some(data) = out.get_mut(&m.desc.name) else {
                continue;
            };
            let labels = m.desc.labels.iter().cloned().collect();
            let series = match &m.value {
                MetricValue::Counter(c) => CustomSeries {
                    labels,
                    value: c.total as f64,
                    count: None,
                    sum: None,
                    mean: None,
                    p50: None,
                    p95: None,
                    p99: None,
                },
                MetricValue::Gauge(g) => CustomSeries {
                    labels,
                    value: g.value,
                    count: None,
                    sum: None,
                    mean: None,
                    p50: None,
                    p95: None,
                    p99: None,
                },
                MetricValue::Histogram(h) => {
                    let d = &h.cumulative;
                    let unit = |v: Option<f64>| v.map(|v| h.in_unit(v));
                    CustomSeries {
                        labels,
                        value: d.count() as f64,
                        count: Some(d.count()),
                        sum: Some(h.in_unit(d.sum() as f64)),
                        mean: unit(d.mean()),
                        p50: unit(d.p50()),
                        p95: unit(d.p95()),
                        p99: unit(d.p99()),
                    }
                }
                _ => continue,
            };
            data.series.push(series);
        }
        out
    }
}

/// A defined metric, borrowed: what a record needs, shared by [`CustomMetric`] and the
/// by-name calls (which borrow it from the table without cloning any `Arc`).
struct MetricRef<'a> {
    name: &'a str,
    kind: CustomKind,
    labels: &'a [String],
    series: &'a Series,
}

impl<'a> MetricRef<'a> {
    fn of(d: &'a Defined) -> Self {
        MetricRef {
            name: &d.def.name,
            kind: d.def.kind,
            labels: &d.def.labels,
            series: &d.series,
        }
    }

    fn add(&self, n: u64, labels: &[(&str, &str)]) -> Result<(), CustomMetricError> {
        match self.series {
            Series::Counter(f) => self.values(labels, |v| f.with(v).add(n)),
            _ => Err(self.wrong(CustomKind::Counter)),
        }
    }

    fn set(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), CustomMetricError> {
        match self.series {
            Series::Gauge(f) => self.values(labels, |v| f.with(v).set(value)),
            _ => Err(self.wrong(CustomKind::Gauge)),
        }
    }

    fn observe(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), CustomMetricError> {
        match self.series {
            Series::Histogram(f) => self.values(labels, |v| f.with(v).record_f64(value)),
            _ => Err(self.wrong(CustomKind::Histogram)),
        }
    }

    fn wrong(&self, used: CustomKind) -> CustomMetricError {
        CustomMetricError::WrongKind {
            name: self.name.to_string(),
            defined: self.kind,
            used,
        }
    }

    /// Calls `f` with the label values in definition order (no allocation), or says which
    /// labels were expected.
    #[inline]
    fn values(
        &self,
        given: &[(&str, &str)],
        f: impl FnOnce(&[&str]),
    ) -> Result<(), CustomMetricError> {
        let mut out = [""; MAX_CUSTOM_LABELS];
        let ok = given.len() == self.labels.len()
            && self.labels.iter().enumerate().all(|(i, name)| {
                match given.iter().find(|(k, _)| *k == name.as_str()) {
                    Some((_, v)) => {
                        out[i] = v;
                        true
                    }
                    None => false,
                }
            });
        if !ok {
            return Err(CustomMetricError::Labels {
                name: self.name.to_string(),
                expected: self.labels.to_vec(),
            });
        }
        f(&out[..self.labels.len()]);
        Ok(())
    }
}
