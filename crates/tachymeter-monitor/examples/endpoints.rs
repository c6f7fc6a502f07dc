//! The seeds' API tracker (004, "Track API performance"): handlers on several threads track
//! their requests; the report lists every endpoint and the slowest ones.
//!
//! Run with `cargo run -p tachymeter-monitor --example endpoints`.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::EndpointTracker;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(Engine::builder().background(false).build().expect("engine"));
    let tracker = EndpointTracker::builder()
        .engine(engine.clone())
        .build()
        .expect("tracker");
    let routes = [
        ("/api/users", "GET", 200),
        ("/api/users", "POST", 300),
        ("/api/orders", "GET", 800),
    ];
    std::thread::scope(|s| {
        for worker in 0..2usize {
            let tracker = &tracker;
            s.spawn(move || {
                for i in 0..30usize {
                    let (route, method, micros) = routes[(i + worker) % routes.len()];
                    let mut request = tracker.track(route, method);
                    std::thread::sleep(Duration::from_micros(micros));
                    if i % 10 == 9 {
                        request.status(503);
                    }
                }
            });
        }
    });
    engine.flush();
    let report = tracker.api_report();
    println!(
        "{} requests, {:.1}% errors",
        report.total_requests,
        100.0 * report.overall_error_rate
    );
    for (endpoint, stats) in &report.endpoints {
        println!(
            "{endpoint:<12} count {:>3}  mean {:>6.2} ms  p95 {:>6.2} ms  errors {:.1}%",
            stats.count,
            stats.mean_ms.unwrap_or(0.0),
            stats.p95_ms.unwrap_or(0.0),
            100.0 * stats.error_rate
        );
    }
    println!("slowest: {:?}", report.slowest_endpoints);
}
