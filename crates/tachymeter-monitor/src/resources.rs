//! [`ResourceMonitor`]: system and process resources, sampled on a background thread (the
//! seeds' `SystemResourceMonitor` and `ResourceMonitor`, `get_resource_monitor()`).
//!
//! Each sample writes engine gauges (label `instance`), so readings are exported and kept in
//! the engine's time-range history; [`ResourceMonitor::history`] reads them back from there.
//!
//! | metric | kind, unit | what |
//! |---|---|---|
//! | `system_cpu_usage` | gauge, ratio | busy share of all CPUs over the sampling interval |
//! | `system_memory_total`, `system_memory_used`, `system_memory_available` | gauges, bytes | RAM (used = total − available) |
//! | `system_memory_usage` | gauge, ratio | used / total |
//! | `system_swap_total`, `system_swap_used` | gauges, bytes | swap |
//! | `system_disk_total`, `system_disk_free`, `system_disk_used` | gauge families by `mount`, bytes | free = available to unprivileged users; used = total − free |
//! | `system_disk_usage` | gauge family by `mount`, ratio | used / total |
//! | `system_network_received_total`, `system_network_sent_total` | counters, bytes | bytes over every interface since the monitor started |
//! | `system_network_receive`, `system_network_transmit` | gauges, bytes per second | rates over the sampling interval |
//! | `system_processes` | gauge | processes on the machine |
//! | `process_resident_memory` | gauge, bytes | this process's resident set |
//! | `process_cpu_usage` | gauge, ratio | this process's CPU time over the interval, as a share of all CPUs |
//! | `process_threads`, `process_open_fds` | gauges | this process's threads and open file descriptors |
//! | `gpu_utilization`, `gpu_memory_used`, `gpu_memory_total` | gauge families by `gpu` (feature `gpu`) | ratio, bytes, bytes |
//! | `resource_samples_total` | counter | samples taken |
//!
//! Exporters append the unit: `system_memory_used_bytes`, `system_cpu_usage_ratio`,
//! `system_network_receive_bytes_per_second`, `system_network_received_bytes_total`.
//!
//! # Sources
//!
//! - System CPU, memory, swap, disks and networks: `sysinfo`. CPU usage is the change of the
//!   `/proc/stat` times between two refreshes at least `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`
//!   (200 ms on Linux) apart: the monitor takes its first refresh when it is built, and
//!   [`ResourceMonitor::sample_now`] waits out the rest of that minimum when called sooner, so
//!   no reading is the first refresh's zero.
//! - This process, on Linux: `/proc/self/status` (`VmRSS`, `Threads`), the entries of
//!   `/proc/self/fd` and the numeric entries of `/proc` (the process count, as psutil's
//!   `pids()`); its CPU time from `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (the `cpu-time`
//!   crate, on every platform). Not sysinfo's process refresh: on Linux it keeps a `stat` file
//!   open per refreshed process and raises the soft `RLIMIT_NOFILE` to the hard limit on first
//!   use, side effects a library should not have inside someone else's process (the kept file
//!   would also count in our own open descriptors). Not `procfs`: three small files parsed in
//!   a few lines do not justify its dependencies (rustix) and their build. On other systems
//!   the process's resident memory, threads, descriptors and the process count are `None`.
//! - GPUs (cargo feature `gpu`): NVML through `nvml-wrapper`, loaded at run time. No driver,
//!   no library or no device: `gpus` is `None` ("not available"), never an error or a panic.
//!
//! # Threads and locks
//!
//! Sampling takes one lock (the sysinfo state) for the few milliseconds a sample costs; no
//! recording path of any other monitor goes near it. [`ResourceMonitor::start`] spawns one
//! thread named `tm-resources`; its [`Sampling`] guard stops and joins it on drop.

use crate::EngineRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tachymeter::{Counter, Engine, Gauge, GaugeFamily, Opts, Range, RegisterError};

/// The seeds' default CPU threshold, percent (003 uses 80, 004's example 75).
pub const DEFAULT_CPU_THRESHOLD: f64 = 80.0;
/// The seeds' default memory threshold, percent.
pub const DEFAULT_MEMORY_THRESHOLD: f64 = 85.0;
/// The seeds' default disk threshold, percent.
pub const DEFAULT_DISK_THRESHOLD: f64 = 95.0;

/// One reading of every resource (the seeds' `ResourceUsage` / `SystemResourceSnapshot`).
/// Percentages are 0–100 (the seeds' convention); the engine gauges hold ratios 0–1.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResourceSnapshot {
    /// 1 for this monitor's first reading, then 2, 3, …
    pub sequence: u64,
    /// When it was taken, seconds since the Unix epoch.
    pub timestamp: f64,
    /// Seconds since the previous reading (or since the monitor was built): the interval the
    /// CPU percentages and network rates cover.
    pub interval_seconds: f64,
    /// Busy share of all CPUs over the interval, percent.
    pub cpu_percent: f64,
    /// Used memory over total, percent.
    pub memory_percent: f64,
    /// Installed memory, bytes.
    pub memory_total_bytes: u64,
    /// Used memory (total − available), bytes.
    pub memory_used_bytes: u64,
    /// Memory available for new work without swapping (`MemAvailable`), bytes.
    pub memory_available_bytes: u64,
    /// Used memory in MiB (the seeds' `memory_used_mb`).
    pub memory_used_mb: f64,
    /// Swap size, bytes.
    pub swap_total_bytes: u64,
    /// Swap in use, bytes.
    pub swap_used_bytes: u64,
    /// Usage of the disk mounted at `/`, percent (`None` if `/` is not among the readings).
    pub disk_percent: Option<f64>,
    /// Every disk read (empty when disks are off), by mount point.
    pub disks: Vec<DiskReading>,
    /// Network totals and rates over every interface (`None` when off).
    pub network: Option<NetworkReading>,
    /// Processes on the machine (`None` when off or not available).
    pub process_count: Option<u64>,
    /// This process (`None` when off).
    pub process: Option<ProcessReading>,
    /// Mean utilisation of the GPUs, percent (`None`: not available).
    pub gpu_percent: Option<f64>,
    /// Every GPU (`None`: not available, or the `gpu` feature is off).
    pub gpus: Option<Vec<GpuReading>>,
}

/// One mounted disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DiskReading {
    /// Mount point.
    pub mount: String,
    /// Size, bytes.
    pub total_bytes: u64,
    /// Available to unprivileged users (`statvfs` `f_bavail`), bytes.
    pub free_bytes: u64,
    /// `total_bytes − free_bytes` (blocks reserved for root count as used).
    pub used_bytes: u64,
    /// Used over total, percent.
    pub percent: f64,
}

/// Network traffic over every interface (loopback included, as psutil's `net_io_counters`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NetworkReading {
    /// Received since the interfaces came up, bytes.
    pub received_bytes: u64,
    /// Sent since the interfaces came up, bytes.
    pub sent_bytes: u64,
    /// Received over the interval, bytes per second.
    pub received_bytes_per_second: f64,
    /// Sent over the interval, bytes per second.
    pub sent_bytes_per_second: f64,
}

/// This process.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProcessReading {
    /// Resident set size (`VmRSS`), bytes (Linux only).
    pub resident_memory_bytes: Option<u64>,
    /// CPU time over the interval as a share of all CPUs, percent (100 = every CPU busy with
    /// this process).
    pub cpu_percent: Option<f64>,
    /// Threads (Linux only).
    pub threads: Option<u64>,
    /// Open file descriptors, not counting the one used to list them (Linux only).
    pub open_fds: Option<u64>,
}

/// One GPU (feature `gpu`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GpuReading {
    /// NVML device index.
    pub index: u32,
    /// Device name.
    pub name: String,
    /// Utilisation over the driver's last sample period, percent.
    pub utilization_percent: f64,
    /// Memory in use, bytes.
    pub memory_used_bytes: u64,
    /// Installed memory, bytes.
    pub memory_total_bytes: u64,
}

/// One gauge over a time range: statistics of the values the engine's collections saw (one
/// per collection, so `mean` is time-weighted and `min`/`max` exact to one aggregation
/// interval).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReadingRange {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// Latest value.
    pub last: f64,
}

/// Readings over a time range (the seeds' `get_resource_history(hours_back)`), from the
/// engine's history of the monitor's gauges.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResourceHistory {
    /// Start of the covered range, seconds since the engine started (whole history periods).
    pub from_seconds: f64,
    /// End of the covered range, seconds since the engine started.
    pub to_seconds: f64,
    /// Per gauge, in the gauge's unit (ratios 0–1, bytes, counts), keyed by metric name and,
    /// for families, its label: `system_cpu_usage`, `system_disk_usage{mount="/"}`. Gauges
    /// without history in the range are absent.
    pub readings: BTreeMap<String, ReadingRange>,
}

/// How bad a [`ResourceAlert`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Above the threshold, at most 1.2 times it.
    Warning,
    /// More than 1.2 times the threshold.
    Critical,
}

/// A resource above its threshold (the seeds' `{resource, usage, threshold, severity,
/// message}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResourceAlert {
    /// `cpu`, `memory` or `disk`.
    pub resource: &'static str,
    /// The disk's mount point (disks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// The reading, percent.
    pub value: f64,
    /// The threshold it exceeded, percent.
    pub threshold: f64,
    /// [`Severity::Critical`] above 1.2 × `threshold`, else [`Severity::Warning`].
    pub severity: Severity,
    /// A one-line description, e.g. `cpu usage 91.0% above 80.0%`.
    pub message: String,
}

/// Alert thresholds in percent (the seeds' defaults: CPU 80, memory 85, disk 95).
///
/// The rule (the seeds'): a reading strictly above its threshold is an alert; it is
/// critical when strictly above 1.2 × the threshold, else a warning. A NaN threshold never
/// alerts. Note that with the disk default (95) no disk alert can be critical.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertThresholds {
    /// CPU, percent.
    pub cpu_percent: f64,
    /// Memory, percent.
    pub memory_percent: f64,
    /// Each disk, percent.
    pub disk_percent: f64,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        AlertThresholds {
            cpu_percent: DEFAULT_CPU_THRESHOLD,
            memory_percent: DEFAULT_MEMORY_THRESHOLD,
            disk_percent: DEFAULT_DISK_THRESHOLD,
        }
    }
}

impl AlertThresholds {
    /// The alerts `reading` raises: CPU, memory, then each disk by mount point.
    pub fn alerts(&self, reading: &ResourceSnapshot) -> Vec<ResourceAlert> {
        let mut out = Vec::new();
        let mut check =
            |resource: &'static str, mount: Option<&str>, value: f64, threshold: f64| {
                if value > threshold {
                    let severity = if value > 1.2 * threshold {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    };
                    let what = match mount {
                        Some(m) => format!("disk {m}"),
                        None => resource.to_string(),
                    };
                    out.push(ResourceAlert {
                        resource,
                        mount: mount.map(str::to_string),
                        value,
                        threshold,
                        severity,
                        message: format!("{what} usage {value:.1}% above {threshold:.1}%"),
                    });
                }
            };
        check("cpu", None, reading.cpu_percent, self.cpu_percent);
        check("memory", None, reading.memory_percent, self.memory_percent);
        for d in &reading.disks {
            check("disk", Some(&d.mount), d.percent, self.disk_percent);
        }
        out
    }
}

/// Samples system and process resources into engine gauges; see the [module docs](self) for
/// the metrics and their sources.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tachymeter_monitor::ResourceMonitor;
///
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let monitor = ResourceMonitor::builder()
///     .engine(engine.clone())
///     .interval(Duration::from_millis(500))
///     .build()
///     .unwrap();
/// let reading = monitor.sample_now(); // CPU over at least 200 ms since `build`
/// assert!((0.0..=100.0).contains(&reading.cpu_percent));
/// assert!(reading.memory_total_bytes > 0);
/// let snapshot = engine.flush();
/// assert!(snapshot.get("system_memory_total", &[("instance", monitor.instance())]).is_some());
/// {
///     let _sampling = monitor.start().unwrap(); // a reading every 500 ms
///     // ...
/// } // the sampling thread is stopped and joined here
/// for alert in monitor.alerts_for_high_usage() {
///     println!("{}", alert.message);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ResourceMonitor {
    inner: Arc<Inner>,
}

/// Configures a [`ResourceMonitor`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ResourceMonitorBuilder {
    engine: EngineRef,
    instance: Option<String>,
    interval: Duration,
    thresholds: AlertThresholds,
    disks: bool,
    mounts: Option<Vec<String>>,
    network: bool,
    process: bool,
    gpu: bool,
}

impl ResourceMonitorBuilder {
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

    /// Time between samples of the sampling thread (default 5 s; at least
    /// `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`, 200 ms on Linux: shorter is raised to it).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// CPU alert threshold, percent (default 80).
    pub fn cpu_threshold(mut self, percent: f64) -> Self {
        self.thresholds.cpu_percent = percent;
        self
    }

    /// Memory alert threshold, percent (default 85).
    pub fn memory_threshold(mut self, percent: f64) -> Self {
        self.thresholds.memory_percent = percent;
        self
    }

    /// Disk alert threshold, percent (default 95).
    pub fn disk_threshold(mut self, percent: f64) -> Self {
        self.thresholds.disk_percent = percent;
        self
    }

    /// Whether to read disks (default true).
    pub fn disks(mut self, on: bool) -> Self {
        self.disks = on;
        self
    }

    /// Reads only the disks mounted at these points (default: every disk sysinfo lists).
    pub fn mounts<I, S>(mut self, mounts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.mounts = Some(mounts.into_iter().map(Into::into).collect());
        self
    }

    /// Whether to read network interfaces (default true).
    pub fn network(mut self, on: bool) -> Self {
        self.network = on;
        self
    }

    /// Whether to read this process and the process count (default true).
    pub fn process(mut self, on: bool) -> Self {
        self.process = on;
        self
    }

    /// Whether to read GPUs when the `gpu` feature is on (default true; without the feature
    /// GPUs are never read).
    pub fn gpu(mut self, on: bool) -> Self {
        self.gpu = on;
        self
    }

    /// Registers the gauges and takes the first (baseline) refresh.
    ///
    /// # Errors
    /// A registration error of the engine (a name already used as another kind there).
    pub fn build(self) -> Result<ResourceMonitor, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let gauges = Gauges::register(&self.engine, &instance)?;
        let mut sampler = Sampler {
            system: sysinfo::System::new(),
            disks: self.disks.then(sysinfo::Disks::new_with_refreshed_list),
            networks: self
                .network
                .then(sysinfo::Networks::new_with_refreshed_list),
            process: self.process,
            last: Instant::now(),
            process_cpu: None,
            sequence: 0,
            #[cfg(feature = "gpu")]
            gpus: self.gpu.then(gpu::Gpus::init),
        };
        sampler.baseline();
        Ok(ResourceMonitor {
            inner: Arc::new(Inner {
                engine: self.engine,
                instance,
                interval: self.interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL),
                thresholds: self.thresholds,
                mounts: self.mounts,
                gauges,
                sampler: Mutex::new(sampler),
                latest: Mutex::new(None),
            }),
        })
    }
}

struct Inner {
    engine: EngineRef,
    instance: String,
    interval: Duration,
    thresholds: AlertThresholds,
    mounts: Option<Vec<String>>,
    gauges: Gauges,
    /// The sysinfo state and the previous refresh: the start of the next CPU interval.
    sampler: Mutex<Sampler>,
    /// The latest reading. Kept here and not read back from the gauges: it carries what the
    /// gauges cannot (which readings are not available, when and over what interval it was
    /// taken), and `current()` must not lag one aggregation interval behind a sample.
    latest: Mutex<Option<Arc<ResourceSnapshot>>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceMonitor")
            .field("engine", &self.engine)
            .field("instance", &self.instance)
            .field("interval", &self.interval)
            .field("thresholds", &self.thresholds)
            .finish_non_exhaustive()
    }
}

/// Locks `m`, recovering from a panic of a previous holder (the state is plain readings).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ResourceMonitor {
    /// A builder (defaults: the process-wide engine, interval 5 s, every reading, the seeds'
    /// thresholds).
    pub fn builder() -> ResourceMonitorBuilder {
        ResourceMonitorBuilder {
            engine: EngineRef::Global,
            instance: None,
            interval: Duration::from_secs(5),
            thresholds: AlertThresholds::default(),
            disks: true,
            mounts: None,
            network: true,
            process: true,
            gpu: true,
        }
    }

    /// The engine this monitor records into.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The `instance` label of this monitor's metrics.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// The sampling thread's interval.
    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// The alert thresholds.
    pub fn thresholds(&self) -> AlertThresholds {
        self.inner.thresholds
    }

    /// Takes a reading now, writes the gauges and returns it. CPU usage and network rates
    /// cover the time since the previous reading (or since `build`); if that is shorter than
    /// `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL` (200 ms on Linux), this first sleeps out the
    /// rest. Costs a few milliseconds (it reads a few dozen small files).
    pub fn sample_now(&self) -> ResourceSnapshot {
        let inner = &*self.inner;
        // The gauges and `latest` are written under the sampler's lock, so that they always
        // hold the reading with the highest sequence number.
        let mut sampler = lock(&inner.sampler);
        let (reading, (received, sent)) = sampler.sample(inner.mounts.as_deref());
        inner.gauges.write(&reading, &inner.instance);
        inner.gauges.received.add(received);
        inner.gauges.sent.add(sent);
        let reading = Arc::new(reading);
        *lock(&inner.latest) = Some(reading.clone());
        drop(sampler);
        Arc::unwrap_or_clone(reading)
    }

    /// The latest reading, if any was taken (by [`sample_now`](Self::sample_now), the
    /// sampling thread or [`current`](Self::current)).
    pub fn latest(&self) -> Option<ResourceSnapshot> {
        lock(&self.inner.latest).as_deref().cloned()
    }

    /// The latest reading (the seeds' `get_current_usage()` / `check_resources()`); takes
    /// one now if there is none yet.
    pub fn current(&self) -> ResourceSnapshot {
        self.latest().unwrap_or_else(|| self.sample_now())
    }

    /// The alerts of the [`current`](Self::current) reading against the thresholds (see
    /// [`AlertThresholds`] for the rule).
    pub fn alerts_for_high_usage(&self) -> Vec<ResourceAlert> {
        self.inner.thresholds.alerts(&self.current())
    }

    /// The thresholds as rules of the general alerting engine, on this monitor's gauges
    /// (ratios: the percent thresholds divided by 100; label `instance` on each rule):
    /// `HighCpuUsage` on `system_cpu_usage`, `HighMemoryUsage` on `system_memory_usage` and
    /// `HighDiskUsage` on `system_disk_usage{mount="/"}` (one mount: a gauge rule sums the
    /// series it selects). Each escalates to critical above 1.2× its threshold, as
    /// [`alerts_for_high_usage`](Self::alerts_for_high_usage) does.
    ///
    /// # Errors
    /// A threshold that is not finite.
    pub fn alert_rules(
        &self,
    ) -> Result<Vec<crate::alerting::AlertRule>, crate::alerting::RuleError> {
        use crate::alerting::{AlertRule, Selector};
        let t = &self.inner.thresholds;
        let instance = self.instance();
        let rule = |name: &str, sel: Selector, percent: f64, what: &str| {
            AlertRule::builder(name)
                .gauge(sel)
                .above(percent / 100.0)
                .label("instance", instance)
                .annotation("summary", format!("{what} above {percent}%"))
                .build()
        };
        let sel = |metric: &str| Selector::new(metric).label("instance", instance);
        Ok(vec![
            rule(
                "HighCpuUsage",
                sel("system_cpu_usage"),
                t.cpu_percent,
                "CPU usage",
            )?,
            rule(
                "HighMemoryUsage",
                sel("system_memory_usage"),
                t.memory_percent,
                "Memory usage",
            )?,
            rule(
                "HighDiskUsage",
                sel("system_disk_usage").label("mount", "/"),
                t.disk_percent,
                "Disk usage of /",
            )?,
        ])
    }

    /// The seeds' name for [`alerts_for_high_usage`](Self::alerts_for_high_usage).
    pub fn get_alerts_for_high_usage(&self) -> Vec<ResourceAlert> {
        self.alerts_for_high_usage()
    }

    /// Min, max, mean and last of every gauge over the last `hours_back` hours (the seeds'
    /// `get_resource_history`), from the engine's history. It starts at the first reading:
    /// the first reading resets the gauges, clearing the zeros collected between `build` and
    /// it (a collection in the microseconds between that reset and the first `set` would
    /// still see one 0).
    pub fn history(&self, hours_back: u64) -> ResourceHistory {
        self.history_range(Range::Last(Duration::from_secs(
            hours_back.saturating_mul(3600),
        )))
    }

    /// Like [`history`](Self::history) over any range.
    pub fn history_range(&self, range: Range) -> ResourceHistory {
        let inner = &*self.inner;
        let mut readings = BTreeMap::new();
        let mut covered: Option<(Duration, Duration)> = None;
        let mut add = |key: String, gauge: &Gauge| {
            let Some(r) = gauge.range(range) else { return };
            let Some(g) = r.gauge else { return };
            covered.get_or_insert((r.from, r.to));
            readings.insert(
                key,
                ReadingRange {
                    min: g.min,
                    max: g.max,
                    mean: g.mean,
                    last: g.last,
                },
            );
        };
        for (name, gauge) in inner.gauges.scalars() {
            add(name.to_string(), gauge);
        }
        for (family, label) in inner.gauges.families() {
            let name = &family.desc_name;
            family.family.for_each(|values, gauge| {
                if values.first() == Some(&inner.instance.as_str()) {
                    let v = values.get(1).copied().unwrap_or("");
                    add(format!("{name}{{{label}=\"{v}\"}}"), gauge);
                }
            });
        }
        let (from, to) = covered.unwrap_or_default();
        ResourceHistory {
            from_seconds: from.as_secs_f64(),
            to_seconds: to.as_secs_f64(),
            readings,
        }
    }

    /// Starts the sampling thread (named `tm-resources`): a reading every
    /// [`interval`](Self::interval), the first one interval from now. It runs until the
    /// returned guard is dropped or [`Sampling::stop`]ped, which joins it.
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub fn start(&self) -> std::io::Result<Sampling> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let monitor = self.clone();
        let signal = stop.clone();
        let handle = std::thread::Builder::new()
            .name("tm-resources".into())
            .spawn(move || {
                let (flag, cv) = &*signal;
                let mut stopped = lock(flag);
                loop {
                    let deadline = Instant::now() + monitor.inner.interval;
                    // Wait out the interval unless told to stop (spurious wake-ups re-wait).
                    while !*stopped {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        stopped = cv
                            .wait_timeout(stopped, deadline - now)
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .0;
                    }
                    if *stopped {
                        return;
                    }
                    drop(stopped);
                    monitor.sample_now();
                    stopped = lock(flag);
                }
            })?;
        Ok(Sampling {
            stop,
            handle: Some(handle),
        })
    }
}

/// A running sampling thread (from [`ResourceMonitor::start`]): dropping it stops the thread
/// and waits for it (at most one sample, a few milliseconds).
#[derive(Debug)]
#[must_use = "the sampling thread stops when the guard is dropped"]
pub struct Sampling {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Sampling {
    /// Stops the thread and waits for it; false if it panicked.
    pub fn stop(mut self) -> bool {
        self.shutdown()
    }

    fn shutdown(&mut self) -> bool {
        let (flag, cv) = &*self.stop;
        *lock(flag) = true;
        cv.notify_all();
        self.handle.take().is_none_or(|h| h.join().is_ok())
    }
}

impl Drop for Sampling {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The sysinfo state and what the previous refresh saw.
struct Sampler {
    system: sysinfo::System,
    disks: Option<sysinfo::Disks>,
    networks: Option<sysinfo::Networks>,
    process: bool,
    /// When the previous refresh was taken: the start of the current CPU interval.
    last: Instant,
    /// This process's CPU time at `last`.
    process_cpu: Option<Duration>,
    sequence: u64,
    #[cfg(feature = "gpu")]
    gpus: Option<gpu::Gpus>,
}

impl Sampler {
    /// The refresh that starts the first CPU interval.
    fn baseline(&mut self) {
        self.system.refresh_cpu_usage();
        self.process_cpu = process_cpu_time();
        self.last = Instant::now();
    }

    /// A reading, and the bytes received and sent since the previous one.
    fn sample(&mut self, mounts: Option<&[String]>) -> (ResourceSnapshot, (u64, u64)) {
        let since = self.last.elapsed();
        if since < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL - since);
        }
        self.system.refresh_cpu_usage();
        let cpu_time = process_cpu_time();
        let now = Instant::now();
        let interval = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        let process_cpu = match (cpu_time, self.process_cpu) {
            (Some(now), Some(before)) if interval > 0.0 => {
                let cpus = self.system.cpus().len().max(1) as f64;
                let share = now.saturating_sub(before).as_secs_f64() / interval / cpus;
                Some(100.0 * share.min(1.0))
            }
            _ => None,
        };
        self.process_cpu = cpu_time;

        self.system.refresh_memory();
        let total = self.system.total_memory();
        let available = self.system.available_memory().min(total);
        let used = total - available;

        let disks = match &mut self.disks {
            Some(d) => {
                d.refresh(true);
                read_disks(d, mounts)
            }
            None => Vec::new(),
        };
        let network = self.networks.as_mut().map(|n| {
            n.refresh(true);
            let (mut rx, mut tx, mut drx, mut dtx) = (0u64, 0u64, 0u64, 0u64);
            for data in n.list().values() {
                rx = rx.saturating_add(data.total_received());
                tx = tx.saturating_add(data.total_transmitted());
                drx = drx.saturating_add(data.received());
                dtx = dtx.saturating_add(data.transmitted());
            }
            let rate = |d: u64| {
                if interval > 0.0 {
                    d as f64 / interval
                } else {
                    0.0
                }
            };
            (
                NetworkReading {
                    received_bytes: rx,
                    sent_bytes: tx,
                    received_bytes_per_second: rate(drx),
                    sent_bytes_per_second: rate(dtx),
                },
                (drx, dtx),
            )
        });
        let process = self.process.then(|| {
            let (rss, threads) = proc_self::status();
            ProcessReading {
                resident_memory_bytes: rss,
                cpu_percent: process_cpu,
                threads,
                open_fds: proc_self::open_fds(),
            }
        });
        #[cfg(feature = "gpu")]
        let gpus = self.gpus.as_ref().and_then(gpu::Gpus::read);
        #[cfg(not(feature = "gpu"))]
        let gpus: Option<Vec<GpuReading>> = None;

        self.sequence += 1;
        let percent = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                100.0 * part as f64 / whole as f64
            }
        };
        let (network, deltas) = match network {
            Some((n, d)) => (Some(n), d),
            None => (None, (0, 0)),
        };
        let reading = ResourceSnapshot {
            sequence: self.sequence,
            timestamp: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            interval_seconds: interval,
            cpu_percent: f64::from(self.system.global_cpu_usage()).clamp(0.0, 100.0),
            memory_percent: percent(used, total),
            memory_total_bytes: total,
            memory_used_bytes: used,
            memory_available_bytes: available,
            memory_used_mb: used as f64 / (1024.0 * 1024.0),
            swap_total_bytes: self.system.total_swap(),
            swap_used_bytes: self.system.used_swap(),
            disk_percent: disks.iter().find(|d| d.mount == "/").map(|d| d.percent),
            disks,
            network,
            process_count: if self.process {
                proc_self::process_count()
            } else {
                None
            },
            process,
            gpu_percent: gpus.as_ref().and_then(|g| {
                (!g.is_empty())
                    .then(|| g.iter().map(|x| x.utilization_percent).sum::<f64>() / g.len() as f64)
            }),
            gpus,
        };
        (reading, deltas)
    }
}

/// The disks of `d` restricted to `mounts`, one per mount point, by mount point.
fn read_disks(d: &sysinfo::Disks, mounts: Option<&[String]>) -> Vec<DiskReading> {
    let mut out: BTreeMap<String, DiskReading> = BTreeMap::new();
    for disk in d.list() {
        let mount = disk.mount_point().to_string_lossy().into_owned();
        let total = disk.total_space();
        if total == 0 || mounts.is_some_and(|m| !m.contains(&mount)) {
            continue;
        }
        let free = disk.available_space().min(total);
        out.entry(mount.clone()).or_insert(DiskReading {
            mount,
            total_bytes: total,
            free_bytes: free,
            used_bytes: total - free,
            percent: 100.0 * (total - free) as f64 / total as f64,
        });
    }
    out.into_values().collect()
}

/// This process's CPU time (user + system, every thread).
fn process_cpu_time() -> Option<Duration> {
    cpu_time::ProcessTime::try_now()
        .ok()
        .map(|t| t.as_duration())
}

/// This process and the process count from `/proc` (Linux); `None` elsewhere.
mod proc_self {
    /// `VmRSS` in bytes and `Threads` from `/proc/self/status`.
    pub(super) fn status() -> (Option<u64>, Option<u64>) {
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
            return (None, None);
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        };
        (field("VmRSS:").map(|kb| kb * 1024), field("Threads:"))
    }

    /// Entries of `/proc/self/fd` less the descriptor that lists them.
    pub(super) fn open_fds() -> Option<u64> {
        let n = std::fs::read_dir("/proc/self/fd").ok()?.count();
        Some(n.saturating_sub(1) as u64)
    }

    /// Numeric entries of `/proc`: the processes (not threads) on the machine.
    pub(super) fn process_count() -> Option<u64> {
        let n = std::fs::read_dir("/proc")
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            })
            .count();
        Some(n as u64)
    }
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::GpuReading;

    /// NVML, if it loaded.
    pub(super) struct Gpus(Option<nvml_wrapper::Nvml>);

    impl Gpus {
        /// Loads NVML; no library, no driver or no device leaves it unavailable.
        pub(super) fn init() -> Self {
            Gpus(nvml_wrapper::Nvml::init().ok())
        }

        /// Every GPU that answers; `None` when NVML is not available or none answers.
        pub(super) fn read(&self) -> Option<Vec<GpuReading>> {
            let nvml = self.0.as_ref()?;
            let mut out = Vec::new();
            for index in 0..nvml.device_count().ok()? {
                let Ok(device) = nvml.device_by_index(index) else {
                    continue;
                };
                let (Ok(util), Ok(memory)) = (device.utilization_rates(), device.memory_info())
                else {
                    continue;
                };
                out.push(GpuReading {
                    index,
                    name: device.name().unwrap_or_default(),
                    utilization_percent: f64::from(util.gpu),
                    memory_used_bytes: memory.used,
                    memory_total_bytes: memory.total,
                });
            }
            (!out.is_empty()).then_some(out)
        }
    }
}

/// A gauge family with its name (for history keys) and second label.
struct NamedFamily {
    desc_name: &'static str,
    family: GaugeFamily,
}

/// The monitor's engine handles.
struct Gauges {
    cpu: Gauge,
    memory_total: Gauge,
    memory_used: Gauge,
    memory_available: Gauge,
    memory_usage: Gauge,
    swap_total: Gauge,
    swap_used: Gauge,
    disk_total: NamedFamily,
    disk_free: NamedFamily,
    disk_used: NamedFamily,
    disk_usage: NamedFamily,
    received: Counter,
    sent: Counter,
    receive_rate: Gauge,
    transmit_rate: Gauge,
    processes: Gauge,
    rss: Gauge,
    process_cpu: Gauge,
    threads: Gauge,
    fds: Gauge,
    gpu_utilization: NamedFamily,
    gpu_memory_used: NamedFamily,
    gpu_memory_total: NamedFamily,
    samples: Counter,
}

impl Gauges {
    fn register(e: &Engine, instance: &str) -> Result<Gauges, RegisterError> {
        let opts = |name: &str, unit: &str, help: &str| {
            Opts::new(name)
                .unit(unit)
                .help(help)
                .label("instance", instance)
        };
        let gauge = |name: &str, unit: &str, help: &str| e.gauge(opts(name, unit, help));
        let family = |name: &'static str, unit: &str, label: &str, help: &str| {
            Ok::<_, RegisterError>(NamedFamily {
                desc_name: name,
                family: e
                    .gauge_family(Opts::new(name).unit(unit).help(help), &["instance", label])?,
            })
        };
        Ok(Gauges {
            cpu: gauge(
                "system_cpu_usage",
                "ratio",
                "Busy share of all CPUs over the sampling interval.",
            )?,
            memory_total: gauge("system_memory_total", "bytes", "Installed memory.")?,
            memory_used: gauge(
                "system_memory_used",
                "bytes",
                "Used memory (total - available).",
            )?,
            memory_available: gauge(
                "system_memory_available",
                "bytes",
                "Memory available without swapping.",
            )?,
            memory_usage: gauge("system_memory_usage", "ratio", "Used memory over total.")?,
            swap_total: gauge("system_swap_total", "bytes", "Swap size.")?,
            swap_used: gauge("system_swap_used", "bytes", "Swap in use.")?,
            disk_total: family("system_disk_total", "bytes", "mount", "Disk size.")?,
            disk_free: family(
                "system_disk_free",
                "bytes",
                "mount",
                "Disk space available to unprivileged users.",
            )?,
            disk_used: family("system_disk_used", "bytes", "mount", "Disk size - free.")?,
            disk_usage: family(
                "system_disk_usage",
                "ratio",
                "mount",
                "Used disk over size.",
            )?,
            received: e.counter(opts(
                "system_network_received_total",
                "bytes",
                "Bytes received over every interface since the monitor started.",
            ))?,
            sent: e.counter(opts(
                "system_network_sent_total",
                "bytes",
                "Bytes sent over every interface since the monitor started.",
            ))?,
            receive_rate: gauge(
                "system_network_receive",
                "bytes_per_second",
                "Receive rate over the sampling interval.",
            )?,
            transmit_rate: gauge(
                "system_network_transmit",
                "bytes_per_second",
                "Transmit rate over the sampling interval.",
            )?,
            processes: gauge("system_processes", "", "Processes on the machine.")?,
            rss: gauge(
                "process_resident_memory",
                "bytes",
                "This process's resident set.",
            )?,
            process_cpu: gauge(
                "process_cpu_usage",
                "ratio",
                "This process's CPU time over the interval as a share of all CPUs.",
            )?,
            threads: gauge("process_threads", "", "This process's threads.")?,
            fds: gauge(
                "process_open_fds",
                "",
                "This process's open file descriptors.",
            )?,
            gpu_utilization: family("gpu_utilization", "ratio", "gpu", "GPU utilisation.")?,
            gpu_memory_used: family("gpu_memory_used", "bytes", "gpu", "GPU memory in use.")?,
            gpu_memory_total: family("gpu_memory_total", "bytes", "gpu", "GPU memory.")?,
            samples: e.counter(opts(
                "resource_samples_total",
                "",
                "Resource readings taken.",
            ))?,
        })
    }

    /// The gauges outside families, with their names (history keys).
    fn scalars(&self) -> [(&'static str, &Gauge); 14] {
        [
            ("system_cpu_usage", &self.cpu),
            ("system_memory_total", &self.memory_total),
            ("system_memory_used", &self.memory_used),
            ("system_memory_available", &self.memory_available),
            ("system_memory_usage", &self.memory_usage),
            ("system_swap_total", &self.swap_total),
            ("system_swap_used", &self.swap_used),
            ("system_network_receive", &self.receive_rate),
            ("system_network_transmit", &self.transmit_rate),
            ("system_processes", &self.processes),
            ("process_resident_memory", &self.rss),
            ("process_cpu_usage", &self.process_cpu),
            ("process_threads", &self.threads),
            ("process_open_fds", &self.fds),
        ]
    }

    fn families(&self) -> [(&NamedFamily, &'static str); 7] {
        [
            (&self.disk_total, "mount"),
            (&self.disk_free, "mount"),
            (&self.disk_used, "mount"),
            (&self.disk_usage, "mount"),
            (&self.gpu_utilization, "gpu"),
            (&self.gpu_memory_used, "gpu"),
            (&self.gpu_memory_total, "gpu"),
        ]
    }

    fn write(&self, r: &ResourceSnapshot, instance: &str) {
        if r.sequence == 1 {
            // Registered at `build`, the gauges read 0 until now: drop those collections from
            // their history (a reset clears it) so that `history` starts at the first reading.
            for (_, g) in self.scalars() {
                g.reset();
            }
        }
        self.cpu.set(r.cpu_percent / 100.0);
        self.memory_total.set(r.memory_total_bytes as f64);
        self.memory_used.set(r.memory_used_bytes as f64);
        self.memory_available.set(r.memory_available_bytes as f64);
        self.memory_usage.set(r.memory_percent / 100.0);
        self.swap_total.set(r.swap_total_bytes as f64);
        self.swap_used.set(r.swap_used_bytes as f64);
        for d in &r.disks {
            let v = [instance, d.mount.as_str()];
            self.disk_total.family.with(&v).set(d.total_bytes as f64);
            self.disk_free.family.with(&v).set(d.free_bytes as f64);
            self.disk_used.family.with(&v).set(d.used_bytes as f64);
            self.disk_usage.family.with(&v).set(d.percent / 100.0);
        }
        if let Some(n) = &r.network {
            self.receive_rate.set(n.received_bytes_per_second);
            self.transmit_rate.set(n.sent_bytes_per_second);
        }
        if let Some(c) = r.process_count {
            self.processes.set(c as f64);
        }
        if let Some(p) = &r.process {
            let set = |g: &Gauge, v: Option<u64>| {
                if let Some(v) = v {
                    g.set(v as f64);
                }
            };
            set(&self.rss, p.resident_memory_bytes);
            set(&self.threads, p.threads);
            set(&self.fds, p.open_fds);
            if let Some(c) = p.cpu_percent {
                self.process_cpu.set(c / 100.0);
            }
        }
        for g in r.gpus.iter().flatten() {
            let index = g.index.to_string();
            let v = [instance, index.as_str()];
            self.gpu_utilization
                .family
                .with(&v)
                .set(g.utilization_percent / 100.0);
            self.gpu_memory_used
                .family
                .with(&v)
                .set(g.memory_used_bytes as f64);
            self.gpu_memory_total
                .family
                .with(&v)
                .set(g.memory_total_bytes as f64);
        }
        self.samples.increment();
    }
}

/// The process-wide resource monitor (instance `global`) on the process-wide engine, made on
/// first use (its baseline refresh then); if that engine already uses one of the monitor's
/// names as another kind, it records into a private engine instead (never a panic). It does
/// not sample on its own until [`ResourceMonitor::start`]ed; [`ResourceMonitor::current`]
/// takes a reading when there is none.
pub fn global_resource_monitor() -> &'static ResourceMonitor {
    static GLOBAL: once_cell::sync::OnceCell<ResourceMonitor> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            ResourceMonitorBuilder {
                engine,
                instance: Some("global".into()),
                ..ResourceMonitor::builder()
            }
            .build()
        })
    })
}

/// The seeds' name for [`global_resource_monitor`].
pub fn get_resource_monitor() -> &'static ResourceMonitor {
    global_resource_monitor()
}
