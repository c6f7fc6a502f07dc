//! Alone in its process (one test, one global dispatcher): with only the layer on a registry,
//! a span callsite the layer does not time, and every event, is disabled at its callsite, so
//! `span!` builds nothing; the spans it times are built and recorded.
//!
//! Callsite interest is shared by every dispatcher of a process: in a binary whose tests run
//! other dispatchers at the same time, a callsite one of them wants is `sometimes` for all,
//! and tracing-subscriber 0.3's registry then builds the span even though this layer's
//! filter refused it (the layer still ignores it). Hence a binary of its own.

use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Engine, MetricValue};
use tachymeter_tracing::TachymeterLayer;
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn callsites_the_layer_does_not_time_are_disabled() {
    let (clock, mock) = tachymeter::Clock::mock();
    let e = Engine::builder().background(false).clock(clock);
    let e = Arc::new(e.build().unwrap());
    let layer = TachymeterLayer::builder(e.clone())
        .target("app")
        .build()
        .unwrap();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();

    for _ in 0..3 {
        let other = tracing::span!(target: "lib::io", Level::INFO, "read");
        assert!(other.is_disabled());
        assert!(!tracing::event_enabled!(target: "app", Level::ERROR));
        let timed = tracing::span!(target: "app::db", Level::TRACE, "query");
        assert!(!timed.is_disabled());
        timed.in_scope(|| mock.advance(Duration::from_micros(7)));
    }
    let s = e.flush();
    let busy = s.get("span_busy", &[("span", "query")]).unwrap();
    let MetricValue::Histogram(h) = &busy.value else {
        panic!("{busy:?}")
    };
    assert_eq!((h.cumulative.count(), h.cumulative.sum()), (3, 21_000));
    assert!(s.get("span_busy", &[("span", "read")]).is_none());
}
