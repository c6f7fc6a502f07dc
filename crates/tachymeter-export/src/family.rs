//! The exposition model shared by the Prometheus-family encoders.
//!
//! A [`Snapshot`] lists metrics in registration order, one entry per label set. Prometheus and
//! OpenMetrics want them grouped by *family* (one name, one type, one `HELP`), with names that
//! carry the unit and the `_total` suffix, and with no two families whose sample names collide.
//! [`Exposition::build`] does that grouping once per scrape; the text, OpenMetrics and protobuf
//! encoders only walk the result.
//!
//! Classic (`le`) buckets are derived here too, from the engine's native log-linear buckets; see
//! [`ClassicBuckets`] for when the derived cumulative counts are exact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::SystemTime;

use tachymeter::histogram::HistogramData;
use tachymeter::{HistogramSnapshot, MetricSnapshot, MetricValue, Snapshot};

/// Which classic `le` boundaries a histogram is exposed with in the text formats (and in the
/// classic part of the protobuf histogram).
///
/// The engine stores native buckets `(base^(i-1), base^i]` with `base = 2^(2^-schema)`. Classic
/// boundaries that coincide with native boundaries get **exact** cumulative counts.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassicBuckets {
    /// One boundary per native boundary of this (coarser) schema: `Schema(0)` is one per power
    /// of two, `Schema(1)` two per power of two, `Schema(-1)` one per power of four. A schema
    /// finer than the histogram's own is clamped to it, so counts are always exact. Boundaries
    /// are emitted contiguously from just below the smallest to the largest observed bucket.
    Schema(i8),
    /// Explicit upper bounds (any order; NaN and infinities are ignored, `+Inf` is always added).
    /// The count at a bound is exact when the bound is a native boundary (for example a power
    /// of two at any schema >= 0), or when no integer lies between the bound and the native
    /// boundary above it (samples are integers). Otherwise the native bucket that straddles the
    /// bound is counted at the next bound up, so the count is a lower bound, short by at most
    /// that bucket's samples (relative width `base - 1`, 1.09% at the default schema 6).
    Explicit(Vec<f64>),
}

impl Default for ClassicBuckets {
    fn default() -> Self {
        ClassicBuckets::Schema(0)
    }
}

/// Options shared by every encoder.
#[derive(Clone, Debug)]
pub struct ExportConfig {
    default_buckets: ClassicBuckets,
    overrides: HashMap<String, ClassicBuckets>,
    created: SystemTime,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ExportConfig {
    /// Default options: classic buckets one per power of two, `_created` = now.
    pub fn new() -> Self {
        ExportConfig {
            default_buckets: ClassicBuckets::default(),
            overrides: HashMap::new(),
            created: SystemTime::now(),
        }
    }

    /// Sets the classic bucket layout used for every histogram without an override.
    #[must_use]
    pub fn default_buckets(mut self, buckets: ClassicBuckets) -> Self {
        self.default_buckets = buckets;
        self
    }

    /// Sets the classic bucket layout of the histogram registered as `name` (every label set).
    #[must_use]
    pub fn buckets_for(mut self, name: impl Into<String>, buckets: ClassicBuckets) -> Self {
        self.overrides.insert(name.into(), buckets);
        self
    }

    /// Sets the time reported as `_created` in OpenMetrics.
    ///
    /// The engine does not record when each metric was registered, so the exporter reports one
    /// time for all series; pass the time the engine was built (the default is the time this
    /// config was made, which is later than that when the config is built after the engine).
    #[must_use]
    pub fn created(mut self, at: SystemTime) -> Self {
        self.created = at;
        self
    }

    /// The `_created` time, in seconds since the Unix epoch.
    pub(crate) fn created_seconds(&self) -> f64 {
        self.created
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// The classic bucket layout of one histogram series: this config's override for `name`,
    /// else the bounds the histogram was registered with (`HistogramConfig::buckets`, in its
    /// unit, converted here to stored steps), else the default.
    pub(crate) fn layout_for<'a>(
        &'a self,
        name: &str,
        h: &HistogramSnapshot,
    ) -> std::borrow::Cow<'a, ClassicBuckets> {
        use std::borrow::Cow;
        if let Some(o) = self.overrides.get(name) {
            return Cow::Borrowed(o);
        }
        match &h.classic_buckets {
            Some(bounds) => Cow::Owned(ClassicBuckets::Explicit(
                bounds.iter().map(|b| b * h.steps_per_unit).collect(),
            )),
            None => Cow::Borrowed(&self.default_buckets),
        }
    }
}

/// Prometheus type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Counters and event logs (their total).
    Counter,
    /// Gauges.
    Gauge,
    /// Histograms.
    Histogram,
}

/// One metric family: every label set of one registered name.
pub(crate) struct Family<'s> {
    /// OpenMetrics family name: sanitized, unit-suffixed, without `_total`.
    pub name: String,
    /// Name as registered (key for [`ExportConfig::buckets`]).
    pub registered: &'s str,
    pub kind: Kind,
    pub help: &'s str,
    /// Sanitized base unit (time units become `seconds`), `""` when none.
    pub unit: String,
    /// Registered units per `unit`, for counter and gauge values (`1000` for milliseconds):
    /// exported values are divided by it.
    pub value_divisor: f64,
    /// Stored histogram steps per `unit` (`1e9` for every time unit: histograms store
    /// nanoseconds): exported bounds and sums are divided by it.
    pub step_divisor: f64,
    pub series: Vec<&'s MetricSnapshot>,
}

impl Family<'_> {
    /// Name used by the 0.0.4 text format and the protobuf format (`_total` for counters).
    pub fn legacy_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            _ => self.name.clone(),
        }
    }

    /// Every name this family puts on the wire in any format.
    fn wire_names(&self) -> Vec<String> {
        let suffixes: &[&str] = match self.kind {
            Kind::Counter => &["_total", "_created"],
            Kind::Gauge => &[],
            Kind::Histogram => &["_bucket", "_sum", "_count", "_created"],
        };
        std::iter::once(self.name.clone())
            .chain(suffixes.iter().map(|s| format!("{}{}", self.name, s)))
            .collect()
    }
}

/// A snapshot grouped into families.
pub(crate) struct Exposition<'s> {
    pub families: Vec<Family<'s>>,
}

impl<'s> Exposition<'s> {
    /// Groups `snapshot` into families, in order of first registration.
    ///
    /// A family whose wire names collide with an earlier family's (say a gauge `a_total` after a
    /// counter `a`) is left out, as is a series that repeats a label set, uses a label name
    /// Prometheus reserves (`le` on a histogram, `__*`), or repeats a label name: exposing them
    /// would make the whole scrape invalid.
    pub fn build(snapshot: &'s Snapshot) -> Self {
        let mut families: Vec<Family<'s>> = Vec::new();
        // registered name -> index in `families`, or None when the family was left out.
        let mut by_name: HashMap<&'s str, Option<usize>> = HashMap::new();
        let mut reserved: HashSet<String> = HashSet::new();
        let mut seen_label_sets: Vec<HashSet<Vec<(&'s str, &'s str)>>> = Vec::new();

        for metric in snapshot.metrics() {
            let desc = &*metric.desc;
            let kind = match metric.value {
                MetricValue::Counter(_) | MetricValue::Events(_) | MetricValue::Records(_) => {
                    Kind::Counter
                }
                MetricValue::Gauge(_) => Kind::Gauge,
                MetricValue::Histogram(_) => Kind::Histogram,
                // A kind added to the engine later: not exposed until an encoder knows it.
                _ => continue,
            };
            let slot = *by_name.entry(desc.name.as_str()).or_insert_with(|| {
                let registered_unit = desc.unit_kind();
                let (base, value_divisor) = registered_unit.base();
                let unit = sanitize(base, false);
                let family = Family {
                    name: family_name(&desc.name, &unit, kind),
                    registered: &desc.name,
                    kind,
                    help: &desc.help,
                    unit,
                    value_divisor,
                    step_divisor: registered_unit.steps_per_base(),
                    series: Vec::new(),
                };
                let names = family.wire_names();
                if names.iter().any(|n| reserved.contains(n)) {
                    return None;
                }
                reserved.extend(names);
                families.push(family);
                seen_label_sets.push(HashSet::new());
                Some(families.len() - 1)
            });
            let Some(index) = slot else { continue };
            if families[index].kind != kind || !labels_ok(metric, kind) {
                continue;
            }
            let mut key: Vec<(&str, &str)> = desc
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            key.sort_unstable();
            if seen_label_sets[index].insert(key) {
                families[index].series.push(metric);
            }
        }
        families.retain(|f| !f.series.is_empty());
        Exposition { families }
    }
}

/// Label names must be valid, unique, and not reserved.
fn labels_ok(metric: &MetricSnapshot, kind: Kind) -> bool {
    let labels = &metric.desc.labels;
    labels.iter().enumerate().all(|(i, (name, _))| {
        is_label_name(name)
            && !name.starts_with("__")
            && !(kind == Kind::Histogram && name == "le")
            && labels[..i].iter().all(|(other, _)| other != name)
    })
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces characters Prometheus does not allow in a metric name with `_` (and `:` too when
/// `colon` is false, for units); prefixes `_` when the first character is a digit.
fn sanitize(raw: &str, colon: bool) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// OpenMetrics family name: counters lose a `_total` suffix, then the unit is appended unless
/// the name already ends with it (OpenMetrics requires the unit as the name's suffix).
fn family_name(registered: &str, unit: &str, kind: Kind) -> String {
    let mut name = sanitize(registered, true);
    if name.is_empty() {
        name.push('_');
    }
    if kind == Kind::Counter {
        if let Some(stripped) = name.strip_suffix("_total") {
            if !stripped.is_empty() {
                name.truncate(stripped.len());
            }
        }
    }
    if !unit.is_empty() && !name.ends_with(&format!("_{unit}")) {
        name.push('_');
        name.push_str(unit);
    }
    name
}

/// Cumulative classic buckets `(le, count of samples <= le)`, ascending, without `+Inf`
/// (whose count is [`HistogramData::count`]).
pub(crate) fn classic_buckets(data: &HistogramData, layout: &ClassicBuckets) -> Vec<(f64, u64)> {
    match layout {
        ClassicBuckets::Schema(schema) => schema_buckets(data, *schema),
        ClassicBuckets::Explicit(bounds) => explicit_buckets(data, bounds),
    }
}

fn schema_buckets(data: &HistogramData, classic: i8) -> Vec<(f64, u64)> {
    let native = data.schema();
    let classic = classic.min(native);
    // Each classic bucket j covers the native buckets i with ceil(i / factor) == j:
    // native boundary base_n^i == base_c^(i / factor).
    let factor = 1i64 << (i32::from(native) - i32::from(classic));
    let mut merged: BTreeMap<i64, u64> = BTreeMap::new();
    for (index, count) in data.buckets() {
        let index = i64::from(index);
        let j = index.div_euclid(factor) + i64::from(index.rem_euclid(factor) != 0);
        *merged.entry(j).or_default() += count;
    }
    let (Some((&first, _)), Some((&last, _))) = (merged.first_key_value(), merged.last_key_value())
    else {
        return Vec::new();
    };
    let upper = |j: i64| HistogramData::bucket_bounds(classic, j as i32).1;
    let mut cumulative = data.zero_count();
    let mut out = Vec::new();
    if last - first <= 4096 {
        // Contiguous, with one empty bucket below the first so quantile interpolation in the
        // first bucket starts at its real lower bound instead of 0.
        out.push((upper(first - 1), cumulative));
        for j in first..=last {
            cumulative += merged.get(&j).copied().unwrap_or(0);
            out.push((upper(j), cumulative));
        }
    } else {
        for (j, count) in merged {
            cumulative += count;
            out.push((upper(j), cumulative));
        }
    }
    out
}

fn explicit_buckets(data: &HistogramData, bounds: &[f64]) -> Vec<(f64, u64)> {
    let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let schema = data.schema();
    let native: Vec<(f64, u64)> = data
        .buckets()
        .map(|(index, count)| (HistogramData::bucket_bounds(schema, index).1, count))
        .collect();
    let mut next = 0;
    let mut cumulative = 0;
    let mut zero_added = false;
    bounds
        .into_iter()
        .map(|le| {
            if le >= 0.0 && !zero_added {
                cumulative += data.zero_count();
                zero_added = true;
            }
            // Samples are integers: a bucket (lo, hi] holds none above `le` when floor(hi) <= le.
            while next < native.len() && native[next].0.floor() <= le {
                cumulative += native[next].1;
                next += 1;
            }
            (le, cumulative)
        })
        .collect()
}

/// Formats a float the way both text formats accept and parse back exactly: shortest
/// round-trip digits (`1.0`, `2.5e-7`), `+Inf`, `-Inf`, `NaN`.
pub(crate) fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_carry_unit_and_strip_total() {
        assert_eq!(family_name("req_total", "", Kind::Counter), "req");
        assert_eq!(family_name("req_total", "", Kind::Gauge), "req_total");
        assert_eq!(family_name("io", "bytes", Kind::Counter), "io_bytes");
        assert_eq!(
            family_name("io_bytes_total", "bytes", Kind::Counter),
            "io_bytes"
        );
        assert_eq!(
            family_name("lat", "seconds", Kind::Histogram),
            "lat_seconds"
        );
        assert_eq!(family_name("_total", "", Kind::Counter), "_total");
        assert_eq!(family_name("9a-b", "", Kind::Gauge), "_9a_b");
    }

    #[test]
    fn floats_round_trip_through_their_text_form() {
        for v in [0.0, 1.0, -2.5, 1e300, 5e-324, f64::MAX, 0.1 + 0.2, 1024.0] {
            let s = fmt_float(v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
        assert_eq!(fmt_float(1024.0), "1024.0");
        assert_eq!(fmt_float(f64::INFINITY), "+Inf");
        assert_eq!(fmt_float(f64::NAN), "NaN");
    }
}
