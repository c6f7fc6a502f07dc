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

use crate::local::Link;
use crate::registry::{Entry, Registry};
use crate::shard::GaugeRead;
use crate::snapshot::*;
use crate::sync::{Arc, Ordering};
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};
use tachymeter_histogram::HistogramData;

/// Per-metric aggregation state, parallel to the registry's entries.
enum State {
    Counter {
        prev: u128,
        deltas: VecDeque<u128>,
    },
    Gauge {
        /// Stamp of the set the value is based on.
        applied_stamp: u64,
        value: f64,
        /// Contributions dropped because they would have made the value non-finite.
        overflows: u64,
        /// `adds` of each slot at the previous collection.
        prev_adds: Vec<f64>,
        reads: Vec<(usize, GaugeRead)>,
    },
    Histogram(Box<HistState>),
    Events {
        prev_total: u64,
        positions: Vec<u64>,
        recent: VecDeque<Event>,
        overwritten: u64,
        scratch: Vec<u64>,
    },
}

struct HistState {
    cumulative: HistogramData,
    /// The last `window` intervals, oldest first, and their running sum (add the newest,
    /// subtract the one that leaves: O(buckets) per collection, not O(window × buckets)).
    window: VecDeque<HistogramData>,
    window_sum: HistogramData,
    sub_scratch: HistogramData,
    positions: Vec<u64>,
    recent: VecDeque<u64>,
    dense: Vec<u64>,
    scratch: Vec<u64>,
    merge_scratch: Vec<(i32, u64)>,
}

/// The aggregator's private state.
pub(crate) struct Aggregator {
    entries: Vec<Entry>,
    states: Vec<State>,
    sequence: u64,
    last_tick: u64,
    window: usize,
    durations: VecDeque<Duration>,
    ring_overwritten: u64,
    /// The previously published snapshot: rebuilt in place by the next collection when no
    /// reader holds it any more, so steady-state publication allocates nothing.
    spare: Option<Arc<Snapshot>>,
}

impl Aggregator {
    pub(crate) fn new(window: usize, now_tick: u64) -> Aggregator {
        Aggregator {
            entries: Vec::new(),
            states: Vec::new(),
            sequence: 0,
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
        link: &Link,
        registration_errors: u64,
        aggregator_panics: u64,
    ) -> Arc<Snapshot> {
        let mut snap = match self.spare.take() {
            // No reader holds it (strong count 1, no weak references): reuse it.
            Some(spare) if Arc::strong_count(&spare) == 1 && Arc::weak_count(&spare) == 0 => spare,
            _ => Arc::new(Snapshot::empty()),
        };
        let out = Arc::get_mut(&mut snap).expect("a fresh or unshared snapshot");
        self.collect_into(out, registry, link, registration_errors, aggregator_panics);
        snap
    }

    /// Merges every shard into `out` (overwriting it) with the next sequence number.
    pub(crate) fn collect_into(
        &mut self,
        out: &mut Snapshot,
        registry: &Registry,
        link: &Link,
        registration_errors: u64,
        aggregator_panics: u64,
    ) {
        let started = link.clock.raw();
        registry.extend_entries(&mut self.entries);
        let slots = link.slots.shard_len();
        while self.states.len() < self.entries.len() {
            let st = new_state(&self.entries[self.states.len()], slots);
            self.states.push(st);
        }
        let now = link.clock.raw();
        let interval = Duration::from_nanos(link.clock.delta_nanos(self.last_tick, now));
        self.last_tick = now;
        push_window(&mut self.durations, interval, self.window);
        let window_duration: Duration = self.durations.iter().sum();
        let mut stats = Stats {
            overflow_claims: link.slots.overflow_claims(),
            slot_claims: link.slots.claims(),
            threads_active: link.slots.active(),
            slot_capacity: link.slots.capacity(),
            registration_errors,
            aggregator_panics,
            ..Stats::default()
        };
        let ctx = Ctx {
            interval,
            window: self.window,
            window_duration,
            durations: &self.durations,
        };
        // A recycled snapshot has the metrics of an earlier collection, in the same order
        // (registration order is append-only); new metrics are appended.
        out.metrics.truncate(self.entries.len());
        for (i, (entry, state)) in self.entries.iter().zip(self.states.iter_mut()).enumerate() {
            if i == out.metrics.len() {
                out.metrics.push(MetricSnapshot {
                    desc: entry.desc().clone(),
                    value: MetricValue::Counter(CounterSnapshot::default()),
                });
            }
            debug_assert!(Arc::ptr_eq(&out.metrics[i].desc, entry.desc()));
            collect_one(entry, state, &ctx, &mut stats, &mut out.metrics[i].value);
        }
        self.ring_overwritten += stats.ring_overwritten;
        stats.ring_overwritten = self.ring_overwritten;
        stats.collect_time =
            Duration::from_nanos(link.clock.delta_nanos(started, link.clock.raw()));
        self.sequence += 1;
        out.sequence = self.sequence;
        out.time = SystemTime::now();
        out.interval = interval;
        out.stats = stats;
    }
}

struct Ctx<'a> {
    interval: Duration,
    window: usize,
    window_duration: Duration,
    durations: &'a VecDeque<Duration>,
}

fn per_sec(n: impl Into<u128>, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n.into() as f64 / d.as_secs_f64()
    }
}

fn peak<N: Into<u128>>(counts: impl Iterator<Item = N>, durations: &VecDeque<Duration>) -> f64 {
    counts
        .zip(durations.iter().rev())
        .map(|(n, &d)| per_sec(n, d))
        .fold(0.0, f64::max)
}

fn push_window<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    q.push_back(v);
    while q.len() > cap {
        q.pop_front();
    }
}

/// The merged recent-sample window of a metric whose per-thread rings hold `configured`.
fn recent_cap(configured: usize) -> usize {
    if configured == 0 {
        0
    } else {
        configured.next_power_of_two()
    }
}

fn new_state(entry: &Entry, slots: usize) -> State {
    match entry {
        Entry::Counter(_) => State::Counter {
            prev: 0,
            deltas: VecDeque::new(),
        },
        Entry::Gauge(_) => State::Gauge {
            applied_stamp: 0,
            value: 0.0,
            overflows: 0,
            prev_adds: vec![0.0; slots],
            reads: Vec::new(),
        },
        Entry::Histogram(h) => State::Histogram(Box::new(HistState {
            cumulative: HistogramData::empty(h.params.layout.schema()),
            window: VecDeque::new(),
            window_sum: HistogramData::empty(h.params.layout.schema()),
            sub_scratch: HistogramData::empty(h.params.layout.schema()),
            positions: vec![0; slots],
            // Fixed capacities allocated once here, so collections never grow them.
            recent: VecDeque::with_capacity(recent_cap(h.params.recent)),
            dense: vec![0; h.params.layout.dense_len()],
            scratch: Vec::new(),
            merge_scratch: Vec::new(),
        })),
        Entry::Events(e) => State::Events {
            prev_total: 0,
            positions: vec![0; slots],
            recent: VecDeque::with_capacity(recent_cap(e.params.capacity)),
            overwritten: 0,
            scratch: Vec::new(),
        },
    }
}

/// Writes the metric's statistics into `value`, reusing its buffers when it already holds
/// this kind.
fn collect_one(
    entry: &Entry,
    state: &mut State,
    ctx: &Ctx<'_>,
    stats: &mut Stats,
    value: &mut MetricValue,
) {
    match (entry, state) {
        (Entry::Counter(core), State::Counter { prev, deltas }) => {
            // Each shard total is monotonic and exact (`WideTotal`): any value read is a real
            // past total, so the sum never goes backwards.
            let total = core
                .shards
                .iter()
                .fold(0u128, |acc, (_, s)| acc.saturating_add(s.total.read()));
            let delta = total.saturating_sub(*prev);
            *prev = total;
            push_window(deltas, delta, ctx.window);
            *value = MetricValue::Counter(CounterSnapshot {
                total,
                delta,
                rate: per_sec(delta, ctx.interval),
                window_rate: per_sec(deltas.iter().sum::<u128>(), ctx.window_duration),
                peak_rate: peak(deltas.iter().rev().copied(), ctx.durations),
            });
        }
        (
            Entry::Gauge(core),
            State::Gauge {
                applied_stamp,
                value: current,
                overflows,
                prev_adds,
                reads,
            },
        ) => {
            let mut newest: Option<(usize, f64, u64, f64)> = None;
            reads.clear();
            for (slot, shard) in core.shards.iter() {
                // Relaxed: statistics.
                stats.rejected += shard.rejected.load(Ordering::Relaxed);
                stats.gauge_set_races += shard.set_races.load(Ordering::Relaxed);
                // A shard whose writer kept the seqlock busy for every try is read next time.
                let Some(r) = shard.read() else { continue };
                if let Some((v, stamp, mark)) = r.set {
                    if stamp > *applied_stamp && newest.is_none_or(|n| stamp > n.2) {
                        newest = Some((slot, v, stamp, mark));
                    }
                }
                reads.push((slot, r));
            }
            let mut v = match newest {
                Some((_, set, stamp, _)) => {
                    *applied_stamp = stamp;
                    set
                }
                None => *current,
            };
            for &(slot, r) in reads.iter() {
                let since = match newest {
                    // The setter's own adds count only after its set.
                    Some((s, _, _, mark)) if s == slot => mark,
                    _ => prev_adds[slot],
                };
                // Each shard's accumulator is finite, but their combination can overflow: such a
                // contribution is dropped and counted, so the value stays finite and the next
                // `set` defines it again.
                let next = v + (r.adds - since);
                if next.is_finite() {
                    v = next;
                } else {
                    *overflows += 1;
                }
                prev_adds[slot] = r.adds;
            }
            stats.gauge_overflows += *overflows;
            *current = v;
            *value = MetricValue::Gauge(GaugeSnapshot { value: v });
        }
        (Entry::Histogram(core), State::Histogram(st)) => {
            let st = &mut **st;
            st.dense.iter_mut().for_each(|d| *d = 0);
            let (mut min, mut max) = (u64::MAX, 0u64);
            let (mut rejected, mut saturated) = (0u64, 0u64);
            let mut sum = 0u128;
            for (slot, shard) in core.shards.iter() {
                for (d, b) in st.dense.iter_mut().zip(shard.buckets.iter()) {
                    // Acquire: pairs with the writer's Release bucket store, so the sum/min/max
                    // read below cover every value counted here (see `shard`).
                    *d += b.load(Ordering::Acquire);
                }
                // Read after the Acquire bucket loads above; exact (`WideTotal`).
                sum = sum.saturating_add(shard.sum.read());
                // Relaxed: statistics read after the Acquire bucket loads above.
                min = min.min(shard.min.load(Ordering::Relaxed));
                max = max.max(shard.max.load(Ordering::Relaxed));
                rejected += shard.rejected.load(Ordering::Relaxed);
                saturated += shard.saturated.load(Ordering::Relaxed);
                stats.ring_dropped += shard.ring_dropped.load(Ordering::Relaxed);
                if let Some(ring) = &shard.ring {
                    st.scratch.clear();
                    stats.ring_overwritten += ring
                        .consumer()
                        .read_since(&mut st.positions[slot], &mut st.scratch);
                    for &v in &st.scratch {
                        push_window(&mut st.recent, v, recent_cap(core.params.recent));
                    }
                }
            }
            stats.rejected += rejected;
            stats.saturated += saturated;
            if !matches!(value, MetricValue::Histogram(_)) {
                *value = MetricValue::Histogram(HistogramSnapshot {
                    recent: Vec::with_capacity(recent_cap(core.params.recent)),
                    ..HistogramSnapshot::default()
                });
            }
            let MetricValue::Histogram(out) = value else {
                unreachable!("just set")
            };
            let has = |x: u64, empty: u64| (x != empty).then_some(x);
            out.cumulative.assign_dense(
                &core.params.layout,
                &st.dense,
                sum,
                has(min, u64::MAX),
                // max is 0 both for "none" and for a recorded 0: min tells them apart.
                has(min, u64::MAX).map(|_| max),
            );
            out.interval.assign_delta(&out.cumulative, &st.cumulative);
            st.cumulative.clone_from(&out.cumulative);
            // Reuse the oldest interval's buffers for the newest, after taking it out of the sum.
            let mut slot = match st.window.len() >= ctx.window {
                true => {
                    let oldest = st.window.pop_front().unwrap_or_default();
                    st.sub_scratch.assign_delta(&st.window_sum, &oldest);
                    std::mem::swap(&mut st.window_sum, &mut st.sub_scratch);
                    oldest
                }
                false => HistogramData::default(),
            };
            st.window_sum
                .merge_using(&out.interval, &mut st.merge_scratch);
            slot.clone_from(&out.interval);
            st.window.push_back(slot);
            out.window.clone_from(&st.window_sum);
            out.window
                .set_bucket_extremes(st.cumulative.min(), st.cumulative.max());
            out.throughput = per_sec(out.window.count(), ctx.window_duration);
            out.peak_throughput = peak(st.window.iter().rev().map(|h| h.count()), ctx.durations);
            out.window_duration = ctx.window_duration;
            out.recent.clear();
            out.recent.extend(st.recent.iter().copied());
            out.rejected = rejected;
            out.saturated = saturated;
        }
        (
            Entry::Events(core),
            State::Events {
                prev_total,
                positions,
                recent,
                overwritten,
                scratch,
            },
        ) => {
            let mut total = 0u64;
            for (slot, shard) in core.shards.iter() {
                // Relaxed: monotonic single-writer total.
                total = total.wrapping_add(shard.total.load(Ordering::Relaxed));
                stats.ring_dropped += shard.ring_dropped.load(Ordering::Relaxed);
                if let Some(ring) = &shard.ring {
                    scratch.clear();
                    let lost = ring.consumer().read_since(&mut positions[slot], scratch);
                    *overwritten += lost;
                    stats.ring_overwritten += lost;
                    for &p in scratch.iter() {
                        let ev = Event {
                            code: (p >> 32) as u32,
                            payload: p as u32,
                        };
                        push_window(recent, ev, recent_cap(core.params.capacity));
                    }
                }
            }
            let delta = total.wrapping_sub(*prev_total);
            *prev_total = total;
            if !matches!(value, MetricValue::Events(_)) {
                *value = MetricValue::Events(EventsSnapshot {
                    recent: Vec::with_capacity(recent_cap(core.params.capacity)),
                    ..EventsSnapshot::default()
                });
            }
            let MetricValue::Events(out) = value else {
                unreachable!("just set")
            };
            out.total = total;
            out.delta = delta;
            out.recent.clear();
            out.recent.extend(recent.iter().copied());
            out.overwritten = *overwritten;
        }
        _ => unreachable!("aggregator state is created from the entry's own kind"),
    }
}
