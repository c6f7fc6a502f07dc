//! Resets against "recording only the later values" (a second engine that only saw what came
//! after the reset is the oracle), and the since-start figures against a mock clock.

use proptest::prelude::*;
use std::time::Duration;
use tachymeter::{Clock, Engine, HistogramConfig, MetricValue, MockClock};

fn engine() -> (Engine, MockClock) {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    (e, mock)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Counter, histogram and event log reset at random points, with flushes in between: the
    /// published statistics equal those of an engine that recorded only the values after the
    /// last reset.
    #[test]
    fn a_reset_is_the_same_as_recording_only_what_came_after(
        ops in prop::collection::vec((1u64..1_000_000, 0u8..10), 1..80),
    ) {
        let (e, _m) = engine();
        let cfg = HistogramConfig::default().recent(8);
        let c = e.counter("c_total").unwrap();
        let h = e.histogram_with("h", cfg.clone()).unwrap();
        let ev = e.events("ev").unwrap();
        let mut after: Vec<u64> = Vec::new();
        for (v, op) in ops {
            match op {
                0 => {
                    c.reset();
                    h.reset();
                    ev.reset();
                    after.clear();
                }
                1 => drop(e.flush()),
                _ => {
                    c.add(v);
                    h.record(v);
                    ev.record(v as u32);
                    after.push(v);
                }
            }
        }
        let (oracle, _m2) = engine();
        let oh = oracle.histogram_with("h", cfg).unwrap();
        let oe = oracle.events("ev").unwrap();
        for &v in &after {
            oh.record(v);
            oe.record(v as u32);
        }
        let (s, o) = (e.flush(), oracle.flush());
        prop_assert_eq!(s.counter("c_total").unwrap().total, after.iter().map(|&v| v as u128).sum::<u128>());
        let (hs, ohs) = (s.histogram("h").unwrap(), o.histogram("h").unwrap());
        prop_assert_eq!(hs.cumulative.count(), ohs.cumulative.count());
        prop_assert_eq!(hs.cumulative.sum(), ohs.cumulative.sum());
        prop_assert_eq!(
            hs.cumulative.buckets().collect::<Vec<_>>(),
            ohs.cumulative.buckets().collect::<Vec<_>>()
        );
        prop_assert_eq!(hs.window.count(), ohs.window.count());
        prop_assert_eq!(&hs.recent, &ohs.recent);
        for q in [0.5, 0.99] {
            prop_assert_eq!(hs.cumulative.quantile(q).is_some(), !after.is_empty());
        }
        let (es, oes) = (s.events("ev").unwrap(), o.events("ev").unwrap());
        prop_assert_eq!(es.total, oes.total);
        prop_assert_eq!(&es.recent, &oes.recent);
    }
}

#[test]
fn gauge_reset_is_zero_plus_what_follows() {
    // Sets are ordered by clock stamp: the mock clock moves between them.
    let (e, m) = engine();
    let g = e.gauge("g").unwrap();
    g.set(5.0);
    g.add(2.0);
    assert_eq!(e.flush().gauge("g").unwrap().value, 7.0);
    g.add(1.0); // before the reset, never flushed: covered by the reset too
    g.reset();
    assert_eq!(e.flush().gauge("g").unwrap().value, 0.0);
    g.add(1.5);
    assert_eq!(e.flush().gauge("g").unwrap().value, 1.5);
    m.advance(Duration::from_millis(1));
    g.set(3.0);
    assert_eq!(e.flush().gauge("g").unwrap().value, 3.0);
}

#[test]
fn reset_time_is_published_and_families_reset_series_or_all() {
    let (e, _m) = engine();
    let fam = e.counter_family("req_total", &["route"]).unwrap();
    fam.record(&["/a"], 3);
    fam.record(&["/b"], 4);
    let s = e.flush();
    assert!(s.metrics().iter().all(|m| m.reset_at.is_none()));
    assert!(fam.reset(&["/a"]));
    assert!(!fam.reset(&["/nope"]));
    fam.record(&["/a"], 1);
    let s = e.flush();
    let a = s.get("req_total", &[("route", "/a")]).unwrap();
    assert!(a.reset_at.is_some());
    assert!(matches!(&a.value, MetricValue::Counter(c) if c.total == 1));
    let b = s.get("req_total", &[("route", "/b")]).unwrap();
    assert!(b.reset_at.is_none());
    assert!(matches!(&b.value, MetricValue::Counter(c) if c.total == 4));
    fam.reset_all();
    let s = e.flush();
    assert!(s.metrics().iter().all(
        |m| m.reset_at.is_some() && matches!(&m.value, MetricValue::Counter(c) if c.total == 0)
    ));
}

#[test]
fn since_start_rates_follow_the_mock_clock_and_restart_at_a_reset() {
    let (e, m) = engine();
    let c = e.counter("c_total").unwrap();
    let h = e.histogram("h").unwrap();
    // Interval 1: 100 in 0.5 s (200/s); interval 2: 300 in 0.5 s (600/s); interval 3: 0 in 1 s.
    for (n, dt) in [(100u64, 500), (300, 500), (0, 1000)] {
        c.add(n);
        for _ in 0..n {
            h.record(7);
        }
        m.advance(Duration::from_millis(dt));
        e.flush();
    }
    let s = e.flush(); // no time passed: rates over 2 s
    assert_eq!(s.uptime(), Duration::from_secs(2));
    let cs = s.counter("c_total").unwrap();
    assert!((cs.avg_rate - 200.0).abs() < 1e-9, "{cs:?}");
    assert!((cs.max_rate - 600.0).abs() < 1e-9, "{cs:?}");
    let hs = s.histogram("h").unwrap();
    assert!((hs.avg_throughput - 200.0).abs() < 1e-9, "{hs:?}");
    assert!((hs.max_throughput - 600.0).abs() < 1e-9, "{hs:?}");
    // After a reset the figures cover only the time and records since it.
    c.reset();
    h.reset();
    c.add(50);
    h.record(1);
    m.advance(Duration::from_millis(250));
    let s = e.flush();
    let cs = s.counter("c_total").unwrap();
    assert!((cs.avg_rate - 200.0).abs() < 1e-9, "{cs:?}");
    assert!((cs.max_rate - 200.0).abs() < 1e-9, "{cs:?}");
    let hs = s.histogram("h").unwrap();
    assert!((hs.avg_throughput - 4.0).abs() < 1e-9, "{hs:?}");
    assert!(s.started() <= std::time::SystemTime::now());
}

#[test]
fn reset_while_the_background_aggregator_runs_keeps_only_later_records() {
    let e = Engine::builder()
        .interval(Duration::from_millis(1))
        .build()
        .unwrap();
    let c = e.counter("bg_total").unwrap();
    let h = e.histogram("bg_latency").unwrap();
    for round in 0..50u64 {
        c.add(1000);
        h.record(1000);
        c.reset();
        h.reset();
        c.add(round + 1);
        h.record(round + 1);
        let s = e.flush();
        assert_eq!(s.counter("bg_total").unwrap().total, u128::from(round + 1));
        let hs = &s.histogram("bg_latency").unwrap().cumulative;
        assert_eq!((hs.count(), hs.sum()), (1, u128::from(round + 1)));
    }
}
