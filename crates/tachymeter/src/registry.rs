//! Registration (cold path): the table of one engine's metrics.
//!
//! Registering the same name and labels again returns the same metric; registering a name with
//! another kind, unit or help text (or a histogram with another configuration) is an error;
//! names follow the Prometheus data model ([`desc`](crate::desc)); a name whose exposed sample
//! names (with `_total`, `_created`, `_count`, `_sum`, `_bucket` and the unit suffix, see
//! [`exposed_names`]) collide with another name's is an error; each metric name may have at most
//! `label_set_limit` label sets and the engine at most `max_series` series. Registration locks a
//! mutex and allocates; recording never does.
#![deny(unsafe_code)]

use crate::desc::{
    clip, exposed_names, validate, HistogramConfig, MetricDesc, Opts, RegisterError,
};
use crate::kind::{Entry, MetricKind};
use crate::sync::{lock, Arc, Mutex};
use std::collections::HashMap;

/// A metric core the registry can store: converts to and from an [`Entry`]. Implemented for
/// every kind's core by the `kinds!` list (`kind/mod.rs`).
pub(crate) trait Registered: Sized {
    /// The kind of metric this core records.
    const KIND: MetricKind;
    /// The entry holding `core`.
    fn entry(core: Arc<Self>) -> Entry;
    /// The core in `entry`, if it is of this kind.
    fn of(entry: &Entry) -> Option<&Arc<Self>>;
}

struct Family {
    kind: MetricKind,
    label_sets: usize,
    /// The histogram configuration, compared by value on re-registration.
    config: Option<HistogramConfig>,
    unit: String,
    help: String,
}

#[derive(Default)]
struct Inner {
    families: HashMap<String, Family>,
    by_key: HashMap<(String, Vec<(String, String)>), Entry>,
    /// Every exposed sample name in use -> the metric name that uses it.
    exposed: HashMap<String, String>,
    /// Registration order; the aggregator walks it.
    entries: Vec<Entry>,
}

/// The limits a registry enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) label_sets: usize,
    pub(crate) series: usize,
}

/// The metric table of one engine.
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    limits: Limits,
}

impl Registry {
    pub(crate) fn new(limits: Limits) -> Registry {
        Registry {
            inner: Mutex::new(Inner::default()),
            limits,
        }
    }

    /// Validates `opts` as a metric of `C`'s kind, then returns the existing entry for (name,
    /// labels) or the one `make` builds from the validated description.
    pub(crate) fn register<C: Registered>(
        &self,
        opts: Opts,
        config: Option<HistogramConfig>,
        make: impl FnOnce(Arc<MetricDesc>, usize) -> Arc<C>,
    ) -> Result<Arc<C>, RegisterError> {
        let desc = validate(opts, C::KIND)?;
        let key = (desc.name.clone(), desc.labels.clone());
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        check_family(inner, &desc, &config)?;
        if let Some(e) = inner.by_key.get(&key) {
            // The family check above makes the kinds match; a mismatch would still be an error.
            return C::of(e).cloned().ok_or(RegisterError::KindMismatch {
                name: clip(&desc.name),
                existing: e.kind(),
                requested: C::KIND,
            });
        }
        if inner.entries.len() >= self.limits.series {
            return Err(RegisterError::TooManySeries {
                name: clip(&desc.name),
                limit: self.limits.series,
            });
        }
        let family = family_for(inner, &desc, config)?;
        if family.label_sets >= self.limits.label_sets {
            return Err(RegisterError::TooManyLabelSets {
                name: clip(&desc.name),
                limit: self.limits.label_sets,
            });
        }
        family.label_sets += 1;
        // The entry's index in registration order: the aggregator's collectors use the same.
        let core = make(Arc::new(desc), inner.entries.len());
        let entry = C::entry(core.clone());
        inner.by_key.insert(key, entry.clone());
        inner.entries.push(entry.clone());
        Ok(core)
    }

    /// Declares a label family: validates the name, the label names (`opts` carries them with
    /// any values), unit and kind as `register` would, and creates the name's family if it is
    /// new, without registering a series.
    pub(crate) fn declare(
        &self,
        opts: Opts,
        kind: MetricKind,
        config: Option<HistogramConfig>,
    ) -> Result<(), RegisterError> {
        let desc = validate(opts, kind)?;
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        check_family(inner, &desc, &config)?;
        family_for(inner, &desc, config).map(drop)
    }

    /// The per-name label-set limit.
    pub(crate) fn label_set_limit(&self) -> usize {
        self.limits.label_sets
    }

    /// Number of registered metrics.
    pub(crate) fn len(&self) -> usize {
        lock(&self.inner).entries.len()
    }

    /// The entry registered with `name` and exactly `labels` (any order), if any. Allocates
    /// the lookup key: a cold path for readers without a handle.
    pub(crate) fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<Entry> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // Descriptions keep their labels sorted by name (`desc::validate`).
        labels.sort();
        lock(&self.inner)
            .by_key
            .get(&(name.to_owned(), labels))
            .cloned()
    }

    /// Appends the entries registered after the first `out.len()` to `out` (the aggregator keeps
    /// its copy and only extends it, so a flush allocates nothing when nothing was registered).
    pub(crate) fn extend_entries(&self, out: &mut Vec<Entry>) {
        let inner = lock(&self.inner);
        if out.len() < inner.entries.len() {
            out.extend(inner.entries[out.len()..].iter().cloned());
        }
    }
}

/// Checks `desc` against its name's family, if it has one: same kind, configuration, unit, help.
fn check_family(
    inner: &Inner,
    desc: &MetricDesc,
    config: &Option<HistogramConfig>,
) -> Result<(), RegisterError> {
    let Some(f) = inner.families.get(&desc.name) else {
        return Ok(());
    };
    if f.kind != desc.kind {
        return Err(RegisterError::KindMismatch {
            name: clip(&desc.name),
            existing: f.kind,
            requested: desc.kind,
        });
    }
    if f.config != *config {
        return Err(RegisterError::ConfigMismatch {
            name: clip(&desc.name),
        });
    }
    for (field, existing, requested) in
        [("unit", &f.unit, &desc.unit), ("help", &f.help, &desc.help)]
    {
        if existing != requested {
            return Err(RegisterError::MetadataMismatch {
                name: clip(&desc.name),
                field,
                existing: clip(existing),
                requested: clip(requested),
            });
        }
    }
    Ok(())
}

/// The family of `desc`'s name, created (after checking that its exposed sample names are
/// free) if the name is new.
fn family_for<'a>(
    inner: &'a mut Inner,
    desc: &MetricDesc,
    config: Option<HistogramConfig>,
) -> Result<&'a mut Family, RegisterError> {
    match inner.families.entry(desc.name.clone()) {
        std::collections::hash_map::Entry::Occupied(o) => Ok(o.into_mut()),
        std::collections::hash_map::Entry::Vacant(v) => {
            let names = exposed_names(&desc.name, desc.kind, &desc.unit);
            if let Some((exposed, existing)) = names
                .iter()
                .find_map(|n| inner.exposed.get(n).map(|owner| (n, owner)))
            {
                return Err(RegisterError::NameCollision {
                    name: clip(&desc.name),
                    exposed: clip(exposed),
                    existing: clip(existing),
                });
            }
            for n in names {
                inner.exposed.insert(n, desc.name.clone());
            }
            Ok(v.insert(Family {
                kind: desc.kind,
                label_sets: 0,
                config,
                unit: desc.unit.clone(),
                help: desc.help.clone(),
            }))
        }
    }
}
