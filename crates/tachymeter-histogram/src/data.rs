//! [`HistogramData`]: a merged, immutable, sparse histogram with statistics.

use crate::layout::{bucket_bounds, relative_error_bound, Layout};

/// A sparse histogram in native-bucket form: what a snapshot holds and exporters read.
///
/// Buckets are `(native index, count)` pairs in ascending index order with non-zero counts;
/// bucket `i` covers `bucket_bounds(schema, i)` = `(base^(i-1), base^i]`. The value `0` is counted
/// in [`zero_count`](Self::zero_count).
///
/// `count` and `sum` are exact. `min`/`max` are exact for data built from recorded values
/// ([`Self::from_dense`] with exact extremes); for interval and window data they are the bucket
/// bounds of the lowest and highest non-empty bucket, clamped to known exact extremes.
#[derive(Debug, PartialEq, Default)]
pub struct HistogramData {
    schema: i8,
    zero_count: u64,
    buckets: Vec<(i32, u64)>,
    count: u64,
    sum: u128,
    min: Option<u64>,
    max: Option<u64>,
    /// `cum[i]` = zero count + counts of buckets `0..=i`: quantiles binary-search it, so a
    /// reader's `quantile(q)` is O(log buckets) (the prefix sums are built once, off the hot path).
    cum: Vec<u64>,
    /// p50, p90, p95, p99, p999, computed when the data is built, so a reader's `p99()` is a
    /// field read.
    common: [Option<f64>; 5],
}

/// The quantiles cached in [`HistogramData::common`].
const COMMON: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

impl Clone for HistogramData {
    fn clone(&self) -> Self {
        let mut out = HistogramData::default();
        out.clone_from(self);
        out
    }

    /// Reuses `self`'s buffers: the aggregator's steady state allocates nothing.
    fn clone_from(&mut self, src: &Self) {
        self.schema = src.schema;
        self.zero_count = src.zero_count;
        self.buckets.clone_from(&src.buckets);
        self.count = src.count;
        self.sum = src.sum;
        self.min = src.min;
        self.max = src.max;
        self.cum.clone_from(&src.cum);
        self.common = src.common;
    }
}

/// An error from [`HistogramData::from_parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataError {
    /// Bucket indexes are not strictly ascending, or a count is zero.
    UnsortedBuckets,
    /// `min > max`, or extremes given for an empty histogram.
    InvalidExtremes,
    /// The schema is outside `-4..=8`.
    SchemaOutOfRange(i8),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::UnsortedBuckets => {
                write!(
                    f,
                    "bucket indexes must ascend strictly, with non-zero counts"
                )
            }
            DataError::InvalidExtremes => write!(f, "min/max are inconsistent with the counts"),
            DataError::SchemaOutOfRange(s) => write!(f, "schema {s} is outside -4..=8"),
        }
    }
}

impl std::error::Error for DataError {}

impl HistogramData {
    /// An empty histogram at `schema`.
    pub fn empty(schema: i8) -> HistogramData {
        HistogramData {
            schema,
            ..HistogramData::default()
        }
    }

    /// Builds from dense position counts laid out by `layout` (position 0 = zero bucket, then
    /// `layout.min_index()..=layout.max_index()`), plus the exact sum and extremes.
    pub fn from_dense(
        layout: &Layout,
        dense: &[u64],
        sum: u128,
        min: Option<u64>,
        max: Option<u64>,
    ) -> HistogramData {
        let mut h = HistogramData::default();
        h.assign_dense(layout, dense, sum, min, max);
        h
    }

    /// Records `values` exactly as a recording shard does (dense positions from `layout`, exact sum
    /// and extremes): for tests, oracles and offline data.
    pub fn from_values(layout: &Layout, values: &[u64]) -> HistogramData {
        let mut dense = vec![0u64; layout.dense_len()];
        for &v in values {
            dense[layout.position(v).0] += 1;
        }
        let sum = values.iter().map(|&v| v as u128).sum();
        let (min, max) = (values.iter().min().copied(), values.iter().max().copied());
        HistogramData::from_dense(layout, &dense, sum, min, max)
    }

    /// [`from_dense`](Self::from_dense) into `self`, reusing its buffers.
    pub fn assign_dense(
        &mut self,
        layout: &Layout,
        dense: &[u64],
        sum: u128,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        self.assign_dense_ranges(
            layout,
            dense,
            std::iter::once(1..dense.len()),
            sum,
            min,
            max,
        );
    }

    /// [`assign_dense`](Self::assign_dense) reading only the positions in `ranges` (ascending,
    /// not overlapping, clamped to `dense`) besides the zero bucket at position 0: the caller
    /// vouches that every other position is zero. Lets a caller that knows which blocks of a
    /// large dense array hold counts skip the rest.
    pub fn assign_dense_ranges(
        &mut self,
        layout: &Layout,
        dense: &[u64],
        ranges: impl IntoIterator<Item = std::ops::Range<usize>>,
        sum: u128,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        self.schema = layout.schema();
        self.zero_count = dense.first().copied().unwrap_or(0);
        self.buckets.clear();
        let mut count = self.zero_count;
        let mut next = 1;
        for r in ranges {
            let (start, end) = (r.start.max(next), r.end.min(dense.len()));
            for (pos, &c) in dense.iter().enumerate().take(end).skip(start) {
                if c != 0 {
                    self.buckets.push((layout.position_index(pos), c));
                    count += c;
                }
            }
            next = next.max(end);
        }
        self.count = count;
        self.sum = sum;
        (self.min, self.max) = if count == 0 { (None, None) } else { (min, max) };
        self.refresh_cum();
    }

    /// Empties `self` at `schema`, keeping its buffers.
    pub fn clear(&mut self, schema: i8) {
        self.schema = schema;
        self.zero_count = 0;
        self.buckets.clear();
        self.count = 0;
        self.sum = 0;
        self.min = None;
        self.max = None;
        self.cum.clear();
        self.common = [None; 5];
    }

    fn with_cum(mut self) -> Self {
        self.refresh_cum();
        self
    }

    /// Rebuilds the prefix sums and cached quantiles after the buckets changed (reusing the
    /// buffer).
    fn refresh_cum(&mut self) {
        let mut acc = self.zero_count;
        self.cum.clear();
        self.cum.extend(self.buckets.iter().map(|&(_, c)| {
            acc += c;
            acc
        }));
        self.refresh_common();
    }

    /// Recomputes the cached p50…p999 (after buckets or extremes changed).
    fn refresh_common(&mut self) {
        let common = COMMON.map(|q| self.quantile(q));
        self.common = common;
    }

    /// Builds from sparse parts, checking their consistency (used by decoders and fuzzers).
    pub fn from_parts(
        schema: i8,
        zero_count: u64,
        buckets: Vec<(i32, u64)>,
        sum: u128,
        min: Option<u64>,
        max: Option<u64>,
    ) -> Result<HistogramData, DataError> {
        if !(crate::MIN_SCHEMA..=crate::MAX_SCHEMA).contains(&schema) {
            return Err(DataError::SchemaOutOfRange(schema));
        }
        if buckets.windows(2).any(|w| w[0].0 >= w[1].0) || buckets.iter().any(|b| b.1 == 0) {
            return Err(DataError::UnsortedBuckets);
        }
        let count = buckets
            .iter()
            .try_fold(zero_count, |acc, b| acc.checked_add(b.1))
            .ok_or(DataError::UnsortedBuckets)?;
        match (min, max) {
            (Some(a), Some(b)) if a <= b && count > 0 => {}
            (None, None) => {}
            _ => return Err(DataError::InvalidExtremes),
        }
        Ok(HistogramData {
            schema,
            zero_count,
            buckets,
            count,
            sum,
            min,
            max,
            cum: Vec::new(),
            common: [None; 5],
        }
        .with_cum())
    }

    /// The schema of the buckets.
    pub fn schema(&self) -> i8 {
        self.schema
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact sum of observations.
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// Observations equal to zero.
    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// Smallest observation (see the type docs for exactness).
    pub fn min(&self) -> Option<u64> {
        self.min
    }

    /// Largest observation (see the type docs for exactness).
    pub fn max(&self) -> Option<u64> {
        self.max
    }

    /// True when nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Non-empty buckets as `(native index, count)`, ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.buckets.iter().copied()
    }

    /// `(lower exclusive, upper inclusive)` bounds of native bucket `index` at `schema`.
    pub fn bucket_bounds(schema: i8, index: i32) -> (f64, f64) {
        bucket_bounds(schema, index)
    }

    /// Worst-case relative error of [`quantile`](Self::quantile) at `schema`.
    pub fn relative_error_bound(schema: i8) -> f64 {
        relative_error_bound(schema)
    }

    /// Exact arithmetic mean.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Population standard deviation, computed from bucket representatives around the exact
    /// mean: each observation is replaced by its bucket's estimate (relative error ≤
    /// [`relative_error_bound`](Self::relative_error_bound)). Recording a sum of squares would
    /// cost the hot path a multiply and a store per record; this costs nothing there.
    pub fn stddev(&self) -> Option<f64> {
        let mean = self.mean()?;
        let mut acc = self.zero_count as f64 * mean * mean;
        for &(i, c) in &self.buckets {
            let x = self.estimate(i);
            acc += c as f64 * (x - mean) * (x - mean);
        }
        Some((acc / self.count as f64).sqrt())
    }

    /// The representative of bucket `index`: the point of `(lo, hi]` with equal relative
    /// distance to both ends, narrowed to the integers the bucket can hold and to `[min, max]`.
    fn estimate(&self, index: i32) -> f64 {
        let (lo, hi) = bucket_bounds(self.schema, index);
        let mut x = 2.0 * lo * hi / (lo + hi);
        // Recorded values are integers: the bucket holds floor(lo)+1 ..= floor(hi).
        let (int_lo, int_hi) = (lo.floor() + 1.0, hi.floor());
        if int_lo <= int_hi {
            x = x.clamp(int_lo, int_hi);
        }
        if let (Some(mn), Some(mx)) = (self.min, self.max) {
            // Guarded: data assembled from racing reads must never make this panic.
            if mn <= mx {
                x = x.clamp(mn as f64, mx as f64);
            }
        }
        x
    }

    /// The `q`-quantile (`0 ≤ q ≤ 1`) by nearest rank: an estimate of the `⌈q·n⌉`-th smallest
    /// observation (the smallest for `q = 0`) within a relative error of
    /// [`relative_error_bound`](Self::relative_error_bound) (0.55% at schema 6). `None` when
    /// empty or `q` is not in `[0, 1]`.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if q == 0.0 {
            if let Some(mn) = self.min {
                return Some(mn as f64);
            }
        }
        if q == 1.0 {
            if let Some(mx) = self.max {
                return Some(mx as f64);
            }
        }
        if rank <= self.zero_count {
            return Some(0.0);
        }
        // The first bucket whose cumulative count reaches the rank.
        let at = self.cum.partition_point(|&c| c < rank);
        match self.buckets.get(at) {
            Some(&(i, _)) => Some(self.estimate(i)),
            None => self.max.map(|m| m as f64),
        }
    }

    /// Median (cached when the data was built).
    pub fn p50(&self) -> Option<f64> {
        self.common[0]
    }
    /// 90th percentile (cached).
    pub fn p90(&self) -> Option<f64> {
        self.common[1]
    }
    /// 95th percentile (cached).
    pub fn p95(&self) -> Option<f64> {
        self.common[2]
    }
    /// 99th percentile (cached).
    pub fn p99(&self) -> Option<f64> {
        self.common[3]
    }
    /// 99.9th percentile (cached).
    pub fn p999(&self) -> Option<f64> {
        self.common[4]
    }

    /// This histogram at a coarser `schema` (≤ the current one): bucket `i` goes to
    /// `ceil(i / 2^(current - schema))`, which is exact because coarser boundaries are a subset.
    pub fn downscale(&self, schema: i8) -> HistogramData {
        assert!(
            schema <= self.schema,
            "downscale only goes to coarser schemas"
        );
        let shift = (self.schema - schema) as u32;
        let mut out = HistogramData {
            schema,
            buckets: Vec::with_capacity(self.buckets.len()),
            ..self.clone()
        };
        for &(i, c) in &self.buckets {
            // ceil(i / 2^shift) for any sign of i: arithmetic shift of (i + 2^shift - 1).
            let j = (i + (1 << shift) - 1) >> shift;
            match out.buckets.last_mut() {
                Some(last) if last.0 == j => last.1 += c,
                _ => out.buckets.push((j, c)),
            }
        }
        out.with_cum()
    }

    /// Merges `other` into `self`; the result has the coarser of the two schemas, so merging
    /// equals recording the union of both inputs at that schema.
    pub fn merge(&mut self, other: &HistogramData) {
        let mut scratch = Vec::new();
        self.merge_using(other, &mut scratch);
    }

    /// [`merge`](Self::merge) using `scratch` as the spare bucket buffer: when both inputs have
    /// the same schema and the buffers are large enough, it allocates nothing.
    pub fn merge_using(&mut self, other: &HistogramData, scratch: &mut Vec<(i32, u64)>) {
        // No shortcut for empty inputs: the result takes the coarser schema even then, so that
        // merging always equals recording the union at that schema.
        let schema = self.schema.min(other.schema);
        if self.schema != schema {
            *self = self.downscale(schema);
        }
        let b_owned;
        let b = if other.schema != schema {
            b_owned = other.downscale(schema);
            &b_owned
        } else {
            other
        };
        scratch.clear();
        let (mut x, mut y) = (self.buckets.iter().peekable(), b.buckets.iter().peekable());
        loop {
            match (x.peek(), y.peek()) {
                (Some(&&(i, c)), Some(&&(j, d))) => {
                    if i == j {
                        scratch.push((i, c + d));
                        x.next();
                        y.next();
                    } else if i < j {
                        scratch.push((i, c));
                        x.next();
                    } else {
                        scratch.push((j, d));
                        y.next();
                    }
                }
                (Some(&&p), None) => {
                    scratch.push(p);
                    x.next();
                }
                (None, Some(&&p)) => {
                    scratch.push(p);
                    y.next();
                }
                (None, None) => break,
            }
        }
        std::mem::swap(&mut self.buckets, scratch);
        self.zero_count += b.zero_count;
        self.count += b.count;
        self.sum += b.sum;
        self.min = opt_merge(self.min, b.min, u64::min);
        self.max = opt_merge(self.max, b.max, u64::max);
        self.refresh_cum();
    }

    /// `self − earlier` for two cumulative histograms of the same recording (same schema, each
    /// bucket of `earlier` ≤ the same bucket of `self`). `min`/`max` of the result are the
    /// bounds of its extreme buckets, clamped to `self`'s exact extremes.
    pub fn delta_since(&self, earlier: &HistogramData) -> HistogramData {
        let mut out = HistogramData::default();
        out.assign_delta(self, earlier);
        out
    }

    /// `later − earlier` (see [`delta_since`](Self::delta_since)) into `self`, reusing its
    /// buffers.
    pub fn assign_delta(&mut self, later: &HistogramData, earlier: &HistogramData) {
        debug_assert_eq!(later.schema, earlier.schema);
        self.schema = later.schema;
        self.buckets.clear();
        let mut old = earlier.buckets.iter().peekable();
        for &(i, c) in &later.buckets {
            while old.peek().is_some_and(|&&(j, _)| j < i) {
                old.next();
            }
            let prev = match old.peek() {
                Some(&&(j, d)) if j == i => d,
                _ => 0,
            };
            if c > prev {
                self.buckets.push((i, c - prev));
            }
        }
        self.zero_count = later.zero_count.saturating_sub(earlier.zero_count);
        self.count = self.zero_count + self.buckets.iter().map(|b| b.1).sum::<u64>();
        self.sum = later.sum.saturating_sub(earlier.sum);
        self.refresh_cum();
        self.set_bucket_extremes(later.min, later.max);
    }

    /// Sets `min`/`max` from the extreme non-empty buckets, clamped to `[lo, hi]` (exact
    /// extremes of a superset of the observations).
    pub fn set_bucket_extremes(&mut self, lo: Option<u64>, hi: Option<u64>) {
        if self.count == 0 {
            self.min = None;
            self.max = None;
            self.refresh_common();
            return;
        }
        let lo = lo.unwrap_or(0);
        let hi = hi.unwrap_or(u64::MAX).max(lo);
        let bmin = if self.zero_count > 0 {
            0
        } else {
            let (l, _) = bucket_bounds(self.schema, self.buckets[0].0);
            (l.floor() as u64).saturating_add(1)
        };
        let bmax = match self.buckets.last() {
            Some(&(i, _)) => bucket_bounds(self.schema, i).1.floor() as u64,
            None => 0,
        };
        self.min = Some(bmin.clamp(lo, hi));
        self.max = Some(bmax.clamp(lo, hi));
        self.refresh_common();
    }
}

fn opt_merge(a: Option<u64>, b: Option<u64>, f: fn(u64, u64) -> u64) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use proptest::prelude::*;

    fn record(layout: &Layout, values: &[u64]) -> HistogramData {
        HistogramData::from_values(layout, values)
    }

    /// Exact nearest-rank oracle on a sorted copy.
    fn oracle_quantile(sorted: &[u64], q: f64) -> u64 {
        let n = sorted.len() as u64;
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        sorted[(rank - 1) as usize]
    }

    fn within_bound(est: f64, exact: u64, schema: i8) -> bool {
        let bound = relative_error_bound(schema);
        if exact == 0 {
            return est == 0.0;
        }
        (est - exact as f64).abs() <= bound * exact as f64 * (1.0 + 1e-12)
    }

    fn values() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(
            prop_oneof![
                0u64..10,
                1u64..100_000,
                1_000u64..10_000_000_000,
                any::<u64>(),
            ],
            1..400,
        )
    }

    proptest! {
        #[test]
        fn quantiles_within_bound_of_sorted_oracle(vals in values(), schema in -4i8..=8, q in 0.0f64..=1.0) {
            let layout = Layout::new(schema, 1, u64::MAX).unwrap();
            let h = record(&layout, &vals);
            let mut sorted = vals.clone();
            sorted.sort_unstable();
            for q in [q, 0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                let est = h.quantile(q).unwrap();
                let exact = oracle_quantile(&sorted, q);
                prop_assert!(within_bound(est, exact, schema), "q {} est {} exact {} schema {}", q, est, exact, schema);
                prop_assert!(est >= *sorted.first().unwrap() as f64 && est <= *sorted.last().unwrap() as f64);
            }
            prop_assert_eq!(h.count(), vals.len() as u64);
            prop_assert_eq!(h.p99(), h.quantile(0.99));
            prop_assert_eq!(h.p50(), h.quantile(0.5));
            prop_assert_eq!(h.zero_count() + h.buckets().map(|b| b.1).sum::<u64>(), h.count());
            prop_assert_eq!(h.sum(), vals.iter().map(|&v| v as u128).sum::<u128>());
        }

        #[test]
        fn merge_equals_recording_the_union(a in values(), b in values(), sa in -4i8..=8, sb in -4i8..=8) {
            let (la, lb) = (Layout::new(sa, 1, u64::MAX).unwrap(), Layout::new(sb, 1, u64::MAX).unwrap());
            let mut m = record(&la, &a);
            m.merge(&record(&lb, &b));
            let union: Vec<u64> = a.iter().chain(b.iter()).copied().collect();
            let lu = Layout::new(sa.min(sb), 1, u64::MAX).unwrap();
            prop_assert_eq!(m.p999(), m.quantile(0.999));
            prop_assert_eq!(m, record(&lu, &union));
        }

        #[test]
        fn delta_since_is_the_later_recordings(a in values(), b in values()) {
            let l = Layout::default_layout();
            let first = record(&l, &a);
            let all: Vec<u64> = a.iter().chain(b.iter()).copied().collect();
            let both = record(&l, &all);
            let d = both.delta_since(&first);
            prop_assert_eq!(d.p90(), d.quantile(0.9));
            prop_assert_eq!(d.p95(), d.quantile(0.95));
            let only_b = record(&l, &b);
            prop_assert_eq!(d.count(), only_b.count());
            prop_assert_eq!(d.buckets().collect::<Vec<_>>(), only_b.buckets().collect::<Vec<_>>());
            prop_assert_eq!(d.sum(), only_b.sum());
            // Bucket-derived extremes enclose the true extremes of b.
            prop_assert!(d.min().unwrap() <= only_b.min().unwrap());
            prop_assert!(d.max().unwrap() >= only_b.max().unwrap());
        }
    }

    #[test]
    fn stddev_close_to_exact() {
        let l = Layout::default_layout();
        let vals: Vec<u64> = (1..=10_000).map(|i| i * 37 % 5000 + 100).collect();
        let h = record(&l, &vals);
        let n = vals.len() as f64;
        let mean = vals.iter().sum::<u64>() as f64 / n;
        let var = vals.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert_eq!(h.mean().unwrap(), mean);
        let sd = h.stddev().unwrap();
        // Each sample moves by at most bound * value; the stddev moves by at most bound * max.
        assert!(
            (sd - var.sqrt()).abs() <= relative_error_bound(6) * 5100.0,
            "{sd} vs {}",
            var.sqrt()
        );
    }

    #[test]
    fn merging_empty_histograms_takes_the_coarser_schema() {
        let mut a = HistogramData::empty(4);
        a.merge(&HistogramData::empty(2));
        assert_eq!(a.schema(), 2);
        let l = Layout::new(6, 1, u64::MAX).unwrap();
        let mut b = record(&l, &[5, 9]);
        b.merge(&HistogramData::empty(0));
        assert_eq!(b, record(&Layout::new(0, 1, u64::MAX).unwrap(), &[5, 9]));
    }

    #[test]
    fn empty_and_bad_q() {
        let h = HistogramData::empty(6);
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.mean(), None);
        let l = Layout::default_layout();
        let h = record(&l, &[5]);
        assert_eq!(h.quantile(1.5), None);
        assert_eq!(h.quantile(f64::NAN), None);
        assert_eq!(h.quantile(0.5), Some(5.0));
    }

    #[test]
    fn from_parts_validates() {
        assert!(
            HistogramData::from_parts(6, 0, vec![(3, 1), (2, 1)], 0, Some(1), Some(2)).is_err()
        );
        assert!(HistogramData::from_parts(6, 0, vec![(3, 0)], 0, None, None).is_err());
        assert!(HistogramData::from_parts(9, 0, vec![], 0, None, None).is_err());
        assert!(HistogramData::from_parts(6, 0, vec![], 0, Some(1), None).is_err());
        let h = HistogramData::from_parts(6, 2, vec![(1, 3)], 10, Some(0), Some(9)).unwrap();
        assert_eq!(h.count(), 5);
    }
}
