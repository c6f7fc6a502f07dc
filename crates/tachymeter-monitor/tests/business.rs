//! `BusinessMonitor` against exact oracles: baselines of exactly the first N actions (also from
//! several threads), deviation from the baseline, success rates, conversions and their rates.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Engine, MetricValue};
use tachymeter_monitor::BusinessMonitor;

fn private(baseline: u64) -> (Arc<Engine>, BusinessMonitor) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = BusinessMonitor::builder()
        .engine(engine.clone())
        .baseline_samples(baseline)
        .build()
        .unwrap();
    (engine, m)
}

#[test]
fn the_baseline_is_the_first_n_actions_and_deviation_is_exact() {
    let (engine, m) = private(4);
    let durations_ms = [100u64, 200, 300, 400, 500, 700, 900];
    for (i, ms) in durations_ms.iter().enumerate() {
        m.record_user_action("search", Duration::from_millis(*ms), i != 5);
    }
    m.record_user_action("login", 0.25, true); // baseline incomplete
    engine.flush();
    let stats = m.action_stats();
    let s = &stats["search"];
    assert_eq!((s.count, s.successful_actions), (7, 6));
    assert_eq!(s.success_rate, 6.0 / 7.0);
    assert_eq!(s.avg_duration, Some(3.1e9 / 7.0 / 1e9));
    assert_eq!(s.baseline.sample_count, 4);
    assert!(s.baseline.complete);
    assert_eq!(s.baseline.avg_duration, Some(0.25));
    assert_eq!(s.avg_duration_after_baseline, Some(0.7));
    // Computed on nanosecond means, as the monitor does.
    assert_eq!(s.deviation_from_baseline, Some((0.7e9 - 0.25e9) / 0.25e9));
    let login = &stats["login"];
    assert_eq!(login.baseline.sample_count, 1);
    assert!(!login.baseline.complete);
    assert_eq!(login.deviation_from_baseline, None);
    assert_eq!(login.avg_duration_after_baseline, None);
}

#[test]
fn a_complete_baseline_without_later_actions_has_no_deviation() {
    let (engine, m) = private(2);
    m.record_user_action("a", 0.1, true);
    m.record_user_action("a", 0.3, true);
    engine.flush();
    let a = &m.action_stats()["a"];
    assert!(a.baseline.complete);
    assert_eq!(a.baseline.avg_duration, Some(0.2));
    assert_eq!(a.deviation_from_baseline, None);
}

/// What thread `t` records as action `i`: (type, nanoseconds, success).
fn action(t: u64, i: u64) -> (&'static str, u64, bool) {
    let types = ["search", "checkout", "login"];
    let ns = 1_000_000 + (i * 7_919 + t * 104_729) % 2_000_000_000;
    (types[((i * 7 + t) % 3) as usize], ns, (i + t) % 9 != 0)
}

#[test]
fn totals_and_baselines_are_exact_from_several_threads() {
    let n = 250u64;
    let (engine, m) = private(n);
    let (threads, per) = (4u64, 3_000u64);
    std::thread::scope(|s| {
        for t in 0..threads {
            let m = &m;
            s.spawn(move || {
                for i in 0..per {
                    let (kind, ns, ok) = action(t, i);
                    m.record_user_action(kind, ns as f64 / 1e9, ok);
                    if i % 10 == 0 {
                        m.record_conversion(if ok { "purchase" } else { "signup" });
                    }
                }
            });
        }
    });
    engine.flush();
    // (count, successes, sum, min, max) per type; conversions per type.
    let mut want: BTreeMap<&str, (u64, u64, u128, u64, u64)> = BTreeMap::new();
    let mut conversions: BTreeMap<&str, u64> = BTreeMap::new();
    for t in 0..threads {
        for i in 0..per {
            let (kind, ns, ok) = action(t, i);
            let w = want.entry(kind).or_insert((0, 0, 0, u64::MAX, 0));
            w.0 += 1;
            w.1 += u64::from(ok);
            w.2 += u128::from(ns);
            w.3 = w.3.min(ns);
            w.4 = w.4.max(ns);
            if i % 10 == 0 {
                *conversions
                    .entry(if ok { "purchase" } else { "signup" })
                    .or_default() += 1;
            }
        }
    }
    let report = m.generate_business_report();
    let total: u64 = want.values().map(|w| w.0).sum();
    let ok: u64 = want.values().map(|w| w.1).sum();
    let sum: u128 = want.values().map(|w| w.2).sum();
    assert_eq!(report.user_actions.total_actions, total);
    assert_eq!(report.user_actions.successful_actions, ok);
    assert_eq!(report.user_actions.success_rate, ok as f64 / total as f64);
    assert_eq!(
        report.user_actions.average_duration,
        Some(sum as f64 / 1e9 / total as f64)
    );
    for (kind, w) in &want {
        let s = &report.action_types[*kind];
        assert_eq!((s.count, s.successful_actions), (w.0, w.1), "{kind}");
        assert_eq!(s.avg_duration, Some(w.2 as f64 / w.0 as f64 / 1e9));
        // Exactly N actions entered the baseline, whichever thread took their tickets.
        let b = &s.baseline;
        assert_eq!(b.sample_count, n, "{kind}");
        assert!(b.complete);
        let base = b.avg_duration.unwrap();
        assert!(base >= w.3 as f64 / 1e9 && base <= w.4 as f64 / 1e9);
        assert_eq!(report.performance_baselines[*kind], *b);
        // The baseline and the actions after it make up every action.
        let after = s.avg_duration_after_baseline.unwrap();
        let whole = (base * n as f64 + after * (w.0 - n) as f64) / w.0 as f64;
        assert!((whole - s.avg_duration.unwrap()).abs() < 1e-9);
        let dev = s.deviation_from_baseline.unwrap();
        assert!((dev - (after - base) / base).abs() < 1e-12);
    }
    let c = &report.conversions;
    assert_eq!(c.total_conversions, conversions.values().sum::<u64>());
    for (kind, count) in &conversions {
        assert_eq!(c.conversion_by_type[*kind], *count);
        assert_eq!(c.conversion_rates[*kind], *count as f64 / total as f64);
    }
    assert_eq!(c.conversion_by_type.len(), conversions.len());
}

#[test]
fn conversions_without_actions_have_rate_zero() {
    let (engine, m) = private(10);
    m.record_conversion("newsletter");
    m.record_conversion("newsletter");
    engine.flush();
    let r = m.generate_business_report();
    assert_eq!(r.conversions.conversion_by_type["newsletter"], 2);
    assert_eq!(r.conversions.conversion_rates["newsletter"], 0.0);
    assert_eq!(r.user_actions.total_actions, 0);
    assert_eq!(r.user_actions.success_rate, 1.0);
    assert_eq!(r.user_actions.average_duration, None);
}

#[test]
fn types_beyond_the_bound_share_the_overflow_type() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = BusinessMonitor::builder()
        .engine(engine.clone())
        .max_action_types(1)
        .build()
        .unwrap();
    m.record_user_action("a", 0.1, true);
    m.record_user_action("b", 0.2, false);
    m.record_user_action("c", 0.3, true);
    engine.flush();
    let stats = m.action_stats();
    assert_eq!(stats["a"].count, 1);
    let o = &stats[tachymeter::OVERFLOW_VALUE];
    assert_eq!((o.count, o.successful_actions), (2, 1));
}

#[test]
fn everything_recorded_is_an_engine_metric() {
    let (engine, m) = private(1);
    m.record_user_action("search", 0.1, false);
    m.record_user_action("search", f64::NAN, true);
    m.record_conversion("purchase");
    let snap = engine.flush();
    let id = m.instance();
    for name in [
        "user_action_duration",
        "user_action_baseline_duration",
        "user_action_failures_total",
    ] {
        assert!(
            snap.get(name, &[("instance", id), ("action_type", "search")])
                .is_some(),
            "{name}"
        );
    }
    assert!(snap
        .get(
            "business_conversions_total",
            &[("instance", id), ("event_type", "purchase")]
        )
        .is_some());
    let invalid = snap.get("user_action_invalid_total", &[("instance", id)]);
    assert!(matches!(&invalid.unwrap().value, MetricValue::Counter(c) if c.total == 1));
    let json = serde_json::to_value(m.generate_business_report()).unwrap();
    assert_eq!(json["user_actions"]["total_actions"], 1);
    assert_eq!(json["conversions"]["conversion_by_type"]["purchase"], 1);
    assert_eq!(json["performance_baselines"]["search"]["sample_count"], 1);
}

#[test]
fn the_global_monitor_records_into_the_global_engine() {
    let m = tachymeter_monitor::global_business_monitor();
    assert_eq!(m.instance(), "global");
    m.record_conversion("global_test");
    tachymeter::global().flush();
    assert_eq!(
        m.generate_business_report().conversions.conversion_by_type["global_test"],
        1
    );
}
