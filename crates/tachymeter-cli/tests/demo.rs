//! Runs the real `tachymeter` binary: a ~2 s demo without the fault phase writing JSON (checked
//! against the summary it printed and against itself), and bad flags exiting with status 2.
//! The fault phase and its alerts are tested in `alerts.rs`.

use tachymeter_export::{KindDoc, SnapshotDoc};

mod common;
use common::bin;

#[test]
fn demo_runs_and_writes_a_consistent_json_snapshot() {
    let dir = std::env::temp_dir().join(format!("tachymeter-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("x.json");
    let run = bin()
        .args([
            "demo",
            "--duration",
            "2s",
            "--fault",
            "off",
            "--threads",
            "2",
            "--no-tui",
            "--listen",
            "127.0.0.1:0",
            "--output",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("instrumentation overhead:"), "{stdout}");
    assert!(stdout.contains("serving http://127.0.0.1:"), "{stdout}");
    // Plain mode: no ANSI escapes.
    assert!(!stdout.contains('\x1b'), "{stdout}");
    let refreshes = stdout.lines().filter(|l| l.starts_with("t=")).count();
    assert!(
        (1..=3).contains(&refreshes),
        "{refreshes} refresh lines:\n{stdout}"
    );

    let doc: SnapshotDoc = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let find = |name: &str, label: Option<(&str, &str)>| {
        doc.metrics
            .iter()
            .find(|m| {
                m.name == name
                    && !matches!(label, Some((k, v)) if m.labels.get(k).map(String::as_str) != Some(v))
            })
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let counter =
        |name: &str, label: Option<(&str, &str)>| find(name, label).counter.as_ref().unwrap().total;
    // Every request ends in the request histogram: an inference, or an invalid input.
    let requests = u128::from(
        find("demo_request_latency", None)
            .histogram
            .as_ref()
            .unwrap()
            .cumulative
            .count,
    );
    assert!(requests > 1000, "only {requests} requests");
    // The summary gives the workload alone; the final snapshot adds the overhead rounds'
    // requests (the pairs × requests per round it printed, each round once plain and once
    // instrumented: only the instrumented ones are recorded).
    let field = |after: &str| -> u128 {
        let rest = &stdout[stdout
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {stdout}"))
            + after.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let workload = field("workload: ");
    let pairs = field("median of ");
    let per_round = field("paired rounds of ");
    assert_eq!(workload + pairs * per_round, requests, "{stdout}");
    let inferences = find("inference_time", Some(("instance", "demo")))
        .histogram
        .as_ref()
        .unwrap()
        .cumulative
        .count;
    let invalid = counter("inference_errors_total", Some(("kind", "invalid_input")));
    assert_eq!(u128::from(inferences) + invalid, requests);
    // Every inference has a batch size; every non-empty batch goes through each stage.
    let batch = find("inference_batch_size", None)
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(batch.cumulative.count, inferences);
    for stage in ["preprocess", "inference", "serialize"] {
        let h = find("profile_wall_time", Some(("operation", stage)))
            .histogram
            .as_ref()
            .unwrap();
        assert_eq!(h.cumulative.count, inferences, "{stage}");
        let (p50, p99) = (h.cumulative.p50.unwrap(), h.cumulative.p99.unwrap());
        assert!(0.0 < p50 && p50 <= p99, "{stage}: p50 {p50} p99 {p99}");
    }
    let hits = counter("inference_cache_hits_total", None);
    let misses = counter("inference_cache_misses_total", None);
    assert_eq!(
        hits + misses,
        batch.cumulative.sum_steps,
        "one cache lookup per row"
    );
    assert!(hits > 0 && misses > 0);
    // One encoded record per inference, its bytes counted.
    let encoded = find("serialization_duration", Some(("operation", "serialize")))
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(encoded.cumulative.count, inferences);
    assert!(counter("serialization_data_size_total", None) > 0);
    assert_eq!(counter("demo_requests_total", None), requests);
    // The resource monitor sampled (every second) into the same engine.
    let rss = find("process_resident_memory", Some(("instance", "demo")));
    assert!(
        rss.gauge.is_some_and(|b| b > 0.0),
        "no resident memory reading"
    );
    // No fault phase: no alert fired.
    assert!(
        stdout.contains("alerts: 0 fired, 0 resolved, 0 active at the end"),
        "{stdout}"
    );
    assert!(!stdout.contains("phase: "), "{stdout}");
    let overhead = find("demo_instrumentation_overhead_per_request", None);
    assert_eq!(overhead.kind, KindDoc::Gauge);
    assert!(overhead.gauge.is_some_and(f64::is_finite));
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    for args in [
        &["demo", "--threads", "0"][..],
        &["demo", "--bogus"],
        &["demo", "--output", "x.txt"],
        &["demo", "--fault", "maybe"],
        &["frobnicate"],
        &[],
    ] {
        let run = bin().args(args).output().unwrap();
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.starts_with("error: ") && stderr.contains("Usage:"),
            "{args:?}: {stderr}"
        );
    }
    let help = bin().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--duration"));
}

#[test]
fn a_bad_output_path_is_reported_before_the_run() {
    let missing =
        std::env::temp_dir().join(format!("tachymeter-no-such-dir-{}", std::process::id()));
    for (flag, file) in [("--output", "x.json"), ("--prometheus-rules", "rules.yml")] {
        let run = bin()
            .args(["demo", "--duration", "60s", "--threads", "1", "--no-tui"])
            .args(["--listen", "127.0.0.1:0", flag])
            .arg(missing.join(file))
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr),
        );
        assert_eq!(run.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(stderr.contains(file), "{stderr}");
        // Nothing ran: no workload line, no overhead measurement.
        assert!(!stdout.contains("instrumentation overhead"), "{stdout}");
        assert!(!stdout.contains("t="), "{stdout}");
    }
}

#[test]
fn a_config_file_sets_the_engine_and_adds_rules_and_bad_values_are_named() {
    let dir = std::env::temp_dir().join(format!("tachymeter-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        r#"
[engine]
interval = "500ms"
[resources]
enabled = false
[[alerts]]
name = "AnyRequest"
statistic = { counter_rate = { metric = "demo_requests_total" } }
comparison = "above"
threshold = 0.0
"#,
    )
    .unwrap();
    let out = dir.join("x.json");
    let run = bin()
        .args([
            "demo",
            "--duration",
            "1s",
            "--fault",
            "off",
            "--no-tui",
            "--listen",
            "off",
        ])
        .arg("--config")
        .arg(&good)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let doc: SnapshotDoc = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    // `resources.enabled = false`: the resource gauges are registered but never sampled
    // (the default demo's are set every second; `demo_runs_and_writes...` checks that).
    let memory = doc
        .metrics
        .iter()
        .find(|m| m.name == "system_memory_total")
        .expect("registered");
    assert_eq!(memory.gauge, Some(0.0), "sampling was off");
    assert!(
        stdout.contains("AnyRequest"),
        "the file's rule fired:\n{stdout}"
    );
    // A bad value: the error names the file, the key, the value and what is allowed.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[resources]\ncpu_threshold = 250\n").unwrap();
    let run = bin()
        .args(["demo", "--duration", "1s", "--listen", "off", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    for part in ["bad.toml", "cpu_threshold", "250", "0..=100"] {
        assert!(stderr.contains(part), "{part} in: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
