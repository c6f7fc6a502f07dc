//! A live web dashboard served by the metrics endpoint: a page at `/` that refreshes itself
//! every second from the JSON routes `/api/v1/...` of the same server.
//!
//! [`WebDashboard`] implements [`Routes`], the extension point of
//! [`MetricsServer`](tachymeter_export::MetricsServer): pass it to
//! [`MetricsServer::start_with_routes`](tachymeter_export::MetricsServer::start_with_routes)
//! and open `http://127.0.0.1:9464/`. Requests are answered on the server's thread from the
//! latest published snapshot ([`Engine::snapshot`]: one atomic load), the engine's history
//! ([`Engine::range`]: the series' history lock, which only the aggregator shares), the alert
//! manager's state and the resource monitor's latest reading. No request touches a recording
//! thread or triggers a collection, and the server's limits and timeouts
//! ([`ServerConfig`](tachymeter_export::ServerConfig)) apply to these routes as to `/metrics`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tachymeter::Engine;
//! use tachymeter_export::{MetricsServer, ServerConfig};
//! use tachymeter_report::web::WebDashboard;
//!
//! let engine = Arc::new(Engine::new());
//! let source = engine.clone();
//! let dashboard = Arc::new(WebDashboard::new(engine.clone()).title("my service"));
//! let server =
//!     MetricsServer::start_with_routes(ServerConfig::default(), move || source.snapshot(), dashboard)
//!         .unwrap();
//! println!("dashboard: http://{}/", server.local_addr());
//! ```
//!
//! # The page
//!
//! Self-contained: the HTML, one script and one style sheet are compiled into the binary
//! (about 16 KB) and served by the endpoint itself; the page's `Content-Security-Policy`
//! allows nothing but the same origin, so no request leaves the machine. It shows the
//! headline figures, the active alerts, resource usage, one row per monitor and per series
//! (throughput, error rate, p50/p95/p99 over the last minutes), and the engine's health
//! statistics; clicking a histogram series draws its latency distribution. It says **stale**
//! when the data is older than `stale_after_seconds`, and **process gone** when the server
//! stops answering.
//!
//! # API (version 1)
//!
//! Every route answers `GET` (and `HEAD`) with `Cache-Control: no-store`. Paths carry the API
//! version; within a version fields may be added, never removed or renamed. Times are seconds
//! (`*_unix_seconds` since the Unix epoch, `uptime_seconds` since the engine started);
//! latencies are in each series' `unit` (seconds for a `seconds` histogram); non-finite
//! numbers are `null`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the dashboard page (`text/html`) |
//! | `GET /assets/dashboard.js`, `/assets/dashboard.css` | its script and style sheet |
//! | `GET /api/v1/dashboard` | a [`DashboardDoc`] (`application/json`) |
//! | `GET /api/v1/distribution?series=KEY` | a [`Distribution`] of histogram `KEY` (`application/json`); 400 without `series`, 404 for no such histogram |
//!
//! `/api/v1/dashboard` fields ([`DashboardDoc`]):
//!
//! | field | what |
//! |---|---|
//! | `api_version` | [`API_VERSION`] |
//! | `title` | the page title |
//! | `generated_unix_seconds`, `snapshot_unix_seconds`, `data_age_seconds` | when this answer was made, when its snapshot was collected, and the difference |
//! | `stale_after_seconds` | the page says "stale" past this age: 3 intervals, at least 3 s |
//! | `interval_seconds`, `uptime_seconds`, `sequence` | the snapshot's interval, uptime and sequence number |
//! | `range_seconds` | the horizon of the range figures (default 300: the last 5 minutes) |
//! | `summary` | [`DashboardFigures`]: the requests series, total requests, throughput, error rate and p50/p95/p99 over the engine's rolling window, active alerts, CPU/memory/disk ratios |
//! | `monitors` | [`MonitorRow`]`[]`: per monitor, its requests series, requests, throughput, errors, error rate and p50/p95/p99 over the range |
//! | `series` | [`SeriesRow`]`[]`: per series, `series` (the key), `name`, `labels`, `monitor`, `kind`, `unit`, `total` or `value`, `throughput` and p50/p95/p99 over the range, `window_throughput`, `relative_error` |
//! | `alerts` | [`AlertEntry`]`[]`: alerts firing now |
//! | `resources` | [`ResourceDoc`] or `null`: the latest CPU, memory, disk and process reading |
//! | `engine` | [`EngineDoc`]: aggregator running and panics, collection time, series, threads and slots, and every count of dropped, rejected, clamped or overwritten input |
//!
//! `/api/v1/distribution` answers a [`Distribution`]: `series`, `unit`, `source` (`range`: the
//! merged history of the last `range_seconds`; `cumulative`: since the start, when the range
//! has no observation yet) and `buckets`, non-empty `[lower, upper, count]` in ascending order
//! (the zero bucket is `[0, 0, n]`). `KEY` is a `series` value of `/api/v1/dashboard`,
//! percent-encoded as JavaScript's `encodeURIComponent` writes it (`+` is taken literally).
//!
//! # Monitors
//!
//! A monitor is the group of series whose metric names share their first `_`-separated word
//! (`inference_time` and `inference_errors_total` are the `inference` monitor, as the
//! monitors of `tachymeter-monitor` name their series). Its requests are counted by its time
//! histogram (unit seconds, milliseconds, microseconds or nanoseconds) with the most
//! observations over the range, the first one on a tie; its errors are the summed increments
//! over the range of its counters whose name ends in `errors_total` or `_errors`; its error
//! rate is `errors / requests`. A monitor without such a histogram or such counters shows
//! `null` for what it lacks.
//!
//! # Cost
//!
//! The dashboard document is computed at most once per published snapshot (and once a
//! second, for the alerts and resources): one range query per series, and a
//! [`DashboardData`] refresh. Concurrent pages share it. Measured with `cargo bench -p
//! tachymeter-benches --bench dashboard` (1,000 series, a minute of history, on 2 cores
//! shared with other builds): about 15 ms to compute a document for a new snapshot, 0.36 ms
//! to answer from the cache, against 1.0 ms for a text scrape of the same engine in the same
//! run; the JSON body is about 345 bytes per series. The server thread does this work, so a
//! scrape arriving meanwhile waits for it; the recording threads never do.
#![forbid(unsafe_code)]

mod doc;

pub use doc::{DashboardDoc, EngineDoc, MonitorRow, ResourceDoc, SeriesRow, API_VERSION};

#[cfg(doc)]
use crate::report::AlertEntry;
use crate::report::{DashboardData, DashboardFigures, Distribution};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tachymeter::Engine;
use tachymeter_export::{RouteRequest, RouteResponse, Routes};
use tachymeter_monitor::alerting::AlertManager;
use tachymeter_monitor::ResourceMonitor;

/// The page's HTML.
const INDEX_HTML: &str = include_str!("assets/index.html");
/// The page's script.
const DASHBOARD_JS: &str = include_str!("assets/dashboard.js");
/// The page's style sheet.
const DASHBOARD_CSS: &str = include_str!("assets/dashboard.css");

/// The page's `Content-Security-Policy`: scripts, styles and fetches from the same origin
/// only, the favicon as a `data:` URL, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The default horizon of the range figures: the last 5 minutes.
pub const DEFAULT_RANGE: Duration = Duration::from_secs(300);

/// How long a computed [`DashboardDoc`] is reused while the snapshot has not changed (alerts
/// and resource readings change between snapshots).
const MAX_DOC_AGE: Duration = Duration::from_secs(1);

/// The live web dashboard of an engine (see the [module docs](self)): the routes `/`,
/// `/assets/...` and `/api/v1/...` for
/// [`MetricsServer::start_with_routes`](tachymeter_export::MetricsServer::start_with_routes).
pub struct WebDashboard {
    engine: Arc<Engine>,
    alerts: Option<Arc<AlertManager>>,
    resources: Option<Arc<ResourceMonitor>>,
    data: DashboardData,
    range: Duration,
    title: String,
    /// The latest document: its snapshot's sequence, when it was computed, the document.
    cache: Mutex<Option<(u64, Instant, Arc<DashboardDoc>)>>,
}

impl std::fmt::Debug for WebDashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDashboard")
            .field("title", &self.title)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl WebDashboard {
    /// The dashboard of `engine`: its series, health and summary; no alerts or resources
    /// until [`with_alerts`](Self::with_alerts) and [`with_resources`](Self::with_resources).
    pub fn new(engine: Arc<Engine>) -> WebDashboard {
        WebDashboard {
            data: DashboardData::new(engine.clone()),
            engine,
            alerts: None,
            resources: None,
            range: DEFAULT_RANGE,
            title: "tachymeter".into(),
            cache: Mutex::new(None),
        }
    }

    /// Shows the alerts firing in `alerts`.
    pub fn with_alerts(mut self, alerts: Arc<AlertManager>) -> WebDashboard {
        self.alerts = Some(alerts);
        self.rebuild_data()
    }

    /// Shows the latest reading of `resources`.
    pub fn with_resources(mut self, resources: Arc<ResourceMonitor>) -> WebDashboard {
        self.resources = Some(resources);
        self.rebuild_data()
    }

    /// The horizon of the range figures (default [`DEFAULT_RANGE`]). The engine's history
    /// answers it from the finest tier that covers it (10 s periods up to 10 minutes by
    /// default).
    pub fn range(mut self, range: Duration) -> WebDashboard {
        self.range = range;
        self
    }

    /// The page's title (default `tachymeter`).
    pub fn title(mut self, title: impl Into<String>) -> WebDashboard {
        self.title = title.into();
        self
    }

    fn rebuild_data(mut self) -> WebDashboard {
        let mut data = DashboardData::new(self.engine.clone());
        if let Some(a) = &self.alerts {
            data = data.with_alerts(a.clone());
        }
        if let Some(r) = &self.resources {
            data = data.with_resources(r.clone());
        }
        self.data = data;
        self
    }

    /// The `/api/v1/dashboard` document now: computed from the latest published snapshot, or
    /// the one computed for the same snapshot less than a second ago, with its times set to
    /// now.
    pub fn document(&self) -> DashboardDoc {
        let snapshot = self.engine.snapshot();
        let shared = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match cache.as_ref() {
                Some((seq, at, doc))
                    if *seq == snapshot.sequence() && at.elapsed() < MAX_DOC_AGE =>
                {
                    doc.clone()
                }
                _ => {
                    // Recomputed with the document (at most once per snapshot or second).
                    let summary: Arc<DashboardFigures> = self.data.refresh();
                    let doc = Arc::new(doc::build(doc::Inputs {
                        engine: &self.engine,
                        snapshot: &snapshot,
                        summary: (*summary).clone(),
                        resources: self.resources.as_ref().and_then(|r| r.latest()),
                        range: self.range,
                        title: &self.title,
                    }));
                    *cache = Some((snapshot.sequence(), Instant::now(), doc.clone()));
                    doc
                }
            }
        };
        let mut doc = (*shared).clone();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        doc.generated_unix_seconds = now;
        doc.data_age_seconds = if doc.sequence == 0 {
            // Nothing collected yet: as old as the engine.
            doc.uptime_seconds
        } else {
            (now - doc.snapshot_unix_seconds).max(0.0)
        };
        doc
    }

    /// The `/api/v1/distribution` answer for series `key` (see the [module docs](self)), or
    /// `None` when no histogram has that key.
    pub fn distribution(&self, key: &str) -> Option<Distribution> {
        doc::distribution(&self.engine, &self.engine.snapshot(), key, self.range)
    }

    fn json(value: &impl serde::Serialize) -> RouteResponse {
        // Plain data with string keys: serializing into memory cannot fail.
        let body = serde_json::to_vec(value).unwrap_or_default();
        RouteResponse::new("application/json", body)
    }

    fn distribution_route(&self, query: Option<&str>) -> RouteResponse {
        let key = query
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("series="))
            .map(|v| percent_encoding::percent_decode_str(v).decode_utf8());
        let error = |status: u16, message: String| {
            // Only called with 400 and 404, which `text` accepts: the fallback is never taken.
            RouteResponse::text(status, message)
                .unwrap_or_else(|_| RouteResponse::new("text/plain", &b""[..]))
        };
        match key {
            None => error(
                400,
                "missing ?series=KEY (a series of /api/v1/dashboard)\n".into(),
            ),
            Some(Err(_)) => error(400, "the series key is not UTF-8\n".into()),
            Some(Ok(key)) => match self.distribution(&key) {
                Some(d) => Self::json(&d),
                None => error(404, format!("no histogram series {key:?}\n")),
            },
        }
    }
}

impl Routes for WebDashboard {
    fn respond(&self, request: &RouteRequest<'_>) -> Option<RouteResponse> {
        let static_asset = |content_type: &'static str, body: &'static str| {
            RouteResponse::new(content_type, body.as_bytes())
        };
        Some(match request.path {
            "/" | "/index.html" => static_asset("text/html; charset=utf-8", INDEX_HTML)
                .header("content-security-policy", CONTENT_SECURITY_POLICY)
                // A valid constant header; `header` only refuses invalid ones.
                .unwrap_or_else(|_| static_asset("text/html; charset=utf-8", INDEX_HTML)),
            "/assets/dashboard.js" => static_asset("text/javascript; charset=utf-8", DASHBOARD_JS),
            "/assets/dashboard.css" => static_asset("text/css; charset=utf-8", DASHBOARD_CSS),
            "/api/v1/dashboard" => Self::json(&self.document()),
            "/api/v1/distribution" => self.distribution_route(request.query),
            _ => return None,
        })
    }
}
