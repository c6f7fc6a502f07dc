//! [`CountingAllocator`]: an optional global allocator that counts the bytes each thread
//! allocates and frees, so the [`Profiler`](crate::Profiler) can report the memory an operation
//! allocated (the seeds' `memory_delta_mb`) exactly.
//!
//! Install it in the binary (never in a library):
//!
//! ```
//! #[global_allocator]
//! static ALLOC: tachymeter_monitor::CountingAllocator = tachymeter_monitor::CountingAllocator::system();
//!
//! let before = tachymeter_monitor::thread_allocations().unwrap();
//! let v = vec![0u8; 4096];
//! let after = tachymeter_monitor::thread_allocations().unwrap();
//! assert_eq!(after.allocated - before.allocated, 4096);
//! # drop(v);
//! ```
//!
//! Counting costs two thread-local additions per allocation (no atomics, no locks). The counts
//! are per thread: memory freed on another thread than the one that allocated it counts as
//! freed there. Without the allocator installed, [`thread_allocations`] is `None` and the
//! profiler falls back to the process's resident-set delta when asked to
//! ([`Profiler::rss_fallback`](crate::Profiler::rss_fallback)).
//!
//! This is the crate's only `unsafe` code: `GlobalAlloc` is an unsafe trait. Each method
//! forwards to the wrapped allocator unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// A global allocator wrapping `A` (default [`System`]) that counts each thread's allocated and
/// freed bytes.
#[derive(Debug, Default)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    /// Counting around the system allocator.
    pub const fn system() -> Self {
        CountingAllocator { inner: System }
    }
}

impl<A> CountingAllocator<A> {
    /// Counting around `inner`.
    pub const fn new(inner: A) -> Self {
        CountingAllocator { inner }
    }
}

/// Set by the first counted allocation: the allocator is installed.
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Const-initialised `Cell`s without `Drop`: no lazy registration, so using them inside
    // the allocator cannot recurse into it.
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
    static FREED: Cell<u64> = const { Cell::new(0) };
}

/// Bytes this thread has allocated and freed since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadAllocations {
    /// Bytes allocated (a reallocation counts its new size).
    pub allocated: u64,
    /// Bytes freed (a reallocation counts its old size).
    pub freed: u64,
}

/// This thread's counts, or `None` when [`CountingAllocator`] is not the global allocator.
#[inline]
pub fn thread_allocations() -> Option<ThreadAllocations> {
    // Relaxed: a flag that only ever goes from false to true; a stale `false` only means this
    // call reports "not installed" before the first allocation anywhere.
    if !INSTALLED.load(Ordering::Relaxed) {
        return None;
    }
    Some(ThreadAllocations {
        allocated: ALLOCATED.try_with(Cell::get).unwrap_or(0),
        freed: FREED.try_with(Cell::get).unwrap_or(0),
    })
}

#[inline]
fn add(cell: &'static std::thread::LocalKey<Cell<u64>>, n: usize) {
    // try_with: during thread teardown the counters may be gone; that allocation is not counted.
    let _ = cell.try_with(|c| c.set(c.get().wrapping_add(n as u64)));
}

#[inline]
fn note_installed() {
    // Relaxed: see `thread_allocations`; load first so the steady state does not write.
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged and returns its
// result; the counting touches only thread-local integers, so `A`'s contract is ours.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_installed();
        add(&ALLOCATED, layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { self.inner.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_installed();
        add(&ALLOCATED, layout.size());
        // SAFETY: as in `alloc`.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(&FREED, layout.size());
        // SAFETY: `ptr` was allocated by this allocator (so by `A`) with `layout`: the
        // caller's obligation under `GlobalAlloc::dealloc`.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_installed();
        add(&FREED, layout.size());
        add(&ALLOCATED, new_size);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

/// The process's resident set size in bytes (Linux: `/proc/self/status`), for the profiler's
/// fallback; `None` elsewhere or if unreadable. Reads a file: not for hot loops.
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
