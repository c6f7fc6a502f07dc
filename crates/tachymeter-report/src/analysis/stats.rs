//! The statistics the analyses share: series cleaning, Theil–Sen with Sen's interval,
//! Mann–Kendall, and the normal and Student t distributions. Pure functions over slices; no
//! dependency (each function is a few lines of a textbook algorithm, named where it is used).

use super::AnalysisError;

/// Points a trend analyses at most: beyond it the series is reduced to this many bins (mean
/// time, mean value of consecutive, equally sized groups), so the `n(n−1)/2` pairwise slopes
/// stay below 500 000 (4 MB).
pub const MAX_TREND_POINTS: usize = 1000;

/// The points with a finite time and value, sorted by time, and how many were dropped.
pub(crate) fn clean(series: &[(f64, f64)]) -> (Vec<(f64, f64)>, usize) {
    let mut out: Vec<(f64, f64)> = series
        .iter()
        .copied()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    let dropped = series.len() - out.len();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    (out, dropped)
}

/// Reduces `points` (sorted by time) to at most `max` bins of consecutive points (mean time,
/// mean value).
pub(crate) fn bin(points: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max == 0 {
        return points;
    }
    let size = points.len().div_ceil(max);
    points
        .chunks(size)
        .map(|c| {
            let n = c.len() as f64;
            let t = c.iter().map(|p| p.0).sum::<f64>() / n;
            let v = c.iter().map(|p| p.1).sum::<f64>() / n;
            (t, v)
        })
        .collect()
}

/// The values that every analysis of plain values needs: finite ones only.
pub(crate) fn finite(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|v| v.is_finite()).collect()
}

/// Mean and sample standard deviation (`n − 1`); `None` for fewer than 2 values.
pub(crate) fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

/// Theil–Sen and Mann–Kendall over one cleaned series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenKendall {
    pub slope: f64,
    pub intercept: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub s: i64,
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests
    pub var_s: f64,
    pub z: f64,
    pub p_value: f64,
}

/// Theil–Sen slope (median of the pairwise slopes over pairs with distinct times), intercept
/// (median of `v − slope·t`), Sen's (1968) rank-based `1 − alpha` interval and the
/// Mann–Kendall test (two-sided, normal approximation, tie-corrected variance).
pub(crate) fn sen_kendall(points: &[(f64, f64)], alpha: f64) -> Result<SenKendall, AnalysisError> {
    let n = points.len();
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut s: i64 = 0;
    for (i, &(ti, vi)) in points.iter().enumerate() {
        for &(tj, vj) in &points[i + 1..] {
            let dt = tj - ti;
            if dt > 0.0 {
                slopes.push((vj - vi) / dt);
                s += sign(vj - vi);
            }
        }
    }
    if slopes.is_empty() {
        return Err(AnalysisError::NoTimeSpan);
    }
    slopes.sort_by(f64::total_cmp);
    let slope = median_sorted(&slopes);
    let mut residuals: Vec<f64> = points.iter().map(|(t, v)| v - slope * t).collect();
    residuals.sort_by(f64::total_cmp);
    let intercept = median_sorted(&residuals);

    // Tie-corrected variance of S: [n(n−1)(2n+5) − Σ g(g−1)(2g+5)] / 18 over groups g of
    // equal values.
    let mut values: Vec<f64> = points.iter().map(|p| p.1).collect();
    values.sort_by(f64::total_cmp);
    let nf = n as f64;
    let mut var_s = nf * (nf - 1.0) * (2.0 * nf + 5.0);
    let mut k = 0;
    while k < values.len() {
        let g = values[k..].iter().take_while(|&&v| v == values[k]).count();
        let gf = g as f64;
        var_s -= gf * (gf - 1.0) * (2.0 * gf + 5.0);
        k += g;
    }
    var_s = (var_s / 18.0).max(0.0);
    let (z, p_value) = if var_s > 0.0 && s != 0 {
        let z = (s - s.signum()) as f64 / var_s.sqrt();
        (z, 2.0 * normal_sf(z.abs()))
    } else {
        (0.0, 1.0)
    };

    // Sen's interval: ranks M1 = (N − C)/2 and M2 + 1 = (N + C)/2 + 1 of the N sorted slopes,
    // C = z_{1−α/2} · sqrt(Var S); fractional ranks interpolate.
    let big_n = slopes.len() as f64;
    let c = normal_quantile(1.0 - alpha / 2.0) * var_s.sqrt();
    let ci_low = at_rank(&slopes, (big_n - c) / 2.0);
    let ci_high = at_rank(&slopes, (big_n + c) / 2.0 + 1.0);
    Ok(SenKendall {
        slope,
        intercept,
        ci_low: ci_low.min(slope),
        ci_high: ci_high.max(slope),
        s,
        var_s,
        z,
        p_value: p_value.clamp(0.0, 1.0),
    })
}

fn sign(d: f64) -> i64 {
    if d > 0.0 {
        1
    } else if d < 0.0 {
        -1
    } else {
        0
    }
}

/// Median of a sorted, non-empty slice.
pub(crate) fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The value at 1-based fractional rank `r` (clamped to `[1, n]`) of a sorted slice.
fn at_rank(v: &[f64], r: f64) -> f64 {
    let r = r.clamp(1.0, v.len() as f64) - 1.0;
    let lo = r.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let f = r - lo as f64;
    v[lo] + (v[hi] - v[lo]) * f
}

/// `P(Z > z)` for a standard normal `Z`: `erfc(z/√2)/2`, with the Chebyshev fit of `erfc` from
/// Numerical Recipes (`erfcc`, relative error below 1.2e-7).
pub(crate) fn normal_sf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.5 * a);
    let poly = -a * a - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9); `p` in `(0, 1)`.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Two-sided `P(|T| > |t|)` for Student's t with `df` degrees of freedom:
/// `I_{df/(df+t²)}(df/2, 1/2)` (regularized incomplete beta).
pub(crate) fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    if df.is_nan() || df <= 0.0 {
        return 1.0;
    }
    let x = df / (df + t * t);
    incomplete_beta(df / 2.0, 0.5, x).clamp(0.0, 1.0)
}

/// `ln Γ(x)`, Lanczos approximation (g = 7, 9 terms), `x > 0`.
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta `I_x(a, b)` by its continued fraction (modified Lentz, as in
/// Numerical Recipes' `betai`/`betacf`).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_reference_values() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((normal_sf(1.959_963_985) - 0.025).abs() < 1e-6);
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(-1.0) - 0.841_344_746).abs() < 1e-6);
    }

    #[test]
    fn student_t_reference_values() {
        // t = 2.228 at df = 10 is the two-sided 5% point; df = 1 is Cauchy: P(|T|>1) = 0.5.
        assert!((student_t_two_sided(2.228_138_85, 10.0) - 0.05).abs() < 1e-5);
        assert!((student_t_two_sided(1.0, 1.0) - 0.5).abs() < 1e-6);
        assert!((student_t_two_sided(0.0, 5.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn mann_kendall_of_a_small_monotone_series() {
        // n = 10 strictly increasing: S = 45, Var S = 10·9·25/18 = 125, Z = 44/√125.
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64)).collect();
        let r = sen_kendall(&pts, 0.05).unwrap();
        assert_eq!(r.s, 45);
        assert!((r.var_s - 125.0).abs() < 1e-9);
        assert!((r.z - 44.0 / 125f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.slope, 1.0);
    }
}
