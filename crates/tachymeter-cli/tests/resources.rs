//! Runs `tachymeter resources`: JSON lines parsed back, the text form, bad flags; and the
//! resource monitor's exposition through `promtool check metrics`.

use std::process::Command;
use std::sync::Arc;

mod common;
use common::bin;

#[test]
fn json_lines_parse_back() {
    let run = bin()
        .args(["resources", "--count", "2", "--interval", "200ms", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (i, r) in lines.iter().enumerate() {
        assert_eq!(r["sequence"], i as u64 + 1);
        let cpu = r["cpu_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{cpu}");
        // Each reading covers at least the interval (CPU over a real interval, not zeros).
        assert!(r["interval_seconds"].as_f64().unwrap() >= 0.2, "{r}");
        assert!(r["memory_total_bytes"].as_u64().unwrap() > 0);
        assert!(r["memory_percent"].as_f64().unwrap() > 0.0);
        assert!(r.get("disks").unwrap().is_array());
        assert!(r.get("gpus").is_some());
        #[cfg(target_os = "linux")]
        assert!(r["process"]["threads"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn text_lines_and_bad_flags() {
    let run = bin()
        .args(["resources", "--count=1", "--interval=200ms"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("cpu ") && stdout.contains(" mem "),
        "{stdout}"
    );
    let help = bin().args(["resources", "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--count <N>"));
    for bad in [
        &["resources", "--count", "0"][..],
        &["resources", "--bogus"],
    ] {
        let run = bin().args(bad).output().unwrap();
        assert_eq!(run.status.code(), Some(2), "{bad:?}");
    }
}

/// `promtool check metrics` accepts the resource monitor's metrics: no parse error and no
/// lint (units in base units, counters ending in `_total`). Skipped where promtool is absent.
#[test]
fn resource_exposition_passes_promtool_lint() {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not found: skipped");
        return;
    };
    let engine = Arc::new(
        tachymeter::Engine::builder()
            .background(false)
            .build()
            .unwrap(),
    );
    let monitor = tachymeter_monitor::ResourceMonitor::builder()
        .engine(engine.clone())
        .build()
        .unwrap();
    monitor.sample_now();
    let text = tachymeter_export::encode_text(
        &engine.flush(),
        &tachymeter_export::ExportConfig::default(),
    );
    for name in [
        "system_cpu_usage_ratio",
        "system_memory_used_bytes",
        "system_disk_free_bytes",
        "system_network_received_bytes_total",
        "system_network_receive_bytes_per_second",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(
            text.contains(&format!("\n{name}{{")),
            "{name} missing:\n{text}"
        );
    }
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let printed =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && printed.is_empty(),
        "{printed}\n{text}"
    );
}
