//! The aggregator: `collect` merges every shard into a [`Snapshot`]; the engine publishes it.
//!
//! It only ever reads shards. Shard totals are monotonic, so the cumulative value of a metric is
//! the sum of its shards' current totals, and an interval's value is the difference between two
//! cumulative values — nothing is reset, so nothing recorded between a read and a reset can be
//! lost. Shards of exited threads stay in the sum (their slots keep them).
//!
//! The aggregator's state (previous totals, rolling windows, ring read positions) sits behind
//! the engine's aggregator mutex: the background thread and `Engine::flush` take turns; writers
//! never touch it.
#![deny(unsafe_code)]

use crate::clock::Clock;
use crate::context::EngineContext;
use crate::desc::MetricDesc;
use crate::kind::{collector, Entry, MetricValue};
use crate::registry::Registry;
use crate::snapshot::*;
use crate::sync::Arc;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// One metric's aggregation: its core (to read the shards) paired with its state (previous
/// totals, windows, ring positions). One implementation per kind, each in its own file.
pub(crate) trait Collect: Send {
    /// The metric's description.
    fn desc(&self) -> &Arc<MetricDesc>;
    /// Whether the series was removed (left out of snapshots until registered again).
    fn removed(&self) -> bool;
    /// Takes the shards' current state as the new baseline, so that later statistics cover
    /// only what is recorded after now (`now` in clock ticks). Reads shards, never writes them.
    fn reset(&mut self, now: u64, stats: &mut Stats);
    /// When the metric was last reset.
    fn reset_at(&self) -> Option<SystemTime>;
    /// Reads every shard and writes the metric's statistics into `value`, reusing its buffers
    /// when it already holds this kind.
    fn collect(&mut self, pass: &Pass<'_>, stats: &mut Stats, value: &mut MetricValue);
}

/// Takes the snapshot value out of `value` if it is of the wanted kind (to reuse its buffers),
/// leaving a placeholder that costs no allocation.
pub(crate) fn take_value(value: &mut MetricValue) -> MetricValue {
    std::mem::replace(value, placeholder())
}

/// A value that costs no allocation, for a collector to overwrite.
fn placeholder() -> MetricValue {
    MetricValue::Gauge(Default::default())
}

/// Since-start (or since-reset) bookkeeping of one collector.
#[derive(Default)]
pub(crate) struct Since {
    /// Tick of the last reset; `None`: the engine's start.
    pub(crate) tick: Option<u64>,
    /// Wall time of the last reset.
    pub(crate) at: Option<SystemTime>,
    /// Highest per-interval rate since then.
    max_rate: f64,
}

impl Since {
    /// Time since the engine started or the last reset.
    pub(crate) fn elapsed(&self, pass: &Pass<'_>) -> Duration {
        match self.tick {
            None => pass.uptime,
            Some(t) => Duration::from_nanos(pass.clock.delta_nanos(t, pass.now)),
        }
    }

    /// Notes this interval's rate; returns the highest so far.
    pub(crate) fn max(&mut self, rate: f64) -> f64 {
        self.max_rate = self.max_rate.max(rate);
        self.max_rate
    }

    pub(crate) fn reset(&mut self, now: u64) {
        *self = Since {
            tick: Some(now),
            at: Some(SystemTime::now()),
            max_rate: 0.0,
        };
    }
}

/// The aggregator's private state.
pub(crate) struct Aggregator {
    /// Registered entries seen so far (the registry only appends).
    entries: Vec<Entry>,
    /// One collector per entry, same order.
    collectors: Vec<Box<dyn Collect>>,
    sequence: u64,
    /// Tick and wall time of the engine's start.
    start_tick: u64,
    history: crate::HistoryConfig,
    started: SystemTime,
    last_tick: u64,
    window: usize,
    durations: VecDeque<Duration>,
    ring_overwritten: u64,
    /// The previously published snapshot: rebuilt in place by the next collection when no
    /// reader holds it any more, so steady-state publication allocates nothing.
    spare: Option<Arc<Snapshot>>,
}

impl Aggregator {
    pub(crate) fn new(window: usize, now_tick: u64, history: crate::HistoryConfig) -> Aggregator {
        Aggregator {
            entries: Vec::new(),
            collectors: Vec::new(),
            sequence: 0,
            start_tick: now_tick,
            history,
            started: SystemTime::now(),
            last_tick: now_tick,
            window: window.max(1),
            durations: VecDeque::new(),
            ring_overwritten: 0,
            spare: None,
        }
    }

    /// Keeps the snapshot just replaced in the publication cell for recycling.
    pub(crate) fn set_spare(&mut self, previous: Arc<Snapshot>) {
        self.spare = Some(previous);
    }

    /// Collects into the spare snapshot if no reader holds it, else into a new one.
    pub(crate) fn collect_arc(
        &mut self,
        registry: &Registry,
        context: &EngineContext,
        registration_errors: u64,
        aggregator_panics: u64,
    ) -> Arc<Snapshot> {
        let mut snap = match self.spare.take() {
            // No reader holds it (strong count 1, no weak references): reuse it.
            Some(spare) if Arc::strong_count(&spare) == 1 && Arc::weak_count(&spare) == 0 => spare,
            _ => Arc::new(Snapshot::empty()),
        };
        let out = Arc::get_mut(&mut snap).expect("a fresh or unshared snapshot");
        self.collect_into(
            out,
            registry,
            context,
            registration_errors,
            aggregator_panics,
        );
        snap
    }

    /// Adds a collector for every entry registered since the last call.
    fn catch_up(&mut self, registry: &Registry, context: &EngineContext) {
        registry.extend_entries(&mut self.entries);
        let slots = context.slots.shard_len();
        while self.collectors.len() < self.entries.len() {
            let c = collector(&self.entries[self.collectors.len()], slots);
            self.collectors.push(c);
        }
    }

    /// Resets the metric registered at `index` (see `Collect::reset`).
    pub(crate) fn reset(&mut self, registry: &Registry, context: &EngineContext, index: usize) {
        self.catch_up(registry, context);
        let mut stats = Stats::default();
        if let Some(c) = self.collectors.get_mut(index) {
            c.reset(context.clock.raw(), &mut stats);
        }
        // Samples a reset found overwritten in a ring stay counted.
        self.ring_overwritten += stats.ring_overwritten;
    }

    /// Merges every shard into `out` (overwriting it) with the next sequence number.
    pub(crate) fn collect_into(
        &mut self,
        out: &mut Snapshot,
        registry: &Registry,
        context: &EngineContext,
        registration_errors: u64,
        aggregator_panics: u64,
    ) {
        let started = context.clock.raw();
        self.catch_up(registry, context);
        let now = context.clock.raw();
        let interval = Duration::from_nanos(context.clock.delta_nanos(self.last_tick, now));
        self.last_tick = now;
        push_window(&mut self.durations, interval, self.window);
        let window_duration: Duration = self.durations.iter().sum();
        let mut stats = Stats {
            overflow_claims: context.slots.overflow_claims(),
            slot_claims: context.slots.claims(),
            threads_active: context.slots.active(),
            slot_capacity: context.slots.capacity(),
            registration_errors,
            aggregator_panics,
            ..Stats::default()
        };
        let uptime = Duration::from_nanos(context.clock.delta_nanos(self.start_tick, now));
        let pass = Pass {
            interval,
            window: self.window,
            window_duration,
            durations: &self.durations,
            now,
            uptime,
            start: self.start_tick,
            clock: &context.clock,
            history: &self.history,
        };
        // A recycled snapshot has the metrics of an earlier collection, in the same order
        // (registration order is append-only); new metrics are appended.
        // Removed series are skipped (their state waits, in case they are registered again);
        // a position whose metric changed gets the new description (its buffers are reused).
        let mut n = 0;
        for c in self.collectors.iter_mut() {
            if c.removed() {
                continue;
            }
            if n == out.metrics.len() {
                out.metrics.push(MetricSnapshot {
                    desc: c.desc().clone(),
                    value: placeholder(),
                    reset_at: None,
                });
            } else if !Arc::ptr_eq(&out.metrics[n].desc, c.desc()) {
                out.metrics[n].desc = c.desc().clone();
            }
            c.collect(&pass, &mut stats, &mut out.metrics[n].value);
            out.metrics[n].reset_at = c.reset_at();
            n += 1;
        }
        out.metrics.truncate(n);
        self.ring_overwritten += stats.ring_overwritten;
        stats.ring_overwritten = self.ring_overwritten;
        stats.collect_time =
            Duration::from_nanos(context.clock.delta_nanos(started, context.clock.raw()));
        self.sequence += 1;
        out.sequence = self.sequence;
        out.time = SystemTime::now();
        out.started = self.started;
        out.uptime = uptime;
        out.interval = interval;
        out.stats = stats;
    }
}

/// What one collection pass hands every metric: the interval just ended and the window.
pub(crate) struct Pass<'a> {
    /// Length of the interval that just ended.
    pub(crate) interval: Duration,
    /// Intervals in the rolling window.
    pub(crate) window: usize,
    /// Time covered by the window (the sum of `durations`).
    pub(crate) window_duration: Duration,
    /// The window's interval lengths, oldest first.
    pub(crate) durations: &'a VecDeque<Duration>,
    /// This collection's clock tick.
    pub(crate) now: u64,
    /// Time since the engine started.
    pub(crate) uptime: Duration,
    /// The engine's start, in clock ticks.
    pub(crate) start: u64,
    /// The tiers every series' history keeps.
    pub(crate) history: &'a crate::HistoryConfig,
    /// The engine clock.
    pub(crate) clock: &'a Clock,
}

pub(crate) fn per_sec(n: impl Into<u128>, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n.into() as f64 / d.as_secs_f64()
    }
}

pub(crate) fn peak<N: Into<u128>>(
    counts: impl Iterator<Item = N>,
    durations: &VecDeque<Duration>,
) -> f64 {
    counts
        .zip(durations.iter().rev())
        .map(|(n, &d)| per_sec(n, d))
        .fold(0.0, f64::max)
}

pub(crate) fn push_window<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    q.push_back(v);
    while q.len() > cap {
        q.pop_front();
    }
}

/// The merged recent-sample window of a metric whose per-thread rings hold `configured`.
pub(crate) fn recent_cap(configured: usize) -> usize {
    if configured == 0 {
        0
    } else {
        configured.next_power_of_two()
    }
}
