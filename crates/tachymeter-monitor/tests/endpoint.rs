//! `EndpointTracker` against exact oracles: latencies set by a mock clock, counts from
//! several threads, error rules, and the report's ordering.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Clock, Engine};
use tachymeter_monitor::EndpointTracker;

#[test]
fn latencies_errors_and_report_match_exact_oracles() {
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let t = EndpointTracker::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    // (endpoint, method, latency ms, status, marked error)
    let mut oracle: HashMap<&str, (Vec<f64>, u64)> = HashMap::new();
    for i in 0..300u64 {
        let (endpoint, method) = match i % 3 {
            0 => ("/api/users", "GET"),
            1 => ("/api/users", "POST"),
            _ => ("/api/orders", "GET"),
        };
        let ms = 1 + (i * 37) % 200;
        let status = if i % 10 == 0 { 503 } else { 200 };
        let marked = i % 25 == 0;
        {
            let mut g = t.track(endpoint, method);
            mock.advance(Duration::from_millis(ms));
            g.status(status);
            if marked {
                g.error();
            }
        }
        let e = oracle.entry(endpoint).or_default();
        e.0.push(ms as f64);
        e.1 += u64::from(status >= 500 || marked);
    }
    engine.flush();
    let bound = tachymeter::histogram::relative_error_bound(6);
    for (endpoint, (mut lat, errors)) in oracle.clone() {
        let s = t.endpoint_stats(endpoint);
        assert_eq!(s.count, lat.len() as u64);
        assert_eq!(s.error_rate, errors as f64 / lat.len() as f64);
        let mean = lat.iter().sum::<f64>() / lat.len() as f64;
        assert!((s.mean_ms.unwrap() - mean).abs() < 1e-9, "{endpoint}");
        lat.sort_by(f64::total_cmp);
        for (got, q) in [(s.p90_ms, 0.9), (s.p95_ms, 0.95), (s.p99_ms, 0.99)] {
            let rank = ((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len());
            let exact = lat[rank - 1];
            assert!(
                (got.unwrap() - exact).abs() <= exact * bound,
                "{endpoint} q{q}"
            );
        }
    }
    let report = t.api_report();
    assert_eq!(report.total_requests, 300);
    let errors: u64 = oracle.values().map(|v| v.1).sum();
    assert_eq!(report.overall_error_rate, errors as f64 / 300.0);
    assert_eq!(report.endpoints.len(), 2);
    let p95 = |e: &str| report.endpoints[e].p95_ms.unwrap();
    assert_eq!(
        report.slowest_endpoints[0].1,
        p95("/api/users").max(p95("/api/orders"))
    );
    assert!(report
        .slowest_endpoints
        .windows(2)
        .all(|w| w[0].1 >= w[1].1));
    // An unknown endpoint has empty statistics, not an error.
    assert_eq!(t.endpoint_stats("/nope").count, 0);
    // Status codes are counted per code.
    let snap = engine.snapshot();
    let code_503 = snap
        .metrics()
        .iter()
        .filter(|m| {
            m.desc.name == "api_responses_total"
                && m.desc.labels.iter().any(|(k, v)| k == "code" && v == "503")
        })
        .map(|m| match &m.value {
            tachymeter::MetricValue::Counter(c) => c.total,
            _ => 0,
        })
        .sum::<u128>();
    assert_eq!(code_503, 30);
}

#[test]
fn counts_are_exact_from_several_threads_and_instances_are_independent() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let a = EndpointTracker::builder()
        .engine(engine.clone())
        .instance("a")
        .build()
        .unwrap();
    let b = EndpointTracker::builder()
        .engine(engine.clone())
        .instance("b")
        .build()
        .unwrap();
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..4)
            .map(|k| {
                let a = &a;
                s.spawn(move || {
                    for i in 0..1000 {
                        let mut g = a.track(if i % 2 == 0 { "/x" } else { "/y" }, "GET");
                        if (i + k) % 100 == 0 {
                            g.status(500);
                        }
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    let _ = b.track("/x", "GET");
    engine.flush();
    let report = a.api_report();
    assert_eq!(report.total_requests, 4000);
    assert_eq!(report.overall_error_rate, 40.0 / 4000.0);
    assert_eq!(a.endpoint_stats("/x").count, 2000);
    assert_eq!(b.api_report().total_requests, 1);
    assert_eq!(tachymeter_monitor::get_api_tracker().instance(), "global");
}
