//! Alerting: rules on snapshot statistics, evaluated off the recording threads, with `for`,
//! hysteresis, cooldown, severity escalation and handlers; the same rules as a Prometheus
//! rules file (the seeds' `PerformanceAlerting` and real-time alerting).
//!
//! An [`AlertRule`] names a [`Statistic`] of one or two series (a gauge value or resource
//! reading, a counter rate, a ratio of two counters, a histogram quantile or mean, a
//! throughput), a [`Comparison`] and threshold, a resolve threshold, a [`Severity`], a
//! [`Window`], `for` and a cooldown. An [`AlertManager`] owns rules and handlers and
//! evaluates the rules on a snapshot: synchronously with [`AlertManager::evaluate`], or on a
//! background thread for every published snapshot with [`AlertManager::start`]. Rules never
//! run on a recording thread, and a recording thread never waits for them.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tachymeter::{Clock, Engine, Opts};
//! use tachymeter_monitor::alerting::{AlertManager, AlertRule, Severity, Window};
//!
//! let (clock, mock) = Clock::mock();
//! let engine = Engine::builder().background(false).clock(clock).build().unwrap();
//! let latency = engine.histogram(Opts::new("request_latency").unit("seconds")).unwrap();
//! let alerts = AlertManager::new();
//! alerts
//!     .add_rule(
//!         AlertRule::builder("HighLatency")
//!             .quantile("request_latency", 0.95)
//!             .above(0.100) // seconds
//!             .resolve(0.080)
//!             .window(Window::Intervals(5))
//!             .for_duration(Duration::from_secs(2))
//!             .build()
//!             .unwrap(),
//!     )
//!     .unwrap();
//! alerts.on(Severity::Warning, |e| println!("{}", e.log_line()));
//! for _ in 0..3 {
//!     latency.record_f64(0.110); // 10% above: a warning (above 0.120: critical)
//!     mock.advance(Duration::from_secs(1));
//!     alerts.evaluate(&engine.flush());
//! }
//! assert_eq!(alerts.active()[0].severity, Severity::Warning);
//! assert_eq!(alerts.summary().total_alerts, 1);
//! ```
//!
//! # Decisions
//!
//! The firing, resolving and escalation rules are stated on [`AlertRule`]. In short: fire when
//! the value is beyond the threshold at every evaluation for `for` (and the rule last fired at
//! least `cooldown` ago — a firing held back by the cooldown is counted in
//! [`AlertSummary::suppressed`] and happens when the cooldown ends, if the condition still
//! holds); resolve only when the value is back past the *resolve* threshold; escalate to
//! critical beyond the threshold by more than 20% (the seeds' `"high" if value > threshold *
//! 1.2`). Times are engine time ([`Snapshot::uptime`](tachymeter::Snapshot::uptime)), so a
//! mock clock drives `for` and the cooldown; event timestamps are the snapshot's wall time.
//! A statistic without a value (no series, an empty window, a zero denominator) leaves the
//! rule as it is, except that a pending `for` starts over; a rule whose series is missing is
//! listed in [`AlertSummary::missing_series`].
//!
//! Each event goes to the handlers registered for its severity ([`AlertManager::on`]) and to
//! every [`AlertManager::on_any`] handler, on the evaluating thread, without any lock held. A
//! handler that panics is caught and counted ([`AlertManager::handler_panics`]); the other
//! handlers still run. Built-in handlers: [`log_handler`] (one line per event) and
//! [`json_lines_handler`] (one JSON object per line, appended to a file).
//!
//! # Windows
//!
//! - [`Window::Engine`]: the engine's rolling window (`EngineBuilder::window` intervals),
//!   read from the snapshot: `h.window` for quantiles and means, `h.throughput`,
//!   `c.window_rate` for rates and ratios. Exact by construction; nothing is kept.
//! - [`Window::Intervals(n)`](Window::Intervals): the last `n` published intervals. The rule
//!   keeps each evaluated snapshot's *cumulative* data of its series (counter totals, the
//!   merged cumulative histogram) and subtracts the data of the snapshot `n` sequence numbers
//!   back, so the statistic covers exactly the observations of those `n` intervals, and a rate
//!   divides by their exact engine time. Before `n` intervals have been published the window
//!   is everything since the engine started. If the evaluator did not see the snapshot `n`
//!   back (the background thread fell behind, or the manager started late), the newest older
//!   one it saw is used: the window then covers more intervals, never fewer, except just
//!   after a late start, when the oldest snapshot seen is used.
//! - [`Window::Duration(d)`](Window::Duration): the same with the newest kept snapshot at
//!   least `d` of engine time old: the window covers `d` plus less than one interval (exactly
//!   `d` when `d` is a multiple of a fixed interval).
//!
//! A series whose cumulative data went down since the window's start (it was reset) counts
//! from zero, as PromQL's `rate` treats a counter reset. A rule keeps at most
//! [`MAX_POINTS`] snapshots; past that it thins them out evenly. Gauges are
//! read at the snapshot (no window). Every selected series is combined into one value
//! (summed, histograms merged), so one rule is one alert.
//!
//! # Prometheus
//!
//! [`rules_yaml`] (and [`PromRules`] for options) writes the rules as a Prometheus
//! alerting-rules file (`promtool check rules` accepts it; a test runs it), with the exporters'
//! sample names ([`tachymeter::exposed_names`]: counters `…_total`, time-unit histograms
//! `…_seconds_bucket` / `_sum` / `_count`, thresholds converted to the base unit):
//!
//! | statistic | PromQL |
//! |---|---|
//! | gauge value | `sum(g{…})` |
//! | counter rate | `sum(rate(c_total{…}[r]))` |
//! | counter ratio | `sum(rate(n_total{…}[r])) / sum(rate(d_total{…}[r]))` |
//! | histogram quantile | `histogram_quantile(q, sum by (le) (rate(h_seconds_bucket{…}[r])))` |
//! | histogram mean | `sum(rate(h_seconds_sum{…}[r])) / sum(rate(h_seconds_count{…}[r]))` |
//! | throughput | `sum(rate(h_seconds_count{…}[r]))` |
//!
//! The range `r` is the window (`n` × the engine interval, the engine window's duration, or
//! `d`), raised to [`PromRules::min_range`] (default 1 m: `rate` needs two scrapes in range).
//! PromQL has no hysteresis; a rule whose resolve threshold differs from its threshold is
//! exported as `E > t or (E > r and on() ALERTS{alertname="…", alertstate="firing", severity="…"})`:
//! the alert keeps firing while it fires and the value stays past the resolve threshold,
//! which is the in-process rule (a `promtool test rules` test checks it; `keep_firing_for` only
//! delays a resolve by a fixed time). Escalation
//! is a second rule of the same name with `severity: critical` and the escalation threshold
//! (in Prometheus it waits its own `for`; in-process it escalates an active alert at once).
//! The cooldown has no rule-file form: it is Alertmanager's `repeat_interval`.

mod eval;
mod handlers;
mod prometheus;
mod rule;

pub use eval::MAX_POINTS;
pub use handlers::{json_lines_handler, log_handler, log_handler_to};
pub use prometheus::{rules_yaml, PromRules};
pub use rule::{
    AlertRule, AlertRuleBuilder, Comparison, Count, RuleError, Selector, Severity, Statistic,
    Window, DEFAULT_COOLDOWN, ESCALATION_FACTOR,
};

use eval::Evaluator;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};
use tachymeter::{Engine, Snapshot};

/// Events kept by [`AlertManager::history`] unless [`AlertManager::with_history`] says otherwise.
pub const DEFAULT_HISTORY: usize = 1000;

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The condition held for `for` (outside the cooldown): the alert is active.
    Firing,
    /// An active alert's value went beyond the escalation threshold: it is critical now.
    Escalated,
    /// The value came back past the resolve threshold: the alert is no longer active.
    Resolved,
}

/// One fire, escalation or resolve, as handlers, [`AlertManager::history`] and the JSON-lines
/// file see it (the seeds' alert dict: `message`, `current_value`, `threshold`, `severity`,
/// `timestamp`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertEvent {
    /// The rule's name.
    pub alert: String,
    /// Firing, escalated or resolved.
    pub event: EventKind,
    /// The alert's severity (after escalation; a resolve carries the severity it had).
    pub severity: Severity,
    /// The statistic, e.g. `p95 of request_latency{endpoint="/a"}`.
    pub metric: String,
    /// The value that caused the event, in the statistic's unit.
    pub current_value: f64,
    /// The firing threshold.
    pub threshold: f64,
    /// The resolve threshold.
    pub resolve_threshold: f64,
    /// Above or below.
    pub comparison: Comparison,
    /// A one-line description with the figures.
    pub message: String,
    /// Wall time of the snapshot, seconds since the Unix epoch.
    pub timestamp: f64,
    /// Engine time of the snapshot, seconds since the engine started.
    pub uptime_seconds: f64,
    /// The snapshot's sequence number.
    pub sequence: u64,
    /// The rule's extra labels.
    pub labels: BTreeMap<String, String>,
    /// The rule's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl AlertEvent {
    /// The line [`log_handler`] writes: `[alert] WARNING firing HighLatency: …`.
    pub fn log_line(&self) -> String {
        let kind = match self.event {
            EventKind::Firing => "firing",
            EventKind::Escalated => "escalated",
            EventKind::Resolved => "resolved",
        };
        format!(
            "[alert] {} {kind} {}: {}",
            self.severity.name().to_uppercase(),
            self.alert,
            self.message
        )
    }
}

/// An alert that is firing now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActiveAlert {
    /// The rule's name.
    pub alert: String,
    /// Its severity now (escalation included).
    pub severity: Severity,
    /// The statistic.
    pub metric: String,
    /// The value at the latest evaluation (`None`: it had none).
    pub current_value: Option<f64>,
    /// The firing threshold.
    pub threshold: f64,
    /// The resolve threshold.
    pub resolve_threshold: f64,
    /// Wall time of the firing, seconds since the Unix epoch.
    pub fired_at: f64,
    /// Engine time of the firing, seconds since the engine started.
    pub fired_uptime_seconds: f64,
}

/// Where a rule stands (Prometheus' rule states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// Not beyond the threshold (or no value).
    Inactive,
    /// Beyond the threshold, waiting for `for` or for the cooldown to end.
    Pending,
    /// Firing: the alert is active.
    Firing,
}

/// A rule's latest evaluation: [`AlertManager::status`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleStatus {
    /// The rule's name.
    pub alert: String,
    /// Its state.
    pub state: RuleState,
    /// The statistic's value at the latest evaluation (`None`: no value).
    pub value: Option<f64>,
    /// True if its series was missing from the latest snapshot evaluated.
    pub missing: bool,
    /// Firings so far.
    pub fired: u64,
}

/// The seeds' `get_alert_summary()`: totals since the manager was made (not bounded by the
/// history).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertSummary {
    /// Firings.
    pub total_alerts: u64,
    /// Firings at critical severity, plus escalations to it.
    pub critical_alerts: u64,
    /// Firings at warning severity.
    pub warning_alerts: u64,
    /// Firings at info severity.
    pub info_alerts: u64,
    /// The rule that fired most often (ties: the first added), `None` before any firing.
    pub most_frequent_alert: Option<String>,
    /// Names of the alerts active now.
    pub active_alerts: Vec<String>,
    /// Resolves.
    pub resolved_alerts: u64,
    /// Escalations of active alerts to critical (included in `critical_alerts`).
    pub escalations: u64,
    /// Firings held back by a cooldown (counted once per held-back episode).
    pub suppressed: u64,
    /// Handler calls that panicked (caught; the other handlers ran).
    pub handler_panics: u64,
    /// Rules whose series was missing from the latest snapshot evaluated.
    pub missing_series: Vec<String>,
    /// Snapshots evaluated.
    pub evaluations: u64,
}

/// A handler: a closure called with each event.
type Handler = Arc<dyn Fn(&AlertEvent) + Send + Sync>;

/// One rule and its evaluation state.
#[derive(Debug)]
struct Rule {
    rule: AlertRule,
    value: Option<f64>,
    eval: Evaluator,
    /// Engine time of the first evaluation of the current run beyond the threshold.
    pending_since: Option<Duration>,
    active: Option<ActiveAlert>,
    last_fired: Option<Duration>,
    /// True while a firing is held back by the cooldown (so it is counted once).
    held_back: bool,
    missing: bool,
    fired: u64,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    last_sequence: Option<u64>,
    history: VecDeque<AlertEvent>,
    history_capacity: usize,
    by_severity: [u64; 3],
    fired: u64,
    resolved: u64,
    escalations: u64,
    suppressed: u64,
    evaluations: u64,
}

struct Inner {
    state: Mutex<State>,
    handlers: Mutex<Vec<(Option<Severity>, Handler)>>,
    handler_panics: AtomicU64,
}

/// Owns alert rules and handlers; evaluates the rules on snapshots (see the
/// [module docs](self)). Cheap to clone: clones share rules, state and handlers.
#[derive(Clone)]
pub struct AlertManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AlertManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        f.debug_struct("AlertManager")
            .field("rules", &s.rules.len())
            .field(
                "active",
                &s.rules.iter().filter(|r| r.active.is_some()).count(),
            )
            .field("handlers", &lock(&self.inner.handlers).len())
            .finish()
    }
}

impl Default for AlertManager {
    fn default() -> Self {
        AlertManager::new()
    }
}

/// A lock whose data stays usable after a panic elsewhere (plain data, updated atomically
/// with respect to its own invariants).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

impl AlertManager {
    /// A manager without rules or handlers, keeping the last [`DEFAULT_HISTORY`] events.
    pub fn new() -> AlertManager {
        AlertManager::with_history(DEFAULT_HISTORY)
    }

    /// A manager keeping the last `events` events in [`history`](Self::history).
    pub fn with_history(events: usize) -> AlertManager {
        AlertManager {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    history_capacity: events,
                    ..State::default()
                }),
                handlers: Mutex::new(Vec::new()),
                handler_panics: AtomicU64::new(0),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Adds a rule (checked with [`AlertRule::validate`]). A rule with the name of an earlier
    /// one replaces it (its state starts over).
    ///
    /// # Errors
    /// The rule's [`RuleError`].
    pub fn add_rule(&self, rule: AlertRule) -> Result<(), RuleError> {
        rule.validate()?;
        let mut s = self.state();
        let fresh = Rule {
            rule,
            value: None,
            eval: Evaluator::default(),
            pending_since: None,
            active: None,
            last_fired: None,
            held_back: false,
            missing: false,
            fired: 0,
        };
        match s.rules.iter_mut().find(|r| r.rule.name == fresh.rule.name) {
            Some(r) => *r = fresh,
            None => s.rules.push(fresh),
        }
        Ok(())
    }

    /// Removes the rule called `name` (an active alert of it is dropped without a resolve
    /// event); false if there was none.
    pub fn remove_rule(&self, name: &str) -> bool {
        let mut s = self.state();
        let before = s.rules.len();
        s.rules.retain(|r| r.rule.name != name);
        s.rules.len() != before
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> Vec<AlertRule> {
        self.state().rules.iter().map(|r| r.rule.clone()).collect()
    }

    /// Calls `handler` for every event of `severity` (the seeds' `register_handler`).
    pub fn on(&self, severity: Severity, handler: impl Fn(&AlertEvent) + Send + Sync + 'static) {
        lock(&self.inner.handlers).push((Some(severity), Arc::new(handler)));
    }

    /// Calls `handler` for every event.
    pub fn on_any(&self, handler: impl Fn(&AlertEvent) + Send + Sync + 'static) {
        lock(&self.inner.handlers).push((None, Arc::new(handler)));
    }

    /// Evaluates every rule on `snapshot`, calls the handlers and returns the events, in rule
    /// order. A snapshot whose sequence number is not newer than the last one evaluated is
    /// skipped (no events): evaluating is idempotent per snapshot.
    pub fn evaluate(&self, snapshot: &Snapshot) -> Vec<AlertEvent> {
        let events = {
            let mut s = self.state();
            if s.last_sequence
                .is_some_and(|last| snapshot.sequence() <= last)
            {
                return Vec::new();
            }
            s.last_sequence = Some(snapshot.sequence());
            s.evaluations += 1;
            let mut events = Vec::new();
            let State {
                rules, suppressed, ..
            } = &mut *s;
            for r in rules {
                r.step(snapshot, &mut events, suppressed);
            }
            for e in &events {
                match e.event {
                    EventKind::Firing => {
                        s.fired += 1;
                        s.by_severity[severity_index(e.severity)] += 1;
                    }
                    EventKind::Escalated => {
                        s.escalations += 1;
                        s.by_severity[severity_index(Severity::Critical)] += 1;
                    }
                    EventKind::Resolved => s.resolved += 1,
                }
            }
            let cap = s.history_capacity;
            for e in &events {
                if cap == 0 {
                    break;
                }
                if s.history.len() == cap {
                    s.history.pop_front();
                }
                s.history.push_back(e.clone());
            }
            events
        };
        if !events.is_empty() {
            let handlers = lock(&self.inner.handlers).clone();
            for e in &events {
                for (severity, h) in &handlers {
                    if severity.is_some_and(|s| s != e.severity) {
                        continue;
                    }
                    // A panicking handler must not stop the others or the evaluation.
                    if catch_unwind(AssertUnwindSafe(|| h(e))).is_err() {
                        // Relaxed: a statistic.
                        self.inner.handler_panics.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        events
    }

    /// The alerts active now, in rule order.
    pub fn active(&self) -> Vec<ActiveAlert> {
        self.state()
            .rules
            .iter()
            .filter_map(|r| r.active.clone())
            .collect()
    }

    /// The latest events, oldest first (at most the history capacity).
    pub fn history(&self) -> Vec<AlertEvent> {
        self.state().history.iter().cloned().collect()
    }

    /// Totals, by severity, the most frequent alert and the active ones.
    pub fn summary(&self) -> AlertSummary {
        let s = self.state();
        let mut most: Option<&Rule> = None;
        for r in &s.rules {
            if r.fired > 0 && most.is_none_or(|m| r.fired > m.fired) {
                most = Some(r);
            }
        }
        AlertSummary {
            total_alerts: s.fired,
            critical_alerts: s.by_severity[2],
            warning_alerts: s.by_severity[1],
            info_alerts: s.by_severity[0],
            most_frequent_alert: most.map(|r| r.rule.name.clone()),
            active_alerts: s
                .rules
                .iter()
                .filter(|r| r.active.is_some())
                .map(|r| r.rule.name.clone())
                .collect(),
            resolved_alerts: s.resolved,
            escalations: s.escalations,
            suppressed: s.suppressed,
            handler_panics: self.handler_panics(),
            missing_series: self.missing_locked(&s),
            evaluations: s.evaluations,
        }
    }

    fn missing_locked(&self, s: &State) -> Vec<String> {
        s.rules
            .iter()
            .filter(|r| r.missing)
            .map(|r| r.rule.name.clone())
            .collect()
    }

    /// Every rule's latest evaluation, in rule order.
    pub fn status(&self) -> Vec<RuleStatus> {
        self.state()
            .rules
            .iter()
            .map(|r| RuleStatus {
                alert: r.rule.name.clone(),
                state: if r.active.is_some() {
                    RuleState::Firing
                } else if r.pending_since.is_some() {
                    RuleState::Pending
                } else {
                    RuleState::Inactive
                },
                value: r.value,
                missing: r.missing,
                fired: r.fired,
            })
            .collect()
    }

    /// Handler calls that panicked (each caught; the other handlers still ran).
    pub fn handler_panics(&self) -> u64 {
        // Relaxed: a statistic.
        self.inner.handler_panics.load(Ordering::Relaxed)
    }

    /// Rules whose series was missing from the latest snapshot evaluated.
    pub fn missing_series(&self) -> Vec<String> {
        let s = self.state();
        self.missing_locked(&s)
    }

    /// The rules as a Prometheus alerting-rules file (see [`PromRules`]).
    pub fn rules_yaml(&self, options: &PromRules) -> String {
        options.to_yaml(&self.rules())
    }

    /// Starts a thread that evaluates every snapshot `engine` publishes, polling for a new
    /// one at a quarter of the engine's interval (1 ms ..= 250 ms). Stops when the returned
    /// guard is dropped.
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start(&self, engine: Arc<Engine>) -> std::io::Result<AlertThread> {
        self.start_polling(engine, None)
    }

    /// [`start`](Self::start) with a fixed poll period.
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start_with_poll(
        &self,
        engine: Arc<Engine>,
        poll: Duration,
    ) -> std::io::Result<AlertThread> {
        self.start_polling(engine, Some(poll))
    }

    fn start_polling(
        &self,
        engine: Arc<Engine>,
        poll: Option<Duration>,
    ) -> std::io::Result<AlertThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let manager = self.clone();
        let handle = std::thread::Builder::new()
            .name("tachymeter-alerts".into())
            .spawn(move || {
                // Acquire: pairs with the Release store in `AlertThread::drop`.
                while !flag.load(Ordering::Acquire) {
                    let snap = engine.snapshot();
                    if snap.sequence() > 0 {
                        manager.evaluate(&snap);
                    }
                    let period = poll.unwrap_or_else(|| {
                        (snap.interval() / 4).clamp(Duration::from_millis(1), MAX_POLL)
                    });
                    std::thread::park_timeout(period);
                }
            })?;
        Ok(AlertThread {
            stop,
            handle: Some(handle),
        })
    }
}

/// Longest poll period of [`AlertManager::start`].
const MAX_POLL: Duration = Duration::from_millis(250);

/// The thread of [`AlertManager::start`]: dropping it stops the thread and joins it.
#[must_use = "dropping the guard stops the alerting thread"]
#[derive(Debug)]
pub struct AlertThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl AlertThread {
    /// True while the thread runs.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }
}

impl Drop for AlertThread {
    fn drop(&mut self) {
        // Release: the thread's Acquire load sees it after the unpark.
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            // Handler panics are caught; a panic here would be a bug, not the host's problem.
            let _ = h.join();
        }
    }
}

impl Rule {
    /// Evaluates the rule on `snap`, appending its events; counts a firing held back by the
    /// cooldown in `suppressed` (once per held-back run).
    fn step(&mut self, snap: &Snapshot, events: &mut Vec<AlertEvent>, suppressed: &mut u64) {
        let reading = self.eval.read(&self.rule, snap);
        self.missing = reading.missing;
        self.value = reading.value;
        let now = snap.uptime();
        let rule = &self.rule;
        let Some(value) = reading.value else {
            self.pending_since = None;
            if let Some(a) = &mut self.active {
                a.current_value = None;
            }
            return;
        };
        let resolve = rule.resolve_threshold();
        if let Some(active) = &mut self.active {
            active.current_value = Some(value);
            if !rule.comparison.beyond(value, resolve) {
                let severity = active.severity;
                self.active = None;
                self.pending_since = None;
                events.push(self.event(EventKind::Resolved, severity, value, snap));
            } else if rule.escalate && active.severity < Severity::Critical && rule.escalates(value)
            {
                active.severity = Severity::Critical;
                events.push(self.event(EventKind::Escalated, Severity::Critical, value, snap));
            }
            return;
        }
        if !rule.comparison.beyond(value, rule.threshold) {
            self.pending_since = None;
            self.held_back = false;
            return;
        }
        let since = *self.pending_since.get_or_insert(now);
        if now.saturating_sub(since) < rule.for_duration {
            return;
        }
        if self
            .last_fired
            .is_some_and(|t| now.saturating_sub(t) < rule.cooldown)
        {
            if !self.held_back {
                self.held_back = true;
                *suppressed += 1;
            }
            return;
        }
        let severity = if rule.escalate && rule.escalates(value) {
            Severity::Critical
        } else {
            rule.severity
        };
        self.held_back = false;
        self.last_fired = Some(now);
        self.fired += 1;
        let event = self.event(EventKind::Firing, severity, value, snap);
        self.active = Some(ActiveAlert {
            alert: rule.name.clone(),
            severity,
            metric: event.metric.clone(),
            current_value: Some(value),
            threshold: rule.threshold,
            resolve_threshold: resolve,
            fired_at: event.timestamp,
            fired_uptime_seconds: event.uptime_seconds,
        });
        events.push(event);
    }

    fn event(
        &self,
        kind: EventKind,
        severity: Severity,
        value: f64,
        snap: &Snapshot,
    ) -> AlertEvent {
        let rule = &self.rule;
        let metric = rule.statistic.to_string();
        let side = match rule.comparison {
            Comparison::Above => "above",
            Comparison::Below => "below",
        };
        let message = match kind {
            EventKind::Firing => format!(
                "{metric} = {value} is {side} the threshold {}",
                rule.threshold
            ),
            EventKind::Escalated => format!(
                "{metric} = {value} is {side} the escalation threshold {}",
                rule.escalation_threshold()
            ),
            EventKind::Resolved => format!(
                "{metric} = {value} is back past the resolve threshold {}",
                rule.resolve_threshold()
            ),
        };
        AlertEvent {
            alert: rule.name.clone(),
            event: kind,
            severity,
            metric,
            current_value: value,
            threshold: rule.threshold,
            resolve_threshold: rule.resolve_threshold(),
            comparison: rule.comparison,
            message,
            timestamp: snap
                .time()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            uptime_seconds: snap.uptime().as_secs_f64(),
            sequence: snap.sequence(),
            labels: rule.labels.iter().cloned().collect(),
            annotations: rule.annotations.iter().cloned().collect(),
        }
    }
}
