//! [`Monitored`]: real serialization through serde, timed and recorded into a
//! [`SerializationMonitor`] (the seeds' `PerformanceSerializer`); [`BatchSerializer`]: many
//! items serialized as one sequence (the seeds' `BatchSerializer`).
//!
//! A [`Format`] is a serde data format: [`Json`] (`serde_json`) is built in; any other format
//! is a few lines (see [`Format`]'s example), so this crate does not pull in every format crate.
//! Each call records its duration, its size in bytes (the output for `serialize`, the input for
//! `deserialize`), success and, on failure, the format's error type.

use crate::serialization::{Operation, SerializationMonitor};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A serde data format.
///
/// ```
/// use tachymeter_monitor::Format;
/// /// JSON Lines: one compact JSON document per line.
/// struct JsonLines;
/// impl Format for JsonLines {
///     type Error = serde_json::Error;
///     fn name(&self) -> &str { "jsonl" }
///     fn is_text(&self) -> bool { true }
///     fn encode<T: serde::Serialize + ?Sized>(&self, v: &T) -> Result<Vec<u8>, Self::Error> {
///         let mut out = serde_json::to_vec(v)?;
///         out.push(b'\n');
///         Ok(out)
///     }
///     fn decode<T: serde::de::DeserializeOwned>(&self, b: &[u8]) -> Result<T, Self::Error> {
///         serde_json::from_slice(b)
///     }
/// }
/// assert_eq!(JsonLines.encode(&[1, 2]).unwrap(), b"[1,2]\n");
/// ```
pub trait Format {
    /// The format's error.
    type Error: std::error::Error;
    /// The serializer id recorded by default (a label value: keep it short and fixed).
    fn name(&self) -> &str;
    /// Whether the encoding is text (for the binary-format suggestion).
    fn is_text(&self) -> bool {
        false
    }
    /// Encodes `value`.
    ///
    /// # Errors
    /// The format's error.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Self::Error>;
    /// Decodes a `T` from `bytes`.
    ///
    /// # Errors
    /// The format's error.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Self::Error>;
    /// The `error_type` label of an error (a short fixed word; default `error`).
    fn error_type(&self, _error: &Self::Error) -> &'static str {
        "error"
    }
}

/// JSON through `serde_json`; error types `io`, `syntax`, `data` and `eof`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Format for Json {
    type Error = serde_json::Error;

    fn name(&self) -> &str {
        "json"
    }

    fn is_text(&self) -> bool {
        true
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Self::Error> {
        serde_json::to_vec(value)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Self::Error> {
        serde_json::from_slice(bytes)
    }

    fn error_type(&self, error: &Self::Error) -> &'static str {
        match error.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}

/// MessagePack through `rmp-serde` (feature `msgpack`), structs as maps (field names kept, so
/// decoding does not depend on field order); error types `io`, `syntax`, `data`, `eof`,
/// `utf8` and `other`.
#[cfg(feature = "msgpack")]
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagePack;

/// Either direction's error of [`MessagePack`].
#[cfg(feature = "msgpack")]
#[derive(Debug)]
pub enum MessagePackError {
    /// Encoding failed.
    Encode(rmp_serde::encode::Error),
    /// Decoding failed.
    Decode(rmp_serde::decode::Error),
}

#[cfg(feature = "msgpack")]
impl std::fmt::Display for MessagePackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessagePackError::Encode(e) => write!(f, "msgpack encode: {e}"),
            MessagePackError::Decode(e) => write!(f, "msgpack decode: {e}"),
        }
    }
}

#[cfg(feature = "msgpack")]
impl std::error::Error for MessagePackError {}

#[cfg(feature = "msgpack")]
impl Format for MessagePack {
    type Error = MessagePackError;

    fn name(&self) -> &str {
        "msgpack"
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Self::Error> {
        rmp_serde::to_vec_named(value).map_err(MessagePackError::Encode)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Self::Error> {
        rmp_serde::from_slice(bytes).map_err(MessagePackError::Decode)
    }

    fn error_type(&self, error: &Self::Error) -> &'static str {
        use rmp_serde::decode::Error as D;
        match error {
            MessagePackError::Encode(_) => "other",
            MessagePackError::Decode(D::InvalidMarkerRead(e) | D::InvalidDataRead(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                "eof"
            }
            MessagePackError::Decode(D::InvalidMarkerRead(_) | D::InvalidDataRead(_)) => "io",
            MessagePackError::Decode(D::TypeMismatch(_) | D::Syntax(_)) => "syntax",
            MessagePackError::Decode(D::Utf8Error(_)) => "utf8",
            MessagePackError::Decode(D::Uncategorized(_)) => "data",
            MessagePackError::Decode(_) => "other",
        }
    }
}

/// Where a [`Monitored`] records.
#[derive(Debug, Clone)]
enum MonitorRef {
    Global,
    Shared(Arc<SerializationMonitor>),
}

impl std::ops::Deref for MonitorRef {
    type Target = SerializationMonitor;
    fn deref(&self) -> &SerializationMonitor {
        match self {
            MonitorRef::Global => crate::global_monitor(),
            MonitorRef::Shared(m) => m,
        }
    }
}

/// A format whose every call is timed and recorded (the seeds' `PerformanceSerializer`).
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{Json, Monitored, Operation, SerializationMonitor};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let monitor = Arc::new(SerializationMonitor::builder().engine(engine.clone()).build().unwrap());
/// let json = Monitored::new(Json, monitor.clone());
/// let bytes = json.serialize(&vec![1u32, 2, 3]).unwrap();
/// let back: Vec<u32> = json.deserialize(&bytes).unwrap();
/// assert_eq!(back, [1, 2, 3]);
/// assert!(json.deserialize::<Vec<u32>>(b"[1, oops]").is_err());
/// engine.flush();
/// let m = monitor.metrics("json");
/// assert_eq!(m.operations[&Operation::Serialize].total_bytes, 7); // "[1,2,3]"
/// assert_eq!(m.operations[&Operation::Deserialize].count, 2);
/// assert_eq!(m.operations[&Operation::Deserialize].errors["syntax"], 1);
/// ```
#[derive(Debug, Clone)]
pub struct Monitored<F> {
    format: F,
    monitor: MonitorRef,
    serializer_id: String,
}

impl<F: Format> Monitored<F> {
    /// `format` recording into `monitor` under the format's name.
    pub fn new(format: F, monitor: Arc<SerializationMonitor>) -> Self {
        Self::with(format, MonitorRef::Shared(monitor))
    }

    /// `format` recording into the process-wide [`global_monitor`](crate::global_monitor).
    pub fn global(format: F) -> Self {
        Self::with(format, MonitorRef::Global)
    }

    fn with(format: F, monitor: MonitorRef) -> Self {
        let serializer_id = format.name().to_string();
        if format.is_text() {
            monitor.mark_text_format(&serializer_id);
        }
        Monitored {
            format,
            monitor,
            serializer_id,
        }
    }

    /// Records under `id` instead of the format's name (e.g. one id per payload type).
    pub fn serializer_id(mut self, id: impl Into<String>) -> Self {
        self.serializer_id = id.into();
        if self.format.is_text() {
            self.monitor.mark_text_format(&self.serializer_id);
        }
        self
    }

    /// The monitor this records into.
    pub fn monitor(&self) -> &SerializationMonitor {
        &self.monitor
    }

    /// Encodes `value`, recording the time, the output size and the outcome.
    ///
    /// # Errors
    /// The format's error (recorded under its error type).
    pub fn serialize<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, F::Error> {
        let start = Instant::now();
        let result = self.format.encode(value);
        let size = result.as_ref().map_or(0, |b| b.len() as u64);
        self.record(
            Operation::Serialize,
            start.elapsed(),
            size,
            result.as_ref().err(),
        );
        result
    }

    /// Decodes a `T` from `bytes`, recording the time, the input size and the outcome.
    ///
    /// # Errors
    /// The format's error (recorded under its error type).
    pub fn deserialize<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, F::Error> {
        let start = Instant::now();
        let result = self.format.decode(bytes);
        let error = result.as_ref().err();
        self.record(
            Operation::Deserialize,
            start.elapsed(),
            bytes.len() as u64,
            error,
        );
        result
    }

    fn record(&self, op: Operation, took: Duration, size: u64, error: Option<&F::Error>) {
        let kind = error.map(|e| self.format.error_type(e));
        self.monitor
            .record_operation(&self.serializer_id, op, took, size, error.is_none(), kind);
    }
}

/// Statistics of a [`BatchSerializer`] (the seeds' `get_batch_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BatchMetrics {
    /// Batches serialized successfully.
    pub batches: u64,
    /// Items in those batches.
    pub items: u64,
    /// Batches that failed to serialize (their items were dropped).
    pub failed_batches: u64,
    /// Items waiting for the next batch.
    pub pending: usize,
    /// The configured batch size.
    pub batch_size: usize,
    /// Mean items per batch.
    pub avg_batch_size: f64,
    /// Mean time to serialize one batch, seconds.
    pub avg_batch_time: f64,
    /// Mean output bytes per item.
    pub avg_bytes_per_item: f64,
}

/// Collects items and serializes them as one sequence when `batch_size` are collected (the
/// seeds' `BatchSerializer`). Each batch is one `serialize` operation of the underlying
/// [`Monitored`] format. Owned by one thread (`&mut self`); give each thread its own.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::{BatchSerializer, Json, Monitored, SerializationMonitor};
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let monitor = Arc::new(SerializationMonitor::builder().engine(engine).build().unwrap());
/// let mut batch = BatchSerializer::new(Monitored::new(Json, monitor), 2);
/// assert_eq!(batch.add(1u8).unwrap(), None);
/// assert_eq!(batch.add(2u8).unwrap().as_deref(), Some(&b"[1,2]"[..]));
/// batch.add(3u8).unwrap();
/// assert_eq!(batch.flush().unwrap().as_deref(), Some(&b"[3]"[..]));
/// let m = batch.batch_metrics();
/// assert_eq!((m.batches, m.items, m.avg_batch_size), (2, 3, 1.5));
/// ```
#[derive(Debug)]
pub struct BatchSerializer<T, F> {
    inner: Monitored<F>,
    batch_size: usize,
    items: Vec<T>,
    batches: u64,
    done_items: u64,
    failed_batches: u64,
    busy: Duration,
    bytes: u64,
}

impl<T: Serialize, F: Format> BatchSerializer<T, F> {
    /// Batches of `batch_size` items (at least 1) through `inner`.
    pub fn new(inner: Monitored<F>, batch_size: usize) -> Self {
        let batch_size = batch_size.max(1);
        BatchSerializer {
            inner,
            batch_size,
            items: Vec::with_capacity(batch_size),
            batches: 0,
            done_items: 0,
            failed_batches: 0,
            busy: Duration::ZERO,
            bytes: 0,
        }
    }

    /// Adds `item`; returns the serialized batch when this item fills it (the seeds'
    /// `add_to_batch`).
    ///
    /// # Errors
    /// The format's error for a full batch (its items are dropped and counted as failed).
    pub fn add(&mut self, item: T) -> Result<Option<Vec<u8>>, F::Error> {
        self.items.push(item);
        if self.items.len() >= self.batch_size {
            self.flush()
        } else {
            Ok(None)
        }
    }

    /// Serializes the pending items now; `None` when there are none (`flush_batch`).
    ///
    /// # Errors
    /// The format's error (the items are dropped and the batch counted as failed).
    pub fn flush(&mut self) -> Result<Option<Vec<u8>>, F::Error> {
        if self.items.is_empty() {
            return Ok(None);
        }
        let start = Instant::now();
        let result = self.inner.serialize(self.items.as_slice());
        let n = self.items.len() as u64;
        self.items.clear();
        match result {
            Ok(bytes) => {
                self.busy += start.elapsed();
                self.batches += 1;
                self.done_items += n;
                self.bytes += bytes.len() as u64;
                Ok(Some(bytes))
            }
            Err(e) => {
                self.failed_batches += 1;
                Err(e)
            }
        }
    }

    /// Batch statistics so far.
    pub fn batch_metrics(&self) -> BatchMetrics {
        let per = |v: f64, n: u64| if n == 0 { 0.0 } else { v / n as f64 };
        BatchMetrics {
            batches: self.batches,
            items: self.done_items,
            failed_batches: self.failed_batches,
            pending: self.items.len(),
            batch_size: self.batch_size,
            avg_batch_size: per(self.done_items as f64, self.batches),
            avg_batch_time: per(self.busy.as_secs_f64(), self.batches),
            avg_bytes_per_item: per(self.bytes as f64, self.done_items),
        }
    }
}
