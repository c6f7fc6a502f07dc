//! The monitors' recording budgets (issue "Monitors"), each beside a plain-engine baseline in
//! the same run, at 1 and 2 threads (per-thread ns while every thread records):
//!
//! - `inference/update_inference` ≤ 4× `engine/histogram-record`;
//! - `serialization/record_operation-cached` (through `SerializationMonitor::serializer`)
//!   ≤ 25 ns; `serialization/record_operation` (by serializer id: three label lookups) is
//!   shown for comparison;
//! - `endpoint/track` and `cache/hit` for reference.
//!
//! Filter with `cargo bench --bench monitors -- monitors/1t`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tachymeter::Engine;
use tachymeter_benches::pool::{timed, Pool, Span};
use tachymeter_monitor::{
    CacheMonitor, EndpointTracker, InferenceMetrics, Operation, SerializationMonitor,
};

/// A measured job: runs `iters` records after the barrier and returns its span.
type Job = Arc<dyn Fn(u64, &Barrier) -> Span + Send + Sync>;

fn monitors(c: &mut Criterion) {
    for threads in [1, 2] {
        let name = format!("monitors/{threads}t");
        let pool = Pool::named(threads, &name);
        let mut g = c.benchmark_group(&name);
        g.throughput(Throughput::Elements(threads as u64));
        let engine = Arc::new(Engine::new());
        let mut case = |id: &str, job: Job| {
            g.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let job = job.clone();
                    pool.run(iters, move |_, iters, bar| job(iters, bar))
                })
            });
            pool.log_stats(id);
        };

        let h = engine
            .histogram(tachymeter::Opts::new("bench_baseline").unit("seconds"))
            .expect("histogram");
        case(
            "engine/histogram-record",
            Arc::new(move |iters, bar| {
                timed(bar, || {
                    for i in 0..iters {
                        black_box(&h).record(black_box(1_000 + (i & 1023)));
                    }
                })
            }),
        );

        let inference = Arc::new(
            InferenceMetrics::builder()
                .engine(engine.clone())
                .build()
                .expect("inference"),
        );
        case(
            "inference/update_inference",
            Arc::new(move |iters, bar| {
                timed(bar, || {
                    for i in 0..iters {
                        let t = Duration::from_nanos(1_000 + (i & 1023));
                        black_box(&inference).update_inference(t, 8, t, Duration::ZERO);
                    }
                })
            }),
        );

        let ser = Arc::new(
            SerializationMonitor::builder()
                .engine(engine.clone())
                .build()
                .expect("serialization"),
        );
        let json = ser.serializer("json");
        case(
            "serialization/record_operation-cached",
            Arc::new(move |iters, bar| {
                timed(bar, || {
                    for i in 0..iters {
                        let t = Duration::from_nanos(1_000 + (i & 1023));
                        black_box(&json).record(Operation::Serialize, t, 512, true, None);
                    }
                })
            }),
        );
        case(
            "serialization/record_operation",
            Arc::new(move |iters, bar| {
                timed(bar, || {
                    for i in 0..iters {
                        let t = Duration::from_nanos(1_000 + (i & 1023));
                        black_box(&ser).record_operation(
                            black_box("json"),
                            Operation::Serialize,
                            t,
                            512,
                            true,
                            None,
                        );
                    }
                })
            }),
        );

        let api = Arc::new(
            EndpointTracker::builder()
                .engine(engine.clone())
                .build()
                .expect("tracker"),
        );
        case(
            "endpoint/track",
            Arc::new(move |iters, bar| {
                timed(bar, || {
                    for _ in 0..iters {
                        black_box(&api).track("/api/items", "GET").status(200);
                    }
                })
            }),
        );

        let cache = CacheMonitor::on(engine.clone(), "models").expect("cache");
        case(
            "cache/hit",
            Arc::new(move |iters, bar| {
                timed(bar, || {
                    for _ in 0..iters {
                        black_box(&cache).record_hit();
                    }
                })
            }),
        );
        g.finish();
    }
}

criterion_group!(benches, monitors);
criterion_main!(benches);
