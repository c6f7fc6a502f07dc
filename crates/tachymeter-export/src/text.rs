//! Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
//!
//! Both formats share the sample syntax `name{label="value",...} number`; they differ in
//! metadata (`# UNIT` and `# EOF` are OpenMetrics only), in counter naming (`foo_total` is the
//! family in 0.0.4, `foo` with a `foo_total` sample in OpenMetrics, which also adds
//! `foo_created`), and in escaping of `HELP` text (OpenMetrics escapes `"` too). Label values
//! escape `\`, `"` and line feed in both.

use std::fmt::Write as _;

use tachymeter::{MetricSnapshot, MetricValue, Snapshot};

use crate::family::{classic_buckets, fmt_float, ExportConfig, Exposition, Family, Kind};

/// `Content-Type` of [`encode_text`] output.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of [`encode_openmetrics`] output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes `snapshot` in the Prometheus text exposition format 0.0.4.
pub fn encode_text(snapshot: &Snapshot, config: &ExportConfig) -> String {
    encode(snapshot, config, Dialect::Prometheus)
}

/// Encodes `snapshot` in the OpenMetrics 1.0 text format (ends with `# EOF`).
pub fn encode_openmetrics(snapshot: &Snapshot, config: &ExportConfig) -> String {
    encode(snapshot, config, Dialect::OpenMetrics)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Prometheus,
    OpenMetrics,
}

fn encode(snapshot: &Snapshot, config: &ExportConfig, dialect: Dialect) -> String {
    let exposition = Exposition::build(snapshot);
    let mut out = String::with_capacity(256 * exposition.families.len() + 16);
    let created = fmt_float(config.created_seconds());
    for family in &exposition.families {
        write_family(&mut out, family, config, dialect, &created);
    }
    if dialect == Dialect::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn write_family(
    out: &mut String,
    family: &Family<'_>,
    config: &ExportConfig,
    dialect: Dialect,
    created: &str,
) {
    let name = match dialect {
        Dialect::Prometheus => family.legacy_name(),
        Dialect::OpenMetrics => family.name.clone(),
    };
    let type_name = match family.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    if !family.help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(&name);
        out.push(' ');
        escape_help(out, family.help, dialect);
        out.push('\n');
    }
    let _ = writeln!(out, "# TYPE {name} {type_name}");
    if dialect == Dialect::OpenMetrics && !family.unit.is_empty() {
        let _ = writeln!(out, "# UNIT {name} {}", family.unit);
    }
    let om = dialect == Dialect::OpenMetrics;
    for metric in &family.series {
        // A reset metric reports its reset time: Prometheus then sees a counter reset.
        let reset = metric.reset_at.map(|at| fmt_float(seconds_since_epoch(at)));
        let created = reset.as_deref().unwrap_or(created);
        match &metric.value {
            MetricValue::Counter(c) => {
                let total = scaled_total(c.total, family.value_divisor);
                write_counter(out, &family.name, metric, &total, om, created)
            }
            MetricValue::Events(e) => {
                let total = e.total.to_string();
                write_counter(out, &family.name, metric, &total, om, created)
            }
            MetricValue::Records(r) => {
                let total = r.total.to_string();
                write_counter(out, &family.name, metric, &total, om, created)
            }
            MetricValue::Gauge(g) => {
                let value = fmt_float(g.value / family.value_divisor);
                write_sample(out, &name, metric, None, &value);
            }
            MetricValue::Histogram(h) => {
                let data = &h.cumulative;
                let bucket = format!("{name}_bucket");
                let layout = config.layout_for(family.registered, h);
                for (le, count) in classic_buckets(data, &layout) {
                    write_sample(
                        out,
                        &bucket,
                        metric,
                        Some(&fmt_float(le / family.step_divisor)),
                        &count.to_string(),
                    );
                }
                let count = data.count().to_string();
                write_sample(out, &bucket, metric, Some("+Inf"), &count);
                write_sample(
                    out,
                    &format!("{name}_sum"),
                    metric,
                    None,
                    &scaled_total(data.sum(), family.step_divisor),
                );
                write_sample(out, &format!("{name}_count"), metric, None, &count);
                if om {
                    write_sample(out, &format!("{name}_created"), metric, None, created);
                }
            }
            // Exposition::build drops kinds it does not know.
            _ => {}
        }
    }
}

/// An exact integer total, or its float value in the base unit when `divisor` is not 1.
pub(crate) fn scaled_total(total: u128, divisor: f64) -> String {
    if divisor == 1.0 {
        total.to_string()
    } else {
        fmt_float(total as f64 / divisor)
    }
}

fn write_counter(
    out: &mut String,
    family: &str,
    metric: &MetricSnapshot,
    total: &str,
    om: bool,
    created: &str,
) {
    write_sample(out, &format!("{family}_total"), metric, None, total);
    if om {
        write_sample(out, &format!("{family}_created"), metric, None, created);
    }
}

fn write_sample(
    out: &mut String,
    name: &str,
    metric: &MetricSnapshot,
    le: Option<&str>,
    value: &str,
) {
    out.push_str(name);
    let labels = &metric.desc.labels;
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        let extra = le.map(|le| ("le", le));
        for (k, v) in labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra)
        {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// `\` → `\\`, `"` → `\"`, line feed → `\n` (both formats).
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// 0.0.4: `\` and line feed; OpenMetrics: also `"`.
fn escape_help(out: &mut String, help: &str, dialect: Dialect) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if dialect == Dialect::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Seconds since the Unix epoch (0 for times before it).
fn seconds_since_epoch(at: std::time::SystemTime) -> f64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
