//! Fuzz bodies (built only with `cfg(fuzzing)` or in tests). `fuzz/` holds thin cargo-fuzz
//! wrappers around these; the unit tests below replay the checked-in corpus on stable.
//!
//! Each body decodes arbitrary bytes into operations, runs them, and checks the result against
//! a trivially correct model; any mismatch or panic is a finding.
#![deny(unsafe_code)]

use crate::ring::Ring;
use crate::{Engine, MetricKind, MetricValue, Opts, RegisterError};
use std::collections::{HashMap, VecDeque};
use tachymeter_histogram::{relative_error_bound, HistogramData, Layout};

/// A little-endian byte cursor that yields zeros when the input runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, i| acc | (self.u8() as u64) << (8 * i))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A value spread over the whole u64 range by magnitude: a byte picks the bit width.
    fn value(&mut self) -> u64 {
        let bits = self.u8() % 65;
        let v = self.u64();
        if bits == 64 {
            v
        } else {
            v & ((1u64 << bits) - 1)
        }
    }
}

fn record(layout: &Layout, values: &[u64]) -> HistogramData {
    HistogramData::from_values(layout, values)
}

/// Histogram index / quantile / merge invariants for arbitrary values, schemas and ranges.
pub fn histogram(data: &[u8]) {
    let mut b = Bytes(data);
    let schema_a = (b.u8() % 13) as i8 - 4;
    let schema_b = (b.u8() % 13) as i8 - 4;
    let lo = b.value().max(1);
    let hi = b.value().max(lo);
    let Ok(ranged) = Layout::new(schema_a, lo, hi) else {
        unreachable!("valid schema and range were rejected")
    };
    let la = Layout::new(schema_a, 1, u64::MAX).unwrap();
    let lb = Layout::new(schema_b, 1, u64::MAX).unwrap();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut i = 0;
    while !b.is_empty() && i < 512 {
        let v = b.value();
        // Index: the bucket's bounds contain the value (exact below 2^53).
        if v > 0 && v < 1 << 53 {
            let (l, h) = tachymeter_histogram::bucket_bounds(schema_a, la.index(v));
            assert!(
                l < v as f64 && v as f64 <= h,
                "v={v} schema={schema_a} ({l}, {h}]"
            );
        }
        // Ranged layouts saturate into an edge position exactly when out of range.
        let (pos, sat) = ranged.position(v);
        assert!(pos < ranged.dense_len());
        assert_eq!(sat, v != 0 && (v < lo || v > hi));
        if i % 2 == 0 {
            xs.push(v)
        } else {
            ys.push(v)
        }
        i += 1;
    }
    if xs.is_empty() {
        return;
    }
    let hx = record(&la, &xs);
    let mut sorted = xs.clone();
    sorted.sort_unstable();
    let bound = relative_error_bound(schema_a);
    for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
        let est = hx.quantile(q).unwrap();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let exact = sorted[rank - 1] as f64;
        assert!(
            (est - exact).abs() <= bound * exact * (1.0 + 1e-12),
            "q{q}: {est} vs {exact}"
        );
    }
    assert_eq!(
        hx.count(),
        hx.zero_count() + hx.buckets().map(|b| b.1).sum::<u64>()
    );
    // Merge equals recording the union at the coarser schema.
    let mut m = hx.clone();
    m.merge(&record(&lb, &ys));
    let union: Vec<u64> = xs.iter().chain(&ys).copied().collect();
    let lu = Layout::new(schema_a.min(schema_b), 1, u64::MAX).unwrap();
    assert_eq!(m, record(&lu, &union));
}

/// Ring operation sequences against a `VecDeque` model (single-threaded: nothing is torn, so
/// exactly the overwritten samples are lost).
pub fn ring(data: &[u8]) {
    let mut b = Bytes(data);
    let ring = Ring::new((b.u8() % 33) as usize);
    let cap = ring.capacity();
    let mut model: VecDeque<u64> = VecDeque::new();
    let (mut model_lost, mut pos) = (0u64, 0u64);
    while !b.is_empty() {
        let op = b.u8();
        if op < 200 {
            let v = b.u64();
            ring.producer().push(v);
            model.push_back(v);
            if model.len() > cap {
                model.pop_front();
                model_lost += 1;
            }
        } else {
            let mut out = Vec::new();
            let lost = ring.consumer().read_since(&mut pos, &mut out);
            assert_eq!(out, model.drain(..).collect::<Vec<_>>());
            assert_eq!(lost, model_lost);
            model_lost = 0;
        }
    }
}

/// Registry operations with arbitrary names and labels against a `HashMap` model: the same
/// name and labels give the same metric, a kind change is an error, the label-set cap holds,
/// invalid names are errors, and nothing panics.
pub fn registry(data: &[u8]) {
    const LIMIT: usize = 3;
    let mut b = Bytes(data);
    let e = Engine::builder()
        .background(false)
        .label_set_limit(LIMIT)
        .max_threads(2)
        .build()
        .unwrap();
    // Short names from a small alphabet so collisions happen; some invalid characters, and the
    // suffixes that exposed names add, so that exposed-name collisions happen too.
    let alphabet = [
        "a", "b", "_", ":", "9", "-", "_total", "_count", "_sum", "_bucket",
    ];
    let name = |b: &mut Bytes| -> String {
        let n = b.u8() % 4;
        (0..n)
            .map(|_| alphabet[(b.u8() as usize) % alphabet.len()])
            .collect()
    };
    // The exposed-name model, written from the Prometheus conventions (no units here):
    // counters `base`, `base_total`, `base_created` where `base` drops one `_total`;
    // gauges `name`; histograms `name` plus `_bucket`, `_sum`, `_count`, `_created`.
    let exposed = |metric: &str, kind: MetricKind| -> Vec<String> {
        let (base, suffixes): (&str, &[&str]) = match kind {
            MetricKind::Counter => (
                match metric.strip_suffix("_total") {
                    Some(s) if !s.is_empty() => s,
                    _ => metric,
                },
                &["", "_total", "_created"],
            ),
            MetricKind::Gauge => (metric, &[""]),
            _ => (metric, &["", "_bucket", "_sum", "_count", "_created"]),
        };
        suffixes.iter().map(|s| format!("{base}{s}")).collect()
    };
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut kinds: HashMap<String, MetricKind> = HashMap::new();
    let mut sets: HashMap<String, usize> = HashMap::new();
    let mut counts: HashMap<(String, Vec<(String, String)>), u64> = HashMap::new();
    let mut ops = 0;
    while !b.is_empty() && ops < 64 {
        ops += 1;
        let kind = [
            MetricKind::Counter,
            MetricKind::Gauge,
            MetricKind::Histogram,
        ][(b.u8() % 3) as usize];
        let metric = name(&mut b);
        let mut labels: Vec<(String, String)> = (0..b.u8() % 3)
            .map(|_| {
                (
                    name(&mut b),
                    String::from_utf8_lossy(&[b.u8(), b.u8()]).into_owned(),
                )
            })
            .collect();
        let mut opts = Opts::new(metric.clone());
        for (k, v) in &labels {
            opts = opts.label(k.clone(), v.clone());
        }
        labels.sort();
        let valid_name = crate::is_valid_metric_name(&metric);
        let valid_labels = labels.iter().all(|(k, _)| crate::is_valid_label_name(k))
            && labels.windows(2).all(|w| w[0].0 != w[1].0)
            && !(kind == MetricKind::Histogram && labels.iter().any(|(k, _)| k == "le"));
        let key = (metric.clone(), labels.clone());
        let result: Result<(), RegisterError> = match kind {
            MetricKind::Counter => e.counter(opts).map(|c| c.add(1)),
            MetricKind::Gauge => e.gauge(opts).map(|g| g.add(1.0)),
            _ => e.histogram(opts).map(|h| h.record(1)),
        };
        let collides = !kinds.contains_key(&metric)
            && exposed(&metric, kind)
                .iter()
                .any(|n| owners.get(n).is_some_and(|o| *o != metric));
        let expect_ok = valid_name
            && valid_labels
            && kinds.get(&metric).is_none_or(|k| *k == kind)
            && !collides
            && (counts.contains_key(&key) || sets.get(&metric).copied().unwrap_or(0) < LIMIT);
        assert_eq!(
            result.is_ok(),
            expect_ok,
            "{metric:?} {labels:?} {kind}: {result:?}"
        );
        if let Err(err) = &result {
            assert!(!err.to_string().is_empty());
        } else {
            kinds.insert(metric.clone(), kind);
            for n in exposed(&metric, kind) {
                owners.insert(n, metric.clone());
            }
            if !counts.contains_key(&key) {
                *sets.entry(metric.clone()).or_default() += 1;
            }
            *counts.entry(key).or_default() += 1;
        }
    }
    let snap = e.flush();
    assert_eq!(snap.metrics().len(), counts.len());
    for ((n, l), c) in counts {
        let l: Vec<(&str, &str)> = l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let m = snap
            .get(&n, &l)
            .expect("registered metric is in the snapshot");
        // Only counters, gauges and histograms are registered above.
        let recorded = match &m.value {
            MetricValue::Counter(x) => Some(x.total as u64),
            MetricValue::Gauge(x) => Some(x.value as u64),
            MetricValue::Histogram(x) => Some(x.cumulative.count()),
            _ => None,
        };
        assert_eq!(
            recorded,
            Some(c),
            "{n} {l:?}: each registration recorded once"
        );
    }
}

#[cfg(test)]
mod tests {
    /// Replays `fuzz/corpus/<target>/*` (checked in) through the bodies on stable.
    fn replay(target: &str, body: fn(&[u8])) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut n = 0;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries {
                // A running fuzzer may delete inputs it has reduced: skip what vanished.
                let Ok(data) = std::fs::read(entry.unwrap().path()) else {
                    continue;
                };
                body(&data);
                n += 1;
            }
        }
        assert!(n > 0, "no corpus in {}", dir.display());
        println!("replayed {n} inputs for {target}");
    }

    #[test]
    fn replay_histogram_corpus() {
        replay("histogram", super::histogram);
    }
    #[test]
    fn replay_ring_corpus() {
        replay("ring", super::ring);
    }
    #[test]
    fn replay_registry_corpus() {
        replay("registry", super::registry);
    }

    #[test]
    fn bodies_accept_any_small_input() {
        for len in 0..64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            super::histogram(&data);
            super::ring(&data);
            super::registry(&data);
        }
    }
}
