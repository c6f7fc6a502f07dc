//! Performance reports (the seeds' `PerformanceReport`: daily, session, compare; the
//! analyzers' report and dashboard data) and their exports to JSON, CSV and HTML.
//!
//! A [`PerformanceReport`] is plain data built in one of two ways:
//!
//! - **from a live engine** with [`PerformanceReport::builder`]: the snapshot's figures for
//!   every series, plus, for the sources given to the builder (histograms, error counters, the
//!   monitors), figures over a time range (`hours_back`, or a session between two
//!   [`ReportMark`]s) and series over time from the engine's history (via
//!   [`series_from_history`] and [`resource_series`]), alerts from an
//!   [`AlertManager`], resources from a [`ResourceMonitor`], and the [`analysis`](crate::analysis);
//! - **from a snapshot document** ([`PerformanceReport::from_snapshot_doc`], what
//!   `tachymeter demo --output x.json` and the `/snapshot.json` endpoint write): no history, so
//!   the report says so in `period.history = false` and `notes`, and shows each series'
//!   cumulative and window figures, copied from the document.
//!
//! [`compare`] compares two reports series by series; [`DashboardData`] caches the figures a
//! dashboard shows. Exports: [`PerformanceReport::to_json`], [`PerformanceReport::to_csv`],
//! [`PerformanceReport::to_html`].
//!
//! ```
//! use std::time::Duration;
//! use tachymeter::{Clock, Engine};
//! use tachymeter_report::report::PerformanceReport;
//!
//! let (clock, mock) = Clock::mock();
//! let engine = Engine::builder().background(false).clock(clock).build().unwrap();
//! let latency = engine
//!     .histogram(tachymeter::Opts::new("request_latency").unit("seconds"))
//!     .unwrap();
//! for i in 0..30u64 {
//!     for v in 0..100u64 {
//!         latency.record(1_000_000 + (v + i) * 10_000); // nanoseconds
//!     }
//!     mock.advance(Duration::from_secs(10));
//!     engine.flush();
//! }
//! let report = PerformanceReport::builder(&engine)
//!     .hours_back(1.0)
//!     .histogram(&latency)
//!     .build();
//! assert_eq!(report.summary.total_requests, 3000);
//! assert!(report.period.history);
//! let back = PerformanceReport::from_json(&report.to_json()).unwrap();
//! assert_eq!(back, report);
//! assert!(report.to_html().contains("<svg"));
//! ```
//!
//! # JSON schema (`schema_version` 1)
//!
//! [`PerformanceReport::to_json`] writes the report's fields as named here (serde), pretty
//! printed; [`PerformanceReport::from_json`] reads it back. Times are seconds: `*_unix_seconds`
//! since the Unix epoch, `*_seconds` since the engine started (the engine clock). Statistics
//! are in each series' `unit` (seconds for a `seconds` histogram). Non-finite numbers are
//! written as `null`. Top-level fields:
//!
//! | field | type | what |
//! |---|---|---|
//! | `schema_version` | integer | [`SCHEMA_VERSION`]; a reader rejects a newer one |
//! | `title` | string | the report's title |
//! | `generated_unix_seconds` | number | when the report was built |
//! | `period` | [`Period`] | what the report covers: `kind` (`range`, `session`, `snapshot`), `hours_back`, `from_seconds`, `to_seconds`, `history` |
//! | `summary` | [`Summary`] | `total_requests`, `throughput`, `peak_throughput`, `total_errors`, `error_rate`, and `latency` (p50/p95/p99 per latency series) |
//! | `series` | [`SeriesReport`]`[]` | every series of the snapshot with its `cumulative`, `window` and (live) `range` [`Figures`] |
//! | `timeline` | [`TimeSeries`]`[]` | series over time: `series`, `statistic` (`p50`, `p95`, `p99`, `throughput`, `error_rate`, `cpu`, `memory`, `rss`), `unit`, `points` as `[seconds, value]` |
//! | `distributions` | [`Distribution`]`[]` | latency distributions from histogram buckets: `[lower, upper, count]` per bucket |
//! | `monitors` | [`MonitorTable`]`[]` | per-monitor tables: `monitor`, `columns`, `rows` |
//! | `analysis` | [`Analysis`] | trends, stability, bottlenecks, recommendations, resource usage, grade, leak, notes |
//! | `alerts` | [`Alerts`] | `events` in the period (firing, escalated, resolved) and `active` alerts |
//! | `resources` | [`Resources`] or `null` | resource usage over the period, per reading |
//! | `notes` | string`[]` | what the report could not show, and why |
//!
//! # Which series are the requests and the errors
//!
//! Live: the first latency source given to the builder counts the requests (its range count
//! and throughput); the error sources are summed. From a snapshot document: the histogram with
//! a time unit and the most observations counts the requests (its cumulative figures), and
//! the errors are the summed totals of the counters whose name ends in `errors_total` or
//! `_errors`. `error_rate = total_errors / total_requests`.
#![deny(unsafe_code)]

mod build;
mod compare;
mod csv;
mod dashboard;
mod html;

#[cfg(doc)]
use crate::analysis::{resource_series, series_from_history};
use crate::analysis::{
    Bottleneck, Grade, LeakAssessment, Recommendation, ResourceUsage, Stability, Trend,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tachymeter::Engine;
pub use tachymeter_export::KindDoc;
#[cfg(doc)]
use tachymeter_monitor::{alerting::AlertManager, ResourceMonitor};

pub use build::ReportBuilder;
pub(crate) use build::{buckets_of, native_buckets};
pub use compare::{compare, Comparison, SeriesDelta};
pub use dashboard::{DashboardData, DashboardFigures};

/// The version of the JSON schema this crate writes (see the [module docs](self#json-schema-schema_version-1)).
pub const SCHEMA_VERSION: u32 = 1;

/// A performance report: plain data, serialisable, built from an engine or a snapshot
/// document (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PerformanceReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Title.
    pub title: String,
    /// When the report was built, seconds since the Unix epoch.
    pub generated_unix_seconds: f64,
    /// What the report covers.
    pub period: Period,
    /// Requests, throughput, errors and latency quantiles.
    pub summary: Summary,
    /// Every series of the snapshot.
    pub series: Vec<SeriesReport>,
    /// Series over time (empty without history).
    pub timeline: Vec<TimeSeries>,
    /// Latency distributions.
    pub distributions: Vec<Distribution>,
    /// Per-monitor tables (live reports with monitors).
    pub monitors: Vec<MonitorTable>,
    /// The analysis section.
    pub analysis: Analysis,
    /// Alerts in the period and active ones.
    pub alerts: Alerts,
    /// Resource usage (with a resource monitor).
    pub resources: Option<Resources>,
    /// What the report could not show, and why.
    pub notes: Vec<String>,
}

/// What kind of period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// The last `hours_back` hours up to the latest collection.
    Range,
    /// Between two [`ReportMark`]s.
    Session,
    /// One snapshot document: cumulative and window figures, no history.
    Snapshot,
}

/// The time a report covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Period {
    /// Range, session or snapshot.
    pub kind: PeriodKind,
    /// The hours asked for (range reports).
    pub hours_back: Option<f64>,
    /// Start, seconds since the engine started (the history's whole periods when it had data).
    pub from_seconds: f64,
    /// End, seconds since the engine started.
    pub to_seconds: f64,
    /// When the engine started, seconds since the Unix epoch.
    pub started_unix_seconds: f64,
    /// When the snapshot was collected, seconds since the Unix epoch.
    pub snapshot_unix_seconds: f64,
    /// The snapshot's uptime, seconds.
    pub uptime_seconds: f64,
    /// The snapshot's sequence number.
    pub sequence: u64,
    /// Whether the report has figures over time (false for a snapshot document).
    pub history: bool,
}

/// The headline figures (see the [module docs](self#which-series-are-the-requests-and-the-errors)
/// for which series they come from).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// The series the requests are counted from.
    pub requests_series: Option<String>,
    /// Requests in the period.
    pub total_requests: u64,
    /// Requests per second over the period.
    pub throughput: Option<f64>,
    /// The highest per-period (live) or per-interval (snapshot) requests per second.
    pub peak_throughput: Option<f64>,
    /// Errors in the period (`None`: no error series).
    pub total_errors: Option<u64>,
    /// `total_errors / total_requests`.
    pub error_rate: Option<f64>,
    /// Latency quantiles per latency series.
    pub latency: Vec<LatencySummary>,
}

/// One latency series' headline quantiles, in its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencySummary {
    /// The series (`name{label="value"}`).
    pub series: String,
    /// Its unit.
    pub unit: String,
    /// Observations.
    pub count: u64,
    /// Exact mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Whether these are range figures (`range`) or the snapshot's (`cumulative`).
    pub source: String,
}

/// One series of the snapshot and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesReport {
    /// `name{label="value",…}` (labels sorted by name).
    pub series: String,
    /// Metric name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Metric kind.
    pub kind: KindDoc,
    /// Unit (`""`: none).
    pub unit: String,
    /// Since the start or the last reset (copied from the snapshot).
    pub cumulative: Figures,
    /// The rolling window (histograms and counters).
    pub window: Option<Figures>,
    /// Over the report's period (live reports, for the builder's sources).
    pub range: Option<Figures>,
}

/// The figures of one series over one horizon, in the series' unit. Fields a kind does not
/// have are `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Figures {
    /// Observations (histograms), total (counters, saturating at `u64::MAX`), events or
    /// records.
    pub count: Option<u64>,
    /// Per second.
    pub throughput: Option<f64>,
    /// Highest per-interval (or per-period) rate.
    pub peak_throughput: Option<f64>,
    /// Sum of the observations.
    pub sum: Option<f64>,
    /// Exact mean.
    pub mean: Option<f64>,
    /// Standard deviation.
    pub stddev: Option<f64>,
    /// Smallest observation.
    pub min: Option<f64>,
    /// Largest observation.
    pub max: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Gauge value (cumulative) or mean over the range.
    pub value: Option<f64>,
    /// Relative error bound of the quantiles.
    pub relative_error: Option<f64>,
}

/// One series over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeSeries {
    /// The series it is computed from.
    pub series: String,
    /// `p50`, `p95`, `p99`, `throughput`, `error_rate`, `cpu`, `memory` or `rss`.
    pub statistic: String,
    /// Unit of the values (`seconds`, `per_second`, `ratio`, `bytes`, …).
    pub unit: String,
    /// `(seconds since the engine started, value)`, one per sub-range at its midpoint.
    pub points: Vec<(f64, f64)>,
}

/// A latency distribution from a histogram's buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Distribution {
    /// The series.
    pub series: String,
    /// Unit of the bounds.
    pub unit: String,
    /// `range` (the period's merged histogram) or `cumulative` (the snapshot's).
    pub source: String,
    /// Non-empty buckets `(lower, upper, count)`, ascending; the zero bucket is `(0, 0, n)`.
    pub buckets: Vec<(f64, f64, u64)>,
}

/// A monitor's statistics as a table (one row per endpoint, operation, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MonitorTable {
    /// `inference`, `endpoints`, `profiler`, …
    pub monitor: String,
    /// Column names (the monitor's serde field names).
    pub columns: Vec<String>,
    /// Rows of values (numbers, strings, `null`).
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// A trend of one timeline series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesTrend {
    /// The series.
    pub series: String,
    /// The statistic (as in [`TimeSeries::statistic`]).
    pub statistic: String,
    /// The trend, or `None` with `error` saying why.
    pub trend: Option<Trend>,
    /// Why there is no trend.
    pub error: Option<String>,
}

/// The stability of one timeline series' per-interval values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesStability {
    /// The series.
    pub series: String,
    /// The statistic.
    pub statistic: String,
    /// The stability.
    pub stability: Stability,
}

/// The analysis section (see [`analysis`](crate::analysis) for every rule).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Analysis {
    /// Trends of the timeline's series.
    pub trends: Vec<SeriesTrend>,
    /// Stability of the timeline's throughput and p95 latency.
    pub stability: Vec<SeriesStability>,
    /// Bottlenecks (profiler stages, resources).
    pub bottlenecks: Vec<Bottleneck>,
    /// Recommendations, highest priority first.
    pub recommendations: Vec<Recommendation>,
    /// Mean resource usage over the period.
    pub resource_usage: ResourceUsage,
    /// The seeds' grade of the resource usage.
    pub grade: Option<Grade>,
    /// The memory-leak assessment (with a resource monitor and enough history).
    pub leak: Option<LeakAssessment>,
    /// What could not be analysed, and why.
    pub notes: Vec<String>,
}

/// One alert event or active alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlertEntry {
    /// The rule's name.
    pub alert: String,
    /// `firing`, `escalated`, `resolved` (events) or `active`.
    pub event: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// The statistic.
    pub metric: String,
    /// The value that caused the event.
    pub value: Option<f64>,
    /// The firing threshold.
    pub threshold: f64,
    /// A one-line description.
    pub message: String,
    /// Engine time, seconds since the engine started.
    pub uptime_seconds: f64,
    /// Wall time, seconds since the Unix epoch.
    pub unix_seconds: f64,
}

/// Alerts of the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Alerts {
    /// Events whose engine time falls in the period, oldest first.
    pub events: Vec<AlertEntry>,
    /// Alerts firing when the report was built.
    pub active: Vec<AlertEntry>,
}

/// One resource reading over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReadingSummary {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// Latest value.
    pub last: f64,
}

/// Resource usage over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resources {
    /// Mean CPU, memory and root-disk usage (ratios).
    pub usage: ResourceUsage,
    /// Every reading of the monitor (`system_cpu_usage`, `process_resident_memory`, …), in its
    /// unit.
    pub readings: BTreeMap<String, ReadingSummary>,
}

/// A point in an engine's time that a session report starts or ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMark {
    /// Time since the engine started.
    pub uptime: Duration,
}

impl ReportMark {
    /// The time of the engine's latest collection.
    pub fn now(engine: &Engine) -> ReportMark {
        ReportMark {
            uptime: engine.snapshot().uptime(),
        }
    }

    /// A given time since the engine started.
    pub fn at(uptime: Duration) -> ReportMark {
        ReportMark { uptime }
    }
}

/// Why a JSON report could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Not a report document: the message says where.
    Json(serde_json::Error),
    /// Written by a newer version: upgrade the reader.
    NewerSchema(u32),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Json(e) => write!(f, "not a report document: {e}"),
            ReadError::NewerSchema(v) => write!(
                f,
                "report schema version {v} is newer than this reader's {SCHEMA_VERSION}"
            ),
        }
    }
}

impl std::error::Error for ReadError {}

impl PerformanceReport {
    /// A report builder over `engine` (default: the last hour, no sources).
    pub fn builder(engine: &Engine) -> ReportBuilder<'_> {
        ReportBuilder::new(engine)
    }

    /// A report of a snapshot document (no history: cumulative and window figures).
    pub fn from_snapshot_doc(doc: &tachymeter_export::SnapshotDoc) -> PerformanceReport {
        build::from_doc(doc)
    }

    /// A report of a snapshot (as [`from_snapshot_doc`](Self::from_snapshot_doc) of its
    /// document).
    pub fn from_snapshot(snapshot: &tachymeter::Snapshot) -> PerformanceReport {
        build::from_doc(&tachymeter_export::SnapshotDoc::from_snapshot(snapshot))
    }

    /// The report as pretty-printed JSON (see the [schema](self#json-schema-schema_version-1)).
    pub fn to_json(&self) -> String {
        // Plain structs with string keys: serializing into memory cannot fail.
        serde_json::to_string_pretty(self).expect("plain data serializes")
    }

    /// Reads a report written by [`to_json`](Self::to_json).
    pub fn from_json(json: &str) -> Result<PerformanceReport, ReadError> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(ReadError::Json)?;
        let version = v
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if version > u64::from(SCHEMA_VERSION) {
            return Err(ReadError::NewerSchema(
                u32::try_from(version).unwrap_or(u32::MAX),
            ));
        }
        serde_json::from_value(v).map_err(ReadError::Json)
    }

    /// The report as CSV: one row per series and statistic (see [`csv`](self#csv)).
    pub fn to_csv(&self) -> String {
        csv::to_csv(self)
    }

    /// The report as one self-contained HTML page with inline CSS and SVG plots.
    pub fn to_html(&self) -> String {
        html::to_html(self)
    }

    /// The series with key `series` (`name{label="value"}`).
    pub fn series(&self, series: &str) -> Option<&SeriesReport> {
        self.series.iter().find(|s| s.series == series)
    }

    /// The timeline entry of `series` and `statistic`.
    pub fn timeline(&self, series: &str, statistic: &str) -> Option<&TimeSeries> {
        self.timeline
            .iter()
            .find(|t| t.series == series && t.statistic == statistic)
    }
}

/// `name{label="value",…}` with labels in name order, quotes and backslashes escaped.
pub fn series_key<'a>(name: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = labels.into_iter().collect();
    if pairs.is_empty() {
        return name.to_string();
    }
    pairs.sort();
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{name}{{{}}}", body.join(","))
}

/// Whether `unit` is a time unit.
pub(crate) fn is_time_unit(unit: &str) -> bool {
    matches!(
        unit,
        "seconds" | "milliseconds" | "microseconds" | "nanoseconds"
    )
}
