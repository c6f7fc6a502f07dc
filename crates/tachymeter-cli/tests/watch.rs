//! `tachymeter watch` against a running server (an engine and a `MetricsServer` in this test
//! process, so the expected figures are known exactly) and against a dead port.

use std::sync::Arc;

use tachymeter::{Engine, Opts};
use tachymeter_export::{MetricsServer, ServerConfig};

mod common;
use common::bin;

#[test]
fn watch_once_shows_a_running_servers_series() {
    let engine = Arc::new(Engine::builder().background(false).build().unwrap());
    let h = engine
        .histogram(
            Opts::new("checkout_latency")
                .unit("seconds")
                .label("route", "/pay"),
        )
        .unwrap();
    let c = engine.counter("checkout_total").unwrap();
    for v in 1..=200u64 {
        // 1 ms .. 200 ms in nanoseconds: p50 = 100 ms within the bucket bound.
        h.record(v * 1_000_000);
    }
    c.add(200);
    let snap = engine.flush();
    let source = engine.clone();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let server = MetricsServer::start(config, move || source.snapshot()).unwrap();
    let target = format!("http://{}", server.local_addr());
    let run = bin().args(["watch", &target, "--once"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains(&format!("{target}/snapshot.json"))
            && lines[0].contains(&format!("snapshot #{}", snap.sequence())),
        "{stdout}"
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with("checkout_latency{route=/pay} "))
        .unwrap_or_else(|| panic!("no histogram row:\n{stdout}"));
    // Columns: series, rate, p50, p99, max, count since start.
    let cols: Vec<&str> = row.split_whitespace().skip(1).collect();
    assert_eq!(cols[4], "200", "{row}");
    let ms = |s: &str| s.strip_suffix("ms").unwrap().parse::<f64>().unwrap();
    let (p50, max) = (ms(cols[1]), ms(cols[3]));
    assert!((p50 - 100.0).abs() <= 100.0 * 0.01, "{row}");
    assert!((max - 200.0).abs() <= 200.0 * 0.01, "{row}");
    let counter = lines
        .iter()
        .find(|l| l.starts_with("checkout_total "))
        .unwrap_or_else(|| panic!("no counter row:\n{stdout}"));
    assert_eq!(counter.split_whitespace().nth(2), Some("200"), "{counter}");
    server.shutdown();
}

#[test]
fn watch_of_a_dead_port_says_so_and_fails() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = format!("http://127.0.0.1:{port}");
    let run = bin().args(["watch", &target, "--once"]).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("cannot reach {target}/snapshot.json")),
        "{stderr}"
    );
    // Not a snapshot server: a clear error too.
    let run = bin().args(["watch", "https://x:1"]).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("only http://"));
}

/// Plain mode (stdout not a terminal) on a dead target: frames saying the target is down,
/// then the process keeps trying until it is stopped.
#[test]
fn watch_keeps_trying_while_the_target_is_down() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = bin()
        .args(["watch", &format!("127.0.0.1:{port}"), "--interval", "100ms"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Read until the first frame is complete (a blank line ends a frame), then stop it.
    let mut text = String::new();
    let mut buf = [0u8; 256];
    while !text.contains("\n\n") {
        use std::io::Read as _;
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "watch exited early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(text.contains("TARGET DOWN for"), "{text}");
    assert!(text.contains("cannot reach"), "{text}");
}
