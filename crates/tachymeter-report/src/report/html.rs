//! The HTML report: one self-contained page (inline CSS, inline SVG plots drawn with
//! plotters' SVG backend, no script, no external resource), every user string escaped.

use super::{AlertEntry, Figures, MonitorTable, PerformanceReport, TimeSeries};
use plotters::prelude::*;
use std::error::Error;
use std::fmt::Write;

const W: u32 = 560;
const H: u32 = 300;

const CSS: &str = "body{font-family:sans-serif;margin:24px;color:#222;background:#fff}\
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}\
table{border-collapse:collapse;margin:8px 0;font-size:13px}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}\
td.l,th.l{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}\
figure.plot{margin:0;border:1px solid #ddd;padding:4px}.note{color:#a15c00}\
.high,.critical{color:#b00020;font-weight:bold}.medium,.warning{color:#a15c00}";

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => {
            if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e7) {
                format!("{v:.4e}")
            } else {
                format!("{v:.4}")
            }
        }
        _ => "–".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or("–".into(), |v| format!("{:.2}%", v * 100.0))
}

pub(super) fn to_html(r: &PerformanceReport) -> String {
    let mut h = String::new();
    let p = &r.period;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        esc(&r.title),
        esc(&r.title)
    );
    let kind = match p.kind {
        super::PeriodKind::Range => format!(
            "the last {} h",
            p.hours_back.map_or("?".into(), |h| format!("{h}"))
        ),
        super::PeriodKind::Session => "a session".into(),
        super::PeriodKind::Snapshot => "one snapshot document".into(),
    };
    let _ = writeln!(
        h,
        "<p>Period: {kind}, {:.0} s to {:.0} s after the engine started (uptime {:.0} s, snapshot #{}). \
         History: {}. Schema version {}.</p>",
        p.from_seconds,
        p.to_seconds,
        p.uptime_seconds,
        p.sequence,
        if p.history { "yes" } else { "no" },
        r.schema_version
    );
    for n in &r.notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(n));
    }

    // Summary.
    let s = &r.summary;
    let _ = writeln!(
        h,
        "<h2>Summary</h2>\n<table><tr><th class=\"l\">requests series</th><th>total requests</th>\
         <th>throughput /s</th><th>peak /s</th><th>errors</th><th>error rate</th></tr>\
         <tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        esc(s.requests_series.as_deref().unwrap_or("–")),
        s.total_requests,
        num(s.throughput),
        num(s.peak_throughput),
        s.total_errors.map_or("–".into(), |e| e.to_string()),
        pct(s.error_rate)
    );
    h.push_str(
        "<table><tr><th class=\"l\">latency series</th><th class=\"l\">unit</th><th>count</th>\
         <th>mean</th><th>p50</th><th>p95</th><th>p99</th><th class=\"l\">figures</th></tr>\n",
    );
    for l in &s.latency {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&l.series),
            esc(&l.unit),
            l.count,
            num(l.mean),
            num(l.p50),
            num(l.p95),
            num(l.p99),
            esc(&l.source)
        );
    }
    h.push_str("</table>\n");

    // Plots.
    h.push_str("<h2>Over time</h2>\n<div class=\"plots\">\n");
    let alerts: Vec<f64> = r.alerts.events.iter().map(|a| a.uptime_seconds).collect();
    let req = s.requests_series.as_deref().unwrap_or("");
    let pick = |series: &str, stat: &str| r.timeline(series, stat);
    let latency_series = r
        .timeline
        .iter()
        .find(|t| t.statistic == "p95")
        .map(|t| t.series.clone())
        .unwrap_or_default();
    let lines: Vec<(&str, &TimeSeries)> = ["p50", "p95", "p99"]
        .iter()
        .filter_map(|st| Some((*st, pick(&latency_series, st)?)))
        .collect();
    let unit = lines.first().map_or(String::new(), |l| l.1.unit.clone());
    figure(
        &mut h,
        "latency",
        &format!("Latency p50/p95/p99 of {latency_series}"),
        &unit,
        &lines,
        &alerts,
        1.0,
    );
    let tp: Vec<(&str, &TimeSeries)> = pick(req, "throughput")
        .map(|t| vec![("throughput", t)])
        .unwrap_or_default();
    figure(
        &mut h,
        "throughput",
        &format!("Throughput of {req}"),
        "per second",
        &tp,
        &alerts,
        1.0,
    );
    let er: Vec<(&str, &TimeSeries)> = r
        .timeline
        .iter()
        .filter(|t| t.statistic == "error_rate")
        .map(|t| ("error rate", t))
        .collect();
    figure(&mut h, "error-rate", "Error rate", "%", &er, &alerts, 100.0);
    let res: Vec<(&str, &TimeSeries)> = r
        .timeline
        .iter()
        .filter(|t| t.statistic == "cpu" || t.statistic == "memory")
        .map(|t| (t.statistic.as_str(), t))
        .collect();
    figure(
        &mut h,
        "resources",
        "Resource usage (CPU, memory)",
        "%",
        &res,
        &alerts,
        100.0,
    );
    for d in r.distributions.iter().take(4) {
        let svg = distribution_svg(&d.series, &d.unit, &d.buckets)
            .unwrap_or_else(|e| placeholder(&format!("plot failed: {e}")));
        let _ = writeln!(
            h,
            "<figure class=\"plot\" id=\"plot-distribution\">{svg}<figcaption>Latency distribution of {} ({} buckets, {})</figcaption></figure>",
            esc(&d.series),
            d.buckets.len(),
            esc(&d.source)
        );
    }
    if r.distributions.is_empty() {
        let _ = writeln!(
            h,
            "<figure class=\"plot\" id=\"plot-distribution\">{}</figure>",
            placeholder("no latency distribution: no time histogram with observations")
        );
    }
    h.push_str("</div>\n");

    alerts_section(&mut h, r);
    analysis_section(&mut h, r);
    for t in &r.monitors {
        monitor_table(&mut h, t);
    }
    series_section(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

fn figure(
    h: &mut String,
    id: &str,
    title: &str,
    y_desc: &str,
    lines: &[(&str, &TimeSeries)],
    alerts: &[f64],
    scale: f64,
) {
    let has = lines.iter().any(|l| !l.1.points.is_empty());
    let svg = if has {
        line_svg(title, y_desc, lines, alerts, scale)
            .unwrap_or_else(|e| placeholder(&format!("plot failed: {e}")))
    } else {
        placeholder(&format!("{title}: no data over time in this report"))
    };
    let _ = writeln!(h, "<figure class=\"plot\" id=\"plot-{id}\">{svg}</figure>");
}

/// An SVG saying why a plot is empty (so every plot has its `<svg>`).
fn placeholder(text: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
         <rect width=\"{W}\" height=\"{H}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#666\">{}</text></svg>",
        W / 2,
        H / 2,
        esc(text)
    )
}

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
];

fn line_svg(
    title: &str,
    y_desc: &str,
    lines: &[(&str, &TimeSeries)],
    alerts: &[f64],
    scale: f64,
) -> Result<String, Box<dyn Error>> {
    let pts = lines.iter().flat_map(|l| l.1.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for &(t, v) in pts {
        x0 = x0.min(t);
        x1 = x1.max(t);
        y1 = y1.max(v * scale);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let y1 = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, 0.0..y1)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the engine started")
            .y_desc(y_desc)
            .draw()?;
        for (i, (name, ts)) in lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    ts.points.iter().map(|&(t, v)| (t, v * scale)),
                    color.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        let marks: Vec<f64> = alerts
            .iter()
            .copied()
            .filter(|t| (x0..=x1).contains(t))
            .collect();
        if !marks.is_empty() {
            let red = RGBColor(200, 0, 0);
            chart
                .draw_series(
                    marks
                        .iter()
                        .map(|&t| PathElement::new(vec![(t, 0.0), (t, y1)], red.stroke_width(1))),
                )?
                .label("alert")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], red));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

fn distribution_svg(
    series: &str,
    unit: &str,
    buckets: &[(f64, f64, u64)],
) -> Result<String, Box<dyn Error>> {
    let b: Vec<(f64, f64, u64)> = buckets.iter().copied().filter(|b| b.0 > 0.0).collect();
    if b.is_empty() {
        return Ok(placeholder("no positive observations"));
    }
    // At most 60 bars: merge consecutive buckets.
    let group = b.len().div_ceil(60);
    let bars: Vec<(f64, f64, u64)> = b
        .chunks(group)
        .map(|c| (c[0].0, c[c.len() - 1].1, c.iter().map(|x| x.2).sum()))
        .collect();
    let lo = bars[0].0;
    let hi = bars[bars.len() - 1].1.max(lo * 1.01);
    let top = bars.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64 * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Latency distribution: {series}"),
                ("sans-serif", 14),
            )
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc(if unit.is_empty() { "value" } else { unit })
            .y_desc("observations")
            .draw()?;
        chart.draw_series(bars.iter().map(|&(a, b, n)| {
            Rectangle::new([(a, 0.0), (b, n as f64)], COLORS[0].mix(0.7).filled())
        }))?;
        root.present()?;
    }
    Ok(svg)
}

fn alerts_section(h: &mut String, r: &PerformanceReport) {
    h.push_str("<h2>Alerts</h2>\n");
    if r.alerts.events.is_empty() && r.alerts.active.is_empty() {
        h.push_str("<p>No alert events in the period (or no alert manager).</p>\n");
        return;
    }
    h.push_str(
        "<table><tr><th>time s</th><th class=\"l\">alert</th><th class=\"l\">event</th>\
         <th class=\"l\">severity</th><th class=\"l\">metric</th><th>value</th><th>threshold</th>\
         <th class=\"l\">message</th></tr>\n",
    );
    let row = |h: &mut String, a: &AlertEntry| {
        let _ = writeln!(
            h,
            "<tr><td>{:.0}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l {}\">{}</td>\
             <td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            a.uptime_seconds,
            esc(&a.alert),
            esc(&a.event),
            esc(&a.severity),
            esc(&a.severity),
            esc(&a.metric),
            num(a.value),
            num(Some(a.threshold)),
            esc(&a.message)
        );
    };
    for a in r.alerts.events.iter().chain(&r.alerts.active) {
        row(h, a);
    }
    h.push_str("</table>\n");
}

fn analysis_section(h: &mut String, r: &PerformanceReport) {
    let a = &r.analysis;
    h.push_str("<h2>Analysis</h2>\n");
    let u = &a.resource_usage;
    let grade = a
        .grade
        .and_then(|g| {
            serde_json::to_value(g)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
        })
        .unwrap_or_else(|| "–".into());
    let _ = writeln!(
        h,
        "<p>Grade: <b>{}</b> (CPU {}, memory {}, disk {}).</p>",
        esc(&grade),
        pct(u.cpu),
        pct(u.memory),
        pct(u.disk)
    );
    if let Some(l) = &a.leak {
        let _ = writeln!(
            h,
            "<p>Memory leak: {} — {}</p>",
            if l.suspected {
                "<b class=\"high\">suspected</b>"
            } else {
                "not suspected"
            },
            esc(&l.reason)
        );
    }
    for n in &a.notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(n));
    }
    h.push_str(
        "<h3>Trends</h3><table><tr><th class=\"l\">series</th><th class=\"l\">statistic</th>\
         <th class=\"l\">direction</th><th>change %/h</th><th>p-value</th><th class=\"l\">reason</th></tr>\n",
    );
    for t in &a.trends {
        match &t.trend {
            Some(tr) => {
                let dir = serde_json::to_value(tr.direction)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let _ = writeln!(
                    h,
                    "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
                     <td>{:.2}</td><td>{:.4}</td><td class=\"l\">{}</td></tr>",
                    esc(&t.series),
                    esc(&t.statistic),
                    esc(&dir),
                    tr.relative_change_per_hour * 100.0,
                    tr.p_value,
                    esc(&tr.reason)
                );
            }
            None => {
                let _ = writeln!(
                    h,
                    "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">–</td><td>–</td>\
                     <td>–</td><td class=\"l\">{}</td></tr>",
                    esc(&t.series),
                    esc(&t.statistic),
                    esc(t.error.as_deref().unwrap_or(""))
                );
            }
        }
    }
    h.push_str("</table>\n<h3>Stability</h3><table><tr><th class=\"l\">series</th><th class=\"l\">statistic</th><th>score</th><th class=\"l\">rating</th><th>cv</th></tr>\n");
    for s in &a.stability {
        let rating = serde_json::to_value(s.stability.stability_rating)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{:.3}</td><td class=\"l\">{}</td><td>{:.3}</td></tr>",
            esc(&s.series),
            esc(&s.statistic),
            s.stability.stability_score,
            esc(&rating),
            s.stability.cv
        );
    }
    h.push_str("</table>\n<h3>Bottlenecks</h3>\n");
    if a.bottlenecks.is_empty() {
        h.push_str("<p>None found.</p>\n");
    } else {
        h.push_str("<table><tr><th class=\"l\">component</th><th class=\"l\">impact</th><th class=\"l\">finding</th><th class=\"l\">recommendation</th></tr>\n");
        for b in &a.bottlenecks {
            let impact = serde_json::to_value(b.impact)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l {}\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                esc(&b.component),
                esc(&impact),
                esc(&impact),
                esc(&b.message),
                esc(&b.recommendation)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h3>Recommendations</h3>\n");
    if a.recommendations.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for rec in &a.recommendations {
            let pr = serde_json::to_value(rec.priority)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<li><span class=\"{}\">[{}]</span> {} — {}</li>",
                esc(&pr),
                esc(&pr),
                esc(&rec.message),
                esc(&rec.suggestion)
            );
        }
        h.push_str("</ul>\n");
    }
}

fn monitor_table(h: &mut String, t: &MonitorTable) {
    let _ = writeln!(h, "<h2>Monitor: {}</h2>\n<table><tr>", esc(&t.monitor));
    for c in &t.columns {
        let _ = write!(h, "<th class=\"l\">{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    for row in &t.rows {
        h.push_str("<tr>");
        for v in row {
            let text = match v {
                serde_json::Value::Null => "–".to_string(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(f) if n.is_f64() => num(Some(f)),
                    _ => n.to_string(),
                },
                v => v.to_string(),
            };
            let _ = write!(h, "<td>{}</td>", esc(&text));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn series_section(h: &mut String, r: &PerformanceReport) {
    h.push_str(
        "<h2>Series</h2>\n<table><tr><th class=\"l\">series</th><th class=\"l\">kind</th>\
         <th class=\"l\">unit</th><th class=\"l\">figures</th><th>count</th><th>rate /s</th>\
         <th>mean</th><th>p50</th><th>p95</th><th>p99</th><th>value</th></tr>\n",
    );
    for s in &r.series {
        let kind = serde_json::to_value(s.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let (label, f): (&str, &Figures) = match &s.range {
            Some(f) => ("range", f),
            None => ("cumulative", &s.cumulative),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{label}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.series),
            esc(&kind),
            esc(&s.unit),
            f.count.map_or("–".into(), |c| c.to_string()),
            num(f.throughput),
            num(f.mean),
            num(f.p50),
            num(f.p95),
            num(f.p99),
            num(f.value)
        );
    }
    h.push_str("</table>\n");
}
