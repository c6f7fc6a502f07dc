//! [`OtlpExporter`]: two background threads — one encodes a snapshot every interval into the
//! bounded [`Queue`], one sends queued bodies with retry and backoff — and the guard that stops
//! them.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message as _;
use tachymeter::Engine;

use crate::encode::{OtlpEncoder, Temporality};
use crate::http::{self, Endpoint};
use crate::queue::Queue;

/// Why [`ExporterBuilder::start`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The endpoint is `https://`: TLS is not built in. Run a collector (or a TLS-terminating
    /// proxy) on loopback and export to it over `http://`.
    UnsupportedScheme(String),
    /// The endpoint is not `http://host[:port][/path]`; the message says what is wrong.
    InvalidEndpoint(String),
    /// The OS refused to start a thread; retry, or lower the process' thread count.
    Spawn(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::UnsupportedScheme(url) => write!(
                f,
                "{url:?}: https is not supported; export over http to a local collector"
            ),
            StartError::InvalidEndpoint(why) => write!(f, "invalid OTLP endpoint {why}"),
            StartError::Spawn(e) => write!(f, "cannot start the exporter thread: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// What the exporter has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Requests the receiver accepted (2xx).
    pub exported: u64,
    /// Requests given up on: a non-retryable status, retries exhausted, or the shutdown
    /// deadline reached.
    pub failed: u64,
    /// Requests dropped from the full queue before they were sent.
    pub dropped: u64,
    /// Attempts after the first (each one followed a 429/502/503/504, a connection error or a
    /// timeout).
    pub retries: u64,
    /// The last error (status or I/O error), if any.
    pub last_error: Option<String>,
}

/// The exporter's counters, written by its two threads and read by [`OtlpExporter::stats`].
#[derive(Default)]
struct Counters {
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        // Relaxed: independent monotonic tallies, read for reporting only; the reader needs no
        // ordering with the exported data (the join in `shutdown` orders the final values).
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, e: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }

    fn snapshot(&self) -> ExportStats {
        // Relaxed: see `bump`.
        ExportStats {
            exported: self.exported.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// Settings of an exporter; see [`OtlpExporter::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ExporterBuilder {
    endpoint: String,
    interval: Duration,
    encoder: OtlpEncoder,
    gzip: bool,
    timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    queue_capacity: usize,
    shutdown_timeout: Duration,
    flush_engine: bool,
}

impl ExporterBuilder {
    fn new(endpoint: String) -> ExporterBuilder {
        ExporterBuilder {
            endpoint,
            interval: Duration::from_secs(60),
            encoder: OtlpEncoder::new(Temporality::Cumulative),
            gzip: false,
            timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            queue_capacity: 8,
            shutdown_timeout: Duration::from_secs(5),
            flush_engine: false,
        }
    }

    /// Time between exports (default 60 s, the OpenTelemetry SDK's default; at least 1 ms).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Cumulative (default) or delta sums and histograms.
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.encoder.set_temporality(temporality);
        self
    }

    /// Sets a string resource attribute (`service.name` defaults to `unknown_service`).
    pub fn resource(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.encoder = self.encoder.resource(key, value);
        self
    }

    /// Compresses bodies with gzip (`Content-Encoding: gzip`; default off).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// Timeout of each connect, write and read (default 10 s, as the OTLP exporter spec).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Attempts per request (at least 1; default 5) and the wait before the first retry
    /// (default 500 ms), doubled after each retry up to [`max_backoff`](Self::max_backoff).
    pub fn retry(mut self, max_attempts: u32, initial_backoff: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.initial_backoff = initial_backoff;
        self
    }

    /// The longest wait between attempts (default 30 s); it also caps a `Retry-After`.
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// Requests waiting to be sent (at least 1; default 8); when full, the oldest is dropped
    /// and counted in [`ExportStats::dropped`].
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }

    /// How long stopping may spend sending what is queued, retries included (default 5 s);
    /// an attempt already in flight still runs to its [`timeout`](Self::timeout).
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }

    /// Collect a fresh snapshot (`Engine::flush`) at each export instead of reading the latest
    /// published one (default off). Use it with an engine built with `background(false)`;
    /// with a background aggregator, leave it off so the engine's interval statistics stay on
    /// the engine's own schedule (an export then lags by at most one engine interval).
    pub fn flush_engine(mut self, on: bool) -> Self {
        self.flush_engine = on;
        self
    }

    /// Starts exporting `engine`'s snapshots. The returned guard stops the exporter when
    /// dropped (or on [`OtlpExporter::shutdown`]), after one last export.
    pub fn start(self, engine: Arc<Engine>) -> Result<OtlpExporter, StartError> {
        let endpoint = Endpoint::parse(&self.endpoint)?;
        let queue = Arc::new(Queue::new(self.queue_capacity));
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = mpsc::channel::<()>();

        let sender = Sender {
            endpoint,
            gzip: self.gzip,
            timeout: self.timeout,
            max_attempts: self.max_attempts,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            queue: queue.clone(),
            counters: counters.clone(),
        };
        let send_thread = std::thread::Builder::new()
            .name("tachymeter-otlp-send".into())
            .spawn(move || sender.run())
            .map_err(StartError::Spawn)?;

        let collector = Collector {
            engine,
            encoder: self.encoder,
            gzip: self.gzip,
            interval: self.interval,
            shutdown_timeout: self.shutdown_timeout,
            flush_engine: self.flush_engine,
            queue: queue.clone(),
            counters: counters.clone(),
        };
        let collect_thread = std::thread::Builder::new()
            .name("tachymeter-otlp-collect".into())
            .spawn(move || collector.run(stopped));
        let collect_thread = match collect_thread {
            Ok(t) => t,
            Err(e) => {
                queue.close(Instant::now());
                let _ = send_thread.join();
                return Err(StartError::Spawn(e));
            }
        };
        Ok(OtlpExporter {
            stop: Some(stop),
            threads: vec![collect_thread, send_thread],
            counters,
        })
    }
}

/// A running OTLP/HTTP exporter; stops (after one last export) and joins its threads when
/// dropped.
#[must_use = "the exporter stops when this guard is dropped"]
pub struct OtlpExporter {
    /// Dropping it wakes the collecting thread for its last export.
    stop: Option<mpsc::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// Settings for an exporter to `endpoint`: `http://host:port` (requests go to
    /// `/v1/metrics`) or a full URL with its path.
    pub fn builder(endpoint: impl Into<String>) -> ExporterBuilder {
        ExporterBuilder::new(endpoint.into())
    }

    /// Counts so far.
    pub fn stats(&self) -> ExportStats {
        self.counters.snapshot()
    }

    /// Stops: exports once more, sends what is queued (retrying until the shutdown timeout),
    /// joins both threads and returns the final counts.
    pub fn shutdown(mut self) -> ExportStats {
        self.stop_and_join();
        self.stats()
    }

    fn stop_and_join(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            // A panicking exporter thread has nothing left to clean up; the stats show what
            // it did before.
            let _ = t.join();
        }
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The collecting thread's state.
struct Collector {
    engine: Arc<Engine>,
    encoder: OtlpEncoder,
    gzip: bool,
    interval: Duration,
    shutdown_timeout: Duration,
    flush_engine: bool,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
}

impl Collector {
    fn run(mut self, stopped: mpsc::Receiver<()>) {
        // Closes the queue however this thread ends: a panic in an export must not leave the
        // sender waiting forever (and the guard's `drop` with it).
        let _close = CloseOnExit {
            queue: self.queue.clone(),
            grace: self.shutdown_timeout,
        };
        let mut next = Instant::now() + self.interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match stopped.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {
                    self.export();
                    next += self.interval;
                    let now = Instant::now();
                    if next <= now {
                        // Fell behind (a slow flush, a suspended process): skip missed ticks.
                        next = now + self.interval;
                    }
                }
                // The guard dropped its sender (`Ok` is never sent).
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.export();
    }

    fn export(&mut self) {
        let snapshot = if self.flush_engine {
            self.engine.flush()
        } else {
            self.engine.snapshot()
        };
        let body = self.encoder.encode(&snapshot).encode_to_vec();
        let body = if self.gzip { gzip(&body) } else { body };
        if self.queue.push(body) {
            Counters::bump(&self.counters.dropped);
        }
    }
}

/// Closes the queue, with the shutdown deadline, when the collecting thread ends.
struct CloseOnExit {
    queue: Arc<Queue>,
    grace: Duration,
}

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.queue.close(Instant::now() + self.grace);
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    out.write_all(body).expect("Vec<u8> grows on demand");
    out.finish().expect("Vec<u8> grows on demand")
}

/// The sending thread's state.
struct Sender {
    endpoint: Endpoint,
    gzip: bool,
    timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
}

impl Sender {
    fn run(self) {
        while let Some(body) = self.queue.pop() {
            self.send(&body);
        }
    }

    /// One request, retried with exponential backoff on 429, 502, 503, 504 (the statuses the
    /// OTLP/HTTP spec calls retryable; other 4xx/5xx mean the body would be refused again) and
    /// on connection errors and timeouts.
    fn send(&self, body: &[u8]) {
        let mut backoff = self.initial_backoff;
        for attempt in 1..=self.max_attempts {
            if self.queue.expired() {
                break;
            }
            if attempt > 1 {
                Counters::bump(&self.counters.retries);
            }
            let retry_after = match http::post(&self.endpoint, body, self.gzip, self.timeout) {
                Ok(r) if (200..300).contains(&r.status) => {
                    Counters::bump(&self.counters.exported);
                    return;
                }
                Ok(r) if matches!(r.status, 429 | 502 | 503 | 504) => {
                    self.counters.error(format!("HTTP {}", r.status));
                    r.retry_after
                }
                Ok(r) => {
                    self.counters
                        .error(format!("HTTP {} (not retried)", r.status));
                    break;
                }
                Err(e) => {
                    self.counters.error(e.to_string());
                    None
                }
            };
            if attempt == self.max_attempts {
                break;
            }
            let wait = backoff
                .max(retry_after.unwrap_or_default())
                .min(self.max_backoff);
            backoff = backoff.saturating_mul(2).min(self.max_backoff);
            if !self.queue.backoff(Instant::now() + wait) {
                break;
            }
        }
        Counters::bump(&self.counters.failed);
    }
}
