//! The `metrics` recorder against exact oracles: macro records from several threads, units,
//! names, conflicts and limits, and no allocation per record after warm-up.

use std::sync::Arc;
use tachymeter::{Engine, MetricValue, Snapshot};
use tachymeter_metrics::TachymeterRecorder;
use tachymeter_test_alloc::allocations;

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

fn engine() -> Arc<Engine> {
    Arc::new(Engine::builder().background(false).build().unwrap())
}

fn counter(s: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u128 {
    match s.get(name, labels).map(|m| &m.value) {
        Some(MetricValue::Counter(c)) => c.total,
        other => panic!("{name}{labels:?}: {other:?}"),
    }
}

#[test]
fn macro_records_from_several_threads_are_exact() {
    let e = engine();
    let rec = TachymeterRecorder::new(e.clone());
    metrics::with_local_recorder(&rec, || {
        metrics::describe_histogram!("op_duration", metrics::Unit::Milliseconds, "Op time.");
    });
    const ROUTES: [&str; 3] = ["/a", "/b", "/c"];
    std::thread::scope(|s| {
        for t in 0..4usize {
            let rec = &rec;
            s.spawn(move || {
                metrics::with_local_recorder(rec, || {
                    for i in 0..3000usize {
                        let route = ROUTES[(i + t) % 3];
                        metrics::counter!("http.requests", "route" => route).increment(1);
                        metrics::histogram!("op_duration").record(1.5); // ms
                        metrics::gauge!("workers", "thread" => ["0", "1", "2", "3"][t])
                            .set(i as f64);
                    }
                });
            });
        }
    });
    let s = e.flush();
    // Oracle: thread t, iteration i hits route (i + t) % 3; 4 × 3000 = 12,000 requests.
    let mut want = [0u128; 3];
    for t in 0..4 {
        for i in 0..3000 {
            want[(i + t) % 3] += 1;
        }
    }
    for (r, w) in ROUTES.iter().zip(want) {
        assert_eq!(counter(&s, "http_requests", &[("route", r)]), w, "{r}");
    }
    let h = s.histogram("op_duration").unwrap();
    assert_eq!(h.cumulative.count(), 12_000);
    // 1.5 ms stored as 1,500,000 ns each: exact.
    assert_eq!(h.cumulative.sum(), 12_000 * 1_500_000);
    assert_eq!(h.steps_per_unit, 1e6);
    for t in ["0", "1", "2", "3"] {
        let g = s.get("workers", &[("thread", t)]).unwrap();
        assert!(
            matches!(&g.value, MetricValue::Gauge(g) if g.value == 2999.0),
            "{t}"
        );
    }
    assert_eq!(rec.rejected(), 0);
}

#[test]
fn units_absolute_conflicts_and_limits() {
    let e = engine();
    let rec = TachymeterRecorder::with_max_keys(e.clone(), 4);
    metrics::with_local_recorder(&rec, || {
        // Undescribed `_seconds` histograms store nanoseconds; others whole numbers.
        metrics::histogram!("wait_seconds").record(0.25);
        metrics::histogram!("batch").record(3.0);
        // `absolute` raises a counter to a value; lower values are ignored.
        let c = metrics::counter!("bytes_total");
        c.absolute(100);
        c.absolute(40);
        c.absolute(150);
        // The same name as another kind: refused, a no-op, counted.
        metrics::gauge!("batch").set(1.0);
        // One more key fits (4), the next does not.
        metrics::counter!("fourth_total").increment(1);
        metrics::counter!("fifth_total").increment(1);
    });
    assert_eq!(rec.keys(), 4);
    assert_eq!(rec.rejected(), 2);
    let s = e.flush();
    let w = s.histogram("wait_seconds").unwrap();
    assert_eq!(w.cumulative.sum(), 250_000_000);
    assert_eq!(s.histogram("batch").unwrap().cumulative.sum(), 3);
    assert_eq!(counter(&s, "bytes_total", &[]), 150);
    assert!(s.get("fifth_total", &[]).is_none());
    // A default unit for undescribed histograms.
    let e2 = engine();
    let rec2 = TachymeterRecorder::new(e2.clone()).default_histogram_unit(metrics::Unit::Seconds);
    metrics::with_local_recorder(&rec2, || metrics::histogram!("latency").record(0.004));
    let s2 = e2.flush();
    let l = s2.histogram("latency").unwrap();
    assert_eq!(l.in_unit(l.cumulative.sum() as f64), 0.004);
}

#[test]
fn macro_calls_allocate_nothing_after_warm_up() {
    tachymeter_test_alloc::assert_installed();
    let e = engine();
    let rec = TachymeterRecorder::new(e.clone());
    metrics::with_local_recorder(&rec, || {
        let record = |i: u64| {
            metrics::counter!("calls_total", "route" => "/x").increment(1);
            metrics::gauge!("depth").set(i as f64);
            metrics::histogram!("size").record(i as f64);
        };
        record(0); // registration and this thread's lanes and shards
        assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8]))), 1);
        let n = allocations(|| {
            for i in 0..50_000 {
                record(i);
            }
        });
        assert_eq!(n, 0, "allocations per 150,000 macro records");
    });
    assert_eq!(
        counter(&e.flush(), "calls_total", &[("route", "/x")]),
        50_001
    );
}
