//! The seeds' performance monitoring system (001): downloads started on a scheduler thread are
//! ended by worker threads; health checks run alongside; the report groups them by kind.
//!
//! Run with `cargo run -p tachymeter-monitor --example operations`.

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{Metadata, OperationId, OperationTracker};

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(Engine::builder().background(false).build().expect("engine"));
    let tracker = OperationTracker::builder()
        .engine(engine.clone())
        .build()
        .expect("tracker");
    let (tx, rx) = mpsc::channel::<(OperationId, usize)>();
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (tracker, rx) = (&tracker, &rx);
            s.spawn(move || loop {
                let next = rx.lock().expect("queue").recv();
                let Ok((id, i)) = next else { break };
                std::thread::sleep(Duration::from_micros(200 + 50 * i as u64));
                let failed = i % 8 == 7;
                tracker.end(id, !failed, failed.then_some("connection reset"), None);
            });
        }
        for i in 0..24usize {
            let model = ["llama-7b", "mistral-7b"][i % 2];
            let meta = Metadata::from([("attempt".to_string(), (1 + i / 8).to_string())]);
            tx.send((tracker.track_download(model, Some(meta)), i))
                .expect("worker");
            if i % 6 == 0 {
                let check = tracker.track_health_check("model_store", None);
                tracker.end(check, true, None, None);
            }
        }
        drop(tx);
    });
    engine.flush();
    let all = tracker.all_metrics(1);
    println!(
        "{} operations, {:.1}% successful, {} in flight",
        all.summary.total_operations,
        100.0 * all.summary.success_rate,
        all.in_flight
    );
    for (kind, m) in &all.by_type {
        for (name, s) in &m.operations {
            println!(
                "{kind:<20} {name:<12} count {:>3}  avg {:>6.2} ms  p95 {:>6.2} ms  ok {:.0}%",
                s.total_operations,
                1e3 * s.average_duration.unwrap_or(0.0),
                1e3 * s.p95_duration.unwrap_or(0.0),
                100.0 * s.success_rate
            );
        }
    }
    for op in tracker.recent_operations(3) {
        println!(
            "recent: {} {} {:.2} ms {:?} {:?}",
            op.operation_type,
            op.operation_name,
            1e3 * op.duration,
            op.error_message,
            op.metadata
        );
    }
}
