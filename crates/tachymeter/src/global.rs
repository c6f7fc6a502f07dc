//! The process-wide default engine and the call-site-caching macros.
#![deny(unsafe_code)]

use crate::{Counter, Engine, EventLog, Gauge, Histogram, Opts};
use once_cell::sync::Lazy;

static GLOBAL: Lazy<Engine> = Lazy::new(Engine::new);

/// The process-wide default engine (default settings, started on first use).
///
/// ```
/// tachymeter::global().counter("started_total").unwrap().increment();
/// ```
pub fn global() -> &'static Engine {
    &GLOBAL
}

/// A private engine without an aggregator: where macro handles whose registration failed
/// record, so that the host never panics and the failure is counted on the global engine.
static DETACHED: Lazy<Engine> = Lazy::new(|| {
    Engine::builder()
        .background(false)
        .build()
        .expect("an engine without a thread always builds")
});

fn or_detached<T>(r: Result<T, crate::RegisterError>, make: impl FnOnce(&Engine) -> T) -> T {
    r.unwrap_or_else(|_| {
        global().note_registration_error();
        make(&DETACHED)
    })
}

#[doc(hidden)]
pub mod __private {
    use super::*;
    pub use once_cell::sync::OnceCell;

    pub fn counter(opts: Opts) -> Counter {
        or_detached(global().counter(opts), |e| {
            e.counter("detached").expect("valid name")
        })
    }
    pub fn gauge(opts: Opts) -> Gauge {
        or_detached(global().gauge(opts), |e| {
            e.gauge("detached").expect("valid name")
        })
    }
    pub fn histogram(opts: Opts) -> Histogram {
        or_detached(global().histogram(opts), |e| {
            e.histogram("detached").expect("valid name")
        })
    }
    pub fn events(opts: Opts) -> EventLog {
        or_detached(global().events(opts), |e| {
            e.events("detached").expect("valid name")
        })
    }
}

/// A [`Counter`] on the [`global`] engine, registered once per call site.
///
/// Optional static labels follow the name. A name the registry rejects (invalid, or already
/// another kind) yields a detached handle that records nowhere visible and is counted in
/// `Stats::registration_errors`; use [`Engine::counter`] to get the error instead.
///
/// ```
/// for _ in 0..3 {
///     tachymeter::counter!("macro_requests_total", "route" => "/").increment();
/// }
/// let snap = tachymeter::global().flush();
/// let m = snap.get("macro_requests_total", &[("route", "/")]).unwrap();
/// assert!(matches!(&m.value, tachymeter::MetricValue::Counter(c) if c.total == 3));
/// ```
#[macro_export]
macro_rules! counter {
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::Counter> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::counter($crate::Opts::new($name)$(.label($k, $v))*))
    }};
}

/// A [`Gauge`] on the [`global`] engine, registered once per call site (see [`counter!`]).
#[macro_export]
macro_rules! gauge {
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::Gauge> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::gauge($crate::Opts::new($name)$(.label($k, $v))*))
    }};
}

/// A [`Histogram`] on the [`global`] engine, registered once per call site (see [`counter!`]).
#[macro_export]
macro_rules! histogram {
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::Histogram> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::histogram($crate::Opts::new($name)$(.label($k, $v))*))
    }};
}

/// An [`EventLog`] on the [`global`] engine, registered once per call site (see [`counter!`]).
#[macro_export]
macro_rules! events {
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::EventLog> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::events($crate::Opts::new($name)$(.label($k, $v))*))
    }};
}
