//! How tachymeter works inside (documentation only).
//!
//! # Layers
//!
//! ```text
//!  recording threads                        aggregator thread              readers
//!  ─────────────────                        ─────────────────              ───────
//!  Counter::increment ─┐                    every interval (1 s):          engine.snapshot()
//!  Histogram::record  ─┤ thread-local       for each metric:                 │ arc-swap load
//!  LocalCounter::add  ─┘ (engine, slot)       Σ shards (monotonic totals)    ▼
//!         │                                   − previous Σ  = interval     Arc<Snapshot>
//!         ▼                                   windows, rings, stats          (immutable)
//!  metric.shards[slot]  ── own cache line ──▶ Snapshot ──publish──▶ SnapshotCell
//!  (single-writer stores)                     (never resets a shard)
//! ```
//!
//! # Memory layout
//!
//! Each metric owns a [`ShardArray`](crate) with one pointer per thread slot (plus the shared
//! overflow slot). A thread's first record into a metric allocates its shard, aligned and padded
//! to 128 bytes (`crossbeam_utils::CachePadded`), so no two threads ever write the same cache
//! line. Counter shard: one `u64` (128 B with padding). Histogram shard: `dense_len` bucket
//! counters (4,098 × 8 B = 32.8 KiB at the default schema 6 over the full `u64` range) plus sum,
//! min, max and statistics, and an optional ring of recent samples.
//!
//! # Orderings
//!
//! - Shard totals: owner `store(load + n)` with `Relaxed`; the aggregator reads them `Relaxed`
//!   and differences them. A total is monotonic and single-writer, so every value read is a
//!   real past total and the sum over shards never goes backwards.
//! - Histogram bucket: `Release` store by the owner after sum/min/max; `Acquire` load by the
//!   aggregator before reading sum/min/max.
//! - Slots: claim `Acquire` CAS, release `Release` store: a new owner continues the previous
//!   owner's totals.
//! - Rings and gauge sets: seqlock-style (see `ring` and `shard`).
//! - Snapshot publication: `ArcSwap::swap` under the aggregator mutex, so sequence numbers are
//!   published in order and a reader sees a complete snapshot.
//!
//! # What is approximate, and by how much
//!
//! - Histogram quantiles: relative error ≤ `(b−1)/(b+1)`, `b = 2^(2^−schema)` (0.54% at
//!   schema 6). `count`, `sum`, cumulative `min`/`max` are exact.
//! - Interval and window `min`/`max`: bucket bounds (same error bound).
//! - `stddev`: from bucket representatives around the exact mean.
//! - Gauges: a `set` and concurrent `add`s from other threads within one interval are ordered
//!   set-first.
//!
//! # Module map, and what adding a metric kind touches
//!
//! | module | holds |
//! |---|---|
//! | `sync` | the only door to atomics, locks, thread-locals and `arc-swap` (std or loom) |
//! | `slots`, `local`, `context` | thread slots (claim, release, overflow), the thread-local slot cache and [`LocalRecorder`](crate::LocalRecorder), and the `EngineContext` every metric of an engine shares (id, slot table, clock) |
//! | `shard/` | one file per kind: the writer's hot-path methods and the aggregator's reader methods side by side, fields private, each ordering argument in one place; `total.rs` is the exact `u128` total |
//! | `shard_array`, `ring` | lazily allocated per-slot shards (the only `unsafe`), the overwriting single-producer ring |
//! | `desc` | kinds, [`Opts`](crate::Opts), [`MetricDesc`](crate::MetricDesc), [`HistogramConfig`](crate::HistogramConfig), name rules, [`RegisterError`](crate::RegisterError): pure data, no engine state |
//! | `metric` | the handles (`Counter`, …, `Local*`) and each kind's core (description, context, shards, parameters) |
//! | `registry` | the table of one engine's metrics and its limits and collision rules |
//! | `aggregator/` | one collector per kind pairing the kind's core with its aggregation state, plus the pass that merges them into a snapshot |
//! | `snapshot`, `engine`, `global` | the published data, the engine (builder, registration, background thread, health), the global engine and macros |
//!
//! A new kind is a shard file (`shard/<kind>.rs`), a handle and core (`metric.rs`), a collector
//! (`aggregator/<kind>.rs`) and its snapshot value (`snapshot.rs`), plus one line each where the
//! registry's `Entry` enum, the `collector` constructor and the engine's registration method
//! name the kinds.
//!
//! # Why not `atomic::Atomic<f64>` or `once_cell` in the shards
//!
//! The design card names the `atomic` and `once_cell` crates. Every atomic the engine's
//! protocols use goes through the `sync` shim so that loom can model it; `atomic::Atomic<T>`
//! wraps `core` atomics that loom cannot see, so gauge values are `f64` bits in the shim's
//! `AtomicU64` (the same machine operations). `once_cell::sync::OnceCell` is used where no
//! modelled protocol depends on it (the global engine, the macros' call-site handles, a
//! family's overflow series, a context's back-reference to its engine); the per-slot shard
//! pointers are a hand-written set-once array (`shard_array`) because loom must see them.
//!
//! # Time ranges
//!
//! The history of each series (see [`history`](crate::history)) sits behind its own mutex in
//! the series' core: the aggregator locks it once per collection to add the interval, readers
//! lock it to query; recording threads never touch it. A new period allocates its bucket vector
//! once (every 10 s with the default tiers); within a period, adding an interval allocates
//! only when the period gains a bucket.
