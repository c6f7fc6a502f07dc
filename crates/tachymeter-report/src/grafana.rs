//! Grafana dashboards generated from a snapshot's metrics: one row per monitor, `timeseries`
//! panels only, PromQL over the names `/metrics` serves.
//!
//! [`dashboard`] reads what a [`Snapshot`] registers (names, kinds, units, label names; never
//! values) and writes a dashboard JSON model (`schemaVersion` 39) that Grafana imports as is
//! (*Dashboards → New → Import*, or a provisioning directory; the HTTP API wants it wrapped as
//! `{"dashboard": …, "overwrite": true}`). [`dashboard_for`] does the same from a list of
//! [`SeriesInfo`], for callers that hold a JSON snapshot document instead of a live snapshot.
//!
//! # Layout
//!
//! Metrics are grouped into rows by name prefix, one row per monitor of
//! `tachymeter-monitor` (see [`ROWS`]): *Inference* (`inference_*`), *Serialization*,
//! *API endpoints* (`api_*`), *Operations*, *Profiler* (`profile_*`), *Caches* (`cache_*`),
//! *Database queries* (`db_*`), *Response times*, *Business* (`user_action_*`,
//! `business_*`), *Resources* (`system_*`, `process_*`, `gpu_*`, `resource_*`), and *Other*
//! for everything else. Within a row, in registration order:
//!
//! | metric | panels | unit |
//! |---|---|---|
//! | histogram | p50/p95/p99, and throughput (observations per second) | the metric's (`s`, `bytes`, `percentunit`, `short`); `reqps` |
//! | counter, event log, record log | rate | `ops`, `Bps` for bytes, `s` (seconds per second) for time |
//! | gauge | the value as is | `s`, `bytes`, `Bps`, `percentunit`, `percent`, `short` |
//! | `*_errors_total` or `*_failures_total` beside a time histogram | error ratio: errors / observations of the row's first time histogram | `percentunit` |
//! | `X_hits_total` beside `X_misses_total` | hit ratio: hits / (hits + misses) | `percentunit` |
//!
//! # Queries
//!
//! Every selector carries `{job=~"$job",instance=~"$instance"}` (template variables, *All* =
//! `.*`, listing the jobs and targets that expose the snapshot's first counter or gauge), and
//! every target uses the `${datasource}` variable (type `datasource`, Prometheus).
//!
//! Rates use Grafana's `$__rate_interval` (at least four scrape intervals, so a rate always
//! sees two samples, and never shorter than the panel's step) unless
//! [`DashboardOptions::rate_interval`] sets a fixed range such as `5m`.
//!
//! Aggregations keep the target's `instance` and the metric's own labels. The monitors label
//! their series `instance` too; a Prometheus scrape with the default `honor_labels: false`
//! renames that label `exported_instance`, so a metric with an `instance` label is grouped by
//! `exported_instance` as well (with `honor_labels: true` that label is absent and the
//! grouping is by `instance` alone, which is then the monitor's).
//!
//! Quantiles (see [`HistogramQueries`]):
//!
//! - classic, from the `le` buckets every format carries:
//!   `histogram_quantile(0.95, sum by (le, …) (rate(x_seconds_bucket{…}[$__rate_interval])))`;
//! - native: `histogram_quantile(0.95, sum by (…) (rate(x_bytes{…}[$__rate_interval])))`,
//!   for the histograms the exporters send with native buckets: those stored in their exported
//!   unit, so not time histograms (see [`HistogramQueries`]), which keep the classic form.
//!   Prometheus stores native histograms only when it runs with
//!   `--enable-feature=native-histograms` and therefore scrapes the protobuf format; up to
//!   Prometheus 2.44 it then stores *only* the native histogram, so the classic form finds no
//!   `_bucket` series (from 2.45, `scrape_classic_histograms: true` keeps both);
//! - either: `classic or native`, which returns whichever the server has.
//!
//! Throughput is `rate(x_count[…])` for classic and `histogram_count(rate(x[…]))` for native.
//!
//! ```
//! use tachymeter::{Engine, Opts};
//! use tachymeter_report::grafana::{dashboard, DashboardOptions};
//!
//! let engine = Engine::builder().background(false).build().unwrap();
//! engine.histogram(Opts::new("inference_time").unit("seconds")).unwrap();
//! let json = dashboard(&engine.flush(), &DashboardOptions::new().title("Inference"));
//! let expr = json["panels"][1]["targets"][1]["expr"].as_str().unwrap();
//! assert_eq!(
//!     expr,
//!     "histogram_quantile(0.95, sum by (le, instance) \
//!      (rate(inference_time_seconds_bucket{job=~\"$job\",instance=~\"$instance\"}[$__rate_interval])))"
//! );
//! ```

use serde_json::{json, Value};
use tachymeter::{exposed_names, MetricKind, Snapshot, Unit};

/// The dashboard JSON model version written (Grafana 10.4 / 11.0).
pub const SCHEMA_VERSION: u32 = 39;

/// The quantiles of every histogram panel.
pub const QUANTILES: [(f64, &str); 3] = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")];

/// The rows, in order: a title and the metric-name prefixes it collects. Metrics that match
/// none go to a last row, *Other*.
pub const ROWS: &[(&str, &[&str])] = &[
    ("Inference", &["inference_"]),
    ("Serialization", &["serialization_"]),
    ("API endpoints", &["api_"]),
    ("Operations", &["operation_"]),
    ("Profiler", &["profile_"]),
    ("Caches", &["cache_"]),
    ("Database queries", &["db_"]),
    ("Response times", &["response_time"]),
    ("Business", &["user_action_", "business_"]),
    ("Resources", &["system_", "process_", "gpu_", "resource_"]),
];

/// Which PromQL form histogram panels use (quantiles, throughput, error-ratio denominators).
///
/// The native and either forms apply only to histograms the exporters send with native
/// buckets: those stored in their exported unit (no unit, `bytes`, custom units). A time
/// histogram stores nanoseconds but is exported in seconds, and a ratio or percentage stores
/// millionths or ten-thousandths; `base^i` steps are no `base^j` exported units, so these are
/// exposed with classic buckets only, in every format, and always queried in the classic form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistogramQueries {
    /// `le` buckets (`x_bucket`, `x_count`): works with every scrape format.
    #[default]
    Classic,
    /// Native histograms (`x`): needs Prometheus with `--enable-feature=native-histograms`.
    Native,
    /// `classic or native`: whichever series the server stores.
    Either,
}

/// Options of [`dashboard`].
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardOptions {
    title: String,
    uid: String,
    histograms: HistogramQueries,
    rate_interval: String,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl DashboardOptions {
    /// Title `tachymeter`, uid `tachymeter`, classic histogram queries, `$__rate_interval`.
    pub fn new() -> Self {
        DashboardOptions {
            title: "tachymeter".to_owned(),
            uid: "tachymeter".to_owned(),
            histograms: HistogramQueries::Classic,
            rate_interval: "$__rate_interval".to_owned(),
        }
    }

    /// Sets the dashboard title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the dashboard uid (Grafana allows up to 40 characters `[a-zA-Z0-9_-]`).
    #[must_use]
    pub fn uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = uid.into();
        self
    }

    /// Sets the histogram query form.
    #[must_use]
    pub fn histograms(mut self, form: HistogramQueries) -> Self {
        self.histograms = form;
        self
    }

    /// Sets the range of every `rate()`: a PromQL duration (`5m`) or a Grafana variable
    /// (default `$__rate_interval`).
    #[must_use]
    pub fn rate_interval(mut self, range: impl Into<String>) -> Self {
        self.rate_interval = range.into();
        self
    }
}

/// What the dashboard needs to know of one registered series: its identity, not its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesInfo {
    /// Name as registered.
    pub name: String,
    /// Kind.
    pub kind: MetricKind,
    /// Unit as registered (`""` when none).
    pub unit: String,
    /// Help text.
    pub help: String,
    /// Label names.
    pub labels: Vec<String>,
}

impl SeriesInfo {
    /// The series of every metric in `snapshot`, in registration order.
    pub fn of_snapshot(snapshot: &Snapshot) -> Vec<SeriesInfo> {
        snapshot
            .metrics()
            .iter()
            .map(|m| SeriesInfo {
                name: m.desc.name.clone(),
                kind: m.desc.kind,
                unit: m.desc.unit.clone(),
                help: m.desc.help.clone(),
                labels: m.desc.labels.iter().map(|(k, _)| k.clone()).collect(),
            })
            .collect()
    }
}

/// The dashboard for every metric `snapshot` holds.
pub fn dashboard(snapshot: &Snapshot, options: &DashboardOptions) -> Value {
    dashboard_for(&SeriesInfo::of_snapshot(snapshot), options)
}

/// The dashboard for `series` (label sets of one name are merged; the first one's kind, unit
/// and help win).
pub fn dashboard_for(series: &[SeriesInfo], options: &DashboardOptions) -> Value {
    let metrics = merge(series);
    let q = Queries {
        form: options.histograms,
        range: &options.rate_interval,
    };
    let mut layout = Layout::default();
    let mut rows: Vec<Vec<&Metric>> = vec![Vec::new(); ROWS.len() + 1];
    for m in &metrics {
        let row = ROWS
            .iter()
            .position(|(_, prefixes)| prefixes.iter().any(|p| m.name.starts_with(p)))
            .unwrap_or(ROWS.len());
        rows[row].push(m);
    }
    for (row, members) in rows.iter().enumerate() {
        if members.is_empty() {
            continue;
        }
        let title = ROWS.get(row).map_or("Other", |(title, _)| title);
        layout.row(title);
        for m in members {
            metric_panels(&mut layout, &q, m);
        }
        ratio_panels(&mut layout, &q, members);
    }
    // The variables list the jobs and targets that expose one of these metrics.
    let anchor = metrics
        .iter()
        .find_map(Metric::sample)
        .unwrap_or_else(|| "up".to_owned());
    json!({
        "title": options.title,
        "uid": options.uid,
        "tags": ["tachymeter"],
        "description": "Generated by tachymeter from a snapshot's metrics.",
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-15m", "to": "now"},
        "refresh": "10s",
        "timezone": "browser",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
                "regex": "",
                "options": [],
            },
            variable("job", &format!("label_values({anchor}, job)")),
            variable("instance", &format!("label_values({anchor}{{job=~\"$job\"}}, instance)")),
        ]},
        "panels": layout.panels,
    })
}

/// A multi-value query variable with *All* = `.*`.
fn variable(name: &str, query: &str) -> Value {
    json!({
        "name": name,
        "label": name,
        "type": "query",
        "datasource": datasource(),
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "refresh": 2,
        "includeAll": true,
        "multi": true,
        "allValue": ".*",
        "current": {},
        "options": [],
        "sort": 1,
        "hide": 0,
        "regex": "",
    })
}

fn datasource() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

/// Every `expr` of `dashboard`'s panel targets, in panel order (for tests and checks).
pub fn expressions(dashboard: &Value) -> Vec<String> {
    let panels = dashboard["panels"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    panels
        .iter()
        .flat_map(|p| p["targets"].as_array().map_or(&[][..], Vec::as_slice))
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect()
}

/// How Prometheus sees a metric: one family of one or more label sets.
#[derive(Debug)]
struct Metric {
    name: String,
    kind: Exposed,
    /// Family name as exposed (unit suffixed, a counter's `_total` stripped).
    family: String,
    /// The Prometheus base unit (`seconds` for every time unit), `""` when none.
    unit: String,
    help: String,
    /// Label names of every label set, sorted, deduplicated.
    labels: Vec<String>,
    /// Whether the exporters send a histogram's native buckets (see [`HistogramQueries`]).
    native: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exposed {
    Counter,
    Gauge,
    Histogram,
}

impl Metric {
    /// A sample name that exists in every scrape format: a counter's `_total` or a gauge
    /// (a histogram's `_count` exists only in classic scrapes, its family name only in native
    /// ones).
    fn sample(&self) -> Option<String> {
        match self.kind {
            Exposed::Counter => Some(format!("{}_total", self.family)),
            Exposed::Gauge => Some(self.family.clone()),
            Exposed::Histogram => None,
        }
    }

    /// The grouping labels: the target's `instance`, the metric's labels, and
    /// `exported_instance` when the metric has an `instance` label of its own.
    fn by(&self) -> Vec<String> {
        let mut by = vec!["instance".to_owned()];
        for l in &self.labels {
            if l == "instance" {
                by.push("exported_instance".to_owned());
            } else {
                by.push(l.clone());
            }
        }
        by
    }

    /// `{{label}}` for each grouping label but the target's instance.
    fn legend(&self, by: &[String]) -> String {
        let legend: Vec<String> = by
            .iter()
            .filter(|l| *l != "instance")
            .map(|l| format!("{{{{{l}}}}}"))
            .collect();
        if legend.is_empty() {
            self.family.clone()
        } else {
            legend.join(" ")
        }
    }

    /// Grafana unit of the metric's values.
    fn value_unit(&self) -> &'static str {
        match self.unit.as_str() {
            "seconds" => "s",
            "bytes" => "bytes",
            "bytes_per_second" => "Bps",
            "ratio" => "percentunit",
            "percent" => "percent",
            _ => "short",
        }
    }

    /// Grafana unit of the metric's rate.
    fn rate_unit(&self) -> &'static str {
        match self.unit.as_str() {
            "" => "ops",
            "seconds" => "s",
            "bytes" => "Bps",
            _ => "short",
        }
    }
}

/// Merges label sets of one name into one [`Metric`], in order of first registration.
fn merge(series: &[SeriesInfo]) -> Vec<Metric> {
    let mut out: Vec<Metric> = Vec::new();
    for s in series {
        if let Some(m) = out.iter_mut().find(|m| m.name == s.name) {
            m.labels.extend(s.labels.iter().cloned());
            m.labels.sort();
            m.labels.dedup();
            continue;
        }
        // Event and record logs are exposed as counters of their totals.
        let kind = match s.kind {
            MetricKind::Counter | MetricKind::Events | MetricKind::Records => Exposed::Counter,
            MetricKind::Gauge => Exposed::Gauge,
            MetricKind::Histogram => Exposed::Histogram,
        };
        let family = exposed_names(&s.name, s.kind, &s.unit)
            .into_iter()
            .next()
            .unwrap_or_else(|| s.name.clone());
        let unit = Unit::from(s.unit.as_str());
        let mut labels = s.labels.clone();
        labels.sort();
        labels.dedup();
        out.push(Metric {
            name: s.name.clone(),
            kind,
            family,
            unit: unit.base().0.to_owned(),
            help: s.help.clone(),
            labels,
            native: kind == Exposed::Histogram && unit.steps_per_base() == 1.0,
        });
    }
    out
}

/// PromQL builders for one dashboard's options.
struct Queries<'a> {
    form: HistogramQueries,
    range: &'a str,
}

const SELECTOR: &str = "{job=~\"$job\",instance=~\"$instance\"}";

fn sum_by(by: &[String], inner: &str) -> String {
    format!("sum by ({}) ({inner})", by.join(", "))
}

impl Queries<'_> {
    /// The form used for `m`: classic when the exporters send no native buckets for it.
    fn form(&self, m: &Metric) -> HistogramQueries {
        match m.native {
            true => self.form,
            false => HistogramQueries::Classic,
        }
    }

    fn rate(&self, sample: &str) -> String {
        format!("rate({sample}{SELECTOR}[{}])", self.range)
    }

    /// Per-second increase of a counter, grouped.
    fn counter_rate(&self, m: &Metric, by: &[String]) -> String {
        sum_by(by, &self.rate(&format!("{}_total", m.family)))
    }

    /// Observations per second of a histogram, grouped.
    fn histogram_rate(&self, m: &Metric, by: &[String]) -> String {
        let classic = || sum_by(by, &self.rate(&format!("{}_count", m.family)));
        let native = || format!("histogram_count({})", sum_by(by, &self.rate(&m.family)));
        match self.form(m) {
            HistogramQueries::Classic => classic(),
            HistogramQueries::Native => native(),
            HistogramQueries::Either => format!("({} or {})", classic(), native()),
        }
    }

    /// The `q` quantile of a histogram, grouped.
    fn quantile(&self, m: &Metric, q: f64, by: &[String]) -> String {
        let classic = || {
            let mut le = vec!["le".to_owned()];
            le.extend(by.iter().cloned());
            let rate = self.rate(&format!("{}_bucket", m.family));
            format!("histogram_quantile({q}, {})", sum_by(&le, &rate))
        };
        let native = || {
            let rate = self.rate(&m.family);
            format!("histogram_quantile({q}, {})", sum_by(by, &rate))
        };
        match self.form(m) {
            HistogramQueries::Classic => classic(),
            HistogramQueries::Native => native(),
            HistogramQueries::Either => format!("{} or {}", classic(), native()),
        }
    }
}

/// Panels placed two per line under rows.
#[derive(Default)]
struct Layout {
    panels: Vec<Value>,
    /// Next free position: line `y`, and whether the left half of it is taken.
    y: u32,
    right: bool,
}

const HEIGHT: u32 = 8;

impl Layout {
    fn next_id(&self) -> usize {
        self.panels.len() + 1
    }

    fn row(&mut self, title: &str) {
        if self.right {
            self.y += HEIGHT;
            self.right = false;
        }
        let id = self.next_id();
        self.panels.push(json!({
            "id": id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "panels": [],
        }));
        self.y += 1;
    }

    /// A `timeseries` panel of `targets` (`(expr, legend)`).
    fn panel(&mut self, title: &str, help: &str, unit: &str, targets: Vec<(String, String)>) {
        let (x, y) = (if self.right { 12 } else { 0 }, self.y);
        if self.right {
            self.y += HEIGHT;
        }
        self.right = !self.right;
        let targets: Vec<Value> = targets
            .into_iter()
            .enumerate()
            .map(|(i, (expr, legend))| {
                json!({
                    "refId": ref_id(i),
                    "datasource": datasource(),
                    "expr": expr,
                    "legendFormat": legend,
                    "range": true,
                    "editorMode": "code",
                })
            })
            .collect();
        let mut defaults = json!({
            "unit": unit,
            "custom": {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 10,
                "showPoints": "never",
                "spanNulls": false,
            },
        });
        if unit == "percentunit" {
            defaults["min"] = json!(0);
        }
        let id = self.next_id();
        self.panels.push(json!({
            "id": id,
            "type": "timeseries",
            "title": title,
            "description": help,
            "datasource": datasource(),
            "gridPos": {"h": HEIGHT, "w": 12, "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                "tooltip": {"mode": "multi", "sort": "none"},
            },
            "targets": targets,
        }));
    }
}

/// `A`, `B`, … `Z`, `AA`, …
fn ref_id(i: usize) -> String {
    let mut s = String::new();
    let mut n = i + 1;
    while n > 0 {
        n -= 1;
        s.insert(0, char::from(b'A' + (n % 26) as u8));
        n /= 26;
    }
    s
}

/// The panels of one metric.
fn metric_panels(layout: &mut Layout, q: &Queries<'_>, m: &Metric) {
    let by = m.by();
    let legend = m.legend(&by);
    match m.kind {
        Exposed::Counter => layout.panel(
            &format!("{}_total (rate)", m.family),
            &m.help,
            m.rate_unit(),
            vec![(q.counter_rate(m, &by), legend)],
        ),
        Exposed::Gauge => layout.panel(
            &m.family,
            &m.help,
            m.value_unit(),
            vec![(format!("{}{SELECTOR}", m.family), legend)],
        ),
        Exposed::Histogram => {
            let targets = QUANTILES
                .iter()
                .map(|(quantile, label)| {
                    let legend = match legend == m.family {
                        true => label.to_string(),
                        false => format!("{legend} {label}"),
                    };
                    (q.quantile(m, *quantile, &by), legend)
                })
                .collect();
            layout.panel(
                &format!("{} p50 / p95 / p99", m.family),
                &m.help,
                m.value_unit(),
                targets,
            );
            layout.panel(
                &format!("{} throughput", m.family),
                &format!("Observations per second. {}", m.help),
                "reqps",
                vec![(q.histogram_rate(m, &by), legend)],
            );
        }
    }
}

/// Error ratios and cache hit ratios among one row's metrics.
fn ratio_panels(layout: &mut Layout, q: &Queries<'_>, members: &[&Metric]) {
    let counter = |name: &str| {
        members
            .iter()
            .find(|m| m.kind == Exposed::Counter && m.name == name)
    };
    let timed = members
        .iter()
        .find(|m| m.kind == Exposed::Histogram && m.unit == "seconds");
    for m in members.iter().filter(|m| m.kind == Exposed::Counter) {
        let is_error = ["_errors_total", "_failures_total"]
            .iter()
            .any(|s| m.name.ends_with(s));
        if let (true, Some(h)) = (is_error, timed) {
            let by = common(m, h);
            layout.panel(
                &format!("{} error ratio", m.name.trim_end_matches("_total")),
                &format!(
                    "{}_total per observation of {} (both per second).",
                    m.family, h.family
                ),
                "percentunit",
                vec![(
                    format!("{} / {}", q.counter_rate(m, &by), q.histogram_rate(h, &by)),
                    m.legend(&by),
                )],
            );
        }
        if let Some(prefix) = m.name.strip_suffix("_hits_total") {
            if let Some(misses) = counter(&format!("{prefix}_misses_total")) {
                let by = common(m, misses);
                let hits = q.counter_rate(m, &by);
                layout.panel(
                    &format!("{prefix} hit ratio"),
                    "Hits / (hits + misses), per second.",
                    "percentunit",
                    vec![(
                        format!("{hits} / ({hits} + {})", q.counter_rate(misses, &by)),
                        m.legend(&by),
                    )],
                );
            }
        }
    }
}

/// The grouping labels two metrics share.
fn common(a: &Metric, b: &Metric) -> Vec<String> {
    let theirs = b.by();
    a.by().into_iter().filter(|l| theirs.contains(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use tachymeter::{Engine, Opts};

    /// One metric of each kind and unit, plus an inference-like monitor with errors and cache
    /// lookups.
    fn snapshot() -> std::sync::Arc<Snapshot> {
        let e = Engine::builder().background(false).build().unwrap();
        let counter = |o: Opts| drop(e.counter(o).unwrap());
        let gauge = |o: Opts| drop(e.gauge(o).unwrap());
        let histogram = |o: Opts| drop(e.histogram(o).unwrap());
        counter(Opts::new("requests_total").help("Requests."));
        counter(Opts::new("io_total").unit("bytes"));
        counter(Opts::new("busy_total").unit("nanoseconds"));
        gauge(Opts::new("memory_usage").unit("ratio"));
        gauge(Opts::new("queue_depth"));
        for route in ["/a", "/b"] {
            histogram(
                Opts::new("request_latency")
                    .unit("milliseconds")
                    .label("route", route),
            );
        }
        histogram(Opts::new("payload").unit("bytes"));
        drop(e.events(Opts::new("restarts")).unwrap());
        let monitor = |name: &str| Opts::new(name).label("instance", "m1");
        counter(monitor("inference_errors_total").label("kind", "decode"));
        histogram(monitor("inference_time").unit("seconds"));
        counter(monitor("inference_cache_hits_total"));
        counter(monitor("inference_cache_misses_total"));
        e.flush()
    }

    fn panels(d: &Value) -> Vec<&Value> {
        d["panels"].as_array().unwrap().iter().collect()
    }

    fn panel<'d>(d: &'d Value, title: &str) -> &'d Value {
        panels(d)
            .into_iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title}"))
    }

    fn exprs(p: &Value) -> Vec<&str> {
        p["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["expr"].as_str().unwrap())
            .collect()
    }

    const SEL: &str = "{job=~\"$job\",instance=~\"$instance\"}";

    #[test]
    fn structure_rows_and_variables() {
        let d = dashboard(&snapshot(), &DashboardOptions::new().title("T").uid("u"));
        assert_eq!(d["schemaVersion"], SCHEMA_VERSION);
        assert_eq!(
            (d["title"].as_str(), d["uid"].as_str()),
            (Some("T"), Some("u"))
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        assert_eq!(vars[0]["name"], "datasource");
        assert_eq!(vars[0]["type"], "datasource");
        assert_eq!(vars[0]["query"], "prometheus");
        assert_eq!(vars[1]["name"], "job");
        assert_eq!(vars[1]["definition"], "label_values(requests_total, job)");
        assert_eq!(
            vars[2]["definition"],
            "label_values(requests_total{job=~\"$job\"}, instance)"
        );
        let rows: Vec<&str> = panels(&d)
            .iter()
            .filter(|p| p["type"] == "row")
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert_eq!(rows, ["Inference", "Other"]);
        let mut ids = HashSet::new();
        let mut cells = HashSet::new();
        for p in panels(&d) {
            assert!(ids.insert(p["id"].as_u64().unwrap()));
            let g = &p["gridPos"];
            assert!(cells.insert((g["x"].as_u64(), g["y"].as_u64())), "{p}");
            if p["type"] == "row" {
                continue;
            }
            assert_eq!(p["type"], "timeseries", "{}", p["title"]);
            assert_eq!(p["datasource"]["uid"], "${datasource}");
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(t["datasource"]["uid"], "${datasource}");
                let expr = t["expr"].as_str().unwrap();
                assert!(expr.contains(SEL), "{expr}");
            }
        }
        // Inference: the histogram's two panels, three counters, an error and a hit ratio.
        // Other: 3 counters, 2 gauges, 2 histograms (2 panels each), 1 event log.
        assert_eq!(panels(&d).len(), 2 + (2 + 3 + 2) + (3 + 2 + 4 + 1));
        assert_eq!(expressions(&d).len(), 3 + 1 + 3 + 2 + (3 + 2 + 2 * 4 + 1));
    }

    #[test]
    fn units_per_panel() {
        let d = dashboard(&snapshot(), &DashboardOptions::new());
        for (title, unit) in [
            ("requests_total (rate)", "ops"),
            ("io_bytes_total (rate)", "Bps"),
            ("busy_seconds_total (rate)", "s"),
            ("memory_usage_ratio", "percentunit"),
            ("queue_depth", "short"),
            ("request_latency_seconds p50 / p95 / p99", "s"),
            ("request_latency_seconds throughput", "reqps"),
            ("payload_bytes p50 / p95 / p99", "bytes"),
            ("restarts_total (rate)", "ops"),
            ("inference_errors error ratio", "percentunit"),
            ("inference_cache hit ratio", "percentunit"),
        ] {
            assert_eq!(
                panel(&d, title)["fieldConfig"]["defaults"]["unit"],
                unit,
                "{title}"
            );
        }
    }

    #[test]
    fn classic_expressions() {
        let d = dashboard(&snapshot(), &DashboardOptions::new());
        let lat = panel(&d, "request_latency_seconds p50 / p95 / p99");
        assert_eq!(
            exprs(lat),
            [0.5, 0.95, 0.99].map(|q| format!(
                "histogram_quantile({q}, sum by (le, instance, route) \
                 (rate(request_latency_seconds_bucket{SEL}[$__rate_interval])))"
            ))
        );
        let legends: Vec<&str> = lat["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["legendFormat"].as_str().unwrap())
            .collect();
        assert_eq!(legends, ["{{route}} p50", "{{route}} p95", "{{route}} p99"]);
        assert_eq!(
            exprs(panel(&d, "request_latency_seconds throughput")),
            [format!(
                "sum by (instance, route) (rate(request_latency_seconds_count{SEL}[$__rate_interval]))"
            )]
        );
        assert_eq!(
            exprs(panel(&d, "requests_total (rate)")),
            [format!(
                "sum by (instance) (rate(requests_total{SEL}[$__rate_interval]))"
            )]
        );
        assert_eq!(
            exprs(panel(&d, "memory_usage_ratio")),
            [format!("memory_usage_ratio{SEL}")]
        );
        // The monitor's own `instance` label is `exported_instance` after a default scrape.
        let errors = |s: &str| {
            format!(
                "sum by (instance, exported_instance) \
                 (rate(inference_errors_total{SEL}[$__rate_interval])) / \
                 sum by (instance, exported_instance) \
                 (rate(inference_time_seconds_{s}{SEL}[$__rate_interval]))"
            )
        };
        assert_eq!(
            exprs(panel(&d, "inference_errors error ratio")),
            [errors("count")]
        );
        let rate = |n: &str| {
            format!("sum by (instance, exported_instance) (rate({n}{SEL}[$__rate_interval]))")
        };
        let (hits, misses) = (
            rate("inference_cache_hits_total"),
            rate("inference_cache_misses_total"),
        );
        assert_eq!(
            exprs(panel(&d, "inference_cache hit ratio")),
            [format!("{hits} / ({hits} + {misses})")]
        );
        assert_eq!(
            panel(&d, "inference_errors_total (rate)")["targets"][0]["legendFormat"],
            "{{exported_instance}} {{kind}}"
        );
    }

    #[test]
    fn native_and_either_forms_and_fixed_range() {
        let native = dashboard(
            &snapshot(),
            &DashboardOptions::new()
                .histograms(HistogramQueries::Native)
                .rate_interval("5m"),
        );
        let sel5 = |n: &str| format!("rate({n}{SEL}[5m])");
        assert_eq!(
            exprs(panel(&native, "payload_bytes p50 / p95 / p99"))[1],
            format!(
                "histogram_quantile(0.95, sum by (instance) ({}))",
                sel5("payload_bytes")
            )
        );
        assert_eq!(
            exprs(panel(&native, "payload_bytes throughput")),
            [format!(
                "histogram_count(sum by (instance) ({}))",
                sel5("payload_bytes")
            )]
        );
        // Native forms only for histograms with native buckets: not for time histograms.
        for e in expressions(&native) {
            assert!(
                !e.contains("payload_bytes_") && !e.contains("$__rate_interval"),
                "{e}"
            );
        }
        assert_eq!(
            exprs(panel(&native, "request_latency_seconds throughput")),
            [format!(
                "sum by (instance, route) (rate(request_latency_seconds_count{SEL}[5m]))"
            )]
        );

        let either = dashboard(
            &snapshot(),
            &DashboardOptions::new().histograms(HistogramQueries::Either),
        );
        let p99 = exprs(panel(&either, "payload_bytes p50 / p95 / p99"))[2];
        assert_eq!(
            p99,
            format!(
                "histogram_quantile(0.99, sum by (le, instance) \
                 (rate(payload_bytes_bucket{SEL}[$__rate_interval]))) or \
                 histogram_quantile(0.99, sum by (instance) \
                 (rate(payload_bytes{SEL}[$__rate_interval])))"
            )
        );
    }

    #[test]
    fn empty_snapshot_and_ref_ids() {
        let e = Engine::builder().background(false).build().unwrap();
        let d = dashboard(&e.flush(), &DashboardOptions::new());
        assert_eq!(d["panels"], json!([]));
        assert_eq!(
            d["templating"]["list"][1]["definition"],
            "label_values(up, job)"
        );
        assert_eq!(
            (0..28).map(ref_id).collect::<Vec<_>>()[..],
            [
                "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P",
                "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "AA", "AB"
            ]
        );
    }

    #[test]
    fn series_of_a_snapshot_merge_label_sets() {
        let metrics = merge(&SeriesInfo::of_snapshot(&snapshot()));
        let lat = metrics
            .iter()
            .find(|m| m.name == "request_latency")
            .unwrap();
        assert_eq!(lat.family, "request_latency_seconds");
        assert_eq!(lat.unit, "seconds");
        assert_eq!(lat.labels, ["route"]);
        assert_eq!(
            metrics
                .iter()
                .filter(|m| m.name == "request_latency")
                .count(),
            1
        );
    }
}
