//! [`BusinessMonitor`]: user actions with per-type performance baselines, and conversion
//! events (the seeds' `BusinessMetricsCollector`: `record_user_action`,
//! `record_conversion_event`, `generate_business_report`).
//!
//! Recorded, per monitor instance (label `instance`):
//!
//! | metric | kind | more labels |
//! |---|---|---|
//! | `user_action_duration` | histogram, seconds | `action_type` |
//! | `user_action_failures_total` | counter (actions recorded with `success = false`) | `action_type` |
//! | `user_action_baseline_duration` | histogram, seconds (the baseline: the type's first N actions) | `action_type` |
//! | `user_action_invalid_total` | counter (NaN, negative or infinite durations, not recorded) | |
//! | `business_conversions_total` | counter | `event_type` |
//!
//! # Baselines
//! The baseline of an action type is its **first N actions** (successful or not; N =
//! [`baseline_samples`](BusinessMonitorBuilder::baseline_samples), default 100): their mean
//! and p95 duration. Exactly N actions enter it, also when several threads record at once
//! (each action takes a ticket; the first N tickets go in). The baseline is complete once it
//! holds N actions; from then on every action is compared with it:
//! `deviation_from_baseline = (mean after the baseline − baseline mean) / baseline mean`
//! (exact means; positive: slower than the baseline), `None` until the baseline is complete
//! and at least one action came after it. The seeds' running average of every action is
//! `avg_duration`.
//!
//! # Conversions
//! `record_conversion(event_type)` counts one conversion. The conversion rate of a type is
//! its conversions per user action recorded (every action type; 0 without actions).
//!
//! The monitor keeps a bounded table, action type → ticket counter and handles (at most
//! [`max_action_types`](BusinessMonitorBuilder::max_action_types), default 256): further types
//! are recorded under the action type `__overflow__`. Event types are label values of a
//! family: keep their set bounded. User ids are not recorded (they would be unbounded labels).

use crate::table::{str_hash, SetOnceTable};
use crate::{Elapsed, EngineRef};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tachymeter::{
    Counter, CounterFamily, Engine, Histogram, HistogramFamily, HistogramSnapshot, MetricValue,
    Opts, RegisterError, OVERFLOW_VALUE,
};

/// An action type's baseline (the seeds' `performance_baselines` values). Seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Baseline {
    /// Actions in the baseline (at most N).
    pub sample_count: u64,
    /// Whether it holds its N actions (only a complete baseline gives a deviation).
    pub complete: bool,
    /// Mean duration of the baseline's actions (exact).
    pub avg_duration: Option<f64>,
    /// 95th percentile of the baseline's actions (within the histogram's 0.55% bound).
    pub p95_duration: Option<f64>,
}

/// Statistics of one action type. Seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActionStats {
    /// Actions recorded.
    pub count: u64,
    /// Actions recorded as successful.
    pub successful_actions: u64,
    /// `successful_actions / count` (1 without actions).
    pub success_rate: f64,
    /// Mean duration of every action (exact; the seeds' running `avg_duration`).
    pub avg_duration: Option<f64>,
    /// 95th percentile of every action.
    pub p95_duration: Option<f64>,
    /// The baseline.
    pub baseline: Baseline,
    /// Mean duration of the actions after the baseline (exact).
    pub avg_duration_after_baseline: Option<f64>,
    /// `(avg_duration_after_baseline − baseline mean) / baseline mean` (see the module docs).
    pub deviation_from_baseline: Option<f64>,
}

/// Totals over every action type (the seeds' `user_actions` report keys). Seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActionTotals {
    /// Actions recorded.
    pub total_actions: u64,
    /// Actions recorded as successful.
    pub successful_actions: u64,
    /// `successful_actions / total_actions` (1 without actions).
    pub success_rate: f64,
    /// Mean duration (exact).
    pub average_duration: Option<f64>,
}

/// Conversions (the seeds' `conversions` report keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ConversionStats {
    /// Conversions of every type.
    pub total_conversions: u64,
    /// Conversions per event type.
    pub conversion_by_type: BTreeMap<String, u64>,
    /// Conversions per user action recorded, per event type.
    pub conversion_rates: BTreeMap<String, f64>,
}

/// The seeds' `generate_business_report()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BusinessReport {
    /// Totals over every action type.
    pub user_actions: ActionTotals,
    /// Per action type.
    pub action_types: BTreeMap<String, ActionStats>,
    /// Conversions.
    pub conversions: ConversionStats,
    /// Per action type, its baseline.
    pub performance_baselines: BTreeMap<String, Baseline>,
}

/// One action type: its baseline tickets and handles.
struct Action {
    name: Box<str>,
    /// Tickets taken for the baseline (stops growing soon after `baseline_samples`).
    tickets: AtomicU64,
    duration: Histogram,
    baseline: Histogram,
    failures: Counter,
}

/// User actions with baselines, and conversions, recorded from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::BusinessMonitor;
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let business = BusinessMonitor::builder()
///     .engine(engine.clone())
///     .baseline_samples(2)
///     .build()
///     .unwrap();
/// business.record_user_action("checkout", 1.0, true); // the baseline: 1 s and 2 s
/// business.record_user_action("checkout", 2.0, true);
/// business.record_user_action("checkout", 3.0, false); // after it: 3 s, 2× the baseline
/// business.record_conversion("purchase");
/// engine.flush();
/// let report = business.generate_business_report();
/// let checkout = &report.action_types["checkout"];
/// assert_eq!(checkout.baseline.avg_duration, Some(1.5));
/// assert_eq!(checkout.deviation_from_baseline, Some(1.0));
/// assert_eq!(report.user_actions.successful_actions, 2);
/// assert_eq!(report.conversions.conversion_rates["purchase"], 1.0 / 3.0);
/// ```
pub struct BusinessMonitor {
    engine: EngineRef,
    instance: String,
    baseline_samples: u64,
    families: Families,
    conversions: CounterFamily,
    invalid: Counter,
    actions: SetOnceTable<Action>,
    /// Where types beyond the table's bound are recorded (made on first use).
    overflow: once_cell::sync::OnceCell<Action>,
}

impl std::fmt::Debug for BusinessMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusinessMonitor")
            .field("instance", &self.instance)
            .field("baseline_samples", &self.baseline_samples)
            .field("action_types", &self.actions)
            .finish_non_exhaustive()
    }
}

/// The families each action type's handles are taken from, once.
struct Families {
    duration: HistogramFamily,
    baseline: HistogramFamily,
    failures: CounterFamily,
}

impl Families {
    fn action(&self, instance: &str, name: &str) -> Action {
        let values = [instance, name];
        Action {
            name: name.into(),
            tickets: AtomicU64::new(0),
            duration: self.duration.with(&values).clone(),
            baseline: self.baseline.with(&values).clone(),
            failures: self.failures.with(&values).clone(),
        }
    }
}

/// Configures a [`BusinessMonitor`].
#[derive(Debug, Clone)]
#[must_use]
pub struct BusinessMonitorBuilder {
    engine: EngineRef,
    instance: Option<String>,
    baseline_samples: u64,
    max_action_types: usize,
}

impl BusinessMonitorBuilder {
    /// Records into `engine` instead of the process-wide one.
    pub fn engine(mut self, engine: Arc<Engine>) -> Self {
        self.engine = EngineRef::Shared(engine);
        self
    }

    /// The `instance` label (default: `0`, `1`, … in creation order).
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    /// The number N of first actions of a type that make its baseline (default 100).
    pub fn baseline_samples(mut self, n: u64) -> Self {
        self.baseline_samples = n;
        self
    }

    /// The most action types told apart (default 256; see the module docs).
    pub fn max_action_types(mut self, n: usize) -> Self {
        self.max_action_types = n;
        self
    }

    /// Declares the monitor's metric families.
    ///
    /// # Errors
    /// A registration error of the engine (a name used as another kind there).
    pub fn build(self) -> Result<BusinessMonitor, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        let per_action = ["instance", "action_type"];
        Ok(BusinessMonitor {
            families: Families {
                duration: e.histogram_family(
                    Opts::new("user_action_duration")
                        .unit("seconds")
                        .help("User action duration by action type."),
                    &per_action,
                )?,
                baseline: e.histogram_family(
                    Opts::new("user_action_baseline_duration")
                        .unit("seconds")
                        .help("Duration of the first actions of each type (the baseline)."),
                    &per_action,
                )?,
                failures: e.counter_family(
                    Opts::new("user_action_failures_total").help("User actions that failed."),
                    &per_action,
                )?,
            },
            conversions: e.counter_family(
                Opts::new("business_conversions_total").help("Conversion events by type."),
                &["instance", "event_type"],
            )?,
            invalid: e.counter(
                Opts::new("user_action_invalid_total")
                    .help("User actions with a NaN, negative or infinite duration (not recorded).")
                    .label("instance", instance.as_str()),
            )?,
            actions: SetOnceTable::new(self.max_action_types),
            overflow: once_cell::sync::OnceCell::new(),
            baseline_samples: self.baseline_samples,
            engine: self.engine,
            instance,
        })
    }
}

impl BusinessMonitor {
    /// A builder (defaults: the process-wide engine, instance `0`, `1`, …, baselines of 100
    /// actions, 256 action types).
    pub fn builder() -> BusinessMonitorBuilder {
        BusinessMonitorBuilder {
            engine: EngineRef::Global,
            instance: None,
            baseline_samples: 100,
            max_action_types: 256,
        }
    }

    /// Records one user action: its type, duration (float seconds or `Duration`) and
    /// outcome. No lock and no allocation once the type has been seen; one atomic increment
    /// per action while the type's baseline fills, a load after. An invalid duration is
    /// counted in `user_action_invalid_total` and nothing else is recorded.
    #[inline]
    pub fn record_user_action(&self, action_type: &str, duration: impl Elapsed, success: bool) {
        let Some(ns) = duration.nanos() else {
            self.invalid.increment();
            return;
        };
        let a = self.action(action_type);
        a.duration.record(ns);
        if !success {
            a.failures.increment();
        }
        // Relaxed: the tickets only need to be unique; the load skips the increment once the
        // baseline is full, so the count stops soon after `baseline_samples`.
        if a.tickets.load(Ordering::Relaxed) < self.baseline_samples
            && a.tickets.fetch_add(1, Ordering::Relaxed) < self.baseline_samples
        {
            a.baseline.record(ns);
        }
    }

    /// Counts one conversion event of `event_type` (a lock-free family lookup).
    #[inline]
    pub fn record_conversion(&self, event_type: &str) {
        self.conversions
            .with(&[self.instance.as_str(), event_type])
            .increment();
    }

    /// The `instance` label of this monitor's metrics.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The number of first actions that make a type's baseline.
    pub fn baseline_samples(&self) -> u64 {
        self.baseline_samples
    }

    #[inline]
    fn action(&self, action_type: &str) -> &Action {
        let h = str_hash(action_type);
        match self.actions.find(h, |a| &*a.name == action_type) {
            Some(a) => a,
            None => self.action_cold(h, action_type),
        }
    }

    /// A type's first action: its table entry, or the overflow entry when the table is full.
    #[cold]
    #[inline(never)]
    fn action_cold(&self, h: u64, action_type: &str) -> &Action {
        self.actions
            .insert_with(
                h,
                |a| &*a.name == action_type,
                || self.families.action(&self.instance, action_type),
            )
            .unwrap_or_else(|| {
                self.overflow
                    .get_or_init(|| self.families.action(&self.instance, OVERFLOW_VALUE))
            })
    }

    /// Per action type, from the engine's latest snapshot.
    pub fn action_stats(&self) -> BTreeMap<String, ActionStats> {
        self.action_stats_of(&self.engine.snapshot())
    }

    /// The seeds' `generate_business_report()`, from the engine's latest snapshot.
    pub fn generate_business_report(&self) -> BusinessReport {
        let snap = self.engine.snapshot();
        let action_types = self.action_stats_of(&snap);
        let (mut total, mut ok, mut sum_ns) = (0u64, 0u64, 0u128);
        for a in action_types.values() {
            total += a.count;
            ok += a.successful_actions;
        }
        let mut conversion_by_type = BTreeMap::new();
        for m in snap.metrics() {
            if m.desc.label("instance") != Some(self.instance.as_str()) {
                continue;
            }
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "user_action_duration") => {
                    sum_ns += h.cumulative.sum();
                }
                (MetricValue::Counter(c), "business_conversions_total") => {
                    if let Some(t) = m.desc.label("event_type") {
                        let n = u64::try_from(c.total).unwrap_or(u64::MAX);
                        conversion_by_type.insert(t.to_string(), n);
                    }
                }
                _ => {}
            }
        }
        let conversion_rates = conversion_by_type
            .iter()
            .map(|(t, &n)| (t.clone(), ratio(n, total, 0.0)))
            .collect();
        BusinessReport {
            user_actions: ActionTotals {
                total_actions: total,
                successful_actions: ok,
                success_rate: ratio(ok, total, 1.0),
                average_duration: (total > 0).then(|| sum_ns as f64 / 1e9 / total as f64),
            },
            performance_baselines: action_types
                .iter()
                .map(|(t, a)| (t.clone(), a.baseline.clone()))
                .collect(),
            action_types,
            conversions: ConversionStats {
                total_conversions: conversion_by_type.values().sum(),
                conversion_by_type,
                conversion_rates,
            },
        }
    }

    fn action_stats_of(&self, snap: &tachymeter::Snapshot) -> BTreeMap<String, ActionStats> {
        #[derive(Default)]
        struct Acc<'s> {
            all: Option<&'s HistogramSnapshot>,
            base: Option<&'s HistogramSnapshot>,
            failures: u64,
        }
        let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
        for m in snap.metrics() {
            if m.desc.label("instance") != Some(self.instance.as_str()) {
                continue;
            }
            let Some(t) = m.desc.label("action_type") else {
                continue;
            };
            let a = acc.entry(t).or_default();
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "user_action_duration") => a.all = Some(h),
                (MetricValue::Histogram(h), "user_action_baseline_duration") => a.base = Some(h),
                (MetricValue::Counter(c), "user_action_failures_total") => {
                    a.failures = u64::try_from(c.total).unwrap_or(u64::MAX);
                }
                _ => {}
            }
        }
        let n = self.baseline_samples;
        acc.into_iter()
            .filter_map(|(t, a)| {
                let all = &a.all.filter(|h| h.cumulative.count() > 0)?.cumulative;
                let count = all.count();
                let secs = |ns: Option<f64>| ns.map(|x| x / 1e9);
                let (base_count, base_sum, base_mean, base_p95) = match a.base {
                    Some(b) => {
                        let d = &b.cumulative;
                        (d.count(), d.sum(), d.mean(), d.p95())
                    }
                    None => (0, 0, None, None),
                };
                let complete = base_count >= n;
                let after = count.saturating_sub(base_count);
                let after_mean = (complete && after > 0)
                    .then(|| all.sum().saturating_sub(base_sum) as f64 / after as f64);
                let deviation = match (after_mean, base_mean) {
                    (Some(now), Some(base)) if base > 0.0 => Some((now - base) / base),
                    _ => None,
                };
                let successful = count.saturating_sub(a.failures);
                Some((
                    t.to_string(),
                    ActionStats {
                        count,
                        successful_actions: successful,
                        success_rate: ratio(successful, count, 1.0),
                        avg_duration: secs(all.mean()),
                        p95_duration: secs(all.p95()),
                        baseline: Baseline {
                            sample_count: base_count,
                            complete,
                            avg_duration: secs(base_mean),
                            p95_duration: secs(base_p95),
                        },
                        avg_duration_after_baseline: secs(after_mean),
                        deviation_from_baseline: deviation,
                    },
                ))
            })
            .collect()
    }
}

fn ratio(part: u64, whole: u64, empty: f64) -> f64 {
    if whole == 0 {
        empty
    } else {
        part as f64 / whole as f64
    }
}

/// The process-wide business monitor (instance `global`), made on first use; if the
/// process-wide engine already uses one of its names as another kind, it records into a
/// private engine.
pub fn global_business_monitor() -> &'static BusinessMonitor {
    static GLOBAL: once_cell::sync::OnceCell<BusinessMonitor> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            let mut b = BusinessMonitor::builder().instance("global");
            b.engine = engine;
            b.build()
        })
    })
}
