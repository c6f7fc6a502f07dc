//! A [`tracing_subscriber`] layer that times spans into a tachymeter engine: when a span
//! closes, the time it spent entered (busy) and the rest of its life (idle) are recorded into
//! two histogram families, labelled by the span's name and chosen fields of the span.
//!
//! This is a bridge: it sits above the engine (`tachymeter`) and beside the exporters, which
//! see its series like any others; nothing in the engine knows about it. It records spans
//! only: events are not counted, and span fields recorded after creation are not labels.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tachymeter::{Engine, MetricValue};
//! use tachymeter_tracing::TachymeterLayer;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let engine = Arc::new(Engine::builder().background(false).build().unwrap());
//! let layer = TachymeterLayer::builder(engine.clone())
//!     .field("metric")             // time spans that declare a `metric` field
//!     .label_fields(["route"])     // and label them by their `route`
//!     .build()
//!     .unwrap();
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", route = "/api", metric = true);
//!     let _entered = span.enter();
//!     std::thread::sleep(Duration::from_millis(2));
//! }); // the span closes here
//! let snap = engine.flush();
//! // Exposed as `span_busy_seconds{span="request",route="/api"}` (and `span_idle_seconds`).
//! let busy = snap.get("span_busy", &[("span", "request"), ("route", "/api")]).unwrap();
//! let MetricValue::Histogram(h) = &busy.value else { unreachable!() };
//! assert_eq!(h.cumulative.count(), 1);
//! assert!(h.cumulative.sum() >= 2_000_000); // nanoseconds
//! ```
//!
//! # Selection and interest
//!
//! The builder's rules choose the spans to time: [`target`](Builder::target) (a module path
//! and everything below it), [`span_name`](Builder::span_name) (exact) and
//! [`field`](Builder::field) (callsites that declare the field, as in `metric = true`). A span
//! is timed if it matches **any** rule; with **no rule, every span** is timed, the simplest
//! setup for an application's own spans (libraries' spans too: narrow it with `target`). A
//! span that records a selecting field as `false` (`metric = false`) is not timed.
//!
//! The rules are a per-layer filter ([`SpanFilter`], a `tracing_subscriber` [`Filter`]), and
//! [`Builder::build`] returns the layer already wrapped in it ([`Filtered`]). Decided from
//! the callsite's metadata alone, the filter answers `Interest::never` for a callsite it does
//! not time, which tracing caches per callsite:
//! - When every layer of the subscriber is filtered (a registry with only this layer, or with
//!   other per-layer-filtered layers) and none wants a callsite, the callsite is **disabled
//!   for good**: `span!` costs one cached-interest check and builds nothing
//!   (`tests/interest.rs`). Interest is shared by the dispatchers of a process: while another
//!   dispatcher wants the callsite, it is `sometimes` for all, and tracing-subscriber 0.3's
//!   registry then builds the span although no filter of its own accepted it; the layer still
//!   ignores it.
//! - Otherwise other layers still see every span and event they want: per-layer filtering
//!   hides a callsite from this layer only. (A plain `Layer::register_callsite` returning
//!   `never` would instead disable the callsite for every layer of the subscriber; that is why
//!   the layer is never handed out unfiltered.)
//!
//! For the callsites it times the filter answers `Interest::sometimes`, not `always`, so
//! that its `enabled` runs before each span: tracing-subscriber passes a filter's verdict to
//! `on_new_span` through a thread-local bitmap, and a callsite cached as `always` would read a
//! verdict left there by an unrelated `Dispatch::enabled` query (`log_enabled!` through
//! tracing-log, for one) and silently lose the span (tokio-rs/tracing#2519; a test
//! reproduces it). The price is one `enabled` pass per timed span.
//!
//! # Series
//!
//! Two histogram families with unit `seconds` (stored as nanoseconds): `span_busy` and
//! `span_idle` (exposed as `span_busy_seconds` and `span_idle_seconds`; other names with
//! [`Builder::names`]). Their labels are `span` (the span's name) and then one label per
//! [label field](Builder::label_fields), named after the field (`http.method` becomes
//! `http_method`), valued from the span's attributes at creation: strings as they are, other
//! values by their `Debug` form (so `%x` fields by their `Display` form), at most
//! [`MAX_LABEL_VALUE_LEN`] bytes, `""` for a field the span does not have. One pair of
//! families rather than a family per span name: span names need no rewriting into metric
//! names, every registration happens (and can fail) in `build`, and summing `span_busy` over
//! its labels still means something (a `kind="busy|idle"` label would not: busy plus idle is
//! lifetime). Label cardinality is bounded by the engine's `label_set_limit`: past it, spans
//! are recorded into each family's overflow series (every label [`tachymeter::OVERFLOW_VALUE`])
//! and counted (`Family::overflowed`).
//!
//! # Busy and idle
//!
//! Busy is the time during which the span was entered: from an enter that finds it not
//! entered to the exit that leaves it not entered, summed (a span re-entered while entered, or
//! entered on two threads at once, counts that time once). Idle is the span's lifetime (from
//! creation to close) minus busy. Both are read from the engine's clock (TSC reads, or the
//! engine's mock clock in tests) and recorded once per span, when it closes: each family's
//! count is the number of spans closed.
//!
//! # Costs
//!
//! Per timed span: one visit of its attributes into fixed stack buffers and two family
//! lookups at creation (a hash and an in-place compare each: no lock, no allocation once the
//! series exists), a clock read and the span's extension lock at each enter and exit, two
//! histogram records at close. The timing state lives in the span's registry extensions, and
//! `tracing_subscriber` boxes every extension value: that is **one allocation per timed span**,
//! which the layer cannot avoid through the `Extensions` API (`tests/layer.rs` checks it is
//! exactly one). Spans the layer does not time cost nothing in it.
//!
//! Measured with `cargo bench -p tachymeter-benches --bench tracing -- --warm-up-time 1
//! --measurement-time 3` (one run, 1 thread, the 2 cores busy with other builds; medians per
//! span created, entered, exited and closed): plain registry 114 ns, registry with a no-op
//! per-layer-filtered layer 136 ns, registry with the layer timing the span 379 ns, a span the
//! layer does not time 0.55 ns (the callsite is disabled). `tests/layer.rs` checks exact
//! busy/idle sums under the engine's mock clock.
#![forbid(unsafe_code)]

mod filter;
mod labels;
mod layer;

pub use filter::SpanFilter;
pub use labels::{MAX_LABEL_FIELDS, MAX_LABEL_VALUE_LEN};
pub use layer::TachymeterLayer;
pub use tracing_subscriber::filter::Filtered;
#[doc(no_inline)]
pub use tracing_subscriber::layer::Filter;

use std::fmt;
use std::sync::Arc;
use tachymeter::{Engine, HistogramConfig, Opts, RegisterError};

/// The default name of the busy-time family (exposed as `span_busy_seconds`).
pub const DEFAULT_BUSY_NAME: &str = "span_busy";

/// The default name of the idle-time family (exposed as `span_idle_seconds`).
pub const DEFAULT_IDLE_NAME: &str = "span_idle";

impl TachymeterLayer {
    /// A builder for a layer recording into `engine`.
    pub fn builder(engine: Arc<Engine>) -> Builder {
        Builder {
            engine,
            filter: Rules::default(),
            label_fields: Vec::new(),
            busy_name: DEFAULT_BUSY_NAME.into(),
            idle_name: DEFAULT_IDLE_NAME.into(),
            config: HistogramConfig::default(),
        }
    }
}

#[derive(Debug, Default)]
struct Rules {
    targets: Vec<Box<str>>,
    names: Vec<Box<str>>,
    fields: Vec<Box<str>>,
}

/// Configures a [`TachymeterLayer`]: which spans, which labels, which names.
#[derive(Debug)]
#[must_use]
pub struct Builder {
    engine: Arc<Engine>,
    filter: Rules,
    label_fields: Vec<Box<str>>,
    busy_name: String,
    idle_name: String,
    config: HistogramConfig,
}

impl Builder {
    /// Times spans whose target is `prefix` or a module below it (`"app"` selects `app` and
    /// `app::db`, not `application`).
    pub fn target(mut self, prefix: impl Into<String>) -> Self {
        self.filter.targets.push(prefix.into().into());
        self
    }

    /// Times spans named exactly `name`.
    pub fn span_name(mut self, name: impl Into<String>) -> Self {
        self.filter.names.push(name.into().into());
        self
    }

    /// Times spans whose callsite declares the field `name` (`info_span!("load", metric =
    /// true)`), except a span that records it as `false`.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.filter.fields.push(name.into().into());
        self
    }

    /// The span fields whose values become labels, after `span` (at most
    /// [`MAX_LABEL_FIELDS`]). Replaces any earlier list.
    pub fn label_fields<I>(mut self, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.label_fields = fields.into_iter().map(|f| f.into().into()).collect();
        self
    }

    /// The names of the busy and idle families (default [`DEFAULT_BUSY_NAME`] and
    /// [`DEFAULT_IDLE_NAME`]).
    pub fn names(mut self, busy: impl Into<String>, idle: impl Into<String>) -> Self {
        self.busy_name = busy.into();
        self.idle_name = idle.into();
        self
    }

    /// The histograms' configuration (bucket schema, range; default
    /// [`HistogramConfig::default`]).
    pub fn histogram_config(mut self, config: HistogramConfig) -> Self {
        self.config = config;
        self
    }

    /// Registers the two families and returns the layer wrapped in its per-layer filter, ready
    /// for `tracing_subscriber::registry().with(...)`.
    pub fn build<S>(self) -> Result<Filtered<TachymeterLayer, SpanFilter, S>, BuildError>
    where
        S: tracing_core::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        let (layer, filter) = self.build_parts()?;
        Ok(layer.with_filter(filter))
    }

    fn build_parts(self) -> Result<(TachymeterLayer, SpanFilter), BuildError> {
        if self.label_fields.len() > MAX_LABEL_FIELDS {
            return Err(BuildError::TooManyLabelFields {
                given: self.label_fields.len(),
            });
        }
        let label_names: Vec<String> = std::iter::once("span".to_string())
            .chain(self.label_fields.iter().map(|f| label_name(f)))
            .collect();
        let label_names: Vec<&str> = label_names.iter().map(String::as_str).collect();
        let family = |name: &str, help: &str| {
            self.engine.histogram_family_with(
                Opts::new(name).unit("seconds").help(help),
                &label_names,
                self.config.clone(),
            )
        };
        let busy = family(&self.busy_name, "Time spans spent entered, per span.")?;
        let idle = family(
            &self.idle_name,
            "Time spans spent open but not entered, per span.",
        )?;
        let filter = SpanFilter {
            targets: self.filter.targets.into(),
            names: self.filter.names.into(),
            fields: self.filter.fields.clone().into(),
        };
        let layer = TachymeterLayer {
            clock: self.engine.clock().clone(),
            engine: self.engine,
            busy,
            idle,
            label_fields: self.label_fields.into(),
            opt_out_fields: self.filter.fields.into(),
        };
        Ok((layer, filter))
    }
}

/// A field name as a label name: every character outside `[a-zA-Z0-9_]` becomes `_`, and a
/// leading digit gets a `_` before it. (The engine still refuses `__`-prefixed and duplicate
/// names.)
fn label_name(field: &str) -> String {
    let mut out: String = field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Why [`Builder::build`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// More than [`MAX_LABEL_FIELDS`] label fields: keep the few that matter (each one
    /// multiplies the number of series).
    TooManyLabelFields {
        /// How many were given.
        given: usize,
    },
    /// The engine refused a family: a name already used by another metric or with other
    /// labels (choose others with [`Builder::names`]), a label field that is `span`, repeated,
    /// or starts with `__` (rename or drop it), or an invalid histogram configuration.
    Register(RegisterError),
}

impl From<RegisterError> for BuildError {
    fn from(e: RegisterError) -> Self {
        BuildError::Register(e)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::TooManyLabelFields { given } => write!(
                f,
                "{given} label fields given, at most {MAX_LABEL_FIELDS} are supported"
            ),
            BuildError::Register(e) => write!(f, "registering the span families: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Register(e) => Some(e),
            BuildError::TooManyLabelFields { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::label_name;

    #[test]
    fn field_names_become_label_names() {
        assert_eq!(label_name("http.method"), "http_method");
        assert_eq!(label_name("route"), "route");
        assert_eq!(label_name("9x"), "_9x");
        for f in ["a-b", "ü", "otel.kind"] {
            assert!(tachymeter::is_valid_label_name(&label_name(f)), "{f}");
        }
    }
}
