//! The small, fast regression tier: tachymeter's hot paths on one thread, next to the floors.
//!
//! Run on every change (`cargo bench -p tachymeter-benches --bench regression`); the peers live
//! in the `compare` bench. Wall time on shared cores is noisy: the gate is the callgrind
//! instruction count (`scripts/callgrind.sh`); these medians are for ratios within one run.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use tachymeter::Engine;
use tachymeter_benches::data::{self, LATENCY_MASK};
use tachymeter_benches::floors::{self, PaddedSlots, SharedCounter};
use tachymeter_benches::pool::time;

fn regression(c: &mut Criterion) {
    let engine = Engine::new();
    let counter = engine.counter("reg_counter").expect("register counter");
    let gauge = engine.gauge("reg_gauge").expect("register gauge");
    let hist = engine.histogram("reg_latency").expect("register histogram");
    let scope = engine.histogram("reg_scope").expect("register histogram");
    let rec = engine.local_recorder();
    let local_counter = rec.counter(&counter);
    let local_hist = rec.histogram(&hist);
    let ns = data::latencies();

    let mut g = c.benchmark_group("regression");
    g.bench_function("tachymeter/counter", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    black_box(&counter).increment();
                }
            })
        })
    });
    g.bench_function("tachymeter/counter-local", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    black_box(&local_counter).increment();
                }
            })
        })
    });
    g.bench_function("tachymeter/histogram", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for i in 0..iters {
                    black_box(&hist).record(ns[i as usize & LATENCY_MASK]);
                }
            })
        })
    });
    g.bench_function("tachymeter/histogram-local", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for i in 0..iters {
                    black_box(&local_hist).record(ns[i as usize & LATENCY_MASK]);
                }
            })
        })
    });
    g.bench_function("tachymeter/gauge", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for i in 0..iters {
                    black_box(&gauge).set(i as f64);
                }
            })
        })
    });
    g.bench_function("tachymeter/timer", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    let _t = black_box(&scope).start_timer();
                    black_box(());
                }
            })
        })
    });

    g.bench_function("floor/tls-u64", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    floors::tls_add(1);
                }
            })
        })
    });
    let slots = PaddedSlots::new(1);
    let slot = slots.slot(0);
    g.bench_function("floor/padded-store", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    black_box(slot).add(1);
                }
            })
        })
    });
    let shared = SharedCounter::default();
    g.bench_function("floor/atomic-fetch_add", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    black_box(&shared).add(1);
                }
            })
        })
    });
    let clock = engine.clock();
    g.bench_function("floor/2x-engine-clock", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    let a = black_box(clock).raw();
                    black_box(());
                    black_box((a, black_box(clock).raw()));
                }
            })
        })
    });
    g.bench_function("floor/2x-Instant::now", |b| {
        b.iter_custom(|iters| {
            time(|| {
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(());
                    black_box(start.elapsed());
                }
            })
        })
    });
    g.finish();
}

/// A time-range query over the last 24 hours of one histogram series with a full default
/// history (7 days of 1 s collections through a mock clock: the 1-hour tier answers).
fn ranges(c: &mut Criterion) {
    use std::time::Duration;
    use tachymeter::{Clock, Range};
    let (clock, mock) = Clock::mock();
    let engine = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .expect("engine");
    let h = engine
        .histogram("range_latency")
        .expect("register histogram");
    let ns = data::latencies();
    // One collection per 10 s for 7 days (60,480 collections), 64 values each.
    for i in 0..60_480usize {
        for k in 0..64 {
            h.record(ns[(i * 64 + k) & LATENCY_MASK]);
        }
        mock.advance(Duration::from_secs(10));
        drop(engine.flush());
    }
    let mut g = c.benchmark_group("range");
    g.bench_function("tachymeter/histogram-last-24h", |b| {
        b.iter(|| black_box(h.range(Range::Last(Duration::from_secs(24 * 3600)))))
    });
    g.bench_function("tachymeter/histogram-last-10min", |b| {
        b.iter(|| black_box(h.range(Range::Last(Duration::from_secs(590)))))
    });
    g.finish();
}

criterion_group!(benches, regression, ranges);
criterion_main!(benches);
