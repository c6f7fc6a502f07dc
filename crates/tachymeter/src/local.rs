//! Finding the calling thread's slot.
//!
//! Two ways, one underlying claim:
//! - [`LocalRecorder`]: an explicit, thread-owned (`!Send`) claim of one slot. Its per-metric
//!   views ([`LocalCounter`](crate::LocalCounter) and friends) resolve the shard once, so a
//!   record is a single load/add/store. Dropping it releases the slot.
//! - the plain handles (`Counter::increment`, …) use a const-initialised thread-local cache of
//!   `(engine id, slot)`: a hit is a compare; a miss (first record of this thread into this
//!   engine, or alternating between engines) takes the cold path, which claims a slot and
//!   remembers it in a second thread-local whose destructor releases every slot the thread
//!   holds when it exits.
//!
//! When the slot table is full, or thread-local storage is already torn down (a record from
//! another thread-local's destructor), the thread records into the shared overflow slot.
#![deny(unsafe_code)]

use crate::context::EngineContext;
use crate::slots::SlotId;
use crate::sync::Arc;
use std::marker::PhantomData;

/// The calling thread's slot in `context`'s engine.
#[inline]
pub(crate) fn slot_for(engine_id: u64, context: &Arc<EngineContext>) -> SlotId {
    #[cfg(not(loom))]
    {
        let cached = tls::CACHE.with(|c| c.get());
        if cached.engine == engine_id {
            return SlotId {
                index: cached.index,
                shared: cached.shared != 0,
            };
        }
        tls::resolve(context)
    }
    #[cfg(loom)]
    {
        // Loom models use explicit `LocalRecorder`s (thread-local destructors touching loom
        // state panic at model teardown); plain handles record into the shared slot.
        let _ = engine_id;
        context.slots.overflow()
    }
}

#[cfg(not(loom))]
mod tls {
    use super::*;
    use crate::sync::thread_local;
    use std::cell::{Cell, RefCell};

    /// The cached slot, flattened: `shared` is a `u8` rather than a `bool` so that the type
    /// has no spare bit pattern; with one, the compiler checks the access's never-taken error
    /// case on every record (3 instructions, measured with callgrind).
    #[derive(Clone, Copy)]
    pub(super) struct Cached {
        pub(super) engine: u64,
        pub(super) index: u32,
        pub(super) shared: u8,
    }

    /// No engine has id 0, so this never hits.
    const EMPTY: Cached = Cached {
        engine: 0,
        index: 0,
        shared: 1,
    };

    struct Held {
        context: Arc<EngineContext>,
        slot: SlotId,
    }

    /// Slots this thread claimed through plain handles; released when the thread exits.
    struct HeldSlots(Vec<Held>);

    impl Drop for HeldSlots {
        fn drop(&mut self) {
            // Forget the cache first: a record from a later destructor must not use a slot
            // that another thread may claim once we release it below.
            CACHE.with(|c| c.set(EMPTY));
            for h in self.0.drain(..) {
                h.context.slots.release(h.slot);
            }
        }
    }

    thread_local! {
        /// Hot: one `(engine, slot)` pair. Const-initialised and without destructor, so an
        /// access is a plain TLS load with no lazy-init check and is valid at any time.
        pub(super) static CACHE: Cell<Cached> = const { Cell::new(EMPTY) };
        /// Cold: every slot this thread holds, one per engine.
        static HELD: RefCell<HeldSlots> = const { RefCell::new(HeldSlots(Vec::new())) };
    }

    #[cold]
    #[inline(never)]
    pub(super) fn resolve(context: &Arc<EngineContext>) -> SlotId {
        let found = HELD.try_with(|held| {
            let Ok(mut held) = held.try_borrow_mut() else {
                return context.slots.overflow();
            };
            // Drop claims on engines nobody else references any more.
            held.0.retain(|h| {
                let alive = Arc::strong_count(&h.context) > 1;
                if !alive {
                    h.context.slots.release(h.slot);
                }
                alive
            });
            if let Some(h) = held.0.iter().find(|h| h.context.id == context.id) {
                return h.slot;
            }
            let slot = context.slots.claim();
            held.0.push(Held {
                context: context.clone(),
                slot,
            });
            slot
        });
        // After HELD is destroyed the thread is exiting: record into the shared slot.
        let slot = found.unwrap_or_else(|_| context.slots.overflow());
        CACHE.with(|c| {
            c.set(Cached {
                engine: context.id,
                index: slot.index,
                shared: u8::from(slot.shared),
            })
        });
        slot
    }
}

/// An explicit claim of one thread slot, for the tightest loops.
///
/// Obtain one with [`Engine::local_recorder`](crate::Engine::local_recorder), then take views of
/// the metrics you record into; each view resolves its shard once. The recorder is `!Send`: the
/// slot belongs to the thread that claimed it, and dropping the recorder releases it (totals stay
/// counted).
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let hits = engine.counter("cache_hits_total").unwrap();
/// let rec = engine.local_recorder();
/// let hits_here = rec.counter(&hits);
/// for _ in 0..1000 {
///     hits_here.increment();
/// }
/// assert_eq!(engine.flush().counter("cache_hits_total").unwrap().total, 1000);
/// ```
///
/// It cannot be sent to another thread:
///
/// ```compile_fail
/// let engine = tachymeter::Engine::new();
/// let rec = engine.local_recorder();
/// std::thread::spawn(move || drop(rec));
/// ```
///
/// while a plain handle can:
///
/// ```
/// let engine = tachymeter::Engine::new();
/// let c = engine.counter("x_total").unwrap();
/// std::thread::spawn(move || c.increment()).join().unwrap();
/// ```
#[must_use = "a LocalRecorder releases its slot when dropped"]
pub struct LocalRecorder {
    pub(crate) context: Arc<EngineContext>,
    pub(crate) slot: SlotId,
    /// `!Send + !Sync`: the slot is single-writer.
    _not_send: PhantomData<*const ()>,
}

impl LocalRecorder {
    pub(crate) fn new(context: Arc<EngineContext>) -> LocalRecorder {
        let slot = context.slots.claim();
        LocalRecorder {
            context,
            slot,
            _not_send: PhantomData,
        }
    }

    /// True if this recorder fell back to the shared overflow slot (the slot table was full).
    pub fn is_overflow(&self) -> bool {
        self.slot.shared
    }

    /// The slot for a metric of engine `engine_id`: ours if it is our engine, else the thread's
    /// slot in the other engine.
    #[inline]
    pub(crate) fn slot_for(&self, engine_id: u64, context: &Arc<EngineContext>) -> SlotId {
        if engine_id == self.context.id {
            self.slot
        } else {
            slot_for(engine_id, context)
        }
    }
}

impl Drop for LocalRecorder {
    fn drop(&mut self) {
        self.context.slots.release(self.slot);
    }
}

impl std::fmt::Debug for LocalRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRecorder")
            .field("engine", &self.context.id)
            .field("slot", &self.slot)
            .finish()
    }
}
