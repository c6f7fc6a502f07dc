//! A counting global allocator: bytes and calls, per thread and process-wide.
//!
//! A binary opts in with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`. The
//! per-thread counters let the `memory` binary attribute to one thread exactly what its first
//! record allocated, without the background aggregator's allocations leaking in.
#![allow(unsafe_code)] // implementing `GlobalAlloc` is unsafe by definition; nothing else here is.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    // const-initialised Cells without destructors: touching them never allocates, so the
    // allocator may use them.
    static THREAD_BYTES: Cell<u64> = const { Cell::new(0) };
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

static TOTAL_BYTES: AtomicU64 = AtomicU64::new(0);
static TOTAL_ALLOCS: AtomicU64 = AtomicU64::new(0);

/// Forwards to [`System`] and counts every allocation (and the growth of reallocations).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

/// Allocation counters at one point in time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Bytes requested by `alloc`/`alloc_zeroed`, plus growth requested by `realloc`.
    pub bytes: u64,
    /// Number of `alloc`/`alloc_zeroed`/`realloc` calls.
    pub allocs: u64,
}

impl Counts {
    /// What happened between `earlier` and `self`.
    #[must_use]
    pub fn since(self, earlier: Counts) -> Counts {
        Counts {
            bytes: self.bytes - earlier.bytes,
            allocs: self.allocs - earlier.allocs,
        }
    }
}

/// This thread's counters.
#[must_use]
pub fn thread_counts() -> Counts {
    Counts {
        bytes: THREAD_BYTES.with(Cell::get),
        allocs: THREAD_ALLOCS.with(Cell::get),
    }
}

/// Process-wide counters.
#[must_use]
pub fn total_counts() -> Counts {
    // Relaxed: statistics, read after the work being measured has been joined.
    Counts {
        bytes: TOTAL_BYTES.load(Ordering::Relaxed),
        allocs: TOTAL_ALLOCS.load(Ordering::Relaxed),
    }
}

fn count(bytes: usize) {
    let bytes = bytes as u64;
    // `try_with`: the thread-local may already be gone while a thread's destructors run.
    let _ = THREAD_BYTES.try_with(|c| c.set(c.get() + bytes));
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + 1));
    // Relaxed: statistics only.
    TOTAL_BYTES.fetch_add(bytes, Ordering::Relaxed);
    TOTAL_ALLOCS.fetch_add(1, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is upheld by `System`; the counting touches only atomics and
// const-initialised thread-locals, which never allocate or unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: (1) the caller upholds `alloc`'s contract for `layout`; we pass it through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: (1) as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: (1) `ptr` was returned by `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size.saturating_sub(layout.size()));
        // SAFETY: (1) `ptr`/`layout` came from this allocator (i.e. `System`); (2) the caller
        // guarantees `new_size` is valid for `layout.align()`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
