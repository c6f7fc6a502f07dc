//! Command-line parsing (hand-rolled: a dozen flags do not justify clap's build time on 2 cores).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
Usage: tachymeter demo [OPTIONS]
       tachymeter resources [--interval 1s] [--count N] [--json]   (see `resources --help`)
       tachymeter grafana --input <SNAPSHOT> [--output FILE.json]  (see `grafana --help`)
       tachymeter report --input <snapshot.json|http://HOST:PORT> --html FILE   (see `report --help`)
       tachymeter watch http://HOST:PORT    live view of a running process (see `watch --help`)

Runs an instrumented multi-threaded workload (inference + serialization), shows a live view,
serves Prometheus metrics, and prints a summary with the measured instrumentation overhead.
Alert rules and a resource monitor run throughout; a fault phase after the normal
workload (an error burst, then slow requests, then recovery) fires and resolves alerts.

Options:
  --duration <D>     normal workload before the fault phase: 10s, 500ms, 2m,
                     or plain seconds [default: 10s]
  --fault <on|off>   run the fault phase [default: on]
  --fault-phase <D>  length of each fault segment: errors, slow, recovery
                     [default: 5s]
  --prometheus-rules <FILE>
                     write the alert rules as a Prometheus rules file at startup
  --threads <N>      worker threads, 1..=64 [default: 2]
  --listen <ADDR>    /metrics bind address, or `off` [default: 127.0.0.1:9464]
  --output <FILE>    write the final snapshot to FILE.json or FILE.csv
  --grafana <FILE>   write a Grafana dashboard for the demo's metrics to FILE.json
  --report <FILE>    write an HTML performance report of the run to FILE.html
  --config <FILE>    load a TOML configuration (engine, monitors, resources, alert rules);
                     TACHYMETER_* environment variables override it
  --no-tui           plain line output (automatic when stdout is not a terminal)
  --seed <N>         workload random seed [default: 1]
  -h, --help         print this help
";

/// Default length of each fault segment: long enough for the demo's rules to fire within it
/// (see `alerts.rs`).
pub const DEFAULT_FAULT_PHASE: Duration = Duration::from_secs(5);

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Run the demo.
    Demo(DemoArgs),
    /// Print resource readings (`tachymeter resources`, parsed in `resources.rs`).
    Resources(crate::resources::ResourcesArgs),
    /// Write a Grafana dashboard (`tachymeter grafana`, parsed in `grafana.rs`).
    Grafana(crate::grafana::GrafanaArgs),
    /// Write a report of a snapshot document (`tachymeter report`, parsed in `report.rs`).
    Report(crate::report::ReportArgs),
    /// Watch a running process (`tachymeter watch`, parsed in `watch.rs`).
    Watch(crate::watch::WatchArgs),
}

/// Output file kind, from the extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `.json`
    Json,
    /// `.csv`
    Csv,
}

/// `tachymeter demo` options.
#[derive(Debug, PartialEq)]
pub struct DemoArgs {
    /// Normal workload duration (the fault phase, then the overhead measurement, run after it).
    pub duration: Duration,
    /// Length of each fault segment; `None`: no fault phase.
    pub fault_phase: Option<Duration>,
    /// Where to write the Prometheus rules file.
    pub prometheus_rules: Option<PathBuf>,
    /// Worker threads.
    pub threads: usize,
    /// Where to serve `/metrics`; `None` = off.
    pub listen: Option<SocketAddr>,
    /// Final snapshot destination.
    pub output: Option<(PathBuf, OutputFormat)>,
    /// Grafana dashboard destination.
    pub grafana: Option<PathBuf>,
    /// HTML report destination (`--report`).
    pub report: Option<PathBuf>,
    /// Configuration file (`--config`).
    pub config: Option<PathBuf>,
    /// Plain line output instead of the redrawn view.
    pub no_tui: bool,
    /// Workload seed.
    pub seed: u64,
}

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs {
            duration: Duration::from_secs(10),
            fault_phase: Some(DEFAULT_FAULT_PHASE),
            prometheus_rules: None,
            threads: 2,
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            output: None,
            grafana: None,
            report: None,
            config: None,
            no_tui: false,
            seed: 1,
        }
    }
}

/// Parses `args` (without the program name).
///
/// # Errors
/// A one-line description of the first bad argument.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        None => return Err("missing command (try `tachymeter demo`)".to_owned()),
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("demo") => {}
        Some("resources") => return crate::resources::parse(it.as_slice()).map(Command::Resources),
        Some("grafana") => return crate::grafana::parse(it.as_slice()).map(Command::Grafana),
        Some("report") => return crate::report::parse(it.as_slice()).map(Command::Report),
        Some("watch") => return crate::watch::parse(it.as_slice()).map(Command::Watch),
        Some(other) => {
            return Err(format!(
                "unknown command `{other}` (the commands are `demo`, `watch`, `report`, `grafana` and `resources`)"
            ))
        }
    }
    let mut demo = DemoArgs::default();
    let (mut fault, mut phase) = (true, DEFAULT_FAULT_PHASE);
    let mut flags = Flags::new(it.as_slice());
    while let Some((flag, arg)) = flags.next_flag() {
        let inline = flags.has_inline();
        let mut value = |name: &str| flags.value(name);
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--report" => demo.report = Some(PathBuf::from(value(flag)?)),
            "--config" => demo.config = Some(PathBuf::from(value(flag)?)),
            "--duration" => demo.duration = parse_duration(&value(flag)?)?,
            "--fault" => {
                let v = value(flag)?;
                fault = match v.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("--fault wants `on` or `off`, got `{v}`")),
                };
            }
            "--fault-phase" => {
                let v = value(flag)?;
                phase = parse_duration(&v)
                    .map_err(|_| format!("--fault-phase wants e.g. 5s, 3s; got `{v}`"))?;
            }
            "--prometheus-rules" => demo.prometheus_rules = Some(PathBuf::from(value(flag)?)),
            "--threads" => {
                let v = value(flag)?;
                demo.threads = match v.parse::<usize>() {
                    Ok(n @ 1..=64) => n,
                    _ => return Err(format!("--threads must be an integer in 1..=64, got `{v}`")),
                };
            }
            "--listen" => {
                let v = value(flag)?;
                demo.listen = if v == "off" {
                    None
                } else {
                    Some(
                        v.parse()
                            .map_err(|_| format!("--listen wants HOST:PORT or `off`, got `{v}`"))?,
                    )
                };
            }
            "--output" => {
                let v = value(flag)?;
                let path = PathBuf::from(&v);
                let format = match path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("json") => OutputFormat::Json,
                    Some("csv") => OutputFormat::Csv,
                    _ => return Err(format!("--output must end in .json or .csv, got `{v}`")),
                };
                demo.output = Some((path, format));
            }
            "--grafana" => demo.grafana = Some(PathBuf::from(value(flag)?)),
            "--no-tui" if !inline => demo.no_tui = true,
            "--seed" => {
                let v = value(flag)?;
                demo.seed = v
                    .parse()
                    .map_err(|_| format!("--seed must be an unsigned integer, got `{v}`"))?;
            }
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    demo.fault_phase = fault.then_some(phase);
    Ok(Command::Demo(demo))
}

/// The arguments of a command read as flags, `--name value` or `--name=value`: the splitting
/// every command's parser shares.
pub struct Flags<'a> {
    it: std::slice::Iter<'a, String>,
    /// The `=value` part of the last flag.
    inline: Option<&'a str>,
}

impl<'a> Flags<'a> {
    /// Flags over `args`.
    pub fn new(args: &'a [String]) -> Flags<'a> {
        Flags {
            it: args.iter(),
            inline: None,
        }
    }

    /// The next argument as `(flag, argument)`: the flag is `--name` of `--name=value`, or
    /// the whole argument.
    pub fn next_flag(&mut self) -> Option<(&'a str, &'a str)> {
        let arg = self.it.next()?.as_str();
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg, None),
        };
        self.inline = inline;
        Some((flag, arg))
    }

    /// Whether the last flag carried `=value`.
    pub fn has_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// The last flag's value: its `=value`, or the next argument.
    ///
    /// # Errors
    /// `"{flag} needs a value"` when there is none.
    pub fn value(&mut self, flag: &str) -> Result<String, String> {
        self.inline
            .take()
            .or_else(|| self.it.next().map(String::as_str))
            .map(str::to_owned)
            .ok_or_else(|| format!("{flag} needs a value"))
    }
}

/// Runs a command: prints `usage` if `help`, else `run`, exiting with status 1 and the error
/// (and its causes) on failure.
pub fn run_command(help: bool, usage: &str, run: impl FnOnce() -> anyhow::Result<()>) {
    if help {
        print!("{usage}");
        return;
    }
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// `10s`, `500ms`, `2m`, `1.5s`, or plain seconds; must be > 0 and <= 24 h.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("--duration wants e.g. 10s, 500ms, 2m; got `{s}`");
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let seconds = value * scale;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_split_inline_values_and_take_the_next_argument() {
        let args: Vec<String> = ["--a=1", "--b", "2", "pos", "--c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut f = Flags::new(&args);
        assert_eq!(f.next_flag(), Some(("--a", "--a=1")));
        assert!(f.has_inline());
        assert_eq!(f.value("--a").as_deref(), Ok("1"));
        assert_eq!(f.next_flag(), Some(("--b", "--b")));
        assert!(!f.has_inline());
        assert_eq!(f.value("--b").as_deref(), Ok("2"));
        assert_eq!(f.next_flag(), Some(("pos", "pos")));
        assert_eq!(f.next_flag(), Some(("--c", "--c")));
        assert_eq!(f.value("--c"), Err("--c needs a value".to_owned()));
        assert_eq!(f.next_flag(), None);
    }

    fn demo(args: &[&str]) -> Result<DemoArgs, String> {
        let args: Vec<String> = std::iter::once("demo")
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        match parse(&args)? {
            Command::Demo(d) => Ok(d),
            _ => Err("help".to_owned()),
        }
    }

    #[test]
    fn defaults_and_every_flag() {
        assert_eq!(demo(&[]).unwrap(), DemoArgs::default());
        let d = demo(&[
            "--duration",
            "1500ms",
            "--threads=3",
            "--listen",
            "off",
            "--output",
            "x.CSV",
            "--no-tui",
            "--seed",
            "9",
            "--fault-phase",
            "2s",
            "--prometheus-rules",
            "r.yml",
        ])
        .unwrap();
        assert_eq!(d.fault_phase, Some(Duration::from_secs(2)));
        assert_eq!(d.prometheus_rules, Some(PathBuf::from("r.yml")));
        for args in [
            &["--fault=off"][..],
            &["--fault-phase", "2s", "--fault", "off"],
        ] {
            assert_eq!(demo(args).unwrap().fault_phase, None, "{args:?}");
        }
        assert_eq!(
            demo(&["--fault", "off", "--fault", "on"])
                .unwrap()
                .fault_phase,
            Some(DEFAULT_FAULT_PHASE)
        );
        assert_eq!(d.duration, Duration::from_millis(1500));
        assert_eq!(d.threads, 3);
        assert_eq!(d.listen, None);
        assert_eq!(d.output, Some((PathBuf::from("x.CSV"), OutputFormat::Csv)));
        assert!(d.no_tui);
        assert_eq!(d.seed, 9);
        assert_eq!(
            demo(&["--listen=127.0.0.1:0"]).unwrap().listen,
            Some("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(parse(&["--help".to_owned()]).unwrap(), Command::Help);
        assert_eq!(demo(&["-h"]), Err("help".to_owned()));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("0.5s").unwrap(), Duration::from_millis(500));
        for bad in ["", "s", "0s", "-1s", "abc", "NaNs", "inf", "1d", "25h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            &["--threads", "0"][..],
            &["--threads", "x"],
            &["--threads"],
            &["--listen", "nowhere"],
            &["--output", "x.txt"],
            &["--output", "noext"],
            &["--bogus"],
            &["--no-tui=yes"],
            &["extra"],
            &["--duration", "0"],
            &["--fault", "yes"],
            &["--fault-phase", "0"],
            &["--prometheus-rules"],
        ] {
            assert!(demo(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&[]).is_err());
        assert!(parse(&["run".to_owned()]).is_err());
    }
}
