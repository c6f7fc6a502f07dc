//! The layer: a span's timing lives in its registry extensions from creation to close, and
//! its busy and idle times are recorded into the two histogram families when it closes.
#![forbid(unsafe_code)]

use crate::labels::{LabelVisitor, MAX_LABEL_FIELDS};
use std::sync::Arc;
use tachymeter::{Clock, Engine, HistogramFamily};
use tracing_core::span::{Attributes, Id};
use tracing_core::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber` layer that records each timed span's busy and idle time when it
/// closes. Made by [`TachymeterLayer::builder`], always wrapped in its [`SpanFilter`](crate::SpanFilter).
#[derive(Debug)]
pub struct TachymeterLayer {
    /// Keeps the engine (and its aggregator) alive as long as the layer.
    pub(crate) engine: Arc<Engine>,
    pub(crate) clock: Clock,
    pub(crate) busy: HistogramFamily,
    pub(crate) idle: HistogramFamily,
    /// The tracing field names whose values are the labels after `span`.
    pub(crate) label_fields: Box<[Box<str>]>,
    /// Selecting fields: a span that records one of them as `false` is not timed.
    pub(crate) opt_out_fields: Box<[Box<str>]>,
}

impl TachymeterLayer {
    /// The engine the layer records into.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The family of busy times (label `span`, then the label fields).
    pub fn busy_family(&self) -> &HistogramFamily {
        &self.busy
    }

    /// The family of idle times (same labels as [`busy_family`](Self::busy_family)).
    pub fn idle_family(&self) -> &HistogramFamily {
        &self.idle
    }
}

/// A timed span's state, in its extensions. Written under the extensions' lock, so a span
/// entered on several threads at once keeps one consistent count.
struct Timing {
    /// Engine-clock ticks at creation.
    created: u64,
    /// Ticks when `depth` last went from 0 to 1.
    entered: u64,
    /// Enters not yet matched by an exit (a span may be re-entered, or entered on several
    /// threads).
    depth: u32,
    /// Nanoseconds the span spent entered, over finished enter/exit pairs.
    busy: u64,
    /// The series' positions in the busy and idle families.
    busy_series: usize,
    idle_series: usize,
}

impl<S> Layer<S> for TachymeterLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = LabelVisitor::new(&self.label_fields, &self.opt_out_fields);
        attrs.record(&mut visitor);
        if visitor.opted_out {
            return;
        }
        let mut values = [""; 1 + MAX_LABEL_FIELDS];
        values[0] = attrs.metadata().name();
        for (slot, v) in values[1..].iter_mut().zip(visitor.values()) {
            *slot = v;
        }
        let values = &values[..1 + self.label_fields.len()];
        // Existing series: a hash and an in-place compare, no lock, no allocation.
        let (busy_series, _) = self.busy.with_position(values);
        let (idle_series, _) = self.idle.with_position(values);
        let Some(span) = ctx.span(id) else { return };
        span.extensions_mut().insert(Timing {
            created: self.clock.raw(),
            entered: 0,
            depth: 0,
            busy: 0,
            busy_series,
            idle_series,
        });
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(t) = ext.get_mut::<Timing>() {
            if t.depth == 0 {
                t.entered = self.clock.raw();
            }
            t.depth += 1;
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(t) = ext.get_mut::<Timing>() {
            if t.depth == 0 {
                return; // an exit without an enter: nothing to close
            }
            t.depth -= 1;
            if t.depth == 0 {
                let now = self.clock.raw();
                t.busy = t
                    .busy
                    .saturating_add(self.clock.delta_nanos(t.entered, now));
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(t) = ext.get::<Timing>() else { return };
        let now = self.clock.raw();
        let mut busy = t.busy;
        if t.depth > 0 {
            // Closed while still entered (a leaked guard): busy up to now.
            busy = busy.saturating_add(self.clock.delta_nanos(t.entered, now));
        }
        let lifetime = self.clock.delta_nanos(t.created, now);
        let idle = lifetime.saturating_sub(busy);
        if let Some((h, _)) = self.busy.at(t.busy_series) {
            h.record(busy);
        }
        if let Some((h, _)) = self.idle.at(t.idle_series) {
            h.record(idle);
        }
    }
}
