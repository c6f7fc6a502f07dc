//! Loom models of the real engine code (the same source, compiled with `--cfg loom` through the
//! `sync` shim). Each model names the protocol it checks and the mutation (in `mutants/`) that
//! makes it fail. Bounded: at most 3 threads, capacities shrunk (ring 4, slots 1–2, 5 buckets);
//! `run.sh` sets `LOOM_MAX_PREEMPTIONS=2`.
#![cfg(loom)]

use loom::thread;
use std::sync::Arc;
use tachymeter::loom_api::Ring;
use tachymeter::{Clock, Engine, HistogramConfig, MetricValue, Snapshot};

fn engine(max_threads: usize) -> Arc<Engine> {
    // A mock clock: quanta's calibration would run on every loom iteration.
    let (clock, _mock) = Clock::mock();
    Arc::new(
        Engine::builder()
            .background(false)
            .max_threads(max_threads)
            .clock(clock)
            .build()
            .unwrap(),
    )
}

/// Five buckets (zero bucket + 1, 2, 4, 8): loom explores every bucket load.
fn tiny() -> HistogramConfig {
    HistogramConfig::default().schema(0).max_value(8)
}

fn counter_total(s: &Snapshot, name: &str) -> u128 {
    s.counter(name).map_or(0, |c| c.total)
}

/// A writer's single-writer stores vs the aggregator's reads: every published total is a real
/// past total, and the deltas published add up to exactly what was recorded.
/// Fails with mutants/reset-delta.patch (aggregator reads and resets the shard).
#[test]
fn counter_deltas_add_up_exactly() {
    loom::model(|| {
        let e = engine(2);
        let c = e.counter("c").unwrap();
        let (e2, c2) = (e.clone(), c.clone());
        let w = thread::spawn(move || {
            let r = e2.local_recorder();
            let lc = r.counter(&c2);
            lc.add(1);
            lc.add(2);
        });
        let s1 = e.flush();
        w.join().unwrap();
        let s2 = e.flush();
        let t1 = counter_total(&s1, "c");
        assert!(
            matches!(t1, 0 | 1 | 3),
            "{t1} is not a total that ever existed"
        );
        let d = |s: &Snapshot| s.counter("c").map_or(0, |c| c.delta);
        assert_eq!(d(&s1) + d(&s2), 3);
        assert_eq!(counter_total(&s2, "c"), 3);
    });
}

/// Slot claim / release on drop / reuse by another thread: the next owner continues the
/// previous owner's totals (or shares the overflow slot while both are alive).
/// Fails with mutants/relaxed-slot-handoff.patch (claim and release without acquire/release).
#[test]
fn slot_reuse_keeps_totals() {
    loom::model(|| {
        let e = engine(1);
        let c = e.counter("c").unwrap();
        let ts: Vec<_> = [1u64, 10]
            .into_iter()
            .map(|n| {
                let (e, c) = (e.clone(), c.clone());
                thread::spawn(move || {
                    let r = e.local_recorder();
                    r.counter(&c).add(n);
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(counter_total(&e.flush(), "c"), 11);
    });
}

/// Ring push vs drain at capacity: the consumer gets contiguous runs of what was pushed, in
/// order, never a torn, duplicated or invented value, and seen + lost = pushed.
/// Fails with mutants/ring-no-reserve-check.patch (consumer trusts every slot it copied).
#[test]
fn ring_push_vs_drain() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(4));
        let r2 = ring.clone();
        let p = thread::spawn(move || {
            for v in 1..=6u64 {
                r2.producer().push(v);
            }
        });
        let mut pos = 0u64;
        let (mut next, mut seen, mut lost_total) = (1u64, 0u64, 0u64);
        let mut check = |out: Vec<u64>, lost: u64| {
            next += lost;
            for v in out {
                assert_eq!(v, next, "torn, duplicated or reordered sample");
                next += 1;
                seen += 1;
            }
            lost_total += lost;
        };
        let mut out = Vec::new();
        let lost = ring.consumer().read_since(&mut pos, &mut out);
        check(out, lost);
        p.join().unwrap();
        let mut out = Vec::new();
        let lost = ring.consumer().read_since(&mut pos, &mut out);
        check(out, lost);
        assert_eq!(seen + lost_total, 6);
    });
}

/// Snapshot publication vs concurrent readers: two flushers race, a reader sees only complete
/// snapshots and sequence numbers never go backwards.
/// Fails with mutants/publish-outside-lock.patch (publication after the aggregator lock).
#[test]
fn publication_is_ordered_and_complete() {
    loom::model(|| {
        let e = engine(2);
        let c = e.counter("c").unwrap();
        {
            let r = e.local_recorder();
            r.counter(&c).add(5);
        }
        let flushers: Vec<_> = (0..2)
            .map(|_| {
                let e = e.clone();
                thread::spawn(move || {
                    e.flush();
                })
            })
            .collect();
        let a = e.snapshot();
        let b = e.snapshot();
        assert!(b.sequence() >= a.sequence(), "sequence went backwards");
        for s in [&a, &b] {
            if s.sequence() > 0 {
                assert_eq!(counter_total(s, "c"), 5, "incomplete snapshot");
            }
        }
        for f in flushers {
            f.join().unwrap();
        }
        assert_eq!(e.snapshot().sequence(), 2);
    });
}

/// Writer + aggregator + reader: every snapshot satisfies count = Σ buckets and
/// min ≤ quantile ≤ max with every non-empty bucket inside [min, max], totals only take real
/// past values, and the final flush is exact.
/// Fails with mutants/relaxed-bucket.patch (bucket store/load without release/acquire).
#[test]
fn writer_aggregator_reader() {
    loom::model(|| {
        let e = engine(2);
        let h = e.histogram_with("h", tiny()).unwrap();
        let (e2, h2) = (e.clone(), h.clone());
        let w = thread::spawn(move || {
            let r = e2.local_recorder();
            let lh = r.histogram(&h2);
            lh.record(3);
            lh.record(6);
        });
        let e3 = e.clone();
        let agg = thread::spawn(move || {
            let s = e3.flush();
            check_histogram(&s, 2);
        });
        check_histogram(&e.snapshot(), 2);
        w.join().unwrap();
        agg.join().unwrap();
        let s = e.flush();
        let hd = &s.histogram("h").unwrap().cumulative;
        assert_eq!(
            (hd.count(), hd.sum(), hd.min(), hd.max()),
            (2, 9, Some(3), Some(6))
        );
    });
}

/// The histogram change marker (`HistShard::changes`): the aggregator skips a shard whose marker
/// it has already seen and re-sums only changed blocks. A flush racing the writer publishes only
/// consistent data, and once the writer is done the next flush, and an idle one after it, are
/// exact: no record hidden behind an already-seen marker is lost.
/// Fails with mutants/relaxed-change-marker (the owner stores the marker `Relaxed`) and
/// mutants/relaxed-block-total (the owner stores a block total `Relaxed`: a total read ahead of
/// its bucket hides that bucket from every later collection; loom found this in the first draft).
#[test]
fn change_marker_skip_loses_nothing() {
    loom::model(|| {
        let e = engine(2);
        let h = e.histogram_with("h", tiny()).unwrap();
        let (e2, h2) = (e.clone(), h.clone());
        let w = thread::spawn(move || {
            let r = e2.local_recorder();
            let lh = r.histogram(&h2);
            lh.record(3);
            lh.record(6);
        });
        check_histogram(&e.flush(), 2);
        w.join().unwrap();
        for _ in 0..2 {
            let s = e.flush();
            let hd = &s.histogram("h").unwrap().cumulative;
            assert_eq!(
                (hd.count(), hd.sum(), hd.min(), hd.max()),
                (2, 9, Some(3), Some(6)),
                "a published record was skipped"
            );
        }
    });
}

fn check_histogram(s: &Snapshot, at_most: u64) {
    let Some(m) = s.get("h", &[]) else { return };
    let MetricValue::Histogram(h) = &m.value else {
        panic!("wrong kind")
    };
    let d = &h.cumulative;
    assert!(d.count() <= at_most);
    assert_eq!(
        d.count(),
        d.zero_count() + d.buckets().map(|b| b.1).sum::<u64>()
    );
    if d.count() > 0 {
        let (mn, mx) = (
            d.min().expect("min of a non-empty histogram"),
            d.max().unwrap(),
        );
        for q in [0.0, 0.5, 1.0] {
            let v = d.quantile(q).unwrap();
            assert!(
                mn as f64 <= v && v <= mx as f64,
                "q{q}={v} outside [{mn}, {mx}]"
            );
        }
        // Every counted value is reflected in the exact extremes: each non-empty bucket holds
        // a value in [min, max] (quantiles alone cannot show it: estimates are clamped).
        for (i, _) in d.buckets() {
            let (lo, hi) = tachymeter::histogram::bucket_bounds(d.schema(), i);
            assert!(
                lo < mx as f64 && hi >= mn as f64,
                "bucket ({lo}, {hi}] counted outside [{mn}, {mx}]"
            );
        }
        assert!(
            d.zero_count() == 0 || mn == 0,
            "a zero counted above min {mn}"
        );
    }
}

/// Gauge seqlock: a set is read whole or not at all, so set + later adds combine exactly.
/// Fails with mutants/gauge-no-seqlock.patch (reader ignores the sequence).
#[test]
fn gauge_set_is_never_torn() {
    loom::model(|| {
        let e = engine(2);
        let g = e.gauge("g").unwrap();
        let (e2, g2) = (e.clone(), g.clone());
        let w = thread::spawn(move || {
            let r = e2.local_recorder();
            let lg = r.gauge(&g2);
            lg.add(1.0);
            lg.set(10.0);
            lg.add(1.0);
        });
        let mid = e.flush().gauge("g").map_or(0.0, |g| g.value);
        assert!(
            [0.0, 1.0, 10.0, 11.0].contains(&mid),
            "torn gauge value {mid}"
        );
        w.join().unwrap();
        assert_eq!(e.flush().gauge("g").unwrap().value, 11.0);
    });
}

/// The wide total's wrap protocol (`shard::WideTotal`): while the owner's low word wraps, the
/// aggregator never publishes a torn total (the wrapped low word without its wrap count).
/// Fails with mutants/wide-no-seqlock (the reader ignores the wrap count's seqlock).
#[test]
fn wide_total_wrap_is_never_torn() {
    loom::model(|| {
        let e = engine(2);
        let c = e.counter("c").unwrap();
        let (e2, c2) = (e.clone(), c.clone());
        let w = thread::spawn(move || {
            let r = e2.local_recorder();
            let lc = r.counter(&c2);
            lc.add(u64::MAX);
            lc.add(2);
        });
        let s1 = e.flush();
        w.join().unwrap();
        let max = u64::MAX as u128;
        let t1 = counter_total(&s1, "c");
        assert!(
            t1 == 0 || t1 == max || t1 == max + 2,
            "{t1} is not a total that ever existed"
        );
        assert_eq!(counter_total(&e.flush(), "c"), max + 2);
    });
}

/// Family lookup vs insert: two threads find-or-create the same series at once; the series is
/// made once, both get the same handle, and both records count.
/// Fails with mutants/family-no-recheck (the insert path skips its probe under the lock).
#[test]
fn family_first_use_makes_one_series() {
    loom::model(|| {
        let e = engine(2);
        let fam = e.counter_family("f_total", &["k"]).unwrap();
        let f2 = fam.clone();
        let t = thread::spawn(move || {
            let c = f2.with(&["a"]);
            c.increment();
            c as *const tachymeter::Counter as usize
        });
        let c = fam.with(&["a"]);
        c.increment();
        let mine = c as *const tachymeter::Counter as usize;
        let theirs = t.join().unwrap();
        assert_eq!(mine, theirs, "two handles for one tuple of values");
        assert_eq!(fam.len(), 1);
        let s = e.flush();
        let total = match s.get("f_total", &[("k", "a")]).map(|m| &m.value) {
            Some(MetricValue::Counter(c)) => c.total,
            other => panic!("{other:?}"),
        };
        assert_eq!(total, 2);
        assert_eq!(s.metrics().len(), 1);
    });
}
