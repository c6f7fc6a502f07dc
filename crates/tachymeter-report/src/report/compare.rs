//! Comparing two reports series by series (the seeds' `compare_performance(period1, period2)`).

use super::{Figures, KindDoc, PerformanceReport, Period};
use crate::analysis::stats::normal_sf;
use crate::analysis::{self, Baseline, RegressionConfig, Statistic};
use serde::{Deserialize, Serialize};

/// Significance level of the rate and proportion tests (the analysis' default α).
const ALPHA: f64 = 0.05;

/// The change of one statistic of one series between two reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesDelta {
    /// The series (`summary` for the headline figures).
    pub series: String,
    /// `mean`, `p50`, `p95`, `p99`, `throughput` or `error_rate`.
    pub statistic: String,
    /// Its value in the first period.
    pub baseline: f64,
    /// Its value in the second period.
    pub current: f64,
    /// `current − baseline`.
    pub delta: f64,
    /// `delta / baseline` (`None` for a zero baseline).
    pub relative: Option<f64>,
    /// Whether the change is beyond what the estimates' error and sampling explain.
    pub significant: bool,
    /// The test's p-value (means, rates, proportions).
    pub p_value: Option<f64>,
    /// Why, with the numbers.
    pub reason: String,
}

/// Two reports compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comparison {
    /// The first (baseline) period.
    pub period1: Period,
    /// The second (current) period.
    pub period2: Period,
    /// Request throughput and error rate.
    pub summary: Vec<SeriesDelta>,
    /// Per histogram series present in both: mean, p50, p95, p99.
    pub series: Vec<SeriesDelta>,
}

/// Compares `p2` against `p1` (the baseline).
///
/// - **Histogram series** (present in both, the range figures of each report, else its
///   cumulative ones): mean, p50, p95 and p99 through [`analysis::compare`] with the default
///   [`RegressionConfig`]: quantiles are significant when both periods have at least 30
///   observations and the histogram error intervals do not overlap; means by Welch's t-test
///   (p < 0.05).
/// - **Throughput** (`summary`): requests are counts over a known time, so a Poisson rate
///   test: `z = (r₂ − r₁)/√(n₁/T₁² + n₂/T₂²)`, two-sided p < 0.05.
/// - **Error rate** (`summary`): a two-proportion z-test on errors over requests,
///   `z = (e₂ − e₁)/√(p̄(1 − p̄)(1/n₁ + 1/n₂))` with the pooled `p̄`, two-sided p < 0.05.
pub fn compare(p1: &PerformanceReport, p2: &PerformanceReport) -> Comparison {
    let mut summary = Vec::new();
    let (s1, s2) = (&p1.summary, &p2.summary);
    if let (Some(r1), Some(r2)) = (s1.throughput, s2.throughput) {
        let t1 = if r1 > 0.0 {
            s1.total_requests as f64 / r1
        } else {
            0.0
        };
        let t2 = if r2 > 0.0 {
            s2.total_requests as f64 / r2
        } else {
            0.0
        };
        let var = if t1 > 0.0 && t2 > 0.0 {
            s1.total_requests as f64 / (t1 * t1) + s2.total_requests as f64 / (t2 * t2)
        } else {
            0.0
        };
        summary.push(tested(
            "summary",
            "throughput",
            r1,
            r2,
            var,
            "Poisson rate test",
        ));
    }
    if let (Some(e1), Some(e2)) = (s1.error_rate, s2.error_rate) {
        let (n1, n2) = (s1.total_requests as f64, s2.total_requests as f64);
        let pooled = (e1 * n1 + e2 * n2) / (n1 + n2);
        let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
        summary.push(tested(
            "summary",
            "error_rate",
            e1,
            e2,
            var,
            "two-proportion z-test",
        ));
    }
    let mut series = Vec::new();
    for a in p1.series.iter().filter(|s| s.kind == KindDoc::Histogram) {
        let Some(b) = p2.series(&a.series) else {
            continue;
        };
        let (Some(ba), Some(bb)) = (
            baseline(a.range.as_ref().unwrap_or(&a.cumulative)),
            baseline(b.range.as_ref().unwrap_or(&b.cumulative)),
        ) else {
            continue;
        };
        for (stat, name) in [
            (Statistic::Mean, "mean"),
            (Statistic::P50, "p50"),
            (Statistic::P95, "p95"),
            (Statistic::P99, "p99"),
        ] {
            if let Some(r) = analysis::compare(&ba, &bb, stat, &RegressionConfig::default()) {
                series.push(SeriesDelta {
                    series: a.series.clone(),
                    statistic: name.into(),
                    baseline: r.baseline,
                    current: r.current,
                    delta: r.delta,
                    relative: Some(r.relative).filter(|v| v.is_finite()),
                    significant: r.significant,
                    p_value: r.p_value,
                    reason: r.reason,
                });
            }
        }
    }
    Comparison {
        period1: p1.period.clone(),
        period2: p2.period.clone(),
        summary,
        series,
    }
}

/// A two-sided z-test of `b − a` with variance `var`.
fn tested(series: &str, statistic: &str, a: f64, b: f64, var: f64, test: &str) -> SeriesDelta {
    let delta = b - a;
    let p = (var > 0.0 && var.is_finite()).then(|| 2.0 * normal_sf((delta / var.sqrt()).abs()));
    let significant = p.is_some_and(|p| p < ALPHA);
    let reason = match p {
        Some(p) if significant => format!("{test}: p = {p:.4} < {ALPHA}"),
        Some(p) => format!("{test}: p = {p:.4} >= {ALPHA}"),
        None => format!("{test}: no variance (too few requests or no time)"),
    };
    SeriesDelta {
        series: series.into(),
        statistic: statistic.into(),
        baseline: a,
        current: b,
        delta,
        relative: (a != 0.0).then(|| delta / a.abs()),
        significant,
        p_value: p,
        reason,
    }
}

/// The baseline of a histogram's figures (the sample standard deviation from the population
/// one, as [`Baseline::from_histogram`] does).
fn baseline(f: &Figures) -> Option<Baseline> {
    let n = f.count.filter(|&n| n > 0)?;
    let sd = f.stddev.map(|sd| {
        if n > 1 {
            sd * (n as f64 / (n as f64 - 1.0)).sqrt()
        } else {
            0.0
        }
    });
    Some(Baseline {
        count: n,
        mean: f.mean,
        stddev: sd,
        p50: f.p50,
        p90: f.p90,
        p95: f.p95,
        p99: f.p99,
        relative_error: f.relative_error.unwrap_or(0.0),
        from_seconds: 0.0,
        to_seconds: 0.0,
    })
}
