//! `CacheMonitor` against exact counts from several threads.

use std::sync::Arc;
use tachymeter::Engine;
use tachymeter_monitor::CacheMonitor;

#[test]
fn counts_and_rates_are_exact_from_several_threads() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let a = CacheMonitor::on(engine.clone(), "a").unwrap();
    let b = CacheMonitor::on(engine.clone(), "b").unwrap();
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..4u64)
            .map(|t| {
                let a = &a;
                s.spawn(move || {
                    for i in 0..10_000u64 {
                        if (i + t) % 3 == 0 {
                            a.record_miss();
                        } else {
                            a.record_hit();
                        }
                        if i % 100 == 0 {
                            a.record_evictions(2);
                        }
                    }
                })
            })
            .collect();
        joins.into_iter().for_each(|j| j.join().unwrap());
    });
    a.set_size(512);
    b.record_miss();
    engine.flush();
    let misses: u64 = (0..4u64)
        .map(|t| (0..10_000u64).filter(|i| (i + t) % 3 == 0).count() as u64)
        .sum();
    let s = a.stats();
    assert_eq!((s.hits, s.misses), (40_000 - misses, misses));
    assert_eq!(s.hit_rate, (40_000 - misses) as f64 / 40_000.0);
    assert_eq!(s.miss_rate, misses as f64 / 40_000.0);
    assert_eq!(s.evictions, 4 * 100 * 2);
    assert_eq!(s.size, 512);
    let sb = b.stats();
    assert_eq!(
        (sb.hits, sb.misses, sb.hit_rate, sb.miss_rate),
        (0, 1, 0.0, 1.0)
    );
    a.reset();
    a.record_hit();
    engine.flush();
    let s = a.stats();
    assert_eq!((s.hits, s.misses, s.evictions, s.size), (1, 0, 0, 512));
    // No lookups yet: rates are 0, not NaN.
    let c = CacheMonitor::on(engine.clone(), "c").unwrap();
    engine.flush();
    assert_eq!(c.stats().hit_rate, 0.0);
    assert_eq!(c.name(), "c");
}
