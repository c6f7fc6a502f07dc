//! Shared harness for tachymeter's overhead benchmarks.
//!
//! This crate sits on top of the workspace and nothing depends on it: it puts `tachymeter` side
//! by side with the peer metrics crates (metrics + metrics-exporter-prometheus, prometheus,
//! prometheus-client, opentelemetry_sdk, hdrhistogram) and with the hardware floors, in the same
//! criterion group and the same run. It does not measure exporters or scrape formats.
//!
//! The library holds what both benches and the two helper binaries share:
//! [`data`] (deterministic log-normal latencies), [`floors`] (the cheapest possible recording
//! paths), [`pool`] (persistent worker threads + barrier for `iter_custom`), [`cpu`] (per-thread
//! CPU time), [`peers`] (one-time set-up of the peers' global state) and [`alloc`] (a per-thread
//! counting allocator).
//!
//! ```
//! use tachymeter_benches::{data, pool::Pool};
//! let values = data::latencies();
//! assert_eq!(values.len(), data::LATENCIES);
//! let pool = Pool::new(2);
//! let per_thread = pool.run(1000, |_tid, iters, barrier| {
//!     tachymeter_benches::pool::timed(barrier, || {
//!         for i in 0..iters {
//!             std::hint::black_box(i);
//!         }
//!     })
//! });
//! assert!(per_thread.as_nanos() > 0);
//! assert!(pool.take_stats().is_some());
//! ```

pub mod alloc;
pub mod cpu;
pub mod data;
pub mod floors;
pub mod peers;
pub mod pool;
