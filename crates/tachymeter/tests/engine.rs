//! Engine-level behaviour against independent oracles (exact sums, sorted vectors).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Clock, Engine, HistogramConfig, MetricValue, Opts, RegisterError};

fn manual() -> Engine {
    Engine::builder().background(false).build().unwrap()
}

#[test]
fn exact_totals_across_threads_including_exited_ones() {
    let e = manual();
    let c = e.counter("ops_total").unwrap();
    let h = e.histogram("sizes").unwrap();
    let mut expect_sum = 0u128;
    // Threads that exit before any snapshot is taken. They are joined explicitly: a join
    // returns after the thread's thread-local destructors (which release its slot) have run,
    // while `thread::scope` alone may return before them (see `Stats::threads_active`).
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let (c, h) = (&c, &h);
                s.spawn(move || {
                    for i in 0..25_000u64 {
                        c.add(t + 1);
                        h.record(i % 1000 + t);
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|j| j.join().unwrap());
    });
    for t in 0..4u64 {
        expect_sum += (0..25_000u64).map(|i| (i % 1000 + t) as u128).sum::<u128>();
    }
    let snap = e.flush();
    assert_eq!(
        snap.counter("ops_total").unwrap().total,
        25_000 * (1 + 2 + 3 + 4)
    );
    let hs = &snap.histogram("sizes").unwrap().cumulative;
    assert_eq!(hs.count(), 100_000);
    assert_eq!(hs.sum(), expect_sum);
    assert_eq!(hs.min(), Some(0));
    assert_eq!(hs.max(), Some(1002));
    // Slots were released on exit and the counts stayed.
    assert_eq!(snap.stats().threads_active, 0);
    assert_eq!(e.flush().counter("ops_total").unwrap().total, 250_000);
}

#[test]
fn many_short_lived_threads_reuse_slots_and_keep_totals() {
    let e = Engine::builder()
        .background(false)
        .max_threads(4)
        .build()
        .unwrap();
    let c = e.counter("short_total").unwrap();
    let threads = 2_000u64;
    for batch in 0..threads / 4 {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..4).map(|_| s.spawn(|| c.add(batch + 1))).collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
        });
    }
    let snap = e.flush();
    let expect: u64 = (1..=threads / 4).map(|b| 4 * b).sum();
    assert_eq!(
        snap.counter("short_total").unwrap().total,
        u128::from(expect)
    );
    let st = snap.stats();
    assert_eq!(st.slot_claims, threads);
    // An explicit (native) join returns after the thread's TLS destructor released its slot,
    // so every batch finds all 4 slots free again.
    assert_eq!(st.overflow_claims, 0, "{st:?}");
    assert_eq!(st.slot_capacity, 4);
}

#[test]
fn snapshot_invariants_and_quantiles_against_sorted_oracle() {
    let e = manual();
    let h = e.histogram("lat").unwrap();
    let mut all: Vec<u64> = Vec::new();
    let per_thread: Vec<Vec<u64>> = (0..3u64)
        .map(|t| {
            let mut x = 0x2545F4914F6CDD1Du64 ^ t;
            (0..20_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // log-uniform between 1 µs and 10 ms, in ns
                    let exp = 3.0 + 4.0 * (x % 10_000) as f64 / 10_000.0;
                    10f64.powf(exp) as u64
                })
                .collect()
        })
        .collect();
    std::thread::scope(|s| {
        for vals in &per_thread {
            let h = &h;
            s.spawn(move || vals.iter().for_each(|&v| h.record(v)));
        }
    });
    for v in &per_thread {
        all.extend(v);
    }
    all.sort_unstable();
    let snap = e.flush();
    let hs = &snap.histogram("lat").unwrap().cumulative;
    assert_eq!(hs.count(), all.len() as u64);
    assert_eq!(
        hs.count(),
        hs.zero_count() + hs.buckets().map(|b| b.1).sum::<u64>()
    );
    let bound = tachymeter::histogram::relative_error_bound(hs.schema());
    for q in [0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
        let est = hs.quantile(q).unwrap();
        let rank = ((q * all.len() as f64).ceil() as usize).clamp(1, all.len());
        let exact = all[rank - 1] as f64;
        assert!(
            (est - exact).abs() <= bound * exact,
            "q={q} est={est} exact={exact}"
        );
        assert!(hs.min().unwrap() as f64 <= est && est <= hs.max().unwrap() as f64);
    }
    let mean = all.iter().map(|&v| v as f64).sum::<f64>() / all.len() as f64;
    assert!((hs.mean().unwrap() - mean).abs() < 1e-6 * mean);
}

#[test]
fn bad_input_is_rejected_and_counted_never_recorded() {
    let e = manual();
    let g = e.gauge("g").unwrap();
    let h = e
        .histogram_with(
            "h",
            HistogramConfig::default().max_value(1000).min_value(10),
        )
        .unwrap();
    g.set(5.0);
    g.set(f64::NAN);
    g.add(f64::INFINITY);
    h.record_f64(-1.0);
    h.record_f64(f64::NAN);
    h.record_f64(f64::NEG_INFINITY);
    h.record_f64(12.4);
    h.record(5_000); // saturates high
    h.record(3); // saturates low
    h.record(0); // zero bucket, not saturated
    let snap = e.flush();
    assert_eq!(snap.gauge("g").unwrap().value, 5.0);
    let hs = snap.histogram("h").unwrap();
    assert_eq!(hs.rejected, 3);
    assert_eq!(hs.saturated, 2);
    assert_eq!(hs.cumulative.count(), 4);
    assert_eq!(hs.cumulative.zero_count(), 1);
    assert_eq!(hs.cumulative.sum(), 12 + 5_000 + 3);
    assert_eq!(snap.stats().rejected, 5);
    assert_eq!(snap.stats().saturated, 2);
}

#[test]
fn registration_rules() {
    let e = Engine::builder()
        .background(false)
        .label_set_limit(3)
        .build()
        .unwrap();
    let a = e
        .counter(Opts::new("x_total").label("b", "1").label("a", "2"))
        .unwrap();
    let b = e
        .counter(Opts::new("x_total").label("a", "2").label("b", "1"))
        .unwrap();
    a.increment();
    b.increment();
    // Label order does not matter: both handles are the same metric.
    let snap = e.flush();
    let m = snap.get("x_total", &[("b", "1"), ("a", "2")]).unwrap();
    assert!(matches!(&m.value, MetricValue::Counter(c) if c.total == 2));
    assert_eq!(snap.metrics().len(), 1);
    assert!(matches!(
        e.gauge("x_total"),
        Err(RegisterError::KindMismatch { .. })
    ));
    assert!(matches!(
        e.counter("bad-name"),
        Err(RegisterError::InvalidName { .. })
    ));
    assert!(matches!(
        e.counter(""),
        Err(RegisterError::InvalidName { .. })
    ));
    assert!(matches!(
        e.counter(Opts::new("y").label("__x", "1")),
        Err(RegisterError::InvalidLabelName { .. })
    ));
    assert!(matches!(
        e.counter(Opts::new("y").label("a", "1").label("a", "2")),
        Err(RegisterError::InvalidLabelName { .. })
    ));
    assert!(matches!(
        e.histogram(Opts::new("hh").label("le", "1")),
        Err(RegisterError::InvalidLabelName { .. })
    ));
    assert!(matches!(
        e.counter(Opts::new("y").unit("bad unit")),
        Err(RegisterError::InvalidUnit { .. })
    ));
    let _second = e.counter(Opts::new("x_total").label("a", "3")).unwrap();
    let _third = e.counter(Opts::new("x_total").label("a", "4")).unwrap();
    let err = e.counter(Opts::new("x_total").label("a", "5")).unwrap_err();
    assert!(
        matches!(err, RegisterError::TooManyLabelSets { limit: 3, .. }),
        "{err}"
    );
    let _cfg = e
        .histogram_with("cfg", HistogramConfig::default().schema(3))
        .unwrap();
    assert!(matches!(
        e.histogram_with(Opts::new("cfg").label("k", "v"), HistogramConfig::default()),
        Err(RegisterError::ConfigMismatch { .. })
    ));
    assert!(matches!(
        e.histogram_with("bad_schema", HistogramConfig::default().schema(9)),
        Err(RegisterError::InvalidConfig { .. })
    ));
    // Errors explain themselves.
    assert!(err.to_string().contains("limit"));
}

#[test]
fn rates_windows_and_intervals_with_a_mock_clock() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .window(3)
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    let h = e.histogram("h").unwrap();
    let per_interval = [100u64, 300, 50, 10];
    let mut last = None;
    for (i, &n) in per_interval.iter().enumerate() {
        for k in 0..n {
            c.increment();
            h.record(1000 + k);
        }
        mock.advance(Duration::from_millis(500));
        let s = e.flush();
        assert_eq!(s.sequence(), i as u64 + 1);
        assert_eq!(s.interval(), Duration::from_millis(500));
        let cs = s.counter("c_total").unwrap();
        assert_eq!(cs.delta, u128::from(n));
        assert!((cs.rate - n as f64 * 2.0).abs() < 1e-9);
        let hs = s.histogram("h").unwrap();
        assert_eq!(hs.interval.count(), n);
        last = Some(s);
    }
    let s = last.unwrap();
    let cs = s.counter("c_total").unwrap();
    // Window of the last 3 intervals: 300 + 50 + 10 over 1.5 s.
    assert!((cs.window_rate - 360.0 / 1.5).abs() < 1e-9);
    assert!((cs.peak_rate - 600.0).abs() < 1e-9);
    let hs = s.histogram("h").unwrap();
    assert_eq!(hs.window.count(), 360);
    assert_eq!(hs.window_duration, Duration::from_millis(1500));
    assert!((hs.throughput - 240.0).abs() < 1e-9);
    assert!((hs.peak_throughput - 600.0).abs() < 1e-9);
    assert_eq!(hs.cumulative.count(), 460);
    // Interval extremes are bucket bounds around the true extremes (1000 and 1009).
    let (mn, mx) = (hs.interval.min().unwrap(), hs.interval.max().unwrap());
    assert!(mn <= 1000 && mn as f64 >= 1000.0 * (1.0 - 0.011));
    assert!(mx >= 1009 && mx as f64 <= 1009.0 * 1.011);
}

#[test]
fn gauge_combines_sets_and_adds_across_threads() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let g = e.gauge("inflight").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    g.add(1.0);
                }
                for _ in 0..400 {
                    g.sub(1.0);
                }
            });
        }
    });
    assert_eq!(e.flush().gauge("inflight").unwrap().value, 2400.0);
    mock.advance(Duration::from_nanos(10));
    std::thread::scope(|s| {
        s.spawn(|| g.set(7.0));
    });
    assert_eq!(e.flush().gauge("inflight").unwrap().value, 7.0);
    g.add(3.0);
    assert_eq!(e.flush().gauge("inflight").unwrap().value, 10.0);
    // A later set on another thread wins over an earlier one.
    mock.advance(Duration::from_nanos(10));
    g.set(1.0);
    mock.advance(Duration::from_nanos(10));
    std::thread::scope(|s| {
        s.spawn(|| g.set(2.0));
    });
    assert_eq!(e.flush().gauge("inflight").unwrap().value, 2.0);
}

#[test]
fn recent_samples_ring_gives_exact_recent_quantiles() {
    let e = manual();
    let h = e
        .histogram_with("r", HistogramConfig::default().recent(64))
        .unwrap();
    for v in 1..=1000u64 {
        h.record(v);
    }
    let s = e.flush();
    let hs = s.histogram("r").unwrap();
    assert_eq!(hs.recent, (937..=1000).collect::<Vec<_>>());
    assert_eq!(hs.recent_quantile(0.5), Some(968));
    assert_eq!(s.stats().ring_overwritten, 1000 - 64);
    for v in 2000..2010u64 {
        h.record(v);
    }
    let s = e.flush();
    let hs = s.histogram("r").unwrap();
    assert_eq!(hs.recent.len(), 64);
    assert_eq!(&hs.recent[54..], &(2000..2010).collect::<Vec<_>>()[..]);
    assert_eq!(s.stats().ring_overwritten, 936);
}

#[test]
fn events_keep_recent_codes_and_totals() {
    let e = Engine::builder()
        .background(false)
        .events_capacity(4)
        .build()
        .unwrap();
    let ev = e.events("errors").unwrap();
    for i in 0..10u32 {
        ev.record_with(i % 3, i);
    }
    let s = e.flush();
    let es = s.events("errors").unwrap();
    assert_eq!(es.total, 10);
    assert_eq!(es.overwritten, 6);
    let payloads: Vec<u32> = es.recent.iter().map(|e| e.payload).collect();
    assert_eq!(payloads, vec![6, 7, 8, 9]);
    assert_eq!(es.recent[0].code, 0);
}

#[test]
fn local_recorder_and_overflow_slot() {
    let e = Engine::builder()
        .background(false)
        .max_threads(1)
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    let plain = e.histogram("plain").unwrap();
    let h = e
        .histogram_with("h", HistogramConfig::default().recent(8))
        .unwrap();
    let r1 = e.local_recorder();
    assert!(!r1.is_overflow());
    let lc = r1.counter(&c);
    let lh = r1.histogram(&h);
    std::thread::scope(|s| {
        // Table full: these threads share the overflow slot (atomic RMW), nothing is lost.
        for _ in 0..2 {
            s.spawn(|| {
                let r = e.local_recorder();
                assert!(r.is_overflow());
                let (c2, h2) = (r.counter(&c), r.histogram(&h));
                for i in 0..10_000 {
                    c2.increment();
                    h2.record(i);
                    // No ring configured: nothing to count as dropped.
                    plain.record(i);
                }
            });
        }
        for i in 0..10_000 {
            lc.increment();
            lh.record(i);
        }
    });
    let s = e.flush();
    assert_eq!(s.counter("c_total").unwrap().total, 30_000);
    assert_eq!(s.histogram("h").unwrap().cumulative.count(), 30_000);
    // Two LocalRecorder claims plus the same two threads' plain-handle (thread-local) claims
    // for `plain`, all with the table full.
    assert_eq!(s.stats().overflow_claims, 4);
    assert_eq!(s.histogram("plain").unwrap().cumulative.count(), 20_000);
    assert_eq!(s.stats().ring_dropped, 20_000);
}

#[test]
fn dropping_the_engine_while_threads_record_neither_blocks_nor_panics() {
    let e = Engine::builder()
        .interval(Duration::from_millis(1))
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    let h = e.histogram("h").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (c, h, stop) = (c.clone(), h.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 1000 {
                    c.increment();
                    h.record(n);
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    drop(e); // joins the aggregator thread while writers are running
    stop.store(true, Ordering::Relaxed);
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(total >= 2000);
    // Handles outlive the engine and keep working.
    c.increment();
    h.record(1);
}

#[test]
fn background_aggregator_publishes_increasing_sequences() {
    let e = Engine::builder()
        .interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    c.add(5);
    let mut last = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = e.snapshot();
        assert!(s.sequence() >= last);
        last = s.sequence();
        if s.counter("c_total").map(|c| c.total) == Some(5) && last >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no snapshot published"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn timers_use_the_engine_clock() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let h = e.histogram("t").unwrap();
    {
        let _t = h.start_timer();
        mock.advance(Duration::from_micros(3));
    }
    let out = h.time(|| {
        mock.advance(Duration::from_micros(7));
        42
    });
    assert_eq!(out, 42);
    let r = e.local_recorder();
    r.histogram(&h)
        .time(|| mock.advance(Duration::from_micros(11)));
    let s = e.flush();
    let hs = &s.histogram("t").unwrap().cumulative;
    assert_eq!(hs.count(), 3);
    assert_eq!(hs.sum(), 21_000);
    assert_eq!((hs.min(), hs.max()), (Some(3_000), Some(11_000)));
}

#[test]
fn macros_cache_per_call_site_and_count_failures() {
    for _ in 0..5 {
        tachymeter::counter!("macro_test_total").increment();
        tachymeter::histogram!("macro_test_hist", "k" => "v").record(10);
        tachymeter::gauge!("macro_test_gauge").set(2.0);
        tachymeter::events!("macro_test_events").record(1);
    }
    let before = tachymeter::global().flush().stats().registration_errors;
    tachymeter::counter!("not a valid name").increment(); // detached, counted, no panic
    let s = tachymeter::global().flush();
    assert_eq!(s.stats().registration_errors, before + 1);
    assert_eq!(s.counter("macro_test_total").unwrap().total, 5);
    let m = s.get("macro_test_hist", &[("k", "v")]).unwrap();
    assert!(matches!(&m.value, MetricValue::Histogram(h) if h.cumulative.count() == 5));
}

#[test]
fn window_equals_merge_of_the_last_intervals() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .window(3)
        .build()
        .unwrap();
    let h = e.histogram("w").unwrap();
    let mut intervals: Vec<tachymeter::HistogramData> = Vec::new();
    let mut x = 12345u64;
    for round in 0..20u64 {
        for _ in 0..(round * 37 % 50) {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            h.record(x >> (40 + round % 20));
        }
        mock.advance(Duration::from_millis(100));
        let s = e.flush();
        let hs = s.histogram("w").unwrap();
        intervals.push(hs.interval.clone());
        // Oracle: merge the last three intervals from scratch.
        let mut expect = tachymeter::HistogramData::empty(hs.interval.schema());
        for i in intervals.iter().rev().take(3) {
            expect.merge(i);
        }
        assert_eq!(hs.window.count(), expect.count(), "round {round}");
        assert_eq!(hs.window.sum(), expect.sum(), "round {round}");
        assert_eq!(
            hs.window.buckets().collect::<Vec<_>>(),
            expect.buckets().collect::<Vec<_>>(),
            "round {round}"
        );
    }
}

#[test]
fn local_timer_guard_records_on_drop() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let h = e.histogram("lt").unwrap();
    let r = e.local_recorder();
    let lh = r.histogram(&h);
    {
        let _t = lh.start_timer();
        mock.advance(Duration::from_micros(4));
    }
    let s = e.flush();
    let d = &s.histogram("lt").unwrap().cumulative;
    assert_eq!((d.count(), d.sum()), (1, 4_000));
}
