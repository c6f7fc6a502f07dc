//! The floors: the cheapest ways to count, against which every library is compared.
//!
//! * [`tls_add`]: a thread-local plain `u64` (no atomics; unreadable by another thread).
//! * [`PaddedSlots`]: each thread owns a `CachePadded<AtomicU64>` and does a single-writer
//!   `store(load + n, Relaxed)` — the model of tachymeter's counter shard.
//! * [`SharedCounter`]: one `AtomicU64::fetch_add` shared by every thread (a locked RMW, and the
//!   cache line ping-pongs between cores under contention).
//! * [`log_bucket`]: the index math of a power-of-two histogram (what a histogram record costs on
//!   top of the counter floor).
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

thread_local! {
    static TLS_TOTAL: Cell<u64> = const { Cell::new(0) };
}

/// Adds `n` to this thread's plain thread-local total.
#[inline]
pub fn tls_add(n: u64) {
    TLS_TOTAL.with(|c| {
        // black_box: the bench loop must load and store every iteration, not keep the total in a
        // register and store once at the end.
        let c = black_box(c);
        c.set(c.get().wrapping_add(n));
    });
}

/// Reads this thread's thread-local total.
#[must_use]
pub fn tls_total() -> u64 {
    TLS_TOTAL.with(Cell::get)
}

/// One cache-padded single-writer slot per thread.
#[derive(Debug)]
pub struct PaddedSlots {
    slots: Box<[CachePadded<AtomicU64>]>,
}

impl PaddedSlots {
    /// `threads` slots, each on its own cache line pair.
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Self {
            slots: (0..threads)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
        }
    }

    /// The slot owned by thread `tid`; only that thread may call [`PaddedSlot::add`] on it.
    #[must_use]
    pub fn slot(&self, tid: usize) -> PaddedSlot<'_> {
        PaddedSlot(&self.slots[tid])
    }

    /// Sum over every slot (what an aggregator would read).
    #[must_use]
    pub fn total(&self) -> u64 {
        // Relaxed: a statistics read; no other memory is published through these slots.
        self.slots.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }
}

/// A borrowed single-writer slot.
#[derive(Debug, Clone, Copy)]
pub struct PaddedSlot<'a>(&'a AtomicU64);

impl PaddedSlot<'_> {
    /// `store(load + n)`: no locked instruction, valid because this thread is the only writer.
    #[inline]
    pub fn add(self, n: u64) {
        // Relaxed both ways: single writer, so the load sees our own last store; readers only
        // need an eventually visible monotonic total.
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
}

/// One shared counter, `fetch_add` from every thread.
#[derive(Debug, Default)]
pub struct SharedCounter(AtomicU64);

impl SharedCounter {
    /// A locked read-modify-write.
    #[inline]
    pub fn add(&self, n: u64) {
        // Relaxed: only the total matters; nothing is published through it.
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Current total.
    #[must_use]
    pub fn get(&self) -> u64 {
        // Relaxed: a statistics read.
        self.0.load(Ordering::Relaxed)
    }
}

/// Power-of-two bucket index of `v` (0 for 0, 64 for values ≥ 2^63).
#[inline]
#[must_use]
pub fn log_bucket(v: u64) -> usize {
    64 - v.leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_count() {
        tls_add(3);
        assert_eq!(tls_total(), 3);
        let s = PaddedSlots::new(2);
        s.slot(0).add(2);
        s.slot(1).add(5);
        assert_eq!(s.total(), 7);
        let c = SharedCounter::default();
        c.add(4);
        assert_eq!(c.get(), 4);
        assert_eq!(
            (
                log_bucket(0),
                log_bucket(1),
                log_bucket(1024),
                log_bucket(u64::MAX)
            ),
            (0, 1, 11, 64)
        );
        let a = &s.slots[0] as *const _ as usize;
        let b = &s.slots[1] as *const _ as usize;
        assert!(b - a >= 64);
    }
}
