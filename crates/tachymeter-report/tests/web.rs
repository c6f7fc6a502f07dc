//! The web dashboard's routes over a real `MetricsServer` and a raw-socket client: status,
//! content type and headers of every route; `/api/v1/dashboard` and `/api/v1/distribution`
//! against exact oracles (the values recorded, sorted, for counts, quantiles and bucket
//! contents; the injected bad inputs for the health counts; the handles' own range queries for
//! throughput); and that requests read published snapshots only (no collection, nothing lost
//! while recording threads run).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tachymeter::histogram::relative_error_bound;
use tachymeter::{Clock, Engine, Opts, Range};
use tachymeter_export::{MetricsServer, ServerConfig};
use tachymeter_report::report::Distribution;
use tachymeter_report::web::{DashboardDoc, WebDashboard, API_VERSION, CONTENT_SECURITY_POLICY};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// `GET path` with `Connection: close`; the server sends a `Content-Length` body.
fn get(addr: SocketAddr, path: &str) -> Reply {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(raw[..at].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[at + 4..].to_vec(),
    }
}

fn serve(engine: &Arc<Engine>, dashboard: WebDashboard) -> MetricsServer {
    let source = engine.clone();
    MetricsServer::start_with_routes(
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        },
        move || source.snapshot(),
        Arc::new(dashboard),
    )
    .expect("server starts")
}

/// Nearest-rank quantile of sorted `v`.
fn exact_quantile(v: &[u64], q: f64) -> f64 {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1] as f64
}

/// Percent-encodes everything but unreserved characters (as `encodeURIComponent`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn dashboard_api_matches_what_was_recorded() {
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let latency = engine
        .histogram(Opts::new("svc_latency").unit("seconds").label("op", "a\"b"))
        .unwrap();
    let fast = engine
        .histogram(Opts::new("svc_parse").unit("seconds"))
        .unwrap();
    let errors = engine.counter("svc_errors_total").unwrap();
    let queue = engine.gauge("svc_queue").unwrap();
    let other = engine.counter("other_jobs_total").unwrap();
    let mut values = Vec::new();
    for t in 0..20u64 {
        for i in 0..50u64 {
            // 1 µs .. 1 ms in nanoseconds, never a power of two (no value on a bucket bound).
            let v = 1_000 * (1 + (t * 50 + i) % 1000) + 7 * t;
            latency.record(v);
            values.push(v);
            if i % 10 == 0 {
                fast.record(500);
            }
        }
        errors.add(t % 3);
        other.add(1);
        mock.advance(Duration::from_secs(1));
        engine.flush();
    }
    queue.set(17.5);
    // Two invalid inputs: the health section must count them.
    fast.record_f64(f64::NAN);
    fast.record_f64(-1.0);
    mock.advance(Duration::from_secs(1));
    let snapshot = engine.flush();
    values.sort_unstable();
    let error_total: u64 = (0..20u64).map(|t| t % 3).sum();

    let server = serve(&engine, WebDashboard::new(engine.clone()).title("svc"));
    let addr = server.local_addr();
    let reply = get(addr, "/api/v1/dashboard");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    // The documented field names, literally.
    let raw = reply.json();
    for field in [
        "api_version",
        "title",
        "generated_unix_seconds",
        "snapshot_unix_seconds",
        "data_age_seconds",
        "stale_after_seconds",
        "interval_seconds",
        "uptime_seconds",
        "sequence",
        "range_seconds",
        "summary",
        "monitors",
        "series",
        "alerts",
        "resources",
        "engine",
    ] {
        assert!(raw.get(field).is_some(), "missing {field}: {raw}");
    }
    let doc: DashboardDoc = serde_json::from_value(raw).unwrap();
    assert_eq!(doc.api_version, API_VERSION);
    assert_eq!(doc.title, "svc");
    assert_eq!(doc.sequence, snapshot.sequence());
    assert_eq!(doc.range_seconds, 300.0);
    assert!(doc.resources.is_none() && doc.alerts.is_empty());

    // The latency series: exact count, quantiles within the history tier's bound.
    let key = "svc_latency{op=\"a\\\"b\"}";
    let row = doc.series.iter().find(|r| r.series == key).expect("row");
    assert_eq!(row.total, Some(values.len() as u64));
    assert_eq!(row.monitor, "svc");
    let bound = row.relative_error.unwrap();
    assert_eq!(bound, relative_error_bound(3), "the 10 s tier's schema");
    for (q, got) in [(0.5, row.p50), (0.95, row.p95), (0.99, row.p99)] {
        let exact = exact_quantile(&values, q) / 1e9;
        let got = got.unwrap();
        assert!(
            (got - exact).abs() <= exact * bound * 1.000_001,
            "q{q}: {got} vs {exact}"
        );
    }
    let range = latency
        .range(Range::Last(Duration::from_secs(300)))
        .unwrap();
    assert_eq!(row.throughput, Some(range.throughput));
    assert_eq!(range.count, values.len() as u64);
    // Gauges: the value, no rate.
    let q = doc.series.iter().find(|r| r.series == "svc_queue").unwrap();
    assert_eq!((q.value, q.throughput, q.total), (Some(17.5), None, None));

    // The monitor: requests from the busiest time histogram, errors from its error counter.
    let svc = doc.monitors.iter().find(|m| m.monitor == "svc").unwrap();
    assert_eq!(svc.series_count, 4);
    assert_eq!(svc.requests_series.as_deref(), Some(key));
    assert_eq!(svc.requests, values.len() as u64);
    assert_eq!(svc.errors, Some(error_total));
    assert_eq!(
        svc.error_rate,
        Some(error_total as f64 / values.len() as f64)
    );
    assert_eq!((svc.p50, svc.p99), (row.p50, row.p99));
    let other = doc.monitors.iter().find(|m| m.monitor == "other").unwrap();
    assert_eq!((other.requests_series.as_ref(), other.errors), (None, None));

    // The summary: the same requests series, every request counted.
    assert_eq!(doc.summary.requests_series.as_deref(), Some(key));
    assert_eq!(doc.summary.total_requests, values.len() as u64);

    // Health: the two rejected inputs; no background aggregator in this engine.
    assert_eq!(doc.engine.rejected, 2);
    assert_eq!(doc.engine.rejected, snapshot.stats().rejected);
    assert_eq!(doc.engine.series, 5);
    assert!(!doc.engine.aggregator_running);
    assert_eq!(doc.engine.ring_dropped, 0);

    // The distribution: every value in its bucket, counts exact.
    let reply = get(
        addr,
        &format!("/api/v1/distribution?series={}", encode(key)),
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let d: Distribution = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!((d.series.as_str(), d.unit.as_str()), (key, "seconds"));
    assert_eq!(d.source, "range");
    assert_eq!(
        d.buckets.iter().map(|b| b.2).sum::<u64>(),
        values.len() as u64
    );
    assert!(d.buckets.windows(2).all(|w| w[0].1 <= w[1].0));
    for &(lo, hi, n) in &d.buckets {
        let inside = values
            .iter()
            .filter(|&&v| (v as f64) > lo * 1e9 && (v as f64) <= hi * 1e9)
            .count() as u64;
        assert_eq!(inside, n, "bucket ({lo}, {hi}]");
    }
    // Bad requests.
    assert_eq!(get(addr, "/api/v1/distribution").status, 400);
    assert_eq!(get(addr, "/api/v1/distribution?series=nope").status, 404);
    assert_eq!(
        get(addr, "/api/v1/distribution?series=svc_errors_total").status,
        404,
        "a counter has no distribution"
    );
    assert_eq!(get(addr, "/api/v1/distribution?series=%FF").status, 400);
    assert_eq!(get(addr, "/api/v2/dashboard").status, 404);
    assert_eq!(get(addr, "/assets/nope.js").status, 404);
    server.shutdown();
}

#[test]
fn page_and_assets_are_served_from_the_binary() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    engine.flush();
    let server = serve(&engine, WebDashboard::new(engine.clone()));
    let addr = server.local_addr();
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    let html = String::from_utf8(page.body.clone()).unwrap();
    // Every script and style the page loads comes from this server, and each one exists.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
    for (path, content_type, needle) in [
        (
            "/assets/dashboard.js",
            "text/javascript; charset=utf-8",
            "/api/v1/dashboard",
        ),
        ("/assets/dashboard.css", "text/css; charset=utf-8", ".chart"),
    ] {
        assert!(html.contains(&format!("\"{path}\"")), "{path}");
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(content_type));
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains(needle), "{path}");
        assert!(
            !body.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
    }
    // Small: the whole page is a few tens of KB.
    let total: usize = ["/", "/assets/dashboard.js", "/assets/dashboard.css"]
        .iter()
        .map(|p| get(addr, p).body.len())
        .sum();
    assert!(total < 40_000, "{total} bytes");
    // The built-in routes are still there.
    assert_eq!(get(addr, "/healthz").status, 200);
    assert_eq!(get(addr, "/metrics").status, 200);
    server.shutdown();
}

/// Requests read the published snapshot: recording without a collection changes nothing they
/// answer, and they trigger no collection; the next collection shows up.
#[test]
fn requests_read_published_snapshots_only() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let c = engine.counter("app_jobs_total").unwrap();
    c.add(5);
    let published = engine.flush();
    let server = serve(&engine, WebDashboard::new(engine.clone()));
    let addr = server.local_addr();
    let total = |doc: &DashboardDoc| {
        doc.series
            .iter()
            .find(|r| r.name == "app_jobs_total")
            .and_then(|r| r.total)
    };
    let first: DashboardDoc = serde_json::from_slice(&get(addr, "/api/v1/dashboard").body).unwrap();
    assert_eq!(
        (first.sequence, total(&first)),
        (published.sequence(), Some(5))
    );
    // Recorded on another thread, not collected.
    let recorder = {
        let c = c.clone();
        std::thread::spawn(move || c.add(100))
    };
    recorder.join().unwrap();
    // Past the document cache's age: recomputed, from the same snapshot.
    std::thread::sleep(Duration::from_millis(1100));
    let second: DashboardDoc =
        serde_json::from_slice(&get(addr, "/api/v1/dashboard").body).unwrap();
    assert_eq!(
        (second.sequence, total(&second)),
        (published.sequence(), Some(5))
    );
    assert_eq!(
        engine.snapshot().sequence(),
        published.sequence(),
        "no collection"
    );
    // The data is as old as the snapshot: 1.1 s and more.
    assert!(
        second.data_age_seconds >= 1.0,
        "{}",
        second.data_age_seconds
    );
    assert_eq!(second.stale_after_seconds, 3.0);
    let next = engine.flush();
    let third: DashboardDoc = serde_json::from_slice(&get(addr, "/api/v1/dashboard").body).unwrap();
    assert_eq!(
        (third.sequence, total(&third)),
        (next.sequence(), Some(105))
    );
    server.shutdown();
}

/// Recording threads and the aggregator run while a client keeps asking for the dashboard and
/// a distribution: every answer is a 200 with a consistent document, and no recorded
/// increment is lost.
#[test]
fn dashboard_answers_while_threads_record() {
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(20))
            .build()
            .unwrap(),
    );
    let h = engine
        .histogram(Opts::new("work_latency").unit("seconds"))
        .unwrap();
    let c = engine.counter("work_done_total").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let (h, c, stop) = (h.clone(), c.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                // Relaxed: a stop flag; the join below orders everything after it.
                while !stop.load(Ordering::Relaxed) {
                    h.record(1_000 + (n % 5000) * 100 + t);
                    c.increment();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let server = serve(&engine, WebDashboard::new(engine.clone()));
    let addr = server.local_addr();
    let (mut last_sequence, mut last_total) = (0, 0);
    for i in 0..30 {
        let r = get(addr, "/api/v1/dashboard");
        assert_eq!(r.status, 200);
        let doc: DashboardDoc = serde_json::from_slice(&r.body).unwrap();
        assert!(doc.sequence >= last_sequence, "sequence went back");
        last_sequence = doc.sequence;
        assert_eq!(doc.series.len(), if doc.sequence == 0 { 0 } else { 2 });
        if let Some(row) = doc.series.iter().find(|r| r.name == "work_done_total") {
            let total = row.total.unwrap();
            assert!(total >= last_total, "total went back");
            last_total = total;
        }
        if i % 5 == 0 {
            let d = get(addr, "/api/v1/distribution?series=work_latency");
            assert!(d.status == 200 || d.status == 404, "{}", d.status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        last_sequence > 0 && last_total > 0,
        "the answers saw collections"
    );
    stop.store(true, Ordering::Relaxed);
    let recorded: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let snapshot = engine.flush();
    let total = snapshot
        .get("work_done_total", &[])
        .map(|m| match &m.value {
            tachymeter::MetricValue::Counter(c) => c.total,
            _ => 0,
        })
        .unwrap();
    assert_eq!(total, u128::from(recorded));
    server.shutdown();
}

/// With an alert manager, `alerts` lists exactly the alerts firing now, with the value that
/// fired them; a resolved alert leaves the list.
#[test]
fn dashboard_lists_the_alerts_firing_now() {
    use tachymeter_monitor::alerting::{AlertManager, AlertRule};

    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let cpu = engine.gauge("host_cpu_percent").unwrap();
    let alerts = AlertManager::new();
    alerts
        .add_rule(
            AlertRule::builder("HighCpu")
                .gauge("host_cpu_percent")
                .above(80.0)
                .build()
                .unwrap(),
        )
        .unwrap();
    let server = serve(
        &engine,
        WebDashboard::new(engine.clone()).with_alerts(Arc::new(alerts.clone())),
    );
    let addr = server.local_addr();
    let fetch = || -> DashboardDoc {
        serde_json::from_slice(&get(addr, "/api/v1/dashboard").body).unwrap()
    };
    cpu.set(93.5);
    mock.advance(Duration::from_secs(1));
    let fired = alerts.evaluate(&engine.flush());
    assert_eq!(fired.len(), 1);
    let doc = fetch();
    assert_eq!(doc.alerts.len(), 1, "{:?}", doc.alerts);
    let a = &doc.alerts[0];
    assert_eq!((a.alert.as_str(), a.event.as_str()), ("HighCpu", "active"));
    assert_eq!((a.value, a.threshold), (Some(93.5), 80.0));
    assert_eq!(doc.summary.active_alerts, doc.alerts);
    cpu.set(10.0);
    mock.advance(Duration::from_secs(1));
    alerts.evaluate(&engine.flush());
    assert!(fetch().alerts.is_empty());
    server.shutdown();
}
