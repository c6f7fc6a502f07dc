//! 100,000 short-lived threads: exact totals and bounded memory. Its own test binary with one
//! test, because it measures the process's live heap: no other test may allocate meanwhile.
//! `#[ignore]`d; run in release by CI (`cargo test --release -p tachymeter -- --ignored`).

use tachymeter::{Engine, HistogramConfig};

/// 100,000 short-lived threads: exact totals, every slot released, and memory does not grow
/// with the number of threads (live heap bytes measured by a counting allocator).
#[test]
#[ignore]
fn hundred_thousand_short_lived_threads() {
    let control_growth = control_threads_without_recording();
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
    let live_after_warm_up = tachymeter_test_alloc::live_bytes();
    run(9_900, 10);
    let live_after_all = tachymeter_test_alloc::live_bytes();
    let s = e.flush();
    assert_eq!(
        s.counter("c_total").unwrap().total,
        (1..=16).sum::<u128>() + 9_999 * 55
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
        growth - control_growth < 16 * 1024,
        "memory grew by {growth} B over 99,000 threads (control without recording: {control_growth} B)"
    );
}

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

/// The same thread pattern without recording: the standard library's own growth.
fn control_threads_without_recording() -> i64 {
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
    let a = tachymeter_test_alloc::live_bytes();
    run(9_900, 10);
    let b = tachymeter_test_alloc::live_bytes();
    println!("control live heap: {a} B after 1,006 threads, {b} B after 100,006");
    b - a
}
