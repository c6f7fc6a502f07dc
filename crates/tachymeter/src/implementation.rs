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
//! See [`docs::guarantees`](crate::docs::guarantees) (quantile error bound, bucket-bound
//! `min`/`max` of intervals and windows, `stddev` from bucket representatives, gauge ordering).
//!
//! # Module map
//!
//! | module | holds |
//! |---|---|
//! | `sync` | the only door to atomics, locks, thread-locals and `arc-swap` (std or loom) |
//! | `slots`, `local`, `context` | thread slots (claim, release, overflow), the thread-local slot cache and [`LocalRecorder`](crate::LocalRecorder), and the `EngineContext` every metric of an engine shares (id, slot table, clock) |
//! | `kind/` | the metric kinds: `kind/mod.rs` holds the one list of kinds (the `kinds!` invocation), and each kind is a directory `kind/<kind>/` (below) |
//! | `shard/` | what every kind's shard shares: `total.rs`, the exact `u128` total, `bump`, and the synchronization argument every shard follows |
//! | `shard_array`, `ring` | lazily allocated per-slot shards (the only `unsafe`), the overwriting single-producer ring |
//! | `desc` | [`Opts`](crate::Opts), [`MetricDesc`](crate::MetricDesc), [`HistogramConfig`](crate::HistogramConfig), name rules, [`exposed_names`](crate::exposed_names), [`RegisterError`](crate::RegisterError): pure data, no engine state |
//! | `metric` | `Core<S, P>`, what every handle of one metric shares whatever its kind (description, context, shards, parameters, history), and `RingParams` |
//! | `registry` | the table of one engine's metrics, its limits and collision rules, and the `Registered` trait every kind's core implements (generated) |
//! | `aggregator/` | the `Collect` trait every kind implements, the shared helpers (`Pass`, `Since`, rates, windows) and the pass that merges every collector into a snapshot |
//! | `family` | the generic label [`Family`](crate::Family) and `KindOps`, the table of functions a kind's family needs |
//! | `snapshot`, `engine`, `global` | the published data ([`Snapshot`](crate::Snapshot), [`Stats`](crate::Stats)), the engine (builder, generic registration, background thread, health), the global engine and macros |
//!
//! Each kind's directory `kind/<kind>/` (`counter`, `gauge`, `histogram`, `events`, `records`):
//!
//! | file | holds |
//! |---|---|
//! | `shard.rs` | one thread's share: the writer's hot-path methods and the aggregator's reader methods side by side, fields private, each ordering argument in one place |
//! | `collect.rs` | `collector(core, slots)` and the kind's `Collect` implementation: its aggregation state (previous totals, windows, ring positions) and the arithmetic on what the shards hand it |
//! | `mod.rs` | the core type (`Core<Shard, Params>`) and its `shard(slot)`, the `EXPOSITION` (sample-name suffixes, reserved labels), the public handle, its `Local*` view and `impl LocalRecorder`, the snapshot value and its `Snapshot` accessor, the `impl Shared`/`impl Engine` registration methods, the family alias, `FamilyRecord` and `KindOps` |
//!
//! # How to add a metric kind
//!
//! Four files in this crate, all under `src/kind/` (a probe that added a `Max` kind — one
//! `u64` per thread, collected as the largest over threads, a handle with `set` — touched
//! exactly these four, and its test passed with nothing else changed):
//!
//! 1. **`kind/<kind>/shard.rs`**: the shard type, `new() -> CachePadded<Self>`, the writer's
//!    `#[inline]` methods (single-writer `store(load + n)`, or `fetch_*` when the slot is
//!    `shared`; reuse `crate::shard::{bump, WideTotal}`) and the reader's methods, each atomic
//!    `Ordering` with its reason.
//! 2. **`kind/<kind>/collect.rs`**: `pub(crate) fn collector(core: Arc<XCore>, slots: usize)
//!    -> Box<dyn Collect>` and the collector implementing `crate::aggregator::Collect` (`desc`,
//!    `removed`, `collect` writing `MetricValue::X(..)`, `reset`, `reset_at`; `Since`,
//!    `per_sec`, `push_window`, `take_value`… are there to reuse). It only reads shards.
//! 3. **`kind/<kind>/mod.rs`**: `mod collect; mod shard; pub(crate) use collect::collector;`,
//!    `pub(crate) type XCore = Core<XShard, XParams>` with `impl XCore { #[inline] fn
//!    shard(&self, slot: SlotId) }`, `pub(super) const EXPOSITION: Exposition`, the
//!    `#[must_use]` handle `X { pub(crate) core: Arc<XCore> }` with its hot-path methods and
//!    `debug_handle!(X)`, the snapshot type `XSnapshot` (`Debug, Clone, Default, PartialEq`,
//!    `#[non_exhaustive]`) with an `impl Snapshot { pub fn x(&self, name) }` accessor, and
//!    `impl Engine { pub fn x(&self, opts) }` built on the generic
//!    `self.shared().register(opts, None, |desc| params)`. Optional, in the same file: a
//!    `Local*` view (`impl LocalRecorder`), families (`impl Shared { fn x }`,
//!    `unregistered(params)`, `KindOps<X>`, `FamilyRecord`, `Engine::x_family`, the `XFamily`
//!    alias) and time-range history (`core.history.add_*` in the collector). Tests go in the
//!    same files (`#[cfg(all(test, not(loom)))]`).
//! 4. **`kind/mod.rs`**: a `mod <kind>;` line and one entry in the `kinds!` list:
//!
//! ```text
//! /// The MetricKind variant's docs.
//! X(<kind>, "<kind name>") {
//!     core: XCore,
//!     /// The MetricValue variant's docs.
//!     value: XSnapshot,
//!     exports: [X, XSnapshot /* , LocalX, XFamily, … */],
//! },
//! ```
//!
//! From that entry come the `MetricKind::X` variant and its name, `MetricValue::X`, the
//! registry's `Entry::X` and `Registered for XCore` (so registration, kind conflicts and
//! exposed-name collisions work), the aggregator's dispatch to `collector`, and the crate
//! root's re-export of everything in `exports`. `lib.rs`, `registry.rs`, `aggregator/`,
//! `desc.rs`, `snapshot.rs`, `engine.rs` and `family.rs` need no edit.
//!
//! Outside this crate's count: the exporters (`tachymeter-export`, `tachymeter-cli`,
//! `tachymeter-monitor`) match on [`MetricValue`](crate::MetricValue), which is
//! `#[non_exhaustive]`, so they compile and leave a new kind out of their output until they
//! learn it (`grep -rn 'MetricValue::' crates/` finds every match; the Prometheus encoders'
//! wildcard arms say "not exposed until an encoder knows it"). [`MetricKind`](crate::MetricKind)
//! is exhaustive, so a `match` on it that has no wildcard arm fails to compile and says
//! where: today only `tachymeter-export`'s fuzz model (`src/fuzz.rs`, test builds). The
//! facade macros (`counter!`…) in `global.rs` are per kind by design; a new kind gets one only
//! if it needs it. Loom models (`loom-tests/`) and `loom-tests/mutants.py` name engine files by
//! path: a kind whose shard has a new ordering argument deserves a model and a mutant there.
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
