//! Metric kinds: one directory per kind, and the one list that names them all.
//!
//! Each kind is a directory `kind/<kind>/`: `shard.rs` (one thread's share: the writer's
//! hot-path methods and the aggregator's reader methods side by side), `collect.rs` (the kind's
//! [`Collect`] implementation: aggregation state and arithmetic on what the shards hand it) and
//! `mod.rs` (the core type, the public handle and its `Local*` view, the snapshot value, the
//! engine's registration methods, the family operations and the kind's [`Exposition`]).
//!
//! The [`kinds!`] invocation below is the only place that lists the kinds. From it come
//! [`MetricKind`] and its names, [`MetricValue`], the registry's [`Entry`] and its
//! [`Registered`] impls, the aggregator's [`collector`] dispatch, each kind's exposed sample
//! names, and the crate root's re-exports of every kind's public items ([`exports`]). Matches
//! on these enums are generated, so none needs a wildcard arm or an `unreachable!` for a kind
//! mismatch. How to add a kind, step by step: [`implementation`](crate::implementation).
#![deny(unsafe_code)]

use crate::aggregator::Collect;
use crate::registry::Registered;
use crate::sync::Arc;
use std::fmt;

/// How a kind is exposed in the Prometheus text, OpenMetrics and protobuf formats (see
/// [`exposed_names`](crate::exposed_names)), and the label names it reserves.
pub(crate) struct Exposition {
    /// Whether a `_total` suffix of the metric name is dropped from the family name
    /// (counter-like kinds, whose samples add `_total` back).
    pub(crate) strips_total: bool,
    /// The sample-name suffixes after the family name (the family name itself is always one).
    pub(crate) suffixes: &'static [&'static str],
    /// Label names the kind's samples use themselves (a histogram's `le`): registration
    /// rejects them.
    pub(crate) reserved_labels: &'static [&'static str],
}

/// Generates everything that names every kind from one list. Each entry is
///
/// ```text
/// /// MetricKind variant docs
/// Variant(module, "name") {
///     core: CoreAlias,           // `module::CoreAlias`: the kind's `Core<Shard, Params>`
///     /// MetricValue variant docs
///     value: SnapshotType,       // `module::SnapshotType`
///     exports: [Public, Items],  // re-exported from the crate root
/// }
/// ```
///
/// and `module` must define `collector(Arc<CoreAlias>, usize) -> Box<dyn Collect>` and
/// `EXPOSITION: Exposition`.
macro_rules! kinds {
    ($(
        $(#[$kind_doc:meta])*
        $variant:ident($module:ident, $name:literal) {
            core: $core:ident,
            $(#[$value_doc:meta])*
            value: $value:ident,
            exports: [$($export:ident),* $(,)?] $(,)?
        }
    ),* $(,)?) => {
        $(mod $module;)*

        /// The kind of a metric.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MetricKind {
            $($(#[$kind_doc])* $variant,)*
        }

        impl MetricKind {
            /// The kind's name, as `Display` writes it.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(MetricKind::$variant => $name,)*
                }
            }

            /// How metrics of this kind are exposed, and the label names they reserve.
            pub(crate) fn exposition(self) -> &'static Exposition {
                match self {
                    $(MetricKind::$variant => &$module::EXPOSITION,)*
                }
            }
        }

        /// The value part of a metric snapshot.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // Snapshots hold these in one Vec built once per interval; boxing would add an
        // allocation per histogram per interval to save ~200 bytes per counter.
        #[allow(clippy::large_enum_variant)]
        pub enum MetricValue {
            $($(#[$value_doc])* $variant($module::$value),)*
        }

        /// A registered metric of any kind.
        #[derive(Clone)]
        pub(crate) enum Entry {
            $($variant(Arc<$module::$core>),)*
        }

        impl Entry {
            /// The kind of the registered metric.
            pub(crate) fn kind(&self) -> MetricKind {
                match self {
                    $(Entry::$variant(_) => MetricKind::$variant,)*
                }
            }
        }

        $(
            impl Registered for $module::$core {
                const KIND: MetricKind = MetricKind::$variant;
                fn entry(core: Arc<Self>) -> Entry {
                    Entry::$variant(core)
                }
                fn of(entry: &Entry) -> Option<&Arc<Self>> {
                    // A single-kind list would make the wildcard arm unreachable.
                    #[allow(unreachable_patterns)]
                    match entry {
                        Entry::$variant(core) => Some(core),
                        _ => None,
                    }
                }
            }
        )*

        /// The collector of a registered metric: its core paired with its aggregation state.
        pub(crate) fn collector(entry: &Entry, slots: usize) -> Box<dyn Collect> {
            match entry {
                $(Entry::$variant(core) => $module::collector(core.clone(), slots),)*
            }
        }

        /// Every kind's public items (and the two enums above), re-exported from the crate
        /// root: `lib.rs` says `pub use kind::exports::*`.
        pub mod exports {
            pub use super::{MetricKind, MetricValue};
            $(pub use super::$module::{$($export),*};)*
        }
    };
}

// The one list of kinds. Adding a kind adds an entry here and a directory `kind/<module>/`.
kinds! {
    /// A monotonic `u64` total.
    Counter(counter, "counter") {
        core: CounterCore,
        /// A counter.
        value: CounterSnapshot,
        exports: [Counter, CounterFamily, CounterSnapshot, LocalCounter],
    },
    /// An `f64` value that can go up and down.
    Gauge(gauge, "gauge") {
        core: GaugeCore,
        /// A gauge.
        value: GaugeSnapshot,
        exports: [Gauge, GaugeFamily, GaugeSnapshot, LocalGauge],
    },
    /// A distribution of `u64` values.
    Histogram(histogram, "histogram") {
        core: HistogramCore,
        /// A histogram.
        value: HistogramSnapshot,
        exports: [
            Histogram, HistogramFamily, HistogramSnapshot, LocalHistogram, LocalTimer, Timer,
        ],
    },
    /// A log of recent coded events with a total count.
    Events(events, "events") {
        core: EventsCore,
        /// An event log.
        value: EventsSnapshot,
        exports: [Event, EventLog, EventsFamily, EventsSnapshot, LocalEventLog],
    },
    /// A log of recent timestamped records (three `u64` fields each) with a total count.
    Records(records, "records") {
        core: RecordsCore,
        /// A record log.
        value: RecordsSnapshot,
        exports: [Record, RecordLog, RecordsFamily, RecordsSnapshot],
    },
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
