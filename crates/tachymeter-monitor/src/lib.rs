//! The seeds' performance monitors on the tachymeter engine.
//!
//! Each monitor is a thin struct of engine handles: recording is a few handle calls (no lock,
//! no allocation), and statistics are computed from the engine's published snapshots on the
//! caller's thread, so reading never slows a recording thread. Monitors sit above the engine
//! (`tachymeter`) and below the exporters: everything they record also appears in `/metrics`,
//! JSON and CSV under the metric names each monitor documents.
//!
//! This crate holds the inference monitor ([`InferenceMetrics`], the seeds'
//! `PerformanceMetrics`), the endpoint tracker ([`EndpointTracker`], the seeds'
//! `get_api_tracker()`), cache statistics ([`CacheMonitor`]; with the `moka` feature,
//! `MonitoredCache`, the seeds' cache manager over moka), a profiler ([`Profiler`]), the
//! serialization monitor ([`SerializationMonitor`]: `record_operation`, metrics, summary,
//! reset, recent, thresholds and alert handlers, suggestions; [`Monitored`] serde formats and
//! [`BatchSerializer`]), the database query monitor ([`QueryMonitor`]: per-type analysis,
//! slow queries by normalised fingerprint, optimisation opportunities), response-time targets
//! ([`ResponseTimeMonitor`]: exceedance and prioritised recommendations) and business metrics
//! ([`BusinessMonitor`]: user actions against per-type baselines, conversions) and the operation
//! tracker ([`OperationTracker`], the seeds' `PerformanceTracker`: start and end by id from any
//! thread), with the default feature `resources`, system and process resources sampled on a
//! background thread ([`ResourceMonitor`], the seeds' `SystemResourceMonitor`,
//! `get_resource_monitor()`; GPUs with the feature `gpu`) so far; the other monitors of the
//! seeds are not implemented yet. [`alerting`] holds the general alerting engine (rules,
//! handlers, the Prometheus rules export); [`config`] sets up the engine, the monitors and the
//! alert rules from code, a TOML file and environment variables. The guide to all of them, with
//! an example each, is [`docs::guide`].
//!
//! ```
//! use std::time::Duration;
//! use tachymeter_monitor::InferenceMetrics;
//!
//! let metrics = InferenceMetrics::builder().window_size(1000).build().unwrap();
//! for i in 0..100u32 {
//!     // Durations as float seconds (the seeds' convention) or as `Duration`.
//!     metrics.update_inference(0.010, 32, Duration::from_millis(1), 0.0);
//!     if i % 10 == 0 {
//!         metrics.record_cache_hit();
//!     } else {
//!         metrics.record_cache_miss();
//!     }
//! }
//! metrics.record_error();
//! metrics.engine().flush(); // statistics read the latest snapshot; flush for an exact one
//! let stats = metrics.statistics();
//! assert_eq!(stats.total_requests, 100);
//! assert!((stats.avg_inference_time.unwrap() - 0.010).abs() < 1e-9);
//! assert_eq!(stats.error_rate, 0.01);
//! assert_eq!(stats.cache_hit_rate, 0.1);
//! ```
#![deny(unsafe_code)] // one exception: the optional counting allocator (`alloc.rs`)

pub mod alerting;
mod alloc;
mod business;
mod cache;
#[cfg(feature = "moka")]
mod cached;
pub mod config;
mod custom;
pub mod docs;
mod elapsed;
mod endpoint;
mod format;
mod inference;
mod operations;
mod profiler;
mod query;
#[cfg(feature = "resources")]
pub mod resources;
mod response;
mod serialization;
mod table;

pub use alloc::{thread_allocations, CountingAllocator, ThreadAllocations};
pub use business::{
    global_business_monitor, ActionStats, ActionTotals, Baseline, BusinessMonitor,
    BusinessMonitorBuilder, BusinessReport, ConversionStats,
};
pub use cache::{CacheMonitor, CacheStats};
#[cfg(feature = "moka")]
pub use cached::{MonitoredCache, MonitoredCacheBuilder};
pub use custom::{
    CustomKind, CustomMetric, CustomMetricData, CustomMetricError, CustomMetrics, CustomSeries,
    MetricDefinition, MAX_CUSTOM_LABELS, MAX_CUSTOM_METRICS,
};
pub use elapsed::Elapsed;
pub use endpoint::{
    get_api_tracker, ApiReport, EndpointStats, EndpointTracker, EndpointTrackerBuilder, TrackGuard,
};
pub use format::{BatchMetrics, BatchSerializer, Format, Json, Monitored};
#[cfg(feature = "msgpack")]
pub use format::{MessagePack, MessagePackError};
pub use inference::{
    global_inference_metrics, ComprehensiveStatistics, InferenceMetrics, InferenceMetricsBuilder,
    InferenceStatistics, InferenceThresholds,
};
pub use operations::{
    global_operation_tracker, AllOperationMetrics, EndedOperation, Metadata, OperationId,
    OperationKind, OperationKindMetrics, OperationStats, OperationTracker, OperationTrackerBuilder,
    MAX_IN_FLIGHT,
};
pub use profiler::{get_profiler, Bottleneck, ProfileGuard, ProfileStats, Profiler};
pub use query::{
    global_query_monitor, normalize_query, query_fingerprint, OptimizationOpportunity,
    QueryAnalysis, QueryFingerprint, QueryMonitor, QueryMonitorBuilder, QueryTypeAnalysis,
    DEFAULT_SLOW_THRESHOLD, MAX_EXAMPLE_LEN,
};
#[cfg(feature = "resources")]
pub use resources::{
    get_resource_monitor, global_resource_monitor, AlertThresholds, DiskReading, GpuReading,
    NetworkReading, ProcessReading, ReadingRange, ResourceAlert, ResourceHistory, ResourceMonitor,
    ResourceMonitorBuilder, ResourceSnapshot, Sampling, Severity,
};
pub use response::{
    global_response_time_monitor, Recommendation, ResponseTimeMonitor, ResponseTimeMonitorBuilder,
    ResponseTimeStats, TargetError, DEFAULT_TARGETS,
};
pub use serialization::{
    global_monitor, Operation, OperationMetrics, OperationRecord, SerializationAlert,
    SerializationMonitor, SerializationMonitorBuilder, SerializerMetrics, SerializerRecorder,
    Suggestion, Summary, ThresholdMetric, MIN_OPERATIONS_FOR_SUGGESTIONS,
};

use std::sync::Arc;
use tachymeter::Engine;

/// How urgent a recommendation or suggestion is (shared by every monitor that makes them).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Worth a look.
    Low,
    /// Costs noticeable time (response times: the average is above the target, at most
    /// twice it).
    Medium,
    /// Fix first (response times: the average is more than twice the target).
    High,
}

/// The engine a monitor records into: the process-wide one or a shared one.
#[derive(Clone)]
pub enum EngineRef {
    /// [`tachymeter::global`].
    Global,
    /// An engine the caller built.
    Shared(Arc<Engine>),
}

impl std::ops::Deref for EngineRef {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        match self {
            EngineRef::Global => tachymeter::global(),
            EngineRef::Shared(e) => e,
        }
    }
}

impl std::fmt::Debug for EngineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineRef::Global => f.write_str("EngineRef::Global"),
            EngineRef::Shared(e) => write!(f, "EngineRef::Shared({e:?})"),
        }
    }
}

/// The next default `instance` label: `0`, `1`, … in creation order, across every monitor.
fn next_instance() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // Relaxed: only uniqueness matters.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string()
}

/// A process-wide monitor: `build` on the process-wide engine, or, if that engine already
/// uses one of the monitor's names as another kind, on a private engine (never a panic).
fn global_or_private<T>(build: impl Fn(EngineRef) -> Result<T, tachymeter::RegisterError>) -> T {
    build(EngineRef::Global).unwrap_or_else(|_| {
        let private = Engine::builder()
            .build()
            .or_else(|_| Engine::builder().background(false).build())
            .unwrap_or_else(|e| unreachable!("an engine without a thread builds: {e}"));
        build(EngineRef::Shared(Arc::new(private)))
            .unwrap_or_else(|e| unreachable!("a fresh engine has every name free: {e}"))
    })
}
