//! Per-thread CPU time, the second clock of multi-threaded benches.
//!
//! On a shared machine the OS may time-slice the "concurrent" workers: wall time then counts the
//! time a worker sat preempted, and a 2-thread case looks twice as slow with no contention at
//! all. A thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, exact to the nanosecond on Linux, unlike
//! `/proc/thread-self/schedstat`, which lags by up to a scheduler tick) counts only the time it
//! ran, stalls on contended cache lines included. Elsewhere than on Unix it is unavailable.
#![allow(unsafe_code)] // one FFI call, below.

use std::time::Duration;

/// CPU time consumed by the calling thread so far, if the platform reports it.
#[must_use]
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: (1) `ts` is a valid, writable `timespec` that outlives the call;
        // (2) `CLOCK_THREAD_CPUTIME_ID` is a valid clock id on every Unix `libc` supports.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn advances_while_running() {
        let a = super::thread_cpu_time().expect("unix");
        let mut x = 0u64;
        for i in 0..10_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(super::thread_cpu_time().expect("unix") > a);
    }
}
