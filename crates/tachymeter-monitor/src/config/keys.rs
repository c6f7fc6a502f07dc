//! The table of settings: each key's path, its environment aliases, its range, and the field
//! it sets. Files, the environment and code are all checked against this one table, so a key
//! has one range and one error message whatever its source.

use super::error::{ConfigError, Origin};
use super::Config;
use std::time::Duration;
use tachymeter::limits;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

/// A mutable view of one setting's field.
pub(super) enum Field<'a> {
    Count(&'a mut usize),
    Size(&'a mut u64),
    Percent(&'a mut f64),
    Flag(&'a mut bool),
    Time(&'a mut Duration),
    /// `None` is written `"never"`.
    OptTime(&'a mut Option<Duration>),
}

/// The range of a setting.
#[derive(Clone, Copy)]
pub(super) enum Range {
    Int(u64, u64),
    Float(f64, f64),
    Time(Duration, Duration),
    Any,
}

/// One setting.
pub(super) struct Key {
    /// `section.key` (the TOML path).
    pub path: &'static str,
    /// The seeds' flat environment name after the prefix (`CPU_THRESHOLD`), if any.
    pub alias: Option<&'static str>,
    pub range: Range,
    pub field: for<'a> fn(&'a mut Config) -> Field<'a>,
}

/// The range of response targets and the slow-query threshold.
pub(super) const TARGET_RANGE: Range =
    Range::Time(Duration::from_micros(1), Duration::from_secs(24 * 3600));

const fn int(lo: u64, hi: usize) -> Range {
    Range::Int(lo, hi as u64)
}

/// Every scalar setting. `monitors.response_targets` (a table) and `alerts` (an array of
/// tables) are read separately.
pub(super) static KEYS: &[Key] = &[
    Key {
        path: "engine.interval",
        alias: None,
        range: Range::Time(limits::MIN_INTERVAL, limits::MAX_INTERVAL),
        field: |c| Field::Time(&mut c.engine.interval),
    },
    Key {
        path: "engine.window",
        alias: None,
        range: int(1, limits::MAX_WINDOW),
        field: |c| Field::Count(&mut c.engine.window),
    },
    Key {
        path: "engine.max_series",
        alias: None,
        range: int(1, limits::MAX_SERIES),
        field: |c| Field::Count(&mut c.engine.max_series),
    },
    Key {
        path: "engine.label_set_limit",
        alias: None,
        range: int(1, limits::MAX_LABEL_SET_LIMIT),
        field: |c| Field::Count(&mut c.engine.label_set_limit),
    },
    Key {
        path: "engine.max_threads",
        alias: None,
        range: int(1, limits::MAX_THREADS),
        field: |c| Field::Count(&mut c.engine.max_threads),
    },
    Key {
        path: "engine.events_capacity",
        alias: None,
        range: int(1, limits::MAX_EVENTS_CAPACITY),
        field: |c| Field::Count(&mut c.engine.events_capacity),
    },
    Key {
        path: "engine.history",
        alias: None,
        range: Range::Any,
        field: |c| Field::Flag(&mut c.engine.history),
    },
    Key {
        path: "monitors.max_history",
        alias: Some("MAX_HISTORY"),
        range: int(1, 1 << 24),
        field: |c| Field::Count(&mut c.monitors.max_history),
    },
    Key {
        path: "monitors.cache_size",
        alias: Some("CACHE_SIZE"),
        range: int(1, 1_000_000_000),
        field: |c| Field::Size(&mut c.monitors.cache_size),
    },
    Key {
        path: "monitors.cache_ttl",
        alias: Some("CACHE_TTL"),
        range: Range::Time(Duration::from_millis(1), Duration::from_secs(30 * 86_400)),
        field: |c| Field::OptTime(&mut c.monitors.cache_ttl),
    },
    Key {
        path: "monitors.slow_query_threshold",
        alias: None,
        range: TARGET_RANGE,
        field: |c| Field::Time(&mut c.monitors.slow_query_threshold),
    },
    Key {
        path: "monitors.default_response_target",
        alias: None,
        range: TARGET_RANGE,
        field: |c| Field::Time(&mut c.monitors.default_response_target),
    },
    Key {
        path: "resources.enabled",
        alias: None,
        range: Range::Any,
        field: |c| Field::Flag(&mut c.resources.enabled),
    },
    Key {
        path: "resources.interval",
        alias: None,
        range: Range::Time(Duration::from_millis(1), Duration::from_secs(3600)),
        field: |c| Field::Time(&mut c.resources.interval),
    },
    Key {
        path: "resources.cpu_threshold",
        alias: Some("CPU_THRESHOLD"),
        range: Range::Float(0.0, 100.0),
        field: |c| Field::Percent(&mut c.resources.cpu_threshold),
    },
    Key {
        path: "resources.memory_threshold",
        alias: Some("MEMORY_THRESHOLD"),
        range: Range::Float(0.0, 100.0),
        field: |c| Field::Percent(&mut c.resources.memory_threshold),
    },
    Key {
        path: "resources.disk_threshold",
        alias: Some("DISK_THRESHOLD"),
        range: Range::Float(0.0, 100.0),
        field: |c| Field::Percent(&mut c.resources.disk_threshold),
    },
    Key {
        path: "resources.disks",
        alias: None,
        range: Range::Any,
        field: |c| Field::Flag(&mut c.resources.disks),
    },
    Key {
        path: "resources.network",
        alias: None,
        range: Range::Any,
        field: |c| Field::Flag(&mut c.resources.network),
    },
    Key {
        path: "resources.process",
        alias: None,
        range: Range::Any,
        field: |c| Field::Flag(&mut c.resources.process),
    },
    Key {
        path: "resources.gpu",
        alias: None,
        range: Range::Any,
        field: |c| Field::Flag(&mut c.resources.gpu),
    },
];

/// The environment name of `path` after the prefix: `resources.cpu_threshold` ->
/// `RESOURCES_CPU_THRESHOLD`.
pub(super) fn env_name(path: &str) -> String {
    path.replace('.', "_").to_ascii_uppercase()
}

/// A raw value: a TOML value or an environment variable's text.
#[derive(Clone, Copy)]
pub(super) enum Input<'a, 'i> {
    Toml(&'a Spanned<DeValue<'i>>),
    Env(&'a str),
}

impl Input<'_, '_> {
    fn de<T: serde::de::DeserializeOwned>(self) -> Option<T> {
        match self {
            Input::Toml(v) => T::deserialize(ValueDeserializer::from(v.clone())).ok(),
            Input::Env(_) => None,
        }
    }

    fn int(self) -> Option<u64> {
        match self {
            Input::Toml(_) => self.de(),
            Input::Env(s) => s.trim().replace('_', "").parse().ok(),
        }
    }

    fn float(self) -> Option<f64> {
        match self {
            Input::Toml(_) => self.de(),
            Input::Env(s) => s.trim().parse().ok(),
        }
    }

    fn flag(self) -> Option<bool> {
        match self {
            Input::Toml(_) => self.de(),
            Input::Env(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            },
        }
    }

    /// A duration: a humantime string (`"500ms"`, `"1h 30m"`) or a number of seconds.
    pub(super) fn time(self) -> Option<Duration> {
        let text = match self {
            Input::Toml(v) => match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                _ => return seconds(self.float()?),
            },
            Input::Env(s) => s.to_string(),
        };
        parse_duration(&text)
    }

    /// `"never"` (any case) for `None`, else [`time`](Self::time).
    fn opt_time(self) -> Option<Option<Duration>> {
        let never = match self {
            Input::Toml(v) => v.get_ref().as_str() == Some("never"),
            Input::Env(s) => s.trim().eq_ignore_ascii_case("never"),
        };
        if never {
            Some(None)
        } else {
            self.time().map(Some)
        }
    }
}

/// Non-negative finite seconds.
fn seconds(s: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(s).ok()
}

/// A humantime duration (`"500ms"`, `"2s"`, `"1h 30m"`) or a plain number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(s) => seconds(s),
        Err(_) => humantime::parse_duration(t).ok(),
    }
}

/// `d` as humantime writes it (`"1s"`, `"500ms"`, `"30m"`).
pub(crate) fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl Range {
    fn int_ok(self, v: u64) -> bool {
        match self {
            Range::Int(lo, hi) => (lo..=hi).contains(&v),
            _ => true,
        }
    }

    fn float_ok(self, v: f64) -> bool {
        match self {
            Range::Float(lo, hi) => (lo..=hi).contains(&v),
            _ => v.is_finite(),
        }
    }

    pub(super) fn time_ok(self, v: Duration) -> bool {
        match self {
            Range::Time(lo, hi) => (lo..=hi).contains(&v),
            _ => true,
        }
    }

    fn time_text(self) -> String {
        let range = match self {
            Range::Time(lo, hi) => {
                format!(" in {}..={}", format_duration(lo), format_duration(hi))
            }
            _ => String::new(),
        };
        format!("a duration such as \"500ms\", \"2s\" or \"1m\" (or a number of seconds){range}")
    }
}

impl Field<'_> {
    /// What the field accepts, for error messages.
    pub(super) fn allowed(&self, range: Range) -> String {
        match (self, range) {
            (Field::Count(_) | Field::Size(_), Range::Int(lo, hi)) => {
                format!("an integer in {lo}..={hi}")
            }
            (Field::Count(_) | Field::Size(_), _) => "a non-negative integer".into(),
            (Field::Percent(_), Range::Float(lo, hi)) => format!("a number in {lo}..={hi}"),
            (Field::Percent(_), _) => "a finite number".into(),
            (Field::Flag(_), _) => "true or false".into(),
            (Field::Time(_), r) => r.time_text(),
            (Field::OptTime(_), r) => format!("{}, or \"never\"", r.time_text()),
        }
    }

    /// Parses `input` and sets the field; `false` (the field unchanged) if the value is of
    /// the wrong type or out of `range`.
    pub(super) fn set(self, input: Input<'_, '_>, range: Range) -> bool {
        match self {
            Field::Count(f) => match input.int().and_then(|v| usize::try_from(v).ok()) {
                Some(v) if range.int_ok(v as u64) => *f = v,
                _ => return false,
            },
            Field::Size(f) => match input.int() {
                Some(v) if range.int_ok(v) => *f = v,
                _ => return false,
            },
            Field::Percent(f) => match input.float() {
                Some(v) if range.float_ok(v) => *f = v,
                _ => return false,
            },
            Field::Flag(f) => match input.flag() {
                Some(v) => *f = v,
                None => return false,
            },
            Field::Time(f) => match input.time() {
                Some(v) if range.time_ok(v) => *f = v,
                _ => return false,
            },
            Field::OptTime(f) => match input.opt_time() {
                Some(None) => *f = None,
                Some(Some(v)) if range.time_ok(v) => *f = Some(v),
                _ => return false,
            },
        }
        true
    }

    /// The current value if it is out of `range` (as a TOML value would be written).
    pub(super) fn out_of_range(&self, range: Range) -> Option<String> {
        match self {
            Field::Count(v) => (!range.int_ok(**v as u64)).then(|| v.to_string()),
            Field::Size(v) => (!range.int_ok(**v)).then(|| v.to_string()),
            Field::Percent(v) => (!range.float_ok(**v)).then(|| v.to_string()),
            Field::Flag(_) => None,
            Field::Time(v) => (!range.time_ok(**v)).then(|| format!("{:?}", **v)),
            Field::OptTime(v) => v.filter(|d| !range.time_ok(*d)).map(|d| format!("{d:?}")),
        }
    }
}

impl Key {
    /// Sets the key from `input`, or the error naming `origin`, the key, `shown` (the value
    /// as written) and what is allowed.
    pub(super) fn set(
        &self,
        config: &mut Config,
        input: Input<'_, '_>,
        origin: impl FnOnce() -> Origin,
        shown: &str,
    ) -> Result<(), ConfigError> {
        let field = (self.field)(config);
        let allowed = field.allowed(self.range);
        if field.set(input, self.range) {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                origin: origin(),
                key: self.path.to_string(),
                value: shown.to_string(),
                allowed,
            })
        }
    }
}

/// The candidate closest to `word` by edit distance, if it is close (at most 2 edits, or a
/// third of the word's length for long words).
pub(super) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (word.len() / 3).max(2);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        // `diag`: the previous row's j; `row[j]`: this row's j; `row[j + 1]`: the previous
        // row's j + 1 until overwritten.
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diag + usize::from(ca != cb);
            let next = substitute.min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
