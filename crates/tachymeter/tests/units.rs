//! Units: `record_f64` stores values of a time unit as integer nanoseconds (and ratios and
//! percentages in fixed fractions), nothing silently becomes 0, and durations land right in any
//! time unit. The oracle is the arithmetic the unit table documents.

use proptest::prelude::*;
use std::time::Duration;
use tachymeter::{Engine, MetricValue, Opts, RegisterError, Unit};

fn engine() -> Engine {
    Engine::builder().background(false).build().unwrap()
}

#[test]
fn float_values_are_stored_at_the_unit_resolution() {
    let e = engine();
    let cases: [(&str, f64, u128); 7] = [
        ("seconds", 0.0123, 12_300_000),
        ("milliseconds", 1.5, 1_500_000),
        ("microseconds", 2.25, 2_250),
        ("nanoseconds", 7.4, 7),
        ("ratio", 0.25, 250_000),
        ("percent", 12.5, 125_000),
        ("bytes", 1.4, 1),
    ];
    for (i, (unit, v, steps)) in cases.iter().enumerate() {
        let h = e.histogram(Opts::new(format!("u{i}")).unit(*unit)).unwrap();
        h.record_f64(*v);
        let s = e.flush();
        let hs = s.histogram(&format!("u{i}")).unwrap();
        assert_eq!(hs.cumulative.sum(), *steps, "{unit}");
        assert_eq!(hs.steps_per_unit, Unit::from(*unit).steps_per_unit());
        let back = hs.in_unit(hs.cumulative.sum() as f64);
        assert!(
            (back - v).abs() <= 0.5 / hs.steps_per_unit,
            "{unit}: {back} vs {v}"
        );
    }
}

#[test]
fn values_below_the_resolution_are_counted_not_silent() {
    let e = engine();
    let h = e.histogram(Opts::new("tiny").unit("seconds")).unwrap();
    h.record_f64(1e-10); // 0.1 ns
    h.record_f64(0.0); // a real zero: not counted
    h.record_f64(6e-10); // 0.6 ns rounds to 1
    let s = e.flush();
    let hs = s.histogram("tiny").unwrap();
    assert_eq!(hs.below_resolution, 1);
    assert_eq!(s.stats().below_resolution, 1);
    assert_eq!(hs.cumulative.zero_count(), 2);
    assert_eq!(hs.cumulative.count(), 3);
    assert_eq!(hs.cumulative.sum(), 1);
    // Unit-less histograms round to integers: 0.4 is below their resolution.
    let plain = e.histogram("plain").unwrap();
    plain.record_f64(0.4);
    assert_eq!(e.flush().histogram("plain").unwrap().below_resolution, 1);
}

#[test]
fn durations_and_timers_land_right_in_every_time_unit() {
    let e = engine();
    for unit in ["seconds", "milliseconds", "microseconds", "nanoseconds"] {
        let name = format!("d_{unit}");
        let h = e.histogram(Opts::new(name.as_str()).unit(unit)).unwrap();
        h.record_duration(Duration::from_millis(2));
        let s = e.flush();
        let hs = s.histogram(&name).unwrap();
        // 2 ms in the unit: 0.002 s, 2 ms, 2000 µs, 2,000,000 ns.
        let want = 0.002 * Unit::from(unit).base().1;
        assert_eq!(hs.in_unit(hs.cumulative.sum() as f64), want, "{unit}");
    }
}

#[test]
fn exposed_names_use_base_units() {
    let e = engine();
    let _ = e.histogram(Opts::new("lat").unit("nanoseconds")).unwrap();
    let err = e.gauge("lat_seconds").unwrap_err();
    assert!(
        matches!(err, RegisterError::NameCollision { .. }),
        "{err:?}"
    );
    assert_eq!(
        tachymeter::exposed_names(
            "busy_total",
            tachymeter::MetricKind::Counter,
            "milliseconds"
        ),
        ["busy_seconds", "busy_seconds_total", "busy_seconds_created"]
    );
}

proptest! {
    /// Round trip within half a nanosecond, whatever the time unit.
    #[test]
    fn seconds_round_trip_within_half_a_nanosecond(v in 1e-9f64..1e3) {
        let e = engine();
        let h = e.histogram(Opts::new("rt").unit("seconds")).unwrap();
        h.record_f64(v);
        let s = e.flush();
        let MetricValue::Histogram(hs) = &s.get("rt", &[]).unwrap().value else { unreachable!() };
        let back = hs.in_unit(hs.cumulative.sum() as f64);
        prop_assert!((back - v).abs() <= 0.5e-9 + v * 1e-15, "{} vs {}", back, v);
    }
}

#[test]
fn minutes_hours_and_days_are_time_units_stored_in_nanoseconds() {
    let engine = engine();
    for (unit, ns_per_unit) in [
        ("minutes", 60_000_000_000u64),
        ("hours", 3_600_000_000_000),
        ("days", 86_400_000_000_000),
    ] {
        let u = Unit::from(unit);
        assert!(u.is_time(), "{unit}");
        assert_eq!(u.steps_per_unit(), ns_per_unit as f64, "{unit}");
        assert_eq!(u.base().0, "seconds");
        assert_eq!(u.steps_per_base(), 1e9);
        let h = engine
            .histogram(Opts::new(format!("age_{unit}")).unit(unit))
            .unwrap();
        h.record_f64(8.5);
        h.record_duration(Duration::from_secs(90));
        let snap = engine.flush();
        let hs = snap.histogram(&format!("age_{unit}")).unwrap();
        let want = ns_per_unit as u128 * 17 / 2 + 90_000_000_000;
        assert_eq!(hs.cumulative.sum(), want, "{unit}");
        assert_eq!(hs.cumulative.count(), 2);
    }
}
