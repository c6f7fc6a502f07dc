//! The seed's database, response-time and business monitors (003): a service records its
//! queries, its response times against targets and its users' actions and conversions; the
//! reports list optimisation opportunities, recommendations and baselines.
//!
//! Run with `cargo run -p tachymeter-monitor --example database`.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::Engine;
use tachymeter_monitor::{BusinessMonitor, QueryMonitor, ResponseTimeMonitor};

/// Runs the example (also called by `tests/examples.rs`).
pub fn main() {
    let engine = Arc::new(Engine::builder().background(false).build().expect("engine"));
    let db = QueryMonitor::builder()
        .engine(engine.clone())
        .build()
        .expect("db");
    let rt = ResponseTimeMonitor::builder()
        .engine(engine.clone())
        .target("checkout", 0.3)
        .build()
        .expect("rt");
    let business = BusinessMonitor::builder()
        .engine(engine.clone())
        .baseline_samples(20)
        .build()
        .expect("business");
    std::thread::scope(|s| {
        for worker in 0..2u64 {
            let (db, rt, business) = (&db, &rt, &business);
            s.spawn(move || {
                for i in 0..100u64 {
                    // Every 7th order lookup misses its index: 600 ms.
                    let ms = if i % 7 == 0 { 600 } else { 5 + i % 20 };
                    let sql = format!("SELECT * FROM orders WHERE user_id = {}", i * 2 + worker);
                    db.record_query(&sql, Duration::from_millis(ms), i % 5, "SELECT");
                    db.record_query(
                        "INSERT INTO audit (event) VALUES ('view')",
                        0.002,
                        0,
                        "INSERT",
                    );
                    rt.record_response_time("database_queries", Duration::from_millis(ms));
                    rt.record_response_time("api_endpoints", 0.120);
                    // Checkout slows down halfway, after its baseline (the first 20 actions).
                    let checkout = if i < 50 { 0.25 } else { 0.40 };
                    rt.record_response_time("checkout", checkout);
                    business.record_user_action("checkout", checkout, i % 10 != 3);
                    if i % 4 == 0 {
                        business.record_conversion("purchase");
                    }
                }
            });
        }
    });
    engine.flush();

    let analysis = db.analyze_query_patterns();
    println!("{} queries", analysis.total_queries);
    for (kind, t) in &analysis.query_types {
        println!(
            "  {kind:<6} count {:>3}  avg {:>6.1} ms  slow {:>2} ({:.0}%)",
            t.count,
            t.avg_execution_time.unwrap_or(0.0) * 1e3,
            t.slow_queries,
            100.0 * t.slow_share
        );
    }
    for o in &analysis.optimization_opportunities {
        println!("  {}: {}", o.issue, o.recommendation);
    }
    for q in db.slow_queries(3) {
        println!("  slow {:>2}/{:<3} {}", q.slow_count, q.count, q.query);
    }
    for r in rt.optimize_response_times() {
        println!("{:?}: {} — {}", r.priority, r.message, r.suggestion);
    }
    let report = business.generate_business_report();
    let checkout = &report.action_types["checkout"];
    println!(
        "checkout: success {:.0}%, baseline {:.0} ms, {:+.0}% since; {} purchases ({:.1} per action)",
        100.0 * checkout.success_rate,
        checkout.baseline.avg_duration.unwrap_or(0.0) * 1e3,
        100.0 * checkout.deviation_from_baseline.unwrap_or(0.0),
        report.conversions.conversion_by_type["purchase"],
        report.conversions.conversion_rates["purchase"],
    );
}
