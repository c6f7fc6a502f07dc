//! `QueryMonitor` against exact oracles (several threads at once), the normalisation rules,
//! the slow threshold and the 10% slow-share rule at their boundaries, and the fingerprint
//! table's bound.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Engine, MetricValue};
use tachymeter_monitor::{normalize_query, query_fingerprint, QueryMonitor};

fn private() -> (Arc<Engine>, QueryMonitor) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = QueryMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    (engine, m)
}

#[test]
fn queries_differing_only_in_literals_share_a_fingerprint() {
    let same = [
        [
            "SELECT * FROM users WHERE id = 42",
            "select * from users where id = 7",
            "SELECT *\n\tFROM users   WHERE id=-3.5e-2 -- lookup",
            "/* by id */ SeLeCt * FrOm UsErS wHeRe Id = $1",
            "SELECT * FROM users WHERE id = ?",
            "SELECT * FROM users WHERE id = 'it''s'",
            "SELECT * FROM users WHERE id = 'a\\'b'",
            "SELECT * FROM users WHERE id = 0xff",
        ]
        .as_slice(),
        &[
            "SELECT name FROM t WHERE id IN (1, 2, 3)",
            "SELECT name FROM t WHERE id IN (4)",
            "SELECT name FROM t WHERE id IN ('x', 'y')",
            "SELECT name FROM t WHERE id IN ($1, $2, $3, $4)",
        ],
        &[
            "INSERT INTO log (a, b) VALUES (1, 'x')",
            "insert into log(a,b) values(2,'yy')",
        ],
        &[
            "UPDATE t SET a = 1, b = 'x' WHERE id = 5",
            "UPDATE t SET a = 2, b = 'y' WHERE id = 6",
        ],
        &[
            "SELECT é FROM café WHERE x = 1",
            "select é from café where x = 'ü'",
        ],
    ];
    for group in same {
        let fp = query_fingerprint(group[0]);
        for q in group {
            assert_eq!(query_fingerprint(q), fp, "{q:?} vs {:?}", group[0]);
            assert_eq!(normalize_query(q), normalize_query(group[0]), "{q:?}");
        }
    }
}

#[test]
fn different_shapes_have_different_fingerprints() {
    let shapes = [
        "SELECT * FROM users WHERE id = 1",
        "SELECT * FROM users WHERE id < 1",
        "SELECT * FROM users WHERE uid = 1",
        "SELECT * FROM orders WHERE id = 1",
        "SELECT name FROM users WHERE id = 1",
        "SELECT * FROM users WHERE id = 1 AND age = 2",
        "SELECT * FROM users WHERE id = 1 OR age = 2",
        "SELECT * FROM users WHERE id IN (1)",
        "SELECT * FROM \"Users\" WHERE id = 1",
        "SELECT * FROM \"users\" WHERE id = 1",
        "SELECT * FROM users WHERE id = a - 1",
        "SELECT * FROM users WHERE id = a + 1",
        "SELECT * FROM users WHERE id = ab",
        "SELECT * FROM users WHERE id = a b",
        "UPDATE t SET a = 1, b = 2",
        "UPDATE t SET a = 1",
        "",
    ];
    let mut seen = BTreeMap::new();
    for q in shapes {
        if let Some(other) = seen.insert(query_fingerprint(q), q) {
            panic!("{q:?} and {other:?} share a fingerprint");
        }
    }
}

#[test]
fn normalised_text() {
    let cases = [
        (
            "SELECT u.name, COUNT(*) FROM Users u WHERE u.id IN (1,2,3) AND u.tag = 'x';",
            "select u.name, count (*) from users u where u.id in (?) and u.tag = ?;",
        ),
        (
            "INSERT INTO log (a, b) VALUES (-1, 'it''s')",
            "insert into log (a, b) values (?)",
        ),
        ("SELECT a-1 FROM t", "select a - ? from t"),
        ("select 'unterminated", "select ?"),
        ("SELECT `Col` FROM t /* unterminated", "select `Col` from t"),
    ];
    for (q, want) in cases {
        assert_eq!(normalize_query(q), want, "{q:?}");
    }
    // Long queries are cut at a character boundary.
    let long = format!("SELECT {} FROM t", "é, ".repeat(2000));
    let text = normalize_query(&long);
    assert!(text.len() <= tachymeter_monitor::MAX_EXAMPLE_LEN + '…'.len_utf8());
    assert!(text.ends_with('…'));
}

proptest! {
    /// Any integer and any string literal (quotes doubled) give the template's fingerprint.
    #[test]
    fn literals_never_change_the_fingerprint(n in any::<i64>(), s in "\\PC*", f in 0.0f64..1e12) {
        let quoted = s.replace('\'', "''").replace('\\', "\\\\");
        let q = format!("SELECT * FROM t WHERE a = {n} AND b = '{quoted}' AND c > {f}");
        let template = "SELECT * FROM t WHERE a = ? AND b = ? AND c > ?";
        prop_assert_eq!(query_fingerprint(&q), query_fingerprint(template), "{}", q);
    }
}

/// What thread `t` records as query `i`: (query, nanoseconds, rows, type).
fn query(t: u64, i: u64) -> (String, u64, u64, &'static str) {
    let ns = 1_000_000 + (i * 7_919 + t * 104_729) % 900_000_000;
    let rows = (i * 31 + t) % 50;
    match (i + t) % 4 {
        0 => (
            format!("SELECT * FROM users WHERE id = {}", i * 3 + t),
            ns,
            rows,
            "SELECT",
        ),
        1 => (
            format!("select name from orders where total > {i}.5 and state = 'open'"),
            ns / 3,
            rows,
            "SELECT",
        ),
        2 => (
            format!("INSERT INTO log (a, b) VALUES ({i}, 'thread {t}')"),
            ns / 10,
            1,
            "INSERT",
        ),
        _ => (
            format!("UPDATE users SET seen = {i} WHERE id = {t}"),
            ns / 2,
            1,
            "UPDATE",
        ),
    }
}

#[test]
fn per_type_and_per_fingerprint_statistics_are_exact_from_several_threads() {
    let (engine, m) = private();
    let (threads, per) = (4u64, 2_500u64);
    std::thread::scope(|s| {
        for t in 0..threads {
            let m = &m;
            s.spawn(move || {
                for i in 0..per {
                    let (q, ns, rows, kind) = query(t, i);
                    if i % 2 == 0 {
                        m.record_query(&q, Duration::from_nanos(ns), rows, kind);
                    } else {
                        m.record_query(&q, ns as f64 / 1e9, rows, kind);
                    }
                }
            });
        }
    });
    engine.flush();
    let slow_ns = 500_000_000u64;
    // The oracle: per type (count, sum ns, max, rows, slow); per normalised text the same.
    #[derive(Default, Debug)]
    struct Want {
        count: u64,
        sum: u128,
        max: u64,
        rows: u64,
        slow: u64,
    }
    let mut types: BTreeMap<&str, Want> = BTreeMap::new();
    let mut shapes: BTreeMap<String, Want> = BTreeMap::new();
    for t in 0..threads {
        for i in 0..per {
            let (q, ns, rows, kind) = query(t, i);
            // f64 seconds round-trip to the same nanoseconds at these magnitudes.
            assert_eq!(((ns as f64 / 1e9) * 1e9 + 0.5) as u64, ns);
            for w in [
                types.entry(kind).or_default(),
                shapes.entry(normalize_query(&q)).or_default(),
            ] {
                w.count += 1;
                w.sum += u128::from(ns);
                w.max = w.max.max(ns);
                w.rows += rows;
                w.slow += u64::from(ns > slow_ns);
            }
        }
    }
    let a = m.analyze_query_patterns();
    assert_eq!(a.total_queries, threads * per);
    assert_eq!(a.slow_query_threshold, 0.5);
    assert_eq!(a.query_types.len(), types.len());
    for (kind, w) in &types {
        let got = &a.query_types[*kind];
        assert_eq!(got.count, w.count, "{kind}");
        assert_eq!(got.total_rows_returned, w.rows, "{kind}");
        assert_eq!(got.slow_queries, w.slow, "{kind}");
        assert_eq!(got.slow_share, w.slow as f64 / w.count as f64);
        assert_eq!(
            got.avg_execution_time,
            Some(w.sum as f64 / w.count as f64 / 1e9)
        );
        assert_eq!(got.max_execution_time, Some(w.max as f64 / 1e9));
        let p95 = got.p95_execution_time.unwrap();
        assert!(p95 > 0.0 && p95 <= w.max as f64 / 1e9 * 1.006);
    }
    // Exactly four shapes, each with the exact totals of its queries.
    assert_eq!(shapes.len(), 4);
    assert_eq!(a.fingerprints_tracked, 4);
    assert_eq!(a.untracked_queries, 0);
    let all = m.slow_queries(usize::MAX);
    assert_eq!(all.len(), shapes.values().filter(|w| w.slow > 0).count());
    for f in &all {
        let w = &shapes[&f.query];
        assert_eq!((f.count, f.slow_count), (w.count, w.slow), "{}", f.query);
        assert_eq!(f.total_execution_time, w.sum as f64 / 1e9);
        assert_eq!(f.fingerprint.len(), 16);
    }
    // Most slow queries first.
    assert!(all.windows(2).all(|p| p[0].slow_count >= p[1].slow_count));
    let (q, _, _, kind) = query(0, 0);
    let f = m.fingerprint_stats(&q).unwrap();
    assert_eq!(f.query_type, kind);
    assert_eq!(f.count, shapes[&normalize_query(&q)].count);
    assert!(m.is_tracked("SELECT * FROM users WHERE id = 123456"));
    assert!(m.fingerprint_stats("SELECT 1").is_none());
    // Opportunities: exactly the types with more than 10% slow queries.
    let want: Vec<&str> = types
        .iter()
        .filter(|(_, w)| w.slow * 10 > w.count)
        .map(|(k, _)| *k)
        .collect();
    let got: Vec<&str> = a
        .optimization_opportunities
        .iter()
        .map(|o| o.query_type.as_str())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_slow_threshold_is_exclusive_and_configurable() {
    let (engine, m) = private();
    m.record_query("SELECT 1", Duration::from_millis(500), 0, "SELECT");
    m.record_query("SELECT 1", Duration::from_nanos(500_000_001), 0, "SELECT");
    m.record_query("SELECT 1", 0.5, 0, "SELECT");
    engine.flush();
    assert_eq!(
        m.analyze_query_patterns().query_types["SELECT"].slow_queries,
        1
    );

    let m = QueryMonitor::builder()
        .engine(engine.clone())
        .slow_threshold(0.010)
        .build()
        .unwrap();
    assert_eq!(m.slow_threshold(), Duration::from_millis(10));
    m.record_query("SELECT 1", 0.011, 0, "SELECT");
    m.record_query("SELECT 1", 0.010, 0, "SELECT");
    engine.flush();
    assert_eq!(
        m.analyze_query_patterns().query_types["SELECT"].slow_queries,
        1
    );
}

#[test]
fn more_than_ten_percent_slow_is_an_opportunity_exactly_at_the_boundary() {
    let (engine, m) = private();
    // (type, queries, slow): 1 of 10 and 2 of 20 are exactly 10%, not more.
    let cases = [
        ("A", 10, 1, false),
        ("B", 20, 2, false),
        ("C", 19, 2, true),
        ("D", 10, 2, true),
        ("E", 1, 1, true),
        ("F", 5, 0, false),
    ];
    for (kind, n, slow, _) in cases {
        for i in 0..n {
            let t = if i < slow { 0.6 } else { 0.1 };
            m.record_query(&format!("SELECT {i} FROM {kind}"), t, 1, kind);
        }
    }
    engine.flush();
    let a = m.analyze_query_patterns();
    let got: Vec<&str> = a
        .optimization_opportunities
        .iter()
        .map(|o| o.query_type.as_str())
        .collect();
    let want: Vec<&str> = cases.iter().filter(|c| c.3).map(|c| c.0).collect();
    assert_eq!(got, want);
    let c = &a.optimization_opportunities[0];
    assert_eq!((c.kind, c.slow_queries, c.count), ("slow_queries", 2, 19));
    assert_eq!(c.issue, "High percentage of slow C queries");
    assert_eq!(
        c.recommendation,
        "Review C queries for optimization opportunities"
    );
    assert_eq!(c.slowest_fingerprints.len(), 1);
    assert_eq!(c.slowest_fingerprints[0].query, "select ? from c");
    // Serialized with the seeds' key.
    let json = serde_json::to_value(c).unwrap();
    assert_eq!(json["type"], "slow_queries");
}

#[test]
fn fingerprints_beyond_the_bound_are_counted_not_told_apart() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = QueryMonitor::builder()
        .engine(engine.clone())
        .max_fingerprints(2)
        .build()
        .unwrap();
    assert_eq!(m.max_fingerprints(), 2);
    for i in 0..5 {
        m.record_query(&format!("SELECT a FROM t WHERE x = {i}"), 0.6, 1, "SELECT");
        m.record_query(&format!("SELECT b FROM t WHERE x = {i}"), 0.1, 1, "SELECT");
        m.record_query(&format!("SELECT c FROM t WHERE x = {i}"), 0.7, 1, "SELECT");
        m.record_query(&format!("SELECT d FROM t WHERE x = {i}"), 0.8, 1, "SELECT");
    }
    engine.flush();
    let a = m.analyze_query_patterns();
    assert_eq!(a.total_queries, 20);
    assert_eq!(a.query_types["SELECT"].slow_queries, 15);
    assert_eq!(a.fingerprints_tracked, 2);
    assert_eq!(a.untracked_queries, 10);
    assert!(m.is_tracked("SELECT a FROM t WHERE x = 9"));
    assert!(!m.is_tracked("SELECT c FROM t WHERE x = 9"));
    let slow = m.slow_queries(10);
    let labels: Vec<(&str, u64)> = slow
        .iter()
        .map(|f| (f.query.as_str(), f.slow_count))
        .collect();
    assert_eq!(labels, [("", 10), ("select a from t where x = ?", 5)]);
    assert_eq!(slow[0].fingerprint, tachymeter::OVERFLOW_VALUE);
}

#[test]
fn invalid_times_are_counted_and_not_recorded() {
    let (engine, m) = private();
    m.record_query("SELECT 1", f64::NAN, 1, "SELECT");
    m.record_query("SELECT 1", -1.0, 1, "SELECT");
    m.record_query("SELECT 1", 0.001, 1, "SELECT");
    let snap = engine.flush();
    assert_eq!(m.analyze_query_patterns().total_queries, 1);
    let invalid = snap.get("db_query_invalid_total", &[("instance", m.instance())]);
    assert!(matches!(&invalid.unwrap().value, MetricValue::Counter(c) if c.total == 2));
}

#[test]
fn everything_recorded_is_an_engine_metric() {
    let (engine, m) = private();
    m.record_query("SELECT 1", 0.6, 3, "SELECT");
    let snap = engine.flush();
    let id = m.instance();
    let fp = format!("{:016x}", query_fingerprint("SELECT 1"));
    for (name, labels) in [
        ("db_query_duration", [("query_type", "SELECT")]),
        ("db_query_rows_total", [("query_type", "SELECT")]),
        ("db_slow_queries_total", [("query_type", "SELECT")]),
        (
            "db_query_fingerprint_calls_total",
            [("fingerprint", fp.as_str())],
        ),
        (
            "db_query_fingerprint_slow_total",
            [("fingerprint", fp.as_str())],
        ),
        (
            "db_query_fingerprint_time_total",
            [("fingerprint", fp.as_str())],
        ),
    ] {
        let mut l = vec![("instance", id)];
        l.extend(labels);
        assert!(snap.get(name, &l).is_some(), "{name}");
    }
    // The analysis serializes with the seeds' keys.
    let json = serde_json::to_value(m.analyze_query_patterns()).unwrap();
    assert_eq!(json["query_types"]["SELECT"]["total_rows_returned"], 3);
    assert_eq!(json["total_queries"], 1);
}

#[test]
fn the_global_monitor_records_into_the_global_engine() {
    let m = tachymeter_monitor::global_query_monitor();
    assert_eq!(m.instance(), "global");
    m.record_query("SELECT 1", 0.001, 1, "SELECT");
    tachymeter::global().flush();
    assert!(m.analyze_query_patterns().total_queries >= 1);
}
