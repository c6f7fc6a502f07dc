//! [`ZeroedCounters`]: an array of atomic counters, all zero, whose memory the operating system
//! commits only where it is written.
//!
//! A histogram shard holds one counter per bucket position: 4,098 × 8 B = 32.8 KiB at the default
//! layout, of which a thread's values usually touch a few hundred positions. On Unix (outside loom
//! and miri) arrays of at least one OS page are an anonymous private mapping: the kernel hands out
//! zero pages and commits a 4 KiB page (512 counters) the first time a counter in it is written,
//! so a shard's resident memory is 4 KiB per 512-position block its values reach, not the whole
//! array. Reading an untouched page (the aggregator re-summing a block) maps the shared zero page
//! and commits nothing. Recording never calls the allocator or the kernel for this: the first
//! write into a page takes a minor page fault (the kernel's work, about a microsecond, once per
//! page per thread), which is documented in `implementation`.
//!
//! Elsewhere (other platforms, loom, miri, arrays smaller than a page, or a failed mapping) the
//! array is an ordinary boxed slice, committed on allocation.
//!
//! At most [`MAX_MAPPINGS`] arrays are mappings at once: a process has a limit on its number of
//! mappings (Linux `vm.max_map_count`, 65,530 by default) that it shares with the allocator and
//! every library, and a program with very many histograms × recording threads must not use it
//! up (the allocator's own large allocations would then fail). Beyond the cap, arrays are boxed.
//!
//! Written by hand (a mapping, its length and `munmap` on drop) rather than with a mapping crate:
//! `libc::mmap` is the one call needed, and the counters must stay the `sync` shim's atomics.

use crate::sync::AtomicU64;
use std::ops::Deref;

/// A fixed-length array of `AtomicU64`s, all starting at zero (see the module docs).
pub(crate) struct ZeroedCounters {
    /// The first counter and the length, cached so that indexing does not branch on the
    /// storage kind: they point into `storage`, which never moves its counters.
    ptr: std::ptr::NonNull<AtomicU64>,
    len: usize,
    /// Owns the counters (freed when `self` drops); otherwise read by tests only.
    #[cfg_attr(not(test), allow(dead_code))]
    storage: Storage,
}

enum Storage {
    Boxed(Box<[AtomicU64]>),
    #[cfg(all(unix, not(loom), not(miri)))]
    Mapped(map::Mapping),
}

impl ZeroedCounters {
    /// `len` counters at zero (cold path: registration or a thread's first record).
    pub(crate) fn new(len: usize) -> ZeroedCounters {
        #[cfg(all(unix, not(loom), not(miri)))]
        if let Some(m) = map::Mapping::new(len) {
            return ZeroedCounters::over(Storage::Mapped(m));
        }
        ZeroedCounters::over(Storage::Boxed(
            (0..len).map(|_| AtomicU64::new(0)).collect(),
        ))
    }

    fn over(storage: Storage) -> ZeroedCounters {
        let slice: &[AtomicU64] = match &storage {
            Storage::Boxed(b) => b,
            #[cfg(all(unix, not(loom), not(miri)))]
            Storage::Mapped(m) => m.as_slice(),
        };
        ZeroedCounters {
            // A slice's pointer is never null (dangling but aligned when empty).
            ptr: std::ptr::NonNull::from(slice).cast(),
            len: slice.len(),
            storage,
        }
    }

    /// Whether the array is lazily committed by the OS (a mapping).
    #[cfg(test)]
    pub(crate) fn is_lazy(&self) -> bool {
        !matches!(self.storage, Storage::Boxed(_))
    }
}

impl Deref for ZeroedCounters {
    type Target = [AtomicU64];

    #[inline(always)]
    fn deref(&self) -> &[AtomicU64] {
        // `ptr`/`len` describe the counters of `storage` (set in `over`), which `self` owns: a
        // boxed slice's heap block and a mapping stay put when `self` moves and are freed only
        // when `self` drops, so they outlive this borrow of `self`.
        // SAFETY: valid, initialised (zero or written since), atomics-only counters (above).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

// SAFETY: `ptr` points into `storage`, which is owned and holds `AtomicU64`s (`Send + Sync`);
// the type only hands out `&[AtomicU64]`.
unsafe impl Send for ZeroedCounters {}
// SAFETY: see above.
unsafe impl Sync for ZeroedCounters {}

/// Most bucket arrays mapped at once (a quarter of Linux's default `vm.max_map_count`); further
/// arrays are boxed (see the module docs).
pub(crate) const MAX_MAPPINGS: usize = 16_384;

#[cfg(all(unix, not(loom), not(miri)))]
mod map {
    use crate::sync::{AtomicU64, AtomicUsize, Ordering};
    use std::ptr::NonNull;

    /// Mappings alive now (the `sync` shim's `AtomicUsize` is `std`'s here: this module is not
    /// built under loom).
    static MAPPED: AtomicUsize = AtomicUsize::new(0);

    /// Mappings alive now (tests).
    #[cfg(test)]
    pub(super) fn mapped() -> usize {
        MAPPED.load(Ordering::Relaxed)
    }

    /// Takes one of the [`MAX_MAPPINGS`](super::MAX_MAPPINGS) places, or `false` if all are taken.
    fn reserve() -> bool {
        // Relaxed: a count, not a publication; the cap is a bound, and a race at the cap at
        // worst boxes one more array.
        MAPPED
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < super::MAX_MAPPINGS).then_some(n + 1)
            })
            .is_ok()
    }

    fn release() {
        MAPPED.fetch_sub(1, Ordering::Relaxed);
    }

    /// An anonymous private mapping holding `len` `AtomicU64`s.
    pub(super) struct Mapping {
        ptr: NonNull<AtomicU64>,
        len: usize,
        bytes: usize,
    }

    impl Mapping {
        /// A mapping for `len` counters, or `None` if the array is smaller than a page or the
        /// kernel refuses (the caller then boxes the array).
        pub(super) fn new(len: usize) -> Option<Mapping> {
            // SAFETY: sysconf has no preconditions.
            let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
            let bytes = len.checked_mul(std::mem::size_of::<AtomicU64>())?;
            if page == 0 || bytes < page {
                return None;
            }
            let bytes = bytes.div_ceil(page) * page;
            if !reserve() {
                return None;
            }
            #[cfg(target_os = "linux")]
            let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
            #[cfg(not(target_os = "linux"))]
            let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
            // SAFETY: (1) a fresh anonymous mapping at an address of the kernel's choosing
            // aliases no existing memory; (2) the arguments are valid (length > 0, no file).
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    flags,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                release();
                return None;
            }
            // Transparent huge pages would commit 2 MiB at the first write and defeat the point;
            // best effort (an error leaves the mapping valid).
            #[cfg(target_os = "linux")]
            // SAFETY: `p..p+bytes` is the mapping just created.
            unsafe {
                libc::madvise(p, bytes, libc::MADV_NOHUGEPAGE);
            }
            let Some(ptr) = NonNull::new(p.cast::<AtomicU64>()) else {
                release();
                return None;
            };
            Some(Mapping { ptr, len, bytes })
        }

        #[inline(always)]
        pub(super) fn as_slice(&self) -> &[AtomicU64] {
            // The mapping is `bytes ≥ len × 8` long, page-aligned (so aligned for `AtomicU64`),
            // readable and writable, and lives until `drop` (which needs `&mut self`); anonymous
            // mappings are zero-filled, all-zero bytes are a valid `AtomicU64`, and it is only
            // accessed through these atomics.
            // SAFETY: a live, aligned, initialised array of `len` atomics (above).
            unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: `ptr..ptr+bytes` is our mapping; `&mut self` proves no borrow of it is
            // alive, and it is unmapped exactly once, here.
            unsafe {
                libc::munmap(self.ptr.as_ptr().cast(), self.bytes);
            }
            release();
        }
    }

    // SAFETY: the mapping is owned (freed once, in `drop`) and only holds `AtomicU64`s, which are
    // `Send + Sync`; sharing `&Mapping` hands out `&[AtomicU64]` only.
    unsafe impl Send for Mapping {}
    // SAFETY: see above.
    unsafe impl Sync for Mapping {}
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::Ordering;

    /// Serialises the tests that fill the mapping places or expect a free one.
    static SERIAL: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

    #[test]
    fn counters_start_at_zero_and_count() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        for len in [1usize, 5, 511, 512, 4098, 100_000] {
            let z = ZeroedCounters::new(len);
            assert_eq!(z.len(), len);
            assert!(z.iter().all(|c| c.load(Ordering::Relaxed) == 0));
            z[len - 1].fetch_add(3, Ordering::Relaxed);
            z[0].fetch_add(1, Ordering::Relaxed);
            let total: u64 = z.iter().map(|c| c.load(Ordering::Relaxed)).sum();
            assert_eq!(total, 4);
            #[cfg(all(unix, not(miri)))]
            assert_eq!(z.is_lazy(), len * 8 >= 4096, "len {len}");
        }
    }

    /// Past `MAX_MAPPINGS` live mappings, arrays are boxed; dropping mappings frees places.
    /// Other tests of this binary may map or free arrays meanwhile (histograms), so the checks
    /// allow for slack; the two tests here that look at `is_lazy` are serialised.
    #[cfg(all(unix, not(miri)))]
    #[test]
    fn mappings_are_capped() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let len = 4098;
        let mut held = Vec::new();
        // Fill every place (plus slack for arrays other tests hold or free meanwhile).
        while held.len() < MAX_MAPPINGS + 64 {
            held.push(ZeroedCounters::new(len));
        }
        assert!(map::mapped() <= MAX_MAPPINGS);
        let boxed = held.iter().filter(|z| !z.is_lazy()).count();
        assert!(boxed >= 64, "{boxed} boxed past the cap");
        // Boxed arrays work the same.
        let b = held.iter().find(|z| !z.is_lazy()).unwrap();
        b[4097].fetch_add(2, Ordering::Relaxed);
        assert_eq!(b[4097].load(Ordering::Relaxed), 2);
        let before = map::mapped();
        held.retain(|z| !z.is_lazy());
        assert!(map::mapped() < before, "dropping mappings frees places");
        assert!(ZeroedCounters::new(len).is_lazy());
    }
}
