//! Prometheus protobuf exposition with native histograms.
//!
//! Wire format: a stream of `io.prometheus.client.MetricFamily` messages, each prefixed with
//! its length as a varint (`encoding=delimited`). Histograms carry both the native part
//! (schema, zero bucket, positive spans and deltas) and the classic cumulative buckets, so a
//! scraper without native-histogram support still gets a usable histogram.
//!
//! # Why hand-written message types
//!
//! The messages below are the subset of `prometheus/client_model` `metrics.proto` (proto2) that
//! we emit, derived by hand with `#[derive(prost::Message)]` using the upstream field numbers
//! and types. Generating them with `prost-build` would need `protoc` at build time (a system
//! package or a vendored C++ build, slow on our 2-core CI) for eight small messages that have
//! not changed incompatibly since 2015. Unknown fields are skipped by every protobuf decoder, so
//! omitting the ones we never set (summaries, exemplars, timestamps) is wire compatible.

use prost::Message as _;
use tachymeter::{MetricSnapshot, MetricValue, Snapshot};

use crate::family::{classic_buckets, ExportConfig, Exposition, Family, Kind};

/// `Content-Type` of [`encode_protobuf`] output.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Threshold of the zero bucket: the engine's samples are non-negative integers, so any value
/// below 1 is equivalent; this is client_golang's default (2^-128), which also marks the
/// histogram as native for scrapers even when it is empty.
pub const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// `io.prometheus.client.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Monotonic counter.
    Counter = 0,
    /// Gauge.
    Gauge = 1,
    /// Summary (never emitted).
    Summary = 2,
    /// Untyped (never emitted).
    Untyped = 3,
    /// Histogram.
    Histogram = 4,
    /// Gauge histogram (never emitted).
    GaugeHistogram = 5,
}

/// `io.prometheus.client.MetricFamily`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    /// Family name (`_total` included for counters).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Help text, unescaped.
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// Metric type.
    #[prost(enumeration = "MetricType", optional, tag = "3")]
    pub r#type: Option<i32>,
    /// One entry per label set.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
    /// Unit (newer client_model field; older decoders skip it).
    #[prost(string, optional, tag = "5")]
    pub unit: Option<String>,
}

/// `io.prometheus.client.Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Labels, unescaped.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// Set for gauges.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    /// Set for counters.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    /// Set for histograms.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
}

/// `io.prometheus.client.LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// Label name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Label value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `io.prometheus.client.Gauge`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// Current value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Counter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Counter {
    /// Total.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Histogram` (integer counts; no float-count or exemplar fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Number of samples.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Sum of samples.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Classic cumulative buckets, ascending, without `+Inf`.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    /// Native schema (-4..=8).
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    /// Samples with absolute value <= this go to the zero bucket.
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    /// Zero bucket count.
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    /// Spans of populated positive buckets.
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    /// Positive bucket counts, each as the difference to the previous bucket's count.
    /// proto2 `repeated sint64` is unpacked on the wire.
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub positive_delta: Vec<i64>,
}

/// `io.prometheus.client.Bucket` (classic).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
    /// Samples `<= upper_bound`.
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    /// Inclusive upper bound.
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
}

/// `io.prometheus.client.BucketSpan`: `length` consecutive buckets starting `offset` buckets
/// after the end of the previous span (after index 0's predecessor for the first span).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Gap to the previous span (absolute start index for the first span).
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    /// Number of consecutive buckets.
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

/// Encodes `snapshot` as length-delimited `MetricFamily` messages.
pub fn encode_protobuf(snapshot: &Snapshot, config: &ExportConfig) -> Vec<u8> {
    let mut out = Vec::new();
    for family in metric_families(snapshot, config) {
        // Writing into a Vec cannot run out of space.
        family
            .encode_length_delimited(&mut out)
            .expect("Vec<u8> grows on demand");
    }
    out
}

/// The protobuf messages for `snapshot`, in exposition order.
pub fn metric_families(snapshot: &Snapshot, config: &ExportConfig) -> Vec<MetricFamily> {
    Exposition::build(snapshot)
        .families
        .iter()
        .map(|family| to_proto(family, config))
        .collect()
}

fn to_proto(family: &Family<'_>, config: &ExportConfig) -> MetricFamily {
    let r#type = match family.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    };
    MetricFamily {
        name: Some(family.legacy_name()),
        help: Some(family.help.to_owned()),
        r#type: Some(r#type as i32),
        metric: family
            .series
            .iter()
            .map(|m| to_metric(m, family, config))
            .collect(),
        unit: (!family.unit.is_empty()).then(|| family.unit.clone()),
    }
}

fn to_metric(metric: &MetricSnapshot, family: &Family<'_>, config: &ExportConfig) -> Metric {
    let label = metric
        .desc
        .labels
        .iter()
        .map(|(k, v)| LabelPair {
            name: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect();
    let mut out = Metric {
        label,
        gauge: None,
        counter: None,
        histogram: None,
    };
    match &metric.value {
        MetricValue::Counter(c) => {
            out.counter = Some(Counter {
                value: Some(c.total as f64 / family.value_divisor),
            })
        }
        MetricValue::Events(e) => {
            out.counter = Some(Counter {
                value: Some(e.total as f64),
            })
        }
        MetricValue::Records(r) => {
            out.counter = Some(Counter {
                value: Some(r.total as f64),
            })
        }
        MetricValue::Gauge(g) => {
            out.gauge = Some(Gauge {
                value: Some(g.value / family.value_divisor),
            })
        }
        MetricValue::Histogram(h) => {
            out.histogram = Some(native_histogram(h, config, family));
        }
        // Exposition::build drops kinds it does not know.
        _ => {}
    }
    out
}

/// Native + classic protobuf histogram of `data`.
///
/// Native buckets are exact only in the unit the data are stored in: a histogram whose
/// exported unit differs from its stored steps (time units: nanoseconds exported as seconds)
/// gets its classic buckets only, since `base^i` nanoseconds are no `base^j` seconds.
fn native_histogram(
    h: &tachymeter::HistogramSnapshot,
    config: &ExportConfig,
    family: &Family<'_>,
) -> Histogram {
    let data = &h.cumulative;
    let steps = family.step_divisor;
    let bucket = classic_buckets(data, &config.layout_for(family.registered, h))
        .into_iter()
        .map(|(le, count)| Bucket {
            cumulative_count: Some(count),
            upper_bound: Some(le / steps),
        })
        .collect();
    let mut h = Histogram {
        sample_count: Some(data.count()),
        sample_sum: Some(data.sum() as f64 / steps),
        bucket,
        schema: None,
        zero_threshold: None,
        zero_count: None,
        positive_span: Vec::new(),
        positive_delta: Vec::new(),
    };
    if steps == 1.0 {
        let (positive_span, positive_delta) = spans_and_deltas(data.buckets());
        h.schema = Some(i32::from(data.schema()));
        h.zero_threshold = Some(ZERO_THRESHOLD);
        h.zero_count = Some(data.zero_count());
        h.positive_span = positive_span;
        h.positive_delta = positive_delta;
    }
    h
}

/// Native buckets (ascending index, non-zero count) as spans plus count deltas.
pub(crate) fn spans_and_deltas(
    buckets: impl Iterator<Item = (i32, u64)>,
) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut previous_index: Option<i32> = None;
    let mut previous_count = 0i64;
    for (index, count) in buckets {
        match previous_index {
            Some(p) if index == p + 1 => {
                let span = spans
                    .last_mut()
                    .expect("a span is open after the first bucket");
                span.length = Some(span.length.unwrap_or(0) + 1);
            }
            Some(p) => spans.push(BucketSpan {
                offset: Some(index - p - 1),
                length: Some(1),
            }),
            None => spans.push(BucketSpan {
                offset: Some(index),
                length: Some(1),
            }),
        }
        // Counts fit in i64 (fewer than 2^63 samples); deltas are what the format stores.
        let count = count as i64;
        deltas.push(count - previous_count);
        previous_count = count;
        previous_index = Some(index);
    }
    (spans, deltas)
}

/// Inverse of [`spans_and_deltas`]: `(index, count)` pairs (test oracle and fuzz check).
#[cfg(any(fuzzing, test))]
pub(crate) fn expand_spans(spans: &[BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let mut index = 0i32;
    let mut count = 0i64;
    let mut deltas = deltas.iter();
    for (n, span) in spans.iter().enumerate() {
        index += span.offset.unwrap_or(0) + i32::from(n > 0);
        for k in 0..span.length.unwrap_or(0) {
            if k > 0 {
                index += 1;
            }
            count += deltas.next().copied().unwrap_or(0);
            out.push((index, count as u64));
        }
    }
    out
}
