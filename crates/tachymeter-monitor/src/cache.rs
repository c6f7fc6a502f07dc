//! [`CacheMonitor`]: hits, misses, evictions and size of one cache (the seeds' `CacheStats`).
//!
//! Recorded with the label `cache` (the cache's name): `cache_hits_total`,
//! `cache_misses_total`, `cache_evictions_total` (counters) and `cache_size` (gauge, entries).

use crate::EngineRef;
use serde::Serialize;
use std::sync::Arc;
use tachymeter::{Counter, Engine, Gauge, MetricValue, Opts, RegisterError, Snapshot};

/// A cache's statistics (the seeds' `CacheStats`, with its `hit_rate`/`miss_rate`
/// properties as fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups that found a value.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Hits per lookup (0 without lookups).
    pub hit_rate: f64,
    /// Misses per lookup (0 without lookups).
    pub miss_rate: f64,
    /// Entries evicted or expired.
    pub evictions: u64,
    /// Entries held, as last reported with [`CacheMonitor::set_size`].
    pub size: u64,
}

/// Statistics of one named cache, recorded from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::CacheMonitor;
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let cache = CacheMonitor::on(engine.clone(), "embeddings").unwrap();
/// cache.record_hit();
/// cache.record_hit();
/// cache.record_miss();
/// cache.set_size(2);
/// engine.flush();
/// let s = cache.stats();
/// assert_eq!((s.hits, s.misses, s.size), (2, 1, 2));
/// assert!((s.hit_rate - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[derive(Debug)]
pub struct CacheMonitor {
    engine: EngineRef,
    name: String,
    hits: Counter,
    misses: Counter,
    evictions: Counter,
    size: Gauge,
}

impl CacheMonitor {
    /// A monitor of the cache `name` on the process-wide engine.
    ///
    /// # Errors
    /// A registration error: one of the monitor's metric names is used as another kind (or
    /// with other help) in the engine. The cache name may be any UTF-8.
    pub fn new(name: &str) -> Result<CacheMonitor, RegisterError> {
        Self::with_engine(EngineRef::Global, name)
    }

    /// A monitor of the cache `name` on `engine`.
    ///
    /// # Errors
    /// See [`new`](Self::new).
    pub fn on(engine: Arc<Engine>, name: &str) -> Result<CacheMonitor, RegisterError> {
        Self::with_engine(EngineRef::Shared(engine), name)
    }

    fn with_engine(engine: EngineRef, name: &str) -> Result<CacheMonitor, RegisterError> {
        let e = &*engine;
        let opts = |metric: &str, help: &str| Opts::new(metric).help(help).label("cache", name);
        Ok(CacheMonitor {
            hits: e.counter(opts(
                "cache_hits_total",
                "Cache lookups that found a value.",
            ))?,
            misses: e.counter(opts("cache_misses_total", "Cache lookups that did not."))?,
            evictions: e.counter(opts("cache_evictions_total", "Entries evicted or expired."))?,
            size: e.gauge(opts("cache_size", "Entries held."))?,
            name: name.to_string(),
            engine,
        })
    }

    /// Records a hit.
    #[inline]
    pub fn record_hit(&self) {
        self.hits.increment();
    }

    /// Records a miss.
    #[inline]
    pub fn record_miss(&self) {
        self.misses.increment();
    }

    /// Records `n` evictions or expirations.
    #[inline]
    pub fn record_evictions(&self, n: u64) {
        self.evictions.add(n);
    }

    /// Reports the number of entries held.
    #[inline]
    pub fn set_size(&self, entries: u64) {
        self.size.set(entries as f64);
    }

    /// The cache's name (the `cache` label).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The statistics, from the engine's latest snapshot.
    pub fn stats(&self) -> CacheStats {
        self.stats_of(&self.engine.snapshot())
    }

    /// The statistics of `snap` (a snapshot of this monitor's engine).
    pub fn stats_of(&self, snap: &Snapshot) -> CacheStats {
        let labels = [("cache", self.name.as_str())];
        let total = |metric: &str| match snap.get(metric, &labels).map(|m| &m.value) {
            Some(MetricValue::Counter(c)) => u64::try_from(c.total).unwrap_or(u64::MAX),
            _ => 0,
        };
        let (hits, misses) = (total("cache_hits_total"), total("cache_misses_total"));
        let lookups = hits.saturating_add(misses);
        let rate = |n: u64| {
            if lookups == 0 {
                0.0
            } else {
                n as f64 / lookups as f64
            }
        };
        let size = match snap.get("cache_size", &labels).map(|m| &m.value) {
            Some(MetricValue::Gauge(g)) if g.value >= 0.0 => g.value as u64,
            _ => 0,
        };
        CacheStats {
            hits,
            misses,
            hit_rate: rate(hits),
            miss_rate: rate(misses),
            evictions: total("cache_evictions_total"),
            size,
        }
    }

    /// Resets hits, misses and evictions (the size is reported, not accumulated).
    pub fn reset(&self) {
        self.hits.reset();
        self.misses.reset();
        self.evictions.reset();
    }
}
