//! Exporters for tachymeter: they turn an immutable [`tachymeter::Snapshot`] into Prometheus
//! text 0.0.4, OpenMetrics 1.0 text, Prometheus protobuf (with native histograms), JSON and
//! CSV, and (feature `http`, on by default) serve them on a small `/metrics` HTTP endpoint.
//! This layer only *reads* published snapshots: it never touches shards, so encoding or a slow
//! scraper cannot delay a recording thread. It sits above the engine crate `tachymeter` and
//! below applications such as the `tachymeter` CLI; nothing in the engine depends on it.
//!
//! Histograms are exposed two ways. The protobuf format carries the engine's native buckets
//! unchanged (same schema, zero bucket, spans and deltas). The text formats need classic
//! cumulative `le` buckets: by default one per power of two, derived from the native buckets
//! and exact, configurable per histogram with [`ClassicBuckets`].
//!
//! ```
//! use tachymeter::{Engine, Opts};
//! use tachymeter_export::{encode_openmetrics, encode_text, ExportConfig};
//!
//! let engine = Engine::builder().background(false).build().unwrap();
//! let requests = engine.counter(Opts::new("requests").help("Requests served.")).unwrap();
//! let latency = engine
//!     .histogram(Opts::new("latency").unit("seconds").label("stage", "parse"))
//!     .unwrap();
//! requests.add(3);
//! for v in [0.000_000_9, 0.000_001, 0.000_003] {
//!     latency.record_f64(v); // stored as 900, 1000 and 3000 nanoseconds
//! }
//! let snapshot = engine.flush();
//! let config = ExportConfig::default();
//!
//! let text = encode_text(&snapshot, &config);
//! assert!(text.contains("# TYPE requests_total counter\nrequests_total 3\n"));
//! // Time is exported in seconds. 900 and 1000 ns are <= 1024 ns = 2^10 ns: exact, because
//! // 2^10 is also a native boundary.
//! assert!(text.contains("latency_seconds_bucket{stage=\"parse\",le=\"1.024e-6\"} 2\n"));
//! assert!(text.contains("latency_seconds_bucket{stage=\"parse\",le=\"+Inf\"} 3\n"));
//! assert!(text.contains("latency_seconds_sum{stage=\"parse\"} 4.9e-6\n"));
//!
//! let om = encode_openmetrics(&snapshot, &config);
//! assert!(om.contains("# UNIT latency_seconds seconds\n"));
//! assert!(om.ends_with("# EOF\n"));
//! ```
//!
//! The guide to the endpoint, its limits and the formats is [`docs::guide`]; the cost per
//! series at fleet scale is in [`docs::fleet`].
//!
//! Serving (see [`MetricsServer`]; layers above add their own paths through [`Routes`], as the
//! web dashboard of `tachymeter-report` does):
//!
//! ```no_run
//! use std::sync::Arc;
//! use tachymeter::Engine;
//! use tachymeter_export::{MetricsServer, ServerConfig};
//!
//! let engine = Arc::new(Engine::new());
//! let source = engine.clone();
//! let server = MetricsServer::start(ServerConfig::default(), move || source.snapshot()).unwrap();
//! println!("scrape http://{}/metrics", server.local_addr());
//! // ... record ...
//! server.shutdown();
//! ```
#![forbid(unsafe_code)]

pub mod docs;
mod family;
#[cfg(any(fuzzing, test))]
pub mod fuzz;
#[cfg(feature = "http")]
mod http;
mod json;
mod negotiate;
pub mod proto;
mod routes;
mod table;
#[cfg(test)]
mod tests;
mod text;

pub use family::{ClassicBuckets, ExportConfig};
#[cfg(feature = "http")]
pub use http::{MetricsServer, ServerConfig, ServerStats, DEFAULT_ADDR};
pub use json::{
    encode_json, write_json, CounterDoc, EventsDoc, HistogramDoc, HistogramStats, KindDoc,
    MetricDoc, RecordsDoc, SnapshotDoc,
};
pub use negotiate::ScrapeFormat;
pub use proto::{encode_protobuf, PROTOBUF_CONTENT_TYPE};
pub use routes::{RouteError, RouteRequest, RouteResponse, Routes};
pub use table::{csv_rows, encode_csv, write_csv, CsvRow};
pub use text::{encode_openmetrics, encode_text, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
