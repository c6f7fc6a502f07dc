//! The process-wide default engine and the call-site-caching macros.
#![deny(unsafe_code)]

use crate::family::KindOps;
use crate::{
    Counter, CounterFamily, Engine, EventLog, EventsFamily, Family, Gauge, GaugeFamily, Histogram,
    HistogramFamily, Opts,
};
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
/// Its handles belong to no registry, so no later failure of any kind can collide with them.
static DETACHED: Lazy<Engine> = Lazy::new(|| {
    Engine::builder()
        .background(false)
        .build()
        .unwrap_or_else(|e| unreachable!("an engine without a thread always builds: {e}"))
});

fn or_detached<T>(r: Result<T, crate::RegisterError>, detached: impl FnOnce(&Engine) -> T) -> T {
    r.unwrap_or_else(|_| {
        global().note_registration_error();
        detached(&DETACHED)
    })
}

#[doc(hidden)]
pub mod __private {
    use super::*;
    pub use once_cell::sync::OnceCell;

    pub fn counter(opts: Opts) -> Counter {
        or_detached(global().counter(opts), |e| {
            e.shared().unregistered_counter()
        })
    }
    pub fn gauge(opts: Opts) -> Gauge {
        or_detached(global().gauge(opts), |e| e.shared().unregistered_gauge())
    }
    pub fn histogram(opts: Opts) -> Histogram {
        or_detached(global().histogram(opts), |e| {
            e.shared().unregistered_histogram()
        })
    }
    pub fn events(opts: Opts) -> EventLog {
        or_detached(global().events(opts), |e| e.shared().unregistered_events())
    }

    pub fn counter_family(opts: Opts, labels: &[&str]) -> CounterFamily {
        or_detached(global().counter_family(opts, labels), |e| {
            Family::detached(e.shared(), labels, KindOps::counter())
        })
    }
    pub fn gauge_family(opts: Opts, labels: &[&str]) -> GaugeFamily {
        or_detached(global().gauge_family(opts, labels), |e| {
            Family::detached(e.shared(), labels, KindOps::gauge())
        })
    }
    pub fn histogram_family(opts: Opts, labels: &[&str]) -> HistogramFamily {
        or_detached(global().histogram_family(opts, labels), |e| {
            Family::detached(e.shared(), labels, KindOps::histogram())
        })
    }
    pub fn events_family(opts: Opts, labels: &[&str]) -> EventsFamily {
        or_detached(global().events_family(opts, labels), |e| {
            Family::detached(e.shared(), labels, KindOps::events())
        })
    }

    /// `&str` of a label value given as `&str`, `String`, `&String`, `Cow<str>`…
    #[inline]
    pub fn as_str<T: AsRef<str> + ?Sized>(v: &T) -> &str {
        v.as_ref()
    }
}

/// A [`Counter`] on the [`global`] engine.
///
/// Optional labels follow the name. The macros never panic: a name the registry rejects
/// (invalid, another kind, a collision, a limit) yields a detached handle that records nowhere
/// visible and is counted in `Stats::registration_errors`; use [`Engine::counter`] to get the
/// error instead.
///
/// Three forms, each attributing every value to its own series:
/// - **all literals** (`counter!("jobs_total")`, `counter!("jobs_total", "queue" => "fast")`):
///   the call site registers once and returns a cached `&'static Counter` (one atomic load per
///   call after the first);
/// - **literal name and label names, runtime label values**
///   (`counter!("hits_total", "route" => route)`): the call site declares a label
///   [`Family`](crate::Family) once and looks the values up in it on every call (no lock, no
///   allocation once the series exists: about 10 ns), returning a `&'static Counter`;
/// - **a runtime name or label name** (`counter!(name)`): the metric is registered (or found)
///   in the registry on every call (a mutex and a few small allocations, about half a
///   microsecond), returning an owned [`Counter`]: keep such handles out of hot loops.
///
/// ```
/// for _ in 0..3 {
///     tachymeter::counter!("macro_requests_total", "route" => "/").increment();
/// }
/// for route in ["/a", "/b", "/b"] {
///     tachymeter::counter!("macro_routes_total", "route" => route).increment();
/// }
/// let snap = tachymeter::global().flush();
/// let m = snap.get("macro_requests_total", &[("route", "/")]).unwrap();
/// assert!(matches!(&m.value, tachymeter::MetricValue::Counter(c) if c.total == 3));
/// let b = snap.get("macro_routes_total", &[("route", "/b")]).unwrap();
/// assert!(matches!(&b.value, tachymeter::MetricValue::Counter(c) if c.total == 2));
/// ```
#[macro_export]
macro_rules! counter {
    ($name:literal $(, $k:literal => $v:literal)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::Counter> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::counter($crate::Opts::new($name)$(.label($k, $v))*))
    }};
    ($name:literal $(, $k:literal => $v:expr)+ $(,)?) => {{
        static FAMILY: $crate::__private::OnceCell<$crate::CounterFamily> = $crate::__private::OnceCell::new();
        FAMILY
            .get_or_init(|| $crate::__private::counter_family($crate::Opts::new($name), &[$($k),+]))
            .with(&[$($crate::__private::as_str(&$v)),+])
    }};
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {
        $crate::__private::counter($crate::Opts::new($name)$(.label($k, $v))*)
    };
}

/// A [`Gauge`] on the [`global`] engine (literal call sites cached, runtime values looked up
/// each call: see [`counter!`]).
#[macro_export]
macro_rules! gauge {
    ($name:literal $(, $k:literal => $v:literal)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::Gauge> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::gauge($crate::Opts::new($name)$(.label($k, $v))*))
    }};
    ($name:literal $(, $k:literal => $v:expr)+ $(,)?) => {{
        static FAMILY: $crate::__private::OnceCell<$crate::GaugeFamily> = $crate::__private::OnceCell::new();
        FAMILY
            .get_or_init(|| $crate::__private::gauge_family($crate::Opts::new($name), &[$($k),+]))
            .with(&[$($crate::__private::as_str(&$v)),+])
    }};
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {
        $crate::__private::gauge($crate::Opts::new($name)$(.label($k, $v))*)
    };
}

/// A [`Histogram`] on the [`global`] engine (literal call sites cached, runtime values looked
/// up each call: see [`counter!`]).
#[macro_export]
macro_rules! histogram {
    ($name:literal $(, $k:literal => $v:literal)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::Histogram> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::histogram($crate::Opts::new($name)$(.label($k, $v))*))
    }};
    ($name:literal $(, $k:literal => $v:expr)+ $(,)?) => {{
        static FAMILY: $crate::__private::OnceCell<$crate::HistogramFamily> = $crate::__private::OnceCell::new();
        FAMILY
            .get_or_init(|| $crate::__private::histogram_family($crate::Opts::new($name), &[$($k),+]))
            .with(&[$($crate::__private::as_str(&$v)),+])
    }};
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {
        $crate::__private::histogram($crate::Opts::new($name)$(.label($k, $v))*)
    };
}

/// An [`EventLog`] on the [`global`] engine (literal call sites cached, runtime values looked
/// up each call: see [`counter!`]).
#[macro_export]
macro_rules! events {
    ($name:literal $(, $k:literal => $v:literal)* $(,)?) => {{
        static HANDLE: $crate::__private::OnceCell<$crate::EventLog> = $crate::__private::OnceCell::new();
        HANDLE.get_or_init(|| $crate::__private::events($crate::Opts::new($name)$(.label($k, $v))*))
    }};
    ($name:literal $(, $k:literal => $v:expr)+ $(,)?) => {{
        static FAMILY: $crate::__private::OnceCell<$crate::EventsFamily> = $crate::__private::OnceCell::new();
        FAMILY
            .get_or_init(|| $crate::__private::events_family($crate::Opts::new($name), &[$($k),+]))
            .with(&[$($crate::__private::as_str(&$v)),+])
    }};
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {
        $crate::__private::events($crate::Opts::new($name)$(.label($k, $v))*)
    };
}
