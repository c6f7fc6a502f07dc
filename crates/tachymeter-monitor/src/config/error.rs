//! [`ConfigError`], [`Warning`] and the [`Origin`] they name.

use std::fmt;
use std::path::PathBuf;

/// Where a setting came from: code, a line of a TOML file, or an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Set in code ([`ConfigBuilder`](super::ConfigBuilder) or the `Config` fields).
    Code,
    /// A TOML document: its path (`None` for a string), and the 1-based line and column.
    File {
        /// The file, if the document was read from one.
        path: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An environment variable (its full name, prefix included).
    Env {
        /// The variable, e.g. `TACHYMETER_RESOURCES_CPU_THRESHOLD`.
        var: String,
    },
}

impl Origin {
    /// The file position of byte `offset` of `text`.
    pub(crate) fn file(path: Option<&std::path::Path>, text: &str, offset: usize) -> Origin {
        // `get`: an offset inside a character (never from the parser) counts the whole text.
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Origin::File {
            path: path.map(PathBuf::from),
            line,
            column,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Code => f.write_str("code"),
            Origin::File {
                path: Some(path),
                line,
                column,
            } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::File {
                path: None,
                line,
                column,
            } => write!(f, "TOML line {line}, column {column}"),
            Origin::Env { var } => write!(f, "environment variable {var}"),
        }
    }
}

/// Why a configuration could not be loaded. Each variant names where the problem is and says
/// how to fix it; none is ever a panic.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read: check the path and its permissions (and that it is UTF-8).
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The document is not valid TOML: fix the syntax at `origin`.
    Syntax {
        /// Where the parser stopped.
        origin: Origin,
        /// The parser's message.
        message: String,
    },
    /// A value has the wrong type or is out of range: use a value that `allowed` describes.
    Invalid {
        /// Where the value was set.
        origin: Origin,
        /// The key, e.g. `resources.cpu_threshold`.
        key: String,
        /// The rejected value as written (TOML source text or the variable's value).
        value: String,
        /// What the key accepts, e.g. `a number in 0..=100`.
        allowed: String,
    },
    /// An `[[alerts]]` rule is malformed or invalid: fix it as `message` says (the fields
    /// are those of [`AlertRule`](crate::alerting::AlertRule)).
    Rule {
        /// Where the rule is.
        origin: Origin,
        /// The rule's name, or `alerts[i]` if it has none yet.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            ConfigError::Syntax { origin, message } => {
                write!(f, "{origin}: invalid TOML: {message}")
            }
            ConfigError::Invalid {
                origin: Origin::Env { var },
                key,
                value,
                allowed,
            } => write!(f, "{var}={value}: expected {allowed} (key {key})"),
            ConfigError::Invalid {
                origin: Origin::Code,
                key,
                value,
                allowed,
            } => write!(f, "{key} = {value} (set in code): expected {allowed}"),
            ConfigError::Invalid {
                origin,
                key,
                value,
                allowed,
            } => write!(f, "{origin}: {key} = {value}: expected {allowed}"),
            ConfigError::Rule {
                origin,
                rule,
                message,
            } => write!(f, "{origin}: alert rule {rule}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Something a configuration source said that was ignored. Loading goes on; the caller
/// decides whether to print the warnings or refuse to start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A key (or an environment variable with the prefix) that no setting has: a typo, or a
    /// key of a newer version. It was ignored.
    UnknownKey {
        /// Where it was.
        origin: Origin,
        /// The key as written (`resources.cpu_treshold`, `alerts[0].thresold`) or the
        /// variable's name.
        key: String,
        /// The known key closest to it, if one is close.
        suggestion: Option<String>,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey {
                origin: Origin::Env { var },
                suggestion,
                ..
            } => {
                write!(f, "unknown environment variable {var} (ignored)")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean {s}?")?;
                }
                Ok(())
            }
            Warning::UnknownKey {
                origin,
                key,
                suggestion,
            } => {
                write!(f, "{origin}: unknown key {key} (ignored)")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean {s}?")?;
                }
                Ok(())
            }
        }
    }
}
