//! [`EndpointTracker`]: request latency, status and errors per API endpoint (the seeds'
//! `APIPerformanceTracker`, `get_api_tracker()`).
//!
//! Recorded, per tracker instance (label `instance`):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `api_request_duration` | histogram, seconds | `endpoint`, `method` |
//! | `api_responses_total` | counter | `endpoint`, `method`, `code` |
//! | `api_errors_total` | counter | `endpoint`, `method` |
//!
//! A request is an error when its guard was marked with [`TrackGuard::error`] or its status
//! code is 500 or above. Endpoint and method are label values: keep their sets bounded (use
//! the route pattern, `/users/{id}`, not the path); past the engine's per-name limit they are
//! recorded into the families' overflow series.

use crate::EngineRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tachymeter::histogram::HistogramData;
use tachymeter::{
    CounterFamily, Engine, HistogramFamily, MetricSnapshot, MetricValue, Opts, RegisterError,
    Snapshot,
};

/// Statistics of one endpoint over all its methods (the seeds' `get_endpoint_stats` keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EndpointStats {
    /// Requests.
    pub count: u64,
    /// Errors per request (0 without requests).
    pub error_rate: f64,
    /// Mean latency, milliseconds.
    pub mean_ms: Option<f64>,
    /// 90th percentile, milliseconds (within the histogram's 0.54% bound).
    pub p90_ms: Option<f64>,
    /// 95th percentile, milliseconds.
    pub p95_ms: Option<f64>,
    /// 99th percentile, milliseconds.
    pub p99_ms: Option<f64>,
}

/// The whole API (the seeds' `generate_api_report` keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ApiReport {
    /// Requests over every endpoint.
    pub total_requests: u64,
    /// Errors per request over every endpoint.
    pub overall_error_rate: f64,
    /// Per endpoint, by name.
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Up to five endpoints with the highest p95 latency, slowest first.
    pub slowest_endpoints: Vec<(String, f64)>,
}

/// Tracks API requests per endpoint and method.
///
/// ```
/// use tachymeter_monitor::EndpointTracker;
/// let engine = std::sync::Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let tracker = EndpointTracker::builder().engine(engine.clone()).build().unwrap();
/// {
///     let mut request = tracker.track("/api/items", "POST");
///     // ... handle the request ...
///     request.status(201);
/// } // recorded here
/// tracker.track("/api/items", "GET").status(503);
/// engine.flush();
/// let stats = tracker.endpoint_stats("/api/items");
/// assert_eq!(stats.count, 2);
/// assert_eq!(stats.error_rate, 0.5);
/// assert_eq!(tracker.api_report().total_requests, 2);
/// ```
#[derive(Debug)]
pub struct EndpointTracker {
    engine: EngineRef,
    instance: String,
    duration: HistogramFamily,
    responses: CounterFamily,
    errors: CounterFamily,
}

/// Configures an [`EndpointTracker`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EndpointTrackerBuilder {
    engine: EngineRef,
    instance: Option<String>,
}

impl EndpointTrackerBuilder {
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

    /// Declares the tracker's metric families.
    ///
    /// # Errors
    /// A registration error of the engine (a name used as another kind there).
    pub fn build(self) -> Result<EndpointTracker, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        Ok(EndpointTracker {
            duration: e.histogram_family(
                Opts::new("api_request_duration")
                    .unit("seconds")
                    .help("API request latency."),
                &["instance", "endpoint", "method"],
            )?,
            responses: e.counter_family(
                Opts::new("api_responses_total").help("API responses by status code."),
                &["instance", "endpoint", "method", "code"],
            )?,
            errors: e.counter_family(
                Opts::new("api_errors_total").help("API requests that failed."),
                &["instance", "endpoint", "method"],
            )?,
            engine: self.engine,
            instance,
        })
    }
}

/// A request being tracked: records its latency, status code and error when dropped.
#[must_use = "the request is recorded when the guard is dropped"]
pub struct TrackGuard<'a> {
    tracker: &'a EndpointTracker,
    endpoint: &'a str,
    method: &'a str,
    start: u64,
    status: u16,
    error: bool,
}

impl TrackGuard<'_> {
    /// Sets the response's status code (default 200); 500 and above count as errors.
    pub fn status(&mut self, code: u16) -> &mut Self {
        self.status = code;
        self
    }

    /// Marks the request as failed (whatever its status code).
    pub fn error(&mut self) -> &mut Self {
        self.error = true;
        self
    }
}

impl Drop for TrackGuard<'_> {
    fn drop(&mut self) {
        let t = self.tracker;
        let clock = t.engine.clock();
        let ns = clock.delta_nanos(self.start, clock.raw());
        t.record_nanos(self.endpoint, self.method, ns, self.status, self.error);
    }
}

/// The decimal digits of `code` in `buf`, without allocating.
fn status_str(code: u16, buf: &mut [u8; 5]) -> &str {
    let mut n = code;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

impl EndpointTracker {
    /// A builder (defaults: the process-wide engine, instance `0`, `1`, …).
    pub fn builder() -> EndpointTrackerBuilder {
        EndpointTrackerBuilder {
            engine: EngineRef::Global,
            instance: None,
        }
    }

    /// Starts tracking one request to `endpoint` with `method`; it is recorded when the guard
    /// drops (status 200 unless set).
    pub fn track<'a>(&'a self, endpoint: &'a str, method: &'a str) -> TrackGuard<'a> {
        TrackGuard {
            tracker: self,
            endpoint,
            method,
            start: self.engine.clock().raw(),
            status: 200,
            error: false,
        }
    }

    /// Records one request timed by the caller (`duration` as `Duration` or float seconds;
    /// an invalid duration records as 0): what a [`TrackGuard`] records when it drops, for
    /// callers that cannot hold a guard across the request (the Python bindings' context
    /// manager). `status` 500 and above, or `error`, count as an error.
    ///
    /// ```
    /// use tachymeter_monitor::EndpointTracker;
    /// let engine = std::sync::Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
    /// let tracker = EndpointTracker::builder().engine(engine.clone()).build().unwrap();
    /// tracker.record("/a", "GET", 0.004, 200, false);
    /// tracker.record("/a", "GET", 0.002, 404, true);
    /// engine.flush();
    /// let stats = tracker.endpoint_stats("/a");
    /// assert_eq!((stats.count, stats.error_rate), (2, 0.5));
    /// assert!((stats.mean_ms.unwrap() - 3.0).abs() < 1e-9);
    /// ```
    pub fn record(
        &self,
        endpoint: &str,
        method: &str,
        duration: impl crate::Elapsed,
        status: u16,
        error: bool,
    ) {
        self.record_nanos(
            endpoint,
            method,
            duration.nanos().unwrap_or(0),
            status,
            error,
        );
    }

    fn record_nanos(&self, e: &str, m: &str, ns: u64, status: u16, error: bool) {
        let id = self.instance.as_str();
        self.duration.with(&[id, e, m]).record(ns);
        let mut code = [0u8; 5];
        self.responses
            .with(&[id, e, m, status_str(status, &mut code)])
            .increment();
        if error || status >= 500 {
            self.errors.with(&[id, e, m]).increment();
        }
    }

    /// The `instance` label of this tracker's metrics.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Statistics of `endpoint` from the engine's latest snapshot (every method merged).
    pub fn endpoint_stats(&self, endpoint: &str) -> EndpointStats {
        self.endpoint_stats_inner(endpoint)
    }

    /// Alert rules over every endpoint of this tracker (label `instance` on each rule):
    /// `ApiHighErrorRate` (errors / requests above `error_rate`) and `ApiHighLatency` (p95
    /// request latency above `latency_p95` seconds), over the engine's rolling window. Add them
    /// to an [`AlertManager`](crate::alerting::AlertManager).
    ///
    /// # Errors
    /// A threshold that is not finite.
    pub fn alert_rules(
        &self,
        error_rate: f64,
        latency_p95: f64,
    ) -> Result<Vec<crate::alerting::AlertRule>, crate::alerting::RuleError> {
        use crate::alerting::{AlertRule, Count, Selector};
        let sel = |metric: &str| Selector::new(metric).label("instance", self.instance.as_str());
        Ok(vec![
            AlertRule::builder("ApiHighErrorRate")
                .ratio(
                    [Count::Counter(sel("api_errors_total"))],
                    [Count::Observations(sel("api_request_duration"))],
                )
                .above(error_rate)
                .label("instance", self.instance.as_str())
                .annotation(
                    "summary",
                    format!("More than {}% of API requests fail", error_rate * 100.0),
                )
                .build()?,
            AlertRule::builder("ApiHighLatency")
                .quantile(sel("api_request_duration"), 0.95)
                .above(latency_p95)
                .label("instance", self.instance.as_str())
                .annotation("summary", format!("p95 API latency above {latency_p95} s"))
                .build()?,
        ])
    }

    fn endpoint_stats_inner(&self, endpoint: &str) -> EndpointStats {
        let snap = self.engine.snapshot();
        let mut all = self.per_endpoint(&snap);
        all.remove(endpoint)
            .map_or_else(EndpointStats::empty, |(d, errors)| {
                EndpointStats::of(&d, errors)
            })
    }

    /// Totals, per-endpoint statistics and the slowest endpoints by p95.
    pub fn api_report(&self) -> ApiReport {
        let snap = self.engine.snapshot();
        let per = self.per_endpoint(&snap);
        let (mut total, mut errors) = (0u64, 0u64);
        let mut endpoints = BTreeMap::new();
        for (name, (data, e)) in per {
            total += data.count();
            errors += e;
            endpoints.insert(name, EndpointStats::of(&data, e));
        }
        let mut slowest: Vec<(String, f64)> = endpoints
            .iter()
            .filter_map(|(n, s)| s.p95_ms.map(|p| (n.clone(), p)))
            .collect();
        slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
        slowest.truncate(5);
        ApiReport {
            total_requests: total,
            overall_error_rate: if total == 0 {
                0.0
            } else {
                errors as f64 / total as f64
            },
            endpoints,
            slowest_endpoints: slowest,
        }
    }

    /// Per endpoint of this instance: the merged latency histogram and the error count.
    fn per_endpoint(&self, snap: &Snapshot) -> BTreeMap<String, (HistogramData, u64)> {
        let mut out: BTreeMap<String, (HistogramData, u64)> = BTreeMap::new();
        for m in snap.metrics() {
            let Some(endpoint) = self.endpoint_of(m) else {
                continue;
            };
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "api_request_duration") => {
                    let e = out
                        .entry(endpoint.to_string())
                        .or_insert_with(|| (HistogramData::empty(h.cumulative.schema()), 0));
                    e.0.merge(&h.cumulative);
                }
                (MetricValue::Counter(c), "api_errors_total") => {
                    let e = out
                        .entry(endpoint.to_string())
                        .or_insert_with(|| (HistogramData::empty(6), 0));
                    e.1 += u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                _ => {}
            }
        }
        out
    }

    /// The `endpoint` label of `m` if it is one of this instance's series.
    fn endpoint_of<'s>(&self, m: &'s MetricSnapshot) -> Option<&'s str> {
        let d = &m.desc;
        (d.label("instance") == Some(self.instance.as_str()))
            .then(|| d.label("endpoint"))
            .flatten()
    }
}

impl EndpointStats {
    fn empty() -> Self {
        EndpointStats {
            count: 0,
            error_rate: 0.0,
            mean_ms: None,
            p90_ms: None,
            p95_ms: None,
            p99_ms: None,
        }
    }

    /// From a latency histogram in nanoseconds and an error count.
    fn of(d: &HistogramData, errors: u64) -> Self {
        let ms = |v: Option<f64>| v.map(|ns| ns / 1e6);
        EndpointStats {
            count: d.count(),
            error_rate: if d.count() == 0 {
                0.0
            } else {
                errors as f64 / d.count() as f64
            },
            mean_ms: ms(d.mean()),
            p90_ms: ms(d.p90()),
            p95_ms: ms(d.p95()),
            p99_ms: ms(d.p99()),
        }
    }
}

/// The process-wide tracker (instance `global`) on the process-wide engine, made on first
/// use; if that engine already uses one of the tracker's names as another kind, the tracker
/// records into a private engine instead (never a panic).
pub fn get_api_tracker() -> &'static EndpointTracker {
    static GLOBAL: once_cell::sync::OnceCell<EndpointTracker> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            EndpointTrackerBuilder {
                engine,
                instance: Some("global".into()),
            }
            .build()
        })
    })
}
