//! [`SetOnceTable`]: a bounded hash table whose entries are written once and found without a
//! lock, for the state a monitor keeps per key (a query fingerprint, an operation type).
//!
//! Slots are `OnceCell`s in an open-addressing array of twice the bound (rounded up to a power
//! of two), so a probe always meets an empty slot and ends. Entries are inserted under one
//! mutex (the cold path: the first record of a key) and never removed or moved, so a lookup
//! that reaches an empty slot has seen every slot the key could occupy.
//!
//! # Synchronization
//! `OnceCell::set` publishes an entry with `Release` and `OnceCell::get` reads it with
//! `Acquire`: a reader that sees an entry sees it fully built. `len` is written only under
//! `insert`; the fast refusal outside the lock reads it `Relaxed` and the exact check is
//! repeated under the lock.

use once_cell::sync::OnceCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// A bounded, insert-only hash table with lock-free lookups (see the module docs).
pub(crate) struct SetOnceTable<V> {
    slots: Box<[OnceCell<(u64, V)>]>,
    mask: usize,
    bound: usize,
    /// Entries held (written under `insert`).
    len: AtomicUsize,
    /// Serialises inserts.
    insert: Mutex<()>,
}

impl<V> SetOnceTable<V> {
    /// A table that holds at most `bound` entries.
    pub(crate) fn new(bound: usize) -> Self {
        let capacity = (2 * bound).next_power_of_two().max(2);
        SetOnceTable {
            slots: (0..capacity).map(|_| OnceCell::new()).collect(),
            mask: capacity - 1,
            bound,
            len: AtomicUsize::new(0),
            insert: Mutex::new(()),
        }
    }

    /// The entry with this hash for which `eq` holds: no lock, no allocation.
    #[inline]
    pub(crate) fn find(&self, hash: u64, eq: impl Fn(&V) -> bool) -> Option<&V> {
        let mut i = hash as usize & self.mask;
        loop {
            // Acquire (inside `get`): pairs with the `Release` of `set` in `insert_with`.
            match self.slots[i].get() {
                None => return None,
                Some((h, v)) if *h == hash && eq(v) => return Some(v),
                Some(_) => i = (i + 1) & self.mask,
            }
        }
    }

    /// The entry for `hash`/`eq`, inserting `make()` if there is none; `None` if the table
    /// already holds its bound of entries.
    #[cold]
    #[inline(never)]
    pub(crate) fn insert_with(
        &self,
        hash: u64,
        eq: impl Fn(&V) -> bool,
        make: impl FnOnce() -> V,
    ) -> Option<&V> {
        // Relaxed: a fast refusal when full; the exact check is repeated under the lock.
        if self.len.load(Ordering::Relaxed) >= self.bound {
            return self.find(hash, eq);
        }
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = self.find(hash, &eq) {
            return Some(v);
        }
        // Relaxed: written only under `insert`, which we hold.
        let len = self.len.load(Ordering::Relaxed);
        if len >= self.bound {
            return None;
        }
        let mut i = hash as usize & self.mask;
        // A free slot exists: at most `bound` entries in at least `2·bound` slots.
        while self.slots[i].get().is_some() {
            i = (i + 1) & self.mask;
        }
        // Release (inside `set`): publishes the built entry to `find`.
        let _ = self.slots[i].set((hash, make()));
        self.len.store(len + 1, Ordering::Relaxed);
        self.slots[i].get().map(|(_, v)| v)
    }

    /// Every entry, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().filter_map(|s| s.get().map(|(_, v)| v))
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a statistic.
        self.len.load(Ordering::Relaxed)
    }

    /// The most entries the table holds.
    pub(crate) fn bound(&self) -> usize {
        self.bound
    }
}

impl<V> std::fmt::Debug for SetOnceTable<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetOnceTable")
            .field("len", &self.len())
            .field("bound", &self.bound)
            .finish()
    }
}

/// FNV-1a, 64 bits: a fixed, seedless hash, so fingerprints are the same in every process.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(pub(crate) u64);

impl Fnv {
    pub(crate) const NEW: Fnv = Fnv(0xcbf2_9ce4_8422_2325);

    #[inline]
    pub(crate) fn byte(self, b: u8) -> Fnv {
        Fnv((self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
    }

    #[inline]
    pub(crate) fn bytes(self, bytes: &[u8]) -> Fnv {
        bytes.iter().fold(self, |h, &b| h.byte(b))
    }
}

/// The table hash of a string key.
#[inline]
pub(crate) fn str_hash(s: &str) -> u64 {
    Fnv::NEW.bytes(s.as_bytes()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_inserted_and_stops_at_the_bound() {
        let t: SetOnceTable<String> = SetOnceTable::new(3);
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            let h = str_hash(k) & 1; // force collisions
            let v = t.insert_with(h, |v| v == k, || k.to_string()).unwrap();
            assert_eq!(v, k);
            assert_eq!(t.len(), i + 1);
        }
        // Present: found again without inserting.
        assert_eq!(
            t.insert_with(str_hash("a") & 1, |v| v == "a", || unreachable!())
                .map(String::as_str),
            Some("a")
        );
        // Full: refused.
        assert!(t.insert_with(5, |v| v == "d", || "d".into()).is_none());
        for k in ["a", "b", "c"] {
            assert_eq!(
                t.find(str_hash(k) & 1, |v| v == k).map(String::as_str),
                Some(k)
            );
        }
        assert!(t.find(5, |v| v == "d").is_none());
        assert_eq!(t.iter().count(), 3);
    }

    #[test]
    fn concurrent_inserts_of_one_key_make_one_entry() {
        let t: SetOnceTable<u64> = SetOnceTable::new(8);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for k in 0..8u64 {
                        let h = Fnv::NEW.byte(k as u8).0;
                        assert_eq!(*t.insert_with(h, |v| *v == k, || k).unwrap(), k);
                    }
                });
            }
        });
        assert_eq!(t.len(), 8);
        let mut all: Vec<u64> = t.iter().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..8).collect::<Vec<_>>());
    }
}
