//! `Profiler` against exact oracles: wall times set by a mock clock, calls and units from
//! several threads, bottleneck and breakdown arithmetic.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Clock, Engine};
use tachymeter_monitor::Profiler;

#[test]
fn wall_times_units_bottlenecks_and_breakdown_are_exact() {
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let p = Profiler::on(engine.clone()).unwrap();
    // "load" takes 2 ms, "decode" 8 ms, "resize" 4 ms; resize processes 1000 pixels a call.
    for _ in 0..10 {
        for (op, ms, units) in [("load", 2, 0), ("decode", 8, 0), ("resize", 4, 1000)] {
            let mut g = p.start(op);
            mock.advance(Duration::from_millis(ms));
            g.units(units);
        }
    }
    engine.flush();
    let load = p.stats("load").unwrap();
    assert_eq!(load.calls, 10);
    assert!((load.total_time - 0.020).abs() < 1e-12);
    assert!((load.avg_time.unwrap() - 0.002).abs() < 1e-12);
    let bound = tachymeter::histogram::relative_error_bound(6);
    assert!((load.median_time.unwrap() - 0.002).abs() <= 0.002 * bound);
    let resize = p.stats("resize").unwrap();
    assert_eq!(resize.units, 10_000);
    assert!((resize.units_per_second - 10_000.0 / 0.040).abs() < 1e-6);
    // Bottlenecks: slowdown against the fastest median (load, 2 ms).
    let b = p.identify_bottlenecks();
    let names: Vec<&str> = b.iter().map(|x| x.operation.as_str()).collect();
    assert_eq!(names, ["decode", "resize", "load"]);
    assert!((b[0].slowdown_factor - 4.0).abs() <= 4.0 * 2.0 * bound);
    assert!((b[2].slowdown_factor - 1.0).abs() < 1e-12);
    // Breakdown: 80 / 140, 40 / 140, 20 / 140.
    let shares = p.time_breakdown();
    assert_eq!(shares[0].0, "decode");
    assert!((shares[0].1 - 80.0 / 140.0).abs() < 1e-12);
    assert!((shares.iter().map(|s| s.1).sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(p.stats("never").is_none());
}

#[test]
fn calls_and_cpu_time_from_several_threads() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let p = Profiler::on(engine.clone()).unwrap();
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..3)
            .map(|_| {
                let p = &p;
                s.spawn(move || {
                    for i in 0..200u64 {
                        let v = p.profile("spin", || (0..2_000u64).fold(i, |a, x| a ^ (x * 31)));
                        std::hint::black_box(v);
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    engine.flush();
    let s = p.stats("spin").unwrap();
    assert_eq!(s.calls, 600);
    assert!(s.cpu_time > 0.0 && s.total_time > 0.0);
    assert_eq!(tachymeter_monitor::get_profiler().all_stats().len(), 0);
}

#[test]
fn without_the_counting_allocator_memory_is_not_measured_unless_rss_is_asked_for() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let p = Profiler::on(engine.clone()).unwrap();
    assert_eq!(p.memory_source(), "none");
    p.profile("grow", || vec![1u8; 1 << 20]);
    engine.flush();
    let s = p.stats("grow").unwrap();
    assert_eq!(
        (s.allocated_bytes, s.freed_bytes, s.memory_source),
        (0, 0, "none")
    );
    let p = Profiler::on(engine.clone()).unwrap().rss_fallback(true);
    if cfg!(target_os = "linux") {
        assert_eq!(p.memory_source(), "rss");
        // 64 MiB touched and kept: the resident set grows by about that much (other threads
        // of this test binary may allocate or free meanwhile, so only a loose bound).
        let kept = p.profile("grow", || vec![1u8; 64 << 20]);
        engine.flush();
        let s = p.stats("grow").unwrap();
        assert!(s.allocated_bytes >= 32 << 20, "{s:?}");
        drop(kept);
    }
}

#[test]
fn externally_timed_calls_record_wall_time_and_units() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let p = Profiler::on(engine.clone()).unwrap();
    p.record("stage", Duration::from_millis(3), 100);
    p.record("stage", 0.001, 300);
    p.record("stage", f64::NAN, 0);
    engine.flush();
    let s = p.stats("stage").unwrap();
    assert_eq!((s.calls, s.units), (3, 400));
    assert!((s.total_time - 0.004).abs() < 1e-12);
    assert!((s.units_per_second - 100_000.0).abs() < 1e-6);
    assert_eq!(s.cpu_time, 0.0);
}

#[test]
fn other_monitors_series_with_the_same_labels_are_not_profiled_operations() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let p = Profiler::on_instance(engine.clone(), "shared").unwrap();
    let ser = tachymeter_monitor::SerializationMonitor::builder()
        .engine(engine.clone())
        .instance("shared")
        .build()
        .unwrap();
    ser.record_operation(
        "json",
        tachymeter_monitor::Operation::Deserialize,
        0.001,
        10,
        true,
        None,
    );
    p.record("stage", 0.002, 0);
    engine.flush();
    let ops: Vec<String> = p.all_stats().into_iter().map(|s| s.operation).collect();
    assert_eq!(ops, ["stage"]);
}
