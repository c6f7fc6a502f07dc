//! Runs N records through one hot path, for callgrind (`scripts/callgrind.sh`).
//!
//! Usage: `hotpath PATH [N]` with PATH one of `counter`, `counter-local`, `histogram`,
//! `histogram-local`, `histogram-f64`, `gauge`, `timer`, `floor-padded-store`. Each path is a separate
//! `#[inline(never)]` function named `bench_<path>` (dashes become underscores) so that
//! `valgrind --tool=callgrind --toggle-collect='hotpath::bench_<path>'` counts exactly the N
//! records and nothing else: engine set-up, registration and the first (cold, slot-claiming)
//! record happen before, outside the function. The engine runs without its background thread so
//! the aggregator does not add instructions.

use std::hint::black_box;

use tachymeter::{Counter, Engine, Gauge, Histogram, LocalCounter, LocalHistogram};
use tachymeter_benches::data::{self, LATENCIES, LATENCY_MASK};
use tachymeter_benches::floors::{PaddedSlot, PaddedSlots};

#[inline(never)]
fn bench_counter(c: &Counter, n: u64) {
    for _ in 0..n {
        black_box(c).increment();
    }
}

#[inline(never)]
fn bench_counter_local(c: &LocalCounter<'_>, n: u64) {
    for _ in 0..n {
        black_box(c).increment();
    }
}

#[inline(never)]
fn bench_histogram(h: &Histogram, values: &[u64; LATENCIES], n: u64) {
    for i in 0..n {
        black_box(h).record(values[i as usize & LATENCY_MASK]);
    }
}

#[inline(never)]
fn bench_histogram_local(h: &LocalHistogram<'_>, values: &[u64; LATENCIES], n: u64) {
    for i in 0..n {
        black_box(h).record(values[i as usize & LATENCY_MASK]);
    }
}

/// The same latencies as `bench_histogram`, given as float seconds to a `seconds` histogram.
#[inline(never)]
fn bench_histogram_f64(h: &Histogram, values: &[f64; LATENCIES], n: u64) {
    for i in 0..n {
        black_box(h).record_f64(values[i as usize & LATENCY_MASK]);
    }
}

#[inline(never)]
fn bench_gauge(g: &Gauge, n: u64) {
    for i in 0..n {
        black_box(g).set(i as f64);
    }
}

#[inline(never)]
fn bench_timer(h: &Histogram, n: u64) {
    for _ in 0..n {
        let _t = black_box(h).start_timer();
        black_box(());
    }
}

#[inline(never)]
fn bench_floor_padded_store(slot: PaddedSlot<'_>, n: u64) {
    for _ in 0..n {
        black_box(slot).add(1);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| usage());
    let n: u64 = args
        .next()
        .map_or(100_000, |s| s.parse().unwrap_or_else(|_| usage()));

    let engine = Engine::builder().background(false).build().expect("engine");
    let counter = engine.counter("hot_counter").expect("register");
    let gauge = engine.gauge("hot_gauge").expect("register");
    let hist = engine.histogram("hot_latency").expect("register");
    let hist_s = engine
        .histogram(tachymeter::Opts::new("hot_step").unit("seconds"))
        .expect("register");
    let values = data::latencies();
    let seconds: [f64; LATENCIES] = std::array::from_fn(|i| values[i] as f64 * 1e-9);
    let rec = engine.local_recorder();
    let slots = PaddedSlots::new(1);

    match path.as_str() {
        "counter" => {
            counter.increment(); // cold: claims this thread's slot
            bench_counter(&counter, n);
        }
        "counter-local" => {
            let local = rec.counter(&counter);
            local.increment();
            bench_counter_local(&local, n);
        }
        "histogram" => {
            hist.record(1);
            bench_histogram(&hist, &values, n);
        }
        "histogram-local" => {
            let local = rec.histogram(&hist);
            local.record(1);
            bench_histogram_local(&local, &values, n);
        }
        "histogram-f64" => {
            hist_s.record(1);
            bench_histogram_f64(&hist_s, &seconds, n);
        }
        "gauge" => {
            gauge.set(0.0);
            bench_gauge(&gauge, n);
        }
        "timer" => {
            hist.record(1);
            bench_timer(&hist, n);
        }
        "floor-padded-store" => bench_floor_padded_store(slots.slot(0), n),
        _ => usage(),
    }
    // Keep the results observable.
    black_box(engine.flush());
}

fn usage() -> ! {
    eprintln!(
        "usage: hotpath (counter|counter-local|histogram|histogram-local|histogram-f64|gauge|timer|floor-padded-store) [N]"
    );
    std::process::exit(2)
}
