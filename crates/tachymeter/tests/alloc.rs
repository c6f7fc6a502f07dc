//! Allocation-free proof: a counting global allocator counts every allocation made by the
//! recording threads while they record. After warm-up (each thread's first record into each
//! metric allocates its shard), 10 million records across counter, gauge, histogram (with a
//! recent-sample ring), event log and timer, on several threads, must allocate nothing.
#![allow(clippy::disallowed_types)]

use std::sync::Barrier;
use tachymeter::{Engine, HistogramConfig};
use tachymeter_test_alloc::allocations;

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

const THREADS: u64 = 3;
const RECORDS_PER_THREAD: u64 = 10_000_000 / THREADS / 6 + 1;

#[test]
fn ten_million_records_allocate_nothing_after_warm_up() {
    tachymeter_test_alloc::assert_installed();
    let e = Engine::builder()
        .interval(std::time::Duration::from_millis(5))
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    let g = e.gauge("g").unwrap();
    let h = e
        .histogram_with("h", HistogramConfig::default().recent(256))
        .unwrap();
    let t = e.histogram("t").unwrap();
    let ev = e.events("ev").unwrap();
    let barrier = Barrier::new(THREADS as usize);
    let counted: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|k| {
                let (c, g, h, t, ev, e, barrier) = (&c, &g, &h, &t, &ev, &e, &barrier);
                s.spawn(move || {
                    // Warm-up: claims this thread's slot and allocates its shards.
                    c.increment();
                    g.set(0.0);
                    h.record(1);
                    t.time(|| ());
                    ev.record(0);
                    let rec = e.local_recorder();
                    let (lc, lh) = (rec.counter(c), rec.histogram(h));
                    lc.increment();
                    lh.record(1);
                    barrier.wait();
                    allocations(|| {
                        for i in 0..RECORDS_PER_THREAD {
                            c.increment();
                            g.add(1.0);
                            h.record(i ^ k);
                            ev.record_with((i % 7) as u32, i as u32);
                            lc.add(2);
                            let _timer = t.start_timer();
                        }
                    })
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    // Each recording thread counted its own allocations only (the aggregator ran meanwhile:
    // 5 ms interval), so this is exactly what recording allocated.
    assert_eq!(counted, 0, "allocations on the hot path");
    let s = e.flush();
    assert_eq!(
        s.counter("c_total").unwrap().total,
        u128::from(THREADS * (2 + 3 * RECORDS_PER_THREAD))
    );
    assert_eq!(
        s.histogram("h").unwrap().cumulative.count(),
        THREADS * (2 + RECORDS_PER_THREAD)
    );
    assert!(s.sequence() > 1, "the aggregator ran concurrently");
}

/// Family lookups of existing series (through the family and through a macro call site with
/// runtime label values) and record-log records allocate nothing, on several threads.
#[test]
fn family_lookups_allocate_nothing_after_warm_up() {
    tachymeter_test_alloc::assert_installed();
    let e = Engine::builder()
        .interval(std::time::Duration::from_millis(5))
        .build()
        .unwrap();
    let fam = e
        .counter_family("fam_alloc_total", &["route", "method"])
        .unwrap();
    let hist = e.histogram_family("fam_alloc_latency", &["stage"]).unwrap();
    let log = e.record_log("fam_alloc_records").unwrap();
    const ROUTES: [&str; 4] = ["/a", "/b", "/c", "/d"];
    const STAGES: [&str; 3] = ["parse", "run", "write"];
    let barrier = Barrier::new(THREADS as usize);
    let per_thread = 1_000_000u64;
    let counted: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|_| {
                let (fam, hist, log, barrier) = (&fam, &hist, &log, &barrier);
                s.spawn(move || {
                    // One macro call site (each call site has its own family).
                    let by_macro = |r: &str| {
                        tachymeter::counter!("fam_alloc_macro_total", "route" => r).increment();
                    };
                    // Warm-up: every series exists and this thread has its shards.
                    for r in ROUTES {
                        fam.with(&[r, "GET"]).increment();
                        by_macro(r);
                    }
                    for st in STAGES {
                        hist.with(&[st]).record(1);
                    }
                    log.record([0, 0, 0]);
                    barrier.wait();
                    allocations(|| {
                        for i in 0..per_thread {
                            let r = ROUTES[i as usize & 3];
                            fam.with(&[r, "GET"]).increment();
                            fam.record(&[r, "GET"], 2);
                            by_macro(r);
                            hist.record(&[STAGES[i as usize % 3]], i);
                            log.record([i, 1, 2]);
                        }
                    })
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(counted, 0, "allocations on family lookups");
    let s = e.flush();
    let total: u128 = s
        .metrics()
        .iter()
        .filter(|m| m.desc.name == "fam_alloc_total")
        .map(|m| match &m.value {
            tachymeter::MetricValue::Counter(c) => c.total,
            _ => 0,
        })
        .sum();
    assert_eq!(total, u128::from(THREADS * (4 + 3 * per_thread)));
    assert_eq!(fam.len(), 4);
}

/// Steady-state allocations of one `flush()` (collect + publish): zero, because the aggregator
/// rebuilds the previously published snapshot in place once no reader holds it.
#[test]
fn aggregator_flush_allocates_nothing_in_steady_state() {
    tachymeter_test_alloc::assert_installed();
    let e = Engine::builder()
        .background(false)
        .window(4)
        .build()
        .unwrap();
    let hists: Vec<_> = (0..10)
        .map(|i| {
            e.histogram_with(format!("h{i}"), HistogramConfig::default().recent(16))
                .unwrap()
        })
        .collect();
    let counters: Vec<_> = (0..10)
        .map(|i| e.counter(format!("c{i}_total")).unwrap())
        .collect();
    let gauge = e.gauge("g").unwrap();
    let events = e.events("ev").unwrap();
    let record = |round: u64| {
        for (k, (h, c)) in hists.iter().zip(&counters).enumerate() {
            // The same distribution every round: steady state means the set of non-empty
            // buckets stops growing (a new bucket may grow a buffer, amortised, as a Vec does).
            for v in 0..50 {
                h.record(1 + (v * 7919 + k as u64) % 1_000_000);
            }
            c.increment();
        }
        gauge.set(round as f64);
        events.record(round as u32);
    };
    // Warm-up: fill the window (4 intervals) and let every buffer reach its working size.
    for round in 0..12 {
        record(round);
        drop(e.flush());
    }
    let mut per_flush = Vec::new();
    for round in 12..20 {
        record(round);
        per_flush.push(allocations(|| drop(e.flush())));
    }
    println!("aggregator allocations per flush, steady state: {per_flush:?}");
    assert!(per_flush.iter().all(|&n| n == 0), "{per_flush:?}");

    // A reader still holding the previous snapshot forces a fresh one (allocations, counted).
    let held = e.flush();
    // The next flush rebuilds the snapshot before `held` and keeps `held` as the spare...
    drop(e.flush());
    record(20);
    // ...so this one finds its spare held by a reader and builds a fresh snapshot.
    let mut next = None;
    let fresh = allocations(|| next = Some(e.flush()));
    println!("allocations of a flush whose previous snapshot is still held: {fresh}");
    assert!(fresh > 0);
    drop((held, next));
}
