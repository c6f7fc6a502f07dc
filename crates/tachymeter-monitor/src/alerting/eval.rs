//! A rule's statistic from a snapshot, over its window (see the module docs, "Windows").

use super::rule::{AlertRule, Count, Selector, Statistic, Window};
use std::collections::VecDeque;
use std::time::Duration;
use tachymeter::histogram::HistogramData;
use tachymeter::{MetricValue, Snapshot};

/// Most snapshots one windowed rule keeps for its window; beyond, every other point is dropped (the window
/// then starts at most one kept spacing earlier than asked).
pub const MAX_POINTS: usize = 10_000;

/// A rule's statistic at one snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reading {
    /// The value, in the statistic's unit; `None`: no value (see [`Statistic`]).
    pub(crate) value: Option<f64>,
    /// True if a selector matched no series of the statistic's kind.
    pub(crate) missing: bool,
}

/// The cumulative data of a rule's series at one snapshot.
#[derive(Debug, Clone)]
enum Cumulative {
    /// Summed counter totals, one per selector.
    Counters(Vec<u128>),
    /// The merged cumulative histogram and its steps per unit.
    Histogram(HistogramData, f64),
}

/// One kept snapshot of a rule's series.
#[derive(Debug, Clone)]
struct Point {
    sequence: u64,
    uptime: Duration,
    data: Cumulative,
}

/// The points a windowed rule keeps: at most the snapshots within its window, plus the newest
/// one before it.
#[derive(Debug, Default)]
pub(crate) struct Evaluator {
    points: VecDeque<Point>,
}

/// Counters summed over the selected series: `(total, window_rate)`.
fn counters(snap: &Snapshot, sel: &Selector) -> Option<(u128, f64)> {
    let mut out: Option<(u128, f64)> = None;
    for m in snap.metrics() {
        if m.desc.name != sel.metric || !sel.matches(&m.desc.labels) {
            continue;
        }
        if let MetricValue::Counter(c) = &m.value {
            let (t, r) = out.get_or_insert((0, 0.0));
            *t = t.saturating_add(c.total);
            *r += c.window_rate;
        }
    }
    out
}

/// One ratio term summed over its series: `(total, per second over the engine window)`.
fn count_of(snap: &Snapshot, term: &Count) -> Option<(u128, f64)> {
    match term {
        Count::Counter(sel) => counters(snap, sel),
        Count::Observations(sel) => {
            let mut out: Option<(u128, f64)> = None;
            for m in snap.metrics() {
                if m.desc.name != sel.metric || !sel.matches(&m.desc.labels) {
                    continue;
                }
                if let MetricValue::Histogram(h) = &m.value {
                    let (t, r) = out.get_or_insert((0, 0.0));
                    *t = t.saturating_add(u128::from(h.cumulative.count()));
                    *r += h.throughput;
                }
            }
            out
        }
    }
}

/// Gauges summed over the selected series.
fn gauges(snap: &Snapshot, sel: &Selector) -> Option<f64> {
    let mut out = None;
    for m in snap.metrics() {
        if m.desc.name != sel.metric || !sel.matches(&m.desc.labels) {
            continue;
        }
        if let MetricValue::Gauge(g) = &m.value {
            *out.get_or_insert(0.0) += g.value;
        }
    }
    out
}

/// The selected histograms merged: cumulative, engine window, summed throughput, steps/unit.
struct Histograms {
    cumulative: HistogramData,
    window: HistogramData,
    throughput: f64,
    steps_per_unit: f64,
}

fn histograms(snap: &Snapshot, sel: &Selector, want_window: bool) -> Option<Histograms> {
    let mut out: Option<Histograms> = None;
    for m in snap.metrics() {
        if m.desc.name != sel.metric || !sel.matches(&m.desc.labels) {
            continue;
        }
        let MetricValue::Histogram(h) = &m.value else {
            continue;
        };
        match &mut out {
            None => {
                out = Some(Histograms {
                    cumulative: h.cumulative.clone(),
                    window: if want_window {
                        h.window.clone()
                    } else {
                        HistogramData::default()
                    },
                    throughput: h.throughput,
                    steps_per_unit: h.steps_per_unit,
                })
            }
            Some(o) => {
                o.cumulative.merge(&h.cumulative);
                if want_window {
                    o.window.merge(&h.window);
                }
                o.throughput += h.throughput;
            }
        }
    }
    out
}

/// `later − earlier`, or `later` when `earlier` is not an earlier state of it (a reset, or a
/// series that came or went: a count went down or the schema changed), as PromQL's `rate`
/// treats a counter reset.
fn since(later: u128, earlier: u128) -> u128 {
    if later >= earlier {
        later - earlier
    } else {
        later
    }
}

fn hist_since(later: &HistogramData, earlier: Option<&HistogramData>) -> HistogramData {
    match earlier {
        Some(e)
            if e.schema() == later.schema()
                && e.count() <= later.count()
                && e.sum() <= later.sum() =>
        {
            later.delta_since(e)
        }
        _ => later.clone(),
    }
}

/// The statistic of a histogram's data in the window.
fn of_histogram(stat: &Statistic, data: &HistogramData, spu: f64, secs: f64) -> Option<f64> {
    match stat {
        Statistic::HistogramQuantile { q, .. } => data.quantile(*q).map(|v| v / spu),
        Statistic::HistogramMean(_) => data.mean().map(|v| v / spu),
        Statistic::Throughput(_) => (secs > 0.0).then(|| data.count() as f64 / secs),
        _ => None,
    }
}

impl Evaluator {
    /// The rule's statistic at `snap`; keeps `snap`'s point if the window needs it.
    pub(crate) fn read(&mut self, rule: &AlertRule, snap: &Snapshot) -> Reading {
        let missing = Reading {
            value: None,
            missing: true,
        };
        let stat = &rule.statistic;
        let windowed = !matches!(rule.window, Window::Engine);
        let data = match stat {
            Statistic::GaugeValue(sel) => {
                return match gauges(snap, sel) {
                    Some(v) => Reading {
                        value: Some(v),
                        missing: false,
                    },
                    None => missing,
                };
            }
            Statistic::CounterRate(sel) => {
                let Some((total, rate)) = counters(snap, sel) else {
                    return missing;
                };
                if !windowed {
                    return Reading {
                        value: Some(rate),
                        missing: false,
                    };
                }
                Cumulative::Counters(vec![total])
            }
            Statistic::CounterRatio {
                numerator,
                denominator,
            } => {
                let (Some((n, nr)), Some((d, dr))) =
                    (counters(snap, numerator), counters(snap, denominator))
                else {
                    return missing;
                };
                if !windowed {
                    return Reading {
                        value: (dr > 0.0).then(|| nr / dr),
                        missing: false,
                    };
                }
                Cumulative::Counters(vec![n, d])
            }
            Statistic::Ratio {
                numerator,
                denominator,
            } => {
                let (mut totals, mut nr, mut dr) = (Vec::new(), 0.0, 0.0);
                let mut denominator_seen = false;
                for (i, term) in numerator.iter().chain(denominator).enumerate() {
                    let (t, r) = count_of(snap, term).map_or((0, 0.0), |x| {
                        denominator_seen |= i >= numerator.len();
                        x
                    });
                    totals.push(t);
                    if i < numerator.len() {
                        nr += r;
                    } else {
                        dr += r;
                    }
                }
                if !denominator_seen {
                    return missing;
                }
                if !windowed {
                    return Reading {
                        value: (dr > 0.0).then(|| nr / dr),
                        missing: false,
                    };
                }
                Cumulative::Counters(totals)
            }
            Statistic::HistogramQuantile { series: sel, .. }
            | Statistic::HistogramMean(sel)
            | Statistic::Throughput(sel) => {
                let Some(h) = histograms(snap, sel, !windowed) else {
                    return missing;
                };
                if !windowed {
                    let value = match stat {
                        Statistic::Throughput(_) => Some(h.throughput),
                        _ => of_histogram(stat, &h.window, h.steps_per_unit, 0.0),
                    };
                    return Reading {
                        value,
                        missing: false,
                    };
                }
                Cumulative::Histogram(h.cumulative, h.steps_per_unit)
            }
        };
        let point = Point {
            sequence: snap.sequence(),
            uptime: snap.uptime(),
            data,
        };
        let value = self.windowed(rule, &point);
        self.keep(point);
        Reading {
            value,
            missing: false,
        }
    }

    /// The value over the window ending at `now`, from the kept points; drops the points no
    /// later window needs.
    fn windowed(&mut self, rule: &AlertRule, now: &Point) -> Option<f64> {
        // The window's start: `None` = the engine's start (zero data at uptime 0).
        let from_start = match rule.window {
            Window::Intervals(n) => now.sequence <= u64::from(n),
            Window::Duration(d) => now.uptime <= d,
            // Read from the snapshot itself (`read` keeps no point for it).
            Window::Engine => return None,
        };
        let base: Option<&Point> = if from_start {
            None
        } else {
            // The newest point at or before the window's start; else the oldest (the window
            // is then shorter: this evaluator saw no snapshot old enough).
            let at_or_before = |p: &Point| match rule.window {
                Window::Intervals(n) => p.sequence <= now.sequence - u64::from(n),
                Window::Duration(d) => p.uptime <= now.uptime - d,
                Window::Engine => false,
            };
            let i = self.points.iter().rposition(at_or_before);
            if let Some(i) = i {
                // Later windows start later: the points before this one are never needed.
                self.points.drain(..i);
            }
            Some(self.points.front()?)
        };
        let secs = now
            .uptime
            .saturating_sub(base.map_or(Duration::ZERO, |b| b.uptime))
            .as_secs_f64();
        match (&now.data, base.map(|b| &b.data)) {
            (Cumulative::Counters(c), b) => {
                let b = match b {
                    Some(Cumulative::Counters(b)) => b.as_slice(),
                    _ => &[],
                };
                let inc = |i: usize| since(c[i], b.get(i).copied().unwrap_or(0));
                match rule.statistic {
                    Statistic::CounterRate(_) => (secs > 0.0).then(|| inc(0) as f64 / secs),
                    Statistic::CounterRatio { .. } => {
                        let d = inc(1);
                        (d > 0).then(|| inc(0) as f64 / d as f64)
                    }
                    Statistic::Ratio { ref numerator, .. } => {
                        let k = numerator.len();
                        let n: u128 = (0..k).map(inc).sum();
                        let d: u128 = (k..c.len()).map(inc).sum();
                        (d > 0).then(|| n as f64 / d as f64)
                    }
                    _ => None,
                }
            }
            (Cumulative::Histogram(h, spu), b) => {
                let b = match b {
                    Some(Cumulative::Histogram(b, _)) => Some(b),
                    _ => None,
                };
                of_histogram(&rule.statistic, &hist_since(h, b), *spu, secs)
            }
        }
    }

    /// Keeps `point`, bounded by [`MAX_POINTS`].
    fn keep(&mut self, point: Point) {
        self.points.push_back(point);
        if self.points.len() > MAX_POINTS {
            // Thin out evenly (keeps the oldest point, so the window's start stays covered).
            let mut i = 0;
            self.points.retain(|_| {
                i += 1;
                i % 2 == 1
            });
        }
    }
}
