//! `SerializationMonitor` against exact oracles from several threads.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{Operation, SerializationMonitor};

fn private() -> (Arc<Engine>, SerializationMonitor) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = SerializationMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    (engine, m)
}

/// What thread `t` records as operation `i`.
fn op(
    t: u64,
    i: u64,
) -> (
    &'static str,
    Operation,
    u64,
    u64,
    bool,
    Option<&'static str>,
) {
    let serializer = if (i + t) % 3 == 0 { "msgpack" } else { "json" };
    let operation = if i % 2 == 0 {
        Operation::Serialize
    } else {
        Operation::Deserialize
    };
    let ns = 10_000 + (i * 7_919 + t * 104_729) % 990_000;
    let size = 100 + (i * 31) % 5_000;
    let ok = i % 17 != 0;
    let error = (!ok).then_some(if i % 2 == 0 {
        "overflow"
    } else {
        "invalid_utf8"
    });
    (serializer, operation, ns, size, ok, error)
}

#[test]
fn per_serializer_and_operation_statistics_are_exact() {
    let (engine, m) = private();
    let (threads, per) = (3u64, 3_000u64);
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..threads)
            .map(|t| {
                let m = &m;
                s.spawn(move || {
                    for i in 0..per {
                        let (ser, o, ns, size, ok, err) = op(t, i);
                        m.record_operation(ser, o, Duration::from_nanos(ns), size, ok, err);
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    engine.flush();
    // The oracle.
    type Key = (&'static str, Operation);
    /// Durations, bytes, successes and errors by type of one (serializer, operation).
    type Want = (Vec<u64>, u64, u64, BTreeMap<&'static str, u64>);
    let mut want: BTreeMap<Key, Want> = BTreeMap::new();
    for t in 0..threads {
        for i in 0..per {
            let (ser, o, ns, size, ok, err) = op(t, i);
            let e = want.entry((ser, o)).or_default();
            e.0.push(ns);
            e.1 += size;
            e.2 += u64::from(ok);
            if let Some(err) = err {
                *e.3.entry(err).or_default() += 1;
            }
        }
    }
    let bound = tachymeter::histogram::relative_error_bound(6);
    for ((ser, o), (mut ns, bytes, ok, errors)) in want.clone() {
        let got = m.metrics(ser);
        let g = &got.operations[&o];
        assert_eq!(g.count, ns.len() as u64, "{ser} {o:?}");
        assert_eq!(g.total_bytes, bytes);
        assert_eq!(g.success_rate, ok as f64 / ns.len() as f64);
        let errors: BTreeMap<String, u64> =
            errors.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(g.errors, errors);
        let sum: u64 = ns.iter().sum();
        assert!((g.avg_time.unwrap() - sum as f64 / ns.len() as f64 / 1e9).abs() < 1e-15);
        assert!((g.bytes_per_second - bytes as f64 / (sum as f64 / 1e9)).abs() < 1e-6);
        ns.sort_unstable();
        let rank = ((0.95 * ns.len() as f64).ceil() as usize).clamp(1, ns.len());
        let exact = ns[rank - 1] as f64 / 1e9;
        assert!((g.p95_time.unwrap() - exact).abs() <= exact * bound);
    }
    let all = m.summary(None);
    assert_eq!(all.total_operations, threads * per);
    let total_bytes: u64 = want.values().map(|v| v.1).sum();
    assert_eq!(all.total_bytes, total_bytes);
    let ok: u64 = want.values().map(|v| v.2).sum();
    assert!((all.success_rate - ok as f64 / (threads * per) as f64).abs() < 1e-12);
    let json = m.summary(Some("json"));
    assert_eq!(json.serializers.len(), 1);
    let json_ops: u64 = want
        .iter()
        .filter(|((s, _), _)| *s == "json")
        .map(|(_, v)| v.0.len() as u64)
        .sum();
    assert_eq!(json.total_operations, json_ops);
    assert!(serde_json::to_value(&all)
        .unwrap()
        .get("total_operations")
        .is_some());
}

#[test]
fn recent_operations_and_resets() {
    let (engine, m) = private();
    for i in 0..10u64 {
        let o = if i % 2 == 0 {
            Operation::Serialize
        } else {
            Operation::Deserialize
        };
        m.record_operation("json", o, i as f64 * 1e-3, i * 10, i != 4, Some("bad"));
        m.record_operation("csv", o, 0.001, 1, true, None);
    }
    engine.flush();
    let recent = m.recent("json", 3);
    assert_eq!(recent.len(), 3);
    let sizes: Vec<u64> = recent.iter().map(|r| r.data_size).collect();
    assert_eq!(sizes, [70, 80, 90]);
    assert_eq!(recent[0].operation, Operation::Deserialize);
    assert!((recent[1].duration - 0.008).abs() < 1e-12);
    assert!(recent.iter().all(|r| r.success));
    assert!(!m.recent("json", 10)[4].success);
    assert!(m.recent("nope", 5).is_empty());
    m.reset(Some("json"));
    engine.flush();
    assert_eq!(m.summary(Some("json")).total_operations, 0);
    assert!(m.recent("json", 10).is_empty());
    assert_eq!(m.summary(Some("csv")).total_operations, 10);
    m.reset(None);
    engine.flush();
    assert_eq!(m.summary(None).total_operations, 0);
    assert_eq!(
        tachymeter_monitor::global_monitor()
            .summary(None)
            .total_operations,
        0
    );
}
