//! [`ShardArray`]: one lazily allocated shard per thread slot, for one metric.
//!
//! A metric owns one `ShardArray` with a pointer per thread slot (plus the shared overflow
//! slot). A thread's first record into the metric allocates its shard (cold path, once); every
//! later record is one acquire load of the pointer (a plain `mov` on x86_64) and a null check.
//! Shards are never freed before the metric itself: a slot released by an exiting thread keeps
//! its shard and its totals, and the next thread that claims the slot continues them.
//!
//! The first [`INLINE`] slot pointers live inline (slots are claimed lowest first, so most
//! metrics only ever use these); the pointers of the other slots (up to `max_threads` and the
//! overflow slot) sit in an array allocated the first time one of those slots records. A metric
//! recorded by a few threads so costs 128 bytes of pointers, not `8 × (max_threads + 1)`, and
//! the inline lookup needs no bounds check.
//!
//! Written by hand rather than with `once_cell::sync::OnceCell<Box<T>>` per slot because the
//! same code must compile into loom models through the `sync` shim; the unsafe surface is the
//! dereference of pointers that are only ever set once, from `Box::into_raw`.

use crate::sync::{AtomicPtr, AtomicU64, Ordering};
use std::marker::PhantomData;

/// Slot pointers kept inline.
pub(crate) const INLINE: usize = 16;

/// Lazily initialised per-slot shards, the first `N` slots inline (a constant, so the inline
/// lookup compares with an immediate).
pub(crate) struct ShardArray<T, const N: usize = INLINE> {
    /// Slots `0..inline_len`.
    inline: [AtomicPtr<T>; N],
    /// `min(len, N)`.
    inline_len: usize,
    /// Slots `inline_len..len`: the first of `len - inline_len` pointers (a leaked boxed
    /// slice), null until one of those slots first records.
    rest: AtomicPtr<AtomicPtr<T>>,
    len: usize,
    /// Bit `i` set once slot `i` has a shard (set after its pointer is published), so the
    /// aggregator visits allocated shards without loading every pointer.
    occupied: Box<[AtomicU64]>,
    /// The array owns the `T`s its pointers point to (drop check, auto traits).
    _owns: PhantomData<Box<T>>,
}

impl<T, const N: usize> ShardArray<T, N> {
    /// An array with `len` empty slots, the first `N` of them inline.
    pub(crate) fn new(len: usize) -> Self {
        ShardArray {
            inline: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            inline_len: len.min(N),
            rest: AtomicPtr::new(std::ptr::null_mut()),
            len,
            occupied: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            _owns: PhantomData,
        }
    }

    /// An array with `len` empty slots whose out-of-line array is allocated now: with `N = 0`,
    /// for a hash table (families), whose slots are used in no particular order, so that every
    /// lookup costs the same (loom explores each lookup the same way whatever the hash seed).
    pub(crate) fn table(len: usize) -> Self {
        let a = ShardArray::new(len);
        if len > a.inline_len {
            a.rest_or_alloc(a.inline_len);
        }
        a
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The pointer cell of `slot`, if it exists yet (`slot < len`).
    #[inline(always)]
    fn cell(&self, slot: usize) -> Option<&AtomicPtr<T>> {
        if slot < N {
            return Some(&self.inline[slot]);
        }
        self.rest_cell(slot)
    }

    #[inline]
    fn rest_cell(&self, slot: usize) -> Option<&AtomicPtr<T>> {
        // Acquire: pairs with the Release CAS in `rest_or_alloc`, so the array's null pointers
        // are initialised before we read them.
        let rest = self.rest.load(Ordering::Acquire);
        if rest.is_null() || slot >= self.len || slot < self.inline_len {
            return None;
        }
        // (1) `rest` is the first of `len - inline_len` pointers leaked from a boxed slice in
        // `rest_or_alloc`, freed only in `Drop` (`&mut self`); (2) `inline_len <= slot < len`,
        // so the offset is in bounds;
        // SAFETY: by (1) and (2); (3) the cells are atomics, shared references are sound.
        Some(unsafe { &*rest.add(slot - self.inline_len) })
    }

    /// The pointer cell of `slot ≥ inline_len`, allocating the rest array (cold).
    fn rest_or_alloc(&self, slot: usize) -> &AtomicPtr<T> {
        assert!(
            slot < self.len,
            "slot {slot} outside a shard array of {}",
            self.len
        );
        if let Some(c) = self.rest_cell(slot) {
            return c;
        }
        let fresh: Box<[AtomicPtr<T>]> = (self.inline_len..self.len)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        let fresh = Box::into_raw(fresh).cast::<AtomicPtr<T>>();
        // AcqRel: Release publishes the initialised array; Acquire (on failure) makes the
        // winner's array visible.
        if let Err(_winner) = self.rest.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            let n = self.len - self.inline_len;
            // SAFETY: `fresh` came from `Box::into_raw` of a slice of `n` cells just above and
            // was never shared.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, n)) });
        }
        self.rest_cell(slot)
            .expect("the rest array is published and slot < len")
    }

    /// The shard of `slot`, allocating it with `init` on first use.
    #[inline]
    pub(crate) fn get_or_init(&self, slot: usize, init: impl FnOnce() -> T) -> &T {
        // Two load sites, so that the inline one is a compare, a load and a null check.
        let p = if slot < N {
            // Acquire: pairs with the Release CAS in `init_slow`, so the shard's initial
            // contents are visible before we use it.
            self.inline[slot].load(Ordering::Acquire)
        } else {
            match self.rest_cell(slot) {
                // Acquire: as above.
                Some(c) => c.load(Ordering::Acquire),
                None => std::ptr::null_mut(),
            }
        };
        if p.is_null() {
            return self.init_slow(slot, init);
        }
        // (1) A non-null pointer in a cell came from `Box::into_raw` in `init_slow` and is
        // freed only in `Drop`, which needs `&mut self`, so it is live for `&self`'s lifetime;
        // (2) the Acquire load above synchronises with its publication, so it is initialised;
        // SAFETY: by (1) and (2); (3) we only hand out shared references.
        unsafe { &*p }
    }

    #[cold]
    #[inline(never)]
    fn init_slow(&self, slot: usize, init: impl FnOnce() -> T) -> &T {
        let cell = match slot < N {
            true => &self.inline[slot],
            false => self.rest_or_alloc(slot),
        };
        let fresh = Box::into_raw(Box::new(init()));
        // AcqRel: Release publishes the new shard's contents; Acquire (on failure) makes the
        // winner's shard visible to us.
        let p = match cell.compare_exchange(
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
        let p = self.cell(slot)?.load(Ordering::Acquire);
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

/// Frees the shard a cell points to, if any (`&mut` access: no reference to it is alive).
fn free<T>(p: &mut AtomicPtr<T>) {
    #[cfg(not(loom))]
    let raw = *p.get_mut();
    #[cfg(loom)]
    let raw = p.with_mut(|p| *p);
    if !raw.is_null() {
        // SAFETY: the caller holds `&mut` to the array, so no reference from `get`/
        // `get_or_init` is alive; `raw` came from `Box::into_raw` and is dropped exactly once.
        drop(unsafe { Box::from_raw(raw) });
    }
}

impl<T, const N: usize> Drop for ShardArray<T, N> {
    fn drop(&mut self) {
        self.inline.iter_mut().for_each(free);
        #[cfg(not(loom))]
        let rest = *self.rest.get_mut();
        #[cfg(loom)]
        let rest = self.rest.with_mut(|p| *p);
        if !rest.is_null() {
            let n = self.len - self.inline_len;
            // SAFETY: `rest` came from `Box::into_raw` of a slice of `n` cells in
            // `rest_or_alloc`, and `&mut self` proves no borrow of it is alive; it is
            // reboxed and dropped exactly once, here.
            let mut cells = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(rest, n)) };
            cells.iter_mut().for_each(free);
        }
    }
}

// SAFETY: the array hands out `&T` to any thread, so `T: Sync` is needed for `Sync`, and it owns
// `T`s, so `T: Send` for both; `AtomicPtr` itself is `Send + Sync`.
unsafe impl<T: Send + Sync, const N: usize> Sync for ShardArray<T, N> {}
// SAFETY: see above.
unsafe impl<T: Send + Sync, const N: usize> Send for ShardArray<T, N> {}

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

    /// Slots past the inline ones (racing first use of the rest array too), the last slot,
    /// `iter` in slot order and drop (miri: `.ci/miri.sh`).
    #[test]
    fn rest_slots_allocate_once_and_iterate_in_order() {
        let len = INLINE + 70;
        let a: ShardArray<AtomicU64> = ShardArray::new(len);
        assert!(a.get(INLINE + 3).is_none() && a.get(len).is_none());
        std::thread::scope(|s| {
            for t in 0..3u64 {
                let a = &a;
                s.spawn(move || {
                    for slot in [INLINE + 1, len - 1, 2, INLINE + 65] {
                        a.get_or_init(slot, || AtomicU64::new(0))
                            .fetch_add(t + 1, Ordering::Relaxed);
                    }
                });
            }
        });
        let seen: Vec<(usize, u64)> = a
            .iter()
            .map(|(i, c)| (i, c.load(Ordering::Relaxed)))
            .collect();
        assert_eq!(
            seen,
            vec![(2, 6), (INLINE + 1, 6), (INLINE + 65, 6), (len - 1, 6)]
        );
    }
}
