//! The concurrency vocabulary: the only module that names `std::sync::atomic`, `loom`,
//! `thread_local!`, `UnsafeCell` or `arc_swap` (enforced by the `sync_shim_is_the_only_door`
//! test, which scans the sources).
//!
//! In normal builds it re-exports `std`; under `--cfg loom` the same names come from `loom`, so
//! the shard, ring, slot and publication code compiles unchanged into loom models. Two things
//! differ by build:
//! - [`SnapshotCell`] is an `ArcSwap` normally and a loom-visible `Mutex<Arc<_>>` under loom
//!   (arc-swap's internals are invisible to loom);
//! - there is no `static` atomic under loom (loom atomics have no `const fn new`), so the
//!   process-wide engine-id counter always uses `std`: it is not part of any modelled protocol.

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

/// `std`'s `Arc` in both builds: reference counts are not part of any modelled protocol, and
/// snapshots and descriptions are compared and shared with code outside the models.
pub(crate) use std::sync::{Arc, Weak};

/// Spin hint for bounded retry loops; under loom it yields so models terminate.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Gives up the CPU in a retry loop that waits for another thread (cold paths only).
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Locks `m`, recovering the data if a panicking thread poisoned it: every critical section in
/// this crate leaves its data consistent at each step, so poison carries no information here.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
}

/// A fresh process-wide id (never 0) that distinguishes engines in the thread-local cache.
pub(crate) fn next_engine_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // Relaxed: only uniqueness matters, and fetch_add gives that under any ordering.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A fresh process-wide number (never 0) naming a state of some aggregator data, so that a
/// recycled snapshot value can tell whether it already holds that state.
pub(crate) fn next_stamp() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // Relaxed: only uniqueness matters, and fetch_add gives that under any ordering.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The publication cell for immutable snapshots: readers load, one writer (the aggregator,
/// serialised by its mutex) stores.
pub(crate) struct SnapshotCell<T> {
    #[cfg(not(loom))]
    inner: arc_swap::ArcSwap<T>,
    #[cfg(loom)]
    inner: Mutex<Arc<T>>,
}

impl<T> SnapshotCell<T> {
    pub(crate) fn new(value: Arc<T>) -> Self {
        SnapshotCell {
            #[cfg(not(loom))]
            inner: arc_swap::ArcSwap::new(value),
            #[cfg(loom)]
            inner: Mutex::new(value),
        }
    }

    /// The current value; lock-free and wait-free for readers in normal builds.
    #[inline]
    pub(crate) fn load(&self) -> Arc<T> {
        #[cfg(not(loom))]
        {
            self.inner.load_full()
        }
        #[cfg(loom)]
        {
            self.inner.lock().unwrap().clone()
        }
    }

    /// Publishes `value`, returning the previous one (so it can be recycled).
    pub(crate) fn swap(&self, value: Arc<T>) -> Arc<T> {
        #[cfg(not(loom))]
        {
            self.inner.swap(value)
        }
        #[cfg(loom)]
        {
            std::mem::replace(&mut *self.inner.lock().unwrap(), value)
        }
    }
}

/// Thread-local storage for the plain-handle slot cache. Not compiled under loom: loom models
/// use explicit `LocalRecorder`s (thread-local destructors touching loom state panic at model
/// teardown).
#[cfg(not(loom))]
pub(crate) use std::thread_local;
