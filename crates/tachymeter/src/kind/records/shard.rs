//! One thread's share of a record log.
#![deny(unsafe_code)]

use crate::ring::Ring;
use crate::shard::bump;
use crate::sync::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// Words per ring entry: the clock stamp and three fields.
pub(crate) const RECORD_WORDS: usize = 4;

/// One thread's share of a record log: a total and a ring of recent timestamped records.
pub(crate) struct RecordShard {
    total: AtomicU64,
    /// Records not pushed to the ring because the slot is shared (multi-producer).
    ring_dropped: AtomicU64,
    ring: Option<Ring<RECORD_WORDS>>,
}

impl RecordShard {
    pub(crate) fn new(ring_capacity: usize, shared: bool) -> CachePadded<Self> {
        CachePadded::new(RecordShard {
            total: AtomicU64::new(0),
            ring_dropped: AtomicU64::new(0),
            ring: (!shared).then(|| Ring::new(ring_capacity)),
        })
    }

    /// Records `fields` stamped `stamp` (clock ticks).
    #[inline]
    pub(crate) fn record(&self, stamp: u64, fields: [u64; 3], shared: bool) {
        bump(&self.total, 1, shared);
        match &self.ring {
            Some(ring) => ring
                .producer()
                .push_entry([stamp, fields[0], fields[1], fields[2]]),
            None => bump(&self.ring_dropped, 1, true),
        }
    }

    /// Reader half: records made (Relaxed: a monotonic single-writer total).
    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Reader half: records not kept in a ring because the slot is shared.
    pub(crate) fn ring_dropped(&self) -> u64 {
        // Relaxed: a statistic.
        self.ring_dropped.load(Ordering::Relaxed)
    }

    /// Reader half: the ring of recent records (none in the shared slot).
    pub(crate) fn ring(&self) -> Option<&Ring<RECORD_WORDS>> {
        self.ring.as_ref()
    }
}
