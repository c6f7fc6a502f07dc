//! Small statistics for the overhead measurement: the median and a percentile-bootstrap
//! confidence interval of the median. Hand-written: a few lines over a sorted copy, where a
//! statistics crate would add a dependency tree to the demo for two functions.

use crate::workload::Rng;

/// The median of `v` (the mean of the two middle values for an even length); NaN if empty.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// The `level` (e.g. 0.95) percentile-bootstrap confidence interval of the median of `v`:
/// `resamples` resamples of `v` with replacement (a deterministic generator seeded with
/// `seed`), the median of each, and the `(1 − level)/2` and `(1 + level)/2` quantiles of those
/// medians (nearest rank). `(NaN, NaN)` if `v` is empty.
pub fn bootstrap_median_ci(v: &[f64], level: f64, resamples: usize, seed: u64) -> (f64, f64) {
    if v.is_empty() || resamples == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut sample = vec![0.0; v.len()];
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| {
            for x in sample.iter_mut() {
                *x = v[rng.below(v.len() as u64) as usize];
            }
            median(&sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        let i = (q * resamples as f64).ceil() as usize;
        medians[i.clamp(1, resamples) - 1]
    };
    (rank((1.0 - level) / 2.0), rank((1.0 + level) / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    /// The oracle: for 5 values, all 5^5 equally likely resamples enumerated exactly give the
    /// distribution of the resampled median; its 2.5% and 97.5% quantiles (nearest rank) are
    /// what the bootstrap estimates. With 40,000 random resamples the estimate lands on the
    /// same data values (the medians of 5 values are data values, and the quantiles are not at
    /// a jump of the distribution for this data).
    #[test]
    fn bootstrap_matches_the_exact_resampling_distribution() {
        let v = [10.0, -4.0, 7.5, 30.0, 1.0];
        let n = v.len();
        let mut exact = Vec::new();
        for code in 0..n.pow(5) {
            let mut c = code;
            let s: Vec<f64> = (0..n)
                .map(|_| {
                    let x = v[c % n];
                    c /= n;
                    x
                })
                .collect();
            exact.push(median(&s));
        }
        exact.sort_by(f64::total_cmp);
        let total = exact.len();
        let q = |p: f64| exact[((p * total as f64).ceil() as usize).clamp(1, total) - 1];
        let (lo, hi) = bootstrap_median_ci(&v, 0.95, 40_000, 7);
        assert_eq!((lo, hi), (q(0.025), q(0.975)));
        assert!(lo <= median(&v) && median(&v) <= hi);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(bootstrap_median_ci(&[2.0; 9], 0.95, 1000, 1), (2.0, 2.0));
        let (a, b) = bootstrap_median_ci(&[], 0.95, 1000, 1);
        assert!(a.is_nan() && b.is_nan());
    }
}
