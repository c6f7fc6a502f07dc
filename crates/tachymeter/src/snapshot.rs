//! [`Snapshot`]: the immutable, merged view of every metric that readers and exporters use.
#![deny(unsafe_code)]

use crate::desc::MetricDesc;
use crate::kind::{MetricKind, MetricValue};
use crate::sync::Arc;
use std::time::{Duration, SystemTime};

/// Engine-wide health counters: everything that was rejected, clamped or dropped is visible here.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Inputs rejected on the hot path: NaN/infinite gauge values, gauge adds that would have
    /// made a thread's accumulator infinite, NaN/infinite/negative `record_f64` values.
    pub rejected: u64,
    /// Gauge adds dropped by the aggregator because combining threads' accumulators would have
    /// made the value infinite (cumulative). The next `set` defines the value again.
    pub gauge_overflows: u64,
    /// Gauge `set`s in the shared overflow slot that met another thread's concurrent `set` and
    /// were ordered just before it (the other value wins). Valid values, not errors.
    pub gauge_set_races: u64,
    /// Histogram values outside the configured range, counted in an edge bucket.
    pub saturated: u64,
    /// Positive `record_f64` values below half a step of a histogram's resolution (recorded
    /// as 0).
    pub below_resolution: u64,
    /// Ring samples/events overwritten before the aggregator read them.
    pub ring_overwritten: u64,
    /// Ring samples/events not kept because they were recorded in the shared overflow slot.
    pub ring_dropped: u64,
    /// Slot claims that found the table full and fell back to the shared overflow slot.
    pub overflow_claims: u64,
    /// Slot claims ever made (each thread's first record into the engine, slot reuse included).
    pub slot_claims: u64,
    /// Slots held at the time of collection: threads that have recorded into the engine and
    /// not yet exited, plus live [`LocalRecorder`](crate::LocalRecorder)s. A thread releases
    /// its slot in a thread-local destructor, which runs after the thread's closure returns:
    /// the slot is free once `JoinHandle::join` returns, but not necessarily when
    /// `std::thread::scope` returns (scoped threads are counted as finished before their
    /// thread-local destructors run).
    pub threads_active: usize,
    /// Exclusive slots in the table.
    pub slot_capacity: usize,
    /// Registration failures through the macros (which cannot return an error).
    pub registration_errors: u64,
    /// Background collections that panicked (caught and counted; see
    /// [`Engine::health`](crate::Engine::health), which stays current even if snapshots stop).
    pub aggregator_panics: u64,
    /// Time the aggregator spent collecting this snapshot.
    pub collect_time: Duration,
}

/// One metric in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSnapshot {
    /// Name, help, unit, labels and kind.
    pub desc: Arc<MetricDesc>,
    /// The statistics.
    pub value: MetricValue,
    /// When the metric was last reset (`None`: never): its statistics cover only what was
    /// recorded after this time. Exporters report it as OpenMetrics `_created`.
    pub reset_at: Option<SystemTime>,
}

/// An immutable view of every metric, published by the aggregator.
///
/// Metrics appear in registration order; removed series are left out (so the positions after
/// a removed series shift: look metrics up by name and labels, or re-check a cached
/// [`position`](Self::position)).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub(crate) sequence: u64,
    pub(crate) time: SystemTime,
    pub(crate) started: SystemTime,
    pub(crate) uptime: Duration,
    pub(crate) interval: Duration,
    pub(crate) stats: Stats,
    pub(crate) metrics: Vec<MetricSnapshot>,
}

impl Snapshot {
    pub(crate) fn empty() -> Snapshot {
        Snapshot {
            sequence: 0,
            time: SystemTime::now(),
            started: SystemTime::now(),
            uptime: Duration::ZERO,
            interval: Duration::ZERO,
            stats: Stats::default(),
            metrics: Vec::new(),
        }
    }

    /// 0 for the initial empty snapshot, then +1 per publication; never goes backwards.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Wall-clock time of collection.
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// Wall-clock time the engine started.
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// Time from the engine's start to this snapshot (engine clock).
    pub fn uptime(&self) -> Duration {
        self.uptime
    }

    /// Length of the interval that ended with this snapshot (engine clock).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Engine-wide health counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Every metric, in registration order.
    pub fn metrics(&self) -> &[MetricSnapshot] {
        &self.metrics
    }

    /// Position of the metric with `name` and exactly `labels` (any order).
    pub fn position(&self, name: &str, labels: &[(&str, &str)]) -> Option<usize> {
        self.metrics.iter().position(|m| {
            m.desc.name == name
                && m.desc.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| m.desc.labels.iter().any(|(a, b)| a == k && b == v))
        })
    }

    /// The metric with `name` and exactly `labels` (any order).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<&MetricSnapshot> {
        self.position(name, labels).map(|i| &self.metrics[i])
    }

    /// Every metric of `kind`.
    pub fn of_kind(&self, kind: MetricKind) -> impl Iterator<Item = &MetricSnapshot> {
        self.metrics.iter().filter(move |m| m.desc.kind == kind)
    }
}
