//! Per-thread shards: what one thread's records write, and the only memory the hot path touches.
//!
//! Each kind's shard type lives with its kind (`kind/<kind>/shard.rs`); this module holds what
//! they share — the exact wide total (`total.rs`) and `bump` — and the synchronization argument
//! every shard follows.
//!
//! # Synchronization
//!
//! Every field of a shard in an exclusive slot has exactly one writer, the slot's owner, which
//! updates totals with `store(load + n)` (`Relaxed`): a plain load and store, no locked
//! read-modify-write. Totals are monotonic and never reset; the aggregator only reads them and
//! computes deltas against what it read last time, so no record can be lost between a read and a
//! reset. Ownership moves between threads only through the slot table's release/acquire pair
//! (see [`slots`](crate::slots)). The overflow slot is shared by any number of threads, so there
//! the same operations use `fetch_add`/`fetch_min`/`fetch_max`; each hot-path method takes the
//! slot's `shared` flag and branches once (perfectly predicted: it is constant per handle).
//!
//! A histogram record stores its bucket last with `Release`, and the aggregator loads buckets
//! with `Acquire` before reading `sum`, `min` and `max`, so every value a snapshot counts is
//! reflected in its min/max (and its sum; the sum may also include a few values whose bucket is
//! not yet visible, corrected by the next snapshot).
//!
//! Counter totals and histogram sums are `WideTotal`s: a `u64` low word and a wrap count, so
//! they are exact as `u128` whatever the values. The wrap branch is never taken for realistic
//! values; when it is, the owner writes the pair under a tiny seqlock (see `total.rs`).
//!
//! Each shard type owns both halves of its protocol: the writer's hot-path methods and the
//! reader methods the aggregator calls sit side by side in one file (`kind/<kind>/shard.rs`),
//! with private fields, so each ordering argument is in one place.
#![deny(unsafe_code)]

mod total;

pub(crate) use total::WideTotal;

use crate::sync::{AtomicU64, Ordering};

/// Adds `n` to a shard total: single-writer store, or `fetch_add` in the shared slot.
#[inline(always)]
pub(crate) fn bump(a: &AtomicU64, n: u64, shared: bool) {
    if shared {
        // Relaxed: a statistic total; cross-thread visibility comes from the aggregator's loads.
        a.fetch_add(n, Ordering::Relaxed);
    } else {
        // Relaxed: single writer (module docs); wrapping to match fetch_add and never panic.
        a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
}
