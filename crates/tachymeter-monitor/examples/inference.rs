//! The seeds' inference example (002, "basic" and "multi-threaded"), with short sleeps:
//! workers record inferences, errors and cache lookups while a monitor thread prints
//! statistics; a final comprehensive report follows.
//!
//! Run with `cargo run -p tachymeter-monitor --example inference`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tachymeter::Engine;
use tachymeter_monitor::InferenceMetrics;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(50))
            .build()
            .expect("engine"),
    );
    let metrics = InferenceMetrics::builder()
        .engine(engine.clone())
        .window_size(1000)
        .build()
        .expect("monitor");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for worker in 0..3u64 {
            let (metrics, stop) = (&metrics, &stop);
            s.spawn(move || {
                let mut rng = worker * 7919 + 1;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let batch = 1 + (rng >> 33) % 64;
                    let pre = Instant::now();
                    std::thread::sleep(Duration::from_micros(100));
                    let pre = pre.elapsed();
                    let inf = Instant::now();
                    std::thread::sleep(Duration::from_micros(10 * batch));
                    let inf = inf.elapsed();
                    let quant = if i % 2 == 0 { 0.00005 } else { 0.0 };
                    metrics.update_inference(inf, batch, pre, quant);
                    if (rng >> 40) % 100 == 0 {
                        metrics.record_error();
                    }
                    if (rng >> 20) % 10 < 7 {
                        metrics.record_cache_hit();
                    } else {
                        metrics.record_cache_miss();
                    }
                    i += 1;
                }
            });
        }
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(100));
            let stats = metrics.statistics();
            println!(
                "requests {:>6}  current {:>7.1}/s  avg total {:.4}s  errors {:.2}%",
                stats.total_requests,
                stats.current_throughput,
                stats.avg_total_time.unwrap_or(0.0),
                100.0 * stats.error_rate
            );
        }
        stop.store(true, Ordering::Relaxed);
    });
    engine.flush();
    let report = metrics.comprehensive_statistics();
    println!("=== Final Performance Report ===");
    println!("Total runtime: {:.1} seconds", report.total_runtime);
    println!("Total requests processed: {}", report.basic.total_requests);
    println!(
        "Average throughput: {:.1} req/sec",
        report.average_throughput
    );
    println!("Peak throughput: {:.1} req/sec", report.peak_throughput);
    println!(
        "Overall error rate: {:.3}%",
        100.0 * report.basic.error_rate
    );
    println!(
        "Performance stability: {:.2}",
        report.stability_score.unwrap_or(0.0)
    );
    println!(
        "P95 inference time: {:.4}s",
        report.basic.p95_inference_time.unwrap_or(0.0)
    );
}
