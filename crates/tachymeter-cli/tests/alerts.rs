//! The fault phase end to end, on the real `tachymeter` binary:
//!
//! - a short demo whose error burst and slow requests fire `DecodeErrors` and `SlowRequests`
//!   (each during its own segment), and whose recovery resolves them, as its output says;
//! - a real Prometheus (Debian `prometheus`; `.ci/install-prometheus.sh`) scraping the demo
//!   every second with the rules file the demo wrote (`--prometheus-rules`) shows the same
//!   alerts firing through `/api/v1/alerts` during the fault phase. Skipped with a notice when
//!   `prometheus` is not installed.
//!
//! Loopback only, every wait bounded, every child process killed on drop.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{bin, Kill, TempDir};

/// Seconds in an event line: `alert firing DecodeErrors critical: 24.9% > 5.0% at 6.0s`.
fn event_time(line: &str) -> f64 {
    let at = line.rsplit(" at ").next().unwrap();
    at.trim_end_matches('s').parse().unwrap()
}

/// The times of the `kind` (`firing`, `resolved`) lines of `alert` in `stdout`.
fn events(stdout: &str, kind: &str, alert: &str) -> Vec<f64> {
    let prefix = format!("alert {kind} {alert} ");
    stdout
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(event_time)
        .collect()
}

/// 2 s normal, then 6 s of errors, 6 s slow, 6 s recovery (20 s): each alert fires once
/// within its segment (engine time, which starts a moment before the workload, plus up to
/// 2 s for late snapshots) and resolves before the end; memory stays quiet.
#[test]
fn the_fault_phase_fires_and_resolves_both_alerts() {
    let run = bin()
        .args(["demo", "--duration", "2s", "--fault-phase", "6s"])
        .args(["--threads", "2", "--no-tui", "--listen", "off"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for (alert, start) in [("DecodeErrors", 2.0), ("SlowRequests", 8.0)] {
        let fired = events(&stdout, "firing", alert);
        let resolved = events(&stdout, "resolved", alert);
        assert_eq!((fired.len(), resolved.len()), (1, 1), "{alert}:\n{stdout}");
        assert!(
            start < fired[0] && fired[0] < start + 6.0 + 2.0,
            "{alert} fired at {}:\n{stdout}",
            fired[0]
        );
        assert!(
            fired[0] < resolved[0] && resolved[0] < 20.5,
            "{alert}:\n{stdout}"
        );
    }
    assert!(stdout.contains("phase: fault: error burst"), "{stdout}");
    assert!(
        stdout.contains("alerts: 2 fired, 2 resolved, 0 active at the end"),
        "{stdout}"
    );
    assert!(stdout.contains("  quiet: HighMemory"), "{stdout}");
    assert!(
        stdout.contains("  DecodeErrors critical: fired at "),
        "{stdout}"
    );
    assert!(
        stdout.contains("resources (last reading): process "),
        "{stdout}"
    );
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `GET path` over HTTP/1.0 (no chunking, the server closes): the body, or `None` if the
/// server is not up yet or did not answer 200.
fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_owned()))
}

/// The names of the alerts Prometheus reports `firing`.
fn firing(prometheus: SocketAddr) -> Vec<String> {
    let Some(body) = get(prometheus, "/api/v1/alerts") else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "firing")
        .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_owned))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The demo serves /metrics and writes its rules file; Prometheus loads the rules, scrapes
/// the demo every second (`honor_labels`, as the file's header says) and evaluates every
/// second. During the fault phase (3 s normal, then 8 s segments) both alerts fire in
/// Prometheus, and the demo's own evaluation fires them too.
#[test]
fn prometheus_fires_the_exported_alerts_during_the_fault_phase() {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("prometheus not found: skipped (.ci/install-prometheus.sh installs it)");
        return;
    }
    let started = Instant::now();
    let dir = TempDir::new("demo-prometheus");
    let rules = dir.0.join("rules.yml");
    let demo_log = dir.0.join("demo.log");
    let demo_addr = free_port();
    let demo = Kill(
        bin()
            .args(["demo", "--duration", "3s", "--fault-phase", "8s"])
            .args(["--threads", "2", "--no-tui"])
            .arg(format!("--listen={demo_addr}"))
            .arg("--prometheus-rules")
            .arg(&rules)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&demo_log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // The demo writes the rules file (renamed into place) before its workload starts.
    let limit = Instant::now() + Duration::from_secs(20);
    while !rules.exists() {
        assert!(
            Instant::now() < limit,
            "no rules file:\n{}",
            read(&demo_log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let prom_addr = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules:?}\n\
         scrape_configs:\n  - job_name: demo\n    honor_labels: true\n    scrape_timeout: 1s\n\
         \x20   static_configs:\n      - targets: ['{demo_addr}']\n"
    );
    std::fs::write(dir.0.join("prometheus.yml"), config).unwrap();
    let prom_log = dir.0.join("prometheus.log");
    let log = std::fs::File::create(&prom_log).unwrap();
    let _prometheus = Kill(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.0.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    // The fault phase ends 3 + 3 × 8 = 27 s after the demo started (plus its startup).
    let limit = started + Duration::from_secs(28);
    let mut seen: Vec<(String, f64)> = Vec::new();
    while seen.len() < 2 {
        let now = Instant::now();
        assert!(
            now < limit,
            "firing in Prometheus: {seen:?}\nprometheus log:\n{}\ndemo log:\n{}",
            read(&prom_log),
            read(&demo_log)
        );
        for name in firing(prom_addr) {
            if !seen.iter().any(|(n, _)| *n == name) {
                seen.push((name, (now - started).as_secs_f64()));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["DecodeErrors", "SlowRequests"], "{seen:?}");
    // Each after its segment began (3 s and 11 s after the demo's start).
    assert!(seen[0].1 > 3.0 && seen[1].1 > 11.0, "{seen:?}");
    // The demo fired the same alerts itself (its event lines, written as they happen).
    loop {
        let out = read(&demo_log);
        let both = ["DecodeErrors", "SlowRequests"]
            .iter()
            .all(|a| out.contains(&format!("alert firing {a} ")));
        if both {
            break;
        }
        assert!(Instant::now() < limit, "demo log:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(demo);
    eprintln!(
        "prometheus saw {seen:?} (seconds after the demo started); test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
