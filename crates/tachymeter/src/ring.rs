//! A fixed-capacity, overwriting, single-producer ring of recent `u64` samples.
//!
//! The owning thread pushes through [`Producer`]; the aggregator reads everything pushed since
//! its last read through [`Consumer`]. A full ring **overwrites** the oldest sample (the "last N
//! measurements" window wants the newest data); samples overwritten before the aggregator read
//! them are counted by the consumer as lost, never silently. The producer never reads anything
//! the consumer writes, never blocks, never allocates.
//!
//! # Synchronization
//!
//! The producer keeps two wide (never wrapping in practice) indices: `reserved`, the number of
//! pushes started, and `head`, the number completed. A push is
//! `reserved = h+1; fence(Release); cell[h % cap] = v; head = h+1 (Release)`.
//! The consumer reads `head` (Acquire), copies cells `[from, head)`, then `fence(Acquire)` and
//! reads `reserved`. If a copied cell already held an overwriting sample, the fence pair makes
//! that overwrite's `reserved` store visible, so every index below `reserved - cap` is treated as
//! lost; the rest were read intact. This is the seqlock argument with the ring's index as the
//! sequence.
#![deny(unsafe_code)]

use crate::sync::{fence, AtomicU64, Ordering};

/// The ring's storage: `W` words per entry (1 for samples and events, 4 for a timestamped
/// record). Roles are enforced by [`Producer`] and [`Consumer`].
pub struct Ring<const W: usize = 1> {
    /// Written by the producer only: pushes started.
    reserved: AtomicU64,
    /// Written by the producer only: pushes completed.
    head: AtomicU64,
    /// Written by the producer only; read by the consumer. An entry's words are validated
    /// together (the `reserved` check covers the whole cell).
    cells: Box<[[AtomicU64; W]]>,
    mask: u64,
}

impl<const W: usize> Ring<W> {
    /// A ring holding `capacity` entries (rounded up to a power of two, at least 1).
    pub fn new(capacity: usize) -> Ring<W> {
        let cap = capacity.max(1).next_power_of_two();
        Ring {
            reserved: AtomicU64::new(0),
            head: AtomicU64::new(0),
            cells: (0..cap)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            mask: cap as u64 - 1,
        }
    }

    /// Capacity in samples.
    #[cfg(any(test, loom, fuzzing))]
    pub fn capacity(&self) -> usize {
        self.cells.len()
    }

    /// The producer role. Only the owning thread of the shard may use it (the caller guarantees
    /// this by owning the thread slot).
    #[inline]
    pub fn producer(&self) -> Producer<'_, W> {
        Producer { ring: self }
    }

    /// The consumer role (aggregator only, serialised by the aggregator's mutex).
    pub fn consumer(&self) -> Consumer<'_, W> {
        Consumer { ring: self }
    }
}

/// Pushes entries; one thread at a time.
pub struct Producer<'a, const W: usize = 1> {
    ring: &'a Ring<W>,
}

impl<const W: usize> Producer<'_, W> {
    /// Appends `entry`, overwriting the oldest entry when full.
    #[inline]
    pub fn push_entry(&self, entry: [u64; W]) {
        let r = self.ring;
        // Relaxed: we are the only writer of `head`.
        let h = r.head.load(Ordering::Relaxed);
        // Relaxed + fence(Release): the fence orders this store before the cell stores below,
        // so a consumer that sees a new cell word also sees `reserved > h` (module docs).
        r.reserved.store(h + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        let cell = &r.cells[(h & r.mask) as usize];
        for (word, v) in cell.iter().zip(entry) {
            word.store(v, Ordering::Relaxed);
        }
        // Release: the cell words are visible to a consumer that observes the new head.
        r.head.store(h + 1, Ordering::Release);
    }
}

impl Producer<'_, 1> {
    /// Appends `v`, overwriting the oldest sample when full.
    #[inline]
    pub fn push(&self, v: u64) {
        self.push_entry([v]);
    }
}

/// Reads what was pushed since the last read.
pub struct Consumer<'a, const W: usize = 1> {
    ring: &'a Ring<W>,
}

impl<const W: usize> Consumer<'_, W> {
    /// Appends to `out` the entries pushed in `[*pos, head)` that are still intact, oldest
    /// first; advances `*pos` to `head` and returns how many entries were lost to overwriting.
    pub fn read_entries_since(&self, pos: &mut u64, out: &mut Vec<[u64; W]>) -> u64 {
        // Relaxed: validated by the fence + `reserved` check in `read_into`.
        self.read_into(pos, out, |cell| {
            std::array::from_fn(|w| cell[w].load(Ordering::Relaxed))
        })
    }

    /// The read protocol, with `load` turning a cell into what `out` holds.
    fn read_into<T>(
        &self,
        pos: &mut u64,
        out: &mut Vec<T>,
        load: impl Fn(&[AtomicU64; W]) -> T,
    ) -> u64 {
        let r = self.ring;
        let cap = r.cells.len() as u64;
        // Acquire: every cell store before this head is visible.
        let head = r.head.load(Ordering::Acquire);
        let from = (*pos).max(head.saturating_sub(cap));
        let start_len = out.len();
        for i in from..head {
            // `load` uses Relaxed loads: validated below by the fence + `reserved` check.
            out.push(load(&r.cells[(i & r.mask) as usize]));
        }
        // Acquire fence: if any load above saw an overwriting store, the producer's
        // `reserved` store that precedes it is visible to the load below.
        fence(Ordering::Acquire);
        let reserved = r.reserved.load(Ordering::Relaxed);
        let valid_from = from.max(reserved.saturating_sub(cap)).min(head);
        let torn = (valid_from - from) as usize;
        out.drain(start_len..start_len + torn);
        let lost = valid_from - (*pos).min(valid_from);
        *pos = head;
        lost
    }
}

impl Consumer<'_, 1> {
    /// Appends to `out` the samples pushed in `[*pos, head)` that are still intact, oldest
    /// first; advances `*pos` to `head` and returns how many samples were lost to overwriting.
    pub fn read_since(&self, pos: &mut u64, out: &mut Vec<u64>) -> u64 {
        // Relaxed: validated by the fence + `reserved` check in `read_into`.
        self.read_into(pos, out, |cell| cell[0].load(Ordering::Relaxed))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    proptest! {
        /// Model: a VecDeque of everything pushed since the last read, trimmed to the capacity.
        /// Single-threaded, so nothing is torn: exactly the overwritten samples are lost.
        #[test]
        fn ring_matches_vecdeque_model(cap in 1usize..17, ops in prop::collection::vec(prop_oneof![any::<u64>().prop_map(Some), Just(None)], 0..300)) {
            let ring = Ring::new(cap);
            let cap = ring.capacity();
            let mut model: VecDeque<u64> = VecDeque::new();
            let mut model_lost = 0u64;
            let mut pos = 0;
            let (mut total_read, mut total_lost, mut pushed) = (0u64, 0u64, 0u64);
            for op in ops {
                match op {
                    Some(v) => {
                        ring.producer().push(v);
                        pushed += 1;
                        model.push_back(v);
                        if model.len() > cap {
                            model.pop_front();
                            model_lost += 1;
                        }
                    }
                    None => {
                        let mut out = Vec::new();
                        let lost = ring.consumer().read_since(&mut pos, &mut out);
                        prop_assert_eq!(&out, &model.drain(..).collect::<Vec<_>>());
                        prop_assert_eq!(lost, model_lost);
                        total_read += out.len() as u64;
                        total_lost += lost;
                        model_lost = 0;
                    }
                }
            }
            let mut out = Vec::new();
            total_lost += ring.consumer().read_since(&mut pos, &mut out);
            total_read += out.len() as u64;
            prop_assert_eq!(total_read + total_lost, pushed);
        }
    }

    #[test]
    fn concurrent_reader_sees_no_duplicates_or_invented_values() {
        let ring = std::sync::Arc::new(Ring::new(64));
        let r2 = ring.clone();
        let n = 200_000u64;
        let w = std::thread::spawn(move || {
            for i in 1..=n {
                r2.producer().push(i);
            }
        });
        let (mut pos, mut last, mut seen, mut lost) = (0u64, 0u64, 0u64, 0u64);
        loop {
            let done = w.is_finished();
            let mut out = Vec::new();
            lost += ring.consumer().read_since(&mut pos, &mut out);
            for v in out {
                assert!(v > last, "out of order or duplicate: {v} after {last}");
                last = v;
                seen += 1;
            }
            if done {
                break;
            }
        }
        w.join().unwrap();
        let mut out = Vec::new();
        lost += ring.consumer().read_since(&mut pos, &mut out);
        seen += out.len() as u64;
        assert_eq!(seen + lost, n);
        assert_eq!(last.max(out.last().copied().unwrap_or(0)), n);
    }
}
