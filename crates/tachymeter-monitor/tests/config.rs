//! `Config`: each source alone (file, environment, code), their precedence for the same key,
//! the seeds' variable names, the message of every invalid value (key, value and what is
//! allowed), unknown keys reported from files, rules and the environment, `[[alerts]]` into an
//! `AlertManager`, the TOML round trip, and the example file.
//!
//! The environment is always injected (`from_env_vars`, `load_with_vars`): no test touches the
//! process environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tachymeter::EngineBuilder;
use tachymeter_monitor::alerting::{AlertRule, Severity, Statistic, Window};
use tachymeter_monitor::config::{Config, ConfigError, Origin, Warning};

const NO_ENV: [(&str, &str); 0] = [];

/// A file in the target's temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "tachymeter-config-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_file_sets_the_keys_it_names_and_leaves_the_rest_at_their_defaults() {
    let text = r#"
        [engine]
        interval = "250ms"
        window = 30
        history = false

        [monitors]
        max_history = 5000
        cache_ttl = "never"
        slow_query_threshold = 0.2   # seconds

        [monitors.response_targets]
        checkout = "300ms"
        database_queries = 0.05

        [resources]
        cpu_threshold = 75          # an integer is a number too
        interval = "1m 30s"
    "#;
    let (c, warnings) = Config::from_toml_str(text).unwrap();
    assert_eq!(warnings, []);
    assert_eq!(c.engine.interval, ms(250));
    assert_eq!(c.engine.window, 30);
    assert!(!c.engine.history);
    assert_eq!(c.engine.max_series, 100_000); // untouched
    assert_eq!(c.monitors.max_history, 5000);
    assert_eq!(c.monitors.cache_ttl, None);
    assert_eq!(c.monitors.slow_query_threshold, ms(200));
    assert_eq!(c.monitors.response_targets["checkout"], ms(300));
    assert_eq!(c.monitors.response_targets["database_queries"], ms(50));
    assert_eq!(c.monitors.response_targets["api_endpoints"], ms(500)); // a default kept
    assert_eq!(c.resources.cpu_threshold, 75.0);
    assert_eq!(c.resources.memory_threshold, 85.0);
    assert_eq!(c.resources.interval, secs(90));
}

#[test]
fn a_file_on_disk_is_read_and_its_errors_name_the_path_and_line() {
    let file = TempFile::new("disk", "[resources]\ndisk_threshold = 90\n");
    let (c, _) = Config::from_file(&file.0).unwrap();
    assert_eq!(c.resources.disk_threshold, 90.0);

    let bad = TempFile::new(
        "bad",
        "[engine]\nwindow = 10\n\n[resources]\ncpu_threshold = 150\n",
    );
    let err = Config::from_file(&bad.0).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}:5:17: ", bad.0.display())),
        "{msg}"
    );
    assert!(msg.contains("resources.cpu_threshold = 150"), "{msg}");
    assert!(msg.contains("a number in 0..=100"), "{msg}");

    let missing = Config::from_file(Path::new("/nonexistent/tachymeter.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    assert!(missing.to_string().contains("/nonexistent/tachymeter.toml"));
}

#[test]
fn a_syntax_error_names_the_line() {
    let err = Config::from_toml_str("[engine]\ninterval = \n").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
    assert!(err.to_string().starts_with("TOML line 2"), "{err}");
    // A section that is not a table.
    let err = Config::from_toml_str("engine = 5").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("engine = 5: expected a table"), "{msg}");
}

#[test]
fn the_environment_alone() {
    let env = [
        ("TACHYMETER_ENGINE_INTERVAL", "2s"),
        ("TACHYMETER_ENGINE_MAX_SERIES", "5_000"),
        ("TACHYMETER_ENGINE_HISTORY", "off"),
        ("TACHYMETER_MONITORS_CACHE_TTL", "10m"),
        ("TACHYMETER_MONITORS_RESPONSE_TARGETS_CHECKOUT", "250ms"),
        ("TACHYMETER_RESOURCES_CPU_THRESHOLD", "75"),
        ("TACHYMETER_RESOURCES_ENABLED", "false"),
        ("TACHYMETER_RESOURCES_INTERVAL", "0.5"), // seconds
        ("PATH", "/usr/bin"),                     // no prefix: not ours
    ];
    let (c, warnings) = Config::from_env_vars("TACHYMETER_", env).unwrap();
    assert_eq!(warnings, []);
    assert_eq!(c.engine.interval, secs(2));
    assert_eq!(c.engine.max_series, 5000);
    assert!(!c.engine.history);
    assert_eq!(c.monitors.cache_ttl, Some(secs(600)));
    assert_eq!(c.monitors.response_targets["checkout"], ms(250));
    assert_eq!(c.resources.cpu_threshold, 75.0);
    assert!(!c.resources.enabled);
    assert_eq!(c.resources.interval, ms(500));
}

#[test]
fn the_seeds_variables_with_their_prefix() {
    // 004's configuration section, verbatim.
    let env = [
        ("PTPD_MONITORING_MAX_HISTORY", "5000"),
        ("PTPD_MONITORING_CPU_THRESHOLD", "75.0"),
        ("PTPD_MONITORING_MEMORY_THRESHOLD", "85.0"),
        ("PTPD_MONITORING_CACHE_SIZE", "2000"),
        ("PTPD_MONITORING_DISK_THRESHOLD", "95.0"),
    ];
    let (c, warnings) = Config::from_env_vars("PTPD_MONITORING_", env).unwrap();
    assert_eq!(warnings, []);
    assert_eq!(c.monitors.max_history, 5000);
    assert_eq!(c.monitors.cache_size, 2000);
    assert_eq!(c.monitors.cache_ttl, Some(secs(1800))); // CacheManager(default_ttl=1800)
    assert_eq!(
        (
            c.resources.cpu_threshold,
            c.resources.memory_threshold,
            c.resources.disk_threshold
        ),
        (75.0, 85.0, 95.0)
    );
    // Applied: the inference window is max_history.
    let engine = Arc::new(c.engine_builder().background(false).build().unwrap());
    let inference = c.inference_builder(engine.clone()).build().unwrap();
    assert_eq!(inference.window_size(), 5000);
    // The same names under the default prefix.
    let (c, _) = Config::from_env_vars("TACHYMETER_", [("TACHYMETER_MAX_HISTORY", "7")]).unwrap();
    assert_eq!(c.monitors.max_history, 7);
}

#[test]
fn a_full_name_beats_its_alias_whatever_the_order() {
    for env in [
        [
            ("T_CPU_THRESHOLD", "70"),
            ("T_RESOURCES_CPU_THRESHOLD", "60"),
        ],
        [
            ("T_RESOURCES_CPU_THRESHOLD", "60"),
            ("T_CPU_THRESHOLD", "70"),
        ],
    ] {
        let (c, _) = Config::from_env_vars("T_", env).unwrap();
        assert_eq!(c.resources.cpu_threshold, 60.0);
    }
}

#[test]
fn code_then_file_then_environment() {
    let code = Config::builder()
        .cpu_threshold(90.0)
        .memory_threshold(91.0)
        .disk_threshold(92.0)
        .max_history(10)
        .build()
        .unwrap();
    let file = TempFile::new(
        "precedence",
        "[resources]\ncpu_threshold = 75.0\nmemory_threshold = 76.0\n",
    );
    let env = [("TACHYMETER_RESOURCES_CPU_THRESHOLD", "60")];
    let (c, warnings) =
        Config::load_with_vars(code.clone(), Some(&file.0), "TACHYMETER_", env).unwrap();
    assert_eq!(warnings, []);
    assert_eq!(c.resources.cpu_threshold, 60.0); // code, file, env: env
    assert_eq!(c.resources.memory_threshold, 76.0); // code, file: file
    assert_eq!(c.resources.disk_threshold, 92.0); // code: code
    assert_eq!(c.monitors.max_history, 10); // code
    assert_eq!(c.engine.window, 60); // nobody: the default

    // Without a file, the environment still beats code.
    let (c, _) = Config::load_with_vars(code, None, "TACHYMETER_", env).unwrap();
    assert_eq!(
        (c.resources.cpu_threshold, c.resources.memory_threshold),
        (60.0, 91.0)
    );

    // Code's own invalid value is reported before anything is read.
    let mut bad = Config::default();
    bad.engine.window = 0;
    let err = Config::load_with_vars(bad, None, "TACHYMETER_", NO_ENV).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            origin: Origin::Code,
            ..
        }
    ));
}

#[test]
fn an_error_leaves_the_config_unchanged() {
    let mut c = Config::default();
    let before = c.clone();
    let err = c
        .merge_toml_str("[engine]\nwindow = 5\nmax_threads = 0\n", None)
        .unwrap_err();
    assert!(err.to_string().contains("engine.max_threads"), "{err}");
    assert_eq!(c, before);
    let env = [("X_ENGINE_WINDOW", "5"), ("X_ENGINE_MAX_THREADS", "-1")];
    c.merge_env_vars("X_", env).unwrap_err();
    assert_eq!(c, before);
}

/// Every key with values it rejects and the words its message must contain.
#[rustfmt::skip]
const INVALID: &[(&str, &[&str], &str)] = &[
    ("engine.interval", &["\"0s\"", "\"2days\"", "\"soon\"", "-1", "true"], "in 1ms..=1day"),
    ("engine.window", &["0", "10001", "1.5", "\"ten\""], "an integer in 1..=10000"),
    ("engine.max_series", &["0", "10000001", "-5"], "an integer in 1..=10000000"),
    ("engine.label_set_limit", &["0", "1000001"], "an integer in 1..=1000000"),
    ("engine.max_threads", &["0", "65537"], "an integer in 1..=65536"),
    ("engine.events_capacity", &["0", "65537"], "an integer in 1..=65536"),
    ("engine.history", &["\"yes please\"", "2"], "true or false"),
    ("monitors.max_history", &["0", "16777217", "\"lots\""], "an integer in 1..=16777216"),
    ("monitors.cache_size", &["0", "1000000001", "-1"], "an integer in 1..=1000000000"),
    ("monitors.cache_ttl", &["\"0s\"", "\"31days\"", "\"forever\""], "in 1ms..=30days, or \"never\""),
    ("monitors.slow_query_threshold", &["\"0s\"", "\"2days\"", "\"fast\""], "in 1us..=1day"),
    ("monitors.default_response_target", &["\"0ns\"", "\"25h\""], "in 1us..=1day"),
    ("monitors.response_targets.checkout", &["\"0s\"", "\"25h\"", "\"quick\"", "true"], "in 1us..=1day"),
    ("resources.enabled", &["\"maybe\""], "true or false"),
    ("resources.interval", &["\"0s\"", "\"2h\""], "in 1ms..=1h"),
    ("resources.cpu_threshold", &["150", "-1", "\"abc\"", "nan", "inf"], "a number in 0..=100"),
    ("resources.memory_threshold", &["100.5", "\"high\""], "a number in 0..=100"),
    ("resources.disk_threshold", &["101", "false"], "a number in 0..=100"),
    ("resources.disks", &["\"no way\""], "true or false"),
    ("resources.network", &["3"], "true or false"),
    ("resources.process", &["\"x\""], "true or false"),
    ("resources.gpu", &["\"x\""], "true or false"),
];

/// The TOML document setting `key` (`section.name` or `section.table.name`) to `value`.
fn document(key: &str, value: &str) -> String {
    let (table, name) = key.rsplit_once('.').unwrap();
    format!("# comment\n[{table}]\n{name} = {value}\n")
}

#[test]
fn every_invalid_file_value_names_its_line_key_value_and_range() {
    for &(key, values, allowed) in INVALID {
        for value in values {
            let err = Config::from_toml_str(&document(key, value)).unwrap_err();
            let msg = err.to_string();
            let ConfigError::Invalid {
                origin: Origin::File { line, .. },
                key: k,
                value: v,
                allowed: a,
            } = &err
            else {
                panic!("{key} = {value}: {err:?}");
            };
            assert_eq!((*line, k.as_str(), v.as_str()), (3, key, *value), "{msg}");
            assert!(a.contains(allowed), "{key} = {value}: {msg}");
            assert!(msg.starts_with("TOML line 3, column "), "{msg}");
            assert!(
                msg.contains(&format!("{key} = {value}: expected ")),
                "{msg}"
            );
            assert!(msg.contains(allowed), "{msg}");
        }
    }
}

#[test]
fn every_invalid_environment_value_names_the_variable_value_and_range() {
    for &(key, values, allowed) in INVALID {
        let var = format!("TACHYMETER_{}", key.replace('.', "_").to_uppercase());
        for value in values {
            let value = value.trim_matches('"'); // the variable holds the text itself
            let err = Config::from_env_vars("TACHYMETER_", [(var.as_str(), value)]).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("{var}={value}: expected ")),
                "{msg}"
            );
            assert!(msg.contains(allowed), "{msg}");
            assert!(msg.contains(&format!("(key {key})")), "{msg}");
        }
    }
    // The brief's example, word for word.
    let err = Config::from_env_vars(
        "TACHYMETER_",
        [("TACHYMETER_RESOURCES_CPU_THRESHOLD", "abc")],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "TACHYMETER_RESOURCES_CPU_THRESHOLD=abc: expected a number in 0..=100 \
         (key resources.cpu_threshold)"
    );
    // Through a seeds' alias: the variable as set, the key it stands for.
    let err = Config::from_env_vars("PTPD_MONITORING_", [("PTPD_MONITORING_MAX_HISTORY", "0")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PTPD_MONITORING_MAX_HISTORY=0: expected an integer in 1..=16777216 \
         (key monitors.max_history)"
    );
}

#[test]
fn every_invalid_code_value_names_the_key_value_and_range() {
    let cases: Vec<(Result<Config, ConfigError>, &str, &str, &str)> = vec![
        (
            Config::builder().interval(Duration::ZERO).build(),
            "engine.interval",
            "0ns",
            "1ms..=1day",
        ),
        (
            Config::builder().window(0).build(),
            "engine.window",
            "0",
            "1..=10000",
        ),
        (
            Config::builder().max_series(0).build(),
            "engine.max_series",
            "0",
            "1..=10000000",
        ),
        (
            Config::builder().label_set_limit(0).build(),
            "engine.label_set_limit",
            "0",
            "1..=1000000",
        ),
        (
            Config::builder().max_threads(1 << 17).build(),
            "engine.max_threads",
            "131072",
            "1..=65536",
        ),
        (
            Config::builder().events_capacity(0).build(),
            "engine.events_capacity",
            "0",
            "1..=65536",
        ),
        (
            Config::builder().max_history(0).build(),
            "monitors.max_history",
            "0",
            "1..=16777216",
        ),
        (
            Config::builder().cache_size(0).build(),
            "monitors.cache_size",
            "0",
            "1..=1000000000",
        ),
        (
            Config::builder().cache_ttl(Some(Duration::ZERO)).build(),
            "monitors.cache_ttl",
            "0ns",
            "\"never\"",
        ),
        (
            Config::builder()
                .slow_query_threshold(Duration::ZERO)
                .build(),
            "monitors.slow_query_threshold",
            "0ns",
            "1us..=1day",
        ),
        (
            Config::builder()
                .default_response_target(secs(100_000))
                .build(),
            "monitors.default_response_target",
            "100000s",
            "1us..=1day",
        ),
        (
            Config::builder()
                .response_target("x", Duration::ZERO)
                .build(),
            "monitors.response_targets.x",
            "0ns",
            "1us..=1day",
        ),
        (
            Config::builder().resources_interval(secs(7200)).build(),
            "resources.interval",
            "7200s",
            "1ms..=1h",
        ),
        (
            Config::builder().cpu_threshold(f64::NAN).build(),
            "resources.cpu_threshold",
            "NaN",
            "0..=100",
        ),
        (
            Config::builder().memory_threshold(-0.5).build(),
            "resources.memory_threshold",
            "-0.5",
            "0..=100",
        ),
        (
            Config::builder().disk_threshold(100.1).build(),
            "resources.disk_threshold",
            "100.1",
            "0..=100",
        ),
    ];
    for (result, key, value, allowed) in cases {
        let err = result.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{key} = {value} (set in code): expected ")),
            "{msg}"
        );
        assert!(msg.contains(allowed), "{msg}");
    }
    assert!(Config::builder().cache_ttl(None).build().is_ok());
}

#[test]
fn unknown_keys_in_a_file_are_reported_with_their_line_and_a_suggestion() {
    let text = "[resources]\ncpu_treshold = 50\n\n[engin]\nwindow = 3\n\n[engine]\nfoo = 1\n";
    let (c, warnings) = Config::from_toml_str(text).unwrap();
    assert_eq!(c, Config::default()); // ignored
    let keys: Vec<_> = warnings
        .iter()
        .map(|w| match w {
            Warning::UnknownKey {
                origin: Origin::File { line, .. },
                key,
                suggestion,
            } => (*line, key.as_str(), suggestion.as_deref()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        [
            (2, "resources.cpu_treshold", Some("resources.cpu_threshold")),
            (4, "engin", Some("engine")),
            (8, "engine.foo", None),
        ]
    );
    assert_eq!(
        warnings[0].to_string(),
        "TOML line 2, column 1: unknown key resources.cpu_treshold (ignored); \
         did you mean resources.cpu_threshold?"
    );
}

#[test]
fn unknown_variables_with_the_prefix_are_reported() {
    let env = [
        ("TACHYMETER_RESOURCES_CPU_TRESHOLD", "50"),
        ("TACHYMETER_BOGUS", "1"),
        ("TACHYMETER_MONITORS_RESPONSE_TARGETS_", "1s"), // no operation type
        ("OTHER_CPU_THRESHOLD", "1"),                    // another prefix: not ours
    ];
    let (c, warnings) = Config::from_env_vars("TACHYMETER_", env).unwrap();
    assert_eq!(c, Config::default());
    let names: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "unknown environment variable TACHYMETER_BOGUS (ignored)",
            "unknown environment variable TACHYMETER_MONITORS_RESPONSE_TARGETS_ (ignored)",
            "unknown environment variable TACHYMETER_RESOURCES_CPU_TRESHOLD (ignored); \
             did you mean TACHYMETER_RESOURCES_CPU_THRESHOLD?",
        ]
    );
}

const ALERTS: &str = r#"
[[alerts]]
name = "HighCpu"
statistic = { gauge_value = { metric = "system_cpu_usage" } }
comparison = "above"
threshold = 0.8
resolve = 0.7
for_duration = "1m"
cooldown = 120
labels = [["team", "platform"]]

[[alerts]]
name = "LowHitRate"
statistic = { counter_ratio = { numerator = { metric = "inference_cache_hits_total" }, denominator = { metric = "inference_requests_total" } } }
comparison = "below"
threshold = 0.5
severity = "critical"
window = { duration = "5m" }
"#;

#[test]
fn alert_rules_in_a_file_build_an_alert_manager() {
    let (c, warnings) = Config::from_toml_str(ALERTS).unwrap();
    assert_eq!(warnings, []);
    let manager = c.alert_manager().unwrap();
    let rules = manager.rules();
    assert_eq!(rules.len(), 2);
    let cpu = &rules[0];
    assert_eq!(cpu.name, "HighCpu");
    assert!(matches!(&cpu.statistic, Statistic::GaugeValue(s) if s.metric == "system_cpu_usage"));
    assert_eq!((cpu.threshold, cpu.resolve), (0.8, Some(0.7)));
    assert_eq!((cpu.for_duration, cpu.cooldown), (secs(60), secs(120)));
    assert_eq!(cpu.labels, [("team".to_string(), "platform".to_string())]);
    let hits = &rules[1];
    assert_eq!(hits.severity, Severity::Critical);
    assert_eq!(hits.window, Window::Duration(secs(300)));
    assert_eq!(hits.cooldown, secs(300)); // the default

    // The same rule as code builds it.
    let built = AlertRule::builder("HighCpu")
        .gauge("system_cpu_usage")
        .above(0.8)
        .resolve(0.7)
        .for_duration(secs(60))
        .cooldown(secs(120))
        .label("team", "platform")
        .build()
        .unwrap();
    assert_eq!(*cpu, built);

    // A file's rule replaces a code rule of the same name; others are kept.
    let code = Config::builder()
        .alert(
            AlertRule::builder("HighCpu")
                .gauge("x")
                .above(1.0)
                .build()
                .unwrap(),
        )
        .alert(
            AlertRule::builder("Other")
                .gauge("y")
                .above(1.0)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let file = TempFile::new("alerts", ALERTS);
    let (c, _) = Config::load_with_vars(code, Some(&file.0), "TACHYMETER_", NO_ENV).unwrap();
    let names: Vec<_> = c.alerts.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["HighCpu", "Other", "LowHitRate"]);
    assert_eq!(c.alerts[0], built);
}

#[test]
fn bad_alert_rules_are_errors_and_unknown_rule_fields_warnings() {
    let missing = "[[alerts]]\nname = \"X\"\ncomparison = \"above\"\nthreshold = 1\n";
    let err = Config::from_toml_str(missing).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("alert rule alerts[0]") && msg.contains("statistic"),
        "{msg}"
    );

    let invalid = "\n[[alerts]]\nname = \"P\"\ncomparison = \"above\"\nthreshold = 1\n\
                   statistic = { histogram_quantile = { series = { metric = \"m\" }, q = 1.5 } }\n";
    let err = Config::from_toml_str(invalid).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TOML line 2, column 1: alert rule P: quantile 1.5 is outside 0..=1"
    );

    let typo = "[[alerts]]\nname = \"G\"\ncomparison = \"above\"\nthreshold = 1\n\
                thresold = 2\nstatistic = { gauge_value = { metric = \"m\" } }\n";
    let (c, warnings) = Config::from_toml_str(typo).unwrap();
    assert_eq!(c.alerts.len(), 1);
    assert!(
        matches!(&warnings[..], [Warning::UnknownKey { key, .. }] if key == "alerts[0].thresold"),
        "{warnings:?}"
    );

    let err = Config::from_toml_str("alerts = 3").unwrap_err();
    assert!(err.to_string().contains("[[alerts]]"), "{err}");
}

#[test]
fn the_default_config_and_one_with_rules_round_trip_through_toml() {
    let text = Config::default().to_toml();
    let (back, warnings) = Config::from_toml_str(&text).unwrap();
    assert_eq!(warnings, []);
    assert_eq!(back, Config::default(), "{text}");

    let (with_rules, _) = Config::from_toml_str(ALERTS).unwrap();
    let mut custom = with_rules;
    custom.monitors.cache_ttl = None;
    custom
        .monitors
        .response_targets
        .insert("checkout".into(), ms(250));
    custom.engine.interval = ms(1500);
    custom.resources.cpu_threshold = 72.5;
    let text = custom.to_toml();
    let (back, warnings) = Config::from_toml_str(&text).unwrap();
    assert_eq!(warnings, []);
    assert_eq!(back, custom, "{text}");
}

#[test]
fn the_example_file_documents_the_defaults_and_loads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tachymeter.example.toml");
    let (c, warnings) = Config::from_file(&path).unwrap();
    assert_eq!(warnings, []);
    let mut without_rules = c.clone();
    without_rules.alerts.clear();
    assert_eq!(without_rules, Config::default());
    let names: Vec<_> = c.alerts.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["HighCpu", "SlowInference"]);
    c.alert_manager().unwrap();
    // Every key the serializer writes appears in the example (so a new key cannot be left
    // out of it).
    let example = std::fs::read_to_string(&path).unwrap();
    let default = toml::from_str::<toml::Table>(&Config::default().to_toml()).unwrap();
    for (section, table) in &default {
        assert!(example.contains(&format!("[{section}]")), "[{section}]");
        for (key, value) in table.as_table().unwrap() {
            let leaves = match value.as_table() {
                Some(t) => t.keys().cloned().collect(),
                None => vec![key.clone()],
            };
            for leaf in leaves {
                assert!(
                    example.contains(&format!("\n{leaf} = ")),
                    "{section}.{leaf}"
                );
            }
        }
    }
}

#[test]
fn the_defaults_are_the_engines_and_the_monitors() {
    let c = Config::default();
    assert_eq!(
        format!("{:?}", c.engine_builder()),
        format!("{:?}", EngineBuilder::default())
    );
    let engine = Arc::new(c.engine_builder().background(false).build().unwrap());
    let rt = c
        .response_time_monitor_builder(engine.clone())
        .build()
        .unwrap();
    let defaults = tachymeter_monitor::ResponseTimeMonitor::builder()
        .engine(Arc::new(
            tachymeter::Engine::builder()
                .background(false)
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    assert_eq!(rt.targets(), defaults.targets());
    let q = c.query_monitor_builder(engine.clone()).build().unwrap();
    assert_eq!(
        q.slow_threshold(),
        tachymeter_monitor::DEFAULT_SLOW_THRESHOLD
    );
    #[cfg(feature = "resources")]
    {
        let thresholds = tachymeter_monitor::AlertThresholds::default();
        let r = &c.resources;
        assert_eq!(
            (r.cpu_threshold, r.memory_threshold, r.disk_threshold),
            (
                thresholds.cpu_percent,
                thresholds.memory_percent,
                thresholds.disk_percent
            )
        );
    }
}

#[test]
fn applying_a_config_sets_up_each_monitor() {
    let env = [
        ("TACHYMETER_MONITORS_SLOW_QUERY_THRESHOLD", "50ms"),
        ("TACHYMETER_MONITORS_RESPONSE_TARGETS_CHECKOUT", "300ms"),
        ("TACHYMETER_CPU_THRESHOLD", "70"),
        ("TACHYMETER_RESOURCES_INTERVAL", "1s"),
    ];
    let (c, _) = Config::from_env_vars("TACHYMETER_", env).unwrap();
    let engine = Arc::new(c.engine_builder().background(false).build().unwrap());
    let q = c.query_monitor_builder(engine.clone()).build().unwrap();
    assert_eq!(q.slow_threshold(), ms(50));
    let rt = c
        .response_time_monitor_builder(engine.clone())
        .build()
        .unwrap();
    assert_eq!(rt.targets()["checkout"], 0.3);
    #[cfg(feature = "resources")]
    {
        let monitor = c
            .resource_monitor_builder(engine.clone())
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(monitor.thresholds().cpu_percent, 70.0);
        assert_eq!(monitor.interval(), secs(1));
        let mut off = c.clone();
        off.resources.enabled = false;
        assert!(off.resource_monitor_builder(engine).is_none());
    }
}
