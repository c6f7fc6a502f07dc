//! Reports and analysis (crate `tachymeter-report`): performance reports over a range or a
//! session as JSON documents (schema v1), their comparison and rendering (JSON, CSV, HTML),
//! cached dashboard data, and the analysis functions (trend, stability, bottlenecks, grade).

use crate::alerts::AlertManager;
use crate::engine::Engine;
use crate::monitors::{EndpointTracker, InferenceMetrics, Profiler, ResourceMonitor};
use crate::{error, guard, seconds, to_py, ErrorKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tachymeter_report::analysis;
use tachymeter_report::report::{self, PerformanceReport, ReportMark};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(build_report, m)?)?;
    m.add_function(wrap_pyfunction!(engine_uptime, m)?)?;
    m.add_function(wrap_pyfunction!(compare_reports, m)?)?;
    m.add_function(wrap_pyfunction!(render_report, m)?)?;
    m.add_function(wrap_pyfunction!(trend, m)?)?;
    m.add_function(wrap_pyfunction!(stability, m)?)?;
    m.add_function(wrap_pyfunction!(bottlenecks, m)?)?;
    m.add_function(wrap_pyfunction!(grade, m)?)?;
    m.add_function(wrap_pyfunction!(stability_rating, m)?)?;
    m.add_class::<DashboardData>()?;
    Ok(())
}

/// Builds a report over the last `hours_back` hours (default 1) or over `session`, a pair of
/// engine uptimes in seconds (from `engine_uptime`), with the monitors given; returns its
/// JSON document (schema v1). GIL released while it builds.
#[pyfunction]
#[pyo3(signature = (engine, title="Performance report", hours_back=None, session=None, inference=None, endpoints=None, profiler=None, resources=None, alerts=None))]
#[allow(clippy::too_many_arguments)]
fn build_report(
    py: Python<'_>,
    engine: &Engine,
    title: &str,
    hours_back: Option<f64>,
    session: Option<(f64, f64)>,
    inference: Option<&InferenceMetrics>,
    endpoints: Option<&EndpointTracker>,
    profiler: Option<&Profiler>,
    resources: Option<&ResourceMonitor>,
    alerts: Option<&AlertManager>,
) -> PyResult<String> {
    if let Some(h) = hours_back {
        if !(h.is_finite() && h > 0.0) {
            return Err(PyValueError::new_err(format!(
                "hours_back must be a positive number, got {h}"
            )));
        }
    }
    let session = session
        .map(|(a, b)| {
            if a > b {
                return Err(PyValueError::new_err(format!(
                    "a session must not end ({b} s) before it starts ({a} s)"
                )));
            }
            Ok((seconds("session start", a)?, seconds("session end", b)?))
        })
        .transpose()?;
    let e = engine.inner.clone();
    py.detach(|| {
        guard("build_report", || {
            let mut b = PerformanceReport::builder(&e).title(title);
            if let Some(h) = hours_back {
                b = b.hours_back(h);
            }
            if let Some((a, z)) = session {
                b = b.session(ReportMark::at(a), ReportMark::at(z));
            }
            if let Some(m) = inference {
                b = b.inference(&m.inner);
            }
            if let Some(t) = endpoints {
                b = b.endpoints(&t.inner);
            }
            if let Some(p) = profiler {
                b = b.profiler(&p.inner);
            }
            if let Some(r) = resources {
                b = b.resources(&r.inner);
            }
            if let Some(a) = alerts {
                b = b.alerts(&a.inner);
            }
            b.build().to_json()
        })
    })
}

/// The engine's uptime at a fresh collection, seconds (a session mark).
#[pyfunction]
fn engine_uptime(py: Python<'_>, engine: &Engine) -> f64 {
    let e = engine.inner.clone();
    py.detach(move || e.flush().uptime().as_secs_f64())
}

fn read(json: &str) -> PyResult<PerformanceReport> {
    PerformanceReport::from_json(json)
        .map_err(|e| error(ErrorKind::Config, format!("not a tachymeter report: {e}")))
}

/// Compares two reports (JSON documents): per-series deltas with significance; JSON.
#[pyfunction]
fn compare_reports(py: Python<'_>, first: &str, second: &str) -> PyResult<String> {
    let (a, b) = (read(first)?, read(second)?);
    let c = py.detach(|| guard("compare_reports", || report::compare(&a, &b)))?;
    serde_json::to_string(&c).map_err(|e| error(ErrorKind::Base, e.to_string()))
}

/// A report document rendered as `json`, `csv` or `html` (self-contained, with SVG plots).
#[pyfunction]
fn render_report(py: Python<'_>, report: &str, format: &str) -> PyResult<String> {
    let r = read(report)?;
    let format = format.to_ascii_lowercase();
    if !matches!(format.as_str(), "json" | "csv" | "html") {
        return Err(PyValueError::new_err(format!(
            "unknown report format {format:?}: use json, csv or html"
        )));
    }
    py.detach(|| {
        guard("render_report", || match format.as_str() {
            "csv" => r.to_csv(),
            "html" => r.to_html(),
            _ => r.to_json(),
        })
    })
}

/// The trend of `(seconds, value)` points: Mann–Kendall significance and Theil–Sen slope;
/// a dict with `direction` (`increasing`/`decreasing`/`stable`) and the numbers. Raises
/// `ValueError` with too few points.
#[pyfunction]
#[pyo3(signature = (points, alpha=0.05, min_relative_change_per_hour=0.01, min_points=8))]
fn trend<'py>(
    py: Python<'py>,
    points: Vec<(f64, f64)>,
    alpha: f64,
    min_relative_change_per_hour: f64,
    min_points: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = analysis::TrendConfig::default()
        .alpha(alpha)
        .min_relative_change_per_hour(min_relative_change_per_hour)
        .min_points(min_points);
    let t = guard("trend", || analysis::trend(&points, &cfg))?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py(py, &t)
}

/// The stability of per-interval values: `stability_score` = 1 / (1 + cv) and its rating.
#[pyfunction]
fn stability<'py>(py: Python<'py>, values: Vec<f64>) -> PyResult<Bound<'py, PyAny>> {
    let s = guard("stability", || analysis::stability(&values))?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py(py, &s)
}

/// Bottlenecks of `stages` (`[(name, total_seconds)]`) and resource usage ratios (0–1):
/// dicts with the seeds' `component`, `impact`, `recommendation` and the number judged.
#[pyfunction]
#[pyo3(signature = (stages, cpu=None, memory=None, disk=None))]
fn bottlenecks<'py>(
    py: Python<'py>,
    stages: Vec<(String, f64)>,
    cpu: Option<f64>,
    memory: Option<f64>,
    disk: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let input = analysis::BottleneckInput {
        stages: stages
            .into_iter()
            .map(|(s, t)| analysis::StageTime::new(s, t))
            .collect(),
        comparisons: Vec::new(),
        resources: analysis::ResourceUsage { cpu, memory, disk },
    };
    let b = guard("bottlenecks", || analysis::identify_bottlenecks(&input))?;
    to_py(py, &b)
}

/// The seeds' grade (`excellent`, `good`, `fair`, `poor`) of average CPU and memory percent.
#[pyfunction]
fn grade<'py>(
    py: Python<'py>,
    cpu_percent: f64,
    memory_percent: f64,
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &analysis::grade(cpu_percent, memory_percent))
}

/// The band of a stability score: `stable` (≥ 0.9), `moderate` (≥ 0.75), `unstable`
/// (≥ 0.5), `erratic`.
#[pyfunction]
fn stability_rating<'py>(py: Python<'py>, score: f64) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &analysis::StabilityRating::of(score))
}

/// Cached dashboard figures of an engine (and its alerts and resources).
#[pyclass(module = "tachymeter._native", frozen)]
pub struct DashboardData {
    inner: report::DashboardData,
}

#[pymethods]
impl DashboardData {
    #[new]
    #[pyo3(signature = (engine, alerts=None, resources=None))]
    fn new(
        engine: &Engine,
        alerts: Option<&AlertManager>,
        resources: Option<&ResourceMonitor>,
    ) -> PyResult<Self> {
        let e = engine.shared().ok_or_else(|| {
            error(
                ErrorKind::Config,
                "dashboard data needs an Engine() of this package",
            )
        })?;
        let mut d = report::DashboardData::new(e);
        if let Some(a) = alerts {
            d = d.with_alerts(Arc::new(a.inner.clone()));
        }
        if let Some(r) = resources {
            d = d.with_resources(Arc::new(r.inner.clone()));
        }
        Ok(DashboardData { inner: d })
    }

    /// The figures, recomputed when the cached ones are older than `max_age` seconds.
    #[pyo3(signature = (max_age=1.0))]
    fn get<'py>(&self, py: Python<'py>, max_age: f64) -> PyResult<Bound<'py, PyAny>> {
        let age = seconds("max_age", max_age)?;
        let f = py.detach(|| guard("dashboard", || self.inner.get(age)))?;
        to_py(py, &*f)
    }

    /// The figures, recomputed now.
    fn refresh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let f = py.detach(|| guard("dashboard", || self.inner.get(Duration::ZERO)))?;
        to_py(py, &*f)
    }
}
