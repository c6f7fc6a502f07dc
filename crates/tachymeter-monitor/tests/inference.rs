//! `InferenceMetrics` against exact oracles: the values each test records (sorted vectors,
//! exact sums and counts), from several threads, and the documented formulas.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{InferenceMetrics, InferenceStatistics};

fn private(window: usize) -> (Arc<Engine>, InferenceMetrics) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = InferenceMetrics::builder()
        .engine(engine.clone())
        .window_size(window)
        .build()
        .unwrap();
    (engine, m)
}

fn nearest_rank(sorted: &[u64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

#[test]
fn statistics_match_the_recorded_values_from_several_threads() {
    let (engine, m) = private(64);
    let threads = 3u64;
    let per = 2_000u64;
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..threads)
            .map(|t| {
                let m = &m;
                s.spawn(move || {
                    for i in 0..per {
                        let ns = 1_000_000 + (i * 7919 + t * 104_729) % 9_000_000; // 1..10 ms
                        let pre = Duration::from_nanos(100_000 + i % 1000);
                        let quant = if i % 2 == 0 { 0.0005 } else { 0.0 };
                        m.update_inference(Duration::from_nanos(ns), 1 + i % 64, pre, quant);
                        if i % 50 == 0 {
                            m.record_error();
                        }
                        if i % 4 == 0 {
                            m.record_cache_hit();
                        } else {
                            m.record_cache_miss();
                        }
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    // The oracle: every value, recomputed.
    let mut inf: Vec<u64> = Vec::new();
    let mut total_sum = 0u128;
    let (mut pre_sum, mut quant_sum) = (0u128, 0u128);
    let mut batches: Vec<u64> = Vec::new();
    for t in 0..threads {
        for i in 0..per {
            let ns = 1_000_000 + (i * 7919 + t * 104_729) % 9_000_000;
            let pre = 100_000 + i % 1000;
            let quant = if i % 2 == 0 { 500_000 } else { 0 };
            inf.push(ns);
            total_sum += u128::from(ns + pre + quant);
            pre_sum += u128::from(pre);
            quant_sum += u128::from(quant);
            batches.push(1 + i % 64);
        }
    }
    inf.sort_unstable();
    batches.sort_unstable();
    let n = inf.len() as f64;
    engine.flush();
    let s: InferenceStatistics = m.statistics();
    assert_eq!(s.total_requests, threads * per);
    let mean = inf.iter().map(|&v| v as f64).sum::<f64>() / n / 1e9;
    assert!((s.avg_inference_time.unwrap() - mean).abs() < 1e-12);
    assert!((s.avg_total_time.unwrap() - total_sum as f64 / n / 1e9).abs() < 1e-12);
    let bound = tachymeter::histogram::relative_error_bound(6);
    for (got, q) in [
        (s.median_inference_time, 0.5),
        (s.p95_inference_time, 0.95),
        (s.p99_inference_time, 0.99),
    ] {
        let exact = nearest_rank(&inf, q) / 1e9;
        assert!(
            (got.unwrap() - exact).abs() <= exact * bound,
            "q{q}: {got:?} vs {exact}"
        );
    }
    let errors = threads * per.div_ceil(50);
    assert_eq!(s.error_rate, errors as f64 / (threads * per) as f64);
    let hits = threads * per.div_ceil(4);
    assert_eq!(s.cache_hit_rate, hits as f64 / (threads * per) as f64);
    assert!(s.window_count > 0 && s.window_count <= 64);

    let c = m.comprehensive_statistics();
    assert_eq!(c.total_errors, errors);
    assert!((c.avg_preprocessing_time.unwrap() - pre_sum as f64 / n / 1e9).abs() < 1e-12);
    assert!((c.avg_quantization_time.unwrap() - quant_sum as f64 / n / 1e9).abs() < 1e-12);
    let batch_mean = batches.iter().sum::<u64>() as f64 / n;
    assert!((c.avg_batch_size.unwrap() - batch_mean).abs() < 1e-9);
    assert_eq!(c.max_batch_size, Some(64));
    // Statistics also appear in the JSON the seeds' callers read.
    let json = serde_json::to_value(&c).unwrap();
    for key in [
        "total_requests",
        "avg_inference_time",
        "p95_inference_time",
        "throughput",
        "current_throughput",
        "error_rate",
        "cache_hit_rate",
        "total_runtime",
        "average_throughput",
        "peak_throughput",
        "stability_score",
    ] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
}

#[test]
fn window_statistics_cover_the_last_window_size_measurements_exactly() {
    let (engine, m) = private(16);
    // One thread: the window is exactly the last 16 values.
    let values: Vec<u64> = (1..=100u64).map(|i| i * 1_000_000).collect();
    for &v in &values {
        m.update_inference(Duration::from_nanos(v), 1, 0.0, 0.0);
    }
    engine.flush();
    let s = m.statistics();
    let last = &values[values.len() - 16..];
    assert_eq!(s.window_count, 16);
    let mean = last.iter().sum::<u64>() as f64 / 16.0 / 1e9;
    assert!((s.window_avg_inference_time.unwrap() - mean).abs() < 1e-12);
    assert_eq!(
        s.window_p95_inference_time.unwrap(),
        nearest_rank(last, 0.95) / 1e9
    );
    // Stability: 1 / (1 + cv) of the window (sample standard deviation).
    let c = m.comprehensive_statistics();
    let xs: Vec<f64> = last.iter().map(|&v| v as f64).collect();
    let mu = xs.iter().sum::<f64>() / 16.0;
    let sd = (xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / 15.0).sqrt();
    assert!((c.stability_score.unwrap() - 1.0 / (1.0 + sd / mu)).abs() < 1e-12);
}

#[test]
fn invalid_durations_are_counted_not_recorded_and_reset_starts_over() {
    let (engine, m) = private(8);
    m.update_inference(f64::NAN, 1, 0.0, 0.0);
    m.update_inference(0.01, 1, -1.0, 0.0);
    m.update_inference(0.02, 4, 0.0, f64::INFINITY);
    m.update_inference(0.004, 2, 0.001, 0.0);
    m.record_error_kind("timeout");
    engine.flush();
    let s = m.statistics();
    assert_eq!(s.total_requests, 1);
    assert_eq!(s.error_rate, 1.0);
    let snap = engine.snapshot();
    let invalid = snap
        .get("inference_invalid_total", &[("instance", m.instance())])
        .unwrap();
    assert!(matches!(&invalid.value, tachymeter::MetricValue::Counter(c) if c.total == 3));
    m.reset();
    m.update_inference(0.5, 1, 0.0, 0.0);
    engine.flush();
    let s = m.statistics();
    assert_eq!(s.total_requests, 1);
    assert_eq!(s.error_rate, 0.0);
    assert!((s.avg_inference_time.unwrap() - 0.5).abs() < 1e-12);
}

#[test]
fn instances_are_independent_and_the_global_one_exists() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let a = InferenceMetrics::builder()
        .engine(engine.clone())
        .instance("a")
        .build()
        .unwrap();
    let b = InferenceMetrics::builder()
        .engine(engine.clone())
        .instance("b")
        .build()
        .unwrap();
    a.update_inference(0.001, 1, 0.0, 0.0);
    b.record_error();
    engine.flush();
    assert_eq!(a.statistics().total_requests, 1);
    assert_eq!(a.statistics().error_rate, 0.0);
    assert_eq!(b.statistics().total_requests, 0);
    let g = tachymeter_monitor::global_inference_metrics();
    assert_eq!(g.instance(), "global");
    assert_eq!(g.window_size(), 1000);
    assert!(std::ptr::eq(
        g,
        tachymeter_monitor::global_inference_metrics()
    ));
}

#[test]
fn a_reader_polling_statistics_never_blocks_writers() {
    // Writers record while a reader polls statistics as fast as it can; the writers finish
    // their fixed work and every record is counted. (Reading uses published snapshots only.)
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(1))
            .build()
            .unwrap(),
    );
    let m = InferenceMetrics::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let polls = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut polls = 0u64;
            let mut last = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let st = m.statistics();
                assert!(st.total_requests >= last, "totals never go backwards");
                last = st.total_requests;
                polls += 1;
            }
            polls
        });
        let writers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    for i in 0..50_000u64 {
                        m.update_inference(Duration::from_nanos(1000 + i), 8, 0.0, 0.0);
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap()
    });
    engine.flush();
    assert_eq!(m.statistics().total_requests, 100_000);
    assert!(polls > 0);
}
