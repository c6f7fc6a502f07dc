//! The heavy peer comparison (run on demand, e.g. through `scripts/compare.sh`).
//!
//! One criterion group per scenario, tachymeter, the peers and the floors side by side in the
//! same run (STYLE.md §20). Multi-threaded cases run on a persistent [`Pool`]: every worker meets
//! the others at a barrier and times itself; the reported time per iteration is the slowest
//! worker's elapsed time divided by `iters`, i.e. the per-thread ns/op while all threads record
//! into the same metric, and each group's throughput (`Elements(threads)`) is the aggregate ops/s.
//!
//! Groups: `counter/{1,2}t`, `labelled/{1,2}t`, `histogram/{1,2}t`, `timer/{1,2}t`,
//! `operations/{1,2}t`, `read/reader`, `read/writer`, `flush/counters`, `flush/histograms`, `flush/activity`. Filter with `cargo bench --bench compare -- counter/`.

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};
use tachymeter::Engine;
use tachymeter_benches::data::{self, LATENCY_MASK};
use tachymeter_benches::floors::{self, PaddedSlots, SharedCounter};
use tachymeter_benches::peers;
use tachymeter_benches::pool::{timed, Background, Pool, Span};

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// One multi-threaded case: every call runs `job` on every worker of `pool`.
fn case<F>(g: &mut Group<'_>, pool: &Pool, id: &str, job: F)
where
    F: Fn(usize, u64, &Barrier) -> Span + Send + Sync + Clone + 'static,
{
    g.bench_function(id, |b| b.iter_custom(|iters| pool.run(iters, job.clone())));
    pool.log_stats(id);
}

fn group<'a>(c: &'a mut Criterion, name: &str, threads: usize) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(threads as u64));
    g
}

// ------------------------------------------------ 1b. labelled counter: lookup + increment

fn labelled(c: &mut Criterion) {
    for threads in [1, 2] {
        labelled_group(c, threads);
    }
}

/// A 2-label series found by its label values and incremented, every iteration (the values
/// vary over 4 series so that the lookup is real); the unlabelled handle is the baseline.
fn labelled_group(c: &mut Criterion, threads: usize) {
    let name = format!("labelled/{threads}t");
    let pool = Pool::named(threads, &name);
    let mut g = group(c, &name, threads);
    const ROUTES: [&str; 4] = ["/api/users", "/api/orders", "/health", "/metrics"];

    let engine = Arc::new(Engine::new());
    let fam = engine
        .counter_family("bench_labelled_total", &["route", "method"])
        .expect("register family");
    {
        let ctr = engine.counter("bench_unlabelled_total").expect("counter");
        case(
            &mut g,
            &pool,
            "tachymeter/handle-no-labels",
            move |_, iters, bar| {
                timed(bar, || {
                    for _ in 0..iters {
                        black_box(&ctr).increment();
                    }
                })
            },
        );
    }
    case(&mut g, &pool, "tachymeter/family", move |_, iters, bar| {
        timed(bar, || {
            for i in 0..iters {
                let route = black_box(ROUTES[i as usize & 3]);
                black_box(&fam).with(&[route, "GET"]).increment();
            }
        })
    });
    case(&mut g, &pool, "tachymeter/macro", move |_, iters, bar| {
        timed(bar, || {
            for i in 0..iters {
                let route = black_box(ROUTES[i as usize & 3]);
                tachymeter::counter!("bench_macro_total", "route" => route, "method" => "GET")
                    .increment();
            }
        })
    });
    peers::metrics_recorder();
    case(&mut g, &pool, "metrics/macro", move |_, iters, bar| {
        timed(bar, || {
            for i in 0..iters {
                let route = black_box(ROUTES[i as usize & 3]);
                metrics::counter!("bench_labelled", "route" => route, "method" => "GET")
                    .increment(1);
            }
        })
    });
    // The same macro through tachymeter's `metrics` recorder (the bridge), in the same run.
    let bridge = tachymeter_metrics::TachymeterRecorder::new(engine.clone());
    case(
        &mut g,
        &pool,
        "metrics-bridge/macro",
        move |_, iters, bar| {
            metrics::with_local_recorder(&bridge, || {
                timed(bar, || {
                    for i in 0..iters {
                        let route = black_box(ROUTES[i as usize & 3]);
                        metrics::counter!("bench_bridge_labelled", "route" => route, "method" => "GET")
                            .increment(1);
                    }
                })
            })
        },
    );
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_labelled", "bench"),
        &["route", "method"],
    )
    .expect("prometheus vec");
    case(&mut g, &pool, "prometheus/vec", move |_, iters, bar| {
        timed(bar, || {
            for i in 0..iters {
                let route = black_box(ROUTES[i as usize & 3]);
                vec.with_label_values(&[route, "GET"]).inc();
            }
        })
    });
    let otel = peers::otel_meter().u64_counter("bench_labelled").build();
    case(&mut g, &pool, "otel/2-attrs", move |_, iters, bar| {
        let attrs: Vec<[opentelemetry::KeyValue; 2]> = ROUTES
            .iter()
            .map(|r| {
                [
                    opentelemetry::KeyValue::new("route", *r),
                    opentelemetry::KeyValue::new("method", "GET"),
                ]
            })
            .collect();
        timed(bar, || {
            for i in 0..iters {
                black_box(&otel).add(1, &attrs[i as usize & 3]);
            }
        })
    });
    g.finish();
}

// ------------------------------------------- 1c. operation tracker: start + end by id

fn operations(c: &mut Criterion) {
    for threads in [1, 2] {
        operation_group(c, threads);
    }
}

/// `OperationTracker::start` + `end` of an id-only operation (the names vary over 4 series so
/// that the lookup is real), against its parts: a plain histogram record (the budget's
/// baseline) and the 3-label histogram-family lookup + record it contains.
fn operation_group(c: &mut Criterion, threads: usize) {
    use tachymeter_monitor::{OperationKind, OperationTracker};
    let name = format!("operations/{threads}t");
    let pool = Pool::named(threads, &name);
    let mut g = group(c, &name, threads);
    const NAMES: [&str; 4] = ["model.bin", "tokenizer.json", "config.json", "vocab.txt"];
    let ns = data::latencies();

    let engine = Arc::new(Engine::new());
    {
        let hist = engine.histogram("bench_op_plain").expect("histogram");
        let ns = Arc::clone(&ns);
        case(&mut g, &pool, "histogram/record", move |_, iters, bar| {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&hist).record(ns[i as usize & LATENCY_MASK]);
                }
            })
        });
    }
    {
        let fam = engine
            .histogram_family("bench_op_family", &["instance", "kind", "name"])
            .expect("family");
        let ns = Arc::clone(&ns);
        case(
            &mut g,
            &pool,
            "histogram/family-record",
            move |_, iters, bar| {
                timed(bar, || {
                    for i in 0..iters {
                        let name = black_box(NAMES[i as usize & 3]);
                        black_box(&fam)
                            .with(&["0", "download_operation", name])
                            .record(ns[i as usize & LATENCY_MASK]);
                    }
                })
            },
        );
    }
    let tracker = Arc::new(
        OperationTracker::builder()
            .engine(Arc::clone(&engine))
            .build()
            .expect("tracker"),
    );
    case(&mut g, &pool, "tracker/start-end", move |_, iters, bar| {
        timed(bar, || {
            for i in 0..iters {
                let name = black_box(NAMES[i as usize & 3]);
                let id = black_box(&tracker).start(OperationKind::Download, name, None);
                tracker.end(black_box(id), true, None, None);
            }
        })
    });
    g.finish();
}

// ---------------------------------------------------------------- 1. counter increment

fn counters(c: &mut Criterion) {
    for threads in [1, 2] {
        counter_group(c, threads);
    }
}

fn counter_group(c: &mut Criterion, threads: usize) {
    let name = format!("counter/{threads}t");
    let pool = Pool::named(threads, &name);
    let mut g = group(c, &name, threads);

    let engine = Arc::new(Engine::new());
    let ctr = engine.counter("bench_counter").expect("register counter");
    {
        let ctr = ctr.clone();
        case(&mut g, &pool, "tachymeter/handle", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    black_box(&ctr).increment();
                }
            })
        });
    }
    {
        let (engine, ctr) = (Arc::clone(&engine), ctr.clone());
        case(&mut g, &pool, "tachymeter/local", move |_, iters, bar| {
            let rec = engine.local_recorder();
            let local = rec.counter(&ctr);
            timed(bar, || {
                for _ in 0..iters {
                    black_box(&local).increment();
                }
            })
        });
    }

    peers::metrics_recorder();
    case(&mut g, &pool, "metrics/macro", |_, iters, bar| {
        timed(bar, || {
            for _ in 0..iters {
                metrics::counter!("bench_counter").increment(1);
            }
        })
    });
    {
        let handle = metrics::counter!("bench_counter");
        case(&mut g, &pool, "metrics/handle", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    black_box(&handle).increment(1);
                }
            })
        });
    }
    {
        // The `metrics` macro and handle through tachymeter's recorder (the bridge).
        let bridge_engine = Arc::new(Engine::new());
        let bridge = tachymeter_metrics::TachymeterRecorder::new(bridge_engine);
        let handle = metrics::with_local_recorder(&bridge, || metrics::counter!("bench_counter"));
        case(
            &mut g,
            &pool,
            "metrics-bridge/macro",
            move |_, iters, bar| {
                metrics::with_local_recorder(&bridge, || {
                    timed(bar, || {
                        for _ in 0..iters {
                            metrics::counter!("bench_counter").increment(1);
                        }
                    })
                })
            },
        );
        case(
            &mut g,
            &pool,
            "metrics-bridge/handle",
            move |_, iters, bar| {
                timed(bar, || {
                    for _ in 0..iters {
                        black_box(&handle).increment(1);
                    }
                })
            },
        );
    }

    let prom = prometheus::IntCounter::new("bench_counter", "bench").expect("prometheus counter");
    {
        let prom = prom.clone();
        case(&mut g, &pool, "prometheus/plain", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    black_box(&prom).inc();
                }
            })
        });
    }
    case(&mut g, &pool, "prometheus/local", move |_, iters, bar| {
        let local = prom.local();
        timed(bar, || {
            for _ in 0..iters {
                black_box(&local).inc();
            }
            local.flush();
        })
    });

    let pc = prometheus_client::metrics::counter::Counter::<u64>::default();
    case(&mut g, &pool, "prometheus-client", move |_, iters, bar| {
        timed(bar, || {
            for _ in 0..iters {
                black_box(&pc).inc();
            }
        })
    });

    let otel = peers::otel_meter().u64_counter("bench_counter").build();
    {
        let otel = otel.clone();
        case(&mut g, &pool, "otel/no-attrs", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    black_box(&otel).add(1, &[]);
                }
            })
        });
    }
    case(&mut g, &pool, "otel/2-attrs", move |_, iters, bar| {
        let attrs = peers::otel_attrs();
        timed(bar, || {
            for _ in 0..iters {
                black_box(&otel).add(1, &attrs);
            }
        })
    });

    floor_cases(&mut g, &pool, threads, |_| 1);
    g.finish();
}

/// The three floors; `value(i)` is what the i-th operation adds.
fn floor_cases<V>(g: &mut Group<'_>, pool: &Pool, threads: usize, value: V)
where
    V: Fn(u64) -> u64 + Send + Sync + Clone + 'static,
{
    {
        let value = value.clone();
        case(g, pool, "floor/tls-u64", move |_, iters, bar| {
            timed(bar, || {
                for i in 0..iters {
                    floors::tls_add(value(i));
                }
            })
        });
    }
    {
        let value = value.clone();
        let slots = Arc::new(PaddedSlots::new(threads));
        case(g, pool, "floor/padded-store", move |tid, iters, bar| {
            let slot = slots.slot(tid);
            timed(bar, || {
                for i in 0..iters {
                    black_box(slot).add(value(i));
                }
            })
        });
    }
    let shared = Arc::new(SharedCounter::default());
    case(g, pool, "floor/atomic-fetch_add", move |_, iters, bar| {
        timed(bar, || {
            for i in 0..iters {
                black_box(&*shared).add(value(i));
            }
        })
    });
}

// ---------------------------------------------------------------- 2. histogram record

fn histograms(c: &mut Criterion) {
    for threads in [1, 2] {
        histogram_group(c, threads);
    }
}

fn histogram_group(c: &mut Criterion, threads: usize) {
    let name = format!("histogram/{threads}t");
    let pool = Pool::named(threads, &name);
    let mut g = group(c, &name, threads);
    let ns = data::latencies();
    let secs = data::latencies_secs();

    let engine = Arc::new(Engine::new());
    let hist = engine
        .histogram("bench_latency")
        .expect("register histogram");
    {
        let (hist, ns) = (hist.clone(), Arc::clone(&ns));
        case(&mut g, &pool, "tachymeter/handle", move |_, iters, bar| {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&hist).record(ns[i as usize & LATENCY_MASK]);
                }
            })
        });
    }
    {
        let (engine, hist, ns) = (Arc::clone(&engine), hist.clone(), Arc::clone(&ns));
        case(&mut g, &pool, "tachymeter/local", move |_, iters, bar| {
            let rec = engine.local_recorder();
            let local = rec.histogram(&hist);
            timed(bar, || {
                for i in 0..iters {
                    black_box(&local).record(ns[i as usize & LATENCY_MASK]);
                }
            })
        });
    }

    // metrics-exporter-prometheus keeps raw samples until upkeep: drain after every batch,
    // outside the timed region (tachymeter's aggregation also runs off the recording thread).
    peers::metrics_recorder();
    {
        let ns = Arc::clone(&ns);
        let job = move |_: usize, iters: u64, bar: &Barrier| -> Span {
            timed(bar, || {
                for i in 0..iters {
                    metrics::histogram!("bench_latency")
                        .record(ns[i as usize & LATENCY_MASK] as f64);
                }
            })
        };
        g.bench_function("metrics/macro", |b| {
            b.iter_custom(|iters| {
                let d = pool.run(iters, job.clone());
                peers::metrics_upkeep();
                d
            })
        });
        pool.log_stats("metrics/macro");
    }
    {
        let (handle, ns) = (metrics::histogram!("bench_latency"), Arc::clone(&ns));
        let job = move |_: usize, iters: u64, bar: &Barrier| -> Span {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&handle).record(ns[i as usize & LATENCY_MASK] as f64);
                }
            })
        };
        g.bench_function("metrics/handle", |b| {
            b.iter_custom(|iters| {
                let d = pool.run(iters, job.clone());
                peers::metrics_upkeep();
                d
            })
        });
        pool.log_stats("metrics/handle");
    }

    let prom = peers::prometheus_histogram("bench_latency");
    {
        let (prom, secs) = (prom.clone(), Arc::clone(&secs));
        case(&mut g, &pool, "prometheus/plain", move |_, iters, bar| {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&prom).observe(secs[i as usize & LATENCY_MASK]);
                }
            })
        });
    }
    {
        let secs = Arc::clone(&secs);
        case(&mut g, &pool, "prometheus/local", move |_, iters, bar| {
            let local = prom.local();
            timed(bar, || {
                for i in 0..iters {
                    black_box(&local).observe(secs[i as usize & LATENCY_MASK]);
                }
                local.flush();
            })
        });
    }
    {
        let (pc, secs) = (peers::prometheus_client_histogram(), Arc::clone(&secs));
        case(&mut g, &pool, "prometheus-client", move |_, iters, bar| {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&pc).observe(secs[i as usize & LATENCY_MASK]);
                }
            })
        });
    }
    let otel = peers::otel_meter()
        .f64_histogram("bench_latency")
        .with_boundaries(data::bucket_bounds_secs())
        .build();
    {
        let (otel, secs) = (otel.clone(), Arc::clone(&secs));
        case(&mut g, &pool, "otel/no-attrs", move |_, iters, bar| {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&otel).record(secs[i as usize & LATENCY_MASK], &[]);
                }
            })
        });
    }
    {
        let secs = Arc::clone(&secs);
        case(&mut g, &pool, "otel/2-attrs", move |_, iters, bar| {
            let attrs = peers::otel_attrs();
            timed(bar, || {
                for i in 0..iters {
                    black_box(&otel).record(secs[i as usize & LATENCY_MASK], &attrs);
                }
            })
        });
    }
    {
        let ns = Arc::clone(&ns);
        // `&mut` histogram: with 2 threads each has its own (it cannot be shared).
        case(&mut g, &pool, "hdrhistogram/&mut", move |_, iters, bar| {
            let mut h = peers::hdr();
            timed(bar, || {
                for i in 0..iters {
                    black_box(&mut h).saturating_record(ns[i as usize & LATENCY_MASK]);
                }
            })
        });
    }
    {
        // sync: one `SyncHistogram`, one `Recorder` per thread per batch (made untimed).
        let ns = Arc::clone(&ns);
        let mut sync = peers::hdr().into_sync();
        g.bench_function("hdrhistogram/sync-recorder", |b| {
            b.iter_custom(|iters| {
                let recorders =
                    Mutex::new((0..threads).map(|_| sync.recorder()).collect::<Vec<_>>());
                let ns = Arc::clone(&ns);
                let d = pool.run(iters, move |_, iters, bar| {
                    let mut r = recorders
                        .lock()
                        .expect("not poisoned")
                        .pop()
                        .expect("one per thread");
                    timed(bar, || {
                        for i in 0..iters {
                            black_box(&mut r).saturating_record(ns[i as usize & LATENCY_MASK]);
                        }
                    })
                });
                sync.refresh();
                d
            })
        });
        pool.log_stats("hdrhistogram/sync-recorder");
    }
    {
        let ns = Arc::clone(&ns);
        case(
            &mut g,
            &pool,
            "floor/log-bucket-array",
            move |_, iters, bar| {
                let mut buckets = [0u64; 65];
                let d = timed(bar, || {
                    for i in 0..iters {
                        black_box(&mut buckets)
                            [floors::log_bucket(ns[i as usize & LATENCY_MASK])] += 1;
                    }
                });
                black_box(buckets);
                d
            },
        );
    }
    floor_cases(&mut g, &pool, threads, move |i| {
        ns[i as usize & LATENCY_MASK]
    });
    g.finish();
}

// ---------------------------------------------------------------- 3. timed scope

fn timers(c: &mut Criterion) {
    for threads in [1, 2] {
        timer_group(c, threads);
    }
}

fn timer_group(c: &mut Criterion, threads: usize) {
    let name = format!("timer/{threads}t");
    let pool = Pool::named(threads, &name);
    let mut g = group(c, &name, threads);

    let engine = Arc::new(Engine::new());
    let hist = engine.histogram("bench_scope").expect("register histogram");
    {
        let hist = hist.clone();
        case(&mut g, &pool, "tachymeter/handle", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    let _t = black_box(&hist).start_timer();
                    black_box(());
                }
            })
        });
    }
    {
        let (engine, hist) = (Arc::clone(&engine), hist.clone());
        case(&mut g, &pool, "tachymeter/local", move |_, iters, bar| {
            let rec = engine.local_recorder();
            let local = rec.histogram(&hist);
            // `LocalHistogram` has no `start_timer` guard (API gap): its idiom is `time(f)`.
            timed(bar, || {
                for _ in 0..iters {
                    black_box(&local).time(|| black_box(()));
                }
            })
        });
    }

    peers::metrics_recorder();
    {
        let handle = metrics::histogram!("bench_scope");
        let job = move |_: usize, iters: u64, bar: &Barrier| -> Span {
            timed(bar, || {
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(());
                    black_box(&handle).record(start.elapsed());
                }
            })
        };
        g.bench_function("metrics/handle", |b| {
            b.iter_custom(|iters| {
                let d = pool.run(iters, job.clone());
                peers::metrics_upkeep();
                d
            })
        });
        pool.log_stats("metrics/handle");
    }
    {
        let prom = peers::prometheus_histogram("bench_scope");
        case(&mut g, &pool, "prometheus/plain", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    let _t = black_box(&prom).start_timer();
                    black_box(());
                }
            })
        });
    }
    {
        let pc = peers::prometheus_client_histogram();
        case(&mut g, &pool, "prometheus-client", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(());
                    black_box(&pc).observe(start.elapsed().as_secs_f64());
                }
            })
        });
    }
    {
        let otel = peers::otel_meter()
            .f64_histogram("bench_scope")
            .with_boundaries(data::bucket_bounds_secs())
            .build();
        case(&mut g, &pool, "otel/no-attrs", move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(());
                    black_box(&otel).record(start.elapsed().as_secs_f64(), &[]);
                }
            })
        });
    }
    case(&mut g, &pool, "hdrhistogram/&mut", move |_, iters, bar| {
        let mut h = peers::hdr();
        timed(bar, || {
            for _ in 0..iters {
                let start = Instant::now();
                black_box(());
                black_box(&mut h).saturating_record(start.elapsed().as_nanos() as u64);
            }
        })
    });

    // Floors: the two clock reads alone.
    {
        let engine = Arc::clone(&engine);
        case(
            &mut g,
            &pool,
            "floor/2x-engine-clock",
            move |_, iters, bar| {
                let clock = engine.clock();
                timed(bar, || {
                    for _ in 0..iters {
                        let a = black_box(clock).raw();
                        black_box(());
                        let b = black_box(clock).raw();
                        black_box((a, b));
                    }
                })
            },
        );
    }
    case(
        &mut g,
        &pool,
        "floor/2x-Instant::now",
        move |_, iters, bar| {
            timed(bar, || {
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(());
                    black_box(start.elapsed());
                }
            })
        },
    );
    g.finish();
}

// ---------------------------------------------------------------- 4. read p99 + count while recording

fn reads(c: &mut Criterion) {
    let ns = data::latencies();
    let secs = data::latencies_secs();

    // Reader cost, with one writer recording in the background.
    let mut g = c.benchmark_group("read/reader");
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(100))
            .build()
            .expect("engine"),
    );
    let hist = engine.histogram("bench_read").expect("register histogram");
    hist.record(1_000);
    engine.flush();
    {
        let (hist, ns) = (hist.clone(), Arc::clone(&ns));
        let mut i = 0usize;
        let _writer = Background::spawn("tachymeter-writer", move || {
            for _ in 0..1024 {
                hist.record(ns[i & LATENCY_MASK]);
                i += 1;
            }
        });
        // Breakdown of the reader's cost: the snapshot load alone, plus the by-name lookup and
        // `count` (no quantile), the full target row, and the same with the metric's index
        // resolved once (`Snapshot::position`, stable across snapshots).
        g.bench_function("tachymeter/snapshot-load", |b| b.iter(|| engine.snapshot()));
        g.bench_function("tachymeter/snapshot+lookup+count", |b| {
            b.iter(|| {
                let snap = engine.snapshot();
                snap.histogram("bench_read")
                    .expect("registered")
                    .cumulative
                    .count()
            })
        });
        g.bench_function("tachymeter/snapshot+p99+count", |b| {
            b.iter(|| {
                let snap = engine.snapshot();
                let h = snap.histogram("bench_read").expect("registered");
                (h.cumulative.p99(), h.cumulative.count())
            })
        });
        let index = engine
            .snapshot()
            .position("bench_read", &[])
            .expect("registered");
        g.bench_function("tachymeter/snapshot+cached-index+p99+count", |b| {
            b.iter(|| {
                let snap = engine.snapshot();
                match &snap.metrics()[index].value {
                    tachymeter::MetricValue::Histogram(h) => {
                        (h.cumulative.p99(), h.cumulative.count())
                    }
                    _ => unreachable!("registered as a histogram"),
                }
            })
        });
    }
    {
        let mut sync = peers::hdr().into_sync();
        let mut recorder = sync.recorder();
        let ns = Arc::clone(&ns);
        let mut i = 0usize;
        let writer = Background::spawn("hdr-writer", move || {
            for _ in 0..1024 {
                recorder.saturating_record(ns[i & LATENCY_MASK]);
                i += 1;
            }
        });
        g.bench_function("hdrhistogram/sync-refresh+p99+count", |b| {
            b.iter(|| {
                sync.refresh_timeout(Duration::ZERO);
                (sync.value_at_quantile(0.99), sync.len())
            })
        });
        drop(writer);
    }
    {
        let prom = peers::prometheus_histogram("bench_read");
        let (writer_prom, secs) = (prom.clone(), Arc::clone(&secs));
        let mut i = 0usize;
        let _writer = Background::spawn("prometheus-writer", move || {
            for _ in 0..1024 {
                writer_prom.observe(secs[i & LATENCY_MASK]);
                i += 1;
            }
        });
        g.bench_function("prometheus/collect+p99+count", |b| {
            b.iter(|| prometheus_p99_count(&prom))
        });
    }
    {
        let handle = metrics::histogram!("bench_read");
        let ns = Arc::clone(&ns);
        let mut i = 0usize;
        let _writer = Background::spawn("metrics-writer", move || {
            for _ in 0..1024 {
                handle.record(ns[i & LATENCY_MASK] as f64);
                i += 1;
            }
        });
        let recorder = peers::metrics_recorder();
        // The exporter's only read path renders the whole exposition text (with quantiles).
        g.bench_function("metrics-exporter/render", |b| {
            b.iter(|| recorder.render().len())
        });
    }
    g.finish();

    // Writer slowdown: the same writer with and without a reader polling.
    let pool = Pool::named(1, "read/writer");
    let mut g = group(c, "read/writer", 1);
    let job = {
        let (hist, ns) = (hist.clone(), Arc::clone(&ns));
        move |_: usize, iters: u64, bar: &Barrier| {
            timed(bar, || {
                for i in 0..iters {
                    black_box(&hist).record(ns[i as usize & LATENCY_MASK]);
                }
            })
        }
    };
    case(&mut g, &pool, "tachymeter/alone", job.clone());
    {
        let engine = Arc::clone(&engine);
        let reader = Background::spawn("tachymeter-reader", move || {
            let snap = engine.snapshot();
            let h = snap.histogram("bench_read").expect("registered");
            black_box((h.cumulative.p99(), h.cumulative.count()));
        });
        case(&mut g, &pool, "tachymeter/with-reader", job);
        let polls = reader.stop();
        eprintln!("read/writer: the reader polled {polls} times");
    }
    g.finish();
}

/// p99 (upper bound of the bucket holding the 99th percentile) and count, the way a prometheus
/// (tikv) user reads them: through `collect()`.
fn prometheus_p99_count(h: &prometheus::Histogram) -> (f64, u64) {
    use prometheus::core::Collector;
    let families = h.collect();
    let m = families[0].get_metric()[0].get_histogram();
    let count = m.get_sample_count();
    let rank = (count as f64 * 0.99).ceil() as u64;
    let p99 = m
        .get_bucket()
        .iter()
        .find(|b| b.cumulative_count() >= rank)
        .map_or(f64::INFINITY, |b| b.upper_bound());
    (p99, count)
}

// ---------------------------------------------------------------- 5. aggregator merge cost

fn flushes(c: &mut Criterion) {
    for kind in ["counters", "histograms"] {
        let mut g = c.benchmark_group(format!("flush/{kind}"));
        g.sampling_mode(SamplingMode::Flat);
        for shards in [1usize, 4, 16] {
            for metrics in [10usize, 100, 1000] {
                flush_case(&mut g, kind, shards, metrics);
            }
        }
        g.finish();
    }
}

/// `shards` populated thread slots (the bench thread's own plus `shards - 1` parked workers that
/// recorded once into every metric) × `metrics` metrics; each iteration dirties the bench
/// thread's shard (one record per metric, ~1 ns each, included) and calls `engine.flush()`.
fn flush_case(g: &mut Group<'_>, kind: &str, shards: usize, metrics: usize) {
    let engine = Engine::builder()
        .background(false)
        .max_threads(64)
        .build()
        .expect("engine");
    let ns = data::latencies();
    let id = BenchmarkId::new("tachymeter", format!("{shards}x{metrics}"));
    let workers = (shards > 1).then(|| Pool::new(shards - 1));
    let rec = engine.local_recorder();
    if kind == "counters" {
        let handles: Vec<_> = (0..metrics)
            .map(|j| engine.counter(format!("c{j}").as_str()).expect("register"))
            .collect();
        if let Some(pool) = &workers {
            let handles = handles.clone();
            pool.run(1, move |_, _, bar| {
                timed(bar, || {
                    handles.iter().for_each(tachymeter::Counter::increment)
                })
            });
        }
        let locals: Vec<_> = handles.iter().map(|h| rec.counter(h)).collect();
        g.bench_function(id, |b| {
            b.iter(|| {
                locals.iter().for_each(|l| l.increment());
                engine.flush()
            })
        });
    } else {
        let handles: Vec<_> = (0..metrics)
            .map(|j| {
                engine
                    .histogram(format!("h{j}").as_str())
                    .expect("register")
            })
            .collect();
        if let Some(pool) = &workers {
            let (handles, ns) = (handles.clone(), Arc::clone(&ns));
            pool.run(1, move |_, _, bar| {
                timed(bar, || {
                    handles
                        .iter()
                        .enumerate()
                        .for_each(|(j, h)| h.record(ns[j & LATENCY_MASK]))
                })
            });
        }
        let locals: Vec<_> = handles.iter().map(|h| rec.histogram(h)).collect();
        let mut round = 0usize;
        g.bench_function(id, |b| {
            b.iter(|| {
                round += 1;
                locals
                    .iter()
                    .enumerate()
                    .for_each(|(j, l)| l.record(ns[(round + j) & LATENCY_MASK]));
                engine.flush()
            })
        });
    }
    // Keep the workers (and their claimed slots) alive until the case is measured.
    drop(workers);
}

/// Aggregation proportional to activity (issue 13): 16 recording threads × 1,000 histograms.
///
/// * `idle/16x1000-10active`: every thread recorded 64 realistic latencies into every
///   histogram once (so every shard holds data); each iteration the bench thread records into
///   10 of them, then `flush()` (target ≤ 1 ms per flush).
/// * `steady/16x1000`: before each flush (untimed) each of the 16 threads records one value into
///   every histogram, so every shard changed; the time of the `flush()` alone is reported. At a
///   1 s interval, the aggregator's share of one core is this time / 1 s (target ≤ 1%).
fn activity(c: &mut Criterion) {
    const THREADS: usize = 16;
    const METRICS: usize = 1000;
    let mut g = c.benchmark_group("flush/activity");
    g.sampling_mode(SamplingMode::Flat);
    let ns = data::latencies();
    let fill = |engine: &Engine, pool: &Pool, handles: &Arc<Vec<tachymeter::Histogram>>| {
        let (handles, ns) = (Arc::clone(handles), Arc::clone(&ns));
        pool.run(1, move |tid, _, bar| {
            timed(bar, || {
                for (j, h) in handles.iter().enumerate() {
                    for k in 0..64 {
                        h.record(ns[(tid * 997 + j * 61 + k * 64) & LATENCY_MASK]);
                    }
                }
            })
        });
        engine.flush();
    };
    {
        let engine = Engine::builder()
            .background(false)
            .max_threads(64)
            .build()
            .expect("engine");
        let handles: Arc<Vec<_>> = Arc::new(
            (0..METRICS)
                .map(|j| {
                    engine
                        .histogram(format!("a{j}").as_str())
                        .expect("register")
                })
                .collect(),
        );
        let workers = Pool::new(THREADS - 1);
        fill(&engine, &workers, &handles);
        let rec = engine.local_recorder();
        let locals: Vec<_> = handles.iter().map(|h| rec.histogram(h)).collect();
        for (j, l) in locals.iter().enumerate() {
            for k in 0..64 {
                l.record(ns[(j * 61 + k * 64) & LATENCY_MASK]);
            }
        }
        engine.flush();
        let mut round = 0usize;
        g.bench_function("idle/16x1000-10active", |b| {
            b.iter(|| {
                round += 1;
                for (j, l) in locals.iter().take(10).enumerate() {
                    l.record(ns[(round + j) & LATENCY_MASK]);
                }
                engine.flush()
            })
        });
        drop(workers);
    }
    {
        let engine = Engine::builder()
            .background(false)
            .max_threads(64)
            .build()
            .expect("engine");
        let handles: Arc<Vec<_>> = Arc::new(
            (0..METRICS)
                .map(|j| {
                    engine
                        .histogram(format!("s{j}").as_str())
                        .expect("register")
                })
                .collect(),
        );
        let workers = Pool::new(THREADS);
        fill(&engine, &workers, &handles);
        let round = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        g.bench_function("steady/16x1000", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let r = round.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (handles, ns) = (Arc::clone(&handles), Arc::clone(&ns));
                    workers.run(1, move |tid, _, bar| {
                        timed(bar, || {
                            for (j, h) in handles.iter().enumerate() {
                                h.record(ns[(r * 31 + tid * 997 + j) & LATENCY_MASK]);
                            }
                        })
                    });
                    let start = Instant::now();
                    black_box(engine.flush());
                    total += start.elapsed();
                }
                total
            })
        });
        drop(workers);
    }
    g.finish();
}

criterion_group!(
    benches, counters, labelled, operations, histograms, timers, reads, flushes, activity
);
criterion_main!(benches);
