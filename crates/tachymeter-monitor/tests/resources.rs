//! `ResourceMonitor` against independent sources: `/proc/meminfo`, `/proc/stat` deltas over
//! the same interval, `/proc/self/status`, `/proc/self/stat`, `/proc/self/fd`, `/proc/net/dev`
//! and `df`; engine gauges and history against the readings themselves (exact); alerts with
//! thresholds forced low and high; the sampling thread stopped and joined on drop.
//!
//! Tolerances (each assertion says which applies):
//! - Counters the kernel only increases (network bytes) must lie between a read before and a
//!   read after the sample: exact.
//! - Levels that move both ways (available memory, free disk, RSS, threads, descriptors,
//!   processes) must lie between the before and after reads, widened by a slack for a change
//!   that came and went between them (stated per reading).
//! - CPU percentages: the oracle's window encloses the monitor's; the difference is bounded by
//!   the share of the oracle window the monitor did not cover, plus the oracle's tick
//!   granularity (one tick per CPU at each end).
//!
//! Every test holds `SERIAL`: process-level readings (threads, descriptors, RSS, CPU) must not
//! see the other tests of this binary at work.
#![cfg(feature = "resources")]

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tachymeter::{Engine, MetricValue, Range};
use tachymeter_monitor::{ResourceMonitor, ResourceSnapshot, Severity};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn engine() -> Arc<Engine> {
    Arc::new(Engine::builder().background(false).build().unwrap())
}

fn monitor(engine: &Arc<Engine>) -> ResourceMonitor {
    ResourceMonitor::builder()
        .engine(engine.clone())
        .mounts(["/"])
        .build()
        .unwrap()
}

/// `lo - slack <= v <= hi + slack` for the two oracle reads `a` and `b`.
#[track_caller]
fn between(what: &str, v: u64, a: u64, b: u64, slack: u64) {
    let (lo, hi) = (
        a.min(b).saturating_sub(slack),
        a.max(b).saturating_add(slack),
    );
    assert!(
        (lo..=hi).contains(&v),
        "{what}: {v} outside [{lo}, {hi}] (oracle {a} then {b}, slack {slack})"
    );
}

/// A gauge's value in `snap` for this monitor's instance (and `extra` labels).
fn gauge(snap: &tachymeter::Snapshot, name: &str, instance: &str, extra: &[(&str, &str)]) -> f64 {
    let mut labels = vec![("instance", instance)];
    labels.extend_from_slice(extra);
    match &snap
        .get(name, &labels)
        .unwrap_or_else(|| panic!("{name} missing"))
        .value
    {
        MetricValue::Gauge(g) => g.value,
        other => panic!("{name}: {other:?}"),
    }
}

#[cfg(target_os = "linux")]
mod oracle {
    use std::collections::HashMap;

    /// `/proc/meminfo` in bytes.
    pub fn meminfo() -> HashMap<String, u64> {
        std::fs::read_to_string("/proc/meminfo")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some((k.to_string(), kb * 1024))
            })
            .collect()
    }

    /// A field of `/proc/self/status` (kB fields in bytes).
    pub fn status(field: &str) -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = s
            .lines()
            .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
            .unwrap();
        let kb = line.trim().ends_with("kB");
        let n: u64 = line.trim().trim_end_matches("kB").trim().parse().unwrap();
        if kb {
            n * 1024
        } else {
            n
        }
    }

    /// The aggregate `cpu` line of `/proc/stat` as (busy, total) ticks, with the monitor's
    /// definitions: total = user + nice + system + idle + iowait + irq + softirq + steal
    /// (guest time is already in user and nice), busy = total − idle − iowait; and the CPUs.
    pub fn cpu() -> (u64, u64, u64) {
        let s = std::fs::read_to_string("/proc/stat").unwrap();
        let v: Vec<u64> = s
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|x| x.parse().unwrap())
            .collect();
        let total: u64 = v.iter().sum();
        let cpus = s
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count() as u64;
        (total - v[3] - v[4], total, cpus)
    }

    /// utime + stime of this process, ticks (`/proc/self/stat` fields 14 and 15).
    pub fn self_cpu_ticks() -> u64 {
        let s = std::fs::read_to_string("/proc/self/stat").unwrap();
        // Fields after the parenthesised name; field 3 is the first of them.
        let rest = &s[s.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }

    /// Ticks per second (`getconf CLK_TCK`, 100 on every Linux we know).
    pub fn clk_tck() -> u64 {
        let out = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Entries of `/proc/self/fd` less the one listing them.
    pub fn fds() -> u64 {
        std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1
    }

    /// `df -B1 --output=size,avail /`: statvfs `f_blocks` and `f_bavail` times the block size.
    pub fn df_root() -> (u64, u64) {
        let out = std::process::Command::new("df")
            .args(["-B1", "--output=size,avail", "/"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut n = text.lines().nth(1).unwrap().split_whitespace();
        (
            n.next().unwrap().parse().unwrap(),
            n.next().unwrap().parse().unwrap(),
        )
    }

    /// Bytes received and sent over every interface (`/proc/net/dev`).
    pub fn net_dev() -> (u64, u64) {
        let s = std::fs::read_to_string("/proc/net/dev").unwrap();
        s.lines().skip(2).fold((0, 0), |(rx, tx), l| {
            let f: Vec<u64> = l
                .split_once(':')
                .unwrap()
                .1
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            (rx + f[0], tx + f[8])
        })
    }

    /// Numeric entries of `/proc`.
    pub fn processes() -> u64 {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
            })
            .count() as u64
    }

    /// Threads of this process named `name` (`/proc/self/task/*/comm`).
    pub fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(Result::ok)
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name)
            })
            .count()
    }
}

#[cfg(target_os = "linux")]
#[test]
fn memory_and_swap_match_proc_meminfo() {
    let _s = serial();
    let e = engine();
    let m = monitor(&e);
    let before = oracle::meminfo();
    let r = m.sample_now();
    let after = oracle::meminfo();
    assert_eq!(r.memory_total_bytes, before["MemTotal"]);
    assert_eq!(r.swap_total_bytes, before["SwapTotal"]);
    // Memory moves both ways with the other engineers' builds: 1% of RAM covers an
    // allocation that came and went between the three reads (a few milliseconds).
    let slack = before["MemTotal"] / 100;
    between(
        "available",
        r.memory_available_bytes,
        before["MemAvailable"],
        after["MemAvailable"],
        slack,
    );
    let swap_used = |m: &std::collections::HashMap<String, u64>| m["SwapTotal"] - m["SwapFree"];
    between(
        "swap used",
        r.swap_used_bytes,
        swap_used(&before),
        swap_used(&after),
        slack,
    );
    assert_eq!(
        r.memory_used_bytes,
        r.memory_total_bytes - r.memory_available_bytes
    );
    let percent = 100.0 * r.memory_used_bytes as f64 / r.memory_total_bytes as f64;
    assert_eq!(r.memory_percent, percent);
    assert_eq!(r.memory_used_mb, r.memory_used_bytes as f64 / 1048576.0);
}

#[cfg(target_os = "linux")]
#[test]
fn system_cpu_matches_proc_stat_deltas_over_the_same_interval() {
    let _s = serial();
    let e = engine();
    let t0 = Instant::now();
    let (busy0, total0, cpus) = oracle::cpu();
    let m = monitor(&e); // the baseline refresh
    std::thread::sleep(Duration::from_millis(800));
    let r = m.sample_now();
    let (busy1, total1, _) = oracle::cpu();
    let window = t0.elapsed().as_secs_f64();
    let expected = 100.0 * (busy1 - busy0) as f64 / (total1 - total0) as f64;
    // The monitor's interval lies inside the oracle's window; what it did not cover can
    // differ by at most its share of the window. Tick granularity: one tick per CPU at each
    // end of each of the two measurements.
    let uncovered = 100.0 * (window - r.interval_seconds).max(0.0) / window;
    let ticks = 100.0 * (4 * cpus) as f64 / (total1 - total0) as f64;
    let tolerance = uncovered + ticks + 1.0;
    assert!(
        (r.cpu_percent - expected).abs() <= tolerance,
        "cpu {} vs /proc/stat {expected} (tolerance {tolerance}: uncovered {uncovered}, ticks {ticks})",
        r.cpu_percent
    );
    assert!(r.interval_seconds >= 0.8, "{}", r.interval_seconds);
}

#[test]
fn a_reading_right_after_build_covers_the_minimum_cpu_interval() {
    let _s = serial();
    let e = engine();
    let m = monitor(&e);
    let r = m.sample_now();
    assert!(r.interval_seconds >= 0.2, "{}", r.interval_seconds);
    let r2 = m.sample_now();
    assert!(r2.interval_seconds >= 0.2, "{}", r2.interval_seconds);
    assert_eq!((r.sequence, r2.sequence), (1, 2));
    assert!((0.0..=100.0).contains(&r.cpu_percent));
}

#[cfg(target_os = "linux")]
#[test]
fn process_readings_match_proc_self() {
    let _s = serial();
    let e = engine();
    let m = monitor(&e);
    // Threads: three parked extra threads, seen by both the oracle and the monitor.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(Mutex::new(rx));
    let parked: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                let _ = rx.lock().unwrap().recv();
            })
        })
        .collect();
    let (rss0, threads0, fds0) = (
        oracle::status("VmRSS"),
        oracle::status("Threads"),
        oracle::fds(),
    );
    let r = m.sample_now();
    let (rss1, threads1, fds1) = (
        oracle::status("VmRSS"),
        oracle::status("Threads"),
        oracle::fds(),
    );
    let p = r.process.clone().unwrap();
    // RSS: the test harness and the reads themselves allocate a little; 4 MiB covers it.
    between("rss", p.resident_memory_bytes.unwrap(), rss0, rss1, 4 << 20);
    // Threads and descriptors: only this test runs (SERIAL); the harness may start or end a
    // test thread meanwhile: 2.
    between("threads", p.threads.unwrap(), threads0, threads1, 2);
    assert!(p.threads.unwrap() >= 4);
    between("fds", p.open_fds.unwrap(), fds0, fds1, 0);
    drop(tx);
    for t in parked {
        t.join().unwrap();
    }

    // Descriptors, exactly: five more files open, five more descriptors.
    let files: Vec<_> = (0..5)
        .map(|_| std::fs::File::open("/proc/self/status").unwrap())
        .collect();
    let r2 = m.sample_now();
    assert_eq!(
        r2.process.as_ref().unwrap().open_fds.unwrap(),
        p.open_fds.unwrap() + 5
    );
    drop(files);

    // The process count: processes come and go on a shared machine; 5% + 20 of slack.
    let (n0, c, n1) = (
        oracle::processes(),
        m.sample_now().process_count.unwrap(),
        oracle::processes(),
    );
    between("processes", c, n0, n1, n0 / 20 + 20);
}

#[cfg(target_os = "linux")]
#[test]
fn process_cpu_matches_proc_self_stat_while_burning() {
    let _s = serial();
    let e = engine();
    let t0 = Instant::now();
    let ticks0 = oracle::self_cpu_ticks();
    let m = monitor(&e);
    // Burn this thread for 600 ms: about one CPU of this process's share.
    let until = Instant::now() + Duration::from_millis(600);
    let mut x = 1u64;
    while Instant::now() < until {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    let r = m.sample_now();
    let ticks1 = oracle::self_cpu_ticks();
    let window = t0.elapsed().as_secs_f64();
    let (_, _, cpus) = oracle::cpu();
    let hz = oracle::clk_tck() as f64;
    let expected = 100.0 * ((ticks1 - ticks0) as f64 / hz) / window / cpus as f64;
    // Uncovered share of the window (this thread was busy in it too), plus two ticks of the
    // oracle's granularity, plus 2 points for the CPU the reads themselves take.
    let uncovered = 100.0 * (window - r.interval_seconds).max(0.0) / window;
    let granularity = 100.0 * (2.0 / hz) / window / cpus as f64;
    let tolerance = uncovered + granularity + 2.0;
    let got = r.process.unwrap().cpu_percent.unwrap();
    assert!(
        (got - expected).abs() <= tolerance,
        "process cpu {got} vs /proc/self/stat {expected} (tolerance {tolerance})"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn root_disk_matches_df() {
    let _s = serial();
    let e = engine();
    let m = monitor(&e);
    let (size0, avail0) = oracle::df_root();
    let r = m.sample_now();
    let (size1, avail1) = oracle::df_root();
    assert_eq!(r.disks.len(), 1, "{:?}", r.disks);
    let d = &r.disks[0];
    assert_eq!(d.mount, "/");
    // Size: statvfs blocks × block size on both sides (ext4: f_bsize = f_frsize).
    between("size", d.total_bytes, size0, size1, 0);
    // Free space moves with every build on this machine; 256 MiB covers a write burst
    // between the two `df` runs (a few milliseconds apart).
    between("free", d.free_bytes, avail0, avail1, 256 << 20);
    assert_eq!(d.used_bytes, d.total_bytes - d.free_bytes);
    assert_eq!(r.disk_percent, Some(d.percent));
}

#[cfg(target_os = "linux")]
#[test]
fn network_totals_lie_between_two_reads_of_proc_net_dev() {
    let _s = serial();
    let e = engine();
    let m = monitor(&e);
    let (rx0, tx0) = oracle::net_dev();
    let n = m.sample_now().network.unwrap();
    let (rx1, tx1) = oracle::net_dev();
    between("received", n.received_bytes, rx0, rx1, 0);
    between("sent", n.sent_bytes, tx0, tx1, 0);
    assert!(n.received_bytes_per_second >= 0.0 && n.sent_bytes_per_second >= 0.0);
}

#[test]
fn readings_are_engine_gauges() {
    let _s = serial();
    let e = engine();
    let m = ResourceMonitor::builder()
        .engine(e.clone())
        .instance("gauges")
        .mounts(["/"])
        .build()
        .unwrap();
    let r = m.sample_now();
    let snap = e.flush();
    let g = |name: &str| gauge(&snap, name, "gauges", &[]);
    assert_eq!(g("system_cpu_usage"), r.cpu_percent / 100.0);
    assert_eq!(g("system_memory_total"), r.memory_total_bytes as f64);
    assert_eq!(g("system_memory_used"), r.memory_used_bytes as f64);
    assert_eq!(
        g("system_memory_available"),
        r.memory_available_bytes as f64
    );
    assert_eq!(g("system_memory_usage"), r.memory_percent / 100.0);
    assert_eq!(g("system_swap_used"), r.swap_used_bytes as f64);
    if let Some(p) = &r.process {
        if let Some(rss) = p.resident_memory_bytes {
            assert_eq!(g("process_resident_memory"), rss as f64);
        }
        if let Some(fds) = p.open_fds {
            assert_eq!(g("process_open_fds"), fds as f64);
        }
        if let Some(t) = p.threads {
            assert_eq!(g("process_threads"), t as f64);
        }
        assert_eq!(g("process_cpu_usage"), p.cpu_percent.unwrap() / 100.0);
    }
    let n = r.network.as_ref().unwrap();
    assert_eq!(g("system_network_receive"), n.received_bytes_per_second);
    for d in &r.disks {
        let mount = [("mount", d.mount.as_str())];
        assert_eq!(
            gauge(&snap, "system_disk_free", "gauges", &mount),
            d.free_bytes as f64
        );
        assert_eq!(
            gauge(&snap, "system_disk_usage", "gauges", &mount),
            d.percent / 100.0
        );
    }
    let samples = snap
        .get("resource_samples_total", &[("instance", "gauges")])
        .unwrap();
    assert!(matches!(&samples.value, MetricValue::Counter(c) if c.total == 1));
}

#[test]
fn history_is_min_max_mean_of_the_sampled_values() {
    let _s = serial();
    let (clock, mock) = tachymeter::Clock::mock();
    let e = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let m = monitor(&e);
    assert!(m.history(1).readings.is_empty());
    let mut readings: Vec<ResourceSnapshot> = Vec::new();
    for _ in 0..3 {
        readings.push(m.sample_now());
        // One collection per reading: each value is seen exactly once.
        mock.advance(Duration::from_secs(1));
        e.flush();
    }
    let h = m.history(1);
    let check = |key: &str, values: Vec<f64>| {
        let r = h
            .readings
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing"));
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert_eq!(
            (r.min, r.max, r.last),
            (min, max, *values.last().unwrap()),
            "{key}"
        );
        assert!(
            (r.mean - mean).abs() <= 1e-12 * mean.abs().max(1.0),
            "{key}"
        );
    };
    check(
        "system_cpu_usage",
        readings.iter().map(|r| r.cpu_percent / 100.0).collect(),
    );
    check(
        "system_memory_available",
        readings
            .iter()
            .map(|r| r.memory_available_bytes as f64)
            .collect(),
    );
    check(
        "system_disk_free{mount=\"/\"}",
        readings
            .iter()
            .map(|r| r.disks[0].free_bytes as f64)
            .collect(),
    );
    assert!(h.to_seconds > h.from_seconds);
    // The same through an explicit range.
    assert_eq!(m.history_range(Range::Last(Duration::from_secs(3600))), h);
}

#[test]
fn alerts_for_high_usage_follow_the_thresholds() {
    let _s = serial();
    let e = engine();
    // Forced: everything above 0 (memory and the root disk are never 0%).
    let low = ResourceMonitor::builder()
        .engine(e.clone())
        .mounts(["/"])
        .cpu_threshold(0.0)
        .memory_threshold(0.0)
        .disk_threshold(0.0)
        .build()
        .unwrap();
    let alerts = low.alerts_for_high_usage();
    let r = low.latest().unwrap(); // the reading the alerts were made from
    let memory = alerts.iter().find(|a| a.resource == "memory").unwrap();
    assert_eq!(memory.value, r.memory_percent);
    assert_eq!(memory.threshold, 0.0);
    assert_eq!(memory.severity, Severity::Critical);
    let disk = alerts.iter().find(|a| a.resource == "disk").unwrap();
    assert_eq!(disk.mount.as_deref(), Some("/"));
    assert_eq!(
        alerts.iter().any(|a| a.resource == "cpu"),
        r.cpu_percent > 0.0
    );
    assert!(
        memory.message.contains("memory usage"),
        "{}",
        memory.message
    );

    // Avoided: nothing can exceed 100%.
    let high = ResourceMonitor::builder()
        .engine(e.clone())
        .mounts(["/"])
        .cpu_threshold(100.0)
        .memory_threshold(100.0)
        .disk_threshold(100.0)
        .build()
        .unwrap();
    assert!(high.alerts_for_high_usage().is_empty());

    // The 1.2 boundary, on one reading: just above the threshold is a warning, above 1.2×
    // it is critical, at it nothing.
    let mut t = high.thresholds();
    t.cpu_percent = 100.0;
    t.disk_percent = 100.0;
    t.memory_percent = r.memory_percent / 1.1;
    let a = t.alerts(&r);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].severity, Severity::Warning);
    t.memory_percent = r.memory_percent / 1.3;
    assert_eq!(t.alerts(&r)[0].severity, Severity::Critical);
    t.memory_percent = r.memory_percent;
    assert!(t.alerts(&r).is_empty());

    // The seeds' defaults.
    let d = ResourceMonitor::builder()
        .engine(engine())
        .build()
        .unwrap()
        .thresholds();
    assert_eq!(
        (d.cpu_percent, d.memory_percent, d.disk_percent),
        (80.0, 85.0, 95.0)
    );
}

/// Waits up to `limit` for `done`, polling every 10 ms.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn the_sampling_thread_samples_and_stops_when_its_guard_drops() {
    let _s = serial();
    let e = engine();
    let m = ResourceMonitor::builder()
        .engine(e.clone())
        .instance("thread")
        .interval(Duration::from_millis(200))
        .mounts(["/"])
        .build()
        .unwrap();
    assert_eq!(m.interval(), Duration::from_millis(200));
    let guard = m.start().unwrap();
    let seq = |m: &ResourceMonitor| m.latest().map_or(0, |r| r.sequence);
    assert!(
        wait_for(Duration::from_secs(10), || seq(&m) >= 2),
        "two samples in 10 s"
    );
    #[cfg(target_os = "linux")]
    assert_eq!(oracle::threads_named("tm-resources"), 1);
    let started = Instant::now();
    drop(guard); // stops and joins
    let taken = seq(&m);
    // The join waits for at most one sample in progress.
    assert!(started.elapsed() < Duration::from_secs(5));
    // The thread is gone (the kernel reaps it right after the join returns).
    #[cfg(target_os = "linux")]
    assert!(wait_for(Duration::from_secs(2), || oracle::threads_named(
        "tm-resources"
    ) == 0));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(seq(&m), taken, "no sample after the guard dropped");
    let snap = e.flush();
    let samples = snap
        .get("resource_samples_total", &[("instance", "thread")])
        .unwrap();
    assert!(matches!(&samples.value, MetricValue::Counter(c) if c.total == u128::from(taken)));

    // `stop` reports a clean end; a reading interval below the minimum is raised to it.
    let fast = ResourceMonitor::builder()
        .engine(e)
        .interval(Duration::from_millis(1))
        .build()
        .unwrap();
    assert_eq!(fast.interval(), Duration::from_millis(200));
    assert!(fast.start().unwrap().stop());
}

#[test]
fn readings_can_be_turned_off() {
    let _s = serial();
    let m = ResourceMonitor::builder()
        .engine(engine())
        .disks(false)
        .network(false)
        .process(false)
        .gpu(false)
        .build()
        .unwrap();
    let r = m.sample_now();
    assert!(r.disks.is_empty() && r.disk_percent.is_none());
    assert!(r.network.is_none() && r.process.is_none() && r.process_count.is_none());
    assert!(r.gpus.is_none() && r.gpu_percent.is_none());
    assert!(r.memory_total_bytes > 0);
}

#[test]
fn gpus_are_not_available_without_a_driver_never_an_error() {
    let _s = serial();
    // Without the `gpu` feature, or on this machine (no NVIDIA driver): `None`.
    let r = ResourceMonitor::builder()
        .engine(engine())
        .build()
        .unwrap()
        .sample_now();
    #[cfg(not(feature = "gpu"))]
    assert!(r.gpus.is_none());
    if r.gpus.is_none() {
        assert!(r.gpu_percent.is_none());
    }
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("gpus").is_some());
}

#[test]
fn the_global_monitor_is_one_instance() {
    let _s = serial();
    let a = tachymeter_monitor::global_resource_monitor();
    let b = tachymeter_monitor::get_resource_monitor();
    assert!(std::ptr::eq(a, b));
    assert_eq!(a.instance(), "global");
    assert!(a.current().memory_total_bytes > 0);
}
