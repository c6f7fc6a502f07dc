//! [`MonitoredCache`]: the seeds' cache manager (`get`, `set` with a TTL, `cleanup_expired`,
//! `get_stats`) over [`moka`]'s concurrent cache, with hits, misses, evictions and size
//! recorded by a [`CacheMonitor`] (feature `moka`).
//!
//! moka keeps the entries (bounded by `max_size`, expiring each after its own TTL) and does
//! its maintenance on the callers' threads; this adapter adds one counter increment per lookup
//! and counts evictions and expirations from moka's eviction listener.

use crate::cache::{CacheMonitor, CacheStats};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tachymeter::{Engine, RegisterError};

/// A value with its own time to live.
#[derive(Clone)]
struct Entry<V> {
    value: V,
    ttl: Option<Duration>,
}

/// moka's per-entry expiry: each entry lives for its own TTL after it is set.
struct PerEntryTtl;

impl<K, V> moka::Expiry<K, Entry<V>> for PerEntryTtl {
    fn expire_after_create(&self, _: &K, entry: &Entry<V>, _: Instant) -> Option<Duration> {
        entry.ttl
    }

    fn expire_after_update(
        &self,
        _: &K,
        entry: &Entry<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        entry.ttl
    }
}

/// Configures a [`MonitoredCache`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MonitoredCacheBuilder {
    name: String,
    engine: Option<Arc<Engine>>,
    max_size: u64,
    default_ttl: Option<Duration>,
}

impl MonitoredCacheBuilder {
    /// Records into `engine` instead of the process-wide one.
    pub fn engine(mut self, engine: Arc<Engine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// At most `entries` entries (default 2,000, the seeds' `PTPD_MONITORING_CACHE_SIZE`);
    /// beyond it moka evicts (counted as evictions).
    pub fn max_size(mut self, entries: u64) -> Self {
        self.max_size = entries;
        self
    }

    /// The TTL of [`MonitoredCache::set`] (default 1,800 s, the seeds' `default_ttl`; `None`:
    /// entries never expire).
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Builds the cache and registers its statistics.
    ///
    /// # Errors
    /// A registration error of the engine (see [`CacheMonitor::new`]).
    pub fn build<K, V>(self) -> Result<MonitoredCache<K, V>, RegisterError>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let monitor = Arc::new(match self.engine {
            Some(e) => CacheMonitor::on(e, &self.name)?,
            None => CacheMonitor::new(&self.name)?,
        });
        let expired = Arc::new(AtomicU64::new(0));
        let (m, x) = (monitor.clone(), expired.clone());
        let inner = moka::sync::Cache::builder()
            .max_capacity(self.max_size)
            .expire_after(PerEntryTtl)
            .eviction_listener(move |_key, _value, cause| {
                use moka::notification::RemovalCause;
                match cause {
                    RemovalCause::Expired => {
                        // Relaxed: a statistic, read after `run_pending_tasks` returns on
                        // the same thread or later.
                        x.fetch_add(1, Ordering::Relaxed);
                        m.record_evictions(1);
                    }
                    RemovalCause::Size => m.record_evictions(1),
                    RemovalCause::Explicit | RemovalCause::Replaced => {}
                }
            })
            .build();
        Ok(MonitoredCache {
            inner,
            monitor,
            default_ttl: self.default_ttl,
            expired,
        })
    }
}

/// A bounded concurrent cache with per-entry TTLs whose statistics are recorded (the seeds'
/// `CacheManager` / `get_cache()`).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tachymeter_monitor::MonitoredCache;
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let cache = MonitoredCache::builder("results").engine(engine.clone()).build().unwrap();
/// assert_eq!(cache.get(&"result:1"), None);            // a miss
/// cache.set_with_ttl("result:1", 42u64, Duration::from_secs(600));
/// assert_eq!(cache.get(&"result:1"), Some(42));        // a hit
/// cache.cleanup_expired(); // moka's maintenance: its entry count is exact after it
/// engine.flush();
/// let s = cache.stats();
/// assert_eq!((s.hits, s.misses, s.size), (1, 1, 1));
/// ```
pub struct MonitoredCache<K, V> {
    inner: moka::sync::Cache<K, Entry<V>>,
    monitor: Arc<CacheMonitor>,
    default_ttl: Option<Duration>,
    /// Expirations seen by the eviction listener.
    expired: Arc<AtomicU64>,
}

impl<K, V> std::fmt::Debug for MonitoredCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredCache")
            .field("name", &self.monitor.name())
            .field("entries", &self.inner.entry_count())
            .field("default_ttl", &self.default_ttl)
            .finish()
    }
}

impl MonitoredCache<(), ()> {
    /// A builder for the cache `name` (the `cache` label of its statistics).
    pub fn builder(name: &str) -> MonitoredCacheBuilder {
        MonitoredCacheBuilder {
            name: name.to_string(),
            engine: None,
            max_size: 2_000,
            default_ttl: Some(Duration::from_secs(1_800)),
        }
    }
}

impl<K, V> MonitoredCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value under `key` (a clone), recording a hit or a miss. An expired entry is a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        match self.inner.get(key) {
            Some(e) => {
                self.monitor.record_hit();
                Some(e.value)
            }
            None => {
                self.monitor.record_miss();
                None
            }
        }
    }

    /// Stores `value` under `key` for the default TTL.
    pub fn set(&self, key: K, value: V) {
        self.insert(key, value, self.default_ttl);
    }

    /// Stores `value` under `key` for `ttl` (the seeds' `set(key, value, ttl=...)`).
    pub fn set_with_ttl(&self, key: K, value: V, ttl: Duration) {
        self.insert(key, value, Some(ttl));
    }

    /// The size gauge follows moka's entry count, which is exact after maintenance (run by
    /// moka as the cache is used, or by [`cleanup_expired`](Self::cleanup_expired)).
    fn insert(&self, key: K, value: V, ttl: Option<Duration>) {
        self.inner.insert(key, Entry { value, ttl });
        self.monitor.set_size(self.inner.entry_count());
    }

    /// Removes `key`.
    pub fn delete(&self, key: &K) {
        self.inner.invalidate(key);
        self.monitor.set_size(self.inner.entry_count());
    }

    /// Runs the cache's pending maintenance now and returns how many expired entries it
    /// removed (the seeds' `cleanup_expired`). Expired entries are never returned by `get`
    /// either way; maintenance also runs by itself as the cache is used, and what it removed
    /// then is counted in the evictions, not here.
    pub fn cleanup_expired(&self) -> u64 {
        // Relaxed: the listener runs on this thread inside `run_pending_tasks`, or ran before.
        let before = self.expired.load(Ordering::Relaxed);
        self.inner.run_pending_tasks();
        self.monitor.set_size(self.inner.entry_count());
        self.expired.load(Ordering::Relaxed).saturating_sub(before)
    }

    /// Entries held (moka's count, exact after [`cleanup_expired`](Self::cleanup_expired)).
    pub fn len(&self) -> u64 {
        self.inner.entry_count()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The statistics (the seeds' `get_stats()`), from the engine's latest snapshot.
    pub fn stats(&self) -> CacheStats {
        self.monitor.stats()
    }

    /// The monitor recording this cache's statistics.
    pub fn monitor(&self) -> &CacheMonitor {
        &self.monitor
    }
}
