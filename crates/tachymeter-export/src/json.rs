//! JSON documents of a snapshot, including each histogram's rolling window and last interval.
//!
//! The document types are public and implement `Deserialize`, so a consumer (or a test) can
//! read the output back with serde. Non-finite floats become `null`.

use std::collections::BTreeMap;
use std::io;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tachymeter::histogram::HistogramData;
use tachymeter::{MetricKind, MetricSnapshot, MetricValue, Snapshot};

/// A whole snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    /// Publication sequence number (0 = nothing collected yet).
    pub sequence: u64,
    /// Wall time of collection, seconds since the Unix epoch.
    pub time_unix_seconds: f64,
    /// Length of the last aggregation interval, seconds.
    pub interval_seconds: f64,
    /// Wall time the engine started, seconds since the Unix epoch.
    #[serde(default)]
    pub started_unix_seconds: f64,
    /// Time since the engine started, seconds.
    #[serde(default)]
    pub uptime_seconds: f64,
    /// Every metric, in registration order.
    pub metrics: Vec<MetricDoc>,
}

/// One registered metric (one label set). Exactly one of the value fields is present, the one
/// named by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDoc {
    /// Name as registered.
    pub name: String,
    /// `counter`, `gauge`, `histogram`, `events` or `records`.
    pub kind: KindDoc,
    /// Help text.
    pub help: String,
    /// Unit, `""` when none.
    pub unit: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// When the metric was last reset (its statistics cover only what came after), seconds
    /// since the Unix epoch; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_unix_seconds: Option<f64>,
    /// Counter value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<CounterDoc>,
    /// Gauge value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gauge: Option<f64>,
    /// Histogram value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Box<HistogramDoc>>,
    /// Event log value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsDoc>,
    /// Record log value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<RecordsDoc>,
}

/// Record log totals and recent records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordsDoc {
    /// Records made since start (or the last reset).
    pub total: u64,
    /// Records lost to ring overwrites.
    pub overwritten: u64,
    /// Most recent records of all threads in time order, oldest first, as
    /// `[seconds since the engine started, field 0, field 1, field 2]`.
    pub recent: Vec<(f64, u64, u64, u64)>,
}

/// Metric kind tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindDoc {
    /// Counter.
    Counter,
    /// Gauge.
    Gauge,
    /// Histogram.
    Histogram,
    /// Event log.
    Events,
    /// Record log.
    Records,
}

/// Counter totals and rates (per second).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CounterDoc {
    /// Total since start (exact; may exceed `u64`).
    pub total: u128,
    /// Increase over the last interval.
    pub delta: u128,
    /// Rate over the last interval.
    pub rate: Option<f64>,
    /// Rate over the rolling window.
    pub window_rate: Option<f64>,
    /// Highest interval rate within the window.
    pub peak_rate: Option<f64>,
    /// Rate since the engine started (or the last reset).
    #[serde(default)]
    pub avg_rate: Option<f64>,
    /// Highest interval rate since the engine started (or the last reset).
    #[serde(default)]
    pub max_rate: Option<f64>,
}

/// Event log totals and recent events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsDoc {
    /// Events recorded since start.
    pub total: u64,
    /// Events lost to ring overwrites.
    pub overwritten: u64,
    /// Most recent events, oldest first, as `[code, payload]`.
    pub recent: Vec<(u32, u32)>,
}

/// A histogram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramDoc {
    /// Native schema.
    pub schema: i8,
    /// Stored steps per unit of the metric (`1e9` for a `seconds` histogram, which stores
    /// nanoseconds; 1 for bytes and unit-less histograms). The statistics below are already in
    /// the unit; the native `buckets` and each `sum_steps` are in steps.
    #[serde(default = "one")]
    pub steps_per_unit: f64,
    /// Since start.
    pub cumulative: HistogramStats,
    /// The rolling window.
    pub window: HistogramStats,
    /// The last interval.
    pub interval: HistogramStats,
    /// Length of the rolling window, seconds.
    pub window_seconds: f64,
    /// Samples per second over the window.
    pub throughput: Option<f64>,
    /// Highest per-interval samples per second within the window.
    pub peak_throughput: Option<f64>,
    /// Samples per second since the engine started (or the last reset).
    #[serde(default)]
    pub avg_throughput: Option<f64>,
    /// Highest per-interval samples per second since the engine started (or the last reset).
    #[serde(default)]
    pub max_throughput: Option<f64>,
    /// Samples rejected (not representable).
    pub rejected: u64,
    /// Samples clamped to the configured range.
    pub saturated: u64,
    /// Zero bucket count since start.
    pub zero_count: u64,
    /// Native buckets since start, `[index, count]`, ascending; bucket `i` covers
    /// `(base^(i-1), base^i]`, `base = 2^(2^-schema)`.
    pub buckets: Vec<(i32, u64)>,
}

/// Summary statistics of one histogram horizon, in the metric's unit (seconds for a `seconds`
/// histogram): every field but `count` and `sum_steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramStats {
    /// Number of samples.
    pub count: u64,
    /// Sum of samples.
    pub sum: f64,
    /// Sum of samples in stored steps, exact (`sum` is `sum_steps / steps_per_unit`).
    pub sum_steps: u128,
    /// Smallest sample.
    pub min: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Standard deviation.
    pub stddev: Option<f64>,
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
}

impl HistogramStats {
    /// Statistics of `data`, whose values are stored in `steps_per_unit` steps per unit
    /// ([`HistogramSnapshot::steps_per_unit`](tachymeter::HistogramSnapshot)), given in the unit.
    pub fn of(data: &HistogramData, steps_per_unit: f64) -> Self {
        let unit = |v: Option<f64>| finite(v.map(|v| v / steps_per_unit));
        HistogramStats {
            count: data.count(),
            sum: data.sum() as f64 / steps_per_unit,
            sum_steps: data.sum(),
            min: unit(data.min().map(|v| v as f64)),
            max: unit(data.max().map(|v| v as f64)),
            mean: unit(data.mean()),
            stddev: unit(data.stddev()),
            p50: unit(data.p50()),
            p90: unit(data.p90()),
            p95: unit(data.p95()),
            p99: unit(data.p99()),
            p999: unit(data.p999()),
        }
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

impl SnapshotDoc {
    /// The document for `snapshot`.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        SnapshotDoc {
            sequence: snapshot.sequence(),
            time_unix_seconds: snapshot
                .time()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            interval_seconds: snapshot.interval().as_secs_f64(),
            started_unix_seconds: unix_seconds(snapshot.started()),
            uptime_seconds: snapshot.uptime().as_secs_f64(),
            metrics: snapshot
                .metrics()
                .iter()
                .filter_map(MetricDoc::from_metric)
                .collect(),
        }
    }
}

impl MetricDoc {
    /// The document for one metric (`None` for a kind this crate does not know yet).
    pub fn from_metric(metric: &MetricSnapshot) -> Option<Self> {
        let desc = &metric.desc;
        let mut doc = MetricDoc {
            name: desc.name.clone(),
            kind: KindDoc::Gauge,
            help: desc.help.clone(),
            unit: desc.unit.clone(),
            labels: desc.labels.iter().cloned().collect(),
            reset_unix_seconds: metric.reset_at.map(unix_seconds),
            counter: None,
            gauge: None,
            histogram: None,
            events: None,
            records: None,
        };
        match &metric.value {
            MetricValue::Counter(c) => {
                doc.kind = KindDoc::Counter;
                doc.counter = Some(CounterDoc {
                    total: c.total,
                    delta: c.delta,
                    rate: finite(Some(c.rate)),
                    window_rate: finite(Some(c.window_rate)),
                    peak_rate: finite(Some(c.peak_rate)),
                    avg_rate: finite(Some(c.avg_rate)),
                    max_rate: finite(Some(c.max_rate)),
                });
            }
            MetricValue::Gauge(g) => {
                doc.kind = KindDoc::Gauge;
                doc.gauge = finite(Some(g.value));
            }
            MetricValue::Histogram(h) => {
                doc.kind = KindDoc::Histogram;
                doc.histogram = Some(Box::new(HistogramDoc {
                    schema: h.cumulative.schema(),
                    steps_per_unit: h.steps_per_unit,
                    cumulative: HistogramStats::of(&h.cumulative, h.steps_per_unit),
                    window: HistogramStats::of(&h.window, h.steps_per_unit),
                    interval: HistogramStats::of(&h.interval, h.steps_per_unit),
                    window_seconds: h.window_duration.as_secs_f64(),
                    throughput: finite(Some(h.throughput)),
                    peak_throughput: finite(Some(h.peak_throughput)),
                    avg_throughput: finite(Some(h.avg_throughput)),
                    max_throughput: finite(Some(h.max_throughput)),
                    rejected: h.rejected,
                    saturated: h.saturated,
                    zero_count: h.cumulative.zero_count(),
                    buckets: h.cumulative.buckets().collect(),
                }));
            }
            MetricValue::Events(e) => {
                doc.kind = KindDoc::Events;
                doc.events = Some(EventsDoc {
                    total: e.total,
                    overwritten: e.overwritten,
                    recent: e.recent.iter().map(|ev| (ev.code, ev.payload)).collect(),
                });
            }
            MetricValue::Records(r) => {
                doc.kind = KindDoc::Records;
                doc.records = Some(RecordsDoc {
                    total: r.total,
                    overwritten: r.overwritten,
                    recent: r
                        .recent
                        .iter()
                        .map(|x| (x.at.as_secs_f64(), x.fields[0], x.fields[1], x.fields[2]))
                        .collect(),
                });
            }
            _ => return None,
        }
        Some(doc)
    }

    /// The engine's kind for this document.
    pub fn metric_kind(&self) -> MetricKind {
        match self.kind {
            KindDoc::Counter => MetricKind::Counter,
            KindDoc::Gauge => MetricKind::Gauge,
            KindDoc::Histogram => MetricKind::Histogram,
            KindDoc::Events => MetricKind::Events,
            KindDoc::Records => MetricKind::Records,
        }
    }
}

/// `snapshot` as pretty-printed JSON.
pub fn encode_json(snapshot: &Snapshot) -> Vec<u8> {
    // Serializing these plain structs into memory cannot fail (no maps with non-string keys).
    serde_json::to_vec_pretty(&SnapshotDoc::from_snapshot(snapshot)).expect("plain data serializes")
}

/// Writes `snapshot` as pretty-printed JSON to `writer`.
pub fn write_json<W: io::Write>(snapshot: &Snapshot, writer: W) -> io::Result<()> {
    serde_json::to_writer_pretty(writer, &SnapshotDoc::from_snapshot(snapshot))
        .map_err(io::Error::from)
}

/// Seconds since the Unix epoch (0 for times before it).
fn unix_seconds(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Serde default of `HistogramDoc::steps_per_unit` (documents without it predate units).
fn one() -> f64 {
    1.0
}
