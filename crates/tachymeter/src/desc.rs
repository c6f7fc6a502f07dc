//! Metric identity: kinds, registration options, descriptions, name rules and registration
//! errors. Pure data and validation: no engine state, no shards (the registry and the handles
//! both depend on this module, and it depends on neither).
#![deny(unsafe_code)]

use crate::kind::MetricKind;
use std::fmt;
use tachymeter_histogram::{Layout, DEFAULT_SCHEMA};

/// A metric's unit. Time units and ratios change how a histogram stores `f64` values (see
/// [`Unit::steps_per_unit`]) and how exporters present them (Prometheus base units: time in
/// `seconds`); the others are labels for readers.
///
/// ```
/// use tachymeter::Unit;
/// assert_eq!(Unit::from("milliseconds"), Unit::Milliseconds);
/// assert_eq!(Unit::Milliseconds.steps_per_unit(), 1e6); // stored as integer nanoseconds
/// assert_eq!(Unit::Milliseconds.base(), ("seconds", 1e3));
/// assert_eq!(Unit::from("requests"), Unit::Custom("requests".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Unit {
    /// No unit.
    #[default]
    None,
    /// Seconds (stored as nanoseconds).
    Seconds,
    /// Milliseconds (stored as nanoseconds, exported in seconds).
    Milliseconds,
    /// Microseconds (stored as nanoseconds, exported in seconds).
    Microseconds,
    /// Nanoseconds (exported in seconds).
    Nanoseconds,
    /// Minutes (stored as nanoseconds, exported in seconds).
    Minutes,
    /// Hours (stored as nanoseconds, exported in seconds).
    Hours,
    /// Days (stored as nanoseconds, exported in seconds).
    Days,
    /// Bytes.
    Bytes,
    /// A ratio, usually 0..=1 (stored in millionths).
    Ratio,
    /// A percentage, usually 0..=100 (stored in ten-thousandths of a percent).
    Percent,
    /// Any other unit word (`[a-zA-Z0-9_]*`), used as is.
    Custom(String),
}

impl Unit {
    /// The unit's name as written in `Opts::unit` and `MetricDesc::unit`.
    pub fn name(&self) -> &str {
        match self {
            Unit::None => "",
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
            Unit::Microseconds => "microseconds",
            Unit::Nanoseconds => "nanoseconds",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Days => "days",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
            Unit::Percent => "percent",
            Unit::Custom(s) => s,
        }
    }

    /// How many steps a histogram stores per unit of a value: every time unit is kept as
    /// integer nanoseconds (`1e9` for seconds, `1e6` for milliseconds, `1e3` for microseconds,
    /// `6e10` for minutes, `3.6e12` for hours, `8.64e13` for days), `1e6` for a ratio
    /// (millionths), `1e4` for a percentage, `1` otherwise. `record_f64(v)` stores
    /// `round(v × steps_per_unit)`; `record(n)` stores `n` steps as given.
    pub fn steps_per_unit(&self) -> f64 {
        match self {
            Unit::Days => 86_400e9,
            Unit::Hours => 3_600e9,
            Unit::Minutes => 60e9,
            Unit::Seconds => 1e9,
            Unit::Milliseconds => 1e6,
            Unit::Microseconds => 1e3,
            Unit::Ratio => 1e6,
            Unit::Percent => 1e4,
            _ => 1.0,
        }
    }

    /// The value, in this unit, of one stored step: `1 / steps_per_unit()`.
    pub fn resolution(&self) -> f64 {
        1.0 / self.steps_per_unit()
    }

    /// True for days, hours, minutes, seconds, milliseconds, microseconds and nanoseconds.
    pub fn is_time(&self) -> bool {
        matches!(
            self,
            Unit::Days
                | Unit::Hours
                | Unit::Minutes
                | Unit::Seconds
                | Unit::Milliseconds
                | Unit::Microseconds
                | Unit::Nanoseconds
        )
    }

    /// The Prometheus base unit exporters present this unit in, and how many of this unit make
    /// one of it (exporters divide by it): every time unit is exported in `seconds`
    /// (`("seconds", 1000.0)` for milliseconds).
    pub fn base(&self) -> (&str, f64) {
        match self {
            Unit::Milliseconds => ("seconds", 1e3),
            Unit::Microseconds => ("seconds", 1e6),
            Unit::Nanoseconds => ("seconds", 1e9),
            Unit::Minutes => ("seconds", 1.0 / 60.0),
            Unit::Hours => ("seconds", 1.0 / 3_600.0),
            Unit::Days => ("seconds", 1.0 / 86_400.0),
            other => (other.name(), 1.0),
        }
    }

    /// How many stored histogram steps make one base unit (exporters divide by it): `1e9`
    /// for every time unit, `steps_per_unit()` otherwise.
    pub fn steps_per_base(&self) -> f64 {
        if self.is_time() {
            1e9
        } else {
            self.steps_per_unit()
        }
    }
}

impl From<&str> for Unit {
    fn from(s: &str) -> Unit {
        match s {
            "" => Unit::None,
            "seconds" => Unit::Seconds,
            "milliseconds" => Unit::Milliseconds,
            "microseconds" => Unit::Microseconds,
            "nanoseconds" => Unit::Nanoseconds,
            "minutes" => Unit::Minutes,
            "hours" => Unit::Hours,
            "days" => Unit::Days,
            "bytes" => Unit::Bytes,
            "ratio" => Unit::Ratio,
            "percent" => Unit::Percent,
            other => Unit::Custom(other.to_string()),
        }
    }
}

impl From<Unit> for String {
    fn from(u: Unit) -> String {
        u.name().to_string()
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Name, help text, unit and labels of a metric to register.
///
/// ```
/// use tachymeter::Opts;
/// let opts = Opts::new("http_requests_total")
///     .help("Requests served.")
///     .label("route", "/api")
///     .label("method", "GET");
/// assert_eq!(opts.name(), "http_requests_total");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    name: String,
    help: String,
    unit: String,
    labels: Vec<(String, String)>,
}

impl Opts {
    /// Options for metric `name` with no help, unit or labels.
    pub fn new(name: impl Into<String>) -> Opts {
        Opts {
            name: name.into(),
            help: String::new(),
            unit: String::new(),
            labels: Vec::new(),
        }
    }

    /// Sets the help text (any UTF-8; exporters escape it).
    pub fn help(mut self, help: impl Into<String>) -> Opts {
        self.help = help.into();
        self
    }

    /// Sets the unit: a [`Unit`] or its name, e.g. `"seconds"`, `"nanoseconds"`, `"bytes"`, or
    /// any other `[a-zA-Z0-9_]*` word. Time units make histograms store integer nanoseconds.
    pub fn unit(mut self, unit: impl Into<String>) -> Opts {
        self.unit = unit.into();
        self
    }

    /// Adds a label pair. Label values may be any UTF-8.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Opts {
        self.labels.push((name.into(), value.into()));
        self
    }

    /// The metric name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl From<&str> for Opts {
    fn from(name: &str) -> Opts {
        Opts::new(name)
    }
}

impl From<String> for Opts {
    fn from(name: String) -> Opts {
        Opts::new(name)
    }
}

/// The identity and metadata of a registered metric, shared by its handles and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDesc {
    /// Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    pub name: String,
    /// Help text; may be empty.
    pub help: String,
    /// Unit; empty for none.
    pub unit: String,
    /// Label pairs, sorted by label name.
    pub labels: Vec<(String, String)>,
    /// The metric kind.
    pub kind: MetricKind,
}

/// Configuration of one histogram.
///
/// The default (schema 6, range `1..=u64::MAX`, no recent-sample ring) gives quantiles within
/// 0.55% relative error with 4,098 `u64` buckets per recording thread (32.8 KiB), which the OS
/// commits 4 KiB at a time as values reach them (on Unix): 8.5 KiB per thread for values from
/// 1 µs to 10 ms (see the `implementation` docs).
///
/// ```
/// use tachymeter::HistogramConfig;
/// // 2.2% error, values above 10 s in nanoseconds saturate, keep the last 1024 raw samples.
/// let cfg = HistogramConfig::default().schema(4).max_value(10_000_000_000).recent(1024);
/// assert_eq!(cfg.relative_error(), tachymeter::histogram::relative_error_bound(4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramConfig {
    pub(crate) schema: i8,
    pub(crate) min_value: u64,
    pub(crate) max_value: u64,
    pub(crate) recent: usize,
    /// Classic bucket bounds in the metric's unit, as `f64` bits, ascending (empty: none).
    pub(crate) classic: Vec<u64>,
}

impl Default for HistogramConfig {
    fn default() -> Self {
        HistogramConfig {
            schema: DEFAULT_SCHEMA,
            min_value: 1,
            max_value: u64::MAX,
            recent: 0,
            classic: Vec::new(),
        }
    }
}

impl HistogramConfig {
    /// Bucket schema, `-4..=8`: `2^schema` buckets per power of two (Prometheus native
    /// histogram schemas). Higher is more precise and uses more memory.
    pub fn schema(mut self, schema: i8) -> Self {
        self.schema = schema;
        self
    }

    /// Smallest non-zero value tracked exactly; smaller non-zero values saturate (default 1).
    pub fn min_value(mut self, v: u64) -> Self {
        self.min_value = v;
        self
    }

    /// Largest value tracked; larger values saturate into the top bucket (default `u64::MAX`).
    pub fn max_value(mut self, v: u64) -> Self {
        self.max_value = v;
        self
    }

    /// Keeps the last `n` raw samples per thread (rounded up to a power of two; 0 = off) for
    /// exact recent percentiles. Costs one more store per record and `8·n` bytes per thread.
    pub fn recent(mut self, n: usize) -> Self {
        self.recent = n;
        self
    }

    /// Classic (`le`) bucket upper bounds, in the metric's unit (`[1.0, 6.0, 24.0]` hours for
    /// an `hours` histogram), that exporters use for this histogram instead of their default
    /// layout. The engine's native buckets are unchanged (quantiles keep their bound); a
    /// bound's count is exact when the bound falls on a native boundary or between two
    /// integers of the stored resolution, else short by at most one native bucket (see the
    /// exporter's `ClassicBuckets::Explicit`). Order does not matter; duplicates are merged.
    /// Registration fails with [`RegisterError::InvalidConfig`] for a NaN, infinite or
    /// negative bound, or more than 256 bounds.
    pub fn buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = bounds.into_iter().collect();
        // Invalid bounds are kept (as NaN bits, sorting last) so that `layout` reports them.
        v.sort_by(f64::total_cmp);
        v.dedup();
        self.classic = v.into_iter().map(f64::to_bits).collect();
        self
    }

    /// The classic bucket bounds set with [`buckets`](Self::buckets), ascending.
    pub fn classic_buckets(&self) -> impl Iterator<Item = f64> + '_ {
        self.classic.iter().map(|b| f64::from_bits(*b))
    }

    /// The bucket layout, or why the configuration is invalid (schema outside −4..=8, an
    /// empty range, a recent ring above 2^24 samples, or invalid classic bounds).
    pub(crate) fn layout(&self) -> Result<Layout, String> {
        if self.classic.len() > 256 {
            return Err(format!("{} classic buckets exceed 256", self.classic.len()));
        }
        if let Some(bad) = self
            .classic_buckets()
            .find(|b| !b.is_finite() || b.is_sign_negative())
        {
            return Err(format!("classic bucket bound {bad} is not finite and >= 0"));
        }
        if self.recent > 1 << 24 {
            return Err(format!(
                "recent ring of {} samples exceeds 2^24",
                self.recent
            ));
        }
        Layout::new(self.schema, self.min_value, self.max_value).map_err(|e| e.to_string())
    }

    /// The worst-case relative quantile error of this configuration.
    pub fn relative_error(&self) -> f64 {
        tachymeter_histogram::relative_error_bound(self.schema)
    }

    /// Bytes one recording thread's shard of this histogram costs (approximately).
    pub fn bytes_per_thread(&self) -> Option<usize> {
        let layout = Layout::new(self.schema, self.min_value, self.max_value).ok()?;
        Some(
            layout.dense_len() * 8
                + 128
                + self.recent.next_power_of_two() * 8 * (self.recent > 0) as usize,
        )
    }
}

impl MetricDesc {
    /// The value of label `name`, if the metric has it.
    ///
    /// ```
    /// let engine = tachymeter::Engine::builder().background(false).build().unwrap();
    /// let c = engine.counter(tachymeter::Opts::new("hits_total").label("route", "/a")).unwrap();
    /// assert_eq!(c.desc().label("route"), Some("/a"));
    /// assert_eq!(c.desc().label("method"), None);
    /// ```
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The unit as a [`Unit`].
    pub fn unit_kind(&self) -> Unit {
        Unit::from(self.unit.as_str())
    }
}

/// Why a registration failed. Each variant says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// The metric name is empty or not `[a-zA-Z_:][a-zA-Z0-9_:]*`. Rename the metric.
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`, starts with the reserved `__`, is `le`
    /// on a histogram, or appears twice. Rename or remove the label.
    InvalidLabelName {
        /// The metric.
        metric: String,
        /// The rejected label name.
        label: String,
    },
    /// The unit is not `[a-zA-Z0-9_]*`. Use a plain unit word such as `bytes` or `seconds`.
    InvalidUnit {
        /// The metric.
        metric: String,
        /// The rejected unit.
        unit: String,
    },
    /// The name is already registered as another kind. Use another name, or the same kind.
    KindMismatch {
        /// The metric.
        name: String,
        /// The kind it was first registered with.
        existing: MetricKind,
        /// The kind requested now.
        requested: MetricKind,
    },
    /// The histogram is already registered with another configuration. Register every label
    /// set of a histogram name with the same `HistogramConfig`.
    ConfigMismatch {
        /// The metric.
        name: String,
    },
    /// The histogram configuration is invalid (schema outside -4..=8, or an empty range).
    InvalidConfig {
        /// The metric.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The metric name already has `limit` label sets. Reduce label cardinality (e.g. do not
    /// put ids in labels) or raise `EngineBuilder::label_set_limit`.
    TooManyLabelSets {
        /// The metric.
        name: String,
        /// The configured limit.
        limit: usize,
    },
    /// The engine already has `limit` series (metric name and label set pairs) in all. Do not
    /// put ids in metric names or labels, or raise `EngineBuilder::max_series`.
    TooManySeries {
        /// The metric that was not registered.
        name: String,
        /// The configured limit.
        limit: usize,
    },
    /// The name is already registered with another unit or help text. Register every label set
    /// of a name with the same unit and help (as Prometheus' client_golang requires).
    MetadataMismatch {
        /// The metric.
        name: String,
        /// `"unit"` or `"help"`.
        field: &'static str,
        /// The value it was first registered with (clipped).
        existing: String,
        /// The value requested now (clipped).
        requested: String,
    },
    /// One of the sample names this metric would be exposed under (see [`exposed_names`])
    /// is already used by another metric: a counter `a` and a gauge `a_total`, a histogram
    /// `lat` and a gauge `lat_count`, a counter `io` with unit `bytes` and a gauge `io_bytes`.
    /// Exporting both would make the scrape invalid. Rename one of them.
    NameCollision {
        /// The metric that was not registered.
        name: String,
        /// The exposed sample name both would use.
        exposed: String,
        /// The metric already registered that uses it.
        existing: String,
    },
}

/// Longest name, unit or help text an error keeps, in bytes: a hostile 1 MB name must not make
/// a 1 MB error message.
const CLIP: usize = 128;

/// `s`, or its first [`CLIP`] bytes (on a character boundary) with the full length noted.
pub(crate) fn clip(s: &str) -> String {
    if s.len() <= CLIP {
        return s.to_string();
    }
    let mut end = CLIP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::InvalidName { name } => write!(
                f,
                "invalid metric name {name:?}: use [a-zA-Z_:][a-zA-Z0-9_:]*"
            ),
            RegisterError::InvalidLabelName { metric, label } => write!(
                f,
                "invalid label name {label:?} on metric {metric:?}: use [a-zA-Z_][a-zA-Z0-9_]*, \
                 not starting with \"__\", not \"le\" on histograms, each name once"
            ),
            RegisterError::InvalidUnit { metric, unit } => write!(
                f,
                "invalid unit {unit:?} on metric {metric:?}: use [a-zA-Z0-9_]*"
            ),
            RegisterError::KindMismatch {
                name,
                existing,
                requested,
            } => write!(
                f,
                "metric {name:?} is already registered as a {existing}, not a {requested}"
            ),
            RegisterError::ConfigMismatch { name } => write!(
                f,
                "histogram {name:?} is already registered with another configuration"
            ),
            RegisterError::InvalidConfig { name, reason } => {
                write!(f, "invalid configuration for histogram {name:?}: {reason}")
            }
            RegisterError::TooManyLabelSets { name, limit } => write!(
                f,
                "metric {name:?} already has {limit} label sets (the limit): reduce label \
                 cardinality or raise the limit"
            ),
            RegisterError::TooManySeries { name, limit } => write!(
                f,
                "cannot register {name:?}: the engine already has {limit} series (the limit \
                 set by EngineBuilder::max_series): do not put ids in names or labels, or raise \
                 the limit"
            ),
            RegisterError::MetadataMismatch {
                name,
                field,
                existing,
                requested,
            } => write!(
                f,
                "metric {name:?} is already registered with {field} {existing:?}, not \
                 {requested:?}: use the same {field} for every label set of a name"
            ),
            RegisterError::NameCollision {
                name,
                exposed,
                existing,
            } => write!(
                f,
                "metric {name:?} would be exposed as {exposed:?}, which metric {existing:?} \
                 already uses: rename one of them"
            ),
        }
    }
}

impl std::error::Error for RegisterError {}

/// True if `name` is a valid Prometheus metric name.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// True if `name` is a valid Prometheus label name (reserved `__` prefix excluded).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// The sample names a metric of this name, kind and unit is exposed under in the Prometheus
/// text, OpenMetrics and protobuf formats: the family name (a counter's `_total` suffix removed,
/// then `_<unit>` appended unless the name already ends with it, with the unit's Prometheus
/// base unit: every time unit becomes `seconds`, see [`Unit::base`]), plus `_total` and `_created`
/// for counters and event logs, or `_bucket`, `_sum`, `_count` and `_created` for histograms.
/// Registration rejects a metric that shares any of these with another metric name.
///
/// ```
/// use tachymeter::{exposed_names, MetricKind};
/// assert_eq!(
///     exposed_names("io_total", MetricKind::Counter, "bytes"),
///     ["io_bytes", "io_bytes_total", "io_bytes_created"]
/// );
/// assert_eq!(exposed_names("depth", MetricKind::Gauge, ""), ["depth"]);
/// ```
pub fn exposed_names(name: &str, kind: MetricKind, unit: &str) -> Vec<String> {
    let exposition = kind.exposition();
    let mut family = name.to_string();
    if exposition.strips_total {
        if let Some(stripped) = name.strip_suffix("_total") {
            if !stripped.is_empty() {
                family.truncate(stripped.len());
            }
        }
    }
    // Exporters present time units in seconds.
    let unit = Unit::from(unit);
    let unit = unit.base().0;
    if !unit.is_empty() {
        // A unit starting with a digit is prefixed with `_`, as the exporters do.
        let unit = match unit.starts_with(|c: char| c.is_ascii_digit()) {
            true => format!("_{unit}"),
            false => unit.to_string(),
        };
        if !family.ends_with(&format!("_{unit}")) {
            family.push('_');
            family.push_str(&unit);
        }
    }
    std::iter::once(family.clone())
        .chain(exposition.suffixes.iter().map(|s| format!("{family}{s}")))
        .collect()
}

pub(crate) fn validate(opts: Opts, kind: MetricKind) -> Result<MetricDesc, RegisterError> {
    let Opts {
        name,
        help,
        unit,
        mut labels,
    } = opts;
    if !is_valid_metric_name(&name) {
        return Err(RegisterError::InvalidName { name: clip(&name) });
    }
    if !unit.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(RegisterError::InvalidUnit {
            metric: clip(&name),
            unit: clip(&unit),
        });
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (l, _)) in labels.iter().enumerate() {
        let dup = i > 0 && labels[i - 1].0 == *l;
        let reserved = kind.exposition().reserved_labels.contains(&l.as_str());
        if !is_valid_label_name(l) || dup || reserved {
            return Err(RegisterError::InvalidLabelName {
                metric: clip(&name),
                label: clip(l),
            });
        }
    }
    Ok(MetricDesc {
        name,
        help,
        unit,
        labels,
        kind,
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "_a", "a:b_c9", ":x", "http_requests_total"] {
            assert!(is_valid_metric_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é", "a.b"] {
            assert!(!is_valid_metric_name(bad), "{bad}");
        }
        for ok in ["a", "_a", "a_9"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "__a", "a:b", "9", "a-b"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }
}
