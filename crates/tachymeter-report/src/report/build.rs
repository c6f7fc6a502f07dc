//! Building a report: from a snapshot document (figures copied), and from a live engine (the
//! document's figures plus ranges, series over time, monitors, alerts, resources, analysis).

use super::*;
use crate::analysis::{
    identify_bottlenecks, memory_leak, recommendations, resource_series, series_from_history,
    stability, stages_from_profiler, trend, BottleneckInput, Findings, LeakConfig, SeriesValue,
    TrendConfig, RSS_READING,
};
use std::time::SystemTime;
use tachymeter::histogram::relative_error_bound;
use tachymeter::{Counter, Histogram, HistogramData, Range, RangeStats};
use tachymeter_export::{HistogramStats, MetricDoc, SnapshotDoc};
use tachymeter_monitor::alerting::{ActiveAlert, AlertEvent, AlertManager};
use tachymeter_monitor::{EndpointTracker, InferenceMetrics, Profiler, ResourceMonitor};

/// Timeline points a report aims at per series (a step of the period over this, rounded up
/// to whole history periods by [`series_from_history`]).
const TIMELINE_POINTS: u32 = 120;

type Query<'a> = Box<dyn Fn(Range) -> Option<RangeStats> + 'a>;

/// A series the builder queries over the period.
struct Source<'a> {
    series: String,
    unit: String,
    steps_per_unit: f64,
    query: Query<'a>,
}

/// Builds a [`PerformanceReport`] over a live engine: a range (`hours_back`) or a session,
/// the sources to query over it, and the monitors to include. Everything is optional; the
/// snapshot's figures are always there.
#[must_use]
pub struct ReportBuilder<'a> {
    engine: &'a Engine,
    title: String,
    range: Range,
    kind: PeriodKind,
    hours_back: Option<f64>,
    latency: Vec<Source<'a>>,
    errors: Vec<Source<'a>>,
    inference: Option<&'a InferenceMetrics>,
    endpoints: Option<&'a EndpointTracker>,
    profiler: Option<&'a Profiler>,
    resources: Option<&'a ResourceMonitor>,
    alerts: Option<&'a AlertManager>,
}

impl<'a> ReportBuilder<'a> {
    pub(super) fn new(engine: &'a Engine) -> ReportBuilder<'a> {
        ReportBuilder {
            engine,
            title: "Performance report".into(),
            range: Range::Last(Duration::from_secs(3600)),
            kind: PeriodKind::Range,
            hours_back: Some(1.0),
            latency: Vec::new(),
            errors: Vec::new(),
            inference: None,
            endpoints: None,
            profiler: None,
            resources: None,
            alerts: None,
        }
    }

    /// The title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The last `hours` hours up to the latest collection (the seeds' `hours_back`; 24 for the
    /// daily report).
    pub fn hours_back(mut self, hours: f64) -> Self {
        let d = Duration::try_from_secs_f64(hours * 3600.0).unwrap_or(Duration::ZERO);
        self.range = Range::Last(d);
        self.kind = PeriodKind::Range;
        self.hours_back = Some(hours);
        self
    }

    /// The session between two marks, whichever comes first: the collections after the first
    /// mark up to and including the second. The history attributes an interval to the period
    /// in which its collection happened, so the range is `Range::Between(a + interval,
    /// b + interval)` with the engine's aggregation interval, widened by the engine to whole
    /// periods of the covering tier (exact when the marks fall on period boundaries).
    pub fn session(mut self, a: ReportMark, b: ReportMark) -> Self {
        let (from, to) = (a.uptime.min(b.uptime), a.uptime.max(b.uptime));
        let interval = self.engine.snapshot().interval();
        self.range = Range::Between(from + interval, to + interval);
        self.kind = PeriodKind::Session;
        self.hours_back = None;
        self
    }

    /// A latency histogram: range figures, p50/p95/p99 and throughput over time, its
    /// distribution. The first latency source counts the requests.
    pub fn histogram(self, h: &'a Histogram) -> Self {
        let d = h.desc();
        let series = series_key(&d.name, d.labels.iter().map(|(k, v)| (&**k, &**v)));
        let spu = d.unit_kind().steps_per_unit();
        let unit = d.unit.clone();
        self.latency_source(series, unit, spu, move |r| h.range(r))
    }

    /// A latency source by query: `steps_per_unit` converts its data to `unit` (1e9 for
    /// seconds stored as nanoseconds).
    pub fn latency_source(
        mut self,
        series: impl Into<String>,
        unit: impl Into<String>,
        steps_per_unit: f64,
        query: impl Fn(Range) -> Option<RangeStats> + 'a,
    ) -> Self {
        self.latency.push(Source {
            series: series.into(),
            unit: unit.into(),
            steps_per_unit,
            query: Box::new(query),
        });
        self
    }

    /// An error counter: summed into `total_errors` and the error rate over time.
    pub fn error_counter(self, c: &'a Counter) -> Self {
        let d = c.desc();
        let series = series_key(&d.name, d.labels.iter().map(|(k, v)| (&**k, &**v)));
        self.error_source(series, move |r| c.range(r))
    }

    /// An error source by query (its `count` is the errors).
    pub fn error_source(
        mut self,
        series: impl Into<String>,
        query: impl Fn(Range) -> Option<RangeStats> + 'a,
    ) -> Self {
        self.errors.push(Source {
            series: series.into(),
            unit: String::new(),
            steps_per_unit: 1.0,
            query: Box::new(query),
        });
        self
    }

    /// The inference monitor: its inference time as a latency source, its errors as an error
    /// source, its statistics as a table, its cache hit rate for the recommendations.
    pub fn inference(mut self, m: &'a InferenceMetrics) -> Self {
        let instance = [("instance", m.instance())];
        self.inference = Some(m);
        self.latency_source(
            series_key("inference_time", instance),
            "seconds",
            1e9,
            move |r| m.inference_range(r),
        )
        .error_source(series_key("inference_errors_total", instance), move |r| {
            m.errors_range(r)
        })
    }

    /// The endpoint tracker: a table of its endpoints.
    pub fn endpoints(mut self, t: &'a EndpointTracker) -> Self {
        self.endpoints = Some(t);
        self
    }

    /// The profiler: a table of its operations; its stages for the bottlenecks.
    pub fn profiler(mut self, p: &'a Profiler) -> Self {
        self.profiler = Some(p);
        self
    }

    /// The resource monitor: usage over the period, CPU and memory over time, grade and leak.
    pub fn resources(mut self, r: &'a ResourceMonitor) -> Self {
        self.resources = Some(r);
        self
    }

    /// The alert manager: its events in the period (on the timeline) and active alerts.
    pub fn alerts(mut self, a: &'a AlertManager) -> Self {
        self.alerts = Some(a);
        self
    }

    /// Builds the report (reads the latest snapshot and the history; takes each series'
    /// history lock briefly, never a recording thread's).
    ///
    /// A range longer than the engine's life starts at its first collection (taken as one
    /// aggregation interval after the start): the history answers a range that starts before a
    /// series' oldest fine period from its coarsest tier (1 h periods by default), which would
    /// leave a young engine's report one point per series.
    pub fn build(mut self) -> PerformanceReport {
        let snap = self.engine.snapshot();
        if let Range::Last(d) = self.range {
            let first = snap.interval().min(snap.uptime());
            if snap.uptime().saturating_sub(d) < first {
                self.range = Range::Between(first, snap.uptime() + Duration::from_nanos(1));
            }
        }
        let doc = SnapshotDoc::from_snapshot(&snap);
        let mut report = from_doc(&doc);
        report.title = self.title.clone();
        report.notes.clear();
        let uptime = snap.uptime();
        let (mut from, mut to) = match self.range {
            Range::Last(d) => (uptime.saturating_sub(d), uptime),
            Range::Between(a, b) => (a, b),
        };
        let mut history = false;
        if let Some(whole) = self.latency.first().and_then(|s| (s.query)(self.range)) {
            (from, to) = (whole.from, whole.to);
            history = true;
        }
        report.period.kind = self.kind;
        report.period.hours_back = self.hours_back;
        report.period.from_seconds = from.as_secs_f64();
        report.period.to_seconds = to.as_secs_f64();
        report.period.history = history;
        let resolution = (to.saturating_sub(from)) / TIMELINE_POINTS;

        // Latency sources: range figures, timeline, distributions, summary.
        let mut summary = Summary::default();
        let mut request_points: Vec<(f64, f64)> = Vec::new();
        for (i, s) in self.latency.iter().enumerate() {
            let Some(whole) = (s.query)(self.range) else {
                report
                    .notes
                    .push(format!("{}: no history in the period", s.series));
                continue;
            };
            let figures = range_figures(&whole, s.steps_per_unit);
            if let Some(data) = whole.data.as_ref().filter(|d| d.count() > 0) {
                report.distributions.retain(|d| d.series != s.series);
                report.distributions.push(Distribution {
                    series: s.series.clone(),
                    unit: s.unit.clone(),
                    source: "range".into(),
                    buckets: buckets_of(data, s.steps_per_unit),
                });
            }
            summary.latency.push(LatencySummary {
                series: s.series.clone(),
                unit: s.unit.clone(),
                count: whole.count,
                mean: figures.mean,
                p50: figures.p50,
                p95: figures.p95,
                p99: figures.p99,
                source: "range".into(),
            });
            if let Some(sr) = report.series.iter_mut().find(|r| r.series == s.series) {
                sr.range = Some(figures);
            }
            let q = |r| (s.query)(r);
            for (stat, q_) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                let points =
                    series_from_history(q, self.range, resolution, SeriesValue::Quantile(q_))
                        .into_iter()
                        .map(|(t, v)| (t, v / s.steps_per_unit))
                        .collect();
                report.timeline.push(TimeSeries {
                    series: s.series.clone(),
                    statistic: stat.into(),
                    unit: s.unit.clone(),
                    points,
                });
            }
            let throughput =
                series_from_history(q, self.range, resolution, SeriesValue::Throughput);
            if i == 0 {
                summary.requests_series = Some(s.series.clone());
                summary.total_requests = whole.count;
                summary.throughput = Some(whole.throughput);
                summary.peak_throughput = Some(whole.peak_throughput);
                request_points = series_from_history(q, self.range, resolution, SeriesValue::Count);
            }
            report.timeline.push(TimeSeries {
                series: s.series.clone(),
                statistic: "throughput".into(),
                unit: "per_second".into(),
                points: throughput,
            });
        }
        if self.latency.is_empty() {
            // No source: keep the snapshot's summary, say so.
            summary = report.summary.clone();
            report.notes.push(
                "no latency source: the summary shows the snapshot's cumulative figures".into(),
            );
        } else {
            // Series without a range keep their cumulative summary lines.
            for l in &report.summary.latency {
                if !summary.latency.iter().any(|x| x.series == l.series) {
                    summary.latency.push(l.clone());
                }
            }
        }

        // Error sources: summed, and the error rate over time against the requests.
        if !self.errors.is_empty() {
            let mut total = 0u64;
            let mut per_time: BTreeMap<u64, f64> = BTreeMap::new();
            for s in &self.errors {
                total += (s.query)(self.range).map_or(0, |r| r.count);
                for (t, n) in series_from_history(
                    |r| (s.query)(r),
                    self.range,
                    resolution,
                    SeriesValue::Count,
                ) {
                    *per_time.entry(t.to_bits()).or_default() += n;
                }
            }
            summary.total_errors = Some(total);
            summary.error_rate =
                (summary.total_requests > 0).then(|| total as f64 / summary.total_requests as f64);
            let points = request_points
                .iter()
                .filter(|(_, n)| *n > 0.0)
                .map(|&(t, n)| (t, per_time.get(&t.to_bits()).copied().unwrap_or(0.0) / n))
                .collect();
            report.timeline.push(TimeSeries {
                series: summary.requests_series.clone().unwrap_or_default(),
                statistic: "error_rate".into(),
                unit: "ratio".into(),
                points,
            });
        } else if self.latency.is_empty() {
            // keep the snapshot's error figures
        } else {
            summary.total_errors = report.summary.total_errors;
            summary.error_rate = report.summary.total_errors.and_then(|e| {
                (report.summary.total_requests > 0)
                    .then(|| e as f64 / report.summary.total_requests as f64)
            });
            report
                .notes
                .push("no error source: errors are the snapshot's cumulative totals".into());
        }
        report.summary = summary;

        // Monitors.
        if let Some(m) = self.inference {
            report
                .monitors
                .push(table("inference", [m.comprehensive_statistics()]));
        }
        if let Some(t) = self.endpoints {
            let api = t.api_report();
            let rows = api.endpoints.iter().map(|(name, stats)| {
                let mut v = serde_json::to_value(stats).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("endpoint".into(), name.clone().into());
                }
                v
            });
            report.monitors.push(table_of_values("endpoints", rows));
        }
        if let Some(p) = self.profiler {
            report.monitors.push(table("profiler", p.all_stats()));
        }

        // Resources.
        let mut resource_usage = ResourceUsage::default();
        let mut leak = None;
        let mut analysis_notes = Vec::new();
        if let Some(rm) = self.resources {
            let h = rm.history_range(self.range);
            resource_usage = ResourceUsage::from_history(&h);
            report.resources = Some(Resources {
                usage: resource_usage,
                readings: h
                    .readings
                    .iter()
                    .map(|(k, r)| {
                        let s = ReadingSummary {
                            min: r.min,
                            max: r.max,
                            mean: r.mean,
                            last: r.last,
                        };
                        (k.clone(), s)
                    })
                    .collect(),
            });
            let res = resolution.max(rm.interval());
            for (reading, stat, unit) in [
                ("system_cpu_usage", "cpu", "ratio"),
                ("system_memory_usage", "memory", "ratio"),
                (RSS_READING, "rss", "bytes"),
            ] {
                let points = resource_series(rm, reading, self.range, res);
                if !points.is_empty() {
                    report.timeline.push(TimeSeries {
                        series: reading.into(),
                        statistic: stat.into(),
                        unit: unit.into(),
                        points,
                    });
                }
            }
            let rss = resource_series(rm, RSS_READING, self.range, rm.interval());
            match memory_leak(&rss, &LeakConfig::default()) {
                Ok(l) => leak = Some(l),
                Err(e) => analysis_notes.push(format!("memory leak: {e}")),
            }
        } else {
            analysis_notes.push("no resource monitor: no resource usage, grade or leak".into());
        }

        // Alerts.
        if let Some(am) = self.alerts {
            let (f, t) = (from.as_secs_f64(), to.as_secs_f64());
            report.alerts.events = am
                .history()
                .iter()
                .filter(|e| e.uptime_seconds >= f && e.uptime_seconds <= t)
                .map(alert_entry)
                .collect();
            report.alerts.active = am.active().iter().map(active_entry).collect();
        }

        // Analysis.
        let mut a = Analysis {
            resource_usage,
            grade: resource_usage.grade(),
            leak,
            notes: analysis_notes,
            ..Analysis::default()
        };
        analyse_timeline(&report.timeline, &mut a);
        let stages = self.profiler.map(stages_from_profiler).unwrap_or_default();
        a.bottlenecks = identify_bottlenecks(&BottleneckInput {
            stages,
            comparisons: Vec::new(),
            resources: resource_usage,
        });
        let cache_hit_rate = self
            .inference
            .map(|m| m.statistics())
            .filter(|s| s.cache_hit_rate > 0.0)
            .map(|s| s.cache_hit_rate);
        a.recommendations = recommendations(&Findings {
            resources: resource_usage,
            error_rate: report.summary.error_rate,
            cache_hit_rate,
            regressions: &[],
            leak: a.leak.as_ref(),
            bottlenecks: &a.bottlenecks,
        });
        report.analysis = a;
        if !history {
            report.notes.push(
                "no history in the period: the over-time plots are empty (query a range the engine has collected)"
                    .into(),
            );
        }
        report
    }
}

/// Trends of every timeline series and stability of throughput and p95.
fn analyse_timeline(timeline: &[TimeSeries], a: &mut Analysis) {
    for ts in timeline {
        if ts.statistic == "p50" || ts.statistic == "p99" {
            continue;
        }
        let (t, error) = match trend(&ts.points, &TrendConfig::default()) {
            Ok(t) if finite_trend(&t) => (Some(t), None),
            Ok(_) => (None, Some("not finite".to_string())),
            Err(e) => (None, Some(e.to_string())),
        };
        a.trends.push(SeriesTrend {
            series: ts.series.clone(),
            statistic: ts.statistic.clone(),
            trend: t,
            error,
        });
        if ts.statistic == "throughput" || ts.statistic == "p95" {
            let values: Vec<f64> = ts.points.iter().map(|p| p.1).collect();
            if let Some(s) = stability(&values).ok().filter(|s| s.cv.is_finite()) {
                a.stability.push(SeriesStability {
                    series: ts.series.clone(),
                    statistic: ts.statistic.clone(),
                    stability: s,
                });
            }
        }
    }
}

/// A trend whose numbers all survive JSON (`null` would not read back as a number).
fn finite_trend(t: &Trend) -> bool {
    [
        t.slope_per_second,
        t.ci_low,
        t.ci_high,
        t.p_value,
        t.mann_kendall_z,
        t.relative_change_per_hour,
        t.intercept,
        t.span_seconds,
    ]
    .iter()
    .all(|v| v.is_finite())
}

/// The report entry of an alert firing now (event `active`).
pub(super) fn active_entry(a: &ActiveAlert) -> AlertEntry {
    AlertEntry {
        alert: a.alert.clone(),
        event: "active".into(),
        severity: a.severity.name().into(),
        metric: a.metric.clone(),
        value: a.current_value,
        threshold: a.threshold,
        message: String::new(),
        uptime_seconds: a.fired_uptime_seconds,
        unix_seconds: a.fired_at,
    }
}

fn alert_entry(e: &AlertEvent) -> AlertEntry {
    let event = serde_json::to_value(e.event)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    AlertEntry {
        alert: e.alert.clone(),
        event,
        severity: e.severity.name().into(),
        metric: e.metric.clone(),
        value: Some(e.current_value).filter(|v| v.is_finite()),
        threshold: e.threshold,
        message: e.message.clone(),
        uptime_seconds: e.uptime_seconds,
        unix_seconds: e.timestamp,
    }
}

/// A table of serialisable rows (their scalar fields; nested values as JSON text).
fn table<T: serde::Serialize>(monitor: &str, rows: impl IntoIterator<Item = T>) -> MonitorTable {
    table_of_values(
        monitor,
        rows.into_iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default()),
    )
}

fn table_of_values(
    monitor: &str,
    rows: impl IntoIterator<Item = serde_json::Value>,
) -> MonitorTable {
    let rows: Vec<serde_json::Value> = rows.into_iter().collect();
    let mut columns: Vec<String> = Vec::new();
    for r in &rows {
        for k in r.as_object().into_iter().flat_map(|o| o.keys()) {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    // The row's name first.
    for key in ["endpoint", "operation"] {
        if let Some(i) = columns.iter().position(|c| c == key) {
            let c = columns.remove(i);
            columns.insert(0, c);
        }
    }
    let rows = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| match r.get(c) {
                    Some(v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => {
                        serde_json::Value::String(v.to_string())
                    }
                    Some(v) => v.clone(),
                    None => serde_json::Value::Null,
                })
                .collect()
        })
        .collect();
    MonitorTable {
        monitor: monitor.into(),
        columns,
        rows,
    }
}

/// Figures of a range in the unit.
fn range_figures(r: &RangeStats, spu: f64) -> Figures {
    let unit = |v: Option<f64>| v.map(|v| v / spu).filter(|v| v.is_finite());
    let mut f = Figures {
        count: Some(r.count),
        throughput: Some(r.throughput).filter(|v| v.is_finite()),
        peak_throughput: Some(r.peak_throughput).filter(|v| v.is_finite()),
        ..Figures::default()
    };
    if let Some(d) = r.data.as_ref() {
        f.sum = unit(Some(d.sum() as f64));
        f.mean = unit(d.mean());
        f.stddev = unit(d.stddev());
        f.min = unit(d.min().map(|v| v as f64));
        f.max = unit(d.max().map(|v| v as f64));
        f.p50 = unit(d.p50());
        f.p90 = unit(d.p90());
        f.p95 = unit(d.p95());
        f.p99 = unit(d.p99());
        f.p999 = unit(d.p999());
        f.relative_error = Some(relative_error_bound(d.schema()));
    }
    if let Some(g) = r.gauge {
        f.value = Some(g.mean).filter(|v| v.is_finite());
    }
    f
}

pub(crate) fn buckets_of(d: &HistogramData, spu: f64) -> Vec<(f64, f64, u64)> {
    native_buckets(d.schema(), d.zero_count(), d.buckets(), spu)
}

pub(crate) fn native_buckets(
    schema: i8,
    zero: u64,
    buckets: impl Iterator<Item = (i32, u64)>,
    spu: f64,
) -> Vec<(f64, f64, u64)> {
    let mut out = Vec::new();
    if zero > 0 {
        out.push((0.0, 0.0, zero));
    }
    for (i, n) in buckets.filter(|b| b.1 > 0) {
        let (lo, hi) = HistogramData::bucket_bounds(schema, i);
        out.push((lo / spu, hi / spu, n));
    }
    out
}

fn stats_figures(s: &HistogramStats, relative_error: f64) -> Figures {
    Figures {
        count: Some(s.count),
        sum: Some(s.sum),
        mean: s.mean,
        stddev: s.stddev,
        min: s.min,
        max: s.max,
        p50: s.p50,
        p90: s.p90,
        p95: s.p95,
        p99: s.p99,
        p999: s.p999,
        relative_error: Some(relative_error),
        ..Figures::default()
    }
}

fn series_of(m: &MetricDoc) -> SeriesReport {
    let key = series_key(&m.name, m.labels.iter().map(|(k, v)| (&**k, &**v)));
    let mut s = SeriesReport {
        series: key,
        name: m.name.clone(),
        labels: m.labels.clone(),
        kind: m.kind,
        unit: m.unit.clone(),
        cumulative: Figures::default(),
        window: None,
        range: None,
    };
    if let Some(h) = &m.histogram {
        let e = relative_error_bound(h.schema);
        s.cumulative = stats_figures(&h.cumulative, e);
        s.cumulative.throughput = h.avg_throughput;
        s.cumulative.peak_throughput = h.max_throughput;
        let mut w = stats_figures(&h.window, e);
        w.throughput = h.throughput;
        w.peak_throughput = h.peak_throughput;
        s.window = Some(w);
    } else if let Some(c) = &m.counter {
        s.cumulative = Figures {
            count: Some(u64::try_from(c.total).unwrap_or(u64::MAX)),
            throughput: c.avg_rate,
            peak_throughput: c.max_rate,
            ..Figures::default()
        };
        s.window = Some(Figures {
            throughput: c.window_rate,
            peak_throughput: c.peak_rate,
            ..Figures::default()
        });
    } else if let Some(g) = m.gauge {
        s.cumulative.value = Some(g);
    } else if let Some(e) = &m.events {
        s.cumulative.count = Some(e.total);
    } else if let Some(r) = &m.records {
        s.cumulative.count = Some(r.total);
    }
    s
}

fn is_error_counter(m: &MetricDoc) -> bool {
    m.counter.is_some() && (m.name.ends_with("errors_total") || m.name.ends_with("_errors"))
}

/// The report of a snapshot document.
pub(super) fn from_doc(doc: &SnapshotDoc) -> PerformanceReport {
    let series: Vec<SeriesReport> = doc.metrics.iter().map(series_of).collect();
    let latency_docs: Vec<(&MetricDoc, &SeriesReport)> = doc
        .metrics
        .iter()
        .zip(&series)
        .filter(|(m, _)| m.histogram.is_some() && is_time_unit(&m.unit))
        .collect();
    let mut summary = Summary::default();
    let mut distributions = Vec::new();
    for (m, s) in &latency_docs {
        let f = &s.cumulative;
        summary.latency.push(LatencySummary {
            series: s.series.clone(),
            unit: s.unit.clone(),
            count: f.count.unwrap_or(0),
            mean: f.mean,
            p50: f.p50,
            p95: f.p95,
            p99: f.p99,
            source: "cumulative".into(),
        });
        if let Some(h) = m.histogram.as_ref().filter(|h| h.cumulative.count > 0) {
            distributions.push(Distribution {
                series: s.series.clone(),
                unit: s.unit.clone(),
                source: "cumulative".into(),
                buckets: native_buckets(
                    h.schema,
                    h.zero_count,
                    h.buckets.iter().copied(),
                    h.steps_per_unit,
                ),
            });
        }
    }
    // The requests: the latency histogram with the most observations (first on a tie).
    if let Some((_, s)) = latency_docs
        .iter()
        .rev()
        .max_by_key(|(_, s)| s.cumulative.count.unwrap_or(0))
    {
        summary.requests_series = Some(s.series.clone());
        summary.total_requests = s.cumulative.count.unwrap_or(0);
        summary.throughput = s.cumulative.throughput;
        summary.peak_throughput = s.cumulative.peak_throughput;
    }
    let error_counters: Vec<&MetricDoc> =
        doc.metrics.iter().filter(|m| is_error_counter(m)).collect();
    if !error_counters.is_empty() {
        let total: u128 = error_counters
            .iter()
            .filter_map(|m| m.counter.as_ref())
            .map(|c| c.total)
            .sum();
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        summary.total_errors = Some(total);
        summary.error_rate =
            (summary.total_requests > 0).then(|| total as f64 / summary.total_requests as f64);
    }
    let recs = recommendations(&Findings {
        error_rate: summary.error_rate,
        ..Findings::default()
    });
    let generated = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    PerformanceReport {
        schema_version: SCHEMA_VERSION,
        title: "Performance report".into(),
        generated_unix_seconds: generated,
        period: Period {
            kind: PeriodKind::Snapshot,
            hours_back: None,
            from_seconds: 0.0,
            to_seconds: doc.uptime_seconds,
            started_unix_seconds: doc.started_unix_seconds,
            snapshot_unix_seconds: doc.time_unix_seconds,
            uptime_seconds: doc.uptime_seconds,
            sequence: doc.sequence,
            history: false,
        },
        summary,
        series,
        timeline: Vec::new(),
        distributions,
        monitors: Vec::new(),
        analysis: Analysis {
            recommendations: recs,
            notes: vec![
                "a snapshot document has no history: no trends, stability, leak detection or resource grade"
                    .into(),
            ],
            ..Analysis::default()
        },
        alerts: Alerts::default(),
        resources: None,
        notes: vec![
            "built from a snapshot document: no history, so the over-time plots are empty and the figures are cumulative (since the start) and over the rolling window"
                .into(),
        ],
    }
}
