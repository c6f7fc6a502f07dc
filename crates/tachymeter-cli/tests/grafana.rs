//! `tachymeter grafana` against a real Prometheus (Debian package `prometheus`; install with
//! `.ci/install-prometheus.sh`; without it the Prometheus test prints a notice and returns).
//!
//! The demo serves `/metrics` on loopback; the dashboard is generated from its
//! `/snapshot.json`; two Prometheus servers scrape it every second, one as text (classic `le`
//! buckets) and one with `--enable-feature=native-histograms` (protobuf, native histograms:
//! Prometheus 2.42 then stores no `_bucket` series). Every PromQL expression of the classic and
//! `either` dashboards must evaluate with data on the first, of the native and `either`
//! dashboards on the second. Grafana's variables are replaced as Grafana would with *All*
//! selected: `$job` and `$instance` by `.*`, `$__rate_interval` by `30s`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{bin, Kill, TempDir};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every `expr` of the dashboard's panels.
fn expressions(dashboard: &Value) -> Vec<String> {
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn demo_writes_the_same_dashboard_as_the_grafana_command() {
    let dir = TempDir::new("demo");
    let (snapshot, from_demo) = (dir.0.join("s.json"), dir.0.join("d1.json"));
    let run = bin()
        .args([
            "demo",
            "--duration",
            "1s",
            "--threads",
            "1",
            "--no-tui",
            "--listen",
            "off",
            "--output",
        ])
        .arg(&snapshot)
        .arg("--grafana")
        .arg(&from_demo)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let from_file = dir.0.join("d2.json");
    let run = bin()
        .args(["grafana", "--input"])
        .arg(&snapshot)
        .arg("--output")
        .arg(&from_file)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let dashboard = read_json(&from_demo);
    assert_eq!(dashboard, read_json(&from_file));
    let exprs = expressions(&dashboard);
    assert!(
        exprs
            .iter()
            .any(|e| e.contains("inference_time_seconds_bucket")),
        "{exprs:?}"
    );

    let bad = bin()
        .args(["grafana", "--input"])
        .arg(dir.0.join("missing.json"))
        .output();
    assert_eq!(bad.unwrap().status.code(), Some(1));
    let usage = bin().args(["grafana", "--histograms", "x"]).output();
    assert_eq!(usage.unwrap().status.code(), Some(2));
}

fn have_prometheus() -> bool {
    let found = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("notice: `prometheus` not found (run .ci/install-prometheus.sh); skipping");
    }
    found
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A Prometheus server scraping `target` every second, in a scratch directory.
struct Prometheus {
    addr: SocketAddr,
    dir: TempDir,
    _child: Kill,
}

fn start_prometheus(target: SocketAddr, native: bool) -> Prometheus {
    let dir = TempDir::new(if native {
        "prom-native"
    } else {
        "prom-classic"
    });
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: tachymeter\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(dir.0.join("prometheus.yml"), config).unwrap();
    let addr = free_port();
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!(
        "--config.file={}",
        dir.0.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.0.join("data").display()
    ))
    .arg(format!("--web.listen-address={addr}"))
    .stdin(Stdio::null())
    .stdout(log.try_clone().unwrap())
    .stderr(log);
    if native {
        cmd.arg("--enable-feature=native-histograms");
    }
    Prometheus {
        addr,
        _child: Kill(cmd.spawn().expect("prometheus starts")),
        dir,
    }
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query: `Ok(result array)` on status `success`, `Err(reply)` otherwise.
/// HTTP/1.0, so that the reply is not chunked.
fn query(prom: &Prometheus, promql: &str) -> Result<Vec<Value>, String> {
    let mut stream = TcpStream::connect_timeout(&prom.addr, Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/query?query={} HTTP/1.0\r\n\r\n",
        encode(promql)
    )
    .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: Value = serde_json::from_str(body).map_err(|_| reply.clone())?;
    match (v["status"].as_str(), v["data"]["result"].as_array()) {
        (Some("success"), Some(result)) => Ok(result.clone()),
        _ => Err(body.to_owned()),
    }
}

/// Grafana's substitutions with every job and instance selected.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "30s")
        .replace("$job", ".*")
        .replace("$instance", ".*")
}

/// Evaluates every expression until it returns data; an error status fails at once.
fn check_all(prom: &Prometheus, what: &str, exprs: &[String], deadline: Instant) {
    for expr in exprs {
        let promql = substitute(expr);
        loop {
            match query(prom, &promql) {
                Ok(result) if !result.is_empty() => break,
                Ok(_) => {}
                Err(e) if e.contains("\"status\":\"error\"") => {
                    panic!("{what}: {promql} failed: {e}")
                }
                Err(_) => {} // not up yet
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(prom.dir.0.join("prometheus.log")).unwrap_or_default();
                panic!("{what}: no data for {promql}\nprometheus log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn generate(addr: SocketAddr, dir: &Path, histograms: &str) -> Value {
    let out = dir.join(format!("{histograms}.json"));
    let run = bin()
        .args([
            "grafana",
            "--input",
            &format!("http://{addr}"),
            "--histograms",
            histograms,
        ])
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    read_json(&out)
}

#[test]
fn every_dashboard_expression_returns_data_on_a_real_prometheus() {
    if !have_prometheus() {
        return;
    }
    let began = Instant::now();
    let dir = TempDir::new("live");
    let mut child = bin()
        .args([
            "demo",
            "--duration",
            "120s",
            "--threads",
            "1",
            "--no-tui",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _demo = Kill(child);
    // The reader keeps draining stdout so the demo never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("serving http://") {
                let _ = tx.send(rest.split('/').next().unwrap_or("").to_owned());
            }
        }
    });
    let addr: SocketAddr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the demo prints its address")
        .parse()
        .unwrap();

    let classic = start_prometheus(addr, false);
    let native = start_prometheus(addr, true);
    // Let the workload register its lazily created series (error kinds, profiled stages).
    std::thread::sleep(Duration::from_secs(4));
    let dashboards: Vec<(&str, Value)> = ["classic", "native", "either"]
        .into_iter()
        .map(|form| (form, generate(addr, &dir.0, form)))
        .collect();
    for (form, d) in &dashboards {
        let exprs = expressions(d);
        assert!(exprs.len() >= 20, "{form}: {d}");
        // The demo's batch sizes are a unit-less histogram: exported with native buckets.
        let native = exprs.iter().any(|e| e.contains("histogram_count("));
        assert_eq!(native, *form != "classic", "{form}: {exprs:?}");
        assert!(d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "row" || p["type"] == "timeseries"));
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut checked = 0;
    for (form, d) in &dashboards {
        let mut exprs = expressions(d);
        // The template variables' queries, as PromQL.
        for v in d["templating"]["list"].as_array().unwrap() {
            let def = v["definition"].as_str().unwrap_or("");
            if let Some(args) = def
                .strip_prefix("label_values(")
                .and_then(|a| a.strip_suffix(')'))
            {
                let (series, label) = args.rsplit_once(", ").unwrap();
                exprs.push(format!("count by ({label}) ({series})"));
            }
        }
        let servers: &[(&str, &Prometheus)] = match *form {
            "classic" => &[("classic scrape", &classic)],
            "native" => &[("native scrape", &native)],
            _ => &[("classic scrape", &classic), ("native scrape", &native)],
        };
        for (server, prom) in servers {
            check_all(
                prom,
                &format!("{form} dashboard, {server}"),
                &exprs,
                deadline,
            );
            checked += exprs.len();
        }
    }
    eprintln!(
        "{checked} expressions returned data in {:.1} s",
        began.elapsed().as_secs_f64()
    );
}
