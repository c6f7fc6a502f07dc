//! HdrHistogram interop: a tachymeter engine's interval histograms written as HdrHistogram
//! interval logs (V2, deflate-compressed), so HdrHistogram tooling (HistogramLogAnalyzer,
//! `HistogramLogProcessor`, the `hdrhistogram` crate's log reader) can read them.
//!
//! This is a bridge above the engine: it reads published snapshots only.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use tachymeter_hdr::{write_interval_log, LogOptions};
//!
//! let engine = tachymeter::Engine::builder().background(false).build().unwrap();
//! let latency = engine.histogram(tachymeter::Opts::new("latency").unit("seconds")).unwrap();
//! let mut snapshots = Vec::new();
//! for ms in [3, 5, 8] {
//!     latency.record_duration(Duration::from_millis(ms));
//!     snapshots.push(engine.flush()); // one interval each
//! }
//! let mut log = Vec::new();
//! let written = write_interval_log(&mut log, SystemTime::now(), &snapshots, &LogOptions::default()).unwrap();
//! assert_eq!(written, 3);
//! assert!(String::from_utf8_lossy(&log).contains("Tag=latency"));
//! ```
//!
//! # What is written
//!
//! One log line per histogram series per snapshot, for the snapshot's last interval
//! (`HistogramSnapshot::interval`): start time (relative to the log's start time), duration,
//! the interval's maximum, and the histogram, tagged with the series' name and labels
//! (`name{k=v;k2=v2}`; characters HdrHistogram forbids in tags — space, comma, line breaks —
//! become `_`). Empty intervals are skipped.
//!
//! Values are the engine's stored steps (nanoseconds for time units), with the log's
//! `MaxValueDivisor` set so the max column reads in the metric's base unit (seconds).
//!
//! # Precision
//!
//! The engine keeps log-linear buckets, not raw values: each bucket's count is recorded at the
//! bucket's geometric midpoint (the zero bucket at 0) into an HdrHistogram with 3 significant
//! digits. A quantile read from the log is therefore within the engine's relative error bound
//! (0.54% at the default schema 6) plus HdrHistogram's 0.1% of the exact value. Counts are exact.
//!
//! # Coordinated omission
//!
//! A loop that is expected to record every `expected_interval` but stalls records one long
//! value instead of the many it missed. With [`LogOptions::expected_interval`] set, each value
//! `v > expected_interval` is recorded with HdrHistogram's correction (`record_n_correct`),
//! which adds the values `v − k·expected_interval` the stalled loop would have seen. The
//! correction applies to the written log only, never to the engine. The added values start
//! from the bucket's midpoint, so each carries the absolute error of the value it derives from
//! (at most the bound times `v`, a larger share of the smaller added values).
//!
//! `tests/log.rs` reads the log back with the `hdrhistogram` crate's own reader and checks it.
#![forbid(unsafe_code)]

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use std::io;
use std::time::{Duration, SystemTime};
use tachymeter::histogram::HistogramData;
use tachymeter::{MetricValue, Snapshot};

/// How a log is written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogOptions {
    /// Significant digits of the written histograms (1–5, default 3).
    pub significant_digits: u8,
    /// The expected interval between records, in stored steps (nanoseconds for time units),
    /// for coordinated-omission correction; `None` (default): no correction.
    pub expected_interval: Option<u64>,
    /// Only series whose name passes this filter (default: every histogram).
    pub names: Option<Vec<String>>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            significant_digits: 3,
            expected_interval: None,
            names: None,
        }
    }
}

impl LogOptions {
    /// With coordinated-omission correction at `interval` (converted to nanoseconds: for
    /// histograms in a time unit).
    #[must_use]
    pub fn expected_interval(mut self, interval: Duration) -> Self {
        self.expected_interval = Some(u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX));
        self
    }

    /// Histograms written with `digits` significant digits (1–5; others fail at write time).
    #[must_use]
    pub fn significant_digits(mut self, digits: u8) -> Self {
        self.significant_digits = digits;
        self
    }

    /// Only the histograms named in `names`.
    #[must_use]
    pub fn only<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }
}

/// Why a log could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum LogError {
    /// Writing to the output failed.
    Io(io::Error),
    /// HdrHistogram refused a histogram (creation or serialization).
    Hdr(String),
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogError::Io(e) => write!(f, "writing the interval log: {e}"),
            LogError::Hdr(e) => write!(f, "hdrhistogram: {e}"),
        }
    }
}

impl std::error::Error for LogError {}

impl From<io::Error> for LogError {
    fn from(e: io::Error) -> Self {
        LogError::Io(e)
    }
}

/// `data` as an HdrHistogram: each bucket's count at its geometric midpoint (see the crate
/// docs), with coordinated-omission correction if `expected_interval` is set.
///
/// # Errors
/// HdrHistogram refused the configuration (significant digits outside 1–5).
pub fn to_hdr(
    data: &HistogramData,
    significant_digits: u8,
    expected_interval: Option<u64>,
) -> Result<Histogram<u64>, LogError> {
    let mut h =
        Histogram::<u64>::new(significant_digits).map_err(|e| LogError::Hdr(format!("{e:?}")))?;
    let mut record = |value: u64, count: u64| -> Result<(), LogError> {
        let r = match expected_interval {
            Some(interval) if interval > 0 => h.record_n_correct(value, count, interval),
            _ => h.record_n(value, count),
        };
        r.map_err(|e| LogError::Hdr(format!("{e:?}")))
    };
    if data.zero_count() > 0 {
        record(0, data.zero_count())?;
    }
    let schema = data.schema();
    for (index, count) in data.buckets() {
        let (low, high) = HistogramData::bucket_bounds(schema, index);
        // The geometric midpoint, inside the bucket's integer range (samples are integers).
        let mid = (low.max(0.5) * high)
            .sqrt()
            .round()
            .clamp(low.floor() + 1.0, high.floor().max(1.0));
        record(mid as u64, count)?;
    }
    Ok(h)
}

/// The HdrHistogram tag of a series: `name` or `name{k=v;k2=v2}`, with characters HdrHistogram
/// forbids replaced by `_`.
pub fn tag_of(name: &str, labels: &[(String, String)]) -> String {
    let mut s = name.to_string();
    if !labels.is_empty() {
        s.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(';');
            }
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        s.push('}');
    }
    s.chars()
        .map(|c| {
            if matches!(c, ' ' | ',' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Writes an interval log of `snapshots` (one engine's snapshots in publication order, e.g. one
/// per interval of a run) to `out`, with `start` as the log's start time, and returns the
/// number of histogram lines written. See the crate docs for what is written.
///
/// # Errors
/// Writing failed, or HdrHistogram refused a histogram.
pub fn write_interval_log<W: io::Write>(
    out: &mut W,
    start: SystemTime,
    snapshots: &[std::sync::Arc<Snapshot>],
    options: &LogOptions,
) -> Result<usize, LogError> {
    let mut serializer = V2DeflateSerializer::new();
    let divisor = max_value_divisor(snapshots);
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("Written by tachymeter-hdr from engine interval histograms")
        .with_start_time(start)
        .with_max_value_divisor(divisor)
        .begin_log_with(out, &mut serializer)?;
    let mut lines = 0;
    for snap in snapshots {
        let end = snap.time();
        let interval = snap.interval();
        let begin = end.checked_sub(interval).unwrap_or(end);
        let offset = begin.duration_since(start).unwrap_or(Duration::ZERO);
        for m in snap.metrics() {
            let MetricValue::Histogram(h) = &m.value else {
                continue;
            };
            if let Some(names) = &options.names {
                if !names.iter().any(|n| *n == m.desc.name) {
                    continue;
                }
            }
            if h.interval.count() == 0 {
                continue;
            }
            let hdr = to_hdr(
                &h.interval,
                options.significant_digits,
                options.expected_interval,
            )?;
            let tag = tag_of(&m.desc.name, &m.desc.labels);
            writer
                .write_histogram(&hdr, offset, interval, Tag::new(&tag))
                .map_err(|e| LogError::Hdr(format!("{e:?}")))?;
            lines += 1;
        }
    }
    Ok(lines)
}

/// Steps per base unit of the snapshots' histograms (1e9 when they are in a time unit), so the
/// log's max column reads in seconds; 1 when the histograms disagree.
fn max_value_divisor(snapshots: &[std::sync::Arc<Snapshot>]) -> f64 {
    let mut divisor = None;
    for s in snapshots {
        for m in s.metrics() {
            if let MetricValue::Histogram(_) = &m.value {
                let d = m.desc.unit_kind().steps_per_base();
                match divisor {
                    None => divisor = Some(d),
                    Some(x) if x != d => return 1.0,
                    Some(_) => {}
                }
            }
        }
    }
    divisor.unwrap_or(1.0)
}
