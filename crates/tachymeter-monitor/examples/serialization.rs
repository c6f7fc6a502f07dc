//! The seeds' serialization tracker (000): real JSON through `Monitored`, from several threads,
//! with a threshold and an alert handler, a batch serializer, the summary and suggestions.
//!
//! Run with `cargo run -p tachymeter-monitor --example serialization`.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tachymeter::Engine;
use tachymeter_monitor::{
    BatchSerializer, Json, Monitored, Operation, SerializationMonitor, ThresholdMetric,
};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Order {
    id: u64,
    items: Vec<String>,
    total_cents: u64,
}

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(Engine::builder().background(false).build().expect("engine"));
    let monitor = Arc::new(
        SerializationMonitor::builder()
            .engine(engine.clone())
            .build()
            .expect("monitor"),
    );
    monitor.set_threshold(ThresholdMetric::ErrorRate, 0.05);
    monitor.add_alert_handler(|a| {
        println!(
            "ALERT {} {:?}: {:?} = {:.3} (threshold {})",
            a.serializer_id, a.operation, a.metric, a.value, a.threshold
        );
    });
    let json = Monitored::new(Json, monitor.clone());
    std::thread::scope(|s| {
        for worker in 0..2u64 {
            let json = &json;
            s.spawn(move || {
                for i in 0..200u64 {
                    let order = Order {
                        id: worker * 1000 + i,
                        items: vec!["book".into(); (i % 7) as usize],
                        total_cents: i * 125,
                    };
                    let bytes = json.serialize(&order).expect("orders serialize");
                    let back: Order = json.deserialize(&bytes).expect("and come back");
                    assert_eq!(back, order);
                    if i % 10 == 0 {
                        // A truncated message: recorded as an `eof` error.
                        let _ = json.deserialize::<Order>(&bytes[..bytes.len() / 2]);
                    }
                }
            });
        }
    });
    let mut batch = BatchSerializer::new(
        Monitored::new(Json, monitor.clone()).serializer_id("json_batch"),
        50,
    );
    for id in 0..120 {
        batch.add(id).expect("numbers serialize");
    }
    batch.flush().expect("numbers serialize");
    engine.flush();
    let summary = monitor.summary(None);
    println!(
        "{} operations, {:.1}% succeeded, {} bytes",
        summary.total_operations,
        summary.success_rate * 100.0,
        summary.total_bytes
    );
    for (id, m) in &summary.serializers {
        for (op, o) in &m.operations {
            println!(
                "  {id:<10} {:<11} {:>4} ops  p95 {:>8.1} µs  errors {:?}",
                op.name(),
                o.count,
                o.p95_time.unwrap_or(0.0) * 1e6,
                o.errors
            );
        }
    }
    let alerts = monitor.check_thresholds();
    assert_eq!(
        alerts.len(),
        1,
        "40 truncated messages in 440 deserializations: 9%"
    );
    assert_eq!(alerts[0].operation, Operation::Deserialize);
    for s in monitor.suggestions("json") {
        println!("  [{:?}] {}: {}", s.priority, s.message, s.suggestion);
    }
    println!("batches: {:?}", batch.batch_metrics());
}
