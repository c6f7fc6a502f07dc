//! The seeds' custom metrics (002, "Custom Metrics"): a gauge, an hours histogram with explicit
//! buckets and a labelled counter, defined at run time, recorded by name from two threads,
//! then read back and shown as Prometheus text (buckets in seconds).
//!
//! Run with `cargo run -p tachymeter-monitor --example custom_metrics`.

use std::sync::Arc;
use tachymeter::Engine;
use tachymeter_monitor::CustomMetrics;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(Engine::builder().background(false).build().expect("engine"));
    let custom = CustomMetrics::on(engine.clone());
    custom
        .define(
            "model_accuracy",
            "gauge",
            "Current model accuracy",
            "ratio",
            &[],
            &[],
        )
        .expect("define");
    custom
        .define(
            "data_freshness",
            "histogram",
            "Age of training data",
            "hours",
            &[1.0, 6.0, 12.0, 24.0, 48.0, 168.0], // 1 h, 6 h, 12 h, 1 d, 2 d, 1 w
            &[],
        )
        .expect("define");
    custom
        .define(
            "feature_drift",
            "counter",
            "Feature drift detection events",
            "",
            &[],
            &["feature_name", "drift_type"],
        )
        .expect("define");
    std::thread::scope(|s| {
        for worker in 0..2u32 {
            let custom = &custom;
            s.spawn(move || {
                for i in 0..50u32 {
                    custom
                        .observe_histogram("data_freshness", f64::from(i % 30) * 1.5, &[])
                        .expect("defined");
                    if i % 10 == worker {
                        let labels = [("feature_name", "age"), ("drift_type", "statistical")];
                        custom
                            .increment_counter("feature_drift", &labels)
                            .expect("defined");
                    }
                }
            });
        }
    });
    custom
        .update_gauge("model_accuracy", 0.945, &[])
        .expect("defined");
    engine.flush();
    for (name, data) in custom.all_metrics() {
        for s in &data.series {
            println!(
                "{name:<16} {:<9} {:?} value {} p95 {:?} {}",
                data.definition.kind.name(),
                s.labels,
                s.value,
                s.p95,
                data.definition.unit
            );
        }
    }
    println!("refused calls: {}", custom.rejected());
}
