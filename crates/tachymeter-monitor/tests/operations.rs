//! `OperationTracker` against exact oracles: durations set by a mock clock, counts from several
//! threads with ids ended on other threads, stale, unknown and double ends, a full table, the
//! overflow series, annotations, and 0 allocations on the id-only path after warm-up.
#![allow(clippy::disallowed_types)]

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;
use tachymeter::{Clock, Engine, MockClock};
use tachymeter_monitor::{Metadata, OperationId, OperationKind, OperationTracker};
use tachymeter_test_alloc::allocations;

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

fn mock_engine() -> (Arc<Engine>, MockClock) {
    let (clock, mock) = Clock::mock();
    let engine = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    (Arc::new(engine), mock)
}

fn tracker(engine: &Arc<Engine>) -> OperationTracker {
    OperationTracker::builder()
        .engine(engine.clone())
        .build()
        .unwrap()
}

#[test]
fn durations_outcomes_and_kinds_match_exact_oracles() {
    let (engine, mock) = mock_engine();
    let t = tracker(&engine);
    let kinds = [
        (OperationKind::Download, "model.bin"),
        (OperationKind::Download, "tokenizer.json"),
        (OperationKind::HealthCheck, "db"),
        (OperationKind::Custom("warmup"), "gpu0"),
    ];
    // (kind label, name) -> (durations ms, failures)
    let mut oracle: BTreeMap<(&str, &str), (Vec<f64>, u64)> = BTreeMap::new();
    for i in 0..400u64 {
        let (kind, name) = kinds[(i % 4) as usize];
        let ms = 1 + (i * 37) % 250;
        let id = t.start(kind, name, None);
        mock.advance(Duration::from_millis(ms));
        let ok = i % 7 != 0;
        let d = t.end(id, ok, None, None).unwrap();
        assert_eq!(d, Duration::from_millis(ms));
        let e = oracle.entry((kind.label(), name)).or_default();
        e.0.push(ms as f64 / 1e3);
        e.1 += u64::from(!ok);
    }
    engine.flush();
    // One hour back: the 5-minute tier at schema 2.
    let bound = tachymeter::histogram::relative_error_bound(2);
    let check = |s: &tachymeter_monitor::OperationStats, durations: &[f64], failed: u64| {
        let mut d = durations.to_vec();
        d.sort_by(f64::total_cmp);
        let n = d.len() as u64;
        assert_eq!(s.total_operations, n);
        assert_eq!(s.failed_operations, failed);
        assert_eq!(s.successful_operations, n - failed);
        assert_eq!(s.success_rate, (n - failed) as f64 / n as f64);
        let mean = d.iter().sum::<f64>() / n as f64;
        assert!((s.average_duration.unwrap() - mean).abs() < 1e-9);
        for (got, q) in [
            (s.p50_duration, 0.5),
            (s.p95_duration, 0.95),
            (s.p99_duration, 0.99),
        ] {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, d.len());
            let exact = d[rank - 1];
            assert!((got.unwrap() - exact).abs() <= exact * bound, "q{q}");
        }
        let (lo, hi) = (d[0], d[d.len() - 1]);
        assert!(
            s.min_duration.unwrap() <= lo && s.min_duration.unwrap() >= lo * (1.0 - 2.0 * bound)
        );
        assert!(
            s.max_duration.unwrap() >= hi && s.max_duration.unwrap() <= hi * (1.0 + 2.0 * bound)
        );
        assert!(s.throughput > 0.0);
    };
    let downloads = t.metrics_by_kind(OperationKind::Download, 1);
    assert_eq!(downloads.operation_type, "download_operation");
    assert_eq!(downloads.operations.len(), 2);
    for (name, s) in &downloads.operations {
        let (d, f) = &oracle[&("download_operation", name.as_str())];
        check(s, d, *f);
    }
    let (mut d, mut f) = (Vec::new(), 0);
    for ((kind, _), (ds, fs)) in &oracle {
        if *kind == "download_operation" {
            d.extend_from_slice(ds);
            f += fs;
        }
    }
    check(&downloads.summary, &d, f);
    let warmup = t.metrics_by_kind(OperationKind::Custom("warmup"), 1);
    let (d, f) = &oracle[&("warmup", "gpu0")];
    check(&warmup.summary, d, *f);
    // Never used: empty, not an error.
    let none = t.metrics_by_kind(OperationKind::FallbackStrategy, 1);
    assert_eq!(none.summary.total_operations, 0);
    assert_eq!(none.summary.success_rate, 1.0);

    let all = t.all_metrics(1);
    let every: Vec<f64> = oracle.values().flat_map(|v| v.0.clone()).collect();
    check(&all.summary, &every, oracle.values().map(|v| v.1).sum());
    assert_eq!(all.by_type.len(), 3);
    let tp: f64 = all.by_type.values().map(|k| k.summary.throughput).sum();
    assert!((all.summary.throughput - tp).abs() < 1e-9);
    assert_eq!((all.in_flight, all.oldest_in_flight_age), (0, None));
    assert_eq!((all.rejected_starts, all.unknown_ends), (0, 0));
    let json = serde_json::to_value(&all).unwrap();
    assert_eq!(json["summary"]["total_operations"], 400);
    assert!(json["by_type"]["health_check"]["operations"]["db"]["p95_duration"].is_number());

    // The time range: everything ended in the first 60 s; two hours later, the last hour holds
    // nothing and the last three hours hold everything.
    mock.advance(Duration::from_secs(7200));
    engine.flush();
    assert_eq!(t.all_metrics(1).summary.total_operations, 0);
    assert_eq!(t.all_metrics(1).summary.throughput, 0.0);
    assert_eq!(t.all_metrics(3).summary.total_operations, 400);
    assert_eq!(
        t.all_metrics(3).summary.failed_operations,
        all.summary.failed_operations
    );
}

#[test]
fn in_flight_count_and_oldest_age_are_exact() {
    let (engine, mock) = mock_engine();
    let t = tracker(&engine);
    assert_eq!((t.in_flight(), t.oldest_in_flight_age()), (0, None));
    let a = t.track_download("a", None);
    mock.advance(Duration::from_secs(5));
    let b = t.track_model_operation("b", None);
    mock.advance(Duration::from_secs(2));
    assert_eq!(t.in_flight(), 2);
    assert_eq!(t.oldest_in_flight_age(), Some(Duration::from_secs(7)));
    assert_eq!(t.end(a, true, None, None), Some(Duration::from_secs(7)));
    assert_eq!(t.oldest_in_flight_age(), Some(Duration::from_secs(2)));
    t.end(b, true, None, None);
    assert_eq!((t.in_flight(), t.oldest_in_flight_age()), (0, None));
    let c = t.track_fallback_strategy("c", None);
    let d = t.track_analytics_collection("d", None);
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!((all.in_flight, all.oldest_in_flight_age), (2, Some(0.0)));
    assert!(t.end(c, true, None, None).is_some() && t.end(d, true, None, None).is_some());
}

#[test]
fn stale_unknown_double_and_untracked_ends_are_counted() {
    let (engine, mock) = mock_engine();
    let t = OperationTracker::builder()
        .engine(engine.clone())
        .capacity(1)
        .build()
        .unwrap();
    let first = t.start(OperationKind::HealthCheck, "db", None);
    // Full: the second start is not tracked, and its end does nothing.
    let rejected = t.start(OperationKind::HealthCheck, "db", None);
    assert!(first.is_tracked() && !rejected.is_tracked());
    assert_eq!(rejected, OperationId::NOT_TRACKED);
    assert_eq!(t.end(rejected, true, None, None), None);
    assert!(t.end(first, true, None, None).is_some());
    // Double end.
    assert_eq!(t.end(first, true, None, None), None);
    // The slot is reused by a later operation: the stale id must not end it.
    let second = t.start(OperationKind::HealthCheck, "db", None);
    assert_eq!(second.as_u64() as u32, first.as_u64() as u32, "same slot");
    assert_ne!(second, first);
    assert_eq!(t.end(first, false, None, None), None);
    assert_eq!(t.in_flight(), 1);
    mock.advance(Duration::from_millis(3));
    assert_eq!(
        t.end(second, true, None, None),
        Some(Duration::from_millis(3))
    );
    // An id of another, larger tracker: unknown here.
    let big = tracker(&engine);
    let ids: Vec<_> = (0..3)
        .map(|_| big.start(OperationKind::Download, "x", None))
        .collect();
    assert_eq!(t.end(ids[2], true, None, None), None);
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!(all.rejected_starts, 1);
    assert_eq!(all.unknown_ends, 3);
    assert_eq!(all.summary.total_operations, 2);
    assert_eq!(all.summary.failed_operations, 0);
    assert_eq!(big.all_metrics(1).in_flight, 3);
}

#[test]
fn a_full_table_counts_every_rejection() {
    let (engine, _mock) = mock_engine();
    let t = OperationTracker::builder()
        .engine(engine.clone())
        .capacity(100)
        .build()
        .unwrap();
    let ids: Vec<_> = (0..130)
        .map(|_| t.start(OperationKind::SystemResource, "sample", None))
        .collect();
    assert_eq!(ids.iter().filter(|i| i.is_tracked()).count(), 100);
    assert_eq!(t.in_flight(), 100);
    for id in ids {
        t.end(id, true, None, None);
    }
    assert_eq!(t.in_flight(), 0);
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!((all.rejected_starts, all.unknown_ends), (30, 0));
    assert_eq!(all.summary.total_operations, 100);
}

#[test]
fn ids_ended_on_other_threads_count_exactly() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let t = OperationTracker::builder()
        .engine(engine.clone())
        .capacity(512)
        .build()
        .unwrap();
    const PRODUCERS: u64 = 3;
    const PER: u64 = 3_000;
    let (tx, rx) = mpsc::sync_channel::<(OperationId, u64)>(64);
    let rx = std::sync::Mutex::new(rx);
    let (ended, failed): (u64, u64) = std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            let (t, tx) = (&t, tx.clone());
            s.spawn(move || {
                for i in 0..PER {
                    let kind = if i % 2 == 0 {
                        OperationKind::Download
                    } else {
                        OperationKind::ModelOperation
                    };
                    let id = t.start(kind, "op", None);
                    assert!(id.is_tracked());
                    tx.send((id, p * PER + i)).unwrap();
                }
            });
        }
        drop(tx);
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (t, rx) = (&t, &rx);
                s.spawn(move || {
                    let (mut n, mut f) = (0, 0);
                    loop {
                        let msg = rx.lock().unwrap().recv();
                        let Ok((id, k)) = msg else { break };
                        let ok = k % 5 != 0;
                        assert!(t.end(id, ok, None, None).is_some());
                        n += 1;
                        f += u64::from(!ok);
                    }
                    (n, f)
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|c| c.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    assert_eq!(ended, PRODUCERS * PER);
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!(all.summary.total_operations, PRODUCERS * PER);
    assert_eq!(all.summary.failed_operations, failed);
    assert_eq!(failed, PRODUCERS * PER / 5);
    assert_eq!(
        all.by_type["download_operation"].summary.total_operations,
        PRODUCERS * PER / 2
    );
    assert_eq!(
        (all.in_flight, all.rejected_starts, all.unknown_ends),
        (0, 0, 0)
    );
}

#[test]
fn racing_ends_of_the_same_ids_win_exactly_once() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let t = OperationTracker::builder()
        .engine(engine.clone())
        .capacity(64)
        .build()
        .unwrap();
    const ROUNDS: usize = 2_000;
    let barrier = Barrier::new(3);
    let wins: usize = std::thread::scope(|s| {
        let (tx1, rx1) = mpsc::channel::<OperationId>();
        let (tx2, rx2) = mpsc::channel::<OperationId>();
        let enders: Vec<_> = [rx1, rx2]
            .into_iter()
            .map(|rx| {
                let (t, barrier) = (&t, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    rx.iter()
                        .filter(|id| t.end(*id, true, None, None).is_some())
                        .count()
                })
            })
            .collect();
        barrier.wait();
        for _ in 0..ROUNDS {
            let id = t.start(OperationKind::HealthCheck, "race", None);
            tx1.send(id).unwrap();
            tx2.send(id).unwrap();
            // Keep the table from filling while the enders lag.
            while t.in_flight() > 32 {
                std::thread::yield_now();
            }
        }
        drop((tx1, tx2));
        enders.into_iter().map(|e| e.join().unwrap()).sum()
    });
    assert_eq!(wins, ROUNDS);
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!(all.summary.total_operations, ROUNDS as u64);
    assert_eq!(all.unknown_ends, ROUNDS as u64);
    assert_eq!(all.rejected_starts, 0);
    assert_eq!(all.in_flight, 0);
}

#[test]
fn names_past_the_limit_go_to_the_overflow_series() {
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .label_set_limit(4)
            .build()
            .unwrap(),
    );
    let t = tracker(&engine);
    for name in ["a", "b", "c", "d", "e"] {
        let id = t.track_download(name, None);
        let failed = name == "e";
        t.end(id, !failed, failed.then_some("404"), None);
    }
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!(all.summary.total_operations, 5);
    assert_eq!(all.summary.failed_operations, 1);
    let named = &all.by_type["download_operation"];
    assert_eq!(named.operations.len(), 3);
    assert_eq!(named.summary.total_operations, 3);
    let recent = t.recent_operations(10);
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].operation_name, tachymeter::OVERFLOW_VALUE);
    assert_eq!(recent[0].error_message.as_deref(), Some("404"));
    assert!(!recent[0].success);
}

#[test]
fn recent_operations_keep_the_last_annotated_operations() {
    let (engine, mock) = mock_engine();
    let t = OperationTracker::builder()
        .engine(engine.clone())
        .recent_capacity(2)
        .build()
        .unwrap();
    let meta = |k: &str, v: &str| Metadata::from([(k.to_string(), v.to_string())]);
    let a = t.track_download("model.bin", Some(meta("size", "1024")));
    mock.advance(Duration::from_millis(4));
    t.end(a, true, None, Some(meta("mirror", "eu")));
    let b = t.track_health_check("db", None);
    mock.advance(Duration::from_millis(1));
    t.end(b, false, Some("timeout"), None);
    // Not annotated: not kept one by one.
    let c = t.track_health_check("db", None);
    t.end(c, true, None, None);
    let r = t.recent_operations(10);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[0].operation_type.as_str(), r[0].operation_name.as_str()),
        ("download_operation", "model.bin")
    );
    assert_eq!(r[0].id, a.as_u64());
    assert!((r[0].duration - 0.004).abs() < 1e-12);
    let m = r[0].metadata.as_ref().unwrap();
    assert_eq!((m["size"].as_str(), m["mirror"].as_str()), ("1024", "eu"));
    assert_eq!(
        (r[1].operation_type.as_str(), r[1].id),
        ("health_check", b.as_u64())
    );
    assert_eq!(r[1].error_message.as_deref(), Some("timeout"));
    assert!(r[1].metadata.is_none() && !r[1].success && r[0].success);
    assert!(r[0].ended_at <= r[1].ended_at);
    assert_eq!(t.recent_operations(1)[0].id, b.as_u64());
    // The ring keeps 2: a third annotated operation pushes out the first.
    let d = t.track_download("x", Some(meta("k", "v")));
    t.end(d, true, None, None);
    let r = t.recent_operations(10);
    assert_eq!(
        r.iter().map(|x| x.id).collect::<Vec<_>>(),
        [b.as_u64(), d.as_u64()]
    );
    assert_eq!(r[1].metadata.as_ref().unwrap()["k"], "v");
    engine.flush();
    assert_eq!(t.all_metrics(1).summary.total_operations, 4);
    assert_eq!(
        tachymeter_monitor::global_operation_tracker().instance(),
        "global"
    );
}

#[test]
fn the_id_only_path_allocates_nothing_after_warm_up() {
    tachymeter_test_alloc::assert_installed();
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(5))
            .build()
            .unwrap(),
    );
    let t = tracker(&engine);
    const THREADS: usize = 2;
    const OPS: u64 = 200_000;
    const NAMES: [&str; 3] = ["a", "b", "c"];
    let barrier = Barrier::new(THREADS);
    // Each thread ends the operations the other started (through a bounded exchange of ids).
    let slots: Vec<_> = (0..THREADS)
        .map(|_| std::sync::Mutex::new(Vec::<OperationId>::with_capacity(64)))
        .collect();
    let counted: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|k| {
                let (t, barrier, slots) = (&t, &barrier, &slots);
                s.spawn(move || {
                    // Warm-up: every series exists and this thread has its shards.
                    for name in NAMES {
                        for ok in [true, false] {
                            let id = t.start(OperationKind::Download, name, None);
                            t.end(id, ok, None, None);
                        }
                    }
                    barrier.wait();
                    allocations(|| {
                        for i in 0..OPS {
                            let id = t.start(OperationKind::Download, NAMES[i as usize % 3], None);
                            if i % 2 == 0 {
                                t.end(id, i % 3 != 0, None, None);
                            } else {
                                // Hand it to the other thread; end one of theirs if any.
                                let mut mine = slots[1 - k].lock().unwrap();
                                if mine.len() < 64 {
                                    mine.push(id);
                                } else {
                                    t.end(id, true, None, None);
                                }
                                drop(mine);
                                let theirs = slots[k].lock().unwrap().pop();
                                if let Some(other) = theirs {
                                    t.end(other, true, None, None);
                                }
                            }
                        }
                    })
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(counted, 0, "allocations on the id-only path");
    for s in &slots {
        for id in s.lock().unwrap().drain(..) {
            t.end(id, true, None, None);
        }
    }
    engine.flush();
    let all = t.all_metrics(1);
    assert_eq!(
        all.summary.total_operations,
        THREADS as u64 * (OPS + 2 * NAMES.len() as u64)
    );
    assert_eq!((all.in_flight, all.unknown_ends), (0, 0));
}
