//! Event logs: a total and a ring of recent coded events per thread, merged by the aggregator
//! into the total and the most recent events.
//!
//! Everything the event-log kind is lives in this directory: the shard's writer and reader
//! halves (`shard.rs`), the collector (`collect.rs`), and here the core, the [`EventLog`]
//! handle and its [`LocalEventLog`] view, the [`EventsSnapshot`] value and its [`Event`]s, the
//! engine's registration methods and the family operations.
#![deny(unsafe_code)]

mod collect;
mod shard;

pub(crate) use collect::collector;
use shard::EventShard;

use crate::desc::{MetricDesc, Opts, RegisterError};
use crate::engine::Shared;
use crate::family::{Family, FamilyRecord, KindOps};
use crate::kind::{Exposition, MetricKind, MetricValue};
use crate::local::{slot_for, LocalRecorder};
use crate::metric::{debug_handle, Core, RingParams};
use crate::slots::SlotId;
use crate::snapshot::Snapshot;
use crate::sync::Arc;
use crate::Engine;
use std::marker::PhantomData;

/// An event log's core: one [`EventShard`] per thread slot and its ring capacity.
pub(crate) type EventsCore = Core<EventShard, RingParams>;

/// How event logs are exposed: an event log is exposed like a counter of its total.
pub(super) const EXPOSITION: Exposition = Exposition {
    strips_total: true,
    suffixes: &["_total", "_created"],
    reserved_labels: &[],
};

impl EventsCore {
    #[inline]
    fn shard(&self, slot: SlotId) -> &EventShard {
        self.shards.get_or_init(slot.index as usize, || {
            EventShard::new(self.params.capacity, slot.shared)
        })
    }
}

/// A log of recent coded events (e.g. errors by kind) with a total count.
///
/// Each thread keeps a fixed ring of its most recent events; a full ring overwrites the oldest,
/// and the snapshot counts what was overwritten before the aggregator saw it.
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let errors = engine.events("decode_errors").unwrap();
/// errors.record(3);
/// errors.record_with(7, 512);
/// let snap = engine.flush();
/// let ev = snap.events("decode_errors").unwrap();
/// assert_eq!(ev.total, 2);
/// assert_eq!(ev.recent.last().unwrap().payload, 512);
/// ```
#[derive(Clone)]
#[must_use]
pub struct EventLog {
    pub(crate) core: Arc<EventsCore>,
}

impl EventLog {
    /// Statistics of events over a time range (last N seconds, minutes or hours, or between two
    /// offsets from the engine's start), from the aggregator's multi-resolution history (see
    /// [`HistoryConfig`](crate::HistoryConfig) for retention and accuracy). `None` before the
    /// first collection or for an empty range. Takes the series' history lock, never a
    /// writer's.
    pub fn range(&self, range: crate::Range) -> Option<crate::RangeStats> {
        self.core.range(range)
    }

    /// Resets the metric: from now on its total and recent events cover what is recorded after this call (the
    /// aggregator takes the shards' current state as the baseline; no shard is written).
    /// Exporters report the reset time as `_created`, so Prometheus sees a counter reset.
    /// A cold call: it takes the aggregator's lock.
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Records an event with `code` and payload 0.
    #[inline]
    pub fn record(&self, code: u32) {
        self.record_with(code, 0);
    }

    /// Records an event with `code` and `payload`.
    #[inline]
    pub fn record_with(&self, code: u32, payload: u32) {
        let c = &*self.core;
        let slot = slot_for(c.engine_id, &c.context);
        c.shard(slot)
            .record((code as u64) << 32 | payload as u64, slot.shared);
    }

    /// The metric's description.
    pub fn desc(&self) -> &MetricDesc {
        &self.core.desc
    }
}

debug_handle!(EventLog);

/// An event-log view bound to a [`LocalRecorder`]'s slot.
#[must_use]
pub struct LocalEventLog<'a> {
    shard: &'a EventShard,
    shared: bool,
    _not_send: PhantomData<*const ()>,
}

impl LocalEventLog<'_> {
    /// Records an event with `code` and `payload`.
    #[inline]
    pub fn record_with(&self, code: u32, payload: u32) {
        self.shard
            .record((code as u64) << 32 | payload as u64, self.shared);
    }

    /// Records an event with `code` and payload 0.
    #[inline]
    pub fn record(&self, code: u32) {
        self.record_with(code, 0);
    }
}

impl LocalRecorder {
    /// A view of `e` that records into this recorder's slot.
    pub fn events<'a>(&'a self, e: &'a EventLog) -> LocalEventLog<'a> {
        let slot = self.slot_for(e.core.engine_id, &e.core.context);
        LocalEventLog {
            shard: e.core.shard(slot),
            shared: slot.shared,
            _not_send: PhantomData,
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// The event code (e.g. an error kind).
    pub code: u32,
    /// The payload recorded with it.
    pub payload: u32,
}

/// An event log's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EventsSnapshot {
    /// Events recorded since the start or the last reset (exact).
    pub total: u64,
    /// Increase during the last interval.
    pub delta: u64,
    /// The most recent events, oldest first (grouped by thread within one interval).
    pub recent: Vec<Event>,
    /// Events overwritten in a per-thread ring before the aggregator read them.
    pub overwritten: u64,
}

impl Snapshot {
    /// The unlabelled event log `name`.
    pub fn events(&self, name: &str) -> Option<&EventsSnapshot> {
        match &self.get(name, &[])?.value {
            MetricValue::Events(e) => Some(e),
            _ => None,
        }
    }
}

impl Shared {
    /// Registers (or finds) an event log with the engine's events capacity.
    pub(crate) fn events(&self, opts: Opts) -> Result<EventLog, RegisterError> {
        let capacity = self.events_capacity();
        let core = self.register(opts, None, |_| RingParams { capacity })?;
        Ok(EventLog { core })
    }

    /// An event log (ring of 1) of this engine that belongs to no registry.
    pub(crate) fn unregistered_events(&self) -> EventLog {
        EventLog {
            core: self.unregistered(RingParams { capacity: 1 }),
        }
    }
}

impl Engine {
    /// Registers (or finds) an event log with the engine's events capacity.
    pub fn events(&self, opts: impl Into<Opts>) -> Result<EventLog, RegisterError> {
        self.shared().events(opts.into())
    }

    /// Declares an event-log family (see [`counter_family`](Self::counter_family)).
    pub fn events_family(
        &self,
        opts: impl Into<Opts>,
        labels: &[&str],
    ) -> Result<crate::EventsFamily, RegisterError> {
        Family::new(
            self.shared(),
            opts.into(),
            labels,
            MetricKind::Events,
            None,
            KindOps::events(),
        )
    }
}

/// An event-log family: see [`Family`].
pub type EventsFamily = Family<EventLog>;

impl FamilyRecord<u32> for EventLog {
    /// Records an event with code `v`.
    #[inline]
    fn family_record(&self, v: u32) {
        self.record(v);
    }
}

impl KindOps<EventLog> {
    pub(crate) fn events() -> Self {
        KindOps {
            register: |s, o, _| s.events(o),
            unregistered: Shared::unregistered_events,
            set_removed: |h: &EventLog, removed| h.core.set_removed(removed),
            reset: EventLog::reset,
        }
    }
}
