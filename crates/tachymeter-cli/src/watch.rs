//! `tachymeter watch http://HOST:PORT`: the live view of any process that serves tachymeter's
//! `/snapshot.json` (the demo, or a user's own service with a `MetricsServer`).
//!
//! Every interval it reads the document and draws one frame: the snapshot's sequence and age,
//! then the histograms (rate and quantiles over the last interval), the counters (rate and
//! total) and the gauges, busiest first. When the target cannot be read the frame keeps the
//! last data and says since when the target is down; `--once` prints a single frame and exits
//! (status 1 when the target cannot be read).

use std::io::IsTerminal as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tachymeter_export::{KindDoc, MetricDoc, SnapshotDoc};

use crate::fetch;
use crate::screen::Screen;

/// Usage text of `tachymeter watch --help`.
pub const USAGE: &str = "\
Usage: tachymeter watch <http://HOST:PORT> [--interval 1s] [--once] [--no-tui]

Shows the live view of a process that serves tachymeter's /snapshot.json (`tachymeter demo`,
or your service's tachymeter_export::MetricsServer): histograms with their rate and p50, p99
over the last interval, counters, gauges, busiest first, and how old the snapshot is.
Quit with q, Esc or Ctrl-C.

Options:
  --interval <D>   time between reads: 1s, 500ms, ... [default: 1s]
  --once           print one frame and exit (status 1 when the target cannot be read)
  --no-tui         print one frame per read as plain lines (automatic when stdout is
                   not a terminal)
  -h, --help       print this help
";

/// `tachymeter watch` options.
#[derive(Debug, PartialEq)]
pub struct WatchArgs {
    /// The target, as given.
    pub target: String,
    /// Time between reads.
    pub interval: Duration,
    /// One frame, then exit.
    pub once: bool,
    /// Plain output.
    pub no_tui: bool,
    /// Print [`USAGE`].
    pub help: bool,
}

/// Parses the arguments after `watch`.
///
/// # Errors
/// A one-line description of the first bad argument.
pub fn parse(args: &[String]) -> Result<WatchArgs, String> {
    let mut w = WatchArgs {
        target: String::new(),
        interval: Duration::from_secs(1),
        once: false,
        no_tui: false,
        help: false,
    };
    let mut flags = crate::args::Flags::new(args);
    while let Some((flag, _)) = flags.next_flag() {
        match flag {
            "-h" | "--help" => w.help = true,
            "--once" => w.once = true,
            "--no-tui" => w.no_tui = true,
            "--interval" => {
                let v = flags.value(flag)?;
                w.interval =
                    crate::args::parse_duration(&v).map_err(|e| format!("--interval: {e}"))?;
                if w.interval < Duration::from_millis(100) {
                    return Err("--interval: at least 100ms".into());
                }
            }
            f if f.starts_with('-') => return Err(format!("unknown watch option `{f}`")),
            target if w.target.is_empty() => w.target = target.to_owned(),
            extra => return Err(format!("watch takes one target, got a second: `{extra}`")),
        }
    }
    if !w.help && w.target.is_empty() {
        return Err("watch needs a target: tachymeter watch http://HOST:PORT".into());
    }
    Ok(w)
}

/// Runs `tachymeter watch`.
pub fn main(args: WatchArgs) {
    crate::args::run_command(args.help, USAGE, || run(&args));
}

/// Width of plain-mode frames (`--once`, `--no-tui`).
const PLAIN_WIDTH: usize = 120;

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn run(args: &WatchArgs) -> anyhow::Result<()> {
    let url = fetch::snapshot_url(&args.target)?;
    let timeout = args.interval.max(Duration::from_secs(2));
    let read = || -> anyhow::Result<SnapshotDoc> {
        let body = fetch::get(&url, timeout)?;
        serde_json::from_str(&body)
            .map_err(|e| anyhow::anyhow!("{url} did not return a snapshot document: {e}"))
    };
    if args.once {
        let doc = read()?;
        println!(
            "{}",
            frame(&url, Some(&doc), now_unix(), None, PLAIN_WIDTH).join("\n")
        );
        return Ok(());
    }
    let tui = !args.no_tui && std::io::stdout().is_terminal();
    let mut screen = if tui { Some(Screen::stdout()?) } else { None };
    let mut last: Option<SnapshotDoc> = None;
    let mut down_since: Option<Instant> = None;
    let mut printed = None;
    loop {
        let started = Instant::now();
        let status = match read() {
            Ok(doc) => {
                down_since = None;
                last = Some(doc);
                None
            }
            Err(e) => {
                let since = *down_since.get_or_insert(started);
                Some(format!(
                    "TARGET DOWN for {:.0}s: {e:#}",
                    since.elapsed().as_secs_f64()
                ))
            }
        };
        let width = screen
            .as_ref()
            .map_or(PLAIN_WIDTH, |s| usize::from(s.size().0));
        let lines = frame(&url, last.as_ref(), now_unix(), status.as_deref(), width);
        match screen.as_mut() {
            Some(s) => s.draw(&lines)?,
            None => {
                // Plain mode: a frame only when there is something new to say.
                let key = (last.as_ref().map(|d| d.sequence), status.is_some());
                if printed != Some(key) {
                    println!("{}\n", lines.join("\n"));
                    printed = Some(key);
                }
            }
        }
        let wait = args.interval.saturating_sub(started.elapsed());
        match screen.as_mut() {
            Some(s) => {
                if s.wait(wait)? {
                    return Ok(());
                }
            }
            None => std::thread::sleep(wait),
        }
    }
}

/// `name{k=v,...}`.
fn series(m: &MetricDoc) -> String {
    if m.labels.is_empty() {
        return m.name.clone();
    }
    let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}{{{}}}", m.name, labels.join(","))
}

/// `v` in `unit`, short: seconds scaled to ns, µs, ms or s; bytes to B, KiB, MiB, GiB.
pub fn quantity(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else {
        return "-".to_owned();
    };
    let scaled = |steps: &[(f64, &str)]| {
        let (div, suffix) = steps
            .iter()
            .rev()
            .find(|(d, _)| v.abs() >= *d)
            .copied()
            .unwrap_or(steps[0]);
        format!("{:.1}{suffix}", v / div)
    };
    match unit {
        "seconds" => scaled(&[(1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s")]),
        "bytes" => scaled(&[
            (1.0, "B"),
            (1024.0, "KiB"),
            (1048576.0, "MiB"),
            (1073741824.0, "GiB"),
        ]),
        "ratio" => format!("{:.1}%", v * 100.0),
        _ => format!("{v:.3}"),
    }
}

/// Width of the series column for a terminal `width` columns wide, when the numbers take
/// `numbers` columns: the rest, at least 16.
fn name_width(width: usize, numbers: usize) -> usize {
    width.saturating_sub(numbers + 1).max(16)
}

fn cols(s: &str) -> usize {
    ratatui::text::Line::raw(s).width()
}

/// `name` cut or padded to exactly `w` columns.
fn column(name: &str, w: usize) -> String {
    let cut = crate::screen::truncate(name, w);
    let pad = w.saturating_sub(cols(&cut));
    format!("{cut}{}", " ".repeat(pad))
}

/// The series `m` in at most `w` columns, keeping what tells series apart: `name{k=v,...}`
/// if it fits, else `name{v,...}` (label values only), else that with the name cut
/// (`profile…{demo,serialize}`), else cut at the end.
fn series_in(m: &MetricDoc, w: usize) -> String {
    let full = series(m);
    if cols(&full) <= w || m.labels.is_empty() {
        return full;
    }
    let values: Vec<&str> = m.labels.values().map(String::as_str).collect();
    let labels = format!("{{{}}}", values.join(","));
    let compact = format!("{}{labels}", m.name);
    if cols(&compact) <= w {
        return compact;
    }
    match w.checked_sub(cols(&labels)) {
        Some(room) if room >= 5 => format!("{}{labels}", crate::screen::truncate(&m.name, room)),
        _ => compact,
    }
}

/// The frame for `doc` read from `url`, laid out for a terminal `width` columns wide (the
/// series names first, cut to fit beside the numbers; the screen cuts anything longer), with
/// `status` (the target is down) on the second line.
pub fn frame(
    url: &str,
    doc: Option<&SnapshotDoc>,
    now_unix: f64,
    status: Option<&str>,
    width: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(doc) = doc else {
        out.push(format!("tachymeter watch {url}"));
        out.push(
            status
                .unwrap_or("waiting for the first snapshot")
                .to_owned(),
        );
        return out;
    };
    let age = (now_unix - doc.time_unix_seconds).max(0.0);
    out.push(format!(
        "tachymeter watch {url}  snapshot #{} ({age:.1}s old)  uptime {:.0}s  interval {:.1}s",
        doc.sequence, doc.uptime_seconds, doc.interval_seconds
    ));
    if let Some(s) = status {
        out.push(s.to_owned());
    }
    let interval = doc.interval_seconds;
    // Histogram numbers: rate, p50, p99, max (9 + 1 each) and, on terminals of 100 columns
    // or more, the count since start (10 + 1).
    let with_count = width >= 100;
    let hist_name = name_width(width, 4 * 10 + if with_count { 11 } else { 0 });
    // Counter numbers: rate and total; gauges: the value.
    let other_name = name_width(width, 10 + 13);
    let mut hists: Vec<(f64, String)> = Vec::new();
    let mut counters: Vec<(f64, String)> = Vec::new();
    let mut gauges: Vec<String> = Vec::new();
    for m in &doc.metrics {
        match (m.kind, &m.histogram, &m.counter, m.gauge) {
            (KindDoc::Histogram, Some(h), _, _) => {
                let i = &h.interval;
                let rate = if interval > 0.0 {
                    i.count as f64 / interval
                } else {
                    0.0
                };
                let mut row = format!(
                    "{} {rate:>9.1} {:>9} {:>9} {:>9}",
                    column(&series_in(m, hist_name), hist_name),
                    quantity(i.p50, &m.unit),
                    quantity(i.p99, &m.unit),
                    quantity(i.max, &m.unit),
                );
                if with_count {
                    row.push_str(&format!(" {:>10}", h.cumulative.count));
                }
                hists.push((rate, row));
            }
            (KindDoc::Counter, _, Some(c), _) => {
                let rate = c.rate.unwrap_or(0.0);
                counters.push((
                    rate,
                    format!(
                        "{} {rate:>9.1} {:>12}",
                        column(&series_in(m, other_name), other_name),
                        c.total
                    ),
                ));
            }
            (KindDoc::Gauge, _, _, Some(v)) => {
                gauges.push(format!(
                    "{} {:>12}",
                    column(&series_in(m, other_name), other_name),
                    quantity(Some(v), &m.unit)
                ));
            }
            _ => {}
        }
    }
    let busiest = |v: &mut Vec<(f64, String)>| {
        v.sort_by(|a, b| b.0.total_cmp(&a.0));
        v.drain(..).map(|(_, l)| l).collect::<Vec<_>>()
    };
    if !hists.is_empty() {
        let mut head = format!(
            "{} {:>9} {:>9} {:>9} {:>9}",
            column("histograms (last interval)", hist_name),
            "/s",
            "p50",
            "p99",
            "max",
        );
        if with_count {
            head.push_str(&format!(" {:>10}", "count"));
        }
        out.push(head);
        out.extend(busiest(&mut hists));
    }
    if !counters.is_empty() {
        out.push(format!(
            "{} {:>9} {:>12}",
            column("counters", other_name),
            "/s",
            "total"
        ));
        out.extend(busiest(&mut counters));
    }
    if !gauges.is_empty() {
        out.push(format!("{} {:>12}", column("gauges", other_name), "value"));
        out.extend(gauges);
    }
    if doc.metrics.is_empty() {
        out.push("(no series registered yet)".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses() {
        let w = parse(&args(&[
            "http://127.0.0.1:9464",
            "--interval",
            "500ms",
            "--once",
        ]))
        .unwrap();
        assert_eq!(w.target, "http://127.0.0.1:9464");
        assert_eq!(w.interval, Duration::from_millis(500));
        assert!(w.once && !w.no_tui);
        assert!(parse(&args(&[])).unwrap_err().contains("needs a target"));
        assert!(parse(&args(&["a", "b"])).unwrap_err().contains("second"));
        assert!(parse(&args(&["a", "--interval", "1ms"])).is_err());
        assert!(parse(&args(&["a", "--bogus"])).is_err());
        assert!(parse(&args(&["--help"])).unwrap().help);
    }

    #[test]
    fn narrow_series_keep_their_label_values() {
        let doc: MetricDoc = serde_json::from_value(serde_json::json!({
            "name": "profile_wall_time", "kind": "histogram", "help": "", "unit": "seconds",
            "labels": {"instance": "demo", "operation": "serialize"}
        }))
        .unwrap();
        assert_eq!(
            series_in(&doc, 80),
            "profile_wall_time{instance=demo,operation=serialize}"
        );
        assert_eq!(series_in(&doc, 40), "profile_wall_time{demo,serialize}");
        // 24 columns: 16 for `{demo,serialize}`, 8 for the name.
        assert_eq!(series_in(&doc, 24), "profile…{demo,serialize}");
        assert_eq!(cols(&series_in(&doc, 24)), 24);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity(Some(0.000_002_5), "seconds"), "2.5µs");
        assert_eq!(quantity(Some(0.25), "seconds"), "250.0ms");
        assert_eq!(quantity(Some(3.0), "seconds"), "3.0s");
        assert_eq!(quantity(Some(3e-10), "seconds"), "0.3ns");
        assert_eq!(quantity(Some(2048.0), "bytes"), "2.0KiB");
        assert_eq!(quantity(Some(0.125), "ratio"), "12.5%");
        assert_eq!(quantity(None, "seconds"), "-");
    }

    /// A frame of a real engine's document: the series appear busiest first with their rates
    /// computed from the interval counts, and the age from the document's time.
    #[test]
    fn frame_of_an_engine() {
        use tachymeter::Opts;
        let engine = tachymeter::Engine::builder()
            .background(false)
            .build()
            .unwrap();
        // Seconds histograms store integer nanoseconds.
        let busy = engine
            .histogram(Opts::new("busy_seconds").unit("seconds"))
            .unwrap();
        let quiet = engine
            .histogram(Opts::new("quiet_seconds").unit("seconds"))
            .unwrap();
        let c = engine.counter("done_total").unwrap();
        for _ in 0..30 {
            busy.record(2_000);
        }
        quiet.record(1_000_000);
        c.add(7);
        let snap = engine.flush();
        let doc = SnapshotDoc::from_snapshot(&snap);
        let lines = frame(
            "http://x/snapshot.json",
            Some(&doc),
            doc.time_unix_seconds + 1.25,
            None,
            120,
        );
        assert!(
            lines[0].contains(&format!("snapshot #{}", doc.sequence)),
            "{lines:?}"
        );
        assert!(
            lines[0].contains("(1.2s old)") || lines[0].contains("(1.3s old)"),
            "{lines:?}"
        );
        let row = |name: &str| {
            let i = lines
                .iter()
                .position(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name}: {lines:?}"));
            (i, lines[i].split_whitespace().skip(1).collect::<Vec<_>>())
        };
        let (busy_at, busy) = row("busy_seconds");
        let (quiet_at, _) = row("quiet_seconds");
        assert!(busy_at < quiet_at, "{lines:?}");
        let rate = 30.0 / doc.interval_seconds;
        assert_eq!(busy[0], format!("{rate:.1}"), "{lines:?}");
        assert_eq!(busy[1], "2.0µs", "{lines:?}");
        assert_eq!(busy[4], "30", "{lines:?}");
        assert_eq!(row("done_total").1[1], "7", "{lines:?}");
        // Every row fits 120 columns; at 60 the names are cut and the numbers stay whole.
        let w = |l: &str| ratatui::text::Line::raw(l).width();
        assert!(lines.iter().skip(1).all(|l| w(l) <= 120), "{lines:?}");
        let narrow = frame("u", Some(&doc), doc.time_unix_seconds, None, 60);
        // (The header line may be longer: the screen cuts it.)
        assert!(narrow.iter().skip(1).all(|l| w(l) <= 60), "{narrow:?}");
        let counter = narrow.iter().find(|l| l.starts_with("done_total")).unwrap();
        assert!(w(counter) <= 60 && counter.ends_with(" 7"), "{narrow:?}");
        let down = frame(
            "u",
            Some(&doc),
            doc.time_unix_seconds,
            Some("TARGET DOWN for 3s: x"),
            80,
        );
        assert_eq!(down[1], "TARGET DOWN for 3s: x");
    }
}
