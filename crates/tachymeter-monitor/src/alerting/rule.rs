//! [`AlertRule`]: what an alert watches (a series and a statistic over a window), when it fires
//! and resolves, how urgent it is, and what it is called in a Prometheus rules file.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The seeds' cooldown between two firings of one alert: 5 minutes.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(300);

/// The seeds' escalation factor: a value beyond the threshold by more than 20% escalates.
pub const ESCALATION_FACTOR: f64 = 1.2;

/// The series a rule reads: a metric name and label matchers (`label = value`).
///
/// Every series of the metric whose labels include all the matchers is selected, and the
/// selected series are combined into one value (counters and gauges summed, histograms
/// merged), as PromQL's `sum(...)` does. No matcher selects every series of the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selector {
    /// The registered metric name (as in `Opts::new`).
    pub metric: String,
    /// Label matchers: the series' label `name` must equal `value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
}

impl Selector {
    /// Every series of `metric`.
    pub fn new(metric: impl Into<String>) -> Selector {
        Selector {
            metric: metric.into(),
            labels: Vec::new(),
        }
    }

    /// Also requires label `name` to equal `value`.
    #[must_use]
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Selector {
        self.labels.push((name.into(), value.into()));
        self
    }

    /// Whether a series with these labels is selected.
    pub(crate) fn matches(&self, labels: &[(String, String)]) -> bool {
        self.labels
            .iter()
            .all(|(k, v)| labels.iter().any(|(a, b)| a == k && b == v))
    }
}

impl From<&str> for Selector {
    fn from(metric: &str) -> Selector {
        Selector::new(metric)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if !self.labels.is_empty() {
            f.write_str("{")?;
            for (i, (k, v)) in self.labels.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                write!(f, "{sep}{k}={v:?}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

/// The statistic a rule compares with its threshold, computed over the rule's [`Window`].
///
/// Values are in the metric's unit (a histogram registered in `milliseconds` gives
/// milliseconds; rates are per second). A statistic without a value (no series selected, an
/// empty histogram window, a ratio whose denominator did not move) neither fires nor resolves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The gauge's latest value (a resource reading: CPU, memory, queue depth); the window
    /// does not apply.
    GaugeValue(Selector),
    /// The counter's increase per second over the window.
    CounterRate(Selector),
    /// Increase of `numerator` / increase of `denominator` over the window: an error rate
    /// (errors / requests) or a cache hit rate (hits / lookups).
    CounterRatio {
        /// The counted part (errors, hits).
        numerator: Selector,
        /// The whole (requests, lookups).
        denominator: Selector,
    },
    /// The `q`-quantile (0..=1) of the histogram's observations in the window.
    HistogramQuantile {
        /// The histogram.
        series: Selector,
        /// The quantile, 0..=1 (0.95 for p95).
        q: f64,
    },
    /// The mean of the histogram's observations in the window.
    HistogramMean(Selector),
    /// The histogram's observations per second over the window (compare [`Comparison::Below`]
    /// for a throughput minimum).
    Throughput(Selector),
    /// Σ increases of `numerator` / Σ increases of `denominator` over the window, where each
    /// term is a counter or a histogram's observation count: an error rate whose requests are
    /// a latency histogram's count (errors / inferences), a cache hit rate (hits / (hits +
    /// misses)). A term whose series is missing counts 0; the reading is missing only when
    /// every denominator term is. Terms are counts of events: counters with a unit are not
    /// rescaled.
    Ratio {
        /// The counted part.
        numerator: Vec<Count>,
        /// The whole.
        denominator: Vec<Count>,
    },
}

/// One term of a [`Statistic::Ratio`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// A counter's total.
    Counter(Selector),
    /// A histogram's number of observations.
    Observations(Selector),
}

impl Count {
    /// The term's selector.
    pub fn selector(&self) -> &Selector {
        match self {
            Count::Counter(s) | Count::Observations(s) => s,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Counter(s) => write!(f, "{s}"),
            Count::Observations(s) => write!(f, "count of {s}"),
        }
    }
}

impl Statistic {
    /// Every series the statistic reads (one, or two for a ratio).
    pub fn selectors(&self) -> Vec<&Selector> {
        match self {
            Statistic::GaugeValue(s)
            | Statistic::CounterRate(s)
            | Statistic::HistogramMean(s)
            | Statistic::Throughput(s)
            | Statistic::HistogramQuantile { series: s, .. } => vec![s],
            Statistic::CounterRatio {
                numerator,
                denominator,
            } => vec![numerator, denominator],
            Statistic::Ratio {
                numerator,
                denominator,
            } => numerator
                .iter()
                .chain(denominator)
                .map(Count::selector)
                .collect(),
        }
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::GaugeValue(s) => write!(f, "{s}"),
            Statistic::CounterRate(s) => write!(f, "rate of {s}"),
            Statistic::CounterRatio {
                numerator,
                denominator,
            } => write!(f, "{numerator} / {denominator}"),
            Statistic::HistogramQuantile { series, q } => write!(f, "p{} of {series}", q * 100.0),
            Statistic::HistogramMean(s) => write!(f, "mean of {s}"),
            Statistic::Throughput(s) => write!(f, "throughput of {s}"),
            Statistic::Ratio {
                numerator,
                denominator,
            } => {
                let sum = |terms: &[Count]| {
                    terms
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                write!(f, "({}) / ({})", sum(numerator), sum(denominator))
            }
        }
    }
}

/// Which side of the threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Fires when the value is above the threshold (latency, error rate, CPU).
    Above,
    /// Fires when the value is below the threshold (throughput minimum, cache hit rate).
    Below,
}

impl Comparison {
    /// Whether `value` is strictly beyond `limit` on the bad side.
    pub(crate) fn beyond(self, value: f64, limit: f64) -> bool {
        match self {
            Comparison::Above => value > limit,
            Comparison::Below => value < limit,
        }
    }

    /// The PromQL operator.
    pub(crate) fn op(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::Below => "<",
        }
    }
}

/// How urgent an alert is. Handlers are registered per severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Look soon (the seeds' "medium").
    #[default]
    Warning,
    /// Act now (the seeds' "high"; where escalation leads).
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical` (the Prometheus `severity` label value).
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the statistic covers. See the [module docs](crate::alerting#windows) for how each
/// maps onto the engine's data and when it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// The engine's rolling window (`EngineBuilder::window` intervals, default 60): read from
    /// the snapshot itself (`h.window`, `c.window_rate`, `h.throughput`); nothing is kept.
    #[default]
    Engine,
    /// The last `n` published intervals (the seeds' "last N measurements" at one measurement
    /// per interval), from the cumulative data of the snapshot `n` publications back.
    Intervals(u32),
    /// The last `d` of engine time, from the cumulative data of the newest snapshot at least
    /// `d` old.
    Duration(#[serde(with = "secs")] Duration),
}

/// Why a rule is invalid. Each variant says how to fix it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RuleError {
    /// The alert name must be a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`),
    /// as Prometheus requires of alert names.
    InvalidName(String),
    /// No statistic was set (or a ratio has no numerator or no denominator term): call one of
    /// the builder's statistic methods.
    NoStatistic,
    /// A selector's metric or label name is invalid: use the registered name.
    InvalidSelector(String),
    /// The threshold is NaN or infinite: use a finite number.
    InvalidThreshold(f64),
    /// The resolve threshold is on the firing side of the threshold (above it for
    /// [`Comparison::Above`], below it for [`Comparison::Below`]) or not finite.
    InvalidResolve {
        /// The threshold.
        threshold: f64,
        /// The rejected resolve threshold.
        resolve: f64,
    },
    /// A quantile outside 0..=1: use 0.95 for p95.
    InvalidQuantile(f64),
    /// A window of zero intervals or zero time: use at least one interval.
    EmptyWindow,
    /// An extra label is invalid or reserved (`severity` is set by the rule; `alertname`
    /// by Prometheus).
    InvalidLabel(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::InvalidName(n) => write!(f, "invalid alert name {n:?}"),
            RuleError::NoStatistic => f.write_str("the rule has no statistic"),
            RuleError::InvalidSelector(s) => write!(f, "invalid selector {s}"),
            RuleError::InvalidThreshold(t) => write!(f, "invalid threshold {t}"),
            RuleError::InvalidResolve { threshold, resolve } => write!(
                f,
                "resolve threshold {resolve} is on the firing side of threshold {threshold}"
            ),
            RuleError::InvalidQuantile(q) => write!(f, "quantile {q} is outside 0..=1"),
            RuleError::EmptyWindow => f.write_str("the window is empty"),
            RuleError::InvalidLabel(l) => write!(f, "invalid or reserved label {l:?}"),
        }
    }
}

impl std::error::Error for RuleError {}

/// One alerting rule: a [`Statistic`] compared with a threshold, with hysteresis, `for`,
/// cooldown and escalation. Built with [`AlertRule::builder`]; serde-serializable (durations
/// as float seconds) for configuration files.
///
/// The rule's decisions, stated once:
/// - **fires** when the value is beyond `threshold` ([`Comparison`], strictly) at every
///   evaluation for at least `for_duration` (engine time, from the first evaluation that saw
///   it beyond), and the last firing of this rule is at least `cooldown` ago;
/// - **resolves** when the value is no longer beyond `resolve` (`value <= resolve` for
///   `Above`): between the two thresholds an active alert stays active (hysteresis);
/// - **escalates** to [`Severity::Critical`] (with `escalate` on, the default) when the value
///   is beyond the threshold by more than 20% of it (`value > 1.2 × threshold` for `Above`
///   with a positive threshold; `value < 0.8 × threshold` for `Below`), at firing or later
///   while active; an escalated alert stays critical until it resolves.
///
/// ```
/// use std::time::Duration;
/// use tachymeter_monitor::alerting::{AlertRule, Selector, Severity, Window};
/// let rule = AlertRule::builder("HighErrorRate")
///     .counter_ratio(
///         Selector::new("api_errors_total"),
///         Selector::new("api_responses_total"),
///     )
///     .above(0.05)
///     .resolve(0.03)
///     .window(Window::Duration(Duration::from_secs(300)))
///     .for_duration(Duration::from_secs(60))
///     .severity(Severity::Warning)
///     .annotation("summary", "More than 5% of API requests fail")
///     .build()
///     .unwrap();
/// assert_eq!(rule.cooldown, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlertRule {
    /// The alert name (a Prometheus metric name: `HighErrorRate`, `api_latency_p95`).
    pub name: String,
    /// What is measured.
    pub statistic: Statistic,
    /// Which side of the threshold fires.
    pub comparison: Comparison,
    /// The firing threshold, in the statistic's unit.
    pub threshold: f64,
    /// The resolve threshold (hysteresis); `None`: the threshold itself.
    #[serde(default)]
    pub resolve: Option<f64>,
    /// The severity at firing (before escalation).
    #[serde(default)]
    pub severity: Severity,
    /// Whether a value beyond the threshold by more than 20% escalates to critical.
    #[serde(default = "yes")]
    pub escalate: bool,
    /// What the statistic covers.
    #[serde(default)]
    pub window: Window,
    /// How long the condition must hold before firing (Prometheus `for`).
    #[serde(default, with = "secs")]
    pub for_duration: Duration,
    /// Least time between two firings of this rule.
    #[serde(default = "default_cooldown", with = "secs")]
    pub cooldown: Duration,
    /// Extra labels of the alert (Prometheus `labels`, besides `severity`).
    #[serde(default)]
    pub labels: Vec<(String, String)>,
    /// Prometheus `annotations` (`summary`, `description`, `runbook_url`, …).
    #[serde(default)]
    pub annotations: Vec<(String, String)>,
}

fn yes() -> bool {
    true
}

fn default_cooldown() -> Duration {
    DEFAULT_COOLDOWN
}

impl AlertRule {
    /// A builder for a rule called `name` (defaults: warning, escalation on, the engine's
    /// window, no `for`, a 300 s cooldown, resolve at the threshold).
    pub fn builder(name: impl Into<String>) -> AlertRuleBuilder {
        AlertRuleBuilder {
            rule: AlertRule {
                name: name.into(),
                statistic: Statistic::GaugeValue(Selector::new("")),
                comparison: Comparison::Above,
                threshold: 0.0,
                resolve: None,
                severity: Severity::Warning,
                escalate: true,
                window: Window::Engine,
                for_duration: Duration::ZERO,
                cooldown: DEFAULT_COOLDOWN,
                labels: Vec::new(),
                annotations: Vec::new(),
            },
            statistic_set: false,
        }
    }

    /// The resolve threshold in effect.
    pub fn resolve_threshold(&self) -> f64 {
        self.resolve.unwrap_or(self.threshold)
    }

    /// Whether `value` escalates (see the type docs).
    pub fn escalates(&self, value: f64) -> bool {
        let margin = (ESCALATION_FACTOR - 1.0) * self.threshold.abs();
        match self.comparison {
            Comparison::Above => value > self.threshold + margin,
            Comparison::Below => value < self.threshold - margin,
        }
    }

    /// The escalation threshold (`threshold ± 20%` of it).
    pub fn escalation_threshold(&self) -> f64 {
        let margin = (ESCALATION_FACTOR - 1.0) * self.threshold.abs();
        match self.comparison {
            Comparison::Above => self.threshold + margin,
            Comparison::Below => self.threshold - margin,
        }
    }

    /// Checks the rule (builders do; a deserialized rule is checked when it is added to an
    /// [`AlertManager`](super::AlertManager)).
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), RuleError> {
        if !tachymeter::is_valid_metric_name(&self.name) {
            return Err(RuleError::InvalidName(self.name.clone()));
        }
        for s in self.statistic.selectors() {
            let bad_label = s
                .labels
                .iter()
                .any(|(k, _)| !tachymeter::is_valid_label_name(k));
            if !tachymeter::is_valid_metric_name(&s.metric) || bad_label {
                return Err(RuleError::InvalidSelector(s.to_string()));
            }
        }
        if let Statistic::Ratio {
            numerator,
            denominator,
        } = &self.statistic
        {
            if numerator.is_empty() || denominator.is_empty() {
                return Err(RuleError::NoStatistic);
            }
        }
        if let Statistic::HistogramQuantile { q, .. } = self.statistic {
            if !(0.0..=1.0).contains(&q) {
                return Err(RuleError::InvalidQuantile(q));
            }
        }
        if !self.threshold.is_finite() {
            return Err(RuleError::InvalidThreshold(self.threshold));
        }
        let resolve = self.resolve_threshold();
        if !resolve.is_finite() || self.comparison.beyond(resolve, self.threshold) {
            return Err(RuleError::InvalidResolve {
                threshold: self.threshold,
                resolve,
            });
        }
        match self.window {
            Window::Intervals(0) => return Err(RuleError::EmptyWindow),
            Window::Duration(d) if d.is_zero() => return Err(RuleError::EmptyWindow),
            _ => {}
        }
        for (k, _) in &self.labels {
            if !tachymeter::is_valid_label_name(k) || k == "severity" || k == "alertname" {
                return Err(RuleError::InvalidLabel(k.clone()));
            }
        }
        for (k, _) in &self.annotations {
            if !tachymeter::is_valid_label_name(k) {
                return Err(RuleError::InvalidLabel(k.clone()));
            }
        }
        Ok(())
    }
}

/// Builds an [`AlertRule`]; see there for the defaults and the decisions.
#[derive(Debug, Clone)]
#[must_use]
pub struct AlertRuleBuilder {
    rule: AlertRule,
    statistic_set: bool,
}

impl AlertRuleBuilder {
    /// Sets the statistic.
    pub fn statistic(mut self, statistic: Statistic) -> Self {
        self.rule.statistic = statistic;
        self.statistic_set = true;
        self
    }

    /// [`Statistic::GaugeValue`].
    pub fn gauge(self, series: impl Into<Selector>) -> Self {
        self.statistic(Statistic::GaugeValue(series.into()))
    }

    /// [`Statistic::CounterRate`].
    pub fn counter_rate(self, series: impl Into<Selector>) -> Self {
        self.statistic(Statistic::CounterRate(series.into()))
    }

    /// [`Statistic::CounterRatio`].
    pub fn counter_ratio(
        self,
        numerator: impl Into<Selector>,
        denominator: impl Into<Selector>,
    ) -> Self {
        self.statistic(Statistic::CounterRatio {
            numerator: numerator.into(),
            denominator: denominator.into(),
        })
    }

    /// [`Statistic::Ratio`]: Σ `numerator` / Σ `denominator` over the window.
    pub fn ratio(
        self,
        numerator: impl IntoIterator<Item = Count>,
        denominator: impl IntoIterator<Item = Count>,
    ) -> Self {
        self.statistic(Statistic::Ratio {
            numerator: numerator.into_iter().collect(),
            denominator: denominator.into_iter().collect(),
        })
    }

    /// [`Statistic::HistogramQuantile`].
    pub fn quantile(self, series: impl Into<Selector>, q: f64) -> Self {
        self.statistic(Statistic::HistogramQuantile {
            series: series.into(),
            q,
        })
    }

    /// [`Statistic::HistogramMean`].
    pub fn mean(self, series: impl Into<Selector>) -> Self {
        self.statistic(Statistic::HistogramMean(series.into()))
    }

    /// [`Statistic::Throughput`].
    pub fn throughput(self, series: impl Into<Selector>) -> Self {
        self.statistic(Statistic::Throughput(series.into()))
    }

    /// Fires above `threshold`.
    pub fn above(mut self, threshold: f64) -> Self {
        self.rule.comparison = Comparison::Above;
        self.rule.threshold = threshold;
        self
    }

    /// Fires below `threshold`.
    pub fn below(mut self, threshold: f64) -> Self {
        self.rule.comparison = Comparison::Below;
        self.rule.threshold = threshold;
        self
    }

    /// Resolves only once the value is back past `threshold` (default: the firing threshold).
    pub fn resolve(mut self, threshold: f64) -> Self {
        self.rule.resolve = Some(threshold);
        self
    }

    /// The severity at firing (default warning).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.rule.severity = severity;
        self
    }

    /// Whether to escalate to critical beyond the threshold by more than 20% (default on).
    pub fn escalate(mut self, on: bool) -> Self {
        self.rule.escalate = on;
        self
    }

    /// What the statistic covers (default [`Window::Engine`]).
    pub fn window(mut self, window: Window) -> Self {
        self.rule.window = window;
        self
    }

    /// How long the condition must hold before firing (default 0: at the first evaluation).
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.rule.for_duration = d;
        self
    }

    /// Least time between two firings (default 300 s).
    pub fn cooldown(mut self, d: Duration) -> Self {
        self.rule.cooldown = d;
        self
    }

    /// Adds an alert label (exported as a Prometheus rule label, carried by events).
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.rule.labels.push((name.into(), value.into()));
        self
    }

    /// Adds an annotation (exported; carried by events).
    pub fn annotation(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.rule.annotations.push((name.into(), value.into()));
        self
    }

    /// Checks and returns the rule.
    ///
    /// # Errors
    /// See [`RuleError`].
    pub fn build(self) -> Result<AlertRule, RuleError> {
        if !self.statistic_set {
            return Err(RuleError::NoStatistic);
        }
        self.rule.validate()?;
        Ok(self.rule)
    }
}

/// `Duration` as float seconds (readable in TOML and JSON); read also from a string such as
/// `"90s"` or `"5m"` (humantime's format, as the rest of a configuration file writes them).
mod secs {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(Secs)
    }

    struct Secs;

    impl Visitor<'_> for Secs {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration: seconds, or a string such as \"90s\" or \"5m\"")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(v).map_err(E::custom)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom(format!("a negative duration: {v}")))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            crate::config::parse_duration(v)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
}
