//! Analysis over series, stage totals, resource usage and periods: trends with a significance
//! test, stability scores, bottlenecks, recommendations, the seeds' grade, memory-leak
//! detection, baselines and period comparison (the seeds' `PerformanceAnalyzer`).
//!
//! The core is pure functions over plain data — a series is `&[(f64, f64)]` of
//! `(time in seconds, value)` — so every rule can be tested on synthetic data with a known
//! answer. Thin adapters ([`series_from_history`], [`resource_series`],
//! [`stages_from_profiler`], [`ResourceUsage::from_history`], [`Baseline::from_range`]) pull
//! those inputs from the engine's time ranges and the monitors. Every judgement carries the
//! numbers it was made from and a `reason`.
//!
//! ```
//! use tachymeter_report::analysis::{
//!     compare, memory_leak, stability, trend, Baseline, Direction, LeakConfig,
//!     RegressionConfig, Statistic, TrendConfig,
//! };
//!
//! // Latency rising 2% of its level per minute, sampled every 10 s for 20 minutes.
//! let series: Vec<(f64, f64)> = (0..120)
//!     .map(|i| {
//!         let t = i as f64 * 10.0;
//!         (t, 100.0 * (1.0 + 0.02 * t / 60.0) + if i % 2 == 0 { 1.0 } else { -1.0 })
//!     })
//!     .collect();
//! let tr = trend(&series, &TrendConfig::default()).unwrap();
//! assert_eq!(tr.direction, Direction::Increasing);
//! assert!(tr.contains(2.0 / 60.0)); // Sen's 95% interval holds the true slope
//!
//! let values: Vec<f64> = series.iter().map(|p| p.1).collect();
//! println!("stability {:.2}", stability(&values).unwrap().stability_score);
//!
//! // Resident memory rising 120 MiB per hour: a leak.
//! let rss: Vec<(f64, f64)> = (0..360)
//!     .map(|i| (i as f64 * 10.0, 200e6 + i as f64 * 10.0 * 120.0 * 1048576.0 / 3600.0))
//!     .collect();
//! assert!(memory_leak(&rss, &LeakConfig::default()).unwrap().suspected);
//!
//! // p95 of two periods (plain values here; `Baseline::from_range` for the engine's).
//! let before = Baseline::from_values(&(1..=1000).map(f64::from).collect::<Vec<_>>()).unwrap();
//! let after = Baseline::from_values(&(1..=1000).map(|v| v as f64 * 1.1).collect::<Vec<_>>())
//!     .unwrap();
//! let reg = compare(&before, &after, Statistic::P95, &RegressionConfig::default()).unwrap();
//! assert!(reg.significant && (reg.relative - 0.1).abs() < 1e-9);
//! ```
//!
//! # Trend
//!
//! [`trend`] drops points whose time or value is not finite (counted in `dropped`), sorts by
//! time, and above [`MAX_TREND_POINTS`] averages consecutive groups down to that many points.
//! It needs [`TrendConfig::min_points`] points (default 8, at least 3), else
//! [`AnalysisError::TooFewPoints`].
//!
//! - **Slope**: Theil–Sen, the median of `(v_j − v_i)/(t_j − t_i)` over all pairs with
//!   `t_i < t_j` (robust to up to 29% outliers); intercept `median(v_i − slope·t_i)`.
//! - **Significance**: Mann–Kendall `S = Σ_{i<j} sgn(v_j − v_i)`,
//!   `Var S = [n(n−1)(2n+5) − Σ_g g(g−1)(2g+5)] / 18` over groups `g` of tied values,
//!   `Z = (S − sgn S)/√Var S`, two-sided `p = 2(1 − Φ(|Z|))`.
//! - **Interval**: Sen's rank-based `1 − α` interval: with `N` pairwise slopes sorted and
//!   `C = z_{1−α/2}·√Var S`, the slopes at ranks `(N − C)/2` and `(N + C)/2 + 1`
//!   (interpolated between ranks).
//! - **Relative change**: `slope × 3600 / mean(|v|)` per hour.
//! - **Decision**: `stable` when `p ≥ α` (default α = 0.05) **or**
//!   `|relative change| < min_relative_change_per_hour` (default 1% per hour); otherwise
//!   `increasing` or `decreasing` by the slope's sign.
//!
//! The test assumes independent noise: autocorrelated series (a smoothed gauge) make `p`
//! optimistic. A trend is invariant to adding a constant to the values (slope, interval and
//! p-value; the relative change, being relative to the level, is not).
//!
//! # Stability
//!
//! [`stability`] of per-interval values (non-finite ones ignored, at least 2):
//! `stability_score = 1 / (1 + CV)`, `CV = s / |mean|` with the sample standard deviation
//! `s` — the inference monitor's `stability_score` formula. A zero mean gives CV 0 when all
//! values are 0, else infinity (score 0). Bands ([`StabilityRating`]): `stable` ≥ 0.9
//! (CV ≤ 11%), `moderate` ≥ 0.75 (CV ≤ 33%), `unstable` ≥ 0.5 (CV ≤ 100%), else `erratic`. A
//! trending series scores lower than its noise alone would: read it with its [`Trend`].
//!
//! # Bottlenecks
//!
//! [`identify_bottlenecks`] judges three things, each with impact cut-offs:
//!
//! | kind | number | high | medium | low |
//! |---|---|---|---|---|
//! | `time_share` | stage total / sum of all stage totals | ≥ 0.50 | ≥ 0.25 | ≥ 0.10 |
//! | `slowdown` | `current(1 − e_c) / (baseline(1 + e_b))` | ≥ 2.0 | ≥ 1.5 | ≥ 1.2 |
//! | `saturation` | mean usage ratio of CPU, memory, disk | ≥ 0.90 | ≥ 0.80 | ≥ 0.70 |
//!
//! Below the low cut-off nothing is reported. The slowdown is conservative: `e` is each
//! estimate's relative error ([`relative_error_bound`](tachymeter::histogram::relative_error_bound)
//! of the histogram's schema for quantiles, 0 for exact means), so the factor is the smallest
//! the true values allow. Results are ordered by impact, then kind (time share, slowdown,
//! saturation), then value: the dominant stage comes first.
//!
//! # Recommendations
//!
//! [`recommendations`] applies this table to [`Findings`] (ratios 0–1), highest priority first:
//!
//! | # | condition | `type` | priority |
//! |---|---|---|---|
//! | 1 | CPU > 0.80 (seeds) | `cpu_optimization` | high |
//! | 2 | memory > 0.85 (seeds) | `memory_optimization` | high |
//! | 3 | disk > 0.90 | `disk_optimization` | high above 0.95, else medium |
//! | 4 | error rate > 0.01 | `error_rate` | high above 0.05 (the inference threshold), else medium |
//! | 5 | cache hit rate < 0.80 (the inference threshold) | `cache_optimization` | high below 0.5, else medium |
//! | 6 | leak suspected | `memory_leak` | high |
//! | 7 | significant regression with `relative ≥ 0.10` | `performance_regression` | high from 0.5, else medium |
//! | 8 | `time_share` bottleneck of high impact | `stage_optimization` | medium |
//! | 9 | `slowdown` bottleneck of high or medium impact | `stage_slowdown` | as the impact |
//!
//! Priorities are the monitors' shared [`Priority`](tachymeter_monitor::Priority).
//!
//! # Grade
//!
//! [`grade`] is the seeds' `performance_grade` on `u = (avg CPU% + avg memory%) / 2`:
//! `excellent` if `u < 30`, `good` if `30 ≤ u < 50`, `fair` if `50 ≤ u < 70`, else `poor`.
//!
//! # Memory leak
//!
//! [`memory_leak`] takes resident-set points `(seconds, bytes)` (at least 10 finite ones). A
//! collector makes memory a sawtooth whose floor (the level after a collection) is what is
//! retained, so the decision is made on the floor: the span is cut into
//! [`LeakConfig::windows`] equal-time windows (default 10, at most `n/2`, at least
//! [`MIN_FLOOR_WINDOWS`]), each window's minimum is a floor point, and the floor's trend is
//! taken as above (Theil–Sen, Mann–Kendall at `alpha`, no relative threshold). A leak is
//! **suspected** when the floor is significantly increasing **and** its fitted growth over
//! the analysed span, `slope × (t_last − t_first)`, is at least
//! [`LeakConfig::min_growth_bytes`] (default 50 MiB, the seeds' threshold — which the seeds
//! apply to first-versus-last of the last 5 snapshots). A sawtooth whose peaks and troughs do
//! not rise has a flat floor and is not suspected, whatever its amplitude, as long as a window
//! is longer than one cycle. Reported: `growth_bytes_per_hour = slope × 3600`, and with
//! [`LeakConfig::limit_bytes`], `hours_to_limit = (limit − fitted floor now) / slope / 3600`.
//! The raw series' trend is reported too, but not decided on: on a 100–300 MB sawtooth with a
//! 10-minute cycle, one hour at 10 s with 2 MB noise, the raw trend is `increasing` for 17 of 40
//! phases, the floor rule suspects none (with a 5-minute cycle: 4 of 40 and none).
//!
//! # Baselines and regressions
//!
//! A [`Baseline`] holds one series over one period: count, exact mean, sample standard
//! deviation, p50/p90/p95/p99 and the quantiles' relative error bound `e`
//! ([`Baseline::from_range`] from the engine's history: the tier's schema, 4.4% at schema 3,
//! 8.8% at 2, 17.2% at 1; [`Baseline::from_values`]: exact). [`compare`] gives
//! `delta = current − baseline` and `relative = delta / baseline`, and decides
//! `significant`:
//!
//! - **quantiles**: both periods have at least [`RegressionConfig::min_count`] observations
//!   (default 30) and the error intervals do not overlap: `c(1 − e_c) > b(1 + e_b)` for an
//!   increase, `c(1 + e_c) < b(1 − e_b)` for a decrease. The combined bound is reported as
//!   `error_bound`.
//! - **means** (exact: sum over count): Welch's t-test, `t = (m_c − m_b)/√(s_b²/n_b + s_c²/n_c)`
//!   with Welch–Satterthwaite degrees of freedom and two-sided `p < alpha` (default 0.05);
//!   each `s` is inflated by `1 + e` because a histogram's standard deviation is computed
//!   from bucket representatives.
//!
//! `significant` is statistical, not practical: rule 7 of the recommendations adds the 10%.
//!
//! # Series from the engine
//!
//! The engine's `range()` aggregates a whole range; [`series_from_history`] queries
//! consecutive `Range::Between` sub-ranges of a step rounded up to whole periods of the
//! covering tier (default tiers: 10 s up to 10 minutes back, 5 min up to 6 hours, 1 h up to 7
//! days), at most [`MAX_SERIES_POINTS`] points, one per sub-range at its midpoint.
#![deny(unsafe_code)]

mod baseline;
mod bottleneck;
mod grade;
mod leak;
mod recommend;
mod series;
mod stability;
pub(crate) mod stats;
mod trend;

pub use baseline::{compare, Baseline, Regression, RegressionConfig, Statistic};
pub use bottleneck::{
    identify_bottlenecks, slowdown, time_shares, Bottleneck, BottleneckInput, BottleneckKind,
    Estimate, Impact, ResourceUsage, StageComparison, StageTime, SATURATION_CUTOFFS, SHARE_CUTOFFS,
    SLOWDOWN_CUTOFFS,
};
pub use grade::{grade, Grade};
pub use leak::{
    memory_leak, LeakAssessment, LeakConfig, DEFAULT_MIN_GROWTH_BYTES, MIN_FLOOR_WINDOWS,
};
pub use recommend::{
    recommendations, Findings, Recommendation, RecommendationType, CACHE_HIT_RATE_LOW, CPU_HIGH,
    DISK_HIGH, ERROR_RATE_MEDIUM, MEMORY_HIGH, REGRESSION_MIN_RELATIVE,
};
pub use series::{
    resource_series, series_from_history, stages_from_profiler, SeriesValue, MAX_SERIES_POINTS,
    RSS_READING,
};
pub use stability::{stability, Stability, StabilityRating};
pub use stats::MAX_TREND_POINTS;
pub use trend::{trend, Direction, Trend, TrendConfig};

/// Why an analysis could not be made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum AnalysisError {
    /// Fewer usable points than the analysis needs: query a longer range or a finer
    /// resolution, or wait for more collections.
    TooFewPoints {
        /// Points with a finite time and value.
        usable: usize,
        /// Points needed.
        required: usize,
        /// Points dropped for a non-finite time or value.
        dropped: usize,
    },
    /// Every point has the same time: a trend needs time to pass between points.
    NoTimeSpan,
    /// A configuration value is outside its range (the message says which).
    InvalidConfig(&'static str),
}

impl std::fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalysisError::TooFewPoints {
                usable,
                required,
                dropped,
            } => write!(
                f,
                "too few points: {usable} usable ({dropped} dropped as not finite), {required} needed"
            ),
            AnalysisError::NoTimeSpan => f.write_str("every point has the same time"),
            AnalysisError::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
        }
    }
}

impl std::error::Error for AnalysisError {}
