//! The `/metrics` endpoint: a small HTTP/1.1 server on one background thread.
//!
//! Built on `hyper` 1 (HTTP parsing, header limits, header read timeout) driven by a
//! current-thread `tokio` runtime, so the whole server is one OS thread. Every request reads
//! the latest published snapshot through the caller's snapshot function (for an engine,
//! `engine.snapshot()`: one atomic load, no lock shared with writers), so a scrape never slows
//! a recording thread.
//!
//! Routes: `GET /metrics` (format chosen from `Accept`, see [`ScrapeFormat::from_accept`]),
//! `GET /snapshot.json`, `GET /snapshot.csv`, `GET /healthz`, and whatever the [`Routes`]
//! given to [`MetricsServer::start_with_routes`] answer (the web dashboard, for example).
//! `HEAD` is accepted wherever `GET` is. Other methods get 405, other paths 404, oversized
//! request heads 431 (hyper).
//!
//! Clients are not trusted: header, idle and write timeouts, a request limit per connection,
//! a lifetime, and a connection limit that evicts the quietest connection rather than turning
//! a scraper away. They are listed with their defaults on [`ServerConfig`]; each one that fires
//! is counted in the `ServerStats` returned by [`MetricsServer::stats`].
//!
//! Eviction bookkeeping, timeouts and request counts are per connection and live on the server
//! thread (`Rc`/`Cell` in a `LocalSet`); only the stats counters are shared with other threads.

use std::borrow::Cow;
use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tachymeter::Snapshot;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};
use tokio::time::{Instant, Sleep};

use crate::family::ExportConfig;
use crate::negotiate::ScrapeFormat;
use crate::routes::{RouteRequest, Routes};
use crate::{encode_csv, encode_json, encode_openmetrics, encode_protobuf, encode_text};

/// Default bind address (loopback; the port is the one commonly used for OpenTelemetry-style
/// Prometheus exporters).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// Server options.
///
/// # Limits
///
/// Each limit closes a misbehaving connection and is counted in `ServerStats`
/// ([`MetricsServer::stats`]):
///
/// | field | default | what it stops | counter |
/// |---|---|---|---|
/// | `header_read_timeout` | 5 s | slowloris: a request head trickled in byte by byte | `header_timeouts` |
/// | `idle_timeout` | 5 s | a connection that sends nothing while nothing is being written | `idle_timeouts` |
/// | `write_timeout` | 10 s | a client that does not read its responses (the writes stall) | `write_timeouts` |
/// | `max_requests_per_connection` | 100 | endless pipelining or keep-alive on one connection | `request_limit_closes` |
/// | `max_connection_lifetime` | 5 min | any connection, however busy | `lifetime_closes` |
/// | `max_connections` | 64 | too many sockets (see below) | `connections_evicted`, `connections_refused` |
///
/// When `max_connections` are open, a new connection does not simply lose: the open connection
/// that has been quiet longest is closed to make room (evicted). Quiet means no request started
/// and no response byte accepted by the client; bytes of an unfinished request head do not
/// count, so a slowloris head is as quiet as an idle keep-alive connection or a client that
/// stopped reading. A connection that has not sent a complete request head yet is spared for
/// its first `new_connection_grace` (default 1 s), so a newcomer is not evicted by the next
/// newcomer before it could ask for anything; only when every open connection is spared that
/// way is the new connection closed at once. Busy connections are the last to go, so a scraper
/// gets in even while every slot is held by clients that never read.
///
/// Each connection also answers at most one request per turn of the server's scheduler, so a
/// scrape waits behind at most one response per other busy connection, not behind whole
/// batches of pipelined ones.
///
/// In hyper 1.12 (the version this crate is built and tested with) the header read timeout
/// also runs while a keep-alive connection waits for its next request, so with the defaults an
/// idle keep-alive connection ends after 5 s either way; `idle_timeout` does not rely on that.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind. Default [`DEFAULT_ADDR`]; port 0 picks a free port (see
    /// [`MetricsServer::local_addr`]).
    pub addr: SocketAddr,
    /// A client must send its whole request head within this time, counted from when the
    /// server starts waiting for it (on a keep-alive connection: from the previous response).
    /// Stops slowloris. Default 5 s.
    pub header_read_timeout: Duration,
    /// A connection on which the server waits to read, with no byte moving in either direction
    /// for this long, is closed (idle keep-alive connections, clients that connect and send
    /// nothing). While a response write is stalled, [`write_timeout`](Self::write_timeout)
    /// applies instead. Default 5 s; zero disables it.
    pub idle_timeout: Duration,
    /// A connection whose response the client accepts no byte of for this long is closed: the
    /// client is not reading (or is too slow to matter). Default 10 s; zero disables it.
    pub write_timeout: Duration,
    /// After this many requests on one connection the response carries `Connection: close` and
    /// the server closes the connection once it is written; requests pipelined behind it are
    /// dropped. Default 100; 0 counts as 1.
    pub max_requests_per_connection: usize,
    /// Largest request head (request line plus headers) in bytes; larger gets 431.
    /// Default and minimum 8192 (hyper's floor).
    pub max_header_bytes: usize,
    /// Concurrent connections. A new connection beyond this evicts the open connection that has
    /// been quiet longest (no request started, no response byte accepted by the client), except
    /// one still in its [`new_connection_grace`](Self::new_connection_grace); when all are, the
    /// new connection is closed right after accept. Default 64.
    pub max_connections: usize,
    /// A connection that has not sent a complete request head yet cannot be evicted for this
    /// long after accept: time to send its first request. Default 1 s.
    pub new_connection_grace: Duration,
    /// Any connection is closed after this long, idle or not. Default 5 min.
    pub max_connection_lifetime: Duration,
    /// Encoder options.
    pub export: ExportConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: DEFAULT_ADDR.parse().expect("valid literal address"),
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_requests_per_connection: 100,
            max_header_bytes: 8192,
            max_connections: 64,
            new_connection_grace: Duration::from_secs(1),
            max_connection_lifetime: Duration::from_secs(300),
            export: ExportConfig::default(),
        }
    }
}

/// What the server's limits have done since it started, read with [`MetricsServer::stats`].
/// All counts are totals since start; each limit of [`ServerConfig`] has one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted and served (including those that later hit a limit).
    pub connections_accepted: u64,
    /// New connections closed right after accept: `max_connections` were open, all still in
    /// their `new_connection_grace`.
    pub connections_refused: u64,
    /// Open connections closed to make room for a new one.
    pub connections_evicted: u64,
    /// Requests received by the routes (hyper's own 400 and 431 answers are not counted).
    pub requests: u64,
    /// Connections closed because a request head was not complete within
    /// `header_read_timeout`.
    pub header_timeouts: u64,
    /// Connections closed by `idle_timeout`.
    pub idle_timeouts: u64,
    /// Connections closed by `write_timeout`.
    pub write_timeouts: u64,
    /// Connections that reached `max_requests_per_connection`.
    pub request_limit_closes: u64,
    /// Connections closed by `max_connection_lifetime`.
    pub lifetime_closes: u64,
}

/// One counter per [`ServerStats`] field.
#[derive(Clone, Copy)]
enum Event {
    Accepted,
    Refused,
    Evicted,
    Request,
    HeaderTimeout,
    IdleTimeout,
    WriteTimeout,
    RequestLimit,
    Lifetime,
}

/// The server's counters, shared with the handle.
///
/// # Synchronization
/// The server thread is the only writer, so a count is a plain `store(load + 1)`: no locked
/// read-modify-write, and no increment can be lost. Readers only load. Every access is
/// `Relaxed`: each counter is an independent monotonic total and nothing else is published
/// through it.
#[derive(Default)]
struct Counters([AtomicU64; 9]);

impl Counters {
    fn count(&self, event: Event) {
        let counter = &self.0[event as usize];
        // Relaxed: single writer (this thread), independent total; see the type's docs.
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    fn read(&self) -> ServerStats {
        // Relaxed: each total is read on its own; the fields need not be mutually consistent.
        let get = |event: Event| self.0[event as usize].load(Ordering::Relaxed);
        ServerStats {
            connections_accepted: get(Event::Accepted),
            connections_refused: get(Event::Refused),
            connections_evicted: get(Event::Evicted),
            requests: get(Event::Request),
            header_timeouts: get(Event::HeaderTimeout),
            idle_timeouts: get(Event::IdleTimeout),
            write_timeouts: get(Event::WriteTimeout),
            request_limit_closes: get(Event::RequestLimit),
            lifetime_closes: get(Event::Lifetime),
        }
    }
}

/// A running server. Dropping it (or calling [`MetricsServer::shutdown`]) stops accepting,
/// closes open connections and joins the server thread.
#[must_use = "dropping the handle stops the server"]
pub struct MetricsServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

struct Shared<F> {
    source: F,
    export: ExportConfig,
    routes: Option<Arc<dyn Routes>>,
}

impl MetricsServer {
    /// Binds `config.addr` and serves snapshots from `source` on a new thread.
    ///
    /// `source` is called once per request; pass `move || engine.snapshot()`.
    ///
    /// # Errors
    /// Binding the address, or creating the runtime or the thread, failed.
    pub fn start<F>(config: ServerConfig, source: F) -> io::Result<MetricsServer>
    where
        F: Fn() -> Arc<Snapshot> + Send + Sync + 'static,
    {
        Self::start_inner(config, source, None)
    }

    /// As [`start`](Self::start), and answers the paths the built-in routes do not know with
    /// `routes` (see [`Routes`]: called on the server thread, under the same limits and
    /// timeouts; a path it declines gets 404).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use tachymeter::Engine;
    /// use tachymeter_export::{MetricsServer, RouteRequest, RouteResponse, ServerConfig};
    ///
    /// let engine = Arc::new(Engine::new());
    /// let source = engine.clone();
    /// let hello = |req: &RouteRequest<'_>| {
    ///     (req.path == "/hello").then(|| RouteResponse::new("text/plain", &b"hi\n"[..]))
    /// };
    /// let server = MetricsServer::start_with_routes(
    ///     ServerConfig::default(),
    ///     move || source.snapshot(),
    ///     Arc::new(hello),
    /// )
    /// .unwrap();
    /// println!("http://{}/hello", server.local_addr());
    /// ```
    ///
    /// # Errors
    /// Binding the address, or creating the runtime or the thread, failed.
    pub fn start_with_routes<F>(
        config: ServerConfig,
        source: F,
        routes: Arc<dyn Routes>,
    ) -> io::Result<MetricsServer>
    where
        F: Fn() -> Arc<Snapshot> + Send + Sync + 'static,
    {
        Self::start_inner(config, source, Some(routes))
    }

    fn start_inner<F>(
        config: ServerConfig,
        source: F,
        routes: Option<Arc<dyn Routes>>,
    ) -> io::Result<MetricsServer>
    where
        F: Fn() -> Arc<Snapshot> + Send + Sync + 'static,
    {
        let listener = StdListener::bind(config.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            source,
            export: config.export.clone(),
            routes,
        });
        let counters = Arc::new(Counters::default());
        let server_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name("tachymeter-http".to_owned())
            .spawn(move || {
                // Connection tasks share per-connection state through `Rc`: they all run on
                // this thread, in this local set.
                let local = tokio::task::LocalSet::new();
                local.block_on(
                    &runtime,
                    serve(listener, config, shared, server_counters, stop_rx),
                );
                // Dropping the local set cancels every connection task still running.
                drop(local);
            })?;
        Ok(MetricsServer {
            addr,
            counters,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the limits have done so far (see `ServerStats`).
    pub fn stats(&self) -> ServerStats {
        self.counters.read()
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The receiver is gone only if the thread already ended.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has already been reported; nothing to add.
            let _ = thread.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// One open connection, as its task and the accept loop (both on the server thread) see it.
struct Conn {
    /// When the connection last did something useful: accepted, started a request, or had
    /// response bytes accepted by the client. Bytes of an unfinished request head do not count,
    /// so a slowloris head looks quiet. Eviction picks the oldest.
    active: Cell<Instant>,
    /// Requests started on this connection.
    requests: Cell<usize>,
    /// The accept loop asks the task to close the connection.
    evict: Notify,
}

async fn serve<F>(
    listener: StdListener,
    config: ServerConfig,
    shared: Arc<Shared<F>>,
    counters: Arc<Counters>,
    mut stop: oneshot::Receiver<()>,
) where
    F: Fn() -> Arc<Snapshot> + Send + Sync + 'static,
{
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(_) => return,
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    let max_requests = config.max_requests_per_connection.max(1);
    // Open connections; an entry dies when its task ends.
    let mut open: Vec<Weak<Conn>> = Vec::with_capacity(config.max_connections.clamp(1, 1024));
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: back off briefly
                // instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let now = Instant::now();
        open.retain(|conn| conn.strong_count() > 0);
        if open.len() >= config.max_connections.max(1) {
            if !evict_quietest(&mut open, now, config.new_connection_grace) {
                counters.count(Event::Refused);
                drop(stream);
                continue;
            }
            counters.count(Event::Evicted);
        }
        counters.count(Event::Accepted);
        let conn = Rc::new(Conn {
            active: Cell::new(now),
            requests: Cell::new(0),
            evict: Notify::new(),
        });
        open.push(Rc::downgrade(&conn));
        let service = {
            let (shared, conn, counters) = (shared.clone(), conn.clone(), counters.clone());
            hyper::service::service_fn(move |request| {
                let served = conn.requests.get().saturating_add(1);
                conn.requests.set(served);
                conn.active.set(Instant::now());
                counters.count(Event::Request);
                let last = served >= max_requests;
                if served == max_requests {
                    counters.count(Event::RequestLimit);
                }
                let shared = shared.clone();
                async move {
                    // One response per connection per turn of the scheduler: hyper would
                    // otherwise answer up to 16 pipelined requests in one poll, and a scraper
                    // would wait behind every pipeliner's batch of encodings.
                    tokio::task::yield_now().await;
                    let mut response = respond(&*shared, &request);
                    if last {
                        // hyper closes the connection after a response that says so.
                        response
                            .headers_mut()
                            .insert(CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let io = Guarded {
            stream,
            conn: conn.clone(),
            counters: counters.clone(),
            idle: Deadline::new(config.idle_timeout),
            write: Deadline::new(config.write_timeout),
            timed_out: None,
        };
        let connection = http.serve_connection(TokioIo::new(io), service);
        let lifetime = tokio::time::sleep(config.max_connection_lifetime);
        let counters = counters.clone();
        tokio::task::spawn_local(async move {
            tokio::select! {
                // Counted by the accept loop.
                () = conn.evict.notified() => {}
                () = lifetime => counters.count(Event::Lifetime),
                result = connection => {
                    // Other errors are client misbehaviour (resets, malformed requests that
                    // hyper already answered, our own I/O timeouts, counted where they fire);
                    // there is nobody to report them to.
                    if result.is_err_and(|e| e.is_timeout()) {
                        counters.count(Event::HeaderTimeout);
                    }
                }
            }
        });
    }
}

/// Asks the open connection that has been quiet longest, among those past their grace, to
/// close; returns whether there was one.
fn evict_quietest(open: &mut Vec<Weak<Conn>>, now: Instant, grace: Duration) -> bool {
    let quietest = open
        .iter()
        .enumerate()
        .filter_map(|(i, conn)| Some((i, conn.upgrade()?)))
        .filter(|(_, conn)| {
            // Before its first request `active` is the accept time.
            conn.requests.get() > 0 || now.saturating_duration_since(conn.active.get()) >= grace
        })
        .min_by_key(|(_, conn)| conn.active.get());
    let Some((i, conn)) = quietest else {
        return false;
    };
    // Stores a permit if the task is not waiting yet, so the request is never lost.
    conn.evict.notify_one();
    open.swap_remove(i);
    true
}

/// A clock that starts when an operation first has to wait and is stopped by progress.
struct Deadline {
    /// How long the operation may wait without progress; zero disables the clock.
    after: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    running: bool,
}

impl Deadline {
    fn new(after: Duration) -> Deadline {
        Deadline {
            after,
            sleep: None,
            running: false,
        }
    }

    /// The operation is waiting: starts the clock if it is not running and returns whether it
    /// has run out (otherwise `cx` is woken when it does).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.after.is_zero() {
            return false;
        }
        // A duration too long to represent as an instant never runs out.
        let Some(deadline) = Instant::now().checked_add(self.after) else {
            return false;
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.running {
            sleep.as_mut().reset(deadline);
            self.running = true;
        }
        sleep.as_mut().poll(cx).is_ready()
    }

    /// Progress: the next wait starts a fresh clock.
    fn stop(&mut self) {
        self.running = false;
    }
}

/// The socket as hyper sees it: enforces `idle_timeout` and `write_timeout` (a wait with no
/// progress for that long fails with [`io::ErrorKind::TimedOut`], which makes hyper close the
/// connection) and records useful activity in [`Conn::active`].
struct Guarded {
    stream: TcpStream,
    conn: Rc<Conn>,
    counters: Arc<Counters>,
    /// Runs while a read waits and no write is stalled; stopped by bytes in either direction.
    idle: Deadline,
    /// Runs while a write waits; stopped by bytes written.
    write: Deadline,
    /// Set once a timeout fired; every later call fails the same way (counted once).
    timed_out: Option<&'static str>,
}

impl Guarded {
    fn timeout(&mut self, event: Event, what: &'static str) -> io::Error {
        if self.timed_out.is_none() {
            self.counters.count(event);
            self.timed_out = Some(what);
        }
        io::Error::new(io::ErrorKind::TimedOut, what)
    }

    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if let Some(what) = self.timed_out {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
        }
        match write(Pin::new(&mut self.stream), cx) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.write.stop();
                    self.idle.stop();
                    self.conn.active.set(Instant::now());
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => {
                if self.write.expired(cx) {
                    let what = "client accepted no response byte within write_timeout";
                    return Poll::Ready(Err(self.timeout(Event::WriteTimeout, what)));
                }
                Poll::Pending
            }
            error => error,
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(what) = this.timed_out {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.idle.stop();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                // While a write is stalled, the write timeout is in charge.
                if !this.write.running && this.idle.expired(cx) {
                    let what = "client sent nothing within idle_timeout";
                    return Poll::Ready(Err(this.timeout(Event::IdleTimeout, what)));
                }
                Poll::Pending
            }
            error => error,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

fn respond<F>(shared: &Shared<F>, request: &Request<Incoming>) -> Response<Full<Bytes>>
where
    F: Fn() -> Arc<Snapshot>,
{
    let route = match request.uri().path() {
        "/metrics" => Route::Metrics,
        "/snapshot.json" => Route::Json,
        "/snapshot.csv" => Route::Csv,
        "/healthz" => Route::Health,
        path => return extra_route(shared.routes.as_deref(), path, request),
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return method_not_allowed();
    }
    let (content_type, body): (&'static str, Vec<u8>) = match route {
        Route::Health => ("text/plain; charset=utf-8", b"ok\n".to_vec()),
        Route::Json => ("application/json", encode_json(&(shared.source)())),
        Route::Csv => ("text/csv; charset=utf-8", encode_csv(&(shared.source)())),
        Route::Metrics => {
            let accept = request
                .headers()
                .get(hyper::header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            let format = ScrapeFormat::from_accept(accept);
            let snapshot = (shared.source)();
            let body = match format {
                ScrapeFormat::Text => encode_text(&snapshot, &shared.export).into_bytes(),
                ScrapeFormat::OpenMetrics => {
                    encode_openmetrics(&snapshot, &shared.export).into_bytes()
                }
                ScrapeFormat::Protobuf => encode_protobuf(&snapshot, &shared.export),
            };
            (format.content_type(), body)
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A path the built-in routes do not know: the extra routes' answer, or 404.
fn extra_route(
    routes: Option<&dyn Routes>,
    path: &str,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let asked = RouteRequest {
        path,
        query: request.uri().query(),
    };
    let Some(answer) = routes.and_then(|r| r.respond(&asked)) else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return method_not_allowed();
    }
    let parts = answer.into_parts();
    let body = match parts.body {
        Cow::Borrowed(b) => Bytes::from_static(b),
        Cow::Owned(b) => Bytes::from(b),
    };
    let mut response = Response::new(Full::new(body));
    // `RouteResponse` checked the status range, header names and values: the fallbacks below
    // are never taken.
    *response.status_mut() =
        StatusCode::from_u16(parts.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&parts.content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    for (name, value) in &parts.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(n, v);
        }
    }
    response
}

fn method_not_allowed() -> Response<Full<Bytes>> {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

enum Route {
    Metrics,
    Json,
    Csv,
    Health,
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
