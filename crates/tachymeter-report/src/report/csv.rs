//! The CSV export: one row per series and statistic.
//!
//! Columns `section,series,statistic,time_seconds,value,unit`:
//!
//! - `summary` rows (`series` is the requests series): `total_requests`, `throughput`,
//!   `peak_throughput`, `total_errors`, `error_rate`;
//! - `cumulative`, `window` and `range` rows: each series' [`Figures`](super::Figures) that
//!   are present (`count`, `throughput`, `peak_throughput`, `sum`, `mean`, `stddev`, `min`,
//!   `max`, `p50`, `p90`, `p95`, `p99`, `p999`, `value`);
//! - `timeline` rows: one per point, with `time_seconds` (seconds since the engine started).
//!
//! `time_seconds` is empty outside the timeline; `unit` is the series' unit (`per_second` for
//! rates, `ratio` for error rates).

use super::{Figures, PerformanceReport};

pub(super) fn to_csv(r: &PerformanceReport) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record([
        "section",
        "series",
        "statistic",
        "time_seconds",
        "value",
        "unit",
    ]);
    let mut row = |section: &str, series: &str, stat: &str, t: Option<f64>, v: f64, unit: &str| {
        let t = t.map(|t| t.to_string()).unwrap_or_default();
        let _ = w.write_record([section, series, stat, &t, &v.to_string(), unit]);
    };
    let s = &r.summary;
    let req = s.requests_series.as_deref().unwrap_or("");
    row(
        "summary",
        req,
        "total_requests",
        None,
        s.total_requests as f64,
        "",
    );
    for (stat, v, unit) in [
        ("throughput", s.throughput, "per_second"),
        ("peak_throughput", s.peak_throughput, "per_second"),
        ("total_errors", s.total_errors.map(|e| e as f64), ""),
        ("error_rate", s.error_rate, "ratio"),
    ] {
        if let Some(v) = v {
            row("summary", req, stat, None, v, unit);
        }
    }
    for sr in &r.series {
        for (section, f) in [
            ("cumulative", Some(&sr.cumulative)),
            ("window", sr.window.as_ref()),
            ("range", sr.range.as_ref()),
        ] {
            let Some(f) = f else { continue };
            for (stat, v, unit) in figure_rows(f, &sr.unit) {
                row(section, &sr.series, stat, None, v, unit);
            }
        }
    }
    for ts in &r.timeline {
        for &(t, v) in &ts.points {
            row("timeline", &ts.series, &ts.statistic, Some(t), v, &ts.unit);
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn figure_rows<'a>(f: &Figures, unit: &'a str) -> Vec<(&'static str, f64, &'a str)> {
    let mut out = Vec::new();
    if let Some(c) = f.count {
        out.push(("count", c as f64, ""));
    }
    for (stat, v, u) in [
        ("throughput", f.throughput, "per_second"),
        ("peak_throughput", f.peak_throughput, "per_second"),
        ("sum", f.sum, unit),
        ("mean", f.mean, unit),
        ("stddev", f.stddev, unit),
        ("min", f.min, unit),
        ("max", f.max, unit),
        ("p50", f.p50, unit),
        ("p90", f.p90, unit),
        ("p95", f.p95, unit),
        ("p99", f.p99, unit),
        ("p999", f.p999, unit),
        ("value", f.value, unit),
    ] {
        if let Some(v) = v {
            out.push((stat, v, u));
        }
    }
    out
}
