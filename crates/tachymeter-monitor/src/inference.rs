//! [`InferenceMetrics`]: the seeds' `PerformanceMetrics` for model inference.
//!
//! Recorded, per monitor instance (label `instance`):
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `inference_time` | histogram, seconds, last `window_size` samples kept | inference time |
//! | `inference_total_time` | histogram, seconds | preprocessing + inference + quantization |
//! | `inference_batch_size` | histogram | batch sizes |
//! | `inference_preprocessing_time_total`, `inference_quantization_time_total` | counters, nanoseconds | summed stage times |
//! | `inference_errors_total` | counter family by `kind` | errors |
//! | `inference_cache_hits_total`, `inference_cache_misses_total` | counters | cache lookups |
//! | `inference_invalid_total` | counter | durations that were NaN, negative or infinite |
//!
//! `update_inference` is three histogram records and up to two counter adds: no lock, no
//! allocation.

use crate::{Elapsed, EngineRef};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{
    Counter, CounterFamily, Engine, Histogram, HistogramConfig, HistogramSnapshot, MetricValue,
    Opts, RegisterError, Snapshot,
};

/// Statistics of one [`InferenceMetrics`] (the seeds' `get_statistics()` keys). Times are in
/// seconds; `None` where there is no data yet. Read from the engine's latest snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct InferenceStatistics {
    /// Inferences recorded.
    pub total_requests: u64,
    /// Mean inference time since the start (or the last reset).
    pub avg_inference_time: Option<f64>,
    /// Median inference time (within the histogram's 0.54% quantile bound).
    pub median_inference_time: Option<f64>,
    /// 95th percentile of the inference time.
    pub p95_inference_time: Option<f64>,
    /// 99th percentile of the inference time.
    pub p99_inference_time: Option<f64>,
    /// Mean of preprocessing + inference + quantization.
    pub avg_total_time: Option<f64>,
    /// Inferences per second over the engine's rolling window.
    pub throughput: f64,
    /// Inferences per second in the last aggregation interval.
    pub current_throughput: f64,
    /// Errors per inference recorded (`errors / total_requests`, 0 without requests).
    pub error_rate: f64,
    /// Cache hits per lookup (0 without lookups).
    pub cache_hit_rate: f64,
    /// Mean inference time of the last `window_size` measurements (exact, from raw samples).
    pub window_avg_inference_time: Option<f64>,
    /// 95th percentile (nearest rank) of the last `window_size` measurements (exact).
    pub window_p95_inference_time: Option<f64>,
    /// Measurements in the window (at most `window_size`).
    pub window_count: usize,
}

/// [`InferenceStatistics`] plus the seeds' `get_comprehensive_statistics()` keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ComprehensiveStatistics {
    /// The basic statistics.
    #[serde(flatten)]
    pub basic: InferenceStatistics,
    /// Seconds since the engine started.
    pub total_runtime: f64,
    /// Inferences per second since the start (or the last reset).
    pub average_throughput: f64,
    /// The highest per-interval inferences per second since the start (or the last reset).
    pub peak_throughput: f64,
    /// `1 / (1 + cv)`, where `cv` is the coefficient of variation (standard deviation over
    /// mean) of the last `window_size` inference times: 1 when every inference takes the same
    /// time, 0.5 when the standard deviation equals the mean, towards 0 as latency varies more.
    pub stability_score: Option<f64>,
    /// Mean preprocessing time per inference (seconds).
    pub avg_preprocessing_time: Option<f64>,
    /// Mean quantization time per inference (seconds; 0 where not quantized).
    pub avg_quantization_time: Option<f64>,
    /// Total errors.
    pub total_errors: u64,
    /// Mean batch size.
    pub avg_batch_size: Option<f64>,
    /// Median batch size.
    pub median_batch_size: Option<f64>,
    /// 95th percentile of the batch size.
    pub p95_batch_size: Option<f64>,
    /// Largest batch size.
    pub max_batch_size: Option<u64>,
}

/// Inference performance metrics (the seeds' `PerformanceMetrics`): inference, preprocessing
/// and quantization times, batch sizes, errors and cache lookups, recorded from any number of
/// threads; statistics since the start and over the last `window_size` measurements.
///
/// Instances are independent: each records under its own `instance` label (given, or `0`, `1`,
/// … in creation order). See the crate docs for an example.
#[derive(Debug)]
pub struct InferenceMetrics {
    engine: EngineRef,
    instance: String,
    window_size: usize,
    track_percentiles: bool,
    inference: Histogram,
    total: Histogram,
    batch: Histogram,
    preprocessing: Counter,
    quantization: Counter,
    errors: CounterFamily,
    error: Counter,
    hits: Counter,
    misses: Counter,
    invalid: Counter,
}

/// Configures an [`InferenceMetrics`].
#[derive(Debug, Clone)]
#[must_use]
pub struct InferenceMetricsBuilder {
    engine: EngineRef,
    instance: Option<String>,
    window_size: usize,
    recent_capacity: Option<usize>,
    detailed_stats: bool,
    track_percentiles: bool,
}

impl InferenceMetricsBuilder {
    /// Records into `engine` instead of the process-wide one.
    pub fn engine(mut self, engine: Arc<Engine>) -> Self {
        self.engine = EngineRef::Shared(engine);
        self
    }

    /// The `instance` label (default: `0`, `1`, … in creation order).
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    /// Measurements kept for the window statistics (default 100; per recording thread, so
    /// the window holds the most recent `window_size` of all threads, grouped by thread
    /// within an aggregation interval). Rounded up to a power of two internally.
    pub fn window_size(mut self, n: usize) -> Self {
        self.window_size = n;
        self
    }

    /// Raw samples the `inference_time` histogram keeps per recording thread (default:
    /// `window_size`; never less than it). The capacity is part of the histogram's
    /// configuration, which every instance on one engine shares: to put instances with
    /// different window sizes on one engine, give them all the same capacity, at least the
    /// largest window (each window statistic still covers its own `window_size` samples).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tachymeter_monitor::InferenceMetrics;
    /// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
    /// let build = |window| {
    ///     InferenceMetrics::builder().engine(engine.clone()).window_size(window).recent_capacity(1000)
    /// };
    /// let (small, large) = (build(10).build().unwrap(), build(1000).build().unwrap());
    /// for i in 1..=100u32 {
    ///     small.update_inference(f64::from(i) * 1e-3, 1, 0.0, 0.0);
    ///     large.update_inference(f64::from(i) * 1e-3, 1, 0.0, 0.0);
    /// }
    /// engine.flush();
    /// assert_eq!(small.statistics().window_count, 10);
    /// assert_eq!(large.statistics().window_count, 100);
    /// // Without a common capacity, the second window size is refused.
    /// let other = InferenceMetrics::builder().engine(engine.clone()).window_size(50).build();
    /// assert!(other.is_err());
    /// ```
    pub fn recent_capacity(mut self, n: usize) -> Self {
        self.recent_capacity = Some(n);
        self
    }

    /// Accepted for the seeds' interface: detailed statistics cost nothing extra here.
    pub fn detailed_stats(mut self, on: bool) -> Self {
        self.detailed_stats = on;
        self
    }

    /// Whether `statistics()` reports percentiles (default true; recording is the same).
    pub fn track_percentiles(mut self, on: bool) -> Self {
        self.track_percentiles = on;
        self
    }

    /// Registers the monitor's metrics.
    ///
    /// # Errors
    /// A registration error of the engine (for example a `window_size` above 2^24, or a name
    /// already used as another kind in that engine).
    pub fn build(self) -> Result<InferenceMetrics, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        let opts = |name: &str, help: &str| {
            Opts::new(name)
                .help(help)
                .label("instance", instance.as_str())
        };
        let seconds = |name: &str, help: &str| opts(name, help).unit("seconds");
        let errors = e.counter_family(
            Opts::new("inference_errors_total").help("Inference errors by kind."),
            &["instance", "kind"],
        )?;
        let error = errors.with(&[instance.as_str(), "error"]).clone();
        Ok(InferenceMetrics {
            inference: e.histogram_with(
                seconds("inference_time", "Inference time."),
                HistogramConfig::default().recent(
                    self.recent_capacity
                        .unwrap_or(0)
                        .max(self.window_size)
                        .max(1),
                ),
            )?,
            total: e.histogram(seconds(
                "inference_total_time",
                "Preprocessing + inference + quantization time.",
            ))?,
            batch: e.histogram(opts("inference_batch_size", "Batch sizes."))?,
            preprocessing: e.counter(
                opts(
                    "inference_preprocessing_time_total",
                    "Summed preprocessing time.",
                )
                .unit("nanoseconds"),
            )?,
            quantization: e.counter(
                opts(
                    "inference_quantization_time_total",
                    "Summed quantization time.",
                )
                .unit("nanoseconds"),
            )?,
            errors,
            error,
            hits: e.counter(opts("inference_cache_hits_total", "Cache hits."))?,
            misses: e.counter(opts("inference_cache_misses_total", "Cache misses."))?,
            invalid: e.counter(opts(
                "inference_invalid_total",
                "Durations rejected as NaN, negative or infinite.",
            ))?,
            engine: self.engine,
            instance,
            window_size: self.window_size.max(1),
            track_percentiles: self.track_percentiles,
        })
    }
}

impl InferenceMetrics {
    /// The seeds' constructor: an instance on the process-wide engine.
    ///
    /// # Errors
    /// See [`InferenceMetricsBuilder::build`].
    pub fn new(
        window_size: usize,
        detailed_stats: bool,
        track_percentiles: bool,
    ) -> Result<InferenceMetrics, RegisterError> {
        Self::builder()
            .window_size(window_size)
            .detailed_stats(detailed_stats)
            .track_percentiles(track_percentiles)
            .build()
    }

    /// A builder (defaults: process-wide engine, window 100, percentiles on).
    pub fn builder() -> InferenceMetricsBuilder {
        InferenceMetricsBuilder {
            engine: EngineRef::Global,
            instance: None,
            window_size: 100,
            recent_capacity: None,
            detailed_stats: true,
            track_percentiles: true,
        }
    }

    /// The engine this monitor records into.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The `instance` label of this monitor's metrics.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Records one inference: its time, batch size, and the preprocessing and quantization
    /// times around it (give `0.0` or `Duration::ZERO` for a stage that did not run).
    #[inline]
    pub fn update_inference(
        &self,
        inference_time: impl Elapsed,
        batch_size: u64,
        preprocessing_time: impl Elapsed,
        quantization_time: impl Elapsed,
    ) {
        let (Some(inf), Some(pre), Some(quant)) = (
            inference_time.nanos(),
            preprocessing_time.nanos(),
            quantization_time.nanos(),
        ) else {
            self.invalid.increment();
            return;
        };
        self.inference.record(inf);
        self.total
            .record(inf.saturating_add(pre).saturating_add(quant));
        self.batch.record(batch_size);
        if pre > 0 {
            self.preprocessing.add(pre);
        }
        if quant > 0 {
            self.quantization.add(quant);
        }
    }

    /// Records an error (kind `error`).
    #[inline]
    pub fn record_error(&self) {
        self.error.increment();
    }

    /// Records an error of `kind` (a label value: keep the set of kinds small).
    #[inline]
    pub fn record_error_kind(&self, kind: &str) {
        self.errors.with(&[&self.instance, kind]).increment();
    }

    /// Records a cache hit.
    #[inline]
    pub fn record_cache_hit(&self) {
        self.hits.increment();
    }

    /// Records a cache miss.
    #[inline]
    pub fn record_cache_miss(&self) {
        self.misses.increment();
    }

    /// Resets every statistic of this monitor (see `tachymeter::Counter::reset`).
    pub fn reset(&self) {
        for h in [&self.inference, &self.total, &self.batch] {
            h.reset();
        }
        for c in [
            &self.preprocessing,
            &self.quantization,
            &self.hits,
            &self.misses,
        ] {
            c.reset();
        }
        self.invalid.reset();
        // This instance's family holds only this instance's error series.
        self.errors.reset_all();
    }

    /// The statistics, from the engine's latest snapshot (at most one aggregation interval
    /// old; call `engine().flush()` first for figures that include every record so far).
    pub fn statistics(&self) -> InferenceStatistics {
        self.statistics_of(&self.engine.snapshot())
    }

    /// The statistics of `snap` (a snapshot of this monitor's engine).
    pub fn statistics_of(&self, snap: &Snapshot) -> InferenceStatistics {
        let id = self.instance.as_str();
        let inference = histogram(snap, "inference_time", id);
        let total = histogram(snap, "inference_total_time", id);
        let requests = inference.map_or(0, |h| h.cumulative.count());
        let errors = errors_of(snap, id);
        let (hits, misses) = (
            counter(snap, "inference_cache_hits_total", id),
            counter(snap, "inference_cache_misses_total", id),
        );
        let pct = |q: f64| {
            inference
                .filter(|_| self.track_percentiles)
                .and_then(|h| h.cumulative.quantile(q).map(|v| h.in_unit(v)))
        };
        let mut window: Vec<u64> = inference.map_or_else(Vec::new, |h| {
            let r = &h.recent;
            r[r.len().saturating_sub(self.window_size)..].to_vec()
        });
        let window_avg = (!window.is_empty())
            .then(|| window.iter().map(|&v| v as f64).sum::<f64>() / window.len() as f64 / 1e9);
        window.sort_unstable();
        let window_p95 = (!window.is_empty() && self.track_percentiles).then(|| {
            let rank = ((0.95 * window.len() as f64).ceil() as usize).clamp(1, window.len());
            window[rank - 1] as f64 / 1e9
        });
        InferenceStatistics {
            total_requests: requests,
            avg_inference_time: inference.and_then(|h| h.cumulative.mean().map(|m| h.in_unit(m))),
            median_inference_time: pct(0.5),
            p95_inference_time: pct(0.95),
            p99_inference_time: pct(0.99),
            avg_total_time: total.and_then(|h| h.cumulative.mean().map(|m| h.in_unit(m))),
            throughput: inference.map_or(0.0, |h| h.throughput),
            current_throughput: inference.map_or(0.0, |h| {
                let secs = snap.interval().as_secs_f64();
                if secs > 0.0 {
                    h.interval.count() as f64 / secs
                } else {
                    0.0
                }
            }),
            error_rate: ratio(errors, u128::from(requests)),
            cache_hit_rate: ratio(hits, hits + misses),
            window_avg_inference_time: window_avg,
            window_p95_inference_time: window_p95,
            window_count: window.len(),
        }
    }

    /// [`statistics`](Self::statistics) plus runtime, average and peak throughput, stability,
    /// stage and batch-size figures (the seeds' `get_comprehensive_statistics()`).
    pub fn comprehensive_statistics(&self) -> ComprehensiveStatistics {
        let snap = self.engine.snapshot();
        let id = self.instance.as_str();
        let basic = self.statistics_of(&snap);
        let inference = histogram(&snap, "inference_time", id);
        let batch = histogram(&snap, "inference_batch_size", id);
        let requests = basic.total_requests;
        let per_request = |name: &str| {
            (requests > 0).then(|| counter(&snap, name, id) as f64 / 1e9 / requests as f64)
        };
        let window: Vec<f64> = inference.map_or_else(Vec::new, |h| {
            let r = &h.recent;
            r[r.len().saturating_sub(self.window_size)..]
                .iter()
                .map(|&v| v as f64)
                .collect()
        });
        let stability = (window.len() >= 2).then(|| {
            let n = window.len() as f64;
            let mean = window.iter().sum::<f64>() / n;
            let var = window.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
            1.0 / (1.0 + cv)
        });
        let total_errors = errors_of(&snap, id);
        ComprehensiveStatistics {
            total_runtime: snap.uptime().as_secs_f64(),
            average_throughput: inference.map_or(0.0, |h| h.avg_throughput),
            peak_throughput: inference.map_or(0.0, |h| h.max_throughput),
            stability_score: stability,
            avg_preprocessing_time: per_request("inference_preprocessing_time_total"),
            avg_quantization_time: per_request("inference_quantization_time_total"),
            total_errors: u64::try_from(total_errors).unwrap_or(u64::MAX),
            avg_batch_size: batch.and_then(|h| h.cumulative.mean()),
            median_batch_size: batch.and_then(|h| h.cumulative.p50()),
            p95_batch_size: batch.and_then(|h| h.cumulative.p95()),
            max_batch_size: batch.and_then(|h| h.cumulative.max()),
            basic,
        }
    }

    /// The time-range statistics of the inference time (see `tachymeter::Range`), e.g. the
    /// last `hours_back` hours.
    pub fn inference_range(&self, range: tachymeter::Range) -> Option<tachymeter::RangeStats> {
        self.inference.range(range)
    }

    /// The time-range statistics of this instance's errors, every kind summed: `count` and
    /// `throughput` are sums, `peak_throughput` the largest of the kinds' (a lower bound).
    pub fn errors_range(&self, range: tachymeter::Range) -> Option<tachymeter::RangeStats> {
        let mut out: Option<tachymeter::RangeStats> = None;
        self.errors.for_each(|values, c| {
            let Some(r) = c
                .range(range)
                .filter(|_| values.first() == Some(&self.instance.as_str()))
            else {
                return;
            };
            match &mut out {
                Some(o) => {
                    o.count += r.count;
                    o.throughput += r.throughput;
                    o.peak_throughput = o.peak_throughput.max(r.peak_throughput);
                }
                None => out = Some(r),
            }
        });
        out
    }

    /// The window size.
    pub fn window_size(&self) -> usize {
        self.window_size
    }

    /// How long ago (engine clock) this monitor's engine started.
    pub fn uptime(&self) -> Duration {
        self.engine.snapshot().uptime()
    }
}

/// `a / b`, 0 when `b` is 0.
fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn histogram<'s>(snap: &'s Snapshot, name: &str, instance: &str) -> Option<&'s HistogramSnapshot> {
    match &snap.get(name, &[("instance", instance)])?.value {
        MetricValue::Histogram(h) => Some(h),
        _ => None,
    }
}

fn counter(snap: &Snapshot, name: &str, instance: &str) -> u128 {
    match snap.get(name, &[("instance", instance)]).map(|m| &m.value) {
        Some(MetricValue::Counter(c)) => c.total,
        _ => 0,
    }
}

/// Errors of every kind recorded by `instance`.
fn errors_of(snap: &Snapshot, instance: &str) -> u128 {
    snap.metrics()
        .iter()
        .filter(|m| {
            m.desc.name == "inference_errors_total" && m.desc.label("instance") == Some(instance)
        })
        .map(|m| match &m.value {
            MetricValue::Counter(c) => c.total,
            _ => 0,
        })
        .sum()
}

/// The seeds' `PerformanceAlerting` thresholds for an [`InferenceMetrics`] (their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct InferenceThresholds {
    /// Errors per inference above which `InferenceHighErrorRate` fires (0.05).
    pub error_rate: f64,
    /// p95 inference time above which `InferenceHighLatency` fires, seconds (0.1).
    pub latency_p95: f64,
    /// Inferences per second below which `InferenceLowThroughput` fires (100).
    pub throughput_min: f64,
    /// Cache hits per lookup below which `InferenceLowCacheHitRate` fires (0.8).
    pub cache_hit_rate: f64,
    /// The window every rule computes over (default: the engine's rolling window; the seeds'
    /// "last 50 measurements" has no time-based equivalent).
    pub window: crate::alerting::Window,
    /// Time between two firings of one rule (300 s).
    pub cooldown: Duration,
}

impl Default for InferenceThresholds {
    fn default() -> Self {
        InferenceThresholds {
            error_rate: 0.05,
            latency_p95: 0.1,
            throughput_min: 100.0,
            cache_hit_rate: 0.8,
            window: crate::alerting::Window::Engine,
            cooldown: crate::alerting::DEFAULT_COOLDOWN,
        }
    }
}

impl InferenceMetrics {
    /// The seeds' four inference alerts as rules of the general alerting engine, on this
    /// monitor's series (label `instance` on each rule): error rate (errors / inferences),
    /// p95 inference time, minimum throughput, cache hit rate (hits / lookups). Add them to an
    /// [`AlertManager`](crate::alerting::AlertManager); they evaluate on snapshots, never on
    /// a recording thread.
    ///
    /// # Errors
    /// A threshold that is not finite (or a quantile rule the alerting engine rejects).
    pub fn alert_rules(
        &self,
        t: &InferenceThresholds,
    ) -> Result<Vec<crate::alerting::AlertRule>, crate::alerting::RuleError> {
        use crate::alerting::{AlertRule, Count, Selector};
        let sel = |metric: &str| Selector::new(metric).label("instance", self.instance.as_str());
        let rule = |name: &str, summary: String| {
            AlertRule::builder(name)
                .window(t.window)
                .cooldown(t.cooldown)
                .label("instance", self.instance.as_str())
                .annotation("summary", summary)
        };
        Ok(vec![
            rule(
                "InferenceHighErrorRate",
                format!("More than {}% of inferences fail", t.error_rate * 100.0),
            )
            .ratio(
                [Count::Counter(sel("inference_errors_total"))],
                [Count::Observations(sel("inference_time"))],
            )
            .above(t.error_rate)
            .build()?,
            rule(
                "InferenceHighLatency",
                format!("p95 inference time above {} s", t.latency_p95),
            )
            .quantile(sel("inference_time"), 0.95)
            .above(t.latency_p95)
            .build()?,
            rule(
                "InferenceLowThroughput",
                format!("Fewer than {} inferences per second", t.throughput_min),
            )
            .throughput(sel("inference_time"))
            .below(t.throughput_min)
            .build()?,
            rule(
                "InferenceLowCacheHitRate",
                format!("Cache hit rate below {}%", t.cache_hit_rate * 100.0),
            )
            .ratio(
                [Count::Counter(sel("inference_cache_hits_total"))],
                [
                    Count::Counter(sel("inference_cache_hits_total")),
                    Count::Counter(sel("inference_cache_misses_total")),
                ],
            )
            .below(t.cache_hit_rate)
            .build()?,
        ])
    }
}

/// The process-wide inference monitor (window 1,000, instance `global`), made on first use on
/// the process-wide engine. If that engine already uses one of the monitor's names as another
/// kind, the monitor records into a private engine instead (never a panic).
pub fn global_inference_metrics() -> &'static InferenceMetrics {
    static GLOBAL: once_cell::sync::OnceCell<InferenceMetrics> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            let mut builder = InferenceMetrics::builder()
                .instance("global")
                .window_size(1000);
            builder.engine = engine;
            builder.build()
        })
    })
}
