//! The OTLP metrics messages we send, as hand-derived `prost` types.
//!
//! The subset of `opentelemetry-proto` (proto3) that an export request of sums, gauges and
//! exponential histograms needs: `collector/metrics/v1/metrics_service.proto`
//! (`ExportMetricsServiceRequest`), `metrics/v1/metrics.proto`, `common/v1/common.proto` and
//! `resource/v1/resource.proto`, with the upstream field numbers and wire types (checked
//! against the descriptors of the Python `opentelemetry-proto` 1.45 package, which the tests
//! also decode our bodies with). Fields we never set (exemplars, flags, metadata, entity
//! references, negative buckets, the other data kinds) are left out: a decoder skips what it
//! does not know and reads what is absent as its default, so this is wire compatible.
//!
//! # Why not the `opentelemetry-proto` crate
//!
//! Its message types come with the gRPC stack (`tonic`, `tonic-prost` and their `http`/`tower`
//! dependencies) under the `gen-tonic-messages` feature, and its `prost` version has to move in
//! step with ours. We send one request type over plain HTTP; fifteen small messages whose field
//! numbers are frozen by the OTLP stability guarantees are cheaper to own than that graph, and
//! `tachymeter-export` already derives the Prometheus messages the same way (no `protoc`).

/// `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest`: the body of
/// `POST /v1/metrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsServiceRequest {
    /// One entry per resource (we send one).
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `opentelemetry.proto.metrics.v1.ResourceMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceMetrics {
    /// The entity producing the metrics (`service.name`, …).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// One entry per instrumentation scope (we send one: `tachymeter`).
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
    /// Semantic-conventions schema URL (unset).
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `opentelemetry.proto.resource.v1.Resource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// Resource attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped for exceeding limits (always 0).
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

/// `opentelemetry.proto.metrics.v1.ScopeMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeMetrics {
    /// The instrumentation scope.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// Semantic-conventions schema URL (unset).
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `opentelemetry.proto.common.v1.InstrumentationScope`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstrumentationScope {
    /// Scope name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Scope version.
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `opentelemetry.proto.common.v1.KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// Attribute key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Attribute value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

impl KeyValue {
    /// A string-valued attribute.
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
        }
    }
}

/// `opentelemetry.proto.common.v1.AnyValue` (scalar variants only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    /// The value.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4")]
    pub value: Option<any_value::Value>,
}

/// The `value` oneof of [`AnyValue`].
pub mod any_value {
    /// `AnyValue.value` (arrays, key-value lists and bytes left out).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `string_value = 1`.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// `bool_value = 2`.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// `int_value = 3`.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// `double_value = 4`.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
    }
}

/// `opentelemetry.proto.metrics.v1.Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Metric name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Description (the registered help text).
    #[prost(string, tag = "2")]
    pub description: String,
    /// UCUM unit.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// The data points, by kind.
    #[prost(oneof = "metric::Data", tags = "5, 7, 10")]
    pub data: Option<metric::Data>,
}

/// The `data` oneof of [`Metric`].
pub mod metric {
    /// `Metric.data` (explicit-bucket histograms and summaries left out).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        /// `gauge = 5`.
        #[prost(message, tag = "5")]
        Gauge(super::Gauge),
        /// `sum = 7`.
        #[prost(message, tag = "7")]
        Sum(super::Sum),
        /// `exponential_histogram = 10`.
        #[prost(message, tag = "10")]
        ExponentialHistogram(super::ExponentialHistogram),
    }
}

/// `opentelemetry.proto.metrics.v1.AggregationTemporality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AggregationTemporality {
    /// Must not be used.
    Unspecified = 0,
    /// Each point covers the time since the previous point.
    Delta = 1,
    /// Each point covers the time since a fixed start.
    Cumulative = 2,
}

/// `opentelemetry.proto.metrics.v1.Gauge`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// One point per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// `opentelemetry.proto.metrics.v1.Sum`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sum {
    /// One point per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// Delta or cumulative.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
    /// True for counters.
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// `opentelemetry.proto.metrics.v1.ExponentialHistogram`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExponentialHistogram {
    /// One point per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
    /// Delta or cumulative.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
}

/// `opentelemetry.proto.metrics.v1.NumberDataPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NumberDataPoint {
    /// Series attributes (the metric's labels).
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval (sums), Unix nanoseconds.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// End of the aggregation interval / observation time, Unix nanoseconds.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// The value.
    #[prost(oneof = "number_data_point::Value", tags = "4, 6")]
    pub value: Option<number_data_point::Value>,
}

/// The `value` oneof of [`NumberDataPoint`].
pub mod number_data_point {
    /// `NumberDataPoint.value`.
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `as_double = 4`.
        #[prost(double, tag = "4")]
        AsDouble(f64),
        /// `as_int = 6`.
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

/// `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExponentialHistogramDataPoint {
    /// Series attributes (the metric's labels).
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval, Unix nanoseconds.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// End of the aggregation interval, Unix nanoseconds.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Number of observations (zero bucket included).
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Sum of observations.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// Bucket `i` covers `(base^i, base^(i+1)]`, `base = 2^(2^-scale)`.
    #[prost(sint32, tag = "6")]
    pub scale: i32,
    /// Observations of exactly 0 (the zero threshold is 0).
    #[prost(fixed64, tag = "7")]
    pub zero_count: u64,
    /// Positive buckets.
    #[prost(message, optional, tag = "8")]
    pub positive: Option<Buckets>,
    /// Smallest observation, when known exactly.
    #[prost(double, optional, tag = "12")]
    pub min: Option<f64>,
    /// Largest observation, when known exactly.
    #[prost(double, optional, tag = "13")]
    pub max: Option<f64>,
    /// Width of the zero bucket (0: exactly zero).
    #[prost(double, tag = "14")]
    pub zero_threshold: f64,
}

/// `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint.Buckets`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Buckets {
    /// Index of the first entry of `bucket_counts`.
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Dense counts from `offset` on (proto3 packed).
    #[prost(uint64, repeated, tag = "2")]
    pub bucket_counts: Vec<u64>,
}
