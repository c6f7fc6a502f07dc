//! [`EngineContext`]: what every metric and thread-owned recorder of one engine shares.
#![deny(unsafe_code)]

use crate::clock::Clock;
use crate::slots::SlotTable;

/// The recording side of one engine, shared (through an `Arc`) by its metrics, its
/// [`LocalRecorder`](crate::LocalRecorder)s and its aggregator: the engine's id (which the
/// thread-local slot cache compares), its thread-slot table and its clock.
pub(crate) struct EngineContext {
    /// Process-wide unique, never 0.
    pub(crate) id: u64,
    pub(crate) slots: SlotTable,
    pub(crate) clock: Clock,
}
