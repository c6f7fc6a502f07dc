//! The `tracing` layer's cost per span (issue "Bridges"): one span created, entered, exited
//! and closed, in one run, 1 thread:
//!
//! - `registry/plain`: `tracing_subscriber::registry()` alone (the baseline);
//! - `layer/timed`: the registry with a `TachymeterLayer` timing the span (one label field);
//! - `layer/untimed`: the same subscriber, a span the layer does not select;
//! - `noop-filtered/selected`: the registry with a layer that does nothing behind a per-layer
//!   filter selecting the span: what tracing-subscriber's per-layer filtering and span
//!   callbacks cost before the layer does any work.
//!
//! Callsite interest is shared by every live dispatcher, so the plain registry is dropped
//! before the layered cases run: alone in the process, the layered subscriber disables the
//! untimed callsite (see the crate docs of `tachymeter-tracing`).
//!
//! `cargo bench -p tachymeter-benches --bench tracing -- --warm-up-time 1 --measurement-time 3`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tachymeter::Engine;
use tachymeter_tracing::TachymeterLayer;
use tracing_subscriber::layer::{Layer, SubscriberExt};

fn spans(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracing/1t");
    g.throughput(Throughput::Elements(1));

    let plain = tracing::Dispatch::new(tracing_subscriber::registry());
    g.bench_function("registry/plain", |b| {
        tracing::dispatcher::with_default(&plain, || {
            b.iter(|| {
                let span = tracing::info_span!(target: "app", "request", route = "/api");
                drop(span.enter());
            })
        })
    });
    drop(plain);

    let engine = Arc::new(Engine::new());
    let layer = TachymeterLayer::builder(engine)
        .target("app")
        .label_fields(["route"])
        .build()
        .expect("layer");
    let layered = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    g.bench_function("layer/timed", |b| {
        tracing::dispatcher::with_default(&layered, || {
            b.iter(|| {
                let span = tracing::info_span!(target: "app", "request", route = "/api");
                drop(span.enter());
            })
        })
    });
    g.bench_function("layer/untimed", |b| {
        tracing::dispatcher::with_default(&layered, || {
            b.iter(|| {
                let span = tracing::info_span!(target: "lib", "request", route = "/api");
                drop(span.enter());
            })
        })
    });
    drop(layered);

    let noop = Noop.with_filter(tracing_subscriber::filter::filter_fn(|m| {
        m.target() == "app"
    }));
    let noop = tracing::Dispatch::new(tracing_subscriber::registry().with(noop));
    g.bench_function("noop-filtered/selected", |b| {
        tracing::dispatcher::with_default(&noop, || {
            b.iter(|| {
                let span = tracing::info_span!(target: "app", "request", route = "/api");
                drop(span.enter());
            })
        })
    });
    g.finish();
}

/// A layer that does nothing (every callback is the trait's default).
struct Noop;

impl<S: tracing::Subscriber> Layer<S> for Noop {}

criterion_group!(benches, spans);
criterion_main!(benches);
