//! Memory per metric per thread and allocations on the hot path, with a counting allocator.
//!
//! For each library: the bytes allocated when a metric is registered (on the registering thread),
//! then, on a fresh thread, the bytes and allocations of that thread's first record (slot claim,
//! lazily created per-thread storage), then the allocations of the next 1,000,000 records (target:
//! zero). Only the recording thread's own allocations are counted, so a background aggregator's
//! work does not leak in. Prints a markdown table (used by `scripts/compare.sh`).
//!
//! Then (Linux) the resident memory a tachymeter histogram adds per recording thread: its bucket
//! array is committed by the OS page by page as values reach it, which a counting allocator
//! cannot see, so this part reads the process's resident size (`/proc/self/statm`) around one
//! thread recording 4,096 values into each of 256 histograms, for three value spreads.

use std::hint::black_box;
use std::sync::Arc;

use tachymeter::Engine;
use tachymeter_benches::alloc::{thread_counts, CountingAlloc, Counts};
use tachymeter_benches::data::{self, LATENCY_MASK};
use tachymeter_benches::peers;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const RECORDS: u64 = 1_000_000;

struct Row {
    case: &'static str,
    register: Counts,
    first: Counts,
    steady: Counts,
}

/// Registers on this thread, then on a fresh thread runs `first` once and `record` RECORDS times.
fn measure<T, R, F, G>(case: &'static str, register: R, first: F, record: G) -> Row
where
    T: Send + Sync,
    R: FnOnce() -> T,
    F: Fn(&T) + Send + Sync,
    G: Fn(&T, u64) + Send + Sync,
{
    let before = thread_counts();
    let metric = register();
    let register = thread_counts().since(before);
    let (first, steady) = std::thread::scope(|s| {
        s.spawn(|| {
            let c0 = thread_counts();
            first(&metric);
            let c1 = thread_counts();
            for i in 0..RECORDS {
                record(black_box(&metric), i);
            }
            (c1.since(c0), thread_counts().since(c1))
        })
        .join()
        .expect("measuring thread")
    });
    Row {
        case,
        register,
        first,
        steady,
    }
}

fn main() {
    let ns = data::latencies();
    let secs = data::latencies_secs();
    let v = |i: u64| ns[i as usize & LATENCY_MASK];
    let s = |i: u64| secs[i as usize & LATENCY_MASK];
    let engine = Arc::new(Engine::new());
    let mut rows = Vec::new();

    rows.push(measure(
        "tachymeter histogram (handle)",
        || engine.histogram("mem_h1").expect("register"),
        |h| h.record(1_000),
        |h, i| h.record(v(i)),
    ));
    rows.push(measure(
        "tachymeter histogram (LocalRecorder)",
        || engine.histogram("mem_h2").expect("register"),
        |h| {
            let rec = engine.local_recorder();
            rec.histogram(h).record(1_000);
        },
        |h, i| {
            // Re-binding per record would measure the binding; bind once per 4096 records.
            if i % 4096 == 0 {
                let rec = engine.local_recorder();
                let local = rec.histogram(h);
                for j in i..i + 4096 {
                    local.record(v(j));
                }
            }
        },
    ));
    rows.push(measure(
        "tachymeter counter (handle)",
        || engine.counter("mem_c1").expect("register"),
        |c| c.increment(),
        |c, _| c.increment(),
    ));
    rows.push(measure(
        "tachymeter timer (handle)",
        || engine.histogram("mem_h3").expect("register"),
        |h| drop(h.start_timer()),
        |h, _| drop(h.start_timer()),
    ));

    peers::metrics_recorder();
    rows.push(measure(
        "metrics + exporter histogram (handle)",
        || metrics::histogram!("mem_h"),
        |h| h.record(1_000.0),
        |h, i| h.record(v(i) as f64),
    ));
    rows.push(measure(
        "prometheus histogram (plain)",
        || peers::prometheus_histogram("mem_h"),
        |h| h.observe(1e-6),
        |h, i| h.observe(s(i)),
    ));
    rows.push(measure(
        "prometheus histogram (local)",
        || peers::prometheus_histogram("mem_h"),
        |h| {
            let l = h.local();
            l.observe(1e-6);
            l.flush();
        },
        |h, i| {
            if i % 4096 == 0 {
                let l = h.local();
                for j in i..i + 4096 {
                    l.observe(s(j));
                }
                l.flush();
            }
        },
    ));
    rows.push(measure(
        "prometheus-client histogram",
        peers::prometheus_client_histogram,
        |h| h.observe(1e-6),
        |h, i| h.observe(s(i)),
    ));
    rows.push(measure(
        "otel f64 histogram (no attrs)",
        || {
            peers::otel_meter()
                .f64_histogram("mem_h")
                .with_boundaries(data::bucket_bounds_secs())
                .build()
        },
        |h| h.record(1e-6, &[]),
        |h, i| h.record(s(i), &[]),
    ));
    rows.push(measure(
        "otel f64 histogram (2 attrs)",
        || {
            peers::otel_meter()
                .f64_histogram("mem_h2")
                .with_boundaries(data::bucket_bounds_secs())
                .build()
        },
        |h| h.record(1e-6, &peers::otel_attrs()),
        |h, i| h.record(s(i), &peers::otel_attrs()),
    ));
    rows.push(measure(
        "hdrhistogram (own, `&mut`)",
        || (),
        |()| {
            black_box(peers::hdr());
        },
        |(), _| {},
    ));

    println!("| case | bytes at registration | bytes on a thread's first record | allocations on first record | allocations per {RECORDS} records | bytes per {RECORDS} records |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.case,
            r.register.bytes,
            r.first.bytes,
            r.first.allocs,
            r.steady.allocs,
            r.steady.bytes
        );
    }
    println!();
    #[cfg(target_os = "linux")]
    resident();
    println!(
        "hdrhistogram's row is the size of one histogram (1 ns ..= 1 h, 2 significant digits); a `&mut` histogram is per thread by construction. \
         The LocalRecorder and prometheus-local rows re-bind once per 4096 records; the otel 2-attrs row builds its `KeyValue`s per call."
    );
}

/// Resident bytes of the process (Linux).
#[cfg(target_os = "linux")]
fn resident_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Resident memory per histogram per recording thread, for three spreads of values.
#[cfg(target_os = "linux")]
fn resident() {
    const HISTOGRAMS: usize = 256;
    type Spread = (&'static str, fn(u64) -> u64);
    let spreads: [Spread; 3] = [
        ("10 µs – 60 µs (one 512-position block)", |k| {
            10_000 + k * 12
        }),
        ("1 µs – 10 ms (two blocks)", |k| 1_000 + k * 2_441),
        ("1 ns – 2^63 ns (every block)", |k| 1u64 << (k % 63) | k),
    ];
    println!("| values recorded by one thread (4,096 per histogram) | resident bytes per histogram per thread |");
    println!("|---|---:|");
    for (i, (name, value)) in spreads.into_iter().enumerate() {
        let engine = Engine::builder().background(false).build().expect("engine");
        let hs: Vec<_> = (0..HISTOGRAMS)
            .map(|j| {
                engine
                    .histogram(format!("rss_{i}_{j}").as_str())
                    .expect("register")
            })
            .collect();
        let per = std::thread::scope(|s| {
            s.spawn(|| {
                // Claims the slot and warms the allocator first.
                engine
                    .histogram("rss_warm")
                    .expect("register")
                    .record(1_000);
                let before = resident_bytes();
                for h in &hs {
                    for k in 0..4096u64 {
                        h.record(value(k));
                    }
                }
                resident_bytes().saturating_sub(before) / HISTOGRAMS
            })
            .join()
            .expect("measuring thread")
        });
        println!("| {name} | {per} |");
        black_box(engine.flush());
    }
    println!();
}
