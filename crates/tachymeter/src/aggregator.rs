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
use crate::sync::Ordering;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};
use tachymeter_histogram::HistogramData;

/// Per-metric aggregation state, parallel to the registry's entries.
enum State {
    Counter {
        prev: u64,
        deltas: VecDeque<u64>,
    },
    Gauge {
        /// Stamp of the set the value is based on.
        applied_stamp: u64,
        value: f64,
        /// `adds` of each slot at the previous collection.
        prev_adds: Vec<f64>,
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
    /// Last `sum` read from each slot (sums are taken as wrapping deltas per slot).
    prev_sums: Vec<u64>,
    sum: u128,
    cumulative: HistogramData,
    window: VecDeque<HistogramData>,
    positions: Vec<u64>,
    recent: VecDeque<u64>,
    dense: Vec<u64>,
    scratch: Vec<u64>,
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
        }
    }

    /// Merges every shard into a new snapshot with the next sequence number.
    pub(crate) fn collect(
        &mut self,
        registry: &Registry,
        link: &Link,
        registration_errors: u64,
    ) -> Snapshot {
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
        self.durations.push_back(interval);
        if self.durations.len() > self.window {
            self.durations.pop_front();
        }
        let window_duration: Duration = self.durations.iter().sum();
        let mut stats = Stats {
            overflow_claims: link.slots.overflow_claims(),
            slot_claims: link.slots.claims(),
            threads_active: link.slots.active(),
            slot_capacity: link.slots.capacity(),
            registration_errors,
            ..Stats::default()
        };
        let mut metrics = Vec::with_capacity(self.entries.len());
        let ctx = Ctx {
            interval,
            window: self.window,
            window_duration,
            durations: &self.durations,
        };
        for (entry, state) in self.entries.iter().zip(self.states.iter_mut()) {
            let value = collect_one(entry, state, &ctx, &mut stats);
            metrics.push(MetricSnapshot {
                desc: entry.desc().clone(),
                value,
            });
        }
        self.ring_overwritten += stats.ring_overwritten;
        stats.ring_overwritten = self.ring_overwritten;
        stats.collect_time =
            Duration::from_nanos(link.clock.delta_nanos(started, link.clock.raw()));
        self.sequence += 1;
        Snapshot {
            sequence: self.sequence,
            time: SystemTime::now(),
            interval,
            stats,
            metrics,
        }
    }
}

struct Ctx<'a> {
    interval: Duration,
    window: usize,
    window_duration: Duration,
    durations: &'a VecDeque<Duration>,
}

fn per_sec(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

fn peak(counts: impl Iterator<Item = u64>, durations: &VecDeque<Duration>) -> f64 {
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

fn new_state(entry: &Entry, slots: usize) -> State {
    match entry {
        Entry::Counter(_) => State::Counter {
            prev: 0,
            deltas: VecDeque::new(),
        },
        Entry::Gauge(_) => State::Gauge {
            applied_stamp: 0,
            value: 0.0,
            prev_adds: vec![0.0; slots],
        },
        Entry::Histogram(h) => State::Histogram(Box::new(HistState {
            prev_sums: vec![0; slots],
            sum: 0,
            cumulative: HistogramData::empty(h.layout.schema()),
            window: VecDeque::new(),
            positions: vec![0; slots],
            recent: VecDeque::new(),
            dense: vec![0; h.layout.dense_len()],
            scratch: Vec::new(),
        })),
        Entry::Events(_) => State::Events {
            prev_total: 0,
            positions: vec![0; slots],
            recent: VecDeque::new(),
            overwritten: 0,
            scratch: Vec::new(),
        },
    }
}

fn collect_one(entry: &Entry, state: &mut State, ctx: &Ctx<'_>, stats: &mut Stats) -> MetricValue {
    match (entry, state) {
        (Entry::Counter(core), State::Counter { prev, deltas }) => {
            let total = core
                .shards
                .iter()
                // Relaxed: a monotonic single-writer total; any value read is a real past total.
                .fold(0u64, |acc, (_, s)| {
                    acc.wrapping_add(s.total.load(Ordering::Relaxed))
                });
            let delta = total.wrapping_sub(*prev);
            *prev = total;
            push_window(deltas, delta, ctx.window);
            MetricValue::Counter(CounterSnapshot {
                total,
                delta,
                rate: per_sec(delta, ctx.interval),
                window_rate: per_sec(deltas.iter().sum(), ctx.window_duration),
                peak_rate: peak(deltas.iter().rev().copied(), ctx.durations),
            })
        }
        (
            Entry::Gauge(core),
            State::Gauge {
                applied_stamp,
                value,
                prev_adds,
            },
        ) => {
            let mut newest: Option<(usize, f64, u64, f64)> = None;
            let mut reads: Vec<(usize, GaugeRead)> = Vec::new();
            for (slot, shard) in core.shards.iter() {
                // Relaxed: a statistic.
                stats.rejected += shard.rejected.load(Ordering::Relaxed);
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
                None => *value,
            };
            for (slot, r) in reads {
                let since = match newest {
                    // The setter's own adds count only after its set.
                    Some((s, _, _, mark)) if s == slot => mark,
                    _ => prev_adds[slot],
                };
                v += r.adds - since;
                prev_adds[slot] = r.adds;
            }
            *value = v;
            MetricValue::Gauge(GaugeSnapshot { value: v })
        }
        (Entry::Histogram(core), State::Histogram(st)) => {
            let st = &mut **st;
            st.dense.iter_mut().for_each(|d| *d = 0);
            let (mut min, mut max) = (u64::MAX, 0u64);
            let (mut rejected, mut saturated) = (0u64, 0u64);
            for (slot, shard) in core.shards.iter() {
                for (d, b) in st.dense.iter_mut().zip(shard.buckets.iter()) {
                    // Acquire: pairs with the writer's Release bucket store, so the sum/min/max
                    // read below cover every value counted here (see `shard`).
                    *d += b.load(Ordering::Acquire);
                }
                // Relaxed: statistics read after the Acquire bucket loads above.
                let s = shard.sum.load(Ordering::Relaxed);
                st.sum += s.wrapping_sub(st.prev_sums[slot]) as u128;
                st.prev_sums[slot] = s;
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
                        push_window(&mut st.recent, v, core.recent.next_power_of_two());
                    }
                }
            }
            stats.rejected += rejected;
            stats.saturated += saturated;
            let has = |x: u64, empty: u64| (x != empty).then_some(x);
            let cumulative = HistogramData::from_dense(
                &core.layout,
                &st.dense,
                st.sum,
                has(min, u64::MAX),
                // max is 0 both for "none" and for a recorded 0: min tells them apart.
                has(min, u64::MAX).map(|_| max),
            );
            let interval = cumulative.delta_since(&st.cumulative);
            st.cumulative = cumulative;
            push_window(&mut st.window, interval.clone(), ctx.window);
            let mut window = HistogramData::empty(core.layout.schema());
            for h in &st.window {
                window.merge(h);
            }
            window.set_bucket_extremes(st.cumulative.min(), st.cumulative.max());
            MetricValue::Histogram(HistogramSnapshot {
                cumulative: st.cumulative.clone(),
                interval,
                throughput: per_sec(window.count(), ctx.window_duration),
                peak_throughput: peak(st.window.iter().rev().map(|h| h.count()), ctx.durations),
                window,
                window_duration: ctx.window_duration,
                recent: st.recent.iter().copied().collect(),
                rejected,
                saturated,
            })
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
                        push_window(recent, ev, core.capacity.next_power_of_two());
                    }
                }
            }
            let delta = total.wrapping_sub(*prev_total);
            *prev_total = total;
            MetricValue::Events(EventsSnapshot {
                total,
                delta,
                recent: recent.iter().copied().collect(),
                overwritten: *overwritten,
            })
        }
        _ => unreachable!("aggregator state is created from the entry's own kind"),
    }
}
