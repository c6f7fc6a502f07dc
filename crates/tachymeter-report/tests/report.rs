//! Reports: a mock-clock engine with history (an inference monitor and a request histogram
//! with a hostile label, advanced and flushed per 10 s interval) gives a report whose JSON
//! reads back equal and whose figures are the snapshot's (copied, so exact); the CSV parses
//! with the `csv` crate; the HTML has an `<svg>` per plot and escapes the label; a session
//! covers only its marks; a comparison finds a doubled latency; the dashboard cache refreshes
//! on demand; and headless Chromium renders the HTML to a non-blank PNG without console
//! errors (skipped with a notice when `chromium` is absent).

use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Clock, Engine, Opts};
use tachymeter_export::SnapshotDoc;
use tachymeter_monitor::InferenceMetrics;
use tachymeter_report::report::{
    compare, DashboardData, PerformanceReport, ReportMark, SCHEMA_VERSION,
};

const HOSTILE: &str = "<script>alert(1)</script>";

struct Setup {
    engine: Arc<Engine>,
    mock: tachymeter::MockClock,
    inference: InferenceMetrics,
    request: tachymeter::Histogram,
}

fn setup() -> Setup {
    let (clock, mock) = Clock::mock();
    let engine = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .build()
            .unwrap(),
    );
    let inference = InferenceMetrics::builder()
        .engine(engine.clone())
        .instance("t")
        .build()
        .unwrap();
    let request = engine
        .histogram(
            Opts::new("request_latency")
                .unit("seconds")
                .label("endpoint", HOSTILE),
        )
        .unwrap();
    Setup {
        engine,
        mock,
        inference,
        request,
    }
}

/// `intervals` of 10 s, each with 100 inferences of `ms` (+ a ramp) ms and `errors` errors.
fn run(s: &Setup, intervals: u64, ms: f64, errors: u64) {
    for i in 0..intervals {
        for k in 0..100u64 {
            let secs = (ms + (k % 10) as f64 * 0.1 + i as f64 * 0.01) / 1000.0;
            s.inference
                .update_inference(secs, 8, Duration::from_micros(100), 0.0);
            s.request.record_f64(secs * 2.0);
        }
        for _ in 0..errors {
            s.inference.record_error();
        }
        s.mock.advance(Duration::from_secs(10));
        s.engine.flush();
    }
}

fn populated() -> (Setup, PerformanceReport) {
    let s = setup();
    // 30 intervals of 10 s: within the finest history tier (10 s periods for 10 minutes).
    run(&s, 30, 5.0, 2);
    let report = PerformanceReport::builder(&s.engine)
        .title("test report")
        .hours_back(0.1)
        .inference(&s.inference)
        .histogram(&s.request)
        .build();
    (s, report)
}

#[test]
fn json_round_trips_and_figures_are_the_snapshots() {
    let (s, report) = populated();
    assert_eq!(report.schema_version, SCHEMA_VERSION);
    let back = PerformanceReport::from_json(&report.to_json()).unwrap();
    assert_eq!(back, report);

    // Figures copied from the snapshot document: exact.
    let doc = SnapshotDoc::from_snapshot(&s.engine.snapshot());
    let mut histograms = 0;
    for m in &doc.metrics {
        let Some(h) = &m.histogram else { continue };
        let key = tachymeter_report::report::series_key(
            &m.name,
            m.labels.iter().map(|(k, v)| (&**k, &**v)),
        );
        let sr = report.series(&key).unwrap();
        assert_eq!(sr.cumulative.count, Some(h.cumulative.count));
        assert_eq!(sr.cumulative.p50, h.cumulative.p50);
        assert_eq!(sr.cumulative.p95, h.cumulative.p95);
        assert_eq!(sr.cumulative.p99, h.cumulative.p99);
        assert_eq!(sr.cumulative.mean, h.cumulative.mean);
        assert_eq!(sr.window.as_ref().unwrap().p95, h.window.p95);
        histograms += 1;
    }
    assert!(histograms >= 3);

    // The range summary: every inference of the hour, the errors, the rate.
    let sum = &report.summary;
    assert_eq!(
        sum.requests_series.as_deref(),
        Some("inference_time{instance=\"t\"}")
    );
    assert_eq!(sum.total_requests, 3000);
    assert_eq!(sum.total_errors, Some(60));
    assert_eq!(sum.error_rate, Some(0.02));
    assert!(report.period.history);

    // From the snapshot document alone (as the CLI reads it): no history, figures copied.
    let json = serde_json::to_string(&doc).unwrap();
    let doc2: SnapshotDoc = serde_json::from_str(&json).unwrap();
    let from_doc = PerformanceReport::from_snapshot_doc(&doc2);
    assert!(!from_doc.period.history);
    assert!(from_doc.timeline.is_empty());
    assert!(!from_doc.notes.is_empty());
    assert_eq!(from_doc.summary.total_requests, 3000);
    assert_eq!(from_doc.summary.total_errors, Some(60));
    let inf = doc2
        .metrics
        .iter()
        .find(|m| m.name == "inference_time")
        .unwrap();
    let h = inf.histogram.as_ref().unwrap();
    let l = &from_doc.summary.latency[0];
    assert_eq!(
        (l.p50, l.p95, l.p99),
        (h.cumulative.p50, h.cumulative.p95, h.cumulative.p99)
    );
    let back = PerformanceReport::from_json(&from_doc.to_json()).unwrap();
    assert_eq!(back, from_doc);
}

#[test]
fn a_newer_schema_is_refused() {
    let (_, report) = populated();
    let mut v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    v["schema_version"] = (SCHEMA_VERSION + 1).into();
    assert!(PerformanceReport::from_json(&v.to_string()).is_err());
}

#[test]
fn the_timeline_follows_the_history() {
    let (_, report) = populated();
    let key = "inference_time{instance=\"t\"}";
    let p95 = report.timeline(key, "p95").unwrap();
    assert!(p95.points.len() >= 29, "{}", p95.points.len()); // the latest period may be partial
    let tp = report.timeline(key, "throughput").unwrap();
    for &(_, v) in &tp.points {
        assert!((v - 10.0).abs() < 1e-9, "100 per 10 s: {v}");
    }
    let er = report.timeline(key, "error_rate").unwrap();
    assert!(er.points.iter().all(|&(_, v)| (v - 0.02).abs() < 1e-9));
    // The ramp of 0.01 ms per interval is an increasing trend of the p95.
    let tr = report
        .analysis
        .trends
        .iter()
        .find(|t| t.series == key && t.statistic == "p95")
        .unwrap();
    assert!(tr.trend.is_some(), "{tr:?}");
    assert!(!report.distributions.is_empty());
    assert_eq!(report.monitors[0].monitor, "inference");
}

#[test]
fn csv_parses_with_the_expected_rows() {
    let (_, report) = populated();
    let csv = report.to_csv();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        rd.headers().unwrap(),
        vec![
            "section",
            "series",
            "statistic",
            "time_seconds",
            "value",
            "unit"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let find = |section: &str, series: &str, stat: &str| {
        rows.iter()
            .find(|r| &r[0] == section && &r[1] == series && &r[2] == stat)
            .map(|r| r[4].parse::<f64>().unwrap())
    };
    let key = "inference_time{instance=\"t\"}";
    assert_eq!(find("summary", key, "total_requests"), Some(3000.0));
    assert_eq!(find("summary", key, "error_rate"), Some(0.02));
    let sr = report.series(key).unwrap();
    assert_eq!(find("cumulative", key, "p95"), sr.cumulative.p95);
    assert_eq!(find("range", key, "count"), Some(3000.0));
    let hostile = format!("request_latency{{endpoint=\"{HOSTILE}\"}}");
    assert_eq!(find("cumulative", &hostile, "count"), Some(3000.0));
    let timeline = rows.iter().filter(|r| &r[0] == "timeline").count();
    assert_eq!(
        timeline,
        report
            .timeline
            .iter()
            .map(|t| t.points.len())
            .sum::<usize>()
    );
}

#[test]
fn html_has_every_plot_and_escapes_labels() {
    let (_, report) = populated();
    let html = report.to_html();
    for id in [
        "latency",
        "throughput",
        "error-rate",
        "resources",
        "distribution",
    ] {
        let at = html
            .find(&format!("id=\"plot-{id}\""))
            .unwrap_or_else(|| panic!("plot {id}"));
        assert!(
            html[at..]
                .trim_start_matches(|c| c != '<')
                .starts_with("<svg"),
            "{id}"
        );
    }
    // Plotted lines, not placeholders, for the series with history.
    assert!(html.matches("<polyline").count() >= 4);
    assert!(
        !html.contains("<script"),
        "a label value reached the page unescaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("http://") || !html.contains("src=\"http"));
    assert!(html.contains("Recommendations"));
}

#[test]
fn a_session_covers_its_marks() {
    let s = setup();
    run(&s, 10, 5.0, 0);
    let a = ReportMark::now(&s.engine);
    run(&s, 12, 5.0, 1);
    let b = ReportMark::now(&s.engine);
    run(&s, 10, 5.0, 0);
    let report = PerformanceReport::builder(&s.engine)
        .session(a, b)
        .inference(&s.inference)
        .build();
    assert_eq!(report.summary.total_requests, 1200);
    assert_eq!(report.summary.total_errors, Some(12));
    // The collections after mark a (100 s) up to mark b (220 s): periods [110 s, 230 s).
    assert_eq!(report.period.from_seconds, 110.0);
    assert_eq!(report.period.to_seconds, 230.0);
}

#[test]
fn compare_finds_a_doubled_latency() {
    let s = setup();
    let m0 = ReportMark::now(&s.engine);
    run(&s, 12, 5.0, 0);
    let m1 = ReportMark::now(&s.engine);
    run(&s, 12, 10.0, 0);
    let m2 = ReportMark::now(&s.engine);
    // One more interval, so that the second period's last history period is complete.
    run(&s, 1, 10.0, 0);
    let period = |a, b| {
        PerformanceReport::builder(&s.engine)
            .session(a, b)
            .inference(&s.inference)
            .build()
    };
    let (p1, p2) = (period(m0, m1), period(m1, m2));
    let c = compare(&p1, &p2);
    let key = "inference_time{instance=\"t\"}";
    let p95 = c
        .series
        .iter()
        .find(|d| d.series == key && d.statistic == "p95")
        .unwrap();
    assert!(p95.significant, "{p95:?}");
    assert!(p95.relative.unwrap() > 0.7);
    let tp = c
        .summary
        .iter()
        .find(|d| d.statistic == "throughput")
        .unwrap();
    assert!(!tp.significant, "{tp:?}");
    // Compared with itself: nothing is significant.
    let same = compare(&p1, &p1);
    assert!(same
        .series
        .iter()
        .chain(&same.summary)
        .all(|d| !d.significant));
}

#[test]
fn dashboard_data_is_cached_and_refreshed_on_demand() {
    let s = setup();
    run(&s, 3, 5.0, 1);
    let dash = DashboardData::new(s.engine.clone());
    let a = dash.get(Duration::from_secs(3600));
    let b = dash.get(Duration::from_secs(3600));
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.total_requests, 300);
    assert!(a.p95.is_some() && a.throughput.is_some());
    run(&s, 1, 5.0, 0);
    assert_eq!(dash.get(Duration::from_secs(3600)).total_requests, 300);
    assert_eq!(dash.refresh().total_requests, 400);
    fn is_sync<T: Send + Sync>() {}
    is_sync::<DashboardData>();
}

/// Renders the HTML in headless Chromium. Checks: the screenshot PNG exists, decodes, has the
/// window size and is not blank (pixel values vary, and more than 1% of pixels are not
/// white); the DOM Chromium parsed (`--dump-dom`) holds an `<svg>` per plot; and Chromium's
/// log (`--enable-logging=stderr --v=0`) has no console message (`CONSOLE(`: the page has no
/// script, so any is an error) and no failed load (`net::ERR_`: the page is self-contained).
#[test]
fn chromium_renders_the_report() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        println!(
            "chromium_renders_the_report: skipped, no chromium on PATH (.ci/install-chromium.sh)"
        );
        return;
    };
    let (_, report) = populated();
    let dir = std::env::temp_dir().join(format!("tachymeter-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, report.to_html()).unwrap();
    let png_path = dir.join("shot.png");
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
    ];
    let run = |extra: &[String]| {
        let out = std::process::Command::new("timeout")
            .arg("120")
            .arg(chromium)
            .args(common)
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium");
        assert!(out.status.success(), "chromium failed: {out:?}");
        out
    };
    let shot = run(&[
        format!("--screenshot={}", png_path.display()),
        "--window-size=1200,900".into(),
        "--enable-logging=stderr".into(),
        "--v=0".into(),
    ]);
    let log = String::from_utf8_lossy(&shot.stderr);
    for bad in ["CONSOLE(", "net::ERR_", "Uncaught"] {
        assert!(!log.contains(bad), "chromium log has {bad}:\n{log}");
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).expect("the screenshot exists"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let px = &buf[..info.buffer_size()];
    let channels = info.line_size / info.width as usize;
    let (min, max) = (px.iter().min().unwrap(), px.iter().max().unwrap());
    assert!(max - min > 100, "a blank screenshot");
    let not_white = px
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    assert!(
        not_white * 100 > (info.width * info.height) as usize,
        "{not_white} non-white pixels"
    );
    let dom = run(&["--dump-dom".into(), "--virtual-time-budget=2000".into()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for id in [
        "latency",
        "throughput",
        "error-rate",
        "resources",
        "distribution",
    ] {
        let at = dom
            .find(&format!("id=\"plot-{id}\""))
            .unwrap_or_else(|| panic!("{id}"));
        assert!(dom[at..].contains("<svg"), "{id}");
    }
    assert!(dom.matches("<svg").count() >= 5);
    assert!(dom.matches("<polyline").count() >= 4);
    let _ = std::fs::remove_dir_all(&dir);
}
