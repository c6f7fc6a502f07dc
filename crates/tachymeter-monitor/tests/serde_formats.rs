//! Thresholds, alert handlers, suggestions, `Monitored` and `BatchSerializer` against exact
//! oracles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tachymeter::Engine;
use tachymeter_monitor::{
    BatchSerializer, Json, Monitored, Operation, Priority, SerializationAlert,
    SerializationMonitor, ThresholdMetric, MIN_OPERATIONS_FOR_SUGGESTIONS,
};

fn private() -> (Arc<Engine>, Arc<SerializationMonitor>) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let m = SerializationMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    (engine, Arc::new(m))
}

#[test]
fn thresholds_alert_once_per_onset_and_clear() {
    let (engine, m) = private();
    let seen: Arc<Mutex<Vec<SerializationAlert>>> = Arc::default();
    let sink = seen.clone();
    m.add_alert_handler(move |a| sink.lock().unwrap().push(a.clone()));
    m.set_threshold(ThresholdMetric::ErrorRate, 0.25);
    m.set_threshold(ThresholdMetric::AvgTime, 0.010);
    // json/serialize: 1 failure in 4 = 0.25, not above; mean 5 ms.
    for ok in [true, true, true, false] {
        m.record_operation("json", Operation::Serialize, 0.005, 10, ok, Some("data"));
    }
    engine.flush();
    assert!(m.check_thresholds().is_empty());
    // A fifth, failed: 2 in 5 = 0.4 > 0.25.
    m.record_operation("json", Operation::Serialize, 0.005, 10, false, Some("data"));
    engine.flush();
    let alerts = m.check_thresholds();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].metric, ThresholdMetric::ErrorRate);
    assert!((alerts[0].value - 0.4).abs() < 1e-12);
    assert_eq!(alerts[0].threshold, 0.25);
    // Still violated: returned again, but the handler is not called again.
    assert_eq!(m.check_thresholds().len(), 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Back within (6 successes: 2 in 11), then violated again: a second onset.
    for _ in 0..6 {
        m.record_operation("json", Operation::Serialize, 0.005, 10, true, None);
    }
    engine.flush();
    assert!(m.check_thresholds().is_empty());
    for _ in 0..5 {
        m.record_operation("json", Operation::Serialize, 0.005, 10, false, None);
    }
    engine.flush();
    assert_eq!(m.check_thresholds().len(), 1);
    assert_eq!(seen.lock().unwrap().len(), 2);
    // A slow deserializer trips the time threshold on its own pair.
    m.record_operation("cbor", Operation::Deserialize, 0.050, 10, true, None);
    engine.flush();
    let alerts = m.check_thresholds();
    let slow: Vec<_> = alerts
        .iter()
        .filter(|a| a.metric == ThresholdMetric::AvgTime)
        .collect();
    assert_eq!(slow.len(), 1);
    assert_eq!(
        (slow[0].serializer_id.as_str(), slow[0].operation),
        ("cbor", Operation::Deserialize)
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
    // Removing a threshold (NaN) stops its alerts.
    m.set_threshold(ThresholdMetric::AvgTime, f64::NAN);
    assert!(m
        .check_thresholds()
        .iter()
        .all(|a| a.metric != ThresholdMetric::AvgTime));
}

#[test]
fn a_panicking_handler_is_counted_and_the_others_still_run() {
    let (engine, m) = private();
    let calls = Arc::new(AtomicU64::new(0));
    m.add_alert_handler(|_| panic!("handler bug"));
    let c = calls.clone();
    m.add_alert_handler(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    m.set_threshold(ThresholdMetric::MinBytesPerSecond, 1e12);
    m.record_operation("json", Operation::Serialize, 0.001, 1000, true, None);
    engine.flush();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let alerts = m.check_thresholds();
    std::panic::set_hook(hook);
    assert_eq!(alerts.len(), 1);
    // 1000 bytes in 1 ms = 1 MB/s.
    assert!((alerts[0].value - 1e6).abs() < 1.0, "{}", alerts[0].value);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(m.alert_handler_panics(), 1);
}

#[test]
fn suggestions_follow_the_documented_rules_at_their_boundaries() {
    let (engine, m) = private();
    let n = MIN_OPERATIONS_FOR_SUGGESTIONS;
    // Too few operations: nothing, whatever the figures.
    for _ in 0..n - 1 {
        m.record_operation("a", Operation::Serialize, 0.001, 10, false, Some("x"));
    }
    engine.flush();
    assert!(m.suggestions("a").is_empty());
    // Exactly 5% failing is not above 5%; 2 MiB payloads in a binary format get no
    // binary-format suggestion.
    for i in 0..n {
        let ok = i != 0;
        m.record_operation("b", Operation::Serialize, 0.001, 2 << 20, ok, Some("x"));
    }
    engine.flush();
    let kinds =
        |id: &str| -> Vec<&'static str> { m.suggestions(id).iter().map(|s| s.kind).collect() };
    assert_eq!(kinds("b"), Vec::<&str>::new());
    // The same as a text format: binary format suggested. 2 MiB per ms is 2 GB/s: fast.
    m.mark_text_format("b");
    assert_eq!(kinds("b"), ["binary_format"]);
    // Two failures in 21 (9.5%): error rate, high priority first; 64 KiB at 2 ms = 33 MB/s.
    for i in 0..=n {
        let ok = i % 20 != 0;
        m.record_operation("c", Operation::Serialize, 0.002, 64 << 10, ok, Some("eof"));
    }
    engine.flush();
    let s = m.suggestions("c");
    assert_eq!(
        s.iter().map(|s| (s.kind, s.priority)).collect::<Vec<_>>(),
        [
            ("error_rate", Priority::High),
            ("low_throughput", Priority::Low)
        ]
    );
    assert!(s[0].message.contains("`eof`"), "{}", s[0].message);
    // Latency spikes: p99 more than 10x the median.
    for i in 0..100 {
        let t = if i < 95 { 0.001 } else { 0.050 };
        m.record_operation("d", Operation::Deserialize, t, 10, true, None);
    }
    engine.flush();
    assert_eq!(kinds("d"), ["latency_spikes"]);
}

#[test]
fn monitored_json_records_exact_sizes_and_error_types_from_several_threads() {
    let (engine, m) = private();
    let json = Arc::new(Monitored::new(Json, m.clone()));
    let threads = 4u64;
    let per = 500u64;
    let mut want_bytes = 0u64;
    let mut want_in = 0u64;
    for t in 0..threads {
        for i in 0..per {
            let v = vec![t, i];
            want_bytes += serde_json::to_vec(&v).unwrap().len() as u64;
            want_in += serde_json::to_vec(&v).unwrap().len() as u64;
            if i % 10 == 0 {
                want_in += 3; // "[1," truncated input, recorded with its size
            }
        }
    }
    std::thread::scope(|s| {
        for t in 0..threads {
            let json = json.clone();
            s.spawn(move || {
                for i in 0..per {
                    let bytes = json.serialize(&vec![t, i]).unwrap();
                    let back: Vec<u64> = json.deserialize(&bytes).unwrap();
                    assert_eq!(back, [t, i]);
                    if i % 10 == 0 {
                        assert!(json.deserialize::<Vec<u64>>(b"[1,").is_err());
                    }
                }
            });
        }
    });
    engine.flush();
    let metrics = m.metrics("json");
    let ser = &metrics.operations[&Operation::Serialize];
    let de = &metrics.operations[&Operation::Deserialize];
    assert_eq!(ser.count, threads * per);
    assert_eq!(ser.total_bytes, want_bytes);
    assert_eq!(ser.success_rate, 1.0);
    let failures = threads * per / 10;
    assert_eq!(de.count, threads * per + failures);
    assert_eq!(de.total_bytes, want_in);
    assert_eq!(de.errors.get("eof"), Some(&failures));
    assert_eq!(de.errors.len(), 1);
}

#[test]
fn batch_serializer_batches_and_counts_exactly() {
    let (engine, m) = private();
    let mut batch = BatchSerializer::new(Monitored::new(Json, m.clone()), 3);
    let mut outputs = Vec::new();
    for i in 0..10u32 {
        if let Some(b) = batch.add(i).unwrap() {
            outputs.push(b);
        }
    }
    assert_eq!(batch.batch_metrics().pending, 1);
    outputs.extend(batch.flush().unwrap());
    assert_eq!(batch.flush().unwrap(), None);
    let decoded: Vec<Vec<u32>> = outputs
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    assert_eq!(
        decoded,
        [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
    );
    let bm = batch.batch_metrics();
    let bytes: usize = outputs.iter().map(Vec::len).sum();
    assert_eq!(
        (bm.batches, bm.items, bm.failed_batches, bm.pending),
        (4, 10, 0, 0)
    );
    assert_eq!(bm.avg_batch_size, 2.5);
    assert_eq!(bm.avg_bytes_per_item, bytes as f64 / 10.0);
    engine.flush();
    let ser = &m.metrics("json").operations[&Operation::Serialize];
    assert_eq!((ser.count, ser.total_bytes), (4, bytes as u64));
}

#[cfg(feature = "msgpack")]
#[test]
fn messagepack_is_a_binary_format_recorded_like_json() {
    use tachymeter_monitor::MessagePack;
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Order {
        id: u64,
        items: Vec<String>,
    }
    let (engine, m) = private();
    let mp = Monitored::new(MessagePack, m.clone());
    let order = Order {
        id: 7,
        items: vec!["a".into(), "bc".into()],
    };
    let bytes = mp.serialize(&order).unwrap();
    // Checked against the MessagePack spec by hand: a 2-entry fixmap (0x82), the fixstr
    // "id" (0xa2 'i' 'd'), the positive fixint 7, then the fixstr "items" (0xa5 ...).
    assert_eq!(&bytes[..5], &[0x82, 0xa2, b'i', b'd', 7]);
    assert_eq!(&bytes[5..11], b"\xa5items");
    let back: Order = mp.deserialize(&bytes).unwrap();
    assert_eq!(back, order);
    assert!(mp.deserialize::<Order>(&bytes[..bytes.len() - 1]).is_err());
    engine.flush();
    let metrics = m.metrics("msgpack");
    let ser = &metrics.operations[&Operation::Serialize];
    assert_eq!((ser.count, ser.total_bytes), (1, bytes.len() as u64));
    let de = &metrics.operations[&Operation::Deserialize];
    assert_eq!(de.count, 2);
    assert_eq!(de.errors.get("eof"), Some(&1), "{:?}", de.errors);
    // Not a text format: no binary-format suggestion however large the payloads.
    assert!(m.suggestions("msgpack").is_empty());
}
