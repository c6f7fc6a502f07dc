//! Thread slots: a fixed table, claimed by CAS, released on thread exit, never freed.
//!
//! Every recording thread owns one slot of its engine's table; a slot index selects the
//! thread's shard in every metric's [`ShardArray`](crate::shard_array::ShardArray). Slot
//! `capacity` (one past the table) is the **overflow slot**: when every slot is taken, a thread
//! records there instead of failing. The overflow slot is shared, so its writes use atomic
//! read-modify-write instructions; that is slower, but never a panic, a lock or a lost record.
//!
//! # Synchronization
//!
//! A slot's state flips `free → taken` by a CAS with `Acquire` and `taken → free` by a store with
//! `Release`. The release by an exiting owner therefore happens-before the claim by the next
//! owner, so the next owner's first `load` of each shard total sees the previous owner's last
//! `store`, and its `store(load + n)` continues the total instead of overwriting a newer value.
//! Totals never go backwards and nothing recorded by an exited thread is lost.
#![deny(unsafe_code)]

use crate::sync::{AtomicBool, AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// A claimed slot: the shard index and whether the slot is the shared overflow slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotId {
    /// Index into every metric's shard array.
    pub(crate) index: u32,
    /// True for the overflow slot: writes must be atomic read-modify-writes.
    pub(crate) shared: bool,
}

/// The slot table of one engine.
pub(crate) struct SlotTable {
    /// `true` = taken. Padded: claims and releases by different threads must not contend.
    taken: Box<[CachePadded<AtomicBool>]>,
    /// How many claims fell back to the overflow slot (cold path only).
    overflow_claims: AtomicU64,
    /// Claims ever made, including reuse of released slots (cold path only).
    claims: AtomicU64,
}

impl SlotTable {
    /// A table with `capacity` exclusive slots plus the overflow slot.
    pub(crate) fn new(capacity: usize) -> Self {
        SlotTable {
            taken: (0..capacity)
                .map(|_| CachePadded::new(AtomicBool::new(false)))
                .collect(),
            overflow_claims: AtomicU64::new(0),
            claims: AtomicU64::new(0),
        }
    }

    /// Exclusive slots (the overflow slot not included).
    pub(crate) fn capacity(&self) -> usize {
        self.taken.len()
    }

    /// Shard arrays need one entry per exclusive slot plus the overflow slot.
    pub(crate) fn shard_len(&self) -> usize {
        self.taken.len() + 1
    }

    /// Claims a free slot, or the overflow slot when the table is full. Never blocks.
    #[cold]
    pub(crate) fn claim(&self) -> SlotId {
        // Relaxed: statistics only.
        self.claims.fetch_add(1, Ordering::Relaxed);
        for (i, t) in self.taken.iter().enumerate() {
            // Relaxed pre-check avoids a locked CAS on slots that are visibly taken.
            if !t.load(Ordering::Relaxed)
                // Acquire: the previous owner's release of this slot (and so all its shard
                // stores) happens-before our first shard load. See the module docs.
                && t.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return SlotId {
                    index: i as u32,
                    shared: false,
                };
            }
        }
        // Relaxed: statistics only.
        self.overflow_claims.fetch_add(1, Ordering::Relaxed);
        self.overflow()
    }

    /// The shared overflow slot.
    pub(crate) fn overflow(&self) -> SlotId {
        SlotId {
            index: self.taken.len() as u32,
            shared: true,
        }
    }

    /// Releases `slot` (a no-op for the overflow slot).
    pub(crate) fn release(&self, slot: SlotId) {
        if !slot.shared {
            // Release: publishes every shard store of this owner to the next claimer.
            self.taken[slot.index as usize].store(false, Ordering::Release);
        }
    }

    /// Slots currently taken.
    pub(crate) fn active(&self) -> usize {
        // Relaxed: an approximate gauge for statistics.
        self.taken
            .iter()
            .filter(|t| t.load(Ordering::Relaxed))
            .count()
    }

    /// Claims that found the table full.
    pub(crate) fn overflow_claims(&self) -> u64 {
        self.overflow_claims.load(Ordering::Relaxed)
    }

    /// Claims ever made.
    pub(crate) fn claims(&self) -> u64 {
        self.claims.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn claim_release_reuse_and_overflow() {
        let t = SlotTable::new(2);
        let a = t.claim();
        let b = t.claim();
        assert!(!a.shared && !b.shared && a.index != b.index);
        let c = t.claim();
        assert_eq!(c, t.overflow());
        assert_eq!(t.overflow_claims(), 1);
        t.release(a);
        assert_eq!(t.claim(), a);
        assert_eq!(t.active(), 2);
        t.release(c); // no-op
        assert_eq!(t.active(), 2);
    }

    #[test]
    fn slots_are_cache_line_isolated() {
        let t = SlotTable::new(4);
        let a = &*t.taken[0] as *const AtomicBool as usize;
        let b = &*t.taken[1] as *const AtomicBool as usize;
        assert_eq!(a % std::mem::align_of::<CachePadded<u8>>(), 0);
        assert!(b - a >= 64, "neighbouring slots {} bytes apart", b - a);
    }
}
