//! Record logs: a total and a ring of recent timestamped records (three `u64` fields each) per
//! thread, merged by the aggregator in time order.
//!
//! Everything the record-log kind is lives in this directory: the shard's writer and reader
//! halves (`shard.rs`), the collector (`collect.rs`), and here the core, the [`RecordLog`]
//! handle, the [`RecordsSnapshot`] value and its [`Record`]s, the engine's registration
//! methods and the family operations.
#![deny(unsafe_code)]

mod collect;
mod shard;

pub(crate) use collect::collector;
use shard::RecordShard;

use crate::desc::{MetricDesc, Opts, RegisterError};
use crate::engine::Shared;
use crate::family::{Family, FamilyRecord, KindOps};
use crate::kind::{Exposition, MetricKind, MetricValue};
use crate::local::slot_for;
use crate::metric::{debug_handle, Core, RingParams};
use crate::slots::SlotId;
use crate::snapshot::Snapshot;
use crate::sync::Arc;
use crate::Engine;
use std::time::Duration;

/// A record log's core: one [`RecordShard`] per thread slot and its ring capacity.
pub(crate) type RecordsCore = Core<RecordShard, RingParams>;

/// How record logs are exposed: a record log is exposed like a counter of its total.
pub(super) const EXPOSITION: Exposition = Exposition {
    strips_total: true,
    suffixes: &["_total", "_created"],
    reserved_labels: &[],
};

impl RecordsCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &RecordShard {
        self.shards.get_or_init(slot.index as usize, || {
            RecordShard::new(self.params.capacity, slot.shared)
        })
    }
}

/// A log of recent timestamped records, each three `u64` fields (a duration, a size, a status
/// or error code, an id…: their meaning is the caller's), with a total count.
///
/// Each thread keeps a fixed ring of its most recent records (the engine's `events_capacity`);
/// the snapshot merges the threads' records in time order, so the last `n` records across
/// threads are `snapshot.records(name).last(n)`. A full ring overwrites its oldest record, and
/// the snapshot counts what was overwritten before the aggregator saw it. Recording takes one
/// clock read, no lock and no allocation.
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let ops = engine.record_log("operations").unwrap();
/// ops.record([1_250_000, 4096, 200]); // duration ns, bytes, status
/// ops.record([980_000, 512, 500]);
/// let snap = engine.flush();
/// let log = snap.records("operations").unwrap();
/// assert_eq!(log.total, 2);
/// assert_eq!(log.last(1)[0].fields, [980_000, 512, 500]);
/// assert!(log.recent[0].at <= log.recent[1].at);
/// ```
#[derive(Clone)]
#[must_use]
pub struct RecordLog {
    pub(crate) core: Arc<RecordsCore>,
}

impl RecordLog {
    /// Statistics of records over a time range (last N seconds, minutes or hours, or between two
    /// offsets from the engine's start), from the aggregator's multi-resolution history (see
    /// [`HistoryConfig`](crate::HistoryConfig) for retention and accuracy). `None` before the
    /// first collection or for an empty range. Takes the series' history lock, never a
    /// writer's.
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the log: from now on its total and recent records cover what is recorded after
    /// this call (see [`Counter::reset`](crate::Counter::reset)).
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Records `fields`, stamped with the engine clock.
    #[inline]
    pub fn record(&self, fields: [u64; 3]) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot)
            .record(c.context.clock.raw(), fields, slot.shared);
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
    }
}

debug_handle!(RecordLog);

/// One entry of a record log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Record {
    /// When it was recorded, as time since the engine started (engine clock).
    pub at: Duration,
    /// The fields recorded with it (their meaning is the caller's: duration, size, status…).
    pub fields: [u64; 3],
}

/// A record log's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RecordsSnapshot {
    /// Records made since the start or the last reset (exact).
    pub total: u64,
    /// Increase during the last interval.
    pub delta: u64,
    /// The most recent records of every thread, merged in time order, oldest first.
    pub recent: Vec<Record>,
    /// Records overwritten in a per-thread ring before the aggregator read them.
    pub overwritten: u64,
}

impl RecordsSnapshot {
    /// The last `n` records (fewer if fewer are kept), oldest first.
    pub fn last(&self, n: usize) -> &[Record] {
        &self.recent[self.recent.len().saturating_sub(n)..]
    }
}

impl Snapshot {
    /// The unlabelled record log `name`.
    pub fn records(&self, name: &str) -> Option<&RecordsSnapshot> {
        match &self.get(name, &[])?.value {
            MetricValue::Records(r) => Some(r),
            _ => None,
        }
    }
}

impl Shared {
    /// Registers (or finds) a record log with the engine's events capacity.
    pub(crate) fn records(&self, opts: Opts) -> Result<RecordLog, RegisterError> {
        let capacity = self.events_capacity();
        let core = self.register(opts, None, |_| RingParams { capacity })?;
        Ok(RecordLog { core })
    }

    /// A record log (ring of 1) of this engine that belongs to no registry.
    pub(crate) fn unregistered_records(&self) -> RecordLog {
        RecordLog {
            core: self.unregistered(RingParams { capacity: 1 }),
        }
    }
}

impl Engine {
    /// Registers (or finds) a record log (see [`RecordLog`]) whose per-thread rings hold the
    /// engine's `events_capacity` records.
    pub fn record_log(&self, opts: impl Into<Opts>) -> Result<RecordLog, RegisterError> {
        self.shared().records(opts.into())
    }

    /// Declares a record-log family (see [`counter_family`](Self::counter_family)).
    pub fn record_log_family(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<crate::RecordsFamily, RegisterError> {
        Family::new(
            self.shared(),
            opts.into(),
            labels,
            MetricKind::Records,
            None,
            KindOps::records(),
        )
    }
}

/// A record-log family: see [`Family`].
pub type RecordsFamily = Family<RecordLog>;

impl FamilyRecord<[u64; 3]> for RecordLog {
    /// Records the fields.
    #[inline]
    fn family_record(&self, v: [u64; 3]) {
        self.record(v);
    }
}

impl KindOps<RecordLog> {
    pub(crate) fn records() -> Self {
        KindOps {
            register: |s, o, _| s.records(o),
            unregistered: Shared::unregistered_records,
            set_removed: |h: &RecordLog, removed| h.core.set_removed(removed),
            reset: RecordLog::reset,
        }
    }
}
