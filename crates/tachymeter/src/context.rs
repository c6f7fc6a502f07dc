//! [`EngineContext`]: what every metric and thread-owned recorder of one engine shares.
#![deny(unsafe_code)]

use crate::clock::Clock;
use crate::engine::Shared;
use crate::slots::SlotTable;
use crate::sync::{Arc, Weak};

/// The recording side of one engine, shared (through an `Arc`) by its metrics, its
/// [`LocalRecorder`](crate::LocalRecorder)s and its aggregator: the engine's id (which the
/// thread-local slot cache compares), its thread-slot table and its clock.
pub(crate) struct EngineContext {
    /// Process-wide unique, never 0.
    pub(crate) id: u64,
    pub(crate) slots: SlotTable,
    pub(crate) clock: Clock,
    /// The engine (registry and aggregator), for the cold operations a handle may start
    /// (resets); weak, since the engine owns this context.
    pub(crate) engine: once_cell::sync::OnceCell<Weak<Shared>>,
}

impl EngineContext {
    /// Links the context to its engine (once, right after the engine is built).
    pub(crate) fn set_engine(&self, shared: &Arc<Shared>) {
        let _ = self.engine.set(Arc::downgrade(shared));
    }

    /// The engine, while it lives.
    pub(crate) fn engine(&self) -> Option<Arc<Shared>> {
        self.engine.get().and_then(Weak::upgrade)
    }
}
