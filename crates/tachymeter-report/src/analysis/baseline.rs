//! Baselines per series and the comparison of two periods.

use super::stats::{finite, mean_sd, student_t_two_sided};
use serde::{Deserialize, Serialize};
use tachymeter::histogram::relative_error_bound;
use tachymeter::{HistogramData, RangeStats};

/// One series over one period: what a later period is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Baseline {
    /// Observations (histograms), collections (gauges) or plain values.
    pub count: u64,
    /// Exact mean (a histogram's sum over its count; a gauge's mean of collections).
    pub mean: Option<f64>,
    /// Sample standard deviation (histograms: from bucket representatives, within
    /// `relative_error`).
    pub stddev: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Relative error bound of the quantiles (0 for exact values).
    pub relative_error: f64,
    /// Start of the period, seconds since the engine started (0 for plain values).
    pub from_seconds: f64,
    /// End of the period.
    pub to_seconds: f64,
}

impl Baseline {
    /// The baseline of a histogram's data (quantiles within its schema's error bound).
    pub fn from_histogram(data: &HistogramData) -> Baseline {
        let n = data.count();
        let sample_sd = data.stddev().map(|sd| {
            if n > 1 {
                sd * (n as f64 / (n as f64 - 1.0)).sqrt()
            } else {
                0.0
            }
        });
        Baseline {
            count: n,
            mean: data.mean(),
            stddev: sample_sd,
            p50: data.p50(),
            p90: data.p90(),
            p95: data.p95(),
            p99: data.p99(),
            relative_error: relative_error_bound(data.schema()),
            from_seconds: 0.0,
            to_seconds: 0.0,
        }
    }

    /// The baseline of a time range: a histogram's merged data, or a gauge's mean over its
    /// collections (no quantiles, no standard deviation); `None` for counters and empty ranges
    /// (compare their `throughput` directly).
    pub fn from_range(stats: &RangeStats) -> Option<Baseline> {
        let mut b = if let Some(data) = stats.data.as_ref().filter(|d| d.count() > 0) {
            Baseline::from_histogram(data)
        } else if let Some(g) = stats.gauge {
            Baseline {
                count: stats.count,
                mean: Some(g.mean),
                stddev: None,
                p50: None,
                p90: None,
                p95: None,
                p99: None,
                relative_error: 0.0,
                from_seconds: 0.0,
                to_seconds: 0.0,
            }
        } else {
            return None;
        };
        b.from_seconds = stats.from.as_secs_f64();
        b.to_seconds = stats.to.as_secs_f64();
        Some(b)
    }

    /// The baseline of plain values (exact; quantiles by nearest rank; non-finite values are
    /// ignored). `None` without a finite value.
    pub fn from_values(values: &[f64]) -> Option<Baseline> {
        let mut v = finite(values);
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |q: f64| {
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            Some(v[rank - 1])
        };
        let n = v.len();
        let (mean, sd) = mean_sd(&v).unwrap_or((v[0], 0.0));
        Some(Baseline {
            count: n as u64,
            mean: Some(mean),
            stddev: Some(sd),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            relative_error: 0.0,
            from_seconds: 0.0,
            to_seconds: 0.0,
        })
    }

    /// The value of `statistic`.
    pub fn get(&self, statistic: Statistic) -> Option<f64> {
        match statistic {
            Statistic::Mean => self.mean,
            Statistic::P50 => self.p50,
            Statistic::P90 => self.p90,
            Statistic::P95 => self.p95,
            Statistic::P99 => self.p99,
        }
    }
}

/// Which statistic of two periods [`compare`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The exact mean, tested with Welch's t.
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
}

/// The rule [`compare`] applies (see the [module docs](super#baselines-and-regressions)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegressionConfig {
    /// Significance level of Welch's t-test on means (default 0.05).
    pub alpha: f64,
    /// Observations each period needs before a quantile difference can be significant
    /// (default 30: a tail quantile of fewer observations is mostly sampling noise).
    pub min_count: u64,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        RegressionConfig {
            alpha: 0.05,
            min_count: 30,
        }
    }
}

/// The change of one statistic between a baseline and a current period. A change either way
/// is reported; for latency-like series a positive `delta` is the regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Regression {
    /// The statistic compared.
    pub statistic: Statistic,
    /// Its baseline value.
    pub baseline: f64,
    /// Its current value.
    pub current: f64,
    /// `current − baseline`.
    pub delta: f64,
    /// `delta / baseline` (infinite for a zero baseline and a nonzero delta).
    pub relative: f64,
    /// The relative change the histogram error bounds alone can explain in the direction of
    /// `delta`: `(1 + e_b)/(1 − e_c) − 1` up, `1 − (1 − e_b)/(1 + e_c)` down (0 for exact
    /// means).
    pub error_bound: f64,
    /// Welch's two-sided p-value (means only).
    pub p_value: Option<f64>,
    /// Whether the change is real (see the [module docs](super#baselines-and-regressions)).
    pub significant: bool,
    /// Why, in words with the numbers.
    pub reason: String,
}

/// Compares `statistic` of `current` against `baseline` under `config`; `None` when either
/// period lacks the statistic or it is not finite.
pub fn compare(
    baseline: &Baseline,
    current: &Baseline,
    statistic: Statistic,
    config: &RegressionConfig,
) -> Option<Regression> {
    let b = baseline.get(statistic).filter(|v| v.is_finite())?;
    let c = current.get(statistic).filter(|v| v.is_finite())?;
    let delta = c - b;
    let relative = if b != 0.0 {
        delta / b.abs()
    } else if delta == 0.0 {
        0.0
    } else {
        delta.signum() * f64::INFINITY
    };
    let (eb, ec) = match statistic {
        Statistic::Mean => (0.0, 0.0),
        _ => (baseline.relative_error, current.relative_error),
    };
    let error_bound = if delta >= 0.0 {
        (1.0 + eb) / (1.0 - ec).max(f64::MIN_POSITIVE) - 1.0
    } else {
        1.0 - (1.0 - eb) / (1.0 + ec)
    };
    // The estimates' error intervals must not overlap: c(1−e_c) > b(1+e_b) up,
    // c(1+e_c) < b(1−e_b) down.
    let beyond_bound = if delta > 0.0 {
        c * (1.0 - ec) > b * (1.0 + eb)
    } else if delta < 0.0 {
        c * (1.0 + ec) < b * (1.0 - eb)
    } else {
        false
    };
    let (p_value, significant, reason) = match statistic {
        Statistic::Mean => {
            let p = welch(baseline, current);
            let sig = p.is_some_and(|p| p < config.alpha) && delta != 0.0;
            let reason = match p {
                Some(p) if sig => format!("Welch p = {p:.4} < {}", config.alpha),
                Some(p) => format!("Welch p = {p:.4} >= {}", config.alpha),
                None => "no standard deviation or too few observations for Welch's test".into(),
            };
            (p, sig, reason)
        }
        _ if baseline.count < config.min_count || current.count < config.min_count => (
            None,
            false,
            format!(
                "too few observations ({} and {}, need {})",
                baseline.count, current.count, config.min_count
            ),
        ),
        _ if beyond_bound => (
            None,
            true,
            format!(
                "{:+.2}% exceeds the combined error bound {:.2}%",
                relative * 100.0,
                error_bound * 100.0
            ),
        ),
        _ => (
            None,
            false,
            format!(
                "{:+.2}% is within the combined error bound {:.2}%",
                relative * 100.0,
                error_bound * 100.0
            ),
        ),
    };
    Some(Regression {
        statistic,
        baseline: b,
        current: c,
        delta,
        relative,
        error_bound,
        p_value,
        significant,
        reason,
    })
}

/// Welch's two-sided p-value for the means of two periods; standard deviations are inflated
/// by `1 + relative_error` (the histogram estimate's bound, so the test errs towards "not
/// significant"). `None` without standard deviations or with fewer than 2 observations.
fn welch(a: &Baseline, b: &Baseline) -> Option<f64> {
    let (ma, mb) = (a.mean?, b.mean?);
    if a.count < 2 || b.count < 2 {
        return None;
    }
    let va = (a.stddev? * (1.0 + a.relative_error)).powi(2) / a.count as f64;
    let vb = (b.stddev? * (1.0 + b.relative_error)).powi(2) / b.count as f64;
    let se2 = va + vb;
    if se2.is_nan() || se2 <= 0.0 {
        return Some(if ma == mb { 1.0 } else { 0.0 });
    }
    let t = (mb - ma) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.count as f64 - 1.0) + vb * vb / (b.count as f64 - 1.0));
    Some(student_t_two_sided(t, df))
}
