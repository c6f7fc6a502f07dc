//! Label families against a `HashMap` model: every tuple of values is its own series with
//! exactly the records made through it, the limit routes excess tuples to the overflow series
//! (counted), removal hides series from snapshots and using them again brings them back.

use proptest::prelude::*;
use std::collections::HashMap;
use tachymeter::{Engine, MetricValue, Opts, Snapshot, OVERFLOW_VALUE};

fn engine(label_set_limit: usize) -> Engine {
    Engine::builder()
        .background(false)
        .label_set_limit(label_set_limit)
        .build()
        .unwrap()
}

/// Every counter series of `name` in `snap`, as (values in label-name order) → total.
fn series(snap: &Snapshot, name: &str, labels: &[&str]) -> HashMap<Vec<String>, u128> {
    snap.metrics()
        .iter()
        .filter(|m| m.desc.name == name)
        .map(|m| {
            let values = labels
                .iter()
                .map(|l| {
                    let (_, v) = m.desc.labels.iter().find(|(k, _)| k == l).unwrap();
                    v.clone()
                })
                .collect();
            let MetricValue::Counter(c) = &m.value else {
                panic!("{m:?}")
            };
            (values, c.total)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn counter_family_matches_a_hashmap_model(
        ops in prop::collection::vec(
            (0u8..6, 0u8..4, 1u64..100, prop_oneof![Just(0u8), Just(1), Just(2)]), 1..120),
    ) {
        let e = engine(1000);
        let fam = e.counter_family(Opts::new("model_total"), &["a", "b"]).unwrap();
        let mut model: HashMap<Vec<String>, u128> = HashMap::new();
        let mut removed: std::collections::HashSet<Vec<String>> = Default::default();
        for (a, b, n, op) in ops {
            let (a, b) = (format!("a{a}"), format!("b{b}"));
            let key = vec![a.clone(), b.clone()];
            match op {
                // Record (through `with` or `record`): the series exists and is visible again.
                0 | 1 => {
                    if op == 0 {
                        fam.with(&[&a, &b]).add(n);
                    } else {
                        fam.record(&[&a, &b], n);
                    }
                    *model.entry(key.clone()).or_default() += n as u128;
                    // Using the values again brings a removed series back.
                    removed.remove(&key);
                }
                _ => {
                    let existed = fam.remove(&[&a, &b]);
                    prop_assert_eq!(existed, model.contains_key(&key));
                    if existed {
                        removed.insert(key);
                    }
                }
            }
        }
        let snap = e.flush();
        let got = series(&snap, "model_total", &["a", "b"]);
        let want: HashMap<Vec<String>, u128> = model
            .iter()
            .filter(|(k, _)| !removed.contains(*k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(fam.len(), model.len());
        prop_assert_eq!(fam.overflowed(), 0);
    }
}

#[test]
fn handles_are_stable_and_lookups_find_the_same_series() {
    let e = engine(1000);
    let fam = e.counter_family("stable_total", &["k"]).unwrap();
    let a = fam.with(&["x"]) as *const _;
    for i in 0..100 {
        fam.with(&[&format!("v{i}")]).increment();
    }
    assert_eq!(
        fam.with(&["x"]) as *const _,
        a,
        "growing the family moves no handle"
    );
    let owned = String::from("x");
    assert_eq!(fam.with(&[owned.as_str()]) as *const _, a);
    assert_eq!(fam.len(), 101);
}

#[test]
fn the_limit_routes_new_values_to_a_counted_overflow_series() {
    // label_set_limit 4: 3 series of the family plus the overflow series.
    let e = engine(4);
    let fam = e.counter_family("capped_total", &["id"]).unwrap();
    for i in 0..10u64 {
        fam.with(&[&i.to_string()]).add(i + 1);
    }
    // Known series keep working after the limit.
    fam.with(&["0"]).add(100);
    // Wrong arity: overflow too, counted, never a panic.
    fam.with(&["a", "b"]).add(1000);
    fam.with(&[]).add(10_000);
    assert_eq!(fam.len(), 3);
    assert_eq!(fam.overflowed(), 7 + 2);
    let snap = e.flush();
    let got = series(&snap, "capped_total", &["id"]);
    let mut want: HashMap<Vec<String>, u128> = HashMap::new();
    want.insert(vec!["0".into()], 1 + 100);
    want.insert(vec!["1".into()], 2);
    want.insert(vec!["2".into()], 3);
    want.insert(
        vec![OVERFLOW_VALUE.into()],
        (4..=10).sum::<u128>() + 1000 + 10_000,
    );
    assert_eq!(got, want);
}

#[test]
fn retain_removes_the_rejected_series_and_reuse_brings_them_back() {
    let e = engine(100);
    let fam = e.gauge_family("depth", &["queue"]).unwrap();
    for (q, v) in [("a", 1.0), ("b", 2.0), ("c", 3.0)] {
        fam.with(&[q]).set(v);
    }
    fam.retain(|values| values[0] != "b");
    let snap = e.flush();
    assert!(snap.get("depth", &[("queue", "b")]).is_none());
    assert!(snap.get("depth", &[("queue", "a")]).is_some());
    fam.with(&["b"]).add(0.5);
    let snap = e.flush();
    let b = snap.get("depth", &[("queue", "b")]).unwrap();
    assert!(matches!(&b.value, MetricValue::Gauge(g) if g.value == 2.5));
    // Registering the same series directly finds the family's series.
    e.gauge(Opts::new("depth").label("queue", "c"))
        .unwrap()
        .set(7.0);
    let snap = e.flush();
    let c = snap.get("depth", &[("queue", "c")]).unwrap();
    assert!(matches!(&c.value, MetricValue::Gauge(g) if g.value == 7.0));
}

#[test]
fn family_declaration_is_validated_like_a_registration() {
    let e = engine(100);
    assert!(e.counter_family("bad name", &["k"]).is_err());
    assert!(e.counter_family("ok_total", &["bad label"]).is_err());
    assert!(e.histogram_family("h", &["le"]).is_err());
    assert!(e.counter_family("dup_total", &["k", "k"]).is_err());
    let _ = e.gauge("taken").unwrap();
    assert!(e.counter_family("taken", &["k"]).is_err());
    assert!(
        e.counter_family("taken_total", &["k"]).is_err(),
        "collides with a gauge"
    );
    let h = e
        .histogram_family_with(
            "lat",
            &["stage"],
            tachymeter::HistogramConfig::default().schema(3),
        )
        .unwrap();
    h.with(&["parse"]).record(5);
    assert!(e
        .histogram_with(
            Opts::new("lat").label("stage", "x"),
            tachymeter::HistogramConfig::default()
        )
        .is_err());
    let ev = e.events_family("errors", &["kind"]).unwrap();
    ev.record(&["io"], 3);
    let snap = e.flush();
    assert_eq!(
        snap.get("lat", &[("stage", "parse")])
            .map(|m| matches!(&m.value, MetricValue::Histogram(h) if h.cumulative.count() == 1)),
        Some(true)
    );
    assert!(matches!(
        &snap.get("errors", &[("kind", "io")]).unwrap().value,
        MetricValue::Events(ev) if ev.total == 1 && ev.recent[0].code == 3
    ));
}

#[test]
fn concurrent_first_uses_make_one_series_each_with_exact_totals() {
    let e = engine(1000);
    let fam = e.counter_family("race_total", &["k"]).unwrap();
    let threads = 4u64;
    let per = 5_000u64;
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..threads)
            .map(|t| {
                let fam = &fam;
                s.spawn(move || {
                    for i in 0..per {
                        // Every thread walks the same 50 values, starting at different points.
                        let k = ((i + t * 13) % 50).to_string();
                        fam.with(&[&k]).increment();
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    assert_eq!(fam.len(), 50);
    let got = series(&e.flush(), "race_total", &["k"]);
    assert_eq!(got.len(), 50);
    assert_eq!(got.values().sum::<u128>(), (threads * per) as u128);
    for k in 0..50u64 {
        let expect: u64 = (0..threads)
            .map(|t| (0..per).filter(|i| (i + t * 13) % 50 == k).count() as u64)
            .sum();
        assert_eq!(got[&vec![k.to_string()]], expect as u128, "k={k}");
    }
}

#[test]
fn macros_with_runtime_label_values_use_one_family_per_call_site() {
    for route in ["/x", "/y", "/x"] {
        tachymeter::counter!("fam_macro_total", "route" => route).increment();
        tachymeter::histogram!("fam_macro_latency", "route" => route.to_string()).record(9);
    }
    let snap = tachymeter::global().flush();
    let got = series(&snap, "fam_macro_total", &["route"]);
    assert_eq!(got[&vec!["/x".to_string()]], 2);
    assert_eq!(got[&vec!["/y".to_string()]], 1);
    let y = snap.get("fam_macro_latency", &[("route", "/y")]).unwrap();
    assert!(matches!(&y.value, MetricValue::Histogram(h) if h.cumulative.count() == 1));
}
