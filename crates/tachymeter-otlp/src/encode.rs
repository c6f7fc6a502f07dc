//! Snapshots to OTLP messages: [`OtlpEncoder`] keeps what delta temporality needs from one
//! export to the next.
//!
//! # Mapping
//!
//! | engine                         | OTLP                                                    |
//! |--------------------------------|---------------------------------------------------------|
//! | counter, event log, record log | `Sum`, monotonic; the total (cumulative) or its change   |
//! | gauge                          | `Gauge`, `as_double`                                     |
//! | histogram                      | `ExponentialHistogram`, native buckets one-to-one        |
//!
//! Every series of one registered name is one data point of one `Metric` (in order of first
//! registration), its labels the point's string attributes. `description` is the help text.
//!
//! # Exponential histograms
//!
//! The engine's native bucket `j` covers `(base^(j-1), base^j]` with `base = 2^(2^-schema)`;
//! OTLP's bucket `i` covers `(base^i, base^(i+1)]` with the same base at `scale = schema`. So
//! native bucket `j` is OTLP bucket `j − 1`: `scale = schema`, `offset = (first native index)
//! − 1`, and `bucket_counts` are the native counts, dense from there to the last non-empty
//! bucket. The engine's zero bucket holds exactly the value 0 (samples are non-negative
//! integers), so `zero_threshold = 0`. No bucket is merged or split: a receiver reconstructs
//! the engine's histogram exactly. Schemas −4..=8 are all valid OTLP scales (−10..=20).
//!
//! # Units
//!
//! Buckets are exact only in the unit the engine stores: a time histogram stores integer
//! nanoseconds, and `base^j` nanoseconds is no `base^i` seconds (changing the unit by a factor
//! that is not a power of two cannot be expressed by changing the scale). So histograms are
//! exported **in their stored steps**: time histograms with unit `ns` (sum, min and max in
//! nanoseconds too), ratio and percent histograms (stored in millionths of a ratio, which is
//! ten-thousandths of a percent) with unit `[ppm]`, the others in their registered unit.
//! A consumer that wants seconds divides the bounds by 1e9 at query time. Counters and gauges
//! are exported in their registered unit, unconverted. Units are UCUM as OTLP asks (`s`, `ms`,
//! `us`, `ns`, `min`, `h`, `d`, `By`, `1`, `%`); any other unit word `w` becomes the
//! annotation `{w}`.
//!
//! # Temporality
//!
//! *Cumulative*: each point covers the time from the series' last reset (or the engine's
//! start) to the snapshot. `min`/`max` are sent when they are exact (the engine knows them
//! exactly for a series never reset).
//!
//! *Delta*: each point covers the time since the previous export: counters send the change of
//! their total, histograms the bucket-wise difference of their cumulative data
//! (`HistogramData::delta_since`), whatever the engine's own interval. A series' first point,
//! or its first after a reset, covers the time from its reset (or the engine's start) and
//! carries all of its data. Delta points carry no `min`/`max` (the engine only knows bucket
//! bounds for them). Gauges are the same in both modes. An export that is dropped or fails
//! loses its delta; the next export does not repeat it.

use std::collections::HashMap;
use std::time::SystemTime;

use tachymeter::histogram::HistogramData;
use tachymeter::{HistogramSnapshot, MetricSnapshot, MetricValue, Snapshot, Unit};

use crate::proto::{
    metric, number_data_point, AggregationTemporality, Buckets, ExponentialHistogram,
    ExponentialHistogramDataPoint, ExportMetricsServiceRequest, Gauge, InstrumentationScope,
    KeyValue, Metric, NumberDataPoint, Resource, ResourceMetrics, ScopeMetrics, Sum,
};

/// How sums and histograms relate to time (see the [module docs](self#temporality)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Temporality {
    /// Every point covers the time since the series' start or last reset (the default; what
    /// Prometheus-compatible backends expect).
    #[default]
    Cumulative,
    /// Every point covers the time since the previous export.
    Delta,
}

impl Temporality {
    fn proto(self) -> i32 {
        match self {
            Temporality::Cumulative => AggregationTemporality::Cumulative as i32,
            Temporality::Delta => AggregationTemporality::Delta as i32,
        }
    }
}

/// Turns snapshots into `ExportMetricsServiceRequest`s.
///
/// In delta mode it remembers each series' last exported total or histogram, so one encoder
/// must see every snapshot of one engine, in order. The exporter owns one; use it directly to
/// write OTLP protobuf elsewhere (a file, another transport).
///
/// ```
/// use tachymeter_otlp::{OtlpEncoder, Temporality};
/// let engine = tachymeter::Engine::builder().background(false).build().unwrap();
/// let jobs = engine.counter("jobs_total").unwrap();
/// let mut encoder = OtlpEncoder::new(Temporality::Delta).resource("service.name", "worker");
/// jobs.add(5);
/// let first = encoder.encode(&engine.flush());
/// jobs.add(2);
/// let second = encoder.encode(&engine.flush());
/// # use tachymeter_otlp::proto::{metric::Data, number_data_point::Value};
/// let value = |r: &tachymeter_otlp::proto::ExportMetricsServiceRequest| {
///     match &r.resource_metrics[0].scope_metrics[0].metrics[0].data {
///         Some(Data::Sum(s)) => s.data_points[0].value,
///         _ => None,
///     }
/// };
/// assert_eq!(value(&first), Some(Value::AsInt(5)));
/// assert_eq!(value(&second), Some(Value::AsInt(2)));
/// ```
#[derive(Debug, Clone)]
pub struct OtlpEncoder {
    temporality: Temporality,
    resource: Vec<KeyValue>,
    /// Delta mode: each series' state at the previous export.
    previous: HashMap<SeriesKey, Previous>,
}

/// A series' identity across snapshots: name and labels as registered.
type SeriesKey = (String, Vec<(String, String)>);

#[derive(Debug, Clone)]
struct Previous {
    reset_at: Option<SystemTime>,
    time: SystemTime,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Total(u128),
    Histogram(HistogramData),
}

impl OtlpEncoder {
    /// An encoder with no resource attributes but `service.name = unknown_service` (what the
    /// OpenTelemetry SDKs send when none is configured).
    pub fn new(temporality: Temporality) -> OtlpEncoder {
        OtlpEncoder {
            temporality,
            resource: vec![KeyValue::string("service.name", "unknown_service")],
            previous: HashMap::new(),
        }
    }

    /// Sets a string resource attribute (`service.name`, `service.instance.id`,
    /// `deployment.environment.name`, …), replacing an earlier value of the same key.
    #[must_use]
    pub fn resource(mut self, key: impl Into<String>, value: impl Into<String>) -> OtlpEncoder {
        let attribute = KeyValue::string(key, value);
        match self.resource.iter_mut().find(|a| a.key == attribute.key) {
            Some(existing) => *existing = attribute,
            None => self.resource.push(attribute),
        }
        self
    }

    /// Changes the temporality (before the first export: the builder's setter).
    pub(crate) fn set_temporality(&mut self, temporality: Temporality) {
        self.temporality = temporality;
        self.previous.clear();
    }

    /// The temporality of sums and histograms.
    pub fn temporality(&self) -> Temporality {
        self.temporality
    }

    /// The request for `snapshot` (and, in delta mode, the state for the next one).
    pub fn encode(&mut self, snapshot: &Snapshot) -> ExportMetricsServiceRequest {
        let mut metrics: Vec<Metric> = Vec::new();
        // name -> position in `metrics`.
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        let mut previous = std::mem::take(&mut self.previous);
        for series in snapshot.metrics() {
            let Some(data) = self.point(series, snapshot, &mut previous) else {
                continue;
            };
            let desc = &*series.desc;
            match by_name.get(desc.name.as_str()) {
                Some(&at) => append(&mut metrics[at], data),
                None => {
                    by_name.insert(&desc.name, metrics.len());
                    metrics.push(Metric {
                        name: desc.name.clone(),
                        description: desc.help.clone(),
                        unit: unit_of(series),
                        data: Some(data),
                    });
                }
            }
        }
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: self.resource.clone(),
                    dropped_attributes_count: 0,
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "tachymeter".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// One series as a one-point `Metric.data`; `None` for kinds not exported. `previous`
    /// holds the last export's states not yet carried over to `self.previous`.
    fn point(
        &mut self,
        series: &MetricSnapshot,
        snapshot: &Snapshot,
        previous: &mut HashMap<SeriesKey, Previous>,
    ) -> Option<metric::Data> {
        let attributes: Vec<KeyValue> = series
            .desc
            .labels
            .iter()
            .map(|(k, v)| KeyValue::string(k, v))
            .collect();
        let time = snapshot.time();
        let since_reset = series.reset_at.unwrap_or_else(|| snapshot.started());
        let total = match &series.value {
            MetricValue::Counter(c) => Some(c.total),
            MetricValue::Events(e) => Some(u128::from(e.total)),
            MetricValue::Records(r) => Some(u128::from(r.total)),
            _ => None,
        };
        if let Some(total) = total {
            let (value, start) = match self.temporality {
                Temporality::Cumulative => (total, since_reset),
                Temporality::Delta => {
                    let key = key_of(series);
                    let earlier = previous.remove(&key);
                    let out = match earlier {
                        Some(Previous {
                            reset_at,
                            time: at,
                            state: State::Total(before),
                        }) if reset_at == series.reset_at && before <= total => {
                            (total - before, at)
                        }
                        _ => (total, since_reset),
                    };
                    self.remember(key, series, time, State::Total(total));
                    out
                }
            };
            return Some(metric::Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes,
                    start_time_unix_nano: unix_nanos(start),
                    time_unix_nano: unix_nanos(time),
                    value: Some(number(value)),
                }],
                aggregation_temporality: self.temporality.proto(),
                is_monotonic: true,
            }));
        }
        match &series.value {
            MetricValue::Gauge(g) => Some(metric::Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    attributes,
                    start_time_unix_nano: 0,
                    time_unix_nano: unix_nanos(time),
                    value: Some(number_data_point::Value::AsDouble(g.value)),
                }],
            })),
            MetricValue::Histogram(h) => {
                let cumulative = &h.cumulative;
                let mut point = match self.temporality {
                    Temporality::Cumulative => {
                        let mut point = exponential_point(cumulative);
                        if series.reset_at.is_none() {
                            point.min = cumulative.min().map(|v| v as f64);
                            point.max = cumulative.max().map(|v| v as f64);
                        }
                        point.start_time_unix_nano = unix_nanos(since_reset);
                        point
                    }
                    Temporality::Delta => {
                        let key = key_of(series);
                        let earlier = previous.remove(&key);
                        let point = match earlier {
                            Some(Previous {
                                reset_at,
                                time: at,
                                state: State::Histogram(before),
                            }) if reset_at == series.reset_at
                                && before.schema() == cumulative.schema()
                                && before.count() <= cumulative.count() =>
                            {
                                let mut point = exponential_point(&cumulative.delta_since(&before));
                                point.start_time_unix_nano = unix_nanos(at);
                                point
                            }
                            _ => {
                                let mut point = exponential_point(cumulative);
                                point.start_time_unix_nano = unix_nanos(since_reset);
                                point
                            }
                        };
                        self.remember(key, series, time, State::Histogram(cumulative.clone()));
                        point
                    }
                };
                point.attributes = attributes;
                point.time_unix_nano = unix_nanos(time);
                Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![point],
                    aggregation_temporality: self.temporality.proto(),
                }))
            }
            // A kind added to the engine later: not exported until mapped here.
            _ => None,
        }
    }

    fn remember(&mut self, key: SeriesKey, series: &MetricSnapshot, time: SystemTime, s: State) {
        self.previous.insert(
            key,
            Previous {
                reset_at: series.reset_at,
                time,
                state: s,
            },
        );
    }
}

/// Adds the single point of `data` to `metric` when both are the same kind (the engine keeps
/// one kind per name; a mismatch is skipped rather than sent as an invalid metric).
fn append(metric: &mut Metric, data: metric::Data) {
    use metric::Data;
    match (metric.data.as_mut(), data) {
        (Some(Data::Sum(a)), Data::Sum(b)) => a.data_points.extend(b.data_points),
        (Some(Data::Gauge(a)), Data::Gauge(b)) => a.data_points.extend(b.data_points),
        (Some(Data::ExponentialHistogram(a)), Data::ExponentialHistogram(b)) => {
            a.data_points.extend(b.data_points)
        }
        _ => {}
    }
}

fn key_of(series: &MetricSnapshot) -> SeriesKey {
    (series.desc.name.clone(), series.desc.labels.clone())
}

/// An integer total as `as_int` when it fits, else (beyond 2^63 - 1) as `as_double`.
fn number(total: u128) -> number_data_point::Value {
    match i64::try_from(total) {
        Ok(v) => number_data_point::Value::AsInt(v),
        Err(_) => number_data_point::Value::AsDouble(total as f64),
    }
}

/// The exponential-histogram point of `data` (no attributes, times or min/max yet):
/// native bucket `j` is OTLP bucket `j - 1` (see the [module docs](self#exponential-histograms)).
pub(crate) fn exponential_point(data: &HistogramData) -> ExponentialHistogramDataPoint {
    let mut positive = None;
    let mut buckets = data.buckets().peekable();
    if let Some(&(first, _)) = buckets.peek() {
        let mut counts: Vec<u64> = Vec::new();
        for (index, count) in buckets {
            // Dense from `first`: indexes ascend strictly, so `at >= counts.len()`.
            let at = (index - first) as usize;
            counts.resize(at, 0);
            counts.push(count);
        }
        positive = Some(Buckets {
            offset: first - 1,
            bucket_counts: counts,
        });
    }
    ExponentialHistogramDataPoint {
        attributes: Vec::new(),
        start_time_unix_nano: 0,
        time_unix_nano: 0,
        count: data.count(),
        sum: Some(data.sum() as f64),
        scale: i32::from(data.schema()),
        zero_count: data.zero_count(),
        positive,
        min: None,
        max: None,
        zero_threshold: 0.0,
    }
}

/// The UCUM unit of a series as exported (see the [module docs](self#units)).
fn unit_of(series: &MetricSnapshot) -> String {
    let unit = series.desc.unit_kind();
    if let MetricValue::Histogram(h) = &series.value {
        if unit.is_time() {
            return "ns".to_owned();
        }
        if steps_differ(h) {
            return match unit {
                Unit::Ratio | Unit::Percent => "[ppm]".to_owned(),
                // A unit with stored steps we do not know a UCUM name for: say what a step is.
                other => format!("{{1/{} {}}}", h.steps_per_unit, other.name()),
            };
        }
    }
    ucum(&unit)
}

fn steps_differ(h: &HistogramSnapshot) -> bool {
    h.steps_per_unit != 1.0
}

/// UCUM code of a registered unit.
fn ucum(unit: &Unit) -> String {
    match unit {
        Unit::None => String::new(),
        Unit::Seconds => "s".to_owned(),
        Unit::Milliseconds => "ms".to_owned(),
        Unit::Microseconds => "us".to_owned(),
        Unit::Nanoseconds => "ns".to_owned(),
        Unit::Minutes => "min".to_owned(),
        Unit::Hours => "h".to_owned(),
        Unit::Days => "d".to_owned(),
        Unit::Bytes => "By".to_owned(),
        Unit::Ratio => "1".to_owned(),
        Unit::Percent => "%".to_owned(),
        other => format!("{{{}}}", other.name()),
    }
}

/// Nanoseconds since the Unix epoch (0 before it; saturating far after it).
fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tachymeter::histogram::Layout;

    #[test]
    fn native_bucket_j_is_otlp_bucket_j_minus_1() {
        let layout = Layout::new(0, 1, 1 << 20).unwrap();
        // 0 -> zero bucket; 1 -> native 0 = (1/2, 1]; 3, 4 -> native 2 = (2, 4]; 1024 -> native 10.
        let data = HistogramData::from_values(&layout, &[0, 1, 3, 4, 1024]);
        let p = exponential_point(&data);
        assert_eq!(p.scale, 0);
        assert_eq!(p.zero_count, 1);
        assert_eq!(p.count, 5);
        assert_eq!(p.sum, Some(1032.0));
        let b = p.positive.unwrap();
        assert_eq!(b.offset, -1);
        let mut expect = vec![0u64; 11];
        expect[0] = 1; // OTLP -1: (1/2, 1]
        expect[2] = 2; // OTLP 1: (2, 4]
        expect[10] = 1; // OTLP 9: (512, 1024]
        assert_eq!(b.bucket_counts, expect);
    }

    #[test]
    fn empty_histogram_has_no_buckets() {
        let p = exponential_point(&HistogramData::empty(6));
        assert_eq!((p.count, p.zero_count, p.scale), (0, 0, 6));
        assert!(p.positive.is_none());
    }

    /// The single sum point of `name` in `request`.
    fn sum_point<'r>(r: &'r ExportMetricsServiceRequest, name: &str) -> &'r NumberDataPoint {
        let m = r.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap();
        match &m.data {
            Some(metric::Data::Sum(s)) => &s.data_points[0],
            other => panic!("{name} is {other:?}"),
        }
    }

    #[test]
    fn delta_restarts_after_a_reset() {
        let engine = tachymeter::Engine::builder()
            .background(false)
            .build()
            .unwrap();
        let jobs = engine.counter("jobs_total").unwrap();
        let mut encoder = OtlpEncoder::new(Temporality::Delta);
        jobs.add(5);
        let first = engine.flush();
        let r = encoder.encode(&first);
        let p = sum_point(&r, "jobs_total");
        assert_eq!(p.value, Some(number_data_point::Value::AsInt(5)));
        assert_eq!(p.start_time_unix_nano, unix_nanos(first.started()));
        jobs.add(2);
        jobs.reset();
        jobs.add(1);
        let second = engine.flush();
        let r = encoder.encode(&second);
        let p = sum_point(&r, "jobs_total");
        let reset_at = second.get("jobs_total", &[]).unwrap().reset_at.unwrap();
        // The 2 recorded before the reset are gone with it; the point starts at the reset.
        assert_eq!(p.value, Some(number_data_point::Value::AsInt(1)));
        assert_eq!(p.start_time_unix_nano, unix_nanos(reset_at));
        assert_eq!(encoder.previous.len(), 1);
    }

    #[test]
    fn event_totals_are_monotonic_sums() {
        let engine = tachymeter::Engine::builder()
            .background(false)
            .build()
            .unwrap();
        let log = engine.events("errors").unwrap();
        log.record(7);
        let r = OtlpEncoder::new(Temporality::Cumulative).encode(&engine.flush());
        assert_eq!(
            sum_point(&r, "errors").value,
            Some(number_data_point::Value::AsInt(1))
        );
    }

    #[test]
    fn units_are_ucum() {
        assert_eq!(ucum(&Unit::Bytes), "By");
        assert_eq!(ucum(&Unit::Milliseconds), "ms");
        assert_eq!(ucum(&Unit::from("requests")), "{requests}");
        assert_eq!(ucum(&Unit::None), "");
    }

    #[test]
    fn large_totals_become_doubles() {
        assert_eq!(number(7), number_data_point::Value::AsInt(7));
        assert_eq!(
            number(u128::from(u64::MAX)),
            number_data_point::Value::AsDouble(u64::MAX as f64)
        );
    }
}
