//! `tachymeter report`: a performance report (HTML, JSON, CSV) of a snapshot document, read
//! from a file or from a running demo's `/snapshot.json`; and the demo's `--report FILE.html`,
//! a report of the live engine with its history and monitors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use tachymeter::Engine;
use tachymeter_export::SnapshotDoc;
use tachymeter_report::report::PerformanceReport;

use crate::workload::Metrics;

/// Usage text of `tachymeter report --help`.
pub const USAGE: &str = "\
Usage: tachymeter report --input <snapshot.json | http://127.0.0.1:PORT> [--html FILE]
                         [--json FILE] [--csv FILE]

Writes a performance report of a snapshot document: `tachymeter demo --output x.json`, or the
/snapshot.json of a running demo (`http://HOST:PORT` reads /snapshot.json). A snapshot has no
history: the report shows its cumulative and window figures and says so.

Options:
  --input <SRC>    snapshot JSON file, or http://HOST:PORT[/path]
  --html <FILE>    write the self-contained HTML report
  --json <FILE>    write the report as JSON (schema: tachymeter_report::report docs)
  --csv <FILE>     write the report as CSV (one row per series and statistic)
  -h, --help       print this help
";

/// `tachymeter report` options.
#[derive(Debug, PartialEq, Default)]
pub struct ReportArgs {
    /// File or URL.
    pub input: String,
    /// HTML destination.
    pub html: Option<PathBuf>,
    /// JSON destination.
    pub json: Option<PathBuf>,
    /// CSV destination.
    pub csv: Option<PathBuf>,
    /// Print [`USAGE`] and exit.
    pub help: bool,
}

/// Parses the arguments after `report`.
///
/// # Errors
/// A one-line description of the first bad argument.
pub fn parse(args: &[String]) -> Result<ReportArgs, String> {
    let mut r = ReportArgs::default();
    let mut flags = crate::args::Flags::new(args);
    while let Some((flag, _)) = flags.next_flag() {
        let mut value = |name: &str| flags.value(name);
        match flag {
            "-h" | "--help" => r.help = true,
            "--input" => r.input = value(flag)?,
            "--html" => r.html = Some(value(flag)?.into()),
            "--json" => r.json = Some(value(flag)?.into()),
            "--csv" => r.csv = Some(value(flag)?.into()),
            other => return Err(format!("unknown report option `{other}`")),
        }
    }
    if !r.help && r.input.is_empty() {
        return Err("report needs --input <snapshot.json | http://HOST:PORT>".into());
    }
    if !r.help && r.html.is_none() && r.json.is_none() && r.csv.is_none() {
        return Err("report needs at least one of --html, --json, --csv".into());
    }
    Ok(r)
}

/// Runs `tachymeter report`.
pub fn main(args: ReportArgs) {
    crate::args::run_command(args.help, USAGE, || run(&args));
}

fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let text = if args.input.starts_with("http://") {
        let url = crate::fetch::snapshot_url(&args.input)?;
        crate::fetch::get(&url, Duration::from_secs(30))?
    } else {
        std::fs::read_to_string(&args.input).with_context(|| format!("reading {}", args.input))?
    };
    let doc: SnapshotDoc = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a snapshot document", args.input))?;
    let mut report = PerformanceReport::from_snapshot_doc(&doc);
    report.title = format!("Performance report of {}", args.input);
    write(
        &report,
        args.html.as_deref(),
        args.json.as_deref(),
        args.csv.as_deref(),
    )
}

fn write(
    report: &PerformanceReport,
    html: Option<&Path>,
    json: Option<&Path>,
    csv: Option<&Path>,
) -> anyhow::Result<()> {
    for (path, body) in [
        (html, report.to_html()),
        (json, report.to_json()),
        (csv, report.to_csv()),
    ]
    .into_iter()
    .filter_map(|(p, b)| Some((p?, b)))
    {
        std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote report to {}", path.display());
    }
    Ok(())
}

/// The demo's `--report FILE.html`: a report of the live engine over the run (its history,
/// the inference monitor, the request histogram, the profiler), written to `path`.
pub fn write_demo_report(engine: &Engine, metrics: &Metrics, path: &Path) -> anyhow::Result<()> {
    let report = PerformanceReport::builder(engine)
        .title("tachymeter demo: performance report")
        .hours_back(1.0)
        .inference(&metrics.inference)
        .histogram(&metrics.request)
        .profiler(&metrics.profiler)
        .build();
    std::fs::write(path, report.to_html())
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote report to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags() {
        let r = parse(&args(&[
            "--input",
            "x.json",
            "--html=r.html",
            "--csv",
            "r.csv",
        ]))
        .unwrap();
        assert_eq!(r.input, "x.json");
        assert_eq!(r.html, Some("r.html".into()));
        assert_eq!(r.csv, Some("r.csv".into()));
        assert!(parse(&args(&["--html", "r.html"])).is_err());
        assert!(parse(&args(&["--input", "x.json"])).is_err());
        assert!(parse(&args(&["--input", "x.json", "--bogus"])).is_err());
    }
}
