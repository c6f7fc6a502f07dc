//! Interoperability with the real Prometheus tools (Debian package `prometheus`; install with
//! `.ci/install-prometheus.sh`). Each test prints a notice and returns when the binary is
//! missing.
//!
//! - `promtool check metrics` accepts our text 0.0.4 output, including hostile label values
//!   and help text;
//! - a real Prometheus server scraping our endpoint (loopback, random ports, scratch storage)
//!   sees the target up, and `histogram_quantile(0.99, ...)` agrees with the engine's p99 within
//!   the bucket error bound: classic `le` buckets (OpenMetrics/text scrape) and, with
//!   `--enable-feature=native-histograms` (protobuf scrape), the native histogram.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{get, have, TempDir};
use tachymeter::histogram::HistogramData;
use tachymeter::{Engine, Opts};
use tachymeter_export::{encode_text, ExportConfig, MetricsServer, ServerConfig};

fn promtool(input: &str) -> (i32, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn promtool_accepts_text_output() {
    if !have("promtool") {
        return;
    }
    let engine = Engine::builder().background(false).build().unwrap();
    let requests = engine
        .counter(
            Opts::new("http_requests_total")
                .help("Requests.")
                .label("code", "200"),
        )
        .unwrap();
    engine
        .counter(
            Opts::new("http_requests_total")
                .help("Requests.")
                .label("code", "500"),
        )
        .unwrap()
        .add(2);
    requests.add(40);
    engine
        .gauge(Opts::new("queue_depth").help("Items waiting."))
        .unwrap()
        .set(3.5);
    let lat = engine
        .histogram(
            Opts::new("request_duration")
                .unit("seconds")
                .help("Latency."),
        )
        .unwrap();
    let size = engine
        .histogram(
            Opts::new("response_size")
                .unit("bytes")
                .help("Size.")
                .label("route", "/a"),
        )
        .unwrap();
    for v in 0..5000u64 {
        lat.record(v * v % 100_003);
        size.record(v * 37);
    }
    engine
        .events(Opts::new("restarts").help("Restarts."))
        .unwrap()
        .record(1);
    let text = encode_text(&engine.flush(), &ExportConfig::default());
    let (code, out) = promtool(&text);
    assert_eq!((code, out.as_str()), (0, ""), "{text}");

    // Hostile strings: escapes, quotes, newlines, unicode, control characters. Lints (like
    // "no help text") are fine here; parse errors (exit 1) are not.
    let engine = Engine::builder().background(false).build().unwrap();
    let nasty = [
        "",
        "\\",
        "\"",
        "\n",
        "a\\nb",
        "\"}\n# EOF",
        "é\u{1F600}\t\r",
        "\\\"\\",
        "{x=\"y\"}",
    ];
    for (i, s) in nasty.iter().enumerate() {
        engine
            .counter(Opts::new(format!("c{i}_total")).help(*s).label("v", *s))
            .unwrap()
            .add(i as u64);
        engine
            .histogram(
                Opts::new(format!("h{i}:x"))
                    .help(*s)
                    .label("v", *s)
                    .label("w", "1"),
            )
            .unwrap()
            .record(i as u64);
    }
    let text = encode_text(&engine.flush(), &ExportConfig::default());
    let (code, out) = promtool(&text);
    assert!(
        code == 0 || code == 3,
        "promtool exit {code}: {out}\n{text}"
    );
    assert!(!out.contains("error"), "{out}\n{text}");
}

/// A Prometheus server child process, killed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start_prometheus(target: SocketAddr, native: bool) -> Prometheus {
    let dir = TempDir::new(if native {
        "prom-native"
    } else {
        "prom-classic"
    });
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: tachymeter\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(dir.0.join("prometheus.yml"), config).unwrap();
    let addr = free_port();
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!(
        "--config.file={}",
        dir.0.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.0.join("data").display()
    ))
    .arg(format!("--web.listen-address={addr}"))
    .stdin(Stdio::null())
    .stdout(log.try_clone().unwrap())
    .stderr(log);
    if native {
        cmd.arg("--enable-feature=native-histograms");
    }
    Prometheus {
        child: cmd.spawn().expect("prometheus starts"),
        addr,
        dir,
    }
}

fn encode_query(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs an instant query until it returns one sample, or panics after `limit`.
fn query_until(prom: &Prometheus, query: &str, limit: Duration) -> f64 {
    let started = Instant::now();
    loop {
        let reply = std::panic::catch_unwind(|| {
            get(
                prom.addr,
                &format!("/api/v1/query?query={}", encode_query(query)),
                &[],
            )
        });
        if let Ok(reply) = reply {
            if reply.status == 200 {
                let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
                if let Some(sample) = v["data"]["result"].get(0) {
                    let value = sample["value"][1].as_str().unwrap().parse::<f64>().unwrap();
                    if value.is_finite() {
                        return value;
                    }
                }
            }
        }
        if started.elapsed() > limit {
            let log =
                std::fs::read_to_string(prom.dir.0.join("prometheus.log")).unwrap_or_default();
            panic!("no result for {query} within {limit:?}; prometheus log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn target_is_up(prom: &Prometheus) -> bool {
    let reply = get(prom.addr, "/api/v1/targets", &[]);
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    v["data"]["activeTargets"]
        .as_array()
        .is_some_and(|t| t.len() == 1 && t[0]["health"] == "up")
}

/// An engine whose `lat` histogram holds 1..=10_000 once each, served on loopback.
fn serve_fixture() -> (Arc<Engine>, MetricsServer, f64) {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let lat = engine.histogram(Opts::new("lat").help("Latency.")).unwrap();
    engine
        .counter(Opts::new("ops_total").help("Ops."))
        .unwrap()
        .add(10_000);
    for v in 1..=10_000u64 {
        lat.record(v);
    }
    let snapshot = engine.flush();
    let p99 = snapshot.histogram("lat").unwrap().cumulative.p99().unwrap();
    let source = engine.clone();
    let server = MetricsServer::start(
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        },
        move || source.snapshot(),
    )
    .unwrap();
    (engine, server, p99)
}

#[test]
fn prometheus_classic_histogram_quantile_matches_engine() {
    if !have("prometheus") {
        return;
    }
    let (_engine, server, p99) = serve_fixture();
    let prom = start_prometheus(server.local_addr(), false);
    let limit = Duration::from_secs(15);
    assert_eq!(query_until(&prom, "lat_count", limit), 10_000.0);
    assert_eq!(query_until(&prom, "ops_total", limit), 10_000.0);
    assert!(target_is_up(&prom));
    let prom_p99 = query_until(&prom, "histogram_quantile(0.99, lat_bucket)", limit);
    // Classic buckets are powers of two: both estimates must fall in the power-of-two bucket
    // that holds the true p99 (9900), i.e. (8192, 16384].
    let hi = 2f64.powf(p99.log2().ceil());
    let lo = hi / 2.0;
    assert!(lo < 9900.0 && 9900.0 <= hi);
    assert!(
        lo <= prom_p99 && prom_p99 <= hi,
        "prometheus p99 {prom_p99} outside ({lo}, {hi}]"
    );
    assert!(
        (prom_p99 - p99).abs() <= hi - lo,
        "prometheus {prom_p99} vs engine {p99}"
    );
}

#[test]
fn prometheus_native_histogram_quantile_matches_engine() {
    if !have("prometheus") {
        return;
    }
    let (_engine, server, p99) = serve_fixture();
    let prom = start_prometheus(server.local_addr(), true);
    let limit = Duration::from_secs(15);
    // histogram_count only works on native histograms: proves the protobuf scrape was native.
    assert_eq!(query_until(&prom, "histogram_count(lat)", limit), 10_000.0);
    assert!(target_is_up(&prom));
    let prom_p99 = query_until(&prom, "histogram_quantile(0.99, lat)", limit);
    // Both estimates lie in the native bucket holding the p99, whose relative width is
    // base - 1 = 2*e/(1-e) for the documented relative error bound e.
    let e = HistogramData::relative_error_bound(6);
    let width = 2.0 * e / (1.0 - e);
    let rel = (prom_p99 - p99).abs() / p99;
    assert!(
        rel <= width + 1e-9,
        "prometheus {prom_p99} vs engine {p99}: {rel} > {width}"
    );
    assert!(
        (prom_p99 - 9900.0).abs() / 9900.0 <= width + 1e-9,
        "prometheus {prom_p99} vs exact 9900"
    );
}
