//! The seeds' `PerformanceAlerting` (002, "Real-Time Performance Alerts"): thresholds on the
//! error rate, the p95 latency, a throughput minimum and the cache hit rate; handlers per
//! severity; a simulated degradation and recovery; the alert summary; the same rules as a
//! Prometheus rules file. A mock clock makes one loop step one second of engine time.
//!
//! Run with `cargo run -p tachymeter-monitor --example alerts`.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Clock, Engine, Opts};
use tachymeter_monitor::alerting::{AlertManager, AlertRule, PromRules, Severity, Window};

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .expect("engine"),
    );
    let latency = engine
        .histogram(Opts::new("inference_time").unit("seconds"))
        .expect("histogram");
    let requests = engine.counter("inference_requests_total").expect("counter");
    let errors = engine.counter("inference_errors_total").expect("counter");
    let hits = engine.counter("cache_hits_total").expect("counter");
    let lookups = engine.counter("cache_lookups_total").expect("counter");

    // The seeds' thresholds, over the last 5 one-second intervals, 2 s `for`, 5 min cooldown.
    let window = Window::Intervals(5);
    let rule = |name: &str| {
        AlertRule::builder(name)
            .window(window)
            .for_duration(Duration::from_secs(2))
    };
    let rules = [
        rule("HighErrorRate")
            .counter_ratio("inference_errors_total", "inference_requests_total")
            .above(0.05)
            .resolve(0.03)
            .build(),
        rule("HighLatencyP95")
            .quantile("inference_time", 0.95)
            .above(0.100)
            .resolve(0.080)
            .build(),
        rule("LowThroughput")
            .throughput("inference_time")
            .below(100.0)
            .severity(Severity::Info)
            .escalate(false)
            .build(),
        rule("LowCacheHitRate")
            .counter_ratio("cache_hits_total", "cache_lookups_total")
            .below(0.8)
            .build(),
    ];
    let alerts = AlertManager::new();
    for r in rules {
        alerts.add_rule(r.expect("rule")).expect("valid rule");
    }
    alerts.on(Severity::Critical, |a| {
        println!("CRITICAL: {}", a.message);
        println!("   Current value: {}", a.current_value);
        println!("   Threshold: {}", a.threshold);
    });
    alerts.on(Severity::Warning, |a| println!("WARNING: {}", a.message));
    alerts.on(Severity::Info, |a| println!("INFO: {}", a.message));

    // 10 s healthy, 10 s degraded (slow, failing, fewer requests, cold cache), 10 s recovered.
    for second in 0..30u64 {
        let degraded = (10..20).contains(&second);
        let (n, ms, fail_every, hit_every) = if degraded {
            (80, 105, 5, 2)
        } else {
            (200, 20, 100, 1)
        };
        for i in 0..n {
            latency.record_f64(ms as f64 / 1e3 + (i % 10) as f64 * 1e-3);
            requests.increment();
            if i % fail_every == 0 {
                errors.increment();
            }
            lookups.increment();
            if i % hit_every == 0 {
                hits.increment();
            }
        }
        mock.advance(Duration::from_secs(1));
        alerts.evaluate(&engine.flush());
    }

    let summary = alerts.summary();
    println!("\nAlert Summary:");
    println!("  Total alerts: {}", summary.total_alerts);
    println!("  Critical alerts: {}", summary.critical_alerts);
    println!("  Warning alerts: {}", summary.warning_alerts);
    println!("  Most frequent alert: {:?}", summary.most_frequent_alert);
    println!("  Active now: {:?}", summary.active_alerts);
    assert_eq!(summary.total_alerts, 4, "{summary:?}");
    assert!(summary.active_alerts.is_empty(), "{summary:?}");
    assert_eq!(summary.resolved_alerts, 4);

    let yaml = alerts.rules_yaml(&PromRules::new().units_from(&engine.snapshot()));
    println!("\nPrometheus rules ({} lines):", yaml.lines().count());
    for line in yaml.lines().take(12) {
        println!("{line}");
    }
}
