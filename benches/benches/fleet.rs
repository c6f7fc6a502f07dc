//! What one process costs its collector per series: the exporter's work for one scrape
//! (Prometheus text and protobuf) and for one OTLP push (encode + protobuf serialization), over
//! a snapshot of 1,000 series (500 counters, 500 histograms with 1,000 recorded values each,
//! labelled like a service's endpoints). Divide the medians by 1,000 for the per-series cost.
//!
//! Run with `cargo bench -p tachymeter-benches --bench fleet`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message as _;
use tachymeter::{Engine, Opts};
use tachymeter_export::{encode_protobuf, encode_text, ExportConfig};
use tachymeter_otlp::{OtlpEncoder, Temporality};

const SERIES: usize = 1000;

fn snapshot() -> Arc<tachymeter::Snapshot> {
    let engine = Engine::builder().background(false).build().expect("engine");
    let requests = engine
        .counter_family(Opts::new("requests_total"), &["route"])
        .expect("family");
    let latency = engine
        .histogram_family(Opts::new("latency").unit("seconds"), &["route"])
        .expect("family");
    for i in 0..SERIES / 2 {
        let route = format!("/api/v1/resource{i}");
        requests.with(&[&route]).add(i as u64 + 1);
        let h = latency.with(&[&route]);
        for v in 0..1000u64 {
            h.record(50_000 + v * 997 % 5_000_000);
        }
    }
    engine.flush()
}

fn fleet(c: &mut Criterion) {
    let snap = snapshot();
    let config = ExportConfig::default();
    let mut g = c.benchmark_group("fleet/1000-series");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.bench_function("scrape/text", |b| {
        b.iter(|| encode_text(black_box(&snap), &config))
    });
    g.bench_function("scrape/protobuf", |b| {
        b.iter(|| encode_protobuf(black_box(&snap), &config))
    });
    g.bench_function("otlp/cumulative", |b| {
        let mut enc = OtlpEncoder::new(Temporality::Cumulative);
        b.iter(|| enc.encode(black_box(&snap)).encode_to_vec())
    });
    g.bench_function("otlp/delta", |b| {
        let mut enc = OtlpEncoder::new(Temporality::Delta);
        b.iter(|| enc.encode(black_box(&snap)).encode_to_vec())
    });
    g.finish();
    // Body sizes, for the per-series bytes (printed once).
    let text = encode_text(&snap, &config).len();
    let proto = encode_protobuf(&snap, &config).len();
    let otlp = OtlpEncoder::new(Temporality::Cumulative)
        .encode(&snap)
        .encode_to_vec()
        .len();
    eprintln!(
        "fleet: bytes per series: text {:.0}, protobuf {:.0}, otlp {:.0}",
        text as f64 / SERIES as f64,
        proto as f64 / SERIES as f64,
        otlp as f64 / SERIES as f64
    );
}

criterion_group!(benches, fleet);
criterion_main!(benches);
