//! The profiler's memory figures with `CountingAllocator` installed: exact bytes per call,
//! per thread, against what the calls allocate and free.

use std::sync::Arc;
use tachymeter::Engine;
use tachymeter_monitor::{thread_allocations, CountingAllocator, Profiler};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

#[test]
fn the_allocator_counts_this_threads_bytes_exactly() {
    let a = thread_allocations().expect("installed");
    let v: Vec<u64> = Vec::with_capacity(1000);
    let b = thread_allocations().unwrap();
    assert_eq!(b.allocated - a.allocated, 8000);
    drop(v);
    let c = thread_allocations().unwrap();
    assert_eq!(c.freed - b.freed, 8000);
    // A reallocation counts the old size freed and the new size allocated.
    let mut w: Vec<u8> = Vec::with_capacity(100);
    let d = thread_allocations().unwrap();
    w.reserve_exact(300);
    let e = thread_allocations().unwrap();
    assert_eq!((e.allocated - d.allocated, e.freed - d.freed), (300, 100));
    drop(w);
}

#[test]
fn profiled_calls_report_exact_allocated_freed_and_kept_bytes_from_several_threads() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let p = Profiler::on(engine.clone()).unwrap();
    assert_eq!(p.memory_source(), "allocator");
    let kept = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (p, kept) = (&p, &kept);
            s.spawn(move || {
                for _ in 0..25 {
                    // Allocates and frees 1 MiB: delta 0.
                    p.profile("scratch", || {
                        let v = vec![1u8; 1 << 20];
                        std::hint::black_box(v.len())
                    });
                    // Allocates 4 KiB and keeps it: delta 4 KiB.
                    let v = p.profile("keep", || vec![0u32; 1024]);
                    kept.lock().unwrap().push(v);
                }
            });
        }
    });
    engine.flush();
    let scratch = p.stats("scratch").unwrap();
    assert_eq!(scratch.calls, 100);
    assert_eq!(scratch.allocated_bytes, 100 << 20);
    assert_eq!(scratch.freed_bytes, 100 << 20);
    assert_eq!(scratch.memory_delta_bytes, 0);
    let keep = p.stats("keep").unwrap();
    assert_eq!((keep.allocated_bytes, keep.freed_bytes), (100 * 4096, 0));
    assert_eq!(keep.memory_delta_bytes, 100 * 4096);
    assert!((keep.memory_delta_mb - 100.0 * 4096.0 / 1048576.0).abs() < 1e-12);
    assert_eq!(keep.memory_source, "allocator");
    assert_eq!(kept.lock().unwrap().len(), 100);
}
