//! Time ranges: a bounded, multi-resolution history per series, kept by the aggregator.
//!
//! After each collection the aggregator adds the interval that just ended to every tier of the
//! series' history: a tier is a ring of periods of one resolution (the default: 10 s periods for
//! 10 minutes, 5 min periods for 6 hours, 1 h periods for 7 days). A histogram period keeps its
//! count, exact sum, bucket-bound min/max and sparse buckets at the tier's schema (coarser for
//! coarser tiers, to bound memory); a counter, event-log or record-log period keeps its count; a
//! gauge period the min, max, mean and last of the values its collections saw. A
//! query over a range merges the periods of the finest tier whose retention covers it.
//!
//! Accuracy: an interval is attributed to the period in which its collection happened, so range
//! edges are exact to one aggregation interval plus one period of the tier used (a range is
//! widened to whole periods); quantiles carry the relative error bound of the tier's schema
//! ([`relative_error_bound`](tachymeter_histogram::relative_error_bound)): 4.4% at schema 3,
//! 8.8% at 2, 17.2% at 1. Bucket counts are `u32` per period (a bucket that would exceed it
//! saturates and the period is flagged in [`RangeStats::saturated`]).
//!
//! Readers lock one series' history (a mutex the aggregator takes once per interval); the hot
//! path never touches it.
#![deny(unsafe_code)]

use crate::sync::{lock, Mutex};
use std::collections::VecDeque;
use std::time::Duration;
use tachymeter_histogram::HistogramData;

/// One tier of a history: periods of `resolution`, `periods` of them kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// The time one period covers.
    pub resolution: Duration,
    /// Periods kept (retention = resolution × periods).
    pub periods: usize,
    /// Histogram schema of this tier's periods (coarser than the histogram's own is allowed).
    pub schema: i8,
}

/// The tiers kept for every series (see the module docs). The default is 10 s × 60 (10 min,
/// schema 3), 5 min × 72 (6 h, schema 2), 1 h × 168 (7 days, schema 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Finest first. An empty list keeps no history.
    pub tiers: Vec<Tier>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        let tier = |secs: u64, periods: usize, schema: i8| Tier {
            resolution: Duration::from_secs(secs),
            periods,
            schema,
        };
        HistoryConfig {
            tiers: vec![tier(10, 60, 3), tier(300, 72, 2), tier(3600, 168, 1)],
        }
    }
}

impl HistoryConfig {
    /// No history at all.
    pub fn none() -> Self {
        HistoryConfig { tiers: Vec::new() }
    }

    /// The documented range of every tier.
    pub(crate) const RANGE: &'static str =
        "tiers with resolution >= 1 ms, 1..=100000 periods and schema -4..=8";

    /// Checks the tiers against [`RANGE`](Self::RANGE); returns the first bad tier.
    pub(crate) fn check(&self) -> Result<(), String> {
        for t in &self.tiers {
            if t.resolution < Duration::from_millis(1)
                || !(1..=100_000).contains(&t.periods)
                || !(-4..=8).contains(&t.schema)
            {
                return Err(format!("{t:?}"));
            }
        }
        Ok(())
    }
}

/// Which time range a query covers, as time since the engine started (the engine clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The last `Duration` up to the latest collection (`hours_back` is
    /// `Range::Last(Duration::from_secs(3600 * hours_back))`).
    Last(Duration),
    /// From the first to the second offset after the engine's start (see
    /// [`Snapshot::started`](crate::Snapshot::started) to convert wall times).
    Between(Duration, Duration),
}

/// Statistics of one series over a time range.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RangeStats {
    /// Start of the covered range (whole periods), as time since the engine started.
    pub from: Duration,
    /// End of the covered range.
    pub to: Duration,
    /// The resolution of the tier used.
    pub resolution: Duration,
    /// Observations (histograms), increments (counters) or events/records in the range.
    pub count: u64,
    /// `count` per second of the covered range.
    pub throughput: f64,
    /// The highest per-period `count` per second in the range.
    pub peak_throughput: f64,
    /// The merged histogram of the range at the tier's schema (histograms only): sum, mean,
    /// stddev, min/max (bucket bounds) and any quantile.
    pub data: Option<HistogramData>,
    /// True if a bucket count of a period in the range saturated (`u32`).
    pub saturated: bool,
    /// Gauges only: the values the collections in the range saw.
    pub gauge: Option<GaugeRange>,
}

/// A gauge over a time range: statistics of the value as each collection saw it (so `min` and
/// `max` are exact only to one aggregation interval).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct GaugeRange {
    /// The smallest value seen.
    pub min: f64,
    /// The largest value seen.
    pub max: f64,
    /// The mean of the values seen (one per collection).
    pub mean: f64,
    /// The latest value seen in the range.
    pub last: f64,
}

/// A gauge period: the values its collections saw.
#[derive(Debug, Clone, Copy, Default)]
struct GaugePeriod {
    samples: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
}

impl GaugePeriod {
    fn add(&mut self, v: f64) {
        if self.samples == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.samples += 1;
        self.sum += v;
        self.last = v;
    }
}

/// A histogram period: statistics and sparse buckets `(index, count)` at the tier's schema;
/// index `i16::MIN` is the zero bucket. The open (newest) period keeps its buckets as a vector;
/// a closed period keeps them varint-encoded in `packed` (see [`pack`]), about 3 bytes a bucket.
#[derive(Debug, Clone, Default)]
struct HistPeriod {
    count: u64,
    sum: u64,
    min: u64,
    max: u64,
    saturated: bool,
    buckets: Vec<(i16, u32)>,
    packed: Box<[u8]>,
}

/// Appends `v` as a LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint at `*at`, advancing it (0 on truncated input: the encoder is ours).
fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    v
}

/// Encodes sorted buckets as `n`, then per bucket the index delta (zigzag) and the count,
/// all varints. Written by hand: a few lines, and the periods need no general-purpose format.
fn pack(buckets: &[(i16, u32)]) -> Box<[u8]> {
    let mut out = Vec::with_capacity(buckets.len() * 3 + 2);
    put_varint(&mut out, buckets.len() as u64);
    let mut prev = 0i32;
    for &(i, c) in buckets {
        let d = i32::from(i) - prev;
        put_varint(&mut out, ((d << 1) ^ (d >> 31)) as u32 as u64);
        put_varint(&mut out, u64::from(c));
        prev = i32::from(i);
    }
    out.into_boxed_slice()
}

/// Decodes [`pack`]'s output.
fn unpack(bytes: &[u8], out: &mut Vec<(i16, u32)>) {
    let mut at = 0;
    let n = get_varint(bytes, &mut at);
    let mut prev = 0i32;
    for _ in 0..n {
        let z = get_varint(bytes, &mut at) as u32;
        let d = ((z >> 1) as i32) ^ -((z & 1) as i32);
        prev += d;
        let c = get_varint(bytes, &mut at) as u32;
        out.push((prev as i16, c));
    }
}

const ZERO: i16 = i16::MIN;

impl HistPeriod {
    /// Adds `data`, bucket by bucket, at `schema` (coarser or equal: index `i` goes to
    /// `ceil(i / 2^shift)`, exact because coarser boundaries are a subset). Allocates only
    /// when the period gains a bucket it did not have.
    fn add(&mut self, data: &HistogramData, schema: i8) {
        if data.count() == 0 {
            return;
        }
        let (lo, hi) = (data.min().unwrap_or(0), data.max().unwrap_or(0));
        if self.count == 0 {
            self.min = lo;
            self.max = hi;
        } else {
            self.min = self.min.min(lo);
            self.max = self.max.max(hi);
        }
        self.count = self.count.saturating_add(data.count());
        self.sum = self
            .sum
            .saturating_add(u64::try_from(data.sum()).unwrap_or(u64::MAX));
        let shift = u32::try_from(data.schema() - schema).unwrap_or(0);
        let coarse = |i: i32| ((i + (1 << shift) - 1) >> shift).clamp(-32767, 32767) as i16;
        let zero = (data.zero_count() > 0).then_some((ZERO, data.zero_count()));
        for (i, c) in zero
            .into_iter()
            .chain(data.buckets().map(|(i, c)| (coarse(i), c)))
        {
            let c32 = u32::try_from(c).unwrap_or(u32::MAX);
            match self.buckets.binary_search_by_key(&i, |b| b.0) {
                Ok(k) => {
                    let (sum, over) = self.buckets[k].1.overflowing_add(c32);
                    self.buckets[k].1 = if over { u32::MAX } else { sum };
                    self.saturated |= over || c32 == u32::MAX;
                }
                Err(k) => self.buckets.insert(k, (i, c32)),
            }
        }
    }

    /// Moves the buckets into their packed form (the period is closed).
    fn close(&mut self) {
        if self.packed.is_empty() {
            self.packed = pack(&self.buckets);
            self.buckets = Vec::new();
        }
    }

    /// The buckets, from whichever form holds them.
    fn buckets_into(&self, out: &mut Vec<(i16, u32)>) {
        if self.packed.is_empty() {
            out.extend_from_slice(&self.buckets);
        } else {
            unpack(&self.packed, out);
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.buckets.capacity() * std::mem::size_of::<(i16, u32)>()
            + self.packed.len()
    }
}

/// One tier's ring: `(period number, period)`, oldest first.
#[derive(Debug)]
struct TierData<T> {
    tier: Tier,
    periods: VecDeque<(u64, T)>,
}

/// A period that can compact itself once no more data will be added to it.
trait Close {
    fn close(&mut self) {}
}

impl Close for u64 {}

impl Close for GaugePeriod {}

impl Close for HistPeriod {
    fn close(&mut self) {
        HistPeriod::close(self);
    }
}

impl<T: Default + Close> TierData<T> {
    /// The period of the collection at `uptime`, made (and the oldest dropped) if new; the period
    /// it replaces as the newest is closed.
    fn period(&mut self, uptime: Duration) -> &mut T {
        let n = (uptime.as_nanos() / self.tier.resolution.as_nanos().max(1)) as u64;
        if self.periods.back().is_none_or(|(m, _)| *m != n) {
            if let Some((_, last)) = self.periods.back_mut() {
                last.close();
            }
            self.periods.push_back((n, T::default()));
            while self.periods.len() > self.tier.periods {
                self.periods.pop_front();
            }
        }
        &mut self.periods.back_mut().expect("just pushed").1
    }
}

impl<T> TierData<T> {
    /// The periods overlapping `[from, to)` (time since start), with their start times.
    fn within(&self, from: Duration, to: Duration) -> impl Iterator<Item = (Duration, &T)> {
        let res = self.tier.resolution;
        self.periods.iter().filter_map(move |(n, s)| {
            let start = period_start(res, *n);
            (start + res > from && start < to).then_some((start, s))
        })
    }

    /// Start of the oldest period kept.
    fn oldest(&self) -> Option<Duration> {
        self.periods
            .front()
            .map(|(n, _)| period_start(self.tier.resolution, *n))
    }
}

/// Start of period `n` of `resolution`, as time since the engine started.
fn period_start(resolution: Duration, n: u64) -> Duration {
    Duration::from_nanos(u64::try_from(u128::from(n) * resolution.as_nanos()).unwrap_or(u64::MAX))
}

/// What one series keeps: counts only, or histogram periods.
#[derive(Debug)]
enum Tiers {
    Counts(Vec<TierData<u64>>),
    Hist(Vec<TierData<HistPeriod>>),
    Gauge(Vec<TierData<GaugePeriod>>),
}

impl Tiers {
    fn counts(&mut self) -> Option<&mut Vec<TierData<u64>>> {
        match self {
            Tiers::Counts(r) => Some(r),
            _ => None,
        }
    }

    fn gauge(&mut self) -> Option<&mut Vec<TierData<GaugePeriod>>> {
        match self {
            Tiers::Gauge(r) => Some(r),
            _ => None,
        }
    }

    fn hist(&mut self) -> Option<&mut Vec<TierData<HistPeriod>>> {
        match self {
            Tiers::Hist(r) => Some(r),
            _ => None,
        }
    }
}

/// The history of one series (behind a mutex: the aggregator writes once per interval, readers
/// query).
#[derive(Debug, Default)]
pub(crate) struct History {
    inner: Mutex<Option<(Tiers, Duration)>>,
}

impl History {
    /// Adds an interval's count (counters, event and record logs) collected at `uptime`.
    pub(crate) fn add_count(&self, config: &HistoryConfig, uptime: Duration, n: u64) {
        self.add(
            config,
            uptime,
            Tiers::Counts,
            Tiers::counts,
            |p: &mut u64, _| {
                *p = p.saturating_add(n);
            },
        );
    }

    /// Adds a gauge's value as the collection at `uptime` saw it.
    pub(crate) fn add_gauge(&self, config: &HistoryConfig, uptime: Duration, v: f64) {
        self.add(
            config,
            uptime,
            Tiers::Gauge,
            Tiers::gauge,
            |p: &mut GaugePeriod, _| {
                p.add(v);
            },
        );
    }

    /// Adds an interval's histogram data collected at `uptime`.
    pub(crate) fn add_hist(&self, config: &HistoryConfig, uptime: Duration, data: &HistogramData) {
        self.add(
            config,
            uptime,
            Tiers::Hist,
            Tiers::hist,
            |p: &mut HistPeriod, tier| {
                p.add(data, tier.schema);
            },
        );
    }

    /// Adds to the current period of every tier, creating the tiers (of the kind `make`
    /// builds) on first use.
    fn add<T: Default + Close>(
        &self,
        config: &HistoryConfig,
        uptime: Duration,
        make: fn(Vec<TierData<T>>) -> Tiers,
        rings: fn(&mut Tiers) -> Option<&mut Vec<TierData<T>>>,
        mut add: impl FnMut(&mut T, &Tier),
    ) {
        if config.tiers.is_empty() {
            return;
        }
        let mut g = lock(&self.inner);
        let (tiers, latest) = g.get_or_insert_with(|| {
            let data = config.tiers.iter().map(|t| TierData {
                tier: t.clone(),
                periods: VecDeque::new(),
            });
            (make(data.collect()), Duration::ZERO)
        });
        *latest = uptime;
        for r in rings(tiers).into_iter().flatten() {
            let tier = r.tier.clone();
            add(r.period(uptime), &tier);
        }
    }

    /// Forgets everything (a reset).
    pub(crate) fn clear(&self) {
        *lock(&self.inner) = None;
    }

    /// Heap and inline bytes this history holds (for the memory test and docs).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        let g = lock(&self.inner);
        let Some((tiers, _)) = g.as_ref() else {
            return 0;
        };
        match tiers {
            Tiers::Counts(rings) => rings
                .iter()
                .map(|r| r.periods.capacity() * std::mem::size_of::<(u64, u64)>())
                .sum(),
            Tiers::Gauge(rings) => rings
                .iter()
                .map(|r| r.periods.capacity() * std::mem::size_of::<(u64, GaugePeriod)>())
                .sum(),
            Tiers::Hist(rings) => rings
                .iter()
                .map(|r| {
                    r.periods.capacity() * std::mem::size_of::<u64>()
                        + r.periods.iter().map(|(_, s)| s.bytes()).sum::<usize>()
                })
                .sum(),
        }
    }

    /// Statistics over `range`, from the finest tier that still holds its start; `None` if
    /// nothing was collected yet or the range is empty.
    pub(crate) fn query(&self, range: Range) -> Option<RangeStats> {
        let g = lock(&self.inner);
        let (tiers, latest) = g.as_ref()?;
        let latest = *latest;
        let (from, to) = match range {
            Range::Last(d) => (latest.saturating_sub(d), latest + Duration::from_nanos(1)),
            Range::Between(a, b) => (a, b),
        };
        if to <= from {
            return None;
        }
        // The finest tier whose oldest period starts at or before `from`, else the coarsest.
        fn pick<T>(rings: &[TierData<T>], from: Duration) -> Option<&TierData<T>> {
            rings
                .iter()
                .find(|r| r.oldest().is_some_and(|o| o <= from))
                .or(rings.last())
        }
        let mut stats = RangeStats {
            from,
            to,
            resolution: Duration::ZERO,
            count: 0,
            throughput: 0.0,
            peak_throughput: 0.0,
            data: None,
            saturated: false,
            gauge: None,
        };
        let mut first: Option<Duration> = None;
        let mut last_end = from;
        let mut peak = 0u64;
        match tiers {
            Tiers::Counts(rings) => {
                let r = pick(rings, from)?;
                stats.resolution = r.tier.resolution;
                for (start, &n) in r.within(from, to) {
                    first.get_or_insert(start);
                    last_end = start + r.tier.resolution;
                    stats.count = stats.count.saturating_add(n);
                    peak = peak.max(n);
                }
            }
            Tiers::Gauge(rings) => {
                let r = pick(rings, from)?;
                stats.resolution = r.tier.resolution;
                let mut g: Option<(GaugeRange, u64, f64)> = None;
                for (start, p) in r.within(from, to) {
                    first.get_or_insert(start);
                    last_end = start + r.tier.resolution;
                    if p.samples == 0 {
                        continue;
                    }
                    stats.count += p.samples;
                    let (range, n, sum) = g.get_or_insert((
                        GaugeRange {
                            min: p.min,
                            max: p.max,
                            mean: 0.0,
                            last: p.last,
                        },
                        0,
                        0.0,
                    ));
                    range.min = range.min.min(p.min);
                    range.max = range.max.max(p.max);
                    range.last = p.last;
                    *n += p.samples;
                    *sum += p.sum;
                }
                stats.gauge = g.map(|(mut range, n, sum)| {
                    range.mean = sum / n as f64;
                    range
                });
            }
            Tiers::Hist(rings) => {
                let r = pick(rings, from)?;
                stats.resolution = r.tier.resolution;
                let (mut zero, mut sum, mut lo, mut hi) = (0u64, 0u128, u64::MAX, 0u64);
                let mut buckets: Vec<(i32, u64)> = Vec::new();
                let mut scratch: Vec<(i16, u32)> = Vec::new();
                for (start, s) in r.within(from, to) {
                    first.get_or_insert(start);
                    last_end = start + r.tier.resolution;
                    if s.count == 0 {
                        continue;
                    }
                    stats.count = stats.count.saturating_add(s.count);
                    stats.saturated |= s.saturated;
                    peak = peak.max(s.count);
                    sum += u128::from(s.sum);
                    lo = lo.min(s.min);
                    hi = hi.max(s.max);
                    scratch.clear();
                    s.buckets_into(&mut scratch);
                    for &(i, c) in &scratch {
                        if i == ZERO {
                            zero = zero.saturating_add(u64::from(c));
                        } else {
                            buckets.push((i32::from(i), u64::from(c)));
                        }
                    }
                }
                buckets.sort_unstable_by_key(|b| b.0);
                let mut merged: Vec<(i32, u64)> = Vec::with_capacity(buckets.len());
                for (i, c) in buckets {
                    match merged.last_mut() {
                        Some(last) if last.0 == i => last.1 = last.1.saturating_add(c),
                        _ => merged.push((i, c)),
                    }
                }
                let count = merged.iter().fold(zero, |acc, b| acc.saturating_add(b.1));
                let extremes = (count > 0).then_some((lo, hi));
                stats.data = HistogramData::from_parts(
                    r.tier.schema,
                    zero,
                    merged,
                    sum,
                    extremes.map(|e| e.0),
                    extremes.map(|e| e.1),
                )
                .ok();
            }
        }
        let from = first.unwrap_or(from);
        let to = last_end.min(latest.max(from)).max(from);
        stats.from = from;
        stats.to = to;
        let secs = (to - from)
            .as_secs_f64()
            .max(stats.resolution.as_secs_f64().min(1e-9));
        if (to - from) > Duration::ZERO {
            stats.throughput = stats.count as f64 / secs;
        }
        stats.peak_throughput = peak as f64 / stats.resolution.as_secs_f64().max(1e-9);
        Some(stats)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use tachymeter_histogram::Layout;

    /// The default retention of one histogram series, fed 7 days of 10 s intervals of a
    /// latency-like distribution (log-uniform over 10 µs..100 ms, 200 values per interval),
    /// stays within 64 KiB.
    #[test]
    fn default_retention_of_a_histogram_fits_in_64_kib() {
        let layout = Layout::new(6, 1, u64::MAX).unwrap();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pool: Vec<HistogramData> = (0..16)
            .map(|_| {
                let values: Vec<u64> = (0..200)
                    .map(|_| {
                        let u = (next() % 1_000_000) as f64 / 1_000_000.0;
                        (10_000.0 * 10f64.powf(4.0 * u)) as u64
                    })
                    .collect();
                HistogramData::from_values(&layout, &values)
            })
            .collect();
        let config = HistoryConfig::default();
        let h = History::default();
        let week = 7 * 24 * 360;
        for i in 0..week {
            h.add_hist(
                &config,
                Duration::from_secs(10 * (i + 1)),
                &pool[i as usize % 16],
            );
        }
        let bytes = h.bytes();
        println!("history of one histogram series after 7 days: {bytes} bytes");
        assert!(bytes <= 64 * 1024, "{bytes} bytes");
        // Every tier is full: 60 + 72 + 168 periods.
        let r = h
            .query(Range::Last(Duration::from_secs(7 * 24 * 3600)))
            .unwrap();
        assert_eq!(r.resolution, Duration::from_secs(3600));
        assert!(r.count > 0);
    }

    proptest::proptest! {
        #[test]
        fn pack_round_trips(mut b in proptest::collection::vec((proptest::prelude::any::<i16>(), proptest::prelude::any::<u32>()), 0..50)) {
            b.sort_unstable_by_key(|x| x.0);
            b.dedup_by_key(|x| x.0);
            let mut out = Vec::new();
            unpack(&pack(&b), &mut out);
            proptest::prop_assert_eq!(out, b);
        }
    }
}
