//! One thread's share of an event log.
#![deny(unsafe_code)]

use crate::ring::Ring;
use crate::shard::bump;
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// One thread's share of an event log: a total and a ring of recent events.
pub(crate) struct EventShard {
    total: AtomicU64,
    /// Events not pushed to the ring because the slot is shared (multi-producer).
    ring_dropped: AtomicU64,
    ring: Option<Ring>,
}

impl EventShard {
    pub(crate) fn new(ring_capacity: usize, shared: bool) -> CachePadded<Self> {
        CachePadded::new(EventShard {
            total: AtomicU64::new(0),
            ring_dropped: AtomicU64::new(0),
            ring: (!shared).then(|| Ring::new(ring_capacity)),
        })
    }

    #[inline]
    pub(crate) fn record(&self, packed: u64, shared: bool) {
        bump(&self.total, 1, shared);
        match &self.ring {
            Some(ring) => ring.producer().push(packed),
            None => bump(&self.ring_dropped, 1, true),
        }
    }

    /// Reader half: events recorded (Relaxed: a monotonic single-writer total).
    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Reader half: events not kept in a ring because the slot is shared.
    pub(crate) fn ring_dropped(&self) -> u64 {
        // Relaxed: a statistic.
        self.ring_dropped.load(Ordering::Relaxed)
    }

    /// Reader half: the ring of recent events (none in the shared slot).
    pub(crate) fn ring(&self) -> Option<&Ring> {
        self.ring.as_ref()
    }
}
