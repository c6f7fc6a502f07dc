//! Stability: `1 / (1 + CV)` of per-interval values, with a rating band.

use super::stats::{finite, mean_sd};
use super::AnalysisError;
use serde::{Deserialize, Serialize};

/// The band a [`Stability::stability_score`] falls in (the seeds' `stability_rating`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StabilityRating {
    /// `score < 0.5` (CV above 1: the spread exceeds the level).
    Erratic,
    /// `0.5 <= score < 0.75` (CV in (1/3, 1]).
    Unstable,
    /// `0.75 <= score < 0.9` (CV in (1/9, 1/3]).
    Moderate,
    /// `score >= 0.9` (CV at most 1/9, about 11%).
    Stable,
}

impl StabilityRating {
    /// The band of `score` (see the variants).
    pub fn of(score: f64) -> StabilityRating {
        if score >= 0.9 {
            StabilityRating::Stable
        } else if score >= 0.75 {
            StabilityRating::Moderate
        } else if score >= 0.5 {
            StabilityRating::Unstable
        } else {
            StabilityRating::Erratic
        }
    }
}

/// How steady a series of per-interval values is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stability {
    /// `1 / (1 + cv)` in `[0, 1]`: 1 for a constant series, 0.5 when the standard deviation
    /// equals the mean.
    pub stability_score: f64,
    /// The score's band.
    pub stability_rating: StabilityRating,
    /// Coefficient of variation `stddev / |mean|` (0 for an all-zero series, infinite when the
    /// mean is 0 and the values vary).
    pub cv: f64,
    /// Mean of the values.
    pub mean: f64,
    /// Sample standard deviation (`n − 1`).
    pub stddev: f64,
    /// Finite values used.
    pub points: usize,
}

/// The stability of `values` (one per interval; non-finite values are ignored).
///
/// # Errors
/// [`AnalysisError::TooFewPoints`] with fewer than 2 finite values.
pub fn stability(values: &[f64]) -> Result<Stability, AnalysisError> {
    let v = finite(values);
    let (mean, stddev) = mean_sd(&v).ok_or(AnalysisError::TooFewPoints {
        usable: v.len(),
        required: 2,
        dropped: values.len() - v.len(),
    })?;
    let cv = if mean != 0.0 {
        stddev / mean.abs()
    } else if stddev == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    let score = 1.0 / (1.0 + cv);
    Ok(Stability {
        stability_score: score,
        stability_rating: StabilityRating::of(score),
        cv,
        mean,
        stddev,
        points: v.len(),
    })
}
