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
//! Each metric owns a `ShardArray` with one pointer per thread slot (plus the shared overflow
//! slot, the last one). The first 16 pointers are inline in the metric (slots are claimed
//! lowest first, so most metrics never need more); the others sit in an array allocated the
//! first time one of those slots records. A thread's first record into a metric allocates its
//! shard, aligned and padded to 128 bytes (`crossbeam_utils::CachePadded`), so no two threads
//! ever write the same cache line. Every shard knows whether it is the overflow slot's, so the
//! hot path does not carry the slot's flag.
//!
//! - Counter shard: a `u64` and its wrap count (128 B with padding).
//! - Histogram shard (`kind/histogram/shard.rs`): a header of ~0.4 KiB (change marker, one
//!   total per block of 512 bucket positions, exact `u128` sum, min, max, statistics, the
//!   optional ring) and the bucket array, `dense_len` counters (4,098 × 8 B = 32.8 KiB at the
//!   default schema 6 over the full `u64` range). On Unix the bucket array is an anonymous
//!   private mapping (`zeroed.rs`): the kernel hands out zero pages and commits a 4 KiB page —
//!   one block, 512 positions, 8 octaves at schema 6 — the first time a counter in it is
//!   written, so a thread's histogram costs the header plus 4 KiB per block its values reach
//!   (8.5 KiB measured for 1 µs – 10 ms; `tests/memory.rs`, `benches/src/bin/memory.rs`). The
//!   aggregator reading an untouched block maps the shared zero page and commits nothing. The
//!   first write into a block takes a minor page fault (about a microsecond of kernel work,
//!   once per block per thread); recording still never calls the allocator or makes a system
//!   call. Under loom and miri, on other platforms and for arrays under a page the array is an
//!   ordinary boxed slice. Transparent huge pages are turned off for the mapping (`madvise`),
//!   or the first write would commit 2 MiB.
//! - A histogram's `Layout` is ~80 B: its lookup tables (10 KiB per schema) are built once per
//!   process per schema and shared by every layout of that schema.
//!
//! # Orderings
//!
//! - Shard totals: owner `store(load + n)` with `Relaxed`; the aggregator reads them `Relaxed`
//!   and differences them. A total is monotonic and single-writer, so every value read is a
//!   real past total and the sum over shards never goes backwards.
//! - Histogram bucket: `Release` store by the owner after sum/min/max; `Acquire` load by the
//!   aggregator before reading sum/min/max.
//! - Histogram change markers: the block total is stored (`Release`) after the bucket, the
//!   shard's change marker (`Release`) after everything; the aggregator loads the marker
//!   (`Acquire`), then the block totals (`Acquire`), then re-sums the changed blocks' buckets.
//!   Both pairs are needed (loom model `change_marker_skip_loses_nothing`, mutants
//!   `relaxed-change-marker`, `relaxed-block-total`): the marker makes the totals at least as
//!   new as the change it counts, and a total makes visible the buckets of the records it
//!   counts — loom found the first draft, whose totals were `Relaxed`, hiding a bucket forever
//!   behind a total read ahead of it.
//! - Slots: claim `Acquire` CAS, release `Release` store: a new owner continues the previous
//!   owner's totals.
//! - Rings and gauge sets: seqlock-style (see `ring` and `shard`).
//! - Snapshot publication: `ArcSwap::swap` under the aggregator mutex, so sequence numbers are
//!   published in order and a reader sees a complete snapshot.
//!
//! # Aggregation proportional to activity
//!
//! A histogram's collector (`kind/histogram/collect.rs`) keeps the merged bucket counts of all
//! its shards and, per shard, the marker, block totals and statistics it read last. Per
//! collection and shard: one load of the marker; unchanged, the shard is skipped. A changed
//! shard's block totals (9 at the default layout) name the blocks that changed; each changed
//! block is re-summed over the shards holding data in it (no per-shard copy of the buckets is
//! kept, which would double the memory per thread), and the statistics of every shard read are
//! reloaded after its buckets. The merged `HistogramData` is rebuilt only if something changed,
//! scanning only blocks that hold counts. Snapshot values carry stamps naming the collector
//! state they were copied from, so an unchanged cumulative or window is not copied again into
//! a recycled snapshot, and an empty interval is neither merged into nor subtracted from the
//! window. Cost of a collection: O(shards) loads of markers + O(changed blocks × shards holding
//! them × 512) + O(buckets of changed histograms); an idle histogram costs its markers, a few
//! compares and the history lock. Measured (`flush/activity` in `benches/benches/compare.rs`):
//! 16 threads × 1,000 histograms, 10 active: 0.94 ms per flush (106 ms before). With every
//! shard changed each second (`steady/16x1000`, 42 ms per flush, 169 ms before) the re-sum
//! reads each changed block of every thread holding it (8 KiB × 16,000 shards per flush here):
//! memory-bound, 4.2% of a core at a 1 s interval on the shared test machine. A per-shard copy
//! of the buckets would cut it when few records change a block, at twice the memory.
//!
//! # The record hot path, instruction by instruction
//!
//! `LocalHistogram::record(v)` (53 instructions per record in `benches/scripts/callgrind.sh`,
//! including ~8 of the benchmark loop; the handle adds ~9 for the slot lookup):
//!
//! 1. `plain` check (2): the shard is exclusive and keeps no ring; otherwise everything goes
//!    out of line (`record_other`: the overflow slot's read-modify-writes, the ring push).
//! 2. Range check (4): `v − fast_min > fast_span` (one unsigned compare) sends zero, saturated
//!    values, values ≥ 2^53 and negative schemas to `record_slow_position` (out of line), which
//!    counts saturation and uses the exact integer index path.
//! 3. Float-key index (~14): `bits(v as f64) >> (52 − (s+1))` is the exponent followed by the
//!    top `s+1` mantissa bits (the cell `t`); position = `key/2 + delta[t] + [mantissa >
//!    cell_bound[t]] + offset`: a conversion, two shifts, a mask, two table loads, a compare
//!    with carry and an add. Exact (the tests compare it with the integer path on every
//!    schema): below 2^53 the mantissa is the value's, and a cell holds at most one boundary.
//! 4. Exact sum (4): load, add, branch on carry (the wrap goes to a seqlock out of line), store.
//! 5. Exact min and max (6): load, compare, rarely store, each.
//! 6. Bucket (5): bounds check, load of the array pointer, increment (`Release` store: a plain
//!    `mov` on x86_64).
//! 7. Block total (6): shift, bounds check, increment (`Release`).
//! 8. Change marker (1): increment (`Release`).
//!
//! The handle (`Histogram::record`, 62) adds the thread-local `(engine, slot)` compare and the
//! inline slot pointer's load and null check; everything cold (slot claim, shard allocation) is
//! out of line, so the record is `#[inline(always)]`. `record_f64` (77, 1.24× `record`) takes
//! `x = v·scale + 0.5` in `[1, 2^53)` with two compares and converts it with one instruction;
//! zero, sub-resolution, rejected and huge inputs go out of line. The counter handle (22):
//! loop and harness ~5, thread-local compare and slot 5, inline slot pointer 5, the overflow
//! flag 2, the exact add 4. What the targets of issue 13 would need beyond this (≤ 35 local,
//! ≤ 15 counter handle) is dropping exact min/max, the sum's carry check or the change marker,
//! or an unchecked slot index: the README's `Overhead` section has the measured figures.
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
//! | `shard_array`, `ring` | lazily allocated per-slot shards (16 pointers inline), the overwriting single-producer ring |
//! | `zeroed` | arrays of atomic counters committed by the OS page by page as written (histogram buckets); with `shard_array` the only `unsafe` |
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
