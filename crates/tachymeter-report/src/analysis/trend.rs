//! Trends: Theil–Sen slope with Sen's interval, Mann–Kendall significance, a relative threshold.

use super::stats::{bin, clean, sen_kendall, MAX_TREND_POINTS};
use super::AnalysisError;
use serde::{Deserialize, Serialize};

/// Which way a series goes (the seeds' `increasing` / `decreasing` / `stable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Significantly rising by at least the relative threshold.
    Increasing,
    /// Significantly falling by at least the relative threshold.
    Decreasing,
    /// Not significant, or changing by less than the relative threshold.
    Stable,
}

/// The rule a [`trend`] applies (see the [module docs](super#trend)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrendConfig {
    /// Significance level of the two-sided Mann–Kendall test; the slope interval has
    /// confidence `1 − alpha` (default 0.05).
    pub alpha: f64,
    /// `|relative_change_per_hour|` below which a significant trend still counts as stable
    /// (default 0.01: 1% of the series' mean absolute value per hour).
    pub min_relative_change_per_hour: f64,
    /// Usable points (finite time and value) a trend needs (default 8; at least 3).
    pub min_points: usize,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            alpha: 0.05,
            min_relative_change_per_hour: 0.01,
            min_points: 8,
        }
    }
}

impl TrendConfig {
    /// The same rule with another significance level.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// The same rule with another relative threshold (fraction per hour; 0 disables it).
    pub fn min_relative_change_per_hour(mut self, fraction: f64) -> Self {
        self.min_relative_change_per_hour = fraction;
        self
    }

    /// The same rule with another minimum number of points.
    pub fn min_points(mut self, n: usize) -> Self {
        self.min_points = n;
        self
    }
}

/// A series' trend and the numbers it was decided from (units: the series' value unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trend {
    /// The decision (see the [module docs](super#trend)).
    pub direction: Direction,
    /// Theil–Sen slope: the median of the pairwise slopes, value units per second.
    pub slope_per_second: f64,
    /// Lower end of Sen's rank-based interval for the slope (per second).
    pub ci_low: f64,
    /// Upper end of Sen's interval (per second).
    pub ci_high: f64,
    /// The interval's confidence, `1 − alpha`.
    pub confidence: f64,
    /// Two-sided Mann–Kendall p-value (normal approximation, tie-corrected).
    pub p_value: f64,
    /// The Mann–Kendall statistic `S` (concordant minus discordant pairs).
    pub mann_kendall_s: i64,
    /// The Mann–Kendall `Z = (S − sgn S)/√Var S`.
    pub mann_kendall_z: f64,
    /// `slope_per_second × 3600 / mean(|value|)`: the fraction of the series' level gained
    /// (or lost) per hour; infinite when the level is 0 and the slope is not.
    pub relative_change_per_hour: f64,
    /// The fitted line's value at `t = 0`: `median(value − slope · t)` (the line is
    /// `intercept + slope_per_second · t`).
    pub intercept: f64,
    /// Points analysed (after dropping non-finite ones and binning to
    /// [`MAX_TREND_POINTS`](super::MAX_TREND_POINTS)).
    pub points: usize,
    /// Points dropped because their time or value was not finite.
    pub dropped: usize,
    /// Seconds from the first to the last point.
    pub span_seconds: f64,
    /// Why the direction was chosen, in words with the numbers.
    pub reason: String,
}

impl Trend {
    /// The fitted line's value at `t` seconds.
    pub fn fitted(&self, t: f64) -> f64 {
        self.intercept + self.slope_per_second * t
    }

    /// Whether Sen's interval contains `slope` (per second).
    pub fn contains(&self, slope: f64) -> bool {
        self.ci_low <= slope && slope <= self.ci_high
    }
}

/// The trend of `series` (`(time seconds, value)` points in any order) under `config`.
///
/// # Errors
/// [`AnalysisError::TooFewPoints`] with fewer than `config.min_points` finite points (at least
/// 3), [`AnalysisError::NoTimeSpan`] when every point has the same time,
/// [`AnalysisError::InvalidConfig`] for an `alpha` outside `(0, 1)` or a negative or NaN
/// threshold.
pub fn trend(series: &[(f64, f64)], config: &TrendConfig) -> Result<Trend, AnalysisError> {
    let valid = (0.0..1.0).contains(&config.alpha)
        && config.alpha > 0.0
        && config.min_relative_change_per_hour >= 0.0;
    if !valid {
        return Err(AnalysisError::InvalidConfig(
            "alpha must be in (0, 1) and min_relative_change_per_hour >= 0",
        ));
    }
    let (points, dropped) = clean(series);
    let required = config.min_points.max(3);
    if points.len() < required {
        return Err(AnalysisError::TooFewPoints {
            usable: points.len(),
            required,
            dropped,
        });
    }
    let points = bin(points, MAX_TREND_POINTS);
    let sk = sen_kendall(&points, config.alpha)?;
    let level = points.iter().map(|p| p.1.abs()).sum::<f64>() / points.len() as f64;
    let per_hour = sk.slope * 3600.0;
    let relative = if level > 0.0 {
        per_hour / level
    } else if per_hour == 0.0 {
        0.0
    } else {
        per_hour.signum() * f64::INFINITY
    };
    let significant = sk.p_value < config.alpha;
    let big_enough = relative.abs() >= config.min_relative_change_per_hour;
    let (direction, reason) = if !significant {
        (
            Direction::Stable,
            format!(
                "not significant: Mann-Kendall p = {:.4} >= alpha = {}",
                sk.p_value, config.alpha
            ),
        )
    } else if !big_enough || sk.slope == 0.0 {
        (
            Direction::Stable,
            format!(
                "significant (p = {:.4}) but {:+.4}%/h is below the {}%/h threshold",
                sk.p_value,
                relative * 100.0,
                config.min_relative_change_per_hour * 100.0
            ),
        )
    } else {
        let d = if sk.slope > 0.0 {
            Direction::Increasing
        } else {
            Direction::Decreasing
        };
        (
            d,
            format!(
                "significant (p = {:.4} < {}) and {:+.4}%/h is at least {}%/h",
                sk.p_value,
                config.alpha,
                relative * 100.0,
                config.min_relative_change_per_hour * 100.0
            ),
        )
    };
    let span = points.last().map_or(0.0, |p| p.0) - points.first().map_or(0.0, |p| p.0);
    Ok(Trend {
        direction,
        slope_per_second: sk.slope,
        ci_low: sk.ci_low,
        ci_high: sk.ci_high,
        confidence: 1.0 - config.alpha,
        p_value: sk.p_value,
        mann_kendall_s: sk.s,
        mann_kendall_z: sk.z,
        relative_change_per_hour: relative,
        intercept: sk.intercept,
        points: points.len(),
        dropped,
        span_seconds: span,
        reason,
    })
}
