//! Unit tests and proptests of the encoders.
//!
//! Invariants checked (oracles in parentheses):
//! - any metric the registry accepts — arbitrary help text and label values, names over the
//!   whole valid alphabet — reads back with the same help, labels and values from text 0.0.4,
//!   OpenMetrics, protobuf, JSON and CSV ([`crate::fuzz::check_formats`]: a strict spec-based
//!   text reader, prost decoding, serde_json, the csv reader);
//! - classic `le` counts are exact for schema layouts and integral explicit bounds (the raw
//!   samples, counted directly);
//! - native spans/deltas expand back to the buckets they came from (a plain list).

use proptest::prelude::*;
use tachymeter::{Engine, HistogramConfig, Opts};

use crate::fuzz::{check_formats, parse_text};
use crate::proto::{expand_spans, spans_and_deltas};
use crate::{
    encode_csv, encode_json, encode_openmetrics, encode_text, ClassicBuckets, CsvRow, ExportConfig,
    SnapshotDoc,
};

fn engine() -> Engine {
    Engine::builder()
        .background(false)
        .build()
        .expect("engine builds")
}

#[test]
fn golden_text_and_openmetrics() {
    let engine = engine();
    let c = engine
        .counter(Opts::new("jobs_total").help("Jobs \"done\".\nSecond \\ line."))
        .unwrap();
    let g = engine
        .gauge(
            Opts::new("temp")
                .unit("celsius")
                .label("room", "a\"b\\c\nd"),
        )
        .unwrap();
    let h = engine
        .histogram_with(
            Opts::new("size").unit("bytes"),
            HistogramConfig::default().schema(3),
        )
        .unwrap();
    c.add(7);
    g.set(-1.5);
    for v in [0, 3, 4, 5, 100] {
        h.record(v);
    }
    let snapshot = engine.flush();
    let config = ExportConfig::default()
        .created(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
    let text = encode_text(&snapshot, &config);
    let want = r#"# HELP jobs_total Jobs "done".\nSecond \\ line.
# TYPE jobs_total counter
jobs_total 7
# TYPE temp_celsius gauge
temp_celsius{room="a\"b\\c\nd"} -1.5
# TYPE size_bytes histogram
size_bytes_bucket{le="2.0"} 1
size_bytes_bucket{le="4.0"} 3
size_bytes_bucket{le="8.0"} 4
size_bytes_bucket{le="16.0"} 4
size_bytes_bucket{le="32.0"} 4
size_bytes_bucket{le="64.0"} 4
size_bytes_bucket{le="128.0"} 5
size_bytes_bucket{le="+Inf"} 5
size_bytes_sum 112
size_bytes_count 5
"#;
    assert_eq!(text, want);
    let om = encode_openmetrics(&snapshot, &config);
    let want_om = r#"# HELP jobs Jobs \"done\".\nSecond \\ line.
# TYPE jobs counter
jobs_total 7
jobs_created 1700000000.0
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius{room="a\"b\\c\nd"} -1.5
# TYPE size_bytes histogram
# UNIT size_bytes bytes
"#;
    assert!(om.starts_with(want_om), "{om}");
    assert!(
        om.ends_with("size_bytes_count 5\nsize_bytes_created 1700000000.0\n# EOF\n"),
        "{om}"
    );
}

#[test]
fn colliding_families_are_rejected_at_registration_not_emitted_twice() {
    let engine = engine();
    engine.counter("a").unwrap().add(1);
    // The registry rejects a metric whose exposed names collide (the encoder would also leave
    // it out, for snapshots that did not come from a registry).
    let err = engine.gauge("a_total").unwrap_err();
    assert!(
        matches!(err, tachymeter::RegisterError::NameCollision { .. }),
        "{err:?}"
    );
    let snapshot = engine.flush();
    let text = encode_text(&snapshot, &ExportConfig::default());
    assert_eq!(text, "# TYPE a_total counter\na_total 1\n");
    // The checker agrees the rest is consistent (and knows it may be incomplete).
    check_formats(&snapshot, &ExportConfig::default()).unwrap();
}

#[test]
fn explicit_bounds_are_exact_on_native_boundaries_and_lower_bounds_elsewhere() {
    let engine = engine();
    // Schema 2: boundaries 2^(k/4): ..., 8, 9.51, 11.31, 13.45, 16, ...
    let h = engine
        .histogram_with("lat", HistogramConfig::default().schema(2))
        .unwrap();
    let samples = [0u64, 0, 1, 5, 8, 9, 10, 11, 999, 1000, 1024, 1025, 50_000];
    for v in samples {
        h.record(v);
    }
    let snapshot = engine.flush();
    // (bound, exact?): exact on native boundaries, and at 9 because (8, 9.51] holds no integer
    // above 9; 10 falls inside (9.51, 11.31], which holds 10 and 11.
    let bounds = [
        (-1.0, true),
        (0.0, true),
        (1.0, true),
        (8.0, true),
        (9.0, true),
        (10.0, false),
        (1000.0, false),
        (1024.0, true),
        (4e4, false),
    ];
    let config = ExportConfig::default().buckets_for(
        "lat",
        ClassicBuckets::Explicit(bounds.iter().map(|b| b.0).chain([f64::NAN]).collect()),
    );
    let families = parse_text(&encode_text(&snapshot, &config), false).unwrap();
    let got: Vec<(f64, u64)> = families[0]
        .samples
        .iter()
        .filter(|s| s.name == "lat_bucket" && s.labels[0].1 != "+Inf")
        .map(|s| (s.labels[0].1.parse().unwrap(), s.value.parse().unwrap()))
        .collect();
    assert_eq!(got.len(), bounds.len());
    let count = |le: f64| samples.iter().filter(|&&v| v as f64 <= le).count() as u64;
    for ((le, c), (bound, exact)) in got.into_iter().zip(bounds) {
        assert_eq!(le, bound);
        if exact {
            assert_eq!(c, count(le), "le={le}");
        } else {
            // Short by at most the samples of the native bucket around `le`.
            let width = le * (2f64.powf(0.25) - 1.0);
            assert!(
                c <= count(le) && c >= count(le - width),
                "le={le}: {c} vs {}",
                count(le)
            );
        }
    }
}

#[test]
fn native_spans_examples() {
    let (spans, deltas) = spans_and_deltas([(-3, 2), (-2, 5), (4, 1), (6, 1)].into_iter());
    let spans: Vec<(i32, u32)> = spans
        .iter()
        .map(|s| (s.offset.unwrap(), s.length.unwrap()))
        .collect();
    assert_eq!(spans, vec![(-3, 2), (5, 1), (1, 1)]);
    assert_eq!(deltas, vec![2, 3, -4, 0]);
}

#[test]
fn fuzz_body_accepts_edge_inputs() {
    crate::fuzz::encoders(&[]);
    crate::fuzz::encoders(&[0, 5, 1, 2, 3, 4, 5, 0, 0, 0]);
    crate::fuzz::encoders(&[2; 300]);
    crate::fuzz::encoders(&(0..=255).collect::<Vec<u8>>());
}

#[derive(Clone, Debug)]
enum Spec {
    Counter(u64),
    Gauge(f64),
    Histogram(i8, Vec<u64>),
    Events(u8),
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        any::<u64>().prop_map(Spec::Counter),
        any::<f64>().prop_map(Spec::Gauge),
        (
            -4i8..=8,
            prop::collection::vec((any::<u64>(), 0u32..64).prop_map(|(v, s)| v >> s), 0..40)
        )
            .prop_map(|(s, v)| Spec::Histogram(s, v)),
        any::<u8>().prop_map(Spec::Events),
    ]
}

fn layout() -> impl Strategy<Value = ClassicBuckets> {
    prop_oneof![
        (-4i8..=8).prop_map(ClassicBuckets::Schema),
        prop::collection::vec(
            prop_oneof![(0u64..1 << 40).prop_map(|v| v as f64), -10.0f64..1e12],
            0..8
        )
        .prop_map(ClassicBuckets::Explicit),
    ]
}

type MetricSpec = (String, String, String, Vec<(String, String)>, Spec);

fn metric() -> impl Strategy<Value = MetricSpec> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        any::<String>(),
        prop_oneof![Just(String::new()), "[a-z][a-z_]{0,6}"],
        prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,6}", any::<String>()), 0..4),
        spec(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_registered_metric_reads_back_in_every_format(
        metrics in prop::collection::vec(metric(), 1..8),
        layout in layout(),
    ) {
        let engine = engine();
        let mut registered = 0;
        for (i, (tail, help, unit, labels, spec)) in metrics.into_iter().enumerate() {
            // A unique prefix keeps families apart, so the checker may demand all of them.
            let mut opts = Opts::new(format!("m{i}{tail}")).help(help).unit(unit);
            let mut names = std::collections::HashSet::new();
            for (k, v) in labels {
                if names.insert(k.clone()) {
                    opts = opts.label(k, v);
                }
            }
            let ok = match spec {
                Spec::Counter(n) => engine.counter(opts).map(|c| c.add(n)).is_ok(),
                Spec::Gauge(v) => engine.gauge(opts).map(|g| g.set(v)).is_ok(),
                Spec::Histogram(s, values) => engine
                    .histogram_with(opts, HistogramConfig::default().schema(s))
                    .map(|h| values.iter().for_each(|&v| h.record(v)))
                    .is_ok(),
                Spec::Events(n) => engine.events(opts).map(|e| (0..n).for_each(|c| e.record(u32::from(c)))).is_ok(),
            };
            registered += usize::from(ok);
        }
        let snapshot = engine.flush();
        prop_assert_eq!(snapshot.metrics().len(), registered);
        let config = ExportConfig::default().default_buckets(layout);
        if let Err(e) = check_formats(&snapshot, &config) {
            return Err(TestCaseError::fail(e));
        }
    }

    #[test]
    fn schema_layouts_count_raw_samples_exactly(
        schema in -4i8..=8,
        classic in -4i8..=8,
        values in prop::collection::vec((any::<u64>(), 0u32..64).prop_map(|(v, s)| v >> s), 1..200),
    ) {
        let engine = engine();
        let h = engine.histogram_with("h", HistogramConfig::default().schema(schema)).unwrap();
        for &v in &values {
            h.record(v);
        }
        let snapshot = engine.flush();
        let config = ExportConfig::default().default_buckets(ClassicBuckets::Schema(classic));
        let families = parse_text(&encode_text(&snapshot, &config), false).unwrap();
        for s in families[0].samples.iter().filter(|s| s.name == "h_bucket") {
            let le = &s.labels[0].1;
            let le: f64 = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
            // Exact integer comparison: floats below 2^128 convert to u128 without loss.
            let want = values.iter().filter(|&&v| le.is_infinite() || u128::from(v) <= le.floor() as u128).count();
            prop_assert_eq!(s.value.parse::<usize>().unwrap(), want, "le={}", le);
        }
    }

    #[test]
    fn spans_expand_to_the_buckets(indexes in prop::collection::btree_map(-2000i32..2000, 1u64..1 << 40, 0..60)) {
        let buckets: Vec<(i32, u64)> = indexes.into_iter().collect();
        let (spans, deltas) = spans_and_deltas(buckets.iter().copied());
        prop_assert_eq!(expand_spans(&spans, &deltas), buckets);
    }

    #[test]
    fn fuzz_body_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
        crate::fuzz::encoders(&data);
    }
}

#[test]
fn a_reset_metric_reports_its_reset_time_as_created() {
    let engine = engine();
    let c = engine.counter("resets_total").unwrap();
    let kept = engine.counter("kept_total").unwrap();
    c.add(5);
    kept.add(1);
    let config = ExportConfig::default()
        .created(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
    let before = encode_openmetrics(&engine.flush(), &config);
    assert!(before.contains("resets_created 1700000000.0\n"), "{before}");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    c.reset();
    c.add(2);
    let after = encode_openmetrics(&engine.flush(), &config);
    assert!(after.contains("resets_total 2\n"), "{after}");
    assert!(after.contains("kept_created 1700000000.0\n"), "{after}");
    let created: f64 = after
        .lines()
        .find_map(|l| l.strip_prefix("resets_created "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(created >= t0 && created < t0 + 60.0, "{created} vs {t0}");
}

#[test]
fn time_units_are_exported_in_seconds() {
    let engine = engine();
    engine
        .counter(Opts::new("busy_total").unit("milliseconds"))
        .unwrap()
        .add(1500);
    engine
        .gauge(Opts::new("wait").unit("microseconds"))
        .unwrap()
        .set(250.0);
    let h = engine
        .histogram(Opts::new("step").unit("milliseconds"))
        .unwrap();
    h.record_f64(1.5); // 1.5 ms = 1,500,000 ns
    h.record_f64(0.5);
    engine
        .histogram(Opts::new("size").unit("bytes"))
        .unwrap()
        .record(1000);
    let text = encode_text(&engine.flush(), &ExportConfig::default());
    assert!(text.contains("busy_seconds_total 1.5\n"), "{text}");
    assert!(text.contains("wait_seconds 0.00025\n"), "{text}");
    assert!(text.contains("step_seconds_sum 0.002\n"), "{text}");
    assert!(text.contains("step_seconds_count 2\n"), "{text}");
    assert!(
        text.contains("step_seconds_bucket{le=\"0.000524288\"} 1\n"),
        "{text}"
    );
    // Bytes stay integers.
    assert!(text.contains("size_bytes_sum 1000\n"), "{text}");
}

#[test]
fn json_and_csv_give_histogram_statistics_in_the_unit() {
    let engine = engine();
    let ms = engine
        .histogram(Opts::new("step").unit("milliseconds"))
        .unwrap();
    let secs = engine.histogram(Opts::new("wait").unit("seconds")).unwrap();
    let bytes = engine.histogram(Opts::new("size").unit("bytes")).unwrap();
    // Oracle values: 1.5 ms and 0.5 ms; 12 ms and 40 ms in seconds; 1000 and 3000 bytes.
    ms.record_f64(1.5);
    ms.record_f64(0.5);
    secs.record_duration(std::time::Duration::from_millis(12));
    secs.record_f64(0.040);
    bytes.record(1000);
    bytes.record(3000);
    let snap = engine.flush();
    let doc: SnapshotDoc = serde_json::from_slice(&encode_json(&snap)).unwrap();
    let hist = |name: &str| {
        doc.metrics
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| m.histogram.clone())
            .unwrap()
    };
    // (name, stored steps per unit, sum, min, max) in the unit.
    let cases = [
        ("step", 1e6, 2.0, 0.5, 1.5),
        ("wait", 1e9, 0.052, 0.012, 0.040),
        ("size", 1.0, 4000.0, 1000.0, 3000.0),
    ];
    for (name, spu, sum, min, max) in cases {
        let h = hist(name);
        assert_eq!(h.steps_per_unit, spu, "{name}");
        let c = &h.cumulative;
        assert_eq!(c.count, 2, "{name}");
        assert!((c.sum - sum).abs() <= 1e-12 * sum, "{name}: sum {}", c.sum);
        assert_eq!(c.sum_steps as f64, sum * spu, "{name}");
        assert!((c.min.unwrap() - min).abs() <= 1e-12 * min, "{name}");
        assert!((c.max.unwrap() - max).abs() <= 1e-12 * max, "{name}");
        assert!((c.mean.unwrap() - sum / 2.0).abs() <= 1e-12 * sum, "{name}");
        // Quantiles are within the histogram's relative error bound (schema 6: < 1.1%).
        let p99 = c.p99.unwrap();
        assert!(
            (p99 - max).abs() <= 0.011 * max,
            "{name}: p99 {p99} vs {max}"
        );
    }
    let csv_bytes = encode_csv(&snap);
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let rows: Vec<CsvRow> = reader.deserialize().map(Result::unwrap).collect();
    for (name, _, sum, min, max) in cases {
        let row = rows
            .iter()
            .find(|r| r.name == name && r.scope == "cumulative")
            .unwrap();
        assert!((row.sum.unwrap() - sum).abs() <= 1e-12 * sum, "{name}");
        assert!((row.min.unwrap() - min).abs() <= 1e-12 * min, "{name}");
        assert!((row.max.unwrap() - max).abs() <= 1e-12 * max, "{name}");
        let p50 = row.p50.unwrap();
        assert!(
            p50 >= min * 0.989 && p50 <= max * 1.011,
            "{name}: p50 {p50}"
        );
    }
}

#[test]
fn registered_classic_buckets_are_honoured_in_the_unit_and_overridable() {
    let engine = engine();
    // The seeds' data-freshness histogram: hours, buckets 1 h … 1 week.
    let h = engine
        .histogram_with(
            Opts::new("data_freshness").unit("hours"),
            HistogramConfig::default().buckets([168.0, 1.0, 6.0, 12.0, 24.0, 48.0, 6.0]),
        )
        .unwrap();
    // Oracle: 0.5 h, 8.5 h, 8.5 h, 30 h, 200 h.
    for v in [0.5, 8.5, 8.5, 30.0, 200.0] {
        h.record_f64(v);
    }
    let snap = engine.flush();
    let text = encode_text(&snap, &ExportConfig::default());
    let hours = 3600.0;
    for (le, count) in [
        (1.0, 1),
        (6.0, 1),
        (12.0, 3),
        (24.0, 3),
        (48.0, 4),
        (168.0, 4),
    ] {
        let line = format!(
            "data_freshness_seconds_bucket{{le=\"{}\"}} {count}\n",
            crate::family::fmt_float(le * hours)
        );
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    assert!(
        text.contains("data_freshness_seconds_bucket{le=\"+Inf\"} 5\n"),
        "{text}"
    );
    let sum = format!(
        "data_freshness_seconds_sum {}\n",
        crate::family::fmt_float((0.5 + 8.5 + 8.5 + 30.0 + 200.0) * hours)
    );
    assert!(text.contains(&sum), "{text}");
    assert_eq!(
        text.matches("data_freshness_seconds_bucket").count(),
        7,
        "{text}"
    );
    // An exporter override still wins.
    let cfg = ExportConfig::default().buckets_for("data_freshness", ClassicBuckets::Schema(0));
    let text = encode_text(&snap, &cfg);
    assert!(!text.contains("le=\"3600\""), "{text}");
    // Invalid bounds are a registration error, not a panic.
    let err = engine
        .histogram_with(
            Opts::new("bad_buckets"),
            HistogramConfig::default().buckets([1.0, f64::NAN]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("classic bucket"), "{err}");
    // Registering again with other buckets is a mismatch.
    assert!(engine
        .histogram_with(
            Opts::new("data_freshness").unit("hours"),
            HistogramConfig::default().buckets([1.0]),
        )
        .is_err());
}
