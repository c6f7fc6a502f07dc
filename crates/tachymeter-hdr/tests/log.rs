//! The interval log read back with the `hdrhistogram` crate's own log reader and deserializer:
//! counts exact, quantiles within the documented bound of an exact oracle, tags, timestamps,
//! and coordinated-omission correction against HdrHistogram's own `record_correct`.

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tachymeter::{Clock, Engine, Opts, Snapshot};
use tachymeter_hdr::{to_hdr, write_interval_log, LogOptions};

/// Every histogram line of `log`: (tag, start offset, duration, histogram).
fn read(log: &[u8]) -> Vec<(String, Duration, Duration, Histogram<u64>)> {
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(log) {
        if let LogEntry::Interval(h) = entry.expect("a valid log line") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .unwrap();
            let hist: Histogram<u64> = Deserializer::new()
                .deserialize(&mut bytes.as_slice())
                .unwrap();
            out.push((
                h.tag().map(|t| t.as_str().to_string()).unwrap_or_default(),
                h.start_timestamp(),
                h.duration(),
                hist,
            ));
        }
    }
    out
}

fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

#[test]
fn intervals_read_back_with_exact_counts_and_bounded_quantiles() {
    let (clock, mock) = Clock::mock();
    let engine = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let lat = engine
        .histogram(Opts::new("latency").unit("seconds").label("route", "/a b"))
        .unwrap();
    let start = SystemTime::now();
    let mut snaps: Vec<Arc<Snapshot>> = Vec::new();
    let mut oracle: Vec<Vec<u64>> = Vec::new();
    for interval in 0..3u64 {
        // Interval k: 1,000 values spread over 10 µs .. 10 ms (ns), scaled by k + 1.
        let mut values: Vec<u64> = (1..=1000u64)
            .map(|i| (10_000 + i * i * 10) * (interval + 1))
            .collect();
        for &v in &values {
            lat.record(v);
        }
        mock.advance(Duration::from_secs(1));
        snaps.push(engine.flush());
        values.sort_unstable();
        oracle.push(values);
    }
    let mut log = Vec::new();
    let lines = write_interval_log(&mut log, start, &snaps, &LogOptions::default()).unwrap();
    assert_eq!(lines, 3);
    let text = String::from_utf8_lossy(&log);
    assert!(
        text.contains("#[MaxValueDivisor: 1000000000.000]"),
        "{text}"
    );
    let read = read(&log);
    assert_eq!(read.len(), 3);
    let bound = tachymeter::histogram::relative_error_bound(6) + 0.001;
    for ((tag, _, duration, hist), want) in read.iter().zip(&oracle) {
        assert_eq!(tag, "latency{route=/a_b}");
        assert_eq!(*duration, Duration::from_secs(1));
        assert_eq!(hist.len(), 1000);
        for q in [0.5, 0.9, 0.99, 0.999] {
            let got = hist.value_at_quantile(q) as f64;
            let exact = exact_quantile(want, q);
            assert!(
                (got - exact).abs() <= bound * exact + 1.0,
                "q{q}: {got} vs {exact}"
            );
        }
    }
}

#[test]
fn coordinated_omission_correction_matches_hdrhistograms_own() {
    let engine = Engine::builder().background(false).build().unwrap();
    let h = engine.histogram("loop_time").unwrap();
    // A loop expected every 10,000 steps stalls once for 100,000.
    for _ in 0..50 {
        h.record(1000);
    }
    h.record(100_000);
    let snap = engine.flush();
    let data = &snap.histogram("loop_time").unwrap().interval;
    let corrected = to_hdr(data, 3, Some(10_000)).unwrap();
    // Oracle: HdrHistogram's own correction on the raw values (the engine's buckets hold
    // 1000 and 100,000 within their bound, so counts must agree exactly).
    let mut oracle = Histogram::<u64>::new(3).unwrap();
    for _ in 0..50 {
        oracle.record_correct(1000, 10_000).unwrap();
    }
    oracle.record_correct(100_000, 10_000).unwrap();
    assert_eq!(corrected.len(), oracle.len());
    assert_eq!(corrected.len(), 50 + 10); // the stall plus 9 synthetic values
                                          // Synthetic values `v - k·interval` carry the absolute error of the bucket value `v` they
                                          // derive from (documented): within the bound of the stall's 100,000, not of each value.
    let bound = tachymeter::histogram::relative_error_bound(6) + 0.001;
    for q in [0.5, 0.9, 0.95, 0.99] {
        let (got, want) = (
            corrected.value_at_quantile(q) as f64,
            oracle.value_at_quantile(q) as f64,
        );
        assert!(
            (got - want).abs() <= bound * 100_000.0 + 1.0,
            "q{q}: {got} vs {want}"
        );
    }
    // Without correction: only the 51 recorded values.
    assert_eq!(to_hdr(data, 3, None).unwrap().len(), 51);
}

#[test]
fn filters_and_empty_intervals() {
    let engine = Engine::builder().background(false).build().unwrap();
    engine.histogram("a").unwrap().record(5);
    let _quiet = engine.histogram("b").unwrap();
    engine.histogram("c").unwrap().record(7);
    let snaps = vec![engine.flush()];
    let mut log = Vec::new();
    let n =
        write_interval_log(&mut log, SystemTime::now(), &snaps, &LogOptions::default()).unwrap();
    assert_eq!(n, 2, "the empty histogram `b` is skipped");
    let mut log = Vec::new();
    let opts = LogOptions::default().only(["c"]);
    let n = write_interval_log(&mut log, SystemTime::now(), &snaps, &opts).unwrap();
    assert_eq!(n, 1);
    assert_eq!(read(&log)[0].0, "c");
    // Invalid precision is an error, not a panic.
    let opts = LogOptions::default().significant_digits(9);
    assert!(write_interval_log(&mut Vec::new(), SystemTime::now(), &snaps, &opts).is_err());
}
