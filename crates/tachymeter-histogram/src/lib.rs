//! Pure histogram math for tachymeter: the leaf of the workspace.
//!
//! This crate maps values to log-linear buckets whose boundaries are exactly the boundaries of
//! Prometheus native histograms (and OTLP exponential histograms) at a given schema, and holds
//! merged, sparse [`HistogramData`] with exact count/sum and quantiles within a documented
//! relative error. It has no concurrency and no I/O: the per-thread recording shards of the
//! `tachymeter` engine sit above it and use [`Layout`] on their hot path; exporters read
//! [`HistogramData`] from snapshots.
//!
//! ```
//! use tachymeter_histogram::{HistogramData, Layout};
//!
//! let layout = Layout::new(6, 1, u64::MAX).unwrap();
//! let mut dense = vec![0u64; layout.dense_len()];
//! for v in 1..=1000u64 {
//!     dense[layout.position(v).0] += 1;
//! }
//! let h = HistogramData::from_dense(&layout, &dense, (1..=1000u128).sum(), Some(1), Some(1000));
//! let p99 = h.p99().unwrap();
//! assert!((p99 - 990.0).abs() <= 990.0 * HistogramData::relative_error_bound(6));
//! ```
#![forbid(unsafe_code)]

mod data;
mod layout;

pub use data::{DataError, HistogramData};
pub use layout::{
    bucket_bounds, relative_error_bound, upper_bound, Layout, LayoutError, DEFAULT_SCHEMA,
    MAX_SCHEMA, MIN_SCHEMA,
};
