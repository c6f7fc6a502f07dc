//! The demo's hot loop: one "request" = preprocessing (cached), inference (small matrix
//! multiplies, optionally int8-quantized) and serialization (serde_json encode + decode of a
//! record of varying size). Instrumentation goes through [`Probe`], so the same loop runs with
//! real recording ([`Live`]) or none at all ([`Noop`]) to measure the overhead. A [`Fault`]
//! set on a [`Worker`] injects the demo's fault phase (an error burst, then slow requests).

use std::hint::black_box;

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tachymeter::{
    Clock, Counter, Engine, Gauge, Histogram, LocalCounter, LocalHistogram, LocalRecorder, Opts,
    RegisterError,
};
use tachymeter_monitor::{
    InferenceMetrics, Operation, Profiler, SerializationMonitor, SerializerRecorder,
};

/// Input features per row.
const FEATURES: usize = 64;
/// Hidden width.
const HIDDEN: usize = 64;
/// Output classes.
const CLASSES: usize = 16;
/// Direct-mapped preprocessing cache slots per worker.
const CACHE_SLOTS: usize = 256;
/// A request slower than this counts as a `deadline` error.
pub const DEADLINE_NS: u64 = 2_000_000;

/// Share of records corrupted in transit during [`Fault::Errors`]: 1 in this many (normally 1
/// in 200).
pub const FAULT_CORRUPT_ONE_IN: u64 = 4;
/// Share of requests stalled during [`Fault::Slow`]: 1 in this many.
pub const FAULT_SLOW_ONE_IN: u64 = 5;
/// How long a stalled request sleeps in its inference stage (a slow downstream): far above the
/// demo's latency threshold, which is far above a debug build's p99 on a loaded machine
/// (about 30 ms measured here at a load of 5 on 2 cores).
pub const FAULT_STALL: Duration = Duration::from_millis(150);

/// A fault a [`Worker`] injects into its requests (the demo's fault phase).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// Normal operation.
    #[default]
    None,
    /// Error burst: 1 in [`FAULT_CORRUPT_ONE_IN`] encoded records is corrupted (a `decode`
    /// error) instead of 1 in 200.
    Errors,
    /// Slow requests: 1 in [`FAULT_SLOW_ONE_IN`] requests stalls for [`FAULT_STALL`] in its
    /// inference stage.
    Slow,
}

impl Fault {
    /// The fault stored as `fault as u8` (an unknown value is no fault).
    pub fn from_u8(v: u8) -> Fault {
        match v {
            1 => Fault::Errors,
            2 => Fault::Slow,
            _ => Fault::None,
        }
    }
}

/// Pipeline stages with their own latency histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Normalization (on cache misses) and batch assembly.
    Preprocess,
    /// Matrix multiplies.
    Inference,
    /// serde_json encode + decode.
    Serialize,
}

impl Stage {
    /// All stages, in pipeline order.
    pub const ALL: [Stage; 3] = [Stage::Preprocess, Stage::Inference, Stage::Serialize];

    /// Label value.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preprocess => "preprocess",
            Stage::Inference => "inference",
            Stage::Serialize => "serialize",
        }
    }
}

/// Error kinds, recorded by the inference monitor as `inference_errors_total{kind}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request had an empty batch (injected, ~0.2%).
    InvalidInput,
    /// The encoded record was corrupted in transit and failed to decode (injected, ~0.5%).
    Decode,
    /// The request took longer than [`DEADLINE_NS`].
    Deadline,
}

impl ErrorKind {
    /// All kinds.
    pub const ALL: [ErrorKind; 3] = [
        ErrorKind::InvalidInput,
        ErrorKind::Decode,
        ErrorKind::Deadline,
    ];

    /// Label value.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Decode => "decode",
            ErrorKind::Deadline => "deadline",
        }
    }
}

/// The monitors' `instance` label for everything the demo records.
pub const INSTANCE: &str = "demo";

/// What the demo records: the seeds' monitors, plus the few figures no monitor covers.
pub struct Metrics {
    /// The seeds' inference monitor: inference and total time, batch sizes, preprocessing
    /// time, errors by kind, cache lookups (one per row).
    pub inference: InferenceMetrics,
    /// The serialization monitor: encode time, record sizes, decode failures.
    pub serialization: SerializationMonitor,
    /// The `json` serializer's series, resolved once.
    json: SerializerRecorder,
    /// The profiler: wall time and rows per pipeline stage.
    pub profiler: Profiler,
    /// End-to-end request latency (no monitor covers a whole request).
    pub request: Histogram,
    /// Requests served, invalid ones included: the denominator of the error-rate alert (a
    /// counter ratio needs two counters; the latency histogram's count is not one).
    pub requests: Counter,
    /// Requests that took the quantized path.
    pub quantized: Counter,
    /// Measured instrumentation overhead, as a ratio of the uninstrumented request time.
    pub overhead_ratio: Gauge,
    /// Measured instrumentation overhead per request (nanoseconds, exported in seconds).
    pub overhead_per_request: Gauge,
    /// Worker threads.
    pub threads: Gauge,
}

impl Metrics {
    /// Builds the monitors on `engine` (instance [`INSTANCE`]) and registers the rest, with
    /// the default configuration.
    pub fn register(engine: &Arc<Engine>) -> Result<Metrics, RegisterError> {
        Self::register_with(
            engine,
            tachymeter_monitor::config::Config::default()
                .monitors
                .max_history,
        )
    }

    /// `register` with the inference monitor's window of `window_size`
    /// measurements (the configuration's `monitors.max_history`).
    pub fn register_with(
        engine: &Arc<Engine>,
        window_size: usize,
    ) -> Result<Metrics, RegisterError> {
        let inference = InferenceMetrics::builder()
            .engine(engine.clone())
            .instance(INSTANCE)
            .window_size(window_size)
            .build()?;
        let serialization = SerializationMonitor::builder()
            .engine(engine.clone())
            .instance(INSTANCE)
            .build()?;
        let json = serialization.serializer("json");
        Ok(Metrics {
            inference,
            serialization,
            json,
            profiler: Profiler::on_instance(engine.clone(), INSTANCE)?,
            request: engine.histogram(
                Opts::new("demo_request_latency")
                    .unit("seconds")
                    .help("End-to-end request latency."),
            )?,
            requests: engine.counter(
                Opts::new("demo_requests_total").help("Requests served, invalid ones included."),
            )?,
            quantized: engine.counter(
                Opts::new("demo_quantized_total").help("Requests run through the int8 path."),
            )?,
            overhead_ratio: engine.gauge(
                Opts::new("demo_instrumentation_overhead")
                    .unit("ratio")
                    .help("Measured instrumentation overhead, share of request time."),
            )?,
            overhead_per_request: engine.gauge(
                Opts::new("demo_instrumentation_overhead_per_request")
                    .unit("nanoseconds")
                    .help("Measured instrumentation overhead per request."),
            )?,
            threads: engine.gauge(Opts::new("demo_threads").help("Worker threads."))?,
        })
    }
}

/// Instrumentation hooks of the hot loop.
pub trait Probe {
    /// Start of a timed section (`None` when not timing).
    /// A start time in engine-clock ticks (`None`: not timing).
    fn start(&self) -> Option<u64>;
    /// A stage finished.
    fn stage(&self, stage: Stage, started: Option<u64>);
    /// A request finished; returns its latency in ns when timed.
    fn request(&self, started: Option<u64>) -> Option<u64>;
    /// A request began with `batch` rows.
    fn begin(&self, batch: u64);
    /// Cache outcome of one row.
    fn cache(&self, hit: bool);
    /// The quantized path was taken.
    fn quantized(&self);
    /// An encoded record of `bytes`.
    fn encoded(&self, bytes: u64);
    /// An error.
    fn error(&self, kind: ErrorKind);
}

/// No instrumentation at all (the baseline for the overhead measurement).
pub struct Noop;

impl Probe for Noop {
    #[inline]
    fn start(&self) -> Option<u64> {
        None
    }
    #[inline]
    fn stage(&self, _: Stage, _: Option<u64>) {}
    #[inline]
    fn request(&self, _: Option<u64>) -> Option<u64> {
        None
    }
    #[inline]
    fn begin(&self, _: u64) {}
    #[inline]
    fn cache(&self, _: bool) {}
    #[inline]
    fn quantized(&self) {}
    #[inline]
    fn encoded(&self, _: u64) {}
    #[inline]
    fn error(&self, _: ErrorKind) {}
}

/// One request's figures, gathered by the probe until the request ends.
#[derive(Clone, Copy, Default)]
struct RequestState {
    batch: u64,
    preprocess_ns: u64,
    inference_ns: u64,
    serialize_ns: u64,
    bytes: u64,
    decode_failed: bool,
}

/// Records through the monitors (and the engine's thread-owned view for the request latency
/// and the quantized count), counting its own recording calls for the overhead figure.
pub struct Live<'a> {
    m: &'a Metrics,
    request: LocalHistogram<'a>,
    requests: LocalCounter<'a>,
    quantized: LocalCounter<'a>,
    clock: &'a Clock,
    state: Cell<RequestState>,
    calls: Cell<u64>,
}

impl<'a> Live<'a> {
    /// A probe on `recorder`'s slot recording into `m`.
    pub fn new(recorder: &'a LocalRecorder, m: &'a Metrics, clock: &'a Clock) -> Live<'a> {
        Live {
            m,
            request: recorder.histogram(&m.request),
            requests: recorder.counter(&m.requests),
            quantized: recorder.counter(&m.quantized),
            clock,
            state: Cell::new(RequestState::default()),
            calls: Cell::new(0),
        }
    }

    /// Engine recording calls made so far (each histogram record, counter add, record-log
    /// entry).
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    #[inline]
    fn count(&self, n: u64) {
        self.calls.set(self.calls.get() + n);
    }

    /// Nanoseconds since `started` on the engine clock (TSC through quanta where available:
    /// about half the cost of `Instant::now()` here).
    #[inline]
    fn elapsed_ns(&self, started: u64) -> u64 {
        self.clock.delta_nanos(started, self.clock.raw())
    }

    #[inline]
    fn update(&self, f: impl FnOnce(&mut RequestState)) {
        let mut s = self.state.get();
        f(&mut s);
        self.state.set(s);
    }
}

impl Probe for Live<'_> {
    #[inline]
    fn start(&self) -> Option<u64> {
        Some(self.clock.raw())
    }
    #[inline]
    fn stage(&self, stage: Stage, started: Option<u64>) {
        let Some(t) = started else { return };
        let ns = self.elapsed_ns(t);
        let rows = self.state.get().batch;
        self.m
            .profiler
            .record(stage.name(), Duration::from_nanos(ns), rows);
        self.count(1 + u64::from(rows > 0));
        self.update(|s| match stage {
            Stage::Preprocess => s.preprocess_ns = ns,
            Stage::Inference => s.inference_ns = ns,
            Stage::Serialize => s.serialize_ns = ns,
        });
    }
    #[inline]
    fn request(&self, started: Option<u64>) -> Option<u64> {
        let ns = self.elapsed_ns(started?);
        self.request.record(ns);
        self.requests.increment();
        let s = self.state.take();
        if s.batch > 0 {
            self.m.inference.update_inference(
                Duration::from_nanos(s.inference_ns),
                s.batch,
                Duration::from_nanos(s.preprocess_ns),
                Duration::ZERO,
            );
            let error = s.decode_failed.then_some(ErrorKind::Decode.name());
            self.m.json.record(
                Operation::Serialize,
                Duration::from_nanos(s.serialize_ns),
                s.bytes,
                !s.decode_failed,
                error,
            );
            // 3 histograms (+ preprocessing total) and 3 serialization calls (+ the error).
            let pre = u64::from(s.preprocess_ns > 0);
            self.count(2 + 3 + pre + 3 + u64::from(s.decode_failed));
        } else {
            self.count(2);
        }
        Some(ns)
    }
    #[inline]
    fn begin(&self, batch: u64) {
        self.update(|s| s.batch = batch);
    }
    #[inline]
    fn cache(&self, hit: bool) {
        if hit {
            self.m.inference.record_cache_hit();
        } else {
            self.m.inference.record_cache_miss();
        }
        self.count(1);
    }
    #[inline]
    fn quantized(&self) {
        self.quantized.increment();
        self.count(1);
    }
    #[inline]
    fn encoded(&self, bytes: u64) {
        self.update(|s| s.bytes = bytes);
    }
    #[inline]
    fn error(&self, kind: ErrorKind) {
        self.m.inference.record_error_kind(kind.name());
        self.count(1);
        if kind == ErrorKind::Decode {
            self.update(|s| s.decode_failed = true);
        }
    }
}

/// xorshift64*: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The record the serialization stage encodes and decodes.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    id: u64,
    batch: u32,
    classes: Vec<u32>,
    scores: Vec<f32>,
    tags: Vec<String>,
    note: String,
}

/// One worker's state: weights, cache, scratch buffers, random stream.
pub struct Worker {
    rng: Rng,
    w1: Vec<f32>,
    w2: Vec<f32>,
    w1_q: Vec<i8>,
    w1_scale: f32,
    cache_keys: Vec<u64>,
    cache_rows: Vec<f32>,
    input: Vec<f32>,
    hidden: Vec<f32>,
    output: Vec<f32>,
    next_id: u64,
    fault: Fault,
    /// Folded results, so the optimizer cannot drop the work.
    pub checksum: u64,
}

impl Worker {
    /// A worker with weights and a random stream from `seed`.
    pub fn new(seed: u64) -> Worker {
        let mut rng = Rng::new(seed);
        let mut weights = |n: usize, scale: f32| -> Vec<f32> {
            (0..n).map(|_| (rng.unit() - 0.5) * scale).collect()
        };
        let w1 = weights(FEATURES * HIDDEN, 0.25);
        let w2 = weights(HIDDEN * CLASSES, 0.25);
        let max = w1
            .iter()
            .fold(0f32, |m, w| m.max(w.abs()))
            .max(f32::MIN_POSITIVE);
        let w1_scale = max / 127.0;
        let w1_q = w1.iter().map(|w| (w / w1_scale).round() as i8).collect();
        Worker {
            rng: Rng::new(seed ^ 0xA5A5_A5A5),
            w1,
            w2,
            w1_q,
            w1_scale,
            cache_keys: vec![u64::MAX; CACHE_SLOTS],
            cache_rows: vec![0.0; CACHE_SLOTS * FEATURES],
            input: Vec::new(),
            hidden: Vec::new(),
            output: Vec::new(),
            next_id: 0,
            fault: Fault::None,
            checksum: 0,
        }
    }

    /// Injects `fault` into the following requests ([`Fault::None`] ends it). A worker without
    /// a fault draws the same random stream as before, so its requests are the same.
    pub fn set_fault(&mut self, fault: Fault) {
        self.fault = fault;
    }

    /// The fault being injected.
    pub fn fault(&self) -> Fault {
        self.fault
    }

    /// Serves one request.
    pub fn request<P: Probe>(&mut self, probe: &P) {
        let started = probe.start();
        // Batch sizes: mostly small, sometimes up to 32.
        let batch = match self.rng.below(10) {
            0..=5 => 1 + self.rng.below(4),
            6..=8 => 4 + self.rng.below(12),
            _ => 16 + self.rng.below(17),
        } as usize;
        if self.rng.below(500) == 0 {
            probe.begin(0);
            probe.error(ErrorKind::InvalidInput);
            probe.request(started);
            return;
        }
        probe.begin(batch as u64);

        let t = probe.start();
        self.preprocess(batch, probe);
        probe.stage(Stage::Preprocess, t);

        let t = probe.start();
        let quantize = self.rng.below(4) == 0;
        if quantize {
            probe.quantized();
        }
        let classes = self.infer(batch, quantize);
        // One predictable branch on the normal path; the random draw only under the fault.
        if self.fault == Fault::Slow && self.rng.below(FAULT_SLOW_ONE_IN) == 0 {
            std::thread::sleep(FAULT_STALL);
        }
        probe.stage(Stage::Inference, t);

        let t = probe.start();
        let outcome = self.serialize(batch, classes, probe);
        probe.stage(Stage::Serialize, t);
        if let Err(kind) = outcome {
            probe.error(kind);
        }
        if probe.request(started).is_some_and(|ns| ns > DEADLINE_NS) {
            probe.error(ErrorKind::Deadline);
        }
    }

    /// Fills `input` with `batch` normalized rows, from the cache when possible.
    fn preprocess<P: Probe>(&mut self, batch: usize, probe: &P) {
        self.input.clear();
        for _ in 0..batch {
            // Skewed keys: small keys are far more frequent, so the cache hits often.
            let bits = self.rng.below(14);
            let key = self.rng.below(1 << bits);
            let slot = (key as usize) % CACHE_SLOTS;
            let row = &mut self.cache_rows[slot * FEATURES..(slot + 1) * FEATURES];
            let hit = self.cache_keys[slot] == key;
            probe.cache(hit);
            if !hit {
                let mut raw = Rng::new(key);
                for x in row.iter_mut() {
                    *x = raw.unit() * 10.0 + 3.0;
                }
                let mean = row.iter().sum::<f32>() / FEATURES as f32;
                let var =
                    row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / FEATURES as f32;
                let inv = 1.0 / (var.sqrt() + 1e-6);
                for x in row.iter_mut() {
                    *x = (*x - mean) * inv;
                }
                self.cache_keys[slot] = key;
            }
            self.input.extend_from_slice(row);
        }
    }

    /// Two dense layers with ReLU; the first optionally in int8. Returns argmax per row.
    fn infer(&mut self, batch: usize, quantize: bool) -> Vec<u32> {
        self.hidden.clear();
        self.hidden.resize(batch * HIDDEN, 0.0);
        if quantize {
            let max = self
                .input
                .iter()
                .fold(0f32, |m, x| m.max(x.abs()))
                .max(f32::MIN_POSITIVE);
            let scale = max / 127.0;
            let q: Vec<i8> = self
                .input
                .iter()
                .map(|x| (x / scale).round() as i8)
                .collect();
            for r in 0..batch {
                for h in 0..HIDDEN {
                    let mut acc = 0i32;
                    for f in 0..FEATURES {
                        acc +=
                            i32::from(q[r * FEATURES + f]) * i32::from(self.w1_q[f * HIDDEN + h]);
                    }
                    self.hidden[r * HIDDEN + h] = (acc as f32 * scale * self.w1_scale).max(0.0);
                }
            }
        } else {
            for r in 0..batch {
                for f in 0..FEATURES {
                    let x = self.input[r * FEATURES + f];
                    let w = &self.w1[f * HIDDEN..(f + 1) * HIDDEN];
                    for (acc, w) in self.hidden[r * HIDDEN..(r + 1) * HIDDEN].iter_mut().zip(w) {
                        *acc += x * w;
                    }
                }
            }
            for v in &mut self.hidden {
                *v = v.max(0.0);
            }
        }
        self.output.clear();
        self.output.resize(batch * CLASSES, 0.0);
        for r in 0..batch {
            for h in 0..HIDDEN {
                let x = self.hidden[r * HIDDEN + h];
                let w = &self.w2[h * CLASSES..(h + 1) * CLASSES];
                for (acc, w) in self.output[r * CLASSES..(r + 1) * CLASSES]
                    .iter_mut()
                    .zip(w)
                {
                    *acc += x * w;
                }
            }
        }
        (0..batch)
            .map(|r| {
                let row = &self.output[r * CLASSES..(r + 1) * CLASSES];
                (0..CLASSES)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0) as u32
            })
            .collect()
    }

    /// Encodes the result record, sometimes corrupts it, decodes and checks it.
    fn serialize<P: Probe>(
        &mut self,
        batch: usize,
        classes: Vec<u32>,
        probe: &P,
    ) -> Result<(), ErrorKind> {
        self.next_id += 1;
        let tags = (0..self.rng.below(8))
            .map(|i| format!("tag-{i}-{}", self.rng.below(1000)))
            .collect();
        let note_len = [0, 8, 64, 512][self.rng.below(4) as usize];
        let record = Record {
            id: self.next_id,
            batch: batch as u32,
            classes,
            scores: self.output.iter().step_by(CLASSES / 4).copied().collect(),
            tags,
            note: "x".repeat(note_len),
        };
        let mut bytes = serde_json::to_vec(&record).expect("records serialize");
        probe.encoded(bytes.len() as u64);
        let one_in = if self.fault == Fault::Errors {
            FAULT_CORRUPT_ONE_IN
        } else {
            200
        };
        if self.rng.below(one_in) == 0 {
            let at = self.rng.below(bytes.len() as u64) as usize;
            bytes[at] = b'}';
        }
        match serde_json::from_slice::<Record>(&bytes) {
            // A corrupted byte inside a string can still decode; compare to be sure.
            Ok(back) if back == record => {
                self.checksum = self.checksum.wrapping_add(
                    black_box(back.id) ^ u64::from(back.classes.first().copied().unwrap_or(0)),
                );
                Ok(())
            }
            _ => Err(ErrorKind::Decode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_and_float_paths_mostly_agree() {
        let mut w = Worker::new(7);
        let mut agree = 0;
        for _ in 0..50 {
            w.preprocess(8, &Noop);
            let a = w.infer(8, false);
            let b = w.infer(8, true);
            agree += a.iter().zip(&b).filter(|(x, y)| x == y).count();
        }
        assert!(agree >= 320, "int8 path agrees on only {agree}/400 rows");
    }

    /// Counts requests, decode errors and requests slower than 100 ms (wall clock: only lower
    /// bounds of the slow count are exact).
    #[derive(Default)]
    struct Tally {
        requests: Cell<u64>,
        decode: Cell<u64>,
        stalled: Cell<u64>,
        base: std::sync::OnceLock<std::time::Instant>,
    }

    impl Probe for Tally {
        fn start(&self) -> Option<u64> {
            let base = self.base.get_or_init(std::time::Instant::now);
            Some(base.elapsed().as_nanos() as u64)
        }
        fn stage(&self, _: Stage, _: Option<u64>) {}
        fn request(&self, started: Option<u64>) -> Option<u64> {
            let ns = self.start()? - started?;
            self.requests.set(self.requests.get() + 1);
            if ns > 100_000_000 {
                self.stalled.set(self.stalled.get() + 1);
            }
            Some(ns)
        }
        fn begin(&self, _: u64) {}
        fn cache(&self, _: bool) {}
        fn quantized(&self) {}
        fn encoded(&self, _: u64) {}
        fn error(&self, kind: ErrorKind) {
            if kind == ErrorKind::Decode {
                self.decode.set(self.decode.get() + 1);
            }
        }
    }

    /// The error burst corrupts about 1 record in 4, slow requests stall about 1 in 5, and
    /// ending a fault puts the worker back on the same random stream as one that never had a
    /// fault (so the overhead measurement's workers, which have none, are unchanged).
    #[test]
    fn faults_inject_errors_and_stalls_and_end_cleanly() {
        let mut w = Worker::new(5);
        let tally = Tally::default();
        w.set_fault(Fault::Errors);
        for _ in 0..2000 {
            w.request(&tally);
        }
        let share = tally.decode.get() as f64 / 2000.0;
        assert!((0.18..0.32).contains(&share), "decode errors {share}");

        let tally = Tally::default();
        w.set_fault(Fault::Slow);
        for _ in 0..40 {
            w.request(&tally);
        }
        // A stall sleeps 150 ms, so it is always counted; a loaded machine can also hold a
        // normal request past 100 ms now and then, hence the loose upper bound.
        let stalled = tally.stalled.get();
        assert!((3..=20).contains(&stalled), "{stalled} of 40 stalled");
        assert_eq!(w.fault(), Fault::Slow);

        let (mut a, mut b) = (Worker::new(9), Worker::new(9));
        b.set_fault(Fault::None);
        for _ in 0..300 {
            a.request(&Noop);
            b.request(&Noop);
        }
        assert_eq!(a.checksum, b.checksum);
        assert_eq!(a.rng.next(), b.rng.next());
    }

    #[test]
    fn live_probe_counts_what_the_loop_does() {
        let engine = Arc::new(Engine::builder().background(false).build().unwrap());
        let metrics = Metrics::register(&engine).unwrap();
        let recorder = engine.local_recorder();
        let live = Live::new(&recorder, &metrics, engine.clock());
        let mut w = Worker::new(3);
        for _ in 0..2000 {
            w.request(&live);
        }
        drop(recorder);
        let s = engine.flush();
        let inf = metrics.inference.statistics_of(&s);
        let demo = [("instance", INSTANCE)];
        let total = |name: &str, labels: &[(&str, &str)]| match s.get(name, labels) {
            Some(m) => match &m.value {
                tachymeter::MetricValue::Counter(c) => c.total,
                _ => panic!("{name} is not a counter"),
            },
            None => 0,
        };
        let invalid = total(
            "inference_errors_total",
            &[("instance", INSTANCE), ("kind", "invalid_input")],
        );
        // Every request is an inference or an invalid input.
        assert_eq!(u128::from(inf.total_requests) + invalid, 2000);
        assert_eq!(total("demo_requests_total", &[]), 2000);
        assert_eq!(
            s.histogram("demo_request_latency")
                .unwrap()
                .cumulative
                .count(),
            2000
        );
        // One cache lookup per row: the batch sizes' sum.
        let rows = total("inference_cache_hits_total", &demo)
            + total("inference_cache_misses_total", &demo);
        let batch = match &s.get("inference_batch_size", &demo).unwrap().value {
            tachymeter::MetricValue::Histogram(h) => h.cumulative.clone(),
            _ => panic!(),
        };
        assert_eq!(rows, batch.sum(), "one cache lookup per row");
        assert_eq!(
            batch.zero_count(),
            0,
            "invalid inputs never reach inference"
        );
        // One serialization record per inference; decode failures match the error kind.
        let ser = metrics.serialization.metrics("json");
        let enc = &ser.operations[&Operation::Serialize];
        assert_eq!(enc.count, inf.total_requests);
        let decode = total(
            "inference_errors_total",
            &[("instance", INSTANCE), ("kind", "decode")],
        );
        assert_eq!(
            u128::from(enc.errors.get("decode").copied().unwrap_or(0)),
            decode
        );
        // Every stage profiled once per inference.
        for stage in Stage::ALL {
            let p = metrics.profiler.stats(stage.name()).unwrap();
            assert_eq!(p.calls, inf.total_requests, "{}", stage.name());
            assert_eq!(u128::from(p.units), batch.sum(), "{}", stage.name());
        }
    }

    /// The demo's /metrics exposition (the same encoder the server uses), resource gauges
    /// included, passes `promtool check metrics` with exit 0 and nothing printed: no parse
    /// error and no lint (units in base units, counters ending in `_total`). Skipped where
    /// promtool is absent (`.ci/run` installs it).
    #[test]
    fn demo_exposition_passes_promtool_lint() {
        let Ok(mut child) = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("promtool not found: skipped");
            return;
        };
        let engine = Arc::new(Engine::builder().background(false).build().unwrap());
        let metrics = Metrics::register(&engine).unwrap();
        metrics.overhead_ratio.set(0.012);
        metrics.overhead_per_request.set(35.0);
        metrics.threads.set(2.0);
        let resources = tachymeter_monitor::ResourceMonitor::builder()
            .engine(engine.clone())
            .instance(INSTANCE)
            .build()
            .unwrap();
        resources.sample_now();
        let recorder = engine.local_recorder();
        let live = Live::new(&recorder, &metrics, engine.clock());
        let mut w = Worker::new(5);
        for _ in 0..500 {
            w.request(&live);
        }
        drop(recorder);
        let text = tachymeter_export::encode_text(
            &engine.flush(),
            &tachymeter_export::ExportConfig::default(),
        );
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let printed = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            (out.status.code(), printed.as_str()),
            (Some(0), ""),
            "{text}"
        );
        assert!(text.contains("profile_wall_time_seconds_bucket"), "{text}");
        assert!(text.contains("inference_time_seconds_bucket"), "{text}");
        assert!(text.contains("process_resident_memory_bytes{"), "{text}");
        assert!(text.contains("demo_requests_total "), "{text}");
    }
}
