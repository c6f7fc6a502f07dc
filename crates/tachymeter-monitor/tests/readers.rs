//! Readers never get in the writers' way: one thread reads every monitor's statistics in a
//! loop (publishing snapshots with `flush` as it goes) while writers record a known workload;
//! the totals at the end are exact. Reading takes only snapshot loads and the read side's own
//! state, so the writers' loop finishes whatever the reader does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{
    CustomMetrics, EndpointTracker, InferenceMetrics, Operation, OperationKind, OperationTracker,
    SerializationMonitor,
};

#[test]
fn statistics_read_while_writers_record_and_totals_stay_exact() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let inference = InferenceMetrics::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let ser = SerializationMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let api = EndpointTracker::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let ops = OperationTracker::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    let custom = CustomMetrics::on(engine.clone());
    custom
        .define("events", "counter", "", "", &[], &[])
        .unwrap();
    const WRITERS: u64 = 2;
    const N: u64 = 20_000;
    let done = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                s.spawn(|| {
                    for i in 0..N {
                        inference.update_inference(
                            Duration::from_micros(100 + i % 50),
                            4,
                            0.0,
                            0.0,
                        );
                        ser.record_operation("json", Operation::Serialize, 0.0001, 64, true, None);
                        api.track("/api", "GET").status(200);
                        let id = ops.start(OperationKind::Download, "model", None);
                        ops.end(id, true, None, None);
                        custom.increment_counter("events", &[]).unwrap();
                    }
                })
            })
            .collect();
        s.spawn(|| {
            // At least one full read, however fast the writers are.
            loop {
                engine.flush();
                let _ = inference.statistics();
                let _ = inference.comprehensive_statistics();
                let _ = ser.summary(None);
                let _ = ser.check_thresholds();
                let _ = api.api_report();
                let _ = ops.all_metrics(1);
                let _ = custom.all_metrics();
                reads.fetch_add(1, Ordering::Relaxed);
                if done.load(Ordering::Relaxed) {
                    break;
                }
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(reads.load(Ordering::Relaxed) > 0);
    engine.flush();
    let total = WRITERS * N;
    assert_eq!(inference.statistics().total_requests, total);
    assert_eq!(ser.summary(None).total_operations, total);
    assert_eq!(api.api_report().total_requests, total);
    assert_eq!(ops.all_metrics(1).summary.total_operations, total);
    assert_eq!(custom.all_metrics()["events"].series[0].value, total as f64);
}
