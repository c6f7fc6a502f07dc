//! `CustomMetrics` against exact oracles: by-name recording from several threads, the errors
//! (counted), definitions reaching the engine (unit, buckets, labels).

use std::sync::Arc;
use tachymeter::Engine;
use tachymeter_monitor::{CustomKind, CustomMetricError, CustomMetrics, MetricDefinition};

fn setup() -> (Arc<Engine>, CustomMetrics) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let custom = CustomMetrics::on(engine.clone());
    custom
        .define(
            "data_freshness",
            "histogram",
            "Age of training data",
            "hours",
            &[1.0, 6.0, 12.0, 24.0, 48.0, 168.0],
            &[],
        )
        .unwrap();
    custom
        .define(
            "feature_drift",
            "counter",
            "Feature drift events",
            "",
            &[],
            &["feature_name", "drift_type"],
        )
        .unwrap();
    custom
        .define(
            "model_accuracy",
            "gauge",
            "Accuracy",
            "ratio",
            &[],
            &["model"],
        )
        .unwrap();
    (engine, custom)
}

#[test]
fn by_name_recording_is_exact_from_several_threads() {
    let (engine, custom) = setup();
    let features = ["age", "income", "zip"];
    std::thread::scope(|s| {
        for t in 0..4usize {
            let custom = &custom;
            s.spawn(move || {
                for i in 0..1000usize {
                    let f = features[(i + t) % 3];
                    custom
                        .increment_counter(
                            "feature_drift",
                            &[("drift_type", "statistical"), ("feature_name", f)],
                        )
                        .unwrap();
                    custom
                        .observe_histogram("data_freshness", (i % 10) as f64 + 0.5, &[])
                        .unwrap();
                }
                custom
                    .update_gauge("model_accuracy", 0.9 + t as f64 / 100.0, &[("model", "m")])
                    .unwrap();
            });
        }
    });
    engine.flush();
    let all = custom.all_metrics();
    let drift = &all["feature_drift"];
    assert_eq!(drift.definition.kind, CustomKind::Counter);
    let mut by_feature: Vec<(String, f64)> = drift
        .series
        .iter()
        .map(|s| (s.labels["feature_name"].clone(), s.value))
        .collect();
    by_feature.sort_by(|a, b| a.0.cmp(&b.0));
    // Oracle: thread t, record i uses feature (i + t) % 3.
    let mut want = [0f64; 3];
    for t in 0..4 {
        for i in 0..1000 {
            want[(i + t) % 3] += 1.0;
        }
    }
    assert_eq!(
        by_feature,
        vec![
            ("age".to_string(), want[0]),
            ("income".to_string(), want[1]),
            ("zip".to_string(), want[2])
        ]
    );
    let fresh = &all["data_freshness"].series[0];
    assert_eq!(fresh.count, Some(4000));
    // Σ over i of (i % 10 + 0.5) hours, 4 threads: exact at nanosecond resolution.
    let want_sum: f64 = 4.0 * (0..1000).map(|i| (i % 10) as f64 + 0.5).sum::<f64>();
    assert!((fresh.sum.unwrap() - want_sum).abs() < 1e-9, "{fresh:?}");
    let acc = &all["model_accuracy"].series[0].value;
    assert!([0.90, 0.91, 0.92, 0.93].contains(acc), "{acc}");
    assert_eq!(custom.rejected(), 0);
    // The engine sees the unit and the buckets (exporters turn them into `le` bounds).
    let snap = engine.snapshot();
    let h = snap.histogram("data_freshness").unwrap();
    assert_eq!(h.steps_per_unit, 3.6e12);
    assert_eq!(
        h.classic_buckets.as_deref(),
        Some(&[1.0, 6.0, 12.0, 24.0, 48.0, 168.0][..])
    );
}

#[test]
fn misuse_is_a_clear_error_and_counted() {
    let (engine, custom) = setup();
    let err = custom.update_gauge("nope", 1.0, &[]).unwrap_err();
    assert_eq!(err, CustomMetricError::Undefined("nope".into()));
    let err = custom
        .observe_histogram("feature_drift", 1.0, &[])
        .unwrap_err();
    assert!(matches!(
        err,
        CustomMetricError::WrongKind {
            defined: CustomKind::Counter,
            used: CustomKind::Histogram,
            ..
        }
    ));
    let err = custom
        .increment_counter("feature_drift", &[("feature_name", "age")])
        .unwrap_err();
    assert!(err.to_string().contains("drift_type"), "{err}");
    let err = custom
        .increment_counter("feature_drift", &[("feature_name", "age"), ("other", "x")])
        .unwrap_err();
    assert!(matches!(err, CustomMetricError::Labels { .. }));
    assert_eq!(custom.rejected(), 4);
    // Unknown kinds, redefinitions and invalid buckets are errors at definition.
    assert!(matches!(
        custom.define("x", "summary", "", "", &[], &[]),
        Err(CustomMetricError::UnknownKind(_))
    ));
    assert!(matches!(
        custom.define(
            "data_freshness",
            "histogram",
            "other help",
            "hours",
            &[],
            &[]
        ),
        Err(CustomMetricError::Redefined(_))
    ));
    assert!(matches!(
        custom.define_metric(
            MetricDefinition::new("bad_bounds", CustomKind::Histogram).buckets([f64::INFINITY])
        ),
        Err(CustomMetricError::Register(_))
    ));
    // The same definition again is the same metric.
    let again = custom
        .define(
            "data_freshness",
            "histogram",
            "Age of training data",
            "hours",
            &[1.0, 6.0, 12.0, 24.0, 48.0, 168.0],
            &[],
        )
        .unwrap();
    again.observe(2.0, &[]).unwrap();
    engine.flush();
    assert_eq!(
        custom.all_metrics()["data_freshness"].series[0].count,
        Some(1)
    );
    // Nothing recorded by the failed calls.
    assert!(custom.all_metrics()["feature_drift"].series.is_empty());
}
