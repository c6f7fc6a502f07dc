//! One configuration for the engine, the monitors, the resource monitor and the alert rules:
//! built in code, read from a TOML file, and overridden by environment variables.
//!
//! ```
//! use tachymeter_monitor::config::Config;
//!
//! let code = Config::builder().cpu_threshold(90.0).build().unwrap(); // the program's defaults
//! let file = r#"
//!     [resources]
//!     cpu_threshold = 75.0
//!     interval = "2s"
//! "#;
//! let env = [("PTPD_MONITORING_CPU_THRESHOLD", "70")]; // the seeds' name, another prefix
//! let mut config = code;
//! let mut warnings = config.merge_toml_str(file, None).unwrap();
//! warnings.extend(config.merge_env_vars("PTPD_MONITORING_", env).unwrap());
//! assert!(warnings.is_empty());
//! assert_eq!(config.resources.cpu_threshold, 70.0); // environment > file > code
//! let engine = std::sync::Arc::new(config.engine_builder().background(false).build().unwrap());
//! let inference = config.inference_builder(engine.clone()).build().unwrap();
//! let alerts = config.alert_manager().unwrap();
//! # let _ = (inference, alerts);
//! ```
//!
//! # Sources and precedence
//!
//! defaults < code < file < environment: each later source overrides, key by key, only the
//! keys it sets. [`Config::load`] applies them in that order (and
//! [`merge_toml_str`](Config::merge_toml_str) / [`merge_env_vars`](Config::merge_env_vars) let
//! a program compose another order). The argument: code states what the program ships with;
//! the file is the deployment's decision; the environment is the last word of whoever starts
//! this one process (a container, a CI job, a shell), as the seeds' `PTPD_MONITORING_*`
//! variables override their settings, and it is the only source that can be changed without
//! touching a file. A program that must pin a setting whatever the sources say sets it on the
//! builder it gets from the config ([`engine_builder`](Config::engine_builder), …), after
//! loading.
//!
//! `[[alerts]]` rules are merged by name: a rule with the name of an earlier one replaces it.
//! The environment cannot set rules.
//!
//! # The file
//!
//! Sections `[engine]`, `[monitors]` (with the table `[monitors.response_targets]`),
//! `[resources]` and `[[alerts]]`; every key is optional. `tachymeter.example.toml` (next to
//! this crate's `Cargo.toml`, loaded by a test) lists every key with its default and range.
//! Durations are strings such as `"500ms"`, `"2s"`, `"1m"`, `"1h 30m"` (humantime's format)
//! or a number of seconds; a cache TTL may be `"never"`. An `[[alerts]]` table has the fields
//! of [`AlertRule`] (its serde form: durations there are seconds or the same strings).
//!
//! # Environment variables
//!
//! `PREFIX` + section + `_` + key, upper case; the prefix defaults to
//! [`DEFAULT_ENV_PREFIX`] (`TACHYMETER_`) and is configurable, so the seeds'
//! `PTPD_MONITORING_` works:
//!
//! | variable (after the prefix) | key |
//! | --- | --- |
//! | `ENGINE_INTERVAL`, `ENGINE_WINDOW`, `ENGINE_MAX_SERIES`, `ENGINE_LABEL_SET_LIMIT`, `ENGINE_MAX_THREADS`, `ENGINE_EVENTS_CAPACITY`, `ENGINE_HISTORY` | `engine.*` |
//! | `MONITORS_MAX_HISTORY`, or the seeds' `MAX_HISTORY` | `monitors.max_history` |
//! | `MONITORS_CACHE_SIZE`, or the seeds' `CACHE_SIZE` | `monitors.cache_size` |
//! | `MONITORS_CACHE_TTL`, or `CACHE_TTL` | `monitors.cache_ttl` |
//! | `MONITORS_SLOW_QUERY_THRESHOLD`, `MONITORS_DEFAULT_RESPONSE_TARGET` | `monitors.*` |
//! | `MONITORS_RESPONSE_TARGETS_<TYPE>` | `monitors.response_targets.<type>` (lower case) |
//! | `RESOURCES_CPU_THRESHOLD`, or the seeds' `CPU_THRESHOLD` (also `MEMORY_`, `DISK_`) | `resources.*_threshold` |
//! | `RESOURCES_ENABLED`, `RESOURCES_INTERVAL`, `RESOURCES_DISKS`, `RESOURCES_NETWORK`, `RESOURCES_PROCESS`, `RESOURCES_GPU` | `resources.*` |
//!
//! A full name beats its flat alias when both are set. Booleans are `true`/`false`,
//! `1`/`0`, `yes`/`no` or `on`/`off`.
//!
//! # Errors and unknown keys
//!
//! A value of the wrong type or out of range is a [`ConfigError::Invalid`] naming where it was
//! set (file and line, or the variable), the key, the value as written and what is allowed:
//! `TACHYMETER_RESOURCES_CPU_THRESHOLD=abc: expected a number in 0..=100 (key
//! resources.cpu_threshold)`. Loading stops at the first error and never panics.
//!
//! Unknown keys — in any section, inside an `[[alerts]]` rule, or an environment variable
//! with the prefix that names no key — are returned as [`Warning`]s (with the closest known
//! key, if one is close) and otherwise ignored, as cargo does with unused manifest keys: a
//! typo is reported, and a file written for a newer version still loads. A program that
//! wants them fatal refuses to start when the list is not empty.
#![deny(unsafe_code)]

mod error;
mod keys;

pub use error::{ConfigError, Origin, Warning};

use crate::alerting::{AlertManager, AlertRule, RuleError};
use crate::response::DEFAULT_TARGETS;
use crate::{InferenceMetricsBuilder, QueryMonitorBuilder, ResponseTimeMonitorBuilder};
pub(crate) use keys::parse_duration;
use keys::{closest, env_name, format_duration, Input, KEYS, TARGET_RANGE};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{BuildError, Engine, EngineBuilder, HistoryConfig};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// The default prefix of environment variables.
pub const DEFAULT_ENV_PREFIX: &str = "TACHYMETER_";

/// The whole configuration. Fields are public; [`Config::validate`] checks values set
/// directly. Serializes to the TOML the loaders read ([`Config::to_toml`]). It is read through
/// the loaders ([`Config::from_toml_str`], …), not a `Deserialize` impl: they check each key
/// against one table of ranges and report the source, line and unknown keys, which a derived
/// impl cannot.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[non_exhaustive]
pub struct Config {
    /// `[engine]`: the engine's builder settings.
    pub engine: EngineConfig,
    /// `[monitors]`: the recording monitors.
    pub monitors: MonitorsConfig,
    /// `[resources]`: the resource monitor.
    pub resources: ResourcesConfig,
    /// `[[alerts]]`: alert rules, for [`Config::alert_manager`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertRule>,
}

/// `[engine]`: see [`EngineBuilder`] for each setting. Defaults are the engine's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Aggregation interval (default 1 s; 1 ms ..= 24 h).
    #[serde(with = "human")]
    pub interval: Duration,
    /// Intervals in the rolling window (default 60; 1 ..= 10,000).
    pub window: usize,
    /// Series allowed in the engine (default 100,000; 1 ..= 10,000,000).
    pub max_series: usize,
    /// Label sets per metric name (default 1,000; 1 ..= 1,000,000).
    pub label_set_limit: usize,
    /// Threads with exclusive shards (default 256; 1 ..= 65,536).
    pub max_threads: usize,
    /// Event-ring capacity per thread (default 128; 1 ..= 65,536).
    pub events_capacity: usize,
    /// Whether to keep the default time-range history (10 min, 6 h, 7 days; default true)
    /// or none.
    pub history: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            interval: Duration::from_secs(1),
            window: 60,
            max_series: 100_000,
            label_set_limit: 1000,
            max_threads: 256,
            events_capacity: 128,
            history: true,
        }
    }
}

/// `[monitors]`: the recording monitors' settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MonitorsConfig {
    /// Measurements in the inference monitor's window (the seeds' `max_history`,
    /// `PTPD_MONITORING_MAX_HISTORY`; default 100; 1 ..= 2^24).
    pub max_history: usize,
    /// Entries of a `MonitoredCache` (the seeds' `CACHE_SIZE`; default 2,000;
    /// 1 ..= 1,000,000,000).
    pub cache_size: u64,
    /// Default TTL of a `MonitoredCache` (the seeds' `default_ttl`; default 30 min;
    /// 1 ms ..= 30 days; `None`, written `"never"`: entries never expire).
    #[serde(with = "human_opt")]
    pub cache_ttl: Option<Duration>,
    /// A query slower than this is slow (default 500 ms; 1 µs ..= 24 h).
    #[serde(with = "human")]
    pub slow_query_threshold: Duration,
    /// The response-time target of operation types without one (default 1 s).
    #[serde(with = "human")]
    pub default_response_target: Duration,
    /// Response-time targets by operation type (default: the seeds' `api_endpoints` 500 ms,
    /// `database_queries` 100 ms, `external_apis` 2 s; each 1 µs ..= 24 h).
    #[serde(with = "human_map")]
    pub response_targets: BTreeMap<String, Duration>,
}

impl Default for MonitorsConfig {
    fn default() -> Self {
        MonitorsConfig {
            max_history: 100,
            cache_size: 2000,
            cache_ttl: Some(Duration::from_secs(1800)),
            slow_query_threshold: crate::DEFAULT_SLOW_THRESHOLD,
            default_response_target: Duration::from_secs(1),
            response_targets: DEFAULT_TARGETS
                .iter()
                .map(|&(op, s)| (op.to_string(), Duration::from_secs_f64(s)))
                .collect(),
        }
    }
}

/// `[resources]`: the resource monitor's settings (read whether or not the `resources`
/// feature is on, so one file serves both builds).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResourcesConfig {
    /// Whether to run the resource monitor (default true).
    pub enabled: bool,
    /// Time between samples (default 5 s; 1 ms ..= 1 h; the monitor raises it to sysinfo's
    /// minimum, 200 ms on Linux).
    #[serde(with = "human")]
    pub interval: Duration,
    /// CPU alert threshold, percent (default 80; 0 ..= 100).
    pub cpu_threshold: f64,
    /// Memory alert threshold, percent (default 85; 0 ..= 100).
    pub memory_threshold: f64,
    /// Disk alert threshold, percent (default 95; 0 ..= 100).
    pub disk_threshold: f64,
    /// Whether to read disks (default true).
    pub disks: bool,
    /// Whether to read network interfaces (default true).
    pub network: bool,
    /// Whether to read this process (default true).
    pub process: bool,
    /// Whether to read GPUs with the `gpu` feature (default true).
    pub gpu: bool,
}

impl Default for ResourcesConfig {
    fn default() -> Self {
        ResourcesConfig {
            enabled: true,
            interval: Duration::from_secs(5),
            cpu_threshold: 80.0,
            memory_threshold: 85.0,
            disk_threshold: 95.0,
            disks: true,
            network: true,
            process: true,
            gpu: true,
        }
    }
}

/// Durations as humantime strings.
mod human {
    use serde::Serializer;
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }
}

/// Optional durations: humantime strings, `None` as `"never"`.
mod human_opt {
    use serde::Serializer;
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_duration(*d)),
            None => s.serialize_str("never"),
        }
    }
}

/// A map of durations as humantime strings.
mod human_map {
    use serde::Serializer;
    use std::collections::BTreeMap;
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(
        m: &BTreeMap<String, Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, d)| (k, super::format_duration(*d))))
    }
}

const RESPONSE_TARGETS: &str = "monitors.response_targets";
const SECTIONS: [&str; 3] = ["engine", "monitors", "resources"];

/// The value of `key` in `table`, with its span.
type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

/// The entries of `table` in file order (the table itself is sorted by key).
fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::default(),
        }
    }

    /// The defaults overridden by a TOML document.
    ///
    /// # Errors
    /// The first syntax error or invalid value (see [`ConfigError`]).
    pub fn from_toml_str(text: &str) -> Result<(Config, Vec<Warning>), ConfigError> {
        let mut config = Config::default();
        let warnings = config.merge_toml_str(text, None)?;
        Ok((config, warnings))
    }

    /// The defaults overridden by the TOML file at `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`], or the first syntax error or invalid value.
    pub fn from_file(path: impl AsRef<Path>) -> Result<(Config, Vec<Warning>), ConfigError> {
        let mut config = Config::default();
        let warnings = config.merge_file(path)?;
        Ok((config, warnings))
    }

    /// The defaults overridden by the process's `TACHYMETER_*` variables.
    ///
    /// # Errors
    /// The first invalid value.
    pub fn from_env() -> Result<(Config, Vec<Warning>), ConfigError> {
        Config::from_env_with_prefix(DEFAULT_ENV_PREFIX)
    }

    /// The defaults overridden by the process's variables with `prefix` (e.g.
    /// `"PTPD_MONITORING_"`).
    ///
    /// # Errors
    /// The first invalid value.
    pub fn from_env_with_prefix(prefix: &str) -> Result<(Config, Vec<Warning>), ConfigError> {
        Config::from_env_vars(prefix, process_env(prefix))
    }

    /// The defaults overridden by `vars` (name, value) with `prefix`; other names are
    /// skipped. The injectable form of [`from_env_with_prefix`](Self::from_env_with_prefix).
    ///
    /// # Errors
    /// The first invalid value.
    pub fn from_env_vars<I, K, V>(
        prefix: &str,
        vars: I,
    ) -> Result<(Config, Vec<Warning>), ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = Config::default();
        let warnings = config.merge_env_vars(prefix, vars)?;
        Ok((config, warnings))
    }

    /// `code`, overridden by the file at `file` (if any), overridden by the process's
    /// variables with `env_prefix`: the documented precedence (see the
    /// [module docs](self#sources-and-precedence)).
    ///
    /// # Errors
    /// `code`'s own invalid value ([`validate`](Self::validate)), or the first error of the
    /// file or the environment.
    pub fn load(
        code: Config,
        file: Option<&Path>,
        env_prefix: &str,
    ) -> Result<(Config, Vec<Warning>), ConfigError> {
        Config::load_with_vars(code, file, env_prefix, process_env(env_prefix))
    }

    /// [`load`](Self::load) with the environment given as `vars` (for tests and embedding).
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn load_with_vars<I, K, V>(
        code: Config,
        file: Option<&Path>,
        env_prefix: &str,
        vars: I,
    ) -> Result<(Config, Vec<Warning>), ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        code.validate()?;
        let mut config = code;
        let mut warnings = match file {
            Some(path) => config.merge_file(path)?,
            None => Vec::new(),
        };
        warnings.extend(config.merge_env_vars(env_prefix, vars)?);
        Ok((config, warnings))
    }

    /// What a command-line program calls with its `--config FILE` option: the defaults,
    /// the file if given, then the `TACHYMETER_*` variables.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn load_for_cli(path: Option<&Path>) -> Result<(Config, Vec<Warning>), ConfigError> {
        Config::load(Config::default(), path, DEFAULT_ENV_PREFIX)
    }

    /// Overrides the keys the file at `path` sets. On error `self` is unchanged.
    ///
    /// # Errors
    /// [`ConfigError::Read`], or the first syntax error or invalid value.
    pub fn merge_file(&mut self, path: impl AsRef<Path>) -> Result<Vec<Warning>, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        self.merge_toml_str(&text, Some(path))
    }

    /// Overrides the keys the TOML document `text` sets (`path`: where it was read from, for
    /// messages). On error `self` is unchanged.
    ///
    /// # Errors
    /// The first syntax error or invalid value.
    pub fn merge_toml_str(
        &mut self,
        text: &str,
        path: Option<&Path>,
    ) -> Result<Vec<Warning>, ConfigError> {
        let at = |offset: usize| Origin::file(path, text, offset);
        let doc = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
            origin: at(e.span().map_or(0, |s| s.start)),
            message: e.message().trim().to_string(),
        })?;
        let mut next = self.clone();
        let mut warnings = Vec::new();
        let unknown = |key: String, offset: usize, warnings: &mut Vec<Warning>| {
            let known = KEYS
                .iter()
                .map(|k| k.path)
                .chain(SECTIONS)
                .chain([RESPONSE_TARGETS, "alerts"]);
            warnings.push(Warning::UnknownKey {
                origin: at(offset),
                suggestion: closest(&key, known),
                key,
            });
        };
        for (name, value) in in_file_order(doc.get_ref()) {
            let section = name.get_ref().as_ref();
            if section == "alerts" {
                next.merge_alerts(value, text, path, &mut warnings)?;
                continue;
            }
            if !SECTIONS.contains(&section) {
                unknown(section.to_string(), name.span().start, &mut warnings);
                continue;
            }
            let DeValue::Table(table) = value.get_ref() else {
                return Err(invalid_toml(section, value, text, path, "a table"));
            };
            for (name, value) in in_file_order(table) {
                let key = format!("{section}.{}", name.get_ref());
                if key == RESPONSE_TARGETS {
                    next.merge_targets(value, text, path)?;
                } else if let Some(k) = KEYS.iter().find(|k| k.path == key) {
                    let shown = text.get(value.span()).unwrap_or_default();
                    k.set(
                        &mut next,
                        Input::Toml(value),
                        || at(value.span().start),
                        shown,
                    )?;
                } else {
                    unknown(key, name.span().start, &mut warnings);
                }
            }
        }
        *self = next;
        Ok(warnings)
    }

    /// `[monitors.response_targets]`: operation type = duration.
    fn merge_targets(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        text: &str,
        path: Option<&Path>,
    ) -> Result<(), ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(invalid_toml(
                RESPONSE_TARGETS,
                value,
                text,
                path,
                "a table of operation type = duration",
            ));
        };
        for (op, value) in in_file_order(table) {
            let key = format!("{RESPONSE_TARGETS}.{}", op.get_ref());
            let parsed = Input::Toml(value).time();
            match parsed {
                Some(d) if TARGET_RANGE.time_ok(d) => {
                    self.monitors
                        .response_targets
                        .insert(op.get_ref().to_string(), d);
                }
                _ => return Err(invalid_toml(&key, value, text, path, &target_allowed())),
            }
        }
        Ok(())
    }

    /// `[[alerts]]`: rules in [`AlertRule`]'s serde form, replacing rules of the same name.
    fn merge_alerts(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        text: &str,
        path: Option<&Path>,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), ConfigError> {
        let at = |offset: usize| Origin::file(path, text, offset);
        let DeValue::Array(items) = value.get_ref() else {
            return Err(invalid_toml(
                "alerts",
                value,
                text,
                path,
                "an array of tables ([[alerts]])",
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let mut ignored = Vec::new();
            let rule: AlertRule = serde_ignored::deserialize(
                ValueDeserializer::from(item.clone()),
                |p: serde_ignored::Path<'_>| ignored.push(p.to_string()),
            )
            .map_err(|e| ConfigError::Rule {
                origin: at(e.span().unwrap_or(item.span()).start),
                rule: format!("alerts[{i}]"),
                message: e.message().trim().to_string(),
            })?;
            rule.validate().map_err(|e| ConfigError::Rule {
                origin: at(item.span().start),
                rule: rule.name.clone(),
                message: e.to_string(),
            })?;
            for p in ignored {
                warnings.push(Warning::UnknownKey {
                    origin: at(item.span().start),
                    key: format!("alerts[{i}].{p}"),
                    suggestion: None,
                });
            }
            match self.alerts.iter_mut().find(|r| r.name == rule.name) {
                Some(r) => *r = rule,
                None => self.alerts.push(rule),
            }
        }
        Ok(())
    }

    /// Overrides the keys that `vars` (name, value) with `prefix` set; names without the
    /// prefix are skipped. Flat aliases (`PREFIX_CPU_THRESHOLD`) apply before full names
    /// (`PREFIX_RESOURCES_CPU_THRESHOLD`), so a full name wins. On error `self` is unchanged.
    ///
    /// # Errors
    /// The first invalid value, naming the variable.
    pub fn merge_env_vars<I, K, V>(
        &mut self,
        prefix: &str,
        vars: I,
    ) -> Result<Vec<Warning>, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.as_ref().starts_with(prefix))
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        // Aliases first, then by name: a deterministic order whatever the iterator's.
        let is_alias = |name: &str| KEYS.iter().any(|k| k.alias == Some(name));
        vars.sort_by(|(a, _), (b, _)| {
            let (a, b) = (&a[prefix.len()..], &b[prefix.len()..]);
            (!is_alias(a), a).cmp(&(!is_alias(b), b))
        });
        let mut next = self.clone();
        let mut warnings = Vec::new();
        let targets = format!("{}_", env_name(RESPONSE_TARGETS));
        for (var, value) in &vars {
            let name = &var[prefix.len()..];
            let origin = || Origin::Env { var: var.clone() };
            if let Some(k) = KEYS
                .iter()
                .find(|k| env_name(k.path) == name || k.alias == Some(name))
            {
                k.set(&mut next, Input::Env(value), origin, value)?;
            } else if let Some(op) = name.strip_prefix(&targets).filter(|op| !op.is_empty()) {
                match keys::parse_duration(value).filter(|d| TARGET_RANGE.time_ok(*d)) {
                    Some(d) => {
                        next.monitors
                            .response_targets
                            .insert(op.to_ascii_lowercase(), d);
                    }
                    None => {
                        return Err(ConfigError::Invalid {
                            origin: origin(),
                            key: format!("{RESPONSE_TARGETS}.{}", op.to_ascii_lowercase()),
                            value: value.clone(),
                            allowed: target_allowed(),
                        })
                    }
                }
            } else {
                let known = KEYS
                    .iter()
                    .flat_map(|k| [Some(env_name(k.path)), k.alias.map(str::to_string)])
                    .flatten()
                    .collect::<Vec<_>>();
                let suggestion =
                    closest(name, known.iter().map(String::as_str)).map(|s| format!("{prefix}{s}"));
                warnings.push(Warning::UnknownKey {
                    origin: origin(),
                    key: var.clone(),
                    suggestion,
                });
            }
        }
        *self = next;
        Ok(warnings)
    }

    /// Checks every value against its documented range (the loaders check what they read;
    /// this checks what code set).
    ///
    /// # Errors
    /// The first value out of range, with [`Origin::Code`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut copy = self.clone();
        for k in KEYS {
            let field = (k.field)(&mut copy);
            if let Some(value) = field.out_of_range(k.range) {
                return Err(ConfigError::Invalid {
                    origin: Origin::Code,
                    key: k.path.to_string(),
                    value,
                    allowed: field.allowed(k.range),
                });
            }
        }
        for (op, d) in &self.monitors.response_targets {
            if !TARGET_RANGE.time_ok(*d) {
                return Err(ConfigError::Invalid {
                    origin: Origin::Code,
                    key: format!("{RESPONSE_TARGETS}.{op}"),
                    value: format!("{d:?}"),
                    allowed: target_allowed(),
                });
            }
        }
        for rule in &self.alerts {
            rule.validate().map_err(|e| ConfigError::Rule {
                origin: Origin::Code,
                rule: rule.name.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The configuration as a TOML document that [`from_toml_str`](Self::from_toml_str)
    /// reads back equal.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| unreachable!("a Config serializes: {e}"))
    }

    /// An engine builder with `[engine]` applied (add a clock or `background(false)` to it).
    pub fn engine_builder(&self) -> EngineBuilder {
        let e = &self.engine;
        Engine::builder()
            .interval(e.interval)
            .window(e.window)
            .max_series(e.max_series)
            .label_set_limit(e.label_set_limit)
            .max_threads(e.max_threads)
            .events_capacity(e.events_capacity)
            .history(if e.history {
                HistoryConfig::default()
            } else {
                HistoryConfig::none()
            })
    }

    /// Builds the engine of [`engine_builder`](Self::engine_builder).
    ///
    /// # Errors
    /// The engine's [`BuildError`] (not for values this config's loaders accepted).
    pub fn build_engine(&self) -> Result<Arc<Engine>, BuildError> {
        self.engine_builder().build().map(Arc::new)
    }

    /// An inference monitor builder on `engine` with `monitors.max_history` as its window.
    pub fn inference_builder(&self, engine: Arc<Engine>) -> InferenceMetricsBuilder {
        crate::InferenceMetrics::builder()
            .engine(engine)
            .window_size(self.monitors.max_history)
    }

    /// A query monitor builder on `engine` with `monitors.slow_query_threshold`.
    pub fn query_monitor_builder(&self, engine: Arc<Engine>) -> QueryMonitorBuilder {
        crate::QueryMonitor::builder()
            .engine(engine)
            .slow_threshold(self.monitors.slow_query_threshold)
    }

    /// A response-time monitor builder on `engine` with the configured targets.
    pub fn response_time_monitor_builder(&self, engine: Arc<Engine>) -> ResponseTimeMonitorBuilder {
        let m = &self.monitors;
        let builder = crate::ResponseTimeMonitor::builder()
            .engine(engine)
            .default_target(m.default_response_target);
        m.response_targets
            .iter()
            .fold(builder, |b, (op, d)| b.target(op.clone(), *d))
    }

    /// A resource monitor builder on `engine` with `[resources]` applied; `None` when
    /// `resources.enabled` is false.
    #[cfg(feature = "resources")]
    pub fn resource_monitor_builder(
        &self,
        engine: Arc<Engine>,
    ) -> Option<crate::ResourceMonitorBuilder> {
        let r = &self.resources;
        r.enabled.then(|| {
            crate::ResourceMonitor::builder()
                .engine(engine)
                .interval(r.interval)
                .cpu_threshold(r.cpu_threshold)
                .memory_threshold(r.memory_threshold)
                .disk_threshold(r.disk_threshold)
                .disks(r.disks)
                .network(r.network)
                .process(r.process)
                .gpu(r.gpu)
        })
    }

    /// A `MonitoredCache` builder called `name` on `engine` with `monitors.cache_size` and
    /// `monitors.cache_ttl`.
    #[cfg(feature = "moka")]
    pub fn cache_builder(&self, name: &str, engine: Arc<Engine>) -> crate::MonitoredCacheBuilder {
        crate::MonitoredCache::builder(name)
            .engine(engine)
            .max_size(self.monitors.cache_size)
            .default_ttl(self.monitors.cache_ttl)
    }

    /// An alert manager with the `[[alerts]]` rules (add handlers, then
    /// [`start`](AlertManager::start) it).
    ///
    /// # Errors
    /// The first invalid rule (only for rules set in code without
    /// [`validate`](Self::validate)).
    pub fn alert_manager(&self) -> Result<AlertManager, RuleError> {
        let manager = AlertManager::new();
        for rule in &self.alerts {
            manager.add_rule(rule.clone())?;
        }
        Ok(manager)
    }
}

/// The process's variables whose names start with `prefix` (a value that is not UTF-8 is
/// passed on lossily, so its key reports it as invalid).
fn process_env(prefix: &str) -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            k.starts_with(prefix)
                .then(|| (k, v.to_string_lossy().into_owned()))
        })
        .collect()
}

fn target_allowed() -> String {
    format!(
        "a duration such as \"500ms\", \"2s\" or \"1m\" (or a number of seconds) in {}..={}",
        format_duration(Duration::from_micros(1)),
        format_duration(Duration::from_secs(24 * 3600))
    )
}

fn invalid_toml(
    key: &str,
    value: &Spanned<DeValue<'_>>,
    text: &str,
    path: Option<&Path>,
    allowed: &str,
) -> ConfigError {
    let shown = text.get(value.span()).unwrap_or_default();
    ConfigError::Invalid {
        origin: Origin::file(path, text, value.span().start),
        key: key.to_string(),
        // A whole table would be long: its first line is enough to find it.
        value: shown.lines().next().unwrap_or_default().to_string(),
        allowed: allowed.to_string(),
    }
}

/// Builds a [`Config`] in code: the program's own defaults, which a file and the
/// environment then override (see [`Config::load`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $($field:ident).+;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$($field).+ = value;
                self
            }
        )*
    };
}

impl ConfigBuilder {
    setters! {
        /// `engine.interval`.
        interval: Duration => engine.interval;
        /// `engine.window`.
        window: usize => engine.window;
        /// `engine.max_series`.
        max_series: usize => engine.max_series;
        /// `engine.label_set_limit`.
        label_set_limit: usize => engine.label_set_limit;
        /// `engine.max_threads`.
        max_threads: usize => engine.max_threads;
        /// `engine.events_capacity`.
        events_capacity: usize => engine.events_capacity;
        /// `engine.history`.
        history: bool => engine.history;
        /// `monitors.max_history` (the inference window).
        max_history: usize => monitors.max_history;
        /// `monitors.cache_size`.
        cache_size: u64 => monitors.cache_size;
        /// `monitors.cache_ttl` (`None`: never expire).
        cache_ttl: Option<Duration> => monitors.cache_ttl;
        /// `monitors.slow_query_threshold`.
        slow_query_threshold: Duration => monitors.slow_query_threshold;
        /// `monitors.default_response_target`.
        default_response_target: Duration => monitors.default_response_target;
        /// `resources.enabled`.
        resources_enabled: bool => resources.enabled;
        /// `resources.interval`.
        resources_interval: Duration => resources.interval;
        /// `resources.cpu_threshold`, percent.
        cpu_threshold: f64 => resources.cpu_threshold;
        /// `resources.memory_threshold`, percent.
        memory_threshold: f64 => resources.memory_threshold;
        /// `resources.disk_threshold`, percent.
        disk_threshold: f64 => resources.disk_threshold;
        /// `resources.disks`.
        disks: bool => resources.disks;
        /// `resources.network`.
        network: bool => resources.network;
        /// `resources.process`.
        process: bool => resources.process;
        /// `resources.gpu`.
        gpu: bool => resources.gpu;
    }

    /// `monitors.response_targets.<operation_type>`.
    pub fn response_target(mut self, operation_type: impl Into<String>, target: Duration) -> Self {
        self.config
            .monitors
            .response_targets
            .insert(operation_type.into(), target);
        self
    }

    /// Adds an alert rule (replacing one of the same name).
    pub fn alert(mut self, rule: AlertRule) -> Self {
        let alerts = &mut self.config.alerts;
        match alerts.iter_mut().find(|r| r.name == rule.name) {
            Some(r) => *r = rule,
            None => alerts.push(rule),
        }
        self
    }

    /// Checks every value ([`Config::validate`]) and returns the configuration.
    ///
    /// # Errors
    /// The first value out of range, with [`Origin::Code`].
    pub fn build(self) -> Result<Config, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}
