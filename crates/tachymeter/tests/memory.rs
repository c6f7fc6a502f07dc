//! Resident memory of histogram shards (Linux: reads `/proc/self/statm`), in its own test binary
//! so that no other test allocates while it measures.
//!
//! A shard's bucket array is committed by the OS page by page as values reach it (see the
//! `implementation` docs): one thread recording values from 1 µs to 10 ms (2 blocks of 512
//! positions at the default schema) into 64 histograms must grow the process by about 8 KiB per
//! histogram plus the shard header, far below the 32.8 KiB of a fully committed array.
#![cfg(target_os = "linux")]

use tachymeter::Engine;

fn resident_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn a_histogram_costs_about_8_kib_per_thread_for_1us_to_10ms() {
    const HISTOGRAMS: usize = 64;
    let engine = Engine::builder().background(false).build().unwrap();
    let hs: Vec<_> = (0..HISTOGRAMS)
        .map(|i| engine.histogram(format!("h{i}").as_str()).unwrap())
        .collect();
    let per_histogram = std::thread::scope(|s| {
        s.spawn(|| {
            // Claim the slot and warm the allocator on something else first.
            let warm = engine.histogram("warm").unwrap();
            warm.record(1_000);
            let before = resident_bytes();
            for h in &hs {
                for k in 0..4096u64 {
                    h.record(1_000 + k * 2_441); // 1 µs ..= 10 ms
                }
            }
            (resident_bytes() - before) / HISTOGRAMS
        })
        .join()
        .unwrap()
    });
    eprintln!("resident bytes per histogram per thread (1 µs – 10 ms): {per_histogram}");
    assert!(
        per_histogram <= 10 * 1024,
        "{per_histogram} B per histogram per thread"
    );
    let snap = engine.flush();
    assert_eq!(snap.histogram("h0").unwrap().cumulative.count(), 4096);
}
