//! The seeds' resource monitor (004, "Monitor resources"): a sampling thread writes system and
//! process readings into engine gauges; the example prints the latest reading, the history
//! the engine kept and the alerts against the thresholds.
//!
//! Run with `cargo run -p tachymeter-monitor --example resources`.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tachymeter::Engine;
use tachymeter_monitor::ResourceMonitor;

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(100))
            .build()
            .expect("engine"),
    );
    let monitor = ResourceMonitor::builder()
        .engine(engine.clone())
        .interval(Duration::from_millis(200))
        .cpu_threshold(75.0) // the seeds' quick-reference value
        .build()
        .expect("resource monitor");
    {
        let _sampling = monitor.start().expect("sampling thread");
        // Wait (bounded) for three readings.
        let deadline = Instant::now() + Duration::from_secs(10);
        while monitor.latest().map_or(0, |r| r.sequence) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    } // the sampling thread stops and is joined here
    let r = monitor.current();
    println!(
        "reading {}: cpu {:.1}%  memory {:.1}% ({:.0} MiB used)  disk / {}",
        r.sequence,
        r.cpu_percent,
        r.memory_percent,
        r.memory_used_mb,
        r.disk_percent
            .map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%")),
    );
    if let Some(p) = &r.process {
        println!(
            "this process: rss {:?} B, cpu {:.2?}%, threads {:?}, fds {:?}",
            p.resident_memory_bytes, p.cpu_percent, p.threads, p.open_fds
        );
    }
    println!(
        "gpu: {}",
        r.gpu_percent
            .map_or_else(|| "not available".to_string(), |p| format!("{p:.0}%"))
    );
    engine.flush();
    let history = monitor.history(1);
    if let Some(cpu) = history.readings.get("system_cpu_usage") {
        println!(
            "cpu over the last hour: min {:.3} mean {:.3} max {:.3} (ratio)",
            cpu.min, cpu.mean, cpu.max
        );
    }
    for alert in monitor.alerts_for_high_usage() {
        println!("Resource alert ({:?}): {}", alert.severity, alert.message);
    }
    println!("{}", serde_json::to_string(&r).expect("json"));
}
