//! The seeds' profiler (002 "profiler", 004 "Profile a function"): an image pipeline's stages
//! profiled from two threads, with processed pixels, then the per-stage statistics, the
//! bottlenecks and the time breakdown.
//!
//! Run with `cargo run -p tachymeter-monitor --example profiling`.

use std::hint::black_box;
use std::sync::Arc;
use tachymeter::Engine;
use tachymeter_monitor::Profiler;

/// A stand-in for real work: `n` rounds of integer mixing.
fn work(n: u64) -> u64 {
    (0..n).fold(0x9e37_79b9_7f4a_7c15u64, |h, i| {
        (h ^ i).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(Engine::builder().background(false).build().expect("engine"));
    let profiler = Profiler::on(engine.clone()).expect("profiler");
    let pixels = 320 * 240;
    std::thread::scope(|s| {
        for _ in 0..2 {
            let profiler = &profiler;
            s.spawn(move || {
                for _ in 0..20 {
                    profiler.profile("load", || black_box(work(20_000)));
                    let mut g = profiler.start("resize");
                    black_box(work(80_000));
                    g.units(pixels);
                    drop(g);
                    let mut g = profiler.start("encode");
                    black_box(work(40_000));
                    g.units(pixels);
                }
            });
        }
    });
    engine.flush();
    for s in profiler.all_stats() {
        println!(
            "{:<7} {:>3} calls  avg {:>8.1} µs  cpu {:>4.0}%  {:>6.1} Mpixel/s",
            s.operation,
            s.calls,
            s.avg_time.unwrap_or(0.0) * 1e6,
            s.cpu_share * 100.0,
            s.units_per_second / 1e6
        );
    }
    for b in profiler.identify_bottlenecks() {
        println!("  {:<7} {:.1}x the fastest", b.operation, b.slowdown_factor);
    }
    for (op, share) in profiler.time_breakdown() {
        println!("  {op:<7} {:.0}% of the time", share * 100.0);
    }
}
