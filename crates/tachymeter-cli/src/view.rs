//! The live view (whole frames on the terminal through [`Screen`], or one line per new
//! snapshot) and the final summary.

use std::io::{Stdout, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use ratatui::backend::CrosstermBackend;

use tachymeter::{HistogramData, HistogramSnapshot, MetricValue, Snapshot};
use tachymeter_monitor::alerting::{AlertManager, EventKind, Severity};
use tachymeter_monitor::ResourceSnapshot;

use crate::alerts::{self, Phase};
use crate::screen::Screen;
use crate::workload::{ErrorKind, Metrics, Stage, INSTANCE};
use crate::Overhead;
use std::sync::Arc;

/// Renders snapshots to stdout.
pub struct View {
    /// The terminal while the live view is up (`None`: plain lines).
    screen: Option<Screen<CrosstermBackend<Stdout>>>,
    threads: usize,
    addr: Option<SocketAddr>,
    /// The sequence of the last snapshot shown (plain mode prints each snapshot once).
    shown: Option<u64>,
    /// The monitors the workload records into (their statistics are read from snapshots).
    metrics: Arc<Metrics>,
    /// The demo's rules and their events.
    alerts: AlertManager,
    /// Alert events already printed (plain mode).
    printed: usize,
    /// The phase now and when it ends (time since the start).
    phase: (Phase, Option<Duration>),
}

fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> (u128, f64) {
    match snapshot.get(name, labels).map(|m| &m.value) {
        Some(MetricValue::Counter(c)) => (c.total, c.rate),
        _ => (0, 0.0),
    }
}

/// A counter of the demo's monitors (label `instance` = [`INSTANCE`], plus `kind` if given).
fn monitor_counter(snapshot: &Snapshot, name: &str, kind: Option<&str>) -> (u128, f64) {
    match kind {
        Some(k) => counter(snapshot, name, &[("instance", INSTANCE), ("kind", k)]),
        None => counter(snapshot, name, &[("instance", INSTANCE)]),
    }
}

/// Requests since the start and per second over the last interval: every inference the
/// inference monitor recorded, plus the invalid requests that never reached inference.
fn requests(snapshot: &Snapshot, metrics: &Metrics) -> (u128, f64) {
    let stats = metrics.inference.statistics_of(snapshot);
    let (invalid, invalid_rate) = monitor_counter(
        snapshot,
        "inference_errors_total",
        Some(ErrorKind::InvalidInput.name()),
    );
    let interval = snapshot.interval().as_secs_f64();
    let recent = match snapshot
        .get("inference_time", &[("instance", INSTANCE)])
        .map(|m| &m.value)
    {
        Some(MetricValue::Histogram(h)) if interval > 0.0 => h.interval.count() as f64 / interval,
        _ => 0.0,
    };
    (
        u128::from(stats.total_requests) + invalid,
        recent + invalid_rate,
    )
}

/// One line per alert episode of `history`: `DecodeErrors critical: fired at 11.2s (24.9%),
/// resolved at 16.0s (1.1%)`.
fn episodes(history: &[tachymeter_monitor::alerting::AlertEvent]) -> Vec<String> {
    struct Episode<'a> {
        alert: &'a str,
        severity: Severity,
        fired: String,
        resolved: Option<String>,
    }
    let at = |e: &tachymeter_monitor::alerting::AlertEvent| {
        format!(
            "{:.1}s ({})",
            e.uptime_seconds,
            alerts::show(&e.alert, e.current_value)
        )
    };
    let mut out: Vec<Episode> = Vec::new();
    for e in history {
        let open = out
            .iter_mut()
            .rev()
            .find(|x| x.alert == e.alert && x.resolved.is_none());
        match (e.event, open) {
            (EventKind::Firing, _) => out.push(Episode {
                alert: &e.alert,
                severity: e.severity,
                fired: at(e),
                resolved: None,
            }),
            (EventKind::Escalated, Some(x)) => x.severity = e.severity,
            (EventKind::Resolved, Some(x)) => x.resolved = Some(at(e)),
            (_, None) => {}
        }
    }
    out.iter()
        .map(|x| {
            let end = x
                .resolved
                .as_ref()
                .map_or_else(|| "still active".to_owned(), |r| format!("resolved at {r}"));
            format!("{} {}: fired at {}, {end}", x.alert, x.severity, x.fired)
        })
        .collect()
}

fn micros(ns: Option<f64>) -> String {
    ns.map_or_else(|| "-".to_owned(), |ns| format!("{:.1}", ns / 1000.0))
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.2}%", 100.0 * part / whole)
    } else {
        "-".to_owned()
    }
}

/// Lines describing `snapshot`: throughput, per-stage quantiles over the last interval,
/// error and cache-hit rates.
fn lines(
    snapshot: &Snapshot,
    metrics: &Metrics,
    elapsed: Duration,
    threads: usize,
    addr: Option<SocketAddr>,
) -> Vec<String> {
    let (requests, rate) = requests(snapshot, metrics);
    let (hits, hit_rate) = monitor_counter(snapshot, "inference_cache_hits_total", None);
    let (misses, miss_rate) = monitor_counter(snapshot, "inference_cache_misses_total", None);
    let mut errors = 0;
    let mut error_rate = 0.0;
    let mut by_kind = Vec::new();
    for kind in ErrorKind::ALL {
        let (n, r) = monitor_counter(snapshot, "inference_errors_total", Some(kind.name()));
        errors += n;
        error_rate += r;
        by_kind.push(format!("{}={n}", kind.name()));
    }
    let age = SystemTime::now()
        .duration_since(snapshot.time())
        .unwrap_or_default();
    let mut out = vec![
        format!(
            "tachymeter demo  {:>5.1}s  threads {threads}  snapshot #{} ({:.1}s old)  {}",
            elapsed.as_secs_f64(),
            snapshot.sequence(),
            age.as_secs_f64(),
            addr.map_or_else(
                || "metrics off".to_owned(),
                |a| format!("http://{a}/metrics")
            )
        ),
        format!("requests  {requests:>12}  {rate:>12.0} req/s"),
        format!(
            "errors    {errors:>12}  {:>12} now   ({})",
            percent(error_rate, rate),
            by_kind.join(" ")
        ),
        format!(
            "cache     {:>12}  {:>12} now   (hit rate since start {})",
            hits,
            percent(hit_rate, hit_rate + miss_rate),
            percent(hits as f64, (hits + misses) as f64)
        ),
        format!(
            "{:<12} {:>10} {:>10} {:>10} {:>10}   (µs, last interval)",
            "stage", "count", "p50", "p95", "p99"
        ),
    ];
    out.extend(stage_rows(snapshot, |h| &h.interval));
    out
}

/// One row per stage plus the whole request: count, p50, p95, p99 (µs) of the data `pick`
/// selects (last interval or whole run).
fn stage_rows(snapshot: &Snapshot, pick: fn(&HistogramSnapshot) -> &HistogramData) -> Vec<String> {
    let stages = Stage::ALL.iter().map(|s| {
        let labels = vec![("instance", INSTANCE), ("operation", s.name())];
        ("profile_wall_time", s.name(), labels)
    });
    let mut rows = Vec::new();
    for (name, label, labels) in stages.chain([("demo_request_latency", "request", vec![])]) {
        if let Some(MetricValue::Histogram(h)) = snapshot.get(name, &labels).map(|m| &m.value) {
            let d = pick(h);
            rows.push(format!(
                "{label:<12} {:>10} {:>10} {:>10} {:>10}",
                d.count(),
                micros(d.p50()),
                micros(d.p95()),
                micros(d.p99())
            ));
        }
    }
    rows
}

impl View {
    /// A view; `tui` draws whole frames on the terminal (alternate screen) until
    /// [`end_live`](Self::end_live), otherwise one line per new snapshot.
    ///
    /// # Errors
    /// The terminal could not be set up.
    pub fn new(
        tui: bool,
        threads: usize,
        addr: Option<SocketAddr>,
        metrics: Arc<Metrics>,
        alerts: AlertManager,
    ) -> std::io::Result<View> {
        if let Some(addr) = addr {
            println!("serving http://{addr}/metrics (also /snapshot.json, /healthz)");
            println!("dashboard: http://{addr}/");
        }
        Ok(View {
            screen: if tui { Some(Screen::stdout()?) } else { None },
            threads,
            addr,
            shown: None,
            metrics,
            alerts,
            printed: 0,
            phase: (Phase::Normal, None),
        })
    }

    /// Waits up to `timeout`; `true` when the user asked to quit the live view (`q`, `Esc`,
    /// Ctrl-C on the terminal).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        match self.screen.as_mut() {
            Some(s) => s.wait(timeout).unwrap_or(false),
            None => {
                std::thread::sleep(timeout);
                false
            }
        }
    }

    /// Ends the live view: restores the terminal (its last frame goes with the alternate
    /// screen); what follows is printed as plain lines.
    pub fn end_live(&mut self) {
        self.screen = None;
    }

    /// A new phase began at `elapsed`, lasting `left`: a line in plain mode, the phase line of
    /// the live view otherwise.
    pub fn phase(&mut self, phase: Phase, left: Duration, elapsed: Duration) {
        self.phase = (phase, Some(elapsed + left));
        if self.screen.is_none() {
            println!(
                "phase: {} for {:.1}s at t={:.1}s",
                phase.describe(),
                left.as_secs_f64(),
                elapsed.as_secs_f64()
            );
        }
    }

    /// The live view's phase and active-alerts lines.
    fn alert_lines(&self, elapsed: Duration) -> [String; 2] {
        let (phase, end) = self.phase;
        let left = end.map_or_else(String::new, |end| {
            format!(" ({:.0}s left)", end.saturating_sub(elapsed).as_secs_f64())
        });
        let active: Vec<String> = self
            .alerts
            .active()
            .iter()
            .map(|a| {
                let value = a
                    .current_value
                    .map_or_else(|| "-".to_owned(), |v| alerts::show(&a.alert, v));
                format!("{} {} {value}", a.alert, a.severity)
            })
            .collect();
        let active = if active.is_empty() {
            "none active".to_owned()
        } else {
            active.join(", ")
        };
        [
            format!("phase     {}{left}", phase.describe()),
            format!("alerts    {active}"),
        ]
    }

    /// Shows `snapshot`: a new frame on the terminal (also for the same snapshot: the age
    /// and the phase's time left move on), or, in plain mode, one line per new snapshot.
    pub fn refresh(&mut self, snapshot: &Snapshot, elapsed: Duration) {
        if self.screen.is_some() {
            let mut text = lines(snapshot, &self.metrics, elapsed, self.threads, self.addr);
            text.extend(self.alert_lines(elapsed));
            text.push(String::new());
            text.push("q: end the workload early and print the summary".to_owned());
            let drawn = self.screen.as_mut().map(|s| s.draw(&text));
            if let Some(Err(e)) = drawn {
                self.screen = None;
                eprintln!("live view disabled: {e}");
            }
            return;
        }
        if self.shown == Some(snapshot.sequence()) {
            return;
        }
        self.shown = Some(snapshot.sequence());
        let mut stdout = std::io::stdout().lock();
        let (requests, rate) = requests(snapshot, &self.metrics);
        let p99 = |stage: Stage| match snapshot
            .get(
                "profile_wall_time",
                &[("instance", INSTANCE), ("operation", stage.name())],
            )
            .map(|m| &m.value)
        {
            Some(MetricValue::Histogram(h)) => micros(h.interval.p99()),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            stdout,
            "t={:.1}s snapshot=#{} requests={requests} rate={rate:.0}/s p99_us: preprocess={} inference={} serialize={}",
            elapsed.as_secs_f64(),
            snapshot.sequence(),
            p99(Stage::Preprocess),
            p99(Stage::Inference),
            p99(Stage::Serialize),
        );
        let history = self.alerts.history();
        for e in history.iter().skip(self.printed) {
            let _ = writeln!(stdout, "{}", alerts::event_line(e));
        }
        self.printed = self.printed.max(history.len());
        let _ = stdout.flush();
    }

    /// The alerts that fired during the run (when, how high, when they resolved), the rules
    /// that stayed quiet, and the latest resource reading.
    pub fn alerts_summary(&self, resources: Option<&ResourceSnapshot>) {
        let summary = self.alerts.summary();
        println!(
            "alerts: {} fired, {} resolved, {} active at the end ({} rules, {} evaluations)",
            summary.total_alerts,
            summary.resolved_alerts,
            summary.active_alerts.len(),
            self.alerts.rules().len(),
            summary.evaluations
        );
        for episode in episodes(&self.alerts.history()) {
            println!("  {episode}");
        }
        let quiet: Vec<String> = self
            .alerts
            .status()
            .into_iter()
            .filter(|s| s.fired == 0)
            .map(|s| s.alert)
            .collect();
        if !quiet.is_empty() {
            println!("  quiet: {}", quiet.join(", "));
        }
        if let Some(r) = resources {
            let process = r.process.as_ref();
            let cpu = process.and_then(|p| p.cpu_percent);
            let rss = process.and_then(|p| p.resident_memory_bytes);
            println!(
                "resources (last reading): process {} CPU, {} resident; system {:.0}% CPU, {:.0}% memory",
                cpu.map_or_else(|| "-".to_owned(), |c| format!("{c:.0}%")),
                rss.map_or_else(|| "-".to_owned(), |b| format!("{:.0} MiB", b as f64 / 1048576.0)),
                r.cpu_percent,
                r.memory_percent
            );
        }
    }

    /// A status line (ends the live view).
    pub fn note(&mut self, text: &str) {
        self.end_live();
        println!("{text}");
    }

    /// The final summary.
    pub fn summary(
        &mut self,
        snapshot: &Snapshot,
        elapsed: Duration,
        threads: usize,
        overhead: &Overhead,
    ) {
        // Whole-run figures of the workload alone (`snapshot` was taken before the overhead
        // rounds), so no per-interval rate appears here.
        let (requests, _) = requests(snapshot, &self.metrics);
        let secs = elapsed.as_secs_f64();
        println!("\n=== summary ===");
        println!(
            "workload: {requests} requests in {secs:.2}s on {threads} threads = {:.0} req/s",
            requests as f64 / secs
        );
        let mut errors = 0;
        let mut by_kind = Vec::new();
        for kind in ErrorKind::ALL {
            let (n, _) = monitor_counter(snapshot, "inference_errors_total", Some(kind.name()));
            errors += n;
            by_kind.push(format!("{}={n}", kind.name()));
        }
        println!(
            "errors:   {errors} = {} of requests ({})",
            percent(errors as f64, requests as f64),
            by_kind.join(" ")
        );
        let (hits, _) = monitor_counter(snapshot, "inference_cache_hits_total", None);
        let (misses, _) = monitor_counter(snapshot, "inference_cache_misses_total", None);
        println!(
            "cache:    {hits} hits of {} lookups = {}",
            hits + misses,
            percent(hits as f64, (hits + misses) as f64)
        );
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>10}   (µs, whole run)",
            "stage", "count", "p50", "p95", "p99"
        );
        for row in stage_rows(snapshot, |h| &h.cumulative) {
            println!("{row}");
        }
        let json = self.metrics.serialization.metrics("json");
        if let Some(ser) = json
            .operations
            .get(&tachymeter_monitor::Operation::Serialize)
        {
            println!(
                "serialization (json): {} records, {:.1} MB, {:.0} MB/s while encoding, {:.2}% failed to decode",
                ser.count,
                ser.total_bytes as f64 / 1e6,
                ser.bytes_per_second / 1e6,
                (1.0 - ser.success_rate) * 100.0
            );
        }
        let breakdown: Vec<String> = self
            .metrics
            .profiler
            .time_breakdown()
            .iter()
            .map(|(stage, share)| format!("{stage} {:.0}%", share * 100.0))
            .collect();
        println!("time by stage (profiler): {}", breakdown.join(", "));
        let (lo, hi) = overhead.percent_ci();
        println!(
            "instrumentation overhead: {:+.1}% (95% CI {lo:+.1}…{hi:+.1}%) = {:+.1} ns per request, {:+.2} ns per record at {:.1} records per request",
            overhead.percent(),
            overhead.extra_ns,
            overhead.ns_per_record(),
            overhead.records_per_request,
        );
        println!(
            "  (1 thread; median of {} paired rounds of {} requests, plain {:.0} ns per request; the interval is a bootstrap over the pairs: run-to-run noise on a shared machine)",
            overhead.pairs, overhead.requests, overhead.plain_ns
        );
    }
}
