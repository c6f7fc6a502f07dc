//! Analysis on synthetic series with known answers: trends (flat, rising 2%/min, falling,
//! too few points, non-finite input), stability bands, bottleneck order, recommendations,
//! grades, leak versus a garbage-collector sawtooth, period comparison against the histogram
//! error bound, and series pulled from the engine's history under a mock clock. Proptests:
//! the slope of an exact line is its slope; a trend is invariant to adding a constant.

use proptest::prelude::*;
use std::time::Duration;
use tachymeter::histogram::{relative_error_bound, Layout};
use tachymeter::{Clock, Engine, HistogramData, Range};
use tachymeter_monitor::Priority;
use tachymeter_report::analysis::*;

const MIB: f64 = 1024.0 * 1024.0;

/// Deterministic noise: xorshift64, approximately normal (sum of 4 uniforms, scaled to sd 1).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.uniform()).sum();
        (s - 2.0) / (4.0f64 / 12.0).sqrt()
    }
}

/// `n` points `step` seconds apart of `f(t) + sd · noise`.
fn series(n: usize, step: f64, sd: f64, seed: u64, f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let mut noise = Noise(seed);
    (0..n)
        .map(|i| {
            let t = i as f64 * step;
            (t, f(t) + sd * noise.normal())
        })
        .collect()
}

// ---------------------------------------------------------------- trends

#[test]
fn a_flat_series_with_noise_is_stable() {
    let s = series(360, 10.0, 5.0, 7, |_| 100.0);
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert_eq!(tr.direction, Direction::Stable, "{tr:?}");
    assert!(tr.contains(0.0), "{tr:?}");
    assert_eq!(tr.points, 360);
    // Across seeds, "not stable" is a false positive: at most about alpha of them.
    let unstable = (1..=40)
        .filter(|&seed| {
            let s = series(360, 10.0, 5.0, seed, |_| 100.0);
            trend(&s, &TrendConfig::default()).unwrap().direction != Direction::Stable
        })
        .count();
    assert!(
        unstable <= 4,
        "{unstable} of 40 flat series were not stable"
    );
}

#[test]
fn a_rise_of_2_percent_per_minute_is_increasing_with_the_slope_in_its_interval() {
    // 100 rising 2% of 100 per minute: 2/60 per second, 20 minutes at 10 s, noise sd 5.
    let slope = 100.0 * 0.02 / 60.0;
    let s = series(120, 10.0, 5.0, 11, |t| 100.0 + slope * t);
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert_eq!(tr.direction, Direction::Increasing, "{tr:?}");
    assert!(
        tr.contains(slope),
        "{slope} not in [{}, {}]",
        tr.ci_low,
        tr.ci_high
    );
    assert!(tr.ci_low > 0.0);
    assert!(tr.p_value < 1e-6);
    assert!((tr.slope_per_second - slope).abs() < 0.1 * slope);
    assert!(tr.relative_change_per_hour > 0.5, "{tr:?}");
    assert_eq!(tr.confidence, 0.95);
    // Over 40 seeds the 95% interval holds the true slope in most of them.
    let held = (1..=40)
        .filter(|&seed| {
            let s = series(120, 10.0, 5.0, seed, |t| 100.0 + slope * t);
            trend(&s, &TrendConfig::default()).unwrap().contains(slope)
        })
        .count();
    assert!(held >= 34, "interval held the slope in only {held} of 40");
}

#[test]
fn a_falling_series_is_decreasing() {
    let s = series(100, 30.0, 20.0, 3, |t| 1000.0 - 0.1 * t);
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert_eq!(tr.direction, Direction::Decreasing, "{tr:?}");
    assert!(tr.contains(-0.1));
    assert!(tr.ci_high < 0.0);
    assert!(tr.relative_change_per_hour < 0.0);
}

#[test]
fn a_significant_change_below_the_relative_threshold_is_stable() {
    // +0.5% of the level per hour, almost no noise: significant, but below 1%/h.
    let s = series(360, 10.0, 0.001, 5, |t| 100.0 + 0.5 * t / 3600.0);
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert!(tr.p_value < 0.05);
    assert_eq!(tr.direction, Direction::Stable);
    assert!(tr.reason.contains("below"), "{}", tr.reason);
    let strict = TrendConfig::default().min_relative_change_per_hour(0.0);
    assert_eq!(trend(&s, &strict).unwrap().direction, Direction::Increasing);
}

#[test]
fn too_few_points_give_a_reason_not_a_trend() {
    let s = series(5, 10.0, 1.0, 1, |t| t);
    let err = trend(&s, &TrendConfig::default()).unwrap_err();
    assert_eq!(
        err,
        AnalysisError::TooFewPoints {
            usable: 5,
            required: 8,
            dropped: 0
        }
    );
    assert!(err.to_string().contains("too few points"), "{err}");
    assert!(trend(&[], &TrendConfig::default()).is_err());
    let same_time: Vec<(f64, f64)> = (0..10).map(|i| (5.0, i as f64)).collect();
    assert_eq!(
        trend(&same_time, &TrendConfig::default()).unwrap_err(),
        AnalysisError::NoTimeSpan
    );
    assert!(matches!(
        trend(&s, &TrendConfig::default().alpha(f64::NAN)),
        Err(AnalysisError::InvalidConfig(_))
    ));
}

#[test]
fn a_constant_series_is_stable_with_p_one() {
    let s: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, 42.0)).collect();
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert_eq!(tr.direction, Direction::Stable);
    assert_eq!(tr.p_value, 1.0);
    assert_eq!(tr.slope_per_second, 0.0);
    assert_eq!((tr.ci_low, tr.ci_high), (0.0, 0.0));
}

#[test]
fn non_finite_points_are_dropped_without_panic() {
    let slope = 100.0 * 0.02 / 60.0;
    let clean = series(120, 10.0, 5.0, 11, |t| 100.0 + slope * t);
    let mut dirty = clean.clone();
    dirty.push((f64::NAN, 1.0));
    dirty.push((1.0, f64::NAN));
    dirty.push((2.0, f64::INFINITY));
    dirty.push((f64::NEG_INFINITY, 3.0));
    dirty.reverse(); // order does not matter
    let a = trend(&clean, &TrendConfig::default()).unwrap();
    let b = trend(&dirty, &TrendConfig::default()).unwrap();
    assert_eq!(b.dropped, 4);
    assert_eq!(a.slope_per_second, b.slope_per_second);
    assert_eq!(a.p_value, b.p_value);
    assert_eq!(b.direction, Direction::Increasing);
    let all_nan = vec![(f64::NAN, f64::NAN); 50];
    assert_eq!(
        trend(&all_nan, &TrendConfig::default()).unwrap_err(),
        AnalysisError::TooFewPoints {
            usable: 0,
            required: 8,
            dropped: 50
        }
    );
    assert!(memory_leak(&all_nan, &LeakConfig::default()).is_err());
    assert!(stability(&[f64::NAN, f64::INFINITY]).is_err());
    assert_eq!(
        stability(&[1.0, f64::NAN, 1.0]).unwrap().stability_score,
        1.0
    );
    assert_eq!(grade(f64::NAN, 10.0), None);
    // Huge values do not overflow into a panic.
    let huge: Vec<(f64, f64)> = (0..20)
        .map(|i| (i as f64, f64::MAX / (i + 1) as f64))
        .collect();
    let _ = trend(&huge, &TrendConfig::default());
}

#[test]
fn long_series_are_binned() {
    let s = series(5000, 1.0, 1.0, 9, |t| 10.0 + 0.01 * t);
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert_eq!(tr.points, MAX_TREND_POINTS);
    assert!(tr.contains(0.01), "{tr:?}");
}

// ---------------------------------------------------------------- stability

#[test]
fn stability_score_and_bands() {
    let st = stability(&[5.0; 10]).unwrap();
    assert_eq!(st.stability_score, 1.0);
    assert_eq!(st.stability_rating, StabilityRating::Stable);
    // Mean 1, sample sd 1: CV 1, score 0.5.
    let st = stability(&[0.0, 2.0, 0.0, 2.0]).unwrap();
    assert!((st.cv - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
    let st = stability(&[0.0, 1.0, 2.0]).unwrap(); // mean 1, sd 1
    assert!((st.stability_score - 0.5).abs() < 1e-12);
    assert_eq!(st.stability_rating, StabilityRating::Unstable);
    assert_eq!(StabilityRating::of(0.9), StabilityRating::Stable);
    assert_eq!(StabilityRating::of(0.8), StabilityRating::Moderate);
    assert_eq!(StabilityRating::of(0.49), StabilityRating::Erratic);
    assert_eq!(stability(&[0.0, 0.0]).unwrap().stability_score, 1.0);
    assert_eq!(stability(&[-1.0, 1.0]).unwrap().stability_score, 0.0);
    assert!(matches!(
        stability(&[1.0]),
        Err(AnalysisError::TooFewPoints { usable: 1, .. })
    ));
}

// ---------------------------------------------------------------- bottlenecks

#[test]
fn the_dominant_stage_is_named_first() {
    let input = BottleneckInput {
        stages: vec![
            StageTime::new("preprocess", 2.0),
            StageTime::new("postprocess", 4.0),
            StageTime::new("inference", 14.0),
            StageTime::new("broken", f64::NAN),
        ],
        comparisons: vec![
            // 5% slower at schema 3 (4.4% bound each): the error can explain it.
            StageComparison {
                stage: "postprocess".into(),
                current: Estimate::new(1.05, relative_error_bound(3)),
                baseline: Estimate::new(1.0, relative_error_bound(3)),
            },
            // 3x slower: high even after the error bounds (factor 3·0.956/1.044).
            StageComparison {
                stage: "preprocess".into(),
                current: Estimate::new(3.0, relative_error_bound(3)),
                baseline: Estimate::new(1.0, relative_error_bound(3)),
            },
        ],
        resources: ResourceUsage {
            cpu: Some(0.75),
            memory: Some(0.2),
            disk: Some(f64::NAN),
        },
    };
    let b = identify_bottlenecks(&input);
    assert_eq!(b[0].component, "inference");
    assert_eq!(b[0].kind, BottleneckKind::TimeShare);
    assert_eq!(b[0].impact, Impact::High);
    assert!((b[0].value - 0.7).abs() < 1e-12);
    let names: Vec<(&str, BottleneckKind, Impact)> = b
        .iter()
        .map(|b| (b.component.as_str(), b.kind, b.impact))
        .collect();
    assert_eq!(
        names,
        vec![
            ("inference", BottleneckKind::TimeShare, Impact::High),
            ("preprocess", BottleneckKind::Slowdown, Impact::High),
            ("postprocess", BottleneckKind::TimeShare, Impact::Low),
            ("preprocess", BottleneckKind::TimeShare, Impact::Low),
            ("cpu", BottleneckKind::Saturation, Impact::Low),
        ]
    );
    let factor = b[1].value;
    assert!((factor - 3.0 * 0.956 / 1.044).abs() < 0.01, "{factor}");
    assert_eq!(
        slowdown(Estimate::exact(2.0), Estimate::exact(1.0)),
        Some(2.0)
    );
    assert_eq!(slowdown(Estimate::exact(2.0), Estimate::exact(0.0)), None);
    assert!(identify_bottlenecks(&BottleneckInput::default()).is_empty());
}

// ---------------------------------------------------------------- grade and recommendations

#[test]
fn grades_follow_the_seeds_bands() {
    assert_eq!(grade(29.0, 30.0), Some(Grade::Excellent)); // 29.5
    assert_eq!(grade(30.0, 30.0), Some(Grade::Good));
    assert_eq!(grade(49.0, 50.0), Some(Grade::Good));
    assert_eq!(grade(50.0, 50.0), Some(Grade::Fair));
    assert_eq!(grade(69.0, 70.0), Some(Grade::Fair));
    assert_eq!(grade(70.0, 70.0), Some(Grade::Poor));
    assert_eq!(grade(100.0, 100.0), Some(Grade::Poor));
    let usage = ResourceUsage {
        cpu: Some(0.2),
        memory: Some(0.3),
        disk: None,
    };
    assert_eq!(usage.grade(), Some(Grade::Excellent));
    assert_eq!(serde_json::to_string(&Grade::Fair).unwrap(), "\"fair\"");
}

#[test]
fn recommendations_follow_the_rule_table() {
    let leak = memory_leak(&leaking_rss(), &LeakConfig::default()).unwrap();
    let before = Baseline::from_values(&(1..=1000).map(f64::from).collect::<Vec<_>>()).unwrap();
    let after =
        Baseline::from_values(&(1..=1000).map(|v| v as f64 * 1.2).collect::<Vec<_>>()).unwrap();
    let reg = compare(
        &before,
        &after,
        Statistic::P95,
        &RegressionConfig::default(),
    )
    .unwrap();
    let regressions = [("request_latency", reg)];
    let bottlenecks = identify_bottlenecks(&BottleneckInput {
        stages: vec![StageTime::new("inference", 9.0), StageTime::new("io", 1.0)],
        ..Default::default()
    });
    let findings = Findings {
        resources: ResourceUsage {
            cpu: Some(0.9),
            memory: Some(0.5),
            disk: Some(0.92),
        },
        error_rate: Some(0.02),
        cache_hit_rate: Some(0.95),
        regressions: &regressions,
        leak: Some(&leak),
        bottlenecks: &bottlenecks,
    };
    let recs = recommendations(&findings);
    let got: Vec<(RecommendationType, Priority)> =
        recs.iter().map(|r| (r.kind, r.priority)).collect();
    assert_eq!(
        got,
        vec![
            (RecommendationType::CpuOptimization, Priority::High),
            (RecommendationType::MemoryLeak, Priority::High),
            (RecommendationType::DiskOptimization, Priority::Medium),
            (RecommendationType::ErrorRate, Priority::Medium),
            (RecommendationType::PerformanceRegression, Priority::Medium),
            (RecommendationType::StageOptimization, Priority::Medium),
        ]
    );
    let json = serde_json::to_value(&recs[0]).unwrap();
    assert_eq!(json["type"], "cpu_optimization");
    assert_eq!(json["priority"], "high");
    assert!(json["message"].as_str().unwrap().contains("90.0%"));
    assert!(json["suggestion"].as_str().unwrap().contains("scaling"));
    assert!(recommendations(&Findings::default()).is_empty());
    let nan = Findings {
        error_rate: Some(f64::NAN),
        cache_hit_rate: Some(f64::NAN),
        ..Default::default()
    };
    assert!(recommendations(&nan).is_empty());
}

// ---------------------------------------------------------------- memory leak

/// One hour of RSS every 10 s: 200 MB rising 120 MiB/h, plus a collector's 30 MB sawtooth
/// every 2 minutes, plus 2 MB noise.
fn leaking_rss() -> Vec<(f64, f64)> {
    series(360, 10.0, 2e6, 21, |t| {
        200e6 + 120.0 * MIB * t / 3600.0 + 30e6 * ((t % 120.0) / 120.0)
    })
}

#[test]
fn an_injected_leak_is_detected_with_its_rate_and_projection() {
    let cfg = LeakConfig::default().limit_bytes(2048.0 * MIB);
    let leak = memory_leak(&leaking_rss(), &cfg).unwrap();
    assert!(leak.suspected, "{}", leak.reason);
    let rate = leak.growth_bytes_per_hour / MIB;
    assert!((rate - 120.0).abs() < 12.0, "{rate} MiB/h");
    assert!(leak.growth_bytes >= DEFAULT_MIN_GROWTH_BYTES);
    assert_eq!(leak.floor_trend.direction, Direction::Increasing);
    // The floor at the end is about 200 MB + 120 MiB: (2048 MiB − that) / 120 MiB/h.
    let now = 200e6 + 120.0 * MIB * 3590.0 / 3600.0;
    let expect = (2048.0 * MIB - now) / (120.0 * MIB);
    let hours = leak.hours_to_limit.unwrap();
    assert!(
        (hours - expect).abs() < 0.15 * expect,
        "{hours} vs {expect}"
    );
}

#[test]
fn a_sawtooth_whose_peaks_do_not_rise_is_not_a_leak() {
    // A collector every 5 minutes: 100 MB up to 300 MB and back, for one hour, noise 2 MB.
    let rss = series(360, 10.0, 2e6, 33, |t| {
        100e6 + 200e6 * ((t % 300.0) / 300.0)
    });
    let leak = memory_leak(&rss, &LeakConfig::default()).unwrap();
    assert!(!leak.suspected, "{}", leak.reason);
    assert!(leak.growth_bytes.abs() < DEFAULT_MIN_GROWTH_BYTES);
    // Across seeds and phases too.
    for seed in 1..=20u64 {
        let phase = seed as f64 * 17.0;
        let rss = series(360, 10.0, 2e6, seed, |t| {
            100e6 + 200e6 * (((t + phase) % 300.0) / 300.0)
        });
        let leak = memory_leak(&rss, &LeakConfig::default()).unwrap();
        assert!(!leak.suspected, "seed {seed}: {}", leak.reason);
    }
}

#[test]
fn slow_growth_below_the_minimum_is_not_a_leak() {
    // 10 MiB over the hour, very clean: significant but below 50 MiB.
    let rss = series(360, 10.0, 1e4, 8, |t| 300e6 + 10.0 * MIB * t / 3600.0);
    let leak = memory_leak(&rss, &LeakConfig::default()).unwrap();
    assert_eq!(leak.floor_trend.direction, Direction::Increasing);
    assert!(!leak.suspected);
    assert!(leak.reason.contains("below"), "{}", leak.reason);
    let lower = LeakConfig::default().min_growth_bytes(5.0 * MIB);
    assert!(memory_leak(&rss, &lower).unwrap().suspected);
    assert!(matches!(
        memory_leak(&rss[..9], &LeakConfig::default()),
        Err(AnalysisError::TooFewPoints { required: 10, .. })
    ));
}

// ---------------------------------------------------------------- baselines and regressions

/// 20 000 latency-like values (log-uniform 1 ms..100 ms, nanoseconds), times `factor`.
fn latencies(factor: f64, seed: u64) -> Vec<u64> {
    let mut noise = Noise(seed);
    (0..20_000)
        .map(|_| (1e6 * 10f64.powf(2.0 * noise.uniform()) * factor) as u64)
        .collect()
}

fn histogram(schema: i8, values: &[u64]) -> HistogramData {
    HistogramData::from_values(&Layout::new(schema, 1, u64::MAX).unwrap(), values)
}

#[test]
fn a_10_percent_p95_increase_is_a_regression_and_0_2_percent_is_not() {
    let cfg = RegressionConfig::default();
    let base = Baseline::from_histogram(&histogram(6, &latencies(1.0, 1)));
    assert_eq!(base.relative_error, relative_error_bound(6));
    let up10 = Baseline::from_histogram(&histogram(6, &latencies(1.10, 1)));
    let r = compare(&base, &up10, Statistic::P95, &cfg).unwrap();
    assert!(r.significant, "{r:?}");
    assert!((r.relative - 0.10).abs() < 0.02, "{r:?}");
    assert!(r.error_bound > 0.0 && r.error_bound < 0.012);
    let up02 = Baseline::from_histogram(&histogram(6, &latencies(1.002, 1)));
    let r = compare(&base, &up02, Statistic::P95, &cfg).unwrap();
    assert!(!r.significant, "{r:?}");
    assert!(r.reason.contains("within"), "{}", r.reason);
    // The same 0.2% on exact values is beyond a zero error bound.
    let exact = |f: f64| {
        Baseline::from_values(
            &latencies(f, 1)
                .iter()
                .map(|&v| v as f64)
                .collect::<Vec<_>>(),
        )
        .unwrap()
    };
    assert!(
        compare(&exact(1.0), &exact(1.002), Statistic::P95, &cfg)
            .unwrap()
            .significant
    );
    // At schema 1 (17.2%) a 10% rise is inside the bound.
    let coarse = |f: f64| Baseline::from_histogram(&histogram(1, &latencies(f, 1)));
    assert!(
        !compare(&coarse(1.0), &coarse(1.10), Statistic::P95, &cfg)
            .unwrap()
            .significant
    );
}

#[test]
fn means_are_compared_with_welch() {
    let cfg = RegressionConfig::default();
    let a = Baseline::from_histogram(&histogram(6, &latencies(1.0, 1)));
    let same = Baseline::from_histogram(&histogram(6, &latencies(1.0, 2)));
    let r = compare(&a, &same, Statistic::Mean, &cfg).unwrap();
    assert!(!r.significant, "{r:?}");
    assert!(r.p_value.unwrap() > 0.05);
    let up = Baseline::from_histogram(&histogram(6, &latencies(1.10, 2)));
    let r = compare(&a, &up, Statistic::Mean, &cfg).unwrap();
    assert!(r.significant, "{r:?}");
    assert!(r.p_value.unwrap() < 1e-6);
    assert_eq!(r.error_bound, 0.0);
    // Few observations: the quantile rule declines, the mean rule tests.
    let small = Baseline::from_values(&[1.0, 2.0, 3.0]).unwrap();
    let small_up = Baseline::from_values(&[2.0, 3.0, 4.0]).unwrap();
    let r = compare(&small, &small_up, Statistic::P95, &cfg).unwrap();
    assert!(!r.significant && r.reason.contains("too few"));
    assert!(compare(&small, &small_up, Statistic::Mean, &cfg).is_some());
    assert!(Baseline::from_values(&[f64::NAN]).is_none());
}

// ---------------------------------------------------------------- adapters on the engine

#[test]
fn series_from_the_engine_history_rise_with_the_recorded_values() {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    let h = e.histogram("lat").unwrap();
    let g = e.gauge("rss").unwrap();
    // 9 minutes, one collection per second: latency 1 ms rising 1 µs per second.
    for t in 1..=540u64 {
        for k in 0..5 {
            h.record(1_000_000 + t * 1_000 + k);
        }
        g.set(1e8 + t as f64 * 1e5);
        mock.advance(Duration::from_secs(1));
        e.flush();
    }
    let range = Range::Last(Duration::from_secs(480));
    let s = series_from_history(
        |r| h.range(r),
        range,
        Duration::from_secs(30),
        SeriesValue::Mean,
    );
    assert!(s.len() >= 15 && s.len() <= 17, "{} points", s.len());
    assert!(s.windows(2).all(|w| (w[1].0 - w[0].0 - 30.0).abs() < 1e-9));
    let tr = trend(&s, &TrendConfig::default()).unwrap();
    assert_eq!(tr.direction, Direction::Increasing);
    assert!((tr.slope_per_second - 1_000.0).abs() < 10.0, "{tr:?}");
    let counts = series_from_history(
        |r| h.range(r),
        range,
        Duration::from_secs(30),
        SeriesValue::Count,
    );
    assert!(
        counts[1..counts.len() - 1].iter().all(|p| p.1 == 150.0),
        "{counts:?}"
    );
    let gs = series_from_history(
        |r| g.range(r),
        range,
        Duration::from_secs(60),
        SeriesValue::GaugeMean,
    );
    let tr = trend(&gs, &TrendConfig::default()).unwrap();
    assert!((tr.slope_per_second - 1e5).abs() < 1e3, "{tr:?}");
    // A resolution finer than the tier's is rounded up to it (10 s).
    let fine = series_from_history(
        |r| h.range(r),
        range,
        Duration::from_millis(1),
        SeriesValue::Mean,
    );
    assert!(fine
        .windows(2)
        .all(|w| (w[1].0 - w[0].0 - 10.0).abs() < 1e-9));
    // A series without history.
    let empty = e.histogram("unused").unwrap();
    assert!(series_from_history(
        |r| empty.range(r),
        range,
        Duration::from_secs(30),
        SeriesValue::Mean
    )
    .is_empty());
    // Baselines of two periods of the history: the later one is slower.
    let early = Baseline::from_range(
        &h.range(Range::Between(
            Duration::from_secs(0),
            Duration::from_secs(60),
        ))
        .unwrap(),
    )
    .unwrap();
    let late = Baseline::from_range(
        &h.range(Range::Between(
            Duration::from_secs(480),
            Duration::from_secs(540),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(early.relative_error, relative_error_bound(3));
    let r = compare(&early, &late, Statistic::P95, &RegressionConfig::default()).unwrap();
    assert!(r.significant && r.relative > 0.3, "{r:?}");
}

// ---------------------------------------------------------------- properties

proptest! {
    #[test]
    fn the_slope_of_an_exact_line_is_its_slope(
        a in -1e3f64..1e3,
        b in -1e6f64..1e6,
        dt in 0.1f64..100.0,
        n in 3usize..80,
    ) {
        let s: Vec<(f64, f64)> = (0..n).map(|i| { let t = i as f64 * dt; (t, b + a * t) }).collect();
        let tr = trend(&s, &TrendConfig::default().min_points(3)).unwrap();
        let tol = 1e-9 * (a.abs() + b.abs() / dt + 1.0);
        prop_assert!((tr.slope_per_second - a).abs() <= tol, "{} vs {}", tr.slope_per_second, a);
        prop_assert!(tr.ci_low <= tr.slope_per_second && tr.slope_per_second <= tr.ci_high);
        prop_assert!((tr.ci_high - tr.ci_low).abs() <= 2.0 * tol);
    }

    #[test]
    fn a_trend_is_invariant_to_adding_a_constant(
        values in proptest::collection::vec(-1000i32..1000, 8..60),
        c in -100_000i32..100_000,
    ) {
        let s: Vec<(f64, f64)> = values.iter().enumerate().map(|(i, &v)| (i as f64 * 10.0, f64::from(v))).collect();
        let shifted: Vec<(f64, f64)> = s.iter().map(|&(t, v)| (t, v + f64::from(c))).collect();
        let cfg = TrendConfig::default().min_relative_change_per_hour(0.0);
        let x = trend(&s, &cfg).unwrap();
        let y = trend(&shifted, &cfg).unwrap();
        prop_assert_eq!(x.slope_per_second, y.slope_per_second);
        prop_assert_eq!(x.ci_low, y.ci_low);
        prop_assert_eq!(x.ci_high, y.ci_high);
        prop_assert_eq!(x.p_value, y.p_value);
        prop_assert_eq!(x.direction, y.direction);
        prop_assert!((x.intercept + f64::from(c) - y.intercept).abs() < 1e-6);
    }

    #[test]
    fn stability_is_in_0_1_for_any_input(values in proptest::collection::vec(proptest::num::f64::ANY, 0..40)) {
        if let Ok(s) = stability(&values) {
            prop_assert!((0.0..=1.0).contains(&s.stability_score), "{:?}", s);
        }
        let pts: Vec<(f64, f64)> = values.iter().enumerate().map(|(i, &v)| (i as f64, v)).collect();
        let _ = trend(&pts, &TrendConfig::default());
        let _ = memory_leak(&pts, &LeakConfig::default());
    }
}

#[test]
fn resident_memory_series_from_the_resource_monitor() {
    use std::sync::Arc;
    use tachymeter_monitor::ResourceMonitor;
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let monitor = ResourceMonitor::builder()
        .engine(engine.clone())
        .disks(false)
        .network(false)
        .build()
        .unwrap();
    // 12 readings, one per 10 s of the mock clock (each real sample waits ≥ 200 ms for CPU).
    for _ in 0..12 {
        mock.advance(Duration::from_secs(10));
        monitor.sample_now();
        engine.flush();
    }
    let range = Range::Last(Duration::from_secs(600));
    let rss = resource_series(&monitor, RSS_READING, range, Duration::from_secs(10));
    if cfg!(target_os = "linux") {
        assert!(rss.len() >= 10, "{rss:?}");
        assert!(rss.iter().all(|p| p.1 > 0.0));
        assert!(
            rss.windows(2)
                .all(|w| (w[1].0 - w[0].0 - 10.0).abs() < 1e-9),
            "{rss:?}"
        );
        let leak = memory_leak(&rss, &LeakConfig::default()).unwrap();
        assert!(!leak.suspected, "{}", leak.reason);
    }
    let usage = ResourceUsage::from_history(&monitor.history_range(range));
    assert!(usage.cpu.is_some_and(|c| (0.0..=1.0).contains(&c)));
    assert!(usage.grade().is_some());
    assert!(
        resource_series(&monitor, "no_such_reading", range, Duration::from_secs(10)).is_empty()
    );
}
