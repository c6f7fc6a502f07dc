//! `tachymeter._native`: the Python extension module of tachymeter (PyO3, abi3 for CPython
//! ≥ 3.9). The pure-Python package `tachymeter` (in `python/tachymeter/`) sits on top of it and
//! gives the seeds' class names and signatures; this crate is the thin layer that turns Python
//! calls into engine, monitor, exporter and report calls.
//!
//! Rules this layer keeps:
//! - Recording methods (`Counter.inc`, `Histogram.observe`, …) are handle calls on handles
//!   resolved once, with the GIL held (they take nanoseconds); batch recording of a buffer
//!   releases the GIL.
//! - Long work (flush, snapshot encoding, server start and stop, reports, joining threads)
//!   runs with the GIL released ([`Python::detach`]).
//! - Python callbacks never run on a recording thread nor on a Rust thread: alert events go
//!   through a bounded channel that a Python thread of the package drains (see `alerts.rs`).
//! - Errors are Python exceptions of the package's hierarchy (`tachymeter.TachymeterError`
//!   and subclasses that are also `ValueError`/`OSError`); panics are caught at the boundary
//!   (by PyO3 for every method, and by [`guard`] around the library calls that could panic
//!   on unexpected data), so no argument can take the interpreter down.
#![forbid(unsafe_code)]

mod alerts;
mod engine;
mod monitors;
mod reports;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The exception classes of `tachymeter._errors`, imported once.
struct Errors {
    base: Py<PyType>,
    registration: Py<PyType>,
    config: Py<PyType>,
    server: Py<PyType>,
}

static ERRORS: PyOnceLock<Errors> = PyOnceLock::new();

fn errors(py: Python<'_>) -> PyResult<&Errors> {
    ERRORS.get_or_try_init(py, || {
        let m = py.import("tachymeter._errors")?;
        let get = |name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Errors {
            base: get("TachymeterError")?,
            registration: get("RegistrationError")?,
            config: get("ConfigError")?,
            server: get("ServerError")?,
        })
    })
}

/// Which class of the hierarchy an error becomes.
#[derive(Clone, Copy)]
pub(crate) enum ErrorKind {
    /// `TachymeterError`.
    Base,
    /// `RegistrationError` (also a `ValueError`): bad names, labels, units, collisions.
    Registration,
    /// `ConfigError` (also a `ValueError`): bad engine, rule or monitor configuration.
    Config,
    /// `ServerError` (also an `OSError`): the /metrics server or a thread could not start.
    Server,
}

/// A Python exception of `kind` with `msg`.
pub(crate) fn error(kind: ErrorKind, msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(|py| match errors(py) {
        Ok(e) => {
            let t = match kind {
                ErrorKind::Base => &e.base,
                ErrorKind::Registration => &e.registration,
                ErrorKind::Config => &e.config,
                ErrorKind::Server => &e.server,
            };
            PyErr::from_type(t.bind(py).clone(), msg)
        }
        // The package is not importable (the module loaded on its own): plain built-ins.
        Err(_) => match kind {
            ErrorKind::Server => pyo3::exceptions::PyOSError::new_err(msg),
            ErrorKind::Base => pyo3::exceptions::PyRuntimeError::new_err(msg),
            _ => pyo3::exceptions::PyValueError::new_err(msg),
        },
    })
}

/// A registration error as `RegistrationError`.
pub(crate) fn reg_err(e: tachymeter::RegisterError) -> PyErr {
    error(ErrorKind::Registration, e.to_string())
}

/// Runs `f`, turning a panic into `TachymeterError` (the library's calls are not expected to
/// panic; this keeps a bug there from surfacing as a `BaseException`).
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let detail = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        error(
            ErrorKind::Base,
            format!("internal error in {what}: {detail} (please report it)"),
        )
    })
}

/// A serde value (the monitors' result structs, with the seeds' field names) as Python
/// objects: dicts, lists, floats, ints, strings and `None`.
pub(crate) fn to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value)
        .map_err(|e| error(ErrorKind::Base, format!("cannot convert a result: {e}")))
}

/// `seconds` as a `Duration`, or a `ValueError` naming `what`.
pub(crate) fn seconds(what: &str, seconds: f64) -> PyResult<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{what} must be a finite, non-negative number of seconds, got {seconds}"
        ))
    })
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    engine::register(m)?;
    monitors::register(m)?;
    alerts::register(m)?;
    reports::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
