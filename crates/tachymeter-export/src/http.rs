//! The `/metrics` endpoint: a small HTTP/1.1 server on one background thread.
//!
//! Built on `hyper` 1 (HTTP parsing, header limits, header read timeout) driven by a
//! current-thread `tokio` runtime, so the whole server is one OS thread. Every request reads
//! the latest published snapshot through the caller's snapshot function (for an engine,
//! `engine.snapshot()`: one atomic load, no lock shared with writers), so a scrape never slows
//! a recording thread.
//!
//! Routes: `GET /metrics` (format chosen from `Accept`, see [`ScrapeFormat::from_accept`]),
//! `GET /snapshot.json`, `GET /snapshot.csv`, `GET /healthz`. `HEAD` is accepted wherever `GET`
//! is. Other methods get 405, other paths 404, oversized request heads 431 (hyper), and a client
//! that does not finish its request head within [`ServerConfig::header_read_timeout`] is
//! disconnected. Connections beyond [`ServerConfig::max_connections`] are closed on accept, and
//! each connection lives at most [`ServerConfig::max_connection_lifetime`].

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tachymeter::Snapshot;
use tokio::sync::{oneshot, Semaphore};

use crate::family::ExportConfig;
use crate::negotiate::ScrapeFormat;
use crate::{encode_csv, encode_json, encode_openmetrics, encode_protobuf, encode_text};

/// Default bind address (loopback; the port is the one commonly used for OpenTelemetry-style
/// Prometheus exporters).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// Server options.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind. Default [`DEFAULT_ADDR`]; port 0 picks a free port (see
    /// [`MetricsServer::local_addr`]).
    pub addr: SocketAddr,
    /// A client must send its whole request head within this time. Default 5 s.
    pub header_read_timeout: Duration,
    /// Largest request head (request line plus headers) in bytes; larger gets 431.
    /// Default and minimum 8192 (hyper's floor).
    pub max_header_bytes: usize,
    /// Concurrent connections; more are closed right after accept. Default 64.
    pub max_connections: usize,
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
            max_header_bytes: 8192,
            max_connections: 64,
            max_connection_lifetime: Duration::from_secs(300),
            export: ExportConfig::default(),
        }
    }
}

/// A running server. Dropping it (or calling [`MetricsServer::shutdown`]) stops accepting,
/// closes open connections and joins the server thread.
#[must_use = "dropping the handle stops the server"]
pub struct MetricsServer {
    addr: SocketAddr,
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
        });
        let thread = std::thread::Builder::new()
            .name("tachymeter-http".to_owned())
            .spawn(move || {
                runtime.block_on(serve(listener, config, shared, stop_rx));
                // Dropping the runtime here cancels every connection task still running.
            })?;
        Ok(MetricsServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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

async fn serve<F>(
    listener: StdListener,
    config: ServerConfig,
    shared: Arc<Shared<F>>,
    mut stop: oneshot::Receiver<()>,
) where
    F: Fn() -> Arc<Snapshot> + Send + Sync + 'static,
{
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(_) => return,
    };
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
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
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        let service = hyper::service::service_fn(move |request| {
            let response = respond(&*shared, &request);
            async move { Ok::<_, Infallible>(response) }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let lifetime = config.max_connection_lifetime;
        tokio::spawn(async move {
            // Errors here are client misbehaviour (resets, timeouts, malformed requests that
            // hyper already answered); there is nobody to report them to.
            let _ = tokio::time::timeout(lifetime, connection).await;
            drop(permit);
        });
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
        _ => return plain(StatusCode::NOT_FOUND, "not found\n"),
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
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
