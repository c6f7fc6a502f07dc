//! Deterministic "realistic latency" inputs.
//!
//! 4096 log-normal values in nanoseconds, median 50 µs, σ = 1.2 (in log space), clamped to
//! 1 µs ..= 10 ms. Generated from a fixed SplitMix64 seed with Box–Muller, so every run and every
//! library sees the same sequence; benches cycle through it with `i & LATENCY_MASK`.
#![forbid(unsafe_code)]

use std::sync::Arc;

/// Number of precomputed values (a power of two).
pub const LATENCIES: usize = 4096;
/// Mask to cycle through the values: `values[i & LATENCY_MASK]`.
pub const LATENCY_MASK: usize = LATENCIES - 1;
/// Smallest value generated, in ns (1 µs).
pub const MIN_NS: u64 = 1_000;
/// Largest value generated, in ns (10 ms).
pub const MAX_NS: u64 = 10_000_000;

const MEDIAN_NS: f64 = 50_000.0;
const SIGMA: f64 = 1.2;
const SEED: u64 = 0x7ac4_9e7e_5eed_0001;

/// SplitMix64: tiny, deterministic, good enough to feed Box–Muller.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: never 0, so `ln` is finite.
    fn next_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// The 4096 latencies, in nanoseconds (a fixed-size array, so `values[i & LATENCY_MASK]` needs
/// no bounds check).
#[must_use]
pub fn latencies() -> Arc<[u64; LATENCIES]> {
    let mut rng = SplitMix64(SEED);
    let mu = MEDIAN_NS.ln();
    let mut out = [0u64; LATENCIES];
    for v in &mut out {
        let (u1, u2) = (rng.next_unit(), rng.next_unit());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        *v = ((mu + SIGMA * z).exp() as u64).clamp(MIN_NS, MAX_NS);
    }
    Arc::new(out)
}

/// The same values in seconds, for peers whose idiom is `observe(f64 seconds)`.
#[must_use]
pub fn latencies_secs() -> Arc<[f64; LATENCIES]> {
    let ns = latencies();
    Arc::new(std::array::from_fn(|i| ns[i] as f64 * 1e-9))
}

/// Histogram bucket bounds (seconds) given to the bucketed peers: 1 µs · 2^k, k = 0..14, so
/// the whole 1 µs – 10 ms range is covered by 14 finite buckets (+Inf).
#[must_use]
pub fn bucket_bounds_secs() -> Vec<f64> {
    (0..14).map(|k| 1e-6 * f64::from(1u32 << k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_in_range_and_spread() {
        let a = latencies();
        assert_eq!(a, latencies());
        assert!(a.iter().all(|&v| (MIN_NS..=MAX_NS).contains(&v)));
        let mut s = a.to_vec();
        s.sort_unstable();
        let median = s[LATENCIES / 2] as f64;
        assert!((25_000.0..100_000.0).contains(&median), "median {median}");
        assert!(
            s[LATENCIES * 99 / 100] > 500_000,
            "p99 {}",
            s[LATENCIES * 99 / 100]
        );
    }
}
