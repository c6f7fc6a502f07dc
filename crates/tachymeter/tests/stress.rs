//! Stress tests, `#[ignore]`d: `cargo test --release -p tachymeter -- --ignored` (run by CI).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tachymeter::{Engine, HistogramConfig, MetricValue};

/// 100,000 short-lived threads: exact totals, every slot released, and memory does not grow
/// with the number of threads (live heap bytes measured by a counting allocator).
#[test]
#[ignore]
fn hundred_thousand_short_lived_threads() {
    let e = Engine::builder()
        .background(false)
        .max_threads(16)
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    let h = e
        .histogram_with("h", HistogramConfig::default().recent(16))
        .unwrap();
    // Explicit joins: a native join returns only after the thread's TLS destructors (which
    // release its slot) have run; `scope`'s implicit join does not wait for those.
    let run = |batches: u64, per_batch: u64| {
        for b in 0..batches {
            std::thread::scope(|s| {
                let hs: Vec<_> = (0..per_batch)
                    .map(|k| {
                        let (c, h) = (&c, &h);
                        s.spawn(move || {
                            c.add(k + 1);
                            h.record(b * per_batch + k);
                        })
                    })
                    .collect();
                hs.into_iter().for_each(|h| h.join().unwrap());
            });
        }
    };
    // Warm-up: 16 threads alive at once (barrier) take all 16 slots, so every slot's shards are
    // allocated; then 990 more threads.
    let barrier = std::sync::Barrier::new(16);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..16u64)
            .map(|k| {
                let (c, h, barrier) = (&c, &h, &barrier);
                s.spawn(move || {
                    c.add(k + 1);
                    h.record(k);
                    barrier.wait();
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
    assert_eq!(e.flush().stats().overflow_claims, 0);
    run(99, 10);
    let live_after_warm_up = live::bytes();
    run(9_900, 10);
    let live_after_all = live::bytes();
    let s = e.flush();
    assert_eq!(
        s.counter("c_total").unwrap().total,
        (1..=16).sum::<u64>() + 9_999 * 55
    );
    let hs = s.histogram("h").unwrap();
    assert_eq!(hs.cumulative.count(), 100_006);
    // Values: 0..16, then b·10 + k for b in 0..99, then for b in 0..9_900.
    let expect: u128 =
        (0..16u128).sum::<u128>() + (0..990u128).sum::<u128>() + (0..99_000u128).sum::<u128>();
    assert_eq!(hs.cumulative.sum(), expect);
    assert_eq!(s.stats().slot_claims, 100_006);
    assert_eq!(s.stats().threads_active, 0);
    assert_eq!(s.stats().overflow_claims, 0);
    let growth = live_after_all - live_after_warm_up;
    println!(
        "live heap: {live_after_warm_up} B after 1,006 threads, {live_after_all} B after 100,006"
    );
    assert!(
        growth < 64 * 1024,
        "memory grew by {growth} B over 99,000 threads"
    );
}

mod live {
    //! Live heap bytes, from a counting allocator.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicI64, Ordering};

    static LIVE: AtomicI64 = AtomicI64::new(0);

    pub fn bytes() -> i64 {
        LIVE.load(Ordering::SeqCst)
    }

    struct Live;

    // SAFETY: every method forwards to `System`; the counter has no effect on memory.
    unsafe impl GlobalAlloc for Live {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
            // SAFETY: same contract as our caller's.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            LIVE.fetch_sub(l.size() as i64, Ordering::Relaxed);
            // SAFETY: same contract as our caller's.
            unsafe { System.dealloc(p, l) }
        }
    }

    #[global_allocator]
    static GLOBAL: Live = Live;
}

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
                let (mut seq, mut total, mut checked) = (0u64, 0u64, 0u64);
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
    assert_eq!(s.counter("c_total").unwrap().total, total);
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

/// Control for `hundred_thousand_short_lived_threads`: the same thread pattern without
/// recording, to separate the standard library's own growth from ours.
#[test]
#[ignore]
fn control_threads_without_recording() {
    let run = |batches: u64, per_batch: u64| {
        for _ in 0..batches {
            std::thread::scope(|s| {
                let hs: Vec<_> = (0..per_batch).map(|_| s.spawn(|| {})).collect();
                hs.into_iter().for_each(|h| h.join().unwrap());
            });
        }
    };
    run(1, 16);
    run(99, 10);
    let a = live::bytes();
    run(9_900, 10);
    let b = live::bytes();
    println!("control live heap: {a} B after 1,006 threads, {b} B after 100,006");
}
