//! [`ShardArray`]: one lazily allocated shard per thread slot, for one metric.
//!
//! A metric owns one `ShardArray` with a pointer per thread slot (plus the shared overflow
//! slot). A thread's first record into the metric allocates its shard (cold path, once); every
//! later record is one acquire load of the pointer (a plain `mov` on x86_64) and a null check.
//! Shards are never freed before the metric itself: a slot released by an exiting thread keeps
//! its shard and its totals, and the next thread that claims the slot continues them.
//!
//! Written by hand rather than with `once_cell::sync::OnceCell<Box<T>>` per slot because the
//! same code must compile into loom models through the `sync` shim; the unsafe surface is two
//! dereferences of pointers that are only ever set once, from `Box::into_raw`.

use crate::sync::{AtomicPtr, AtomicU64, Ordering};
use std::marker::PhantomData;

/// Lazily initialised per-slot shards.
pub(crate) struct ShardArray<T> {
    ptrs: Box<[AtomicPtr<T>]>,
    /// Bit `i` set once slot `i` has a shard (set after its pointer is published), so the
    /// aggregator visits allocated shards without loading every pointer.
    occupied: Box<[AtomicU64]>,
    /// The array owns the `T`s its pointers point to (drop check, auto traits).
    _owns: PhantomData<Box<T>>,
}

impl<T> ShardArray<T> {
    /// An array with `len` empty slots.
    pub(crate) fn new(len: usize) -> Self {
        ShardArray {
            ptrs: (0..len)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            occupied: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            _owns: PhantomData,
        }
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.ptrs.len()
    }

    /// The shard of `slot`, allocating it with `init` on first use.
    #[inline]
    pub(crate) fn get_or_init(&self, slot: usize, init: impl FnOnce() -> T) -> &T {
        // Acquire: pairs with the Release CAS in `init_slow`, so the shard's initial contents
        // are visible before we use it.
        let p = self.ptrs[slot].load(Ordering::Acquire);
        if p.is_null() {
            return self.init_slow(slot, init);
        }
        // (1) A non-null pointer in `ptrs` came from `Box::into_raw` in `init_slow` and is freed
        // only in `Drop`, which needs `&mut self`, so it is live for `&self`'s lifetime; (2) the
        // Acquire load above synchronises with its publication, so it is initialised;
        // SAFETY: by (1) and (2); (3) we only hand out shared references.
        unsafe { &*p }
    }

    #[cold]
    #[inline(never)]
    fn init_slow(&self, slot: usize, init: impl FnOnce() -> T) -> &T {
        let fresh = Box::into_raw(Box::new(init()));
        // AcqRel: Release publishes the new shard's contents; Acquire (on failure) makes the
        // winner's shard visible to us.
        let p = match self.ptrs[slot].compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // Release: a reader that sees the bit (Acquire) sees the published pointer.
                self.occupied[slot / 64].fetch_or(1 << (slot % 64), Ordering::Release);
                fresh
            }
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` just above and was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                winner
            }
        };
        // SAFETY: as in `get_or_init`: `p` is a published, live `Box` allocation.
        unsafe { &*p }
    }

    /// The shard of `slot` if a thread ever recorded into it (aggregator side).
    #[inline]
    pub(crate) fn get(&self, slot: usize) -> Option<&T> {
        // Acquire: as in `get_or_init`.
        let p = self.ptrs[slot].load(Ordering::Acquire);
        // SAFETY: as in `get_or_init`: non-null pointers are published, live `Box` allocations.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// Every allocated shard with its slot index, in slot order: one load per 64 slots plus
    /// one per shard. A shard published during the walk may be missed (the next walk has it);
    /// the allocating thread sets its bit before its first record, so a record that
    /// happened-before the walk is never missed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.occupied.iter().enumerate().flat_map(move |(w, word)| {
            // Acquire: pairs with the Release `fetch_or` in `init_slow`.
            let mut bits = word.load(Ordering::Acquire);
            std::iter::from_fn(move || loop {
                if bits == 0 {
                    return None;
                }
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // Always `Some`: the bit is set after the pointer is published.
                if let Some(s) = self.get(i) {
                    return Some((i, s));
                }
            })
        })
    }
}

impl<T> Drop for ShardArray<T> {
    fn drop(&mut self) {
        for p in self.ptrs.iter_mut() {
            #[cfg(not(loom))]
            let raw = *p.get_mut();
            #[cfg(loom)]
            let raw = p.with_mut(|p| *p);
            if !raw.is_null() {
                // SAFETY: `&mut self` proves no reference from `get`/`get_or_init` is alive;
                // `raw` came from `Box::into_raw` and is dropped exactly once, here.
                drop(unsafe { Box::from_raw(raw) });
            }
        }
    }
}

// SAFETY: the array hands out `&T` to any thread, so `T: Sync` is needed for `Sync`, and it owns
// `T`s, so `T: Send` for both; `AtomicPtr` itself is `Send + Sync`.
unsafe impl<T: Send + Sync> Sync for ShardArray<T> {}
// SAFETY: see above.
unsafe impl<T: Send + Sync> Send for ShardArray<T> {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::AtomicU64;

    /// Racing first records allocate once per slot; every thread sees the winner's shard; drop
    /// frees each shard once (run under miri by `.ci/miri.sh` to check the unsafe code).
    #[test]
    fn racing_init_publishes_one_shard_per_slot() {
        let a: ShardArray<AtomicU64> = ShardArray::new(2);
        let ptrs: Vec<usize> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let r = a.get_or_init(1, || AtomicU64::new(7));
                        r.fetch_add(1, Ordering::Relaxed);
                        r as *const AtomicU64 as usize
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ptrs.windows(2).all(|w| w[0] == w[1]));
        assert!(a.get(0).is_none());
        assert_eq!(a.get(1).unwrap().load(Ordering::Relaxed), 10);
        assert_eq!(a.iter().count(), 1);
    }
}
