//! Memory-leak detection from resident-set history: the trend of the post-collection floor.

use super::stats::clean;
use super::trend::{trend, Direction, Trend, TrendConfig};
use super::AnalysisError;
use serde::{Deserialize, Serialize};

/// The seeds' minimum growth: 50 MB (MiB, as the seeds divide by 1024²).
pub const DEFAULT_MIN_GROWTH_BYTES: f64 = 50.0 * 1024.0 * 1024.0;

/// Floor windows a leak analysis needs at least (and so points: twice this).
pub const MIN_FLOOR_WINDOWS: usize = 5;

/// The rule [`memory_leak`] applies (see the [module docs](super#memory-leak)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeakConfig {
    /// Significance level of the floor's Mann–Kendall test (default 0.05).
    pub alpha: f64,
    /// Growth of the fitted floor over the analysed span below which no leak is suspected
    /// (default [`DEFAULT_MIN_GROWTH_BYTES`]).
    pub min_growth_bytes: f64,
    /// Equal-time windows whose minima form the floor series (default 10; at least
    /// [`MIN_FLOOR_WINDOWS`]). A window should be longer than one collection cycle.
    pub windows: usize,
    /// A limit to project against (e.g. total memory or a container limit), bytes.
    pub limit_bytes: Option<f64>,
}

impl Default for LeakConfig {
    fn default() -> Self {
        LeakConfig {
            alpha: 0.05,
            min_growth_bytes: DEFAULT_MIN_GROWTH_BYTES,
            windows: 10,
            limit_bytes: None,
        }
    }
}

impl LeakConfig {
    /// The same rule projecting against `bytes`.
    pub fn limit_bytes(mut self, bytes: f64) -> Self {
        self.limit_bytes = Some(bytes);
        self
    }

    /// The same rule with another minimum growth.
    pub fn min_growth_bytes(mut self, bytes: f64) -> Self {
        self.min_growth_bytes = bytes;
        self
    }

    /// The same rule with another number of floor windows.
    pub fn windows(mut self, n: usize) -> Self {
        self.windows = n;
        self
    }
}

/// Whether memory leaks, and the numbers it was judged on. Bytes and seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeakAssessment {
    /// A leak is suspected (see the [module docs](super#memory-leak)).
    pub suspected: bool,
    /// Trend of the raw resident set (for the report; not the decision).
    pub trend: Trend,
    /// Trend of the floor (each window's minimum): the decision's basis.
    pub floor_trend: Trend,
    /// The floor's Theil–Sen slope × 3600: what is retained per hour.
    pub growth_bytes_per_hour: f64,
    /// The floor's slope × the analysed span: the fitted growth over the data.
    pub growth_bytes: f64,
    /// The fitted floor at the last point.
    pub current_floor_bytes: f64,
    /// The limit projected against, if any.
    pub limit_bytes: Option<f64>,
    /// Hours until the fitted floor reaches the limit (`None` without a limit, without growth
    /// or when already above it).
    pub hours_to_limit: Option<f64>,
    /// Why, in words with the numbers.
    pub reason: String,
}

/// Judges `rss` (`(time seconds, resident bytes)` points) for a leak under `config`.
///
/// # Errors
/// [`AnalysisError::TooFewPoints`] with fewer than `2 × MIN_FLOOR_WINDOWS` finite points or
/// fewer than `MIN_FLOOR_WINDOWS` non-empty windows, [`AnalysisError::NoTimeSpan`],
/// [`AnalysisError::InvalidConfig`] for `alpha` outside `(0, 1)` or a NaN growth.
pub fn memory_leak(
    rss: &[(f64, f64)],
    config: &LeakConfig,
) -> Result<LeakAssessment, AnalysisError> {
    let valid = (0.0..1.0).contains(&config.alpha) && config.alpha > 0.0;
    if !valid || config.min_growth_bytes.is_nan() {
        return Err(AnalysisError::InvalidConfig(
            "alpha must be in (0, 1) and min_growth_bytes a number",
        ));
    }
    let (points, dropped) = clean(rss);
    let required = 2 * MIN_FLOOR_WINDOWS;
    if points.len() < required {
        return Err(AnalysisError::TooFewPoints {
            usable: points.len(),
            required,
            dropped,
        });
    }
    let raw_config = TrendConfig::default()
        .alpha(config.alpha)
        .min_relative_change_per_hour(0.0)
        .min_points(required);
    let raw = trend(&points, &raw_config)?;
    let floor = floor_points(
        &points,
        config.windows.max(MIN_FLOOR_WINDOWS).min(points.len() / 2),
    );
    let floor_trend =
        trend(&floor, &raw_config.min_points(MIN_FLOOR_WINDOWS)).map_err(|e| match e {
            AnalysisError::TooFewPoints {
                usable, required, ..
            } => AnalysisError::TooFewPoints {
                usable,
                required,
                dropped,
            },
            e => e,
        })?;
    let slope = floor_trend.slope_per_second;
    let t_last = points.last().map_or(0.0, |p| p.0);
    let span = t_last - points[0].0;
    let growth = slope * span;
    let current = floor_trend.fitted(t_last);
    let hours_to_limit = config.limit_bytes.and_then(|limit| {
        (slope > 0.0 && limit > current).then(|| (limit - current) / slope / 3600.0)
    });
    let rising = floor_trend.direction == Direction::Increasing;
    let suspected = rising && growth >= config.min_growth_bytes;
    let mib = |b: f64| b / 1024.0 / 1024.0;
    let reason = if !rising {
        format!(
            "the floor is not rising significantly ({})",
            floor_trend.reason
        )
    } else if !suspected {
        format!(
            "the floor rises (p = {:.4}) but by {:.1} MiB over the data, below {:.1} MiB",
            floor_trend.p_value,
            mib(growth),
            mib(config.min_growth_bytes)
        )
    } else {
        format!(
            "the floor rises {:.1} MiB/h (p = {:.4}), {:.1} MiB over the data, at least {:.1} MiB",
            mib(slope * 3600.0),
            floor_trend.p_value,
            mib(growth),
            mib(config.min_growth_bytes)
        )
    };
    Ok(LeakAssessment {
        suspected,
        trend: raw,
        floor_trend,
        growth_bytes_per_hour: slope * 3600.0,
        growth_bytes: growth,
        current_floor_bytes: current,
        limit_bytes: config.limit_bytes,
        hours_to_limit,
        reason,
    })
}

/// The minimum (and its time) of each of `windows` equal-time windows of sorted `points`;
/// empty windows are skipped.
fn floor_points(points: &[(f64, f64)], windows: usize) -> Vec<(f64, f64)> {
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let width = (t1 - t0) / windows as f64;
    let mut out: Vec<Option<(f64, f64)>> = vec![None; windows];
    for &(t, v) in points {
        let w = if width > 0.0 {
            (((t - t0) / width) as usize).min(windows - 1)
        } else {
            0
        };
        if out[w].is_none_or(|(_, m)| v < m) {
            out[w] = Some((t, v));
        }
    }
    out.into_iter().flatten().collect()
}
