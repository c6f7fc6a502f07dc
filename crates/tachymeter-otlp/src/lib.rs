//! OTLP export: a tachymeter engine's snapshots pushed to an OpenTelemetry collector (or any
//! OTLP/HTTP receiver) as protobuf `ExportMetricsServiceRequest`s, every interval, from a
//! background thread. Counters become monotonic sums, gauges gauges, and histograms
//! exponential histograms whose buckets are the engine's native buckets one-to-one (same scale,
//! zero bucket, offsets), with cumulative or delta temporality, resource attributes, optional
//! gzip, retry with exponential backoff and a bounded queue whose drops are counted.
//!
//! This is a bridge above the engine: it reads published snapshots (or flushes the engine when
//! asked to) and nothing in the engine knows about it. It speaks OTLP/HTTP with protobuf bodies
//! over plain `http://` only (no gRPC, no TLS, no JSON encoding). The message types are
//! hand-derived `prost` structs ([`proto`]); the mapping and its exactness are in [`encode`].
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tachymeter::{Engine, Opts};
//! use tachymeter_otlp::{OtlpExporter, Temporality};
//! # use std::io::{BufRead, BufReader, Read, Write};
//! # // A stand-in collector on loopback: accepts one request and answers 200.
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! # let endpoint = format!("http://{}", listener.local_addr().unwrap());
//! # let collector = std::thread::spawn(move || {
//! #     let (conn, _) = listener.accept().unwrap();
//! #     let mut reader = BufReader::new(&conn);
//! #     let (mut line, mut length) = (String::new(), 0);
//! #     while reader.read_line(&mut line).unwrap() > 2 {
//! #         if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
//! #             length = v.trim().parse().unwrap();
//! #         }
//! #         line.clear();
//! #     }
//! #     let mut body = vec![0; length];
//! #     reader.read_exact(&mut body).unwrap();
//! #     (&conn).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
//! #     body
//! # });
//!
//! let engine = Arc::new(Engine::builder().background(false).build().unwrap());
//! let requests = engine.counter("requests_total").unwrap();
//! let latency = engine.histogram(Opts::new("latency").unit("seconds")).unwrap();
//!
//! let exporter = OtlpExporter::builder(endpoint) // e.g. "http://127.0.0.1:4318"
//!     .interval(Duration::from_secs(10))
//!     .temporality(Temporality::Cumulative)
//!     .resource("service.name", "checkout")
//!     .gzip(false)
//!     .flush_engine(true) // the engine has no background aggregator
//!     .start(engine.clone())
//!     .unwrap();
//!
//! requests.add(3);
//! latency.record_duration(Duration::from_micros(250));
//! // Dropping the guard (or `shutdown`) exports once more, then joins the threads.
//! let stats = exporter.shutdown();
//! assert_eq!((stats.exported, stats.failed, stats.dropped), (1, 0, 0));
//! # let body = collector.join().unwrap();
//! # use prost::Message;
//! # let request = tachymeter_otlp::proto::ExportMetricsServiceRequest::decode(&body[..]).unwrap();
//! # let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
//! # assert_eq!(metrics[1].unit, "ns");
//! ```
//!
//! # The exporter
//!
//! [`OtlpExporter::builder`] takes the endpoint (`http://host:port`, to which `/v1/metrics` is
//! appended, or a full URL). [`ExporterBuilder::start`] spawns two threads:
//!
//! * the **collecting** thread wakes every interval, encodes the latest snapshot (the first
//!   one interval after start) and pushes the body into a bounded queue; when the queue is
//!   full the oldest body is dropped and counted ([`ExportStats::dropped`]);
//! * the **sending** thread `POST`s queued bodies (`Content-Type: application/x-protobuf`,
//!   `Content-Encoding: gzip` when on) and retries on 429, 502, 503, 504, connection errors
//!   and timeouts, waiting `initial_backoff · 2^k` (capped by `max_backoff`, at least the
//!   server's `Retry-After`) between at most `max_attempts` attempts. Any other status is a
//!   failure without retry, as the OTLP/HTTP spec asks.
//!
//! Sending on its own thread keeps the collection schedule steady while a receiver is slow or
//! down: the queue absorbs `queue_capacity` intervals, and beyond that the freshest data wins.
//! Dropping the guard exports once more, then the sender drains the queue, retrying until
//! `shutdown_timeout`; both threads are joined before `drop` returns. The HTTP client is a
//! small one on `std::net::TcpStream` (see [`StartError::UnsupportedScheme`] for `https`).
//!
//! # How it is tested
//!
//! `tests/otlp.rs` decodes the bodies with the Python `opentelemetry-proto` package
//! (`.ci/install-python-otlp.sh` makes `.venv-otlp`; the tests skip with a notice without it)
//! and checks names, units, counts, sums, scales and buckets, delta points tiling time (delta
//! points come from consecutive snapshots, whatever the engine's interval), and quantiles of
//! two engines' histograms merged by bucket index against an exact oracle; receivers that
//! answer 503 then 200, 400, refuse, or never answer check retries, timeouts and queue drops.
#![forbid(unsafe_code)]

pub mod encode;
mod exporter;
mod http;
pub mod proto;
mod queue;

pub use encode::{OtlpEncoder, Temporality};
pub use exporter::{ExportStats, ExporterBuilder, OtlpExporter, StartError};
