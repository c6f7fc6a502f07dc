//! Test support, not published: a global allocator that counts the allocations of the current
//! thread while counting is on, for the tests that prove a recording path allocates nothing.
//!
//! One copy of the allocator serves every crate's allocation tests (it was written seven
//! times before). Counting is per thread, so tests running concurrently in the same binary
//! cannot add to each other's counts; the counts live in `const`-initialised thread locals
//! read with `try_with`, so allocations during thread teardown never panic the allocator.
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;
//!
//! let mut v: Vec<u64> = Vec::with_capacity(4);
//! assert_eq!(tachymeter_test_alloc::allocations(|| v.push(1)), 0);
//! assert_eq!(tachymeter_test_alloc::allocations(|| drop(vec![1u8; 64])), 1);
//! tachymeter_test_alloc::assert_installed();
//!
//! let before = tachymeter_test_alloc::live_bytes();
//! let kept = vec![0u8; 4096];
//! assert!(tachymeter_test_alloc::live_bytes() - before >= 4096);
//! drop(kept);
//! ```
//!
//! Without `#[global_allocator]` set to [`Counting`] in the test binary, [`allocations`]
//! returns 0 for everything: each test file installs it itself, and calls
//! [`assert_installed`] before asserting that something allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

/// Live heap bytes of the whole process (allocated minus freed), for the memory-growth tests.
static LIVE: AtomicI64 = AtomicI64::new(0);

/// Heap bytes allocated and not yet freed by the whole process since it started (all
/// threads), when [`Counting`] is the global allocator.
pub fn live_bytes() -> i64 {
    // SeqCst: a reader comparing two readings wants the latest total, not a stale one.
    LIVE.load(Ordering::SeqCst)
}

fn grow(bytes: usize, sign: i64) {
    // Relaxed: a running total; readers only need it eventually (after joins, which order).
    LIVE.fetch_add(sign * bytes as i64, Ordering::Relaxed);
}

thread_local! {
    /// Whether this thread's allocations are being counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's counted allocations.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // try_with: allocations during thread teardown must not panic the allocator.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
    }
}

/// The allocations (`alloc`, `alloc_zeroed` and `realloc` calls) `f` makes on this thread.
/// Nested calls count into the outer one too.
pub fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    let was = COUNTING.with(|c| c.replace(true));
    f();
    COUNTING.with(|c| c.set(was));
    ALLOCS.with(Cell::get) - before
}

/// Panics unless this binary's global allocator is [`Counting`]: a test that asserts "no
/// allocations" calls it first, so that it cannot pass because nothing was counted.
pub fn assert_installed() {
    let n = allocations(|| drop(std::hint::black_box(Box::new(7u64))));
    assert_eq!(
        n, 1,
        "the counting allocator is not installed: add \
         `#[global_allocator] static GLOBAL: tachymeter_test_alloc::Counting = \
         tachymeter_test_alloc::Counting;` to the test file"
    );
}

/// A global allocator forwarding to [`System`] and counting per thread for [`allocations`].
#[derive(Debug, Clone, Copy)]
pub struct Counting;

// SAFETY: every method forwards to `System` unchanged; counting has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grow(l.size(), 1);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        grow(l.size(), -1);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grow(l.size(), 1);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        let q = unsafe { System.realloc(p, l, n) };
        if !q.is_null() {
            grow(n, 1);
            grow(l.size(), -1);
        }
        q
    }
}
