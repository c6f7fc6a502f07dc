//! Metric handles: the hot path.
//!
//! A handle is an `Arc` to its metric's core, resolved once at registration. A record finds the
//! calling thread's slot (thread-local cache hit: one compare), the thread's shard (one load and
//! a null check), and writes it with single-writer stores. The thread-owned views (`Local*`)
//! skip the first two steps.
#![deny(unsafe_code)]

use crate::context::EngineContext;
use crate::desc::MetricDesc;
use crate::local::slot_for;
use crate::shard::RecordShard;
use crate::shard_array::ShardArray;
use crate::slots::SlotId;
use crate::sync::{Arc, AtomicBool, Ordering};
use crossbeam_utils::CachePadded;

/// What every handle of one metric shares: its identity, its engine, one lazily allocated
/// shard per thread slot, and the kind's own parameters `P`.
pub(crate) struct Core<S, P = ()> {
    pub(crate) engine_id: u64,
    pub(crate) desc: Arc<MetricDesc>,
    pub(crate) context: Arc<EngineContext>,
    pub(crate) shards: ShardArray<CachePadded<S>>,
    pub(crate) params: P,
    /// Position in the registry (and the aggregator's collectors), or `usize::MAX` for a core
    /// that belongs to no registry.
    pub(crate) index: usize,
    /// Time ranges: written by the aggregator once per interval, read by `range` queries.
    pub(crate) history: crate::history::History,
    /// Set when the series was removed (it leaves the snapshots; its shards and totals stay,
    /// and registering it again brings it back). Cold path only.
    removed: AtomicBool,
}

impl<S, P> Core<S, P> {
    /// A metric of `context`'s engine with no shard allocated yet (cold path: registration).
    pub(crate) fn new(
        desc: Arc<MetricDesc>,
        context: &Arc<EngineContext>,
        params: P,
        index: usize,
    ) -> Self {
        Core {
            engine_id: context.id,
            desc,
            shards: ShardArray::new(context.slots.shard_len()),
            context: context.clone(),
            params,
            index,
            history: crate::history::History::default(),
            removed: AtomicBool::new(false),
        }
    }

    /// Marks the series removed (the next snapshots leave it out) or present again.
    pub(crate) fn set_removed(&self, removed: bool) {
        // Relaxed: read by the aggregator at its next collection; no data depends on it.
        self.removed.store(removed, Ordering::Relaxed);
    }

    /// Resets the metric: statistics read after this call cover only what is recorded after
    /// it (no-op for a handle that belongs to no registry, or once the engine is gone).
    pub(crate) fn reset(&self) {
        if let Some(engine) = self.context.engine() {
            engine.reset(self.index);
        }
    }

    /// Statistics of `range` (see [`Range`](crate::Range)); `None` before the first collection
    /// or for an empty range.
    pub(crate) fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.history.query(range)
    }

    /// Brings a removed series back (registration found it again).
    pub(crate) fn revive(&self) {
        self.set_removed(false);
    }

    /// Whether the series is removed.
    pub(crate) fn is_removed(&self) -> bool {
        // Relaxed: as in `set_removed`.
        self.removed.load(Ordering::Relaxed)
    }
}

/// A ring-backed log's per-thread ring capacity (event logs and record logs: the engine's
/// `events_capacity`).
pub(crate) struct RingParams {
    pub(crate) capacity: usize,
}

pub(crate) type RecordsCore = Core<RecordShard, RingParams>;

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
    /// this call (see [`Counter::reset`]).
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

/// Implements `Debug` for handles (`name` and `labels` of their core's description).
macro_rules! debug_handle {
    ($($t:ident),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("name", &self.core.desc.name)
                    .field("labels", &self.core.desc.labels)
                    .finish()
            }
        }
    )*};
}
pub(crate) use debug_handle;
debug_handle!(RecordLog);
