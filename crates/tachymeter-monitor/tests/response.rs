//! `ResponseTimeMonitor` against exact oracles: exceedance from several threads, the default
//! and changed targets, the target and 2× target boundaries of the recommendations.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Engine, MetricValue};
use tachymeter_monitor::{Priority, ResponseTimeMonitor, TargetError};

fn private() -> (Arc<Engine>, ResponseTimeMonitor) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = ResponseTimeMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    (engine, m)
}

#[test]
fn the_seeds_targets_are_the_defaults() {
    let (_, m) = private();
    assert_eq!(m.target("api_endpoints"), Duration::from_millis(500));
    assert_eq!(m.target("database_queries"), Duration::from_millis(100));
    assert_eq!(m.target("external_apis"), Duration::from_secs(2));
    assert_eq!(m.target("anything_else"), Duration::from_secs(1));
    let targets = m.targets();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets["database_queries"], 0.1);
}

/// What thread `t` records as response `i`: (operation type, nanoseconds).
fn response(t: u64, i: u64) -> (&'static str, u64) {
    let ops = [
        "api_endpoints",
        "database_queries",
        "external_apis",
        "batch",
    ];
    let op = ops[((i + t) % 4) as usize];
    let ns = 1_000_000 + (i * 7_919_993 + t * 104_729) % 3_000_000_000;
    (op, ns)
}

#[test]
fn exceedance_is_exact_from_several_threads() {
    let (engine, m) = private();
    let (threads, per) = (4u64, 3_000u64);
    std::thread::scope(|s| {
        for t in 0..threads {
            let m = &m;
            s.spawn(move || {
                for i in 0..per {
                    let (op, ns) = response(t, i);
                    if i % 2 == 0 {
                        m.record_response_time(op, Duration::from_nanos(ns));
                    } else {
                        m.record_response_time(op, ns as f64 / 1e9);
                    }
                }
            });
        }
    });
    engine.flush();
    // (count, sum, max, exceeded, summed exceedance) per type.
    let mut want: BTreeMap<&str, (u64, u128, u64, u64, u128)> = BTreeMap::new();
    for t in 0..threads {
        for i in 0..per {
            let (op, ns) = response(t, i);
            let target = m.target(op).as_nanos() as u64;
            let w = want.entry(op).or_default();
            w.0 += 1;
            w.1 += u128::from(ns);
            w.2 = w.2.max(ns);
            if ns > target {
                w.3 += 1;
                w.4 += u128::from(ns - target);
            }
        }
    }
    let stats = m.response_time_stats();
    assert_eq!(stats.len(), want.len());
    for (op, w) in &want {
        let s = &stats[*op];
        assert_eq!((s.count, s.exceeded), (w.0, w.3), "{op}");
        assert_eq!(s.exceedance_rate, w.3 as f64 / w.0 as f64);
        assert_eq!(s.avg_ms, Some(w.1 as f64 / w.0 as f64 / 1e6));
        assert_eq!(s.max_ms, Some(w.2 as f64 / 1e6));
        assert_eq!(s.avg_exceedance_ms, Some(w.4 as f64 / 1e6 / w.3 as f64));
        assert_eq!(s.target_ms, m.target(op).as_nanos() as f64 / 1e6);
    }
    // Recommendations: exactly the types whose mean is above the target, by the 2× rule.
    let recs = m.optimize_response_times();
    let mut expected: Vec<(Priority, &str)> = want
        .iter()
        .filter_map(|(op, w)| {
            let target = m.target(op).as_nanos();
            let n = u128::from(w.0);
            if w.1 > 2 * target * n {
                Some((Priority::High, *op))
            } else if w.1 > target * n {
                Some((Priority::Medium, *op))
            } else {
                None
            }
        })
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let got: Vec<(Priority, &str)> = recs
        .iter()
        .map(|r| (r.priority, r.operation_type.as_str()))
        .collect();
    assert_eq!(got, expected);
    assert!(!got.is_empty());
}

#[test]
fn priority_is_high_only_above_twice_the_target() {
    let (engine, m) = private();
    // Target 100 ms; means of exactly 100 ms, 100 ms + 1 ns, 200 ms and 200 ms + 1 ns.
    for (op, a, b) in [
        ("at_target", 50_000_000u64, 150_000_000u64),
        ("just_above", 50_000_000, 150_000_002),
        ("at_twice", 150_000_000, 250_000_000),
        ("just_above_twice", 150_000_000, 250_000_002),
    ] {
        m.set_target(op, Duration::from_millis(100)).unwrap();
        m.record_response_time(op, Duration::from_nanos(a));
        m.record_response_time(op, Duration::from_nanos(b));
    }
    engine.flush();
    let recs = m.optimize_response_times();
    let got: Vec<(&str, Priority)> = recs
        .iter()
        .map(|r| (r.operation_type.as_str(), r.priority))
        .collect();
    assert_eq!(
        got,
        [
            ("just_above_twice", Priority::High),
            ("at_twice", Priority::Medium),
            ("just_above", Priority::Medium),
        ]
    );
    let high = &recs[0];
    assert_eq!(high.target_ms, 100.0);
    assert_eq!(high.current_avg_ms, 200.000_001);
    assert_eq!(high.max_duration_ms, 250.000_002);
    assert_eq!(high.exceeded, 2);
    assert_eq!(high.exceedance_rate, 1.0);
    assert!((high.improvement_needed_ms - 100.000_001).abs() < 1e-9);
    assert!(high.message.contains("just_above_twice"));
    let json = serde_json::to_value(high).unwrap();
    assert_eq!(json["priority"], "high");
    assert!(json["suggestion"].is_string());
}

#[test]
fn a_changed_target_applies_to_later_records_and_to_recommendations() {
    let (engine, m) = private();
    m.record_response_time("api_endpoints", 0.4); // under 0.5 s
    m.set_target("api_endpoints", 0.2).unwrap();
    m.record_response_time("api_endpoints", 0.4); // over 0.2 s
    let snap = engine.flush();
    let s = &m.response_time_stats()["api_endpoints"];
    assert_eq!((s.count, s.exceeded, s.target_ms), (2, 1, 200.0));
    assert_eq!(m.optimize_response_times()[0].priority, Priority::Medium);
    // The target is exported as a gauge.
    let g = snap.get(
        "response_time_target",
        &[
            ("instance", m.instance()),
            ("operation_type", "api_endpoints"),
        ],
    );
    assert!(matches!(&g.unwrap().value, MetricValue::Gauge(g) if g.value == 0.2));
    assert_eq!(
        m.set_target("api_endpoints", f64::NAN),
        Err(TargetError::InvalidTarget)
    );
}

#[test]
fn types_beyond_the_bound_share_the_overflow_type() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = ResponseTimeMonitor::builder()
        .engine(engine.clone())
        .max_operation_types(4)
        .target("checkout", 0.3)
        .default_target(Duration::from_millis(50))
        .build()
        .unwrap();
    // Three defaults and checkout fill the table.
    assert_eq!(m.targets().len(), 4);
    assert_eq!(
        m.set_target("search", 0.1),
        Err(TargetError::TooManyOperationTypes)
    );
    m.record_response_time("search", 0.06);
    m.record_response_time("browse", 0.04);
    m.record_response_time("checkout", 0.2);
    engine.flush();
    let stats = m.response_time_stats();
    let o = &stats[tachymeter::OVERFLOW_VALUE];
    assert_eq!((o.count, o.exceeded, o.target_ms), (2, 1, 50.0));
    assert_eq!(stats["checkout"].exceeded, 0);
}

#[test]
fn invalid_durations_are_counted_and_not_recorded() {
    let (engine, m) = private();
    m.record_response_time("api_endpoints", -0.1);
    m.record_response_time("api_endpoints", f64::INFINITY);
    let snap = engine.flush();
    assert!(m.response_time_stats().is_empty());
    let c = snap.get("response_time_invalid_total", &[("instance", m.instance())]);
    assert!(matches!(&c.unwrap().value, MetricValue::Counter(c) if c.total == 2));
}

#[test]
fn the_global_monitor_has_the_seeds_targets() {
    let m = tachymeter_monitor::global_response_time_monitor();
    assert_eq!(m.instance(), "global");
    assert_eq!(m.target("external_apis"), Duration::from_secs(2));
}
