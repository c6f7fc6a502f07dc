//! Regression tests for the defects an adversarial review found (issue "Hardening"): one test
//! (or more) per defect, each asserting the behaviour against an independent oracle (exact
//! `u128` arithmetic, the values the test itself recorded, the documented ranges).

use proptest::prelude::*;
use std::time::Duration;
use tachymeter::{BuildError, Engine, HistogramConfig, MetricValue, Opts, RegisterError};

fn manual() -> Engine {
    Engine::builder().background(false).build().unwrap()
}

fn counter_total(snap: &tachymeter::Snapshot, name: &str, labels: &[(&str, &str)]) -> u128 {
    match snap.get(name, labels).map(|m| &m.value) {
        Some(MetricValue::Counter(c)) => c.total,
        other => panic!("{name} {labels:?}: {other:?}"),
    }
}

// 1. Macros never panic, whatever fails in which order.
#[test]
fn macros_never_panic_on_repeated_failures_of_other_kinds() {
    let before = tachymeter::global().flush().stats().registration_errors;
    tachymeter::counter!("hz_jobs").increment();
    tachymeter::gauge!("hz_jobs").set(1.0);
    tachymeter::histogram!("hz_jobs").record(1);
    tachymeter::events!("hz_jobs").record(1);
    tachymeter::counter!("bad name").increment();
    tachymeter::gauge!("x y").set(2.0);
    tachymeter::histogram!("h i").record(3);
    let runtime_bad = String::from("also bad");
    tachymeter::counter!(runtime_bad.as_str()).increment();
    tachymeter::gauge!(runtime_bad.as_str()).set(1.0);
    let snap = tachymeter::global().flush();
    // Other tests in this binary only ever add errors, so at least our 8 are there.
    assert!(snap.stats().registration_errors >= before + 8);
    assert_eq!(counter_total(&snap, "hz_jobs", &[]), 1);
}

// 2. Runtime names and label values reach their own series; literal sites stay cached.
#[test]
fn macros_attribute_runtime_names_and_label_values() {
    for r in ["/a", "/b", "/c", "/b"] {
        tachymeter::counter!("hz_hits_total", "route" => r).increment();
    }
    for name in ["hz_dyn_a_total", "hz_dyn_b_total", "hz_dyn_b_total"] {
        tachymeter::counter!(name).increment();
    }
    let label = String::from("method");
    for v in ["GET", "PUT"] {
        tachymeter::histogram!("hz_dyn_latency", label.as_str() => v).record(7);
        tachymeter::gauge!("hz_dyn_depth", "queue" => v.to_lowercase()).set(3.0);
    }
    let mut cached = Vec::new();
    for _ in 0..3 {
        let h: &'static tachymeter::Counter = tachymeter::counter!("hz_literal_total", "k" => "v");
        h.increment();
        cached.push(h as *const _);
    }
    assert!(
        cached.windows(2).all(|w| w[0] == w[1]),
        "literal site cached"
    );
    let snap = tachymeter::global().flush();
    for (route, n) in [("/a", 1), ("/b", 2), ("/c", 1)] {
        assert_eq!(
            counter_total(&snap, "hz_hits_total", &[("route", route)]),
            n
        );
    }
    assert_eq!(counter_total(&snap, "hz_dyn_a_total", &[]), 1);
    assert_eq!(counter_total(&snap, "hz_dyn_b_total", &[]), 2);
    assert_eq!(
        counter_total(&snap, "hz_literal_total", &[("k", "v")]),
        3,
        "cached site"
    );
    for v in ["GET", "PUT"] {
        let h = snap.get("hz_dyn_latency", &[("method", v)]).unwrap();
        assert!(matches!(&h.value, MetricValue::Histogram(h) if h.cumulative.count() == 1));
        let lower = v.to_lowercase();
        let g = snap.get("hz_dyn_depth", &[("queue", &lower)]).unwrap();
        assert!(matches!(&g.value, MetricValue::Gauge(g) if g.value == 3.0));
    }
}

// 3. Every builder setting has a range checked in build().
#[test]
fn builder_settings_out_of_range_are_errors_naming_setting_value_and_range() {
    let cases: Vec<(&str, tachymeter::EngineBuilder)> = vec![
        (
            "events_capacity",
            Engine::builder().events_capacity(usize::MAX),
        ),
        (
            "events_capacity",
            Engine::builder().events_capacity(1 << 40),
        ),
        ("events_capacity", Engine::builder().events_capacity(0)),
        ("interval", Engine::builder().interval(Duration::MAX)),
        ("interval", Engine::builder().interval(Duration::ZERO)),
        (
            "interval",
            Engine::builder().interval(Duration::from_secs(86_401)),
        ),
        ("max_threads", Engine::builder().max_threads(0)),
        ("max_threads", Engine::builder().max_threads(usize::MAX)),
        ("label_set_limit", Engine::builder().label_set_limit(0)),
        (
            "label_set_limit",
            Engine::builder().label_set_limit(usize::MAX),
        ),
        ("max_series", Engine::builder().max_series(0)),
        ("max_series", Engine::builder().max_series(usize::MAX)),
        ("window", Engine::builder().window(0)),
        ("window", Engine::builder().window(usize::MAX)),
    ];
    for (name, builder) in cases {
        let err = builder.background(false).build().unwrap_err();
        let BuildError::OutOfRange {
            setting,
            value,
            range,
        } = &err
        else {
            panic!("{name}: {err:?}");
        };
        assert_eq!(*setting, name);
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains(value.as_str()) && msg.contains(range));
    }
    // The edges of each range build, and the largest ring records.
    let e = Engine::builder()
        .background(false)
        .events_capacity(tachymeter::limits::MAX_EVENTS_CAPACITY)
        .interval(tachymeter::limits::MAX_INTERVAL)
        .window(tachymeter::limits::MAX_WINDOW)
        .max_series(1)
        .label_set_limit(1)
        .max_threads(1)
        .build()
        .unwrap();
    let ev = e.events("edge_events").unwrap();
    ev.record(1);
    assert_eq!(e.flush().events("edge_events").unwrap().total, 1);
    let e = Engine::builder()
        .interval(tachymeter::limits::MIN_INTERVAL)
        .build()
        .unwrap();
    let h = e.health();
    assert!(h.aggregator_running);
    assert_eq!(h.aggregator_panics, 0);
}

// 4. Histogram sums are exact for any sequence of values.
#[test]
fn histogram_sum_does_not_wrap() {
    let e = manual();
    let h = e.histogram("big").unwrap();
    for _ in 0..3 {
        h.record(u64::MAX);
    }
    let s = e.flush();
    let c = &s.histogram("big").unwrap().cumulative;
    assert_eq!(c.sum(), 3 * u64::MAX as u128);
    assert_eq!(c.count(), 3);
    let h2 = e.histogram("half").unwrap();
    h2.record(1 << 63);
    h2.record(1 << 63);
    let s = e.flush();
    let c = &s.histogram("half").unwrap().cumulative;
    assert_eq!(c.sum(), 1u128 << 64);
    assert_eq!(c.mean(), Some((1u64 << 63) as f64));
}

#[test]
fn histogram_sum_and_counter_total_are_exact_in_the_shared_overflow_slot() {
    let e = Engine::builder()
        .background(false)
        .max_threads(1)
        .build()
        .unwrap();
    let h = e.histogram("shared_big").unwrap();
    let c = e.counter("shared_records_total").unwrap();
    // This thread holds the only exclusive slot; the spawned threads share the overflow slot.
    let rec = e.local_recorder();
    assert!(!rec.is_overflow());
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..3 {
                        h.record(u64::MAX);
                        c.add(u64::MAX);
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    let snap = e.flush();
    assert_eq!(snap.stats().overflow_claims, 2);
    assert_eq!(
        snap.histogram("shared_big").unwrap().cumulative.sum(),
        6 * u64::MAX as u128
    );
    assert_eq!(
        snap.counter("shared_records_total").unwrap().total,
        6 * u64::MAX as u128
    );
    drop(rec);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Oracle: u128 sums of exactly what was recorded, with flushes at arbitrary points and
    /// values biased towards the top of the range.
    #[test]
    fn sums_and_totals_match_u128_oracle(
        ops in prop::collection::vec((prop_oneof![
            any::<u64>(),
            (u64::MAX - 1000)..=u64::MAX,
            (1u64 << 63)..=(1u64 << 63) + 10,
            0u64..1000,
        ], any::<bool>()), 1..60)
    ) {
        let e = manual();
        let h = e.histogram("p").unwrap();
        let c = e.counter("q_total").unwrap();
        let mut expect = 0u128;
        for (v, flush) in ops {
            h.record(v);
            c.add(v);
            expect += v as u128;
            if flush {
                let s = e.flush();
                prop_assert_eq!(s.histogram("p").unwrap().cumulative.sum(), expect);
                prop_assert_eq!(s.counter("q_total").unwrap().total, expect);
            }
        }
        let s = e.flush();
        prop_assert_eq!(s.histogram("p").unwrap().cumulative.sum(), expect);
        prop_assert_eq!(s.counter("q_total").unwrap().total, expect);
    }
}

// 5. Counter totals are exact past u64::MAX.
#[test]
fn counter_total_does_not_wrap() {
    let e = manual();
    let c = e.counter("wrap_total").unwrap();
    c.add(u64::MAX);
    let first = e.flush();
    assert_eq!(first.counter("wrap_total").unwrap().total, u64::MAX as u128);
    c.add(2);
    let s = e.flush();
    let cs = s.counter("wrap_total").unwrap();
    assert_eq!(cs.total, u64::MAX as u128 + 2);
    assert_eq!(cs.delta, 2);
    // Through a thread-owned view as well.
    let rec = e.local_recorder();
    let local = rec.counter(&c);
    local.add(u64::MAX);
    local.add(u64::MAX);
    assert_eq!(
        e.flush().counter("wrap_total").unwrap().total,
        3 * u64::MAX as u128 + 2
    );
}

// 6. A gauge never gets stuck at NaN or infinity.
#[test]
fn gauge_recovers_from_accumulator_overflow() {
    let e = manual();
    let g = e.gauge("g").unwrap();
    g.add(f64::MAX);
    g.add(f64::MAX); // would make the accumulator infinite: rejected and counted
    let s = e.flush();
    assert_eq!(s.gauge("g").unwrap().value, f64::MAX);
    assert_eq!(s.stats().rejected, 1);
    g.sub(f64::MAX);
    assert_eq!(e.flush().gauge("g").unwrap().value, 0.0);
    g.set(1.0);
    assert_eq!(e.flush().gauge("g").unwrap().value, 1.0);
}

#[test]
fn gauge_recovers_when_threads_accumulators_overflow_together() {
    let e = manual();
    let g = e.gauge("g2").unwrap();
    // Both threads hold their slots until both have added, so they own different shards.
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    g.add(f64::MAX);
                    barrier.wait();
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    let s = e.flush();
    let v = s.gauge("g2").unwrap().value;
    assert!(v.is_finite(), "{v}");
    assert_eq!(s.stats().gauge_overflows, 1);
    g.set(1.0);
    assert_eq!(e.flush().gauge("g2").unwrap().value, 1.0);
    g.set(-4.5);
    assert_eq!(e.flush().gauge("g2").unwrap().value, -4.5);
}

// 7. Valid sets racing in the overflow slot are not counted as rejected.
#[test]
fn overflow_slot_gauge_races_are_not_rejections() {
    let e = Engine::builder()
        .background(false)
        .max_threads(1)
        .build()
        .unwrap();
    let g = e.gauge("raced").unwrap();
    let rec = e.local_recorder(); // holds the only exclusive slot
    const THREADS: u64 = 8;
    const SETS: u64 = 200_000;
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..THREADS)
            .map(|t| {
                let g = &g;
                s.spawn(move || {
                    for i in 0..SETS {
                        g.set((t * SETS + i) as f64);
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    let s = e.flush();
    let st = s.stats();
    assert_eq!(st.rejected, 0, "{st:?}");
    assert_eq!(st.overflow_claims, THREADS);
    assert!(st.gauge_set_races <= THREADS * SETS);
    // The value is one that was set: the last of some thread's sets, or one raced past it.
    let v = s.gauge("raced").unwrap().value;
    assert!(
        v.fract() == 0.0 && v >= 0.0 && v < (THREADS * SETS) as f64,
        "{v}"
    );
    drop(rec);
}

// 8. Exposed-name collisions are registration errors.
#[test]
fn exposed_name_collisions_are_rejected_both_ways() {
    type Reg = fn(&Engine, Opts) -> Result<(), RegisterError>;
    let counter: Reg = |e, o| e.counter(o).map(drop);
    let gauge: Reg = |e, o| e.gauge(o).map(drop);
    let histogram: Reg = |e, o| e.histogram(o).map(drop);
    let events: Reg = |e, o| e.events(o).map(drop);
    let cases: Vec<(Reg, Opts, Reg, Opts, &str)> = vec![
        (
            counter,
            Opts::new("a"),
            gauge,
            Opts::new("a_total"),
            "a_total",
        ),
        (
            histogram,
            Opts::new("lat"),
            gauge,
            Opts::new("lat_count"),
            "lat_count",
        ),
        (
            histogram,
            Opts::new("lat"),
            counter,
            Opts::new("lat_sum"),
            "lat_sum",
        ),
        (
            counter,
            Opts::new("io").unit("bytes"),
            gauge,
            Opts::new("io_bytes"),
            "io_bytes",
        ),
        (counter, Opts::new("x_total"), counter, Opts::new("x"), "x"),
        (
            events,
            Opts::new("ev"),
            gauge,
            Opts::new("ev_created"),
            "ev_created",
        ),
        (
            gauge,
            Opts::new("b_bucket"),
            histogram,
            Opts::new("b"),
            "b_bucket",
        ),
    ];
    for (first, a, second, b, exposed_name) in cases {
        for (r1, o1, r2, o2) in [(first, &a, second, &b), (second, &b, first, &a)] {
            let e = manual();
            r1(&e, o1.clone()).unwrap();
            let err = r2(&e, o2.clone()).unwrap_err();
            let RegisterError::NameCollision { name, existing, .. } = &err else {
                panic!("{o1:?} then {o2:?}: {err:?}");
            };
            assert_eq!(name, o2.name());
            assert_eq!(existing, o1.name());
            assert!(err.to_string().contains(o1.name()));
            assert!(
                matches!(&err, RegisterError::NameCollision { exposed, .. } if exposed == exposed_name),
                "{err:?}"
            );
        }
    }
    // Distinct names that share no exposed name stay fine, and the same name with new labels
    // is not a collision with itself.
    let e = manual();
    let _ = e.counter(Opts::new("req_total").label("r", "a")).unwrap();
    let _ = e.counter(Opts::new("req_total").label("r", "b")).unwrap();
    let _ = e.gauge("req_total_x").unwrap();
    let _ = e.histogram("latency_seconds").unwrap();
}

// 9. Same name with another unit or help is an error.
#[test]
fn same_name_other_unit_or_help_is_an_error() {
    let e = manual();
    let _ = e
        .counter(Opts::new("y_total").unit("bytes").help("Bytes."))
        .unwrap();
    let err = e
        .counter(Opts::new("y_total").unit("seconds").help("Bytes."))
        .unwrap_err();
    assert!(
        matches!(&err, RegisterError::MetadataMismatch { field: "unit", existing, requested, .. }
            if existing == "bytes" && requested == "seconds"),
        "{err:?}"
    );
    let err = e
        .counter(
            Opts::new("y_total")
                .unit("bytes")
                .help("Other.")
                .label("k", "v"),
        )
        .unwrap_err();
    assert!(
        matches!(&err, RegisterError::MetadataMismatch { field: "help", .. }),
        "{err:?}"
    );
    // The same metadata with another label set is a new series of the same family.
    e.counter(
        Opts::new("y_total")
            .unit("bytes")
            .help("Bytes.")
            .label("k", "v"),
    )
    .unwrap()
    .add(1);
    assert_eq!(counter_total(&e.flush(), "y_total", &[("k", "v")]), 1);
}

// 11. An engine-wide series limit bounds distinct names.
#[test]
fn engine_wide_series_limit() {
    let e = Engine::builder()
        .background(false)
        .max_series(10)
        .build()
        .unwrap();
    for i in 0..10 {
        let _ = e.counter(format!("id_{i}_total")).unwrap();
    }
    let err = e.counter("id_10_total").unwrap_err();
    assert_eq!(
        err,
        RegisterError::TooManySeries {
            name: "id_10_total".into(),
            limit: 10
        }
    );
    assert!(err.to_string().contains("max_series"));
    // Label sets count too; finding an existing series does not.
    assert!(matches!(
        e.gauge(Opts::new("g").label("k", "v")),
        Err(RegisterError::TooManySeries { .. })
    ));
    let _ = e.counter("id_3_total").unwrap();
    assert_eq!(e.flush().metrics().len(), 10);
}

// 12. Hostile input sizes do not make hostile error sizes.
#[test]
fn huge_invalid_names_give_short_errors() {
    let e = manual();
    let huge = "x ".repeat(512 * 1024);
    let err = e.counter(huge.as_str()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.len() < 400, "{} bytes", msg.len());
    assert!(msg.contains(&format!("({} bytes)", huge.len())), "{msg}");
    let long_valid = "a".repeat(1 << 20);
    let _ = e.counter(long_valid.as_str()).unwrap();
    let err = e.gauge(long_valid.as_str()).unwrap_err();
    assert!(err.to_string().len() < 400);
    let err = e
        .histogram_with(
            Opts::new(huge.as_str()),
            HistogramConfig::default().schema(99),
        )
        .unwrap_err();
    assert!(err.to_string().len() < 400);
    let err = e
        .counter(Opts::new("ok_total").label(huge.as_str(), "v"))
        .unwrap_err();
    assert!(err.to_string().len() < 400);
}
