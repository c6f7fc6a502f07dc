//! The monitors' recording paths allocate nothing after warm-up (each thread's first record
//! into a series allocates its shard; a new label value registers its series once). A
//! counting global allocator counts this thread's allocations while it records.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{
    CacheMonitor, CustomMetrics, EndpointTracker, InferenceMetrics, Operation, Profiler,
    SerializationMonitor,
};
use tachymeter_test_alloc::allocations;

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

#[test]
fn monitor_recording_paths_allocate_nothing_after_warm_up() {
    tachymeter_test_alloc::assert_installed();
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let inference = InferenceMetrics::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let ser = SerializationMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let json = ser.serializer("json");
    let api = EndpointTracker::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let cache = CacheMonitor::on(engine.clone(), "models").unwrap();
    let profiler = Profiler::on(engine.clone()).unwrap();
    let custom = CustomMetrics::on(engine.clone());
    custom
        .define("drift", "counter", "", "", &[], &["feature", "kind"])
        .unwrap();
    custom
        .define("freshness", "histogram", "", "hours", &[1.0, 24.0], &[])
        .unwrap();
    custom
        .define("accuracy", "gauge", "", "ratio", &[], &[])
        .unwrap();
    let record_all = |i: u64| {
        inference.update_inference(0.004, 8, Duration::from_micros(300), 0.0);
        inference.record_cache_hit();
        inference.record_error_kind("timeout");
        ser.record_operation("json", Operation::Serialize, 0.0002, 100 + i, true, None);
        ser.record_operation(
            "json",
            Operation::Deserialize,
            0.0002,
            100,
            false,
            Some("eof"),
        );
        json.record(
            Operation::Serialize,
            Duration::from_nanos(900),
            64,
            true,
            None,
        );
        json.record(Operation::Deserialize, 0.0001, 64, false, Some("eof"));
        api.track("/api/items", "GET").status(200);
        api.track("/api/items", "POST").status(503);
        cache.record_hit();
        cache.record_miss();
        cache.record_evictions(1);
        profiler.profile("decode", || std::hint::black_box(i));
        let labels = [("kind", "statistical"), ("feature", "age")];
        custom.increment_counter("drift", &labels).unwrap();
        custom.observe_histogram("freshness", 8.5, &[]).unwrap();
        custom.update_gauge("accuracy", 0.945, &[]).unwrap();
    };
    // The counter counts (so a 0 below means something).
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8]))), 1);
    record_all(0); // warm-up: shards and series
    engine.flush();
    let n = allocations(|| {
        for i in 0..20_000 {
            record_all(i);
        }
    });
    assert_eq!(n, 0, "allocations while recording");
    engine.flush();
    assert_eq!(
        ser.metrics("json").operations[&Operation::Serialize].count,
        2 * 20_001
    );
}
