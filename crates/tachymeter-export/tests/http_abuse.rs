//! The /metrics endpoint against clients that hold connections without using them: pipeliners
//! that never read their responses, idle keep-alive connections, slowloris heads, and endless
//! pipelining. A scraper must keep getting through, every limit must close what it is meant to
//! close, and each must show in `MetricsServer::stats`.
//!
//! All traffic is on 127.0.0.1; every loop is bounded by a count or a deadline. The 60-second
//! attack from the issue is `#[ignore]`d (CI runs it in release); a scaled-down 8-second one
//! runs in the normal suite.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tachymeter::{Engine, Opts};
use tachymeter_export::{MetricsServer, ServerConfig};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// An engine whose snapshot is big enough that `/snapshot.json` fills socket buffers quickly:
/// 200 counters and 20 histograms, flushed once.
fn big_engine() -> Arc<Engine> {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let mut counters = Vec::new();
    for i in 0..200u64 {
        let counter = engine
            .counter(Opts::new(format!("requests_{i}")).label("route", format!("/api/v1/item/{i}")))
            .unwrap();
        counter.add(i + 1);
        counters.push(counter);
    }
    let mut histograms = Vec::new();
    for i in 0..20u64 {
        let histogram = engine
            .histogram(Opts::new(format!("latency_{i}")).unit("nanoseconds"))
            .unwrap();
        for v in 1..=2_000u64 {
            histogram.record(v * v * (i + 1));
        }
        histograms.push(histogram);
    }
    engine.flush();
    engine
}

fn start(engine: &Arc<Engine>, config: ServerConfig) -> MetricsServer {
    let source = engine.clone();
    MetricsServer::start(config, move || source.snapshot()).expect("server starts")
}

/// One scrape of `/metrics` on a fresh connection. `Ok(latency)` if a complete 200 response
/// (ending with the last histogram's family) arrives within `limit`.
fn scrape(addr: SocketAddr, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream =
        TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_write_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .map_err(|e| format!("write: {e}"))?;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = limit
            .checked_sub(started.elapsed())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| format!("timed out after {} bytes", bytes.len()))?;
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!("timed out after {} bytes", bytes.len()))
            }
            Err(e) => return Err(format!("read after {} bytes: {e}", bytes.len())),
        }
    }
    if !bytes.starts_with(b"HTTP/1.1 200 ") {
        return Err(format!("not a 200: {} bytes", bytes.len()));
    }
    let text = String::from_utf8_lossy(&bytes);
    if !text.contains("latency_19_seconds_count ") || !text.contains("requests_199_total") {
        return Err(format!("truncated body: {} bytes", bytes.len()));
    }
    Ok(started.elapsed())
}

/// Client threads that each hold one connection and reconnect when the server closes it,
/// until stopped or `limit` has passed. Returns how many connections each opened.
struct Attackers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Attackers {
    /// `connections` clients that each pipeline `requests` × `GET /snapshot.json` and never
    /// read a byte. Once everything is written they keep probing with blank lines (which HTTP
    /// allows between requests) to notice when the server hangs up.
    fn pipeliners(
        addr: SocketAddr,
        connections: usize,
        requests: usize,
        limit: Duration,
    ) -> Attackers {
        let payload: Arc<Vec<u8>> = Arc::new(
            format!("GET /snapshot.json HTTP/1.1\r\nHost: {addr}\r\n\r\n")
                .repeat(requests)
                .into_bytes(),
        );
        Attackers::spawn(connections, limit, move |stop, deadline| {
            let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
                return;
            };
            // The attacker never blocks for long: a full socket buffer just means "try again".
            let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let chunk: &[u8] = if sent < payload.len() {
                    &payload[sent..]
                } else {
                    std::thread::sleep(Duration::from_millis(100));
                    b"\r\n"
                };
                match stream.write(chunk) {
                    Ok(0) => return,
                    Ok(n) if sent < payload.len() => sent += n,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    // Closed by the server: reconnect.
                    Err(_) => return,
                }
            }
        })
    }

    /// `connections` clients that each send one keep-alive request, read the response, and
    /// then sit idle until the server closes the connection.
    fn idle_keep_alive(addr: SocketAddr, connections: usize, limit: Duration) -> Attackers {
        Attackers::spawn(connections, limit, move |stop, deadline| {
            let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
                return;
            };
            let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            if stream.write_all(request.as_bytes()).is_err() {
                return;
            }
            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        })
    }

    /// `connections` clients that each send a request head one byte every 100 ms and never
    /// finish it (slowloris).
    fn slowloris(addr: SocketAddr, connections: usize, limit: Duration) -> Attackers {
        Attackers::spawn(connections, limit, move |stop, deadline| {
            let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
                return;
            };
            let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
            if stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .is_err()
            {
                return;
            }
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
                if stream.write_all(b"X").is_err() {
                    return;
                }
            }
        })
    }

    /// Runs `connection` (one connection's life) over and over on each of `connections`
    /// threads, pausing 10 ms between connections.
    fn spawn<C>(connections: usize, limit: Duration, connection: C) -> Attackers
    where
        C: Fn(&AtomicBool, Instant) + Clone + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + limit;
        let threads = (0..connections)
            .map(|_| {
                let (stop, connection) = (stop.clone(), connection.clone());
                std::thread::spawn(move || {
                    let mut opened = 0;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        opened += 1;
                        connection(&stop, deadline);
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    opened
                })
            })
            .collect();
        Attackers { stop, threads }
    }

    /// Stops every client; returns the number of connections opened in total.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

/// Scrapes `count` times, one scrape starting every `every`; returns each scrape's start (since
/// the first) and outcome.
fn scrape_series(
    addr: SocketAddr,
    count: u32,
    every: Duration,
    limit: Duration,
) -> Vec<(Duration, Result<Duration, String>)> {
    let started = Instant::now();
    (0..count)
        .map(|i| {
            let at = every * i;
            if let Some(wait) = at.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            (started.elapsed(), scrape(addr, limit))
        })
        .collect()
}

/// A scrape under attack counts as a success if its whole response arrives within this.
const SCRAPE_LIMIT: Duration = Duration::from_secs(1);

/// Runs the pipelining attack with `connections` clients against `config` while scraping
/// every `every` for `count` scrapes (each given [`SCRAPE_LIMIT`]); asserts that at least 90%
/// of the scrapes started after `warmup` succeed.
fn pipelining_attack(
    config: ServerConfig,
    connections: usize,
    count: u32,
    every: Duration,
    warmup: Duration,
) {
    let engine = big_engine();
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            ..config
        },
    );
    let addr = server.local_addr();
    assert!(
        scrape(addr, Duration::from_secs(5)).is_ok(),
        "scrape before the attack"
    );
    let attack_time = every * count + Duration::from_secs(5);
    let attackers = Attackers::pipeliners(addr, connections, 3_000, attack_time);
    let results = scrape_series(addr, count, every, SCRAPE_LIMIT);
    let opened = attackers.stop();
    let stats = server.stats();
    let counted: Vec<_> = results.iter().filter(|(at, _)| *at >= warmup).collect();
    let ok = counted.iter().filter(|(_, r)| r.is_ok()).count();
    let rate = ok as f64 / counted.len() as f64;
    let mut latencies: Vec<Duration> = counted.iter().filter_map(|(_, r)| r.clone().ok()).collect();
    latencies.sort();
    eprintln!(
        "pipelining attack: {ok}/{} scrapes after {warmup:?} succeeded ({:.1}%), {} overall; \
         median latency {:?}, max {:?}; attackers opened {opened} connections; {stats:?}",
        counted.len(),
        rate * 100.0,
        results.iter().filter(|(_, r)| r.is_ok()).count(),
        latencies.get(latencies.len() / 2),
        latencies.last(),
    );
    for (at, result) in &results {
        if let Err(e) = result {
            eprintln!("  scrape at {at:?} failed: {e}");
        }
    }
    assert!(
        rate >= 0.9,
        "only {:.1}% of scrapes succeeded",
        rate * 100.0
    );
    assert!(
        stats.connections_evicted > 0 || stats.write_timeouts > 0,
        "{stats:?}"
    );
    // The server is still fine afterwards.
    assert!(scrape(addr, Duration::from_secs(5)).is_ok());
    server.shutdown();
}

/// The attack: 64 connections each pipelining ~3,000 `GET /snapshot.json` and never
/// reading, reconnecting whenever the server hangs up, against the default limits; a scraper
/// once per second for 60 s must succeed at least 90% of the time after the first 10 s.
#[test]
#[ignore = "60 s; CI runs it in release"]
fn scrapes_survive_64_pipeliners_that_never_read_for_60s() {
    pipelining_attack(
        ServerConfig::default(),
        64,
        60,
        Duration::from_secs(1),
        Duration::from_secs(10),
    );
}

/// The same attack for 8 s, scaled to 16 connections (so that filling the pipeliners' socket
/// buffers with 800 KB JSON documents does not saturate a debug build on two cores) and with a
/// 2 s write timeout (so that connections time out and reconnect during the test).
#[test]
fn scrapes_survive_pipeliners_that_never_read() {
    pipelining_attack(
        ServerConfig {
            max_connections: 16,
            write_timeout: Duration::from_secs(2),
            ..ServerConfig::default()
        },
        16,
        16,
        Duration::from_millis(500),
        Duration::from_secs(2),
    );
}

#[test]
fn scrapes_succeed_every_time_with_64_idle_keep_alive_connections_open() {
    let engine = big_engine();
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            max_connections: 64,
            ..ServerConfig::default()
        },
    );
    let addr = server.local_addr();
    let attackers = Attackers::idle_keep_alive(addr, 64, Duration::from_secs(20));
    // Wait until all 64 are in (bounded).
    let started = Instant::now();
    while server.stats().requests < 64 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.stats().requests, 64, "{:?}", server.stats());
    let results = scrape_series(addr, 20, Duration::from_millis(100), Duration::from_secs(1));
    attackers.stop();
    let stats = server.stats();
    for (at, result) in &results {
        assert!(result.is_ok(), "scrape at {at:?}: {result:?}; {stats:?}");
    }
    assert!(stats.connections_evicted >= 1, "{stats:?}");
    assert_eq!(stats.connections_refused, 0, "{stats:?}");
    server.shutdown();
}

/// Reads from `stream` until the server closes it (EOF or reset) or `limit` passes; returns
/// what was read and whether the server closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while let Some(left) = limit
        .checked_sub(started.elapsed())
        .filter(|l| !l.is_zero())
    {
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (out, true),
            Err(_) => break,
        }
    }
    (out, false)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn max_requests_per_connection_closes_a_pipelined_connection() {
    let engine = big_engine();
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            max_requests_per_connection: 3,
            ..ServerConfig::default()
        },
    );
    let addr = server.local_addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    // Five pipelined keep-alive requests in one write (one segment, read by the server at once).
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n")
                .repeat(5)
                .as_bytes(),
        )
        .unwrap();
    let (bytes, closed) = read_until_closed(&mut stream, Duration::from_secs(3));
    let text = String::from_utf8_lossy(&bytes);
    assert!(closed, "connection still open after 3 s: {text}");
    assert_eq!(count(&bytes, b"HTTP/1.1 200 OK\r\n"), 3, "{text}");
    assert_eq!(count(&bytes, b"connection: close\r\n"), 1, "{text}");
    let last = text.rfind("HTTP/1.1 200 OK").unwrap();
    assert!(text[last..].contains("connection: close\r\n"), "{text}");
    let stats = server.stats();
    assert_eq!(
        (stats.requests, stats.request_limit_closes),
        (3, 1),
        "{stats:?}"
    );
    // A new connection is served again.
    assert!(scrape(addr, Duration::from_secs(5)).is_ok());
    server.shutdown();
}

#[test]
fn a_client_that_stops_reading_is_closed_after_write_timeout() {
    let engine = big_engine();
    let write_timeout = Duration::from_millis(300);
    let server = start(
        &engine,
        ServerConfig {
            addr: loopback(),
            write_timeout,
            // Far away, so that only the write timeout can close the connection.
            idle_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            ..ServerConfig::default()
        },
    );
    let addr = server.local_addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    let requests = 100;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream
        .write_all(
            format!("GET /snapshot.json HTTP/1.1\r\nHost: {addr}\r\n\r\n")
                .repeat(requests)
                .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();
    while server.stats().write_timeouts == 0 && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let stats = server.stats();
    assert_eq!(stats.write_timeouts, 1, "not closed within 5 s: {stats:?}");
    assert!(took >= write_timeout, "closed after {took:?}");
    assert_eq!(
        (stats.idle_timeouts, stats.header_timeouts),
        (0, 0),
        "{stats:?}"
    );
    // Reading late: what was buffered, then the server's close; far fewer than 100 responses.
    let (bytes, closed) = read_until_closed(&mut stream, Duration::from_secs(3));
    assert!(closed, "the connection was not closed");
    let responses = count(&bytes, b"HTTP/1.1 200 OK\r\n");
    assert!(responses < requests, "{responses} responses");
    assert!(scrape(addr, Duration::from_secs(5)).is_ok());
    server.shutdown();
}

#[test]
fn scrapes_get_past_64_slowloris_connections_after_the_grace() {
    let engine = big_engine();
    let config = ServerConfig {
        addr: loopback(),
        ..ServerConfig::default()
    };
    let grace = config.new_connection_grace;
    let server = start(&engine, config);
    let addr = server.local_addr();
    let attackers = Attackers::slowloris(addr, 64, Duration::from_secs(20));
    let started = Instant::now();
    while server.stats().connections_accepted < 64 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        server.stats().connections_accepted,
        64,
        "{:?}",
        server.stats()
    );
    // Their heads are unfinished, so they are spared only during their grace; the header read
    // timeout (5 s) is far away.
    std::thread::sleep(grace + Duration::from_millis(200));
    let results = scrape_series(addr, 20, Duration::from_millis(100), Duration::from_secs(1));
    attackers.stop();
    let stats = server.stats();
    for (at, result) in &results {
        assert!(result.is_ok(), "scrape at {at:?}: {result:?}; {stats:?}");
    }
    assert!(stats.connections_evicted >= 1, "{stats:?}");
    assert_eq!(stats.connections_refused, 0, "{stats:?}");
    server.shutdown();
}
