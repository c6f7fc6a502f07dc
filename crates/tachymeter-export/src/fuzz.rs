//! Fuzz bodies and round-trip checkers for the encoders (only with `cfg(fuzzing)` or `test`).
//!
//! [`encoders`] is the body of the `fuzz/` target: it turns arbitrary bytes into a registry
//! (names, help, units, labels, values; the registry rejects what it must), publishes a
//! snapshot and runs [`check_formats`] on it. [`check_formats`] encodes a snapshot in every
//! format and reads each output back with an independent reader — a strict line parser for the
//! two text formats (written from the format specs, not from our encoder), `prost` decoding for
//! protobuf, `serde_json` and the `csv` reader — and compares what it read with the snapshot:
//!
//! - text, OpenMetrics and protobuf parse; every series they contain belongs to a snapshot
//!   metric, with the same help, labels and values; every snapshot metric is present unless
//!   its names collide with another family's;
//! - histogram `le` buckets are cumulative, end at `+Inf` = count, and equal the count of
//!   native buckets whose integer range lies at or below `le`; the protobuf native buckets
//!   expand back to the snapshot's native buckets;
//! - JSON and CSV read back to the same names, help, units, labels and values.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost::Message as _;
use tachymeter::histogram::HistogramData;
use tachymeter::{
    Engine, HistogramConfig, MetricKind, MetricSnapshot, MetricValue, Opts, Snapshot,
};

use crate::family::{classic_buckets, ExportConfig};
use crate::proto::{expand_spans, MetricFamily, MetricType};
use crate::{csv_rows, encode_csv, encode_json, encode_openmetrics, encode_protobuf, encode_text};
use crate::{CsvRow, SnapshotDoc};

/// Fuzz body: builds a registry from `data`, records into it, and checks every format.
///
/// # Panics
/// When an encoder's output does not read back to the snapshot (that is the bug to find).
pub fn encoders(data: &[u8]) {
    let mut bytes = Bytes(data);
    let engine = Engine::builder()
        .background(false)
        .build()
        .expect("default engine builds");
    let mut recorded = Vec::new();
    while let Some(op) = bytes.byte() {
        let name = bytes.string(12);
        let mut opts = Opts::new(name).help(bytes.string(16)).unit(bytes.string(6));
        for _ in 0..bytes.byte().unwrap_or(0) % 3 {
            opts = opts.label(bytes.string(6), bytes.string(12));
        }
        let value = bytes.u64();
        match op % 4 {
            0 => {
                if let Ok(c) = engine.counter(opts) {
                    c.add(value);
                }
            }
            1 => {
                if let Ok(g) = engine.gauge(opts) {
                    g.set(f64::from_bits(value));
                }
            }
            2 => {
                let schema = (bytes.byte().unwrap_or(0) % 13) as i8 - 4;
                if let Ok(h) =
                    engine.histogram_with(opts, HistogramConfig::default().schema(schema))
                {
                    for _ in 0..=(value % 8) {
                        let v = bytes.u64() >> (bytes.byte().unwrap_or(0) % 64);
                        h.record(v);
                        recorded.push(v);
                    }
                }
            }
            _ => {
                if let Ok(e) = engine.events(opts) {
                    e.record(value as u32);
                }
            }
        }
    }
    let snapshot = engine.flush();
    let layout = match bytes.byte() {
        Some(b) if b % 2 == 0 => crate::ClassicBuckets::Schema((b % 9) as i8 - 4),
        Some(_) => crate::ClassicBuckets::Explicit(
            (0..4).map(|_| f64::from_bits(bytes.u64()) % 1e6).collect(),
        ),
        None => crate::ClassicBuckets::default(),
    };
    let config = ExportConfig::default().default_buckets(layout);
    if let Err(e) = check_formats(&snapshot, &config) {
        panic!("{e}");
    }
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = (v << 8) | u64::from(self.byte().unwrap_or(0));
        }
        v
    }
    /// Up to `max` bytes, lossily decoded, biased towards name characters.
    fn string(&mut self, max: usize) -> String {
        let len = usize::from(self.byte().unwrap_or(0)) % (max + 1);
        let take = len.min(self.0.len());
        let (head, rest) = self.0.split_at(take);
        self.0 = rest;
        head.iter()
            .map(|&b| match b {
                0..=25 => char::from(b'a' + b),
                26..=35 => char::from(b'0' + b - 26),
                36 => '_',
                37 => ':',
                38 => '"',
                39 => '\\',
                40 => '\n',
                41 => 'é',
                42 => '\u{1F600}',
                b => char::from(b),
            })
            .collect()
    }
}

/// A metric family read back from a text format.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedFamily {
    /// Name on the `# TYPE` line.
    pub name: String,
    /// `counter`, `gauge`, `histogram`, ...
    pub kind: String,
    /// Unescaped `# HELP` text.
    pub help: Option<String>,
    /// `# UNIT` (OpenMetrics).
    pub unit: Option<String>,
    /// Samples in order.
    pub samples: Vec<ParsedSample>,
}

/// A sample read back from a text format.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSample {
    /// Sample name.
    pub name: String,
    /// Labels in order, unescaped.
    pub labels: Vec<(String, String)>,
    /// The value as written.
    pub value: String,
}

/// Strict reader for Prometheus text 0.0.4 (`openmetrics = false`) and OpenMetrics 1.0.
///
/// # Errors
/// A description of the first line that does not follow the format.
pub fn parse_text(input: &str, openmetrics: bool) -> Result<Vec<ParsedFamily>, String> {
    let mut families: Vec<ParsedFamily> = Vec::new();
    let mut seen = HashSet::new();
    if input.is_empty() && !openmetrics {
        return Ok(families);
    }
    let body = input
        .strip_suffix('\n')
        .ok_or("output does not end with a newline")?;
    let lines = body.split('\n').enumerate();
    let mut eof = false;
    for (n, line) in lines {
        let err = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        if eof {
            return Err(err("content after # EOF"));
        }
        if openmetrics && line == "# EOF" {
            eof = true;
            continue;
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let (keyword, rest) = meta.split_once(' ').ok_or_else(|| err("bad metadata"))?;
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            if !is_metric_name(name) {
                return Err(err("bad metric name"));
            }
            if !matches!(families.last(), Some(f) if f.name == name) {
                if !seen.insert(name.to_owned()) {
                    return Err(err("family is not contiguous"));
                }
                families.push(ParsedFamily {
                    name: name.to_owned(),
                    ..ParsedFamily::default()
                });
            }
            let family = families.last_mut().expect("pushed above");
            match keyword {
                "HELP" if family.help.is_none() => {
                    family.help = Some(unescape(text, openmetrics).map_err(|e| err(&e))?);
                }
                "TYPE" if family.kind.is_empty() && family.samples.is_empty() => {
                    family.kind = text.to_owned();
                }
                "UNIT" if openmetrics && family.unit.is_none() => {
                    if !name.ends_with(&format!("_{text}")) {
                        return Err(err("family name does not end with the unit"));
                    }
                    family.unit = Some(text.to_owned());
                }
                _ => return Err(err("unexpected or repeated metadata")),
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            if openmetrics {
                return Err(err("blank line or comment"));
            }
            continue;
        }
        let sample = parse_sample(line, openmetrics).map_err(|e| err(&e))?;
        let family = families
            .last_mut()
            .ok_or_else(|| err("sample before metadata"))?;
        let suffixes: &[&str] = match (family.kind.as_str(), openmetrics) {
            ("counter", true) => &["_total", "_created"],
            ("histogram", true) => &["_bucket", "_sum", "_count", "_created"],
            ("histogram", false) => &["_bucket", "_sum", "_count"],
            _ => &[""],
        };
        let ok = suffixes
            .iter()
            .any(|s| sample.name == format!("{}{}", family.name, s));
        if !ok {
            return Err(err("sample does not belong to the current family"));
        }
        family.samples.push(sample);
    }
    if openmetrics && !eof {
        return Err("OpenMetrics output lacks # EOF".to_owned());
    }
    Ok(families)
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// HELP text: `\\` and `\n` (and `\"` in OpenMetrics); any other escape is an error.
fn unescape(text: &str, openmetrics: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if openmetrics => out.push('"'),
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

fn parse_sample(line: &str, openmetrics: bool) -> Result<ParsedSample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err("bad sample name".to_owned());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            if !labels.is_empty() {
                rest = rest.strip_prefix(',').ok_or("expected ,")?;
            }
            let eq = rest.find('=').ok_or("expected =")?;
            let label = &rest[..eq];
            let mut chars = label.chars();
            let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("bad label name {label:?}"));
            }
            rest = rest[eq + 1..].strip_prefix('"').ok_or("expected \"")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => return Err(format!("bad escape \\{other:?} in label value")),
                    },
                    (_, '\n') => return Err("raw newline in label value".to_owned()),
                    (_, c) => value.push(c),
                }
            };
            rest = &rest[end + 1..];
            if labels.iter().any(|(k, _): &(String, String)| k == label) {
                return Err(format!("repeated label {label}"));
            }
            labels.push((label.to_owned(), value));
        }
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or("expected a space before the value")?;
    if value.contains(' ') {
        return Err("timestamps and exemplars are not expected".to_owned());
    }
    let numeric = match value {
        "+Inf" | "-Inf" | "NaN" => true,
        v => v.parse::<f64>().is_ok() && !v.contains(['i', 'I', 'n', 'N']),
    };
    if !numeric || (openmetrics && value.starts_with('.')) {
        return Err(format!("bad value {value:?}"));
    }
    Ok(ParsedSample {
        name: name.to_owned(),
        labels,
        value: value.to_owned(),
    })
}

/// What a checker expects of one snapshot metric, with names computed independently of the
/// encoder: OpenMetrics family = name (minus `_total` for counters) plus `_unit` unless already
/// there; `_total` for counter samples.
struct Expected<'s> {
    metric: &'s MetricSnapshot,
    family: String,
    unit: String,
    help: &'s str,
    kind: &'static str,
}

fn expected_family(metric: &MetricSnapshot) -> Expected<'_> {
    let desc = &metric.desc;
    let counter = matches!(desc.kind, MetricKind::Counter | MetricKind::Events);
    // Characters outside the name alphabet become `_` (no `:` in units); a leading digit gets
    // a `_` prefix.
    let clean = |s: &str, colon: bool| {
        let s: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            format!("_{s}")
        } else {
            s
        }
    };
    let unit = clean(&desc.unit, false);
    let mut family = clean(&desc.name, true);
    if family.is_empty() {
        family.push('_');
    }
    if counter && family.len() > "_total".len() && family.ends_with("_total") {
        family.truncate(family.len() - "_total".len());
    }
    if !unit.is_empty() && !family.ends_with(&format!("_{unit}")) {
        family = format!("{family}_{unit}");
    }
    let kind = match desc.kind {
        MetricKind::Counter | MetricKind::Events | MetricKind::Records => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    };
    Expected {
        metric,
        family,
        unit,
        help: &metric.desc.help,
        kind,
    }
}

fn sorted(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut v = labels.to_vec();
    v.sort();
    v
}

/// Whether every snapshot metric's wire names are disjoint from every other family's, in
/// which case nothing may be left out of the exposition.
fn collision_free(expected: &[Expected<'_>]) -> bool {
    let mut owner: HashMap<String, &str> = HashMap::new();
    for e in expected {
        let suffixes: &[&str] = match e.kind {
            "counter" => &["", "_total", "_created"],
            "histogram" => &["", "_bucket", "_sum", "_count", "_created"],
            _ => &[""],
        };
        for s in suffixes {
            let registered = e.metric.desc.name.as_str();
            if *owner
                .entry(format!("{}{s}", e.family))
                .or_insert(registered)
                != registered
            {
                return false;
            }
        }
        let labels = &e.metric.desc.labels;
        let reserved = labels.iter().enumerate().any(|(i, (k, _))| {
            k.starts_with("__")
                || (e.kind == "histogram" && k == "le")
                || labels[..i].iter().any(|(other, _)| other == k)
        });
        if reserved {
            return false;
        }
    }
    true
}

/// Exact cumulative count at `le` from native buckets (integer samples).
fn oracle_cumulative(data: &HistogramData, le: f64) -> u64 {
    let zero = if le >= 0.0 { data.zero_count() } else { 0 };
    zero + data
        .buckets()
        .filter(|&(i, _)| HistogramData::bucket_bounds(data.schema(), i).1.floor() <= le)
        .map(|(_, c)| c)
        .sum::<u64>()
}

/// Encodes `snapshot` in every format, reads each back, and compares with the snapshot.
///
/// # Errors
/// A description of the first disagreement.
pub fn check_formats(snapshot: &Snapshot, config: &ExportConfig) -> Result<(), String> {
    // A family takes its name, help and unit from the first registration of its name.
    let mut first: HashMap<&str, Expected<'_>> = HashMap::new();
    let expected: Vec<Expected<'_>> = snapshot
        .metrics()
        .iter()
        .map(|metric| {
            let e = expected_family(metric);
            let head = first
                .entry(metric.desc.name.as_str())
                .or_insert_with(|| expected_family(metric));
            Expected {
                family: head.family.clone(),
                unit: head.unit.clone(),
                help: head.help,
                ..e
            }
        })
        .collect();
    let complete = collision_free(&expected);
    for openmetrics in [false, true] {
        let text = if openmetrics {
            encode_openmetrics(snapshot, config)
        } else {
            encode_text(snapshot, config)
        };
        let families = parse_text(&text, openmetrics).map_err(|e| format!("{e}\n{text}"))?;
        check_text(&families, &expected, complete, openmetrics)
            .map_err(|e| format!("{e}\n{text}"))?;
    }
    check_protobuf(
        &encode_protobuf(snapshot, config),
        &expected,
        complete,
        config,
    )?;
    check_json(snapshot)?;
    check_csv(snapshot)
}

fn check_text(
    families: &[ParsedFamily],
    expected: &[Expected<'_>],
    complete: bool,
    openmetrics: bool,
) -> Result<(), String> {
    let mut found = HashSet::new();
    for family in families {
        let base = if openmetrics || family.kind != "counter" {
            family.name.clone()
        } else {
            family
                .name
                .strip_suffix("_total")
                .ok_or("0.0.4 counter without _total")?
                .to_owned()
        };
        // Group this family's samples by label set (minus `le`).
        let mut series: BTreeMap<Vec<(String, String)>, Vec<&ParsedSample>> = BTreeMap::new();
        for s in &family.samples {
            let labels: Vec<_> = s
                .labels
                .iter()
                .filter(|(k, _)| k != "le" || family.kind != "histogram")
                .cloned()
                .collect();
            series.entry(sorted(&labels)).or_default().push(s);
        }
        for (labels, samples) in series {
            let e = expected
                .iter()
                .find(|e| e.family == base && sorted(&e.metric.desc.labels) == labels)
                .ok_or_else(|| format!("series {base}{labels:?} is not in the snapshot"))?;
            if e.kind != family.kind {
                return Err(format!("{base}: type {} != {}", family.kind, e.kind));
            }
            let help = e.help;
            if family.help.as_deref().unwrap_or("") != help {
                return Err(format!("{base}: help {:?} != {help:?}", family.help));
            }
            if openmetrics && family.unit.as_deref().unwrap_or("") != e.unit {
                return Err(format!("{base}: unit {:?} != {:?}", family.unit, e.unit));
            }
            check_series(e.metric, &base, &samples, openmetrics)?;
            if !found.insert((e.metric.desc.name.clone(), labels)) {
                return Err(format!("{base}: series repeated"));
            }
        }
    }
    if complete && found.len() != expected.len() {
        return Err(format!(
            "{} of {} series exposed",
            found.len(),
            expected.len()
        ));
    }
    Ok(())
}

fn value_of<'a>(samples: &[&'a ParsedSample], name: &str) -> Result<&'a str, String> {
    let mut it = samples.iter().filter(|s| s.name == name);
    let s = it.next().ok_or_else(|| format!("missing {name}"))?;
    if it.next().is_some() {
        return Err(format!("{name} repeated"));
    }
    Ok(&s.value)
}

fn check_series(
    metric: &MetricSnapshot,
    base: &str,
    samples: &[&ParsedSample],
    om: bool,
) -> Result<(), String> {
    let expect_eq = |what: &str, got: &str, want: String| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{base}: {what} {got} != {want}"))
        }
    };
    match &metric.value {
        MetricValue::Counter(c) => expect_eq(
            "total",
            value_of(samples, &format!("{base}_total"))?,
            c.total.to_string(),
        )?,
        MetricValue::Events(e) => expect_eq(
            "total",
            value_of(samples, &format!("{base}_total"))?,
            e.total.to_string(),
        )?,
        MetricValue::Gauge(g) => {
            let got: f64 = parse_value(value_of(samples, base)?)?;
            if got.to_bits() != g.value.to_bits() && !(got == g.value) {
                return Err(format!("{base}: gauge {got} != {}", g.value));
            }
        }
        MetricValue::Histogram(h) => {
            let data = &h.cumulative;
            expect_eq(
                "count",
                value_of(samples, &format!("{base}_count"))?,
                data.count().to_string(),
            )?;
            expect_eq(
                "sum",
                value_of(samples, &format!("{base}_sum"))?,
                data.sum().to_string(),
            )?;
            let buckets: Vec<(f64, u64)> = samples
                .iter()
                .filter(|s| s.name == format!("{base}_bucket"))
                .map(|s| {
                    let le = s
                        .labels
                        .iter()
                        .find(|(k, _)| k == "le")
                        .ok_or("bucket without le")?;
                    Ok((
                        parse_value(&le.1)?,
                        s.value.parse::<u64>().map_err(|e| e.to_string())?,
                    ))
                })
                .collect::<Result<_, String>>()?;
            let (last_le, last_count) = *buckets.last().ok_or("no buckets")?;
            if last_le != f64::INFINITY || last_count != data.count() {
                return Err(format!("{base}: last bucket ({last_le}, {last_count})"));
            }
            for pair in buckets.windows(2) {
                if pair[0].0 >= pair[1].0 || pair[0].1 > pair[1].1 {
                    return Err(format!(
                        "{base}: buckets not ascending/cumulative: {pair:?}"
                    ));
                }
            }
            for &(le, count) in &buckets[..buckets.len() - 1] {
                let want = oracle_cumulative(data, le);
                if count != want {
                    return Err(format!(
                        "{base}: bucket le={le} has {count}, native buckets say {want}"
                    ));
                }
            }
        }
        _ => return Err(format!("{base}: unknown metric kind")),
    }
    if om && !matches!(metric.value, MetricValue::Gauge(_)) {
        parse_value(value_of(samples, &format!("{base}_created"))?)?;
    }
    Ok(())
}

fn parse_value(v: &str) -> Result<f64, String> {
    match v {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        v => v.parse::<f64>().map_err(|e| format!("{v:?}: {e}")),
    }
}

fn check_protobuf(
    bytes: &[u8],
    expected: &[Expected<'_>],
    complete: bool,
    config: &ExportConfig,
) -> Result<(), String> {
    let mut rest = bytes;
    let mut found = 0;
    while !rest.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut rest).map_err(|e| e.to_string())?;
        let name = family.name.clone().unwrap_or_default();
        let kind = MetricType::try_from(family.r#type.unwrap_or(-1)).map_err(|e| e.to_string())?;
        let base = match kind {
            MetricType::Counter => name
                .strip_suffix("_total")
                .ok_or("counter without _total")?
                .to_owned(),
            _ => name.clone(),
        };
        for m in &family.metric {
            let labels: Vec<(String, String)> = m
                .label
                .iter()
                .map(|l| {
                    (
                        l.name.clone().unwrap_or_default(),
                        l.value.clone().unwrap_or_default(),
                    )
                })
                .collect();
            let e = expected
                .iter()
                .find(|e| e.family == base && sorted(&e.metric.desc.labels) == sorted(&labels))
                .ok_or_else(|| {
                    format!("protobuf series {name}{labels:?} is not in the snapshot")
                })?;
            found += 1;
            if family.help.as_deref().unwrap_or("") != e.help {
                return Err(format!("protobuf {name}: help differs"));
            }
            let ok = match (&e.metric.value, kind) {
                (MetricValue::Counter(c), MetricType::Counter) => {
                    m.counter.as_ref().and_then(|c| c.value) == Some(c.total as f64)
                }
                (MetricValue::Events(ev), MetricType::Counter) => {
                    m.counter.as_ref().and_then(|c| c.value) == Some(ev.total as f64)
                }
                (MetricValue::Gauge(g), MetricType::Gauge) => {
                    m.gauge.as_ref().and_then(|g| g.value).map(f64::to_bits)
                        == Some(g.value.to_bits())
                }
                (MetricValue::Histogram(h), MetricType::Histogram) => {
                    let data = &h.cumulative;
                    let p = m.histogram.as_ref().ok_or("histogram field missing")?;
                    let native = expand_spans(&p.positive_span, &p.positive_delta);
                    let classic: Vec<(f64, u64)> = p
                        .bucket
                        .iter()
                        .map(|b| {
                            (
                                b.upper_bound.unwrap_or(f64::NAN),
                                b.cumulative_count.unwrap_or(0),
                            )
                        })
                        .collect();
                    p.sample_count == Some(data.count())
                        && p.sample_sum == Some(data.sum() as f64)
                        && p.schema == Some(i32::from(data.schema()))
                        && p.zero_count == Some(data.zero_count())
                        && p.zero_threshold.is_some_and(|t| t > 0.0 && t < 1.0)
                        && native == data.buckets().collect::<Vec<_>>()
                        && classic
                            .iter()
                            .all(|&(le, c)| c == oracle_cumulative(data, le))
                        && classic
                            == classic_buckets(data, &config.layout_for(&e.metric.desc.name, h))
                }
                _ => false,
            };
            if !ok {
                return Err(format!("protobuf {name}{labels:?}: value differs: {m:?}"));
            }
        }
    }
    if complete && found != expected.len() {
        return Err(format!("protobuf: {found} of {} series", expected.len()));
    }
    Ok(())
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
        (None, None) => true,
        _ => false,
    }
}

fn check_json(snapshot: &Snapshot) -> Result<(), String> {
    let bytes = encode_json(snapshot);
    let doc: SnapshotDoc = serde_json::from_slice(&bytes).map_err(|e| format!("json: {e}"))?;
    let want = SnapshotDoc::from_snapshot(snapshot);
    if doc.metrics.len() != snapshot.metrics().len() || doc.sequence != snapshot.sequence() {
        return Err("json: metric count or sequence differs".to_owned());
    }
    for ((got, want), metric) in doc
        .metrics
        .iter()
        .zip(&want.metrics)
        .zip(snapshot.metrics())
    {
        let desc = &metric.desc;
        let labels: BTreeMap<String, String> = desc.labels.iter().cloned().collect();
        if got.name != desc.name
            || got.help != desc.help
            || got.unit != desc.unit
            || got.labels != labels
        {
            return Err(format!("json: description of {} differs", desc.name));
        }
        let same = match (&metric.value, got) {
            (MetricValue::Counter(c), d) => d
                .counter
                .as_ref()
                .is_some_and(|d| d.total == c.total && d.delta == c.delta),
            (MetricValue::Gauge(g), d) => close(d.gauge, Some(g.value).filter(|v| v.is_finite())),
            (MetricValue::Histogram(h), d) => d.histogram.as_ref().is_some_and(|d| {
                d.cumulative.count == h.cumulative.count()
                    && d.cumulative.sum_steps == h.cumulative.sum()
                    && d.steps_per_unit == h.steps_per_unit
                    && close(
                        d.cumulative.p99.map(|v| v * h.steps_per_unit),
                        h.cumulative.p99(),
                    )
                    && d.window.count == h.window.count()
                    && d.buckets == h.cumulative.buckets().collect::<Vec<_>>()
                    && close(d.window.p50.map(|v| v * h.steps_per_unit), h.window.p50())
                    && close(d.throughput, Some(h.throughput))
            }),
            (MetricValue::Events(e), d) => d.events.as_ref().is_some_and(|d| d.total == e.total),
            _ => false,
        };
        if !same || got.kind != want.kind {
            return Err(format!("json: value of {} differs: {got:?}", desc.name));
        }
    }
    Ok(())
}

fn check_csv(snapshot: &Snapshot) -> Result<(), String> {
    let bytes = encode_csv(snapshot);
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let rows: Vec<CsvRow> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("csv: {e}"))?;
    let want = csv_rows(snapshot);
    if rows.len() != want.len() {
        return Err(format!("csv: {} rows, want {}", rows.len(), want.len()));
    }
    let mut metrics = snapshot.metrics().iter();
    let mut current = None;
    for row in &rows {
        if row.scope != "window" && row.scope != "interval" {
            current = metrics.next();
        }
        let metric = current.ok_or("csv: more rows than metrics")?;
        let desc = &metric.desc;
        let labels: BTreeMap<String, String> =
            serde_json::from_str(&row.labels).map_err(|e| format!("csv labels: {e}"))?;
        if row.name != desc.name
            || row.help != desc.help
            || row.unit != desc.unit
            || labels != desc.labels.iter().cloned().collect()
        {
            return Err(format!(
                "csv: description of {} differs: {row:?}",
                desc.name
            ));
        }
        let ok = match &metric.value {
            MetricValue::Counter(c) => row.count == Some(c.total),
            MetricValue::Gauge(g) => close(row.value, Some(g.value).filter(|v| v.is_finite())),
            MetricValue::Events(e) => row.count == Some(e.total.into()),
            MetricValue::Histogram(h) => {
                let data = match row.scope.as_str() {
                    "cumulative" => &h.cumulative,
                    "window" => &h.window,
                    _ => &h.interval,
                };
                let in_unit = |v: Option<f64>| v.map(|v| v / h.steps_per_unit);
                row.count == Some(data.count().into())
                    && close(row.sum, in_unit(Some(data.sum() as f64)))
                    && close(row.p99, in_unit(data.p99()))
            }
            _ => false,
        };
        if !ok {
            return Err(format!("csv: value of {} differs: {row:?}", desc.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod corpus_replay {
    /// Replays the checked-in `fuzz/corpus/encoders/*` through [`super::encoders`] on stable.
    #[test]
    fn replay_encoders_corpus() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/encoders");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/encoders exists") {
            super::encoders(&std::fs::read(entry.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n > 0, "empty corpus");
    }
}
