//! The layer against exact oracles: busy and idle sums and counts under the engine's mock
//! clock (re-entered spans, spans entered on other threads), labels from fields, spans from
//! several threads, selection (non-timed spans record nothing; `tests/interest.rs` checks
//! they are not even built), other layers still seeing every span and event, the overflow series, build
//! errors, and allocations per span against a plain registry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{Engine, MetricValue, MockClock, Snapshot, OVERFLOW_VALUE};
use tachymeter_test_alloc::allocations;
use tachymeter_tracing::{BuildError, Builder, Filtered, SpanFilter, TachymeterLayer};
use tracing::{Dispatch, Level};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

#[global_allocator]
static GLOBAL: tachymeter_test_alloc::Counting = tachymeter_test_alloc::Counting;

const MS: Duration = Duration::from_millis(1);

/// An engine on a mock clock, without a background aggregator.
fn engine() -> (Arc<Engine>, MockClock) {
    let (clock, mock) = tachymeter::Clock::mock();
    let e = Engine::builder()
        .background(false)
        .clock(clock)
        .build()
        .unwrap();
    (Arc::new(e), mock)
}

/// A registry with only the layer `b` builds.
fn dispatch(b: Builder) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(b.build().unwrap()))
}

/// `(count, sum in ns)` of a series, `None` if it does not exist.
fn series(s: &Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<(u64, u128)> {
    match &s.get(name, labels)?.value {
        MetricValue::Histogram(h) => Some((h.cumulative.count(), h.cumulative.sum())),
        other => panic!("{name}{labels:?}: {other:?}"),
    }
}

fn busy_idle(s: &Snapshot, labels: &[(&str, &str)]) -> ((u64, u128), (u64, u128)) {
    let busy = series(s, "span_busy", labels).expect("busy series");
    let idle = series(s, "span_idle", labels).expect("idle series");
    (busy, idle)
}

const NS: u128 = 1_000_000;

#[test]
fn busy_and_idle_are_exact_with_the_mock_clock() {
    let (e, mock) = engine();
    let d = dispatch(TachymeterLayer::builder(e.clone()).span_name("step"));
    let (mut busy, mut idle) = (0u128, 0u128);
    tracing::dispatcher::with_default(&d, || {
        for i in 1..=10u32 {
            let span = tracing::info_span!("step");
            mock.advance(i * MS); // idle
            span.in_scope(|| mock.advance(2 * i * MS)); // busy
            mock.advance(MS); // idle
            span.in_scope(|| mock.advance(3 * MS)); // busy
            mock.advance(4 * MS); // idle
            drop(span);
            mock.advance(100 * MS); // after close: neither
            busy += (2 * i + 3) as u128 * NS;
            idle += (i + 5) as u128 * NS;
        }
    });
    let s = e.flush();
    let ((bc, bs), (ic, is)) = busy_idle(&s, &[("span", "step")]);
    assert_eq!((bc, ic), (10, 10));
    assert_eq!(bs, busy); // Σ (2i + 3) ms = 140 ms
    assert_eq!(is, idle); // Σ (i + 5) ms = 105 ms
    assert_eq!(busy, 140 * NS);
    assert_eq!(idle, 105 * NS);
}

#[test]
fn a_span_entered_several_times_and_on_other_threads() {
    let (e, mock) = engine();
    let d = dispatch(TachymeterLayer::builder(e.clone()).span_name("job"));
    tracing::dispatcher::with_default(&d, || {
        let span = tracing::info_span!("job");
        {
            let _a = span.enter();
            mock.advance(2 * MS);
            {
                // Re-entered while entered: the time counts once.
                let _b = span.enter();
                mock.advance(3 * MS);
            }
            mock.advance(MS);
        }
        mock.advance(5 * MS); // idle
        for _ in 0..3 {
            let (span, m, d) = (span.clone(), mock.clone(), d.clone());
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&d, || span.in_scope(|| m.advance(MS)))
            })
            .join()
            .unwrap();
            mock.advance(MS); // idle
        }
    });
    let s = e.flush();
    // Busy 2 + 3 + 1 + 3 × 1 = 9 ms; idle 5 + 3 × 1 = 8 ms; one span.
    assert_eq!(
        busy_idle(&s, &[("span", "job")]),
        ((1, 9 * NS), (1, 8 * NS))
    );
}

#[test]
fn labels_come_from_the_span_fields_at_creation() {
    let (e, mock) = engine();
    let b = TachymeterLayer::builder(e.clone())
        .field("metric")
        .label_fields(["route", "http.method", "code"]);
    let d = dispatch(b);
    let long = "x".repeat(100);
    tracing::dispatcher::with_default(&d, || {
        for _ in 0..3 {
            let s = tracing::info_span!("req", metric = true, route = "/a", http.method = %"GET", code = 200u16);
            s.in_scope(|| mock.advance(MS));
        }
        let s = tracing::info_span!("req", metric = true, route = "/b", code = ?Some(404));
        s.in_scope(|| mock.advance(2 * MS));
        drop(s);
        let s = tracing::info_span!("other", metric = true, route = long.as_str(), code = true);
        drop(s);
        // Opted out: selected by the `metric` field, recorded as false.
        let s = tracing::info_span!("req", metric = false, route = "/a", http.method = "GET");
        s.in_scope(|| mock.advance(MS));
    });
    let s = e.flush();
    let a = [
        ("span", "req"),
        ("route", "/a"),
        ("http_method", "GET"),
        ("code", "200"),
    ];
    assert_eq!(busy_idle(&s, &a), ((3, 3 * NS), (3, 0)));
    // A field the span does not have is "" (Prometheus reads it as absent).
    let b = [
        ("span", "req"),
        ("route", "/b"),
        ("http_method", ""),
        ("code", "Some(404)"),
    ];
    assert_eq!(busy_idle(&s, &b), ((1, 2 * NS), (1, 0)));
    // Values are cut at 64 bytes.
    let cut = "x".repeat(64);
    let o = [
        ("span", "other"),
        ("route", cut.as_str()),
        ("http_method", ""),
        ("code", "true"),
    ];
    assert_eq!(busy_idle(&s, &o), ((1, 0), (1, 0)));
    // Nothing else: the opted-out span made no series and added no record.
    assert_eq!(s.of_kind(tachymeter::MetricKind::Histogram).count(), 6);
}

#[test]
fn spans_from_several_threads_are_counted_exactly() {
    let (e, _mock) = engine();
    let d = dispatch(
        TachymeterLayer::builder(e.clone())
            .target("app")
            .label_fields(["route"]),
    );
    const ROUTES: [&str; 3] = ["/a", "/b", "/c"];
    const THREADS: usize = 4;
    const SPANS: usize = 2_000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let d = &d;
            s.spawn(move || {
                tracing::dispatcher::with_default(d, || {
                    for i in 0..SPANS {
                        let route = ROUTES[(i + t) % 3];
                        let span =
                            tracing::span!(target: "app::http", Level::INFO, "request", route);
                        let _e = span.enter();
                        // A nested span on every other iteration.
                        if i % 2 == 0 {
                            tracing::span!(target: "app::db", Level::DEBUG, "query")
                                .in_scope(|| {});
                        }
                    }
                })
            });
        }
    });
    let mut want = [0u64; 3];
    for t in 0..THREADS {
        for i in 0..SPANS {
            want[(i + t) % 3] += 1;
        }
    }
    let s = e.flush();
    for (route, w) in ROUTES.iter().zip(want) {
        let l = [("span", "request"), ("route", *route)];
        assert_eq!(series(&s, "span_busy", &l).unwrap().0, w, "{route}");
        assert_eq!(series(&s, "span_idle", &l).unwrap().0, w, "{route}");
    }
    let q = [("span", "query"), ("route", "")];
    assert_eq!(
        series(&s, "span_busy", &q).unwrap().0,
        (THREADS * SPANS / 2) as u64
    );
}

/// A callsite of target `lib` that no `span!` macro registers: metadata to ask
/// `Dispatch::enabled` about.
struct OtherCallsite;
static OTHER_CALLSITE: OtherCallsite = OtherCallsite;
static OTHER_META: tracing::Metadata<'static> = tracing::Metadata::new(
    "other",
    "lib",
    Level::INFO,
    None,
    None,
    None,
    tracing::field::FieldSet::new(&[], tracing::callsite::Identifier(&OTHER_CALLSITE)),
    tracing::metadata::Kind::SPAN,
);
impl tracing::callsite::Callsite for OtherCallsite {
    fn set_interest(&self, _: tracing::subscriber::Interest) {}
    fn metadata(&self) -> &tracing::Metadata<'_> {
        &OTHER_META
    }
}

#[test]
fn a_dispatch_enabled_query_between_spans_loses_no_span() {
    // `Dispatch::enabled` asked for metadata the layer does not want (as `log_enabled!` through
    // tracing-log does) leaves the filter's "disabled" bit in tracing-subscriber's
    // thread-local state; a callsite cached as `Interest::always` would then skip `enabled`
    // and read the stale bit (tokio-rs/tracing#2519). The filter answers `sometimes` for the
    // spans it times, so `enabled` runs before each of them.
    let (e, mock) = engine();
    let d = dispatch(TachymeterLayer::builder(e.clone()).target("app"));
    tracing::dispatcher::with_default(&d, || {
        for _ in 0..3 {
            // Some(false) or Some(true): either way it only sets the thread-local bits.
            tracing::dispatcher::get_default(|d| d.enabled(&OTHER_META));
            tracing::span!(target: "app", Level::INFO, "timed").in_scope(|| mock.advance(MS));
        }
    });
    let s = e.flush();
    assert_eq!(busy_idle(&s, &[("span", "timed")]), ((3, 3 * NS), (3, 0)));
}

/// Counts the spans and events a plain (unfiltered) layer sees.
#[derive(Clone, Default)]
struct Seen {
    spans: Arc<AtomicUsize>,
    events: Arc<AtomicUsize>,
}

impl<S: tracing::Subscriber> Layer<S> for Seen {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        self.spans.fetch_add(1, Ordering::Relaxed);
    }
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }
}

impl Seen {
    fn counts(&self) -> (usize, usize) {
        (
            self.spans.load(Ordering::Relaxed),
            self.events.load(Ordering::Relaxed),
        )
    }
}

#[test]
fn spans_not_selected_record_nothing() {
    // Whether the registry builds such a span depends on the other dispatchers alive in the
    // process (this binary runs tests in parallel): `tests/interest.rs` checks it alone.
    let (e, mock) = engine();
    let d = dispatch(TachymeterLayer::builder(e.clone()).target("app"));
    tracing::dispatcher::with_default(&d, || {
        let other = tracing::span!(target: "lib::io", Level::INFO, "read");
        other.in_scope(|| mock.advance(MS));
        let timed = tracing::span!(target: "app", Level::INFO, "main");
        timed.in_scope(|| mock.advance(MS));
        tracing::info!(target: "app", "events are never recorded");
    });
    let s = e.flush();
    assert!(series(&s, "span_busy", &[("span", "read")]).is_none());
    assert_eq!(busy_idle(&s, &[("span", "main")]), ((1, NS), (1, 0)));
    assert_eq!(s.of_kind(tachymeter::MetricKind::Histogram).count(), 2);
}

/// The layer for `S`, timing spans named `timed`.
fn ours<S>(e: &Arc<Engine>) -> Filtered<TachymeterLayer, SpanFilter, S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    TachymeterLayer::builder(e.clone())
        .span_name("timed")
        .build()
        .unwrap()
}

#[test]
fn other_layers_still_see_every_span_and_event() {
    // Both orders of composition, and beside another per-layer-filtered layer.
    for order in 0..3 {
        let (e, mock) = engine();
        let seen = Seen::default();
        let d = match order {
            0 => Dispatch::new(
                tracing_subscriber::registry()
                    .with(ours(&e))
                    .with(seen.clone()),
            ),
            1 => Dispatch::new(
                tracing_subscriber::registry()
                    .with(seen.clone())
                    .with(ours(&e)),
            ),
            _ => {
                let all = tracing_subscriber::filter::filter_fn(|_| true);
                let seen = seen.clone().with_filter(all);
                Dispatch::new(tracing_subscriber::registry().with(ours(&e)).with(seen))
            }
        };
        tracing::dispatcher::with_default(&d, || {
            for _ in 0..5 {
                let untimed = tracing::info_span!("untimed");
                assert!(!untimed.is_disabled(), "order {order}");
                untimed.in_scope(|| {
                    tracing::info!("inside");
                    tracing::info_span!("timed").in_scope(|| mock.advance(MS));
                });
            }
        });
        assert_eq!(seen.counts(), (10, 5), "order {order}");
        let s = e.flush();
        assert_eq!(
            busy_idle(&s, &[("span", "timed")]),
            ((5, 5 * NS), (5, 0)),
            "order {order}"
        );
        assert!(series(&s, "span_busy", &[("span", "untimed")]).is_none());
    }
}

#[test]
fn label_sets_beyond_the_engine_limit_go_to_the_overflow_series() {
    let (clock, _mock) = tachymeter::Clock::mock();
    let e = Arc::new(
        Engine::builder()
            .background(false)
            .clock(clock)
            .label_set_limit(3) // two series and the overflow series
            .build()
            .unwrap(),
    );
    let filtered = TachymeterLayer::builder(e.clone())
        .label_fields(["route"])
        .build::<Registry>()
        .unwrap();
    let busy = filtered.inner().busy_family().clone();
    let d = Dispatch::new(tracing_subscriber::registry().with(filtered));
    tracing::dispatcher::with_default(&d, || {
        for route in ["/a", "/b", "/c", "/d", "/a", "/c"] {
            drop(tracing::info_span!("r", route));
        }
    });
    let s = e.flush();
    assert_eq!(
        series(&s, "span_busy", &[("span", "r"), ("route", "/a")])
            .unwrap()
            .0,
        2
    );
    assert_eq!(
        series(&s, "span_busy", &[("span", "r"), ("route", "/b")])
            .unwrap()
            .0,
        1
    );
    let overflow = [("span", OVERFLOW_VALUE), ("route", OVERFLOW_VALUE)];
    assert_eq!(series(&s, "span_busy", &overflow).unwrap().0, 3);
    assert_eq!(series(&s, "span_idle", &overflow).unwrap().0, 3);
    assert_eq!(busy.overflowed(), 3);
}

#[test]
fn build_errors_say_what_to_change() {
    let (e, _) = engine();
    let too_many = TachymeterLayer::builder(e.clone())
        .label_fields(["a", "b", "c", "d", "e"])
        .build::<Registry>();
    assert!(matches!(
        too_many,
        Err(BuildError::TooManyLabelFields { given: 5 })
    ));
    let span_label = TachymeterLayer::builder(e.clone())
        .label_fields(["span"])
        .build::<Registry>();
    assert!(matches!(span_label, Err(BuildError::Register(_))));
    let _taken = e.counter("taken_total").unwrap();
    let taken = TachymeterLayer::builder(e.clone())
        .names("taken_total", "free")
        .build::<Registry>();
    let err = taken.expect_err("name taken by a counter");
    assert!(err.to_string().contains("taken_total"), "{err}");
    // Two layers with the same names and labels share the families.
    for _ in 0..2 {
        TachymeterLayer::builder(e.clone())
            .label_fields(["route"])
            .build::<Registry>()
            .unwrap();
    }
}

#[test]
fn one_allocation_per_timed_span_beyond_the_registry_s_own() {
    tachymeter_test_alloc::assert_installed();
    const N: u64 = 10_000;
    let per_span = |d: &Dispatch, timed: bool| {
        tracing::dispatcher::with_default(d, || {
            let run = || {
                if timed {
                    let span = tracing::info_span!("work", route = "/api");
                    drop(span.enter());
                } else {
                    let span =
                        tracing::span!(target: "untimed", Level::INFO, "work", route = "/api");
                    drop(span.enter());
                }
            };
            for _ in 0..100 {
                run(); // callsite registration, the slab's pages, the series
            }
            // The fewest of three rounds: the registry's own structures (span slab pages,
            // per-thread stacks) still grow now and then while other tests run.
            (0..3)
                .map(|_| allocations(|| (0..N).for_each(|_| run())))
                .min()
                .unwrap()
        })
    };
    let (e, _) = engine();
    let plain = Dispatch::new(tracing_subscriber::registry());
    let baseline = per_span(&plain, true);
    let layered = dispatch(
        TachymeterLayer::builder(e.clone())
            .target("layer")
            .label_fields(["route"]),
    );
    let with_layer = per_span(&layered, true);
    let untimed = per_span(&layered, false);
    assert_eq!(
        baseline, 0,
        "a plain registry allocates nothing per span once warm"
    );
    // tracing-subscriber boxes each extension value: the span's timing state is that box.
    assert_eq!(
        with_layer - baseline,
        N,
        "baseline {baseline}, with the layer {with_layer}"
    );
    // Not selected: nothing in the layer (and, alone in a process, not even built).
    assert_eq!(untimed, 0);
    let s = e.flush();
    let l = [("span", "work"), ("route", "/api")];
    assert_eq!(series(&s, "span_busy", &l).unwrap().0, 3 * N + 100);
}
