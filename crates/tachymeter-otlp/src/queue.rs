//! The bounded queue between the collecting thread and the sending thread.
//!
//! Holds encoded request bodies. When it is full, [`Queue::push`] drops the **oldest** body
//! (and the caller counts it): with cumulative temporality the newest body holds everything the
//! older ones did, and with delta temporality every drop loses one interval either way, so the
//! queue keeps the freshest data. Closing it (shutdown) sets a deadline: the sender drains what
//! is left, retrying with backoff until the deadline, then gives up.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

pub(crate) struct Queue {
    state: Mutex<State>,
    /// Signalled on push and on close.
    changed: Condvar,
    capacity: usize,
}

struct State {
    items: VecDeque<Vec<u8>>,
    /// Set by [`Queue::close`]: no more pushes; retries stop at this instant.
    deadline: Option<Instant>,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity),
                deadline: None,
            }),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the queue consistent (every update is one
        // VecDeque call or one field store), so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `body`; returns `true` when the oldest body was dropped to make room.
    pub(crate) fn push(&self, body: Vec<u8>) -> bool {
        let mut state = self.lock();
        let dropped = state.items.len() >= self.capacity;
        if dropped {
            state.items.pop_front();
        }
        state.items.push_back(body);
        drop(state);
        self.changed.notify_all();
        dropped
    }

    /// The oldest body, waiting for one; `None` once the queue is closed and empty.
    pub(crate) fn pop(&self) -> Option<Vec<u8>> {
        let mut state = self.lock();
        loop {
            if let Some(body) = state.items.pop_front() {
                return Some(body);
            }
            if state.deadline.is_some() {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Stops accepting work after what is queued; retries end at `deadline`.
    pub(crate) fn close(&self, deadline: Instant) {
        self.lock().deadline = Some(deadline);
        self.changed.notify_all();
    }

    /// Whether the queue is closed and its deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        self.lock().deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Waits until `until` (a retry's backoff), cut short by the shutdown deadline; returns
    /// `false` when the deadline has passed and the retry should be abandoned.
    pub(crate) fn backoff(&self, until: Instant) -> bool {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let limit = state.deadline.map_or(until, |d| d.min(until));
            if now >= limit {
                return state.deadline.is_none_or(|d| now < d);
            }
            state = self
                .changed
                .wait_timeout(state, limit - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn full_queue_drops_the_oldest() {
        let q = Queue::new(2);
        assert!(!q.push(vec![1]));
        assert!(!q.push(vec![2]));
        assert!(q.push(vec![3]));
        q.close(Instant::now());
        assert_eq!(q.pop(), Some(vec![2]));
        assert_eq!(q.pop(), Some(vec![3]));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn backoff_ends_at_the_deadline() {
        let q = Queue::new(1);
        let t0 = Instant::now();
        assert!(q.backoff(t0 + Duration::from_millis(10)));
        q.close(Instant::now() + Duration::from_millis(20));
        assert!(!q.backoff(Instant::now() + Duration::from_secs(60)));
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert!(q.expired());
    }
}
