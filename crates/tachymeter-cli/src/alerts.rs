//! The demo's alert rules and the fault phase that trips them.
//!
//! Three rules on the demo's own series (see [`rules`]): decode failures, slow requests, and a
//! resource rule that stays quiet. After the normal workload, the fault phase runs three
//! segments of equal length ([`FaultPlan`]): an error burst ([`Fault::Errors`]: 1 record in 4
//! corrupted), slow requests ([`Fault::Slow`]: 1 request in 5 stalls 150 ms), and recovery.
//! The first two rules fire during their segment and resolve within the next one.
//!
//! Windows are a few engine intervals (1 s each) and `for` is 1 s, so that a 5 s segment is
//! enough. A quantile over a window weighs intervals by their request count, and a normal
//! interval holds a thousand times the requests of a slow one: the latency window is 1
//! interval, or a normal (or partly normal) interval in it would hide the slow ones for longer
//! (with 2, `SlowRequests` fired 4 s into a 5 s segment in a release run). The latency
//! thresholds are far above a debug build's p99 on a loaded machine, so that only the fault
//! fires the rule.

use std::time::Duration;

use tachymeter::Snapshot;
use tachymeter_monitor::alerting::{AlertEvent, AlertRule, EventKind, PromRules, Selector, Window};

use crate::workload::{ErrorKind, Fault, INSTANCE};

/// Share of requests failing with a `decode` error (normally 0.5%; 25% in the error burst).
pub const DECODE_ERRORS: &str = "DecodeErrors";
/// p95 of the end-to-end request latency (normally under 1 ms, a few ms in a debug build;
/// 150 ms when slow).
pub const SLOW_REQUESTS: &str = "SlowRequests";
/// The demo's resident memory (tens of MiB): quiet unless something leaks.
pub const HIGH_MEMORY: &str = "HighMemory";

/// Resident memory above which [`HIGH_MEMORY`] fires.
const MEMORY_LIMIT: f64 = 512.0 * MIB;
const MIB: f64 = 1024.0 * 1024.0;

/// The demo's rules, on the monitors' series (label `instance` = [`INSTANCE`]):
///
/// | alert | statistic | fires | resolves | window, `for` |
/// |---|---|---|---|---|
/// | `DecodeErrors` | `inference_errors_total{kind="decode"} / demo_requests_total` | > 5% | ≤ 2% | 3 intervals, 1 s |
/// | `SlowRequests` | p95 of `demo_request_latency` | > 100 ms | ≤ 50 ms | 1 interval, 1 s |
/// | `HighMemory` | `process_resident_memory` | > 512 MiB | ≤ 384 MiB | gauge, 5 s |
///
/// All are warnings; the first two escalate to critical beyond 1.2 × the threshold (the
/// fault phase goes far beyond). Cooldowns are 10 s (60 s for memory). The error rate counts
/// `decode` errors only: `deadline` errors depend on the machine (a debug build misses the
/// 2 ms deadline on several percent of its requests).
pub fn rules() -> Vec<AlertRule> {
    let demo = |metric: &str| Selector::new(metric).label("instance", INSTANCE);
    let rules = [
        AlertRule::builder(DECODE_ERRORS)
            .counter_ratio(
                demo("inference_errors_total").label("kind", ErrorKind::Decode.name()),
                "demo_requests_total",
            )
            .above(0.05)
            .resolve(0.02)
            .window(Window::Intervals(3))
            .for_duration(Duration::from_secs(1))
            .cooldown(Duration::from_secs(10))
            .build(),
        AlertRule::builder(SLOW_REQUESTS)
            .quantile("demo_request_latency", 0.95)
            .above(0.100) // seconds
            .resolve(0.050)
            .window(Window::Intervals(1))
            .for_duration(Duration::from_secs(1))
            .cooldown(Duration::from_secs(10))
            .build(),
        AlertRule::builder(HIGH_MEMORY)
            .gauge(demo("process_resident_memory"))
            .above(MEMORY_LIMIT) // bytes
            .resolve(0.75 * MEMORY_LIMIT)
            .escalate(false)
            .for_duration(Duration::from_secs(5))
            .cooldown(Duration::from_secs(60))
            .build(),
    ];
    rules
        .into_iter()
        .map(|r| r.expect("the demo's rules are valid"))
        .collect()
}

/// The Prometheus export of [`rules`]: group `tachymeter-demo`, the demo engine's 1 s
/// interval, and PromQL ranges of at least 3 s (three scrapes at the 1 s scrape interval the
/// rules assume; `rate` needs two). Units come from `snapshot`, so the names are the
/// exporters' (`demo_request_latency_seconds_bucket`, `process_resident_memory_bytes`).
pub fn prom_rules(snapshot: &Snapshot) -> PromRules {
    PromRules::new()
        .group("tachymeter-demo")
        .interval(Duration::from_secs(1))
        .engine_window(10)
        .min_range(Duration::from_secs(3))
        .units_from(snapshot)
}

/// The rules file: a comment saying how to scrape, then [`prom_rules`]' YAML.
pub fn rules_file(snapshot: &Snapshot) -> String {
    let header = "\
# The tachymeter demo's alert rules (`tachymeter demo --prometheus-rules FILE`).
# Scrape the demo every 1 s with `honor_labels: true`: its series carry instance=\"demo\",
# which Prometheus would otherwise rename to exported_instance.
";
    header.to_owned() + &prom_rules(snapshot).to_yaml(&rules())
}

/// A value of `alert` in its unit: `24.9%`, `50.3ms`, `47µs`, `40MiB`.
pub fn show(alert: &str, value: f64) -> String {
    match alert {
        DECODE_ERRORS => format!("{:.1}%", value * 100.0),
        SLOW_REQUESTS if value < 1e-3 => format!("{:.0}µs", value * 1e6),
        SLOW_REQUESTS => format!("{:.1}ms", value * 1e3),
        HIGH_MEMORY => format!("{:.0}MiB", value / MIB),
        _ => format!("{value:.3}"),
    }
}

/// One line per event, at most ~70 columns:
/// `alert firing DecodeErrors critical: 24.9% > 5.0% at 12.1s`.
pub fn event_line(e: &AlertEvent) -> String {
    let (kind, op, limit) = match e.event {
        EventKind::Firing => ("firing", ">", e.threshold),
        EventKind::Escalated => ("escalated", ">", e.threshold),
        EventKind::Resolved => ("resolved", "<=", e.resolve_threshold),
    };
    format!(
        "alert {kind} {} {}: {} {op} {} at {:.1}s",
        e.alert,
        e.severity,
        show(&e.alert, e.current_value),
        show(&e.alert, limit),
        e.uptime_seconds
    )
}

/// A segment of the demo's run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The normal workload (`--duration`).
    Normal,
    /// The error burst.
    Errors,
    /// Slow requests.
    Slow,
    /// No fault: the alerts resolve.
    Recovery,
}

impl Phase {
    /// The fault the workers inject.
    pub fn fault(self) -> Fault {
        match self {
            Phase::Errors => Fault::Errors,
            Phase::Slow => Fault::Slow,
            Phase::Normal | Phase::Recovery => Fault::None,
        }
    }

    /// What happens, for the live view.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Normal => "normal",
            Phase::Errors => "fault: error burst, 1 in 4 records corrupted",
            Phase::Slow => "fault: slow requests, 1 in 5 stalls 150 ms",
            Phase::Recovery => "recovery: no fault",
        }
    }
}

/// The run's timeline: `normal`, then (with a fault phase) errors, slow and recovery segments
/// of `segment` each.
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    /// The normal workload.
    pub normal: Duration,
    /// Each fault segment; `None`: no fault phase.
    pub segment: Option<Duration>,
}

impl FaultPlan {
    /// The whole run.
    pub fn total(&self) -> Duration {
        self.normal + self.segment.map_or(Duration::ZERO, |s| 3 * s)
    }

    /// The phase at `elapsed` since the start (the last phase past the end).
    pub fn phase_at(&self, elapsed: Duration) -> Phase {
        let Some(segment) = self.segment else {
            return Phase::Normal;
        };
        match elapsed.checked_sub(self.normal) {
            None => Phase::Normal,
            Some(t) if t < segment => Phase::Errors,
            Some(t) if t < 2 * segment => Phase::Slow,
            Some(_) => Phase::Recovery,
        }
    }

    /// Time left in the phase at `elapsed`.
    pub fn left_in_phase(&self, elapsed: Duration) -> Duration {
        let end = match (self.phase_at(elapsed), self.segment) {
            (Phase::Normal, _) | (_, None) => self.normal,
            (Phase::Errors, Some(s)) => self.normal + s,
            (Phase::Slow, Some(s)) => self.normal + 2 * s,
            (Phase::Recovery, Some(_)) => self.total(),
        };
        end.saturating_sub(elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Live, Metrics, Worker, FAULT_SLOW_ONE_IN, FAULT_STALL};
    use std::sync::Arc;
    use tachymeter::{Clock, Engine};
    use tachymeter_monitor::alerting::{AlertManager, Severity};
    use tachymeter_monitor::ResourceMonitor;

    #[test]
    fn the_plan_runs_normal_errors_slow_recovery() {
        let s = Duration::from_secs;
        let plan = FaultPlan {
            normal: s(10),
            segment: Some(s(5)),
        };
        assert_eq!(plan.total(), s(25));
        let phases: Vec<Phase> = [0, 9, 10, 14, 15, 19, 20, 24, 30]
            .map(|t| plan.phase_at(s(t)))
            .to_vec();
        use Phase::*;
        assert_eq!(
            phases,
            [Normal, Normal, Errors, Errors, Slow, Slow, Recovery, Recovery, Recovery]
        );
        assert_eq!(plan.left_in_phase(s(12)), s(3));
        assert_eq!(plan.left_in_phase(s(21)), s(4));
        let off = FaultPlan {
            normal: s(10),
            segment: None,
        };
        assert_eq!((off.total(), off.phase_at(s(11))), (s(10), Normal));
    }

    /// The demo's metrics, a resource monitor, and `rules()` on a mock-clocked engine.
    struct Rig {
        engine: Arc<Engine>,
        metrics: Metrics,
        mock: tachymeter::MockClock,
        alerts: AlertManager,
        _resources: ResourceMonitor,
    }

    fn rig() -> Rig {
        let (clock, mock) = Clock::mock();
        let engine = Arc::new(
            Engine::builder()
                .background(false)
                .clock(clock)
                .build()
                .unwrap(),
        );
        let metrics = Metrics::register(&engine).unwrap();
        let resources = ResourceMonitor::builder()
            .engine(engine.clone())
            .instance(INSTANCE)
            .build()
            .unwrap();
        resources.sample_now();
        let alerts = AlertManager::new();
        for r in rules() {
            alerts.add_rule(r).unwrap();
        }
        Rig {
            engine,
            metrics,
            mock,
            alerts,
            _resources: resources,
        }
    }

    impl Rig {
        /// `n` requests under `fault`, then one engine interval; the events of its snapshot.
        /// On the mock clock every request takes 0 s, so [`Fault::Slow`]'s stalls are recorded
        /// directly: one request in [`FAULT_SLOW_ONE_IN`] at [`FAULT_STALL`] (the worker's stalls are tested in
        /// `workload.rs`).
        fn interval(&self, worker: &mut Worker, fault: Fault, n: usize) -> Vec<AlertEvent> {
            let recorder = self.engine.local_recorder();
            let live = Live::new(&recorder, &self.metrics, self.engine.clock());
            let stalls = if fault == Fault::Slow {
                n / FAULT_SLOW_ONE_IN as usize
            } else {
                0
            };
            for _ in 0..stalls {
                self.metrics.request.record(FAULT_STALL.as_nanos() as u64);
            }
            worker.set_fault(if stalls > 0 { Fault::None } else { fault });
            for _ in stalls..n {
                worker.request(&live);
            }
            drop(recorder);
            self.mock.advance(Duration::from_secs(1));
            self.alerts.evaluate(&self.engine.flush())
        }
    }

    /// The rules against the workload on a mock clock: each fault fires its rule, at critical, within its
    /// segment; recovery resolves both; memory stays quiet; every rule found its series.
    #[test]
    fn faults_fire_and_resolve_the_rules() {
        let rig = rig();
        let mut worker = Worker::new(11);
        let mut log = Vec::new();
        let mut run = |fault: Fault, intervals: usize, n: usize, log: &mut Vec<AlertEvent>| {
            let mut events = Vec::new();
            for _ in 0..intervals {
                events.extend(rig.interval(&mut worker, fault, n));
            }
            log.extend(events.iter().cloned());
            events
        };
        assert_eq!(run(Fault::None, 4, 500, &mut log), []);
        let burst = run(Fault::Errors, 4, 500, &mut log);
        assert!(
            burst
                .iter()
                .any(|e| e.alert == DECODE_ERRORS && e.event == EventKind::Firing),
            "{burst:#?}"
        );
        let slow = run(Fault::Slow, 4, 200, &mut log);
        assert!(
            slow.iter()
                .any(|e| e.alert == SLOW_REQUESTS && e.event == EventKind::Firing),
            "{slow:#?}"
        );
        run(Fault::None, 4, 500, &mut log);
        let lines: Vec<String> = log.iter().map(event_line).collect();
        for alert in [DECODE_ERRORS, SLOW_REQUESTS] {
            let mine: Vec<_> = log.iter().filter(|e| e.alert == alert).collect();
            assert_eq!(mine.len(), 2, "{lines:#?}");
            assert_eq!(mine[0].event, EventKind::Firing);
            assert_eq!(mine[0].severity, Severity::Critical);
            assert_eq!(mine[1].event, EventKind::Resolved);
        }
        assert!(rig.alerts.active().is_empty());
        assert_eq!(rig.alerts.missing_series(), Vec::<String>::new());
        let status = rig.alerts.status();
        let memory = status.iter().find(|s| s.alert == HIGH_MEMORY).unwrap();
        assert!(memory.value.is_some_and(|v| 0.0 < v && v < MEMORY_LIMIT));
        assert!(lines.iter().all(|l| l.len() <= 80), "{lines:#?}");
    }

    /// `promtool check rules` accepts the rules file, and every series it names is in the
    /// demo's exposition. Skipped where promtool is absent (`.ci/install-prometheus.sh`).
    #[test]
    fn rules_file_passes_promtool_and_names_exposed_series() {
        let rig = rig();
        let mut worker = Worker::new(3);
        rig.interval(&mut worker, Fault::Errors, 500);
        let snapshot = rig.engine.flush();
        let yaml = rules_file(&snapshot);
        let text =
            tachymeter_export::encode_text(&snapshot, &tachymeter_export::ExportConfig::default());
        // Quotes are escaped in the YAML's double-quoted strings.
        for series in [
            r#"inference_errors_total{instance=\"demo\", kind=\"decode\"}"#,
            "demo_requests_total[3s]",
            "demo_request_latency_seconds_bucket[3s]",
            r#"process_resident_memory_bytes{instance=\"demo\"}"#,
        ] {
            assert!(yaml.contains(series), "{series} not in\n{yaml}");
            let family = series.split(['{', '[']).next().unwrap();
            assert!(
                text.lines().any(|l| l.starts_with(family)),
                "{family} not exposed"
            );
        }
        let path = std::env::temp_dir().join(format!("tm-demo-rules-{}.yml", std::process::id()));
        std::fs::write(&path, &yaml).unwrap();
        let out = std::process::Command::new("promtool")
            .args(["check", "rules"])
            .arg(&path)
            .output();
        std::fs::remove_file(&path).unwrap();
        let Ok(out) = out else {
            eprintln!("promtool not found: skipped");
            return;
        };
        let printed = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{printed}\n{yaml}");
        // Two escalating rules are two Prometheus rules each.
        assert!(printed.contains("SUCCESS: 5 rules found"), "{printed}");
    }
}
