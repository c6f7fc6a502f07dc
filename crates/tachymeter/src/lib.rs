//! tachymeter: a metrics engine for hot paths.
//!
//! Recording writes only the calling thread's own cache-padded shard with single-writer relaxed
//! stores — no lock, no locked read-modify-write, no allocation after a thread's first record
//! into a metric, no system call, no panic. A background aggregator thread merges every shard
//! (including those of threads that have exited) into an immutable [`Snapshot`] and publishes it
//! through `arc-swap`; readers load the latest snapshot without ever touching a writer's shard.
//!
//! This crate is the engine: the `sync` shim, per-thread storage (slots, shards, rings), the
//! registry, the aggregator and the snapshot. Histogram math is the leaf crate
//! [`tachymeter_histogram`] (re-exported as [`mod@histogram`]); exporters read snapshots only and
//! live in `tachymeter-export`.
//!
//! ```
//! use std::time::Duration;
//! use tachymeter::{Engine, HistogramConfig, Opts};
//!
//! let engine = Engine::builder().interval(Duration::from_millis(100)).build().unwrap();
//! let requests = engine.counter(Opts::new("requests_total").help("Requests handled.")).unwrap();
//! let latency = engine
//!     .histogram_with("request_latency_nanoseconds", HistogramConfig::default())
//!     .unwrap();
//! std::thread::scope(|s| {
//!     for t in 0..2u64 {
//!         let (requests, latency) = (&requests, &latency);
//!         s.spawn(move || {
//!             for i in 0..10_000u64 {
//!                 requests.increment();
//!                 latency.record(1_000 + (i * 7 + t) % 5_000);
//!             }
//!         });
//!     }
//! });
//! let snap = engine.flush(); // or engine.snapshot(): the latest background snapshot
//! assert_eq!(snap.counter("requests_total").unwrap().total, 20_000);
//! let h = &snap.histogram("request_latency_nanoseconds").unwrap().cumulative;
//! assert_eq!(h.count(), 20_000);
//! println!("p50 {:?} p99 {:?} max {:?}", h.p50(), h.p99(), h.max());
//! ```
//!
//! Design notes (memory layout, orderings, what loom covers) are in [`implementation`]; the
//! user guide, the guarantees and error bounds, the limitations, bad input, performance and
//! verification are in [`docs`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod aggregator;
mod clock;
mod context;
mod desc;
pub mod docs;
mod engine;
mod family;
#[cfg(any(fuzzing, test))]
pub mod fuzz;
#[cfg(not(loom))]
mod global;
pub mod history;
pub mod implementation;
mod kind;
mod local;
mod metric;
mod registry;
mod ring;
mod shard;
#[allow(unsafe_code)]
mod shard_array;
mod slots;
mod snapshot;
mod sync;
#[allow(unsafe_code)]
mod zeroed;

pub use clock::{Clock, MockClock};
pub use desc::{
    exposed_names, is_valid_label_name, is_valid_metric_name, HistogramConfig, MetricDesc, Opts,
    RegisterError, Unit,
};
pub use engine::{limits, BuildError, Engine, EngineBuilder, Health};
pub use family::{Family, FamilyRecord, FamilyValues, OVERFLOW_VALUE};
#[cfg(not(loom))]
pub use global::{__private, global};
pub use history::{GaugeRange, HistoryConfig, Range, RangeStats, Tier};
pub use kind::exports::*;
pub use local::LocalRecorder;
pub use snapshot::{MetricSnapshot, Snapshot, Stats};
pub use tachymeter_histogram as histogram;
pub use tachymeter_histogram::HistogramData;

/// Internals exposed only for the loom models in `loom-tests/` (same source, `--cfg loom`).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api {
    pub use crate::ring::{Consumer, Producer, Ring};
}
