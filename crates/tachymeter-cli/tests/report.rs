//! Runs `tachymeter demo --output x.json --report r.html` and `tachymeter report` on its
//! snapshot (file and HTTP input): the demo's report is a live one (history, plots), the
//! snapshot's JSON report reads back and carries the snapshot's figures, the CSV parses.

use tachymeter_export::SnapshotDoc;
use tachymeter_report::report::PerformanceReport;

mod common;
use common::bin;

fn ok(run: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn demo_report_and_report_of_its_snapshot() {
    let dir = std::env::temp_dir().join(format!("tachymeter-report-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (snap, live) = (dir.join("x.json"), dir.join("live.html"));
    let run = bin()
        .args([
            "demo",
            "--duration",
            "2s",
            "--no-tui",
            "--listen",
            "off",
            "--output",
        ])
        .arg(&snap)
        .arg("--report")
        .arg(&live)
        .output()
        .unwrap();
    let stdout = ok(&run);
    assert!(
        stdout.contains(&format!("wrote report to {}", live.display())),
        "{stdout}"
    );
    let html = std::fs::read_to_string(&live).unwrap();
    assert!(html.matches("<svg").count() >= 5);
    assert!(
        html.contains("History: yes"),
        "the demo's report has history"
    );
    assert!(
        html.contains("<polyline"),
        "the demo's report plots its history"
    );

    let (h, j, c) = (dir.join("r.html"), dir.join("r.json"), dir.join("r.csv"));
    let run = bin()
        .args(["report", "--input"])
        .arg(&snap)
        .arg("--html")
        .arg(&h)
        .arg("--json")
        .arg(&j)
        .arg("--csv")
        .arg(&c)
        .output()
        .unwrap();
    ok(&run);
    let doc: SnapshotDoc = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let report = PerformanceReport::from_json(&std::fs::read_to_string(&j).unwrap()).unwrap();
    assert!(!report.period.history);
    assert_eq!(report.period.sequence, doc.sequence);
    for m in doc.metrics.iter().filter(|m| m.histogram.is_some()) {
        let key = tachymeter_report::report::series_key(
            &m.name,
            m.labels.iter().map(|(k, v)| (&**k, &**v)),
        );
        let h = m.histogram.as_ref().unwrap();
        let s = report.series(&key).unwrap();
        assert_eq!(s.cumulative.count, Some(h.cumulative.count));
        assert_eq!(s.cumulative.p99, h.cumulative.p99);
    }
    let mut rd = csv::Reader::from_path(&c).unwrap();
    assert!(rd.records().count() > doc.metrics.len());
    let html = std::fs::read_to_string(&h).unwrap();
    assert!(html.contains("History: no"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_reads_a_running_servers_snapshot() {
    let engine = std::sync::Arc::new(
        tachymeter::Engine::builder()
            .background(false)
            .build()
            .unwrap(),
    );
    let h = engine
        .histogram(tachymeter::Opts::new("request_latency").unit("seconds"))
        .unwrap();
    for v in 1..=100 {
        h.record_f64(v as f64 / 1000.0);
    }
    engine.flush();
    let source = engine.clone();
    let config = tachymeter_export::ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..tachymeter_export::ServerConfig::default()
    };
    let server =
        tachymeter_export::MetricsServer::start(config, move || source.snapshot()).unwrap();
    let dir = std::env::temp_dir().join(format!("tachymeter-report-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let j = dir.join("r.json");
    let run = bin()
        .args([
            "report",
            "--input",
            &format!("http://{}", server.local_addr()),
        ])
        .arg("--json")
        .arg(&j)
        .output()
        .unwrap();
    ok(&run);
    let report = PerformanceReport::from_json(&std::fs::read_to_string(&j).unwrap()).unwrap();
    assert_eq!(report.summary.total_requests, 100);
    server.shutdown();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_flags_are_checked() {
    let run = bin().args(["report", "--html", "x.html"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--input"));
}
