//! The exporter against implementations nobody here wrote.
//!
//! A loopback HTTP receiver (a `TcpListener` thread) captures the requests; the Python
//! `opentelemetry-proto` package (the official generated code, installed into `.venv-otlp` by
//! `.ci/install-python-otlp.sh`) decodes each body, gunzipping it with Python's `gzip` when it
//! was sent compressed, and prints what it read as JSON. The tests assert on that:
//!
//! * names, descriptions, UCUM units, sums (value, monotonic flag, temporality), gauge values,
//!   resource and point attributes, start/end times;
//! * exponential histograms: count, sum, min, max, scale, zero count and offset/bucket counts
//!   equal to the engine's native buckets (native `j` = OTLP `j - 1`), and, independently, the
//!   OTLP bucket every recorded value falls in by the spec's formula;
//! * delta temporality: consecutive points tile time and add up to the cumulative data;
//! * two engines' histograms merged by bucket index give quantiles within the documented
//!   relative error of an exact oracle;
//! * retry with backoff (503, 503, 200), no retry on 400, connection refused, and a receiver
//!   that never answers (bounded timeouts, queue drops counted, bounded shutdown).
//!
//! The decoding tests print a notice and pass when the venv is missing (set
//! `TACHYMETER_OTLP_PYTHON` to another interpreter that has the package).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tachymeter::histogram::relative_error_bound;
use tachymeter::{Engine, HistogramConfig, Opts};
use tachymeter_otlp::{OtlpExporter, Temporality};

// ---------------------------------------------------------------------------------------------
// The loopback receiver

/// One captured request.
#[derive(Clone, Debug)]
struct Captured {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn gzip(&self) -> bool {
        self.header("content-encoding") == Some("gzip")
    }
}

#[derive(Clone)]
enum Behaviour {
    /// Answers the n-th request with the n-th status, then 200.
    Statuses(Vec<u16>),
    /// Reads each request and never answers (holds the connection until stopped).
    Silent,
}

struct Receiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Captured>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: the loop ends when the test stops it (or after 60 s at the most).
            let give_up = Instant::now() + Duration::from_secs(60);
            while !s.load(Ordering::Relaxed) && Instant::now() < give_up {
                match listener.accept() {
                    Ok((conn, _)) => serve(conn, &behaviour, &r, &s),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        Receiver {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (bounded).
    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.requests.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "fewer than {n} requests arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, behaviour: &Behaviour, log: &Mutex<Vec<Captured>>, stop: &AtomicBool) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(&conn);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(line.starts_with("POST "), "request line {line:?}");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .expect("Content-Length");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let n = {
        let mut log = log.lock().unwrap();
        log.push(Captured {
            path,
            headers,
            body,
        });
        log.len()
    };
    match behaviour {
        Behaviour::Statuses(statuses) => {
            let status = statuses.get(n - 1).copied().unwrap_or(200);
            let reply =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = (&conn).write_all(reply.as_bytes());
        }
        Behaviour::Silent => {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding with the official Python package

const DECODER: &str = r#"
import gzip, json, sys
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None

def attributes(kvs):
    return {kv.key: value(kv.value) for kv in kvs}

def number(p):
    kind = p.WhichOneof("value")
    return {"attributes": attributes(p.attributes), "start": p.start_time_unix_nano,
            "time": p.time_unix_nano, "kind": kind, "value": getattr(p, kind) if kind else None}

def exponential(p):
    return {"attributes": attributes(p.attributes), "start": p.start_time_unix_nano,
            "time": p.time_unix_nano, "count": p.count,
            "sum": p.sum if p.HasField("sum") else None, "scale": p.scale,
            "zero_count": p.zero_count, "zero_threshold": p.zero_threshold,
            "offset": p.positive.offset, "bucket_counts": list(p.positive.bucket_counts),
            "negative": len(p.negative.bucket_counts),
            "min": p.min if p.HasField("min") else None,
            "max": p.max if p.HasField("max") else None}

def metric(m):
    kind = m.WhichOneof("data")
    out = {"name": m.name, "description": m.description, "unit": m.unit, "kind": kind}
    data = getattr(m, kind)
    if kind == "sum":
        out["temporality"] = AggregationTemporality.Name(data.aggregation_temporality)
        out["monotonic"] = data.is_monotonic
        out["points"] = [number(p) for p in data.data_points]
    elif kind == "gauge":
        out["points"] = [number(p) for p in data.data_points]
    elif kind == "exponential_histogram":
        out["temporality"] = AggregationTemporality.Name(data.aggregation_temporality)
        out["points"] = [exponential(p) for p in data.data_points]
    return out

data = open(sys.argv[1], "rb").read()
if sys.argv[2] == "gzip":
    data = gzip.decompress(data)
request = ExportMetricsServiceRequest()
request.ParseFromString(data)
print(json.dumps([{
    "resource": attributes(rm.resource.attributes),
    "scopes": [{"name": sm.scope.name, "version": sm.scope.version,
                "metrics": [metric(m) for m in sm.metrics]} for sm in rm.scope_metrics],
} for rm in request.resource_metrics]))
"#;

/// The interpreter with `opentelemetry-proto`, or `None` (after printing why) when absent.
fn python() -> Option<PathBuf> {
    let path = match std::env::var_os("TACHYMETER_OTLP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-otlp/bin/python"),
    };
    let ok = Command::new(&path)
        .args([
            "-c",
            "import opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: no Python with opentelemetry-proto at {} (run .ci/install-python-otlp.sh \
             or set TACHYMETER_OTLP_PYTHON)",
            path.display()
        );
        return None;
    }
    Some(path)
}

/// Decodes one request with the Python package; returns its `resource_metrics` as JSON.
fn decode(python: &PathBuf, request: &Captured) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "tachymeter-otlp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("decode.py");
    let body = dir.join("body.bin");
    std::fs::write(&script, DECODER).unwrap();
    std::fs::write(&body, &request.body).unwrap();
    let encoding = if request.gzip() { "gzip" } else { "identity" };
    let out = Command::new(python)
        .arg(&script)
        .arg(&body)
        .arg(encoding)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "decoder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The metrics of the single resource and scope of a decoded request.
fn metrics(decoded: &Value) -> &Vec<Value> {
    let resources = decoded.as_array().unwrap();
    assert_eq!(resources.len(), 1);
    let scopes = resources[0]["scopes"].as_array().unwrap();
    assert_eq!(scopes.len(), 1);
    assert_eq!(scopes[0]["name"], "tachymeter");
    scopes[0]["metrics"].as_array().unwrap()
}

fn metric<'a>(decoded: &'a Value, name: &str) -> &'a Value {
    metrics(decoded)
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {decoded}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// `(index, count)` of the non-empty OTLP buckets of a decoded point.
fn otlp_buckets(point: &Value) -> Vec<(i32, u64)> {
    let offset = point["offset"].as_i64().unwrap() as i32;
    point["bucket_counts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, c)| u(c) > 0)
        .map(|(k, c)| (offset + k as i32, u(c)))
        .collect()
}

/// The OTLP bucket of `v > 0` by the spec: `(base^i, base^(i+1)]`, `base = 2^(2^-scale)`.
fn spec_index(v: f64, scale: i32) -> i32 {
    let bound = |i: i32| (i as f64 / 2f64.powi(scale)).exp2();
    let mut i = (v.log2() * 2f64.powi(scale)).ceil() as i32 - 1;
    // Correct float rounding at the boundaries.
    while bound(i) >= v {
        i -= 1;
    }
    while bound(i + 1) < v {
        i += 1;
    }
    i
}

// ---------------------------------------------------------------------------------------------
// Tests

fn cumulative_export(gzip: bool) {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(Behaviour::Statuses(vec![]));
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let route_a = engine
        .counter(
            Opts::new("requests_total")
                .help("Requests handled.")
                .label("route", "/a"),
        )
        .unwrap();
    let route_b = engine
        .counter(
            Opts::new("requests_total")
                .help("Requests handled.")
                .label("route", "/b"),
        )
        .unwrap();
    let depth = engine
        .gauge(Opts::new("queue_depth").help("Jobs waiting."))
        .unwrap();
    let latency = engine
        .histogram(
            Opts::new("latency")
                .help("Request latency.")
                .unit("seconds"),
        )
        .unwrap();
    let payload = engine
        .histogram_with(
            Opts::new("payload").unit("bytes"),
            HistogramConfig::default().schema(0),
        )
        .unwrap();

    let exporter = OtlpExporter::builder(receiver.endpoint())
        .interval(Duration::from_secs(3600))
        .temporality(Temporality::Cumulative)
        .resource("service.name", "otlp-test")
        .resource("service.instance.id", "i-1")
        .gzip(gzip)
        .flush_engine(true)
        .start(engine.clone())
        .unwrap();
    route_a.add(3);
    route_b.add(4);
    depth.set(12.5);
    let latencies = [0u64, 1_000, 250_000, 3_000_000, 1_000_000_000];
    for ns in latencies {
        latency.record(ns);
    }
    let sizes = [1u64, 2, 3, 4, 5, 1000, 1024, 1025];
    for s in sizes {
        payload.record(s);
    }
    let before = SystemTime::now();
    let stats = exporter.shutdown();
    let after = SystemTime::now();
    assert_eq!(
        (stats.exported, stats.failed, stats.dropped, stats.retries),
        (1, 0, 0, 0)
    );

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/metrics");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(request.gzip(), gzip);
    let decoded = decode(&python, request);

    let resource = &decoded[0]["resource"];
    assert_eq!(resource["service.name"], "otlp-test");
    assert_eq!(resource["service.instance.id"], "i-1");
    let names: Vec<&str> = metrics(&decoded)
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["requests_total", "queue_depth", "latency", "payload"]
    );

    let snap = engine.flush();
    let started = unix_nanos(snap.started());

    // Counters: one monotonic cumulative sum, one point per label set.
    let requests_total = metric(&decoded, "requests_total");
    assert_eq!(requests_total["kind"], "sum");
    assert_eq!(requests_total["description"], "Requests handled.");
    assert_eq!(requests_total["unit"], "");
    assert_eq!(requests_total["monotonic"], true);
    assert_eq!(
        requests_total["temporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    let points = requests_total["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for (point, (route, total)) in points.iter().zip([("/a", 3), ("/b", 4)]) {
        assert_eq!(point["attributes"]["route"], route);
        assert_eq!(point["kind"], "as_int");
        assert_eq!(u(&point["value"]), total);
        assert_eq!(u(&point["start"]), started);
        // The last export ran in `shutdown`.
        let time = u(&point["time"]);
        assert!(time >= unix_nanos(before) && time <= unix_nanos(after));
    }

    // Gauge.
    let queue_depth = metric(&decoded, "queue_depth");
    assert_eq!(queue_depth["kind"], "gauge");
    assert_eq!(queue_depth["points"][0]["kind"], "as_double");
    assert_eq!(queue_depth["points"][0]["value"], 12.5);

    // Time histogram: in stored nanoseconds, native buckets one-to-one.
    let h = metric(&decoded, "latency");
    assert_eq!(h["kind"], "exponential_histogram");
    assert_eq!(h["unit"], "ns");
    assert_eq!(h["temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
    let point = &h["points"][0];
    let native = &snap.histogram("latency").unwrap().cumulative;
    assert_eq!(point["scale"].as_i64().unwrap(), i64::from(native.schema()));
    assert_eq!(point["scale"], 6);
    assert_eq!(u(&point["count"]), 5);
    assert_eq!(u(&point["zero_count"]), 1);
    assert_eq!(point["zero_threshold"], 0.0);
    assert_eq!(point["negative"], 0);
    assert_eq!(point["sum"], latencies.iter().sum::<u64>() as f64);
    assert_eq!(point["min"], 0.0);
    assert_eq!(point["max"], 1e9);
    assert_eq!(u(&point["start"]), started);
    let expected: Vec<(i32, u64)> = native.buckets().map(|(j, c)| (j - 1, c)).collect();
    assert_eq!(otlp_buckets(point), expected);
    assert_eq!(
        point["offset"].as_i64().unwrap(),
        i64::from(native.buckets().next().unwrap().0 - 1)
    );
    // Independently of the engine: each value is in its OTLP bucket by the spec's formula.
    let spec: Vec<(i32, u64)> = latencies[1..]
        .iter()
        .map(|&v| (spec_index(v as f64, 6), 1))
        .collect();
    assert_eq!(otlp_buckets(point), spec);

    // Bytes histogram at schema 0, against bounds computed by hand: (2^i, 2^(i+1)].
    let p = metric(&decoded, "payload");
    assert_eq!(p["unit"], "By");
    let point = &p["points"][0];
    assert_eq!(point["scale"], 0);
    assert_eq!(point["offset"], -1);
    let counts: Vec<u64> = point["bucket_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(u)
        .collect();
    // 1 | 2 | 3 4 | 5 | - | - | - | - | - | - | 1000 1024 | 1025
    assert_eq!(counts, [1, 1, 2, 1, 0, 0, 0, 0, 0, 0, 2, 1]);
    assert_eq!(u(&point["count"]), sizes.len() as u64);
}

#[test]
fn cumulative_export_decodes_with_opentelemetry_proto() {
    cumulative_export(false);
}

#[test]
fn gzip_bodies_decode_with_opentelemetry_proto() {
    cumulative_export(true);
}

#[test]
fn delta_points_tile_time_and_add_up() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(Behaviour::Statuses(vec![]));
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let jobs = engine.counter("jobs_total").unwrap();
    let sizes = engine.histogram(Opts::new("sizes").unit("bytes")).unwrap();
    let exporter = OtlpExporter::builder(receiver.endpoint())
        .interval(Duration::from_millis(40))
        .temporality(Temporality::Delta)
        .gzip(true)
        .flush_engine(true)
        .start(engine.clone())
        .unwrap();
    let mut values = Vec::new();
    for phase in 0..3u64 {
        let seen = receiver.requests().len();
        for i in 0..100u64 {
            jobs.add(phase + 1);
            let v = (i * 7919 + phase * 104_729) % 50_000;
            sizes.record(v);
            values.push(v);
        }
        receiver.wait_for(seen + 1);
    }
    let stats = exporter.shutdown();
    assert_eq!(stats.failed, 0);
    let requests = receiver.requests();
    assert_eq!(requests.len() as u64, stats.exported);
    assert!(requests.len() >= 4);

    let mut total = 0;
    let mut merged: std::collections::BTreeMap<i32, u64> = Default::default();
    let (mut zero, mut count, mut sum) = (0, 0, 0.0);
    let mut previous_time = None;
    for request in &requests {
        let decoded = decode(&python, request);
        let jobs = metric(&decoded, "jobs_total");
        assert_eq!(jobs["temporality"], "AGGREGATION_TEMPORALITY_DELTA");
        assert_eq!(jobs["monotonic"], true);
        let point = &jobs["points"][0];
        total += u(&point["value"]);
        let h = metric(&decoded, "sizes");
        assert_eq!(h["temporality"], "AGGREGATION_TEMPORALITY_DELTA");
        let hp = &h["points"][0];
        assert_eq!(hp["min"], Value::Null, "delta points carry no min/max");
        for (i, c) in otlp_buckets(hp) {
            *merged.entry(i).or_default() += c;
        }
        zero += u(&hp["zero_count"]);
        count += u(&hp["count"]);
        sum += hp["sum"].as_f64().unwrap();
        // Each point starts where the previous one ended.
        let (start, time) = (u(&point["start"]), u(&point["time"]));
        assert_eq!(u(&hp["start"]), start);
        if let Some(t) = previous_time {
            assert_eq!(start, t);
        }
        assert!(start <= time);
        previous_time = Some(time);
    }
    let snap = engine.flush();
    assert_eq!(total as u128, snap.counter("jobs_total").unwrap().total);
    assert_eq!(total, 100 + 200 + 300);
    let native = &snap.histogram("sizes").unwrap().cumulative;
    let expected: Vec<(i32, u64)> = native.buckets().map(|(j, c)| (j - 1, c)).collect();
    assert_eq!(merged.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!((zero, count), (native.zero_count(), values.len() as u64));
    assert_eq!(sum, values.iter().sum::<u64>() as f64);
}

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn two_engines_merged_give_quantiles_within_the_bound() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(Behaviour::Statuses(vec![]));
    // Engine A: latencies around 1 ms; engine B: a long tail from 10 µs to 10 s (ns).
    let mut rng = Lcg(42);
    let a: Vec<u64> = (0..20_000)
        .map(|_| (800_000.0 + 400_000.0 * rng.next()) as u64)
        .collect();
    let b: Vec<u64> = (0..20_000)
        .map(|_| (1e4 * 1e6f64.powf(rng.next())) as u64)
        .chain([0, 0, 0])
        .collect();
    for (service, values, gzip) in [("a", &a, false), ("b", &b, true)] {
        let engine = Arc::new(Engine::builder().background(false).build().unwrap());
        let h = engine
            .histogram(Opts::new("rpc_latency").unit("nanoseconds"))
            .unwrap();
        let exporter = OtlpExporter::builder(format!("{}/v1/metrics", receiver.endpoint()))
            .interval(Duration::from_secs(3600))
            .resource("service.name", service)
            .gzip(gzip)
            .flush_engine(true)
            .start(engine)
            .unwrap();
        for &v in values {
            h.record(v);
        }
        assert_eq!(exporter.shutdown().exported, 1);
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);

    // Merge the two exponential histograms: same scale, so counts add by bucket index.
    let mut merged: std::collections::BTreeMap<i32, u64> = Default::default();
    let (mut zero, mut count, mut scale) = (0, 0, None);
    for (request, service) in requests.iter().zip(["a", "b"]) {
        let decoded = decode(&python, request);
        assert_eq!(decoded[0]["resource"]["service.name"], service);
        let point = &metric(&decoded, "rpc_latency")["points"][0];
        let s = point["scale"].as_i64().unwrap() as i32;
        assert_eq!(*scale.get_or_insert(s), s);
        for (i, c) in otlp_buckets(point) {
            *merged.entry(i).or_default() += c;
        }
        zero += u(&point["zero_count"]);
        count += u(&point["count"]);
    }
    let scale = scale.unwrap();
    let mut exact: Vec<u64> = a.iter().chain(&b).copied().collect();
    exact.sort_unstable();
    assert_eq!(count, exact.len() as u64);
    assert_eq!(zero, 3);

    // Nearest-rank quantile from the merged buckets: the point of (base^i, base^(i+1)] equally
    // far (relatively) from both ends, within (base - 1) / (base + 1) of any value inside.
    let bound = relative_error_bound(scale as i8);
    let base_pow = |i: i32| (i as f64 / 2f64.powi(scale)).exp2();
    for q in [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let truth = exact[rank as usize - 1] as f64;
        let estimate = if rank <= zero {
            0.0
        } else {
            let mut seen = zero;
            let (&i, _) = merged
                .iter()
                .find(|(_, &c)| {
                    seen += c;
                    seen >= rank
                })
                .unwrap();
            let (lo, hi) = (base_pow(i), base_pow(i + 1));
            2.0 * lo * hi / (lo + hi)
        };
        let error = if truth == 0.0 {
            estimate
        } else {
            (estimate - truth).abs() / truth
        };
        assert!(
            error <= bound + 1e-12,
            "q={q}: estimate {estimate} vs exact {truth} (error {error}, bound {bound})"
        );
    }
}

#[test]
fn retries_with_backoff_then_succeeds() {
    let receiver = Receiver::start(Behaviour::Statuses(vec![503, 503, 200]));
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    engine.counter("c_total").unwrap().add(1);
    let t0 = Instant::now();
    let stats = OtlpExporter::builder(receiver.endpoint())
        .interval(Duration::from_secs(3600))
        .retry(5, Duration::from_millis(20))
        .flush_engine(true)
        .start(engine)
        .unwrap()
        .shutdown();
    let (exported, failed, retries) = (stats.exported, stats.failed, stats.retries);
    assert_eq!((exported, failed, retries), (1, 0, 2), "{stats:?}");
    assert_eq!(stats.last_error.as_deref(), Some("HTTP 503"));
    // Backoff 20 ms, then 40 ms.
    assert!(t0.elapsed() >= Duration::from_millis(60));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[test]
fn client_errors_are_not_retried() {
    let receiver = Receiver::start(Behaviour::Statuses(vec![400]));
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let stats = OtlpExporter::builder(receiver.endpoint())
        .interval(Duration::from_secs(3600))
        .retry(5, Duration::from_millis(1))
        .start(engine)
        .unwrap()
        .shutdown();
    assert_eq!(
        (stats.exported, stats.failed, stats.retries),
        (0, 1, 0),
        "{stats:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn connection_refused_is_retried_then_counted_as_failed() {
    // A port nobody listens on: bind, read the port, close.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let stats = OtlpExporter::builder(format!("http://{addr}"))
        .interval(Duration::from_secs(3600))
        .retry(3, Duration::from_millis(5))
        .start(engine)
        .unwrap()
        .shutdown();
    assert_eq!(
        (stats.exported, stats.failed, stats.retries),
        (0, 1, 2),
        "{stats:?}"
    );
    assert!(stats.last_error.is_some());
}

#[test]
fn silent_receiver_times_out_and_the_full_queue_drops() {
    let receiver = Receiver::start(Behaviour::Silent);
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    engine.counter("c_total").unwrap().add(1);
    let exporter = OtlpExporter::builder(receiver.endpoint())
        .interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(150))
        .retry(2, Duration::from_millis(10))
        .queue_capacity(1)
        .shutdown_timeout(Duration::from_millis(200))
        .flush_engine(true)
        .start(engine)
        .unwrap();
    // The sender is stuck in a read timeout while the collector keeps producing.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let stats = exporter.shutdown();
    let stopping = t0.elapsed();
    assert_eq!(stats.exported, 0, "{stats:?}");
    assert!(stats.failed >= 1, "{stats:?}");
    assert!(stats.retries >= 1, "{stats:?}");
    assert!(stats.dropped >= 5, "{stats:?}");
    assert!(stats.last_error.is_some());
    // Shutdown timeout plus at most one attempt in flight (connect + write + read timeouts).
    assert!(
        stopping < Duration::from_secs(2),
        "shutdown took {stopping:?}"
    );
    assert!(!receiver.requests().is_empty());
}

#[test]
fn https_is_refused_at_start() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let err = OtlpExporter::builder("https://collector:4318")
        .start(engine)
        .unwrap_err();
    assert!(matches!(
        err,
        tachymeter_otlp::StartError::UnsupportedScheme(_)
    ));
    assert!(err.to_string().contains("https is not supported"));
}
