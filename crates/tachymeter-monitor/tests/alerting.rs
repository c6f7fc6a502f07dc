//! Alerting with a mock clock: `for`, cooldown, hysteresis, escalation, windows against
//! oracles, ratios, quantiles, handlers per severity, caught handler panics, the background
//! thread, the built-in handlers and the Prometheus export (`promtool check rules`).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tachymeter::{Clock, Engine, MockClock, Opts, Snapshot};
use tachymeter_monitor::alerting::{
    json_lines_handler, log_handler_to, rules_yaml, AlertEvent, AlertManager, AlertRule, EventKind,
    PromRules, RuleError, Selector, Severity, Statistic, Window,
};

const SEC: Duration = Duration::from_secs(1);

fn engine() -> (Arc<Engine>, MockClock) {
    let (clock, mock) = Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .window(4)
        .build()
        .unwrap();
    (Arc::new(e), mock)
}

/// Advances the clock by `d`, publishes a snapshot and evaluates it.
fn tick(
    e: &Engine,
    mock: &MockClock,
    m: &AlertManager,
    d: Duration,
) -> (Arc<Snapshot>, Vec<AlertEvent>) {
    mock.advance(d);
    let snap = e.flush();
    let events = m.evaluate(&snap);
    (snap, events)
}

fn kinds(events: &[AlertEvent]) -> Vec<(EventKind, Severity)> {
    events.iter().map(|e| (e.event, e.severity)).collect()
}

fn gauge_rule(name: &str) -> tachymeter_monitor::alerting::AlertRuleBuilder {
    AlertRule::builder(name).gauge("cpu_percent").above(80.0)
}

#[test]
fn fires_only_after_the_condition_held_for_for() {
    let (e, mock) = engine();
    let cpu = e.gauge("cpu_percent").unwrap();
    let m = AlertManager::new();
    m.add_rule(gauge_rule("HighCpu").for_duration(3 * SEC).build().unwrap())
        .unwrap();
    // Beyond at uptime 1 s; a dip at 2 s starts `for` over.
    cpu.set(90.0);
    assert!(tick(&e, &mock, &m, SEC).1.is_empty());
    cpu.set(50.0);
    assert!(tick(&e, &mock, &m, SEC).1.is_empty());
    cpu.set(90.0);
    // Pending from 3 s: 4, 5 s are within `for`; 6 s is 3 s after.
    for _ in 0..3 {
        assert!(tick(&e, &mock, &m, SEC).1.is_empty());
        assert!(m.active().is_empty());
    }
    let (snap, events) = tick(&e, &mock, &m, SEC);
    assert_eq!(kinds(&events), [(EventKind::Firing, Severity::Warning)]);
    assert_eq!(events[0].uptime_seconds, 6.0);
    assert_eq!(events[0].sequence, snap.sequence());
    assert_eq!(events[0].current_value, 90.0);
    assert_eq!(m.active().len(), 1);
    // Still beyond: no second event.
    assert!(tick(&e, &mock, &m, SEC).1.is_empty());
    assert_eq!(m.summary().total_alerts, 1);
}

#[test]
fn no_refire_within_the_cooldown() {
    let (e, mock) = engine();
    let cpu = e.gauge("cpu_percent").unwrap();
    let m = AlertManager::new();
    m.add_rule(gauge_rule("HighCpu").cooldown(10 * SEC).build().unwrap())
        .unwrap();
    cpu.set(90.0);
    let (_, ev) = tick(&e, &mock, &m, SEC); // 1 s: fires
    assert_eq!(kinds(&ev), [(EventKind::Firing, Severity::Warning)]);
    cpu.set(10.0);
    let (_, ev) = tick(&e, &mock, &m, SEC); // 2 s: resolves
    assert_eq!(kinds(&ev), [(EventKind::Resolved, Severity::Warning)]);
    cpu.set(90.0);
    for t in 3..11 {
        let (_, ev) = tick(&e, &mock, &m, SEC);
        assert!(ev.is_empty(), "re-fired at {t} s within the cooldown");
    }
    assert_eq!(m.summary().suppressed, 1);
    let (_, ev) = tick(&e, &mock, &m, SEC); // 11 s: 10 s after the firing
    assert_eq!(kinds(&ev), [(EventKind::Firing, Severity::Warning)]);
    assert_eq!(ev[0].uptime_seconds, 11.0);
    let s = m.summary();
    assert_eq!((s.total_alerts, s.resolved_alerts, s.suppressed), (2, 1, 1));
    assert_eq!(s.most_frequent_alert.as_deref(), Some("HighCpu"));
}

#[test]
fn resolves_only_past_the_resolve_threshold() {
    let (e, mock) = engine();
    let cpu = e.gauge("cpu_percent").unwrap();
    let hit = e.gauge("hit_ratio").unwrap();
    let m = AlertManager::new();
    m.add_rule(
        gauge_rule("HighCpu")
            .resolve(70.0)
            .escalate(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    m.add_rule(
        AlertRule::builder("LowHitRate")
            .gauge("hit_ratio")
            .below(0.8)
            .resolve(0.9)
            .escalate(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut steps = Vec::new();
    for (c, h) in [
        (90.0, 0.5),
        (79.0, 0.85),
        (70.1, 0.89),
        (70.0, 0.9),
        (75.0, 0.85),
    ] {
        cpu.set(c);
        hit.set(h);
        let (_, ev) = tick(&e, &mock, &m, SEC);
        steps.push(
            ev.iter()
                .map(|e| (e.alert.clone(), e.event))
                .collect::<Vec<_>>(),
        );
    }
    let fire = |n: &str| (n.to_string(), EventKind::Firing);
    let resolve = |n: &str| (n.to_string(), EventKind::Resolved);
    assert_eq!(
        steps,
        [
            vec![fire("HighCpu"), fire("LowHitRate")],
            vec![], // between the thresholds: still active
            vec![],
            vec![resolve("HighCpu"), resolve("LowHitRate")], // at the resolve thresholds
            vec![], // between again, not active: does not fire (below the fire threshold)
        ]
    );
    assert!(m.active().is_empty());
}

#[test]
fn escalates_beyond_twenty_percent() {
    let (e, mock) = engine();
    let lat = e.gauge("latency_ms").unwrap();
    let tput = e.gauge("rps").unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("Slow")
            .gauge("latency_ms")
            .above(100.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    m.add_rule(
        AlertRule::builder("LowRps")
            .gauge("rps")
            .below(100.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut seen = Vec::new();
    for (l, r) in [
        (115.0, 85.0),
        (120.0, 80.0),
        (121.0, 79.0),
        (130.0, 70.0),
        (50.0, 150.0),
    ] {
        lat.set(l);
        tput.set(r);
        let (_, ev) = tick(&e, &mock, &m, SEC);
        seen.push(
            ev.iter()
                .map(|e| (e.alert.as_str().to_owned(), e.event, e.severity))
                .collect::<Vec<_>>(),
        );
    }
    let ev = |a: &str, k, s| (a.to_string(), k, s);
    use EventKind::*;
    use Severity::*;
    assert_eq!(
        seen,
        [
            vec![ev("Slow", Firing, Warning), ev("LowRps", Firing, Warning)],
            vec![], // exactly 20% beyond: not more than 20%
            vec![
                ev("Slow", Escalated, Critical),
                ev("LowRps", Escalated, Critical)
            ],
            vec![],
            vec![
                ev("Slow", Resolved, Critical),
                ev("LowRps", Resolved, Critical)
            ],
        ]
    );
    // Far beyond at firing: critical at once.
    let (e2, mock2) = engine();
    e2.gauge("latency_ms").unwrap().set(130.0);
    let m2 = AlertManager::new();
    m2.add_rule(
        AlertRule::builder("Slow")
            .gauge("latency_ms")
            .above(100.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let (_, ev2) = tick(&e2, &mock2, &m2, SEC);
    assert_eq!(kinds(&ev2), [(Firing, Critical)]);
    let s = m.summary();
    assert_eq!(
        (s.warning_alerts, s.critical_alerts, s.escalations),
        (2, 2, 2)
    );
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn counter_windows_match_an_oracle() {
    let (e, mock) = engine();
    let c = e.counter("jobs_total").unwrap();
    let m = AlertManager::new();
    let windows = [
        ("ByIntervals", Window::Intervals(3)),
        ("ByDuration", Window::Duration(Duration::from_secs(6))),
        ("ByEngine", Window::Engine),
    ];
    for (name, w) in windows {
        // Never fires (a huge threshold): only the values matter.
        m.add_rule(
            AlertRule::builder(name)
                .counter_rate("jobs_total")
                .above(1e18)
                .window(w)
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut steps: Vec<(u64, u64)> = Vec::new(); // (increment, interval seconds)
    for _ in 0..40 {
        let inc = rng.next(1000);
        let secs = 1 + rng.next(3); // intervals of 1..=3 s
        c.add(inc);
        steps.push((inc, secs));
        mock.advance(Duration::from_secs(secs));
        let snap = e.flush();
        m.evaluate(&snap);
        let values = values(&m);
        // Intervals(3): the last 3 intervals (all of them before 3 were published).
        let last: Vec<_> = steps.iter().rev().take(3).collect();
        let oracle = last.iter().map(|s| s.0).sum::<u64>() as f64
            / last.iter().map(|s| s.1).sum::<u64>() as f64;
        assert_eq!(values[0], Some(oracle), "intervals at step {}", steps.len());
        // Duration(6 s): from the newest snapshot at least 6 s old (or the start).
        let mut acc_t = 0;
        let mut acc_n = 0;
        for s in steps.iter().rev() {
            acc_t += s.1;
            acc_n += s.0;
            if acc_t >= 6 {
                break;
            }
        }
        assert_eq!(
            values[1],
            Some(acc_n as f64 / acc_t as f64),
            "duration at step {}",
            steps.len()
        );
        // The engine window: the snapshot's own window rate.
        assert_eq!(
            values[2],
            Some(snap.counter("jobs_total").unwrap().window_rate)
        );
    }
}

/// Every rule's value at the latest evaluation.
fn values(m: &AlertManager) -> Vec<Option<f64>> {
    m.status().into_iter().map(|s| s.value).collect()
}

#[test]
fn counter_ratio_is_the_ratio_of_increases_in_the_window() {
    let (e, mock) = engine();
    let errors = e.counter_family("api_errors_total", &["endpoint"]).unwrap();
    let requests = e
        .counter_family("api_requests_total", &["endpoint"])
        .unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("ErrorRate")
            .counter_ratio(
                Selector::new("api_errors_total").label("endpoint", "/a"),
                Selector::new("api_requests_total").label("endpoint", "/a"),
            )
            .above(0.05)
            .window(Window::Intervals(2))
            .build()
            .unwrap(),
    )
    .unwrap();
    m.add_rule(
        AlertRule::builder("ErrorRateAll")
            .counter_ratio("api_errors_total", "api_requests_total")
            .above(0.05)
            .window(Window::Intervals(2))
            .escalate(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut rng = Rng(7);
    let mut hist: Vec<[u64; 4]> = Vec::new(); // errors /a, requests /a, errors /b, requests /b
    for step in 0..30 {
        let mut row = [0; 4];
        for (i, ep) in ["/a", "/b"].into_iter().enumerate() {
            let req = 1 + rng.next(200);
            let err = rng.next(req / 5 + 1);
            requests.with(&[ep]).add(req);
            errors.with(&[ep]).add(err);
            row[2 * i] = err;
            row[2 * i + 1] = req;
        }
        hist.push(row);
        let (_, events) = tick(&e, &mock, &m, SEC);
        let last: Vec<_> = hist.iter().rev().take(2).collect();
        let sum = |i: usize| last.iter().map(|r| r[i]).sum::<u64>() as f64;
        let oracle_a = sum(0) / sum(1);
        let oracle_all = (sum(0) + sum(2)) / (sum(1) + sum(3));
        assert_eq!(
            values(&m),
            [Some(oracle_a), Some(oracle_all)],
            "step {step}"
        );
        for ev in events {
            if ev.event == EventKind::Firing {
                assert!(ev.current_value > 0.05);
            }
        }
    }
    // A ratio whose denominator did not move has no value and keeps the alert as it was.
    mock.advance(SEC);
    mock.advance(SEC);
    m.evaluate(&e.flush());
    m.evaluate(&e.flush());
    assert_eq!(values(&m), [None, None]);
    assert_eq!(m.summary().missing_series, Vec::<String>::new());
}

#[test]
fn histogram_quantile_mean_and_throughput_over_intervals() {
    let (e, mock) = engine();
    let h = e
        .histogram(Opts::new("request_latency").unit("milliseconds"))
        .unwrap();
    let m = AlertManager::new();
    for (name, stat) in [
        (
            "P95",
            Statistic::HistogramQuantile {
                series: "request_latency".into(),
                q: 0.95,
            },
        ),
        ("Mean", Statistic::HistogramMean("request_latency".into())),
        ("Tput", Statistic::Throughput("request_latency".into())),
    ] {
        m.add_rule(
            AlertRule::builder(name)
                .statistic(stat)
                .above(1e18)
                .window(Window::Intervals(3))
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let mut rng = Rng(99);
    let mut per_interval: Vec<Vec<u64>> = Vec::new(); // nanoseconds
    for step in 0..25 {
        let n = rng.next(50) as usize; // some intervals are empty
        let vals: Vec<u64> = (0..n).map(|_| 1_000_000 + rng.next(100_000_000)).collect();
        for &v in &vals {
            h.record(v);
        }
        per_interval.push(vals);
        tick(&e, &mock, &m, 2 * SEC);
        let mut window: Vec<u64> = per_interval
            .iter()
            .rev()
            .take(3)
            .flatten()
            .copied()
            .collect();
        window.sort_unstable();
        let secs = 2.0 * per_interval.len().min(3) as f64;
        let got = values(&m);
        if window.is_empty() {
            assert_eq!(got, [None, None, Some(0.0)], "step {step}");
            continue;
        }
        // Exact nearest-rank p95, in milliseconds; the histogram is within its error bound.
        let rank = ((0.95 * window.len() as f64).ceil() as usize).max(1);
        let p95 = window[rank - 1] as f64 / 1e6;
        let q = got[0].unwrap();
        assert!(
            (q - p95).abs() <= p95 * 0.0055,
            "step {step}: p95 {q} vs {p95}"
        );
        let mean =
            window.iter().map(|&v| v as u128).sum::<u128>() as f64 / window.len() as f64 / 1e6;
        assert!(
            (got[1].unwrap() - mean).abs() <= mean * 1e-12,
            "step {step}"
        );
        assert_eq!(got[2], Some(window.len() as f64 / secs), "step {step}");
    }
}

#[test]
fn a_quantile_rule_fires_and_resolves_on_the_window() {
    let (e, mock) = engine();
    let h = e
        .histogram(Opts::new("api_latency").unit("seconds"))
        .unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("SlowP95")
            .quantile("api_latency", 0.95)
            .above(0.100)
            .resolve(0.050)
            .window(Window::Intervals(2))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut log = Vec::new();
    for ms in [10, 110, 10, 60, 10, 10] {
        for _ in 0..100 {
            h.record_f64(ms as f64 / 1e3);
        }
        let (_, ev) = tick(&e, &mock, &m, SEC);
        log.push(ev.iter().map(|e| e.event).collect::<Vec<_>>());
    }
    // 110 ms enters the 2-interval window at step 1 and leaves it after step 2; the alert
    // resolves only when the window's p95 is back to 50 ms or less.
    assert_eq!(
        log,
        [
            vec![],
            vec![EventKind::Firing],
            vec![],                    // p95 still 110 (window: 110, 10)
            vec![],                    // p95 60: between the thresholds
            vec![],                    // window 60, 10: p95 60
            vec![EventKind::Resolved]  // window 10, 10
        ]
    );
}

#[test]
fn handlers_run_per_severity_and_a_panicking_one_is_caught() {
    let (e, mock) = engine();
    let g = e.gauge("queue_depth").unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("Deep")
            .gauge("queue_depth")
            .above(100.0)
            .severity(Severity::Info)
            .escalate(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    m.add_rule(
        AlertRule::builder("VeryDeep")
            .gauge("queue_depth")
            .above(1000.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    for sev in [Severity::Info, Severity::Warning, Severity::Critical] {
        let seen = seen.clone();
        m.on(sev, move |e| {
            seen.lock()
                .unwrap()
                .push(format!("{sev}:{}:{:?}", e.alert, e.event))
        });
    }
    m.on_any(|_| panic!("a broken handler"));
    let any = Arc::new(AtomicU64::new(0));
    let any2 = any.clone();
    m.on_any(move |_| {
        any2.fetch_add(1, Ordering::Relaxed);
    });
    for v in [150.0, 1500.0, 10.0] {
        g.set(v);
        tick(&e, &mock, &m, SEC);
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "info:Deep:Firing",
            "critical:VeryDeep:Firing",
            "info:Deep:Resolved",
            "critical:VeryDeep:Resolved",
        ]
    );
    assert_eq!(
        any.load(Ordering::Relaxed),
        4,
        "the handler after the panicking one ran"
    );
    assert_eq!(m.handler_panics(), 4);
    assert_eq!(m.summary().handler_panics, 4);
    assert_eq!(m.history().len(), 4);
}

#[test]
fn missing_series_are_counted_and_never_fire() {
    let (e, mock) = engine();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("Ghost")
            .gauge("no_such_gauge")
            .above(0.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    // A series of the wrong kind is missing too.
    let _wrong = e.gauge("wrong_kind").unwrap();
    m.add_rule(
        AlertRule::builder("WrongKind")
            .counter_rate("wrong_kind")
            .above(0.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let (_, ev) = tick(&e, &mock, &m, SEC);
    assert!(ev.is_empty());
    assert_eq!(m.missing_series(), ["Ghost", "WrongKind"]);
    assert_eq!(m.summary().missing_series, ["Ghost", "WrongKind"]);
    e.gauge("no_such_gauge").unwrap().set(1.0);
    let (_, ev) = tick(&e, &mock, &m, SEC);
    assert_eq!(ev.len(), 1);
    assert_eq!(m.missing_series(), ["WrongKind"]);
}

#[test]
fn a_snapshot_is_evaluated_once_and_history_is_bounded() {
    let (e, mock) = engine();
    let g = e.gauge("x").unwrap();
    let m = AlertManager::with_history(3);
    m.add_rule(
        AlertRule::builder("X")
            .gauge("x")
            .above(1.0)
            .cooldown(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    for i in 0..10 {
        g.set(if i % 2 == 0 { 5.0 } else { 0.0 });
        let (snap, ev) = tick(&e, &mock, &m, SEC);
        assert_eq!(ev.len(), 1);
        assert!(m.evaluate(&snap).is_empty(), "evaluated twice");
    }
    let h = m.history();
    assert_eq!(h.len(), 3);
    assert_eq!(h.iter().map(|e| e.sequence).collect::<Vec<_>>(), [8, 9, 10]);
    assert_eq!(m.summary().total_alerts, 5);
    assert_eq!(m.summary().evaluations, 10);
}

#[test]
fn the_background_thread_evaluates_new_snapshots_and_stops_on_drop() {
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(2))
            .build()
            .unwrap(),
    );
    let g = engine.gauge("temperature").unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("Hot")
            .gauge("temperature")
            .above(50.0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let thread = m.start(engine.clone()).unwrap();
    assert!(thread.is_running());
    g.set(60.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while m.active().is_empty() {
        assert!(Instant::now() < deadline, "no alert within 20 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    let evaluated = m.summary().evaluations;
    assert!(evaluated >= 1);
    drop(thread); // joins
    let after = m.summary().evaluations;
    // The engine goes on publishing; nothing evaluates them any more.
    let seq = engine.snapshot().sequence();
    let deadline = Instant::now() + Duration::from_secs(20);
    while engine.snapshot().sequence() < seq + 5 {
        assert!(Instant::now() < deadline, "the engine stopped publishing");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(m.summary().evaluations, after);
}

/// A writer into a shared buffer.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn built_in_handlers_write_a_line_and_a_json_object_per_event() {
    let (e, mock) = engine();
    let g = e.gauge("mem_percent").unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("HighMemory")
            .gauge("mem_percent")
            .above(85.0)
            .label("team", "infra")
            .annotation("summary", "memory above 85%")
            .build()
            .unwrap(),
    )
    .unwrap();
    let buf = Buf::default();
    m.on_any(log_handler_to(buf.clone()));
    let path = std::env::temp_dir().join(format!("tachymeter-alerts-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    m.on_any(json_lines_handler(&path).unwrap());
    for v in [90.0, 110.0, 20.0] {
        g.set(v);
        tick(&e, &mock, &m, SEC);
    }
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("[alert] WARNING firing HighMemory: mem_percent = 90"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("[alert] CRITICAL escalated HighMemory"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("[alert] CRITICAL resolved HighMemory"),
        "{text}"
    );
    let json = std::fs::read_to_string(&path).unwrap();
    let objects: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0]["alert"], "HighMemory");
    assert_eq!(objects[0]["event"], "firing");
    assert_eq!(objects[0]["severity"], "warning");
    assert_eq!(objects[0]["current_value"], 90.0);
    assert_eq!(objects[0]["threshold"], 85.0);
    assert_eq!(objects[0]["labels"]["team"], "infra");
    assert_eq!(objects[1]["severity"], "critical");
    assert_eq!(objects[2]["event"], "resolved");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn rules_are_checked_and_round_trip_through_serde() {
    let bad = |b: tachymeter_monitor::alerting::AlertRuleBuilder| b.build().unwrap_err();
    assert_eq!(
        bad(AlertRule::builder("X").above(1.0)),
        RuleError::NoStatistic
    );
    assert!(matches!(
        bad(AlertRule::builder("bad name").gauge("g")),
        RuleError::InvalidName(_)
    ));
    assert!(matches!(
        bad(AlertRule::builder("X").gauge("g").above(1.0).resolve(2.0)),
        RuleError::InvalidResolve { .. }
    ));
    assert!(matches!(
        bad(AlertRule::builder("X").gauge("g").below(1.0).resolve(0.5)),
        RuleError::InvalidResolve { .. }
    ));
    assert!(matches!(
        bad(AlertRule::builder("X").quantile("h", 95.0)),
        RuleError::InvalidQuantile(_)
    ));
    assert!(matches!(
        bad(AlertRule::builder("X")
            .gauge("g")
            .window(Window::Intervals(0))),
        RuleError::EmptyWindow
    ));
    assert!(matches!(
        bad(AlertRule::builder("X").gauge("g").above(f64::NAN)),
        RuleError::InvalidThreshold(_)
    ));
    assert!(matches!(
        bad(AlertRule::builder("X").gauge("g").label("severity", "x")),
        RuleError::InvalidLabel(_)
    ));
    assert!(matches!(
        bad(AlertRule::builder("X").gauge("g-h")),
        RuleError::InvalidSelector(_)
    ));
    for rule in every_statistic() {
        let json = serde_json::to_string(&rule).unwrap();
        let back: AlertRule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rule, "{json}");
    }
    // Defaults apply to what a configuration file leaves out.
    let minimal: AlertRule = serde_json::from_str(
        r#"{"name":"X","statistic":{"gauge_value":{"metric":"g"}},"comparison":"above","threshold":1.0}"#,
    )
    .unwrap();
    assert_eq!(minimal.cooldown, Duration::from_secs(300));
    assert!(minimal.escalate);
    assert_eq!(minimal.severity, Severity::Warning);
    assert_eq!(minimal.window, Window::Engine);
}

/// One rule of each statistic, with labels, hysteresis, windows and units of every kind.
fn every_statistic() -> Vec<AlertRule> {
    vec![
        AlertRule::builder("HighCpu")
            .gauge("process_cpu_percent")
            .above(80.0)
            .resolve(70.0)
            .for_duration(Duration::from_secs(60))
            .build()
            .unwrap(),
        AlertRule::builder("HighMemory")
            .gauge(Selector::new("process_memory").label("kind", "rss"))
            .above(2e9)
            .severity(Severity::Critical)
            .build()
            .unwrap(),
        AlertRule::builder("RequestFlood")
            .counter_rate("api_requests_total")
            .above(10_000.0)
            .window(Window::Duration(Duration::from_secs(300)))
            .severity(Severity::Info)
            .build()
            .unwrap(),
        AlertRule::builder("HighErrorRate")
            .counter_ratio(
                Selector::new("api_errors_total").label("endpoint", "/v1/\"quote\""),
                Selector::new("api_requests_total").label("endpoint", "/v1/\"quote\""),
            )
            .above(0.05)
            .resolve(0.03)
            .window(Window::Duration(Duration::from_secs(300)))
            .for_duration(Duration::from_secs(120))
            .label("team", "api")
            .annotation("runbook_url", "https://example.invalid/runbooks/errors")
            .build()
            .unwrap(),
        AlertRule::builder("LowCacheHitRate")
            .counter_ratio("cache_hits_total", "cache_requests_total")
            .below(0.8)
            .resolve(0.85)
            .window(Window::Intervals(300))
            .build()
            .unwrap(),
        AlertRule::builder("SlowP95")
            .quantile("api_request_duration", 0.95)
            .above(100.0) // milliseconds: 0.1 s exported
            .window(Window::Duration(Duration::from_secs(300)))
            .build()
            .unwrap(),
        AlertRule::builder("SlowMean")
            .mean(Selector::new("inference_time").label("model", "a"))
            .above(0.05)
            .build()
            .unwrap(),
        AlertRule::builder("LowThroughput")
            .throughput("inference_time")
            .below(100.0)
            .escalate(false)
            .build()
            .unwrap(),
        AlertRule::builder("InferenceErrorShare")
            .ratio(
                [tachymeter_monitor::alerting::Count::Counter(Selector::new(
                    "api_errors_total",
                ))],
                [tachymeter_monitor::alerting::Count::Observations(
                    Selector::new("inference_time").label("model", "a"),
                )],
            )
            .above(0.05)
            .escalate(false)
            .build()
            .unwrap(),
    ]
}

fn export_options() -> PromRules {
    PromRules::new()
        .unit("process_memory", "bytes")
        .unit("process_cpu_percent", "percent")
        .unit("api_request_duration", "milliseconds")
        .unit("inference_time", "seconds")
}

#[test]
fn the_export_uses_the_exporters_names_and_base_units() {
    let yaml = export_options().to_yaml(&every_statistic());
    let expect = [
        "expr: \"(sum(process_cpu_percent) > 80.0) or (sum(process_cpu_percent) > 70.0 and on() ALERTS{alertname=\\\"HighCpu\\\", alertstate=\\\"firing\\\", severity=\\\"warning\\\"})\"",
        "for: 1m",
        "expr: \"sum(process_memory_bytes{kind=\\\"rss\\\"}) > 2000000000.0\"",
        "expr: \"sum(rate(api_requests_total[5m])) > 10000.0\"",
        "sum(rate(api_errors_total{endpoint=\\\"/v1/\\\\\\\"quote\\\\\\\"\\\"}[5m])) / sum(rate(api_requests_total{endpoint=",
        "expr: \"histogram_quantile(0.95, sum by (le) (rate(api_request_duration_seconds_bucket[5m]))) > 0.1\"",
        "sum(rate(inference_time_seconds_sum{model=\\\"a\\\"}[1m])) / sum(rate(inference_time_seconds_count{model=\\\"a\\\"}[1m])) > 0.05",
        "expr: \"sum(rate(inference_time_seconds_count[1m])) < 100.0\"",
        "severity: \"critical\"",
        "team: \"api\"",
    ];
    for e in expect {
        assert!(yaml.contains(e), "missing {e}\n{yaml}");
    }
    // Escalating rules get a critical twin at 1.2x (0.8x below); LowThroughput does not.
    assert!(yaml.contains("> 96.0) or"), "{yaml}");
    assert_eq!(yaml.matches("alert: \"LowThroughput\"").count(), 1);
    assert_eq!(yaml.matches("alert: \"SlowP95\"").count(), 2);
    assert_eq!(
        yaml.matches("alert: \"HighMemory\"").count(),
        1,
        "already critical"
    );
    // `rules_yaml` is the default options.
    assert_eq!(
        rules_yaml(&[]),
        "groups:\n  - name: \"tachymeter\"\n    rules: []\n"
    );
}

/// `promtool check rules` accepts the exported file (skipped where promtool is absent).
#[test]
fn the_exported_rules_pass_promtool() {
    let yaml = export_options().to_yaml(&every_statistic());
    let path = std::env::temp_dir().join(format!("tachymeter-rules-{}.yml", std::process::id()));
    std::fs::write(&path, &yaml).unwrap();
    let out = match std::process::Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            eprintln!("promtool not found: skipped");
            let _ = std::fs::remove_file(&path);
            return;
        }
    };
    let _ = std::fs::remove_file(&path);
    let printed =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{printed}\n{yaml}");
    let rules = every_statistic().len() + 6; // six escalation twins
    assert!(
        printed.contains(&format!("SUCCESS: {rules} rules found")),
        "{printed}\n{yaml}"
    );
}

/// The exported hysteresis behaves in Prometheus as it does in-process (`promtool test
/// rules`: fires above 80, stays firing at 75, resolves at 60, does not fire again at 75).
/// Skipped where promtool is absent.
#[test]
fn the_exported_hysteresis_holds_in_promtool_unit_tests() {
    let rule = gauge_rule("HighCpu")
        .annotation("summary", "s")
        .annotation("description", "d")
        .resolve(70.0)
        .escalate(false)
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("tachymeter-hysteresis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rules.yml"), rules_yaml(&[rule])).unwrap();
    let test = r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'cpu_percent'
        values: '50 90 75 75 60 75'
    alert_rule_test:
      - {eval_time: 0m, alertname: HighCpu, exp_alerts: []}
      - {eval_time: 1m, alertname: HighCpu, exp_alerts: [{exp_labels: {severity: warning}, exp_annotations: {summary: s, description: d}}]}
      - {eval_time: 3m, alertname: HighCpu, exp_alerts: [{exp_labels: {severity: warning}, exp_annotations: {summary: s, description: d}}]}
      - {eval_time: 4m, alertname: HighCpu, exp_alerts: []}
      - {eval_time: 5m, alertname: HighCpu, exp_alerts: []}
"#;
    std::fs::write(dir.join("test.yml"), test).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["test", "rules", "test.yml"])
        .current_dir(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(out) = out else {
        eprintln!("promtool not found: skipped");
        return;
    };
    let printed =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{printed}");
}

#[test]
fn ratio_terms_mix_counters_and_histogram_counts_over_windows() {
    use tachymeter_monitor::alerting::Count;
    let (e, mock) = engine();
    let errors = e.counter("errs_total").unwrap();
    let lat = e.histogram(Opts::new("lat").unit("seconds")).unwrap();
    let hits = e.counter("hits_total").unwrap();
    let misses = e.counter("misses_total").unwrap();
    let m = AlertManager::new();
    m.add_rule(
        AlertRule::builder("ErrorShare")
            .ratio(
                [Count::Counter(Selector::new("errs_total"))],
                [Count::Observations(Selector::new("lat"))],
            )
            .above(0.05)
            .window(Window::Intervals(2))
            .build()
            .unwrap(),
    )
    .unwrap();
    m.add_rule(
        AlertRule::builder("HitRate")
            .ratio(
                [Count::Counter(Selector::new("hits_total"))],
                [
                    Count::Counter(Selector::new("hits_total")),
                    Count::Counter(Selector::new("misses_total")),
                ],
            )
            .below(0.8)
            .window(Window::Intervals(2))
            .build()
            .unwrap(),
    )
    .unwrap();
    // Interval 1: 100 requests, 2 errors; 90 hits, 10 misses. Interval 2: 100, 10; 50, 50.
    for (reqs, errs, h, mi) in [(100, 2, 90, 10), (100, 10, 50, 50)] {
        for _ in 0..reqs {
            lat.record_f64(0.001);
        }
        errors.add(errs);
        hits.add(h);
        misses.add(mi);
        tick(&e, &mock, &m, SEC);
    }
    let value = |name: &str| {
        m.status()
            .into_iter()
            .find(|s| s.alert == name)
            .and_then(|s| s.value)
    };
    // Oracle over the two intervals: 12 / 200 and 140 / 200.
    assert_eq!(value("ErrorShare"), Some(12.0 / 200.0));
    assert_eq!(value("HitRate"), Some(140.0 / 200.0));
    let firing: Vec<String> = m.active().into_iter().map(|a| a.alert).collect();
    assert_eq!(firing.len(), 2, "{firing:?}");
    // Interval 3 alone drops out the first: 0 errors in 100; 100 hits, 0 misses.
    for _ in 0..100 {
        lat.record_f64(0.001);
    }
    hits.add(100);
    tick(&e, &mock, &m, SEC);
    assert_eq!(value("ErrorShare"), Some(10.0 / 200.0));
    assert_eq!(value("HitRate"), Some(150.0 / 200.0));
}

#[test]
fn the_inference_monitors_seed_thresholds_fire_as_rules() {
    use tachymeter_monitor::{InferenceMetrics, InferenceThresholds};
    let (e, mock) = engine();
    let inference = InferenceMetrics::builder()
        .engine(e.clone())
        .instance("model")
        .build()
        .unwrap();
    let m = AlertManager::new();
    for rule in inference
        .alert_rules(&InferenceThresholds::default())
        .unwrap()
    {
        m.add_rule(rule).unwrap();
    }
    // 50 inferences per second at 200 ms, 5 of them failed (10%), 2 hits in 10 lookups.
    for _ in 0..4 {
        for i in 0..50 {
            inference.update_inference(0.2, 1, 0.0, 0.0);
            if i % 10 == 0 {
                inference.record_error();
            }
        }
        for i in 0..10 {
            if i < 2 {
                inference.record_cache_hit();
            } else {
                inference.record_cache_miss();
            }
        }
        tick(&e, &mock, &m, SEC);
    }
    let mut firing: Vec<String> = m.active().into_iter().map(|a| a.alert).collect();
    firing.sort();
    assert_eq!(
        firing,
        [
            "InferenceHighErrorRate",
            "InferenceHighLatency",
            "InferenceLowCacheHitRate",
            "InferenceLowThroughput"
        ]
    );
    // The rules carry the instance and export to PromQL with the monitor's exposed names.
    let yaml = m.rules_yaml(&PromRules::new().units_from(&e.snapshot()));
    assert!(
        yaml.contains(r#"inference_errors_total{instance=\"model\"}"#),
        "{yaml}"
    );
    assert!(
        yaml.contains(r#"inference_time_seconds_count{instance=\"model\"}"#),
        "{yaml}"
    );
}

#[test]
fn endpoint_and_resource_thresholds_are_rules_too() {
    use tachymeter_monitor::EndpointTracker;
    let (e, mock) = engine();
    let api = EndpointTracker::builder()
        .engine(e.clone())
        .instance("web")
        .build()
        .unwrap();
    let m = AlertManager::new();
    for rule in api.alert_rules(0.05, 0.1).unwrap() {
        m.add_rule(rule).unwrap();
    }
    // 20 requests, 2 server errors (10%), all fast.
    for i in 0..20 {
        api.track("/a", "GET").status(if i < 2 { 503 } else { 200 });
    }
    tick(&e, &mock, &m, SEC);
    let firing: Vec<String> = m.active().into_iter().map(|a| a.alert).collect();
    assert_eq!(firing, ["ApiHighErrorRate"]);
    let status = m.status();
    let err = status
        .iter()
        .find(|s| s.alert == "ApiHighErrorRate")
        .unwrap();
    assert_eq!(err.value, Some(0.1));
}

#[cfg(feature = "resources")]
#[test]
fn resource_rules_name_the_monitors_gauges() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let res = tachymeter_monitor::ResourceMonitor::builder()
        .engine(engine.clone())
        .instance("host")
        .cpu_threshold(50.0)
        .build()
        .unwrap();
    let rules = res.alert_rules().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["HighCpuUsage", "HighMemoryUsage", "HighDiskUsage"]);
    assert_eq!(rules[0].threshold, 0.5);
    assert_eq!(rules[1].threshold, 0.85);
    // A reading lands in the gauges the rules select: the rule sees a value.
    res.sample_now();
    let snap = engine.flush();
    let m = AlertManager::new();
    for r in rules {
        m.add_rule(r).unwrap();
    }
    m.evaluate(&snap);
    let mem = m
        .status()
        .into_iter()
        .find(|s| s.alert == "HighMemoryUsage")
        .unwrap();
    let v = mem.value.expect("memory usage read");
    assert!((0.0..=1.0).contains(&v), "{v}");
}
