//! Time ranges against exact recomputation: a mock clock drives one collection per second;
//! the oracle keeps every interval's raw values with its collection time and recomputes what
//! the covered slots hold. Counts and sums are exact; quantiles are within the tier's bound.

use std::time::Duration;
use tachymeter::{Clock, Engine, HistogramConfig, Range};

/// Nearest-rank quantile of `v` (sorted).
fn exact_quantile(v: &[u64], q: f64) -> f64 {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1] as f64
}

#[test]
fn last_n_seconds_minutes_and_hours_match_exact_recomputation() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let h = e.histogram("lat").unwrap();
    let c = e.counter("req_total").unwrap();
    // (collection time in s since start, values recorded in that interval)
    let mut log: Vec<(u64, Vec<u64>)> = Vec::new();
    let mut x = 12345u64;
    let seconds = 2 * 3600 + 17; // two hours: the 5-minute tier answers hours
    for t in 1..=seconds {
        let n = (t % 7) + 1;
        let mut values = Vec::new();
        for _ in 0..n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = 1_000 + (x >> 33) % 1_000_000;
            h.record(v);
            values.push(v);
        }
        c.add(n);
        mock.advance(Duration::from_secs(1));
        e.flush();
        log.push((t, values));
    }
    for (back, resolution, schema) in [
        (60u64, 10u64, 3i8),
        (590, 10, 3),
        (3600, 300, 2),
        (7200, 300, 2),
    ] {
        let r = h.range(Range::Last(Duration::from_secs(back))).unwrap();
        assert_eq!(
            r.resolution,
            Duration::from_secs(resolution),
            "last {back}s"
        );
        // The covered periods: those that end after `latest - back`.
        let from = seconds - back;
        let mut covered: Vec<u64> = log
            .iter()
            .filter(|(t, _)| (t / resolution) * resolution + resolution > from)
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        covered.sort_unstable();
        let data = r.data.as_ref().unwrap();
        assert_eq!(r.count, covered.len() as u64, "last {back}s");
        assert_eq!(data.count(), covered.len() as u64);
        assert_eq!(data.sum(), covered.iter().map(|&v| v as u128).sum::<u128>());
        let bound = tachymeter::histogram::relative_error_bound(schema);
        for q in [0.5, 0.9, 0.99] {
            let (est, exact) = (data.quantile(q).unwrap(), exact_quantile(&covered, q));
            assert!(
                (est - exact).abs() <= exact * bound + 1.0,
                "last {back}s q{q}: {est} vs {exact} (bound {bound})"
            );
        }
        let cr = c.range(Range::Last(Duration::from_secs(back))).unwrap();
        assert_eq!(cr.count, covered.len() as u64, "counter, last {back}s");
        let span = (cr.to - cr.from).as_secs_f64();
        assert!((cr.throughput - cr.count as f64 / span).abs() < 1e-9);
        assert!(cr.peak_throughput >= cr.throughput * 0.999);
    }
    // Between two offsets: [30 min, 40 min) from the 10 s tier is gone (it keeps 10 min), so
    // the 5-minute tier answers, on whole periods.
    let r = c
        .range(Range::Between(
            Duration::from_secs(1800),
            Duration::from_secs(2400),
        ))
        .unwrap();
    assert_eq!(r.resolution, Duration::from_secs(300));
    let want: u64 = log
        .iter()
        .filter(|(t, _)| (1800..2400).contains(&((t / 300) * 300)))
        .map(|(_, v)| v.len() as u64)
        .sum();
    assert_eq!(r.count, want);
    assert!(h
        .range(Range::Between(
            Duration::from_secs(5),
            Duration::from_secs(5)
        ))
        .is_none());
}

#[test]
fn ranges_restart_at_a_reset_and_can_be_turned_off() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let c = e.counter("c_total").unwrap();
    c.add(5);
    mock.advance(Duration::from_secs(1));
    e.flush();
    c.reset();
    c.add(2);
    mock.advance(Duration::from_secs(1));
    e.flush();
    assert_eq!(
        c.range(Range::Last(Duration::from_secs(60))).unwrap().count,
        2
    );

    let quiet = Engine::builder()
        .background(false)
        .history(tachymeter::HistoryConfig::none())
        .build()
        .unwrap();
    let h = quiet
        .histogram_with("h", HistogramConfig::default())
        .unwrap();
    h.record(1);
    quiet.flush();
    assert!(h.range(Range::Last(Duration::from_secs(60))).is_none());
    let bad = tachymeter::HistoryConfig {
        tiers: vec![tachymeter::Tier {
            resolution: Duration::ZERO,
            periods: 10,
            schema: 3,
        }],
    };
    assert!(Engine::builder().history(bad).build().is_err());
}

#[test]
fn gauge_ranges_give_min_max_mean_and_last_of_what_collections_saw() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let g = e.gauge("cpu_percent").unwrap();
    let values: Vec<f64> = (0..120).map(|i| ((i * 37) % 100) as f64).collect();
    for &v in &values {
        mock.advance(Duration::from_millis(1));
        g.set(v);
        mock.advance(Duration::from_secs(1) - Duration::from_millis(1));
        e.flush();
    }
    // The last 50 s on 10 s periods: the periods ending after t = 70 s (collections 70..=120).
    let r = g.range(Range::Last(Duration::from_secs(50))).unwrap();
    let seen: Vec<f64> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| ((i + 1) as u64 / 10) * 10 + 10 > 70)
        .map(|(_, &v)| v)
        .collect();
    let gr = r.gauge.unwrap();
    assert_eq!(r.count, seen.len() as u64);
    assert_eq!(gr.min, seen.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(
        gr.max,
        seen.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    );
    assert_eq!(gr.last, *values.last().unwrap());
    let mean = seen.iter().sum::<f64>() / seen.len() as f64;
    assert!((gr.mean - mean).abs() < 1e-9, "{} vs {mean}", gr.mean);
}

/// `Engine::range` (by name and labels, no handle) answers what each kind's handle answers,
/// finds labels given in any order, and is `None` for a series that is not registered.
#[test]
fn engine_range_by_name_matches_the_handles() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let opts = |name: &str| tachymeter::Opts::new(name).label("b", "2").label("a", "1");
    let h = e.histogram(opts("lat").unit("seconds")).unwrap();
    let c = e.counter(opts("req_total")).unwrap();
    let g = e.gauge(opts("depth")).unwrap();
    for t in 1..=40u64 {
        for v in 0..t {
            h.record(1_000 * (v + 1));
        }
        c.add(t);
        g.set(t as f64);
        mock.advance(Duration::from_secs(1));
        e.flush();
    }
    let labels = [("a", "1"), ("b", "2")];
    let reversed = [("b", "2"), ("a", "1")];
    for range in [
        Range::Last(Duration::from_secs(15)),
        Range::Last(Duration::from_secs(3600)),
        Range::Between(Duration::from_secs(10), Duration::from_secs(30)),
    ] {
        assert_eq!(e.range("lat", &labels, range), h.range(range));
        assert_eq!(e.range("lat", &reversed, range), h.range(range));
        assert_eq!(e.range("req_total", &labels, range), c.range(range));
        assert_eq!(e.range("depth", &reversed, range), g.range(range));
    }
    let all = e
        .range("req_total", &labels, Range::Last(Duration::from_secs(3600)))
        .unwrap();
    assert_eq!(all.count, (1..=40u64).sum::<u64>());
    assert!(e
        .range("lat", &[("a", "1")], Range::Last(Duration::from_secs(60)))
        .is_none());
    assert!(e
        .range("nope", &labels, Range::Last(Duration::from_secs(60)))
        .is_none());
}
