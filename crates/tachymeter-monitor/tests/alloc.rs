//! Allocation-free proof for the query, response-time and business monitors: a counting
//! global allocator counts the allocations of the recording threads while they record. After
//! warm-up (each thread's first record into each series allocates its shard; a fingerprint's or
//! a type's first record allocates its table entry), recording must allocate nothing — also
//! for new literal values of a known query shape, and past the fingerprint table's bound.
#![allow(clippy::disallowed_types)]

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{BusinessMonitor, QueryMonitor, ResponseTimeMonitor};
use tachymeter_test_alloc::allocations;

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

const RECORDS: u64 = 20_000;

#[test]
fn recording_allocates_nothing_after_warm_up() {
    tachymeter_test_alloc::assert_installed();
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(5))
            .build()
            .unwrap(),
    );
    let db = QueryMonitor::builder()
        .engine(engine.clone())
        .max_fingerprints(2)
        .build()
        .unwrap();
    let rt = ResponseTimeMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let business = BusinessMonitor::builder()
        .engine(engine.clone())
        .baseline_samples(1_000)
        .build()
        .unwrap();
    let counted: u64 = std::thread::scope(|s| {
        let joins: Vec<_> = (0..2u64)
            .map(|t| {
                let (db, rt, business) = (&db, &rt, &business);
                s.spawn(move || {
                    // Query texts are the caller's: built before counting, in one buffer.
                    let mut q = String::with_capacity(128);
                    let mut query = |i: u64, shape: u64| {
                        q.clear();
                        let _ = match shape {
                            0 => write!(q, "SELECT * FROM users WHERE id = {i}"),
                            1 => write!(q, "INSERT INTO t (a, b) VALUES ({i}, 'x{t}')"),
                            // Beyond the table's bound of two fingerprints.
                            _ => write!(q, "DELETE FROM t WHERE id = {i}"),
                        };
                        q.clone()
                    };
                    let warm: Vec<String> = (0..3).map(|s| query(0, s)).collect();
                    for (s, text) in warm.iter().enumerate() {
                        let kind = if s == 1 { "INSERT" } else { "SELECT" };
                        db.record_query(text, 0.6, 1, kind); // slow
                        db.record_query(text, 0.1, 1, kind);
                    }
                    for op in ["api_endpoints", "database_queries", "other"] {
                        rt.record_response_time(op, 0.01);
                        rt.record_response_time(op, 5.0);
                    }
                    business.record_user_action("search", 0.1, true);
                    business.record_user_action("search", 0.1, false);
                    business.record_conversion("purchase");
                    let texts: Vec<String> = (1..=RECORDS).map(|i| query(i, i % 3)).collect();
                    allocations(|| {
                        for (i, text) in (1..=RECORDS).zip(&texts) {
                            let kind = if i % 3 == 1 { "INSERT" } else { "SELECT" };
                            let secs = (i % 1000) as f64 / 1000.0;
                            db.record_query(text, secs, i % 7, kind);
                            rt.record_response_time("api_endpoints", secs);
                            rt.record_response_time("other", Duration::from_millis(i % 2000));
                            business.record_user_action("search", secs, i % 5 != 0);
                            business.record_conversion("purchase");
                        }
                    })
                })
            })
            .collect();
        joins.into_iter().map(|j| j.join().unwrap()).sum()
    });
    assert_eq!(counted, 0, "allocations while recording");
    engine.flush();
    let a = db.analyze_query_patterns();
    assert_eq!(a.total_queries, 2 * (6 + RECORDS));
    assert_eq!(a.fingerprints_tracked, 2);
    let r = business.generate_business_report();
    assert_eq!(r.user_actions.total_actions, 2 * (2 + RECORDS));
    assert_eq!(r.performance_baselines["search"].sample_count, 1_000);
    assert_eq!(
        rt.response_time_stats()["api_endpoints"].count,
        2 * (2 + RECORDS)
    );
}
