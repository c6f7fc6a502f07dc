//! One thread's share of a gauge.
#![deny(unsafe_code)]

use crate::shard::bump;
use crate::sync::{fence, AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// One thread's share of a gauge: its last `set` (seqlock-protected triple) and its cumulative
/// `add`s. The aggregator combines shards: see `collect.rs`.
pub(crate) struct GaugeShard {
    /// Even when stable; odd while a `set` is being written.
    seq: AtomicU64,
    /// f64 bits of the last set value.
    set_value: AtomicU64,
    /// Clock ticks of the last set, 0 = never set.
    set_stamp: AtomicU64,
    /// f64 bits of `adds` at the time of the last set.
    set_mark: AtomicU64,
    /// f64 bits of the sum of all adds/subs by this shard's writers (always finite).
    adds: AtomicU64,
    /// NaN/infinite inputs, and adds that would have made `adds` infinite.
    rejected: AtomicU64,
    /// Sets in the shared overflow slot that met another thread's concurrent set and were
    /// ordered just before it (the other value wins: last writer wins). Valid values, not errors.
    set_races: AtomicU64,
}

/// A gauge shard's statistics (reader half).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GaugeCounts {
    /// See the `rejected` field.
    pub(crate) rejected: u64,
    /// See the `set_races` field.
    pub(crate) set_races: u64,
}

/// A consistent read of a gauge shard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GaugeRead {
    pub(crate) set: Option<(f64, u64, f64)>,
    pub(crate) adds: f64,
}

impl GaugeShard {
    pub(crate) fn new() -> CachePadded<GaugeShard> {
        CachePadded::new(GaugeShard {
            seq: AtomicU64::new(0),
            set_value: AtomicU64::new(0),
            set_stamp: AtomicU64::new(0),
            set_mark: AtomicU64::new(0),
            adds: AtomicU64::new(0f64.to_bits()),
            rejected: AtomicU64::new(0),
            set_races: AtomicU64::new(0),
        })
    }

    #[inline]
    pub(crate) fn set(&self, v: f64, stamp: u64, shared: bool) {
        if !v.is_finite() {
            bump(&self.rejected, 1, shared);
            return;
        }
        // Relaxed: single writer of `seq` in an exclusive slot.
        let s = self.seq.load(Ordering::Relaxed);
        if shared {
            // Shared slot: take the odd state by CAS. If a concurrent setter holds it, this set
            // is ordered just before that one, which overwrites it (last writer wins): nothing
            // to store. Counted as a race, not as a rejected value.
            if s & 1 == 1
                || self
                    .seq
                    // Relaxed: the fence below orders the data stores after the odd state.
                    .compare_exchange(s, s + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                bump(&self.set_races, 1, true);
                return;
            }
        } else {
            // Relaxed: ordered before the data stores by the fence below.
            self.seq.store(s + 1, Ordering::Relaxed);
        }
        // Release fence: a reader that sees any of the stores below also sees `seq` odd.
        fence(Ordering::Release);
        // Relaxed: published by the final Release store of `seq`.
        self.set_value.store(v.to_bits(), Ordering::Relaxed);
        self.set_stamp.store(stamp.max(1), Ordering::Relaxed);
        let adds = self.adds.load(Ordering::Relaxed);
        self.set_mark.store(adds, Ordering::Relaxed);
        // Release: the data above is visible to a reader that observes the even `seq`.
        self.seq.store(s + 2, Ordering::Release);
    }

    #[inline]
    pub(crate) fn add(&self, d: f64, shared: bool) {
        if !d.is_finite() {
            bump(&self.rejected, 1, shared);
            return;
        }
        // An add that would make the accumulator infinite is rejected and counted: an infinite
        // accumulator could only ever turn into NaN (inf − inf) and stick there.
        if shared {
            // Relaxed CAS loop: overflow slot only; lock-free, never blocks.
            let updated = self
                .adds
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    let next = f64::from_bits(b) + d;
                    next.is_finite().then_some(next.to_bits())
                });
            if updated.is_err() {
                bump(&self.rejected, 1, true);
            }
        } else {
            // Relaxed: single writer.
            let next = f64::from_bits(self.adds.load(Ordering::Relaxed)) + d;
            if next.is_finite() {
                self.adds.store(next.to_bits(), Ordering::Relaxed);
            } else {
                bump(&self.rejected, 1, false);
            }
        }
    }

    /// Reader half: the statistics (Relaxed: counts, not synchronised with anything).
    pub(crate) fn counts(&self) -> GaugeCounts {
        GaugeCounts {
            rejected: self.rejected.load(Ordering::Relaxed),
            set_races: self.set_races.load(Ordering::Relaxed),
        }
    }

    /// Reader half: a consistent read, or `None` if a writer kept the seqlock busy for every
    /// try.
    pub(crate) fn read(&self) -> Option<GaugeRead> {
        for _ in 0..64 {
            // Acquire: pairs with the writer's final Release store of `seq`.
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                crate::sync::spin_loop();
                continue;
            }
            // Relaxed: validated by the seq re-check.
            let value = f64::from_bits(self.set_value.load(Ordering::Relaxed));
            let stamp = self.set_stamp.load(Ordering::Relaxed);
            let mark = f64::from_bits(self.set_mark.load(Ordering::Relaxed));
            let adds = f64::from_bits(self.adds.load(Ordering::Relaxed));
            // Acquire fence: if a data load saw a newer set's store, the re-read sees its seq.
            fence(Ordering::Acquire);
            let s2 = self.seq.load(Ordering::Relaxed);
            if s1 == s2 {
                return Some(GaugeRead {
                    set: (stamp != 0).then_some((value, stamp, mark)),
                    adds,
                });
            }
            crate::sync::spin_loop();
        }
        None
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn gauge_set_and_adds_read_back() {
        let g = GaugeShard::new();
        assert_eq!(
            g.read(),
            Some(GaugeRead {
                set: None,
                adds: 0.0
            })
        );
        g.add(2.0, false);
        g.set(10.0, 7, false);
        g.add(-0.5, false);
        g.set(f64::NAN, 8, false);
        g.add(f64::INFINITY, true);
        let r = g.read().unwrap();
        assert_eq!(r.set, Some((10.0, 7, 2.0)));
        assert_eq!(r.adds, 1.5);
        assert_eq!(g.counts().rejected, 2);
    }
}
