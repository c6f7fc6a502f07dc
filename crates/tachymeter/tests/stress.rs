//! Stress tests, `#[ignore]`d: `cargo test --release -p tachymeter -- --ignored` (run by CI).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tachymeter::{Engine, HistogramConfig, MetricValue};

/// Writers + background aggregator + 4 readers for 10 s, with invariants checked on every
/// snapshot a reader loads; exact totals at the end.
#[test]
#[ignore]
fn writers_aggregator_and_readers_for_ten_seconds() {
    let e = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(2))
            .window(8)
            .build()
            .unwrap(),
    );
    let c = e.counter("c_total").unwrap();
    let h = e
        .histogram_with("h", HistogramConfig::default().recent(64))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let (c, h, stop, written) = (c.clone(), h.clone(), stop.clone(), written.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1000 {
                        c.increment();
                        h.record((n * 2654435761 + t) % 1_000_000 + 1);
                        n += 1;
                    }
                }
                written.fetch_add(n, Ordering::SeqCst);
                n
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (e, stop) = (e.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut seq, mut total, mut checked) = (0u64, 0u128, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let s = e.snapshot();
                    assert!(s.sequence() >= seq, "sequence went backwards");
                    seq = s.sequence();
                    let Some(cs) = s.counter("c_total") else {
                        continue;
                    };
                    assert!(cs.total >= total, "counter total went backwards");
                    total = cs.total;
                    let Some(MetricValue::Histogram(hs)) = s.get("h", &[]).map(|m| &m.value) else {
                        continue;
                    };
                    for d in [&hs.cumulative, &hs.interval, &hs.window] {
                        assert_eq!(
                            d.count(),
                            d.zero_count() + d.buckets().map(|b| b.1).sum::<u64>()
                        );
                        if d.count() > 0 {
                            let (mn, mx) = (d.min().unwrap() as f64, d.max().unwrap() as f64);
                            for q in [0.0, 0.5, 0.99, 1.0] {
                                let v = d.quantile(q).unwrap();
                                assert!(mn <= v && v <= mx, "q{q} = {v} outside [{mn}, {mx}]");
                            }
                        }
                    }
                    assert!(hs.window.count() >= hs.interval.count());
                    assert!(hs.recent.len() <= 64);
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    let total: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let checked: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let s = e.flush();
    assert_eq!(s.counter("c_total").unwrap().total, u128::from(total));
    assert_eq!(s.histogram("h").unwrap().cumulative.count(), total);
    println!(
        "{total} records, {checked} snapshots checked by 4 readers, {} published in {:?}",
        s.sequence(),
        started.elapsed()
    );
    assert!(checked > 100);
}

/// Engines created and dropped repeatedly while threads keep recording through their handles.
#[test]
#[ignore]
fn engines_dropped_while_threads_record() {
    for round in 0..20 {
        let e = Engine::builder()
            .interval(Duration::from_millis(1))
            .build()
            .unwrap();
        let c = e.counter("c_total").unwrap();
        let h = e.histogram("h").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ws: Vec<_> = (0..3)
            .map(|_| {
                let (c, h, stop) = (c.clone(), h.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        c.increment();
                        h.record(n);
                        n += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5 + round));
        let t = Instant::now();
        drop(e);
        assert!(t.elapsed() < Duration::from_secs(2), "drop blocked");
        std::thread::sleep(Duration::from_millis(2));
        stop.store(true, Ordering::Relaxed);
        for w in ws {
            w.join().unwrap();
        }
    }
}
