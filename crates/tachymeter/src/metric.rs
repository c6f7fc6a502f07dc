//! The core every metric handle shares, whatever its kind: identity, engine context, one lazily
//! allocated shard per thread slot, the kind's parameters, time-range history and the removed
//! flag; plus what several kinds share (`RingParams`, the handles' `Debug`). The handles
//! themselves live with their kinds (`kind/<kind>/mod.rs`).
//!
//! A handle is an `Arc` to its metric's core, resolved once at registration. A record finds the
//! calling thread's slot (thread-local cache hit: one compare), the thread's shard (one load and
//! a null check), and writes it with single-writer stores. The thread-owned views (`Local*`)
//! skip the first two steps.
#![deny(unsafe_code)]

use crate::context::EngineContext;
use crate::desc::MetricDesc;
use crate::shard_array::ShardArray;
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
