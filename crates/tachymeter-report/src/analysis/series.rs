//! Adapters: series and inputs pulled from the engine's history and the monitors.
//!
//! The engine's [`range`](tachymeter::Histogram::range) aggregates one range into one
//! [`RangeStats`]; a series over time is built here by querying consecutive sub-ranges
//! (`Range::Between`), one point per sub-range.

use super::baseline::{Baseline, Statistic};
use super::bottleneck::{Estimate, ResourceUsage, StageComparison, StageTime};
use std::time::Duration;
use tachymeter::{Range, RangeStats};
use tachymeter_monitor::{Profiler, ResourceHistory, ResourceMonitor, ResourceSnapshot};

/// Points a series from history has at most: a longer range gets a coarser step.
pub const MAX_SERIES_POINTS: usize = 10_000;

/// The resident-set reading of the [`ResourceMonitor`], bytes.
pub const RSS_READING: &str = "process_resident_memory";

/// Which number of each sub-range's [`RangeStats`] becomes a point's value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SeriesValue {
    /// Histograms: the exact mean (sub-ranges without observations are skipped).
    Mean,
    /// Histograms: a quantile in `[0, 1]` (within the tier's error bound).
    Quantile(f64),
    /// Every kind: observations, increments or events in the sub-range.
    Count,
    /// Every kind: `count` per second of the sub-range.
    Throughput,
    /// Gauges: the mean of the collections in the sub-range (sub-ranges without one are
    /// skipped).
    GaugeMean,
    /// Gauges: the largest value seen.
    GaugeMax,
    /// Gauges: the smallest value seen.
    GaugeMin,
}

impl SeriesValue {
    fn of(self, s: &RangeStats) -> Option<f64> {
        match self {
            SeriesValue::Mean => s.data.as_ref()?.mean(),
            SeriesValue::Quantile(q) => s.data.as_ref()?.quantile(q),
            SeriesValue::Count => Some(s.count as f64),
            SeriesValue::Throughput => Some(s.throughput),
            SeriesValue::GaugeMean => Some(s.gauge?.mean),
            SeriesValue::GaugeMax => Some(s.gauge?.max),
            SeriesValue::GaugeMin => Some(s.gauge?.min),
        }
    }
}

/// A series over `range` from any handle's history: `query` is the handle's `range` method
/// (`|r| histogram.range(r)`). Resolution: `resolution` rounded up to a whole number of the
/// periods of the tier that covers `range` (10 s, 5 min or 1 h by default), and coarser still
/// if `range` would give more than [`MAX_SERIES_POINTS`]. Each sub-range
/// `[from + k·step, from + (k+1)·step)` gives one point, its time the sub-range's midpoint in
/// seconds since the engine started. Empty when nothing was collected in `range`.
///
/// Sub-ranges start on period boundaries of the covering tier, so they never share a period
/// as long as finer tiers' resolutions divide coarser ones (true of the default tiers). A
/// sub-range the engine answers with a wider range (it falls back to the coarsest tier for a
/// range that starts before the series' oldest fine period) is skipped, not averaged in.
pub fn series_from_history(
    query: impl Fn(Range) -> Option<RangeStats>,
    range: Range,
    resolution: Duration,
    value: SeriesValue,
) -> Vec<(f64, f64)> {
    let Some(whole) = query(range) else {
        return Vec::new();
    };
    let tier = whole.resolution;
    if tier.is_zero() || whole.to <= whole.from {
        return Vec::new();
    }
    let span = whole.to - whole.from;
    let wanted = resolution
        .max(tier)
        .max(span / u32::try_from(MAX_SERIES_POINTS).unwrap_or(u32::MAX));
    let periods = wanted.as_nanos().div_ceil(tier.as_nanos());
    let step = Duration::from_nanos(u64::try_from(periods * tier.as_nanos()).unwrap_or(u64::MAX));
    let mut out = Vec::new();
    let mut a = whole.from;
    while a < whole.to {
        let b = a + step;
        // A sub-range the engine widened (it falls back to the coarsest tier for a range that
        // starts before the series' oldest fine period) would average more than the step.
        if let Some(s) = query(Range::Between(a, b)).filter(|s| s.from >= a && s.to <= b) {
            if let Some(v) = value.of(&s).filter(|v| v.is_finite()) {
                out.push(((s.from.as_secs_f64() + s.to.as_secs_f64()) / 2.0, v));
            }
        }
        a = b;
    }
    out
}

/// A [`ResourceMonitor`] reading over `range` (for example [`RSS_READING`], or
/// `system_memory_used`), one point per `resolution` (the mean of the collections in it),
/// time in seconds since the engine started. Use a multiple of the history tier's
/// resolution (10 s up to 10 minutes back, 5 min up to 6 hours, 1 h beyond, by default): a
/// sub-range is widened to whole periods, so a finer step repeats periods. A sub-range the
/// history answers with a wider range is skipped (the covered range the monitor reports is that
/// of its first gauge with data, a close proxy for the reading's own).
pub fn resource_series(
    monitor: &ResourceMonitor,
    reading: &str,
    range: Range,
    resolution: Duration,
) -> Vec<(f64, f64)> {
    let whole = monitor.history_range(range);
    if whole.to_seconds <= whole.from_seconds || resolution.is_zero() {
        return Vec::new();
    }
    let (from, to) = (
        Duration::from_secs_f64(whole.from_seconds),
        Duration::from_secs_f64(whole.to_seconds),
    );
    let step = resolution.max((to - from) / u32::try_from(MAX_SERIES_POINTS).unwrap_or(u32::MAX));
    let mut out = Vec::new();
    let mut a = from;
    while a < to {
        let h = monitor.history_range(Range::Between(a, a + step));
        let within = h.from_seconds >= a.as_secs_f64() && h.to_seconds <= (a + step).as_secs_f64();
        if let Some(r) = h
            .readings
            .get(reading)
            .filter(|r| within && r.mean.is_finite())
        {
            out.push(((h.from_seconds + h.to_seconds) / 2.0, r.mean));
        }
        a += step;
    }
    out
}

impl ResourceUsage {
    /// Mean CPU, memory and root-disk usage over a [`ResourceHistory`] (the gauges'
    /// `system_cpu_usage`, `system_memory_usage`, `system_disk_usage{mount="/"}`).
    pub fn from_history(history: &ResourceHistory) -> ResourceUsage {
        let mean = |k: &str| history.readings.get(k).map(|r| r.mean);
        ResourceUsage {
            cpu: mean("system_cpu_usage"),
            memory: mean("system_memory_usage"),
            disk: mean("system_disk_usage{mount=\"/\"}"),
        }
    }

    /// One reading's CPU, memory and disk usage (its percentages over 100).
    pub fn from_snapshot(reading: &ResourceSnapshot) -> ResourceUsage {
        ResourceUsage {
            cpu: Some(reading.cpu_percent / 100.0),
            memory: Some(reading.memory_percent / 100.0),
            disk: reading.disk_percent.map(|d| d / 100.0),
        }
    }

    /// The seeds' [`grade`](super::grade) of this usage (`None` without CPU and memory).
    pub fn grade(&self) -> Option<super::Grade> {
        super::grade(self.cpu? * 100.0, self.memory? * 100.0)
    }
}

/// Every profiled operation's summed wall time, as stages (from the profiler's latest
/// snapshot: since the start or the last reset).
pub fn stages_from_profiler(profiler: &Profiler) -> Vec<StageTime> {
    profiler
        .all_stats()
        .into_iter()
        .map(|s| StageTime::new(s.operation, s.total_time))
        .collect()
}

impl StageComparison {
    /// A stage's `statistic` in a current period against a baseline period, with the
    /// quantiles' error bounds (`None` when either lacks it).
    pub fn from_baselines(
        stage: impl Into<String>,
        current: &Baseline,
        baseline: &Baseline,
        statistic: Statistic,
    ) -> Option<StageComparison> {
        let e = |b: &Baseline| match statistic {
            Statistic::Mean => 0.0,
            _ => b.relative_error,
        };
        Some(StageComparison {
            stage: stage.into(),
            current: Estimate::new(current.get(statistic)?, e(current)),
            baseline: Estimate::new(baseline.get(statistic)?, e(baseline)),
        })
    }
}
