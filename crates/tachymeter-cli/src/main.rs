//! The `tachymeter` command. `tachymeter demo` runs a multi-threaded instrumented workload
//! (see [`workload`]) with a resource monitor and alert rules, then a fault phase that makes
//! the alerts fire and resolve (see [`alerts`]), shows a live view refreshed every second,
//! serves `/metrics` and a live web dashboard at `/`, and ends with a summary that includes the alerts and the measured cost
//! of the instrumentation itself. `tachymeter watch http://HOST:PORT` shows the same kind of
//! live view for any process serving tachymeter's `/snapshot.json` (see [`watch`]).
//!
//! The live view draws whole frames through ratatui ([`screen`]): every line fitted to the
//! terminal, the snapshot's age in the header, each published snapshot shown once.
//!
//! The overhead figure: 21 pairs of rounds of the same requests (same seed) run without and
//! with instrumentation on one thread, the order within a pair alternating; the point
//! estimate is the median paired difference, and its 95% interval a percentile bootstrap
//! over the pairs ([`stats`]). `benches/scripts/overhead-runs.sh` checks repeated runs against
//! each other; `benches/scripts/demo-instructions.sh` gives the stable figure, the extra
//! instructions per request under callgrind (gated in CI).
//!
//! Sits on top of the engine (`tachymeter`), the monitors (`tachymeter-monitor`), the reports
//! and web dashboard (`tachymeter-report`) and the exporters (`tachymeter-export`); nothing
//! depends on it.
#![forbid(unsafe_code)]

mod alerts;
mod args;
mod fetch;
mod grafana;
mod report;
mod resources;
mod screen;
mod stats;
mod view;
mod watch;
mod workload;

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use tachymeter::{Engine, Snapshot};
use tachymeter_export::{ExportConfig, MetricsServer, ServerConfig};
use tachymeter_monitor::alerting::AlertManager;
use tachymeter_monitor::config::{Config, DEFAULT_ENV_PREFIX};
use tachymeter_monitor::ResourceMonitor;
use tachymeter_report::web::WebDashboard;

use alerts::{FaultPlan, Phase};
use args::{Command, DemoArgs, OutputFormat};
use workload::{Fault, Live, Metrics, Noop, Worker};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("overhead-probe") {
        if let Err(e) = overhead_probe(&argv[1..]) {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    let demo = match args::parse(&argv) {
        Ok(Command::Help) => {
            print!("{}", args::USAGE);
            return;
        }
        Ok(Command::Demo(demo)) => demo,
        Ok(Command::Resources(r)) => return resources::main(r),
        Ok(Command::Grafana(g)) => return grafana::main(g),
        Ok(Command::Report(r)) => return report::main(r),
        Ok(Command::Watch(w)) => return watch::main(w),
        Err(e) => {
            eprintln!("error: {e}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    if let Err(e) = run(demo) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The overhead measurement's result: paired rounds of the same requests without and with
/// instrumentation, on one thread.
pub struct Overhead {
    /// Requests per timed round.
    pub requests: u64,
    /// Pairs of rounds.
    pub pairs: usize,
    /// Median ns per request without instrumentation.
    pub plain_ns: f64,
    /// Median over the pairs of (instrumented − plain) ns per request: the point estimate.
    pub extra_ns: f64,
    /// 95% confidence interval of `extra_ns` (percentile bootstrap over the pairs' differences).
    pub extra_ci_ns: (f64, f64),
    /// Recording calls per instrumented request, counted by the engine itself.
    pub records_per_request: f64,
}

impl Overhead {
    /// Extra time as a percentage of the uninstrumented time.
    pub fn percent(&self) -> f64 {
        100.0 * self.extra_ns / self.plain_ns
    }
    /// The confidence interval as percentages of the uninstrumented time.
    pub fn percent_ci(&self) -> (f64, f64) {
        let p = |ns: f64| 100.0 * ns / self.plain_ns;
        (p(self.extra_ci_ns.0), p(self.extra_ci_ns.1))
    }
    /// Extra ns per recording call (clock reads for the latency histograms included).
    pub fn ns_per_record(&self) -> f64 {
        self.extra_ns / self.records_per_request.max(1.0)
    }
}

fn run(demo: DemoArgs) -> anyhow::Result<()> {
    // Created before the run, so that a bad path is reported at once, not after the workload.
    let output = match &demo.output {
        Some((path, format)) => Some((
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
            path,
            format,
        )),
        None => None,
    };
    let started_at = SystemTime::now();
    // The demo's own defaults (1 s intervals, a 10-interval window, resources every second),
    // then the `--config` file, then `TACHYMETER_*` variables (the documented precedence).
    let mut defaults = Config::default();
    defaults.engine.interval = Duration::from_secs(1);
    defaults.engine.window = 10;
    defaults.resources.interval = Duration::from_secs(1);
    let (config, warnings) = Config::load(defaults, demo.config.as_deref(), DEFAULT_ENV_PREFIX)
        .context("loading the configuration")?;
    for w in &warnings {
        eprintln!("config: {w}");
    }
    let engine = config.build_engine().context("building the engine")?;
    let metrics = Arc::new(
        Metrics::register_with(&engine, config.monitors.max_history)
            .context("registering metrics")?,
    );
    metrics.threads.set(demo.threads as f64);
    // System and process readings, as gauges on the demo's engine (the alert rules read them;
    // with `resources.enabled = false` they are registered but never sampled).
    let resources = Arc::new(
        config
            .resource_monitor_builder(engine.clone())
            .unwrap_or_else(|| ResourceMonitor::builder().engine(engine.clone()))
            .instance(workload::INSTANCE)
            .build()
            .context("registering the resource gauges")?,
    );
    // The demo's rules, then the configuration's (a rule of the same name replaces the demo's).
    let alerts = AlertManager::new();
    for rule in alerts::rules()
        .into_iter()
        .chain(config.alerts.iter().cloned())
    {
        alerts.add_rule(rule).context("adding an alert rule")?;
    }
    if let Some(path) = &demo.prometheus_rules {
        // Every series is registered now, so the snapshot has every unit.
        write_rules(path, &engine.flush())?;
        println!("wrote alert rules to {}", path.display());
    }

    let server = match demo.listen {
        Some(addr) => {
            let source = engine.clone();
            let config = ServerConfig {
                addr,
                export: ExportConfig::default().created(started_at),
                ..ServerConfig::default()
            };
            // The live dashboard at `/` (and its `/api/v1/...`), on the server's thread.
            let dashboard = WebDashboard::new(engine.clone())
                .title("tachymeter demo")
                .with_alerts(Arc::new(alerts.clone()))
                .with_resources(resources.clone());
            Some(
                MetricsServer::start_with_routes(
                    config,
                    move || source.snapshot(),
                    Arc::new(dashboard),
                )
                .with_context(|| format!("serving /metrics on {addr}"))?,
            )
        }
        None => None,
    };
    let tui = !demo.no_tui && std::io::stdout().is_terminal();
    let mut view = view::View::new(
        tui,
        demo.threads,
        server.as_ref().map(MetricsServer::local_addr),
        metrics.clone(),
        alerts.clone(),
    )
    .context("setting up the terminal")?;
    let sampling = if config.resources.enabled {
        Some(resources.start().context("starting the resource monitor")?)
    } else {
        None
    };
    let evaluating = alerts
        .start(engine.clone())
        .context("starting the alert evaluation")?;

    // Main phase: workers run until the deadline; the main thread switches the fault phase's
    // segments and redraws every second.
    let plan = FaultPlan {
        normal: demo.duration,
        segment: demo.fault_phase,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let fault = Arc::new(AtomicU8::new(Fault::None as u8));
    let workers: Vec<_> = (0..demo.threads)
        .map(|i| {
            let (engine, metrics, stop) = (engine.clone(), metrics.clone(), stop.clone());
            let fault = fault.clone();
            let seed = demo.seed.wrapping_add(i as u64 * 7919);
            std::thread::Builder::new()
                .name(format!("demo-worker-{i}"))
                .spawn(move || {
                    let recorder = engine.local_recorder();
                    let live = Live::new(&recorder, &metrics, engine.clock());
                    let mut worker = Worker::new(seed);
                    while !stop.load(Ordering::Relaxed) {
                        // Relaxed: a flag; a request late by one batch does not matter.
                        worker.set_fault(Fault::from_u8(fault.load(Ordering::Relaxed)));
                        // A stalled request takes 150 ms: look at the flags after each one.
                        let batch = if worker.fault() == Fault::Slow { 1 } else { 64 };
                        for _ in 0..batch {
                            worker.request(&live);
                        }
                    }
                    worker.checksum
                })
                .context("spawning a worker")
        })
        .collect::<anyhow::Result<_>>()?;
    let begin = Instant::now();
    let deadline = begin + plan.total();
    // Every 100 ms: a frame when a new snapshot is published (so each appears once, promptly)
    // and at least every second on the terminal (the age and the phase's time left move on).
    let mut next_frame = begin;
    let mut shown = None;
    let mut phase = Phase::Normal;
    loop {
        let now = Instant::now();
        let elapsed = now - begin;
        let current = plan.phase_at(elapsed);
        if current != phase && now < deadline {
            phase = current;
            fault.store(phase.fault() as u8, Ordering::Relaxed);
            view.phase(phase, plan.left_in_phase(elapsed), elapsed);
        }
        let snapshot = engine.snapshot();
        if shown != Some(snapshot.sequence()) || now >= next_frame || now >= deadline {
            view.refresh(&snapshot, elapsed);
            shown = Some(snapshot.sequence());
            next_frame = now + Duration::from_secs(1);
        }
        if now >= deadline {
            break;
        }
        let wake = (now + Duration::from_millis(100))
            .min(deadline)
            .min(now + plan.left_in_phase(elapsed));
        if view.wait(
            wake.saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        ) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut checksum = 0u64;
    for w in workers {
        checksum ^= w.join().map_err(|_| anyhow::anyhow!("a worker panicked"))?;
    }
    let main_elapsed = begin.elapsed();
    // The workload's own figures, before the overhead rounds add their requests.
    let workload = engine.flush();
    // The overhead measurement runs on a quiet machine: no sampling, no rule evaluation.
    drop(evaluating);
    drop(sampling);

    // Overhead phase: the same loop, same seed, alternating without and with instrumentation.
    view.note("measuring instrumentation overhead ...");
    let budget = (demo.duration / 4).clamp(Duration::from_millis(300), Duration::from_secs(3));
    let overhead = measure_overhead(&engine, &metrics, demo.seed, budget, &mut checksum);
    metrics.overhead_ratio.set(overhead.percent() / 100.0);
    metrics.overhead_per_request.set(overhead.extra_ns);

    let snapshot = engine.flush();
    view.summary(&workload, main_elapsed, demo.threads, &overhead);
    view.alerts_summary(resources.latest().as_ref());
    std::hint::black_box(checksum);

    if let Some((file, path, format)) = output {
        let writer = std::io::BufWriter::new(file);
        match format {
            OutputFormat::Json => tachymeter_export::write_json(&snapshot, writer),
            OutputFormat::Csv => tachymeter_export::write_csv(&snapshot, writer),
        }
        .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote final snapshot to {}", path.display());
    }
    if let Some(path) = &demo.grafana {
        grafana::write_for_snapshot(path, &snapshot)?;
        println!("wrote Grafana dashboard to {}", path.display());
    }
    if let Some(path) = &demo.report {
        report::write_demo_report(&engine, &metrics, path)?;
    }
    if let Some(server) = server {
        server.shutdown();
    }
    Ok(())
}

/// Writes the demo's rules as a Prometheus rules file at `path`, through a temporary file
/// renamed into place, so that a reader never sees half a file.
fn write_rules(path: &Path, snapshot: &Snapshot) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, alerts::rules_file(snapshot))
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing {}", path.display()))
}

/// Times pairs of rounds of the same requests with [`Noop`] and [`Live`], the order within a
/// pair alternating so that drifts in machine speed hit both alike, and returns the median
/// paired difference with a bootstrap confidence interval.
fn measure_overhead(
    engine: &Engine,
    metrics: &Metrics,
    seed: u64,
    budget: Duration,
    checksum: &mut u64,
) -> Overhead {
    const PAIRS: usize = 21;
    // Calibrate: how many requests fit in one round (budget split over 2 * PAIRS rounds).
    let mut probe = Worker::new(seed);
    let t = Instant::now();
    let mut calibrate = 0u64;
    while t.elapsed() < Duration::from_millis(50) {
        probe.request(&Noop);
        calibrate += 1;
    }
    let per_request = t.elapsed().as_secs_f64() / calibrate as f64;
    let requests = ((budget.as_secs_f64() / (2 * PAIRS) as f64 / per_request) as u64).max(200);

    let recorder = engine.local_recorder();
    let live = Live::new(&recorder, metrics, engine.clock());
    let mut plain = Vec::with_capacity(PAIRS);
    let mut diffs = Vec::with_capacity(PAIRS);
    for pair in 0..PAIRS {
        let round_seed = seed ^ ((pair as u64 + 1) * 0x1000_0001);
        let time = |run: &mut dyn FnMut(&mut Worker)| {
            let mut worker = Worker::new(round_seed);
            let t = Instant::now();
            for _ in 0..requests {
                run(&mut worker);
            }
            let ns = t.elapsed().as_nanos() as f64 / requests as f64;
            (ns, worker.checksum)
        };
        let ((p, c1), (i, c2)) = if pair % 2 == 0 {
            let p = time(&mut |w| w.request(&Noop));
            (p, time(&mut |w| w.request(&live)))
        } else {
            let i = time(&mut |w| w.request(&live));
            (time(&mut |w| w.request(&Noop)), i)
        };
        plain.push(p);
        diffs.push(i - p);
        *checksum ^= c1 ^ c2;
    }
    let calls = live.calls();
    Overhead {
        requests,
        pairs: PAIRS,
        plain_ns: stats::median(&plain),
        extra_ns: stats::median(&diffs),
        extra_ci_ns: stats::bootstrap_median_ci(&diffs, 0.95, 10_000, seed),
        records_per_request: calls as f64 / (PAIRS as u64 * requests) as f64,
    }
}

/// `tachymeter overhead-probe <plain|live> N` (undocumented, for
/// `benches/scripts/demo-instructions.sh`): runs N of the demo's requests on one thread
/// without or with instrumentation, inside [`probe_plain`] or [`probe_live`], so that
/// callgrind can count the instructions of exactly that loop.
fn overhead_probe(args: &[String]) -> anyhow::Result<()> {
    let (Some(mode), Some(n)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: tachymeter overhead-probe <plain|live> N");
    };
    let n: u64 = n.parse().context("N")?;
    let engine = Arc::new(Engine::builder().background(false).build()?);
    let metrics = Metrics::register(&engine)?;
    let recorder = engine.local_recorder();
    let live = Live::new(&recorder, &metrics, engine.clock());
    let mut worker = Worker::new(1);
    // Warm up (first-touch work: thread slots, cache fills) outside the counted loop.
    for _ in 0..1000 {
        worker.request(&live);
    }
    let calls_before = live.calls();
    match mode.as_str() {
        "plain" => probe_plain(&mut worker, n),
        "live" => probe_live(&mut worker, &live, n),
        other => anyhow::bail!("overhead-probe: unknown mode `{other}`"),
    }
    let records = live.calls() - calls_before;
    println!(
        "requests={n} records={records} records_per_request={:.3} checksum={}",
        records as f64 / n as f64,
        worker.checksum
    );
    Ok(())
}

/// N uninstrumented requests (callgrind counts this function).
#[inline(never)]
fn probe_plain(worker: &mut Worker, n: u64) {
    for _ in 0..n {
        worker.request(&Noop);
    }
}

/// N instrumented requests (callgrind counts this function).
#[inline(never)]
fn probe_live(worker: &mut Worker, live: &Live<'_>, n: u64) {
    for _ in 0..n {
        worker.request(live);
    }
}
