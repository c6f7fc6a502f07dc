//! The /metrics endpoint against a raw-socket client: routes, content negotiation, hostile
//! requests (each must end in a 4xx or a server-side close, never a crash), writers that keep
//! recording meanwhile, and shutdown.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{exchange, get};
use prost::Message as _;
use tachymeter::{Engine, Opts};
use tachymeter_export::proto::{metric_families, MetricFamily};
use tachymeter_export::{
    encode_openmetrics, encode_text, ExportConfig, MetricsServer, ServerConfig, SnapshotDoc,
};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn start(engine: &Arc<Engine>, config: ServerConfig) -> MetricsServer {
    let source = engine.clone();
    MetricsServer::start(config, move || source.snapshot()).expect("server starts")
}

#[test]
fn routes_and_content_negotiation() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    engine
        .counter(Opts::new("hits").help("Hits."))
        .unwrap()
        .add(5);
    let h = engine
        .histogram(Opts::new("lat").unit("nanoseconds").label("stage", "a\"b"))
        .unwrap();
    for v in 1..=1000 {
        h.record(v * 7);
    }
    let snapshot = engine.flush();
    let export = ExportConfig::default();
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            export: export.clone(),
            ..ServerConfig::default()
        },
    );
    let addr = server.local_addr();

    let text = get(addr, "/metrics", &[]);
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(text.text(), encode_text(&snapshot, &export));

    let om = get(
        addr,
        "/metrics?x=1",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    );
    assert_eq!(om.status, 200);
    assert!(om
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    assert_eq!(om.text(), encode_openmetrics(&snapshot, &export));

    let pb = get(addr, "/metrics", &[("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,text/plain;q=0.1")]);
    assert_eq!(pb.status, 200);
    assert!(pb
        .header("content-type")
        .unwrap()
        .starts_with("application/vnd.google.protobuf"));
    let mut rest = pb.body.as_slice();
    let mut decoded = Vec::new();
    while !rest.is_empty() {
        decoded.push(MetricFamily::decode_length_delimited(&mut rest).expect("delimited protobuf"));
    }
    assert_eq!(decoded, metric_families(&snapshot, &export));
    // A time-unit histogram stores nanoseconds and is exported in seconds: classic buckets
    // only (native bucket boundaries in nanoseconds are not native boundaries in seconds).
    let lat = decoded[1].metric[0].histogram.as_ref().unwrap();
    assert_eq!(lat.schema, None);
    assert_eq!(lat.sample_count, Some(1000));
    let ns_sum: u64 = (1..=1000u64).map(|v| v * 7).sum();
    assert_eq!(lat.sample_sum, Some(ns_sum as f64 / 1e9));

    let json = get(addr, "/snapshot.json", &[]);
    assert_eq!(json.status, 200);
    let doc: SnapshotDoc = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(doc.sequence, snapshot.sequence());
    assert_eq!(doc.metrics[0].counter.as_ref().unwrap().total, 5);

    let csv = get(addr, "/snapshot.csv", &[]);
    assert_eq!(csv.status, 200);
    assert!(csv.text().starts_with("name,labels,kind,"));

    let health = get(addr, "/healthz", &[]);
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));

    let head = exchange(
        addr,
        format!("HEAD /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    server.shutdown();
}

/// Reads until the server closes; returns what was read and how long it took.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("server did not close the connection within {limit:?}: {e}"),
        }
    }
    (out, started.elapsed())
}

fn status_of(bytes: &[u8]) -> Option<u16> {
    std::str::from_utf8(bytes.get(..12)?)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn hostile_requests_get_4xx_or_a_timeout_and_writers_keep_recording() {
    let engine = Arc::new(
        Engine::builder()
            .interval(Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let counter = engine.counter("work").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (counter, stop) = (counter.clone(), stop.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut n = 0u64;
            // Bounded: stops when told or after 30 s.
            while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(30) {
                counter.increment();
                n += 1;
                if n % 1024 == 0 {
                    std::thread::yield_now();
                }
            }
            n
        })
    };
    let timeout = Duration::from_millis(400);
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            header_read_timeout: timeout,
            max_connections: 8,
            ..ServerConfig::default()
        },
    );
    let addr = server.local_addr();

    let post = exchange(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        exchange(
            addr,
            b"DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap()
        .status,
        405
    );
    assert_eq!(get(addr, "/nope", &[]).status, 404);
    assert_eq!(get(addr, "/metrics/../etc/passwd", &[]).status, 404);

    let huge = "x".repeat(64 * 1024);
    let reply = exchange(
        addr,
        format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n").as_bytes(),
    );
    // hyper answers 431 once the head outgrows its buffer (the client may see a reset if it is
    // still writing when the server closes; either way no 2xx and the server survives).
    if let Ok(reply) = reply {
        assert_eq!(reply.status, 431);
    }
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let reply = exchange(
        addr,
        format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(reply.status, 431);
    let garbage = exchange(addr, b"\x16\x03\x01 not http at all\r\n\r\n").unwrap();
    assert_eq!(garbage.status, 400);

    // Slowloris: a header byte every 100 ms never completes the head; the server hangs up
    // after the header read timeout, not when the client is done.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_nonblocking(false).unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    for _ in 0..40 {
        if slow.write_all(b"X").is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed_after = closed_after
        .unwrap_or_else(|| wait_for_close(&mut slow, Duration::from_secs(3)).1 + started.elapsed());
    assert!(
        closed_after < Duration::from_secs(4),
        "slowloris connection lived {closed_after:?}"
    );

    // A client that connects and sends nothing is also cut off.
    let mut idle = TcpStream::connect(addr).unwrap();
    let (bytes, took) = wait_for_close(&mut idle, Duration::from_secs(5));
    assert!(bytes.is_empty() || status_of(&bytes).is_some_and(|s| (400..500).contains(&s)));
    assert!(
        took >= timeout / 2 && took < Duration::from_secs(4),
        "idle connection closed after {took:?}"
    );

    // More connections than allowed: the extra ones are closed at once, and the server keeps
    // answering once the hogs are gone.
    let hogs: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = TcpStream::connect(addr).unwrap();
    let (_, took) = wait_for_close(&mut extra, Duration::from_secs(3));
    assert!(took < timeout, "over-limit connection was kept {took:?}");
    drop(hogs);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(addr, "/healthz", &[]).status, 200);

    // Writers were never blocked: the engine saw exactly what the writer recorded, and the
    // writer made progress while the server was being abused.
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 10_000, "writer recorded only {written}");
    assert_eq!(
        engine.flush().counter("work").unwrap().total,
        u128::from(written)
    );
    let metrics = get(addr, "/metrics", &[]);
    assert!(
        metrics.text().contains(&format!("work_total {written}\n")),
        "{}",
        metrics.text()
    );
    server.shutdown();
}

#[test]
fn shutdown_joins_and_frees_the_port_even_with_open_connections() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            ..ServerConfig::default()
        },
    );
    let addr = server.local_addr();
    assert_eq!(get(addr, "/healthz", &[]).status, 200);
    let mut open = TcpStream::connect(addr).unwrap();
    open.write_all(b"GET /metr").unwrap();
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    let (_, _) = wait_for_close(&mut open, Duration::from_secs(2));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "still accepting after shutdown"
    );
    TcpListener::bind(addr).expect("port is free again");
}

/// Extra routes (`start_with_routes`): they answer the paths the built-in routes do not know,
/// on the server thread; built-in routes win; unknown paths stay 404; methods other than GET
/// and HEAD get 405 on their paths; the default and custom headers are sent; and the
/// per-connection request limit applies to them as to the built-in routes.
#[test]
fn extra_routes_serve_unknown_paths_under_the_same_limits() {
    use std::sync::Mutex;
    use tachymeter_export::{RouteRequest, RouteResponse};

    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    engine.flush();
    let callers = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = callers.clone();
    let routes = move |req: &RouteRequest<'_>| {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        seen.lock().unwrap().push(name);
        match req.path {
            "/x" => Some(
                RouteResponse::new(
                    "application/json",
                    format!("{{\"q\":{:?}}}", req.query).into_bytes(),
                )
                .header("content-security-policy", "default-src 'self'")
                .unwrap(),
            ),
            "/static" => Some(RouteResponse::new("text/css", &b"body{}"[..])),
            "/bad" => Some(RouteResponse::text(400, "bad\n").unwrap()),
            // Shadowed by the built-in route.
            "/healthz" => Some(RouteResponse::new("text/plain", &b"mine"[..])),
            _ => None,
        }
    };
    let source = engine.clone();
    let server = MetricsServer::start_with_routes(
        ServerConfig {
            addr: loopback(),
            max_requests_per_connection: 2,
            ..ServerConfig::default()
        },
        move || source.snapshot(),
        Arc::new(routes),
    )
    .unwrap();
    let addr = server.local_addr();

    let x = get(addr, "/x?a=1&b=%20", &[]);
    assert_eq!(x.status, 200);
    assert_eq!(x.header("content-type"), Some("application/json"));
    assert_eq!(x.header("cache-control"), Some("no-store"));
    assert_eq!(x.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        x.header("content-security-policy"),
        Some("default-src 'self'")
    );
    assert_eq!(x.text(), "{\"q\":Some(\"a=1&b=%20\")}");
    let s = get(addr, "/static", &[]);
    assert_eq!((s.status, s.text().as_str()), (200, "body{}"));
    assert_eq!(get(addr, "/bad", &[]).status, 400);
    assert_eq!(get(addr, "/healthz", &[]).text(), "ok\n");
    assert_eq!(get(addr, "/nope", &[]).status, 404);
    let head = exchange(
        addr,
        format!("HEAD /x HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = exchange(
        addr,
        format!(
            "POST /x HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let post = exchange(
        addr,
        format!(
            "POST /nope HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(post.status, 404);

    // Three pipelined requests on one connection: the limit (2) closes it after the second.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            format!("GET /x HTTP/1.1\r\nHost: {addr}\r\n\r\n")
                .repeat(3)
                .as_bytes(),
        )
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
    assert_eq!(server.stats().request_limit_closes, 1);

    let callers = callers.lock().unwrap().clone();
    // The built-in /healthz never reached the routes; everything else did, on the server thread.
    // /x, /static, /bad, /nope, HEAD /x, POST /x, POST /nope, and 2 pipelined /x (the third
    // was dropped with the connection).
    assert_eq!(callers.len(), 9, "{callers:?}");
    assert!(
        callers.iter().all(|c| c == "tachymeter-http"),
        "{callers:?}"
    );
    server.shutdown();
}
