//! The JSON documents of the dashboard's API (`/api/v1/...`) and how they are computed from a
//! published snapshot and the engine's history.

use crate::report::{series_key, AlertEntry, DashboardFigures, Distribution};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tachymeter::histogram::relative_error_bound;
use tachymeter::{Engine, Range, RangeStats, Snapshot};
use tachymeter_export::{KindDoc, MetricDoc, SnapshotDoc};
use tachymeter_monitor::ResourceSnapshot;

/// The version of the dashboard API: the `v1` of `/api/v1/...` and
/// [`DashboardDoc::api_version`]. A change that removes or renames a field gets a new version
/// (and new paths); fields may be added within a version.
pub const API_VERSION: u32 = 1;

/// `GET /api/v1/dashboard`: everything the page shows (see the [module docs](super) for the
/// field list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DashboardDoc {
    /// [`API_VERSION`].
    pub api_version: u32,
    /// The page's title.
    pub title: String,
    /// When this document was answered, seconds since the Unix epoch.
    pub generated_unix_seconds: f64,
    /// When the snapshot it shows was collected, seconds since the Unix epoch.
    pub snapshot_unix_seconds: f64,
    /// `generated_unix_seconds - snapshot_unix_seconds`: how old the data is.
    pub data_age_seconds: f64,
    /// The page calls the data stale when `data_age_seconds` exceeds this: three aggregation
    /// intervals, at least 3 s.
    pub stale_after_seconds: f64,
    /// The engine's aggregation interval, seconds.
    pub interval_seconds: f64,
    /// Time since the engine started, seconds.
    pub uptime_seconds: f64,
    /// The snapshot's sequence number (0: nothing collected yet).
    pub sequence: u64,
    /// The horizon of the range figures ("the last minutes"), seconds.
    pub range_seconds: f64,
    /// The headline figures over the engine's rolling window, active alerts and resource
    /// ratios ([`DashboardFigures`]).
    pub summary: DashboardFigures,
    /// One row per monitor (group of series, see the [module docs](super#monitors)).
    pub monitors: Vec<MonitorRow>,
    /// One row per series of the snapshot, in registration order.
    pub series: Vec<SeriesRow>,
    /// Alerts firing now (`[]` without an alert manager).
    pub alerts: Vec<AlertEntry>,
    /// The latest resource reading (`null` without a resource monitor or before its first
    /// reading).
    pub resources: Option<ResourceDoc>,
    /// The engine's own health statistics.
    pub engine: EngineDoc,
}

/// One monitor: a group of series sharing a name prefix, with its requests and errors over
/// the range (rule in the [module docs](super#monitors)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MonitorRow {
    /// The group: the metric names' first `_`-separated word (`inference` for
    /// `inference_time`).
    pub monitor: String,
    /// Series in the group.
    pub series_count: usize,
    /// The series that counts the group's requests: its time histogram with the most
    /// observations over the range (`null`: none).
    pub requests_series: Option<String>,
    /// Unit of the quantiles.
    pub latency_unit: String,
    /// Requests over the range.
    pub requests: u64,
    /// Requests per second over the range.
    pub throughput: Option<f64>,
    /// Errors over the range: the summed increments of the group's counters whose name ends
    /// in `errors_total` or `_errors` (`null`: the group has none).
    pub errors: Option<u64>,
    /// `errors / requests` (`null` without errors counters or requests).
    pub error_rate: Option<f64>,
    /// Median latency of the requests series over the range.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// One series: its cumulative total or value, and its figures over the range and the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesRow {
    /// `name{label="value",…}` (labels sorted by name): the key of
    /// `/api/v1/distribution?series=`.
    pub series: String,
    /// Metric name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The monitor (group) it belongs to.
    pub monitor: String,
    /// Metric kind.
    pub kind: KindDoc,
    /// Unit (`""`: none).
    pub unit: String,
    /// Observations (histograms), total (counters, saturating at `u64::MAX`), events or
    /// records since the start or the last reset; `null` for gauges.
    pub total: Option<u64>,
    /// Gauge value; `null` for other kinds.
    pub value: Option<f64>,
    /// Observations, increments, events or records per second over the range (`null` for
    /// gauges).
    pub throughput: Option<f64>,
    /// Per second over the engine's rolling window (histograms and counters).
    pub window_throughput: Option<f64>,
    /// Median over the range (histograms), in `unit`.
    pub p50: Option<f64>,
    /// 95th percentile over the range.
    pub p95: Option<f64>,
    /// 99th percentile over the range.
    pub p99: Option<f64>,
    /// Relative error bound of the range quantiles (the history tier's schema).
    pub relative_error: Option<f64>,
}

/// The latest resource reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceDoc {
    /// When it was taken, seconds since the Unix epoch.
    pub timestamp: f64,
    /// Busy share of all CPUs, percent.
    pub cpu_percent: f64,
    /// Used memory over total, percent.
    pub memory_percent: f64,
    /// Used memory, bytes.
    pub memory_used_bytes: u64,
    /// Installed memory, bytes.
    pub memory_total_bytes: u64,
    /// Usage of the disk mounted at `/`, percent.
    pub disk_percent: Option<f64>,
    /// This process' resident set size, bytes.
    pub process_resident_memory_bytes: Option<u64>,
    /// This process' CPU time over the interval as a share of all CPUs, percent.
    pub process_cpu_percent: Option<f64>,
    /// This process' threads.
    pub process_threads: Option<u64>,
}

impl ResourceDoc {
    fn of(r: &ResourceSnapshot) -> ResourceDoc {
        let p = r.process.as_ref();
        ResourceDoc {
            timestamp: r.timestamp,
            cpu_percent: r.cpu_percent,
            memory_percent: r.memory_percent,
            memory_used_bytes: r.memory_used_bytes,
            memory_total_bytes: r.memory_total_bytes,
            disk_percent: r.disk_percent,
            process_resident_memory_bytes: p.and_then(|p| p.resident_memory_bytes),
            process_cpu_percent: p.and_then(|p| p.cpu_percent),
            process_threads: p.and_then(|p| p.threads),
        }
    }
}

/// The engine's health: the snapshot's [`Stats`](tachymeter::Stats) and
/// [`Engine::health`]. Every count is a total since the engine started; anything dropped,
/// rejected or clamped on the hot path shows here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EngineDoc {
    /// Whether the background aggregator runs.
    pub aggregator_running: bool,
    /// Collections that panicked (caught); non-zero is a bug.
    pub aggregator_panics: u64,
    /// The latest such panic's message.
    pub last_panic: Option<String>,
    /// Time the aggregator spent on the latest collection, seconds.
    pub collect_seconds: f64,
    /// Series in the snapshot.
    pub series: usize,
    /// Threads holding a slot.
    pub threads_active: usize,
    /// Slots in the table.
    pub slot_capacity: usize,
    /// Slot claims ever made.
    pub slot_claims: u64,
    /// Claims that found the table full (recorded through the shared overflow slot).
    pub overflow_claims: u64,
    /// Invalid inputs rejected (NaN, infinite or negative values).
    pub rejected: u64,
    /// Histogram values clamped to the configured range.
    pub saturated: u64,
    /// Positive values below a histogram's resolution (recorded as 0).
    pub below_resolution: u64,
    /// Gauge adds dropped because the sum would have been infinite.
    pub gauge_overflows: u64,
    /// Concurrent gauge `set`s in the overflow slot ordered by a race (valid values).
    pub gauge_set_races: u64,
    /// Ring samples or events overwritten before the aggregator read them.
    pub ring_overwritten: u64,
    /// Ring samples or events not kept (recorded through the overflow slot).
    pub ring_dropped: u64,
    /// Registration failures of the macros.
    pub registration_errors: u64,
}

impl EngineDoc {
    fn of(engine: &Engine, snap: &Snapshot) -> EngineDoc {
        let s = snap.stats();
        let h = engine.health();
        EngineDoc {
            aggregator_running: h.aggregator_running,
            aggregator_panics: h.aggregator_panics.max(s.aggregator_panics),
            last_panic: h.last_panic,
            collect_seconds: s.collect_time.as_secs_f64(),
            series: snap.metrics().len(),
            threads_active: s.threads_active,
            slot_capacity: s.slot_capacity,
            slot_claims: s.slot_claims,
            overflow_claims: s.overflow_claims,
            rejected: s.rejected,
            saturated: s.saturated,
            below_resolution: s.below_resolution,
            gauge_overflows: s.gauge_overflows,
            gauge_set_races: s.gauge_set_races,
            ring_overwritten: s.ring_overwritten,
            ring_dropped: s.ring_dropped,
            registration_errors: s.registration_errors,
        }
    }
}

/// The monitor (group) of a metric name: its first `_`-separated word.
pub(crate) fn monitor_of(name: &str) -> &str {
    name.split('_').next().unwrap_or(name)
}

fn is_error_counter(m: &MetricDoc) -> bool {
    m.counter.is_some() && (m.name.ends_with("errors_total") || m.name.ends_with("_errors"))
}

fn labels_of(m: &MetricDoc) -> Vec<(&str, &str)> {
    m.labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The series key of a metric document.
pub(crate) fn key_of(m: &MetricDoc) -> String {
    series_key(&m.name, labels_of(m))
}

/// The range figures of one series.
fn range_of(engine: &Engine, m: &MetricDoc, range: Duration) -> Option<RangeStats> {
    engine.range(&m.name, &labels_of(m), Range::Last(range))
}

/// Everything but the times, which the caller sets per answer.
pub(crate) struct Inputs<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) summary: DashboardFigures,
    pub(crate) resources: Option<ResourceSnapshot>,
    pub(crate) range: Duration,
    pub(crate) title: &'a str,
}

pub(crate) fn build(inputs: Inputs<'_>) -> DashboardDoc {
    let Inputs {
        engine,
        snapshot,
        summary,
        resources,
        range,
        title,
    } = inputs;
    let doc = SnapshotDoc::from_snapshot(snapshot);
    let mut series = Vec::with_capacity(doc.metrics.len());
    // Each row's count over the range (observations, increments, events or records).
    let mut counts = Vec::with_capacity(doc.metrics.len());
    // Per monitor: (requests row index by range count, errors), in first-seen order.
    let mut monitors: Vec<(String, usize, Option<usize>, Option<u64>)> = Vec::new();
    for m in &doc.metrics {
        let stats = range_of(engine, m, range);
        let mut row = SeriesRow {
            series: key_of(m),
            name: m.name.clone(),
            labels: m.labels.clone(),
            monitor: monitor_of(&m.name).to_owned(),
            kind: m.kind,
            unit: m.unit.clone(),
            total: None,
            value: m.gauge,
            // A gauge's range count is its collections, not a rate of anything it measures.
            throughput: stats
                .as_ref()
                .filter(|_| m.kind != KindDoc::Gauge)
                .map(|s| s.throughput),
            window_throughput: None,
            p50: None,
            p95: None,
            p99: None,
            relative_error: None,
        };
        if let Some(c) = &m.counter {
            row.total = Some(u64::try_from(c.total).unwrap_or(u64::MAX));
            row.window_throughput = c.window_rate;
        }
        if let Some(h) = &m.histogram {
            row.total = Some(h.cumulative.count);
            row.window_throughput = h.throughput;
            if let Some(data) = stats.as_ref().and_then(|s| s.data.as_ref()) {
                let q = |q: f64| data.quantile(q).map(|v| v / h.steps_per_unit);
                (row.p50, row.p95, row.p99) = (q(0.5), q(0.95), q(0.99));
                row.relative_error = Some(relative_error_bound(data.schema()));
            }
        }
        if let Some(e) = &m.events {
            row.total = Some(e.total);
        }
        if let Some(r) = &m.records {
            row.total = Some(r.total);
        }
        let at = match monitors.iter().position(|g| g.0 == row.monitor) {
            Some(i) => i,
            None => {
                monitors.push((row.monitor.clone(), 0, None, None));
                monitors.len() - 1
            }
        };
        let group = &mut monitors[at];
        group.1 += 1;
        let count = stats.as_ref().map_or(0, |s| s.count);
        if m.histogram.is_some() && crate::report::is_time_unit(&m.unit) {
            // The first of equals wins.
            if group.2.is_none_or(|i| count > counts[i]) {
                group.2 = Some(series.len());
            }
        }
        if is_error_counter(m) {
            group.3 = Some(group.3.unwrap_or(0).saturating_add(count));
        }
        series.push(row);
        counts.push(count);
    }
    let monitors = monitors
        .into_iter()
        .map(|(monitor, series_count, requests, errors)| {
            let req = requests.map(|i| &series[i]);
            let requests_n = requests.map_or(0, |i| counts[i]);
            MonitorRow {
                monitor,
                series_count,
                requests_series: req.map(|r| r.series.clone()),
                latency_unit: req.map(|r| r.unit.clone()).unwrap_or_default(),
                requests: requests_n,
                throughput: req.and_then(|r| r.throughput),
                errors,
                error_rate: match errors {
                    Some(e) if requests_n > 0 => Some(e as f64 / requests_n as f64),
                    _ => None,
                },
                p50: req.and_then(|r| r.p50),
                p95: req.and_then(|r| r.p95),
                p99: req.and_then(|r| r.p99),
            }
        })
        .collect();
    let interval = doc.interval_seconds;
    DashboardDoc {
        api_version: API_VERSION,
        title: title.to_owned(),
        generated_unix_seconds: 0.0,
        snapshot_unix_seconds: doc.time_unix_seconds,
        data_age_seconds: 0.0,
        stale_after_seconds: (3.0 * interval).max(3.0),
        interval_seconds: interval,
        uptime_seconds: doc.uptime_seconds,
        sequence: doc.sequence,
        range_seconds: range.as_secs_f64(),
        alerts: summary.active_alerts.clone(),
        summary,
        monitors,
        series,
        resources: resources.as_ref().map(ResourceDoc::of),
        engine: EngineDoc::of(engine, snapshot),
    }
}

/// `GET /api/v1/distribution?series=KEY`: the buckets of histogram `key` over the range, or
/// its cumulative buckets when the range has none. `None`: no histogram with that key.
pub(crate) fn distribution(
    engine: &Engine,
    snapshot: &Snapshot,
    key: &str,
    range: Duration,
) -> Option<Distribution> {
    let doc = SnapshotDoc::from_snapshot(snapshot);
    let m = doc
        .metrics
        .iter()
        .find(|m| m.histogram.is_some() && key_of(m) == key)?;
    let h = m.histogram.as_ref()?;
    let ranged = range_of(engine, m, range)
        .and_then(|s| s.data)
        .filter(|d| d.count() > 0);
    let (source, buckets) = match ranged {
        Some(d) => ("range", crate::report::buckets_of(&d, h.steps_per_unit)),
        None => (
            "cumulative",
            crate::report::native_buckets(
                h.schema,
                h.zero_count,
                h.buckets.iter().copied(),
                h.steps_per_unit,
            ),
        ),
    };
    Some(Distribution {
        series: key.to_owned(),
        unit: m.unit.clone(),
        source: source.into(),
        buckets,
    })
}
