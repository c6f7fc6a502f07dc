//! Alert rules as a Prometheus alerting-rules file (see the module docs, "Prometheus").

use super::rule::{AlertRule, Comparison, Count, Selector, Severity, Statistic, Window};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;
use tachymeter::{MetricKind, Snapshot, Unit};

/// Options of the Prometheus export: the group name, what the windows mean in time, and the
/// units of the metrics (for the exporters' names and base-unit thresholds).
///
/// ```
/// use tachymeter_monitor::alerting::{AlertRule, PromRules};
/// let rule = AlertRule::builder("SlowRequests")
///     .quantile("api_request_duration", 0.95)
///     .above(0.1)
///     .escalate(false)
///     .build()
///     .unwrap();
/// let yaml = PromRules::new().unit("api_request_duration", "seconds").to_yaml(&[rule]);
/// assert!(yaml.contains(
///     "histogram_quantile(0.95, sum by (le) (rate(api_request_duration_seconds_bucket[1m]))) > 0.1"
/// ));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PromRules {
    group: String,
    interval: Duration,
    engine_window: u32,
    min_range: Duration,
    units: HashMap<String, String>,
}

impl Default for PromRules {
    fn default() -> Self {
        PromRules {
            group: "tachymeter".into(),
            interval: Duration::from_secs(1),
            engine_window: 60,
            min_range: Duration::from_secs(60),
            units: HashMap::new(),
        }
    }
}

/// The rules as a Prometheus rules file with the default [`PromRules`] (group `tachymeter`,
/// 1 s engine interval, 60-interval engine window, ranges of at least 1 m, metrics without
/// units unless a rule's metric is declared with [`PromRules::unit`]).
pub fn rules_yaml(rules: &[AlertRule]) -> String {
    PromRules::default().to_yaml(rules)
}

impl PromRules {
    /// The defaults of [`rules_yaml`].
    pub fn new() -> PromRules {
        PromRules::default()
    }

    /// The rule group's name (default `tachymeter`).
    pub fn group(mut self, name: impl Into<String>) -> Self {
        self.group = name.into();
        self
    }

    /// The engine's aggregation interval, for [`Window::Intervals`] (default 1 s).
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }

    /// The engine's rolling window in intervals, for [`Window::Engine`] (default 60).
    pub fn engine_window(mut self, intervals: u32) -> Self {
        self.engine_window = intervals;
        self
    }

    /// The shortest PromQL range written (default 1 m, four default scrape intervals: `rate`
    /// needs two samples in its range).
    pub fn min_range(mut self, d: Duration) -> Self {
        self.min_range = d;
        self
    }

    /// Declares `metric`'s unit as registered (`seconds`, `milliseconds`, `bytes`, …).
    pub fn unit(mut self, metric: impl Into<String>, unit: impl Into<String>) -> Self {
        self.units.insert(metric.into(), unit.into());
        self
    }

    /// Declares the unit of every metric in `snapshot`.
    pub fn units_from(mut self, snapshot: &Snapshot) -> Self {
        for m in snapshot.metrics() {
            self.units
                .entry(m.desc.name.clone())
                .or_insert_with(|| m.desc.unit.clone());
        }
        self
    }

    /// The exporters' family name of `metric` as `kind`, and how many of its unit make one
    /// base unit (the exporters divide values by it).
    fn family(&self, metric: &str, kind: MetricKind) -> (String, f64) {
        let unit = self.units.get(metric).map_or("", String::as_str);
        let names = tachymeter::exposed_names(metric, kind, unit);
        let family = names.into_iter().next().unwrap_or_default();
        (family, Unit::from(unit).base().1)
    }

    /// The PromQL range of `rule`'s window.
    fn range(&self, rule: &AlertRule) -> String {
        let d = match rule.window {
            Window::Engine => self.interval * self.engine_window,
            Window::Intervals(n) => self.interval * n,
            Window::Duration(d) => d,
        };
        duration(d.max(self.min_range))
    }

    /// The PromQL expression of `rule`'s statistic, in the exported base units, and the factor
    /// that converts a threshold of the rule into those units.
    fn statistic(&self, rule: &AlertRule) -> (String, f64) {
        let r = self.range(rule);
        let rate = |family: &str, suffix: &str, sel: &Selector| {
            format!("sum(rate({family}{suffix}{}[{r}]))", matchers(sel))
        };
        match &rule.statistic {
            Statistic::GaugeValue(sel) => {
                let (f, div) = self.family(&sel.metric, MetricKind::Gauge);
                (format!("sum({f}{})", matchers(sel)), 1.0 / div)
            }
            Statistic::CounterRate(sel) => {
                let (f, div) = self.family(&sel.metric, MetricKind::Counter);
                (rate(&f, "_total", sel), 1.0 / div)
            }
            Statistic::CounterRatio {
                numerator,
                denominator,
            } => {
                let (n, ndiv) = self.family(&numerator.metric, MetricKind::Counter);
                let (d, ddiv) = self.family(&denominator.metric, MetricKind::Counter);
                let expr = format!(
                    "{} / {}",
                    rate(&n, "_total", numerator),
                    rate(&d, "_total", denominator)
                );
                (expr, ddiv / ndiv)
            }
            Statistic::HistogramQuantile { series, q } => {
                let (f, div) = self.family(&series.metric, MetricKind::Histogram);
                let expr = format!(
                    "histogram_quantile({}, sum by (le) (rate({f}_bucket{}[{r}])))",
                    number(*q),
                    matchers(series)
                );
                (expr, 1.0 / div)
            }
            Statistic::HistogramMean(sel) => {
                let (f, div) = self.family(&sel.metric, MetricKind::Histogram);
                let expr = format!("{} / {}", rate(&f, "_sum", sel), rate(&f, "_count", sel));
                (expr, 1.0 / div)
            }
            Statistic::Throughput(sel) => {
                let (f, _) = self.family(&sel.metric, MetricKind::Histogram);
                (rate(&f, "_count", sel), 1.0)
            }
            Statistic::Ratio {
                numerator,
                denominator,
            } => {
                let sum = |terms: &[Count]| {
                    let parts: Vec<String> = terms
                        .iter()
                        .map(|t| match t {
                            Count::Counter(sel) => {
                                let (f, _) = self.family(&sel.metric, MetricKind::Counter);
                                rate(&f, "_total", sel)
                            }
                            Count::Observations(sel) => {
                                let (f, _) = self.family(&sel.metric, MetricKind::Histogram);
                                rate(&f, "_count", sel)
                            }
                        })
                        .collect();
                    format!("({})", parts.join(" + "))
                };
                (format!("{} / {}", sum(numerator), sum(denominator)), 1.0)
            }
        }
    }

    /// The alert expression of `rule` at `threshold` and `severity`, with the hysteresis
    /// branch when the resolve threshold differs (see the module docs).
    fn expr(&self, rule: &AlertRule, threshold: f64, severity: Severity) -> String {
        let (e, factor) = self.statistic(rule);
        let op = rule.comparison.op();
        let t = number(threshold * factor);
        let resolve = rule.resolve_threshold();
        if resolve == rule.threshold {
            return format!("{e} {op} {t}");
        }
        format!(
            "({e} {op} {t}) or ({e} {op} {} and on() ALERTS{{alertname=\"{}\", alertstate=\"firing\", severity=\"{}\"}})",
            number(resolve * factor),
            rule.name,
            severity.name()
        )
    }

    /// The PromQL expression of `rule` as exported (the firing rule, without escalation).
    pub fn promql(&self, rule: &AlertRule) -> String {
        self.expr(rule, rule.threshold, rule.severity)
    }

    /// The rules file: one group, one rule per [`AlertRule`], plus a `critical` rule of the
    /// same name for each rule that escalates.
    pub fn to_yaml(&self, rules: &[AlertRule]) -> String {
        let mut out = String::from("groups:\n");
        let _ = writeln!(out, "  - name: {}", quote(&self.group));
        if rules.is_empty() {
            out.push_str("    rules: []\n");
            return out;
        }
        out.push_str("    rules:\n");
        for rule in rules {
            self.write_rule(&mut out, rule, rule.threshold, rule.severity);
            if rule.escalate && rule.severity < Severity::Critical {
                self.write_rule(
                    &mut out,
                    rule,
                    rule.escalation_threshold(),
                    Severity::Critical,
                );
            }
        }
        out
    }

    fn write_rule(&self, out: &mut String, rule: &AlertRule, threshold: f64, severity: Severity) {
        let _ = writeln!(out, "      - alert: {}", quote(&rule.name));
        let _ = writeln!(
            out,
            "        expr: {}",
            quote(&self.expr(rule, threshold, severity))
        );
        if !rule.for_duration.is_zero() {
            let _ = writeln!(out, "        for: {}", duration(rule.for_duration));
        }
        out.push_str("        labels:\n");
        let _ = writeln!(out, "          severity: {}", quote(severity.name()));
        for (k, v) in &rule.labels {
            let _ = writeln!(out, "          {k}: {}", quote(v));
        }
        out.push_str("        annotations:\n");
        let has = |k: &str| rule.annotations.iter().any(|(a, _)| a == k);
        // In the exported units, like `$value`.
        let (_, factor) = self.statistic(rule);
        if !has("summary") {
            let side = match rule.comparison {
                Comparison::Above => "above",
                Comparison::Below => "below",
            };
            let summary = format!("{} {side} {}", rule.statistic, number(threshold * factor));
            let _ = writeln!(out, "          summary: {}", quote(&summary));
        }
        if !has("description") {
            let resolve = rule.resolve_threshold();
            let mut description = String::from("Value {{ $value }}");
            if resolve != rule.threshold {
                let _ = write!(description, "; resolves at {}", number(resolve * factor));
            }
            let _ = write!(
                description,
                "; in-process cooldown {} s.",
                rule.cooldown.as_secs_f64()
            );
            let _ = writeln!(out, "          description: {}", quote(&description));
        }
        for (k, v) in &rule.annotations {
            let _ = writeln!(out, "          {k}: {}", quote(v));
        }
    }
}

/// A YAML double-quoted scalar (a JSON string is one).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `{k="v", …}` with PromQL string escapes, or nothing without matchers.
fn matchers(sel: &Selector) -> String {
    if sel.labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = sel
        .labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// A float as PromQL reads it: rounded to 12 significant digits (so `0.8 × 0.8` is written
/// `0.64`), then in its shortest round-trip form.
fn number(v: f64) -> String {
    let rounded: f64 = format!("{v:.11e}").parse().unwrap_or(v);
    format!("{rounded:?}")
}

/// A PromQL duration: the largest unit that divides it (`5m`, `90s`, `1500ms`).
fn duration(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_dividing_unit() {
        assert_eq!(duration(Duration::from_secs(300)), "5m");
        assert_eq!(duration(Duration::from_secs(90)), "90s");
        assert_eq!(duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration(Duration::from_secs(7200)), "2h");
        assert_eq!(duration(Duration::ZERO), "1ms");
    }

    #[test]
    fn numbers_round_trip() {
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(100.0), "100.0");
        assert_eq!(number(1e-7), "1e-7");
        assert_eq!(number(0.8 - 0.2 * 0.8), "0.64");
        assert_eq!(number(2e9), "2000000000.0");
    }
}
