//! CSV of a snapshot: one row per counter, gauge and event log, three rows per histogram
//! (`scope` = `cumulative`, `window`, `interval`).
//!
//! Columns: `name,labels,kind,unit,help,scope,count,sum,value,rate,throughput,peak,min,max,mean,
//! p50,p90,p95,p99,p999`. `labels` is a JSON object (so any label value survives the trip);
//! empty cells mean "not applicable". For counters `value` is the total, `rate` the last
//! interval's rate, `throughput` the window rate and `peak` the peak interval rate; for
//! histograms `throughput` and `peak` are samples per second over the window, and `sum`, `min`,
//! `max`, `mean` and the quantiles are in the metric's `unit` (seconds for a `seconds`
//! histogram, whatever resolution it stores).

use std::io;

use serde::{Deserialize, Serialize};
use tachymeter::histogram::HistogramData;
use tachymeter::{MetricValue, Snapshot};

/// One CSV row. Public so readers can deserialize the output with the `csv` crate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CsvRow {
    /// Name as registered.
    pub name: String,
    /// Labels as a JSON object.
    pub labels: String,
    /// `counter`, `gauge`, `histogram`, `events` or `records`.
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// Help text.
    pub help: String,
    /// `total` for counters, gauges and events; `cumulative`, `window` or `interval` for
    /// histograms.
    pub scope: String,
    /// Counter total, samples (histograms) or events.
    pub count: Option<u128>,
    /// Sum of samples (histograms), in the unit.
    pub sum: Option<f64>,
    /// Counter total or gauge value.
    pub value: Option<f64>,
    /// Counter rate over the last interval.
    pub rate: Option<f64>,
    /// Rate over the window (counters) or samples per second over the window (histograms).
    pub throughput: Option<f64>,
    /// Peak interval rate within the window.
    pub peak: Option<f64>,
    /// Smallest sample, in the unit.
    pub min: Option<f64>,
    /// Largest sample, in the unit.
    pub max: Option<f64>,
    /// Mean, in the unit (so are the quantiles below).
    pub mean: Option<f64>,
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

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The CSV rows of `snapshot`.
pub fn csv_rows(snapshot: &Snapshot) -> Vec<CsvRow> {
    let mut rows = Vec::new();
    for metric in snapshot.metrics() {
        let desc = &metric.desc;
        let labels: serde_json::Map<String, serde_json::Value> = desc
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let base = CsvRow {
            name: desc.name.clone(),
            labels: serde_json::Value::Object(labels).to_string(),
            unit: desc.unit.clone(),
            help: desc.help.clone(),
            scope: "total".to_owned(),
            ..CsvRow::default()
        };
        match &metric.value {
            MetricValue::Counter(c) => rows.push(CsvRow {
                kind: "counter".to_owned(),
                value: Some(c.total as f64),
                count: Some(c.total),
                rate: finite(c.rate),
                throughput: finite(c.window_rate),
                peak: finite(c.peak_rate),
                ..base
            }),
            MetricValue::Gauge(g) => rows.push(CsvRow {
                kind: "gauge".to_owned(),
                value: finite(g.value),
                ..base
            }),
            MetricValue::Events(e) => rows.push(CsvRow {
                kind: "events".to_owned(),
                count: Some(e.total.into()),
                value: Some(e.total as f64),
                ..base
            }),
            MetricValue::Records(r) => rows.push(CsvRow {
                kind: "records".to_owned(),
                count: Some(r.total.into()),
                value: Some(r.total as f64),
                ..base
            }),
            MetricValue::Histogram(h) => {
                for (scope, data) in [
                    ("cumulative", &h.cumulative),
                    ("window", &h.window),
                    ("interval", &h.interval),
                ] {
                    let mut row = histogram_row(
                        data,
                        h.steps_per_unit,
                        CsvRow {
                            kind: "histogram".to_owned(),
                            scope: scope.to_owned(),
                            ..base.clone()
                        },
                    );
                    if scope == "window" {
                        row.throughput = finite(h.throughput);
                        row.peak = finite(h.peak_throughput);
                    }
                    rows.push(row);
                }
            }
            // A kind added to the engine later has no columns yet.
            _ => {}
        }
    }
    rows
}

/// A histogram row with every statistic but the count converted from stored steps to the unit.
fn histogram_row(data: &HistogramData, steps_per_unit: f64, base: CsvRow) -> CsvRow {
    let f = |v: Option<f64>| v.map(|v| v / steps_per_unit).filter(|v| v.is_finite());
    CsvRow {
        count: Some(data.count().into()),
        sum: f(Some(data.sum() as f64)),
        min: f(data.min().map(|v| v as f64)),
        max: f(data.max().map(|v| v as f64)),
        mean: f(data.mean()),
        p50: f(data.p50()),
        p90: f(data.p90()),
        p95: f(data.p95()),
        p99: f(data.p99()),
        p999: f(data.p999()),
        ..base
    }
}

/// Writes `snapshot` as CSV (with a header row) to `writer`.
pub fn write_csv<W: io::Write>(snapshot: &Snapshot, writer: W) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(writer);
    for row in csv_rows(snapshot) {
        csv.serialize(row).map_err(io::Error::other)?;
    }
    csv.flush()
}

/// `snapshot` as CSV bytes.
pub fn encode_csv(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    write_csv(snapshot, &mut out).expect("writing to a Vec cannot fail");
    out
}
