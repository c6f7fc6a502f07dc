//! `MonitoredCache` (feature `moka`) against exact counts: hits and misses from several
//! threads, TTL expiry, size eviction.
#![cfg(feature = "moka")]

use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::MonitoredCache;

fn engine() -> Arc<Engine> {
    Arc::new(Engine::builder().background(false).build().unwrap())
}

#[test]
fn hits_and_misses_are_exact_from_several_threads() {
    let engine = engine();
    let cache = MonitoredCache::builder("exact")
        .engine(engine.clone())
        .max_size(10_000)
        .build()
        .unwrap();
    for k in 0..100u64 {
        cache.set(k, k * 2);
    }
    std::thread::scope(|s| {
        for _ in 0..4 {
            let cache = &cache;
            s.spawn(move || {
                // Keys 0..150: 100 present, 50 absent, per thread.
                for k in 0..150u64 {
                    let got = cache.get(&k);
                    assert_eq!(got, (k < 100).then_some(k * 2));
                }
            });
        }
    });
    cache.cleanup_expired();
    engine.flush();
    let s = cache.stats();
    assert_eq!((s.hits, s.misses), (400, 200));
    assert!((s.hit_rate - 400.0 / 600.0).abs() < 1e-12);
    assert_eq!((s.size, s.evictions), (100, 0));
}

#[test]
fn expired_entries_are_misses_and_counted_when_cleaned_up() {
    let engine = engine();
    let cache = MonitoredCache::builder("ttl")
        .engine(engine.clone())
        .default_ttl(None)
        .build()
        .unwrap();
    for k in 0..20u32 {
        cache.set_with_ttl(k, "short", Duration::from_millis(20));
    }
    for k in 100..110u32 {
        cache.set(k, "forever");
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(cache.get(&3), None, "expired: a miss at once");
    assert_eq!(cache.get(&100), Some("forever"));
    engine.flush();
    let before = cache.stats().evictions;
    // moka removes expired entries when its timer wheel ticks past them (about 1.07 s):
    // clean up until all 20 are counted, with a bounded wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut removed = 0;
    while before + removed < 20 && std::time::Instant::now() < deadline {
        removed += cache.cleanup_expired();
        std::thread::sleep(Duration::from_millis(20));
    }
    engine.flush();
    let s = cache.stats();
    // Whether moka's own maintenance removed some before the calls or not, all 20 are
    // counted once: by the calls, or in the evictions before them.
    assert_eq!(before + removed, 20, "before {before}, removed {removed}");
    assert_eq!(s.evictions, 20);
    assert_eq!(s.size, 10);
    assert_eq!((s.hits, s.misses), (1, 1));
}

#[test]
fn size_bound_evictions_are_counted() {
    let engine = engine();
    let cache = MonitoredCache::builder("small")
        .engine(engine.clone())
        .max_size(10)
        .default_ttl(None)
        .build()
        .unwrap();
    for k in 0..200u32 {
        cache.set(k, k);
    }
    cache.cleanup_expired();
    engine.flush();
    let s = cache.stats();
    assert!(cache.len() <= 10, "{}", cache.len());
    // Every entry not kept was evicted (or rejected on admission) exactly once.
    assert_eq!(s.evictions + cache.len(), 200, "{s:?}");
    assert_eq!(s.size, cache.len());
}
