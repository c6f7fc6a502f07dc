//! Dashboard data (the seeds' `get_dashboard_data(force_refresh)`): the figures a dashboard
//! shows, cached with a maximum age and refreshed on demand, shareable between threads.

use super::{build, AlertEntry, PerformanceReport};
use crate::analysis::ResourceUsage;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tachymeter::Engine;
use tachymeter_monitor::alerting::AlertManager;
use tachymeter_monitor::ResourceMonitor;

/// What a dashboard shows, over the engine's rolling window. The requests series is chosen
/// as in a snapshot report (the time histogram with the most observations); `error_rate` is
/// the error counters' window rate over the requests' window throughput.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DashboardFigures {
    /// When these figures were computed, seconds since the Unix epoch.
    pub generated_unix_seconds: f64,
    /// The snapshot's sequence number.
    pub sequence: u64,
    /// The requests series.
    pub requests_series: Option<String>,
    /// Requests since the start.
    pub total_requests: u64,
    /// Requests per second over the window.
    pub throughput: Option<f64>,
    /// Errors per request over the window.
    pub error_rate: Option<f64>,
    /// Unit of the quantiles.
    pub latency_unit: String,
    /// Median latency over the window.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Alerts firing now.
    pub active_alerts: Vec<AlertEntry>,
    /// The latest resource reading (CPU, memory, disk ratios).
    pub resources: ResourceUsage,
}

/// Cached [`DashboardFigures`] of an engine (and optionally its alerts and resources):
/// [`get`](Self::get) recomputes them when the cached ones are older than `max_age`. `Send`
/// and `Sync`: one instance can back every request of a web dashboard; concurrent callers
/// that find the cache stale wait for one refresh and share its result.
#[derive(Debug)]
pub struct DashboardData {
    engine: Arc<Engine>,
    alerts: Option<Arc<AlertManager>>,
    resources: Option<Arc<ResourceMonitor>>,
    cache: Mutex<Option<(Instant, Arc<DashboardFigures>)>>,
}

impl DashboardData {
    /// Dashboard data of `engine`.
    pub fn new(engine: Arc<Engine>) -> DashboardData {
        DashboardData {
            engine,
            alerts: None,
            resources: None,
            cache: Mutex::new(None),
        }
    }

    /// Adds the active alerts of `alerts`.
    pub fn with_alerts(mut self, alerts: Arc<AlertManager>) -> DashboardData {
        self.alerts = Some(alerts);
        self
    }

    /// Adds the latest reading of `resources`.
    pub fn with_resources(mut self, resources: Arc<ResourceMonitor>) -> DashboardData {
        self.resources = Some(resources);
        self
    }

    /// The figures, recomputed if the cached ones are older than `max_age` (`Duration::ZERO`:
    /// always, the seeds' `force_refresh`).
    pub fn get(&self, max_age: Duration) -> Arc<DashboardFigures> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, figures)) = cache.as_ref() {
            if !max_age.is_zero() && at.elapsed() <= max_age {
                return figures.clone();
            }
        }
        let figures = Arc::new(self.compute());
        *cache = Some((Instant::now(), figures.clone()));
        figures
    }

    /// Recomputes the figures now.
    pub fn refresh(&self) -> Arc<DashboardFigures> {
        self.get(Duration::ZERO)
    }

    fn compute(&self) -> DashboardFigures {
        let snap = self.engine.snapshot();
        let doc = tachymeter_export::SnapshotDoc::from_snapshot(&snap);
        let report: PerformanceReport = build::from_doc(&doc);
        let mut f = DashboardFigures {
            generated_unix_seconds: report.generated_unix_seconds,
            sequence: doc.sequence,
            requests_series: report.summary.requests_series.clone(),
            total_requests: report.summary.total_requests,
            ..DashboardFigures::default()
        };
        if let Some(s) = f.requests_series.as_deref().and_then(|k| report.series(k)) {
            let w = s.window.clone().unwrap_or_default();
            f.latency_unit = s.unit.clone();
            f.throughput = w.throughput;
            f.p50 = w.p50;
            f.p95 = w.p95;
            f.p99 = w.p99;
            let errors: Option<f64> = doc
                .metrics
                .iter()
                .filter(|m| m.name.ends_with("errors_total") || m.name.ends_with("_errors"))
                .filter_map(|m| m.counter.as_ref()?.window_rate)
                .reduce(|a, b| a + b);
            f.error_rate = match (errors, w.throughput) {
                (Some(e), Some(t)) if t > 0.0 => Some(e / t),
                _ => None,
            };
        }
        if let Some(a) = &self.alerts {
            f.active_alerts = a.active().iter().map(build::active_entry).collect();
        }
        if let Some(r) = self.resources.as_ref().and_then(|r| r.latest()) {
            f.resources = ResourceUsage::from_snapshot(&r);
        }
        f
    }
}
