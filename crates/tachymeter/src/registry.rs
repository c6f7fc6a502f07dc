//! Registration (cold path): names, labels, validation, and the table of metrics.
//!
//! Registering the same name and labels again returns the same metric; registering a name with
//! another kind (or a histogram with another configuration) is an error; names follow the
//! Prometheus data model; each metric name may have at most `label_set_limit` label sets.
//! Registration locks a mutex and allocates; recording never does.
#![deny(unsafe_code)]

use crate::metric::{CounterCore, EventsCore, GaugeCore, HistogramCore};
use crate::sync::{lock, Arc, Mutex};
use std::collections::HashMap;
use std::fmt;

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonic `u64` total.
    Counter,
    /// An `f64` value that can go up and down.
    Gauge,
    /// A distribution of `u64` values.
    Histogram,
    /// A log of recent coded events with a total count.
    Events,
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Events => "events",
        })
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

    /// Sets the unit, e.g. `"nanoseconds"` or `"bytes"` (`[a-zA-Z0-9_]*`).
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

/// A registered metric of any kind.
#[derive(Clone)]
pub(crate) enum Entry {
    Counter(Arc<CounterCore>),
    Gauge(Arc<GaugeCore>),
    Histogram(Arc<HistogramCore>),
    Events(Arc<EventsCore>),
}

impl Entry {
    pub(crate) fn desc(&self) -> &Arc<MetricDesc> {
        match self {
            Entry::Counter(c) => &c.desc,
            Entry::Gauge(c) => &c.desc,
            Entry::Histogram(c) => &c.desc,
            Entry::Events(c) => &c.desc,
        }
    }
}

struct Family {
    kind: MetricKind,
    label_sets: usize,
    /// Configuration fingerprint (histograms), compared on re-registration.
    config: String,
}

#[derive(Default)]
struct Inner {
    families: HashMap<String, Family>,
    by_key: HashMap<(String, Vec<(String, String)>), Entry>,
    /// Registration order; the aggregator walks it.
    entries: Vec<Entry>,
}

/// The metric table of one engine.
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    label_set_limit: usize,
}

impl Registry {
    pub(crate) fn new(label_set_limit: usize) -> Registry {
        Registry {
            inner: Mutex::new(Inner::default()),
            label_set_limit,
        }
    }

    /// Validates `opts`, then returns the existing entry for (name, labels) or the one `make`
    /// builds from the validated description.
    pub(crate) fn register(
        &self,
        opts: Opts,
        kind: MetricKind,
        config: String,
        make: impl FnOnce(Arc<MetricDesc>) -> Entry,
    ) -> Result<Entry, RegisterError> {
        let desc = validate(opts, kind)?;
        let key = (desc.name.clone(), desc.labels.clone());
        let mut inner = lock(&self.inner);
        if let Some(f) = inner.families.get(&desc.name) {
            if f.kind != kind {
                return Err(RegisterError::KindMismatch {
                    name: desc.name,
                    existing: f.kind,
                    requested: kind,
                });
            }
            if f.config != config {
                return Err(RegisterError::ConfigMismatch { name: desc.name });
            }
        }
        if let Some(e) = inner.by_key.get(&key) {
            return Ok(e.clone());
        }
        let family = inner.families.entry(desc.name.clone()).or_insert(Family {
            kind,
            label_sets: 0,
            config,
        });
        if family.label_sets >= self.label_set_limit {
            return Err(RegisterError::TooManyLabelSets {
                name: desc.name,
                limit: self.label_set_limit,
            });
        }
        family.label_sets += 1;
        let entry = make(Arc::new(desc));
        inner.by_key.insert(key, entry.clone());
        inner.entries.push(entry.clone());
        Ok(entry)
    }

    /// Number of registered metrics.
    pub(crate) fn len(&self) -> usize {
        lock(&self.inner).entries.len()
    }

    /// Appends the entries registered after the first `out.len()` to `out` (the aggregator keeps
    /// its copy and only extends it, so a flush allocates nothing when nothing was registered).
    pub(crate) fn extend_entries(&self, out: &mut Vec<Entry>) {
        let inner = lock(&self.inner);
        if out.len() < inner.entries.len() {
            out.extend(inner.entries[out.len()..].iter().cloned());
        }
    }
}

fn validate(opts: Opts, kind: MetricKind) -> Result<MetricDesc, RegisterError> {
    let Opts {
        name,
        help,
        unit,
        mut labels,
    } = opts;
    if !is_valid_metric_name(&name) {
        return Err(RegisterError::InvalidName { name });
    }
    if !unit.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(RegisterError::InvalidUnit { metric: name, unit });
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (l, _)) in labels.iter().enumerate() {
        let dup = i > 0 && labels[i - 1].0 == *l;
        if !is_valid_label_name(l) || dup || (kind == MetricKind::Histogram && l == "le") {
            return Err(RegisterError::InvalidLabelName {
                metric: name.clone(),
                label: l.clone(),
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
