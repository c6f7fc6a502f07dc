//! What one refresh of the live dashboard costs the server thread, beside a `/metrics` scrape
//! of the same engine: `WebDashboard::document()` over 1,000 series (500 counters, 500
//! histograms, 60 collections of history), computed for a new snapshot (`document/new`) and
//! answered from its per-snapshot cache (`document/cached`), then serialized to the
//! `/api/v1/dashboard` body (`document+json/new`). Divide the medians by 1,000 for the
//! per-series cost. The page asks once a second per open browser tab.
//!
//! Run with `cargo bench -p tachymeter-benches --bench dashboard`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tachymeter::{Clock, Engine, Opts};
use tachymeter_export::{encode_text, ExportConfig};
use tachymeter_report::web::WebDashboard;

const SERIES: usize = 1000;

fn engine() -> (Arc<Engine>, tachymeter::MockClock) {
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .expect("engine"),
    );
    let requests = engine
        .counter_family(Opts::new("api_requests_total"), &["route"])
        .expect("family");
    let latency = engine
        .histogram_family(Opts::new("api_latency").unit("seconds"), &["route"])
        .expect("family");
    let handles: Vec<_> = (0..SERIES / 2)
        .map(|i| {
            let route = format!("/api/v1/resource{i}");
            (requests.with(&[&route]), latency.with(&[&route]))
        })
        .collect();
    // One minute of history, one collection a second.
    for t in 0..60u64 {
        for (i, (c, h)) in handles.iter().enumerate() {
            c.add(i as u64 + 1);
            for v in 0..20u64 {
                h.record(50_000 + (v + t) * 997 % 5_000_000);
            }
        }
        mock.advance(Duration::from_secs(1));
        engine.flush();
    }
    (engine, mock)
}

fn dashboard(c: &mut Criterion) {
    let (engine, mock) = engine();
    let dash = WebDashboard::new(engine.clone());
    let config = ExportConfig::default();
    let mut g = c.benchmark_group("dashboard/1000-series");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.bench_function("scrape/text", |b| {
        b.iter(|| encode_text(black_box(&engine.snapshot()), &config))
    });
    // A new snapshot each time (collected outside the timing): the whole document is computed.
    g.bench_function("document/new", |b| {
        b.iter_batched(
            || {
                mock.advance(Duration::from_millis(1));
                engine.flush();
            },
            |()| dash.document(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("document+json/new", |b| {
        b.iter_batched(
            || {
                mock.advance(Duration::from_millis(1));
                engine.flush();
            },
            |()| serde_json::to_vec(&dash.document()).expect("serializes"),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("document/cached", |b| {
        engine.flush();
        b.iter(|| dash.document())
    });
    g.finish();
    let body = serde_json::to_vec(&dash.document())
        .expect("serializes")
        .len();
    println!("dashboard/1000-series: /api/v1/dashboard body {body} bytes");
}

criterion_group!(benches, dashboard);
criterion_main!(benches);
