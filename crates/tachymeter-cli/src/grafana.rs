//! `tachymeter grafana`: writes a Grafana dashboard for the metrics of a JSON snapshot (a file
//! written by `tachymeter demo --output x.json`, or a running endpoint's `/snapshot.json`).
//! The dashboard itself comes from `tachymeter_report::grafana`.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use tachymeter::{MetricKind, Snapshot};
use tachymeter_export::{KindDoc, SnapshotDoc};
use tachymeter_report::grafana::{self, DashboardOptions, HistogramQueries, SeriesInfo};

/// Usage text of `tachymeter grafana --help`.
pub const USAGE: &str = "\
Usage: tachymeter grafana --input <SNAPSHOT> [--output FILE.json] [OPTIONS]

Writes a Grafana dashboard (JSON model, schemaVersion 39) for the metrics of a snapshot: one
row per monitor, timeseries panels for rates, p50/p95/p99, error and cache hit ratios, gauges.

Options:
  --input <SNAPSHOT>       a JSON snapshot file (`tachymeter demo --output x.json`), or a running
                           endpoint: http://HOST:PORT (reads /snapshot.json)
  --output <FILE>          where to write the dashboard [default: stdout]
  --title <TITLE>          dashboard title [default: tachymeter]
  --histograms <FORM>      classic (le buckets, any scrape), native (Prometheus with
                           --enable-feature=native-histograms), or either [default: classic]
  --rate-interval <RANGE>  range of every rate(): a PromQL duration such as 5m
                           [default: $__rate_interval]
  -h, --help               print this help
";

/// `tachymeter grafana` options.
#[derive(Debug, PartialEq)]
pub struct GrafanaArgs {
    /// A file path or an `http://` URL.
    pub input: String,
    /// Destination; `None` = stdout.
    pub output: Option<PathBuf>,
    /// Dashboard options.
    pub options: DashboardOptions,
    /// Print [`USAGE`] instead.
    pub help: bool,
}

/// Parses the arguments after `grafana`.
pub fn parse(args: &[String]) -> Result<GrafanaArgs, String> {
    let mut input = None;
    let mut output = None;
    let mut options = DashboardOptions::new();
    let mut flags = crate::args::Flags::new(args);
    while let Some((flag, arg)) = flags.next_flag() {
        let mut value = || flags.value(flag);
        match flag {
            "-h" | "--help" => {
                return Ok(GrafanaArgs {
                    input: String::new(),
                    output: None,
                    options,
                    help: true,
                })
            }
            "--input" => input = Some(value()?),
            "--output" => output = Some(PathBuf::from(value()?)),
            "--title" => options = options.title(value()?),
            "--histograms" => {
                let v = value()?;
                options = options.histograms(match v.as_str() {
                    "classic" => HistogramQueries::Classic,
                    "native" => HistogramQueries::Native,
                    "either" => HistogramQueries::Either,
                    _ => {
                        return Err(format!(
                            "--histograms wants classic, native or either, got `{v}`"
                        ))
                    }
                });
            }
            "--rate-interval" => {
                let v = value()?;
                let ok = |s: &str| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "$_".contains(c))
                };
                if !ok(&v) {
                    return Err(format!(
                        "--rate-interval wants e.g. 5m or $__rate_interval, got `{v}`"
                    ));
                }
                options = options.rate_interval(v);
            }
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    Ok(GrafanaArgs {
        input: input.ok_or("--input is required (a snapshot .json file or http://HOST:PORT)")?,
        output,
        options,
        help: false,
    })
}

/// Runs `tachymeter grafana`; exits 2 on a usage error, 1 on a failure.
pub fn main(args: GrafanaArgs) {
    crate::args::run_command(args.help, USAGE, || run(&args));
}

fn run(args: &GrafanaArgs) -> anyhow::Result<()> {
    let bytes = if args.input.starts_with("http://") {
        fetch(&args.input)?
    } else {
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input))?
    };
    let doc: SnapshotDoc = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a tachymeter JSON snapshot", args.input))?;
    let dashboard = grafana::dashboard_for(&series(&doc), &args.options);
    match &args.output {
        Some(path) => write(path, &dashboard)?,
        None => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &dashboard)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Writes the dashboard for `snapshot`'s metrics to `path` (the demo's `--grafana`).
pub fn write_for_snapshot(path: &Path, snapshot: &Snapshot) -> anyhow::Result<()> {
    write(
        path,
        &grafana::dashboard(snapshot, &DashboardOptions::new()),
    )
}

fn write(path: &Path, dashboard: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(dashboard)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The series a JSON snapshot describes.
fn series(doc: &SnapshotDoc) -> Vec<SeriesInfo> {
    doc.metrics
        .iter()
        .map(|m| SeriesInfo {
            name: m.name.clone(),
            kind: match m.kind {
                KindDoc::Counter => MetricKind::Counter,
                KindDoc::Gauge => MetricKind::Gauge,
                KindDoc::Histogram => MetricKind::Histogram,
                KindDoc::Events => MetricKind::Events,
                KindDoc::Records => MetricKind::Records,
            },
            unit: m.unit.clone(),
            help: m.help.clone(),
            labels: m.labels.keys().cloned().collect(),
        })
        .collect()
}

/// Largest snapshot body read.
const MAX_BODY: u64 = 64 << 20;

/// `GET /snapshot.json` (or the URL's own path) over plain HTTP/1.1, with bounded timeouts.
fn fetch(url: &str) -> anyhow::Result<Vec<u8>> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (authority, path) = match rest.find('/') {
        Some(i) if &rest[i..] != "/" => (&rest[..i], &rest[i..]),
        Some(i) => (&rest[..i], "/snapshot.json"),
        None => (rest, "/snapshot.json"),
    };
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority} (want HOST:PORT)"))?
        .next()
        .with_context(|| format!("{authority} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    stream
        .take(MAX_BODY)
        .read_to_end(&mut reply)
        .with_context(|| format!("reading {url}"))?;
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP response head")?;
    let head = String::from_utf8_lossy(&reply[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        bail!("GET {url}{path}: HTTP status {status}");
    }
    if head.contains("transfer-encoding: chunked") {
        bail!("GET {url}: chunked responses are not supported");
    }
    Ok(reply.split_off(split + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<GrafanaArgs, String> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags() {
        let g = args(&[
            "--input",
            "x.json",
            "--output=d.json",
            "--title",
            "T",
            "--histograms",
            "native",
            "--rate-interval",
            "5m",
        ])
        .unwrap();
        assert_eq!(g.input, "x.json");
        assert_eq!(g.output, Some(PathBuf::from("d.json")));
        assert_eq!(
            g.options,
            DashboardOptions::new()
                .title("T")
                .histograms(HistogramQueries::Native)
                .rate_interval("5m")
        );
        assert!(args(&["-h"]).unwrap().help);
        for bad in [
            &[][..],
            &["--input"],
            &["--input", "x", "--histograms", "both"],
            &["--input", "x", "--rate-interval", "5m])"],
            &["--input", "x", "extra"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
