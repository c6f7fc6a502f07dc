//! `tachymeter resources`: prints system and process resource readings of a
//! [`ResourceMonitor`], one line per interval, as text or JSON lines.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use tachymeter::Engine;
use tachymeter_monitor::{ResourceMonitor, ResourceSnapshot};

/// Usage text of `tachymeter resources --help`.
pub const USAGE: &str = "\
Usage: tachymeter resources [OPTIONS]

Prints system and process resource readings (CPU, memory, swap, disks, network, processes,
this process, GPUs when built with the `gpu` feature), one line per interval.

Options:
  --interval <D>   time between readings: 1s, 500ms, … (at least 200ms) [default: 1s]
  --count <N>      stop after N readings [default: until interrupted]
  --json           one JSON object per line instead of text
  -h, --help       print this help
";

/// `tachymeter resources` options.
#[derive(Debug, PartialEq)]
pub struct ResourcesArgs {
    /// Time between readings.
    pub interval: Duration,
    /// Readings to print; `None` = until interrupted.
    pub count: Option<u64>,
    /// JSON lines instead of text.
    pub json: bool,
    /// Print [`USAGE`] and exit.
    pub help: bool,
}

/// Parses the arguments after `resources`.
///
/// # Errors
/// A one-line description of the first bad argument.
pub fn parse(args: &[String]) -> Result<ResourcesArgs, String> {
    let mut out = ResourcesArgs {
        interval: Duration::from_secs(1),
        count: None,
        json: false,
        help: false,
    };
    let mut flags = crate::args::Flags::new(args);
    while let Some((flag, arg)) = flags.next_flag() {
        let inline = flags.has_inline();
        let mut value = |name: &str| flags.value(name);
        match flag {
            "-h" | "--help" => out.help = true,
            "--interval" => {
                let v = value(flag)?;
                out.interval = crate::args::parse_duration(&v)
                    .map_err(|_| format!("--interval wants e.g. 1s, 500ms; got `{v}`"))?;
            }
            "--count" => {
                let v = value(flag)?;
                out.count = match v.parse::<u64>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => return Err(format!("--count must be a positive integer, got `{v}`")),
                };
            }
            "--json" if !inline => out.json = true,
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    Ok(out)
}

/// Runs `tachymeter resources`: prints help, or readings until `count`.
pub fn main(args: ResourcesArgs) {
    crate::args::run_command(args.help, USAGE, || run(&args));
}

fn run(args: &ResourcesArgs) -> anyhow::Result<()> {
    // A private engine: the readings are printed, not served.
    let engine = std::sync::Arc::new(
        Engine::builder()
            .background(false)
            .build()
            .context("building the engine")?,
    );
    let monitor = ResourceMonitor::builder()
        .engine(engine)
        .interval(args.interval)
        .build()
        .context("registering the resource gauges")?;
    let mut stdout = std::io::stdout().lock();
    let mut taken = 0u64;
    while args.count.is_none_or(|n| taken < n) {
        // The reading covers the interval since the previous one (or since `build`).
        std::thread::sleep(monitor.interval());
        let r = monitor.sample_now();
        taken += 1;
        let line = if args.json {
            serde_json::to_string(&r).context("encoding a reading")?
        } else {
            text(&r)
        };
        writeln!(stdout, "{line}").context("writing to stdout")?;
        stdout.flush().context("writing to stdout")?;
    }
    Ok(())
}

/// One reading as a line of text.
fn text(r: &ResourceSnapshot) -> String {
    let mut s = format!(
        "cpu {:5.1}%  mem {:5.1}% ({} of {})  swap {}",
        r.cpu_percent,
        r.memory_percent,
        bytes(r.memory_used_bytes as f64),
        bytes(r.memory_total_bytes as f64),
        bytes(r.swap_used_bytes as f64),
    );
    for d in &r.disks {
        s += &format!(
            "  disk {} {:.1}% ({} free)",
            d.mount,
            d.percent,
            bytes(d.free_bytes as f64)
        );
    }
    if let Some(n) = &r.network {
        s += &format!(
            "  net rx {}/s tx {}/s",
            bytes(n.received_bytes_per_second),
            bytes(n.sent_bytes_per_second)
        );
    }
    if let Some(n) = r.process_count {
        s += &format!("  procs {n}");
    }
    if let Some(p) = &r.process {
        let opt = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
        s += &format!(
            "  self rss {} cpu {} threads {} fds {}",
            p.resident_memory_bytes
                .map_or_else(|| "n/a".to_owned(), |b| bytes(b as f64)),
            p.cpu_percent
                .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.1}%")),
            opt(p.threads),
            opt(p.open_fds),
        );
    }
    s += &match r.gpu_percent {
        Some(p) => format!("  gpu {p:.0}%"),
        None => "  gpu not available".to_owned(),
    };
    s
}

/// `bytes` in B, KiB, MiB, GiB or TiB with one decimal.
fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<ResourcesArgs, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags() {
        let d = parse_strs(&[]).unwrap();
        assert_eq!(
            (d.interval, d.count, d.json),
            (Duration::from_secs(1), None, false)
        );
        let a = parse_strs(&["--interval", "200ms", "--count=3", "--json"]).unwrap();
        assert_eq!(
            (a.interval, a.count, a.json),
            (Duration::from_millis(200), Some(3), true)
        );
        assert!(parse_strs(&["-h"]).unwrap().help);
        for bad in [
            &["--count", "0"][..],
            &["--count", "x"],
            &["--interval"],
            &["--interval", "0s"],
            &["--json=yes"],
            &["extra"],
        ] {
            assert!(parse_strs(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
    }
}
